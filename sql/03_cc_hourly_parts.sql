-- cc_hourly_parts: the additive parts of the contact-centre metrics per
-- tenant, local wall-clock hour of created_at and channel: incoming contacts
-- of the `all` scope (calls and chats; email and form are not contact-centre
-- contacts, SPEC.md §1), with the default class exclusions
-- (reports.exclude_classes). On a daylight-saving fall-back day the repeated
-- hour is one bucket; hours without contacts have no row. See cc_report.sql
-- for the metrics.
-- Sums the hourly report parts (report_parts_hour, parts_hour.sql: the same
-- figures per class and scope too), which the server keeps as the facts
-- change.
-- Placeholder: parts_filter, the default class exclusions.
CREATE VIEW cc_hourly_parts AS
SELECT f.tenant,
       f.period_start,
       f.channel,
       sum(f.offered) AS offered,
       sum(f.answered) AS answered,
       sum(f.missed) AS missed,
       sum(f.short_abandons) AS short_abandons,
       sum(f.answered_in_sl) AS answered_in_sl,
       sum(f.reaction_sum_us) / 1e6 AS reaction_sum_s,
       sum(f.dialog_sum_us) / 1e6 AS dialog_sum_s,
       sum(f.reaction_sum_us) AS reaction_sum_us,
       sum(f.dialog_sum_us) AS dialog_sum_us,
       sum(f.dialogs) AS dialogs
FROM report_parts_hour f
WHERE {{parts_filter}}
GROUP BY f.tenant, f.period_start, f.channel
