#!/usr/bin/env python3
"""Static checks of rosterd's Grafana dashboards and Prometheus rules.

    check_dashboards.py METRICS_FILE... [--dashboards DIR] [--alerts DIR]
                        [--promtool PATH] [--print-exprs FILE]

METRICS_FILE is a scrape of rosterd (`curl -s host:port/metrics > m.txt`):
the set of metrics rosterd exports is read from its `# TYPE` lines, and
`promtool check metrics` lints it. Several files: the union. (A live scrape
lacks the labelled families that have no series yet, e.g. failures on a
healthy demo; tests/it/observability_metrics.rs writes one with every family.)

Dashboards (every dashboards/*.json):
  - no `__inputs`, no `${DS_...}`: a `datasource` template variable of type
    `datasource` (query `prometheus`) instead, and every panel, target and
    query variable uses {"type": "prometheus", "uid": "${datasource}"};
  - schemaVersion >= 36, unique uid and panel ids, panels inside the 24-column
    grid and not overlapping;
  - every target has an expression; all of them parse (`promtool check rules`
    on a temporary rule file with one recording rule per expression);
  - every metric an expression or a variable query references is one rosterd
    exports (histograms only through _bucket/_sum/_count).
Rules (alerts/*.rules.yml): every metric referenced is exported, recorded by
the rules themselves, `up` or another series Prometheus adds to each scrape.

--print-exprs writes every dashboard expression (Grafana variables replaced)
as JSON lines, for tests/observability/e2e_check.py.

Python 3 standard library only. Exit status 1 on any problem.
"""

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))

DATASOURCE = {"type": "prometheus", "uid": "${datasource}"}
MIN_SCHEMA = 36

# Series Prometheus itself adds to every scrape.
PROMETHEUS_SERIES = {"up", "scrape_duration_seconds", "scrape_samples_scraped"}

# Grafana variables -> a value that makes the expression valid PromQL.
# e2e_check.py overrides some (shorter ranges) via substitute(..., values).
DEFAULT_VARIABLES = {
    "__rate_interval": "5m",
    "__interval": "1m",
    "__range": "1h",
    "job": "rosterd",
    "instance": ".*",
}

PROMQL_KEYWORDS = {
    "by", "without", "on", "ignoring", "group_left", "group_right", "offset",
    "bool", "and", "or", "unless", "atan2", "inf", "nan", "start", "end",
}
AGGREGATORS = {
    "sum", "min", "max", "avg", "group", "stddev", "stdvar", "count",
    "count_values", "bottomk", "topk", "quantile",
}
LABEL_LIST_KEYWORDS = {"by", "without", "on", "ignoring", "group_left", "group_right"}

TOKEN = re.compile(
    r"""
    (?P<ws>\s+)
  | (?P<comment>\#[^\n]*)
  | (?P<str>"(?:\\.|[^"\\])*"|'(?:\\.|[^'\\])*'|`[^`]*`)
  | (?P<range>\[[^\]]*\])
  | (?P<duration>\d+(?:ms|s|m|h|d|w|y)(?:\d+(?:ms|s|m|h|d|w|y))*)
  | (?P<num>0[xX][0-9a-fA-F]+|\d+\.?\d*(?:[eE][+-]?\d+)?|\.\d+(?:[eE][+-]?\d+)?)
  | (?P<ident>[a-zA-Z_:][a-zA-Z0-9_:]*)
  | (?P<op>==|!=|>=|<=|=~|!~|[-+*/%^(){},=<>@])
    """,
    re.X,
)

problems = []


def problem(msg):
    problems.append(msg)
    print("FAIL: " + msg)


def tokens(expr):
    pos = 0
    out = []
    while pos < len(expr):
        m = TOKEN.match(expr, pos)
        if not m:
            raise ValueError("cannot tokenize %r at %d" % (expr, pos))
        pos = m.end()
        kind = m.lastgroup
        if kind not in ("ws", "comment"):
            out.append((kind, m.group()))
    return out


def metric_names(expr):
    """Metric names an (already variable-free) PromQL expression selects."""
    toks = tokens(expr)
    names = set()
    i = 0
    while i < len(toks):
        kind, val = toks[i]
        nxt = toks[i + 1][1] if i + 1 < len(toks) else None
        if kind == "ident" and val in LABEL_LIST_KEYWORDS and nxt == "(":
            # by (a, b): skip the label list
            while i < len(toks) and toks[i][1] != ")":
                i += 1
        elif kind == "op" and val == "{":
            # label matchers: only __name__="x" names a metric
            j = i + 1
            while j < len(toks) and toks[j][1] != "}":
                if toks[j] == ("ident", "__name__") and j + 2 < len(toks) and toks[j + 1][1] == "=":
                    names.add(toks[j + 2][1][1:-1])
                j += 1
            i = j
        elif kind == "ident":
            low = val.lower()
            if nxt == "(" or val in AGGREGATORS or low in PROMQL_KEYWORDS:
                pass  # function, aggregator or keyword
            else:
                names.add(val)
        i += 1
    return names


