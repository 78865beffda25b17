#!/usr/bin/env bash
# End-to-end checks of the rules every command follows for the files it writes and reads
# (docs/reliability.md): the real `fathom` binary, real FIFOs, links, SQLite files and signals.
#   outputs: a FIFO is written through and stays a FIFO; a link stays a link and its target gets
#            the output; a directory is refused; a failing --db leaves no -o, --requests-out or new
#            database; SIGINT/SIGTERM mid-run leave no temporary, no database, no -wal/-shm and
#            exit 130/143; a newer schema is refused untouched; reading a database changes nothing.
#   inputs:  one class of bad input per check, each: exit 2, one line naming file:line (or the
#            flag), and no output file.
set -u
FATHOM="$1"
DATA="$2"
SCEN="${FATHOM_DATA_DIR}/scenarios"
B="$DATA/bad"
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"  # $tmp, check, pass, fail
S="$SCEN/llama3.1-70b-decode-h100.yaml"
small="$DATA/serve_small.yaml"

# A serving run long enough to be interrupted (about 10 s here), written into $tmp.
cat > "$tmp/long.yaml" <<'EOF'
name: long-serve
model: llama-2-7b
hardware: {gpu: a100-sxm-80gb, nodes: 1, gpus_per_node: 1}
precision: {weights: bf16, activations: bf16, kv_cache: bf16}
serve:
  parallel: {tp: 1, replicas: 1}
  engine: vllm
  scheduler: {name: sarathi, token_budget: 512, max_seqs: 128}
  workload:
    requests: 5000000
    arrival: {process: poisson, rate_per_s: 4}
    input_tokens: {dist: lognormal, median: 600, sigma: 0.7, max: 3072}
    output_tokens: {dist: lognormal, median: 180, sigma: 0.8, max: 1024}
    seed: 1
EOF

# Nothing but what a check made itself may be left in the folder.
only_files() {  # folder, expected names (sorted, space-separated)
  local got
  got=$(cd "$1" && ls -A | sort | tr '\n' ' ' | sed 's/ $//')
  [ "$got" = "$2" ] || { echo "  found: '$got', expected: '$2'"; return 1; }
}

# --- start-up: what a command loads (docs/performance.md) ---
loaded() { LD_DEBUG=files "$@" 2>&1 >/dev/null | grep -oE "file=[^ ]+" | sort -u; }
heavy='libcudart|libcublas|libcupti|libglog|liblapack|libatlas|libgfortran|libfathom_fit_solver|libfathom_calib_cuda'
! loaded "$FATHOM" estimate "$S" | grep -qE "$heavy"; check "estimate loads no CUDA, Ceres or LAPACK library" $?
! loaded "$FATHOM" serve "$small" | grep -qE "$heavy"; check "serve loads no CUDA, Ceres or LAPACK library" $?
loaded "$FATHOM" fit "$DATA/fit/scaling_small.csv" --law chinchilla | grep -q "libfathom_fit_solver.so"
check "fit opens the fitting module" $?
FATHOM_FIT_MODULE=/nonexistent/module.so "$FATHOM" fit "$DATA/fit/scaling_small.csv" --law chinchilla > /dev/null 2> "$tmp/e"; rc=$?
[ $rc -eq 2 ] && [ "$(wc -l < "$tmp/e")" -eq 1 ] && grep -q "expected Fathom's fitting module" "$tmp/e"
check "a missing fitting module is one line, exit 2" $?

# --- outputs ---
d="$tmp/fifo" && mkdir "$d"
mkfifo "$d/out"
cat "$d/out" > "$d/got" &
reader=$!
"$FATHOM" estimate "$S" -o "$d/out" 2> "$d/e"; rc=$?
wait $reader
[ $rc -eq 0 ] && [ -p "$d/out" ] && grep -q "memory-bound" "$d/got"; check "a FIFO receives the output and stays a FIFO" $?
only_files "$d" "e got out"; check "a FIFO output leaves no temporary" $?
cat "$d/out" > "$d/rows" &
reader=$!
mkdir "$d/spool"  # a streamed output to a FIFO is spooled in TMPDIR, and the spool removed
TMPDIR="$d/spool" "$FATHOM" serve "$small" --requests-out "$d/out" > /dev/null 2> "$d/e"; rc=$?
wait $reader
[ $rc -eq 0 ] && [ -p "$d/out" ] && [ "$(wc -l < "$d/rows")" = 301 ] && [ -z "$(ls -A "$d/spool")" ]
check "streamed per-request rows reach a FIFO whole, and the spool is removed" $?
rmdir "$d/spool"

