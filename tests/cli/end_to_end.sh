#!/usr/bin/env bash
# End-to-end test of the real `fathom` binary: good runs produce output and exit 0; every bad
# input file produces exactly one line on stderr naming file:line (or the flag), exit status 2,
# and no output file.
set -u
FATHOM="$1"
DATA="$2"
SCEN="${FATHOM_DATA_DIR}/scenarios"
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"  # $tmp, check, pass, fail

# --- good runs ---
"$FATHOM" estimate "$SCEN/llama3.1-70b-decode-h100.yaml" > "$tmp/out.txt" 2> "$tmp/err.txt"
check "estimate decode exits 0" $?
grep -q "memory-bound" "$tmp/out.txt"; check "estimate decode prints the bound summary" $?
"$FATHOM" estimate "$SCEN/gpt3-175b-train-a100.yaml" --format json -o "$tmp/train.json"
check "estimate train json exits 0" $?
python3 -c "import json,sys; d=json.load(open('$tmp/train.json')); assert d['context']['tool']=='fathom'; assert d['summary']['compute_bound_s']>0.5*d['summary']['time_s']" 2>/dev/null
check "train json has context and is compute-bound" $?
"$FATHOM" estimate "$SCEN/llama3.1-70b-decode-h100.yaml" --format csv | head -1 | grep -q '^name,category,kind'
check "csv header" $?
"$FATHOM" estimate "$SCEN/llama3.1-70b-decode-h100.yaml" --db "$tmp/runs.sqlite" > /dev/null
check "estimate --db exits 0" $?
[ "$(sqlite3 "$tmp/runs.sqlite" 'select count(*) from runs')" = 1 ]; check "run recorded in SQLite" $?
for w in gpus clusters models; do
  "$FATHOM" catalog $w > "$tmp/cat.txt"; check "catalog $w" $?
done
grep -q "deepseek-v3" "$tmp/cat.txt"; check "catalog models lists deepseek-v3" $?
"$FATHOM" model show llama-3.1-405b | grep -q "parameters, total  *405.9 B"; check "model show 405B" $?
"$FATHOM" model import "$DATA/hf/mixtral-8x7b.json" --name mixtral-imported -o "$tmp/mixtral-imported.yaml" 2>/dev/null
check "model import exits 0" $?
"$FATHOM" model show "$tmp/mixtral-imported.yaml" --format json | python3 -c "import json,sys; d=json.load(sys.stdin)['model']; assert abs(d['params_total']/46.7e9-1)<0.005" 2>/dev/null
check "imported model loads back with 46.7B" $?

# fathom train: one layout, the search, the validation.
"$FATHOM" train "$SCEN/gpt3-175b-train-a100.yaml" > "$tmp/t.txt"; check "train exits 0" $?
grep -q "pipeline bubble" "$tmp/t.txt" && grep -q "optimizer state" "$tmp/t.txt"; check "train prints time and memory breakdowns" $?
"$FATHOM" train "$SCEN/gpt3-175b-train-a100.yaml" --format json | python3 -c "
import json,sys; d=json.load(sys.stdin)['result']; t=d['time_s']
parts=sum(v for k,v in t.items() if k!='step'); assert abs(parts/t['step']-1)<1e-6, (parts, t['step'])
assert d['memory_bytes']['total']<=d['memory_bytes']['capacity'] and d['train']['gpu_hours']>0" 2>/dev/null
check "train json: the breakdown sums to the step, time to train present" $?
"$FATHOM" train "$SCEN/gpt3-175b-train-a100.yaml" --search --top 3 --format csv > "$tmp/s.csv"; check "train --search csv exits 0" $?
[ "$(wc -l < "$tmp/s.csv")" = 4 ] && head -1 "$tmp/s.csv" | grep -q '^rank,gpus,tp,pp'; check "search csv has a header and 3 rows" $?
"$FATHOM" train "$SCEN/gpt3-175b-train-a100.yaml" --search --gpus 512,1024 --rank cost --db "$tmp/runs.sqlite" > "$tmp/s.txt"
check "search over two GPU counts by cost, recorded" $?
grep -q "rejected" "$tmp/s.txt" && grep -q "(memory)" "$tmp/s.txt"; check "search reports rejections by reason" $?
[ "$(sqlite3 "$tmp/runs.sqlite" "select count(*) from runs where command='train --search'")" = 1 ]; check "search recorded in SQLite" $?
"$FATHOM" validate training --format json | python3 -c "
import json,sys; t=json.load(sys.stdin)['tables']; m=[x for x in t if x['name']=='megatron'][0]
assert len(m['rows'])==10 and m['median_abs_error']<=0.10" 2>/dev/null
check "validate training: Megatron median within 10%" $?
"$FATHOM" validate training --vtrain "$tmp/nowhere" | grep -q "skipped: vTrain files not found"; check "validate training skips absent vTrain files" $?

