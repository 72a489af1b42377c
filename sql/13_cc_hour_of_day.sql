-- cc_hour_of_day: incoming contacts per tenant, channel and local hour of day
-- (0..23) over all time, with exact shares: filter cc_hourly_parts by period
-- yourself for a period's profile (the same sums apply).
CREATE VIEW cc_hour_of_day AS
SELECT tenant,
       CAST(date_part('hour', period_start) AS INT) AS hour_of_day,
       channel,
       sum(offered) AS offered,
       sum(answered) AS answered,
       sum(missed) AS missed,
       CAST(sum(missed) AS DOUBLE) / nullif(sum(offered), 0) AS abandon_rate,
       sum(reaction_sum_s) / nullif(sum(answered), 0) AS asa_s
FROM cc_hourly_parts
GROUP BY tenant, CAST(date_part('hour', period_start) AS INT), channel
