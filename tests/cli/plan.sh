#!/usr/bin/env bash
# End-to-end checks of `fathom plan train` and `fathom plan export` (docs/planning-train.md) on
# the real binary, the catalog and real SQLite files:
#   acceptance: llama-3.1-70b on 15T tokens, at most 8,192 H100, within 90 days: ranked layouts,
#               and row 1's emitted scenario re-run by `fathom train` gives the same step time,
#               tokens/s, MFU, days and dollars (bit for bit in JSON);
#   ranking:    every row meets the deadline and the budget; a budget that nothing meets gives
#               an empty ranked table and a note, not an error;
#   store:      --db stores the plan, `plan export` gives the same CSV as --format csv, and the
#               stored row's scenario text is the emitted one;
#   errors:     bad input exits 2 with one line naming the file:line or flag, and leaves no file.
set -u
FATHOM="$1"
DATA="$2"
PLAN="$(dirname "$0")/../../data/plans/llama3.1-70b-train.yaml"
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"  # $tmp, check, pass, fail
: "$DATA"

# --- acceptance -------------------------------------------------------------------------------
"$FATHOM" plan train "$PLAN" --format json --progress none > "$tmp/plan.json"
check "plan train exits 0" $?
rows=$(jq '.sections[0].rows | length' "$tmp/plan.json")
[ "$rows" -ge 3 ]; check "at least 3 ranked layouts (found $rows)" $?
jq -e '[.sections[0].rows[] | .train_days <= 90 and .gpus <= 8192 and .gpu == "h100-sxm"] | all' "$tmp/plan.json" > /dev/null
check "every row within 90 days on at most 8192 H100" $?
jq -e '[.sections[0].rows[].usd] as $u | $u == ($u | sort)' "$tmp/plan.json" > /dev/null
check "rows ranked by cost" $?
jq -e '.sections[0].rows[0].goodput == null' "$tmp/plan.json" > /dev/null; check "goodput left empty (null)" $?
"$FATHOM" plan train "$PLAN" --emit-scenario 1 --progress none > "$tmp/row1.yaml"
check "--emit-scenario 1 exits 0" $?
"$FATHOM" train "$tmp/row1.yaml" --format json > "$tmp/train.json"
check "fathom train runs the emitted scenario" $?
python3 - "$tmp/plan.json" "$tmp/train.json" <<'EOF'
import json, sys
row = json.load(open(sys.argv[1]))["sections"][0]["rows"][0]
res = json.load(open(sys.argv[2]))["result"]
pairs = {"step_s": res["time_s"]["step"], "tokens_per_s": res["tokens_per_s"], "mfu": res["mfu"],
         "train_days": res["train"]["time_s"] / 86400, "gpu_hours": res["train"]["gpu_hours"], "usd": res["train"]["usd"],
         "gpus": res["config"]["gpus"], "tp": res["config"]["tp"], "pp": res["config"]["pp"], "dp": res["config"]["dp"],
         "cp": res["config"]["cp"], "zero": res["config"]["zero"], "microbatch": res["config"]["microbatch"]}
bad = {k: (row[k], v) for k, v in pairs.items() if row[k] != v}  # exact: the same doubles
print("row 1 vs fathom train: " + ("identical" if not bad else "DIFFERENT " + repr(bad)) +
      f" (step {row['step_s']} s, {row['train_days']} days, ${row['usd']})")
sys.exit(1 if bad else 0)
EOF
check "row 1 re-run by fathom train: same numbers" $?

# --- constraints ------------------------------------------------------------------------------
budget=$(jq '.sections[0].rows[2].usd' "$tmp/plan.json")
"$FATHOM" plan train "$PLAN" --set "budget_usd=$budget" --set rank_by=time --format json --progress none > "$tmp/b.json"
jq -e --argjson b "$budget" '[.sections[0].rows[] | .usd <= $b] | all' "$tmp/b.json" > /dev/null
check "budget: every row within it" $?
jq -e '[.sections[0].rows[].train_days] as $d | $d == ($d | sort)' "$tmp/b.json" > /dev/null
check "rank_by time: rows by days" $?
"$FATHOM" plan train "$PLAN" --set budget_usd=1000 --format json --progress none > "$tmp/none.json"
jq -e '(.sections[0].rows | length) == 0 and (.notes | any(test("no layout meets")))' "$tmp/none.json" > /dev/null
check "a budget nothing meets: no rows, a note" $?

