//! `COPY … TO STDOUT` (psql's `\copy`, drivers' `copy_out`) and `oko query
//! --format csv|json|table`: the bytes PostgreSQL 15 writes for the same
//! values and options, the rows a `SELECT` gives the same user (a
//! tenant-bound one gets its tenant's only), list columns as `{a,b}`.

use std::process::Command;

use futures::TryStreamExt;
use tokio_postgres::Client;

use crate::common::{Tool, login_as, require_tool, sqlstate, users_config};
use crate::postgres::Postgres;
use crate::server::start;

/// Users of the tests: one sees every tenant, one only `okna`.
const USERS: [(&str, &str, Option<&str>); 2] = [
    ("admin", "admin", None),
    ("okna_viewer", "viewer", Some("okna")),
];

/// The data of a `COPY … TO STDOUT`, or its error.
async fn copy(c: &Client, sql: &str) -> Result<Vec<u8>, tokio_postgres::Error> {
    let chunks: Vec<bytes::Bytes> = c.copy_out(sql).await?.try_collect().await?;
    Ok(chunks.concat())
}

async fn copy_text(c: &Client, sql: &str) -> String {
    let data = copy(c, sql).await.unwrap_or_else(|e| panic!("{sql}: {e}"));
    String::from_utf8(data).unwrap()
}

/// The rows of a simple query, NULL as `None`.
async fn select(c: &Client, sql: &str) -> Vec<Vec<Option<String>>> {
    let mut rows = Vec::new();
    for m in c.simple_query(sql).await.unwrap() {
        if let tokio_postgres::SimpleQueryMessage::Row(row) = m {
            rows.push(
                (0..row.len())
                    .map(|i| row.get(i).map(str::to_string))
                    .collect(),
            );
        }
    }
    rows
}

/// Text-format COPY data read back: tab-separated, `\N` for NULL, the
/// backslash escapes undone.
fn read_text(data: &str) -> Vec<Vec<Option<String>>> {
    data.lines()
        .map(|line| {
            line.split('\t')
                .map(|field| {
                    if field == "\\N" {
                        return None;
                    }
                    let mut out = String::new();
                    let mut chars = field.chars();
                    while let Some(c) = chars.next() {
                        if c != '\\' {
                            out.push(c);
                            continue;
                        }
                        match chars.next() {
                            Some('t') => out.push('\t'),
                            Some('n') => out.push('\n'),
                            Some('r') => out.push('\r'),
                            Some(other) => out.push(other),
                            None => {}
                        }
                    }
                    Some(out)
                })
                .collect()
        })
        .collect()
}

