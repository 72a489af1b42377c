#!/usr/bin/env bash
# Report benchmark: OKO vs DuckDB on the same generated store (1M and 10M
# leads by default): the manager report for one tenant and one month, and
# the contact-centre hourly rollup for a year. Median of 5 runs after a
# warm-up, in ms, both engines in-process over the same Parquet files.
# benches/duckdb_reports.py says how its SQL matches OKO's; with --rows it
# prints the result rows for a comparison.
#
#   bash benches/reports.sh [SIZES...]
set -euo pipefail
cd "$(dirname "$0")/.."
read -r -a sizes <<< "${*:-1000000 10000000}"
work=${OKO_BENCH_DIR:-bench-data}
mkdir -p "$work"
oko=${OKO_BIN:-target/release/oko}
[ -n "${OKO_BIN:-}" ] || cargo build --release --quiet
# `oko query --repeat` prints "N runs after a warm-up: median X ms, min Y ms, R rows".
median() { sed -n 's/.*median \([0-9.]*\) ms, min [0-9.]* ms, \([0-9]*\) rows*/\1 \2/p' | tail -1; }
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
  echo "| query | OKO median ms | DuckDB median ms | OKO / DuckDB | rows (OKO / DuckDB) |"
  echo "|---|---|---|---|---|"
  # JSON output: the manager report has a list column (achievements).
  read -r m mrows < <($oko --store "$store" query --repeat 5 --format json \
      "SELECT * FROM manager_report('2025-06-01', '2025-07-01') WHERE tenant = 'okna'" 2>&1 >/dev/null | median)
  read -r c crows < <($oko --store "$store" query --repeat 5 --format json \
      "SELECT * FROM cc_report('2025-01-01', '2026-01-01', 'hour') WHERE tenant = 'okna'" 2>&1 >/dev/null | median)
  duck=$(python3 benches/duckdb_reports.py "$PWD/$store" okna 2025-06-01 2025-07-01 2025-01-01 2026-01-01)
  read -r dm dmrows < <(echo "$duck" | awk -F'\t' 'NR==1{print $3, $4}')
  read -r dc dcrows < <(echo "$duck" | awk -F'\t' 'NR==2{print $3, $4}')
  ratio() { python3 -c "print(f'{$1 / $2:.2f}')"; }
  echo "| manager report, one tenant, one month | $m | $dm | $(ratio "$m" "$dm") | $mrows / $dmrows |"
  echo "| contact-centre hourly rollup, one tenant, one year | $c | $dc | $(ratio "$c" "$dc") | $crows / $dcrows |"
done
