#!/usr/bin/env bash
# scripts/build.sh — configures and builds one tree, quietly; on failure it
# prints the end of the build log.
# Usage: scripts/build.sh BUILD_DIR [extra cmake args...]
set -euo pipefail
cd "$(dirname "$0")/.."
dir=$1; shift
mkdir -p "$dir"
if ! cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo "$@" >"$dir/configure.log" 2>&1; then
  tail -n 60 "$dir/configure.log"; exit 1
fi
if ! cmake --build "$dir" -j"$(nproc)" >"$dir/build.log" 2>&1; then
  grep -E 'error|Error' -A3 "$dir/build.log" | head -n 80; tail -n 20 "$dir/build.log"; exit 1
fi
echo "build: $dir ok"
