#!/usr/bin/env python3
"""Score a matcher's PodFactory -> employee links against generate.py's truth.

Usage: score.py --truth DIR/truth.csv --predicted OUT.csv [--json] [--limit N]

The predicted CSV has the header podfactory_id,employee_id,status,matched_by,
confidence; a row is a link when status is "matched" and employee_id is set.

  precision = right links / all links
  recall    = right links / PodFactory users that have a true employee
  wrong     = links to an employee other than the true one (including users
              with no true employee at all: temps, stations, tests, ...)
  missed    = users with a true employee that were left unlinked

Wrong links are the expensive failure, so they are listed first.  The
examples and per-noise tables read employees.csv, podfactory.csv and (if
present) noise.csv next to the truth file.  Always exits 0 once the inputs
are readable, so it can sit in a pipeline.
"""

from __future__ import annotations

import argparse
import collections
import csv
import json
import os
import signal
import sys


def read_csv(path: str) -> list[dict[str, str]]:
    with open(path, encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def read_optional(path: str) -> list[dict[str, str]]:
    return read_csv(path) if os.path.exists(path) else []


def metrics(truth: dict[str, str], links: dict[str, str]) -> dict:
    right = sum(1 for p, e in links.items() if truth.get(p) == e)
    wrong = len(links) - right
    positives = sum(1 for e in truth.values() if e)
    missed = sum(1 for p, e in truth.items() if e and p not in links)
    precision = right / len(links) if links else 0.0
    recall = right / positives if positives else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": round(precision, 6), "recall": round(recall, 6), "f1": round(f1, 6),
            "right": right, "wrong": wrong, "missed": missed}


RELIABILITY_EDGES = [0.0, 0.9, 0.95, 0.98, 0.99, 0.995, 0.9992, 1.0001]