VARIABLE = re.compile(r"\$\{(\w+)(?::[\w]+)?\}|\$(\w+)|\[\[(\w+)\]\]")


def substitute(expr, values=None):
    vals = dict(DEFAULT_VARIABLES)
    vals.update(values or {})
    unknown = []

    def repl(m):
        name = m.group(1) or m.group(2) or m.group(3)
        if name not in vals:
            unknown.append(name)
            return m.group(0)
        return vals[name]

    out = VARIABLE.sub(repl, expr)
    if unknown:
        raise ValueError("unknown Grafana variable(s) %s in %r" % (sorted(set(unknown)), expr))
    return out


def read_exposition(path):
    """{name: type} from the # TYPE lines of a Prometheus text exposition."""
    types = {}
    with open(path, encoding="utf-8") as f:
        for line in f:
            if line.startswith("# TYPE "):
                parts = line.split()
                if len(parts) >= 4:
                    types[parts[2]] = parts[3]
    return types


def exported_name(name, types):
    """Is `name` a queryable series name of an exported family? (reason if not)"""
    if name in types:
        if types[name] in ("histogram", "summary"):
            return "%s is a %s: query %s_bucket, _sum or _count" % (name, types[name], name)
        return None
    for suffix in ("_bucket", "_sum", "_count"):
        if name.endswith(suffix):
            base = name[: -len(suffix)]
            if types.get(base) == "histogram" or (types.get(base) == "summary" and suffix != "_bucket"):
                return None
    return "%s is not a metric rosterd exports" % name


def walk_panels(panels):
    for p in panels or []:
        yield p
        yield from walk_panels(p.get("panels"))


def check_dashboard(path, types):
    """Returns [(where, expr)] of every target expression."""
    name = os.path.relpath(path, ROOT)
    with open(path, encoding="utf-8") as f:
        raw = f.read()
    try:
        dash = json.loads(raw)
    except ValueError as e:
        problem("%s: not JSON: %s" % (name, e))
        return []
    if "__inputs" in dash or "__requires" in dash:
        problem("%s: has __inputs/__requires (an export for sharing): use the datasource variable" % name)
    if "${DS_" in raw:
        problem("%s: references a ${DS_...} input" % name)
    if not dash.get("uid") or not dash.get("title"):
        problem("%s: needs a uid and a title" % name)
    if not isinstance(dash.get("schemaVersion"), int) or dash["schemaVersion"] < MIN_SCHEMA:
        problem("%s: schemaVersion %r < %d" % (name, dash.get("schemaVersion"), MIN_SCHEMA))
    if dash.get("id") not in (None,):
        problem("%s: a provisioned dashboard must have \"id\": null (or none)" % name)

    variables = dash.get("templating", {}).get("list", [])
    ds_vars = [v for v in variables if v.get("name") == "datasource"]
    if not ds_vars or ds_vars[0].get("type") != "datasource" or ds_vars[0].get("query") != "prometheus":
        problem("%s: needs a template variable `datasource` of type datasource, query prometheus" % name)

    exprs = []
    for v in variables:
        if v.get("type") != "query":
            continue
        if v.get("datasource") != DATASOURCE:
            problem("%s: variable %s: datasource must be %s" % (name, v.get("name"), DATASOURCE))
        q = v.get("query")
        q = q.get("query") if isinstance(q, dict) else q
        m = re.match(r"\s*label_values\(\s*([a-zA-Z_:][\w:]*)", q or "")
        if not m:
            problem("%s: variable %s: expected label_values(metric..., label), got %r" % (name, v.get("name"), q))
            continue
        why = exported_name(m.group(1), types)
        if why:
            problem("%s: variable %s: %s" % (name, v.get("name"), why))

    ids = set()
    boxes = []
    for p in walk_panels(dash.get("panels")):
        title = p.get("title", "?")
        where = "%s: panel %r" % (name, title)
        if p.get("id") in ids:
            problem("%s: duplicate panel id %r" % (where, p.get("id")))
        ids.add(p.get("id"))
        g = p.get("gridPos") or {}
        if not all(isinstance(g.get(k), int) for k in ("x", "y", "w", "h")) or g["x"] + g["w"] > 24:
            problem("%s: gridPos %r outside the 24-column grid" % (where, g))
        else:
            for other_title, og in boxes:
                if (g["x"] < og["x"] + og["w"] and og["x"] < g["x"] + g["w"]
                        and g["y"] < og["y"] + og["h"] and og["y"] < g["y"] + g["h"]):
                    problem("%s: overlaps panel %r" % (where, other_title))
            boxes.append((title, g))
        if p.get("type") == "row":
            continue
        if p.get("datasource") != DATASOURCE:
            problem("%s: datasource must be %s, is %r" % (where, DATASOURCE, p.get("datasource")))
        targets = p.get("targets") or []
        if not targets:
            problem("%s: no targets" % where)
        refs = set()
        for t in targets:
            if t.get("datasource", DATASOURCE) != DATASOURCE:
                problem("%s: target %s datasource must be %s" % (where, t.get("refId"), DATASOURCE))
            if t.get("refId") in refs:
                problem("%s: duplicate refId %s" % (where, t.get("refId")))
            refs.add(t.get("refId"))
            if not (t.get("expr") or "").strip():
                problem("%s: target %s has no expr" % (where, t.get("refId")))
                continue
            exprs.append(("%s %s" % (where, t.get("refId")), t["expr"]))
    if not exprs:
        problem("%s: no expressions at all" % name)
    return exprs


