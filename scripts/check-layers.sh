#!/bin/sh
# scripts/check-layers.sh — fails when the source tree breaks its layering
# or cites a file that does not exist (called from scripts/test.sh, stage 2).
#
# Layers, from the bottom (docs/design.md, "Layers"):
#   src/util/          portable helpers: the C library, <slipstream/...>
#                      headers and its own folder only
#   src/backends/NAME/ a backend: public and sys/ headers, its own folder
#                      and src/util/ — never the core's private headers
#                      (src/*.h) nor another backend
#   src/*.c, src/*.h   the core: never includes a backend
#   tools/             <slipstream.h> (plus <slipstream/memory.h> for the
#                      memory backend's extras) and its own folder only
# References: every name of a .c, .h or .md file cited in a comment of
# src/, include/, tools/, tests/, bench/, fuzz/, examples/, or anywhere in
# docs/, README.md and the CMake files, must name a file of the tree
# (a path from the root or from the citing file's folder, a path suffix,
# or a bare file name that some tracked file has). Files of other projects
# cited on purpose are listed in $external below.
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# Prints a finding; the pipelines below run in subshells, so findings are
# collected from the output instead of a status variable.
fail() {
	echo "check-layers: $*"
}

# Quoted and angle includes of a file, one per line: q NAME or a NAME.
includes() {
	sed -nE 's/^[[:space:]]*#[[:space:]]*include[[:space:]]*"([^"]+)".*/q \1/p
s/^[[:space:]]*#[[:space:]]*include[[:space:]]*<([^>]+)>.*/a \1/p' "$1"
}

# ------------------------------------------------------------------ layers
{

for f in src/*.c src/*.h; do
	includes "$f" | while read -r kind name; do
		case $kind:$name in
		q:backends/* | q:*mem.h | q:*nats_backend.h)
			fail "$f includes a backend ($name): the core reaches" \
				"backends only through their slip_backend table" ;;
		esac
	done
done

for f in src/util/*.c src/util/*.h; do
	[ -e "$f" ] || continue
	includes "$f" | while read -r kind name; do
		case $kind:$name in
		q:*/* | q:internal.h | q:conn_internal.h)
			fail "$f includes $name: src/util/ sits below the core" \
				"and the backends and uses only its own folder" ;;
		q:*) [ -e "src/util/$name" ] || fail "$f includes $name," \
			"not a file of src/util/" ;;
		esac
	done
done

for dir in src/backends/*/; do
	be=$(basename "$dir")
	for f in "$dir"*.c "$dir"*.h; do
		[ -e "$f" ] || continue
		includes "$f" | while read -r kind name; do
			case $kind:$name in
			a:slipstream/sys/* | a:slipstream/* | a:slipstream.h) ;;
			q:util/*)
				[ -e "src/$name" ] ||
					fail "$f includes $name: no such file" ;;
			q:*/*)
				fail "$f (backend $be) includes $name: a backend" \
					"uses public and sys/ headers, src/util/ and" \
					"its own folder only" ;;
			q:*)
				[ -e "$dir$name" ] || fail "$f (backend $be)" \
					"includes $name, which is not in its own" \
					"folder: a backend never uses the core's" \
					"private headers or another backend" \
					"(give it what it needs through sys/," \
					"or put a portable helper in src/util/)" ;;
			esac
		done
	done
done

for f in tools/*.c tools/*.h; do
	includes "$f" | while read -r kind name; do
		case $kind:$name in
		a:slipstream.h | a:slipstream/memory.h) ;;
		a:slipstream/*)
			fail "$f includes <$name>: the tool uses only" \
				"<slipstream.h> (and <slipstream/memory.h>)" ;;
		q:*)
			[ -e "tools/$name" ] || fail "$f includes \"$name\":" \
				"the tool uses only its own folder and" \
				"<slipstream.h>" ;;
		esac
	done
done

} >"$tmp/layers"

# -------------------------------------------------------------- references

# Files of other projects (libgit2, SQLite, nats.c) cited on purpose, file
# names that stand for any file in an example, and test keys that look like
# file names ("app.c" in tests/applied/test_applied.c).
external="git2.h git2/sys/mempack.h odb_mempack.c os_unix.c kv.c js.c
fixture_mybackend.c file.c app.c"

# The text of a file in which references are looked for: comments of C
# sources (so string literals such as test keys "a.b.c" do not count), the
# whole of documents and build files.
cited_text() {
	case $1 in
	*.c | *.h)
		sed -nE 's@^[[:space:]]*(/\*|\*|//)(.*)@\2@p
s@.*[^[:space:]].*(/\*|//)(.*)@\2@p' "$1" ;;
	*) grep -vE '^[[:space:]]*#[[:space:]]*include' "$1" || true ;;
	esac
}

git ls-files --cached --others --exclude-standard | grep -v node_modules |
	sort -u >"$tmp/files"
git ls-files --cached --others --exclude-standard -- src include tools tests \
	bench fuzz examples docs README.md \
	'*CMakeLists.txt' cmake | grep -v node_modules |
	grep -E '(\.(c|h|md|txt|cmake)|README\.md)$' >"$tmp/scan"
# "FILE TOKEN" for every cited name, then one pass that resolves them.
while read -r f; do
	cited_text "$f" |
		grep -oE '[A-Za-z0-9_${}/.-]*[A-Za-z0-9_]\.(c|h|md)\b' |
		sort -u | sed "s|^|$f |"
done <"$tmp/scan" >"$tmp/cited"
awk -v external="$external" '
	BEGIN { n = split(external, x, /[ \n]+/); for (i = 1; i <= n; i++) ext[x[i]] = 1 }
	FNR == NR {
		path[$0] = 1
		# Every suffix at a "/" boundary, and the bare name.
		s = $0
		while (s != "") {
			suffix[s] = 1
			if (index(s, "/") == 0) break
			s = substr(s, index(s, "/") + 1)
		}
		next
	}
	{
		f = $1; tok = $2; t = tok
		sub(/^\$\{[A-Za-z_]+\}\//, "", t); sub(/^\.?\//, "", t)
		if (t ~ /\$/ || (t in ext)) next
		dir = f; sub(/\/[^\/]*$/, "", dir)
		if (dir == f) dir = "."
		rel = dir "/" t
		while (rel ~ /\/\.\.\//) sub(/[^\/]*\/\.\.\//, "", rel)
		if ((t in path) || (rel in path) || (t in suffix)) next
		print "check-layers: " f " cites " tok ", which does not exist"
	}' "$tmp/files" "$tmp/cited" >"$tmp/missing"

cat "$tmp/layers" "$tmp/missing"
if [ -s "$tmp/layers" ] || [ -s "$tmp/missing" ]; then
	exit 1
fi
echo "check-layers: layers hold and every cited file exists"
