#!/usr/bin/env bash
# End-to-end checks of `fathom plan serve` (docs/planning.md) on the real binary, simulator and
# SQLite files:
#   rerun:   the top row's scenario (--emit-scenario 1), run by `fathom serve`, meets every
#            objective of the plan at the plan's rate;
#   resume:  with --db, kill -9 in the middle, then run again: the report equals an uninterrupted
#            run's, and the second run of a finished plan reuses every simulator run;
#   formats: table, csv and json of the same plan agree; SIGINT exits 130;
#   errors:  bad plans and flags exit 2 with one line naming the file:line or flag, and leave no
#            output file.
set -u
FATHOM="$1"
DATA="$2"
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"  # $tmp, check, pass, fail
PLAN="$DATA/plans/serve_small.yaml"
# A smaller space than the unit tests': two GPU types, two budgets.
SMALL=(--set 'candidates.gpus=[l40s, h100]' --set 'candidates.token_budget=[2048, 8192]' --set 'candidates.max_seqs=[256]')

# rerun: the emitted top fleet meets the objectives in a plain `fathom serve`.
"$FATHOM" plan serve "$PLAN" "${SMALL[@]}" --progress none --format csv > "$tmp/plan.csv" 2> "$tmp/err"
check "plan serve runs" $?
"$FATHOM" plan serve "$PLAN" "${SMALL[@]}" --progress none --emit-scenario 1 --scenario-out "$tmp/top.yaml" > /dev/null 2>&1
check "--emit-scenario writes the scenario" $?
"$FATHOM" serve "$tmp/top.yaml" --format json > "$tmp/top.json" 2>/dev/null
check "fathom serve runs the emitted scenario" $?
python3 - "$tmp/top.json" "$tmp/plan.csv" <<'PY'
import csv, json, sys
h = json.load(open(sys.argv[1]))["headline"]
row = next(csv.DictReader(open(sys.argv[2])))
ok = h["ttft_p99_s"] <= 0.6 and h["tpot_p99_s"] <= 0.06 and json.load(open(sys.argv[1]))["saturation"]["verdict"] != "overloaded"
print(f"rerun of row 1 ({row['gpu']} {row['layout']}, {row['units']} units at 80 req/s): ttft_p99 {h['ttft_p99_s']:.4f} s "
      f"(<= 0.6), tpot_p99 {h['tpot_p99_s']:.4f} s (<= 0.06)")
sys.exit(0 if ok else 1)
PY
check "the emitted top fleet meets every objective" $?

# formats agree on the top row.
"$FATHOM" plan serve "$PLAN" "${SMALL[@]}" --progress none --format json > "$tmp/plan.json" 2>/dev/null
python3 - "$tmp/plan.json" "$tmp/plan.csv" <<'PY'
import csv, json, sys
j = json.load(open(sys.argv[1]))
row = next(csv.DictReader(open(sys.argv[2])))
top = j["sections"][0]["rows"][0]
sys.exit(0 if j["kind"] == "serve" and abs(top["usd_per_hour"] - float(row["usd_per_hour"])) < 1e-9 and top["gpu"] == row["gpu"] else 1)
PY
check "json and csv agree" $?

# resume: kill -9 mid-run (once some simulator runs are stored), then finish; the report equals
# an uninterrupted run's. (Under the sanitizers, on two GPU types.)
FULL=()
if [ -n "${FATHOM_SANITIZED:-}" ]; then FULL=(--set 'candidates.gpus=[l40s, h100]' --set 'candidates.max_seqs=[256]' --set search.requests=600); fi
"$FATHOM" plan serve "$PLAN" "${FULL[@]}" --progress none --jobs 1 --format csv > "$tmp/full.csv" 2>/dev/null
db="$tmp/plan.sqlite"
"$FATHOM" plan serve "$PLAN" "${FULL[@]}" --progress none --jobs 1 --db "$db" --format csv > /dev/null 2>&1 &
pid=$!
for _ in $(seq 200); do
  n=$(sqlite3 "$db" "select count(*) from sweep_points" 2>/dev/null || echo 0)
  [ "${n:-0}" -gt 0 ] && break
  sleep 0.05
