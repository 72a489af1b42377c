-- TEMPLATE bubble_speed: the speed bubble chart (SPEC.md §2) from a manager
-- report: x = mean dialog time, y = mean reaction time (seconds; on both
-- axes less is better), size = average score; highlight marks the
-- best-service manager; x_min / y_min start the axes at the sample's
-- minimum. The placeholder source is a manager report.
SELECT tenant,
       period_start,
       scope,
       manager,
       mean_dialog_s AS x,
       mean_reaction_s AS y,
       avg_score AS size,
       array_has(achievements, 'best_service') AS highlight,
       is_outlier,
       min(mean_dialog_s) OVER (PARTITION BY tenant, period_start, scope) AS x_min,
       min(mean_reaction_s) OVER (PARTITION BY tenant, period_start, scope) AS y_min
FROM ({{source}}) m
WHERE manager_id IS NOT NULL