# fathom serve: the simulation, its files, determinism, the run store and the validation.
"$FATHOM" serve "$DATA/serve_small.yaml" > "$tmp/sv.txt"; check "serve exits 0" $?
grep -q "time to first token" "$tmp/sv.txt" && grep -q "goodput" "$tmp/sv.txt"; check "serve prints latency table and goodput" $?
"$FATHOM" serve "$DATA/serve_small.yaml" --requests-out "$tmp/r1.csv" --timeseries-out "$tmp/ts1.csv" --format json -o "$tmp/sv1.json"
check "serve with all outputs exits 0" $?
"$FATHOM" serve "$DATA/serve_small.yaml" --requests-out "$tmp/r2.csv" --timeseries-out "$tmp/ts2.csv" --format json -o "$tmp/sv2.json"
cmp -s "$tmp/r1.csv" "$tmp/r2.csv" && cmp -s "$tmp/ts1.csv" "$tmp/ts2.csv"; check "same seed: byte-identical request and time-series files" $?
[ "$(wc -l < "$tmp/r1.csv")" = 301 ] && head -1 "$tmp/r1.csv" | grep -q '^id,arrival_s,scheduled_s,first_token_s'; check "one CSV row per request" $?
"$FATHOM" serve "$DATA/serve_small.yaml" --seed 4 --requests-out "$tmp/r3.csv" > /dev/null
! cmp -s "$tmp/r1.csv" "$tmp/r3.csv"; check "--seed changes the draws" $?
python3 -c "
import json; d=json.load(open('$tmp/sv1.json')); assert d['context']['command']=='serve'
assert d['completed']==d['requests']==300; assert abs(d['mean_in_system']/(d['arrival_rate']*d['e2e_s']['mean'])-1)<1e-9
assert d['ttft_s']['p50']<=d['ttft_s']['p99'] and 0<d['gpu_busy']<=1" 2>/dev/null
check "serve json: all requests complete, Little's law" $?
"$FATHOM" serve "$DATA/serve_small.yaml" --format csv | grep -q '^ttft_s.p99,'; check "serve csv summary" $?
"$FATHOM" serve "$DATA/serve_trace.yaml" | grep -q "5 requests, arrivals trace"; check "serve replays an Azure-format trace" $?
"$FATHOM" serve "$DATA/serve_small.yaml" --db "$tmp/runs.sqlite" > /dev/null
[ "$(sqlite3 "$tmp/runs.sqlite" "select count(*) from runs where command='serve'")" = 1 ]; check "serve recorded in SQLite" $?
printf 'model,gpu,tp,input_tokens,output_tokens,output_tokens_per_s\nllama-3.1-8b,h100-sxm,1,2048,128,3556.73\n' > "$tmp/pub.csv"
"$FATHOM" validate serving --published "$tmp/pub.csv" --format json | python3 -c "
import json,sys; t=json.load(sys.stdin)['throughput']; assert len(t['rows'])==1 and t['median_abs_error']<0.2" 2>/dev/null
check "validate serving against a published row" $?

# fathom fit / predict / optimal on the synthetic files of tests/data/fit (make_fit_data.py).
FD="$DATA/fit"
"$FATHOM" fit "$FD/scaling_small.csv" --law chinchilla --bootstrap 200 --result "$tmp/fit.yaml" --format json > "$tmp/fit.json"
check "fit chinchilla exits 0" $?
python3 -c "
import json; d=json.load(open('$tmp/fit.json')); p=d['parameters']
assert d['termination']=='CONVERGENCE' and d['procedure']['starts']==4500
# The data were drawn with alpha 0.3478, beta 0.3658, E 1.8172: each inside its interval.
for k,t in (('alpha',0.3478),('beta',0.3658)): lo,hi=p[k]['interval']; assert lo<=t<=hi,(k,lo,hi)
lo,hi=d['derived']['E']['interval']; assert lo<=1.8172<=hi" 2>/dev/null
check "fit chinchilla recovers the generating exponents within their intervals" $?
grep -q "^fathom_fit_result: 1" "$tmp/fit.yaml" && grep -q "^covariance:" "$tmp/fit.yaml"; check "fit writes a result YAML with a covariance" $?
"$FATHOM" fit "$FD/scaling_small.csv" --law chinchilla --bootstrap 200 --result "$tmp/fit2.yaml" --format json --threads 1 > "$tmp/fit2.json"
python3 -c "
import json; a=json.load(open('$tmp/fit.json')); b=json.load(open('$tmp/fit2.json'))
assert a['parameters']==b['parameters'] and a['objective']==b['objective']" 2>/dev/null
check "fit: same numbers on 1 thread and on all cores" $?
"$FATHOM" predict "$tmp/fit.yaml" N=7e10 D=1.4e12,2.8e12 --format csv > "$tmp/pred.csv"; check "predict exits 0" $?
python3 -c "
import csv; r=list(csv.DictReader(open('$tmp/pred.csv'))); assert len(r)==2
l=[float(x['L']) for x in r]; assert 1.8<l[1]<l[0]<2.2 and float(r[0]['std error'])>0" 2>/dev/null
check "predict: two rows, loss falls with data" $?
"$FATHOM" optimal "$tmp/fit.yaml" --compute 5.76e23,1e24 --isoflop-out "$tmp/iso.csv" --isoloss-out "$tmp/isol.csv" --losses 2.0,2.1 --format json > "$tmp/opt.json"
check "optimal exits 0" $?
python3 -c "
import json,math; d=json.load(open('$tmp/opt.json')); a=d['allocations'][0]
assert abs(a['compute']/(6*a['N']*a['D'])-1)<1e-9 and 5<a['tokens_per_param']<80
import csv; r=list(csv.DictReader(open('$tmp/iso.csv'))); assert len(r)==82
m=min(r[:41], key=lambda x: float(x['L'])); assert abs(float(m['N'])/a['N']-1)<1e-6
r=list(csv.DictReader(open('$tmp/isol.csv'))); assert r and all(abs(float(x['L'])-2.0)<1e-9 or abs(float(x['L'])-2.1)<1e-9 for x in r)" 2>/dev/null
check "optimal: C = 6ND, the iso-FLOP minimum is N_opt, iso-loss curves written" $?
"$FATHOM" fit "$FD/latency_small.csv" --formula 'latency = l0 + c*(rate/mu)/(1 - rate/mu)' --grid mu=45,60,100 --format csv > "$tmp/lat.csv"
check "fit a formula exits 0" $?
python3 -c "
import csv; r={x['name']:float(x['value']) for x in csv.DictReader(open('$tmp/lat.csv'))}
assert abs(r['mu']/40-1)<0.01 and abs(r['l0']/0.05-1)<0.02, r" 2>/dev/null
check "formula fit recovers the saturation rate within 1%" $?
"$FATHOM" fit --list | grep -q "data_constrained"; check "fit --list names the laws" $?

