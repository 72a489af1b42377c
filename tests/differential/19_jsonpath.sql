-- The SQL/JSON path language (jsonpath) on jsonb: jsonb_path_query[_first|_array],
-- jsonb_path_exists, jsonb_path_match, @? and @@; lax and strict modes, errors.

SELECT jsonb_path_query_first('{"a": [1, 2, 3]}', '$.a[1]');
SELECT jsonb_path_query_first('{"a": [1, 2, 3]}', '$.a[last]'), jsonb_path_query_first('{"a": [1, 2, 3]}', '$.a[9]');
SELECT jsonb_path_query_array('{"a": [1, 2, 3, 4]}', '$.a[0 to 1, last]');
SELECT jsonb_path_query_array('{"a": [1, 2, 3, 4]}', '$.a[last - 1 to last]');
SELECT jsonb_path_query_array('{"a": {"b": 1, "c": [2, 3]}}', '$.a.*');
SELECT jsonb_path_query_array('{"a": {"b": 1, "c": [2, 3]}}', '$.a.c[*]');
SELECT jsonb_path_query_array('{"a": {"b": 1, "c": [2, 3]}}', '$.**');
SELECT jsonb_path_query_array('[1, [2, [3]]]', '$.**{2}'), jsonb_path_query_array('[1, [2, [3]]]', 'lax $.**{last}');
SELECT jsonb_path_query_first('{"f g": true, "size": 5}', '$."f g"'), jsonb_path_query_first('{"f g": true, "size": 5}', '$.size');
SELECT jsonb_path_query_array('[{"e": 1}, {"e": 2}, {"x": 3}]', '$.e'), jsonb_path_query_array('[{"e": 1}, {"e": 2}, {"x": 3}]', '$[*].e');
SELECT jsonb_path_query_array('{"a": 1}', '$[*]'), jsonb_path_query_array('{"a": 1}', '$[0].a');

-- Filters and predicates.
SELECT jsonb_path_query_array('[1, 2, 3, 4]', '$[*] ? (@ > 1 && @ < 4)');
SELECT jsonb_path_query_array('[{"x": "a", "n": 1}, {"x": "b", "n": 2}, {"x": "ab", "n": 3}, {"n": "s"}]', '$[*] ? (@.n > 1 && @.x starts with "a").n');
SELECT jsonb_path_query_array('[{"x": "a", "n": 1}, {"x": "b", "n": 2}, {"x": "ab", "n": 3}]', '$[*] ? (@.n == 1 || !(@.x like_regex "^a")).x');
SELECT jsonb_path_query_array('[{"x": "a", "n": 1}, {"n": 2}]', '$[*] ? (exists(@.x)).n');
SELECT jsonb_path_query_array('[{"n": 1}, {"n": 2}, {"n": "s"}]', '$[*] ? ((@.n > 1) is unknown).n');
SELECT jsonb_path_query_array('["Abc", "aBC", "xyz"]', '$[*] ? (@ like_regex "^ab" flag "i")');
SELECT jsonb_path_query_array('["a.c", "abc"]', '$[*] ? (@ like_regex "a.c" flag "q")');
SELECT jsonb_path_query_array('[1, "1", null, true, {"a": 1}]', '$[*] ? (@ == 1)'), jsonb_path_query_array('[1, "1", null, true]', '$[*] ? (@ != 1)');
SELECT jsonb_path_query_array('["b", "a", "c"]', '$[*] ? (@ < "b")');
SELECT jsonb_path_query_array('[1, 2, 3]', '$[*] ? (@ >= $min && @ <= $max)', '{"min": 2, "max": 3}');
SELECT jsonb_path_query('1', '$ == 1'), jsonb_path_query('{}', '$.a == 1'), jsonb_path_query('[1, "a"]', 'strict $[*] == 1');

