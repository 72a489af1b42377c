-- lead_facts: every lead with what the reports need, one row per lead.
-- scope: 'calls' (call, callback), 'chats' (chat, social, messenger) or NULL
-- (email, form: never counted). counted: in a scope and answered
-- (answered_at set) — an unanswered chat is not counted either.
-- manager: manager_id, or 'Нет менеджера' for a lead nobody accepted.
-- created_local: created_at on the tenant's wall clock (tenants.timezone,
-- UTC when the tenant is unknown); a lead belongs to the period of this time.
-- reaction_s = answered_at − created_at, dialog_s = ended_at − answered_at,
-- in seconds. requested: at least one 'request' message (welcome and
-- reaction are not requests). score: the effective score of the lead's
-- latest valid rating (by received_at, then rating_id); rated = score set.
CREATE VIEW lead_facts AS
WITH requested AS (
    SELECT tenant, lead_id, count(*) AS requests
    FROM rating_requests
    WHERE kind = 'request'
    GROUP BY tenant, lead_id
),
scored AS (
    SELECT tenant, lead_id, effective_score AS score
    FROM (
        SELECT tenant, lead_id, effective_score,
               row_number() OVER (PARTITION BY tenant, lead_id
                                  ORDER BY received_at DESC, rating_id DESC) AS rn
        FROM ratings_effective
        WHERE effective_score IS NOT NULL
    ) ranked
    WHERE rn = 1
)
SELECT l.tenant,
       l.lead_id,
       l.channel,
       CASE WHEN l.channel IN ('call', 'callback') THEN 'calls'
            WHEN l.channel IN ('chat', 'social', 'messenger') THEN 'chats'
       END AS scope,
       l.direction,
       l.class,
       l.manager_id,
       coalesce(l.manager_id, 'Нет менеджера') AS manager,
       l.client_id,
       l.created_at,
       l.created_month,
       local_time(l.created_at, coalesce(t.timezone, 'UTC')) AS created_local,
       coalesce(t.timezone, 'UTC') AS timezone,
       l.answered_at,
       l.ended_at,
       l.channel IN ('call', 'callback', 'chat', 'social', 'messenger')
           AND l.answered_at IS NOT NULL AS counted,
       (CAST(l.answered_at AS BIGINT) - CAST(l.created_at AS BIGINT)) / 1e6 AS reaction_s,
       (CAST(l.ended_at AS BIGINT) - CAST(l.answered_at AS BIGINT)) / 1e6 AS dialog_s,
       q.lead_id IS NOT NULL AS requested,
       s.score,
       s.score IS NOT NULL AS rated,
       l.tags,
       l.source
FROM leads l
LEFT JOIN tenants t ON t.tenant = l.tenant
LEFT JOIN requested q ON q.tenant = l.tenant AND q.lead_id = l.lead_id
LEFT JOIN scored s ON s.tenant = l.tenant AND s.lead_id = l.lead_id
