-- Window functions: ranking, offsets, running totals, frames.

SELECT tenant, manager_id, n, rank() OVER (PARTITION BY tenant ORDER BY n DESC) FROM (SELECT tenant, manager_id, count(*) AS n FROM leads WHERE manager_id IS NOT NULL GROUP BY 1, 2) s ORDER BY tenant, manager_id;
SELECT tenant, channel, n, dense_rank() OVER (ORDER BY n DESC), row_number() OVER (ORDER BY n DESC, tenant, channel) FROM (SELECT tenant, channel, count(*) AS n FROM leads GROUP BY 1, 2) s ORDER BY tenant, channel;
SELECT tenant, channel, n, percent_rank() OVER (PARTITION BY tenant ORDER BY n), cume_dist() OVER (PARTITION BY tenant ORDER BY n) FROM (SELECT tenant, channel, count(*) AS n FROM leads GROUP BY 1, 2) s ORDER BY tenant, channel;
SELECT tenant, channel, ntile(3) OVER (PARTITION BY tenant ORDER BY channel) FROM (SELECT DISTINCT tenant, channel FROM leads) s ORDER BY tenant, channel;
WITH m AS (SELECT tenant, date_trunc('month', created_at) AS month, count(*) AS n FROM leads GROUP BY 1, 2) SELECT tenant, month, n, lag(n) OVER w, lead(n) OVER w, n - lag(n) OVER w AS delta FROM m WINDOW w AS (PARTITION BY tenant ORDER BY month) ORDER BY 1, 2;
WITH m AS (SELECT tenant, date_trunc('month', created_at) AS month, count(*) AS n FROM leads GROUP BY 1, 2) SELECT tenant, month, lag(n, 2, 0::bigint) OVER (PARTITION BY tenant ORDER BY month) FROM m ORDER BY 1, 2;
WITH d AS (SELECT created_at::date AS day, count(*) AS n FROM leads WHERE tenant = 'okna' GROUP BY 1) SELECT day, n, sum(n) OVER (ORDER BY day) AS running FROM d ORDER BY day LIMIT 15;
WITH d AS (SELECT created_at::date AS day, count(*) AS n FROM leads WHERE tenant = 'okna' GROUP BY 1) SELECT day, n, avg(n) OVER (ORDER BY day ROWS BETWEEN 6 PRECEDING AND CURRENT ROW) AS week_avg FROM d ORDER BY day LIMIT 15;
WITH d AS (SELECT created_at::date AS day, count(*) AS n FROM leads WHERE tenant = 'okna' GROUP BY 1) SELECT day, sum(n) OVER (ORDER BY day RANGE BETWEEN INTERVAL '6 days' PRECEDING AND CURRENT ROW) FROM d ORDER BY day LIMIT 10;
WITH d AS (SELECT created_at::date AS day, count(*)::float8 AS n FROM leads WHERE tenant = 'dostavka' GROUP BY 1) SELECT day, avg(n) OVER (ORDER BY day ROWS BETWEEN 3 PRECEDING AND 3 FOLLOWING) FROM d ORDER BY day LIMIT 10;
SELECT tenant, lead_id, created_at, first_value(lead_id) OVER (PARTITION BY tenant ORDER BY created_at, lead_id), last_value(lead_id) OVER (PARTITION BY tenant ORDER BY created_at, lead_id ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING) FROM leads WHERE created_at < '2026-06-01 12:00+00' ORDER BY tenant, created_at, lead_id;
SELECT tenant, lead_id, nth_value(lead_id, 2) OVER (PARTITION BY tenant ORDER BY created_at, lead_id) FROM leads WHERE created_at < '2026-06-01 12:00+00' ORDER BY tenant, lead_id;
SELECT tenant, count(*), count(*) OVER () AS groups, sum(count(*)) OVER () AS total FROM leads GROUP BY tenant ORDER BY tenant;
SELECT tenant, channel, count(*) AS n, round(100.0 * count(*) / sum(count(*)) OVER (PARTITION BY tenant), 2) AS pct FROM leads GROUP BY 1, 2 ORDER BY 1, 2;
SELECT tenant, lead_id, created_at FROM (SELECT tenant, lead_id, created_at, row_number() OVER (PARTITION BY tenant ORDER BY created_at, lead_id) AS rn FROM leads) s WHERE rn <= 3 ORDER BY tenant, rn;
SELECT tenant, rating_id, score, avg(score) OVER (PARTITION BY tenant) FROM ratings WHERE received_at < '2026-06-03' ORDER BY tenant, rating_id;
SELECT tenant, rating_id, score, sum(score) OVER (PARTITION BY tenant ORDER BY received_at, rating_id) FROM ratings WHERE received_at < '2026-06-03' ORDER BY tenant, received_at, rating_id;
SELECT tenant, rating_id, count(*) FILTER (WHERE score = 5) OVER (PARTITION BY tenant ORDER BY received_at, rating_id) FROM ratings WHERE received_at < '2026-06-03' ORDER BY tenant, rating_id;
SELECT v, sum(v) OVER (ORDER BY v GROUPS BETWEEN 1 PRECEDING AND CURRENT ROW) FROM (VALUES (1), (1), (2), (3), (3), (4)) AS t(v) ORDER BY v;
-- refused: 0A000 DataFusion's window frames have no exclusion (EXCLUDE CURRENT ROW | GROUP | TIES); the hint says how to subtract the current row
SELECT v, sum(v) OVER (ORDER BY v ROWS BETWEEN 1 PRECEDING AND 1 FOLLOWING EXCLUDE CURRENT ROW) FROM (VALUES (1), (2), (3), (4)) AS t(v) ORDER BY v;
SELECT v, sum(v) OVER (ORDER BY v RANGE BETWEEN 1 PRECEDING AND 1 FOLLOWING) FROM (VALUES (1), (2), (2), (5)) AS t(v) ORDER BY v;
SELECT v, sum(v) OVER (ORDER BY v), sum(v) OVER (ORDER BY v ROWS UNBOUNDED PRECEDING) FROM (VALUES (1), (2), (2), (3)) AS t(v) ORDER BY v;
SELECT v, lag(v) OVER (ORDER BY v NULLS FIRST), lead(v) OVER (ORDER BY v NULLS FIRST) FROM (VALUES (1), (NULL), (3)) AS t(v) ORDER BY v NULLS FIRST;
SELECT v, rank() OVER (ORDER BY v DESC), dense_rank() OVER (ORDER BY v DESC) FROM (VALUES (1), (2), (2), (NULL)) AS t(v) ORDER BY v DESC;
SELECT hour, value, value - lag(value) OVER (ORDER BY hour) AS change FROM manual_stats WHERE tenant = 'okna' AND metric = 'staff_on_shift' ORDER BY hour LIMIT 10;
SELECT tenant, metric, max(value) OVER (PARTITION BY tenant, metric) AS peak FROM manual_stats GROUP BY tenant, metric, value ORDER BY 1, 2 LIMIT 3;
SELECT DISTINCT tenant, max(value) OVER (PARTITION BY tenant) FROM manual_stats ORDER BY 1;
SELECT manager_id, count(*) AS n, rank() OVER (ORDER BY count(*) DESC, manager_id) FROM leads WHERE manager_id IS NOT NULL AND tenant = 'okna' GROUP BY manager_id ORDER BY 3;
SELECT tenant, lead_id, answered_at - lag(answered_at) OVER (PARTITION BY tenant ORDER BY answered_at, lead_id) AS gap FROM leads WHERE answered_at < '2026-06-01 10:00+00' ORDER BY tenant, answered_at, lead_id;
SELECT tenant, lead_id, row_number() OVER w, rank() OVER w FROM leads WHERE created_at < '2026-06-01 08:00+00' WINDOW w AS (PARTITION BY tenant ORDER BY lead_id) ORDER BY tenant, lead_id;