-- Arithmetic and item methods.
SELECT jsonb_path_query('{"a": 7}', '$.a + 1'), jsonb_path_query('{"a": 7}', '$.a - 10'), jsonb_path_query('{"a": 7}', '$.a * 1.5');
SELECT jsonb_path_query('{"a": 7}', '$.a / 2'), jsonb_path_query('1', '10 / 3'), jsonb_path_query('1', '1 / 3.000'), jsonb_path_query('{"a": 7}', '$.a % 3');
SELECT jsonb_path_query('1', '-7 % 3'), jsonb_path_query('1', '7.5 % -2'), jsonb_path_query('1', '1.10 * 2.5'), jsonb_path_query('1', '-(1 + 2) * 3');
SELECT jsonb_path_query_array('[1, 2]', '-$[*]'), jsonb_path_query_array('[1, 2]', '+$[*]');
SELECT jsonb_path_query_array('[1, "a", [], {}, null, true]', '$[*].type()'), jsonb_path_query_first('[1, [2, 3]]', '$.type()');
SELECT jsonb_path_query('{"a": [1, 2, 3]}', '$.a.size()'), jsonb_path_query('{"a": 5}', '$.a.size()'), jsonb_path_query_array('[[1, 2], [3]]', '$[*].size()');
SELECT jsonb_path_query_array('[-1.5, 2.5, 3]', '$[*].abs()'), jsonb_path_query_array('[-1.5, 2.5, 3]', '$[*].floor()'), jsonb_path_query_array('[-1.5, 2.5, 3]', '$[*].ceiling()');
SELECT jsonb_path_query_array('["1.5", "1e20", "1.5e-5", " 12 ", 2.50, 1.2345678901234567]', '$[*].double()');
SELECT jsonb_path_query('{"a": 1, "b": [1, 2]}', '$.keyvalue()');
SELECT jsonb_path_query('{"a": {"b": 1, "c": "x"}, "d": 2.5}', '$.a.keyvalue()');
SELECT jsonb_path_query_array('[{"k": 1}, {"k": 2}]', '$[*].keyvalue().value');
SELECT jsonb_path_query('{"a": 1}', '$x.keyvalue()', '{"x": {"q": 1}}');
SELECT jsonb_path_query_array('{"a": 1}', '$.keyvalue().keyvalue()');

-- exists, match and the operators.
SELECT jsonb_path_exists('{"a": 1}', '$.a'), jsonb_path_exists('{"a": 1}', '$.b'), jsonb_path_exists('{"a": 1}', 'strict $.b', '{}', true);
SELECT jsonb_path_exists('{"a": [1, 2]}', '$.a[*] ? (@ > $x)', '{"x": 1}'), jsonb_path_exists('{"a": [1, 2]}', '$.a[*] ? (@ > $x)', '{"x": 5}');
SELECT jsonb_path_match('{"a": 1}', '$.a == 1'), jsonb_path_match('{"a": 1}', '$.a > 1'), jsonb_path_match('{"a": "s"}', '$.a > 1');
SELECT jsonb_path_match('{"a": true}', '$.a'), jsonb_path_match('{"a": 1}', '$.a', '{}', true), jsonb_path_match('{"a": 1}', 'exists($.a)');
SELECT '{"a": [1, 2, 3]}'::jsonb @? '$.a[*] ? (@ > 2)', '{"a": [1, 2, 3]}'::jsonb @? '$.a[*] ? (@ > 5)';
SELECT '{"a": [1, 2, 3]}'::jsonb @@ '$.a[*] > 2', '{"a": [1, 2, 3]}'::jsonb @@ '$.a[*] > 5', '{"a": 1}'::jsonb @@ '$.a';
SELECT '{"a": 1}'::jsonb @? 'strict $.b', '{"a": 1}'::jsonb @@ 'strict $.b == 1', '{}' @? '$x';
SELECT '{"a": 1}' @? '$.a', '{"a": 1}' @@ '$.a == 1';

-- In a select list, in FROM, on table rows.
SELECT jsonb_path_query('{"a": [1, 2, 3]}', '$.a[*] ? (@ >= 2)');
SELECT jsonb_path_query('[{"n": 1}, {"n": 2}]', '$[*].n') AS n ORDER BY n;
SELECT * FROM jsonb_path_query('{"a": [{"b": 1}, {"b": 2}]}', '$.a[*].b');
SELECT v FROM jsonb_path_query('[3, 1, 2]', '$[*] ? (@ > 1)') AS v ORDER BY v;
SELECT tenant, jsonb_path_query_first(jsonb_build_object('t', tenant, 'd', survey_interval_days), '$.d') FROM tenants ORDER BY tenant;
SELECT tenant FROM tenants WHERE jsonb_build_object('t', tenant) @? '$.t ? (@ starts with "o")' ORDER BY tenant;
SELECT count(*) FROM tenants WHERE jsonb_path_exists(jsonb_build_object('d', survey_interval_days), '$.d ? (@ > $n)', '{"n": 0}');

