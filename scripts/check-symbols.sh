#!/bin/sh
# scripts/check-symbols.sh BUILD_DIR — checks the exported symbols of
# libslipstream.so: every one starts with slip_ (none with slip__), and the
# sorted list equals scripts/exported-symbols.txt, the public API. Adding a
# public function means adding it to that file in the same change.
set -eu
if [ $# -ne 1 ]; then
	echo "usage: $0 BUILD_DIR" >&2
	exit 2
fi
here=$(cd "$(dirname "$0")" && pwd)
lib=$(find "$1" -maxdepth 2 -name 'libslipstream.so.*' -type f | head -n 1)
if [ -z "$lib" ]; then
	echo "check-symbols: no libslipstream.so.* under $1 (build it first)" >&2
	exit 2
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# Defined, exported text/data symbols (drop the ELF version-less markers).
nm -D --defined-only "$lib" | awk '$2 ~ /^[TtDdBbRrVvWw]$/ {print $3}' |
	sed 's/@.*//' | LC_ALL=C sort -u >"$tmp/actual"
LC_ALL=C sort -u "$here/exported-symbols.txt" | grep -v '^#' | grep -v '^$' \
	>"$tmp/expected"
status=0
bad=$(grep -v '^slip_' "$tmp/actual" || true)
if [ -n "$bad" ]; then
	echo "check-symbols: exported symbols without the slip_ prefix:"
	echo "$bad" | sed 's/^/  /'
	status=1
fi
internal=$(grep '^slip__' "$tmp/actual" || true)
if [ -n "$internal" ]; then
	echo "check-symbols: internal slip__ symbols are exported:"
	echo "$internal" | sed 's/^/  /'
	status=1
fi
extra=$(LC_ALL=C comm -23 "$tmp/actual" "$tmp/expected")
missing=$(LC_ALL=C comm -13 "$tmp/actual" "$tmp/expected")
if [ -n "$extra" ]; then
	echo "check-symbols: exported but not in scripts/exported-symbols.txt:"
	echo "$extra" | sed 's/^/  /'
	status=1
fi
if [ -n "$missing" ]; then
	echo "check-symbols: listed in scripts/exported-symbols.txt but not exported:"
	echo "$missing" | sed 's/^/  /'
	status=1
fi
# The list must also match the SLIP_EXTERN declarations of the headers
# (declarations joined across lines, then the first slip_name( of each).
cat "$here"/../include/slipstream.h "$here"/../include/slipstream/*.h \
	"$here"/../include/slipstream/sys/*.h | tr '\n' ' ' | tr ';' '\n' |
	grep 'SLIP_EXTERN' | grep -oE 'slip_[a-z0-9_]+[[:space:]]*\(' |
	tr -d '( ' | LC_ALL=C sort -u >"$tmp/headers"
undeclared=$(LC_ALL=C comm -13 "$tmp/headers" "$tmp/expected")
unlisted=$(LC_ALL=C comm -23 "$tmp/headers" "$tmp/expected")
if [ -n "$unlisted$undeclared" ]; then
	echo "check-symbols: scripts/exported-symbols.txt differs from the" \
		"SLIP_EXTERN declarations in include/:"
	[ -z "$unlisted" ] || echo "$unlisted" | sed 's/^/  declared, not listed: /'
	[ -z "$undeclared" ] || echo "$undeclared" | sed 's/^/  listed, not declared: /'
	status=1
fi
if [ $status -eq 0 ]; then
	echo "check-symbols: $(wc -l <"$tmp/actual") exported symbols match"
fi
exit $status
