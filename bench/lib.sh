# Shared by the whole-process benchmarks (sourced as `. bench/lib.sh "$@"` from the script, with
# `set -euo pipefail` before): FATHOM (the binary, absolute), RUNS (second argument, default 3),
# the repository root as the working folder, FATHOM_DATA_DIR, a temporary folder `$tmp` removed
# at exit, `now` (seconds) and `median` (of numbers on standard input).
FATHOM="$(realpath "$1")"
RUNS="${2:-3}"
cd "$(dirname "${BASH_SOURCE[0]}")/.."
export FATHOM_DATA_DIR="${FATHOM_DATA_DIR:-$PWD/data}"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
now() { date +%s.%N; }
median() { sort -g | awk '{ a[NR] = $1 } END { print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }
