#!/usr/bin/env bash
# rosterd's alerting and dashboards, checked with the real promtool/prometheus.
#
#   bash tests/observability/run.sh                     # rules + dashboards
#   bash tests/observability/run.sh target/debug/rosterd  # ... + end-to-end
#   bash tests/observability/run.sh --static FILE       # ... + e2e on a file
#
# The dashboards are checked against METRICS, a Prometheus text exposition of
# rosterd's metrics; by default the one `cargo test --test
# observability_metrics` writes (every family, from the real registry).
set -euo pipefail
cd "$(dirname "$0")/../.."

fail() { echo "observability: FAIL: $*" >&2; exit 1; }
command -v promtool >/dev/null || fail "promtool not found: apt-get install -y prometheus"

echo "== promtool $(promtool --version 2>&1 | head -n1 | awk '{print $3}')"

echo "== promtool check rules"
promtool check rules alerts/*.rules.yml || fail "alerts/*.rules.yml do not pass promtool check rules"

echo "== promtool test rules"
promtool test rules alerts/tests/*.test.yml || fail "alert unit tests (alerts/tests) failed"

echo "== dashboards"
METRICS="${METRICS:-}"
if [ -z "$METRICS" ]; then
  METRICS="${CARGO_TARGET_DIR:-target}/tmp/observability/metrics-all-families.txt"
fi
[ -s "$METRICS" ] || fail "no metrics exposition at $METRICS: run cargo test --test it observability_metrics:: first, or set METRICS=FILE"
echo "(metrics from $METRICS)"
python3 tests/observability/check_dashboards.py "$METRICS" || fail "dashboard checks failed"
python3 tests/observability/test_check_dashboards.py "$METRICS" 2>&1 | tail -n 3
[ "${PIPESTATUS[0]}" -eq 0 ] || fail "the dashboard checker's own tests failed"

if [ $# -gt 0 ]; then
  echo "== end-to-end (prometheus scraping rosterd)"
  METRICS_ALL="$METRICS" bash tests/observability/e2e.sh "$@" || fail "end-to-end check failed"
fi
echo "observability: all checks passed"
