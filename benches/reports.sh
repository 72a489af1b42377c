#!/usr/bin/env bash
# Report benchmark: OKO vs DuckDB on the same generated store (1M and 10M
# leads by default): the manager report for one tenant and one month, and
# the contact-centre hourly rollup for a year. Median of 5 runs after a
# warm-up, in ms, both engines in-process over the same Parquet files.
#
#   bash benches/reports.sh [SIZES...]
set -euo pipefail
cd "$(dirname "$0")/.."
read -r -a sizes <<< "${*:-1000000 10000000}"
work=${OKO_BENCH_DIR:-bench-data}
mkdir -p "$work"
oko=${OKO_BIN:-target/release/oko}
[ -n "${OKO_BIN:-}" ] || cargo build --release --quiet
median() { sed -n 's/.*median \([0-9.]*\) ms.*rows*/\1/p' | tail -1; }
for n in "${sizes[@]}"; do
  dir="$work/gen-$n"
  store="$work/store-all-$n"
  if [ ! -f "$dir/leads.csv" ]; then
    $oko generate --out "$dir" --leads "$n" --tenants 3 --days 730 --start 2024-11-01 > /dev/null 2>&1
  fi
  if [ ! -d "$store/leads" ]; then
    $oko --store "$store" load "$dir"/*.csv > /dev/null
  fi
  echo "## $n leads"
  echo "| query | OKO median ms | DuckDB median ms |"
  echo "|---|---|---|"
  m=$($oko --store "$store" query --repeat 5 --format csv \
      "SELECT * FROM manager_report('2025-06-01', '2025-07-01') WHERE tenant = 'okna'" 2>&1 >/dev/null | median)
  c=$($oko --store "$store" query --repeat 5 --format csv \
      "SELECT * FROM cc_report('2025-01-01', '2026-01-01', 'hour') WHERE tenant = 'okna'" 2>&1 >/dev/null | median)
  duck=$(python3 benches/duckdb_reports.py "$PWD/$store" okna 2025-06-01 2025-07-01 2025-01-01 2026-01-01)
  dm=$(echo "$duck" | awk -F'\t' 'NR==1{print $3}')
  dc=$(echo "$duck" | awk -F'\t' 'NR==2{print $3}')
  echo "| manager report, one tenant, one month | $m | $dm |"
  echo "| contact-centre hourly rollup, one tenant, one year | $c | $dc |"
done
