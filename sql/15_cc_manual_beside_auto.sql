-- cc_manual_beside_auto: every figure a supervisor typed in (manual_stats),
-- on the tenant's local hour, beside the automatic figures of that hour
-- (all channels): offered, answered, missed.
-- The local hour is a column of `manual` before the join, so a filter on
-- period_start (a dashboard's period) also reaches the automatic side: the
-- hourly parts of that period are read, not the tenant's whole history.
CREATE VIEW cc_manual_beside_auto AS
WITH manual AS (
    SELECT m.tenant,
           date_trunc('hour', local_time(m.hour, coalesce(t.timezone, 'UTC'))) AS period_start,
           m.metric,
           m.value,
           m.author,
           m.comment
    FROM manual_stats m
    LEFT JOIN tenants t ON t.tenant = m.tenant
),
auto AS (
    SELECT tenant, period_start, sum(offered) AS offered, sum(answered) AS answered,
           sum(missed) AS missed
    FROM cc_hourly_parts
    GROUP BY tenant, period_start
)
SELECT m.tenant,
       m.period_start,
       m.metric,
       m.value AS manual_value,
       m.author,
       m.comment,
       coalesce(a.offered, 0) AS offered,
       coalesce(a.answered, 0) AS answered,
       coalesce(a.missed, 0) AS missed
FROM manual m
LEFT JOIN auto a ON a.tenant = m.tenant AND a.period_start = m.period_start