d="$tmp/link" && mkdir "$d"
echo old > "$d/target"
ln -s target "$d/link"
"$FATHOM" estimate "$S" -o "$d/link" 2> "$d/e"; rc=$?
[ $rc -eq 0 ] && [ -L "$d/link" ] && [ "$(readlink "$d/link")" = target ] && grep -q "memory-bound" "$d/target"
check "a symbolic link stays a link and its target holds the output" $?
ln -s missing "$d/dangling"
"$FATHOM" estimate "$S" -o "$d/dangling" 2> "$d/e"; rc=$?
[ $rc -eq 0 ] && [ -L "$d/dangling" ] && grep -q "memory-bound" "$d/missing"; check "a dangling link's target is created" $?
chmod 640 "$d/target"
"$FATHOM" estimate "$S" -o "$d/target" 2> "$d/e"
[ "$(stat -c %a "$d/target")" = 640 ]; check "a replaced file keeps its mode" $?

d="$tmp/dir" && mkdir -p "$d/sub"
"$FATHOM" estimate "$S" -o "$d/sub" > /dev/null 2> "$d/e"; rc=$?
[ $rc -eq 2 ] && [ "$(wc -l < "$d/e")" -eq 1 ] && grep -q -- "--output: expected a file, found the directory" "$d/e"
check "a directory as --output exits 2 with one line" $?
"$FATHOM" serve "$small" --timeseries-out "$d/sub" > /dev/null 2> "$d/e"; rc=$?
[ $rc -eq 2 ] && grep -q -- "--timeseries-out: expected a file, found the directory" "$d/e"; check "a directory as --timeseries-out exits 2" $?
"$FATHOM" estimate "$S" -o "$d/nofolder/x.txt" > /dev/null 2> "$d/e"; rc=$?
[ $rc -eq 2 ] && grep -q -- "--output: expected a path in an existing folder" "$d/e"; check "a path in a missing folder exits 2" $?
"$FATHOM" serve "$small" -o "$d/same.txt" --requests-out "$d/same.txt" > /dev/null 2> "$d/e"; rc=$?
[ $rc -eq 2 ] && [ ! -e "$d/same.txt" ]; check "two outputs naming one file exit 2, nothing written" $?
"$FATHOM" estimate "$S" -o /dev/null 2> "$d/e"; rc=$?
[ $rc -eq 0 ] && [ -c /dev/null ]; check "a character device is written through, never replaced" $?

d="$tmp/db" && mkdir "$d"
echo "not a database" > "$d/notdb.sqlite"
"$FATHOM" serve "$small" -o "$d/out.txt" --requests-out "$d/req.csv" --timeseries-out "$d/ts.csv" --db "$d/notdb.sqlite" \
  > /dev/null 2> "$d/e"; rc=$?
