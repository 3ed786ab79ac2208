#!/bin/sh
# scripts/check-banned.sh — fails when a banned C call appears in src/,
# tools/, tests/, bench/, examples/ or fuzz/: sprintf, strtok, strcpy and
# strerror (unbounded or not thread-safe; use snprintf, strtok_r, memcpy or
# snprintf, strerror_r or a local table). vsprintf is banned too.
# The match is on a call: the name followed by "(", not a longer name such as
# snprintf or strerror_r or slip_strerror.
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
dirs=""
for d in src tools tests bench examples fuzz; do
	[ -d "$d" ] && dirs="$dirs $d"
done
[ -n "$dirs" ] || exit 0
pattern='(^|[^A-Za-z0-9_])(sprintf|vsprintf|strtok|strcpy|strerror)[[:space:]]*\('
hits=$(grep -rnE --include='*.c' --include='*.h' "$pattern" $dirs |
	grep -v '/node_modules/' || true)
if [ -n "$hits" ]; then
	echo "check-banned: banned calls found:"
	echo "$hits" | sed 's/^/  /'
	exit 1
fi
echo "check-banned: no banned calls"
