#!/usr/bin/env bash
# scripts/setup.sh — installs everything Slipstream needs on Debian 12 with
# apt-get (and the npm packages its tests and benchmarks use). Idempotent.
# Usage: scripts/setup.sh [--tests]   (--tests adds sanitizer/fuzz/doc tools)
set -euo pipefail
cd "$(dirname "$0")/.."

SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi

pkgs=(build-essential cmake pkg-config git ca-certificates
      libnats-dev nats-server zlib1g-dev)
if [ "${1:-}" = "--tests" ]; then
  pkgs+=(clang clang-format libclang-rt-14-dev valgrind doxygen openssl procps)
fi
# Node.js is needed by the interoperability/auth tests and the JS benchmark;
# keep an existing installation (it may be newer than Debian's).
command -v node >/dev/null 2>&1 || pkgs+=(nodejs)
command -v npm >/dev/null 2>&1 || pkgs+=(npm)

export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${pkgs[@]}" >/dev/null
echo "setup: installed ${pkgs[*]}"

# npm packages (exact versions from the committed lock files).
for d in tests/js bench/js; do
  if [ -f "$d/package-lock.json" ]; then
    (cd "$d" && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
    echo "setup: npm ci in $d"
  fi
done
