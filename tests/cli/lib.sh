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
