# Shared by the CLI test scripts (sourced): a temporary folder `$tmp` removed at exit, and
# `check NAME STATUS`, which counts a pass (STATUS 0) or prints "FAIL: NAME" and counts a failure
# in `pass` and `fail` for the script's summary line.
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
pass=0
fail=0
check() {  # name, status (0 = pass)
  if [ "$2" = 0 ]; then pass=$((pass + 1)); else fail=$((fail + 1)); echo "FAIL: $1"; fi
}
