#!/usr/bin/env python3
"""Summarises Autobahn|Testsuite reports (reports/*/index.json) for scripts/autobahn.sh.

    autobahn-summary.py [--markdown FILE] [--expect AGENT ...] -- INDEX.json ...

Prints, per agent, the number of cases by result (of `behavior`) and every case whose
`behavior` or `behaviorClose` is neither OK nor INFORMATIONAL. Exits 1 if there is such a
case, or an expected agent has no report; 0 otherwise.
"""

import argparse
import json
import sys

RESULTS = ["OK", "NON-STRICT", "INFORMATIONAL", "FAILED", "UNIMPLEMENTED"]
STRICT = {"OK", "INFORMATIONAL"}


def case_key(case_id):
    """Sorts '9.10.2' after '9.2.1'."""
    return [int(p) if p.isdigit() else p for p in case_id.split(".")]


def load(paths):
    agents = {}
    for path in paths:
        with open(path) as f:
            for agent, cases in json.load(f).items():
                agents.setdefault(agent, {}).update(cases)
    return agents


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--markdown", help="also write a markdown summary here")
    ap.add_argument("--expect", nargs="*", default=[], help="agents that must have a report")
    ap.add_argument("reports", nargs="*", help="index.json files")
    args = ap.parse_args()

    agents = load(args.reports)
    names = list(args.expect) + sorted(a for a in agents if a not in args.expect)
    ok = True
    rows = []
    details = []
    for agent in names:
        cases = agents.get(agent)
        if not cases:
            ok = False
            print(f"{agent}: MISSING (no report)")
            rows.append([agent, "-"] + ["-"] * len(RESULTS) + ["-", "MISSING"])
            continue
        counts = {r: 0 for r in RESULTS}
        bad = []
        close_bad = 0
        for cid in sorted(cases, key=case_key):
            c = cases[cid]
            behavior = c.get("behavior", "?")
            close = c.get("behaviorClose", "?")
            counts[behavior] = counts.get(behavior, 0) + 1
            if close not in STRICT:
                close_bad += 1
            if behavior not in STRICT or close not in STRICT:
                bad.append((cid, behavior, close, c.get("remoteCloseCode")))
        verdict = "PASS" if not bad else "NOT STRICT"
        ok = ok and not bad
        extra = {k: v for k, v in counts.items() if k not in RESULTS}
        print(
            f"{agent}: {len(cases)} cases: "
            + ", ".join(f"{r} {counts[r]}" for r in RESULTS)
            + "".join(f", {k} {v}" for k, v in extra.items())
            + f"; close not OK {close_bad} -> {verdict}"
        )
        for cid, behavior, close, code in bad:
            print(f"    {cid:<10} behavior {behavior:<14} close {close:<14} remote close code {code}")
        rows.append([agent, str(len(cases))] + [str(counts[r]) for r in RESULTS] + [str(close_bad), verdict])
        if bad:
            details.append(
                (agent, ", ".join(f"{cid} ({b}/{c})" for cid, b, c, _ in bad))
            )

    if args.markdown:
        head = ["agent", "cases"] + RESULTS + ["close not OK", "verdict"]
        lines = ["# Autobahn|Testsuite summary", ""]
        lines.append("| " + " | ".join(head) + " |")
        lines.append("|" + "---|" * len(head))
        lines += ["| " + " | ".join(r) + " |" for r in rows]
        if details:
            lines += ["", "Cases not OK/INFORMATIONAL (behavior/close):", ""]
            lines += [f"- **{a}**: {d}" for a, d in details]
        with open(args.markdown, "w") as f:
            f.write("\n".join(lines) + "\n")
        print(f"summary written to {args.markdown}")

    print("autobahn: " + ("all strict" if ok else "NOT all strict"))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
