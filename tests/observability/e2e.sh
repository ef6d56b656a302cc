#!/usr/bin/env bash
# End-to-end: a real Prometheus scrapes a running rosterd, loads alerts/, and
# answers every dashboard query.
#
#   tests/observability/e2e.sh path/to/rosterd     # rosterd demo --listen ...
#   tests/observability/e2e.sh --static FILE       # serve FILE as /metrics
#                                                  # (checks the Prometheus half)
#
# METRICS_ALL=FILE (optional): an exposition with every family (written by
# tests/it/observability_metrics.rs); the static check of the live scrape then
# also accepts families that have no series yet on the demo (failures,
# retries, notifications). Without it those families must be in the scrape.
#
# Needs prometheus and promtool (Debian package `prometheus`), python3, curl.
# Starts everything on free loopback ports in a temporary directory and stops
# it all on exit. Bounded: about 90 s at most.
set -euo pipefail

HERE="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
LIMIT=90
START=$SECONDS

die() { echo "e2e: FAIL: $*" >&2; exit 1; }
left() { echo $((LIMIT - (SECONDS - START))); }

[ $# -ge 1 ] || die "usage: $0 ROSTERD_BINARY | --static METRICS_FILE"
for tool in prometheus promtool python3 curl; do
  command -v "$tool" >/dev/null || die "$tool not found (apt-get install prometheus python3 curl)"
done

TMP="$(mktemp -d "${TMPDIR:-/tmp}/rosterd-e2e.XXXXXX")"
PIDS=()
cleanup() {
  local rc=$?
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
  if [ "$rc" -ne 0 ]; then
    for log in "$TMP"/*.log; do
      [ -s "$log" ] && { echo "---- $(basename "$log") (last 20 lines)"; tail -n 20 "$log"; }
    done
  fi
  rm -rf "$TMP"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

# wait_http URL SECONDS PID: until URL answers 2xx, or PID dies, or time is up.
wait_http() {
  local url=$1 secs=$2 pid=$3 t=$SECONDS
  until curl -fsS -o /dev/null --max-time 2 "$url" 2>/dev/null; do
    kill -0 "$pid" 2>/dev/null || die "process $pid exited before $url answered"
    [ $((SECONDS - t)) -lt "$secs" ] || die "$url did not answer within ${secs}s"
    sleep 0.5
  done
}

# ---- rosterd (or a static /metrics) -----------------------------------------
RPORT="$(free_port)"
if [ "$1" = "--static" ]; then
  [ -s "${2:-}" ] || die "--static needs a metrics file"
  mkdir -p "$TMP/static"
  cp "$2" "$TMP/static/metrics"
  (cd "$TMP/static" && exec python3 -m http.server --bind 127.0.0.1 "$RPORT") >"$TMP/static.log" 2>&1 &
  PIDS+=($!)
  echo "e2e: serving $2 as http://127.0.0.1:$RPORT/metrics"
  HEALTHY=
else
  BIN="$1"
  [ -x "$BIN" ] || die "$BIN is not an executable"
  "$BIN" demo --listen "127.0.0.1:$RPORT" --interval-secs 5 --dir "$TMP/demo" >"$TMP/rosterd.log" 2>&1 &
  PIDS+=($!)
  echo "e2e: rosterd demo listening on 127.0.0.1:$RPORT"
  HEALTHY=1
fi
RPID=${PIDS[-1]}
wait_http "http://127.0.0.1:$RPORT/metrics" 45 "$RPID"
if [ "$1" != "--static" ]; then
  for path in /healthz /readyz; do
    curl -fsS -o /dev/null --max-time 2 "http://127.0.0.1:$RPORT$path" || die "GET $path failed"
  done
  # The demo's first runs may still be going: wait until one has finished.
  t=$SECONDS
  until curl -fsS --max-time 2 "http://127.0.0.1:$RPORT/metrics" | grep -q '^rosterd_runs_total{'; do
    [ $((SECONDS - t)) -lt 30 ] || die "no rosterd_runs_total after 30 s: no run finished"
    sleep 1
  done
fi
curl -fsS --max-time 5 "http://127.0.0.1:$RPORT/metrics" >"$TMP/scrape.txt"
echo "e2e: scraped $(grep -c '^# TYPE' "$TMP/scrape.txt") metric families ($((SECONDS - START)) s)"

# ---- static checks on the real scrape ---------------------------------------
python3 "$HERE/check_dashboards.py" "$TMP/scrape.txt" ${METRICS_ALL:+"$METRICS_ALL"} \
  --print-exprs "$TMP/exprs.jsonl" \
  || die "check_dashboards.py failed on the scrape"

# ---- Prometheus ---------------------------------------------------------------
PPORT="$(free_port)"
{
  echo "global:"
  echo "  scrape_interval: 1s"
  echo "  evaluation_interval: 1s"
  echo "rule_files:"
  for f in "$ROOT"/alerts/*.rules.yml; do echo "  - $f"; done
  echo "scrape_configs:"
  echo "  - job_name: rosterd"
  echo "    static_configs:"
  echo "      - targets: ['127.0.0.1:$RPORT']"
} >"$TMP/prometheus.yml"
promtool check config "$TMP/prometheus.yml" >/dev/null || die "promtool check config failed"
prometheus --config.file="$TMP/prometheus.yml" --storage.tsdb.path="$TMP/tsdb" \
  --web.listen-address="127.0.0.1:$PPORT" --log.level=warn >"$TMP/prometheus.log" 2>&1 &
PIDS+=($!)
wait_http "http://127.0.0.1:$PPORT/-/ready" 30 "${PIDS[-1]}"
echo "e2e: prometheus ready on 127.0.0.1:$PPORT ($((SECONDS - START)) s)"

# A few scrapes and rule evaluations before asking.
sleep 5
budget=$(( $(left) - 5 ))
[ "$budget" -gt 10 ] || die "out of time before querying Prometheus"
python3 "$HERE/e2e_check.py" --prometheus "http://127.0.0.1:$PPORT" \
  --exprs "$TMP/exprs.jsonl" --timeout "$budget" ${HEALTHY:+--healthy} \
  || die "Prometheus end-to-end checks failed"
kill -0 "$RPID" 2>/dev/null || die "rosterd exited during the test"
echo "e2e: passed in $((SECONDS - START)) s"