/// The statements run on both OKO and PostgreSQL 15: their COPY data must
/// be the same bytes (values chosen among the types both write alike).
const SAME_AS_POSTGRESQL: &[&str] = &[
    // Text format: escapes, NULL, empty string.
    "COPY (SELECT 'a' || chr(9) || 'b' AS tab, CAST(NULL AS text) AS n, '' AS e, \
     'back\\slash' AS b, 'x' || chr(10) || 'y' || chr(13) AS nl, 'plain' AS p) TO STDOUT",
    // The same in CSV, with a header.
    "COPY (SELECT 'a' || chr(9) || 'b' AS tab, CAST(NULL AS text) AS n, '' AS e, \
     'back\\slash' AS b, 'x' || chr(10) || 'y' AS nl, 'say \"hi\"' AS q, 'a,b' AS c) \
     TO STDOUT WITH (FORMAT csv, HEADER true)",
    // psql's `\copy … csv header`.
    "COPY ( SELECT 'x' AS a, 'y,z' AS b ) TO STDOUT csv header",
    // Every CSV option.
    "COPY (SELECT 'it''s' AS q, 'x' AS f, 'NULL' AS lit, CAST(NULL AS text) AS n) TO STDOUT \
     (FORMAT csv, HEADER, QUOTE '''', ESCAPE '\\', FORCE_QUOTE (f, n), NULL 'NULL', DELIMITER ';')",
    // Legacy options.
    "COPY (SELECT 'x|y' AS a, CAST(NULL AS text) AS b) TO STDOUT WITH DELIMITER '|' NULL 'nil'",
    "COPY (SELECT 'q\"' AS a) TO STDOUT WITH CSV HEADER QUOTE AS '\"' FORCE QUOTE a",
    // The end-of-data marker alone on a line is quoted in CSV.
    "COPY (SELECT '\\.' AS a) TO STDOUT (FORMAT csv)",
    // Arrays, numbers, booleans, dates and times.
    "COPY (SELECT ARRAY['a', 'b'] AS arr, true AS t, false AS f, CAST(0.1 AS double precision) AS x, \
     CAST(2 AS bigint) AS i, DATE '2026-01-01' AS d, TIMESTAMP '2026-07-01 10:00:00.5' AS ts, \
     INTERVAL '1 day 2 hours' AS iv) TO STDOUT (FORMAT csv, HEADER)",
    "COPY (SELECT ARRAY['a', 'b'] AS arr, TIMESTAMP '2026-07-01 10:00:00' AS ts) TO STDOUT",
    // Binary: the signature, tuples, the trailer.
    "COPY (SELECT CAST(7 AS bigint) AS i, 'x' AS t, CAST(NULL AS text) AS n) TO STDOUT (FORMAT binary)",
    "COPY (SELECT 'x' AS t WHERE false) TO STDOUT (FORMAT binary)",
    "COPY (SELECT 'x' AS t WHERE false) TO STDOUT (FORMAT csv, HEADER)",
];

