-- What psql's \d family (\d+, \dt+, \dv+, \df, \df+, \da, \dT, \l+) and
-- SQLAlchemy call, asked so that both installations must agree: sizes as
-- pg_size_pretty writes them, type names as format_type writes them, the
-- arguments and results of pg_catalog's functions, which objects are
-- visible on the search path, tables' and views' row types, and the
-- ARRAY(subquery) psql builds lists with. (Names of the catalog's own
-- objects are `name` in PostgreSQL; they are read here as text.)

-- pg_size_pretty: \dt+, \dv+, \l+
SELECT pg_size_pretty(0::bigint), pg_size_pretty(10239::bigint), pg_size_pretty(10240::bigint), pg_size_pretty(-10240::bigint), pg_size_pretty(10752::bigint), pg_size_pretty(-10752::bigint);
SELECT pg_size_pretty(1234567::bigint), pg_size_pretty(20971519::bigint), pg_size_pretty(20971520::bigint), pg_size_pretty(9223372036854775807::bigint), pg_size_pretty(-9223372036854775807::bigint);
SELECT pg_size_pretty(5.5::numeric), pg_size_pretty(10239.7::numeric), pg_size_pretty(123456789.9::numeric), pg_size_pretty(-10239.5::numeric);
SELECT pg_size_pretty(NULL::bigint);
SELECT x, pg_size_pretty(x) FROM (VALUES (1::bigint), (100000::bigint), (5000000000::bigint), (NULL::bigint)) AS v(x) ORDER BY x;

-- Relation sizes: a table's data (OKO: its Delta files), a view's none,
-- an oid that names nothing NULL, a name that names nothing an error.
SELECT pg_table_size('{{oid:leads}}'::oid) > 0 AS leads, pg_table_size('{{oid:lead_facts}}'::oid) AS view_size, pg_total_relation_size('{{oid:ratings_effective}}'::oid) AS view_total;
SELECT pg_table_size('leads') > 0, pg_relation_size('public.leads') > 0, pg_total_relation_size('leads') >= pg_table_size('leads'), pg_typeof(pg_table_size('leads'));
SELECT pg_table_size(0), pg_relation_size(0), pg_total_relation_size(0), pg_indexes_size(0);
SELECT pg_table_size('no_such_relation');
SELECT c.relname::text, pg_size_pretty(pg_table_size(c.oid)) FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'public' AND c.relkind = 'v' ORDER BY 1;

-- Visibility: \df, \dT, \do, SQLAlchemy's get_enums
SELECT pg_catalog.pg_table_is_visible('{{oid:leads}}'), pg_catalog.pg_table_is_visible('{{oid:ratings_effective}}'), pg_catalog.pg_type_is_visible(25), pg_catalog.pg_type_is_visible(1009), pg_catalog.pg_function_is_visible(1242), pg_catalog.pg_function_is_visible(1770);
SELECT pg_catalog.pg_operator_is_visible(96), pg_catalog.pg_opclass_is_visible(1978), pg_catalog.pg_opfamily_is_visible(1976), pg_catalog.pg_ts_config_is_visible(3748), pg_catalog.pg_ts_parser_is_visible(3722), pg_catalog.pg_ts_template_is_visible(3727), pg_catalog.pg_ts_dict_is_visible(3765);
SELECT pg_catalog.pg_function_is_visible(0), pg_catalog.pg_type_is_visible(0), pg_catalog.pg_table_is_visible(0), pg_catalog.pg_type_is_visible(NULL);
SELECT c.relname::text, pg_catalog.pg_table_is_visible(c.oid) FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'information_schema' AND c.relname IN ('tables', 'columns', 'views') ORDER BY 1;
SELECT t.typname::text, pg_catalog.pg_type_is_visible(t.oid) FROM pg_catalog.pg_class c JOIN pg_catalog.pg_type t ON t.oid = c.reltype WHERE c.oid IN ('{{oid:leads}}', '{{oid:ratings_effective}}') ORDER BY 1;
SET search_path = pg_catalog;
SELECT pg_catalog.pg_table_is_visible('{{oid:leads}}'), pg_catalog.pg_type_is_visible(25), pg_catalog.pg_function_is_visible(1770);
RESET search_path;
SELECT pg_catalog.pg_table_is_visible('{{oid:leads}}');

