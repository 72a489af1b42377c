-- Set operations, DISTINCT, LIMIT / OFFSET / FETCH.

SELECT tenant FROM leads UNION SELECT tenant FROM tenants ORDER BY 1;
SELECT count(*) FROM (SELECT tenant FROM leads UNION ALL SELECT tenant FROM ratings) s;
SELECT manager_id FROM leads WHERE tenant = 'okna' INTERSECT SELECT manager_id FROM managers WHERE department = 'Продажи' ORDER BY 1;
SELECT manager_id FROM managers EXCEPT SELECT manager_id FROM leads WHERE channel = 'email' ORDER BY 1;
SELECT source FROM leads EXCEPT ALL SELECT source FROM leads WHERE channel <> 'form' ORDER BY 1 LIMIT 5;
SELECT tenant, 'lead' AS kind FROM leads WHERE lead_id = 'L1-00000001' UNION ALL SELECT tenant, 'rating' FROM ratings WHERE rating_id = 'R000000001' ORDER BY 2, 1;
SELECT 1 UNION SELECT 2.5 ORDER BY 1;
SELECT 1 AS a UNION ALL SELECT NULL ORDER BY 1;
SELECT 'x' AS v UNION SELECT 'x' UNION SELECT 'y' ORDER BY v;
SELECT channel FROM leads UNION SELECT 'fax' ORDER BY 1;
(SELECT tenant, lead_id FROM leads ORDER BY created_at, lead_id LIMIT 2) UNION ALL (SELECT tenant, rating_id FROM ratings ORDER BY received_at, rating_id LIMIT 2) ORDER BY 1, 2;
SELECT lead_id FROM leads ORDER BY tenant, lead_id LIMIT 5 OFFSET 10;
SELECT lead_id FROM leads ORDER BY tenant, lead_id OFFSET 11995;
SELECT lead_id FROM leads ORDER BY tenant, lead_id FETCH FIRST 3 ROWS ONLY;
SELECT lead_id FROM leads ORDER BY tenant, lead_id OFFSET 2 ROWS FETCH NEXT 2 ROWS ONLY;
SELECT tenant FROM tenants ORDER BY tenant LIMIT ALL;
SELECT tenant FROM tenants ORDER BY tenant LIMIT 0;
SELECT tenant FROM tenants ORDER BY tenant LIMIT NULL;
SELECT count(*) FROM (SELECT * FROM leads LIMIT 100) s;
SELECT DISTINCT channel, direction FROM leads ORDER BY 1, 2;
SELECT DISTINCT tenant FROM leads;
SELECT count(DISTINCT source) FROM (SELECT source FROM leads WHERE tenant = 'okna' UNION ALL SELECT source FROM leads WHERE tenant = 'klinika') s;
SELECT tenant FROM tenants UNION SELECT tenant FROM managers INTERSECT SELECT tenant FROM leads ORDER BY 1;
SELECT * FROM (SELECT 1 AS x UNION SELECT 2 UNION SELECT 3) s WHERE x > 1 ORDER BY x DESC;
SELECT tenant, manager_id FROM managers WHERE tenant = 'okna' UNION SELECT tenant, manager_id FROM leads WHERE tenant = 'okna' AND manager_id IS NOT NULL ORDER BY 2;

-- Multisets: a row m times on the left and n on the right is max(m - n, 0)
-- times in EXCEPT ALL and min(m, n) times in INTERSECT ALL, NULLs equal.
SELECT x FROM (VALUES (1), (1), (1), (2), (NULL), (NULL)) t(x) EXCEPT ALL SELECT y FROM (VALUES (1), (3), (NULL)) u(y) ORDER BY 1;
SELECT x FROM (VALUES (1), (1), (1), (2), (NULL), (NULL)) t(x) INTERSECT ALL SELECT y FROM (VALUES (1), (1), (3), (NULL)) u(y) ORDER BY 1;
SELECT channel, direction FROM leads EXCEPT ALL SELECT channel, direction FROM leads WHERE tenant = 'okna' ORDER BY 1, 2 LIMIT 6;
SELECT count(*) FROM (SELECT source FROM leads INTERSECT ALL SELECT source FROM leads WHERE channel = 'call') s;
SELECT lead_id FROM leads ORDER BY tenant, lead_id FETCH FIRST ROW ONLY;
SELECT 1 AS n UNION SELECT 2 UNION ALL SELECT NULL ORDER BY 1;
SELECT x, x + 1 FROM (SELECT 5 AS x UNION ALL SELECT 6) s ORDER BY 1;