/// Options PostgreSQL 15 refuses, and its SQLSTATE for each.
const REFUSED_AS_POSTGRESQL: &[&str] = &[
    "COPY (SELECT 1 AS a) TO STDOUT (FORMAT xml)",
    "COPY (SELECT 1 AS a) TO STDOUT (FORMAT csv, FORMAT text)",
    "COPY (SELECT 1 AS a) TO STDOUT (QUOTE '\"')",
    "COPY (SELECT 1 AS a) TO STDOUT (ESCAPE '\"')",
    "COPY (SELECT 1 AS a) TO STDOUT (FORCE_QUOTE (a))",
    "COPY (SELECT 1 AS a) TO STDOUT (FORMAT csv, FORCE_NOT_NULL (a))",
    "COPY (SELECT 1 AS a) TO STDOUT (FORMAT csv, DELIMITER '\"')",
    "COPY (SELECT 1 AS a) TO STDOUT (DELIMITER 'a')",
    "COPY (SELECT 1 AS a) TO STDOUT (FORMAT csv, NULL 'x,y')",
    "COPY (SELECT 1 AS a) TO STDOUT (FORMAT binary, HEADER)",
    "COPY (SELECT 1 AS a) TO STDOUT (FORMAT binary, DELIMITER ',')",
    "COPY (SELECT 1 AS a) TO STDOUT (FORMAT binary, NULL '')",
    "COPY (SELECT 1 AS a) TO STDOUT (FORMAT csv, FORCE_QUOTE (b))",
    "COPY (SELECT 1 / 0 AS a) TO STDOUT",
    "COPY (SELECT a FROM no_such_table) TO STDOUT",
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn copy_out_writes_the_bytes_postgresql_writes() {
    let Some(pg) = Postgres::start() else {
        return;
    };
    let p = pg.connect().await;
    let dir = tempfile::tempdir().unwrap();
    let cfg = users_config(dir.path(), "", &USERS);
    let server = start(&["--demo", "--config", &cfg.display().to_string()]);
    let o = login_as(server.port, "okna_viewer").await;
    for sql in SAME_AS_POSTGRESQL {
        let theirs = copy(&p, sql)
            .await
            .unwrap_or_else(|e| panic!("PostgreSQL: {sql}: {e}"));
        let ours = copy(&o, sql)
            .await
            .unwrap_or_else(|e| panic!("OKO: {sql}: {e}"));
        assert_eq!(
            String::from_utf8_lossy(&ours),
            String::from_utf8_lossy(&theirs),
            "{sql}"
        );
        assert_eq!(ours, theirs, "{sql}");
    }
    for sql in REFUSED_AS_POSTGRESQL {
        let theirs = copy(&p, sql).await.expect_err(sql);
        let ours = copy(&o, sql).await.expect_err(sql);
        assert_eq!(
            sqlstate(&ours),
            sqlstate(&theirs),
            "{sql}: {ours} / {theirs}"
        );
    }
    // The connection is still good after each error.
    assert_eq!(
        copy_text(&o, "COPY (SELECT 'ok' AS a) TO STDOUT").await,
        "ok\n"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn copy_out_gives_each_user_the_rows_its_select_gives() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = users_config(dir.path(), "", &USERS);
    let server = start(&["--demo", "--config", &cfg.display().to_string()]);
    for (user, _, tenant) in USERS {
        let c = login_as(server.port, user).await;
        // A query with a list column, text format.
        let query = "SELECT tenant, period_start, manager_id, achievements, avg_score \
                     FROM manager_report_month ORDER BY tenant, period_start, scope, manager";
        let rows = select(&c, query).await;
        assert!(!rows.is_empty(), "{user}");
        let data = copy_text(&c, &format!("COPY ({query}) TO STDOUT")).await;
        assert_eq!(read_text(&data), rows, "{user}");
        assert!(
            rows.iter().any(|r| r[3]
                .as_deref()
                .is_some_and(|a| a.starts_with('{') && a.len() > 2)),
            "{user}: no achievements"
        );
        let tenants: std::collections::BTreeSet<_> =
            rows.iter().filter_map(|r| r[0].clone()).collect();
        match tenant {
            Some(t) => assert_eq!(tenants.into_iter().collect::<Vec<_>>(), [t], "{user}"),
            None => assert!(tenants.len() > 1, "{user}: {tenants:?}"),
        }
        // A table, whole and by columns; a view.
        for (sql, select_sql) in [
            ("COPY managers TO STDOUT", "SELECT * FROM managers"),
            (
                "COPY managers (manager_id, tenant) TO STDOUT",
                "SELECT manager_id, tenant FROM managers",
            ),
            ("COPY lead_facts TO STDOUT", "SELECT * FROM lead_facts"),
        ] {
            let mut copied = read_text(&copy_text(&c, sql).await);
            let mut selected = select(&c, select_sql).await;
            copied.sort();
            selected.sort();
            assert_eq!(copied.len(), selected.len(), "{user}: {sql}");
            assert!(copied == selected, "{user}: {sql}: rows differ");
        }
        // CSV with a header; tags (a list of text) read back as the SELECT's.
        let query = "SELECT lead_id, tags FROM lead_facts WHERE tags IS NOT NULL ORDER BY lead_id";
        let data = copy_text(
            &c,
            &format!("COPY ({query}) TO STDOUT (FORMAT csv, HEADER)"),
        )
        .await;
        let mut csv = csv::Reader::from_reader(data.as_bytes());
        assert_eq!(csv.headers().unwrap(), vec!["lead_id", "tags"]);
        let copied: Vec<Vec<Option<String>>> = csv
            .records()
            .map(|r| r.unwrap().iter().map(|v| Some(v.to_string())).collect())
            .collect();
        assert_eq!(copied, select(&c, query).await, "{user}");
        // The same errors as the SELECT.
        for sql in ["SELECT nope FROM managers", "SELECT * FROM no_such_view"] {
            let from_select = c.simple_query(sql).await.unwrap_err();
            let from_copy = copy(&c, &format!("COPY ({sql}) TO STDOUT"))
                .await
                .unwrap_err();
            assert_eq!(
                sqlstate(&from_copy),
                sqlstate(&from_select),
                "{user}: {sql}"
            );
        }
        let e = copy(&c, "COPY no_such_table TO STDOUT").await.unwrap_err();
        assert_eq!(sqlstate(&e), "42P01", "{user}");
        let e = copy(&c, "COPY managers (nope) TO STDOUT")
            .await
            .unwrap_err();
        assert_eq!(sqlstate(&e), "42703", "{user}");
        let e = copy(&c, "COPY managers (tenant, tenant) TO STDOUT")
            .await
            .unwrap_err();
        assert_eq!(sqlstate(&e), "42701", "{user}");
        // What COPY does not do, for anyone.
        for (sql, code) in [
            ("COPY managers TO '/tmp/oko-copy-out.csv'", "42501"),
            ("COPY managers FROM '/tmp/oko-copy-in.csv'", "42501"),
            ("COPY managers FROM STDIN", "0A000"),
        ] {
            let e = c.simple_query(sql).await.unwrap_err();
            assert_eq!(sqlstate(&e), code, "{user}: {sql}");
        }
        assert!(!std::path::Path::new("/tmp/oko-copy-out.csv").exists());
    }
}

/// Rows stream batch by batch: an error in a later batch comes after the
/// rows before it, ends the COPY with PostgreSQL's error (not a truncated
/// success), and the session goes on.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_error_while_rows_stream_ends_the_copy_with_that_error() {
    let server = start(&["--demo"]);
    let c = login_as_oko(server.port).await;
    let sql = "COPY (SELECT CAST(1 AS bigint) / (CAST(v AS bigint) - 990000) AS q \
               FROM (SELECT * FROM generate_series(1, 1000000)) AS s(v)) TO STDOUT";
    let mut stream = Box::pin(c.copy_out(sql).await.unwrap());
    let mut received = 0;
    let e = loop {
        match stream.try_next().await {
            Ok(Some(chunk)) => received += chunk.len(),
            Ok(None) => panic!("the COPY ended without its error"),
            Err(e) => break e,
        }
    };
    assert_eq!(sqlstate(&e), "22012", "{e}");
    assert!(received > 0, "no row came before the error");
    assert_eq!(copy_text(&c, "COPY (SELECT 1 AS a) TO STDOUT").await, "1\n");
}

async fn login_as_oko(port: u16) -> Client {
    let (client, conn) = tokio_postgres::connect(
        &format!("host=127.0.0.1 port={port} user=oko dbname=oko"),
        tokio_postgres::NoTls,
    )
    .await
    .unwrap();
    tokio::spawn(conn);
    client
}

/// Runs psql as `user` with these arguments; stdout, or the failure.
fn psql(port: u16, user: &str, args: &[&str]) -> Result<String, String> {
    let out = Command::new("psql")
        .arg(format!("host=127.0.0.1 port={port} user={user} dbname=oko"))
        .args(["-X", "-v", "ON_ERROR_STOP=1"])
        .args(args)
        .env("PGPASSWORD", format!("{user}-pw"))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    if out.status.success() {
        Ok(stdout)
    } else {
        Err(format!("{stdout}{stderr}"))
    }
}

#[test]
fn psql_copy_exports_a_tenants_rows_as_csv() {
    if !require_tool(Tool::Program("psql")) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let cfg = users_config(dir.path(), "", &USERS);
    let server = start(&["--demo", "--config", &cfg.display().to_string()]);
    let query = "select tenant, manager_id, achievements from manager_report_month \
                 order by period_start, scope, manager";
    let out = psql(
        server.port,
        "okna_viewer",
        &["-c", &format!("\\copy ({query}) to stdout csv header")],
    )
    .unwrap();
    let mut csv = csv::Reader::from_reader(out.as_bytes());
    assert_eq!(
        csv.headers().unwrap(),
        vec!["tenant", "manager_id", "achievements"]
    );
    let rows: Vec<csv::StringRecord> = csv.records().map(Result::unwrap).collect();
    assert!(!rows.is_empty());
    assert!(rows.iter().all(|r| &r[0] == "okna"), "{out}");
    assert!(
        rows.iter()
            .all(|r| r[2].starts_with('{') && r[2].ends_with('}')),
        "{out}"
    );
    assert!(
        rows.iter().any(|r| r[2].len() > 2),
        "no achievements: {out}"
    );
    // `\copy … to 'file'` writes the file on the client's side.
    let file = dir.path().join("managers.csv");
    psql(
        server.port,
        "okna_viewer",
        &[
            "-c",
            &format!("\\copy managers to '{}' csv header", file.display()),
        ],
    )
    .unwrap();
    let written = std::fs::read_to_string(&file).unwrap();
    let count = psql(
        server.port,
        "okna_viewer",
        &["-At", "-c", "select count(*) from managers"],
    )
    .unwrap();
    assert_eq!(
        written.lines().count() - 1,
        count.trim().parse::<usize>().unwrap(),
        "{written}"
    );
    // psql's own COPY (not \copy): the command tag counts rows; a COPY
    // first in a multi-statement message is answered in order.
    let out = psql(
        server.port,
        "okna_viewer",
        &[
            "-c",
            "COPY (SELECT 'a' AS x UNION ALL SELECT 'b' ORDER BY 1) TO STDOUT; SELECT 'after' AS y",
        ],
    )
    .unwrap();
    assert!(out.starts_with("a\nb\n"), "{out}");
    assert!(out.contains("after"), "{out}");
    // After another statement it is refused, not answered out of order.
    let e = psql(
        server.port,
        "okna_viewer",
        &["-c", "SELECT 1; COPY (SELECT 1) TO STDOUT"],
    )
    .unwrap_err();
    assert!(e.contains("first statement"), "{e}");
}

#[test]
fn oko_query_prints_list_columns_in_every_format() {
    let sql = "SELECT manager_id AS id, achievements AS a, period_start AS p, avg_score AS s \
               FROM manager_report_month WHERE manager_id IS NOT NULL \
               ORDER BY tenant, period_start, scope, manager_id";
    let run = |format: &str| {
        let out = crate::common::oko()
            .args(["query", "--demo", "--format", format, sql])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{format}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    };
    let csv_text = run("csv");
    let mut csv = csv::Reader::from_reader(csv_text.as_bytes());
    assert_eq!(csv.headers().unwrap(), vec!["id", "a", "p", "s"]);
    let rows: Vec<csv::StringRecord> = csv.records().map(Result::unwrap).collect();
    assert!(rows.iter().all(|r| r[1].starts_with('{')), "{csv_text}");
    assert!(rows.iter().any(|r| r[1].contains(',')), "{csv_text}");
    // PostgreSQL's timestamp text, not Arrow's.
    assert!(
        rows.iter()
            .all(|r| r[2].len() == 19 && &r[2][10..11] == " "),
        "{csv_text}"
    );

    let json = run("json");
    let objects: Vec<serde_json::Value> = json
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(objects.len(), rows.len());
    for (o, r) in objects.iter().zip(&rows) {
        let list = o["a"].as_array().unwrap_or_else(|| panic!("{o}"));
        let text = format!(
            "{{{}}}",
            list.iter()
                .map(|v| v.as_str().unwrap())
                .collect::<Vec<_>>()
                .join(",")
        );
        assert_eq!(text, r[1], "{o}");
        assert_eq!(o["p"].as_str(), Some(&r[2]));
        // Keys in column order, NULL written.
        let keys: Vec<&String> = o.as_object().unwrap().keys().collect();
        assert_eq!(keys.len(), 4, "{o}");
    }

    let table = run("table");
    assert!(table.contains(&format!("| {} ", &rows[0][1])), "{table}");

    // The CLI's CSV is the server's `\copy … csv header`, byte for byte.
    if require_tool(Tool::Program("psql")) {
        let server = start(&["--demo"]);
        let out = Command::new("psql")
            .arg(format!(
                "host=127.0.0.1 port={} user=oko dbname=oko",
                server.port
            ))
            .args(["-X", "-c", &format!("\\copy ({sql}) to stdout csv header")])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(String::from_utf8_lossy(&out.stdout), csv_text);
    }
}
