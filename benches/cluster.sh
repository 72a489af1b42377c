#!/usr/bin/env bash
# Scale-out (issue 15; benches/README.md, section F): cross-tenant yearly
# statements on the embedded engine and on a local Ballista cluster of one
# and of two executors (`oko scheduler`, `oko executor` on loopback).
#
#   bash benches/cluster.sh [LEADS]          # default 10000000
#
# Env: OKO_BIN (target/release/oko, built when missing), OKO_BENCH_DIR
# (bench-data), REPEAT (5), SLOTS (2: tasks per executor). The store is
# bench-data/store-year-LEADS (made as benches/dashboard_mix.sh makes it).
# Every statement runs once to warm up and REPEAT times measured; the
# median is printed. The output is also written to
# bench-data/cluster-LEADS-<time>.txt.
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-10000000}
work=${OKO_BENCH_DIR:-bench-data}
mkdir -p "$work"
oko=${OKO_BIN:-target/release/oko}
[ -x "$oko" ] || cargo build --release --quiet
repeat=${REPEAT:-5}
slots=${SLOTS:-2}
gen="$work/gen-year-$n"
store="$work/store-year-$n"
out="$work/cluster-$n-$(date -u +%Y%m%dT%H%M%SZ).txt"

if [ ! -f "$gen/leads.csv" ]; then
  $oko generate --out "$gen" --leads "$n" --tenants 3 --days 365 --start 2025-01-01 > /dev/null
fi
if [ ! -d "$store/leads" ]; then
  $oko --store "$store" load "$gen"/*.csv > /dev/null
fi

tmp=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2> /dev/null || true; done; rm -rf "$tmp"; }
trap cleanup EXIT
cat > "$tmp/oko.toml" <<TOML
[cluster]
min_scan_mb = 0
executor_slots = $slots
TOML

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_port() { for _ in $(seq 300); do (echo > "/dev/tcp/127.0.0.1/$1") 2> /dev/null && return; sleep 0.2; done; echo "nothing on $1" >&2; exit 1; }

queries=(
  "yearly leads by tenant, month, channel|SELECT tenant, date_trunc('month', created_at) AS month, channel, count(*) AS leads, count(answered_at) AS answered, avg(CAST(answered_at AS BIGINT) - CAST(created_at AS BIGINT)) / 1e6 AS asa_s FROM leads GROUP BY 1, 2, 3"
  "yearly rated leads per manager (join)|SELECT l.tenant, l.manager_id, count(*) AS rated, avg(r.score) AS avg_score FROM leads l JOIN ratings r ON r.tenant = l.tenant AND r.lead_id = l.lead_id GROUP BY 1, 2"
  "manager report, every tenant, a year|SELECT count(*), sum(leads) FROM manager_report('2025-01-01', '2026-01-01')"
)

measure() { # label, extra args...
  local label=$1; shift
  for q in "${queries[@]}"; do
    name=${q%%|*}; sql=${q#*|}
    res=$(OKO_CONFIG="$tmp/oko.toml" $oko --store "$store" query --format csv --repeat "$repeat" "$@" "$sql" 2>&1 > /dev/null | grep -v "^ran " | tail -1)
    printf '%-22s %-40s %s\n' "$label" "$name" "$res"
  done
}

{
  echo "# $(date -u +%FT%TZ) $(nproc) cores, $n leads, REPEAT $repeat, $slots slots per executor"
  measure "embedded"
  sched=$(free_port)
  $oko --config "$tmp/oko.toml" --store "$store" scheduler --listen "127.0.0.1:$sched" > "$tmp/sched.log" 2>&1 &
  pids+=($!)
  wait_port "$sched"
  for i in 1 2; do
    p=$(free_port)
    $oko --config "$tmp/oko.toml" --store "$store" executor --scheduler "df://127.0.0.1:$sched" \
      --listen "127.0.0.1:$p" --grpc-port "$(free_port)" --work-dir "$tmp/work$i" > "$tmp/exec$i.log" 2>&1 &
    pids+=($!)
    wait_port "$p"
    sleep 2
    measure "cluster, $i executor(s)" --cluster "df://127.0.0.1:$sched"
  done
  echo "# load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
} | tee "$out"
echo "results: $out"
