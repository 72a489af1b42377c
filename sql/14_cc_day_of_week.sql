-- cc_day_of_week: incoming contacts per tenant, channel and local ISO day of
-- week (1 = Monday … 7 = Sunday).
CREATE VIEW cc_day_of_week AS
SELECT tenant,
       CAST(CASE WHEN date_part('dow', period_start) = 0 THEN 7
                 ELSE date_part('dow', period_start) END AS INT) AS day_of_week,
       channel,
       sum(offered) AS offered,
       sum(answered) AS answered,
       sum(missed) AS missed,
       CAST(sum(missed) AS DOUBLE) / nullif(sum(offered), 0) AS abandon_rate,
       sum(reaction_sum_s) / nullif(sum(answered), 0) AS asa_s
FROM cc_hourly_parts
GROUP BY 1, 2, 3
