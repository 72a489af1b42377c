-- TEMPLATE survey_due: which leads are due a rating request at a moment now, and
-- whether the client needs a welcome message first (SPEC.md §2, §6). The
-- SMS/chat sender polls the view survey_due_now or survey_due('<utc time>').
-- Placeholders: now (a timestamp), now_us (the same in µs since the epoch),
-- lookback_hours.
-- A lead is due when it ended at most survey_lookback_hours (24) before now, was
-- answered, has a manager and a client, is in a rated channel (calls or
-- chats), has no request yet, and its client got no request across all
-- channels in (the lead's end - the interval, now]. The interval is the
-- one of the lead's scope when the tenant sets it
-- (survey_interval_calls_days, survey_interval_chats_days: the seed has a
-- setting for calls and one for chats), else survey_interval_days
-- (default 7) for both. The
-- cadence counts back from the lead's end, so a lead passed over for cadence
-- is never asked later (a poll after the week has passed still finds the
-- request within the lead's window); a request exactly the interval before
-- the lead's end does not hold it back. One row per client: its latest such
-- lead. welcome_needed: no message of any kind was ever sent to the client
-- in this tenant. The class filter does not apply here.
WITH messages AS (
    SELECT tenant,
           client_id,
           max(CASE WHEN kind = 'request' THEN sent_at END) AS last_request_at,
           count(*) AS messages
    FROM rating_requests
    WHERE sent_at <= {{now}}
    GROUP BY tenant, client_id
),
asked AS (
    SELECT DISTINCT tenant, lead_id
    FROM rating_requests
    WHERE kind = 'request' AND sent_at <= {{now}}
),
candidates AS (
    SELECT f.tenant, f.lead_id, f.client_id, f.manager_id, f.channel, f.scope, f.ended_at,
           row_number() OVER (PARTITION BY f.tenant, f.client_id
                              ORDER BY f.ended_at DESC, f.lead_id DESC) AS rn
    FROM lead_facts f
    LEFT JOIN asked a ON a.tenant = f.tenant AND a.lead_id = f.lead_id
    WHERE f.counted
      AND f.manager_id IS NOT NULL
      AND f.client_id IS NOT NULL
      AND f.ended_at <= {{now}}
      AND CAST(f.ended_at AS BIGINT) >= {{now_us}} - {{lookback_hours}} * 3600000000
      AND a.lead_id IS NULL
)
SELECT c.tenant,
       c.lead_id,
       c.client_id,
       c.manager_id,
       c.channel,
       CASE WHEN c.scope = 'calls' THEN 'sms' ELSE 'chat' END AS via,
       c.ended_at,
       m.messages IS NULL AS welcome_needed,
       m.last_request_at
FROM candidates c
LEFT JOIN messages m ON m.tenant = c.tenant AND m.client_id = c.client_id
LEFT JOIN tenants t ON t.tenant = c.tenant
WHERE c.rn = 1
  AND (m.last_request_at IS NULL
       OR CAST(m.last_request_at AS BIGINT)
          <= CAST(c.ended_at AS BIGINT)
             - coalesce(CASE c.scope WHEN 'calls' THEN t.survey_interval_calls_days
                                     WHEN 'chats' THEN t.survey_interval_chats_days END,
                        t.survey_interval_days, 7) * 86400000000)
