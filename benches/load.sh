#!/usr/bin/env bash
# Load throughput: `oko load` of a generated leads.csv (1M and 10M leads)
# into a fresh local store, side by side with DuckDB converting the same CSV
# to Parquet. Prints rows/s and peak memory (max RSS) for each.
#
#   bash benches/load.sh [SIZES...]        # default: 1000000 10000000
#
# Needs: python3 with duckdb (pip install -r tests/requirements.txt).
set -euo pipefail
cd "$(dirname "$0")/.."
sizes=("${@:-1000000 10000000}")
read -r -a sizes <<< "${sizes[*]}"
work=${OKO_BENCH_DIR:-bench-data}
mkdir -p "$work"
[ -n "${OKO_BIN:-}" ] || cargo build --release --quiet
oko=${OKO_BIN:-target/release/oko}

measure() { # label rows command...
  local label=$1 rows=$2; shift 2
  local log; log=$(mktemp)
  /usr/bin/time -f '%e %M' -o "$log" "$@" > /dev/null
  read -r secs kb < "$log"
  python3 - "$label" "$rows" "$secs" "$kb" <<'PY'
import sys
label, rows, secs, kb = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4])
print(f"| {label} | {rows:,} | {secs:.2f} s | {rows/secs:,.0f} rows/s | {kb/1024:,.0f} MiB |")
PY
  rm -f "$log"
}

echo "| run | rows | time | throughput | peak memory |"
echo "|---|---|---|---|---|"
for n in "${sizes[@]}"; do
  dir="$work/gen-$n"
  if [ ! -f "$dir/leads.csv" ]; then
    $oko generate --out "$dir" --leads "$n" --tenants 3 --days 730 --start 2024-11-01 > /dev/null 2>&1
  fi
  rows=$(( $(wc -l < "$dir/leads.csv") - 1 ))
  rm -rf "$work/store-$n" "$work/duck-$n.parquet"
  measure "oko load leads ($n)" "$rows" $oko --store "$work/store-$n" load --table leads "$dir/leads.csv"
  measure "duckdb csv→parquet ($n)" "$rows" python3 -c "
import duckdb, sys
duckdb.sql(\"COPY (SELECT * FROM read_csv('$dir/leads.csv')) TO '$work/duck-$n.parquet' (FORMAT parquet)\")
"
done
