//! The module in a session: statements and the answers PostgreSQL 15.18
//! gives to them (each expected value was read from `psql` on a real
//! PostgreSQL 15).

use datafusion::arrow::array::Array;
use datafusion::prelude::{SessionConfig, SessionContext};

use super::*;
use crate::sqlstate::Coded;

fn session() -> SessionContext {
    let mut config = SessionConfig::new().set_str("datafusion.sql_parser.dialect", "postgresql");
    config.options_mut().execution.time_zone = Some("UTC".into());
    let ctx = SessionContext::new_with_config(config);
    install(&ctx).unwrap();
    ctx
}

/// The first row's values as text (`None` for NULL), and each column's
/// JSON kind.
async fn row(sql: &str) -> (Vec<Option<String>>, Vec<Option<Kind>>) {
    let ctx = session();
    let df = ctx.sql(sql).await.unwrap_or_else(|e| panic!("{sql}: {e}"));
    let batches = df.collect().await.unwrap_or_else(|e| panic!("{sql}: {e}"));
    let batch = batches.iter().find(|b| b.num_rows() > 0).unwrap();
    let schema = batch.schema();
    let values = batch
        .columns()
        .iter()
        .map(|c| {
            let text = datafusion::arrow::compute::cast(c, &DataType::Utf8).unwrap();
            let text = text.as_string::<i32>();
            (!text.is_null(0)).then(|| text.value(0).to_string())
        })
        .collect();
    let kinds = schema.fields().iter().map(|f| Kind::of(f)).collect();
    (values, kinds)
}

async fn one(sql: &str) -> Option<String> {
    row(sql).await.0.remove(0)
}

async fn all(sql: &str) -> Vec<Vec<Option<String>>> {
    let ctx = session();
    let batches = ctx.sql(sql).await.unwrap().collect().await.unwrap();
    let mut out = vec![];
    for b in &batches {
        for r in 0..b.num_rows() {
            out.push(
                b.columns()
                    .iter()
                    .map(|c| {
                        let t = datafusion::arrow::compute::cast(c, &DataType::Utf8).unwrap();
                        let t = t.as_string::<i32>();
                        (!t.is_null(r)).then(|| t.value(r).to_string())
                    })
                    .collect(),
            );
        }
    }
    out
}

/// The SQLSTATE a statement fails with.
async fn sqlstate(sql: &str) -> String {
    let ctx = session();
    let e = match ctx.sql(sql).await {
        Ok(df) => match df.collect().await {
            Ok(_) => panic!("{sql} did not fail"),
            Err(e) => e,
        },
        Err(e) => e,
    };
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(&e);
    while let Some(s) = source {
        if let Some(c) = s.downcast_ref::<Coded>() {
            return c.code.to_string();
        }
        if let Some(datafusion::common::DataFusionError::External(inner)) =
            s.downcast_ref::<datafusion::common::DataFusionError>()
            && let Some(c) = inner.downcast_ref::<Coded>()
        {
            return c.code.to_string();
        }
        source = s.source();
    }
    panic!("{sql}: no SQLSTATE in {e}")
}

fn s(v: &str) -> Option<String> {
    Some(v.to_string())
}

