"""psycopg 3 against `oko serve --demo`: simple protocol (no parameters,
ClientCursor), extended protocol (server-side binding, the default),
prepared statements (prepare_threshold=0), binary results, server-side
cursors, `$1::timestamptz` parameters, errors with SQLSTATE.

    python3 psycopg3_client.py --port 5433 [CHECK...]
"""

import datetime as dt
import sys
from decimal import Decimal

import psycopg
import psycopg.errors
from psycopg.pq import TransactionStatus
from psycopg.types import TypeInfo

from okotest import DEMO_LEADS, DEMO_TENANT, Suite, expect, expect_eq, expect_same_rows

suite = Suite("psycopg3")
UTC = dt.timezone.utc
INT8, BOOL, TEXT, FLOAT8, DATE, TIMESTAMP, TIMESTAMPTZ, NUMERIC, TEXT_ARRAY = (
    20, 16, 25, 701, 1082, 1114, 1184, 1700, 1009)

REPORT = ("SELECT * FROM manager_report_month WHERE tenant = 'okna' AND scope = 'all' "
          "ORDER BY period_start, manager")
LEADS5 = "SELECT tenant, lead_id, tags, created_at, answered_at FROM leads ORDER BY lead_id LIMIT 5"
SCALARS = ("SELECT CAST('2026-07-01' AS DATE) AS d, CAST(12.34 AS DECIMAL(10, 2)) AS n, "
           "CAST(0.5 AS DOUBLE PRECISION) AS f, true AS t, 'текст' AS s, "
           "CAST(NULL AS TEXT) AS null_text, CAST(NULL AS BIGINT) AS null_int, "
           "CAST(NULL AS BOOLEAN) AS null_bool, CAST(NULL AS DOUBLE PRECISION) AS null_float, "
           "CAST(NULL AS DECIMAL(10, 2)) AS null_numeric, CAST(NULL AS DATE) AS null_date")
SCALARS_WANT = (dt.date(2026, 7, 1), Decimal("12.34"), 0.5, True, "текст",
                None, None, None, None, None, None)
FLOATS = ("SELECT CAST(0.1 AS DOUBLE PRECISION) + CAST(0.2 AS DOUBLE PRECISION) AS a, "
          "CAST(1 AS DOUBLE PRECISION) / 3 AS b, CAST(23.482445997050142 AS DOUBLE PRECISION) AS c")
FLOATS_WANT = (0.1 + 0.2, 1 / 3, 23.482445997050142)
NULLS = ("SELECT answered_at, tags FROM leads WHERE answered_at IS NULL AND tags IS NULL LIMIT 1")


def connect(**kw):
    return psycopg.connect(host=suite.host, port=suite.port, user="oko", dbname="oko",
                           connect_timeout=10, **kw)


def oids(cur):
    return [c.type_code for c in cur.description]


def tenant_counts(conn):
    rows = conn.execute("SELECT tenant, count(*) FROM leads GROUP BY tenant").fetchall()
    return dict(rows)


@suite.check
def simple_protocol_queries():
    with connect(autocommit=True) as conn:
        # No parameters: psycopg sends a simple Query message.
        expect_eq(conn.execute("SELECT count(*) FROM leads").fetchone(), (DEMO_LEADS,),
                  "count(*) FROM leads")
        rows = conn.execute(REPORT).fetchall()
        expect(len(rows) > 0, "manager_report_month rows")
        expect(len(conn.execute("SELECT * FROM cc_daily").fetchall()) > 0, "cc_daily rows")
        expect(len(conn.execute("SELECT * FROM manager_report('2026-07-01', '2026-08-01')")
                   .fetchall()) > 0, "manager_report(July) rows")
        # ClientCursor merges parameters client-side: still the simple protocol.
        with psycopg.ClientCursor(conn) as cur:
            cur.execute("SELECT count(*) FROM leads WHERE tenant = %s AND created_at >= %s",
                        (DEMO_TENANT, dt.datetime(2026, 7, 1, tzinfo=UTC)))
            n = cur.fetchone()[0]
            expect(0 < n < tenant_counts(conn)[DEMO_TENANT], f"ClientCursor parameters: {n}")


@suite.check
def extended_protocol_parameters():
    with connect(autocommit=True) as conn:
        counts = tenant_counts(conn)
        expect_eq(sum(counts.values()), DEMO_LEADS, "per-tenant counts add up")
        for tenant, n in counts.items():
            got = conn.execute("SELECT count(*) FROM leads WHERE tenant = %s", (tenant,)).fetchone()
            expect_eq(got, (n,), f"count for {tenant} with a bound parameter")
        cur = conn.execute("SELECT %s::text, %s::bigint, %s::double precision, %s::boolean",
                           ("Нет менеджера", 42, 0.25, True))
        expect_eq(cur.fetchone(), ("Нет менеджера", 42, 0.25, True), "echoed typed parameters")
        cur = conn.execute("SELECT manager, leads FROM manager_report_month "
                           "WHERE tenant = %s AND scope = %s ORDER BY manager", ("okna", "all"))
        expect(len(cur.fetchall()) > 0, "report with parameters")


