#!/usr/bin/env bash
# Single-row INSERT latency over the wire (benches/writes.py): `oko serve`
# on a copy of the 10M store beside PostgreSQL 15 holding the same data
# (the cluster benches/wire.sh builds), both durable: OKO fsyncs its local
# store (src/durable.rs), PostgreSQL runs with fsync and synchronous_commit
# on for this run. Nothing here asserts a time; results in benches/README.md.
#
#   bash benches/writes.sh [LEADS] [INSERTS]      # default 10000000 300
#
# Needs what benches/wire.sh needs, and its PostgreSQL cluster
# (bench-data/pg15-LEADS, made by running benches/wire.sh once).
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-10000000}
inserts=${2:-300}
work=$(cd "${OKO_BENCH_DIR:-bench-data}" && pwd)
store="$work/store-all-$n"
pgdata="$work/pg15-$n"
pgbin=/usr/lib/postgresql/15/bin
pg_port=${PG_PORT:-55432}
oko_port=${OKO_PORT:-55433}
oko=${OKO_BIN:-target/release/oko}
[ -x "$oko" ] || cargo build --release --quiet
[ -d "$store/leads" ] && [ -f "$pgdata/PG_VERSION" ] || {
  echo "run benches/wire.sh $n first (it builds the store and the PostgreSQL cluster)" >&2
  exit 2
}
tmp=$(mktemp -d)
cleanup() {
  kill "${oko_pid:-}" 2> /dev/null || true
  su postgres -c "$pgbin/pg_ctl -D $pgdata stop -m fast" > /dev/null 2>&1 || true
  rm -rf "$tmp"
}
trap cleanup EXIT

# OKO: inserts go to a copy, so the benchmark store stays as generated.
cp -r "$store" "$tmp/store"
echo "admin-pw" | $oko user add admin --role admin --config "$tmp/oko.toml" --write 2> /dev/null
$oko --store "$tmp/store" --config "$tmp/oko.toml" serve --listen "127.0.0.1:$oko_port" > "$tmp/oko.log" 2>&1 &
oko_pid=$!
for _ in $(seq 100); do grep -q "serves" "$tmp/oko.log" && break; sleep 0.2; done
python3 benches/writes.py --label oko --tenant okna --n "$inserts" \
  --dsn "postgresql://admin:admin-pw@127.0.0.1:$oko_port/oko"
kill "$oko_pid"

# PostgreSQL 15, durable for this run.
su postgres -c "$pgbin/pg_ctl -D $pgdata stop -m fast" > /dev/null 2>&1 || true
su postgres -c "$pgbin/pg_ctl -D $pgdata -l $pgdata/log -w start -o '-c fsync=on -c synchronous_commit=on -c full_page_writes=on'" > /dev/null
python3 benches/writes.py --label postgresql --tenant okna --n "$inserts" \
  --dsn "postgresql://postgres@127.0.0.1:$pg_port/postgres"
psql -X -q -h 127.0.0.1 -p "$pg_port" -U postgres -d postgres \
  -c "DELETE FROM leads WHERE lead_id LIKE 'bench-%'; DELETE FROM lead_notes WHERE lead_id LIKE 'bench-%'"
