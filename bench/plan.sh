#!/usr/bin/env bash
# Whole-process timing of `fathom plan serve` (docs/planning.md; docs/performance.md): the
# example question (data/plans/llama3.1-70b-40rps.yaml: 32 candidates) run RUNS times, and, as
# the baseline in the same run, what a user would run without the planner: an exhaustive
# `fathom sweep` of the same 32 candidate units over 25 arrival rates (2 requests/s apart, the
# planner bisects to 1%), the same 3,000 requests per run.
#   bench/plan.sh build/fathom [RUNS]
set -euo pipefail
. "$(dirname "$0")/lib.sh" "$@"  # FATHOM, RUNS, $tmp, now, median; cd to the repository
PLAN=data/plans/llama3.1-70b-40rps.yaml
plan=$(for _ in $(seq "$RUNS"); do
  t0=$(now)
  "$FATHOM" plan serve "$PLAN" -j 2 --progress none > /dev/null
  echo "$(now) - $t0" | bc -l
done | median)
# The baseline's base scenario: the plan's top unit as one replica.
"$FATHOM" plan serve "$PLAN" -j 2 --progress none --emit-scenario 1 --scenario-out "$tmp/base.yaml" > /dev/null
cat > "$tmp/sweep.yaml" <<YAML
name: exhaustive
command: serve
scenario: $tmp/base.yaml
set:
  serve.parallel.replicas: 1
  serve.workload.requests: 3000
axes:
  - path: hardware.gpu
    values: [a100, h100, h200, b200]
  - zip:
      - {path: precision.weights, values: [bf16, fp8]}
      - {path: precision.activations, values: [bf16, fp8]}
      - {path: precision.kv_cache, values: [bf16, fp8]}
  - path: serve.parallel.tp
    values: [1, 2, 4, 8]
  - rate: {from: 2, to: 50, steps: 25}
YAML
t0=$(now)
"$FATHOM" sweep "$tmp/sweep.yaml" --db "$tmp/s.db" -j 2 --progress none > /dev/null
sweep=$(echo "$(now) - $t0" | bc -l)
printf '%-66s %10s\n' "case (2 threads, plan: median of $RUNS)" "wall s"
printf '%-66s %10.2f\n' "plan serve: 32 candidates, bisection to 1% (llama3.1-70b-40rps)" "$plan"
printf '%-66s %10.2f\n' "baseline: exhaustive sweep, 32 units x 25 rates (800 runs)" "$sweep"
printf 'planner vs exhaustive sweep: %.2fx faster (capacity to 1%% against steps of 2 requests/s)\n' "$(echo "$sweep / $plan" | bc -l)"
