//! `oko serve` over the real wire protocol: tokio-postgres and psql.

use std::io::{BufRead, BufReader};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use crate::common::*;

/// A running `oko serve`, killed on drop.
pub struct Server {
    child: Child,
    pub port: u16,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `oko serve` on a free port with extra arguments.
pub fn start(args: &[&str]) -> Server {
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
    Server { child, port }
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
    if std::process::Command::new("psql")
        .arg("--version")
        .output()
        .is_err()
    {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "psql is missing in CI"
        );
        eprintln!("skipping: psql is not installed");
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
    let (ok_, _, err) = psql("SELECT * FROM nope");
    assert!(!ok_ && err.contains("nope"), "{err}");
}
