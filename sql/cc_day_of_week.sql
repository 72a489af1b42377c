-- TEMPLATE cc_day_of_week: incoming contacts per tenant, local ISO day of
-- week (1 = Monday … 7 = Sunday) and channel, and for all channels of the
-- scope together (channel = 'all'). Rendered into the view cc_day_of_week
-- (all time, default filters) and the table function
-- cc_day_of_week(from, to [, scope [, exclude_classes [, managers]]]).
-- Placeholders as in cc_hour_of_day.sql.
SELECT tenant,
       CAST(CASE WHEN date_part('dow', period_start) = 0 THEN 7
                 ELSE date_part('dow', period_start) END AS INT) AS day_of_week,
       coalesce(channel, 'all') AS channel,
       sum(offered) AS offered,
       sum(answered) AS answered,
       sum(missed) AS missed,
       CAST(sum(missed) AS DOUBLE) / nullif(sum(offered), 0) AS abandon_rate,
       sum(reaction_sum_us) / 1e6 / nullif(sum(answered), 0) AS asa_s
FROM {{parts}}
WHERE {{filter}}
GROUP BY GROUPING SETS (
    (tenant, CAST(CASE WHEN date_part('dow', period_start) = 0 THEN 7
                       ELSE date_part('dow', period_start) END AS INT), channel),
    (tenant, CAST(CASE WHEN date_part('dow', period_start) = 0 THEN 7
                       ELSE date_part('dow', period_start) END AS INT)))
