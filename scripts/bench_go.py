#!/usr/bin/env python3
"""Summarizes `go test -bench` output of bindings-c/go/bench: veritoken for Go against
golang-jwt v5 (and keyfunc v3 on the JWKS path), as speed-ups with the docs/design.md §6 budget.

The input holds several rounds, each of every benchmark in order, so the two sides of a
speed-up ran back to back in each round. The speed-up is the median of the ratios taken
within the rounds (a slow phase of a shared machine then moves both sides of a ratio, not
one), shown with the spread of the middle half of the rounds."""
import re
import statistics
import sys
from collections import defaultdict

BUDGET = {"RS256": 2.0, "HS256": 3.0}
LINE = re.compile(r"^Benchmark(\w+)/(\w+)/(\S+?)(?:-\d+)?\s+\d+\s+([\d.]+) ns/op")

# (group, alg, lib) -> ns/op of each round, in the order the rounds ran.
runs = defaultdict(list)
for line in open(sys.argv[1] if len(sys.argv) > 1 else "build/bench-go.txt"):
    m = LINE.match(line)
    if m:
        group, alg, lib, ns = m.groups()
        runs[(group, alg, lib)].append(float(ns))

print(f"{'bench':<18} {'veritoken':>12} {'peer':>12}  {'speed-up (middle half)':>22}  peer / budget")
for (group, alg, lib), ours in sorted(runs.items()):
    if lib != "veritoken":
        continue
    for (g2, a2, peer), theirs in sorted(runs.items()):
        if (g2, a2) != (group, alg) or peer == "veritoken":
            continue
        ratios = sorted(b / a for a, b in zip(ours, theirs))
        ratio = statistics.median(ratios)
        spread = f"{ratios[len(ratios) // 4]:.2f}–{ratios[(len(ratios) * 3) // 4]:.2f}"
        verdict = ""
        if group in ("Verify", "JWKS") and alg in BUDGET:
            verdict = f" / ≥ {BUDGET[alg]}×: {'ok' if ratio >= BUDGET[alg] else 'MISSED'}"
        a, b = statistics.median(ours), statistics.median(theirs)
        print(
            f"{group + ' ' + alg:<18} {a / 1000:>9.2f} µs {b / 1000:>9.2f} µs  "
            f"{ratio:>7.2f}× ({spread}) {len(ratios)} rounds  {peer}{verdict}"
        )
