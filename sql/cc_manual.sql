-- TEMPLATE cc_manual: the figures supervisors type in every hour
-- (manual_stats) rolled up to a period, beside the automatic figures of
-- that period (incoming contacts of the scope, all its channels):
-- offered, answered, missed. How a metric rolls up depends on what it is:
--   - a count over the hour (calls taken in another system, complaints, …)
--     is additive: the period's value is the sum of its hours (rollup 'sum');
--   - a level at a moment (staff on shift, agents logged in, queue length;
--     the metrics listed in reports.manual_last_value_metrics) is not: the
--     period's value is the value of its latest hour (rollup 'last').
-- hours = how many hourly figures the period has; last_hour = the latest
-- of them (local). Rendered into the views cc_manual_hourly … cc_manual_yearly
-- and the table function cc_manual(from, to [, grain [, scope
-- [, exclude_classes [, managers]]]]).
-- Placeholders: unit, the date_trunc unit of the period; parts, the hourly
-- contact-centre parts (the view, or those of a call's period and
-- filters); manual_filter, which figures take part (on `hour_local`);
-- last_metrics, the quoted list of level metrics.
WITH figures AS (
    SELECT m.tenant,
           date_trunc('hour', local_time(m.hour, coalesce(t.timezone, 'UTC'))) AS hour_local,
           m.metric,
           m.value
    FROM manual_stats m
    LEFT JOIN tenants t ON t.tenant = m.tenant
),
rolled AS (
    SELECT tenant,
           date_trunc('{{unit}}', hour_local) AS period_start,
           metric,
           CASE WHEN metric IN ({{last_metrics}}) THEN 'last' ELSE 'sum' END AS rollup,
           CASE WHEN metric IN ({{last_metrics}})
                THEN last_value(value ORDER BY hour_local)
                ELSE sum(value) END AS value,
           count(*) AS hours,
           max(hour_local) AS last_hour
    FROM figures
    WHERE {{manual_filter}}
    GROUP BY tenant, date_trunc('{{unit}}', hour_local), metric
),
auto AS (
    SELECT tenant,
           date_trunc('{{unit}}', period_start) AS period_start,
           sum(offered) AS offered,
           sum(answered) AS answered,
           sum(missed) AS missed
    FROM {{parts}}
    GROUP BY tenant, date_trunc('{{unit}}', period_start)
)
SELECT r.tenant,
       r.period_start,
       r.metric,
       r.rollup,
       r.value,
       r.hours,
       r.last_hour,
       coalesce(a.offered, 0) AS offered,
       coalesce(a.answered, 0) AS answered,
       coalesce(a.missed, 0) AS missed
FROM rolled r
LEFT JOIN auto a ON a.tenant = r.tenant AND a.period_start = r.period_start
