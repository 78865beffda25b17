#!/usr/bin/env bash
# --progress on the real binary (cli/progress.h, docs/user_guide.md "Progress"): `jsonl` writes
# JSON lines {"done":..,"total":..} on stderr that rise to done == total; `auto` off a terminal
# and `none` write nothing; standard output is the same in every mode; a bad value is one line
# naming --progress and exit 2.
set -u
FATHOM="$1"
DATA="$2"
SCEN="${FATHOM_DATA_DIR}/scenarios"
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"  # $tmp, check, pass, fail
# Every stderr line a JSON object of the task; done rises (never falls) to the last line's total.
jsonl_ok() {  # file, task
  python3 - "$1" "$2" <<'EOF'
import json, sys
lines = open(sys.argv[1]).read().splitlines()
assert lines, "no progress lines"
rows = [json.loads(l) for l in lines]
assert all(r["task"] == sys.argv[2] for r in rows), rows[0]
assert rows[0]["done"] == 0 and rows[-1]["done"] == rows[-1]["total"] > 0, (rows[0], rows[-1])
assert all(r["total"] == rows[0]["total"] for r in rows)
assert all(a["done"] < b["done"] for a, b in zip(rows, rows[1:])), "not monotone"
assert len(rows) <= 102, len(rows)
assert all(r["elapsed_s"] >= 0 and r["eta_s"] >= 0 for r in rows)
EOF
}

# train --search
T="$SCEN/gpt3-175b-train-a100.yaml"
"$FATHOM" train "$T" --search --top 3 --format csv --progress jsonl > "$tmp/s1.csv" 2> "$tmp/s1.err"
check "train --search --progress jsonl exits 0" $?
jsonl_ok "$tmp/s1.err" "train search" 2>/dev/null; check "train --search: JSON lines rising to done == total" $?
"$FATHOM" train "$T" --search --top 3 --format csv --progress none > "$tmp/s2.csv" 2> "$tmp/s2.err"
check "train --search --progress none exits 0" $?
[ ! -s "$tmp/s2.err" ]; check "train --search --progress none: nothing on stderr" $?
"$FATHOM" train "$T" --search --top 3 --format csv > "$tmp/s3.csv" 2> "$tmp/s3.err"
[ ! -s "$tmp/s3.err" ]; check "train --search, auto off a terminal: nothing on stderr" $?
cmp -s "$tmp/s1.csv" "$tmp/s2.csv" && cmp -s "$tmp/s1.csv" "$tmp/s3.csv"; check "train --search: the same ranking in every mode" $?

# fit --bootstrap
FD="$DATA/fit"
"$FATHOM" fit "$FD/scaling_small.csv" --law chinchilla --bootstrap 200 --format json --progress jsonl > "$tmp/f1.json" 2> "$tmp/f1.err"
check "fit --bootstrap --progress jsonl exits 0" $?
jsonl_ok "$tmp/f1.err" "bootstrap" 2>/dev/null; check "fit --bootstrap: JSON lines rising to done == total" $?
python3 -c "import json,sys; r=[json.loads(l) for l in open('$tmp/f1.err')]; assert r[-1]['total']==200" 2>/dev/null
check "fit --bootstrap: total is the resample count" $?
"$FATHOM" fit "$FD/scaling_small.csv" --law chinchilla --bootstrap 200 --format json --progress none --threads 1 > "$tmp/f2.json" 2> "$tmp/f2.err"
[ ! -s "$tmp/f2.err" ]; check "fit --bootstrap --progress none: nothing on stderr" $?
python3 -c "
import json; a=json.load(open('$tmp/f1.json')); b=json.load(open('$tmp/f2.json'))
assert a['parameters']==b['parameters'] and a['objective']==b['objective'] and a.get('derived')==b.get('derived')" 2>/dev/null
check "fit --bootstrap: the same intervals with progress on all cores and without on one thread" $?

# validate serving (the throughput table; --queueing adds a second sequence)
"$FATHOM" validate serving --queueing --queue-requests 1000 --format csv --progress jsonl > "$tmp/v.csv" 2> "$tmp/v.err"
check "validate serving --progress jsonl exits 0" $?
grep '"validate serving: throughput"' "$tmp/v.err" > "$tmp/v1.err" && jsonl_ok "$tmp/v1.err" "validate serving: throughput" 2>/dev/null
check "validate serving: throughput rows rise to done == total" $?
grep '"validate serving: queueing"' "$tmp/v.err" > "$tmp/v2.err" && jsonl_ok "$tmp/v2.err" "validate serving: queueing" 2>/dev/null
check "validate serving --queueing: requests rise to done == total" $?

# bad values: one line naming the flag, exit 2, nothing on standard output
for cmd in "train $T --search" "fit $FD/scaling_small.csv --law chinchilla --bootstrap 10" "validate training" \
           "validate serving" "validate fitting"; do
  # shellcheck disable=SC2086
  "$FATHOM" $cmd --progress sometimes > "$tmp/o" 2> "$tmp/e"; rc=$?
  [ $rc -eq 2 ] && [ "$(wc -l < "$tmp/e")" -eq 1 ] && grep -q -- "--progress" "$tmp/e" && grep -q "sometimes" "$tmp/e" && [ ! -s "$tmp/o" ]
  check "$cmd: --progress sometimes gives one line naming the flag and exit 2" $?
done

echo "cli progress: $pass passed, $fail failed"
[ $fail -eq 0 ]
