#!/usr/bin/env bash
# Configures and builds Fathom into build/ (or $FATHOM_BUILD_DIR). Extra arguments go to cmake.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR="${FATHOM_BUILD_DIR:-build}"
cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE="${FATHOM_BUILD_TYPE:-Release}" "$@" > "$BUILD_DIR.configure.log" 2>&1 ||
  { cat "$BUILD_DIR.configure.log"; exit 1; }
grep -E "^-- fathom:" "$BUILD_DIR.configure.log" || true
cmake --build "$BUILD_DIR" --parallel "$(nproc)"
