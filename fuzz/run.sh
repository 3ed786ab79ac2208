#!/bin/sh
# fuzz/run.sh SECONDS BUILD_DIR — builds the snapshot fuzz target with
# clang -fsanitize=fuzzer,address,undefined in BUILD_DIR and fuzzes it for
# SECONDS, starting from fuzz/corpus/snapshot and the tests/data corpus,
# with fuzz/snapshot.dict. Exits non-zero on any finding (crash, leak,
# sanitizer report, timeout); the reproducer is left in BUILD_DIR/findings.
set -eu
secs=${1:?usage: fuzz/run.sh SECONDS BUILD_DIR}
build=${2:?usage: fuzz/run.sh SECONDS BUILD_DIR}
src=$(cd "$(dirname "$0")/.." && pwd)

cmake -S "$src" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_C_COMPILER=clang -DSLIP_FUZZ=ON \
  -DSLIP_SANITIZE=address,undefined \
  -DCMAKE_C_FLAGS="-fsanitize=fuzzer-no-link" >/dev/null
cmake --build "$build" -j2 --target fuzz_snapshot_load

work="$build/fuzz-work"
rm -rf "$work" "$build/findings"
mkdir -p "$work" "$build/findings"
cp "$src"/fuzz/corpus/snapshot/* "$work"/
cp "$src"/tests/data/snapshot/valid/* "$src"/tests/data/snapshot/invalid/* \
  "$work"/ 2>/dev/null || true

export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
"$build/fuzz/fuzz_snapshot_load" "$work" \
  -dict="$src/fuzz/snapshot.dict" -max_total_time="$secs" \
  -max_len=8192 -timeout=10 -rss_limit_mb=2048 \
  -artifact_prefix="$build/findings/" -print_final_stats=1
status=$?
if [ -n "$(ls -A "$build/findings")" ]; then
  echo "fuzz/run.sh: findings in $build/findings" >&2
  exit 1
fi
exit $status
