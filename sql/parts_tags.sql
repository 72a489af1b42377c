-- TEMPLATE parts_tags: the report parts of the contact-centre counts by tag
-- (SPEC.md §3, §6): per tenant × local wall-clock hour of created_at
-- (period_start) × channel × scope × class × tag, the incoming contacts of
-- the `all` scope (calls and chats; email and form never) that carry the
-- tag: offered, answered, missed. A contact's tags are its own `tags`
-- together with the tags of its lead_notes (added later), trimmed, each
-- counted once per contact; a contact is in one hour and one channel, so
-- the counts add up over hours and channels.
--
-- Rendered two ways (src/engine/parts.rs): materialised for every hour of
-- every tenant, kept by the server as the facts change (the table
-- `report_parts_tags`); or over the leads of a period with a report's own
-- filter (a manager list: managers are not a dimension here; a period that
-- is not whole hours; a setting; parts behind the facts).
-- Placeholders: lead_base (the view, or a period's); parts_filter, which
-- leads (TRUE for the stored parts).
WITH b AS (
    SELECT f.tenant, f.lead_id, f.channel, f.scope, f.class, f.created_local,
           f.answered_at, f.tags
    FROM {{lead_base}} f
    WHERE f.direction = 'in' AND f.scope IS NOT NULL AND {{parts_filter}}
),
notes AS (
    SELECT tenant, lead_id, array_agg(tag) AS tags
    FROM lead_notes
    WHERE tag IS NOT NULL AND lead_id IN (SELECT lead_id FROM b)
    GROUP BY tenant, lead_id
),
tagged AS (
    SELECT DISTINCT tenant, lead_id, channel, scope, class, period_start, answered,
           trim(tag) AS tag
    FROM (
        SELECT b.tenant, b.lead_id, b.channel, b.scope, b.class,
               date_trunc('hour', b.created_local) AS period_start,
               b.answered_at IS NOT NULL AS answered,
               unnest(array_concat(coalesce(b.tags, make_array()),
                                   coalesce(n.tags, make_array()))) AS tag
        FROM b
        LEFT JOIN notes n ON n.tenant = b.tenant AND n.lead_id = b.lead_id
    ) each_tag
)
SELECT tenant,
       period_start,
       channel,
       scope,
       class,
       tag,
       count(*) AS offered,
       sum(CASE WHEN answered THEN 1 ELSE 0 END) AS answered,
       sum(CASE WHEN answered THEN 0 ELSE 1 END) AS missed
FROM tagged
WHERE tag <> ''
GROUP BY tenant, period_start, channel, scope, class, tag
