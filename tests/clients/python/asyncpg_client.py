"""asyncpg against `oko serve --demo`: extended protocol with binary
results (always), `$1::timestamptz` parameters, prepared statement reuse,
cursors (Execute with a row limit + Flush), type introspection through
pg_type, a pool (its reset query on release), errors with SQLSTATE.

    python3 asyncpg_client.py --port 5433 [CHECK...]
"""

import datetime as dt
import sys
from decimal import Decimal

import asyncpg
import asyncpg.exceptions
from asyncpg import introspection

from okotest import DEMO_LEADS, DEMO_TENANT, Suite, expect, expect_eq, expect_same_rows

suite = Suite("asyncpg")
UTC = dt.timezone.utc
REPORT = ("SELECT * FROM manager_report_month WHERE tenant = 'okna' AND scope = 'all' "
          "ORDER BY period_start, manager")
JULY = (dt.datetime(2026, 7, 1, tzinfo=UTC), dt.datetime(2026, 8, 1, tzinfo=UTC))


def dsn():
    return dict(host=suite.host, port=suite.port, user="oko", database="oko", timeout=10)


async def connect():
    return await asyncpg.connect(**dsn())


async def tenant_counts(c):
    return {r["tenant"]: r["n"] for r in
            await c.fetch("SELECT tenant, count(*) AS n FROM leads GROUP BY tenant")}


@suite.check
async def connect_and_fetch():
    c = await connect()
    try:
        expect(c.get_server_version() >= (9, 0), f"server version {c.get_server_version()}")
        expect_eq(await c.fetchval("SELECT count(*) FROM leads"), DEMO_LEADS, "count(*) FROM leads")
        rows = await c.fetch(REPORT)
        expect(len(rows) > 0, "manager_report_month rows")
        expect(len(await c.fetch("SELECT * FROM cc_daily")) > 0, "cc_daily rows")
        rows = await c.fetch("SELECT * FROM manager_report('2026-07-01', '2026-08-01')")
        expect(len(rows) > 0, "manager_report(July) rows")
        rows = await c.fetch("SELECT tenant, lead_id, tags, created_at, answered_at FROM leads LIMIT 5")
        expect_eq(len(rows), 5, "LIMIT 5")
    finally:
        await c.close()


@suite.check
async def parameters_text():
    c = await connect()
    try:
        counts = await tenant_counts(c)
        expect_eq(sum(counts.values()), DEMO_LEADS, "per-tenant counts add up")
        for tenant, n in counts.items():
            expect_eq(await c.fetchval("SELECT count(*) FROM leads WHERE tenant = $1", tenant), n,
                      f"count for {tenant} with $1")
        rows = await c.fetch("SELECT manager, leads FROM manager_report_month "
                             "WHERE tenant = $1 AND scope = $2", DEMO_TENANT, "all")
        expect(len(rows) > 0, "report with parameters")
    finally:
        await c.close()


@suite.check
async def parameters_timestamptz():
    c = await connect()
    try:
        want = await c.fetchval(
            "SELECT count(*) FROM leads WHERE tenant = 'okna' AND created_at >= "
            "'2026-07-01T00:00:00Z' AND created_at < '2026-08-01T00:00:00Z'")
        expect(want > 0, "July has leads")
        # asyncpg encodes a datetime only for a parameter the server
        # describes as timestamptz (ParameterDescription OID 1184).
        got = await c.fetchval(
            "SELECT count(*) FROM leads WHERE tenant = $1 "
            "AND created_at >= $2::timestamptz AND created_at < $3::timestamptz",
            DEMO_TENANT, *JULY)
        expect_eq(got, want, "July with $2::timestamptz / $3::timestamptz datetimes")
        back = await c.fetchval("SELECT $1::timestamptz", dt.datetime(2026, 7, 1, 12, 30, tzinfo=UTC))
        expect_eq(back, dt.datetime(2026, 7, 1, 12, 30, tzinfo=UTC), "a datetime round trip")
    finally:
        await c.close()


