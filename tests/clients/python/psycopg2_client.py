"""psycopg2 against `oko serve --demo`: simple queries, client-side %s
parameters, a named (server-side) cursor, errors with SQLSTATE, and the
types of the reports.

    python3 psycopg2_client.py --port 5433 [CHECK...]
"""

import datetime as dt
import sys
from decimal import Decimal

import psycopg2
import psycopg2.errors
import psycopg2.extensions as ext

from okotest import DEMO_LEADS, DEMO_TENANT, Suite, expect, expect_eq, expect_same_rows

suite = Suite("psycopg2")
UTC = dt.timezone.utc

# PostgreSQL type OIDs (pg_type.oid) the driver decodes by.
INT8, BOOL, TEXT, FLOAT8, DATE, TIMESTAMP, TIMESTAMPTZ, NUMERIC, TEXT_ARRAY = (
    20, 16, 25, 701, 1082, 1114, 1184, 1700, 1009)

REPORT = ("SELECT * FROM manager_report_month WHERE tenant = 'okna' AND scope = 'all' "
          "ORDER BY period_start, manager")


def connect(**kw):
    return psycopg2.connect(host=suite.host, port=suite.port, user="oko", dbname="oko",
                            connect_timeout=10, **kw)


def one(conn, sql, params=None):
    with conn.cursor() as cur:
        cur.execute(sql, params)
        return cur.fetchone()


def oids(cur):
    return [d.type_code for d in cur.description]


@suite.check
def connect_and_select_one():
    with connect() as conn:
        expect(conn.server_version >= 90000, f"server_version {conn.server_version}")
        expect_eq(one(conn, "SELECT 1"), (1,), "SELECT 1")
    conn.close()


@suite.check
def count_leads():
    conn = connect()
    with conn.cursor() as cur:
        cur.execute("SELECT count(*) FROM leads")
        expect_eq(cur.fetchone(), (DEMO_LEADS,), "count(*) FROM leads")
        expect_eq(oids(cur), [INT8], "count(*) is bigint (oid 20)")
    conn.close()


@suite.check
def parameters_text():
    conn = connect()
    with conn.cursor() as cur:
        cur.execute("SELECT tenant, count(*) FROM leads GROUP BY tenant ORDER BY tenant")
        per_tenant = dict(cur.fetchall())
        expect_eq(sum(per_tenant.values()), DEMO_LEADS, "leads per tenant add up")
        cur.execute("SELECT count(*) FROM leads WHERE tenant = %s", (DEMO_TENANT,))
        expect_eq(cur.fetchone()[0], per_tenant[DEMO_TENANT], "count with %s parameter")
        # A quote in a parameter is escaped by the driver.
        cur.execute("SELECT count(*) FROM leads WHERE tenant = %s", ("o'kna",))
        expect_eq(cur.fetchone()[0], 0, "quoted parameter")
        cur.execute("SELECT %s, %s, %s", ("Нет менеджера", 42, None))
        expect_eq(cur.fetchone(), ("Нет менеджера", 42, None), "echoed parameters")
    conn.close()


@suite.check
def parameters_timestamptz():
    conn = connect()
    with conn.cursor() as cur:
        frm, to = dt.datetime(2026, 7, 1, tzinfo=UTC), dt.datetime(2026, 8, 1, tzinfo=UTC)
        cur.execute("SELECT count(*) FROM leads WHERE tenant = %s "
                    "AND created_at >= %s AND created_at < %s", (DEMO_TENANT, frm, to))
        n = cur.fetchone()[0]
        cur.execute("SELECT count(*) FROM leads WHERE tenant = 'okna' AND created_at >= "
                    "'2026-07-01T00:00:00Z' AND created_at < '2026-08-01T00:00:00Z'")
        expect_eq(n, cur.fetchone()[0], "July with datetime parameters vs literals")
        expect(0 < n < DEMO_LEADS, f"July has some leads: {n}")
        cur.execute("SELECT count(*) FROM leads WHERE created_at >= %s", (dt.date(2026, 7, 1),))
        expect(0 < cur.fetchone()[0] < DEMO_LEADS, "date parameter")
    conn.close()


