#!/usr/bin/env bash
# Calibrates the GPU of the machine this runs on, in one go (the device session's prepared
# script): builds Fathom (Release, no tests or benchmarks), runs the microbenchmark suite into
# $OUT/h200.sqlite, fits a hardware profile to $OUT/h200.yaml, prints the measured-against-
# predicted report, and ends with the GPU's own account of its clocks and limits.
#
#   OUT=/some/dir scripts/calibrate_device.sh        full plan
#   FATHOM_CALIB_QUICK=1 scripts/calibrate_device.sh  the quick plan (`fathom calib run --quick`)
#
# OUT defaults to ./calib-out. Each step prints its start, end and duration.
set -euo pipefail
cd "$(dirname "$0")/.."
OUT="${OUT:-$PWD/calib-out}"
mkdir -p "$OUT"
BUILD_DIR=build-device

run_args=(--budget "${FATHOM_CALIB_BUDGET:-240}")
if [[ "${FATHOM_CALIB_QUICK:-0}" == 1 ]]; then
  run_args+=(--quick)
fi

step() {  # step NAME COMMAND...: runs COMMAND and reports how long it took
  local name="$1"
  shift
  local start end
  start=$(date +%s)
  echo "== $name: start $(date -u +%Y-%m-%dT%H:%M:%SZ)"
  "$@"
  end=$(date +%s)
  echo "== $name: done $(date -u +%Y-%m-%dT%H:%M:%SZ) ($((end - start)) s)"
}

gpu_summary() {
  if ! command -v nvidia-smi > /dev/null; then
    echo "nvidia-smi not found"
    return 0
  fi
  nvidia-smi -q | grep -E "Product Name|Driver Version|CUDA Version|GPU UUID|Performance State|Clocks Event Reasons Active|^ +(Graphics|SM|Memory) +: [0-9]+ MHz|Current Power Limit|GPU Current Temp|Used GPU Memory|Persistence Mode" || true
}

step configure cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=Release -DFATHOM_BUILD_TESTS=OFF \
  -DFATHOM_BUILD_BENCH=OFF
step build cmake --build "$BUILD_DIR" -j 16
step "gpu before" gpu_summary
step "calib run" "$BUILD_DIR/fathom" calib run --db "$OUT/h200.sqlite" "${run_args[@]}"
step "calib fit" "$BUILD_DIR/fathom" calib fit "$OUT/h200.sqlite" --out "$OUT/h200.yaml"
step "calib report" "$BUILD_DIR/fathom" calib report "$OUT/h200.sqlite"
step "gpu after" gpu_summary
