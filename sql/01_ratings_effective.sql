-- ratings_effective: every rating with its effective score after moderation.
-- One row per rating. The latest moderation (by moderated_at) wins; a
-- moderation with an empty new_score voids the rating. Without moderation a
-- parsed score in 1..5 is valid; anything else (7, 0, text) is kept as
-- received, has no effective score and waits in ratings_to_moderate.
-- status: valid | moderated | voided | to_moderate.
CREATE VIEW ratings_effective AS
WITH last_moderation AS (
    SELECT tenant, rating_id, new_score, moderator, moderated_at, reason
    FROM (
        SELECT m.*,
               row_number() OVER (PARTITION BY tenant, rating_id
                                  ORDER BY moderated_at DESC) AS rn
        FROM rating_moderations m
    ) ranked
    WHERE rn = 1
)
SELECT r.tenant,
       r.rating_id,
       r.lead_id,
       r.score_raw,
       r.score,
       r.received_at,
       m.moderated_at IS NOT NULL AS moderated,
       m.moderator,
       m.moderated_at,
       m.reason AS moderation_reason,
       CASE WHEN m.moderated_at IS NOT NULL THEN m.new_score
            WHEN r.score BETWEEN 1 AND 5 THEN r.score
       END AS effective_score,
       CASE WHEN m.moderated_at IS NOT NULL AND m.new_score IS NULL THEN 'voided'
            WHEN m.moderated_at IS NOT NULL THEN 'moderated'
            WHEN r.score BETWEEN 1 AND 5 THEN 'valid'
            ELSE 'to_moderate'
       END AS status
FROM ratings r
LEFT JOIN last_moderation m
       ON m.tenant = r.tenant AND m.rating_id = r.rating_id
