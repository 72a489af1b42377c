//! `oko serve` over the real wire protocol: tokio-postgres and psql.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::common::*;

/// A running server: in this process ([`start`]) or a child `oko serve`
/// process ([`spawn`]); stopped on drop.
pub struct Server {
    pub port: u16,
    run: Run,
}

enum Run {
    /// A child process, for tests that watch the process itself: that it
    /// survives hostile input, its memory, its signals.
    Process(Child),
    /// `oko::server::serve::Server` on a thread with its own runtime.
    InProcess {
        stop: Option<tokio::sync::oneshot::Sender<()>>,
        thread: Option<std::thread::JoinHandle<anyhow::Result<()>>>,
    },
}

impl Server {
    /// Stops the server as an operator would (SIGTERM for a process) and
    /// waits for it; true when it stopped cleanly.
    pub fn stop(mut self) -> bool {
        match &mut self.run {
            Run::Process(child) => {
                let _ = Command::new("kill")
                    .args(["-TERM", &child.id().to_string()])
                    .status();
                child.wait().is_ok_and(|s| s.success())
            }
            Run::InProcess { stop, thread } => {
                if let Some(stop) = stop.take() {
                    let _ = stop.send(());
                }
                thread
                    .take()
                    .is_some_and(|t| t.join().is_ok_and(|r| r.is_ok()))
            }
        }
    }

    /// The server's process id (a [`spawn`]ed server's).
    pub fn pid(&self) -> u32 {
        match &self.run {
            Run::Process(child) => child.id(),
            Run::InProcess { .. } => {
                panic!("an in-process server has no process of its own: spawn() it")
            }
        }
    }

    /// Is the server still serving?
    pub fn is_running(&mut self) -> bool {
        match &mut self.run {
            Run::Process(child) => matches!(child.try_wait(), Ok(None)),
            Run::InProcess { thread, .. } => thread.as_ref().is_some_and(|t| !t.is_finished()),
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        match &mut self.run {
            Run::Process(child) => {
                let _ = child.kill();
                let _ = child.wait();
            }
            Run::InProcess { stop, thread } => {
                if let Some(stop) = stop.take() {
                    let _ = stop.send(());
                }
                if let Some(t) = thread.take() {
                    let _ = t.join();
                }
            }
        }
    }
}

/// Starts a server in this process on a free port, configured by `oko
/// serve`'s arguments (`--store URL`, `--config FILE`, `--demo`).
pub fn start(args: &[&str]) -> Server {
    let mut config_file = None;
    let mut store = None;
    let mut demo = false;
    let mut rest = args.iter();
    while let Some(arg) = rest.next() {
        match *arg {
            "--config" => config_file = rest.next().map(std::path::PathBuf::from),
            "--store" => store = rest.next().map(|s| s.to_string()),
            "--demo" => demo = true,
            other => panic!("start() does not know {other}: spawn() the binary"),
        }
    }
    let mut config = oko::config::Config::load(config_file.as_deref()).unwrap();
    if let Some(url) = store {
        config.store.url = url;
    }
    config.server.listen = "127.0.0.1:0".into();
    let (port_tx, port_rx) = std::sync::mpsc::channel();
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let thread = std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()?;
        runtime.block_on(async move {
            let opts = oko::server::serve::ServeOptions { demo };
            let server = match oko::server::serve::Server::bind(config, opts).await {
                Ok(s) => s,
                Err(e) => {
                    let _ = port_tx.send(Err(format!("{e:#}")));
                    return Err(e);
                }
            };
            let _ = port_tx.send(Ok(server.addr()?.port()));
            server
                .run(async {
                    let _ = stop_rx.await;
                })
                .await
        })
    });
    let port = port_rx
        .recv()
        .expect("the server thread answers")
        .unwrap_or_else(|e| panic!("the server did not start: {e}"));
    Server {
        port,
        run: Run::InProcess {
            stop: Some(stop_tx),
            thread: Some(thread),
        },
    }
}

/// Starts `oko serve` as a child process on a free port with extra
/// arguments.
pub fn spawn(args: &[&str]) -> Server {
    let mut child = oko()
        .args(["serve", "--listen", "127.0.0.1:0"])
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let mut lines = BufReader::new(stdout).lines();
    let port = loop {
        let line = lines
            .next()
            .expect("oko serve printed its address")
            .unwrap();
        if let Some(addr) = line.split(" on ").nth(1) {
            break addr
                .rsplit(':')
                .next()
                .unwrap()
                .trim()
                .parse::<u16>()
                .unwrap();
        }
    };
    std::thread::spawn(move || for _ in lines {});
    Server {
        port,
        run: Run::Process(child),
    }
}

