-- TEMPLATE parts_hour: the report parts of the contact-centre metrics
-- (SPEC.md §6): per tenant × local wall-clock hour of created_at × channel
-- × class, the additive figures of the incoming contacts of the `all`
-- scope (calls and chats; email and form are not contact-centre contacts,
-- SPEC.md §1). On a daylight-saving fall-back day the repeated hour is one
-- bucket; hours without contacts have no row. See cc_report.sql for the
-- metrics; sums of time are in whole microseconds (exact in any grouping).
-- Reads lead_base, not lead_facts: the ratings play no part here.
--
-- Rendered two ways (src/engine/parts.rs): materialised for every hour of
-- every tenant, kept by the server exactly as the facts change (the table
-- `report_parts_hour`); or over the leads of a period with a report's own
-- filter (a manager list: managers are not a dimension here; a period that
-- is not whole hours; a setting; parts behind the facts).
-- Placeholders: lead_base (the view, or a period's); parts_filter, which
-- leads (TRUE for the stored parts).
SELECT f.tenant,
       date_trunc('hour', f.created_local) AS period_start,
       f.channel,
       f.scope,
       f.class,
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
       coalesce(sum(f.reaction_us), 0) AS reaction_sum_us,
       coalesce(sum(CASE WHEN f.answered_at IS NOT NULL THEN f.dialog_us END), 0)
           AS dialog_sum_us,
       sum(CASE WHEN f.answered_at IS NOT NULL AND f.ended_at IS NOT NULL THEN 1 ELSE 0 END)
           AS dialogs
FROM {{lead_base}} f
LEFT JOIN tenants t ON t.tenant = f.tenant
WHERE f.direction = 'in' AND f.scope IS NOT NULL AND {{parts_filter}}
GROUP BY f.tenant, date_trunc('hour', f.created_local), f.channel, f.scope, f.class
