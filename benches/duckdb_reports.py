"""DuckDB side of the report benchmark: equivalent SQL on the same Parquet
files (hive partitions pruned like OKO's), median of several runs, in ms.

    python3 benches/duckdb_reports.py STORE TENANT MONTH_START MONTH_END YEAR_START YEAR_END [--rows]

Each query computes what the OKO call computes, from the same rows, with the
same filters (the tenant, the period on the tenant's wall clock, the default
class exclusion 'Спам', incoming calls and chats for the rollup, with the
all-channels row):

- manager report: `SELECT * FROM manager_report(MONTH_START, MONTH_END)
  WHERE tenant = TENANT` — the default scope 'all' (the call returns that
  scope only), every column: leads, mean reaction and dialog, ratings,
  average score, CSAT, response rates, requested, fair score, outlier flag
  and achievements (ties to the larger sample);
- contact-centre rollup: `SELECT * FROM cc_report(YEAR_START, YEAR_END,
  'hour') WHERE tenant = TENANT` — offered, answered, missed, short
  abandons, answered in SL, reaction and dialog sums, dialogs and the rates.
  It reads the leads and the tenant only, like OKO (no rating tables).

`--rows` prints the result rows (sorted, floats to 6 decimals) instead of
timings, to compare them with OKO's output.
"""

import statistics
import sys
import time

import duckdb

store, tenant, m_from, m_to, y_from, y_to = sys.argv[1:7]
show_rows = "--rows" in sys.argv[7:]
runs = 5
con = duckdb.connect()
con.sql("SET TimeZone = 'UTC'")
for t, part in [("tenants", False), ("leads", True), ("rating_requests", True), ("ratings", True), ("rating_moderations", True)]:
    path = f"{store}/{t}/**/*.parquet" if part else f"{store}/{t}/*.parquet"
    con.sql(f"CREATE VIEW {t} AS SELECT * FROM read_parquet('{path}', hive_partitioning = {str(part).lower()})")


def leads(lo, hi):
    # UTC pre-filter ±15 h and month partitions, then the local-time filter.
    return f"""
    tz AS (SELECT timezone AS zone, coalesce(service_level_seconds, 20) AS sl FROM tenants WHERE tenant = '{tenant}'),
    l AS (
        SELECT l.*, timezone((SELECT zone FROM tz), l.created_at) AS local_created,
               (SELECT sl FROM tz) AS sl,
               CASE WHEN channel IN ('call', 'callback') THEN 'calls'
                    WHEN channel IN ('chat', 'social', 'messenger') THEN 'chats' END AS sc,
               (epoch_us(answered_at) - epoch_us(created_at)) / 1e6 AS reaction,
               (epoch_us(ended_at) - epoch_us(answered_at)) / 1e6 AS dialog
        FROM leads l
        WHERE l.tenant = '{tenant}'
          AND l.created_month BETWEEN strftime(TIMESTAMP '{lo}' - INTERVAL 15 HOUR, '%Y-%m')
                                  AND strftime(TIMESTAMP '{hi}' + INTERVAL 15 HOUR, '%Y-%m')
          AND l.created_at >= TIMESTAMPTZ '{lo}' - INTERVAL 15 HOUR
          AND l.created_at < TIMESTAMPTZ '{hi}' + INTERVAL 15 HOUR
          AND (l.class IS NULL OR l.class <> 'Спам')
    ),
    p AS (SELECT * FROM l WHERE local_created >= TIMESTAMP '{lo}' AND local_created < TIMESTAMP '{hi}')
    """


