#!/usr/bin/env bash
# scripts/main.sh — README command 1, the main job: installs packages,
# builds Slipstream, and runs the demo scenario (scripts/demo.sh) against a
# throwaway nats-server it starts on a free loopback port and stops at exit.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "${SLIP_SKIP_SETUP:-0}" != 1 ]; then scripts/setup.sh; fi
build=${SLIP_MAIN_BUILD:-_build/main}
scripts/build.sh "$build" -DSLIP_BUILD_TESTS=OFF
exec scripts/demo.sh "$build"
