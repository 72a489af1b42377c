"""Independent recomputation of OKO's main reports in DuckDB.

Reads the Parquet files of an OKO store directly (hive partitions, no Delta
reader) and computes, with its own SQL written from SPEC.md and not from
`sql/`, the month manager table (all scopes), the month summary pies and the
month contact-centre metrics and tag counts (calls and chats, each channel
and 'all'), with the default settings (exclude 'Спам',
outlier ratio 0.6, best service by mean score, short abandon 5 s).

    python3 duckdb_reports.py STORE_DIR > rows.txt

Prints one line per row, `report|key…|values…`, floats rounded to 6
decimals, NULL as `NULL`; the Rust test prints OKO's rows the same way and
compares the two sets exactly.
"""

import sys

import duckdb

store = sys.argv[1].rstrip("/")
con = duckdb.connect()
con.sql("SET TimeZone = 'UTC'")


def table(name, partitioned=True):
    path = f"{store}/{name}/**/*.parquet" if partitioned else f"{store}/{name}/*.parquet"
    con.sql(
        f"CREATE VIEW {name} AS SELECT * FROM read_parquet('{path}', hive_partitioning = {str(partitioned).lower()})"
    )


table("tenants", partitioned=False)
for t in ["managers", "leads", "rating_requests", "ratings", "rating_moderations", "lead_notes"]:
    table(t)

con.sql(
    """
CREATE VIEW facts AS
WITH last_mod AS (
    SELECT tenant, rating_id, arg_max(new_score, moderated_at) AS new_score
    FROM rating_moderations GROUP BY ALL
),
eff AS (
    SELECT r.tenant, r.lead_id, r.rating_id, r.received_at,
           CASE WHEN m.rating_id IS NOT NULL THEN m.new_score
                WHEN r.score BETWEEN 1 AND 5 THEN r.score END AS s
    FROM ratings r LEFT JOIN last_mod m USING (tenant, rating_id)
),
lead_score AS (
    SELECT tenant, lead_id, arg_max(s, (received_at, rating_id)) AS score
    FROM eff WHERE s IS NOT NULL GROUP BY ALL
),
req AS (SELECT DISTINCT tenant, lead_id FROM rating_requests WHERE kind = 'request')
SELECT l.*,
       timezone(coalesce(t.timezone, 'UTC'), l.created_at) AS local_created,
       coalesce(t.service_level_seconds, 20) AS sl,
       CASE WHEN channel IN ('call', 'callback') THEN 'calls'
            WHEN channel IN ('chat', 'social', 'messenger') THEN 'chats' END AS sc,
       (epoch_us(l.answered_at) - epoch_us(l.created_at)) / 1e6 AS reaction,
       (epoch_us(l.ended_at) - epoch_us(l.answered_at)) / 1e6 AS dialog,
       req.lead_id IS NOT NULL AS requested,
       ls.score
FROM leads l
LEFT JOIN tenants t USING (tenant)
LEFT JOIN req USING (tenant, lead_id)
LEFT JOIN lead_score ls USING (tenant, lead_id)
WHERE l.class IS NULL OR l.class <> 'Спам'
"""
)

con.sql(
    """
CREATE VIEW per_manager AS
SELECT tenant, date_trunc('month', local_created) AS period, scope, manager_id,
       count(*) AS leads, avg(reaction) AS reaction, avg(dialog) AS dialog,
       count(score) AS ratings, avg(score) AS avg_score,
       count(score) / count(*) AS rate
FROM facts, (VALUES ('calls'), ('chats'), ('all')) s(scope)
WHERE sc IS NOT NULL AND answered_at IS NOT NULL AND (scope = 'all' OR scope = sc)
GROUP BY ALL
"""
)

con.sql(
    """
CREATE VIEW flagged AS
WITH med AS (
    SELECT tenant, period, scope,
           median(leads) FILTER (WHERE manager_id IS NOT NULL) AS ml,
           median(avg_score) FILTER (WHERE manager_id IS NOT NULL) AS ms
    FROM per_manager GROUP BY ALL
)
SELECT p.*,
       CASE WHEN manager_id IS NULL THEN NULL
            ELSE (leads < 0.6 * ml) OR coalesce(avg_score < 0.6 * ms, false) END AS outlier
FROM per_manager p JOIN med USING (tenant, period, scope)
"""
)


def winners(col, sample, highest):
    """Rows that win one category: best value, then larger sample, ties share."""
    agg = "max" if highest else "min"
    return f"""
    SELECT tenant, period, scope, manager_id FROM (
        SELECT *, max({sample}) FILTER (WHERE {col} = best) OVER w AS best_sample
        FROM (
            SELECT *, {agg}({col}) OVER w AS best FROM contest
            WINDOW w AS (PARTITION BY tenant, period, scope)
        )
        WINDOW w AS (PARTITION BY tenant, period, scope)
    ) WHERE {col} = best AND {sample} = best_sample
    """