# --- store and export -------------------------------------------------------------------------
"$FATHOM" plan train "$PLAN" --format csv --progress none --db "$tmp/p.db" -o "$tmp/plan.csv"
check "--db exits 0" $?
[ "$(sqlite3 "$tmp/p.db" 'SELECT COUNT(*) FROM plans')" = 1 ]; check "one plan stored" $?
[ "$(sqlite3 "$tmp/p.db" 'PRAGMA user_version')" = 4 ]; check "schema version 4" $?
"$FATHOM" plan export "$tmp/p.db" > "$tmp/export.csv"
cmp -s "$tmp/plan.csv" "$tmp/export.csv"; check "plan export CSV equals --format csv" $?
head -1 "$tmp/export.csv" | grep -q '^rank,gpu,gpus,tp,pp,dp,cp,ep,virtual_stages,microbatch,recompute,zero,step_s,'
check "CSV header" $?
sqlite3 "$tmp/p.db" "SELECT scenario_text FROM plan_rows WHERE section = 'ranked' AND rank = 1" > "$tmp/stored.yaml"
diff -q <(cat "$tmp/row1.yaml") <(head -c -1 "$tmp/stored.yaml") > /dev/null; check "stored scenario = emitted scenario" $?
"$FATHOM" plan export "$tmp/p.db" --plan llama3.1-70b-15t-h100 --section by_cluster_size > "$tmp/sizes.csv"
[ "$(wc -l < "$tmp/sizes.csv")" = 5 ]; check "export --section by_cluster_size: 4 sizes" $?
"$FATHOM" plan export "$tmp/p.db" --format json | jq -e '.sections[0].rows | length > 0' > /dev/null
check "export JSON" $?

# --- errors -----------------------------------------------------------------------------------
expect_error "missing plan file" "nothing.yaml" "$FATHOM" plan train "$tmp/nothing.yaml" -o "$tmp/out.txt"
printf 'model: llama-3.1-70b\ntokens: 15T\ngpus: [h100-sxm]\ncluster_sizes: 1024\ntrain: {seq_len: 8192, global_batch: 2048}\nbudget: 5\n' > "$tmp/bad.yaml"
expect_error "unknown key" "bad.yaml:6: .*budget" "$FATHOM" plan train "$tmp/bad.yaml" -o "$tmp/out.txt"
printf 'model: llama-3.1-70b\ntokens: 15T\ngpus: [h100-sxn]\ncluster_sizes: 1024\ntrain: {seq_len: 8192, global_batch: 2048}\n' > "$tmp/bad2.yaml"
expect_error "unknown GPU" "bad2.yaml:3: " "$FATHOM" plan train "$tmp/bad2.yaml" -o "$tmp/out.txt"
printf 'model: llama-3.1-70b\ntokens: 15T\ngpus: [h100-sxm]\ncluster_sizes: 1024\ntrain: {seq_len: -4, global_batch: 2048}\n' > "$tmp/bad3.yaml"
expect_error "bad train value" "bad3.yaml:5: .*seq_len" "$FATHOM" plan train "$tmp/bad3.yaml" -o "$tmp/out.txt"
expect_error "--emit-scenario past the rows" "^fathom: --emit-scenario: expected a rank from 1 to" \
  "$FATHOM" plan train "$PLAN" --emit-scenario 99 --scenario-out "$tmp/out.yaml" -o "$tmp/out.txt" --db "$tmp/new.db"
expect_error "bad --set" "^fathom: --set deadline_days=-1" "$FATHOM" plan train "$PLAN" --set deadline_days=-1 -o "$tmp/out.txt"
expect_error "bad --format" "^fathom: --format" "$FATHOM" plan train "$PLAN" --format xml -o "$tmp/out.txt"
printf 'usd_per_gpu_hour: {h100-sxm: -2}\n' > "$tmp/prices.yaml"
expect_error "bad prices" "prices.yaml:1: " "$FATHOM" plan train "$PLAN" --prices "$tmp/prices.yaml" -o "$tmp/out.txt"
expect_error "export: no such plan" "^fathom: --plan: " "$FATHOM" plan export "$tmp/p.db" --plan 42
expect_error "export: no such section" "^fathom: --section: " "$FATHOM" plan export "$tmp/p.db" --section nope
[ ! -e "$tmp/out.txt" ] && [ ! -e "$tmp/out.yaml" ] && [ ! -e "$tmp/new.db" ]
check "no output file or database left by a failing run" $?

# --- prices -----------------------------------------------------------------------------------
printf 'usd_per_gpu_hour: {h100: 2.0}\n' > "$tmp/p2.yaml"
"$FATHOM" plan train "$PLAN" --prices "$tmp/p2.yaml" --format json --progress none > "$tmp/priced.json" 2> "$tmp/err"
python3 -c "
import json,sys
r = json.load(open('$tmp/priced.json'))['sections'][0]['rows'][0]
sys.exit(0 if abs(r['usd'] - 2.0 * r['gpu_hours']) <= 1e-9 * r['usd'] else 1)" 2> /dev/null
check "--prices sets the \$/GPU-hour ($(head -c 200 "$tmp/err"))" $?

echo "cli plan: $pass passed, $fail failed"
[ "$fail" = 0 ]
