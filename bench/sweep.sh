#!/usr/bin/env bash
# Whole-process timing of `fathom sweep` (docs/sweeps.md, "Speed"; docs/performance.md): the two
# acceptance sweeps of issue 17, each run RUNS times into a fresh database (median wall time), and
# the same 200 serving points run the way they were run before sweeps existed: one `fathom serve
# --set ...` process per point, in a shell loop (the baseline, in the same run).
#   bench/sweep.sh build/fathom [RUNS]
set -euo pipefail
. "$(dirname "$0")/lib.sh" "$@"  # FATHOM, RUNS, $tmp, now, median; cd to the repository
time_sweep() {  # spec
  for _ in $(seq "$RUNS"); do
    rm -f "$tmp/s.db"*
    local t0; t0=$(now)
    "$FATHOM" sweep "$1" --db "$tmp/s.db" -j 2 --progress none > /dev/null
    echo "$(now) - $t0" | bc -l
  done | median
}
est=$(time_sweep bench/data/sweep_estimate_100k.yaml)
srv=$(time_sweep bench/data/sweep_serve_200.yaml)
# Baseline: the 200 serving points as 200 processes (two at a time, like -j 2).
t0=$(now)
for budget in 256 512 1024 2048; do
  for k in $(seq 0 49); do
    rate=$(echo "0.5 + (12 - 0.5) * $k / 49" | bc -l)
    echo "--set serve.scheduler.token_budget=$budget --set serve.workload.arrival.rate_per_s=$rate"
  done
done | xargs -P 2 -L 1 "$FATHOM" serve bench/data/serve_llama2_7b_a100_10k.yaml --format json -o /dev/null 2> /dev/null
loop=$(echo "$(now) - $t0" | bc -l)
printf '%-62s %10s\n' "case (2 threads, median of $RUNS)" "wall s"
printf '%-62s %10.2f\n' "sweep: 100,000 estimate points (sweep_estimate_100k.yaml)" "$est"
printf '%-62s %10.2f\n' "sweep: 200 serving points x 10,000 requests (sweep_serve_200)" "$srv"
printf '%-62s %10.2f\n' "baseline: the same 200 points as 200 fathom serve processes" "$loop"
printf 'serving sweep vs one process per point: %.2fx\n' "$(echo "$loop / $srv" | bc -l)"
