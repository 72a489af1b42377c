-- Arrays: constructors, operators, functions, the tags column.

SELECT ARRAY[1, 2, 3];
SELECT ARRAY['a', 'b'] || 'c'::text, 'z'::text || ARRAY['a'];
SELECT ARRAY[1, 2] || ARRAY[3];
SELECT (ARRAY[10, 20, 30])[2], (ARRAY[10, 20, 30])[2:3], (ARRAY[10, 20, 30])[5];
SELECT cardinality(ARRAY[1, 2, 3]), array_length(ARRAY[1, 2, 3], 1), array_upper(ARRAY[1, 2, 3], 1), array_lower(ARRAY[1, 2, 3], 1);
SELECT array_to_string(ARRAY['a', NULL, 'c'], ','), array_to_string(ARRAY['a', NULL, 'c'], ',', '*');
SELECT string_to_array('a,b,,c', ','), string_to_array('a b', NULL), string_to_array('a,b,x', ',', 'x');
SELECT array_position(ARRAY['a', 'b', 'c'], 'b'), array_positions(ARRAY[1, 2, 1], 1);
SELECT array_remove(ARRAY[1, 2, 1], 1), array_replace(ARRAY[1, 2, 1], 1, 9);
SELECT array_append(ARRAY[1, 2], 3), array_prepend(0, ARRAY[1, 2]), array_cat(ARRAY[1], ARRAY[2, 3]);
SELECT lead_id, tags, cardinality(tags) FROM leads WHERE tags IS NOT NULL ORDER BY tenant, lead_id LIMIT 5;
SELECT count(*) FROM leads WHERE tags @> ARRAY['жалоба'];
SELECT count(*) FROM leads WHERE ARRAY['жалоба'] <@ tags;
SELECT count(*) FROM leads WHERE 'цена' = ANY (tags);
SELECT count(*) FROM leads WHERE tags && ARRAY['цена', 'акция'];
SELECT count(*) FROM leads WHERE NOT ('цена' = ANY (tags));
SELECT lead_id, array_to_string(tags, ', ') FROM leads WHERE cardinality(tags) > 1 ORDER BY tenant, lead_id LIMIT 5;
SELECT tenant, array_agg(DISTINCT manager_id ORDER BY manager_id) FROM managers GROUP BY 1 ORDER BY 1;
SELECT array_agg(tenant ORDER BY tenant) FROM tenants;
SELECT array_agg(tenant ORDER BY tenant DESC), array_agg(survey_interval_days ORDER BY tenant) FROM tenants;
SELECT tags[1] AS first_tag, count(*) FROM leads GROUP BY 1 ORDER BY 1 NULLS FIRST;
SELECT coalesce(cardinality(tags), 0) AS n, count(*) FROM leads GROUP BY 1 ORDER BY 1;
SELECT tags IS NULL AS no_tags, count(*) FROM leads GROUP BY 1 ORDER BY 1;
SELECT ARRAY[]::text[], cardinality(ARRAY[]::int[]), array_length(ARRAY[]::int[], 1);
SELECT '{1,2,3}'::int[], '{a,"b c",NULL}'::text[], '{}'::text[];
SELECT ARRAY[1.5, 2.5]::float8[], ARRAY[1, 2]::bigint[];
-- refused: 0A000 multidimensional arrays are not supported
SELECT ARRAY[[1, 2], [3, 4]];
SELECT array_dims(ARRAY[1, 2, 3]), array_ndims(ARRAY[[1], [2]]);
SELECT 3 = ANY (ARRAY[1, 2, 3]), 5 > ALL (ARRAY[1, 2, 3]), 2 = ALL (ARRAY[2, 2]);
SELECT NULL = ANY (ARRAY[1, 2]), 3 = ANY (ARRAY[1, NULL]), 1 = ANY (ARRAY[1, NULL]);
SELECT ARRAY['a', 'b'] = ARRAY['a', 'b'], ARRAY[1, 2] < ARRAY[1, 3], ARRAY[1, 2] @> ARRAY[2];
SELECT ARRAY['x', NULL], ARRAY['a b', 'c"d', 'e,f', ''];
SELECT array_agg(score ORDER BY rating_id) FROM ratings WHERE tenant = 'okna' AND received_at < '2026-06-03';
SELECT array_agg(lead_id ORDER BY lead_id) FILTER (WHERE score IS NULL) FROM ratings WHERE received_at < '2026-06-05';
SELECT array_to_string(array_agg(lead_id ORDER BY lead_id), ',') FROM lead_notes WHERE tag = 'гарантия';
SELECT tenant, array_agg(tag ORDER BY tag) FROM (SELECT DISTINCT tenant, tag FROM lead_notes) s GROUP BY tenant ORDER BY tenant;
SELECT tags FROM leads WHERE tags IS NOT NULL GROUP BY tags ORDER BY tags LIMIT 5;
SELECT array_length(tags, 1), tags[cardinality(tags)] FROM leads WHERE tags IS NOT NULL ORDER BY tenant, lead_id LIMIT 3;
SELECT (string_to_array(lead_id, '-'))[1] AS prefix, count(*) FROM leads GROUP BY 1 ORDER BY 1;
SELECT trim_array(ARRAY[1, 2, 3], 1), array_fill(0, ARRAY[3]);

-- Quantified comparisons with arrays: three-valued, every operator.
SELECT 1 < ANY (ARRAY[NULL, 0]), 1 < ALL (ARRAY[2, NULL]), 1 < ALL (ARRAY[0, NULL]), 5 = ANY (ARRAY[]::int[]), 5 = ALL (ARRAY[]::int[]);
SELECT NULL::int = ALL (ARRAY[1]), 2 >= ALL (ARRAY[1, 2]), 'b' > ANY (ARRAY['a', 'c']), 2 = ANY (NULL::int[]);
SELECT count(*) FROM leads WHERE channel = ANY (ARRAY['call', 'chat']) AND NOT (source = ALL (ARRAY['avito', 'avito']));
SELECT count(*) FROM ratings WHERE score = ANY ('{1,5}');
WITH sized AS (SELECT lead_id, array_length(tags, 1) AS n FROM leads) SELECT count(*) FROM sized WHERE n = 1 OR n > 1;