done
kill -9 "$pid" 2>/dev/null
killed=$?
wait "$pid" 2>/dev/null
stored=$(sqlite3 "$db" "select count(*) from sweep_points")
[ "$killed" = 0 ] && [ "$(sqlite3 "$db" "select count(*) from plans")" = 0 ]
check "killed mid-run ($stored simulator runs stored, no plan yet)" $?
"$FATHOM" plan serve "$PLAN" "${FULL[@]}" --progress none --jobs 1 --db "$db" --format csv > "$tmp/resumed.csv" 2>/dev/null
check "resumed run succeeds" $?
cmp -s "$tmp/full.csv" "$tmp/resumed.csv"
check "resumed report equals the uninterrupted one" $?
runs1=$(sqlite3 "$db" "select count(*) from sweep_points")
"$FATHOM" plan serve "$PLAN" "${FULL[@]}" --progress none --db "$db" --format csv > "$tmp/again.csv" 2>/dev/null
runs2=$(sqlite3 "$db" "select count(*) from sweep_points")
cmp -s "$tmp/full.csv" "$tmp/again.csv" && [ "$runs1" = "$runs2" ] && [ "$runs1" -gt 0 ]
check "a finished plan run again reuses its $runs1 stored simulator runs" $?
plans=$(sqlite3 "$db" "select count(*) from plans where kind = 'serve'")
[ "$plans" -ge 2 ]
check "each run stores its plan" $?

# SIGINT: exit 130, nothing on standard output.
# The signal goes once the first simulator run is reported, so that it lands inside the plan.
"$FATHOM" plan serve "$PLAN" --progress jsonl --db "$tmp/int.sqlite" > "$tmp/int.out" 2> "$tmp/int.err" &
pid=$!
wait_for "$tmp/int.err" '"done":' "$pid"; check "SIGINT: the plan reports progress before the signal" $?
kill -INT "$pid"
wait "$pid"
rc=$?
[ "$rc" = 130 ] && [ ! -s "$tmp/int.out" ]
check "SIGINT exits 130 with no report (got $rc)" $?

# --profile: a calibrated H100 profile prices the H100 candidates, and every scenario names it.
"$FATHOM" calib synth --db "$tmp/syn.sqlite" --quick --gpu h100-sxm --seed 5 > /dev/null 2>&1 &&
  "$FATHOM" calib fit "$tmp/syn.sqlite" --out "$tmp/h100.yaml" > /dev/null 2>&1
check "a synthetic H100 profile" $?
"$FATHOM" plan serve "$PLAN" "${SMALL[@]}" --set 'candidates.gpus=[h100]' --profile "$tmp/h100.yaml" --progress none \
  --emit-scenario 1 --scenario-out "$tmp/prof.yaml" > /dev/null 2>&1 &&
  grep -q "profile: $tmp/h100.yaml" "$tmp/prof.yaml" && "$FATHOM" serve "$tmp/prof.yaml" --format json -o "$tmp/prof.json"
check "--profile is written into the emitted scenario, which runs" $?
"$FATHOM" plan serve "$PLAN" "${SMALL[@]}" --profile defaults --progress none --emit-scenario 1 | grep -q "profile: defaults"
check "--profile defaults is written into the emitted scenario" $?

# errors: one line, exit 2 (expect_error, tests/cli/lib.sh), no output file.
printf 'name: x\nmodel: llama-3.1-8b\ntraffic:\n  arrival: {process: poisson, rate_per_s: 5}\n  input_tokens: {dist: fixed, value: 100}\n  output_tokens: {dist: fixed, value: 10}\nslo: {ttft_p99_s: 0.5}\ncandidates: {gpus: [h100], tpp: [1]}\n' > "$tmp/bad.yaml"
expect_error "unknown key names file:line" "bad.yaml:8" "$FATHOM" plan serve "$tmp/bad.yaml" -o "$tmp/o.txt"
[ ! -e "$tmp/o.txt" ]
check "no output file after an error" $?
expect_error "unknown GPU" "l9000" "$FATHOM" plan serve "$PLAN" --set 'candidates.gpus=[l9000]'
expect_error "--emit-scenario past the rows" "--emit-scenario" "$FATHOM" plan serve "$PLAN" "${SMALL[@]}" --progress none --emit-scenario 99
expect_error "missing plan file" "nope.yaml" "$FATHOM" plan serve "$tmp/nope.yaml"
expect_error "bad --jobs" "--jobs" "$FATHOM" plan serve "$PLAN" --jobs -3
expect_error "impossible objectives say why" "latency bound" "$FATHOM" plan serve "$PLAN" "${SMALL[@]}" --set slo.ttft_p99_s=0.0001

echo "plan serve: $pass passed, $fail failed"
[ "$fail" = 0 ]
