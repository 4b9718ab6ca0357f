#!/usr/bin/env python3
"""Alternated A/B of scan_bench builds on one core: the way each scanner
round in docs/performance.md compares the session's first build with its
last. On a shared host the speed swings by a third between seconds, so
the builds take turns, N rounds, and the medians are compared.

    bench/scan_ab.py N MODE FILE BIN...

MODE is `sovgw` (end to end, the MB/s of scan_bench's `sovgw` line) or
`stages` (the decode stage's MB/s). FILE is a corpus slice, e.g. the
first 50 MB of bench/scan_bench.sh's corpus. Each BIN is a scan_bench
binary, one per tree, built as bench/scan_bench.sh builds it. Every run
is pinned to the last CPU and bounded by a timeout."""

import os
import re
import statistics
import subprocess
import sys


def main():
    if len(sys.argv) < 5 or sys.argv[2] not in ("sovgw", "stages"):
        print(__doc__.strip().splitlines()[5], file=sys.stderr)
        return 2
    rounds, mode, corpus, bins = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4:]
    key = "sovgw" if mode == "sovgw" else "stage_decode"
    cpu = str(max(os.cpu_count() or 1, 1) - 1)
    res = {b: [] for b in bins}
    for _ in range(max(rounds, 1)):
        for b in bins:
            p = subprocess.run(["taskset", "-c", cpu, b, mode, corpus, "65536"], capture_output=True, text=True,
                               timeout=600)
            m = re.search(r"^%s (\d+)" % key, p.stdout, re.M)
            if p.returncode != 0 or not m:
                print(f"{b}: no '{key}' line (exit {p.returncode}): {p.stderr[-300:]}", file=sys.stderr)
                return 1
            res[b].append(int(m.group(1)))
    for b in bins:
        print(f"{b} median {statistics.median(res[b])} MB/s runs {res[b]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