@suite.check
async def binary_types_and_nulls():
    c = await connect()
    try:
        row = await c.fetchrow(
            "SELECT created_at, answered_at, tags FROM leads "
            "WHERE answered_at IS NOT NULL AND array_length(tags, 1) > 1 LIMIT 1")
        expect(isinstance(row["created_at"], dt.datetime) and row["created_at"].tzinfo is not None,
               f"timestamptz -> aware datetime: {row['created_at']!r}")
        expect(row["answered_at"] >= row["created_at"], "answered after created")
        expect(isinstance(row["tags"], list) and len(row["tags"]) > 1
               and all(isinstance(t, str) for t in row["tags"]), f"text[] -> list: {row['tags']!r}")
        row = await c.fetchrow("SELECT answered_at, tags FROM leads "
                               "WHERE answered_at IS NULL AND tags IS NULL LIMIT 1")
        expect_eq(tuple(row), (None, None), "NULL timestamptz and NULL text[]")
        row = await c.fetchrow(
            "SELECT CAST(0.5 AS DOUBLE PRECISION) AS f, true AS t, false AS ff, "
            "CAST(12.34 AS DECIMAL(10, 2)) AS n, CAST('2026-07-01' AS DATE) AS d, 'текст' AS s, "
            "CAST(NULL AS DOUBLE PRECISION) AS null_f, CAST(NULL AS BOOLEAN) AS null_b, "
            "CAST(NULL AS DECIMAL(10, 2)) AS null_n, CAST(NULL AS TEXT) AS null_s, "
            "CAST(NULL AS TIMESTAMPTZ) AS null_ts")
        expect_eq(tuple(row), (0.5, True, False, Decimal("12.34"), dt.date(2026, 7, 1), "текст",
                               None, None, None, None, None),
                  "float8, bool, numeric, date, text and their NULLs")
        row = await c.fetchrow("SELECT avg_score, csat, is_outlier, achievements, leads "
                               "FROM manager_report_month WHERE tenant = 'okna' AND scope = 'all' "
                               "AND avg_score IS NOT NULL LIMIT 1")
        expect(isinstance(row["avg_score"], float), f"avg_score float: {row['avg_score']!r}")
        expect(row["is_outlier"] in (None, True, False), f"is_outlier bool: {row['is_outlier']!r}")
        expect(isinstance(row["achievements"], list), f"achievements list: {row['achievements']!r}")
        expect(isinstance(row["leads"], int), f"leads int: {row['leads']!r}")
    finally:
        await c.close()


@suite.check
async def binary_interval_values():
    c = await connect()
    try:
        got = await c.fetchval("SELECT INTERVAL '1 day 2 hours 3 seconds'")
        expect_eq(got, dt.timedelta(days=1, hours=2, seconds=3), "interval literal")
        row = await c.fetchrow("SELECT created_at, answered_at, answered_at - created_at AS reaction "
                               "FROM leads WHERE answered_at IS NOT NULL LIMIT 1")
        expect_eq(row["reaction"], row["answered_at"] - row["created_at"],
                  "timestamptz - timestamptz as interval")
    finally:
        await c.close()


@suite.check
async def binary_interval_null():
    c = await connect()
    try:
        expect_eq(await c.fetchval("SELECT CAST(NULL AS INTERVAL)"), None,
                  "a NULL interval is NULL, not 0")
        row = await c.fetchrow("SELECT answered_at - created_at AS reaction "
                               "FROM leads WHERE answered_at IS NULL LIMIT 1")
        expect_eq(row["reaction"], None, "NULL - timestamptz is a NULL interval, not 0")
    finally:
        await c.close()


@suite.check
async def prepared_statement_reuse():
    c = await connect()
    try:
        counts = await tenant_counts(c)
        stmt = await c.prepare("SELECT count(*) AS n FROM leads WHERE tenant = $1")
        expect_eq([t.name for t in stmt.get_parameters()], ["text"], "parameter types of the statement")
        expect_eq([(a.name, a.type.name) for a in stmt.get_attributes()], [("n", "int8")],
                  "result columns of the statement")
        for _ in range(2):
            for tenant, n in counts.items():
                expect_eq(await stmt.fetchval(tenant), n, f"reused statement for {tenant}")
        stmt = await c.prepare("SELECT count(*) FROM leads WHERE created_at >= $1::timestamptz "
                               "AND created_at < $2::timestamptz")
        expect_eq([t.name for t in stmt.get_parameters()], ["timestamptz", "timestamptz"],
                  "parameters described as timestamptz")
        july = await stmt.fetchval(*JULY)
        june = await stmt.fetchval(dt.datetime(2026, 6, 1, tzinfo=UTC), JULY[0])
        expect(july > 0 and june > 0, f"July {july}, June {june}")
        expect_eq(await stmt.fetchval(*JULY), july, "same statement again")
        # The connection's statement cache: the same query text three times.
        for _ in range(3):
            expect_eq(await c.fetchval("SELECT count(*) FROM leads WHERE tenant = $1", DEMO_TENANT),
                      counts[DEMO_TENANT], "cached statement")
    finally:
        await c.close()


@suite.check
async def cursor_in_transaction():
    c = await connect()
    try:
        want = await c.fetch(REPORT)
        # Bind + Execute(prefetch rows) + Flush, repeated, inside BEGIN/COMMIT.
        async with c.transaction():
            got = [r async for r in c.cursor(REPORT, prefetch=7)]
        expect_same_rows(got, want, "rows through a cursor")
        async with c.transaction():
            cur = await c.cursor("SELECT lead_id FROM leads WHERE tenant = $1 ORDER BY lead_id",
                                 DEMO_TENANT)
            expect_eq(len(await cur.fetch(10)), 10, "cursor.fetch(10)")
            expect_eq(len(await cur.fetch(3)), 3, "cursor.fetch(3)")
    finally:
        await c.close()


