#!/usr/bin/env python3
"""The dashboard checker fails on what it must fail on (stdlib unittest).

    python3 tests/observability/test_check_dashboards.py METRICS_FILE
"""

import copy
import json
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import check_dashboards as cd  # noqa: E402

METRICS = None


class MetricNames(unittest.TestCase):
    def test_selectors_functions_keywords(self):
        e = ('histogram_quantile(0.95, sum by (le, endpoint) (rate(rosterd_auth0_request_duration_seconds_bucket'
             '{job="rosterd", endpoint="POST /api/v2/users"}[5m])))')
        self.assertEqual(cd.metric_names(e), {"rosterd_auth0_request_duration_seconds_bucket"})

    def test_binary_ops_offset_vector_matching(self):
        e = ('max by (job) (a_total offset 1h) > on (job) group_left (x) 2 * job:b:max '
             'unless ignoring (instance) c_seconds or vector(0) and time() - d > bool 1e3')
        self.assertEqual(cd.metric_names(e), {"a_total", "job:b:max", "c_seconds", "d"})

    def test_name_matcher(self):
        self.assertEqual(cd.metric_names('{__name__="rosterd_held_runs", job="x"}'), {"rosterd_held_runs"})

    def test_substitute(self):
        self.assertEqual(cd.substitute('rate(x{job="$job", i=~"${instance}"}[$__rate_interval])'),
                         'rate(x{job="rosterd", i=~".*"}[5m])')
        with self.assertRaises(ValueError):
            cd.substitute("x{a=\"$nope\"}")


class Dashboards(unittest.TestCase):
    """Each broken copy of the real dashboard must fail with its message."""

    def setUp(self):
        self.tmp = tempfile.mkdtemp()
        with open(os.path.join(cd.ROOT, "dashboards", "rosterd.json")) as f:
            self.dash = json.load(f)

    def tearDown(self):
        shutil.rmtree(self.tmp)

    def run_checker(self, dash):
        d = os.path.join(self.tmp, "dashboards")
        os.makedirs(d, exist_ok=True)
        with open(os.path.join(d, "x.json"), "w") as f:
            f.write(dash if isinstance(dash, str) else json.dumps(dash))
        r = subprocess.run([sys.executable, os.path.join(HERE, "check_dashboards.py"), METRICS,
                            "--dashboards", d], capture_output=True, text=True)
        return r.returncode, r.stdout + r.stderr

    def first_target(self, dash):
        return next(p for p in cd.walk_panels(dash["panels"]) if p["type"] != "row")["targets"][0]

    def expect_failure(self, dash, message):
        rc, out = self.run_checker(dash)
        self.assertNotEqual(rc, 0, out)
        self.assertIn(message, out)

    def test_real_dashboard_passes(self):
        rc, out = self.run_checker(self.dash)
        self.assertEqual(rc, 0, out)

    def test_unknown_metric(self):
        d = copy.deepcopy(self.dash)
        self.first_target(d)["expr"] = 'sum(rosterd_made_up_total{job="$job"})'
        self.expect_failure(d, "rosterd_made_up_total is not a metric rosterd exports")

    def test_histogram_without_suffix(self):
        d = copy.deepcopy(self.dash)
        self.first_target(d)["expr"] = "rate(podfactory_sync_duration_seconds[5m])"
        self.expect_failure(d, "is a histogram")

    def test_parse_error(self):
        d = copy.deepcopy(self.dash)
        self.first_target(d)["expr"] = "sum(rate(rosterd_runs_total[5m])"
        self.expect_failure(d, "does not parse")

    def test_fixed_datasource(self):
        d = copy.deepcopy(self.dash)
        next(p for p in d["panels"] if p["type"] != "row")["datasource"] = {"type": "prometheus", "uid": "abc"}
        self.expect_failure(d, "datasource must be")

    def test_inputs(self):
        d = copy.deepcopy(self.dash)
        d["__inputs"] = [{"name": "DS_PROMETHEUS", "type": "datasource", "pluginId": "prometheus"}]
        self.expect_failure(d, "__inputs")
        self.expect_failure(json.dumps(self.dash).replace("${datasource}", "${DS_PROMETHEUS}"), "${DS_")

    def test_no_datasource_variable(self):
        d = copy.deepcopy(self.dash)
        d["templating"]["list"] = [v for v in d["templating"]["list"] if v["name"] != "datasource"]
        self.expect_failure(d, "template variable `datasource`")

    def test_overlap_and_grid(self):
        d = copy.deepcopy(self.dash)
        panels = [p for p in d["panels"] if p["type"] != "row"]
        panels[1]["gridPos"] = dict(panels[0]["gridPos"])
        self.expect_failure(d, "overlaps panel")
        panels[1]["gridPos"] = {"x": 20, "y": 0, "w": 8, "h": 4}
        self.expect_failure(d, "outside the 24-column grid")


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    METRICS = os.path.abspath(sys.argv.pop(1))
    unittest.main(verbosity=1)
