-- TEMPLATE cc_hour_of_day: incoming contacts per tenant, local hour of day
-- (0..23) and channel, and for all channels of the scope together
-- (channel = 'all'), with exact shares. Rendered into the view
-- cc_hour_of_day (all time, default filters) and the table function
-- cc_hour_of_day(from, to [, scope [, exclude_classes [, managers]]]).
-- Placeholders: parts, the hourly parts (the view cc_hourly_parts, or the
-- same SQL over the leads of a call's period and filters); filter, which
-- hourly rows take part.
SELECT tenant,
       CAST(date_part('hour', period_start) AS INT) AS hour_of_day,
       coalesce(channel, 'all') AS channel,
       sum(offered) AS offered,
       sum(answered) AS answered,
       sum(missed) AS missed,
       CAST(sum(missed) AS DOUBLE) / nullif(sum(offered), 0) AS abandon_rate,
       sum(reaction_sum_us) / 1e6 / nullif(sum(answered), 0) AS asa_s
FROM {{parts}}
WHERE {{filter}}
GROUP BY GROUPING SETS (
    (tenant, CAST(date_part('hour', period_start) AS INT), channel),
    (tenant, CAST(date_part('hour', period_start) AS INT)))
