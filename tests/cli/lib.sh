# Shared by the CLI test scripts (sourced): a temporary folder `$tmp` removed at exit;
# `check NAME STATUS`, which counts a pass (STATUS 0) or prints "FAIL: NAME" and counts a failure
# in `pass` and `fail` for the script's summary line; and `expect_error NAME PATTERN COMMAND...`,
# which checks that the command exits 2 with one line on standard error matching PATTERN.
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
pass=0
fail=0
check() {  # name, status (0 = pass)
  if [ "$2" = 0 ]; then pass=$((pass + 1)); else fail=$((fail + 1)); echo "FAIL: $1"; fi
}
expect_error() {  # name, pattern, command...
  local name="$1" pat="$2"
  shift 2
  "$@" > /dev/null 2> "$tmp/err"
  local rc=$?
  [ "$rc" = 2 ] && [ "$(wc -l < "$tmp/err")" = 1 ] && grep -q -- "$pat" "$tmp/err"
  check "$name (rc $rc: $(head -c 200 "$tmp/err"))" $?
}
# `wait_for FILE PATTERN PID`: waits (up to 10 minutes) until FILE has a line matching PATTERN
# while process PID runs; status 1 if PID ended first. A signal sent after it lands in the run
# phase it means to test, however slow the start-up (a sanitized build on a busy machine).
wait_for() {  # file, pattern, pid
  local i
  for i in $(seq 1 6000); do
    grep -q -- "$2" "$1" 2> /dev/null && return 0
    kill -0 "$3" 2> /dev/null || return 1
    sleep 0.1
  done
  return 1
}