con.sql(
    "CREATE VIEW contest AS SELECT * FROM flagged WHERE manager_id IS NOT NULL AND NOT outlier"
)
cats = [
    ("most_sociable", "leads", "leads", True),
    ("most_engaging", "rate", "leads", True),
    ("fastest", "reaction", "leads", False),
    ("most_efficient", "dialog", "leads", False),
    ("best_service", "avg_score", "ratings", True),
]
parts = [
    f"SELECT *, {i} AS ord, '{name}' AS name FROM ({winners(col, sample, hi)})"
    for i, (name, col, sample, hi) in enumerate(cats)
]
con.sql("CREATE VIEW wins AS " + " UNION ALL ".join(parts))


def fmt(v):
    if v is None:
        return "NULL"
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float):
        s = f"{v:.6f}".rstrip("0").rstrip(".")
        return "0" if s == "-0" else s
    return str(v)


rows = con.sql(
    """
SELECT 'manager', f.tenant, strftime(f.period, '%Y-%m-%d'), f.scope,
       coalesce(f.manager_id, 'Нет менеджера'), f.leads, f.reaction, f.dialog,
       f.ratings, f.avg_score, f.rate, f.outlier,
       coalesce((SELECT string_agg(name, ',' ORDER BY ord) FROM wins w
                 WHERE w.tenant = f.tenant AND w.period = f.period AND w.scope = f.scope
                   AND w.manager_id = f.manager_id), '')
FROM flagged f
"""
).fetchall()
# Pies list every channel of the scope, with zeros, beside 'all'.
rows += con.sql(
    """
WITH sums AS (
    SELECT tenant, date_trunc('month', local_created) AS m, channel,
           count(*) AS leads, count(*) FILTER (WHERE requested) AS requested,
           count(score) AS rated, sum(score) AS score_sum
    FROM facts WHERE sc IS NOT NULL AND answered_at IS NOT NULL
    GROUP BY ALL
),
periods AS (SELECT DISTINCT tenant, m FROM sums),
channels AS (SELECT * FROM (VALUES ('call'), ('callback'), ('chat'), ('social'),
                                   ('messenger'), ('all')) c(channel))
SELECT 'summary', p.tenant, strftime(p.m, '%Y-%m-%d'), c.channel,
       coalesce(sum(s.leads), 0), coalesce(sum(s.requested), 0), coalesce(sum(s.rated), 0),
       sum(s.score_sum) / nullif(sum(s.rated), 0)
FROM periods p CROSS JOIN channels c
LEFT JOIN sums s ON s.tenant = p.tenant AND s.m = p.m
                AND (c.channel = 'all' OR s.channel = c.channel)
GROUP BY ALL
"""
).fetchall()
rows += con.sql(
    """
SELECT 'cc', tenant, strftime(date_trunc('month', local_created), '%Y-%m-%d'),
       coalesce(channel, 'all'),
       count(*) AS offered,
       count(answered_at) AS answered,
       count(*) FILTER (WHERE answered_at IS NULL
                          AND (epoch_us(ended_at) - epoch_us(created_at)) / 1e6 < 5) AS short,
       count(*) FILTER (WHERE answered_at IS NOT NULL AND reaction <= sl) AS in_sl,
       avg(reaction) AS asa,
       avg(dialog) AS aht,
       (count(*) - count(answered_at)) / count(*) AS abandon
FROM facts WHERE direction = 'in' AND sc IS NOT NULL
GROUP BY GROUPING SETS ((tenant, date_trunc('month', local_created), channel),
                        (tenant, date_trunc('month', local_created)))
"""
).fetchall()
# Tags by month: incoming calls and chats carrying a tag (own or a note's,
# trimmed, once per contact), per channel and for all of them.
rows += con.sql(
    """
WITH own AS (SELECT tenant, lead_id, unnest(tags) AS tag FROM leads),
notes AS (SELECT tenant, lead_id, tag FROM lead_notes WHERE tag IS NOT NULL),
tagged AS (
    SELECT DISTINCT tenant, lead_id, trim(tag) AS tag
    FROM (SELECT * FROM own UNION ALL SELECT * FROM notes)
    WHERE trim(tag) <> ''
)
SELECT 'tags', f.tenant, strftime(date_trunc('month', f.local_created), '%Y-%m-%d'),
       coalesce(f.channel, 'all'), g.tag,
       count(*), count(f.answered_at), count(*) - count(f.answered_at)
FROM tagged g JOIN facts f ON f.tenant = g.tenant AND f.lead_id = g.lead_id
WHERE f.direction = 'in' AND f.sc IS NOT NULL
GROUP BY GROUPING SETS ((f.tenant, date_trunc('month', f.local_created), f.channel, g.tag),
                        (f.tenant, date_trunc('month', f.local_created), g.tag))
"""
).fetchall()
for r in rows:
    print("|".join(fmt(v) for v in r))
