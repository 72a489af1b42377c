-- Subqueries of every shape: scalar (correlated or not) in the select list
-- and WHERE, EXISTS, IN / NOT IN with NULLs, ANY / ALL, LATERAL, derived
-- tables, CTEs (recursive too), joins.

SELECT m.manager_id, (SELECT count(*) FROM leads l WHERE l.manager_id = m.manager_id) FROM managers m ORDER BY m.tenant, m.manager_id;
SELECT m.tenant, m.manager_id, (SELECT count(*) FROM leads l WHERE l.tenant = m.tenant AND l.manager_id = m.manager_id) AS leads FROM managers m ORDER BY 1, 2;
SELECT t.tenant, (SELECT max(created_at) FROM leads l WHERE l.tenant = t.tenant) AS last_lead FROM tenants t ORDER BY 1;
-- refused: 0A000 a correlated subquery with LIMIT cannot be planned (aggregate it: min(…) instead of ORDER BY … LIMIT 1)
SELECT t.tenant, (SELECT lead_id FROM leads l WHERE l.tenant = t.tenant ORDER BY created_at, lead_id LIMIT 1) AS first_lead FROM tenants t ORDER BY 1;
SELECT t.tenant, (SELECT avg(score) FROM ratings r WHERE r.tenant = t.tenant)::float8 AS avg_score FROM tenants t ORDER BY 1;
SELECT tenant, (SELECT count(*) FROM leads) AS all_leads FROM tenants ORDER BY 1;
SELECT (SELECT count(*) FROM leads) - (SELECT count(*) FROM ratings) AS diff;
SELECT count(*) FROM ratings WHERE score > (SELECT avg(score) FROM ratings);
SELECT count(*) FROM leads l WHERE answered_at - created_at > (SELECT avg(answered_at - created_at) FROM leads l2 WHERE l2.tenant = l.tenant);
SELECT count(*) FROM leads l WHERE EXISTS (SELECT 1 FROM ratings r WHERE r.tenant = l.tenant AND r.lead_id = l.lead_id);
SELECT count(*) FROM leads l WHERE NOT EXISTS (SELECT 1 FROM rating_requests q WHERE q.tenant = l.tenant AND q.lead_id = l.lead_id);
SELECT t.tenant, EXISTS (SELECT 1 FROM lead_notes n WHERE n.tenant = t.tenant AND n.tag = 'жалоба') AS has_complaints FROM tenants t ORDER BY 1;
SELECT count(*) FROM leads WHERE lead_id IN (SELECT lead_id FROM lead_notes);
SELECT count(*) FROM leads WHERE (tenant, lead_id) IN (SELECT tenant, lead_id FROM ratings);
SELECT count(*) FROM leads WHERE (tenant, lead_id) NOT IN (SELECT tenant, lead_id FROM ratings);
SELECT count(*) FROM managers WHERE manager_id NOT IN (SELECT manager_id FROM leads);
SELECT count(*) FROM managers WHERE manager_id NOT IN (SELECT manager_id FROM leads WHERE manager_id IS NOT NULL);
SELECT count(*) FROM managers WHERE manager_id IN (SELECT manager_id FROM leads);
SELECT 1 IN (1, NULL), 2 IN (1, NULL), 2 NOT IN (1, NULL), NULL IN (1, 2);
-- refused: 0A000 IN (subquery) in a select list cannot be planned
SELECT 2 IN (SELECT NULL::int UNION ALL SELECT 1), 1 IN (SELECT NULL::int UNION ALL SELECT 1);
SELECT count(*) FROM leads WHERE channel = ANY (ARRAY['call', 'callback']);
SELECT count(*) FROM leads WHERE channel = ANY (SELECT DISTINCT channel FROM leads WHERE direction = 'out');
SELECT count(*) FROM ratings WHERE score > ALL (SELECT score FROM ratings WHERE tenant = 'okna' AND score < 3);
SELECT count(*) FROM ratings WHERE score >= ALL (SELECT score FROM ratings WHERE score IS NOT NULL);
SELECT count(*) FROM ratings WHERE score <> ALL (ARRAY[1, 2]);
SELECT count(*) FROM ratings WHERE score < ANY (SELECT new_score FROM rating_moderations);
-- refused: 0A000 ANY/ALL (subquery) in a select list cannot be planned
SELECT 5 > ALL (SELECT survey_interval_days FROM tenants), 7 = ANY (SELECT survey_interval_days FROM tenants);
-- refused: 0A000 a LATERAL subquery that reads the outer row cannot be planned
SELECT t.tenant, x.lead_id, x.created_at FROM tenants t CROSS JOIN LATERAL (SELECT lead_id, created_at FROM leads l WHERE l.tenant = t.tenant ORDER BY created_at, lead_id LIMIT 2) x ORDER BY 1, 3, 2;
SELECT m.tenant, m.manager_id, x.n FROM managers m LEFT JOIN LATERAL (SELECT count(*) AS n FROM leads l WHERE l.tenant = m.tenant AND l.manager_id = m.manager_id AND l.channel = 'email') x ON true ORDER BY 1, 2;
-- refused: 0A000 a LATERAL subquery that reads the outer row cannot be planned
SELECT m.tenant, m.manager_id, last.lead_id FROM managers m LEFT JOIN LATERAL (SELECT lead_id FROM leads l WHERE l.tenant = m.tenant AND l.manager_id = m.manager_id ORDER BY created_at DESC, lead_id DESC LIMIT 1) last ON true ORDER BY 1, 2;
SELECT t.tenant, s.n FROM tenants t, LATERAL (SELECT count(*) AS n FROM lead_notes n WHERE n.tenant = t.tenant) s ORDER BY 1;
SELECT avg(n) FROM (SELECT tenant, count(*) AS n FROM leads GROUP BY 1) s;
SELECT s.tenant, s.n, t.name FROM (SELECT tenant, count(*) AS n FROM leads GROUP BY 1) s JOIN tenants t USING (tenant) ORDER BY 1;
SELECT * FROM (SELECT tenant, count(*) AS n FROM ratings GROUP BY tenant) AS r(t, cnt) ORDER BY t;
WITH per_manager AS (SELECT tenant, manager_id, count(*) AS n FROM leads WHERE manager_id IS NOT NULL GROUP BY 1, 2) SELECT tenant, max(n), min(n) FROM per_manager GROUP BY tenant ORDER BY tenant;
WITH a AS (SELECT tenant, count(*) AS leads FROM leads GROUP BY 1), b AS (SELECT tenant, count(*) AS ratings FROM ratings GROUP BY 1) SELECT a.tenant, a.leads, b.ratings, b.ratings::float8 / a.leads FROM a JOIN b USING (tenant) ORDER BY 1;
WITH x AS (SELECT tenant, count(*) AS n FROM leads GROUP BY 1) SELECT x1.tenant, x2.tenant FROM x x1 JOIN x x2 ON x1.n < x2.n ORDER BY 1, 2;
WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r WHERE n < 10) SELECT sum(n), count(*) FROM r;
WITH RECURSIVE d AS (SELECT DATE '2026-06-01' AS day UNION ALL SELECT day + 1 FROM d WHERE day < DATE '2026-06-10') SELECT day FROM d ORDER BY day;
WITH RECURSIVE fib(a, b, i) AS (SELECT 0::bigint, 1::bigint, 1 UNION ALL SELECT b, a + b, i + 1 FROM fib WHERE i < 20) SELECT i, a FROM fib ORDER BY i;
WITH RECURSIVE w(day) AS (SELECT TIMESTAMP '2026-06-01' UNION ALL SELECT day + interval '1 week' FROM w WHERE day < TIMESTAMP '2026-07-01') SELECT w.day, count(l.lead_id) FROM w LEFT JOIN leads l ON l.created_at >= w.day AND l.created_at < w.day + interval '1 week' GROUP BY w.day ORDER BY 1;
-- refused: 0A000 a correlated scalar subquery must be aggregated (max(name))
SELECT (SELECT name FROM tenants t WHERE t.tenant = l.tenant) AS tenant_name, count(*) FROM leads l GROUP BY 1 ORDER BY 1;
SELECT CASE WHEN (SELECT count(*) FROM lead_notes) > 100 THEN 'many' ELSE 'few' END;
SELECT ARRAY(SELECT tenant FROM tenants ORDER BY tenant);
SELECT t.tenant, ARRAY(SELECT m.manager_id FROM managers m WHERE m.tenant = t.tenant ORDER BY 1) FROM tenants t ORDER BY 1;
SELECT tenant, lead_id FROM leads WHERE created_at = (SELECT min(created_at) FROM leads);
SELECT r.tenant, r.rating_id FROM ratings r WHERE r.score = (SELECT max(score) FROM ratings r2 WHERE r2.tenant = r.tenant AND r2.received_at < '2026-06-02') AND r.received_at < '2026-06-02' ORDER BY 1, 2;
SELECT tenant, count(*) FROM leads GROUP BY tenant HAVING count(*) > (SELECT count(*) / 3 FROM leads) ORDER BY 1;
SELECT l.tenant, l.lead_id, r.score FROM leads l LEFT JOIN ratings r ON r.tenant = l.tenant AND r.lead_id = l.lead_id WHERE l.created_at < '2026-06-01 06:00+00' ORDER BY 1, 2, 3;
SELECT l.tenant, count(r.rating_id), count(*) FROM leads l LEFT JOIN ratings r ON r.tenant = l.tenant AND r.lead_id = l.lead_id GROUP BY 1 ORDER BY 1;
SELECT t.tenant, m.manager_id FROM tenants t RIGHT JOIN managers m ON m.tenant = t.tenant AND m.manager_id = 'm101' ORDER BY 1 NULLS LAST, 2;
SELECT a.tenant, b.tenant FROM (SELECT DISTINCT tenant FROM leads) a FULL JOIN (SELECT tenant FROM tenants WHERE tenant <> 'okna') b ON a.tenant = b.tenant ORDER BY 1, 2;
SELECT a.tenant AS x, b.tenant AS y FROM tenants a CROSS JOIN tenants b WHERE a.tenant < b.tenant ORDER BY 1, 2;
SELECT count(*) FROM leads l JOIN rating_requests q USING (tenant, lead_id) WHERE q.kind = 'request';
SELECT l.channel, count(DISTINCT q.request_id) FROM leads l JOIN rating_requests q ON q.tenant = l.tenant AND q.lead_id = l.lead_id GROUP BY 1 ORDER BY 1;
SELECT count(*) FROM leads l1 JOIN leads l2 ON l1.tenant = l2.tenant AND l1.client_id = l2.client_id AND l1.lead_id < l2.lead_id;
SELECT r.tenant, r.rating_id, m.new_score, m.previous_score FROM ratings r JOIN rating_moderations m USING (tenant, rating_id) ORDER BY 1, 2, m.moderated_at;
SELECT * FROM tenants NATURAL JOIN (SELECT tenant, count(*) AS n FROM managers GROUP BY tenant) m ORDER BY tenant;
SELECT x.tenant, x.n FROM (SELECT tenant, count(*) AS n FROM leads GROUP BY tenant ORDER BY n DESC LIMIT 2) x ORDER BY x.tenant;
-- refused: 0A000 a correlated scalar subquery must be aggregated (max(manager_id))
SELECT count(*) FROM leads l WHERE l.manager_id = (SELECT m.manager_id FROM managers m WHERE m.tenant = l.tenant AND m.name LIKE 'Ольга%');