@suite.check
def prepared_statements():
    with connect(autocommit=True, prepare_threshold=0) as conn:
        counts = tenant_counts(conn)
        sql = "SELECT count(*) FROM leads WHERE tenant = %s"
        for _ in range(2):  # the second round reuses the named statement
            for tenant, n in counts.items():
                expect_eq(conn.execute(sql, (tenant,)).fetchone(), (n,),
                          f"prepared count for {tenant}")
        expect_eq(conn.execute("SELECT count(*) FROM leads", prepare=True).fetchone(),
                  (DEMO_LEADS,), "prepared statement without parameters")
        with conn.cursor() as cur:
            for _ in range(2):
                cur.execute(REPORT, prepare=True)
                expect(len(cur.fetchall()) > 0, "prepared report")


@suite.check
def binary_results():
    with connect(autocommit=True) as conn:
        text_rows = conn.execute(LEADS5).fetchall()
        with conn.cursor(binary=True) as cur:
            cur.execute(LEADS5)
            expect_eq(oids(cur), [TEXT, TEXT, TEXT_ARRAY, TIMESTAMPTZ, TIMESTAMPTZ],
                      "OIDs of tenant, lead_id, tags, created_at, answered_at")
            rows = cur.fetchall()
            expect_eq(rows, text_rows, "binary rows equal text rows")
            for r in rows:
                expect(r[3].utcoffset() is not None, f"binary timestamptz is aware: {r[3]!r}")
            cur.execute(SCALARS)
            expect_eq(oids(cur)[:5], [DATE, NUMERIC, FLOAT8, BOOL, TEXT],
                      "OIDs of date, numeric, float8, bool, text")
            expect_eq(cur.fetchone(), SCALARS_WANT, "binary scalars and NULLs")
            cur.execute(NULLS)
            expect_eq(cur.fetchone(), (None, None), "binary NULL timestamptz and text[]")
            cur.execute(REPORT)
            expect_same_rows(cur.fetchall(), conn.execute(REPORT).fetchall(),
                             "binary report = text report")
            cur.execute(FLOATS)
            expect_eq(cur.fetchone(), FLOATS_WANT, "binary float8 is exact")


@suite.check
def text_results_types():
    with connect(autocommit=True) as conn:
        cur = conn.execute(SCALARS)
        expect_eq(cur.fetchone(), SCALARS_WANT, "text scalars and NULLs")
        cur = conn.execute(NULLS)
        expect_eq(cur.fetchone(), (None, None), "NULL timestamptz and text[]")
        cur = conn.execute(FLOATS)
        expect_eq(cur.fetchone(), FLOATS_WANT, "text float8 is exact (shortest round trip)")
        cur = conn.execute("SELECT tags FROM leads WHERE array_length(tags, 1) > 1 LIMIT 1")
        tags = cur.fetchone()[0]
        expect(isinstance(tags, list) and len(tags) > 1 and all(isinstance(t, str) for t in tags),
               f"text[] -> list of str: {tags!r}")


@suite.check
def server_side_cursor():
    with connect() as conn:
        want = conn.execute(REPORT)
        want_names = [c.name for c in want.description]
        want = want.fetchall()
        conn.rollback()
        # DECLARE "oko_report" CURSOR FOR ...; Describe portal; FETCH FORWARD n
        with conn.cursor(name="oko_report") as cur:
            cur.itersize = 7
            cur.execute(REPORT)
            expect(cur.description is not None, "server cursor has a description")
            expect_eq([c.name for c in cur.description], want_names,
                      "Describe of the cursor's portal lists the report's columns")
            expect_same_rows(list(cur), want, "rows through the server cursor")


@suite.check
def server_side_cursor_with_parameter():
    with connect() as conn:
        want = tenant_counts(conn)[DEMO_TENANT]
        # DECLARE ... FOR ... WHERE tenant = $1, the parameter bound by Bind.
        with conn.cursor(name="oko_leads") as cur:
            cur.execute("SELECT lead_id, created_at, tags FROM leads WHERE tenant = %s "
                        "ORDER BY lead_id", (DEMO_TENANT,))
            n = 0
            while batch := cur.fetchmany(500):
                n += len(batch)
            expect_eq(n, want, "rows through a server cursor with a parameter")


@suite.check
def server_side_cursor_binary():
    with connect() as conn:
        want = conn.execute(LEADS5).fetchall()
        conn.rollback()
        # FETCH FORWARD n FROM "oko_bin" sent with binary result format codes.
        with conn.cursor(name="oko_bin", binary=True) as cur:
            cur.execute(LEADS5)
            expect_eq(cur.fetchall(), want, "binary rows through a server cursor")


