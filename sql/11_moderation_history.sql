-- moderation_history: every moderation, newest first per rating: who, when,
-- why, the score before (previous_score as recorded, else the rating's own
-- parsed score) and after (NULL = voided), and whether it is the one in force.
CREATE VIEW moderation_history AS
SELECT m.tenant,
       m.rating_id,
       r.lead_id,
       r.score_raw,
       coalesce(m.previous_score, r.score) AS previous_score,
       m.new_score,
       m.new_score IS NULL AS voided,
       m.moderator,
       m.moderated_at,
       m.reason,
       row_number() OVER (PARTITION BY m.tenant, m.rating_id ORDER BY m.moderated_at DESC) = 1
           AS in_force
FROM rating_moderations m
LEFT JOIN ratings r ON r.tenant = m.tenant AND r.rating_id = m.rating_id
