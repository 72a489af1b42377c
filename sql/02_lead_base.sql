-- lead_base: every lead with its tenant's clock and its durations, one row
-- per lead: lead_facts without the rating columns (requested, score, rated),
-- for the reports that do not need them (the contact-centre metrics).
-- scope: 'calls' (call, callback), 'chats' (chat, social, messenger) or NULL
-- (email, form: never counted). counted: in a scope and answered
-- (answered_at set) — an unanswered chat is not counted either.
-- manager: manager_id, or 'Нет менеджера' for a lead nobody accepted.
-- created_local: created_at on the tenant's wall clock (tenants.timezone,
-- UTC when the tenant is unknown); a lead belongs to the period of this time.
-- reaction_s = answered_at − created_at, dialog_s = ended_at − answered_at,
-- in seconds; reaction_us, dialog_us the same in whole microseconds: the
-- reports sum these (integers add exactly, in any order and over any
-- grouping) and divide at the end, so a mean is the same however its
-- rows were summed up.
-- Placeholder: lead_filter, TRUE in the view; a parametrised report fills
-- in a pre-filter on `l` (a UTC window around its period, its month
-- partitions, its tenants) so that only those leads are read.
CREATE VIEW lead_base AS
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
       CAST(l.answered_at AS BIGINT) - CAST(l.created_at AS BIGINT) AS reaction_us,
       CAST(l.ended_at AS BIGINT) - CAST(l.answered_at AS BIGINT) AS dialog_us,
       l.tags,
       l.source
FROM leads l
LEFT JOIN tenants t ON t.tenant = l.tenant
WHERE {{lead_filter}}
