-- TEMPLATE summary_report: the summary "pies" (SPEC.md §2) per tenant and
-- period: counted leads, leads with a rating request, rated leads, average
-- score, for every channel and for all channels together (channel = 'all').
-- score_sum lets a reader combine rows exactly. Rendered into the views
-- summary_{day,week,month,quarter,year} and the table function
-- summary_report(from, to, scope, exclude_classes, managers). Placeholder
-- facts: the view lead_facts, or for the table function lead_facts over the
-- leads of the period only.
SELECT tenant,
       {{period_start}} AS period_start,
       coalesce(channel, 'all') AS channel,
       count(*) AS leads,
       sum(CASE WHEN requested THEN 1 ELSE 0 END) AS requested,
       sum(CASE WHEN rated THEN 1 ELSE 0 END) AS rated,
       sum(score) AS score_sum,
       avg(CAST(score AS DOUBLE)) AS avg_score,
       avg(CASE WHEN score >= 4 THEN 1.0 WHEN score IS NOT NULL THEN 0.0 END) AS csat
FROM {{facts}} f
WHERE f.counted AND ({{scope_filter}}) AND ({{filter}})
GROUP BY GROUPING SETS ((tenant, {{period_start}}, channel), (tenant, {{period_start}}))