# --- bad input: one line, file:line, exit 2, no output file ---
expect_bad() {  # file, expected substring, [extra args]; the command is $CMD (default estimate)
  local f="$1" want="$2"
  shift 2
  rm -f "$tmp/should_not_exist"
  "$FATHOM" ${CMD:-estimate} "$f" "$@" -o "$tmp/should_not_exist" > "$tmp/o" 2> "$tmp/e"
  local rc=$?
  local lines
  lines=$(wc -l < "$tmp/e")
  if [ $rc -eq 2 ] && [ "$lines" -eq 1 ] && grep -qF -- "$want" "$tmp/e" && [ ! -e "$tmp/should_not_exist" ]; then
    pass=$((pass + 1))
  else
    fail=$((fail + 1))
    echo "FAIL: $(basename "$f"): rc=$rc lines=$lines stderr=$(cat "$tmp/e")"
  fi
}
B="$DATA/bad"
expect_bad "$B/yaml_syntax.yaml" "yaml_syntax.yaml:3: expected valid YAML"
expect_bad "$B/wrong_type.yaml" "wrong_type.yaml:4: 'serve.parallel.tp': expected a positive integer, found 'eight'"
expect_bad "$B/missing_key.yaml" "missing required key 'hardware'"
expect_bad "$B/unknown_gpu.yaml" "unknown_gpu.yaml:2: expected a GPU of the catalog, found 'h100-smx' (did you mean 'h100-sxm'"
expect_bad "$B/unknown_model.yaml" "unknown_model.yaml:1: expected a model of the catalog or a path, found 'lama-3.1-70b' (did you mean 'llama-3.1-70b'"
expect_bad "$B/negative_size.yaml" "negative_size.yaml:5: 'serve.iteration.sequences': expected a positive integer, found '-64'"
expect_bad "$B/zero_size.yaml" "'serve.iteration.sequences': expected a positive integer, found '0'"
expect_bad "$B/tp_not_dividing_heads.yaml" "tp_not_dividing_heads.yaml:4: 'serve.parallel.tp': expected a tensor-parallel degree that divides the 64 attention heads"
expect_bad "$B/unknown_key.yaml" "unknown_key.yaml:6: unknown key 'serve.modle'"
expect_bad "$B/batch_not_divisible.yaml" "'train.global_batch': expected a multiple of dp × microbatch = 3 × 1 = 3, found 64"
expect_bad "$B/too_many_gpus.yaml" "tp × pp = 16 GPUs, but the hardware has 8"
expect_bad "$B/bad_dtype.yaml" "bad_dtype.yaml:3: 'precision.weights': expected a data type"
expect_bad "$B/wrong_length_key.yaml" "wrong_length_key.yaml:5: 'serve.iteration.prompt': 'prompt' does not apply to phase decode; expected 'context'"
expect_bad "$B/empty.yaml" "expected a YAML map, found an empty file"
expect_bad "$B/does_not_exist.yaml" "does_not_exist.yaml: expected a readable YAML file, found no such file"
expect_bad "$SCEN/llama3.1-70b-decode-h100.yaml" "--format: expected table, json or csv, found 'xml'" --format xml
expect_bad "$SCEN/llama3.1-70b-decode-h100.yaml" "--phase: expected a scenario with a 'train' section" --phase train

expect_bad "$SCEN/llama3.1-70b-decode-h100.yaml" "/proc/version: expected a writable Fathom database" --db /proc/version

