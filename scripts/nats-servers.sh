#!/usr/bin/env bash
# scripts/nats-servers.sh — puts the nats-server binaries of Debian 13
# (trixie, 2.10.x) and Debian sid (the newest packaged) into a directory
# beside the build, for the test matrix (scripts/test.sh, docs/testing.md).
#
# Usage: scripts/nats-servers.sh DIR [SUITE...]     (default suites: trixie sid)
#
# For each suite it writes DIR/nats-server-SUITE and DIR/nats-server-SUITE.version
# (the exact Debian package version it got) and prints both. Nothing on the
# system is installed, upgraded or reconfigured: apt-get runs with a private
# sources list (deb822, signed by the Debian archive keyring already on the
# machine), private list, cache and archive directories under DIR/apt, no
# system preferences and no locking, and the binary is unpacked from the
# .deb with dpkg-deb -x. It works as root and through sudo (apt's download
# sandbox user cannot write a private directory, so downloads run as the
# caller). A suite that cannot be fetched fails the script with the suite
# and the reason; there is no fallback to another version.
set -euo pipefail

if [ $# -lt 1 ]; then
  echo "usage: $0 DIR [SUITE...]" >&2
  exit 2
fi
dest=$1
shift
suites=("$@")
[ ${#suites[@]} -gt 0 ] || suites=(trixie sid)
keyring=/usr/share/keyrings/debian-archive-keyring.gpg
mirror=${SLIP_DEBIAN_MIRROR:-http://deb.debian.org/debian}

fail() { # suite, reason...
  local suite=$1
  shift
  echo "nats-servers: suite $suite: $*" >&2
  exit 1
}

for tool in apt-get dpkg-deb; do
  command -v "$tool" >/dev/null || fail "${suites[0]}" "$tool not found (Debian tools needed)"
done
[ -r "$keyring" ] || fail "${suites[0]}" "$keyring missing (package debian-archive-keyring)"
mkdir -p "$dest"
dest=$(cd "$dest" && pwd)

fetch() { # suite
  local suite=$1
  local top="$dest/apt/$suite"
  local log="$top/apt.log"
  rm -rf "$top"
  mkdir -p "$top/lists/partial" "$top/archives/partial" "$top/cache" "$top/unpack"
  cat >"$top/debian.sources" <<EOF
Types: deb
URIs: $mirror
Suites: $suite
Components: main
Signed-By: $keyring
EOF
  local apt_opts=(
    -o Dir::Etc::SourceList=/dev/null
    -o Dir::Etc::SourceParts=/dev/null
    -o Dir::Etc::sourcelist="$top/debian.sources"
    -o Dir::Etc::Preferences=/dev/null
    -o Dir::Etc::PreferencesParts=/dev/null
    -o Dir::State::Lists="$top/lists"
    -o Dir::Cache="$top/cache"
    -o Dir::Cache::Archives="$top/archives"
    -o APT::Default-Release=
    -o APT::Sandbox::User="$(id -un)"
    -o Debug::NoLocking=1
    -o Acquire::Languages=none
  )
  apt-get "${apt_opts[@]}" -q update >"$log" 2>&1 ||
    fail "$suite" "apt-get update failed: $(grep -E '^(E|W):' "$log" | head -n 3 | tr '\n' ' ')"
  if grep -qE '^(E:|W: (GPG|The repository|Failed))' "$log"; then
    fail "$suite" "apt-get update: $(grep -E '^(E|W):' "$log" | head -n 3 | tr '\n' ' ')"
  fi
  local version
  version=$(apt-cache "${apt_opts[@]}" policy nats-server 2>>"$log" |
    awk '/Candidate:/ {print $2}')
  if [ -z "$version" ] || [ "$version" = "(none)" ]; then
    fail "$suite" "no nats-server package in $suite main"
  fi
  (cd "$top/archives" && apt-get "${apt_opts[@]}" -q download "nats-server=$version") >>"$log" 2>&1 ||
    fail "$suite" "apt-get download nats-server=$version failed: $(grep -E '^(E|W):' "$log" | tail -n 3 | tr '\n' ' ')"
  local deb
  deb=$(ls "$top"/archives/nats-server_*.deb 2>/dev/null | head -n 1)
  [ -n "$deb" ] || fail "$suite" "apt-get download left no .deb"
  dpkg-deb -x "$deb" "$top/unpack" || fail "$suite" "dpkg-deb -x $deb failed"
  [ -x "$top/unpack/usr/sbin/nats-server" ] ||
    fail "$suite" "usr/sbin/nats-server not in $(basename "$deb")"
  install -m 0755 "$top/unpack/usr/sbin/nats-server" "$dest/nats-server-$suite"
  local says
  says=$("$dest/nats-server-$suite" --version 2>&1) ||
    fail "$suite" "the unpacked binary does not run here: $says"
  echo "$version" >"$dest/nats-server-$suite.version"
  rm -rf "$top/unpack" "$top/archives" "$top/cache"
  echo "nats-servers: $suite: package nats-server $version ($says) -> $dest/nats-server-$suite"
}

for s in "${suites[@]}"; do
  case $s in
    *[!a-z0-9-]* | "") fail "$s" "not a Debian suite name" ;;
  esac
  fetch "$s"
done
