-- cc_tags: contacts per tenant, local day, channel and tag. A contact's tags
-- are its own `tags` together with the tags of its lead_notes (added later),
-- trimmed, each counted once per contact. Both directions are counted.
CREATE VIEW cc_tags AS
WITH tagged AS (
    SELECT tenant, lead_id, trim(tag) AS tag
    FROM (SELECT tenant, lead_id, unnest(tags) AS tag FROM leads) own
    UNION ALL
    SELECT tenant, lead_id, trim(tag) AS tag FROM lead_notes WHERE tag IS NOT NULL
),
distinct_tags AS (
    SELECT DISTINCT tenant, lead_id, tag FROM tagged WHERE tag <> ''
)
SELECT f.tenant,
       date_trunc('day', f.created_local) AS day,
       f.channel,
       d.tag,
       count(*) AS contacts
FROM distinct_tags d
JOIN lead_facts f ON f.tenant = d.tenant AND f.lead_id = d.lead_id
GROUP BY f.tenant, date_trunc('day', f.created_local), f.channel, d.tag
