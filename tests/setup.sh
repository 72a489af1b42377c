#!/usr/bin/env bash
# Installs what the tests drive that is not Rust: Python clients and
# servers (moto_server, duckdb, psycopg, SQLAlchemy, pandas, asyncpg) from
# PyPI; psql, PostgreSQL 15, a JDK with pgjdbc and openssl from Debian.
# Tests never install anything themselves: without this, a test whose tool
# is missing says it skips (and fails under CI=true).
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m pip install --quiet --disable-pip-version-check -r tests/requirements.txt
need=()
command -v psql > /dev/null || need+=(postgresql-client)
command -v openssl > /dev/null || need+=(openssl)
command -v javac > /dev/null || need+=(default-jdk-headless)
[ -f /usr/share/java/postgresql.jar ] || need+=(libpostgresql-jdbc-java)
# PostgreSQL 15 for the differential tests (tests/it/postgres.rs).
[ -x /usr/lib/postgresql/15/bin/postgres ] || need+=(postgresql-15)
if [ ${#need[@]} -gt 0 ]; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq && apt-get install -y -qq "${need[@]}" > /dev/null
fi