[ $rc -eq 2 ] && [ "$(wc -l < "$d/e")" -eq 1 ] && grep -q "notdb.sqlite: expected a Fathom database" "$d/e"
check "a --db that is not a database: exit 2, one line" $?
only_files "$d" "e notdb.sqlite"; check "a failing --db leaves no -o, --requests-out or --timeseries-out" $?
mkdir "$d/new.sqlite-wal"  # SQLite cannot create its WAL: the new database fails after it was created
"$FATHOM" serve "$small" -o "$d/out.txt" --requests-out "$d/req.csv" --db "$d/new.sqlite" > /dev/null 2> "$d/e"; rc=$?
[ $rc -eq 2 ] && [ "$(wc -l < "$d/e")" -eq 1 ]; check "a new database that fails: exit 2, one line" $?
only_files "$d" "e new.sqlite-wal notdb.sqlite"; check "a failing new database is removed, with no -o or --requests-out, and what was there stays" $?
rmdir "$d/new.sqlite-wal"
"$FATHOM" serve "$small" -o "$d/out.txt" --requests-out "$d/req.csv" --db "$d/runs.sqlite" > /dev/null 2> "$d/e"; rc=$?
[ $rc -eq 0 ] && [ -s "$d/out.txt" ] && [ -s "$d/req.csv" ] && [ "$(sqlite3 "$d/runs.sqlite" 'select count(*) from runs')" = 1 ]
check "a good run writes -o, --requests-out and the record" $?
only_files "$d" "e notdb.sqlite out.txt req.csv runs.sqlite"; check "a finished run leaves no -wal/-shm or temporary" $?

sqlite3 "$d/newer.sqlite" "PRAGMA user_version = 99; CREATE TABLE t(x);"
before=$(md5sum < "$d/newer.sqlite")
"$FATHOM" estimate "$S" --db "$d/newer.sqlite" -o "$d/x.txt" > /dev/null 2> "$d/e"; rc=$?
[ $rc -eq 2 ] && grep -q "found version 99" "$d/e" && [ "$(md5sum < "$d/newer.sqlite")" = "$before" ] && [ ! -e "$d/x.txt" ] &&
  [ ! -e "$d/newer.sqlite-wal" ] && [ ! -e "$d/newer.sqlite-shm" ] &&
  [ "$(sqlite3 "$d/newer.sqlite" 'PRAGMA journal_mode')" = delete ]
check "a newer schema is refused before anything changes (no WAL switch, no -o)" $?

"$FATHOM" calib synth --db "$d/cal.sqlite" --quick > /dev/null 2> "$d/e"
sqlite3 "$d/cal.sqlite" "PRAGMA wal_checkpoint(TRUNCATE);" > /dev/null
before=$(md5sum < "$d/cal.sqlite")
"$FATHOM" calib report "$d/cal.sqlite" > /dev/null 2> "$d/e"; rc=$?
[ $rc -eq 0 ] && [ "$(md5sum < "$d/cal.sqlite")" = "$before" ] && [ ! -e "$d/cal.sqlite-wal" ] && [ ! -e "$d/cal.sqlite-shm" ]
check "calib report reads a database without changing it or leaving -wal/-shm" $?
head -c 20000 "$d/cal.sqlite" > "$d/cut.sqlite"
"$FATHOM" calib fit "$d/cut.sqlite" --out "$d/prof.yaml" > /dev/null 2> "$d/e"; rc=$?
[ $rc -eq 2 ] && [ "$(wc -l < "$d/e")" -eq 1 ] && [ ! -e "$d/prof.yaml" ]; check "calib fit of a truncated database: exit 2, no --out" $?

# Signals: the run is stopped mid-simulation (it would take seconds more).
for sig in INT TERM; do
  d="$tmp/sig$sig" && mkdir "$d"
  "$FATHOM" serve "$tmp/long.yaml" -o "$d/out.txt" --requests-out "$d/req.csv" --db "$d/run.sqlite" > /dev/null 2> "$d/e" &
  pid=$!
  # Signalled once the run has staged its first file (the handlers are installed by then).
  for _ in $(seq 1 600); do
    [ -n "$(ls -A "$d" | grep -vx e)" ] || ! kill -0 $pid 2> /dev/null && break
    sleep 0.1
  done
  sleep 0.2
  start=$(date +%s%N)
  kill -"$sig" $pid
  wait $pid; rc=$?
  ms=$((($(date +%s%N) - start) / 1000000))
  want=$([ $sig = INT ] && echo 130 || echo 143)
  [ $rc -eq "$want" ] && [ $ms -lt 1000 ]; check "SIG$sig mid-run exits $want within a second (rc=$rc, ${ms} ms)" $?
  only_files "$d" "e"; check "SIG$sig leaves no output, temporary, database or -wal/-shm" $?
