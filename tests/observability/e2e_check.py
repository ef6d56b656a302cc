#!/usr/bin/env python3
"""Assertions against a live Prometheus that scrapes rosterd (see e2e.sh).

    e2e_check.py --prometheus http://127.0.0.1:PORT --exprs EXPRS.jsonl
                 [--job rosterd] [--timeout SECONDS]

1. the rosterd target is up;
2. /api/v1/rules lists every group of alerts/*.rules.yml, every rule
   evaluated with health "ok" (no load or evaluation error);
3. the dashboards' job variable finds the job;
4. every dashboard expression (from check_dashboards.py --print-exprs)
   returns data, except the ones ALLOWED_EMPTY explains.

Python 3 standard library only.
"""

import argparse
import json
import os
import re
import sys
import time
import urllib.parse
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import check_dashboards as cd  # noqa: E402

# Expressions that legitimately return nothing on a healthy demo: rosterd
# creates a labelled series the first time it counts something, so families
# for failures, retries and notifications have no series until one happens.
# Matched as substrings of the expression.
ALLOWED_EMPTY = {
    "podfactory_sync_errors_total": "no run fails on a healthy demo; the {stage} series appear with the first failure",
    'outcome="failed"': "no action fails on a healthy demo; the failed series appear with the first failure",
    'status="429"': "the demo's simulator does not rate-limit by default; no 429 series",
    "rosterd_auth0_retries_total": "no retries on a healthy demo; the {reason} series appear with the first retry",
    "rosterd_notifications_total": "the demo sends no notifications",
    "rosterd_drift_total": "the demo's accounts drift only until its first run repairs them; the panel shows fields with drift (> 0) in the window",
}
# Shorter windows than the dashboards' defaults: the server has seconds of data.
E2E_VARIABLES = {"__rate_interval": "1m", "__interval": "15s", "__range": "1h"}

failures = []


def fail(msg):
    failures.append(msg)
    print("FAIL: " + msg)


def api(base, path, **params):
    url = base.rstrip("/") + path
    if params:
        url += "?" + urllib.parse.urlencode(params, doseq=True)
    with urllib.request.urlopen(url, timeout=10) as r:
        body = json.load(r)
    if body.get("status") != "success":
        raise RuntimeError("%s: %s" % (url, body))
    return body["data"]


def until(deadline, what, probe, every=1.0):
    """Polls probe() until it returns a true value or the deadline passes."""
    last = None
    while True:
        try:
            got = probe()
            if got:
                return got
        except Exception as e:  # server still starting
            last = e
        if time.monotonic() >= deadline:
            fail("timed out waiting for %s%s" % (what, " (last error: %s)" % last if last else ""))
            return None
        time.sleep(every)


def rule_groups(alerts_dir):
    names = []
    for f in sorted(os.listdir(alerts_dir)):
        if f.endswith(".rules.yml"):
            for line in open(os.path.join(alerts_dir, f), encoding="utf-8"):
                m = re.match(r"\s*-\s+name:\s*(\S+)", line)
                if m:
                    names.append(m.group(1))
    return names


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--prometheus", required=True)
    ap.add_argument("--exprs", required=True)
    ap.add_argument("--job", default="rosterd")
    ap.add_argument("--alerts", default=os.path.join(cd.ROOT, "alerts"))
    ap.add_argument("--timeout", type=float, default=40, help="seconds for the whole check")
    ap.add_argument("--healthy", action="store_true",
                    help="rosterd is a healthy demo: no alert may fire")
    args = ap.parse_args()
    base = args.prometheus
    deadline = time.monotonic() + args.timeout

    # 1. Target up.
    def target_up():
        active = api(base, "/api/v1/targets", state="active")["activeTargets"]
        mine = [t for t in active if t["labels"].get("job") == args.job]
        return mine and all(t["health"] == "up" for t in mine) and mine

    up = until(deadline, "the %s target to be up" % args.job, target_up)
    if up:
        print("ok: target %s up (%s)" % (args.job, ", ".join(t["scrapeUrl"] for t in up)))

    # 2. Rules loaded and evaluated without error.
    expected = rule_groups(args.alerts)

    def rules_evaluated():
        groups = api(base, "/api/v1/rules")["groups"]
        rules = [r for g in groups for r in g["rules"]]
        if rules and all(r.get("health") != "unknown" for r in rules):
            return groups
        return None

    groups = until(deadline, "every rule to be evaluated", rules_evaluated) or []
    loaded = [g["name"] for g in groups]
    for name in expected:
        if name not in loaded:
            fail("rule group %s from alerts/ is not loaded (loaded: %s)" % (name, loaded))
    n_rules = 0
    for g in groups:
        for r in g["rules"]:
            n_rules += 1
            if r.get("health") != "ok":
                fail("rule %s in %s: health %s: %s" % (r["name"], g["name"], r.get("health"), r.get("lastError")))
    if groups:
        print("ok: %d rule groups, %d rules, all evaluated without error" % (len(groups), n_rules))

    # 3. The job variable's query.
    jobs = api(base, "/api/v1/label/job/values", **{"match[]": "rosterd_build_info"})
    if args.job not in jobs:
        fail("label_values(rosterd_build_info, job) does not offer %s (got %s)" % (args.job, jobs))

    # 4. Every dashboard expression returns data. Counters need two scrapes
    # inside the window before increase()/rate() answer: retry until the
    # deadline before calling a query empty.
    exprs = [json.loads(line) for line in open(args.exprs, encoding="utf-8") if line.strip()]
    pending = {}
    for item in exprs:
        pending[item["where"]] = cd.substitute(item["expr"], dict(E2E_VARIABLES, job=args.job))
    def allowed_reason(expr):
        reasons = [why for frag, why in ALLOWED_EMPTY.items() if frag in expr]
        return reasons[0] if reasons else None

    # Allowed-empty expressions get a few seconds of retries, the others
    # until the deadline.
    grace = time.monotonic() + 5
    answered, allowed = 0, []
    while pending:
        for where, expr in list(pending.items()):
            result = api(base, "/api/v1/query", query=expr)["result"]
            if result:
                answered += 1
                del pending[where]
        now = time.monotonic()
        if now >= deadline or (now >= grace and all(allowed_reason(e) for e in pending.values())):
            break
        time.sleep(1)
    for where, expr in pending.items():
        reasons = [allowed_reason(expr)] if allowed_reason(expr) else []
        if reasons:
            allowed.append(where)
            print("allowed empty: %s: %s" % (where, reasons[0]))
        else:
            fail("%s returns no data: %s" % (where, expr))
    print("ok: %d of %d dashboard expressions return data, %d allowed empty"
          % (answered, len(exprs), len(allowed)))

    # 5. rosterd is up and scraped: RosterdDown has cleared (it may be pending
    # from an evaluation before the first scrape). With --healthy (the demo)
    # no alert may fire; a --static file's alerts are listed.
    def down_cleared():
        alerts = api(base, "/api/v1/alerts")["alerts"]
        return not any(a["labels"].get("alertname") == "RosterdDown" for a in alerts) and alerts is not None

    if until(min(deadline, time.monotonic() + 10), "RosterdDown to clear", down_cleared):
        print("ok: RosterdDown inactive while rosterd is scraped")
    for a in api(base, "/api/v1/alerts")["alerts"]:
        if a["state"] == "firing" and args.healthy:
            fail("alert %s fires on a healthy rosterd: %s" % (a["labels"]["alertname"], a["labels"]))
        else:
            print("info: alert %s is %s" % (a["labels"]["alertname"], a["state"]))

    if failures:
        print("\n%d e2e problem(s)" % len(failures))
        return 1
    print("e2e checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
