#!/usr/bin/env bash
# Builds the libFuzzer harnesses of tests/fuzz (clang, ASan + UBSan, in build-fuzz/) and runs
# each of them: first on its regression inputs (tests/fuzz/regressions/<harness>/, each run
# once), then fuzzing from a fresh corpus seeded with the repository's own files (data/,
# tests/data/, tests/fuzz/seeds/). Prints one line per harness and exits 1 when any crashed;
# the crashing input is kept in build-fuzz/crashes/<harness>/, the log in build-fuzz/logs/.
# docs/reliability.md has the harnesses, the budgets and the results.
#
# Usage: scripts/fuzz.sh [--seconds S | --runs N] [-j|--jobs J] [--only h1,h2] [--no-build]
#   --seconds S  fuzz each harness for S seconds (CI: --seconds 30 --jobs 2)
#   --runs N     fuzz each harness for N executions (the campaign: --runs 1000000)
#   -j, --jobs J harnesses run side by side (default 1; each is one process)
#   --only LIST  only these harnesses, comma-separated, with or without the fuzz_ prefix
#   --no-build   use the harnesses already built
# Environment: FATHOM_FUZZ_BUILD_DIR (default build-fuzz), FATHOM_FUZZ_BUILD_JOBS (default nproc).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

seconds=""
runs=""
jobs=1
only=""
build=1
while [ $# -gt 0 ]; do
  case "$1" in
    --seconds) seconds="${2:?--seconds needs a number}"; shift 2 ;;
    --runs) runs="${2:?--runs needs a number}"; shift 2 ;;
    -j|--jobs) jobs="${2:?--jobs needs a number}"; shift 2 ;;
    -j[0-9]*) jobs="${1#-j}"; shift ;;
    --only) only="${2:?--only needs harness names}"; shift 2 ;;
    --no-build) build=0; shift ;;
    -h|--help) sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "fuzz.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
done
if [ -n "$seconds" ] && [ -n "$runs" ]; then echo "fuzz.sh: give --seconds or --runs, not both" >&2; exit 2; fi
if [ -z "$seconds" ] && [ -z "$runs" ]; then seconds=30; fi
for v in "${seconds:-1}" "${runs:-1}" "$jobs"; do
  case "$v" in ''|*[!0-9]*) echo "fuzz.sh: expected a whole number, found '$v'" >&2; exit 2 ;; esac
done
[ "$jobs" -ge 1 ] || jobs=1

