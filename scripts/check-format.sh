#!/bin/sh
# scripts/check-format.sh — checks every tracked C source and header
# against the repository's .clang-format. Prints the offending files and
# exits non-zero when any would be reformatted. Fix with clang-format -i.
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
cf=${CLANG_FORMAT:-clang-format}
if ! command -v "$cf" >/dev/null 2>&1; then
	echo "check-format: $cf not found (apt-get install clang-format)" >&2
	exit 2
fi
status=0
count=0
files=$(git ls-files '*.c' '*.h' | grep -v '^third_party/' || true)
for f in $files; do
	[ -f "$f" ] || continue
	count=$((count + 1))
	if ! "$cf" --dry-run -Werror "$f" >/dev/null 2>&1; then
		echo "check-format: $f is not formatted (clang-format -i $f)"
		status=1
	fi
done
if [ $status -eq 0 ]; then
	echo "check-format: $count files formatted"
fi
exit $status