def promtool_parse(promtool, exprs):
    """Every expression through `promtool check rules` as a recording rule."""
    def rule_file(items):
        lines = ["groups:", "  - name: dashboard-expressions", "    rules:"]
        for i, (_, e) in enumerate(items):
            lines.append("      - record: dashboard_check:expr_%d" % i)
            lines.append("        expr: %s" % json.dumps(e))
        return "\n".join(lines) + "\n"

    def run(items):
        with tempfile.NamedTemporaryFile("w", suffix=".yml", delete=False) as f:
            f.write(rule_file(items))
        try:
            return subprocess.run([promtool, "check", "rules", f.name],
                                  capture_output=True, text=True)
        finally:
            os.unlink(f.name)

    r = run(exprs)
    if r.returncode == 0:
        print("ok: %d dashboard expressions parse (promtool check rules)" % len(exprs))
        return
    for where, e in exprs:  # find the culprits
        one = run([(where, e)])
        if one.returncode != 0:
            problem("%s: does not parse: %s\n  %s" % (where, e, (one.stdout + one.stderr).strip()))


RULE_EXPR = re.compile(r"^(\s*)(?:-\s+)?expr:\s*(.*)$")
RULE_RECORD = re.compile(r"^\s*-?\s*record:\s*(\S+)")


def rule_exprs(path):
    """(record names, [expr]) from a rules file, without a YAML library:
    `expr: <one line>` and `expr: |` / `expr: >` blocks."""
    records, exprs = set(), []
    lines = open(path, encoding="utf-8").read().split("\n")
    i = 0
    while i < len(lines):
        m = RULE_RECORD.match(lines[i])
        if m:
            records.add(m.group(1))
        m = RULE_EXPR.match(lines[i])
        if m:
            indent, rest = len(m.group(1)), m.group(2).strip()
            if rest[:1] in ("|", ">"):
                block = []
                i += 1
                while i < len(lines) and (not lines[i].strip() or len(lines[i]) - len(lines[i].lstrip()) > indent):
                    block.append(lines[i].strip())
                    i += 1
                exprs.append(" ".join(block).strip())
                continue
            if rest[:1] in ("'", '"'):
                rest = json.loads(rest) if rest[0] == '"' else rest[1:-1].replace("''", "'")
            exprs.append(rest)
        i += 1
    return records, exprs


def check_rules(alerts_dir, types, promtool):
    files = sorted(os.path.join(alerts_dir, f) for f in os.listdir(alerts_dir) if f.endswith(".rules.yml"))
    if not files:
        problem("%s: no *.rules.yml" % alerts_dir)
        return
    all_records, all_exprs = set(), []
    for path in files:
        records, exprs = rule_exprs(path)
        all_records |= records
        all_exprs += [(os.path.relpath(path, ROOT), e) for e in exprs]
        # Cross-check the line-based extraction against promtool's count.
        r = subprocess.run([promtool, "check", "rules", path], capture_output=True, text=True)
        m = re.search(r"SUCCESS: (\d+) rules found", r.stdout)
        if r.returncode != 0 or not m:
            problem("%s: promtool check rules failed:\n%s" % (path, r.stdout + r.stderr))
        elif int(m.group(1)) != len(exprs):
            problem("%s: found %d expr: lines but promtool counts %d rules" % (path, len(exprs), int(m.group(1))))
    for where, e in all_exprs:
        for n in sorted(metric_names(e)):
            if n in all_records or n in PROMETHEUS_SERIES:
                continue
            why = exported_name(n, types)
            if why:
                problem("%s: %s in %s" % (where, why, " ".join(e.split())))
    print("ok: %d rule expressions checked against the exported metrics" % len(all_exprs))
    check_alert_metadata(files)


