#!/usr/bin/env bash
# The dashboard mix (issue 14; benches/README.md, section E): a one-year
# generated store served by `oko serve`, measured by benches/dashboard_mix.py:
#   1. CLIENTS clients for DURATION s replaying random panel queries of
#      dashboards/oko.json for random tenants and months, without the result
#      cache and then with it (throughput, p50/p95/p99 overall and per panel,
#      errors, server RSS every second);
#   2. one viewer loading the whole dashboard (6 queries at a time), cold and
#      warm, REPEAT tenant-months;
#   3. the manager table for one tenant-month and the contact-centre hourly
#      year, uncached, beside DuckDB on the same Parquet (and PostgreSQL 15
#      when PG_DSN names a database benches/wire_pg.sql loaded).
#
#   bash benches/dashboard_mix.sh [LEADS]          # default 10000000
#
# Env: OKO_BIN (target/release/oko, built when missing), OKO_BENCH_DIR
# (bench-data), OKO_PORT (55434), CLIENTS (16), DURATION (60), REPEAT (5),
# PG_DSN (optional libpq string). The export set bench-data/gen-year-LEADS and
# the store bench-data/store-year-LEADS are made when missing. The output is
# also written to bench-data/dashboard-mix-LEADS-<time>.txt.
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-10000000}
work=${OKO_BENCH_DIR:-bench-data}
mkdir -p "$work"
oko=${OKO_BIN:-target/release/oko}
[ -x "$oko" ] || cargo build --release --quiet
port=${OKO_PORT:-55434}
clients=${CLIENTS:-16}
duration=${DURATION:-60}
repeat=${REPEAT:-5}
gen="$work/gen-year-$n"
store="$work/store-year-$n"
out="$work/dashboard-mix-$n-$(date -u +%Y%m%dT%H%M%SZ).txt"

if [ ! -f "$gen/leads.csv" ]; then
  $oko generate --out "$gen" --leads "$n" --tenants 3 --days 365 --start 2025-01-01 > /dev/null
fi
if [ ! -d "$store/leads" ]; then
  $oko --store "$store" load "$gen"/*.csv > /dev/null
fi

log=$(mktemp)
$oko --store "$store" serve --listen "127.0.0.1:$port" > "$log" 2>&1 &
pid=$!
trap 'kill "$pid" 2> /dev/null || true; rm -f "$log"' EXIT
for _ in $(seq 300); do grep -q "serves" "$log" && break; sleep 0.2; done
grep -q "serves" "$log" || { cat "$log" >&2; exit 1; }
# The report parts are built in the background after the server starts;
# until they are, reports are computed from the facts. Measure the server
# as it runs: with its parts kept (the time to build them is printed).
started=$(date +%s.%N)
for _ in $(seq 1200); do
  fresh=$(psql -X -A -t -h 127.0.0.1 -p "$port" -U oko -d oko \
    -c "SELECT fresh FROM oko_report_parts" 2> /dev/null || true)
  [ "$fresh" = "t" ] && break
  sleep 0.5
done
parts_built=$(echo "$(date +%s.%N) - $started" | bc)

mix=(python3 benches/dashboard_mix.py --dsn "host=127.0.0.1 port=$port user=oko dbname=oko" --pid "$pid")
pg=()
[ -z "${PG_DSN:-}" ] || pg=(--pg "$PG_DSN")
{
  echo "# $($oko --version 2>/dev/null || echo oko) ($oko), $n leads, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(nproc) cores"
  echo "# load average before: $(cut -d' ' -f1-3 /proc/loadavg); builds running: $(pgrep -c -x 'rustc|cargo' || true)"
  echo "# report parts built ${parts_built} s after the server started serving; RSS then $(($(awk '/VmRSS/ {print $2}' /proc/$pid/status) / 1024)) MiB"
  psql -X -h 127.0.0.1 -p "$port" -U oko -d oko -c "SELECT * FROM oko_report_parts"
  "${mix[@]}" --mix "$clients" --seconds "$duration" --compare
  "${mix[@]}" --dashboard --repeat "$repeat"
  "${mix[@]}" --cold-report --repeat "$repeat" --store "$store" "${pg[@]}"
  echo "# load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
} 2>&1 | tee "$out"
echo "results: $out" >&2
