#!/usr/bin/env bash
# Wire-protocol benchmark: `oko serve` side by side with PostgreSQL 15
# holding the same generated data (benches/wire_pg.sql), both on loopback,
# driven by the same psycopg 3 client (benches/wire_client.py). Results in
# benches/WIRE.md; nothing here asserts a time.
#
#   bash benches/wire.sh [LEADS]          # default 10000000
#
# Measures, one server at a time:
#   1. SELECT 1 round trip, 2000 sequential queries (p50, p99);
#   2. the manager report for one tenant and one month, 20 runs after 2
#      warm-ups (p50, p99);
#   3. 16 clients for 60 s replaying a dashboard-like mix (p50, p99, q/s,
#      server peak memory).
# Needs: postgresql-15 (apt-get install -y postgresql-15), run as root (the
# PostgreSQL cluster runs as the postgres user), python3 with psycopg 3
# (pip install -r tests/requirements.txt), target/release/oko (built when
# missing), the export set bench-data/gen-LEADS (generated when missing) and
# the OKO store bench-data/store-all-LEADS (loaded when missing).
# Env: OKO_BIN, OKO_BENCH_DIR, PG_PORT (55432), OKO_PORT (55433),
# CLIENTS (16), DURATION (60), KEEP=1 leaves both servers running.
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-10000000}
work=${OKO_BENCH_DIR:-bench-data}
work=$(cd "$work" && pwd)
gen="$work/gen-$n"
store="$work/store-all-$n"
pgdata="$work/pg15-$n"
pgbin=/usr/lib/postgresql/15/bin
pg_port=${PG_PORT:-55432}
oko_port=${OKO_PORT:-55433}
clients=${CLIENTS:-16}
duration=${DURATION:-60}
oko=${OKO_BIN:-target/release/oko}
[ -x "$oko" ] || cargo build --release --quiet
pg_dsn="postgresql://postgres@127.0.0.1:$pg_port/postgres"
oko_dsn="postgresql://oko@127.0.0.1:$oko_port/oko"
client="python3 benches/wire_client.py"
out="$work/wire-$n-$(date -u +%Y%m%dT%H%M%SZ).jsonl"

if [ ! -f "$gen/leads.csv" ]; then
  $oko generate --out "$gen" --leads "$n" --tenants 3 --days 730 --start 2024-11-01 > /dev/null
fi
if [ ! -d "$store/leads" ]; then
  $oko --store "$store" load "$gen"/*.csv > /dev/null
fi

# --- PostgreSQL 15: own cluster under bench-data, loopback, trust auth
if [ ! -f "$pgdata/PG_VERSION" ]; then
  install -d -o postgres "$pgdata"
  su postgres -c "$pgbin/initdb -D $pgdata -U postgres --auth=trust -E UTF8 --locale=C.UTF-8" > /dev/null
  cat >> "$pgdata/postgresql.conf" <<EOF
# --- OKO wire benchmark (benches/wire.sh) ---
listen_addresses = '127.0.0.1'
port = $pg_port
unix_socket_directories = '/tmp'
shared_buffers = 2GB
work_mem = 64MB
maintenance_work_mem = 1GB
effective_cache_size = 12GB
max_parallel_workers_per_gather = 2
max_connections = 50
random_page_cost = 1.1
jit = off
# load speed only (a throwaway benchmark cluster; no effect on read queries)
fsync = off
synchronous_commit = off
full_page_writes = off
wal_level = minimal
max_wal_senders = 0
max_wal_size = 8GB
timezone = 'UTC'
EOF
fi
if ! su postgres -c "$pgbin/pg_ctl -D $pgdata status" > /dev/null 2>&1; then
  su postgres -c "$pgbin/pg_ctl -D $pgdata -l $pgdata/log start -w" > /dev/null
fi
psql="psql -X -q -h 127.0.0.1 -p $pg_port -U postgres -d postgres"
if [ "$($psql -At -c "SELECT to_regclass('leads') IS NOT NULL")" != t ]; then
  echo "loading $gen into PostgreSQL..." >&2
  /usr/bin/time -f 'pg load %e s' $psql -v gen="$gen" -f benches/wire_pg.sql
else
  $psql -v reports_only=1 -f benches/wire_pg.sql
fi
pg_pid=$(head -1 "$pgdata/postmaster.pid")

# --- OKO
oko_log=$(mktemp)
$oko --store "$store" serve --listen "127.0.0.1:$oko_port" > "$oko_log" 2>&1 &
oko_pid=$!
cleanup() {
  kill "$oko_pid" 2> /dev/null || true
  [ -n "${KEEP:-}" ] || su postgres -c "$pgbin/pg_ctl -D $pgdata stop -m fast" > /dev/null 2>&1 || true
}
trap cleanup EXIT
for _ in $(seq 100); do grep -q "serves" "$oko_log" && break; sleep 0.2; done
cat "$oko_log" >&2

{
  echo "{\"machine\": \"$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(nproc) cores, $(free -g | awk '/Mem:/{print $2}') GiB\", \"oko\": \"$($oko --version 2>/dev/null || echo oko)\", \"postgres\": \"$($psql -At -c 'SHOW server_version')\", \"leads\": $n}"
} | tee "$out"

load() { echo "{\"loadavg\": \"$(cut -d' ' -f1-3 /proc/loadavg)\", \"at\": \"$1\"}" | tee -a "$out"; }
tag() { python3 -c "import json,sys; d=json.loads(sys.stdin.read()); d['server']='$1'; print(json.dumps(d, ensure_ascii=False))" | tee -a "$out"; }

mgr_oko="SELECT * FROM manager_report('2025-06-01', '2025-07-01') WHERE tenant = 'okna'"
mgr_pg="SELECT * FROM pg_manager_report('okna', '2025-06-01', '2025-07-01')"

# correctness first: the two servers' manager tables, row by row
$client rows --dsn "$oko_dsn" --sql "$mgr_oko ORDER BY manager" > "$work/wire-mgr-oko.txt"
$client rows --dsn "$pg_dsn" --sql "$mgr_pg ORDER BY manager" > "$work/wire-mgr-pg.txt"
if cmp -s "$work/wire-mgr-oko.txt" "$work/wire-mgr-pg.txt"; then
  echo "{\"check\": \"manager report okna 2025-06: $(($(wc -l < "$work/wire-mgr-pg.txt") - 1)) rows identical (6 decimals)\"}" | tee -a "$out"
else
  echo "{\"check\": \"manager report differs: diff $work/wire-mgr-oko.txt $work/wire-mgr-pg.txt\"}" | tee -a "$out"
fi

load before-select1
$client ping --dsn "$oko_dsn" --n 2000 | tag oko
$client ping --dsn "$pg_dsn" --n 2000 | tag pg
load before-manager
$client query --dsn "$oko_dsn" --sql "$mgr_oko" --n 20 --warmup 2 | tag oko
$client query --dsn "$pg_dsn" --sql "$mgr_pg" --n 20 --warmup 2 | tag pg
load before-mix-oko
$client mix --dsn "$oko_dsn" --server oko --clients "$clients" --duration "$duration" --pids "$oko_pid" | tee -a "$out"
load before-mix-pg
$client mix --dsn "$pg_dsn" --server pg --clients "$clients" --duration "$duration" --pids "$pg_pid" | tee -a "$out"
load end
echo "results: $out" >&2