def github_anchor(heading):
    a = heading.strip().lower()
    a = re.sub(r"[^\w\- ]", "", a)
    return a.replace(" ", "-")


def check_alert_metadata(files):
    """severity page|ticket, summary, description, and a runbook annotation
    pointing at the alert's section of the README (checked against the README
    once it has an "Alerts and runbooks" section)."""
    readme = open(os.path.join(ROOT, "README.md"), encoding="utf-8").read() \
        if os.path.exists(os.path.join(ROOT, "README.md")) else ""
    has_section = re.search(r"^#+\s+Alerts and runbooks\s*$", readme, re.M) is not None
    anchors = {github_anchor(h) for h in re.findall(r"^#+\s+(.+?)\s*$", readme, re.M)}
    n = 0
    for path in files:
        text = open(path, encoding="utf-8").read()
        blocks = re.split(r"^\s*- (?=alert:|record:)", text, flags=re.M)[1:]
        for b in blocks:
            m = re.match(r"alert:\s*(\S+)", b)
            if not m:
                continue
            name, n = m.group(1), n + 1
            where = "%s: alert %s" % (os.path.relpath(path, ROOT), name)
            if not re.search(r"^\s+severity:\s*(page|ticket)\s*$", b, re.M):
                problem("%s: needs label severity: page or ticket" % where)
            for key in ("summary", "description"):
                if not re.search(r"^\s+%s:\s*\S" % key, b, re.M):
                    problem("%s: needs a %s annotation" % (where, key))
            rb = re.search(r'^\s+runbook:\s*"?README\.md#([\w-]+)"?\s*$', b, re.M)
            if not rb or rb.group(1) != name.lower():
                problem('%s: needs runbook: "README.md#%s"' % (where, name.lower()))
            elif has_section and rb.group(1) not in anchors:
                problem("%s: README.md has no heading for #%s" % (where, rb.group(1)))
    print("ok: %d alerts have severity, summary, description and a runbook link" % n)
    if not has_section:
        print("note: README.md has no \"Alerts and runbooks\" section yet: runbook anchors not checked")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("metrics", nargs="+", help="scrape(s) of rosterd's /metrics")
    ap.add_argument("--dashboards", default=os.path.join(ROOT, "dashboards"))
    ap.add_argument("--alerts", default=os.path.join(ROOT, "alerts"))
    ap.add_argument("--promtool", default="promtool")
    ap.add_argument("--print-exprs", metavar="FILE", help="write the dashboard expressions as JSON lines")
    args = ap.parse_args()

    types = {}
    for path in args.metrics:
        got = read_exposition(path)
        if not got:
            problem("%s: no # TYPE lines: not a Prometheus text exposition" % path)
            continue
        for n, t in got.items():
            if types.setdefault(n, t) != t:
                problem("%s: %s is a %s here and a %s elsewhere" % (path, n, t, types[n]))
        print("ok: %d metric families in %s" % (len(got), path))
        with open(path, "rb") as f:
            r = subprocess.run([args.promtool, "check", "metrics"], stdin=f, capture_output=True, text=True)
        if r.returncode != 0:
            problem("promtool check metrics %s:\n%s" % (path, (r.stdout + r.stderr).strip()))
        else:
            print("ok: promtool check metrics %s" % path)
    if len(args.metrics) > 1:
        first = read_exposition(args.metrics[0])
        missing = sorted(set(types) - set(first))
        if missing:
            print("note: not in %s (no series yet): %s" % (args.metrics[0], ", ".join(missing)))
    if not types:
        return 1

    files = sorted(
        os.path.join(args.dashboards, f) for f in os.listdir(args.dashboards) if f.endswith(".json")
    )
    if not files:
        problem("%s: no dashboards" % args.dashboards)
    exprs = []
    for path in files:
        exprs += check_dashboard(path, types)
    parsed = []
    for where, e in exprs:
        try:
            s = substitute(e)
        except ValueError as err:
            problem("%s: %s" % (where, err))
            continue
        parsed.append((where, s))
        for n in sorted(metric_names(s)):
            why = exported_name(n, types)
            if why:
                problem("%s: %s" % (where, why))
    print("ok: %d dashboard expressions in %d dashboards checked against the exported metrics"
          % (len(parsed), len(files)))
    if parsed:
        promtool_parse(args.promtool, parsed)
    check_rules(args.alerts, types, args.promtool)

    if args.print_exprs:
        with open(args.print_exprs, "w", encoding="utf-8") as f:
            for where, e in exprs:
                f.write(json.dumps({"where": where, "expr": e}) + "\n")

    if problems:
        print("\n%d problem(s)" % len(problems))
        return 1
    print("all dashboard and rule checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