-- EXISTS in a select list (counted as an aggregated scalar subquery).
SELECT t.tenant, EXISTS (SELECT 1 FROM managers m WHERE m.tenant = t.tenant AND m.department = 'Продажи') AS sales, NOT EXISTS (SELECT 1 FROM ratings r WHERE r.tenant = t.tenant AND r.score = 1) AS no_ones FROM tenants t ORDER BY 1;
SELECT EXISTS (SELECT 1 FROM tenants), EXISTS (SELECT 1 FROM tenants WHERE false), NOT EXISTS (SELECT 1 FROM leads WHERE channel = 'fax');

-- Rows compared with a subquery's rows, NULLs as PostgreSQL reads them.
SELECT x, y FROM (VALUES (1, 1), (2, NULL), (3, 3)) t(x, y) WHERE (x, y) NOT IN (SELECT a, b FROM (VALUES (1, 1), (NULL, 5)) u(a, b)) ORDER BY 1;
SELECT x, y FROM (VALUES (1, 1), (2, NULL), (3, 3)) t(x, y) WHERE (x, y) IN (SELECT a, b FROM (VALUES (1, 1), (2, NULL), (3, 4)) u(a, b)) ORDER BY 1;
SELECT count(*) FROM leads l WHERE l.channel = 'call' AND (l.tenant, l.manager_id) IN (SELECT tenant, manager_id FROM managers WHERE department = 'Продажи');
SELECT x FROM (VALUES (1), (2), (3)) t(x) WHERE EXISTS (SELECT 1 FROM (VALUES (2), (3)) u(a) WHERE u.a = t.x) ORDER BY 1;
-- refused: 0A000 a correlated subquery that compares the outer row other than with = cannot be planned
SELECT x, (SELECT count(*) FROM managers m WHERE length(m.manager_id) > t.x) FROM (SELECT 1 AS x UNION ALL SELECT 100) t ORDER BY 1;
SELECT * FROM tenants z LEFT JOIN (SELECT 'okna' AS tenant, 1 AS n) a USING (tenant) ORDER BY tenant;
SELECT * FROM (SELECT 'okna' AS tenant, 1 AS n) a RIGHT JOIN tenants z USING (tenant) ORDER BY tenant;
SELECT *, 1 AS one FROM tenants z FULL JOIN (VALUES ('x', 1), ('okna', 2)) AS a(tenant, n) USING (tenant) ORDER BY tenant;
SELECT * FROM managers m JOIN tenants t USING (tenant) WHERE m.manager_id = 'm101' ORDER BY tenant;
