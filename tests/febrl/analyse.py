#!/usr/bin/env python3
"""Group a matcher's missed and wrong pairs by the noise that produced them.

Usage: analyse.py DIR [--top 15] [--examples 2]
DIR holds generate.py's files and predicted.csv (run.sh's per-run folder).
A "kind" is the set of noise tags of the PodFactory user (name operators,
email mode, namesake, hopeless), so the most common kinds say which noise
the matcher cannot see through.
"""

from __future__ import annotations

import argparse
import collections
import csv
import os


def rows(path: str) -> list[dict[str, str]]:
    with open(path, encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("dir")
    ap.add_argument("--top", type=int, default=15)
    ap.add_argument("--examples", type=int, default=2)
    a = ap.parse_args()
    d = a.dir
    truth = {r["podfactory_id"]: r["employee_id"] for r in rows(os.path.join(d, "truth.csv"))}
    pred = {r["podfactory_id"]: r for r in rows(os.path.join(d, "predicted.csv"))}
    noise = {r["podfactory_id"]: r for r in rows(os.path.join(d, "noise.csv"))}
    pfs = {r["id"]: r for r in rows(os.path.join(d, "podfactory.csv"))}
    emps = {r["id"]: r for r in rows(os.path.join(d, "employees.csv"))}

    def link(p: str) -> str:
        r = pred.get(p, {})
        return r.get("employee_id", "") if r.get("status") == "matched" else ""

    def kind(p: str) -> str:
        n = noise[p]
        if n["category"] != "employee":
            return f"no employee: {n['category']}"
        tags = [t for t in n["tags"].split() if t not in ("inactive", "name:clean")]
        return " ".join(sorted(tags)) or "(clean)"

    def emp(eid: str) -> str:
        e = emps.get(eid, {})
        return f"{eid} {e.get('name', '?')!r} <{e.get('email', '')}> {e.get('department', '')}"

    missed = [p for p, e in truth.items() if e and not link(p)]
    wrong = [p for p in truth if link(p) and link(p) != truth[p]]
    hopeless_missed = sum("hopeless" in noise[p]["tags"].split() for p in missed)
    hopeless_wrong = sum("hopeless" in noise[p]["tags"].split() for p in wrong)
    print(f"missed {len(missed)} (hopeless {hopeless_missed}), wrong {len(wrong)} (hopeless {hopeless_wrong})")
    for label, keep in (("not hopeless", lambda t: "hopeless" not in t),
                        ("decidable (neither hopeless nor undecidable)",
                         lambda t: "hopeless" not in t and "undecidable" not in t)):
        subset = [p for p, e in truth.items() if e and keep(noise[p]["tags"].split())]
        right = sum(link(p) == truth[p] for p in subset)
        print(f"recall on {label} pairs: {right}/{len(subset)} = {right / max(len(subset), 1):.4f}")
    for title, group in (("WRONG", wrong), ("MISSED", missed)):
        kinds = collections.Counter(kind(p) for p in group)
        single = collections.Counter(t for p in group for t in set(kind(p).split()))
        print(f"\n== {title}: {len(group)}; the {a.top} most common kinds ==")
        for k, n in kinds.most_common(a.top):
            print(f"{n:5d}  {k}")
            for p in [p for p in group if kind(p) == k][:a.examples]:
                r = pred.get(p, {})
                pf = pfs[p]
                print(f"         PF {p} {pf['name']!r} <{pf['email']}> -> {r.get('status', '(absent)')} "
                      f"{r.get('matched_by', '')} {r.get('confidence', '')}".rstrip())
                if truth[p]:
                    print(f"            truth {emp(truth[p])}")
                if link(p):
                    print(f"            got   {emp(link(p))}")
        print(f"\n   single tags among {title.lower()}: " +
              ", ".join(f"{t} {n}" for t, n in single.most_common(20)))


if __name__ == "__main__":
    main()
