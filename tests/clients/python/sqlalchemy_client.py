"""SQLAlchemy 2 (postgresql+psycopg2 and postgresql+psycopg dialects) and
pandas against `oko serve --demo`: the dialect's first-connect queries, the
inspector (schemas, tables, views, columns of a table and of a view), table
reflection, pandas.read_sql of reports.

    python3 sqlalchemy_client.py --port 5433 [CHECK...]
"""

import sys

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql as pg

from okotest import DEMO_LEADS, DEMO_TENANT, DEMO_VIEWS, Suite, expect, expect_eq

suite = Suite("sqlalchemy")

TABLES = {"tenants", "managers", "leads", "rating_requests", "ratings",
          "rating_moderations", "lead_notes", "manual_stats", "lead_corrections"}
LEADS_COLUMNS = ["tenant", "lead_id", "channel", "direction", "class", "manager_id",
                 "client_id", "created_at", "answered_at", "ended_at", "tags", "source",
                 "created_month"]
REPORT = ("SELECT * FROM manager_report_month WHERE tenant = 'okna' AND scope = 'all' "
          "ORDER BY period_start, manager")
DIALECTS = ("psycopg2", "psycopg")
_engines = {}


def engine(driver):
    if driver not in _engines:
        _engines[driver] = sa.create_engine(
            f"postgresql+{driver}://oko@{suite.host}:{suite.port}/oko",
            connect_args={"connect_timeout": 10}, pool_pre_ping=False)
    return _engines[driver]


def for_each_dialect(fn):
    """Registers `fn(driver)` once per dialect, as `<driver>_<name>`."""
    for driver in DIALECTS:
        def check(driver=driver):
            fn(driver)
        check.__name__ = f"{driver}_{fn.__name__}"
        suite.check(check)
    return fn


@for_each_dialect
def connect_and_query(driver):
    # The first connect runs the dialect's initialize(): version(),
    # current_schema(), standard_conforming_strings, isolation level.
    with engine(driver).connect() as c:
        expect_eq(c.execute(sa.text("SELECT count(*) FROM leads")).scalar(), DEMO_LEADS,
                  "count(*) FROM leads")
        n = c.execute(sa.text("SELECT count(*) FROM leads WHERE tenant = :t"),
                      {"t": DEMO_TENANT}).scalar()
        expect(0 < n < DEMO_LEADS, f"bound parameter: {n}")
        expect(c.dialect.server_version_info >= (9,), f"server version {c.dialect.server_version_info}")
        expect_eq(c.dialect.default_schema_name, "public", "current_schema()")


@for_each_dialect
def inspector_schema_names(driver):
    names = sa.inspect(engine(driver)).get_schema_names()
    expect("public" in names, f"get_schema_names() lists public: {names}")
    expect(not [n for n in names if n.startswith("pg_")],
           f"get_schema_names() leaves out pg_* schemas: {names}")


@for_each_dialect
def inspector_table_names(driver):
    names = set(sa.inspect(engine(driver)).get_table_names())
    expect_eq(names, TABLES, "get_table_names() is the model's tables (no views)")


@for_each_dialect
def inspector_view_names(driver):
    names = set(sa.inspect(engine(driver)).get_view_names())
    for v in DEMO_VIEWS:
        expect(v in names, f"get_view_names() lists {v}: {sorted(names)}")
    expect(not names & TABLES, f"get_view_names() has no tables: {sorted(names & TABLES)}")


@for_each_dialect
def inspector_columns_of_table(driver):
    cols = sa.inspect(engine(driver)).get_columns("leads")
    expect_eq([c["name"] for c in cols], LEADS_COLUMNS, "get_columns('leads') names in order")
    by = {c["name"]: c for c in cols}
    expect(isinstance(by["tenant"]["type"], sa.Text) or isinstance(by["tenant"]["type"], sa.String),
           f"tenant is text: {by['tenant']['type']!r}")
    expect(isinstance(by["created_at"]["type"], sa.TIMESTAMP) and by["created_at"]["type"].timezone,
           f"created_at is timestamp with time zone: {by['created_at']['type']!r}")
    expect(isinstance(by["tags"]["type"], pg.ARRAY)
           and isinstance(by["tags"]["type"].item_type, (sa.Text, sa.String)),
           f"tags is text[]: {by['tags']['type']!r}")
    expect(by["answered_at"]["nullable"], "answered_at is nullable")