manager = "WITH " + leads(m_from, m_to) + """,
lm AS (SELECT rating_id, arg_max(new_score, moderated_at) AS new_score
       FROM rating_moderations WHERE tenant = '{tenant}' GROUP BY ALL),
eff AS (
    SELECT r.lead_id, r.rating_id, r.received_at,
           CASE WHEN lm.rating_id IS NOT NULL THEN lm.new_score WHEN r.score BETWEEN 1 AND 5 THEN r.score END AS s
    FROM ratings r LEFT JOIN lm USING (rating_id) WHERE r.tenant = '{tenant}'
),
ls AS (SELECT lead_id, arg_max(s, (received_at, rating_id)) AS score FROM eff WHERE s IS NOT NULL GROUP BY ALL),
rq AS (SELECT DISTINCT lead_id FROM rating_requests WHERE tenant = '{tenant}' AND kind = 'request'),
f AS (
    SELECT p.*, rq.lead_id IS NOT NULL AS requested, ls.score
    FROM p LEFT JOIN rq USING (lead_id) LEFT JOIN ls USING (lead_id)
    WHERE sc IS NOT NULL AND answered_at IS NOT NULL
),
pm AS (
    SELECT manager_id, count(*) AS leads, avg(reaction) AS reaction, avg(dialog) AS dialog,
           count(score) AS ratings, avg(score) AS avg_score,
           avg(CASE WHEN score >= 4 THEN 1.0 WHEN score IS NOT NULL THEN 0.0 END) AS csat,
           count(score) / count(*) AS rate,
           count(*) FILTER (WHERE requested) AS requested,
           count(score) FILTER (WHERE requested) AS rated_requested
    FROM f GROUP BY ALL
),
med AS (SELECT median(leads) FILTER (WHERE manager_id IS NOT NULL) AS ml,
               median(avg_score) FILTER (WHERE manager_id IS NOT NULL) AS ms,
               sum(avg_score * ratings) FILTER (WHERE manager_id IS NOT NULL AND ratings > 0)
                 / sum(ratings) FILTER (WHERE manager_id IS NOT NULL AND ratings > 0) AS c
        FROM pm),
fl AS (
    SELECT pm.*,
           CASE WHEN manager_id IS NOT NULL AND ratings > 0
                THEN (avg_score * ratings + 5 * c) / (ratings + 5) END AS fair,
           CASE WHEN manager_id IS NOT NULL
                THEN (leads < 0.6 * ml) OR coalesce(avg_score < 0.6 * ms, false) END AS outlier,
           manager_id IS NOT NULL AND NOT ((leads < 0.6 * ml) OR coalesce(avg_score < 0.6 * ms, false)) AS contest
    FROM pm, med
),
best AS (
    SELECT *,
           max(leads) FILTER (WHERE contest) OVER () AS b_leads,
           max(rate) FILTER (WHERE contest) OVER () AS b_rate,
           min(reaction) FILTER (WHERE contest) OVER () AS b_reaction,
           min(dialog) FILTER (WHERE contest) OVER () AS b_dialog,
           max(avg_score) FILTER (WHERE contest AND ratings >= 1) OVER () AS b_score
    FROM fl
),
ties AS (
    SELECT *,
           max(leads) FILTER (WHERE contest AND rate = b_rate) OVER () AS t_rate,
           max(leads) FILTER (WHERE contest AND reaction = b_reaction) OVER () AS t_reaction,
           max(leads) FILTER (WHERE contest AND dialog = b_dialog) OVER () AS t_dialog,
           max(ratings) FILTER (WHERE contest AND ratings >= 1 AND avg_score = b_score) OVER () AS t_score
    FROM best
)
SELECT '{tenant}' AS tenant, coalesce(manager_id, 'Нет менеджера') AS manager, manager_id,
       leads, reaction, dialog, ratings, avg_score, csat, rate, requested,
       CASE WHEN requested > 0 THEN rated_requested / requested END AS rate_requested,
       fair, outlier,
       array_to_string(list_filter([
           CASE WHEN contest AND leads = b_leads THEN 'most_sociable' END,
           CASE WHEN contest AND rate = b_rate AND leads = t_rate THEN 'most_engaging' END,
           CASE WHEN contest AND reaction = b_reaction AND leads = t_reaction THEN 'fastest' END,
           CASE WHEN contest AND dialog = b_dialog AND leads = t_dialog THEN 'most_efficient' END,
           CASE WHEN contest AND ratings >= 1 AND avg_score = b_score AND ratings = t_score THEN 'best_service' END
       ], x -> x IS NOT NULL), ',') AS achievements
FROM ties
""".replace("{tenant}", tenant)

HOUR = "date_trunc('hour', local_created)"
SL = "answered_at IS NOT NULL AND reaction <= sl"
SHORT = "answered_at IS NULL AND (epoch_us(ended_at) - epoch_us(created_at)) / 1e6 < 5"
# Incoming contacts of calls and chats (email and form are not
# contact-centre contacts), per hour and channel and per hour for 'all'.
cc = "WITH " + leads(y_from, y_to) + f"""
SELECT '{tenant}' AS tenant, {HOUR} AS hour, coalesce(channel, 'all') AS channel,
       count(*) AS offered, count(answered_at) AS answered, count(*) - count(answered_at) AS missed,
       count(*) FILTER (WHERE {SHORT}) AS short, count(*) FILTER (WHERE {SL}) AS in_sl,
       coalesce(sum(reaction), 0.0) AS reaction_sum,
       coalesce(sum(dialog) FILTER (WHERE answered_at IS NOT NULL), 0.0) AS dialog_sum,
       count(*) FILTER (WHERE answered_at IS NOT NULL AND ended_at IS NOT NULL) AS dialogs,
       (count(*) - count(answered_at)) / count(*) AS abandon_rate,
       sum(reaction) / nullif(count(answered_at), 0) AS asa,
       sum(dialog) FILTER (WHERE answered_at IS NOT NULL)
           / nullif(count(*) FILTER (WHERE answered_at IS NOT NULL AND ended_at IS NOT NULL), 0) AS aht,
       count(*) FILTER (WHERE {SL}) / count(*) AS sl_offered,
       count(*) FILTER (WHERE {SL}) / nullif(count(answered_at), 0) AS sl_answered,
       count(*) FILTER (WHERE {SL}) / nullif(count(*) - count(*) FILTER (WHERE {SHORT}), 0) AS sl_excl_short
FROM p WHERE direction = 'in' AND sc IS NOT NULL
GROUP BY GROUPING SETS (({HOUR}, channel), ({HOUR}))
"""


def fmt(v):
    if v is None:
        return "NULL"
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float):
        s = f"{v:.6f}".rstrip("0").rstrip(".")
        return "0" if s == "-0" else s
    return str(v)


queries = [("manager report, one tenant, one month", manager),
           ("contact-centre hourly rollup, one tenant, one year", cc)]
if show_rows:
    for name, sql in queries:
        for r in sorted("|".join(fmt(v) for v in row) for row in con.sql(sql).fetchall()):
            print(f"{name}|{r}")
    sys.exit(0)

for name, sql in queries:
    con.sql(sql).fetchall()
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        rows = con.sql(sql).fetchall()
        times.append((time.perf_counter() - t) * 1000)
    print(f"duckdb\t{name}\t{statistics.median(times):.1f}\t{len(rows)}")
