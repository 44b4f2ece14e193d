#!/usr/bin/env python3
"""Prints criterion results of benches/throughput.rs as ratios against the peers measured in
the same run: for each case, wsmachine's time divided by each peer's (below 1.0 = faster).

Usage: cargo bench --bench throughput && python3 scripts/bench-report.py [target-dir]
"""
import json, os, sys

root = os.path.join(sys.argv[1] if len(sys.argv) > 1 else "target", "criterion")
for group in sorted(os.listdir(root)):
    gdir = os.path.join(root, group)
    if not os.path.isdir(os.path.join(gdir, "wsmachine")):
        continue
    impls = {}
    for impl in os.listdir(gdir):
        idir = os.path.join(gdir, impl)
        if not os.path.isdir(idir) or impl == "report":
            continue
        for case in os.listdir(idir):
            est = os.path.join(idir, case, "new", "estimates.json")
            if os.path.exists(est):
                with open(est) as f:
                    impls.setdefault(case, {})[impl] = json.load(f)["median"]["point_estimate"]
    for case, times in sorted(impls.items()):
        ours = times.get("wsmachine")
        if ours is None:
            continue
        peers = ", ".join(
            f"{p} {ours / t:.2f}x time" for p, t in sorted(times.items()) if p != "wsmachine"
        )
        print(f"{group}/{case}: wsmachine {ours / 1e3:.0f} us; vs {peers}")