@suite.check
async def cursor_forward():
    c = await connect()
    try:
        async with c.transaction():
            cur = await c.cursor("SELECT lead_id FROM leads WHERE tenant = $1 ORDER BY lead_id",
                                 DEMO_TENANT)
            first = await cur.fetch(10)
            # cursor.forward(n) sends MOVE FORWARD n FROM "<portal>".
            expect_eq(await cur.forward(5), 5, "rows skipped by MOVE FORWARD 5")
            again = await c.fetch("SELECT lead_id FROM leads WHERE tenant = $1 ORDER BY lead_id "
                                  "LIMIT 3 OFFSET 15", DEMO_TENANT)
            expect_eq([r[0] for r in await cur.fetch(3)], [r[0] for r in again],
                      "rows after MOVE")
            expect_eq(len(first), 10, "first fetch")
    finally:
        await c.close()


@suite.check
async def type_by_name_query():
    c = await connect()
    try:
        # The query asyncpg runs for set_type_codec() on a named type.
        # pg_type.typtype is "char" (OID 18), which asyncpg reads as bytes.
        row = await c.fetchrow(introspection.TYPE_BY_NAME, "timestamptz", "pg_catalog")
        expect(row is not None, "pg_type has timestamptz in pg_catalog")
        expect_eq((row["oid"], row["kind"]), (1184, b"b"), "timestamptz oid and kind")
        row = await c.fetchrow(introspection.TYPE_BY_NAME, "_text", "pg_catalog")
        expect(row is not None, "pg_type has _text in pg_catalog")
        expect_eq((row["oid"], row["elemtype"]), (1009, 25), "text[] oid and element type")
    finally:
        await c.close()


@suite.check
async def type_introspection_query():
    c = await connect()
    try:
        # What asyncpg runs when a statement has a type it has no codec for:
        # current_setting('jit')/set_config (server >= 11), then its pg_type
        # lookup query (INTRO_LOOKUP_TYPES) with the OIDs as an int[] parameter.
        rows, _ = await c._introspect_types([1009, 1184, 25], 10)
        by_oid = {r["oid"]: r for r in rows}
        expect(1009 in by_oid and 1184 in by_oid, f"introspected OIDs: {sorted(by_oid)}")
        expect_eq((by_oid[1009]["name"], by_oid[1009]["elemtype"]), ("_text", 25), "text[] row")
        expect_eq((by_oid[1184]["name"], by_oid[1184]["kind"]), ("timestamptz", b"b"),
                  "timestamptz row (kind is \"char\")")
        expect_eq(await c.fetchval("SELECT 1"), 1, "usable after introspection")
    finally:
        await c.close()


@suite.check
async def pool_with_reset():
    pool = await asyncpg.create_pool(**dsn(), min_size=1, max_size=2)
    try:
        for i in range(3):
            # On release the pool runs the reset query:
            # SELECT pg_advisory_unlock_all(); CLOSE ALL; UNLISTEN *; RESET ALL;
            async with pool.acquire() as con:
                expect_eq(await con.fetchval("SELECT count(*) FROM leads WHERE tenant = $1",
                                             DEMO_TENANT) > 0, True, f"query {i} through the pool")
        expect_eq(await pool.fetchval("SELECT count(*) FROM leads"), DEMO_LEADS, "pool.fetchval")
    finally:
        await pool.close()


@suite.check
async def connection_reset_query():
    c = await connect()
    try:
        # The same reset the pool runs, on its own for a precise error.
        await c.reset()
        expect_eq(await c.fetchval("SELECT 1"), 1, "usable after reset()")
    finally:
        await c.close()


@suite.check
async def error_missing_table_then_usable():
    c = await connect()
    try:
        try:
            await c.fetch("SELECT * FROM no_such_table")
        except asyncpg.PostgresError as e:
            expect("no_such_table" in str(e), f"the error names the table: {e}")
        else:
            raise AssertionError("SELECT from a missing table did not raise")
        expect_eq(await c.fetchval("SELECT count(*) FROM leads"), DEMO_LEADS, "usable after the error")
        try:
            async with c.transaction():
                await c.fetch("SELECT * FROM no_such_table")
        except asyncpg.PostgresError:
            pass
        expect(not c.is_in_transaction(), "the failed transaction was rolled back")
        expect_eq(await c.fetchval("SELECT 1"), 1, "usable after a failed transaction")
    finally:
        await c.close()


@suite.check
async def error_sqlstate_undefined_table():
    c = await connect()
    try:
        try:
            await c.fetch("SELECT * FROM no_such_table")
        except asyncpg.PostgresError as e:
            expect_eq(e.sqlstate, "42P01", "SQLSTATE of a missing table")
            expect(isinstance(e, asyncpg.exceptions.UndefinedTableError),
                   f"asyncpg.exceptions.UndefinedTableError, got {type(e).__name__}")
        else:
            raise AssertionError("SELECT from a missing table did not raise")
    finally:
        await c.close()


if __name__ == "__main__":
    sys.exit(suite.run())