-- NULLs: any NULL argument gives NULL (no rows for jsonb_path_query).
SELECT jsonb_path_query_first(NULL, '$.a'), jsonb_path_query_first('{"a": 1}', NULL), jsonb_path_exists('{"a": 1}', '$.a', NULL), jsonb_path_exists('{"a": 1}', '$.a', '{}', NULL);
SELECT jsonb_path_match(NULL, '$ == 1'), NULL::jsonb @? '$.a', NULL::jsonb @@ '$ == 1', jsonb_path_query_array(NULL, '$');
SELECT count(*) FROM jsonb_path_query(NULL, '$.a');
SELECT jsonb_path_query_first('{"a": null}', '$.a'), jsonb_path_query_first('{"a": null}', '$.b');

-- Errors: strict structural errors (2203x), lax suppresses them, silent too.
SELECT jsonb_path_query('{"a": 1}', 'strict $.b');
SELECT jsonb_path_query('[1, 2]', 'strict $.a');
SELECT jsonb_path_query('[1, 2]', 'strict $[5]');
SELECT jsonb_path_query('{"a": 1}', 'strict $[0]');
SELECT jsonb_path_query('[1]', 'strict $.*');
SELECT jsonb_path_query('{"a": 1}', 'strict $.size()');
SELECT jsonb_path_query('[1, 2]', '$[$.x]');
SELECT jsonb_path_query('[1, "a", 3]', 'strict $[*].abs()', '{}', true);
SELECT jsonb_path_query('[1, "a", 3]', '$[*].abs()');
SELECT jsonb_path_query('"x"', '$.double()');
SELECT jsonb_path_query('true', '$.double()');
SELECT jsonb_path_query('1', '$.keyvalue()');
SELECT jsonb_path_query('[1, [2, 3]]', '$[*] + 1');
SELECT jsonb_path_query('{"a": "x"}', '$.a + 1');
SELECT jsonb_path_query('["a"]', '-$[*]');
SELECT jsonb_path_query('1', '$ / 0');
SELECT jsonb_path_query('1', '$ / 0', '{}', true);
SELECT jsonb_path_query('[1, 0]', '$[*] ? (1 / @ > 0)');
SELECT jsonb_path_query('{}', '$x');
SELECT jsonb_path_query('{}', '$', '[1]');
SELECT jsonb_path_match('{"a": 1}', '$.a');
SELECT jsonb_path_match('[true, true]', '$[*]');
SELECT jsonb_path_query('{', '$');

-- Syntax errors in a path: 42601; an empty path 22P02.
SELECT jsonb_path_query('1', '$ ? (@.a)');
SELECT jsonb_path_query('1', '$.a.b.c()');
SELECT jsonb_path_query('1', '1 == 1 == 1');
SELECT jsonb_path_query('1', '@ + 1');
SELECT jsonb_path_query('1', 'last');
SELECT jsonb_path_query('1', '$.1');
SELECT jsonb_path_query('1', '1.type()');
SELECT jsonb_path_query('1', '$ ? (@ == True)');
SELECT jsonb_path_query('1', '$ ? (@ like_regex "a" flag "z")');
SELECT jsonb_path_query('1', '');
SELECT '{"a": 1}'::jsonb @? '$.a[';
-- The XQuery "x" flag is not implemented in PostgreSQL either (0A000).
SELECT jsonb_path_query('"a"', '$ ? (@ like_regex "a" flag "x")');

-- Operators on other types do not exist.
SELECT '{"a": 1}'::jsonb @? '$.a'::text;
SELECT '{"a": 1}'::json @? '$.a';
SELECT jsonb_path_query_first('{"a": 1}'::json, '$.a');
