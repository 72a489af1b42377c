#!/usr/bin/env bash
# pgjdbc (as Metabase and DBeaver use it) against a running `oko serve`:
#   tests/clients/java/run.sh HOST PORT [CHECK...]
# Compiles OkoJdbcCheck.java into a temporary folder and runs it. Needs a JDK
# (javac, java 17+) and pgjdbc: PGJDBC_JAR, default Debian's
# /usr/share/java/postgresql.jar (apt-get install libpostgresql-jdbc-java).
# The JVM runs in Europe/Moscow (OKO_JAVA_TZ) so that the session time zone
# pgjdbc sends is not UTC. Exit status: 0 when every check passed.
set -euo pipefail
if [ $# -lt 2 ]; then
  echo "usage: $0 HOST PORT [CHECK...]" >&2
  exit 2
fi
host=$1 port=$2
shift 2
here=$(cd "$(dirname "$0")" && pwd)
jar=${PGJDBC_JAR:-/usr/share/java/postgresql.jar}
[ -f "$jar" ] || { echo "pgjdbc not found at $jar (apt-get install libpostgresql-jdbc-java)" >&2; exit 2; }
out=$(mktemp -d "${TMPDIR:-/tmp}/oko-jdbc.XXXXXX")
trap 'rm -rf "$out"' EXIT
javac -Xlint:all -encoding UTF-8 -d "$out" -cp "$jar" "$here/OkoJdbcCheck.java"
status=0
java -Duser.timezone="${OKO_JAVA_TZ:-Europe/Moscow}" -Dfile.encoding=UTF-8 \
  -cp "$out:$jar" OkoJdbcCheck "$host" "$port" "$@" || status=$?
exit "$status"
