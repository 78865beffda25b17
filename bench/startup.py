#!/usr/bin/env python3
"""Whole-process timing of `fathom` (docs/performance.md): start-up and a short serving run.

Each case runs RUNS times (after one warm-up) as a separate process; the table gives the median
and the range of wall time and the largest peak resident memory (from wait4's rusage of that very
process). With --baseline OTHER_FATHOM, every case is run by both binaries in turn, A B A B ...,
and the ratio baseline/fathom is taken pair by pair, so that a comparison holds when the machine's
speed drifts; the median ratio is printed.

  bench/startup.py build/fathom [--baseline /path/to/old/fathom] [--runs 20]

Cases:
  version  fathom --version
  estimate fathom estimate data/scenarios/llama3.1-70b-decode-h100.yaml   (the README scenario)
  serve10k fathom serve bench/data/serve_llama2_7b_a100_10k.yaml          (10,000 requests, Sarathi)
"""
import argparse
import os
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CASES = [
    ("version", ["--version"]),
    ("estimate", ["estimate", os.path.join(ROOT, "data/scenarios/llama3.1-70b-decode-h100.yaml")]),
    ("serve10k", ["serve", os.path.join(ROOT, "bench/data/serve_llama2_7b_a100_10k.yaml")]),
]


def run_once(binary, args, env):
    """Wall seconds and peak RSS (MiB) of one process."""
    start = time.perf_counter()
    proc = subprocess.Popen([binary] + args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    err = proc.stderr.read().decode(errors="replace")
    proc.stderr.close()
    if proc.returncode != 0:
        sys.exit(f"startup.py: {binary} {' '.join(args)} exited {proc.returncode}: {err.strip()}")
    return wall, usage.ru_maxrss / 1024.0


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("fathom")
    ap.add_argument("--baseline", help="another fathom binary to compare with, run in the same loop")
    ap.add_argument("--runs", type=int, default=20)
    ap.add_argument("--cases", default="version,estimate,serve10k")
    a = ap.parse_args()
    env = dict(os.environ)
    env.setdefault("FATHOM_DATA_DIR", os.path.join(ROOT, "data"))
    wanted = a.cases.split(",")
    binaries = [a.fathom] + ([a.baseline] if a.baseline else [])
    print(f"{'case':<10} {'binary':<10} {'median ms':>10} {'min ms':>8} {'max ms':>8} {'peak MiB':>9}"
          + ("   baseline/fathom (median of pairs)" if a.baseline else ""))
    for name, args in CASES:
        if name not in wanted:
            continue
        for b in binaries:
            run_once(b, args, env)  # warm-up: page cache, dynamic loader cache
        walls = {b: [] for b in binaries}
        rss = {b: 0.0 for b in binaries}
        for _ in range(a.runs):
            for b in binaries:
                w, r = run_once(b, args, env)
                walls[b].append(w)
                rss[b] = max(rss[b], r)
        ratio = ""
        if a.baseline:
            pairs = [walls[a.baseline][i] / walls[a.fathom][i] for i in range(a.runs)]
            ratio = f"   {statistics.median(pairs):.1f}x"
        for b in binaries:
            label = "fathom" if b == a.fathom else "baseline"
            w = walls[b]
            print(f"{name:<10} {label:<10} {1e3 * statistics.median(w):>10.1f} {1e3 * min(w):>8.1f} "
                  f"{1e3 * max(w):>8.1f} {rss[b]:>9.1f}" + (ratio if b == a.fathom else ""))


if __name__ == "__main__":
    main()
