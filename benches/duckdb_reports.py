"""DuckDB side of the report benchmark: equivalent SQL on the same Parquet
files (hive partitions pruned like OKO's), median of several runs, in ms.

    python3 benches/duckdb_reports.py STORE TENANT MONTH_START MONTH_END YEAR_START YEAR_END
"""

import statistics
import sys
import time

import duckdb

store, tenant, m_from, m_to, y_from, y_to = sys.argv[1:7]
runs = 5
con = duckdb.connect()
con.sql("SET TimeZone = 'UTC'")
for t, part in [("tenants", False), ("leads", True), ("rating_requests", True), ("ratings", True), ("rating_moderations", True)]:
    path = f"{store}/{t}/**/*.parquet" if part else f"{store}/{t}/*.parquet"
    con.sql(f"CREATE VIEW {t} AS SELECT * FROM read_parquet('{path}', hive_partitioning = {str(part).lower()})")


def facts(lo, hi):
    # UTC pre-filter ±15 h and month partitions, then the local-time filter.
    return f"""
    WITH tz AS (SELECT timezone AS zone, coalesce(service_level_seconds, 20) AS sl FROM tenants WHERE tenant = '{tenant}'),
    l AS (
        SELECT l.*, timezone((SELECT zone FROM tz), l.created_at) AS local_created
        FROM leads l
        WHERE l.tenant = '{tenant}'
          AND l.created_month BETWEEN strftime(TIMESTAMP '{lo}' - INTERVAL 15 HOUR, '%Y-%m')
                                  AND strftime(TIMESTAMP '{hi}' + INTERVAL 15 HOUR, '%Y-%m')
          AND l.created_at >= TIMESTAMPTZ '{lo}' - INTERVAL 15 HOUR
          AND l.created_at < TIMESTAMPTZ '{hi}' + INTERVAL 15 HOUR
          AND (l.class IS NULL OR l.class <> 'Спам')
    ),
    lm AS (SELECT rating_id, arg_max(new_score, moderated_at) AS new_score FROM rating_moderations WHERE tenant = '{tenant}' GROUP BY ALL),
    eff AS (
        SELECT r.lead_id, r.rating_id, r.received_at,
               CASE WHEN lm.rating_id IS NOT NULL THEN lm.new_score WHEN r.score BETWEEN 1 AND 5 THEN r.score END AS s
        FROM ratings r LEFT JOIN lm USING (rating_id) WHERE r.tenant = '{tenant}'
    ),
    ls AS (SELECT lead_id, arg_max(s, (received_at, rating_id)) AS score FROM eff WHERE s IS NOT NULL GROUP BY ALL),
    rq AS (SELECT DISTINCT lead_id FROM rating_requests WHERE tenant = '{tenant}' AND kind = 'request'),
    f AS (
        SELECT l.*, (SELECT sl FROM tz) AS sl,
               CASE WHEN channel IN ('call', 'callback') THEN 'calls' WHEN channel IN ('chat', 'social', 'messenger') THEN 'chats' END AS sc,
               (epoch_us(answered_at) - epoch_us(created_at)) / 1e6 AS reaction,
               (epoch_us(ended_at) - epoch_us(answered_at)) / 1e6 AS dialog,
               rq.lead_id IS NOT NULL AS requested, ls.score
        FROM l LEFT JOIN rq USING (lead_id) LEFT JOIN ls USING (lead_id)
        WHERE local_created >= TIMESTAMP '{lo}' AND local_created < TIMESTAMP '{hi}'
    )
    """


manager = facts(m_from, m_to) + """,
pm AS (
    SELECT scope, manager_id, count(*) AS leads, avg(reaction) AS reaction, avg(dialog) AS dialog,
           count(score) AS ratings, avg(score) AS avg_score, count(score) / count(*) AS rate
    FROM f, (VALUES ('calls'), ('chats'), ('all')) s(scope)
    WHERE sc IS NOT NULL AND answered_at IS NOT NULL AND (scope = 'all' OR scope = sc)
    GROUP BY ALL
),
med AS (SELECT scope, median(leads) FILTER (WHERE manager_id IS NOT NULL) AS ml,
               median(avg_score) FILTER (WHERE manager_id IS NOT NULL) AS ms FROM pm GROUP BY ALL),
fl AS (SELECT pm.*, (leads < 0.6 * ml) OR coalesce(avg_score < 0.6 * ms, false) AS outlier FROM pm JOIN med USING (scope))
SELECT *,
  leads = max(leads) FILTER (WHERE NOT outlier AND manager_id IS NOT NULL) OVER (PARTITION BY scope) AS most_sociable,
  rate = max(rate) FILTER (WHERE NOT outlier AND manager_id IS NOT NULL) OVER (PARTITION BY scope) AS most_engaging,
  reaction = min(reaction) FILTER (WHERE NOT outlier AND manager_id IS NOT NULL) OVER (PARTITION BY scope) AS fastest,
  dialog = min(dialog) FILTER (WHERE NOT outlier AND manager_id IS NOT NULL) OVER (PARTITION BY scope) AS most_efficient,
  avg_score = max(avg_score) FILTER (WHERE NOT outlier AND manager_id IS NOT NULL) OVER (PARTITION BY scope) AS best_service
FROM fl
"""

cc = facts(y_from, y_to) + """
SELECT date_trunc('hour', local_created) AS hour, channel,
       count(*) AS offered, count(answered_at) AS answered,
       count(*) FILTER (WHERE answered_at IS NULL AND (epoch_us(ended_at) - epoch_us(created_at)) / 1e6 < 5) AS short,
       count(*) FILTER (WHERE answered_at IS NOT NULL AND reaction <= sl) AS in_sl,
       avg(reaction) AS asa, avg(dialog) AS aht,
       (count(*) - count(answered_at)) / count(*) AS abandon
FROM f WHERE direction = 'in' GROUP BY ALL
"""

for name, sql in [("manager report, one tenant, one month", manager),
                  ("contact-centre hourly rollup, one tenant, one year", cc)]:
    con.sql(sql).fetchall()
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        rows = con.sql(sql).fetchall()
        times.append((time.perf_counter() - t) * 1000)
    print(f"duckdb\t{name}\t{statistics.median(times):.1f}\t{len(rows)}")
