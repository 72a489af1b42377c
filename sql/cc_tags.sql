-- TEMPLATE cc_tags: the contact-centre counts by tag (SPEC.md §3, §6): per
-- tenant, key and channel (and for all channels of the scope together,
-- channel = 'all'), the incoming contacts of the scope (calls and chats;
-- email and form never) that carry a tag, under the report filters
-- (classes excluded, managers): offered, answered, missed. A contact's tags
-- are its own `tags` together with the tags of its lead_notes (added
-- later), trimmed, each counted once per contact (parts_tags.sql).
-- Rendered into
--   the view cc_tags (key period_start = the local day, default filters),
--   the view cc_tag_hours (key hour_of_day 0..23: when and through which
--     channel a topic comes, all time),
--   the table functions cc_tags(from, to [, grain [, scope
--     [, exclude_classes [, managers]]]]) and cc_tag_hours(from, to
--     [, scope [, exclude_classes [, managers]]]).
-- Placeholders: parts, the tag parts (the kept table report_parts_tags, or
-- the same SQL over the leads of a call's period); filter on the parts
-- `f` (scope, classes, period); key, the key expression on f.period_start
-- (the part's local hour), and key_name, its column name.
SELECT tenant,
       {{key}} AS {{key_name}},
       coalesce(channel, 'all') AS channel,
       tag,
       sum(offered) AS offered,
       sum(answered) AS answered,
       sum(missed) AS missed
FROM {{parts}} f
WHERE {{filter}}
GROUP BY GROUPING SETS ((tenant, {{key}}, channel, tag), (tenant, {{key}}, tag))