-- format_type, as psql's \d and \df write column and argument types.
SELECT format_type(1042, NULL), format_type(1042, -1), format_type(1042, 14), format_type(1043, 14), format_type(1043, -1), format_type(1700, 655366), format_type(1700, -1), format_type(1700, 4);
SELECT format_type(1114, 3), format_type(1184, 6), format_type(1184, -1), format_type(1083, 2), format_type(1266, 0), format_type(1560, 5), format_type(1562, 5), format_type(1562, NULL);
SELECT format_type(2277, NULL), format_type(1009, 14), format_type(18, NULL), format_type(2276, NULL), format_type(19, NULL), format_type(1000, NULL), format_type(1014, 14), format_type(25, 5);
SELECT format_type(22, NULL), format_type(30, NULL), format_type(3802, NULL), format_type(1186, NULL), format_type(2249, NULL), format_type(NULL, NULL), format_type(999999, NULL), format_type(25, NULL) IS NULL;
SELECT a.attname::text, format_type(a.atttypid, a.atttypmod) FROM pg_catalog.pg_attribute a WHERE a.attrelid = '{{oid:leads}}' AND a.attnum > 0 ORDER BY a.attnum;

-- Tables and views have row types, and arrays of them, as in PostgreSQL.
SELECT t.typname::text, t.typtype, t.typcategory, t.typrelid = c.oid, t.typlen, t.typbyval, a.typname::text, a.typtype, a.typcategory, a.typelem = t.oid, a.typarray = 0, c.reloftype = 0 FROM pg_catalog.pg_class c JOIN pg_catalog.pg_type t ON t.oid = c.reltype JOIN pg_catalog.pg_type a ON a.oid = t.typarray WHERE c.oid IN ('{{oid:leads}}', '{{oid:ratings_effective}}', '{{oid:tenants}}') ORDER BY 1;
SELECT format_type(c.reltype, NULL), format_type(t.typarray, NULL), format_type(t.typarray, -1) FROM pg_catalog.pg_class c JOIN pg_catalog.pg_type t ON t.oid = c.reltype WHERE c.oid = '{{oid:manager_report_month}}';
SELECT count(*) FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace LEFT JOIN pg_catalog.pg_type t ON t.oid = c.reltype AND t.typrelid = c.oid WHERE n.nspname = 'public' AND t.oid IS NULL;
SELECT t.oid = 83, t.typrelid = c.oid, c.relkind FROM pg_catalog.pg_class c JOIN pg_catalog.pg_type t ON t.oid = c.reltype WHERE c.relname = 'pg_class' AND c.relnamespace = 11;
SELECT c.relname::text, c.relkind FROM pg_catalog.pg_class c WHERE c.relnamespace = 11 AND c.relname IN ('pg_class', 'pg_type', 'pg_proc', 'pg_namespace', 'pg_attribute', 'pg_database', 'pg_roles', 'pg_settings', 'pg_tables', 'pg_views', 'pg_user', 'pg_matviews') ORDER BY 1;
-- \dT lists no row types of tables or views (PostgreSQL: nothing else either)
SELECT count(*) FROM pg_catalog.pg_type t LEFT JOIN pg_catalog.pg_namespace n ON n.oid = t.typnamespace WHERE (t.typrelid = 0 OR (SELECT c.relkind = 'c' FROM pg_catalog.pg_class c WHERE c.oid = t.typrelid)) AND NOT EXISTS(SELECT 1 FROM pg_catalog.pg_type el WHERE el.oid = t.typelem AND el.typarray = t.oid) AND n.nspname <> 'pg_catalog' AND n.nspname <> 'information_schema' AND pg_catalog.pg_type_is_visible(t.oid);

-- pg_get_viewdef: NULL for what is not a view
SELECT pg_catalog.pg_get_viewdef('{{oid:leads}}'::pg_catalog.oid, true), pg_catalog.pg_get_viewdef(0), pg_catalog.pg_get_viewdef('leads');
-- compare: shape
SELECT pg_catalog.pg_get_viewdef('ratings_effective'), pg_catalog.pg_get_viewdef('{{oid:ratings_effective}}'::pg_catalog.oid, false);