# fathom fit / predict / optimal: bad data, formulas and flags.
CMD=fit expect_bad "$B/fit_nonnumeric.csv" "fit_nonnumeric.csv:3: column 'L': expected a number, found 'abc'" --law chinchilla
CMD=fit expect_bad "$B/fit_nonpositive.csv" "fit_nonpositive.csv:4: 'N': expected a positive value (the chinchilla law takes its logarithm), found 0" --law chinchilla
CMD=fit expect_bad "$B/fit_too_few.csv" "fit_too_few.csv: expected at least 6 points to fit 5 free parameters, found 4" --law chinchilla
CMD=fit expect_bad "$DATA/fit/latency_small.csv" "latency_small.csv: expected a column 'N' for the variable of the chinchilla law" --law chinchilla
CMD=fit expect_bad "$DATA/fit/scaling_small.csv" "--formula: column 24: expected ')' to close '(' at column 9, found end of formula" --formula 'L=E+A/N^(alpha+B/D^beta'
CMD=fit expect_bad "$DATA/fit/scaling_small.csv" "--formula: column 9: unknown function 'lgo' (did you mean 'log'" --formula 'L = E + lgo(N)'
CMD=fit expect_bad "$DATA/fit/scaling_small.csv" "(did you mean 'chinchilla'?), found 'chinchila'" --law chinchila
CMD=fit expect_bad "$DATA/fit/scaling_small.csv" "--loss: expected huber:SCALE" --law chinchilla --loss huber
CMD=fit expect_bad "$DATA/fit/scaling_small.csv" "--fix: expected a parameter of chinchilla (a, b, e, alpha, beta), found 'gamma'" --law chinchilla --fix gamma=1
CMD=fit expect_bad "$DATA/fit/scaling_small.csv" "found unknown name 'C'" --law chinchilla --column 'D=C/6'
CMD=fit expect_bad "$B/fit_nonpositive.csv" "fit_nonpositive.csv:4: 'N': expected a positive value (log-space residuals take its logarithm), found 0" --formula 'N = k*D' --space log
CMD=fit expect_bad "$DATA/fit/scaling_small.csv" "--bootstrap: expected 0 to 1000000 resamples, found -3" --law chinchilla --bootstrap -3
rm -f "$tmp/never.yaml"
"$FATHOM" fit "$B/fit_nonpositive.csv" --law chinchilla --result "$tmp/never.yaml" > /dev/null 2>&1
[ $? -eq 2 ] && [ ! -e "$tmp/never.yaml" ]; check "fit: no result file on bad input" $?
CMD=predict expect_bad "$B/fit_result_missing.yaml" "fit_result_missing.yaml:5: 'parameters': expected parameter 'beta' of the chinchilla law, found none" N=1 D=1
CMD=optimal expect_bad "$B/fit_result_missing.yaml" "fit_result_missing.yaml:5:" --compute 1e24

# fathom train: layouts that cannot run, one line each.
CMD=train expect_bad "$B/train_tp_heads.yaml" "train_tp_heads.yaml:5: 'train.parallel.tp': expected a tensor-parallel degree that divides the 96 attention heads"
CMD=train expect_bad "$B/train_stages.yaml" "train_stages.yaml:5: 'train.parallel.pp': expected a pipeline degree that divides the 96 layers"
CMD=train expect_bad "$B/train_gpu_count.yaml" "'train.parallel': expected tp × cp × dp × pp = 1024 GPUs, found 8 × 1 × 8 × 8 = 512"
CMD=train expect_bad "$B/train_over_memory.yaml" "'train.memory': expected at most 80.0 GiB per GPU, found"
CMD=train expect_bad "$B/train_bad_zero.yaml" "train_bad_zero.yaml:7: 'train.zero': expected a ZeRO stage 0, 1, 2 or 3, found '5'"
CMD=train expect_bad "$B/train_uneven.yaml" "'train.parallel.first_stage_layers': expected the 17 layers left"
CMD=train expect_bad "$SCEN/gpt3-175b-train-a100.yaml" "--top: expected only with --search" --top 3
CMD=train expect_bad "$SCEN/gpt3-175b-train-a100.yaml" "--gpus: expected a GPU count, a range A-B" --search --gpus lots
CMD=train expect_bad "$SCEN/gpt3-175b-train-a100.yaml" "--gpus: expected at most the 2240 GPUs" --search --gpus 4096
CMD=train expect_bad "$SCEN/gpt3-175b-train-a100.yaml" "--rank: expected time, cost or mfu, found 'fast'" --search --rank fast
CMD=train expect_bad "$SCEN/llama3.1-70b-decode-h100.yaml" "expected a 'train' section for fathom train"

# fathom serve: scenarios that cannot run, one line each.
CMD=serve expect_bad "$B/serve_unknown_scheduler.yaml" "serve_unknown_scheduler.yaml:5: 'serve.scheduler.name': expected one of static, orca, vllm, sarathi, disaggregated (did you mean 'sarathi'?)"
CMD=serve expect_bad "$B/serve_kv_too_small.yaml" "serve_kv_too_small.yaml:5: 'serve.max_model_len': the KV cache of a replica holds 16000 tokens, fewer than one request"
CMD=serve expect_bad "$B/serve_no_memory.yaml" "serve_no_memory.yaml:5: 'serve.parallel': weights (131.4 GiB per GPU)"
CMD=serve expect_bad "$B/serve_trace_negative.yaml" "serve_trace_negative.csv:3: column 'input_tokens': expected a whole number of tokens ≥ 1, found -40"
CMD=serve expect_bad "$B/serve_trace_order.yaml" "serve_trace_order.csv:4: column 'timestamp': expected timestamps in order, found 1.5 after 2.5"
CMD=serve expect_bad "$B/serve_bad_length.yaml" "serve_bad_length.yaml:8: 'serve.workload.input_tokens.median': expected a positive number, found '-5'"
CMD=serve expect_bad "$SCEN/llama3.1-70b-decode-h100.yaml" "expected a 'serve' section with a 'workload' for fathom serve"
CMD=serve expect_bad "$DATA/serve_small.yaml" "--requests-out: expected a file, found the directory" --requests-out "$tmp"
CMD=serve expect_bad "$DATA/serve_small.yaml" "/proc/version: expected a writable Fathom database" --db /proc/version
expect_bad "$DATA/serve_small.yaml" "expected 'serve.iteration' (phase, sequences, context) for a serving estimate"
rm -f "$tmp/r9.csv"
"$FATHOM" serve "$B/serve_kv_too_small.yaml" --requests-out "$tmp/r9.csv" 2> /dev/null
[ $? -eq 2 ] && [ ! -e "$tmp/r9.csv" ]; check "failed serve leaves no requests file" $?

