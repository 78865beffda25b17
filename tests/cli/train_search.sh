#!/usr/bin/env bash
# `fathom train --search` as a practitioner would run it, on the real binary and the catalog's
# GPT-3 175B scenario (1,024 A100-80GB): --fix restricts the layouts, --headroom keeps HBM free,
# MFU and HFU are named with their conventions, and the framework assumed stands beside each
# layout (docs/training.md, "Configuration search"). Errors are one line naming the flag, exit 2.
set -u
FATHOM="$1"
SCEN="${FATHOM_DATA_DIR}/scenarios"
GPT3="$SCEN/gpt3-175b-train-a100.yaml"
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"  # $tmp, check, expect_error, pass, fail

# --fix tp=8,pp=8: every row of the CSV is tp 8, pp 8 (columns 3 and 4), and there are some.
"$FATHOM" train "$GPT3" --search --fix tp=8,pp=8 --top 50 --format csv > "$tmp/fix.csv"; check "search --fix csv exits 0" $?
rows=$(tail -n +2 "$tmp/fix.csv" | wc -l)
[ "$rows" -ge 10 ]; check "search --fix tp=8,pp=8 lists layouts ($rows)" $?
[ "$(tail -n +2 "$tmp/fix.csv" | awk -F, '$3 != 8 || $4 != 8' | wc -l)" = 0 ]; check "every --fix tp=8,pp=8 row is tp8 pp8" $?
head -1 "$tmp/fix.csv" | grep -q ',usd,framework,model_flops_per_step,hardware_flops_per_step$'
check "search csv appends framework and the FLOPs behind mfu and hfu" $?
tail -n +2 "$tmp/fix.csv" | awk -F, '$22 != "megatron" && $22 != "fsdp" { bad = 1 } END { exit bad }'
check "search csv names a framework per row" $?

# Text: the fix, the headroom, the framework column and both utilisations named.
"$FATHOM" train "$GPT3" --search --fix tp=8,pp=8 --top 5 > "$tmp/fix.txt"; check "search --fix text exits 0" $?
grep -q "^fixed: tp=8,pp=8$" "$tmp/fix.txt"; check "search text states the fix" $?
grep -q "memory headroom 10% of HBM" "$tmp/fix.txt"; check "search text states the default headroom" $?
grep -q " framework .* MFU .* HFU " "$tmp/fix.txt"; check "search table has framework, MFU and HFU columns" $?
grep -q "^MFU = model FLOPs: 6N per token plus attention .*PaLM" "$tmp/fix.txt" &&
  grep -q "^HFU = hardware FLOPs as executed, recomputation included (Megatron-LM" "$tmp/fix.txt"
check "search text names both FLOP conventions with sources" $?
[ "$(grep -c '^[1-5]  *1024  *tp8 pp8 ' "$tmp/fix.txt")" = 5 ]; check "the five text rows are tp8 pp8" $?

# JSON: the fix, the headroom, flop_conventions, framework per layout; the headroom holds.
"$FATHOM" train "$GPT3" --search --headroom 0.25 --top 30 --format json | python3 -c "
import json,sys; d=json.load(sys.stdin); s=d['search']
assert s['memory_headroom']==0.25 and s['fix']=='' and len(s['top'])==30
assert 'PaLM' in d['flop_conventions']['mfu'] and 'recomputation' in d['flop_conventions']['hfu']
for r in s['top']:
    assert r['config']['framework'] in ('megatron','fsdp')
    assert r['memory_bytes']['total'] <= 0.75*r['memory_bytes']['capacity']
    assert r['mfu'] <= r['hfu']
assert s['rejected']['memory headroom']['count'] > 0
assert 'expected at most 60.0 GiB per GPU (25% of the 80.0 GiB of HBM kept free)' in s['rejected']['memory headroom']['example']
" 2> "$tmp/py.err"
check "search json: headroom 0.25 holds, conventions and frameworks named ($(tail -1 "$tmp/py.err"))" $?

# An impossible fix: no layout, exit 0, the reason counted under "fix".
"$FATHOM" train "$GPT3" --search --fix tp=3 > "$tmp/imp.txt"; check "search with an impossible fix exits 0" $?
grep -q "no feasible configuration" "$tmp/imp.txt" && grep -q "rejected 1 (fix): e.g. expected tp=3 to divide the 1024 GPUs" "$tmp/imp.txt"
check "an impossible fix is explained" $?

# One layout (no --search): the framework in the header, both conventions named, CSV rows appended.
"$FATHOM" train "$GPT3" > "$tmp/one.txt"; check "train exits 0" $?
grep -q "^layout tp8 pp8 dp16 (Megatron-style); " "$tmp/one.txt"; check "train header names the framework" $?
grep -q "MFU (model FLOPs, PaLM App. B) [0-9.]*%, HFU (hardware FLOPs incl. recompute) [0-9.]*%" "$tmp/one.txt"
check "train names both utilisations" $?
grep -q "fits" "$tmp/one.txt"; check "train still reports fits" $?
"$FATHOM" train "$GPT3" --format csv > "$tmp/one.csv"; check "train csv exits 0" $?
tail -1 "$tmp/one.csv" | grep -q "^layout,framework,megatron,$" && grep -q "^throughput,model_flops_per_step," "$tmp/one.csv"
check "train csv appends the framework and the FLOPs" $?
"$FATHOM" train "$GPT3" --format json | python3 -c "
import json,sys; d=json.load(sys.stdin)
assert d['result']['config']['framework']=='megatron' and 'mfu' in d['flop_conventions']" 2>/dev/null
check "train json names the framework and the conventions" $?

# Errors: one line naming the flag.
CMD=(train "$GPT3" --search)
expect_error "unknown key" "^fathom: --fix: expected key=value pairs .* found the key 'foo' in 'tp=8,foo=2'" "$FATHOM" "${CMD[@]}" --fix tp=8,foo=2
expect_error "zero degree" "--fix: expected key=value pairs .* found tp=0 (expected 1 to" "$FATHOM" "${CMD[@]}" --fix tp=0
expect_error "a key twice" "--fix: expected key=value pairs .* found tp twice in 'tp=8,tp=4'" "$FATHOM" "${CMD[@]}" --fix tp=8,tp=4
expect_error "bad recompute" "--fix: .* found recompute='most'" "$FATHOM" "${CMD[@]}" --fix recompute=most
expect_error "headroom too large" "--headroom: expected a fraction of HBM from 0 to below 0.5 (e.g. 0.1), found '0.5'" \
  "$FATHOM" "${CMD[@]}" --headroom 0.5
expect_error "headroom not a number" "--headroom: expected a fraction .* found 'lots'" "$FATHOM" "${CMD[@]}" --headroom lots
expect_error "--fix without --search" "--fix: expected only with --search" "$FATHOM" train "$GPT3" --fix tp=8
expect_error "--headroom without --search" "--headroom: expected only with --search" "$FATHOM" train "$GPT3" --headroom 0.2

echo "train_search: $pass passed, $fail failed"
[ "$fail" = 0 ]
