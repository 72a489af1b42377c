//! Trust: no statement takes the server down or past its limits, identity
//! and authorship cannot be forged, a transaction block never commits a
//! write it could not undo, and a tenant-bound session learns nothing of
//! other tenants from `EXPLAIN` or the role catalog. Each attack is tried
//! as a logged-in non-admin user; after each, another session must still
//! be served.

use std::path::Path;
use std::time::{Duration, Instant};

use tokio_postgres::Client;

use crate::common::{login_as, rss_mib, sqlstate, startup_packet, text_values, users_config};
use crate::server::{Server, spawn};

/// Users of every role, two tenant-bound ones of different tenants.
const USERS: [(&str, &str, Option<&str>); 5] = [
    ("admin", "admin", None),
    ("mod", "moderator", None),
    ("viewer", "viewer", None),
    ("okna_viewer", "viewer", Some("okna")),
    ("klinika_viewer", "viewer", Some("klinika")),
];

fn demo_server(dir: &Path, server: &str) -> Server {
    let cfg = users_config(dir, server, &USERS);
    spawn(&["--demo", "--config", &cfg.display().to_string()])
}

async fn as_user(port: u16, user: &str) -> Client {
    login_as(port, user).await
}

async fn values(c: &Client, sql: &str) -> Result<Vec<String>, tokio_postgres::Error> {
    text_values(c, sql).await
}

