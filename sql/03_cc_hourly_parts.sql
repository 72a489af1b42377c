-- cc_hourly_parts: the additive parts of the contact-centre metrics per
-- tenant, local wall-clock hour of created_at and channel: incoming contacts
-- of the `all` scope (calls and chats; email and form are not contact-centre
-- contacts, SPEC.md §1), with the default class exclusions
-- (reports.exclude_classes). On a
-- daylight-saving fall-back day the repeated hour is one bucket;
-- hours without contacts have no row. See cc_report.sql for the metrics.
-- Reads lead_base, not lead_facts: the ratings play no part here.
-- Placeholders: lead_base, the view lead_base here; parts_filter, the
-- default class exclusions here. A contact-centre table function fills in
-- lead_base restricted to its period and its own filter (scope, classes,
-- managers).
CREATE VIEW cc_hourly_parts AS
SELECT f.tenant,
       date_trunc('hour', f.created_local) AS period_start,
       f.channel,
       count(*) AS offered,
       sum(CASE WHEN f.answered_at IS NOT NULL THEN 1 ELSE 0 END) AS answered,
       sum(CASE WHEN f.answered_at IS NULL THEN 1 ELSE 0 END) AS missed,
       sum(CASE WHEN f.answered_at IS NULL
                 AND (CAST(f.ended_at AS BIGINT) - CAST(f.created_at AS BIGINT)) / 1e6
                     < {{short_abandon_s}}
                THEN 1 ELSE 0 END) AS short_abandons,
       sum(CASE WHEN f.answered_at IS NOT NULL
                 AND f.reaction_s <= coalesce(t.service_level_seconds, 20)
                THEN 1 ELSE 0 END) AS answered_in_sl,
       coalesce(sum(f.reaction_us), 0) / 1e6 AS reaction_sum_s,
       coalesce(sum(CASE WHEN f.answered_at IS NOT NULL THEN f.dialog_us END), 0) / 1e6
           AS dialog_sum_s,
       coalesce(sum(f.reaction_us), 0) AS reaction_sum_us,
       coalesce(sum(CASE WHEN f.answered_at IS NOT NULL THEN f.dialog_us END), 0)
           AS dialog_sum_us,
       sum(CASE WHEN f.answered_at IS NOT NULL AND f.ended_at IS NOT NULL THEN 1 ELSE 0 END)
           AS dialogs
FROM {{lead_base}} f
LEFT JOIN tenants t ON t.tenant = f.tenant
WHERE f.direction = 'in' AND f.scope IS NOT NULL AND {{parts_filter}}
GROUP BY f.tenant, date_trunc('hour', f.created_local), f.channel
