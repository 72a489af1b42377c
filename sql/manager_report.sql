-- TEMPLATE manager_report: the manager table (SPEC.md §2) with outlier flags
-- and achievements, one row per (tenant, period, scope, manager).
-- Rendered into the views manager_report_{day,week,month,quarter,year}
-- (period = the tenant-local calendar bucket, default class exclusions) and
-- into the table function manager_report(from, to, scope, exclude_classes,
-- managers) (period = [from, to) on each tenant's wall clock), so a view and
-- a call with the same filter give the same rows.
--
-- Placeholders: period_start the period of a lead; filter which
-- counted leads take part; ratio the outlier ratio; prior the prior
-- weight of fair_score; service_score the column that ranks "best
-- service" (avg_score by default, fair_score as a setting); min_ratings
-- ratings a manager needs to contest best service; parts the report parts
-- of the leads (parts_day.sql: the kept table report_parts_day, or the
-- same SQL over the leads of a period), whose `day` stands for the leads'
-- local day in period_start and filter.
--
-- The per-manager figures are sums of the parts (integers: exact in any
-- grouping), divided at the end — the same numbers as over the leads.
--
-- The "Нет менеджера" row (manager_id NULL) is counted and shown, but takes
-- no part in medians, outliers (is_outlier NULL) or achievements.
-- Every lead counts in its own scope and in 'all' (a lead without a scope,
-- never counted, in 'all' only): an equi-join on the lead's scope, which
-- DataFusion hashes (an OR condition here was a nested-loop join).
WITH facts AS (
    SELECT f.*, s.scope_name, {{period_start}} AS period_start
    FROM {{parts}} f
    JOIN (VALUES ('calls', 'calls'), ('chats', 'chats'),
                 ('calls', 'all'), ('chats', 'all'), ('', 'all')) AS s(lead_scope, scope_name)
      ON s.lead_scope = coalesce(f.scope, '')
    WHERE f.counted
      AND ({{filter}})
),
per_manager AS (
    SELECT tenant,
           period_start,
           scope_name AS scope,
           manager_id,
           sum(leads) AS leads,
           CAST(sum(reaction_us_sum) AS DOUBLE) / nullif(sum(reaction_n), 0) / 1e6
               AS mean_reaction_s,
           CAST(sum(dialog_us_sum) AS DOUBLE) / nullif(sum(dialog_n), 0) / 1e6
               AS mean_dialog_s,
           sum(rated) AS ratings,
           CAST(sum(score_sum) AS DOUBLE) / nullif(sum(rated), 0) AS avg_score,
           CAST(sum(good) AS DOUBLE) / nullif(sum(rated), 0) AS csat,
           sum(requested) AS requested,
           sum(rated_requested) AS rated_requested
    FROM facts
    GROUP BY tenant, period_start, scope_name, manager_id
),
ranked AS (
    SELECT p.*,
           CAST(ratings AS DOUBLE) / leads AS response_rate,
           CASE WHEN requested > 0 THEN CAST(rated_requested AS DOUBLE) / requested END
               AS response_rate_requested,
           fair_score(CASE WHEN manager_id IS NOT NULL THEN avg_score END,
                      CASE WHEN manager_id IS NOT NULL THEN ratings END,
                      {{prior}})
               OVER (PARTITION BY tenant, period_start, scope) AS fair_score,
           outlier_flag(CASE WHEN manager_id IS NOT NULL THEN avg_score END,
                        CASE WHEN manager_id IS NOT NULL THEN leads END,
                        {{ratio}})
               OVER (PARTITION BY tenant, period_start, scope) AS outlier
    FROM per_manager p
)
SELECT tenant,
       period_start,
       scope,
       coalesce(manager_id, 'Нет менеджера') AS manager,
       manager_id,
       leads,
       mean_reaction_s,
       mean_dialog_s,
       ratings,
       avg_score,
       csat,
       response_rate,
       requested,
       response_rate_requested,
       fair_score,
       CASE WHEN manager_id IS NOT NULL THEN outlier END AS is_outlier,
       achievements(leads, response_rate, mean_reaction_s, mean_dialog_s,
                    CASE WHEN ratings >= {{min_ratings}} THEN {{service_score}} END,
                    ratings,
                    outlier OR manager_id IS NULL)
           OVER (PARTITION BY tenant, period_start, scope) AS achievements
FROM ranked