# Bad flags and bad imports.
"$FATHOM" estimate > /dev/null 2> "$tmp/e"; rc=$?
[ $rc -eq 2 ] && [ "$(wc -l < "$tmp/e")" -eq 1 ]; check "missing argument exits 2 with one line" $?
"$FATHOM" model import "$B/hf_unknown_family.json" -o "$tmp/x.yaml" 2> "$tmp/e"; rc=$?
[ $rc -eq 2 ] && [ ! -e "$tmp/x.yaml" ] && grep -q "hf_unknown_family.json:1: 'model_type': expected one of llama" "$tmp/e"
check "import of unknown family" $?
"$FATHOM" model import "$B/hf_bad_value.json" -o "$tmp/x.yaml" 2> "$tmp/e"; rc=$?
[ $rc -eq 2 ] && [ ! -e "$tmp/x.yaml" ] && grep -q "hf_bad_value.json:3: 'vocab_size': expected a positive integer, found 'many'" "$tmp/e"
check "import of a non-numeric value" $?
"$FATHOM" model show no-such-model 2> "$tmp/e"; rc=$?
[ $rc -eq 2 ]; check "model show unknown exits 2" $?
"$FATHOM" model show llama-3.1-8b --context -5 2> "$tmp/e"; rc=$?
[ $rc -eq 2 ] && grep -q -- "--context" "$tmp/e"; check "negative --context" $?

# Robustness: every value of valid scenarios replaced, one at a time, by hostile values. Each run
# must end with status 0 or 2 (never a crash or another status), and a failure with one line.
# A fuzzed run must end with status 0, or with status 2 and one line on stderr ($tmp/e).
clean_exit() {  # status, name
  if { [ "$1" -eq 0 ] || { [ "$1" -eq 2 ] && [ "$(wc -l < "$tmp/e")" -eq 1 ]; }; }; then
    pass=$((pass + 1))
  else
    fail=$((fail + 1))
    echo "FAIL: $2: rc=$1 $(head -c 300 "$tmp/e")"
  fi
}
mutations=(-1 0 abc 1e300 "[1, 2]" "{a: 1}" "''" 4294967304 0.5)
# Under the sanitizers (CI's second stage) each run of the binary costs about half a second, so
# the sweep keeps one value of each kind (negative, text, list, map, past 32 bits); the fuzzers
# (tests/fuzz) cover the parsers far more thoroughly under the same sanitizers.
if [ -n "${FATHOM_SANITIZED:-}" ]; then mutations=(-1 abc "[1, 2]" "{a: 1}" 4294967304); fi
for base in "$SCEN/llama3.1-70b-decode-h100.yaml" "$SCEN/gpt3-175b-train-a100.yaml" "$DATA/serve_small.yaml"; do
  nlines=$(wc -l < "$base")
  for ((i = 1; i <= nlines; i++)); do
    line=$(sed -n "${i}p" "$base")
    case "$line" in \#*|"") continue ;; esac
    case "$line" in *:*) ;; *) continue ;; esac
    for m in "${mutations[@]}"; do
      key="${line%%:*}"
      awk -v n="$i" -v k="$key" -v v="$m" 'NR == n { print k ": " v; next } { print }' "$base" > "$tmp/mut.yaml"
      case "$base" in
        *serve_small*) "$FATHOM" serve "$tmp/mut.yaml" > /dev/null 2> "$tmp/e" ;;
        *) "$FATHOM" estimate "$tmp/mut.yaml" > /dev/null 2> "$tmp/e" ;;
      esac
      rc=$?
      if [ $rc -eq 0 ] || [ $rc -eq 2 ]; then
        case "$base" in *train*) "$FATHOM" train "$tmp/mut.yaml" > /dev/null 2> "$tmp/e"; rc=$? ;; esac
      fi
      clean_exit $rc "mutation line $i of $(basename "$base") to '$m'"
    done
  done
done

# fathom fit: every cell of the first data rows replaced by bad values; status 0, or 2 with one line.
for row in 3 4 5 6 7; do
  for col in 1 2 3; do
    for m in -1 0 abc 1e300 "" nan inf -inf 1e-320; do
      awk -F, -v OFS=, -v r="$row" -v c="$col" -v v="$m" 'NR == r { $c = v } { print }' "$DATA/fit/scaling_small.csv" > "$tmp/mut.csv"
      "$FATHOM" fit "$tmp/mut.csv" --law chinchilla --grid a=6 --grid b=7 --grid e=0.5 --grid alpha=0.3 --grid beta=0.3 --bootstrap 5 > /dev/null 2> "$tmp/e"
      rc=$?
      clean_exit $rc "fit mutation row $row col $col to '$m'"
    done
  done
