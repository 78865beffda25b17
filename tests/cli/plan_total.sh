#!/usr/bin/env bash
# End-to-end checks of `fathom plan total` (docs/planning-total.md) on the real binary and the
# catalog: --cost flops reproduces Sardana et al. 2024's Fig. 1 optimum (7B, 17% saving); --cost usd
# ranks the lifetime optimum first and prices a model grid; formats agree; bad plans and flags exit
# 2 with one line naming the file:line or the flag, and write no output file.
set -u
FATHOM="$1"
PLANS="${FATHOM_DATA_DIR:?}/plans"
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"  # $tmp, check, pass, fail

"$FATHOM" plan total "$PLANS/total-flops-sardana.yaml" --cost flops --format csv > "$tmp/flops.csv" 2> "$tmp/err"
check "plan total --cost flops runs" $?
python3 - "$tmp/flops.csv" <<'PY'
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1])))
r = rows[0]
n, save = float(r["n_params"]), float(r["saving_vs_chinchilla_pct"])
# Sardana et al. 2024, Fig. 1: a 7B model instead of the 13B saves 17% (whole percent).
print(f"flops: {r['point']} N={n:.4g} (paper 7e9), saving {save:.2f}% (paper 17%)")
ok = r["point"] == "lifetime_optimal" and abs(n / 7e9 - 1) < 0.02 and abs(save - 17) <= 0.5
ok = ok and any(x["point"] == "chinchilla_optimal" and abs(float(x["n_params"]) / 13e9 - 1) < 1e-6 for x in rows)
sys.exit(0 if ok else 1)
PY
check "flops optimum is Sardana et al.'s Fig. 1 point" $?

"$FATHOM" plan total "$PLANS/total-usd-llama.yaml" --cost usd --format json > "$tmp/usd.json" 2> "$tmp/err"
check "plan total --cost usd runs" $?
"$FATHOM" plan total "$PLANS/total-usd-llama.yaml" --cost usd --format csv > "$tmp/usd.csv" 2> "$tmp/err"
check "plan total --cost usd --format csv runs" $?
python3 - "$tmp/usd.json" "$tmp/usd.csv" <<'PY'
import csv, json, sys
doc = json.load(open(sys.argv[1]))
names = [s["name"] for s in doc["sections"]]
ranked = doc["sections"][0]["rows"]
rows = list(csv.DictReader(open(sys.argv[2])))
totals = [float(r["total_usd"]) for r in rows]
ok = names == ["ranked", "chinchilla", "grid"] and ranked[0]["point"] == "lifetime_optimal"
ok = ok and totals == sorted(totals) and len(doc["sections"][2]["rows"]) == 8
ok = ok and abs(float(rows[0]["n_params"]) / ranked[0]["n_params"] - 1) < 1e-12
print(f"usd: sections {names}, optimum N={ranked[0]['n_params']:.4g} at ${ranked[0]['total_usd']:.4g}")
sys.exit(0 if ok else 1)
PY
check "usd report: ranked, chinchilla, grid; cheapest first; json and csv agree" $?

# A lower price for the same GPU scales training and serving alike: the same optimum, half the bill.
printf 'usd_per_gpu_hour: {h100: 1.495}\n' > "$tmp/prices.yaml"
"$FATHOM" plan total "$PLANS/total-usd-llama.yaml" --cost usd --prices "$tmp/prices.yaml" --format csv > "$tmp/half.csv" 2> "$tmp/err"
python3 - "$tmp/usd.csv" "$tmp/half.csv" <<'PY'
import csv, sys
a = next(csv.DictReader(open(sys.argv[1])))
b = next(csv.DictReader(open(sys.argv[2])))
ok = abs(float(a["n_params"]) / float(b["n_params"]) - 1) < 1e-9 and abs(float(b["total_usd"]) / float(a["total_usd"]) - 0.5) < 1e-9
sys.exit(0 if ok else 1)
PY
check "--prices halves the bill and keeps the optimum" $?

bad() {  # name, expected text, args...
  local name="$1" want="$2"
  shift 2
  "$FATHOM" plan total "$@" -o "$tmp/out.txt" > /dev/null 2> "$tmp/err"
  local rc=$?
  [ "$rc" = 2 ] && [ "$(wc -l < "$tmp/err")" = 1 ] && grep -qF -- "$want" "$tmp/err" && [ ! -e "$tmp/out.txt" ]
  check "$name (rc $rc: $(cat "$tmp/err"))" $?
}
bad "unknown --cost" "--cost" "$PLANS/total-flops-sardana.yaml" --cost joules
bad "loss and a reference model" "total-flops-sardana.yaml:14" "$PLANS/total-flops-sardana.yaml" --cost flops --set target.loss=2
bad "a loss below the law's floor" "below what the chinchilla law reaches" "$PLANS/total-flops-sardana.yaml" --cost flops --set 'target={loss: 1.5}'
bad "a missing law constant" "parameter beta" "$PLANS/total-flops-sardana.yaml" --cost flops --set law.beta=null
bad "an unknown GPU" "total-usd-llama.yaml:22" "$PLANS/total-usd-llama.yaml" --cost usd --set usd.gpu=h900
bad "an MFU above 1" "mfu" "$PLANS/total-usd-llama.yaml" --cost usd --set usd.mfu=1.5
bad "a missing plan" "no-such-plan.yaml" "$tmp/no-such-plan.yaml" --cost flops

echo "plan total end-to-end: $pass passed, $fail failed"
[ "$fail" = 0 ]