async fn connect(port: u16) -> tokio_postgres::Client {
    let (client, conn) = tokio_postgres::connect(
        &format!("host=127.0.0.1 port={port} user=oko dbname=oko"),
        tokio_postgres::NoTls,
    )
    .await
    .unwrap();
    tokio::spawn(conn);
    client
}

/// The value of an engine setting in this connection's session.
async fn setting(c: &tokio_postgres::Client, name: &str) -> String {
    let sql = format!("SELECT value FROM information_schema.df_settings WHERE name = '{name}'");
    let msgs = c.simple_query(&sql).await.unwrap();
    msgs.iter()
        .find_map(|m| match m {
            tokio_postgres::SimpleQueryMessage::Row(r) => r.get(0).map(str::to_string),
            _ => None,
        })
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn demo_reports_over_the_wire_with_separate_sessions() {
    let server = start(&["--demo"]);
    let a = connect(server.port).await;
    let b = connect(server.port).await;

    let n: i64 = a
        .query_one("SELECT count(*) FROM leads", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(n, 12000);
    let rows = a
        .query(
            "SELECT manager, leads, is_outlier FROM manager_report_month \
             WHERE tenant = 'okna' AND scope = 'all' ORDER BY period_start, manager LIMIT 3",
            &[],
        )
        .await
        .unwrap();
    assert_eq!(rows.len(), 3);
    // Extended protocol with a parameter.
    let rows = a
        .query("SELECT count(*) FROM leads WHERE tenant = $1", &[&"okna"])
        .await
        .unwrap();
    assert!(rows[0].get::<_, i64>(0) > 1000);

    // An error ends the statement, not the connection.
    let err = a
        .simple_query("SELECT * FROM no_such_table")
        .await
        .unwrap_err();
    let msg = err
        .as_db_error()
        .map(|e| e.message().to_string())
        .unwrap_or_default();
    assert!(msg.contains("no_such_table"), "{err:?}");
    let one = a.simple_query("SELECT 1").await.unwrap();
    assert!(!one.is_empty());

    // Settings belong to one connection.
    a.simple_query("SET datafusion.execution.batch_size = 1234")
        .await
        .unwrap();
    assert_eq!(setting(&a, "datafusion.execution.batch_size").await, "1234");
    assert_ne!(setting(&b, "datafusion.execution.batch_size").await, "1234");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_load_is_visible_to_the_next_query_within_a_second() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store").display().to_string();
    let f = dir.path().join("leads.csv");
    std::fs::write(
        &f,
        "tenant,lead_id,channel,direction,created_at\nt,1,call,in,2025-01-01T10:00:00Z\n",
    )
    .unwrap();
    ok(&store, &["load", &f.display().to_string()]);
    let server = start(&["--store", &store]);
    let c = connect(server.port).await;
    let count = || async {
        c.query_one("SELECT count(*) FROM leads", &[])
            .await
            .unwrap()
            .get::<_, i64>(0)
    };
    assert_eq!(count().await, 1);

    std::fs::write(
        &f,
        "tenant,lead_id,channel,direction,created_at\nt,2,chat,in,2025-01-01T11:00:00Z\n",
    )
    .unwrap();
    ok(&store, &["load", &f.display().to_string()]);
    let loaded = Instant::now();
    while count().await != 2 {
        assert!(
            loaded.elapsed() < Duration::from_secs(1),
            "the new lead did not show up within 1 s"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // Views follow too.
    let n: i64 = c
        .query_one("SELECT count(*) FROM lead_facts", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(n, 2);
}

#[test]
fn psql_lists_tables_and_views_and_runs_queries() {
    if !crate::common::require_tool(crate::common::Tool::Program("psql")) {
        return;
    }
    let server = start(&["--demo"]);
    let url = format!("postgres://oko@127.0.0.1:{}/oko", server.port);
    let psql = |cmd: &str| {
        let out = std::process::Command::new("psql")
            .args([url.as_str(), "-X", "-A", "-t", "-c", cmd])
            .output()
            .unwrap();
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let (ok_, out, err) = psql("SELECT count(*) FROM tenants");
    assert!(ok_, "{err}");
    assert_eq!(out.trim(), "3");
    let (ok_, out, err) = psql("\\dt");
    assert!(ok_, "{err}");
    assert!(out.contains("leads") && out.contains("ratings"), "{out}");
    let (ok_, out, err) = psql("\\dv");
    assert!(ok_, "{err}");
    assert!(out.contains("manager_report_month"), "{out}");
    let (ok_, out, err) = psql("\\d manager_report_month");
    assert!(ok_, "{err}");
    assert!(
        out.contains("avg_score") && out.contains("double precision"),
        "{out}"
    );
    let (ok_, out, err) = psql("\\d leads");
    assert!(ok_, "{err}");
    assert!(
        out.contains("created_at") && out.contains("timestamp"),
        "{out}"
    );
    // \df must not take the server down, whatever it lists.
    let _ = psql("\\df");
    let (ok_, _, err) = psql("SELECT * FROM nope");
    assert!(!ok_ && err.contains("nope"), "{err}");
    let (ok_, out, err) = psql("SELECT 1 + 1");
    assert!(ok_, "{err}");
    assert_eq!(out.trim(), "2");
}

/// The first column of the first row of a simple query.
async fn first_value(c: &tokio_postgres::Client, sql: &str) -> String {
    let msgs = c.simple_query(sql).await.unwrap();
    msgs.iter()
        .find_map(|m| match m {
            tokio_postgres::SimpleQueryMessage::Row(r) => r.get(0).map(str::to_string),
            _ => None,
        })
        .unwrap_or_else(|| panic!("{sql}: no value"))
}

/// The SQLSTATE of a failed statement.
async fn sqlstate(c: &tokio_postgres::Client, sql: &str) -> String {
    let err = c.simple_query(sql).await.expect_err(sql);
    err.code()
        .map(|c| c.code().to_string())
        .unwrap_or_else(|| panic!("{sql}: no SQLSTATE in {err:?}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn errors_carry_postgres_sqlstates_and_keep_the_connection() {
    let server = start(&["--demo"]);
    let c = connect(server.port).await;
    for (sql, code) in [
        ("SELECT * FROM no_such_table", "42P01"),
        ("SELECT no_such_column FROM leads", "42703"),
        ("SELEC 1", "42601"),
        ("SELECT 1 / 0", "22012"),
        ("SELECT CAST('abc' AS INT)", "22P02"),
        ("SELECT no_such_function(1)", "42883"),
        ("SHOW no_such_setting", "42704"),
        ("CREATE VIEW mine AS SELECT 1", "42501"),
        ("COPY (SELECT 1) TO '/tmp/oko-copy.csv'", "42501"),
        ("SET datafusion.runtime.memory_limit = '1G'", "42501"),
    ] {
        assert_eq!(sqlstate(&c, sql).await, code, "{sql}");
        // The connection is still good.
        let n: i64 = c
            .query_one("SELECT count(*) FROM tenants", &[])
            .await
            .unwrap()
            .get(0);
        assert_eq!(n, 3);
    }
    // The extended protocol too.
    let err = c
        .query("SELECT * FROM nope WHERE a = $1", &[&1i64])
        .await
        .unwrap_err();
    assert_eq!(err.code().unwrap().code(), "42P01");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_multi_statement_query_stops_at_the_first_error_like_postgres() {
    let server = start(&["--demo"]);
    let c = connect(server.port).await;
    let err = c
        .simple_query("SET application_name = 'before'; SELECT 1/0; SET application_name = 'after'")
        .await
        .unwrap_err();
    assert_eq!(err.code().unwrap().code(), "22012");
    let row = c
        .query_one("SELECT current_setting('application_name')", &[])
        .await
        .unwrap();
    assert_eq!(row.get::<_, String>(0), "before");
    // Every statement of a good batch answers.
    let msgs = c.simple_query("SELECT 1; SELECT 2, 3").await.unwrap();
    let rows = msgs
        .iter()
        .filter(|m| matches!(m, tokio_postgres::SimpleQueryMessage::Row(_)))
        .count();
    assert_eq!(rows, 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn settings_functions_and_types_behave_like_postgres() {
    let server = start(&["--demo"]);
    let c = connect(server.port).await;
    let row = c
        .query_one(
            "SELECT current_setting('server_version_num'), current_setting('search_path'), \
             current_setting('no_such', true), version()",
            &[],
        )
        .await
        .unwrap();
    assert_eq!(row.get::<_, String>(0), "150008");
    assert!(row.get::<_, String>(1).contains("public"));
    assert_eq!(row.get::<_, Option<String>>(2), None);
    assert!(row.get::<_, String>(3).starts_with("PostgreSQL 15"));
    c.simple_query("SELECT set_config('jit', 'off', false)")
        .await
        .unwrap();
    c.simple_query("SET TIME ZONE 'Europe/Moscow'")
        .await
        .unwrap();
    assert_eq!(first_value(&c, "SHOW TimeZone").await, "Europe/Moscow");
    c.simple_query("RESET ALL").await.unwrap();
    assert_eq!(
        first_value(&c, "SHOW TRANSACTION ISOLATION LEVEL").await,
        "read committed"
    );

    // NULL and non-NULL values in text (simple) and binary (extended).
    let msgs = c
        .simple_query("SELECT CAST(NULL AS INTERVAL) AS a, INTERVAL '90 seconds' AS b, CAST(NULL AS TEXT) AS c")
        .await
        .unwrap();
    let Some(r) = msgs.iter().find_map(|m| match m {
        tokio_postgres::SimpleQueryMessage::Row(r) => Some(r),
        _ => None,
    }) else {
        panic!("no row: {msgs:?}");
    };
    assert_eq!(r.get(0), None);
    assert_eq!(r.get(1), Some("00:01:30"));
    assert_eq!(r.get(2), None);
    let row = c
        .query_one(
            "SELECT tags, created_at, answered_at IS NULL, CAST(1.5 AS DOUBLE) \
             FROM leads WHERE cardinality(tags) > 0 LIMIT 1",
            &[],
        )
        .await
        .unwrap();
    let tags: Vec<String> = row.get(0);
    assert!(!tags.is_empty());
    let _created: std::time::SystemTime = row.get(1);
    let _: bool = row.get(2);
    assert_eq!(row.get::<_, f64>(3), 1.5);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cancel_request_stops_a_query_while_it_streams() {
    use futures::StreamExt;
    let server = start(&["--demo"]);
    let c = connect(server.port).await;
    // 144 million rows: it would stream for minutes.
    let rows = c
        .query_raw(
            "SELECT a.lead_id, b.lead_id FROM leads a CROSS JOIN leads b",
            std::iter::empty::<i32>(),
        )
        .await
        .unwrap();
    futures::pin_mut!(rows);
    for _ in 0..1000 {
        rows.next().await.unwrap().unwrap();
    }
    let started = Instant::now();
    c.cancel_token()
        .cancel_query(tokio_postgres::NoTls)
        .await
        .unwrap();
    let err = loop {
        match rows.next().await {
            Some(Ok(_)) => continue,
            Some(Err(e)) => break e,
            None => panic!("the query finished instead of being cancelled"),
        }
    };
    assert_eq!(err.code().unwrap().code(), "57014", "{err:?}");
    assert!(started.elapsed() < Duration::from_secs(10));
    let n: i64 = c
        .query_one("SELECT count(*) FROM tenants", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(n, 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn statement_timeout_stops_a_long_query() {
    let server = start(&["--demo"]);
    let c = connect(server.port).await;
    c.simple_query("SET statement_timeout = '300ms'")
        .await
        .unwrap();
    let started = Instant::now();
    let code = sqlstate(
        &c,
        "SELECT count(*) FROM leads a CROSS JOIN leads b WHERE a.lead_id <> b.lead_id",
    )
    .await;
    assert_eq!(code, "57014");
    assert!(started.elapsed() < Duration::from_secs(10));
    c.simple_query("SET statement_timeout = 0").await.unwrap();
    let n: i64 = c
        .query_one("SELECT count(*) FROM tenants", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(n, 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_query_over_the_memory_limit_fails_and_the_server_stays_up() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("oko.toml");
    std::fs::write(&config, "[server]\nmemory_limit_mb = 20\n").unwrap();
    let server = start(&["--demo", "--config", &config.display().to_string()]);
    let c = connect(server.port).await;
    // A hash join over two 3.6-million-row products: its build side cannot
    // spill to disk and does not fit in 20 MiB.
    let code = sqlstate(
        &c,
        "SELECT count(*) FROM \
         (SELECT b.lead_id || a.lead_id AS y FROM leads a \
          CROSS JOIN (SELECT lead_id FROM leads LIMIT 300) b) l \
         JOIN (SELECT b.lead_id AS y2 FROM leads a \
          CROSS JOIN (SELECT lead_id FROM leads LIMIT 300) b) r ON l.y = r.y2",
    )
    .await;
    assert_eq!(code, "53200");
    let other = connect(server.port).await;
    let n: i64 = other
        .query_one("SELECT count(*) FROM leads", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(n, 12000);
}
