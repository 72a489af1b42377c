-- TEMPLATE bubble_productivity: the productivity bubble chart (SPEC.md §2)
-- from a manager report: x = leads handled, y = response rate, size =
-- average score; highlight marks the best-service manager. x_min / y_min are
-- the sample's minimum for the axes (axes start there, not at zero). The
-- "Нет менеджера" row is not a bubble. The placeholder source is a manager report.
SELECT tenant,
       period_start,
       scope,
       manager,
       leads AS x,
       response_rate AS y,
       avg_score AS size,
       array_has(achievements, 'best_service') AS highlight,
       is_outlier,
       min(leads) OVER (PARTITION BY tenant, period_start, scope) AS x_min,
       min(response_rate) OVER (PARTITION BY tenant, period_start, scope) AS y_min
FROM ({{source}}) m
WHERE manager_id IS NOT NULL
