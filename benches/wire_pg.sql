-- PostgreSQL 15 side of the wire benchmark (benches/wire.sh, benches/WIRE.md).
--
-- The same generated export set OKO loads (`oko generate`), COPY'd as is,
-- with indexes that fit the dashboard's access paths (tenant + time range,
-- the (tenant, lead_id) / (tenant, rating_id) join keys), and the report
-- queries as SQL functions. Run with psql:
--
--   psql -v gen=/abs/path/gen-10000000 -f benches/wire_pg.sql
--   psql -v reports_only=1 -f benches/wire_pg.sql    # functions only
--
-- Choices that mirror OKO's loader:
--   * empty CSV fields are NULL (COPY's CSV default), timestamps are UTC;
--   * `leads.tags` is `a|b|c` in the CSV: kept as text and exposed as
--     text[] by the generated column `tag_list` (no report here reads it);
--   * `ratings.score` = the leading integer of the trimmed `score_raw`
--     (oko_udfs::parse_score), a generated column;
--   * keys are unique in the generated data (checked by the unique indexes;
--     OKO would count duplicates and drop them).

\set ON_ERROR_STOP on
SET client_min_messages = warning;

-- `-v reports_only=1` skips the schema and load (re-creates the functions).
\if :{?reports_only}
\else

DROP TABLE IF EXISTS tenants, managers, leads, lead_notes, rating_requests,
    ratings, rating_moderations, manual_stats CASCADE;

CREATE TABLE tenants (
    tenant text PRIMARY KEY,
    name text,
    timezone text,
    survey_interval_days int,
    service_level_seconds int,
    survey_interval_calls_days int,
    survey_interval_chats_days int
);

CREATE TABLE managers (
    tenant text,
    manager_id text,
    name text,
    department text,
    active boolean,
    PRIMARY KEY (tenant, manager_id)
);

CREATE TABLE leads (
    tenant text NOT NULL,
    lead_id text NOT NULL,
    channel text,
    direction text,
    class text,
    manager_id text,
    client_id text,
    created_at timestamptz NOT NULL,
    answered_at timestamptz,
    ended_at timestamptz,
    tags text,
    source text,
    tag_list text[] GENERATED ALWAYS AS (string_to_array(tags, '|')) STORED
);

CREATE TABLE lead_notes (
    tenant text,
    lead_id text,
    tag text,
    comment text,
    author text,
    created_at timestamptz
);

CREATE TABLE rating_requests (
    tenant text NOT NULL,
    request_id text NOT NULL,
    lead_id text,
    client_id text,
    kind text,
    via text,
    sent_at timestamptz,
    cost numeric
);

CREATE TABLE ratings (
    tenant text NOT NULL,
    rating_id text NOT NULL,
    lead_id text,
    score_raw text,
    received_at timestamptz,
    score int GENERATED ALWAYS AS (
        CASE WHEN length(substring(score_raw FROM '^\s*([0-9]+)')) <= 9
             THEN substring(score_raw FROM '^\s*([0-9]+)')::int END) STORED
);

CREATE TABLE rating_moderations (
    tenant text NOT NULL,
    rating_id text NOT NULL,
    moderated_at timestamptz NOT NULL,
    new_score int,
    previous_score int,
    moderator text,
    reason text
);

CREATE TABLE manual_stats (
    tenant text,
    hour timestamptz,
    metric text,
    value double precision,
    author text,
    comment text
);

\set f :gen '/tenants.csv'
COPY tenants FROM :'f' (FORMAT csv, HEADER true);
\set f :gen '/managers.csv'
COPY managers FROM :'f' (FORMAT csv, HEADER true);
\set f :gen '/leads.csv'
COPY leads (tenant, lead_id, channel, direction, class, manager_id, client_id,
            created_at, answered_at, ended_at, tags, source)
    FROM :'f' (FORMAT csv, HEADER true);
\set f :gen '/lead_notes.csv'
COPY lead_notes FROM :'f' (FORMAT csv, HEADER true);
\set f :gen '/rating_requests.csv'
COPY rating_requests FROM :'f' (FORMAT csv, HEADER true);
\set f :gen '/ratings.csv'
COPY ratings (tenant, rating_id, lead_id, score_raw, received_at)
    FROM :'f' (FORMAT csv, HEADER true);
\set f :gen '/rating_moderations.csv'
COPY rating_moderations FROM :'f' (FORMAT csv, HEADER true);
\set f :gen '/manual_stats.csv'
COPY manual_stats FROM :'f' (FORMAT csv, HEADER true);

-- Indexes: the dashboard filters one tenant and a time range; the reports
-- join requests and ratings to leads by (tenant, lead_id), moderations to
-- ratings by (tenant, rating_id).
CREATE UNIQUE INDEX leads_key ON leads (tenant, lead_id);
CREATE INDEX leads_tenant_created ON leads (tenant, created_at);
CREATE UNIQUE INDEX rating_requests_key ON rating_requests (tenant, request_id);
CREATE INDEX rating_requests_lead ON rating_requests (tenant, lead_id) WHERE kind = 'request';
CREATE UNIQUE INDEX ratings_key ON ratings (tenant, rating_id);
CREATE INDEX ratings_lead ON ratings (tenant, lead_id);
CREATE UNIQUE INDEX rating_moderations_key ON rating_moderations (tenant, rating_id, moderated_at);
CREATE INDEX lead_notes_lead ON lead_notes (tenant, lead_id);
CREATE INDEX manual_stats_hour ON manual_stats (tenant, hour);

VACUUM ANALYZE;

\endif

-- ---------------------------------------------------------------- reports
-- The reports as SQL functions of (tenant, from, to): `from`/`to` are on the
-- tenant's wall clock ([from, to)), as OKO's table functions take them,
-- with OKO's defaults (exclude class 'Спам', outlier ratio 0.6, fair prior
-- weight 5, best service by mean score with >= 1 rating, short abandon 5 s,
-- service level 20 s unless the tenant sets it). Each is one STABLE SQL
-- SELECT, so the planner inlines it and plans it with the constants
-- (EXPLAIN shows no Function Scan). Ported from
-- tests/crosscheck/duckdb_reports.py and sql/*.sql.

-- The counted leads of one tenant in [from, to) local time (scope: 'calls',
-- 'chats' or 'all'), with requested and the effective score of the latest
-- valid rating. The UTC window (±1 day) lets the (tenant, created_at) index
-- do the work; the local-time test is the exact one.
CREATE OR REPLACE FUNCTION pg_lead_facts(p_tenant text, p_from timestamp, p_to timestamp,
                                         p_scope text DEFAULT 'all')
RETURNS TABLE (lead_id text, channel text, manager_id text, reaction_s float8,
               dialog_s float8, requested boolean, score int)
LANGUAGE sql STABLE AS $$
WITH tz AS (
    SELECT coalesce((SELECT timezone FROM tenants WHERE tenant = p_tenant), 'UTC') AS tz
),
b AS (
    SELECT l.lead_id, l.channel, l.manager_id,
           extract(epoch FROM l.answered_at - l.created_at)::float8 AS reaction_s,
           extract(epoch FROM l.ended_at - l.answered_at)::float8 AS dialog_s
    FROM leads l, tz
    WHERE l.tenant = p_tenant
      AND l.created_at >= p_from - interval '1 day' AND l.created_at < p_to + interval '1 day'
      AND (l.created_at AT TIME ZONE tz.tz) >= p_from
      AND (l.created_at AT TIME ZONE tz.tz) < p_to
      AND l.answered_at IS NOT NULL
      AND CASE p_scope WHEN 'calls' THEN l.channel IN ('call', 'callback')
                       WHEN 'chats' THEN l.channel IN ('chat', 'social', 'messenger')
                       ELSE l.channel IN ('call', 'callback', 'chat', 'social', 'messenger') END
      AND (l.class IS NULL OR l.class <> 'Спам')
),
last_mod AS (
    SELECT DISTINCT ON (rating_id) rating_id, new_score
    FROM rating_moderations
    WHERE tenant = p_tenant
    ORDER BY rating_id, moderated_at DESC
),
scored AS (
    SELECT DISTINCT ON (r.lead_id) r.lead_id, e.s AS score
    FROM b
    JOIN ratings r ON r.tenant = p_tenant AND r.lead_id = b.lead_id
    LEFT JOIN last_mod m ON m.rating_id = r.rating_id
    CROSS JOIN LATERAL (
        SELECT CASE WHEN m.rating_id IS NOT NULL THEN m.new_score
                    WHEN r.score BETWEEN 1 AND 5 THEN r.score END AS s
    ) e
    WHERE e.s IS NOT NULL
    ORDER BY r.lead_id, r.received_at DESC, r.rating_id DESC
)
SELECT b.lead_id, b.channel, b.manager_id, b.reaction_s, b.dialog_s,
       EXISTS (SELECT 1 FROM rating_requests q
               WHERE q.tenant = p_tenant AND q.lead_id = b.lead_id AND q.kind = 'request'),
       s.score
FROM b LEFT JOIN scored s ON s.lead_id = b.lead_id
$$;

-- = SELECT * FROM manager_report(from, to, scope) WHERE tenant = p_tenant
CREATE OR REPLACE FUNCTION pg_manager_report(p_tenant text, p_from timestamp, p_to timestamp,
                                             p_scope text DEFAULT 'all')
RETURNS TABLE (tenant text, period_start timestamp, scope text, manager text, manager_id text,
               leads bigint, mean_reaction_s float8, mean_dialog_s float8, ratings bigint,
               avg_score float8, csat float8, response_rate float8, requested bigint,
               response_rate_requested float8, fair_score float8, is_outlier boolean,
               achievements text[])
LANGUAGE sql STABLE AS $$
WITH per_manager AS (
    SELECT f.manager_id,
           count(*) AS leads,
           avg(f.reaction_s) AS mean_reaction_s,
           avg(f.dialog_s) AS mean_dialog_s,
           count(f.score) AS ratings,
           avg(f.score::float8) AS avg_score,
           avg(CASE WHEN f.score >= 4 THEN 1.0 WHEN f.score IS NOT NULL THEN 0.0 END)::float8 AS csat,
           count(*) FILTER (WHERE f.requested) AS requested,
           count(*) FILTER (WHERE f.requested AND f.score IS NOT NULL) AS rated_requested
    FROM pg_lead_facts(p_tenant, p_from, p_to, p_scope) f
    GROUP BY f.manager_id
),
med AS (
    SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY leads) FILTER (WHERE manager_id IS NOT NULL) AS ml,
           percentile_cont(0.5) WITHIN GROUP (ORDER BY avg_score) FILTER (WHERE manager_id IS NOT NULL) AS ms
    FROM per_manager
),
flagged AS (
    SELECT p.*,
           p.ratings::float8 / p.leads AS response_rate,
           CASE WHEN p.requested > 0 THEN p.rated_requested::float8 / p.requested END
               AS response_rate_requested,
           CASE WHEN p.manager_id IS NOT NULL
                THEN p.leads < 0.6 * med.ml OR coalesce(p.avg_score < 0.6 * med.ms, false) END
               AS outlier,
           CASE WHEN p.manager_id IS NOT NULL AND p.ratings >= 1 THEN p.avg_score END AS service,
           sum(p.avg_score * p.ratings) FILTER (WHERE p.manager_id IS NOT NULL AND p.ratings > 0) OVER ()
             / sum(p.ratings) FILTER (WHERE p.manager_id IS NOT NULL AND p.ratings > 0) OVER () AS c
    FROM per_manager p CROSS JOIN med
),
best AS (
    SELECT f.*,
           f.manager_id IS NOT NULL AND NOT f.outlier AS contest,
           max(f.leads) FILTER (WHERE f.manager_id IS NOT NULL AND NOT f.outlier) OVER () AS b_leads,
           max(f.response_rate) FILTER (WHERE f.manager_id IS NOT NULL AND NOT f.outlier) OVER () AS b_rate,
           min(f.mean_reaction_s) FILTER (WHERE f.manager_id IS NOT NULL AND NOT f.outlier) OVER () AS b_reaction,
           min(f.mean_dialog_s) FILTER (WHERE f.manager_id IS NOT NULL AND NOT f.outlier) OVER () AS b_dialog,
           max(f.service) FILTER (WHERE f.manager_id IS NOT NULL AND NOT f.outlier) OVER () AS b_service
    FROM flagged f
),
ties AS (
    SELECT b.*,
           max(b.leads) FILTER (WHERE b.contest AND b.response_rate = b.b_rate) OVER () AS t_rate,
           max(b.leads) FILTER (WHERE b.contest AND b.mean_reaction_s = b.b_reaction) OVER () AS t_reaction,
           max(b.leads) FILTER (WHERE b.contest AND b.mean_dialog_s = b.b_dialog) OVER () AS t_dialog,
           max(b.ratings) FILTER (WHERE b.contest AND b.service = b.b_service) OVER () AS t_service
    FROM best b
)
SELECT p_tenant, p_from, p_scope,
       coalesce(t.manager_id, 'Нет менеджера'), t.manager_id,
       t.leads, t.mean_reaction_s, t.mean_dialog_s, t.ratings, t.avg_score, t.csat,
       t.response_rate, t.requested, t.response_rate_requested,
       CASE WHEN t.manager_id IS NOT NULL AND t.ratings > 0 AND t.avg_score IS NOT NULL
            THEN (t.avg_score * t.ratings + 5 * t.c) / (t.ratings + 5) END,
       t.outlier,
       array_remove(ARRAY[
           CASE WHEN t.contest AND t.leads = t.b_leads THEN 'most_sociable' END,
           CASE WHEN t.contest AND t.response_rate = t.b_rate AND t.leads = t.t_rate THEN 'most_engaging' END,
           CASE WHEN t.contest AND t.mean_reaction_s = t.b_reaction AND t.leads = t.t_reaction THEN 'fastest' END,
           CASE WHEN t.contest AND t.mean_dialog_s = t.b_dialog AND t.leads = t.t_dialog THEN 'most_efficient' END,
           CASE WHEN t.contest AND t.service = t.b_service AND t.ratings = t.t_service THEN 'best_service' END
       ], NULL)
FROM ties t
$$;

-- = SELECT * FROM summary_report(from, to, scope) WHERE tenant = p_tenant
CREATE OR REPLACE FUNCTION pg_summary_report(p_tenant text, p_from timestamp, p_to timestamp,
                                             p_scope text DEFAULT 'all')
RETURNS TABLE (tenant text, period_start timestamp, channel text, leads bigint, requested bigint,
               rated bigint, score_sum bigint, avg_score float8, csat float8)
LANGUAGE sql STABLE AS $$
SELECT p_tenant, p_from, coalesce(f.channel, 'all'),
       count(*), count(*) FILTER (WHERE f.requested), count(f.score), sum(f.score),
       avg(f.score::float8),
       avg(CASE WHEN f.score >= 4 THEN 1.0 WHEN f.score IS NOT NULL THEN 0.0 END)::float8
FROM pg_lead_facts(p_tenant, p_from, p_to, p_scope) f
GROUP BY GROUPING SETS ((f.channel), ())
$$;

-- The additive contact-centre parts per local hour and channel (incoming
-- calls and chats, 'Спам' excluded) of one tenant in [from, to) local time.
CREATE OR REPLACE FUNCTION pg_cc_hourly(p_tenant text, p_from timestamp, p_to timestamp)
RETURNS TABLE (tenant text, period_start timestamp, channel text, offered bigint, answered bigint,
               missed bigint, short_abandons bigint, answered_in_sl bigint,
               reaction_sum_s float8, dialog_sum_s float8, dialogs bigint)
LANGUAGE sql STABLE AS $$
WITH t AS (
    SELECT coalesce(max(timezone), 'UTC') AS tz, coalesce(max(service_level_seconds), 20) AS sl
    FROM tenants WHERE tenant = p_tenant
)
SELECT p_tenant, date_trunc('hour', l.created_at AT TIME ZONE t.tz), l.channel,
       count(*),
       count(l.answered_at),
       count(*) - count(l.answered_at),
       count(*) FILTER (WHERE l.answered_at IS NULL
                          AND extract(epoch FROM l.ended_at - l.created_at) < 5),
       count(*) FILTER (WHERE l.answered_at IS NOT NULL
                          AND extract(epoch FROM l.answered_at - l.created_at) <= t.sl),
       coalesce(sum(extract(epoch FROM l.answered_at - l.created_at)::float8), 0.0),
       coalesce(sum(extract(epoch FROM l.ended_at - l.answered_at)::float8), 0.0),
       count(*) FILTER (WHERE l.answered_at IS NOT NULL AND l.ended_at IS NOT NULL)
FROM leads l, t
WHERE l.tenant = p_tenant
  AND l.created_at >= p_from - interval '1 day' AND l.created_at < p_to + interval '1 day'
  AND (l.created_at AT TIME ZONE t.tz) >= p_from
  AND (l.created_at AT TIME ZONE t.tz) < p_to
  AND l.direction = 'in'
  AND l.channel IN ('call', 'callback', 'chat', 'social', 'messenger')
  AND (l.class IS NULL OR l.class <> 'Спам')
GROUP BY 2, 3
$$;

-- = SELECT * FROM cc_report(from, to, grain) WHERE tenant = p_tenant
CREATE OR REPLACE FUNCTION pg_cc_report(p_tenant text, p_from timestamp, p_to timestamp,
                                        p_grain text DEFAULT 'day')
RETURNS TABLE (tenant text, period_start timestamp, channel text, offered bigint,
               answered bigint, missed bigint, short_abandons bigint, answered_in_sl bigint,
               reaction_sum_s float8, dialog_sum_s float8, dialogs bigint, abandon_rate float8,
               asa_s float8, aht_s float8, service_level_over_offered float8,
               service_level_over_answered float8, service_level_excl_short float8)
LANGUAGE sql STABLE AS $$
SELECT p_tenant, CASE WHEN p_grain = 'hour' THEN h.period_start
                      ELSE date_trunc(p_grain, h.period_start) END AS bucket,
       coalesce(h.channel, 'all'),
       sum(h.offered)::bigint, sum(h.answered)::bigint, sum(h.missed)::bigint,
       sum(h.short_abandons)::bigint, sum(h.answered_in_sl)::bigint,
       sum(h.reaction_sum_s), sum(h.dialog_sum_s), sum(h.dialogs)::bigint,
       sum(h.missed)::float8 / nullif(sum(h.offered), 0),
       sum(h.reaction_sum_s) / nullif(sum(h.answered), 0),
       sum(h.dialog_sum_s) / nullif(sum(h.dialogs), 0),
       sum(h.answered_in_sl)::float8 / nullif(sum(h.offered), 0),
       sum(h.answered_in_sl)::float8 / nullif(sum(h.answered), 0),
       sum(h.answered_in_sl)::float8 / nullif(sum(h.offered) - sum(h.short_abandons), 0)
FROM pg_cc_hourly(p_tenant, p_from, p_to) h
GROUP BY GROUPING SETS ((2, 3), (2))
$$;
