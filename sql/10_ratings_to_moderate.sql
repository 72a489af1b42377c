-- ratings_to_moderate: answers that are not a score 1..5 (7, 0, text) and
-- that no moderator has decided yet, with the lead they belong to. They are
-- left out of every average until moderated.
CREATE VIEW ratings_to_moderate AS
SELECT r.tenant,
       r.rating_id,
       r.lead_id,
       r.score_raw,
       r.score,
       r.received_at,
       f.manager,
       f.channel,
       f.created_at AS lead_created_at
FROM ratings_effective r
LEFT JOIN lead_base f ON f.tenant = r.tenant AND f.lead_id = r.lead_id
WHERE r.status = 'to_moderate'
