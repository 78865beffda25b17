#!/usr/bin/env bash
# Builds and runs every test. With --sanitize: a separate build under AddressSanitizer and
# UndefinedBehaviorSanitizer (build-asan/), every test run there.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "${1:-}" = "--sanitize" ]; then
  export FATHOM_BUILD_DIR=build-asan FATHOM_BUILD_TYPE=Debug
  scripts/build.sh -DFATHOM_SANITIZE=ON -DFATHOM_BUILD_BENCH=OFF
  export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
  export LSAN_OPTIONS="suppressions=$PWD/tests/lsan_suppressions.txt:print_suppressions=0"
else
  scripts/build.sh
fi
ctest --test-dir "${FATHOM_BUILD_DIR:-build}" --output-on-failure -j "$(nproc)"
