#!/usr/bin/env python3
"""Summarizes `go test -bench` output of bindings-c/go/bench: veritoken for Go against
golang-jwt v5 (and keyfunc v3 on the JWKS path), as speed-ups with the docs/design.md §6 budget;
then the verified-token cache hit (budget ≤ 1 µs) and 1 vs 2 goroutines on GOMAXPROCS=2 per
algorithm and for a hit (budget ≥ 1.8×, never below 1×), with golang-jwt's own 1 vs 2
goroutines (pure Go) for scale.

The input holds several rounds, each of every benchmark in order, so the two sides of a
speed-up ran back to back in each round. The speed-up is the median of the ratios taken
within the rounds (a slow phase of a shared machine then moves both sides of a ratio, not
one), shown with the spread of the middle half of the rounds."""
import re
import statistics
import sys
from collections import defaultdict

BUDGET = {"RS256": 2.0, "HS256": 3.0}
HIT_BUDGET_US = 1.0
THREADS_BUDGET = 1.8
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

hits = [(alg, ns) for (group, alg, lib), ns in sorted(runs.items()) if group == "CacheHit"]
if hits:
    print(f"\n{'cache hit':<18} {'veritoken':>12}  (median of {len(hits[0][1])} rounds; budget ≤ {HIT_BUDGET_US} µs)")
    for alg, ns in hits:
        us = statistics.median(ns) / 1000
        print(f"{alg:<18} {us:>9.3f} µs  {'ok' if us <= HIT_BUDGET_US else 'OVER'}")


def threads_table(group, title):
    """1 vs 2 goroutines of `group`'s rows, with the budget."""
    cases = sorted({alg for (g, alg, _) in runs if g == group})
    if not cases:
        return
    print(f"\n{title:<18} {'1 /s':>12} {'2 /s':>12}  2 vs 1 (middle half)  GOMAXPROCS=2")
    for case in cases:
        one, two = runs[(group, case, "1goroutines")], runs[(group, case, "2goroutines")]
        ratios = sorted(a / b for a, b in zip(one, two))
        ratio = statistics.median(ratios)
        spread = f"{ratios[len(ratios) // 4]:.2f}–{ratios[(len(ratios) * 3) // 4]:.2f}"
        if case.endswith("_golang_jwt"):
            verdict = "(pure Go, no cgo: for scale)"
        else:
            verdict = f"≥ {THREADS_BUDGET}×: " + ("ok" if ratio >= THREADS_BUDGET else "MISSED" + (" (below 1×)" if ratio < 1 else ""))
        print(
            f"{case.replace('_', ' '):<18} {1e9 / statistics.median(one):>12.0f} {1e9 / statistics.median(two):>12.0f}"
            f"  {ratio:>5.2f}× ({spread})  {verdict}"
        )


threads_table("Threads", "1 vs 2 goroutines")
# The same rows with 64 MB held live (bench_test.go says why): the collector then runs
# ~40 times less often, as in a service with a heap of that size.
threads_table("ThreadsLiveHeap", "same, 64 MB live")