-- \df, \df+, \da: pg_catalog's functions as psql lists them
SELECT p.proname::text, pg_catalog.pg_get_function_result(p.oid), pg_catalog.pg_get_function_arguments(p.oid), pg_catalog.pg_get_function_identity_arguments(p.oid), p.prokind FROM pg_catalog.pg_proc p WHERE p.oid IN (1066, 1081, 1299, 1686, 1770, 2078, 2289, 2335, 3058, 3259, 3937, 3982) ORDER BY p.oid;
SELECT p.proname::text, pg_catalog.pg_get_function_arguments(p.oid), pg_catalog.pg_get_function_result(p.oid) FROM pg_catalog.pg_proc p WHERE p.proname IN ('percentile_disc', 'mode', 'rank', 'cume_dist') AND p.prokind = 'a' ORDER BY 1, 2;
SELECT pg_catalog.pg_get_function_arguments(p.oid), pg_catalog.pg_get_function_result(p.oid) FROM pg_catalog.pg_proc p WHERE p.proname = 'to_char' ORDER BY 1;
SELECT pg_catalog.pg_get_function_arguments(0), pg_catalog.pg_get_function_result(0), pg_catalog.pg_get_function_sqlbody(1770);
SELECT count(*) FROM pg_catalog.pg_proc p LEFT JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace WHERE pg_catalog.pg_function_is_visible(p.oid) AND n.nspname <> 'pg_catalog' AND n.nspname <> 'information_schema';
SELECT l.lanname::text, pg_catalog.array_to_string(p.proacl, E'\n'), COALESCE(pg_catalog.pg_get_function_sqlbody(p.oid), p.prosrc) FROM pg_catalog.pg_proc p LEFT JOIN pg_catalog.pg_language l ON l.oid = p.prolang WHERE p.oid = 1770;

-- \dn+, \l+, \du+, \db: access privileges joined as text, comments NULL
SELECT n.nspname::text, pg_catalog.array_to_string(n.nspacl, E'\n') IS NULL OR pg_catalog.array_to_string(n.nspacl, E'\n') <> '' FROM pg_catalog.pg_namespace n WHERE n.nspname = 'public';
SELECT pg_catalog.shobj_description(10, 'pg_authid'), pg_catalog.pg_tablespace_location(1663), pg_catalog.pg_tablespace_location(NULL);
SELECT pg_catalog.pg_database_size(pg_catalog.current_database()) > 0;

-- ARRAY(subquery), as psql's \du and \d+ build lists: {} when empty, in
-- the subquery's order, correlated with the outer row.
SELECT ARRAY(SELECT tenant FROM tenants WHERE false) AS none, ARRAY(SELECT tenant FROM tenants ORDER BY tenant DESC) AS tenants;
SELECT t.tenant, ARRAY(SELECT m.manager_id FROM managers m WHERE m.tenant = t.tenant ORDER BY 1) AS managers FROM tenants t ORDER BY 1;
SELECT t.tenant, ARRAY(SELECT m.manager_id FROM managers m WHERE m.tenant = t.tenant AND m.manager_id = 'nobody') AS managers FROM tenants t ORDER BY 1;
SELECT t.tenant, ARRAY(SELECT m.name FROM managers m WHERE m.tenant = t.tenant ORDER BY m.manager_id DESC) FROM tenants t ORDER BY 1;
SELECT pg_catalog.array_to_string(NULL::text[] || ARRAY(SELECT 'toast.' || x FROM pg_catalog.unnest(ARRAY['fillfactor=70', 'autovacuum_enabled=off']) x), ', ');
SELECT l.tenant, l.lead_id, ARRAY(SELECT upper(x) FROM unnest(l.tags) x) AS tags FROM leads l ORDER BY l.tenant, l.lead_id LIMIT 20;
SELECT pg_catalog.array_to_string(c.reloptions || ARRAY(SELECT 'toast.' || x FROM pg_catalog.unnest(tc.reloptions) x), ', ') AS options FROM pg_catalog.pg_class c LEFT JOIN pg_catalog.pg_class tc ON (c.reltoastrelid = tc.oid) WHERE c.oid = '{{oid:leads}}';