@suite.check
def timestamptz_parameters():
    frm, to = dt.datetime(2026, 7, 1, tzinfo=UTC), dt.datetime(2026, 8, 1, tzinfo=UTC)
    with connect(autocommit=True) as conn:
        want = conn.execute("SELECT count(*) FROM leads WHERE tenant = 'okna' AND created_at >= "
                            "'2026-07-01T00:00:00Z' AND created_at < '2026-08-01T00:00:00Z'"
                            ).fetchone()[0]
        expect(want > 0, "July has leads")
        got = conn.execute("SELECT count(*) FROM leads WHERE tenant = %s "
                           "AND created_at >= %s::timestamptz AND created_at < %s::timestamptz",
                           (DEMO_TENANT, frm, to)).fetchone()[0]
        expect_eq(got, want, "July with %s::timestamptz datetime parameters")
        # Literally $1::timestamptz: the raw cursor sends the query as written.
        with psycopg.RawCursor(conn) as cur:
            cur.execute("SELECT count(*) FROM leads WHERE tenant = $1 "
                        "AND created_at >= $2::timestamptz AND created_at < $3::timestamptz",
                        (DEMO_TENANT, frm, to))
            expect_eq(cur.fetchone()[0], want, "July with $1::timestamptz")
            cur.execute("SELECT $1::timestamptz", (dt.datetime(2026, 7, 1, 12, 30, tzinfo=UTC),))
            back = cur.fetchone()[0]
            expect_eq(back, dt.datetime(2026, 7, 1, 12, 30, tzinfo=UTC), "a datetime round trip")
        # The report table function with date arguments as literals.
        expect(len(conn.execute("SELECT * FROM manager_report('2026-07-01', '2026-08-01')")
                   .fetchall()) > 0, "manager_report(July)")


@suite.check
def nested_transaction_savepoint():
    # conn.transaction() inside a transaction is SAVEPOINT / RELEASE
    # SAVEPOINT; the SQLAlchemy psycopg dialect does this on first connect.
    with connect() as conn:
        with conn.transaction():
            with conn.transaction():
                expect_eq(conn.execute("SELECT 1").fetchone(), (1,), "inside a savepoint")
            try:
                with conn.transaction():
                    conn.execute("SELECT * FROM no_such_table")
            except psycopg.Error:
                pass  # ROLLBACK TO SAVEPOINT keeps the outer transaction
            expect_eq(conn.execute("SELECT count(*) FROM leads").fetchone(), (DEMO_LEADS,),
                      "the outer transaction goes on after ROLLBACK TO SAVEPOINT")


@suite.check
def type_info_fetch():
    # psycopg's type lookup (pg_type + to_regtype); the SQLAlchemy psycopg
    # dialect runs it for hstore on first connect.
    with connect(autocommit=True) as conn:
        info = TypeInfo.fetch(conn, "text")
        expect(info is not None, "TypeInfo.fetch(conn, 'text') finds text")
        expect_eq((info.oid, info.array_oid), (TEXT, TEXT_ARRAY), "text oid and array oid")
        expect_eq(TypeInfo.fetch(conn, "hstore"), None, "no hstore type")


@suite.check
def error_missing_table_then_usable():
    with connect() as conn:
        try:
            conn.execute("SELECT * FROM no_such_table")
        except psycopg.Error as e:
            expect("no_such_table" in str(e), f"the error names the table: {e}")
        else:
            raise AssertionError("SELECT from a missing table did not raise")
        conn.rollback()
        expect_eq(conn.execute("SELECT count(*) FROM leads").fetchone(), (DEMO_LEADS,),
                  "usable after rollback")
        try:  # the extended protocol
            conn.execute("SELECT * FROM no_such_table WHERE x = %s", (1,))
        except psycopg.Error:
            pass
        conn.rollback()
        expect_eq(conn.execute("SELECT count(*) FROM leads WHERE tenant = %s", ("okna",))
                  .fetchone()[0] > 0, True, "usable after an extended-protocol error")


@suite.check
def error_sqlstate_undefined_table():
    with connect(autocommit=True) as conn:
        for params in (None, (1,)):  # simple, then extended protocol
            sql = "SELECT * FROM no_such_table" + (" WHERE x = %s" if params else "")
            try:
                conn.execute(sql, params)
            except psycopg.Error as e:
                expect_eq(e.sqlstate, "42P01", f"SQLSTATE of a missing table ({sql})")
                expect(isinstance(e, psycopg.errors.UndefinedTable),
                       f"psycopg.errors.UndefinedTable, got {type(e).__name__}")
            else:
                raise AssertionError("no error")


@suite.check
def error_aborts_transaction():
    with connect() as conn:
        conn.execute("SELECT 1")
        expect_eq(conn.info.transaction_status, TransactionStatus.INTRANS,
                  "after BEGIN; SELECT 1 the status is INTRANS (ReadyForQuery 'T')")
        try:
            conn.execute("SELECT * FROM no_such_table")
        except psycopg.Error:
            pass
        expect_eq(conn.info.transaction_status, TransactionStatus.INERROR,
                  "after an error inside BEGIN the status is INERROR (ReadyForQuery 'E')")
        conn.rollback()
        expect_eq(conn.info.transaction_status, TransactionStatus.IDLE, "IDLE after ROLLBACK")


if __name__ == "__main__":
    sys.exit(suite.run())
