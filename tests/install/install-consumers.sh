#!/bin/sh
# tests/install/install-consumers.sh BUILD_DIR SOURCE_DIR CC [CFLAGS]
#
# Installs the build tree into a temporary prefix with `cmake --install`,
# then builds and runs tests/install/consumer/consumer.c against that copy
# five ways: pkg-config (shared), pkg-config --static, compiled as C++
# (the headers must be C++-clean), and a CMake project using
# find_package(slipstream) with the shared and the static target.
# CFLAGS carries sanitizer flags when the build under test is instrumented.
set -eu
build=$1
src=$2
cc=$3
cflags=${4:-}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
prefix=$tmp/prefix
fail() {
	echo "install-consumers: FAIL: $*"
	exit 1
}
expect_output() {
	out=$("$@") || fail "$* exited non-zero"
	case $out in
	"greeting = hello"*) echo "  ok: $out" ;;
	*) fail "$* printed \"$out\"" ;;
	esac
}

echo "== cmake --install into $prefix"
cmake --install "$build" --prefix "$prefix" >"$tmp/install.log" ||
	{ cat "$tmp/install.log"; fail "cmake --install"; }
[ -f "$prefix/include/slipstream.h" ] || fail "slipstream.h not installed"
[ -f "$prefix/include/slipstream/sys/backend.h" ] ||
	fail "slipstream/sys/backend.h not installed"
[ -f "$prefix/include/slipstream/memory.h" ] ||
	fail "slipstream/memory.h not installed"
! grep -q '^#include.*memory\.h' "$prefix/include/slipstream.h" ||
	fail "slipstream.h includes the memory backend's extras"
pc=$(find "$prefix" -name slipstream.pc | head -n 1)
[ -n "$pc" ] || fail "slipstream.pc not installed"
libdir=$(dirname "$(dirname "$pc")")
[ -f "$libdir/libslipstream.a" ] || fail "libslipstream.a not in $libdir"
soname=$(readelf -d "$libdir/libslipstream.so" | sed -n 's/.*SONAME.*\[\(.*\)\]/\1/p')
[ "$soname" = "libslipstream.so.0" ] || fail "SONAME is \"$soname\""
echo "  ok: headers, libraries (SONAME $soname), pkg-config file"

export PKG_CONFIG_PATH="$(dirname "$pc")"
echo "== pkg-config, shared"
# shellcheck disable=SC2046,SC2086
"$cc" $cflags -o "$tmp/pc_shared" "$src/tests/install/consumer/consumer.c" \
	$(pkg-config --cflags --libs slipstream) || fail "pkg-config shared build"
readelf -d "$tmp/pc_shared" | grep -q 'libslipstream.so.0' ||
	fail "pc_shared does not use libslipstream.so.0"
expect_output env LD_LIBRARY_PATH="$libdir" "$tmp/pc_shared"

echo "== pkg-config --static"
static_libs=$(pkg-config --static --libs slipstream |
	sed 's/-lslipstream\b/-l:libslipstream.a/')
# shellcheck disable=SC2046,SC2086
"$cc" $cflags -o "$tmp/pc_static" "$src/tests/install/consumer/consumer.c" \
	$(pkg-config --cflags slipstream) $static_libs ||
	fail "pkg-config static build"
if readelf -d "$tmp/pc_static" | grep -q 'libslipstream'; then
	fail "pc_static still needs libslipstream.so"
fi
expect_output "$tmp/pc_static"

echo "== C++ consumer (headers are C++-clean), pkg-config, shared"
case $cc in
*clang) cxx=${cc}++ ;;
*gcc) cxx=${cc%gcc}g++ ;;
*) cxx=c++ ;;
esac
command -v "$cxx" >/dev/null 2>&1 || fail "no C++ compiler $cxx"
# shellcheck disable=SC2046,SC2086
"$cxx" $cflags -std=c++11 -pedantic -Wall -Wextra -Werror -x c++ \
	-o "$tmp/pc_cxx" "$src/tests/install/consumer/consumer.c" -x none \
	$(pkg-config --cflags --libs slipstream) || fail "C++ build"
expect_output env LD_LIBRARY_PATH="$libdir" "$tmp/pc_cxx"

echo "== find_package(slipstream)"
cmake -S "$src/tests/install/consumer" -B "$tmp/cm" \
	-DCMAKE_C_COMPILER="$cc" -DCMAKE_C_FLAGS="$cflags" \
	-DCMAKE_EXE_LINKER_FLAGS="$cflags" \
	-DCMAKE_PREFIX_PATH="$prefix" >"$tmp/cm.log" 2>&1 ||
	{ cat "$tmp/cm.log"; fail "configuring the find_package project"; }
cmake --build "$tmp/cm" >"$tmp/cmb.log" 2>&1 ||
	{ cat "$tmp/cmb.log"; fail "building the find_package project"; }
expect_output "$tmp/cm/consumer_shared"
expect_output "$tmp/cm/consumer_static"
echo "install-consumers: all five consumers built and ran"
