-- TEMPLATE summary_report: the summary "pies" (SPEC.md §2) per tenant and
-- period: counted leads, leads with a rating request, rated leads, average
-- score, for every channel of the scope and for all of them together
-- (channel = 'all'). Every channel of the scope has its row, with zeros
-- when it had no counted lead in the period (a pie's legend stays the same
-- from one period to the next; avg_score and csat are then NULL); a tenant
-- with no counted lead in a period has no rows for it. score_sum and rated
-- (leads with a valid score) let a reader combine rows exactly.
-- Rendered into the views summary_{day,week,month,quarter,year} and the
-- table function summary_report(from, to, scope, exclude_classes,
-- managers [, grain]). Placeholders: parts, the report parts
-- (parts_day.sql: the kept table report_parts_day, or the same SQL over
-- the leads of a period); period_start, the period of a part (of its
-- `day`); scope_filter and filter, which parts count; channels, the
-- channels of the scope as `('call'), …`. Every figure is a sum of the
-- parts' integer sums: the same as over the leads.
WITH by_channel AS (
    SELECT tenant,
           {{period_start}} AS period_start,
           channel,
           sum(leads) AS leads,
           sum(requested) AS requested,
           sum(rated) AS rated,
           sum(score_sum) AS score_sum,
           sum(good) AS good
    FROM {{parts}} f
    WHERE f.counted AND ({{scope_filter}}) AND ({{filter}})
    GROUP BY tenant, {{period_start}}, channel
)
SELECT c.tenant,
       c.period_start,
       c.channel,
       CAST(coalesce(sum(CASE WHEN c.hit THEN c.leads END), 0) AS BIGINT) AS leads,
       CAST(coalesce(sum(CASE WHEN c.hit THEN c.requested END), 0) AS BIGINT) AS requested,
       CAST(coalesce(sum(CASE WHEN c.hit THEN c.rated END), 0) AS BIGINT) AS rated,
       sum(CASE WHEN c.hit THEN c.score_sum END) AS score_sum,
       CAST(sum(CASE WHEN c.hit THEN c.score_sum END) AS DOUBLE)
           / nullif(sum(CASE WHEN c.hit THEN c.rated END), 0) AS avg_score,
       CAST(sum(CASE WHEN c.hit THEN c.good END) AS DOUBLE)
           / nullif(sum(CASE WHEN c.hit THEN c.rated END), 0) AS csat
FROM (
    SELECT b.tenant, b.period_start, k.channel, b.leads, b.requested, b.rated,
           b.score_sum, b.good,
           k.channel = 'all' OR k.channel = b.channel AS hit
    FROM by_channel b
    CROSS JOIN (VALUES {{channels}}, ('all')) AS k(channel)
) c
GROUP BY c.tenant, c.period_start, c.channel