@suite.check
def report_view():
    conn = connect()
    with conn.cursor() as cur:
        cur.execute(REPORT)
        rows = cur.fetchall()
        names = [d.name for d in cur.description]
        for col in ("tenant", "period_start", "scope", "manager", "leads", "avg_score",
                    "csat", "is_outlier", "achievements"):
            expect(col in names, f"manager_report_month has column {col}: {names}")
        expect(len(rows) > 0, "manager_report_month has rows for okna")
        r = dict(zip(names, rows[0]))
        expect_eq((r["tenant"], r["scope"]), ("okna", "all"), "filtered row")
        expect(isinstance(r["period_start"], dt.datetime) and r["period_start"].tzinfo is None,
               f"period_start is a timestamp without time zone: {r['period_start']!r}")
        expect(isinstance(r["leads"], int), f"leads is an integer: {r['leads']!r}")
        expect(all(isinstance(dict(zip(names, x))["achievements"], list) for x in rows),
               "achievements is text[] -> list")
    conn.close()


@suite.check
def report_table_function_and_cc_daily():
    conn = connect()
    with conn.cursor() as cur:
        cur.execute("SELECT * FROM manager_report('2026-07-01', '2026-08-01')")
        rows = cur.fetchall()
        names = [d.name for d in cur.description]
        expect(len(rows) > 0, "manager_report(July) has rows")
        tenants = {dict(zip(names, r))["tenant"] for r in rows}
        expect(DEMO_TENANT in tenants, f"tenants in manager_report: {tenants}")
        cur.execute("SELECT * FROM cc_daily")
        expect(len(cur.fetchall()) > 0, "cc_daily has rows")
    conn.close()


@suite.check
def named_cursor_report():
    conn = connect()
    with conn.cursor() as cur:
        cur.execute(REPORT)
        want = cur.fetchall()
        want_names = [d.name for d in cur.description]
    # DECLARE "oko_report" CURSOR WITHOUT HOLD FOR ...; FETCH FORWARD 7 ...; CLOSE
    cur = conn.cursor(name="oko_report")
    cur.itersize = 7
    cur.execute(REPORT)
    got = list(cur)
    expect(cur.description is not None, "named cursor has a description")
    expect_eq([d.name for d in cur.description], want_names, "named cursor columns")
    expect_eq(len(got), len(want), "rows through the named cursor")
    expect_same_rows(got, want, "named cursor rows equal a plain query")
    cur.close()
    conn.commit()
    # A second named cursor with parameters, fetched by fetchmany.
    with conn.cursor(name="oko_leads") as cur:
        cur.execute("SELECT lead_id, created_at FROM leads WHERE tenant = %s ORDER BY lead_id",
                    (DEMO_TENANT,))
        n = 0
        while batch := cur.fetchmany(1000):
            n += len(batch)
        expect_eq(n, one(conn, "SELECT count(*) FROM leads WHERE tenant = 'okna'")[0],
                  "leads through a named cursor")
    conn.rollback()
    conn.close()


@suite.check
def error_missing_table_then_usable():
    conn = connect()
    try:
        one(conn, "SELECT * FROM no_such_table")
    except psycopg2.Error as e:
        expect("no_such_table" in str(e), f"the error names the table: {e}")
    else:
        raise AssertionError("SELECT from a missing table did not raise")
    conn.rollback()
    expect_eq(one(conn, "SELECT count(*) FROM leads"), (DEMO_LEADS,), "usable after rollback")
    conn.rollback()
    conn.autocommit = True
    try:
        one(conn, "SELECT * FROM no_such_table")
    except psycopg2.Error:
        pass
    expect_eq(one(conn, "SELECT 1"), (1,), "usable after an error in autocommit")
    conn.close()


@suite.check
def error_sqlstate_undefined_table():
    conn = connect()
    try:
        one(conn, "SELECT * FROM no_such_table")
    except psycopg2.Error as e:
        expect_eq(e.pgcode, "42P01", "SQLSTATE of a missing table (undefined_table)")
        expect(isinstance(e, psycopg2.errors.UndefinedTable),
               f"psycopg2.errors.UndefinedTable, got {type(e).__name__}")
    else:
        raise AssertionError("SELECT from a missing table did not raise")
    conn.close()


@suite.check
def error_sqlstate_syntax_and_undefined_column():
    conn = connect()
    conn.autocommit = True
    for sql, code in (("SELEC 1", "42601"),  # syntax_error
                      ("SELECT no_such_column FROM leads", "42703")):  # undefined_column
        try:
            one(conn, sql)
        except psycopg2.Error as e:
            expect_eq(e.pgcode, code, f"SQLSTATE of {sql!r}")
        else:
            raise AssertionError(f"{sql!r} did not raise")
    conn.close()