done

# fathom calib: plan, run without a GPU (exit 3), synthetic data, fit, report, profile in the
# cost chain, PyTorch trace import, and bad input.
"$FATHOM" calib plan --quick --format json > "$tmp/plan.json"; check "calib plan exits 0" $?
python3 -c "import json; d=json.load(open('$tmp/plan.json')); assert len(d['gemms'])>10 and d['benchmarks']>50" 2>/dev/null
check "calib plan has model GEMMs" $?
"$FATHOM" calib run --db "$tmp/gpu.sqlite" --quick > "$tmp/o" 2> "$tmp/e"; rc=$?
[ $rc -eq 3 ] && [ "$(wc -l < "$tmp/e")" -eq 1 ] && grep -q "GPU\|CUDA" "$tmp/e" && [ ! -e "$tmp/gpu.sqlite" ]
check "calib run without a GPU: one line, exit 3, no database (rc=$rc: $(cat "$tmp/e"))" $?
"$FATHOM" calib synth --db "$tmp/syn.sqlite" --quick --seed 3 > "$tmp/o"; check "calib synth exits 0" $?
[ "$(sqlite3 "$tmp/syn.sqlite" "select kind from calib_runs")" = synthetic ] && \
  [ "$(sqlite3 "$tmp/syn.sqlite" "select count(*) from measurements")" -gt 100 ]; check "synthetic run recorded as synthetic" $?
"$FATHOM" calib synth --db "$tmp/syn2.sqlite" --quick --seed 3 > /dev/null
[ "$(sqlite3 "$tmp/syn.sqlite" "select group_concat(time_s) from measurements")" = \
  "$(sqlite3 "$tmp/syn2.sqlite" "select group_concat(time_s) from measurements")" ]; check "calib synth is deterministic" $?