done

# --- inputs: one line with file:line (or the flag), exit 2, no output file ---
expect_bad() {  # command words..., then '::' expected substring
  local args=() want
  while [ "$1" != "::" ]; do args+=("$1"); shift; done
  want="$2"
  rm -f "$tmp/should_not_exist"
  timeout 60 "$FATHOM" "${args[@]}" -o "$tmp/should_not_exist" > "$tmp/o" 2> "$tmp/e"
  local rc=$?
  if [ $rc -eq 2 ] && [ "$(wc -l < "$tmp/e")" -eq 1 ] && grep -qF -- "$want" "$tmp/e" && [ ! -e "$tmp/should_not_exist" ]; then
    pass=$((pass + 1))
  else
    fail=$((fail + 1))
    echo "FAIL: ${args[*]}: rc=$rc stderr=$(head -c 300 "$tmp/e")"
  fi
}
expect_bad estimate "$B/key_is_map.yaml" :: "key_is_map.yaml:4: expected a plain key (a name), found a map used as a key"
expect_bad estimate "$B/duplicate_key.yaml" :: "duplicate_key.yaml:6: expected each key once in a map, found 'gpu' again (first at line 5)"
expect_bad estimate "$B/not_finite.yaml" :: "not_finite.yaml:9: 'cost.usd_per_gpu_hour': expected a finite number, found '1e999'"
expect_bad estimate "$B/int_overflow.yaml" :: "int_overflow.yaml:6: 'serve.parallel.tp': expected a positive integer of at most 9e15"
expect_bad estimate "$B/alias_bomb.yaml" :: "alias_bomb.yaml:3: expected at most 4000000 YAML nodes"
expect_bad estimate "$B/not_utf8.yaml" --format json :: "not_utf8.yaml:2: expected UTF-8 text, found the byte 0xC7 at column 11"
expect_bad estimate "$S" --set "$(printf 'name=a\307b')" --format json :: "--set: expected PATH=VALUE in UTF-8"
# A path that is not UTF-8 still gives a JSON report (the byte replaced), never an abort.
cp "$S" "$tmp/$(printf 'x\307.yaml')"
"$FATHOM" estimate "$tmp/$(printf 'x\307.yaml')" --format json > "$tmp/j" 2> "$tmp/e"
[ $? = 0 ] && grep -q '"scenario"' "$tmp/j"; check "a scenario path that is not UTF-8: JSON report, exit 0" $?
expect_bad estimate /dev/zero :: "/dev/zero: expected a YAML file of at most 64 MiB (raise with --max-input-mb), found more"
expect_bad model show /dev/zero :: "/dev/zero: expected a YAML file of at most 64 MiB"
expect_bad fit /dev/zero --law chinchilla --max-input-mb 8 :: "/dev/zero: expected a CSV file of at most 8 MiB"
expect_bad calib import-torch /dev/zero --db "$tmp/t.sqlite" --max-input-mb 8 :: "/dev/zero: expected a trace file of at most 8 MiB"
[ ! -e "$tmp/t.sqlite" ]; check "import-torch of an endless stream creates no database" $?
head -c 3000000 /dev/zero | tr '\0' '#' > "$tmp/big.yaml"
expect_bad estimate "$tmp/big.yaml" --max-input-mb 2 :: "big.yaml: expected a YAML file of at most 2 MiB (raise with --max-input-mb), found 3000000 bytes"
expect_bad estimate "$tmp" :: "expected a readable YAML file, found a directory"
expect_bad estimate "$S" --max-input-mb -1 :: "--max-input-mb: expected a size from 1 to 1048576 MiB"
expect_bad estimate "$S" --top abc :: "--top: expected an integer >= 0, found 'abc'"
expect_bad estimate "$S" --bogus :: "--bogus: expected an option or argument of this command, found an unknown one"
expect_bad serve "$small" --seed -1 :: "--seed: expected an integer from 0 to 999999999999999999, found '-1'"
expect_bad fit "$DATA/fit/scaling_small.csv" --formula "L = E + A/N^" :: "--formula"
"$FATHOM" fit "$DATA/fit/scaling_small.csv" --law chinchilla --result "$tmp/law.yaml" > /dev/null 2>&1
expect_bad optimal "$tmp/law.yaml" --compute nan :: "--compute: expected positive, finite FLOPs, found nan"
expect_bad optimal "$tmp/law.yaml" --compute 1e22 --losses nan --isoloss-out "$tmp/iso.csv" :: "--losses: expected finite loss levels"
expect_bad optimal "$tmp/law.yaml" --compute 1e22 --losses 0.01 --isoloss-out "$tmp/iso.csv" :: "--losses: expected a loss the law reaches"
[ ! -e "$tmp/iso.csv" ]; check "optimal with an unreachable loss writes no --isoloss-out" $?
# Serving readers: numbers beyond the documented ranges (docs/scenario.md, "Serving limits"),
# traces with counts past any integer, streams of arrivals that cannot end.
serve_bad=(
  "serve_trace_huge_tokens.yaml|serve_trace_huge_tokens.csv:3: column 'input_tokens': expected an integer of at most 8191"
  "serve_trace_huge_output.yaml|serve_trace_huge_output.csv:3: column 'output_tokens': expected an integer of at most 8191"
  "serve_trace_far_time.yaml|serve_trace_far_time.csv:3: column 'timestamp': expected a time at most 1e+09 s after the first row's"
  "serve_trace_speedup.yaml|serve_trace_speedup.yaml:6: 'serve.workload.arrival.speedup': expected the replayed trace to end within 1e+09 s"
  "serve_length_huge.yaml|serve_length_huge.yaml:10: 'serve.workload.output_tokens.median': expected a positive number of at most 8191 tokens"
  "serve_length_min.yaml|serve_length_min.yaml:9: 'serve.workload.input_tokens.min': expected a length below the maximum model length 8192"
  "serve_zipf_exponent.yaml|serve_zipf_exponent.yaml:10: 'serve.workload.output_tokens.s': expected an exponent of at most 10"
  "serve_empirical_weights.yaml|serve_empirical_weights.yaml:8: 'serve.workload.input_tokens.weights[1]': expected weights whose sum is finite"
  "serve_turns_huge.yaml|serve_turns_huge.yaml:10: 'serve.workload.sessions.turns': expected at most 1000000 turns"
  "serve_kv_blocks_huge.yaml|serve_kv_blocks_huge.yaml:5: 'serve.kv_cache.blocks': expected at most 62500000 blocks of 16 tokens"
  "serve_gamma_cv.yaml|serve_gamma_cv.yaml:7: 'serve.workload.arrival.cv': expected a coefficient of variation from 0.01 to 100"
  "serve_rate_huge.yaml|serve_rate_huge.yaml:7: 'serve.workload.arrival.rate_per_s': expected a rate from 0.000001 to 1,000,000,000"
  "serve_burst_short.yaml|serve_burst_short.yaml:7: 'serve.workload.arrival.on_s': expected an on-period from 0.000001 to 1,000,000 s"
  "serve_max_seqs_huge.yaml|serve_max_seqs_huge.yaml:5: 'serve.scheduler.max_seqs': expected at most 1000000 sequences"
  "serve_swap_huge.yaml|serve_swap_huge.yaml:5: 'serve.kv_cache.swap_space': expected at most 1 PiB per GPU"
  "serve_link_slow.yaml|serve_link_slow.yaml:8: 'serve.disaggregated.link.bandwidth': expected a bandwidth of at least 1 MB/s"
)
for row in "${serve_bad[@]}"; do
  expect_bad serve "$B/${row%%|*}" --requests-out "$tmp/req_should_not_exist" :: "${row#*|}"
done
[ ! -e "$tmp/req_should_not_exist" ]; check "no bad serving input leaves a --requests-out" $?

echo "cli io rules: $pass passed, $fail failed"
[ $fail -eq 0 ]