@suite.check
def error_aborts_transaction():
    # psycopg2 opens a transaction (BEGIN) before the first statement. In
    # PostgreSQL an error aborts it: ReadyForQuery says 'E' until ROLLBACK.
    conn = connect()
    one(conn, "SELECT 1")
    expect_eq(conn.get_transaction_status(), ext.TRANSACTION_STATUS_INTRANS,
              "after BEGIN; SELECT 1 the transaction status is INTRANS (ReadyForQuery 'T')")
    try:
        one(conn, "SELECT * FROM no_such_table")
    except psycopg2.Error:
        pass
    expect_eq(conn.get_transaction_status(), ext.TRANSACTION_STATUS_INERROR,
              "after an error inside BEGIN the status is INERROR (ReadyForQuery 'E')")
    conn.rollback()
    expect_eq(conn.get_transaction_status(), ext.TRANSACTION_STATUS_IDLE, "IDLE after ROLLBACK")
    conn.close()


@suite.check
def types_timestamptz_text_array_null():
    conn = connect()
    with conn.cursor() as cur:
        cur.execute("SELECT tenant, lead_id, tags, created_at, answered_at FROM leads LIMIT 5")
        rows = cur.fetchall()
        expect_eq(len(rows), 5, "LIMIT 5")
        expect_eq(oids(cur), [TEXT, TEXT, TEXT_ARRAY, TIMESTAMPTZ, TIMESTAMPTZ],
                  "column type OIDs (text, text, text[], timestamptz, timestamptz)")
        for tenant, lead_id, tags, created, answered in rows:
            expect(isinstance(tenant, str) and isinstance(lead_id, str), "text -> str")
            expect(tags is None or (isinstance(tags, list) and all(isinstance(t, str) for t in tags)),
                   f"text[] -> list of str: {tags!r}")
            expect(isinstance(created, dt.datetime) and created.utcoffset() is not None,
                   f"timestamptz -> aware datetime: {created!r}")
            expect(dt.datetime(2026, 6, 1, tzinfo=UTC) <= created < dt.datetime(2026, 10, 1, tzinfo=UTC),
                   f"created_at in the demo period: {created}")
        cur.execute("SELECT tags FROM leads WHERE tags IS NOT NULL AND array_length(tags, 1) > 1 LIMIT 1")
        tags = cur.fetchone()[0]
        expect(isinstance(tags, list) and len(tags) > 1, f"multi-element text[]: {tags!r}")
        cur.execute("SELECT answered_at, tags FROM leads WHERE answered_at IS NULL AND tags IS NULL LIMIT 1")
        expect_eq(cur.fetchone(), (None, None), "NULL timestamptz and NULL text[]")
    conn.close()


@suite.check
def types_scalars():
    conn = connect()
    with conn.cursor() as cur:
        cur.execute("SELECT CAST('2026-07-01' AS DATE) AS d, CAST(12.34 AS DECIMAL(10, 2)) AS n, "
                    "CAST(0.5 AS DOUBLE PRECISION) AS f, true AS t, false AS ff, 'текст' AS s, "
                    "CAST(NULL AS TEXT) AS null_s, CAST(NULL AS BIGINT) AS null_i, "
                    "CAST(NULL AS BOOLEAN) AS null_b, CAST(NULL AS DATE) AS null_d, "
                    "CAST(NULL AS DECIMAL(10, 2)) AS null_n")
        row = cur.fetchone()
        expect_eq(row, (dt.date(2026, 7, 1), Decimal("12.34"), 0.5, True, False, "текст",
                        None, None, None, None, None), "date, numeric, float, bool, text, NULLs")
        expect_eq(oids(cur)[:6], [DATE, NUMERIC, FLOAT8, BOOL, BOOL, TEXT],
                  "OIDs of date, numeric, float8, bool, bool, text")
        cur.execute("SELECT avg_score, csat, is_outlier FROM manager_report_month "
                    "WHERE tenant = 'okna' AND scope = 'all' AND avg_score IS NOT NULL LIMIT 1")
        avg, csat, outlier = cur.fetchone()
        expect(isinstance(avg, float) and 1 <= avg <= 5, f"avg_score float: {avg!r}")
        expect(isinstance(csat, float) and 0 <= csat <= 1, f"csat float: {csat!r}")
        expect(outlier is None or isinstance(outlier, bool), f"is_outlier bool: {outlier!r}")
    conn.close()


if __name__ == "__main__":
    sys.exit(suite.run())
