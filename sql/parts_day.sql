-- TEMPLATE parts_day: the report parts of the OKO reports (the manager
-- table, the summary, the bubbles): per tenant × local day × manager ×
-- channel × class × direction × counted, the additive figures every one of
-- those reports needs. A report for any period of whole days, any scope,
-- class list and manager list sums these rows; the medians, outliers,
-- achievements and fair score then run on the summed per-manager rows, as
-- they would on the leads (SPEC.md §2–§4), so the result is the same.
--
-- Every sum is of integers (whole microseconds, counts, scores), so a sum
-- of parts is the sum of the leads whatever the grouping; a sum over no
-- value is NULL here as it is over the leads.
--
-- Rendered two ways (src/engine/parts.rs): materialised, for every day of
-- every tenant, kept by the server exactly as the facts change (the table
-- `report_parts_day`); or over the leads of a period, when the stored
-- parts cannot answer (a period that is not whole days, a setting, parts
-- behind the facts).
-- Placeholders: facts, lead_facts (or lead_facts of a period); filter,
-- which leads (TRUE for the stored parts).
SELECT f.tenant,
       date_trunc('day', f.created_local) AS day,
       f.manager_id,
       f.manager,
       f.channel,
       f.scope,
       f.class,
       f.direction,
       f.counted,
       count(*) AS leads,
       sum(f.reaction_us) AS reaction_us_sum,
       count(f.reaction_us) AS reaction_n,
       sum(f.dialog_us) AS dialog_us_sum,
       count(f.dialog_us) AS dialog_n,
       sum(CASE WHEN f.rated THEN 1 ELSE 0 END) AS rated,
       sum(f.score) AS score_sum,
       sum(CASE WHEN f.score >= 4 THEN 1 ELSE 0 END) AS good,
       sum(CASE WHEN f.requested THEN 1 ELSE 0 END) AS requested,
       sum(CASE WHEN f.requested AND f.rated THEN 1 ELSE 0 END) AS rated_requested
FROM {{facts}} f
WHERE {{filter}}
GROUP BY f.tenant, date_trunc('day', f.created_local), f.manager_id, f.manager, f.channel,
         f.scope, f.class, f.direction, f.counted