#[tokio::test]
async fn casts_read_validate_and_keep_their_type() {
    let (values, kinds) = row(
        r#"SELECT '{"b": 2, "a": 1, "a": 3}'::jsonb AS b, '{"b": 2,  "a": 1}'::json AS j, CAST('[1, 2.50]' AS jsonb) AS c, ('{"a": 1}'::jsonb)::text AS t, '{"a":   1}'::json::jsonb AS jb"#,
    )
    .await;
    assert_eq!(
        values,
        vec![
            s(r#"{"a": 3, "b": 2}"#),
            s(r#"{"b": 2,  "a": 1}"#),
            s("[1, 2.50]"),
            s(r#"{"a": 1}"#),
            s(r#"{"a": 1}"#)
        ]
    );
    assert_eq!(
        kinds,
        vec![
            Some(Kind::Jsonb),
            Some(Kind::Json),
            Some(Kind::Jsonb),
            None,
            Some(Kind::Jsonb)
        ]
    );
    assert_eq!(sqlstate("SELECT '{\"a\":'::json").await, "22P02");
    assert_eq!(sqlstate("SELECT '[1, 2'::jsonb").await, "22P02");
    assert_eq!(sqlstate("SELECT 1::json").await, "42846");
    assert_eq!(sqlstate("SELECT '1'::json::int").await, "42846");
    assert_eq!(one("SELECT NULL::jsonb").await, None);
    // '5.5'::jsonb::int = 6; '"5"'::jsonb::int is refused (22023).
    assert_eq!(one("SELECT '5.5'::jsonb::int").await, s("6"));
    assert_eq!(one("SELECT 'true'::jsonb::boolean").await, s("true"));
    assert_eq!(one("SELECT '1.25'::jsonb::float8").await, s("1.25"));
    assert_eq!(sqlstate("SELECT '\"5\"'::jsonb::int").await, "22023");
}

#[tokio::test]
async fn field_access_is_postgresqls() {
    for (sql, expected) in [
        (
            r#"SELECT '{"a": {"b": "x"}}'::jsonb -> 'a' ->> 'b'"#,
            s("x"),
        ),
        (r#"SELECT '{"a": 1}'::json ->> 'a'"#, s("1")),
        ("SELECT '[10,20,30]'::jsonb -> 1", s("20")),
        ("SELECT '[10,20,30]'::jsonb ->> 2", s("30")),
        ("SELECT '[1, 2 , 3 ]'::json -> -1", s("3")),
        ("SELECT '[1, 2 , 3 ]'::jsonb -> -4", None),
        (
            r#"SELECT '{"b":1,   "a":[1,  2]}'::json -> 'a'"#,
            s("[1,  2]"),
        ),
        (
            r#"SELECT '{"b":1,   "a":[1,  2]}'::jsonb -> 'a'"#,
            s("[1, 2]"),
        ),
        (r#"SELECT '{"b":1, "a":1, "a":2}'::json -> 'a'"#, s("2")),
        (r#"SELECT '{"a": null}'::jsonb ->> 'a'"#, None),
        (r#"SELECT '{"a": null}'::jsonb -> 'a'"#, s("null")),
        (r#"SELECT '{"a":"x\ny"}'::jsonb -> 'a'"#, s(r#""x\ny""#)),
        (r#"SELECT '{"a":"x\ny"}'::jsonb ->> 'a'"#, s("x\ny")),
        (r#"SELECT '{"a": "\u0041"}'::json -> 'a'"#, s(r#""\u0041""#)),
        ("SELECT '1'::jsonb -> 0", s("1")),
        ("SELECT '1'::json -> 0", None),
        (
            r#"SELECT '{"a": {"b": [1, 2, 3]}}'::jsonb #> '{a,b}'"#,
            s("[1, 2, 3]"),
        ),
        (
            r#"SELECT '{"a": {"b": [1, 2, 3]}}'::jsonb #>> '{a,b,0}'"#,
            s("1"),
        ),
        (
            r#"SELECT '{"a":{"b":[1,2,3]}}'::json #>> '{a,b,-1}'"#,
            s("3"),
        ),
        (
            r#"SELECT '{"a":{"b":[1,2,3]}}'::jsonb #> '{}'"#,
            s(r#"{"a": {"b": [1, 2, 3]}}"#),
        ),
        (r#"SELECT ('{"n": 5}'::jsonb ->> 'n')::int + 1"#, s("6")),
        (r#"SELECT '{"a": 1}'::jsonb -> 'missing'"#, None),
        (
            r#"SELECT json_extract_path('{"a":{"b": [1,  2]}}', 'a', 'b')"#,
            s("[1,  2]"),
        ),
        (
            r#"SELECT jsonb_extract_path_text('{"a":{"b":"x"}}', 'a', 'b')"#,
            s("x"),
        ),
    ] {
        assert_eq!(one(sql).await, expected, "{sql}");
    }
    let (_, kinds) = row(
        r#"SELECT '{"a": 1}'::json -> 'a', '{"a": 1}'::jsonb -> 'a', '{"a": 1}'::jsonb ->> 'a'"#,
    )
    .await;
    assert_eq!(kinds, vec![Some(Kind::Json), Some(Kind::Jsonb), None]);
    // 42725: unknown -> unknown; 42883: text -> unknown, json = json,
    // json ? unknown, json || json.
    assert_eq!(sqlstate(r#"SELECT '{"a":1}' -> 'a'"#).await, "42725");
    assert_eq!(sqlstate("SELECT 'x'::text -> 'a'").await, "42883");
    assert_eq!(
        sqlstate(r#"SELECT '{"a":1}'::json = '{"a":1}'::json"#).await,
        "42883"
    );
    assert_eq!(sqlstate(r#"SELECT '{"a":1}'::json ? 'a'"#).await, "42883");
    assert_eq!(
        sqlstate(r#"SELECT '{"a": 1}'::json || '{"b":2}'::json"#).await,
        "42883"
    );
    assert_eq!(sqlstate(r#"SELECT '{"a":1}'::jsonb = 'x'"#).await, "22P02");
}

#[tokio::test]
async fn jsonb_operators_are_postgresqls() {
    let (values, _) = row(
        r#"SELECT '{"a": 1}'::jsonb @> '{"a": 1}'::jsonb, '{"a": 1}'::jsonb ? 'a', '{"a": 1}'::jsonb ? 'b',
                  '{"a": 1, "b": 2}'::jsonb ?| ARRAY['b', 'c'], '{"a": 1, "b": 2}'::jsonb ?& ARRAY['a', 'b'],
                  '{"a":1}'::jsonb ?| '{b,a}', '{"a":1}'::jsonb <@ '{"a":1, "b":2}',
                  '{"a": 1}'::jsonb = '{"a": 1.0}'::jsonb, '[1, 2]'::jsonb = '[2, 1]'::jsonb,
                  '10'::jsonb > '9'::jsonb, '[]'::jsonb < 'null'::jsonb,
                  '{"a":[1,2,{"b":1}]}'::jsonb @> '{"a":[{"b":1.0}]}', '[[1]]'::jsonb @> '[1]'"#,
    )
    .await;
    let expected = [
        "true", "true", "false", "true", "true", "true", "true", "true", "false", "true", "true",
        "true", "false",
    ];
    assert_eq!(values, expected.iter().map(|v| s(v)).collect::<Vec<_>>());
    let (values, kinds) = row(
        r#"SELECT '{"a": 1}'::jsonb || '{"b": 2}'::jsonb, '{"a": 1, "b": 2}'::jsonb - 'a',
                  '[1,2,3]'::jsonb - 1, '{"a":1,"b":2}'::jsonb - ARRAY['a', 'b'],
                  '{"a":{"b":1,"c":2}}'::jsonb #- '{a,b}'"#,
    )
    .await;
    assert_eq!(
        values,
        vec![
            s(r#"{"a": 1, "b": 2}"#),
            s(r#"{"b": 2}"#),
            s("[1, 3]"),
            s("{}"),
            s(r#"{"a": {"c": 2}}"#)
        ]
    );
    assert!(kinds.iter().all(|k| *k == Some(Kind::Jsonb)));
    assert_eq!(sqlstate(r#"SELECT '{"a":1}'::jsonb - 0"#).await, "22023");
}

#[tokio::test]
async fn functions_are_postgresqls() {
    for (sql, expected) in [
        ("SELECT jsonb_typeof('[1]'::jsonb)", s("array")),
        (r#"SELECT json_typeof('"x"')"#, s("string")),
        ("SELECT jsonb_typeof('1.5')", s("number")),
        ("SELECT jsonb_typeof('null')", s("null")),
        ("SELECT json_typeof(NULL)", None),
        ("SELECT jsonb_array_length('[1, 2, 3]')", s("3")),
        ("SELECT json_array_length('[]')", s("0")),
        (
            r#"SELECT json_build_object('a', 1, 'b', '{"x":1}'::json, 'c', '{"x":  1}'::jsonb, 'd', make_array(1,2), 'e', CAST(1.50 AS numeric(3, 2)), 'f', 'x')"#,
            s(r#"{"a" : 1, "b" : {"x":1}, "c" : {"x": 1}, "d" : [1,2], "e" : 1.50, "f" : "x"}"#),
        ),
        (
            r#"SELECT jsonb_build_object('a', 1, 'b', '{"x":1}'::json, 'c', '{"x":  1}'::jsonb, 'd', make_array(1,2), 'e', CAST(1.50 AS numeric(3, 2)), 'f', 'x')"#,
            s(r#"{"a": 1, "b": {"x": 1}, "c": {"x": 1}, "d": [1, 2], "e": 1.50, "f": "x"}"#),
        ),
        (
            "SELECT json_build_object('a', 1, 'b', 'x\"y', 'c', true, 'd', NULL)",
            s(r#"{"a" : 1, "b" : "x\"y", "c" : true, "d" : null}"#),
        ),
        (
            "SELECT json_build_object(1.5, 2, true, 3)",
            s(r#"{"1.5" : 2, "true" : 3}"#),
        ),
        (
            "SELECT jsonb_build_object('b', 1, 'a', 2, 'b', 3)",
            s(r#"{"a": 2, "b": 3}"#),
        ),
        (
            "SELECT json_build_array(1, 'a', true, NULL, 2.5)",
            s(r#"[1, "a", true, null, 2.5]"#),
        ),
        ("SELECT json_build_array()", s("[]")),
        ("SELECT json_build_object()", s("{}")),
        ("SELECT to_json('text'::text)", s(r#""text""#)),
        ("SELECT to_jsonb(42)", s("42")),
        ("SELECT to_jsonb(CAST(1.50 AS numeric(3, 2)))", s("1.50")),
        ("SELECT to_json(CAST(1e20 AS double precision))", s("1e+20")),
        (
            "SELECT to_jsonb(CAST(1e20 AS double precision))",
            s("100000000000000000000"),
        ),
        (
            "SELECT to_json(CAST('NaN' AS double precision))",
            s(r#""NaN""#),
        ),
        ("SELECT to_json(make_array('a', 'b'))", s(r#"["a","b"]"#)),
        ("SELECT to_jsonb(make_array('a', 'b'))", s(r#"["a", "b"]"#)),
        (
            "SELECT to_json(CAST('2026-06-01 10:00:00.123' AS timestamp))",
            s(r#""2026-06-01T10:00:00.123""#),
        ),
        (
            "SELECT to_json(CAST('2026-06-01T10:00:00.5+03:00' AS timestamp with time zone))",
            s(r#""2026-06-01T07:00:00.5+00:00""#),
        ),
        ("SELECT to_json(DATE '2026-06-01')", s(r#""2026-06-01""#)),
        (
            r#"SELECT jsonb_pretty('{"a": [1, 2]}')"#,
            s("{\n    \"a\": [\n        1,\n        2\n    ]\n}"),
        ),
        (
            r#"SELECT jsonb_strip_nulls('{"a": null, "b": 1}')"#,
            s(r#"{"b": 1}"#),
        ),
        (r#"SELECT json_strip_nulls('{"a": null}')"#, s("{}")),
        (
            r#"SELECT jsonb_set('{"a": 1}', '{a}', '2')"#,
            s(r#"{"a": 2}"#),
        ),
        (
            r#"SELECT jsonb_set('{"a": 1}', '{b}', '"x"')"#,
            s(r#"{"a": 1, "b": "x"}"#),
        ),
        (
            r#"SELECT (json_build_object('x', 1.5) ->> 'x')::double precision"#,
            s("1.5"),
        ),
    ] {
        assert_eq!(one(sql).await, expected, "{sql}");
    }
    assert_eq!(
        sqlstate(r#"SELECT jsonb_array_length('{"a": 1}')"#).await,
        "22023"
    );
    assert_eq!(sqlstate("SELECT json_array_length('1')").await, "22023");
    assert_eq!(sqlstate("SELECT jsonb_typeof('1'::json)").await, "42883");
    assert_eq!(
        sqlstate("SELECT jsonb_typeof(CAST('x' AS text))").await,
        "42883"
    );
    assert_eq!(sqlstate("SELECT json_build_object('a')").await, "22023");
    assert_eq!(sqlstate("SELECT json_build_object(NULL, 2)").await, "22023");
}

#[tokio::test]
async fn aggregates_are_postgresqls() {
    let v = "(VALUES (1, 'b'), (2, 'a'), (3, NULL)) AS t(n, s)";
    for (sql, expected) in [
        (format!("SELECT json_agg(n) FROM {v}"), s("[1, 2, 3]")),
        (format!("SELECT json_agg(s ORDER BY s) FROM {v}"), s(r#"["a", "b", null]"#)),
        (format!("SELECT jsonb_agg(n ORDER BY n DESC) FROM {v}"), s("[3, 2, 1]")),
        (
            format!("SELECT json_agg(n ORDER BY n DESC) FILTER (WHERE n > 1) FROM {v}"),
            s("[3, 2]"),
        ),
        (
            format!("SELECT json_object_agg(s, n ORDER BY n) FILTER (WHERE s IS NOT NULL) FROM {v}"),
            s(r#"{ "b" : 1, "a" : 2 }"#),
        ),
        (
            format!("SELECT jsonb_object_agg(s, n) FILTER (WHERE s IS NOT NULL) FROM {v}"),
            s(r#"{"a": 2, "b": 1}"#),
        ),
        (format!("SELECT json_agg(n) FROM {v} WHERE n > 5"), None),
        (
            "SELECT json_agg(x) FROM (VALUES (make_array('a','b')), (make_array('c'))) AS v(x)".to_string(),
            s("[[\"a\",\"b\"], \n [\"c\"]]"),
        ),
        (
            r#"SELECT json_agg(x) FROM (VALUES ('{"b":1,  "a":2}'::json), ('[1,2]'::json)) AS v(x)"#.to_string(),
            s(r#"[{"b":1,  "a":2}, [1,2]]"#),
        ),
        (
            r#"SELECT jsonb_agg(x) FROM (VALUES ('{"b":1,  "a":2}'::json), ('[1,2]'::json)) AS v(x)"#.to_string(),
            s(r#"[{"a": 2, "b": 1}, [1, 2]]"#),
        ),
    ] {
        assert_eq!(one(&sql).await, expected, "{sql}");
    }
    let grouped = all(&format!(
        "SELECT n % 2 AS g, json_agg(n ORDER BY n) FROM {v} GROUP BY n % 2 ORDER BY g"
    ))
    .await;
    assert_eq!(
        grouped,
        vec![vec![s("0"), s("[2]")], vec![s("1"), s("[1, 3]")]]
    );
    assert_eq!(
        sqlstate(&format!("SELECT json_object_agg(s, n) FROM {v}")).await,
        "22023"
    );
}

#[tokio::test]
async fn sets_in_from_are_postgresqls() {
    assert_eq!(
        all(r#"SELECT * FROM jsonb_array_elements('[1, "two", null]'::jsonb)"#).await,
        vec![vec![s("1")], vec![s(r#""two""#)], vec![s("null")]]
    );
    assert_eq!(
        all(r#"SELECT * FROM json_array_elements_text('[1, "two", null, [1,  2]]')"#).await,
        vec![vec![s("1")], vec![s("two")], vec![None], vec![s("[1,  2]")]]
    );
    assert_eq!(
        all(r#"SELECT * FROM jsonb_each_text('{"a":null,"b":"x","c":[1, 2]}')"#).await,
        vec![
            vec![s("a"), None],
            vec![s("b"), s("x")],
            vec![s("c"), s("[1, 2]")]
        ]
    );
    assert_eq!(
        all(r#"SELECT key, value FROM json_each('{"a":1, "b": [2,  3]}') ORDER BY key"#).await,
        vec![vec![s("a"), s("1")], vec![s("b"), s("[2,  3]")]]
    );
    assert_eq!(
        all(r#"SELECT * FROM jsonb_object_keys('{"b":1,"a":2}')"#).await,
        vec![vec![s("a")], vec![s("b")]]
    );
    assert_eq!(
        all(r#"SELECT * FROM json_object_keys('{"a":1,"a":2}')"#).await,
        vec![vec![s("a")], vec![s("a")]]
    );
    assert_eq!(
        sqlstate(r#"SELECT * FROM jsonb_array_elements('{"a":1}')"#).await,
        "22023"
    );
}

#[tokio::test]
async fn values_through_subqueries_keep_their_type() {
    let (values, kinds) = row(
        r#"SELECT j -> 'a' AS a, j ->> 'a' AS t FROM (SELECT '{"a": [1,2]}'::jsonb AS j) s WHERE j ? 'a'"#,
    )
    .await;
    assert_eq!(values, vec![s("[1, 2]"), s("[1, 2]")]);
    assert_eq!(kinds, vec![Some(Kind::Jsonb), None]);
    let counted = one(
        "SELECT count(*) FROM (SELECT jsonb_build_object('t', x) AS j FROM (VALUES ('chat'), ('call'), ('chat')) AS v(x)) s WHERE j ->> 't' = 'chat'",
    )
    .await;
    assert_eq!(counted, s("2"));
}

#[tokio::test]
async fn sql_json_paths_answer_jsonb() {
    // PostgreSQL 15.18.
    let (values, kinds) =
        row(r#"SELECT jsonb_path_query_first('{"a": [1, 2, 3]}', '$.a[1]')"#).await;
    assert_eq!(values, vec![Some("2".to_string())]);
    assert_eq!(kinds, vec![Some(Kind::Jsonb)]);
    let (values, kinds) = row(r#"SELECT unnest(jsonb_path_query('[1, {"b": 2}]', '$[*]'))"#).await;
    assert_eq!(values, vec![Some("1".to_string())]);
    assert_eq!(kinds, vec![Some(Kind::Jsonb)]);
    assert_eq!(
        all(r#"SELECT * FROM jsonb_path_query('[1, {"b": 2}]', '$[*]')"#).await,
        vec![
            vec![Some("1".to_string())],
            vec![Some(r#"{"b": 2}"#.to_string())]
        ]
    );
    assert_eq!(
        one(r#"SELECT '{"a": [1, 2]}'::jsonb @? '$.a[*] ? (@ > 1)'"#)
            .await
            .as_deref(),
        Some("true")
    );
    assert_eq!(
        one(r#"SELECT '{"a": 1}'::jsonb @@ 'strict $.b == 1'"#).await,
        None
    );
    assert_eq!(
        sqlstate(r#"SELECT jsonb_path_query_first('{}', 'strict $.a')"#).await,
        "2203A"
    );
    assert_eq!(
        sqlstate(r#"SELECT jsonb_path_query_first('{}', '$ ? (@.a)')"#).await,
        "42601"
    );
    assert_eq!(
        sqlstate(r#"SELECT '{}'::jsonb @? '$.a'::text"#).await,
        "42883"
    );
}