"$FATHOM" calib fit "$tmp/syn.sqlite" --out "$tmp/h200.yaml" --format json > "$tmp/fit.json"; check "calib fit exits 0" $?
python3 -c "
import json; d=json.load(open('$tmp/fit.json')); g={x['group']:x for x in d['groups']}
assert d['device']['synthetic'] and d['device']['gpu']=='h200-sxm'
for k in ('gemm bf16','gemm fp8','memory copy','elementwise','reduction'): assert g[k]['heldout_median']<=0.05, (k, g[k])
assert abs(g['gemm bf16']['params']['eta']/0.80-1)<0.05" 2>/dev/null; check "calib fit: held-out median <= 5%, bf16 peak fraction recovered" $?
grep -q "^synthetic: true" "$tmp/h200.yaml" && grep -q "^gemm:" "$tmp/h200.yaml"; check "profile YAML written, marked synthetic" $?
[ "$(sqlite3 "$tmp/syn.sqlite" "select count(*) from profiles")" = 1 ]; check "profile stored in the database" $?
"$FATHOM" calib fit "$tmp/syn.sqlite" --out "$tmp/h200b.yaml" --threads 1 > /dev/null
cmp -s "$tmp/h200.yaml" "$tmp/h200b.yaml"; check "calib fit: same profile on 1 thread" $?
"$FATHOM" calib report "$tmp/syn.sqlite" > "$tmp/rep.txt"; check "calib report exits 0" $?
grep -q "SYNTHETIC" "$tmp/rep.txt" && grep -q "gemm bf16" "$tmp/rep.txt"; check "calib report names synthetic data and kinds" $?
"$FATHOM" calib report "$tmp/syn.sqlite" --profile "$tmp/h200.yaml" --format json | python3 -c "
import json,sys; r={x['group']:x for x in json.load(sys.stdin)['rows']}
assert r['gemm bf16']['calibrated_median'] < r['gemm bf16']['default_median']
assert r['memory copy']['calibrated_median'] < 0.05" 2>/dev/null; check "calib report: calibrated beats defaults" $?
"$FATHOM" estimate "$SCEN/mixtral-8x7b-prefill-h200.yaml" --profile defaults --format json | python3 -c "import json,sys; print(json.load(sys.stdin)['summary']['time_s'])" > "$tmp/t0"
"$FATHOM" estimate "$SCEN/mixtral-8x7b-prefill-h200.yaml" --profile "$tmp/h200.yaml" --format json | python3 -c "import json,sys; print(json.load(sys.stdin)['summary']['time_s'])" > "$tmp/t1"
[ -s "$tmp/t1" ] && ! cmp -s "$tmp/t0" "$tmp/t1"; check "estimate --profile changes the prediction" $?
"$FATHOM" estimate "$SCEN/llama3.1-70b-decode-h100.yaml" --profile "$tmp/h200.yaml" > /dev/null 2> "$tmp/e"; rc=$?
[ $rc -eq 2 ] && [ "$(wc -l < "$tmp/e")" -eq 1 ] && grep -q "h200-sxm" "$tmp/e"; check "a profile of another GPU is refused" $?
printf 'profile: 1\ngpu: h200-sxm\ngemm:\n  bf16: {peak_fraction: 2, k_half: 1, memory_fraction: 0.5, fixed_s: 1e-6}\n' > "$tmp/badprof.yaml"
"$FATHOM" estimate "$SCEN/mixtral-8x7b-prefill-h200.yaml" --profile "$tmp/badprof.yaml" > /dev/null 2> "$tmp/e"; rc=$?
[ $rc -eq 2 ] && grep -q "badprof.yaml:4" "$tmp/e"; check "bad profile names file:line" $?
# The H200 TensorRT-LLM example scenario is the validated configuration of its published row.
"$FATHOM" serve "$SCEN/llama3.1-8b-trtllm-h200.yaml" --format json | python3 -c "import json,sys; print(json.load(sys.stdin)['output_tokens_per_s'])" > "$tmp/srv"
"$FATHOM" validate serving --format json | python3 -c "
import json,sys
rows=[r for r in json.load(sys.stdin)['throughput']['rows'] if r['label']=='llama-3.1-8b h200-sxm' and r['config']=='tp1 1000/1000']
assert len(rows)==1; print(rows[0]['predicted'])" > "$tmp/val"
python3 -c "import sys; a,b=float(open('$tmp/srv').read()),float(open('$tmp/val').read()); sys.exit(0 if abs(a/b-1)<1e-9 else 1)"
check "llama3.1-8b-trtllm-h200.yaml serves as validate serving's 1000/1000 H200 row ($(cat "$tmp/srv") vs $(cat "$tmp/val") tok/s)" $?
# A catalog GPU naming a calibrated profile: scenarios on it use it; --profile defaults does not.
# (The synthetic profile is relabelled as measured here only because the catalog refuses synthetic
# ones, which is checked too.)
cp -r "$FATHOM_DATA_DIR" "$tmp/data"
mkdir -p "$tmp/data/calibration"
sed 's/^synthetic: true/synthetic: false/' "$tmp/h200.yaml" > "$tmp/data/calibration/h200.yaml"
cp "$tmp/h200.yaml" "$tmp/data/calibration/synthetic.yaml"
# The catalog's own entry, without a calibrated profile it may name (replaced by the test's).
grep -v '^ *calibrated_profile:' "$FATHOM_DATA_DIR/hardware/gpus/h200-sxm.yaml" > "$tmp/h200-sxm.yaml"
gpu_yaml="$tmp/h200-sxm.yaml"
{ echo "calibrated_profile: ../../calibration/h200.yaml"; cat "$gpu_yaml"; echo '  calibrated_profile: "end-to-end test"'; } > "$tmp/data/hardware/gpus/h200-sxm.yaml"
FATHOM_DATA_DIR="$tmp/data" "$FATHOM" estimate "$SCEN/mixtral-8x7b-prefill-h200.yaml" > "$tmp/o" 2>&1
grep -q "kernels priced by calibrated profile .*calibration/h200.yaml, the catalog's for h200-sxm" "$tmp/o"; check "estimate uses the catalog GPU's calibrated profile" $?
FATHOM_DATA_DIR="$tmp/data" "$FATHOM" estimate "$SCEN/mixtral-8x7b-prefill-h200.yaml" --format json | python3 -c "import json,sys; print(json.load(sys.stdin)['summary']['time_s'])" > "$tmp/t2"
cmp -s "$tmp/t1" "$tmp/t2"; check "the catalog's profile prices as the same profile given by --profile" $?
FATHOM_DATA_DIR="$tmp/data" "$FATHOM" estimate "$SCEN/mixtral-8x7b-prefill-h200.yaml" --profile defaults --format json | python3 -c "import json,sys; print(json.load(sys.stdin)['summary']['time_s'])" > "$tmp/t3"
cmp -s "$tmp/t0" "$tmp/t3"; check "--profile defaults prices as a catalog without a profile" $?
FATHOM_DATA_DIR="$tmp/data" "$FATHOM" validate serving --format json | python3 -c "import json,sys; print(json.load(sys.stdin)['calibrated_profiles'])" | grep -q "^h200-sxm (.*calibration/h200.yaml)$"
check "validate serving names the catalog's calibrated profile" $?
FATHOM_DATA_DIR="$tmp/data" "$FATHOM" validate serving --profile defaults | grep -q "^calibrated profiles: none"; check "validate serving --profile defaults" $?
"$FATHOM" validate serving --profile "$tmp/nope.yaml" > /dev/null 2> "$tmp/e"; rc=$?
[ $rc -eq 2 ] && [ "$(wc -l < "$tmp/e")" -eq 1 ] && grep -q -- "--profile" "$tmp/e"; check "validate serving --profile of a missing file: one line, exit 2" $?
{ echo "calibrated_profile: ../../calibration/synthetic.yaml"; cat "$gpu_yaml"; echo '  calibrated_profile: "end-to-end test"'; } > "$tmp/data/hardware/gpus/h200-sxm.yaml"
FATHOM_DATA_DIR="$tmp/data" "$FATHOM" estimate "$SCEN/mixtral-8x7b-prefill-h200.yaml" > /dev/null 2> "$tmp/e"; rc=$?
[ $rc -eq 2 ] && [ "$(wc -l < "$tmp/e")" -eq 1 ] && grep -q "h200-sxm.yaml:1.*synthetic" "$tmp/e"; check "the catalog refuses a synthetic profile, naming file:line" $?
"$FATHOM" estimate "$SCEN/mixtral-8x7b-prefill-h200.yaml" --profile defaults | grep -q "^kernels priced by documented defaults$"; check "estimate says the defaults price the kernels" $?
if [ -f "$DATA/calib/torch_trace_small.json" ]; then
  "$FATHOM" calib import-torch "$DATA/calib/torch_trace_small.json" --db "$tmp/tt.sqlite" > "$tmp/o"; check "calib import-torch exits 0" $?
  [ "$(sqlite3 "$tmp/tt.sqlite" "select count(*) from measurements where kind='gemm'")" -gt 0 ] && \
    [ "$(sqlite3 "$tmp/tt.sqlite" "select kind from calib_runs")" = torch-trace ]; check "torch trace: GEMMs recorded" $?
  "$FATHOM" calib import-torch "$DATA/calib/torch_trace_small.json" --db "$tmp/syn.sqlite" > /dev/null
  "$FATHOM" calib fit "$tmp/syn.sqlite" --out "$tmp/x.yaml" > /dev/null 2> "$tmp/e"; rc=$?
  [ $rc -eq 2 ] && grep -q -- "--device" "$tmp/e" && [ ! -e "$tmp/x.yaml" ]; check "two devices need --device" $?
  for f in "$DATA"/calib/bad/*.json; do
    rm -f "$tmp/bad.sqlite"
    "$FATHOM" calib import-torch "$f" --db "$tmp/bad.sqlite" > /dev/null 2> "$tmp/e"; rc=$?
    [ $rc -eq 2 ] && [ "$(wc -l < "$tmp/e")" -eq 1 ] && grep -qF "$(basename "$f")" "$tmp/e" && [ ! -e "$tmp/bad.sqlite" ]
    check "import-torch $(basename "$f"): one line, exit 2, no database ($(cat "$tmp/e"))" $?
  done
fi
# calib record: the program runs with the injection library, NVTX through CUPTI and the database.
if [ -f "$(dirname "$FATHOM")/libfathom_inject.so" ]; then
  # NVTX_INJECTION64_PATH is left to the injection library (it names the CUPTI bound in the
  # program); one set by the user passes through unchanged.
  env -u NVTX_INJECTION64_PATH "$FATHOM" calib record --db "$tmp/rec.sqlite" -- sh -c 'test -f "$CUDA_INJECTION64_PATH" && test -z "${NVTX_INJECTION64_PATH+x}" && test "$FATHOM_CALIB_DB" = "'"$tmp"'/rec.sqlite" && exit 7'
  [ $? -eq 7 ]; check "calib record runs the program with the injection environment" $?
  NVTX_INJECTION64_PATH=/opt/mine/libcupti.so "$FATHOM" calib record --db "$tmp/rec.sqlite" -- sh -c 'test "$NVTX_INJECTION64_PATH" = /opt/mine/libcupti.so && exit 7'
  [ $? -eq 7 ]; check "calib record keeps the user's NVTX_INJECTION64_PATH" $?
  "$FATHOM" calib record --db "$tmp/rec.sqlite" -- /nonexistent/program > /dev/null 2> "$tmp/e"; rc=$?
  [ $rc -eq 2 ] && [ "$(wc -l < "$tmp/e")" -eq 1 ]; check "calib record of a missing program: exit 2" $?
else
  "$FATHOM" calib record --db "$tmp/rec.sqlite" -- true > /dev/null 2> "$tmp/e"; rc=$?
  [ $rc -eq 3 ] && [ "$(wc -l < "$tmp/e")" -eq 1 ]; check "calib record without CUDA: one line, exit 3" $?
fi
"$FATHOM" calib fit "$tmp/none.sqlite" --out "$tmp/x.yaml" > /dev/null 2> "$tmp/e"; rc=$?
[ $rc -eq 2 ] && [ ! -e "$tmp/none.sqlite" ] && [ ! -e "$tmp/x.yaml" ]; check "calib fit of a missing database: exit 2, nothing created" $?
"$FATHOM" calib report "$tmp/syn.sqlite" --device nope > /dev/null 2> "$tmp/e"; rc=$?
[ $rc -eq 2 ] && grep -q -- "--device" "$tmp/e"; check "calib report --device unknown" $?
"$FATHOM" calib report "$tmp/syn2.sqlite" --format csv > /dev/null 2> "$tmp/e"; rc=$?
[ $rc -eq 2 ] && grep -q -- "--format" "$tmp/e"; check "calib report --format csv is refused" $?
"$FATHOM" calib synth --db "$tmp/n.sqlite" --noise -1 > /dev/null 2> "$tmp/e"; rc=$?
[ $rc -eq 2 ] && [ ! -e "$tmp/n.sqlite" ]; check "calib synth --noise -1: exit 2, no database" $?
"$FATHOM" calib plan --tokens 0 > /dev/null 2> "$tmp/e"; rc=$?
[ $rc -eq 2 ] && grep -q -- "--tokens" "$tmp/e"; check "calib plan --tokens 0" $?
echo "garbage" > "$tmp/notdb.sqlite"
"$FATHOM" calib fit "$tmp/notdb.sqlite" --out "$tmp/x.yaml" > /dev/null 2> "$tmp/e"; rc=$?
[ $rc -eq 2 ] && [ "$(wc -l < "$tmp/e")" -eq 1 ] && [ ! -e "$tmp/x.yaml" ]; check "calib fit of a file that is not a database" $?

echo "cli end-to-end: $pass passed, $fail failed"
[ $fail -eq 0 ]
