#!/usr/bin/env bash
# Calibrates the GPU of the machine this runs on, in one go (the device session's prepared
# script). Everything lands in $OUT (default ./calib-out):
#   h200.sqlite        the microbenchmark suite (`fathom calib run`) and, as a second run, the
#                      kernels of scripts/calib_probe.py (PyTorch linear layers and scaled-dot-
#                      product attention at LLM shapes) recorded by the injection library
#   h200.yaml          the profile fitted to both (`fathom calib fit`)
#   report.txt         measured against predicted per kind, defaults and calibrated
#   probe_events.csv   the probe's own CUDA-event medians, to set beside CUPTI's
#   log.txt            everything printed, with each step's start, end and duration
#
#   scripts/device_bundle.sh                           (here, first: packs .device-bundle/)
#   OUT=/some/dir scripts/calibrate_device.sh          (there, carrying .device-bundle)
#   FATHOM_CALIB_QUICK=1 ...                           the quick plan (`calib run --quick`)
#   FATHOM_CALIB_BUDGET=S                              seconds of model GEMMs (default 180)
#   FATHOM_CALIB_PROBE=0                               skip the PyTorch probe
#
# The GPU machine's image has CUDA and PyTorch but not Fathom's other libraries, so fathom comes
# prebuilt in .device-bundle/ (scripts/device_bundle.sh), and this script only links the
# machine's CUDA libraries into it. Without a bundle it builds here (build-device/), which needs
# yaml-cpp, fmt, Ceres, Eigen and SQLite installed. A failing step does not stop the later ones
# (each is worth having from a scarce GPU session); the exit status is that of the first failure.
set -uo pipefail
cd "$(dirname "$0")/.."
ROOT="$PWD"
OUT="${OUT:-$ROOT/calib-out}"
mkdir -p "$OUT"
export FATHOM_DATA_DIR="$ROOT/data"
DB="$OUT/h200.sqlite"
status=0

run_args=(--budget "${FATHOM_CALIB_BUDGET:-180}")
if [[ "${FATHOM_CALIB_QUICK:-0}" == 1 ]]; then
  run_args+=(--quick)
fi

step() {  # step NAME COMMAND...: runs COMMAND, reports how long it took, remembers a failure
  local name="$1" start end rc
  shift
  start=$(date +%s)
  echo "== $name: start $(date -u +%Y-%m-%dT%H:%M:%SZ)"
  "$@"
  rc=$?
  end=$(date +%s)
  echo "== $name: done $(date -u +%Y-%m-%dT%H:%M:%SZ) ($((end - start)) s, exit $rc)"
  if [[ $rc -ne 0 && $status -eq 0 ]]; then status=$rc; fi
  return $rc
}

gpu_summary() {
  if ! command -v nvidia-smi > /dev/null; then
    echo "nvidia-smi not found"
    return 0
  fi
  nvidia-smi -q | grep -E "Product Name|Driver Version|CUDA Version|GPU UUID|Performance State|Clocks Event Reasons Active|^ +(Graphics|SM|Memory) +: [0-9]+ MHz|Current Power Limit|GPU Current Temp|Used GPU Memory|Persistence Mode" || true
}

use_bundle() {  # links CUDA into .device-bundle/lib and checks that fathom starts
  # shellcheck source=scripts/device_libs.sh
  source scripts/device_libs.sh
  link_cuda_libs .device-bundle/lib || return 1
  if .device-bundle/fathom --version; then return 0; fi
  echo "the bundled fathom did not start; trying the build machine's C++ runtime (lib-cxx/)"
  export LD_LIBRARY_PATH="$ROOT/.device-bundle/lib-cxx${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
  .device-bundle/fathom --version
}

build_here() {
  cmake -S . -B build-device -G Ninja -DCMAKE_BUILD_TYPE=Release -DFATHOM_BUILD_TESTS=OFF -DFATHOM_BUILD_BENCH=OFF &&
    cmake --build build-device -j "$(nproc)"
}

torch_cupti() {  # which libcupti PyTorch loads by itself, if any (the injection library will share it)
  python3 -c 'import torch
print(next((l.split()[-1] for l in open("/proc/self/maps") if "libcupti" in l), "none at import"))' 2>&1 | tail -1
}

main() {
  step "gpu before" gpu_summary
  if [[ -x .device-bundle/fathom ]]; then
    step "bundle" use_bundle || return 1
    FATHOM="$ROOT/.device-bundle/fathom"
  else
    step "configure and build" build_here || return 1
    FATHOM="$ROOT/build-device/fathom"
  fi
  step "calib run" "$FATHOM" calib run --db "$DB" "${run_args[@]}"
  if [[ "${FATHOM_CALIB_PROBE:-1}" == 1 ]]; then
    tc=$(torch_cupti)
    echo "PyTorch's own libcupti: $tc"
    # The injection library binds to that copy when PyTorch loads one; naming it here, before
    # Python starts, saves the library setting the variable itself inside cuInit.
    if [[ "$tc" == /* ]]; then export NVTX_INJECTION64_PATH="$tc"; fi
    step "calib record (PyTorch probe)" env PYTHONUNBUFFERED=1 "$FATHOM" calib record --db "$DB" -- \
      python3 scripts/calib_probe.py --csv "$OUT/probe_events.csv"
  fi
  step "calib fit" "$FATHOM" calib fit "$DB" --out "$OUT/h200.yaml"
  step "calib report" "$FATHOM" calib report "$DB" -o "$OUT/report.txt" && cat "$OUT/report.txt"
  step "gpu after" gpu_summary
  ls -l "$OUT"
  return $status
}

main 2>&1 | tee -a "$OUT/log.txt"
exit "${PIPESTATUS[0]}"