def print_reliability(truth: dict[str, str], links: dict[str, str],
                      predicted: dict[str, dict[str, str]]) -> None:
    """The same bins as `rosterd match-eval --reliability`."""
    bins = [[0, 0, 0.0] for _ in RELIABILITY_EDGES[1:]]  # links, right, sum of confidence
    for pid, emp in links.items():
        try:
            c = float(predicted[pid].get("confidence") or "")
        except ValueError:
            continue
        for i, (lo, hi) in enumerate(zip(RELIABILITY_EDGES, RELIABILITY_EDGES[1:])):
            if lo <= c < hi:
                bins[i][0] += 1
                bins[i][1] += truth.get(pid) == emp
                bins[i][2] += c
    for (lo, hi), (n, right, total) in zip(zip(RELIABILITY_EDGES, RELIABILITY_EDGES[1:]), bins):
        if n:
            print(f"[{lo:.3f}, {hi:.3f})  {n:>6} links  confidence {total / n:.4f}"
                  f"  observed precision {right / n:.4f}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--truth", required=True, help="truth.csv written by generate.py")
    ap.add_argument("--predicted", required=True, help="the matcher's output CSV")
    ap.add_argument("--json", action="store_true", help="print only the headline metrics as JSON")
    ap.add_argument("--limit", type=int, default=15, help="examples to list per kind (default 15)")
    ap.add_argument("--reliability", action="store_true",
                    help="print only the reliability table: links binned by confidence, "
                         "against the share of them that is right")
    args = ap.parse_args(argv)

    truth = {r["podfactory_id"]: r["employee_id"].strip() for r in read_csv(args.truth)}
    warnings: list[str] = []
    links: dict[str, str] = {}
    predicted: dict[str, dict[str, str]] = {}
    for r in read_csv(args.predicted):
        pid = (r.get("podfactory_id") or "").strip()
        if pid in predicted:
            warnings.append(f"duplicate row for {pid}; the first one counts")
            continue
        predicted[pid] = r
        if pid not in truth:
            warnings.append(f"unknown podfactory_id {pid!r}")
            continue
        emp = (r.get("employee_id") or "").strip()
        status = (r.get("status") or "").strip()
        if status == "matched" and emp:
            links[pid] = emp
        elif emp:
            warnings.append(f"{pid} has employee_id {emp} but status {status!r}; not counted as a link")
        elif status == "matched":
            warnings.append(f"{pid} is 'matched' without an employee_id; not counted as a link")
    absent = sum(1 for p in truth if p not in predicted)
    if absent:
        warnings.append(f"{absent} PodFactory users have no row in the predicted file (counted as unlinked)")

    if args.reliability:
        print_reliability(truth, links, predicted)
        return 0
    m = metrics(truth, links)
    if args.json:
        print(json.dumps(m))
        return 0

    d = os.path.dirname(os.path.abspath(args.truth))
    emps = {r["id"]: r for r in read_optional(os.path.join(d, "employees.csv"))}
    pfs = {r["id"]: r for r in read_optional(os.path.join(d, "podfactory.csv"))}
    noise = {r["podfactory_id"]: r for r in read_optional(os.path.join(d, "noise.csv"))}

    def emp_s(eid: str) -> str:
        e = emps.get(eid)
        if not e:
            return f"employee {eid} (not in employees.csv)"
        inactive = "" if e.get("is_active") == "true" else ", inactive"
        prev = f", previously {e['previous_names']!r}" if e.get("previous_names") else ""
        return f"{eid} {e['name']!r} <{e['email']}> ({e['department']}{inactive}{prev})"

    def pf_s(pid: str) -> str:
        p = pfs.get(pid, {})
        return f"{pid} {p.get('name', '?')!r} <{p.get('email', '')}> role={p.get('user_role', '')}"

    def tags(pid: str) -> list[str]:
        return noise.get(pid, {}).get("tags", "").split()

    def category(pid: str) -> str:
        return noise.get(pid, {}).get("category", "employee" if truth.get(pid) else "no employee")

    positives = sum(1 for e in truth.values() if e)
    wrong = [p for p in links if truth.get(p) != links[p]]
    wrong_other_emp = [p for p in wrong if truth.get(p)]
    missed = [p for p in truth if truth[p] and p not in links]

    print(f"PodFactory users: {len(truth)}, with a true employee: {positives}, links made: {len(links)}")
    print(f"precision {m['precision']:.4f}   recall {m['recall']:.4f}   F1 {m['f1']:.4f}")
    print(f"right {m['right']}   wrong {m['wrong']} ({len(wrong_other_emp)} to the wrong employee, "
          f"{len(wrong) - len(wrong_other_emp)} of users with no employee)   missed {m['missed']}")
    for w in warnings[:10]:
        print(f"warning: {w}")
    if len(warnings) > 10:
        print(f"warning: ... and {len(warnings) - 10} more")

    # By matched_by: which evidence produces the wrong links.
    by_method: dict[str, list[int]] = collections.defaultdict(lambda: [0, 0])
    for p, e in links.items():
        by_method[(predicted[p].get("matched_by") or "").strip() or "(empty)"][truth.get(p) != e] += 1
    if by_method:
        print("\nlinks by matched_by:           right  wrong  precision")
        for k, (r, w) in sorted(by_method.items(), key=lambda kv: -sum(kv[1])):
            print(f"  {k:28s} {r:6d} {w:6d}   {r / (r + w):.4f}")

    statuses = collections.Counter((predicted.get(p, {}).get("status") or "(absent)").strip()
                                   for p in missed)
    if statuses:
        print("\nmissed users by predicted status: " +
              ", ".join(f"{s} {n}" for s, n in statuses.most_common()))

    if noise:
        # Users with no true employee: how often each kind got linked anyway.
        cats = collections.Counter(category(p) for p in truth if not truth[p])
        linked = collections.Counter(category(p) for p in wrong if not truth[p])
        print("\nusers with no true employee:    users  wrongly linked")
        for c, n in cats.most_common():
            print(f"  {c:28s} {n:6d} {linked[c]:6d}")
        # Users with a true employee: outcome per noise tag.
        table: dict[str, list[int]] = collections.defaultdict(lambda: [0, 0, 0, 0])
        for p, e in truth.items():
            if not e:
                continue
            outcome = 1 if links.get(p) == e else 2 if p in links else 3
            for t in set(tags(p)) or {"(no tag)"}:
                table[t][0] += 1
                table[t][outcome] += 1
        print("\nusers with a true employee, by noise tag (a user has several):")
        print(f"  {'tag':32s} {'users':>6s} {'right':>6s} {'wrong':>6s} {'missed':>6s} {'recall':>7s}")
        for t, (n, r, w, mi) in sorted(table.items(), key=lambda kv: (-kv[1][2], -kv[1][3] / kv[1][0])):
            print(f"  {t:32s} {n:6d} {r:6d} {w:6d} {mi:6d} {r / n:7.3f}")

    print(f"\nwrong links ({len(wrong)}; up to {args.limit}):")
    for p in wrong[:args.limit]:
        pr = predicted[p]
        true = emp_s(truth[p]) if truth[p] else f"none ({category(p)}"
        if not truth[p]:
            note = noise.get(p, {}).get("note", "")
            true += f"; {note})" if note else ")"
        print(f"  PF    {pf_s(p)}")
        print(f"  got   {emp_s(links[p])}  by {pr.get('matched_by', '')} {pr.get('confidence', '')}")
        print(f"  truth {true}")
        if tags(p):
            print(f"  noise {' '.join(tags(p))}")
        print()

    print(f"missed links ({len(missed)}; up to {args.limit}):")
    for p in missed[:args.limit]:
        pr = predicted.get(p, {})
        print(f"  PF    {pf_s(p)}  -> {pr.get('status', '(absent)')} {pr.get('matched_by', '')}")
        print(f"  truth {emp_s(truth[p])}")
        if tags(p):
            print(f"  noise {' '.join(tags(p))}")
        print()
    return 0


if __name__ == "__main__":
    if hasattr(signal, "SIGPIPE"):
        signal.signal(signal.SIGPIPE, signal.SIG_DFL)   # quiet when piped into head
    sys.exit(main())
