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
-- managers [, grain]). Placeholders: facts, the view lead_facts, or for the
-- table function lead_facts over the leads of the period only;
-- period_start, the period of a lead; scope_filter and filter, which leads
-- count; channels, the channels of the scope as `('call'), …`.
WITH by_channel AS (
    SELECT tenant,
           {{period_start}} AS period_start,
           channel,
           count(*) AS leads,
           sum(CASE WHEN requested THEN 1 ELSE 0 END) AS requested,
           sum(CASE WHEN rated THEN 1 ELSE 0 END) AS rated,
           sum(score) AS score_sum,
           sum(CASE WHEN score >= 4 THEN 1 ELSE 0 END) AS good
    FROM {{facts}} f
    WHERE f.counted AND ({{scope_filter}}) AND ({{filter}})
    GROUP BY tenant, {{period_start}}, channel
)
-- Each (tenant, period) row set meets every channel of the scope and 'all':
-- a channel's row sums its own counts (none: zeros), 'all' sums them all.
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
