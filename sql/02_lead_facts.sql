-- lead_facts: every lead with what the reports need, one row per lead:
-- lead_base (scope, counted, manager, created_local, reaction_s, dialog_s:
-- see 02_lead_base.sql) plus the ratings. requested: at least one 'request'
-- message (welcome and reaction are not requests). score: the effective
-- score of the lead's latest valid rating (by received_at, then rating_id;
-- (tenant, rating_id) is a key, so the order has no ties); rated = score set.
-- Placeholders: lead_base, the view lead_base here; a parametrised report
-- fills in lead_base restricted to its period, and lead_keys (TRUE here)
-- with `lead_id IN (SELECT lead_id FROM b)`, so that only the requests and
-- ratings of those leads are read and aggregated.
CREATE VIEW lead_facts AS
WITH b AS (
    SELECT * FROM {{lead_base}}
),
requested AS (
    SELECT tenant, lead_id, count(*) AS requests
    FROM rating_requests
    WHERE kind = 'request' AND {{lead_keys}}
    GROUP BY tenant, lead_id
),
scored AS (
    SELECT tenant,
           lead_id,
           first_value(effective_score ORDER BY received_at DESC, rating_id DESC) AS score
    FROM ratings_effective
    WHERE effective_score IS NOT NULL AND {{lead_keys}}
    GROUP BY tenant, lead_id
)
SELECT b.tenant,
       b.lead_id,
       b.channel,
       b.scope,
       b.direction,
       b.class,
       b.manager_id,
       b.manager,
       b.client_id,
       b.created_at,
       b.created_month,
       b.created_local,
       b.timezone,
       b.answered_at,
       b.ended_at,
       b.counted,
       b.reaction_s,
       b.dialog_s,
       b.reaction_us,
       b.dialog_us,
       q.lead_id IS NOT NULL AS requested,
       s.score,
       s.score IS NOT NULL AS rated,
       b.tags,
       b.source
FROM b
LEFT JOIN requested q ON q.tenant = b.tenant AND q.lead_id = b.lead_id
LEFT JOIN scored s ON s.tenant = b.tenant AND s.lead_id = b.lead_id
