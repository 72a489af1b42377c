-- TEMPLATE cc_report: contact-centre metrics (SPEC.md §3) per tenant,
-- period and channel, and for all channels of the scope together
-- (channel = 'all'), for incoming contacts (direction = 'in') of calls and
-- chats. cc_report(from, to [, grain [, scope [, exclude_classes
-- [, managers]]]]) takes the filters of every report.
-- The additive parts are counted per local wall-clock hour (cc_hourly);
-- every coarser period (cc_daily, cc_weekly, cc_monthly, cc_quarterly,
-- cc_yearly and the table function cc_report(from, to, grain)) sums those
-- parts and only then divides, so rollups are exact: never an average of
-- averages.
--
-- Columns (durations in seconds, shares as fractions 0..1, NULL when the
-- denominator is 0):
--   offered, answered, missed, short_abandons (missed with ended_at −
--   created_at < short_abandon_s s; unknown end: never short),
--   answered_in_sl (reaction ≤ the tenant's service_level_seconds),
--   reaction_sum_s, dialog_sum_s (summed in whole microseconds, parts'
--   reaction_sum_us / dialog_sum_us, and divided at the end: exact in any
--   grouping), dialogs (answered contacts with ended_at);
--   abandon_rate = missed / offered; asa_s = reaction_sum_s / answered;
--   aht_s = dialog_sum_s / dialogs;
--   service_level_over_offered = answered_in_sl / offered (abandons fail);
--   service_level_over_answered = answered_in_sl / answered (abandons removed);
--   service_level_excl_short = answered_in_sl / (offered − short_abandons).
--
-- Placeholders: bucket the period of an hourly row (from period_start);
-- filter which hourly rows take part; parts the hourly parts (the view
-- cc_hourly_parts, or for the table function the same SQL over the leads
-- of the period only).
SELECT tenant,
       {{bucket}} AS period_start,
       coalesce(channel, 'all') AS channel,
       sum(offered) AS offered,
       sum(answered) AS answered,
       sum(missed) AS missed,
       sum(short_abandons) AS short_abandons,
       sum(answered_in_sl) AS answered_in_sl,
       sum(reaction_sum_us) / 1e6 AS reaction_sum_s,
       sum(dialog_sum_us) / 1e6 AS dialog_sum_s,
       sum(dialogs) AS dialogs,
       CAST(sum(missed) AS DOUBLE) / nullif(sum(offered), 0) AS abandon_rate,
       sum(reaction_sum_us) / 1e6 / nullif(sum(answered), 0) AS asa_s,
       sum(dialog_sum_us) / 1e6 / nullif(sum(dialogs), 0) AS aht_s,
       CAST(sum(answered_in_sl) AS DOUBLE) / nullif(sum(offered), 0)
           AS service_level_over_offered,
       CAST(sum(answered_in_sl) AS DOUBLE) / nullif(sum(answered), 0)
           AS service_level_over_answered,
       CAST(sum(answered_in_sl) AS DOUBLE) / nullif(sum(offered) - sum(short_abandons), 0)
           AS service_level_excl_short
FROM {{parts}}
WHERE {{filter}}
GROUP BY GROUPING SETS ((tenant, {{bucket}}, channel), (tenant, {{bucket}}))