/// The server answers another session at once.
async fn still_served(server: &mut Server, after: &str) {
    assert!(server.is_running(), "the server died after: {after}");
    let other = as_user(server.port, "viewer").await;
    let answer = tokio::time::timeout(
        Duration::from_secs(20),
        values(&other, "SELECT count(*) FROM tenants"),
    )
    .await
    .unwrap_or_else(|_| panic!("no answer from another session after: {after}"))
    .unwrap_or_else(|e| panic!("another session failed after {after}: {e}"));
    assert_eq!(answer, ["3"], "after: {after}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn statements_that_killed_the_server_end_only_themselves() {
    let dir = tempfile::tempdir().unwrap();
    let mut server = demo_server(dir.path(), "memory_limit_mb = 512");
    let c = as_user(server.port, "okna_viewer").await;
    let long_strings = format!(
        "SELECT count(*) FROM leads WHERE lead_id IN ({})",
        (0..200_000)
            .map(|i| format!("'x{i}'"))
            .collect::<Vec<_>>()
            .join(",")
    );
    let long_numbers = format!(
        "SELECT count(*) FROM ratings WHERE score IN ({})",
        (0..300_000)
            .map(|i| (-i - 1).to_string())
            .collect::<Vec<_>>()
            .join(",")
    );
    let ampersands = format!("SELECT 1{}", " & 1".repeat(20_000));
    let shifts = format!("SELECT 1{}", " << 1".repeat(20_000));
    let temp = dir.path().join("escape");
    let temp_set = format!(
        "SET datafusion.\"runtime\".temp_directory = '{}'",
        temp.display()
    );
    // (statement, the answer: a value, or an error's SQLSTATE)
    let attacks: Vec<(&str, Result<&str, &str>)> = vec![
        ("SELECT count(*) >= 0 FROM pg_catalog.pg_roles", Ok("t")),
        (&long_strings, Ok("0")),
        (&long_numbers, Ok("0")),
        (
            "SET datafusion.execution.batch_size = 4000000000",
            Err("22023"),
        ),
        (
            "SELECT count(*) FROM (SELECT lead_id FROM leads ORDER BY created_at LIMIT 3)",
            Ok("3"),
        ),
        (
            "SET datafusion.execution.target_partitions = 10000",
            Err("22023"),
        ),
        ("SELECT count(DISTINCT channel) > 0 FROM leads", Ok("t")),
        (&ampersands, Err("54001")),
        (&shifts, Err("54001")),
        (
            "SET datafusion.\"runtime\".memory_limit = '64G'",
            Err("42501"),
        ),
        (&temp_set, Err("42501")),
        (
            "SET datafusion.explain.show_statistics = true",
            Err("42501"),
        ),
        ("SELECT length(repeat('x', 1000000000))", Err("54000")),
        ("SELECT cardinality(range(1, 100000000))", Err("54000")),
        ("SELECT length(lpad('x', 1500000000, 'ab'))", Err("54000")),
        ("SELECT 'abc' ~ repeat('(a{1000}){1000}', 3)", Err("2201B")),
        ("SELECT length(repeat('ab', 5))", Ok("10")),
    ];
    for (sql, expected) in attacks {
        let shown: String = sql.chars().take(80).collect();
        let got = values(&c, sql).await;
        match (expected, got) {
            (Ok(value), Ok(rows)) => assert_eq!(rows, [value], "{shown}"),
            (Err(code), Err(e)) => assert_eq!(sqlstate(&e), code, "{shown}: {e}"),
            (Ok(_), Err(e)) => panic!("{shown}: failed: {e}"),
            (Err(code), Ok(rows)) => {
                // A SET answers no rows; check it did not take.
                panic!("{shown}: expected {code}, answered {rows:?}")
            }
        }
        still_served(&mut server, &shown).await;
    }
    assert!(!temp.exists(), "a session made the server create {temp:?}");
    let rss = rss_mib(server.pid());
    assert!(rss < 1_500, "the server holds {rss} MiB after the attacks");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn planning_does_not_freeze_other_sessions_and_obeys_the_timeout() {
    let dir = tempfile::tempdir().unwrap();
    let mut server = demo_server(dir.path(), "");
    let port = server.port;
    // Near the operator limit: the slowest statement to plan that passes.
    let heavy = format!("SELECT 1{}", " & 1".repeat(1_990));
    let mut attackers = Vec::new();
    for _ in 0..4 {
        let heavy = heavy.clone();
        attackers.push(tokio::spawn(async move {
            let c = as_user(port, "viewer").await;
            c.simple_query("SET statement_timeout = 50").await.unwrap();
            let started = Instant::now();
            let result = c.simple_query(&heavy).await;
            (started.elapsed(), result.err().map(|e| sqlstate(&e)))
        }));
    }
    // Meanwhile another session is served.
    let other = as_user(port, "viewer").await;
    let started = Instant::now();
    assert_eq!(values(&other, "SELECT 42").await.unwrap(), ["42"]);
    let quick = started.elapsed();
    for a in attackers {
        let (took, code) = a.await.unwrap();
        // Planning it may or may not take longer than 50 ms on this
        // machine; when it does, the statement ends with 57014 at once.
        if let Some(code) = code {
            assert_eq!(code, "57014");
            assert!(took < Duration::from_secs(5), "stopped after {took:?}");
        }
    }
    assert!(quick < Duration::from_secs(5), "SELECT 42 waited {quick:?}");
    still_served(&mut server, "heavy planning").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_servers_statement_timeout_is_the_default_and_the_ceiling() {
    let dir = tempfile::tempdir().unwrap();
    let server = demo_server(dir.path(), "statement_timeout_s = 1");
    let c = as_user(server.port, "viewer").await;
    assert_eq!(
        values(&c, "SHOW statement_timeout").await.unwrap(),
        ["1000"]
    );
    // A session's own 0 (no limit) or a longer limit does not lift it.
    for set in ["SET statement_timeout = 0", "SET statement_timeout = '1h'"] {
        c.simple_query(set).await.unwrap();
        let started = Instant::now();
        let e = c
            .simple_query(
                "SELECT count(*) FROM leads a, leads b, leads c WHERE a.lead_id <> c.lead_id",
            )
            .await
            .expect_err("the server's limit stops it");
        assert_eq!(sqlstate(&e), "57014", "{set}: {e}");
        assert!(started.elapsed() < Duration::from_secs(30));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_cannot_take_another_identity() {
    let dir = tempfile::tempdir().unwrap();
    let server = demo_server(dir.path(), "");
    let c = as_user(server.port, "viewer").await;
    for sql in [
        "SELECT set_config('session_authorization', 'admin', false)",
        "SET \"session_authorization\" = 'admin'",
        "SET SESSION AUTHORIZATION admin",
        "SET role = 'admin'",
        "SELECT set_config('role', 'admin', false)",
        "SELECT set_config('is_superuser', 'on', false)",
    ] {
        let e = c.simple_query(sql).await.expect_err(sql);
        assert_eq!(sqlstate(&e), "42501", "{sql}: {e}");
    }
    assert_eq!(
        values(
            &c,
            "SELECT current_user AS a, session_user AS b, \
             current_setting('session_authorization') AS c"
        )
        .await
        .unwrap(),
        ["viewer", "viewer", "viewer"]
    );
    // A startup parameter does not change it either (asyncpg's
    // server_settings, libpq's options, a hand-made startup packet).
    let trusted = spawn(&["--demo"]);
    let who = raw_startup_query(
        trusted.port,
        &[("user", "oko"), ("session_authorization", "admin")],
        "SELECT current_user",
    );
    assert_eq!(who, "oko");
}

/// Connects without a password (a trusted demo server), sending the given
/// startup parameters, and returns the first value `sql` answers.
fn raw_startup_query(port: u16, params: &[(&str, &str)], sql: &str) -> String {
    use std::io::{Read, Write};
    let packet = startup_packet(params);
    let mut query = vec![b'Q'];
    query.extend_from_slice(&((sql.len() + 5) as i32).to_be_bytes());
    query.extend_from_slice(sql.as_bytes());
    query.push(0);
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    s.write_all(&packet).unwrap();
    // Read messages until ReadyForQuery, send the query, read its row.
    let read_message = |s: &mut std::net::TcpStream| -> (u8, Vec<u8>) {
        let mut head = [0u8; 5];
        s.read_exact(&mut head).unwrap();
        let len = i32::from_be_bytes([head[1], head[2], head[3], head[4]]) as usize - 4;
        let mut body = vec![0u8; len];
        s.read_exact(&mut body).unwrap();
        (head[0], body)
    };
    loop {
        let (kind, body) = read_message(&mut s);
        assert_ne!(
            kind,
            b'E',
            "startup failed: {}",
            String::from_utf8_lossy(&body)
        );
        if kind == b'Z' {
            break;
        }
    }
    s.write_all(&query).unwrap();
    loop {
        let (kind, body) = read_message(&mut s);
        assert_ne!(
            kind,
            b'E',
            "query failed: {}",
            String::from_utf8_lossy(&body)
        );
        if kind == b'D' {
            let len = i32::from_be_bytes([body[2], body[3], body[4], body[5]]) as usize;
            return String::from_utf8_lossy(&body[6..6 + len]).into_owned();
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn notes_are_written_in_the_writers_name_at_commit_time() {
    let dir = tempfile::tempdir().unwrap();
    let server = demo_server(dir.path(), "");
    let m = as_user(server.port, "mod").await;
    for sql in [
        "INSERT INTO lead_notes (tenant, lead_id, comment, author) VALUES ('okna', 'N1', 'x', 'admin')",
        "INSERT INTO lead_notes (tenant, lead_id, comment, created_at) \
         VALUES ('okna', 'N1', 'x', TIMESTAMPTZ '2020-01-01 00:00:00Z')",
    ] {
        let e = m.simple_query(sql).await.expect_err(sql);
        assert_eq!(sqlstate(&e), "42501", "{sql}: {e}");
    }
    let before = chrono::Utc::now();
    m.simple_query(
        "INSERT INTO lead_notes (tenant, lead_id, comment, author) VALUES ('okna', 'N1', 'mine', 'mod')",
    )
    .await
    .unwrap();
    m.simple_query("INSERT INTO lead_notes (tenant, lead_id, comment) VALUES ('okna', 'N2', 'x')")
        .await
        .unwrap();
    let rows = m
        .query(
            "SELECT author, created_at FROM lead_notes WHERE lead_id IN ('N1', 'N2') ORDER BY lead_id",
            &[],
        )
        .await
        .unwrap();
    assert_eq!(rows.len(), 2);
    for row in rows {
        let author: String = row.get(0);
        let at: chrono::DateTime<chrono::Utc> = row.get(1);
        assert_eq!(author, "mod");
        assert!(at >= before - chrono::Duration::seconds(1), "{at}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_transaction_block_never_commits_a_write_silently() {
    let dir = tempfile::tempdir().unwrap();
    let server = demo_server(dir.path(), "");
    let a = as_user(server.port, "admin").await;
    let insert = |id: &str| {
        format!(
            "INSERT INTO leads (tenant, lead_id, channel, direction, created_at) \
             VALUES ('okna', '{id}', 'call', 'in', now())"
        )
    };
    let stored = |id: &'static str| {
        let a = &a;
        async move {
            values(
                a,
                &format!("SELECT count(*) FROM leads WHERE lead_id = '{id}'"),
            )
            .await
            .unwrap()
        }
    };
    // BEGIN; INSERT; ROLLBACK: the insert is refused, nothing is written.
    a.simple_query("BEGIN").await.unwrap();
    let e = a.simple_query(&insert("TX1")).await.expect_err("refused");
    assert_eq!(sqlstate(&e), "0A000", "{e}");
    a.simple_query("ROLLBACK").await.unwrap();
    assert_eq!(stored("TX1").await, ["0"]);
    // The same through the extended protocol.
    a.simple_query("BEGIN").await.unwrap();
    let e = a.execute(&insert("TX2"), &[]).await.expect_err("refused");
    assert_eq!(sqlstate(&e), "0A000", "{e}");
    a.simple_query("ROLLBACK").await.unwrap();
    assert_eq!(stored("TX2").await, ["0"]);
    // Read-only transactions refuse writes with PostgreSQL's 25006.
    for (setup, teardown) in [
        ("BEGIN READ ONLY", "ROLLBACK"),
        ("BEGIN; SET TRANSACTION READ ONLY", "ROLLBACK"),
        (
            "SET default_transaction_read_only = on",
            "RESET default_transaction_read_only",
        ),
        (
            "SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY",
            "SET SESSION CHARACTERISTICS AS TRANSACTION READ WRITE",
        ),
    ] {
        for write in [
            insert("TX3"),
            "DELETE FROM leads WHERE lead_id = 'L-none'".to_string(),
        ] {
            a.batch_execute(setup).await.unwrap();
            let e = a.simple_query(&write).await.expect_err(setup);
            assert_eq!(sqlstate(&e), "25006", "{setup}: {write}: {e}");
            a.batch_execute(teardown).await.unwrap();
        }
    }
    assert_eq!(stored("TX3").await, ["0"]);
    // Outside a block (autocommit) a write commits as before.
    a.simple_query(&insert("TX4")).await.unwrap();
    assert_eq!(stored("TX4").await, ["1"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn explain_shows_a_tenant_nothing_of_other_tenants() {
    let dir = tempfile::tempdir().unwrap();
    let server = demo_server(dir.path(), "");
    let c = as_user(server.port, "okna_viewer").await;
    let others = [
        "klinika",
        "dostavka",
        "Min=",
        "Max=",
        ".parquet",
        "output_rows",
    ];
    for sql in [
        "EXPLAIN SELECT * FROM tenants",
        "EXPLAIN VERBOSE SELECT * FROM tenants",
        "EXPLAIN ANALYZE SELECT * FROM tenants WHERE name < 'X'",
        "EXPLAIN ANALYZE SELECT * FROM leads WHERE channel = 'call'",
        "EXPLAIN ANALYZE VERBOSE SELECT count(*) FROM ratings",
        "EXPLAIN (FORMAT JSON) SELECT * FROM tenants",
    ] {
        let text = values(&c, sql).await.unwrap().join("\n");
        for word in others {
            assert!(!text.contains(word), "{sql} shows {word}:\n{text}");
        }
        assert!(text.contains("TableScan"), "{sql}:\n{text}");
    }
    // The totals are those of the user's own rows.
    let own = values(&c, "SELECT count(*) FROM tenants WHERE name < 'X'")
        .await
        .unwrap();
    let text = values(&c, "EXPLAIN ANALYZE SELECT * FROM tenants WHERE name < 'X'")
        .await
        .unwrap()
        .join("\n");
    assert!(text.contains(&format!("rows={}", own[0])), "{text}");
    // An unbound user still gets DataFusion's full plan.
    let admin = as_user(server.port, "admin").await;
    let text = values(&admin, "EXPLAIN SELECT * FROM tenants")
        .await
        .unwrap()
        .join("\n");
    assert!(text.contains("DataSourceExec"), "{text}");
    // `EXPLAIN (FORMAT JSON)`: one value in PostgreSQL's form, for both.
    for (who, client) in [("okna_viewer", &c), ("admin", &admin)] {
        let rows = values(client, "EXPLAIN (FORMAT JSON) SELECT tenant FROM tenants")
            .await
            .unwrap();
        assert_eq!(rows.len(), 1, "{who}: {rows:?}");
        let plan: serde_json::Value = serde_json::from_str(&rows[0]).unwrap();
        assert!(plan[0]["Plan"]["Node Type"].is_string(), "{who}: {plan}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn psql_du_lists_the_users_of_the_sessions_tenant_with_their_roles() {
    if !crate::common::require_tool(crate::common::Tool::Program("psql")) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let server = demo_server(dir.path(), "");
    let du = |user: &str| {
        let out = std::process::Command::new("psql")
            .args([
                &format!("postgres://{user}@127.0.0.1:{}/oko", server.port),
                "-X",
                "-c",
                "\\du",
            ])
            .env("PGPASSWORD", format!("{user}-pw"))
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "psql \\du as {user}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let all = du("admin");
    for (name, role, _) in USERS {
        let line = all
            .lines()
            .find(|l| l.trim_start().starts_with(&format!("{name} ")))
            .unwrap_or_else(|| panic!("{name} missing:\n{all}"));
        assert!(line.contains(&format!("oko_{role}")), "{line}");
    }
    assert!(!all.contains("SCRAM"), "{all}");
    let okna = du("okna_viewer");
    assert!(
        okna.contains("okna_viewer") && okna.contains("admin"),
        "{okna}"
    );
    assert!(!okna.contains("klinika_viewer"), "{okna}");
}

/// A time written into a timestamp column is read as PostgreSQL reads it:
/// an offset like `+03` (not only `+03:00`), and a time without one on
/// the session's clock (`TimeZone`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn inserted_times_are_read_as_postgresql_reads_them() {
    let dir = tempfile::tempdir().unwrap();
    let server = demo_server(dir.path(), "");
    let admin = as_user(server.port, "admin").await;
    admin
        .batch_execute(
            "INSERT INTO leads (tenant, lead_id, channel, direction, created_at) VALUES \
             ('okna', 'T1', 'call', 'in', '2026-07-01 10:00+03'), \
             ('okna', 'T2', 'call', 'in', '2026-07-01 10:00:00.5-0230'), \
             ('okna', 'T3', 'call', 'in', '2026-07-01T10:00:00Z');
             SET TimeZone = 'Europe/Moscow';
             INSERT INTO leads (tenant, lead_id, channel, direction, created_at) VALUES \
             ('okna', 'T4', 'call', 'in', '2026-07-01 10:00');
             SET TimeZone = 'UTC';",
        )
        .await
        .unwrap();
    assert_eq!(
        values(
            &admin,
            "SELECT lead_id || ' ' || CAST(created_at AS TEXT) FROM leads \
             WHERE lead_id IN ('T1', 'T2', 'T3', 'T4') ORDER BY lead_id"
        )
        .await
        .unwrap(),
        [
            "T1 2026-07-01 07:00:00+00",
            "T2 2026-07-01 12:30:00.5+00",
            "T3 2026-07-01 10:00:00+00",
            "T4 2026-07-01 07:00:00+00",
        ]
    );
    let e = admin
        .simple_query(
            "INSERT INTO leads (tenant, lead_id, channel, direction, created_at) \
             VALUES ('okna', 'T5', 'call', 'in', '2026-07-01 25:00')",
        )
        .await
        .expect_err("hour 25");
    assert_eq!(sqlstate(&e), "22008", "{e}");
}
