//! psql's `\d` family against a real psql 15: every command runs without
//! an error and shows what PostgreSQL would — a view's SQL, tables' sizes,
//! columns and their types, functions, schemas, roles, databases.

use std::process::Command;

use crate::common::{Tool, login_as, require_tool, users_config};
use crate::server::start;

/// psql's output for `command` as `user` (with the password
/// [`users_config`] gives it), or its error.
fn psql(port: u16, user: &str, command: &str) -> Result<String, String> {
    let out = Command::new("psql")
        .arg(format!("host=127.0.0.1 port={port} user={user} dbname=oko"))
        .args([
            "-X",
            "-v",
            "ON_ERROR_STOP=1",
            "-P",
            "pager=off",
            "-c",
            command,
        ])
        .env("PGPASSWORD", format!("{user}-pw"))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    // (psql says on stderr that it found nothing, as for `\di`.)
    if out.status.success() && !stderr.contains("ERROR") {
        Ok(stdout)
    } else {
        Err(format!("{command}: {stdout}{stderr}"))
    }
}

/// The cells of the row of a psql table whose first cells are `key`.
fn row<'a>(out: &'a str, key: &[&str]) -> Option<Vec<&'a str>> {
    out.lines()
        .map(|l| l.split('|').map(str::trim).collect::<Vec<_>>())
        .find(|cells| cells.len() > key.len() && cells[..key.len()] == *key)
}

#[test]
fn every_describe_command_answers_as_postgresql_would() {
    if !require_tool(Tool::Program("psql")) {
        return;
    }
    let server = start(&["--demo"]);
    let d = |command: &str| psql(server.port, "oko", command).unwrap_or_else(|e| panic!("{e}"));

    let out = d("\\d");
    assert_eq!(
        row(&out, &["public", "leads"]),
        Some(vec!["public", "leads", "table", "oko"]),
        "{out}"
    );
    assert_eq!(
        row(&out, &["public", "ratings_effective"]).map(|r| r[2]),
        Some("view"),
        "{out}"
    );

    // A view's SQL as it was written in sql/, comments and layout kept.
    let out = d("\\d+ ratings_effective");
    assert!(out.contains("View \"public.ratings_effective\""), "{out}");
    assert!(
        out.contains(
            "View definition:\n WITH last_moderation AS (\n    SELECT tenant,\n           rating_id,"
        ),
        "{out}"
    );
    assert!(
        out.contains("LEFT JOIN last_moderation m\n       ON m.tenant = r.tenant"),
        "{out}"
    );
    assert!(!out.contains("CREATE VIEW"), "{out}");
    assert_eq!(
        row(&out, &["effective_score"]).map(|r| r[1..6].to_vec()),
        Some(vec!["integer", "", "", "", "plain"]),
        "{out}"
    );
    // A view rendered from a template: its filled SQL.
    let out = d("\\d+ manager_report_month");
    assert!(out.contains("View definition:"), "{out}");
    assert!(
        out.contains("date_trunc('month', f.day)") && out.contains("FROM report_parts_day f"),
        "{out}"
    );

    let out = d("\\d+ leads");
    assert!(out.contains("Table \"public.leads\""), "{out}");
    assert_eq!(
        row(&out, &["tags"]).map(|r| r[1..6].to_vec()),
        Some(vec!["text[]", "", "", "", "extended"]),
        "{out}"
    );
    assert_eq!(
        row(&out, &["created_at"]).map(|r| r[1..4].to_vec()),
        Some(vec!["timestamp with time zone", "", "not null"]),
        "{out}"
    );

    // Sizes: the Delta table's files, as pg_size_pretty writes them; views
    // have none.
    let out = d("\\dt+");
    let leads = row(&out, &["public", "leads"]).unwrap_or_else(|| panic!("{out}"));
    let size = leads[6];
    assert!(
        size.ends_with(" kB") || size.ends_with(" MB") || size.ends_with(" bytes"),
        "{out}"
    );
    assert_ne!(size, "0 bytes", "{out}");
    let bytes = d("SELECT pg_size_pretty(pg_table_size('leads'))");
    assert!(bytes.contains(size), "{size} vs {bytes}");
    assert_eq!(out.matches("| table |").count(), 9, "{out}");
    let out = d("\\dv+");
    assert_eq!(
        row(&out, &["public", "lead_facts"]).map(|r| r[2..6].to_vec()),
        Some(vec!["view", "oko", "permanent", "0 bytes"]),
        "{out}"
    );
    let out = d("\\l+");
    assert!(
        row(&out, &["oko"]).is_some_and(|r| r[8] != "0 bytes" && r[8].contains(' ')),
        "{out}"
    );

    // Functions: OKO has none in public; pg_catalog's are listed with their
    // arguments.
    let out = d("\\df");
    assert!(
        out.contains("List of functions") && out.contains("(0 rows)"),
        "{out}"
    );
    let out = d("\\df+ to_char");
    assert_eq!(
        row(
            &out,
            &[
                "pg_catalog",
                "to_char",
                "text",
                "timestamp with time zone, text"
            ]
        )
        .map(|r| (r[4], r[5], r[10])),
        Some(("func", "stable", "internal")),
        "{out}"
    );
    let out = d("\\df pg_get_keywords");
    assert!(
        out.contains("SETOF record") && out.contains("OUT word text, OUT catcode \"char\""),
        "{out}"
    );
    let out = d("\\da max");
    assert_eq!(
        row(&out, &["pg_catalog", "max", "anyarray"]).map(|r| r[3]),
        Some("anyarray"),
        "{out}"
    );

    let out = d("\\dn+");
    assert_eq!(row(&out, &["public"]).map(|r| r.len()), Some(4), "{out}");
    let out = d("\\du");
    assert_eq!(
        row(&out, &["oko_viewer"]).map(|r| r[1..].to_vec()),
        Some(vec!["Cannot login", "{}"]),
        "{out}"
    );
    let out = d("\\l");
    assert!(row(&out, &["oko"]).is_some(), "{out}");
    // No types of OKO's own: tables' row types are not listed.
    let out = d("\\dT");
    assert!(out.contains("(0 rows)"), "{out}");
    let out = d("\\dS+ pg_class");
    assert!(out.contains("Table \"pg_catalog.pg_class\""), "{out}");
    for command in [
        "\\dT+", "\\du+", "\\dv", "\\dt", "\\di", "\\ds", "\\dx", "\\db", "\\do",
    ] {
        d(command);
    }
}

