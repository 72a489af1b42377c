-- ratings_effective: every rating with its effective score after moderation.
-- One row per rating. The latest moderation (by moderated_at) wins; a
-- moderation with an empty new_score voids the rating. Without moderation a
-- parsed score in 1..5 is valid; anything else (7, 0, text) is kept as
-- received, has no effective score and waits in ratings_to_moderate.
-- status: valid | moderated | voided | to_moderate.
-- (tenant, rating_id, moderated_at) is the table's key, so the latest
-- moderation is one row; an aggregate finds it (a per-rating window is
-- far slower in DataFusion). Every moderation has its time (a required
-- column), so the latest one's is the largest: a plain max, without
-- sorting, and a report that needs only whether a rating was moderated
-- (the moderation queue) does not sort the tenant's moderations.
CREATE VIEW ratings_effective AS
WITH last_moderation AS (
    SELECT tenant,
           rating_id,
           first_value(new_score ORDER BY moderated_at DESC) AS new_score,
           first_value(moderator ORDER BY moderated_at DESC) AS moderator,
           max(moderated_at) AS moderated_at,
           first_value(reason ORDER BY moderated_at DESC) AS reason
    FROM rating_moderations
    GROUP BY tenant, rating_id
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
