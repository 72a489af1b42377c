-- TEMPLATE cc_tags: the contact-centre counts by tag (SPEC.md §3, §6): per
-- tenant, key and channel (and for all channels of the scope together,
-- channel = 'all'), the incoming contacts of the scope (calls and chats;
-- email and form never) that carry a tag, under the report filters
-- (classes excluded, managers): offered, answered, missed. A contact's tags
-- are its own `tags` together with the tags of its lead_notes (added
-- later), trimmed, each counted once per contact.
-- Rendered into
--   the view cc_tags (key period_start = the local day, default filters),
--   the view cc_tag_hours (key hour_of_day 0..23: when and through which
--     channel a topic comes, all time),
--   the table functions cc_tags(from, to [, grain [, scope
--     [, exclude_classes [, managers]]]]) and cc_tag_hours(from, to
--     [, scope [, exclude_classes [, managers]]]).
-- Placeholders: lead_base (the view, or the leads of a call's period);
-- filter on the leads `f`; note_keys, which notes are read (TRUE, or the
-- notes of the period's leads only); key, the key expression on
-- f.created_local, and key_name, its column name.
WITH b AS (
    SELECT f.tenant, f.lead_id, f.channel, f.created_local, f.answered_at, f.tags
    FROM {{lead_base}} f
    WHERE f.direction = 'in' AND f.scope IS NOT NULL AND {{filter}}
),
notes AS (
    SELECT tenant, lead_id, array_agg(tag) AS tags
    FROM lead_notes
    WHERE tag IS NOT NULL AND {{note_keys}}
    GROUP BY tenant, lead_id
),
tagged AS (
    SELECT DISTINCT tenant, lead_id, channel, key, answered, trim(tag) AS tag
    FROM (
        SELECT b.tenant, b.lead_id, b.channel,
               {{key}} AS key,
               b.answered_at IS NOT NULL AS answered,
               unnest(array_concat(coalesce(b.tags, make_array()),
                                   coalesce(n.tags, make_array()))) AS tag
        FROM b
        LEFT JOIN notes n ON n.tenant = b.tenant AND n.lead_id = b.lead_id
    ) each_tag
)
SELECT tenant,
       key AS {{key_name}},
       coalesce(channel, 'all') AS channel,
       tag,
       count(*) AS offered,
       sum(CASE WHEN answered THEN 1 ELSE 0 END) AS answered,
       sum(CASE WHEN answered THEN 0 ELSE 1 END) AS missed
FROM tagged
WHERE tag <> ''
GROUP BY GROUPING SETS ((tenant, key, channel, tag), (tenant, key, tag))