@for_each_dialect
def inspector_columns_of_view(driver):
    cols = sa.inspect(engine(driver)).get_columns("manager_report_month")
    by = {c["name"]: c for c in cols}
    for name in ("tenant", "period_start", "scope", "manager", "leads", "avg_score", "is_outlier"):
        expect(name in by, f"get_columns('manager_report_month') has {name}: {list(by)}")
    expect(isinstance(by["period_start"]["type"], sa.TIMESTAMP)
           and not by["period_start"]["type"].timezone,
           f"period_start is timestamp without time zone: {by['period_start']['type']!r}")
    expect(isinstance(by["leads"]["type"], sa.BigInteger), f"leads is bigint: {by['leads']['type']!r}")
    expect(isinstance(by["avg_score"]["type"], sa.Float), f"avg_score is float: {by['avg_score']['type']!r}")
    expect(isinstance(by["is_outlier"]["type"], sa.Boolean),
           f"is_outlier is boolean: {by['is_outlier']['type']!r}")


@for_each_dialect
def reflect_table(driver):
    # What Superset and Table(..., autoload_with=) do: columns, primary
    # key, foreign keys, indexes, comments, then a SELECT through the table.
    leads = sa.Table("leads", sa.MetaData(), autoload_with=engine(driver))
    expect_eq([c.name for c in leads.columns], LEADS_COLUMNS, "reflected columns")
    with engine(driver).connect() as c:
        n = c.execute(sa.select(sa.func.count()).select_from(leads)
                      .where(leads.c.tenant == DEMO_TENANT)).scalar()
        expect(0 < n < DEMO_LEADS, f"count through the reflected table: {n}")


@for_each_dialect
def pandas_read_sql(driver):
    with engine(driver).connect() as c:
        want = c.execute(sa.text(REPORT)).fetchall()
    df = pd.read_sql(REPORT, engine(driver))
    expect_eq(len(df), len(want), "rows of the report DataFrame")
    expect(len(df) > 0, "the report has rows")
    for col in ("tenant", "period_start", "manager", "leads", "avg_score", "is_outlier"):
        expect(col in df.columns, f"DataFrame has {col}: {list(df.columns)}")
    expect(pd.api.types.is_datetime64_any_dtype(df["period_start"]),
           f"period_start is datetime64: {df['period_start'].dtype}")
    expect(pd.api.types.is_integer_dtype(df["leads"]), f"leads is integer: {df['leads'].dtype}")
    df = pd.read_sql(sa.text("SELECT * FROM manager_report_month WHERE tenant = :t AND scope = :s"),
                     engine(driver), params={"t": DEMO_TENANT, "s": "all"})
    expect_eq(len(df), len(want), "read_sql with parameters")
    df = pd.read_sql("SELECT * FROM manager_report('2026-07-01', '2026-08-01')", engine(driver))
    expect(len(df) > 0, "manager_report(July) DataFrame has rows")
    df = pd.read_sql("SELECT tenant, lead_id, tags, created_at, answered_at FROM leads LIMIT 5",
                     engine(driver))
    expect(str(df["created_at"].dtype).startswith("datetime64") and "UTC" in str(df["created_at"].dtype),
           f"created_at is a tz-aware datetime64: {df['created_at'].dtype}")
    expect(all(t is None or isinstance(t, list) for t in df["tags"]), "tags are lists")
    df = pd.read_sql("SELECT * FROM cc_daily", engine(driver))
    expect(len(df) > 0, "cc_daily DataFrame has rows")


if __name__ == "__main__":
    sys.exit(suite.run())