BUILD_DIR="${FATHOM_FUZZ_BUILD_DIR:-build-fuzz}"
case "$BUILD_DIR" in /*) ;; *) BUILD_DIR="$ROOT/$BUILD_DIR" ;; esac

# harness | -max_len | dictionary | seed files from the repository (globs; tests/fuzz/seeds/<harness>/ is added).
# Left out: tests/data/bad/alias_bomb.yaml, which makes the YAML reader walk its node budget
# (seconds per input under ASan: every mutation of it would be slow, docs/reliability.md).
HARNESSES=(
  "scenario|8192|yaml.dict|data/scenarios/*.yaml tests/data/*.yaml tests/data/bad/*.yaml"
  "model|8192|yaml.dict|data/models/*.yaml"
  "gpu|8192|yaml.dict|data/hardware/gpus/*.yaml"
  "cluster|4096|yaml.dict|data/hardware/clusters/*.yaml"
  "profile|8192|yaml.dict|"
  "fit_result|8192|yaml.dict|tests/data/bad/fit_result_missing.yaml"
  "hf_config|4096|json.dict|tests/data/hf/*.json tests/data/bad/hf_*.json"
  "csv|8192|csv.dict|data/validation/*.csv tests/data/*.csv tests/data/fit/*.csv tests/data/bad/*.csv"
  "trace|4096|csv.dict|tests/data/*.csv tests/data/bad/serve_trace_*.csv"
  "torch_trace|65536|json.dict|tests/data/calib/*.json tests/data/calib/bad/*.json"
  "formula|1024|formula.dict|"
  "quantity|256|quantity.dict|"
  "sweep|4096|yaml.dict|"
  "plan|8192|yaml.dict|data/plans/*.yaml tests/data/plans/*.yaml"
)

selected=()
for entry in "${HARNESSES[@]}"; do
  name="${entry%%|*}"
  if [ -n "$only" ]; then
    case ",${only//fuzz_/}," in *",$name,"*) ;; *) continue ;; esac
  fi
  selected+=("$entry")
done
if [ ${#selected[@]} -eq 0 ]; then echo "fuzz.sh: no harness matches --only '$only'" >&2; exit 2; fi

# ---- build ----
t_build=$(date +%s)
if [ "$build" -eq 1 ]; then
  if ! command -v clang++ > /dev/null; then
    echo "fuzz.sh: clang++ not found; install the Debian packages clang and libclang-rt-14-dev" >&2
    exit 2
  fi
  if ! grep -qs '^FATHOM_BUILD_FUZZ:BOOL=ON' "$BUILD_DIR/CMakeCache.txt"; then
    mkdir -p "$BUILD_DIR"
    CC=clang CXX=clang++ cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=Release \
      "-DCMAKE_CXX_FLAGS_RELEASE=-O1 -DNDEBUG" -DFATHOM_BUILD_FUZZ=ON -DFATHOM_WITH_CUDA=OFF \
      -DFATHOM_WITH_GUI=OFF -DFATHOM_WITH_PYTHON=OFF -DFATHOM_WITH_MPI=OFF -DFATHOM_BUILD_TESTS=OFF \
      -DFATHOM_BUILD_BENCH=OFF > "$BUILD_DIR/configure.log" 2>&1 || { cat "$BUILD_DIR/configure.log"; exit 1; }
  fi
  targets=()
  for entry in "${selected[@]}"; do targets+=("fuzz_${entry%%|*}"); done
  cmake --build "$BUILD_DIR" --parallel "${FATHOM_FUZZ_BUILD_JOBS:-$(nproc)}" --target "${targets[@]}"
fi
build_s=$(( $(date +%s) - t_build ))

# ---- run ----
mkdir -p "$BUILD_DIR/logs" "$BUILD_DIR/crashes" "$BUILD_DIR/corpus"
results="$BUILD_DIR/fuzz-results.tsv"
: > "$results"
FATHOM_FUZZ_TMPDIR=$(mktemp -d "$( [ -d /dev/shm ] && echo /dev/shm || echo /tmp )/fathom-fuzz-run.XXXXXX")
export FATHOM_FUZZ_TMPDIR
trap 'rm -rf "$FATHOM_FUZZ_TMPDIR"' EXIT
# A 32 MB quarantine (256 MB by default) still holds everything one input frees, and halves the
# time per input of the YAML harnesses (fewer fresh pages to fault in).
export ASAN_OPTIONS="${ASAN_OPTIONS:-abort_on_error=1:symbolize=1:quarantine_size_mb=32}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
common=(-rss_limit_mb=2048 -timeout=10 -print_final_stats=1)

run_one() {
  local name="$1" max_len="$2" dict="$3" globs="$4"
  local bin="$BUILD_DIR/tests/fuzz/fuzz_$name"
  local log="$BUILD_DIR/logs/$name.log"
  local crashes="$BUILD_DIR/crashes/$name"
  local corpus="$BUILD_DIR/corpus/$name"
  local t0 t1 rc=0 execs=0 crashed=0 slow=0
  rm -rf "$corpus" "$crashes"
  mkdir -p "$corpus" "$crashes"
  : > "$log"
  t0=$(date +%s.%N)
  # Reproducers of bugs already fixed: each runs once; any failure is a crash.
  local regressions=("$ROOT/tests/fuzz/regressions/$name"/*)
  if [ -e "${regressions[0]}" ]; then
    echo "== regressions: ${#regressions[@]} inputs" >> "$log"
    "$bin" "${common[@]}" -max_len="$max_len" -artifact_prefix="$crashes/" "${regressions[@]}" >> "$log" 2>&1 || rc=$?
  fi
  if [ "$rc" -eq 0 ]; then
    # A fresh corpus from the repository's files (name clashes: prefixed with the folder).
    local f
    for f in $globs "tests/fuzz/seeds/$name"/*; do
      [ -f "$f" ] || continue
      case "$f" in */alias_bomb.yaml) continue ;; esac
      cp "$f" "$corpus/$(echo "${f%/*}" | tr '/' '_')__${f##*/}"
    done
    local budget
    if [ -n "$runs" ]; then budget=(-runs="$runs"); else budget=(-max_total_time="$seconds"); fi
    echo "== fuzzing: ${budget[*]}" >> "$log"
    "$bin" "${common[@]}" "${budget[@]}" -max_len="$max_len" -dict="$ROOT/tests/fuzz/$dict" \
      -artifact_prefix="$crashes/" "$corpus" >> "$log" 2>&1 || rc=$?
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  fi
  t1=$(date +%s.%N)
  # slow-unit-*: an input that took more than 10 s without timing out; reported, not a crash.
  if [ "$rc" -ne 0 ] || [ -n "$(ls -A "$crashes" | grep -v '^slow-unit-')" ]; then crashed=1; fi
  slow=$(ls -A "$crashes" | grep -c '^slow-unit-' || true)
  printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$name" "${execs:-0}" "$(echo "$t1 - $t0" | bc)" "$crashed" "$rc" "$slow" >> "$results"
}

t_run=$(date +%s)
for entry in "${selected[@]}"; do
  IFS='|' read -r name max_len dict globs <<< "$entry"
  while [ "$(jobs -rp | wc -l)" -ge "$jobs" ]; do wait -n || true; done
  echo "fuzz.sh: fuzz_$name ..."
  run_one "$name" "$max_len" "$dict" "$globs" &
done
wait
run_s=$(( $(date +%s) - t_run ))

# ---- report ----
printf '\n%-18s %12s %9s %9s %8s\n' harness executions seconds exec/s crashes
status=0
while IFS=$'\t' read -r name execs secs crashed rc slow; do
  rate=$(echo "scale=0; $execs / ($secs + 0.001)" | bc)
  printf '%-18s %12s %9.1f %9s %8s\n' "fuzz_$name" "$execs" "$secs" "$rate" "$crashed"
  if [ "$crashed" -ne 0 ]; then
    status=1
    echo "  crash (exit $rc): $(ls "$BUILD_DIR/crashes/$name" 2> /dev/null | head -3 | sed "s|^|$BUILD_DIR/crashes/$name/|" | tr '\n' ' ')"
    echo "  log: $BUILD_DIR/logs/$name.log"
    grep -m1 -E 'ERROR: |runtime error|deadly signal|terminate called|fuzz_[a-z_]+: ' "$BUILD_DIR/logs/$name.log" | sed 's/^/  /' || true
  fi
  if [ "$slow" -ne 0 ]; then echo "  $slow input(s) slower than 10 s: $BUILD_DIR/crashes/$name/slow-unit-*"; fi
done < <(sort "$results")
echo "build ${build_s} s, fuzzing ${run_s} s (clang $(clang++ --version | sed -n 's/.*clang version \([0-9.]*\).*/\1/p' | head -1))"
exit "$status"