#[test]
fn roles_show_their_groups_and_a_tenants_sizes_are_not_shown() {
    if !require_tool(Tool::Program("psql")) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let cfg = users_config(
        dir.path(),
        "",
        &[
            ("admin", "admin", None),
            ("okna_viewer", "viewer", Some("okna")),
        ],
    );
    let server = start(&["--demo", "--config", &cfg.display().to_string()]);
    let out = psql(server.port, "admin", "\\du").unwrap();
    assert_eq!(
        row(&out, &["admin"]).map(|r| r[2]),
        Some("{oko_admin}"),
        "{out}"
    );
    assert_eq!(
        row(&out, &["okna_viewer"]).map(|r| r[2]),
        Some("{oko_viewer}"),
        "{out}"
    );
    // A tenant's rows are part of shared Delta files: their size is not
    // that tenant's to see.
    let out = psql(server.port, "okna_viewer", "\\dt+").unwrap();
    assert_eq!(
        row(&out, &["public", "leads"]).map(|r| r[6]),
        Some(""),
        "{out}"
    );
    let out = psql(server.port, "admin", "\\dt+").unwrap();
    assert_ne!(
        row(&out, &["public", "leads"]).map(|r| r[6]),
        Some(""),
        "{out}"
    );
}

/// What the `\d` family reads, asked directly.
#[tokio::test(flavor = "multi_thread")]
async fn the_catalog_knows_row_types_view_sql_and_sizes() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = users_config(dir.path(), "", &[("admin", "admin", None)]);
    let server = start(&["--demo", "--config", &cfg.display().to_string()]);
    let c = login_as(server.port, "admin").await;
    let one = async |sql: &str| -> Vec<Option<String>> {
        let rows = c
            .simple_query(sql)
            .await
            .unwrap_or_else(|e| panic!("{sql}: {e}"));
        rows.iter()
            .find_map(|m| match m {
                tokio_postgres::SimpleQueryMessage::Row(r) => {
                    Some((0..r.len()).map(|i| r.get(i).map(str::to_string)).collect())
                }
                _ => None,
            })
            .unwrap_or_else(|| panic!("{sql}: no row"))
    };
    let s = |v: &str| Some(v.to_string());

    // Every table and view has a row type and its array type, as in
    // PostgreSQL.
    for relation in ["leads", "ratings_effective"] {
        let row = one(&format!(
            "SELECT t.typtype, t.typrelid = c.oid, a.typname, a.typelem = t.oid, \
                    format_type(c.reltype, NULL), format_type(t.typarray, NULL), \
                    pg_type_is_visible(t.oid) \
             FROM pg_class c JOIN pg_type t ON t.oid = c.reltype \
             JOIN pg_type a ON a.oid = t.typarray WHERE c.relname = '{relation}'"
        ))
        .await;
        assert_eq!(
            row,
            vec![
                s("c"),
                s("t"),
                s(&format!("_{relation}")),
                s("t"),
                s(relation),
                s(&format!("{relation}[]")),
                s("t")
            ]
        );
    }
    // pg_catalog's own row types point at this catalog's relations.
    let row = one(
        "SELECT t.oid, t.typrelid = c.oid FROM pg_class c JOIN pg_type t ON t.oid = c.reltype \
         WHERE c.relname = 'pg_class'",
    )
    .await;
    assert_eq!(row, vec![s("83"), s("t")]);

    // pg_get_viewdef by oid and by name; NULL for a table or nothing.
    let row = one(
        "SELECT pg_get_viewdef(c.oid, true) = pg_get_viewdef('ratings_effective'), \
                left(pg_get_viewdef('ratings_effective'), 28), \
                right(pg_get_viewdef('ratings_effective'), 1), \
                pg_get_viewdef('leads'), pg_get_viewdef(0) \
         FROM pg_class c WHERE c.relname = 'ratings_effective'",
    )
    .await;
    assert_eq!(
        row,
        vec![
            s("t"),
            s(" WITH last_moderation AS (\n "),
            s(";"),
            None,
            None
        ]
    );
    let row = one(
        "SELECT view_definition = pg_get_viewdef('ratings_effective') \
         FROM information_schema.views WHERE table_name = 'ratings_effective'",
    )
    .await;
    assert_eq!(row, vec![s("t")]);

    // Sizes: a table's Delta files, a view's nothing, an unknown oid NULL.
    let row = one(
        "SELECT pg_table_size('leads') > 100000, pg_total_relation_size('leads') = \
                pg_table_size('leads'), pg_relation_size('leads', 'fsm'), \
                pg_indexes_size('leads'), pg_table_size('lead_facts'), \
                pg_table_size(0), pg_typeof(pg_table_size('leads'))",
    )
    .await;
    assert_eq!(
        row,
        vec![s("t"), s("t"), s("0"), s("0"), s("0"), None, s("bigint")]
    );
    let err = c
        .simple_query("SELECT pg_table_size('no_such_table')")
        .await
        .unwrap_err();
    assert_eq!(crate::common::sqlstate(&err), "42P01");

    // Visibility follows the search path.
    let row = one(
        "SELECT pg_table_is_visible('leads'::regclass), pg_function_is_visible(1770), \
                pg_type_is_visible(23), pg_table_is_visible(c.oid) \
         FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
         WHERE n.nspname = 'information_schema' LIMIT 1",
    )
    .await;
    assert_eq!(row, vec![s("t"), s("t"), s("t"), s("f")]);
    c.batch_execute("SET search_path = pg_catalog")
        .await
        .unwrap();
    let row =
        one("SELECT pg_table_is_visible('public.leads'::regclass), pg_type_is_visible(23)").await;
    assert_eq!(row, vec![s("f"), s("t")]);
}
