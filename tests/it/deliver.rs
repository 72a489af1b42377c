//! Scheduled delivery: a tenant's reports reach a real HTTP receiver on
//! loopback (CSV, JSON) or a folder of the store (CSV, XLSX), made of that
//! tenant's rows only; a failing receiver gets every period after retries,
//! none twice; the position survives a restart and missed periods are
//! caught up. The schedule's clock is a hand-moved one: no test waits for
//! an hour to pass.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Duration, NaiveDateTime, Utc};
use oko::config::{Delivery, ReportSettings, ServerConfig};
use oko::deliver::{Clock, Deliverer};
use oko::store::Store;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::sync::mpsc;

use crate::common::*;

/// One post the receiver accepted.
#[derive(Debug)]
struct Post {
    headers: HashMap<String, String>,
    body: Vec<u8>,
}

impl Post {
    fn text(&self) -> String {
        String::from_utf8(self.body.clone()).expect("a text body")
    }

    /// The CSV body's records, header first.
    fn csv(&self) -> Vec<Vec<String>> {
        csv::ReaderBuilder::new()
            .has_headers(false)
            .from_reader(self.body.as_slice())
            .records()
            .map(|r| r.unwrap().iter().map(str::to_string).collect())
            .collect()
    }
}

/// An HTTP receiver on loopback: answers 500 to the first `failures`
/// posts, then 200, and hands every accepted post to the test.
struct Receiver {
    url: String,
    posts: mpsc::UnboundedReceiver<Post>,
    tries: Arc<AtomicUsize>,
}

impl Receiver {
    /// Every post accepted so far.
    fn accepted(&mut self) -> Vec<Post> {
        let mut out = Vec::new();
        while let Ok(p) = self.posts.try_recv() {
            out.push(p);
        }
        out
    }
}

async fn receiver(failures: usize) -> Receiver {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/reports", listener.local_addr().unwrap());
    let (tx, posts) = mpsc::unbounded_channel();
    let tries = Arc::new(AtomicUsize::new(0));
    let seen = tries.clone();
    tokio::spawn(async move {
        loop {
            let Ok((mut socket, _)) = listener.accept().await else {
                return;
            };
            let mut buf = Vec::new();
            let post = loop {
                let mut chunk = [0u8; 8192];
                let n = socket.read(&mut chunk).await.unwrap_or(0);
                if n == 0 {
                    break None;
                }
                buf.extend_from_slice(&chunk[..n]);
                let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") else {
                    continue;
                };
                let head = String::from_utf8_lossy(&buf[..end]).to_string();
                let headers: HashMap<String, String> = head
                    .lines()
                    .skip(1)
                    .filter_map(|l| l.split_once(':'))
                    .map(|(k, v)| (k.trim().to_lowercase(), v.trim().to_string()))
                    .collect();
                let length: usize = headers
                    .get("content-length")
                    .map(|v| v.parse().unwrap())
                    .unwrap_or(0);
                if buf.len() >= end + 4 + length {
                    break Some(Post {
                        headers,
                        body: buf[end + 4..end + 4 + length].to_vec(),
                    });
                }
            };
            let Some(post) = post else { continue };
            let n = seen.fetch_add(1, Ordering::SeqCst);
            let status = if n < failures {
                "500 Internal Server Error"
            } else {
                "200 OK"
            };
            let _ = socket
                .write_all(
                    format!(
                        "HTTP/1.1 {status}\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok"
                    )
                    .as_bytes(),
                )
                .await;
            if n >= failures {
                let _ = tx.send(post);
            }
        }
    });
    Receiver { url, posts, tries }
}

/// A clock the test moves.
struct HandClock(Mutex<DateTime<Utc>>);

impl HandClock {
    fn at(utc: &str) -> Arc<HandClock> {
        Arc::new(HandClock(Mutex::new(time(utc))))
    }
    fn set(&self, utc: &str) {
        *self.0.lock().unwrap() = time(utc);
    }
    fn advance(&self, by: Duration) {
        *self.0.lock().unwrap() += by;
    }
}

impl Clock for HandClock {
    fn now(&self) -> DateTime<Utc> {
        *self.0.lock().unwrap()
    }
}

fn time(utc: &str) -> DateTime<Utc> {
    NaiveDateTime::parse_from_str(utc, "%Y-%m-%d %H:%M:%S")
        .unwrap()
        .and_utc()
}

/// The hand-checked fixture (alpha in Moscow, beta in Vladivostok) in a
/// store under `dir`.
async fn fixture(dir: &Path) -> Store {
    let fixture = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/kpi");
    crate::slt::load_fixture(&fixture, &dir.join("store")).await
}

/// What the server gives a delivery: tenant-bound sessions over the
/// store's live tables, and the store's root.
struct World {
    sessions: oko::deliver::TenantSessions,
    root: Arc<dyn object_store::ObjectStore>,
    store: Store,
}

async fn world(store: Store) -> World {
    let access = oko::server::startup::Access::new(&[], &ServerConfig::default()).unwrap();
    let shared = oko::server::Shared::open(&store, &ReportSettings::default(), None, access)
        .await
        .unwrap();
    World {
        sessions: oko::server::serve::delivery_sessions(Arc::new(shared)),
        root: oko::deliver::root_store(store.url(), &HashMap::new()).unwrap(),
        store,
    }
}

impl World {
    fn deliverer(&self, entries: &[Delivery], clock: &Arc<HandClock>) -> Deliverer {
        Deliverer::new(
            entries,
            self.sessions.clone(),
            self.root.clone(),
            clock.clone(),
        )
        .unwrap()
    }

    fn store_path(&self) -> PathBuf {
        self.store.url().to_file_path().unwrap()
    }
}

fn entries(toml_text: &str) -> Vec<Delivery> {
    #[derive(serde::Deserialize)]
    struct File {
        deliver: Vec<Delivery>,
    }
    toml::from_str::<File>(toml_text).unwrap().deliver
}

/// The rows of `sql` by `oko query` (every tenant), header first.
fn rows_by_cli(store: &Path, sql: &str) -> Vec<Vec<String>> {
    let text = ok(
        &store.display().to_string(),
        &["query", "--format", "csv", sql],
    );
    csv::ReaderBuilder::new()
        .has_headers(false)
        .from_reader(text.as_bytes())
        .records()
        .map(|r| r.unwrap().iter().map(str::to_string).collect())
        .collect()
}

/// The columns `names` of CSV records (header first).
fn columns(records: &[Vec<String>], names: &[&str]) -> Vec<Vec<String>> {
    let header = &records[0];
    let at: Vec<usize> = names
        .iter()
        .map(|n| header.iter().position(|h| h == n).unwrap())
        .collect();
    records[1..]
        .iter()
        .map(|r| at.iter().map(|&i| r[i].clone()).collect())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_report_reaches_the_webhook_as_csv_and_json_with_the_right_rows() {
    let dir = tempfile::tempdir().unwrap();
    let w = world(fixture(dir.path()).await).await;
    let mut hook = receiver(0).await;
    let config = entries(&format!(
        r#"
        [[deliver]]
        name = "alpha-daily"
        tenant = "alpha"
        report = "manager_report"
        schedule = "daily 08:00"
        webhook = "{url}"

        [[deliver]]
        name = "alpha-weekly"
        tenant = "alpha"
        report = "manager_report"
        args = ["calls"]
        schedule = "weekly monday 09:00"
        format = "json"
        webhook = "{url}"
        "#,
        url = hook.url
    ));
    // Tuesday 2025-03-04 08:00 in Moscow: Monday's report is due, and on
    // Monday 2025-03-17 09:00 the week of 10–17 March.
    let clock = HandClock::at("2025-03-04 05:00:00");
    let mut d = w.deliverer(&config, &clock);
    let round = d.round().await;
    assert_eq!(round.failed, Vec::<String>::new());
    let daily = hook.accepted();
    let daily = daily
        .iter()
        .find(|p| p.headers["x-oko-delivery"] == "alpha-daily")
        .expect("the daily report was posted");
    assert_eq!(daily.headers["content-type"], "text/csv; charset=utf-8");
    assert_eq!(daily.headers["x-oko-tenant"], "alpha");
    assert_eq!(daily.headers["x-oko-period-start"], "2025-03-03 00:00:00");
    assert_eq!(daily.headers["x-oko-period-end"], "2025-03-04 00:00:00");
    assert!(
        daily.headers["content-disposition"].contains("alpha_manager_report_2025-03-03.csv"),
        "{:?}",
        daily.headers
    );
    let wanted = [
        "tenant",
        "period_start",
        "scope",
        "manager",
        "leads",
        "ratings",
    ];
    let expected = rows_by_cli(
        &w.store_path(),
        "SELECT * FROM manager_report('2025-03-03', '2025-03-04') WHERE tenant = 'alpha'",
    );
    let got = daily.csv();
    assert_eq!(got[0], expected[0], "the report's columns");
    assert!(got.len() > 1, "{}", daily.text());
    let (mut got, mut expected) = (columns(&got, &wanted), columns(&expected, &wanted));
    got.sort();
    expected.sort();
    assert_eq!(got, expected, "{}", daily.text());

    // The weekly entry began with the week of 24 February (due on 3 March);
    // on 17 March it catches up the two weeks since, in order.
    clock.set("2025-03-17 06:00:00");
    let round = d.round().await;
    let weeks: Vec<&str> = round
        .delivered
        .iter()
        .filter(|(name, _)| name == "alpha-weekly")
        .map(|(_, week)| week.as_str())
        .collect();
    assert_eq!(weeks, ["2025-W10", "2025-W11"], "{round:?}");
    let weekly = hook.accepted();
    let weekly = weekly
        .iter()
        .find(|p| {
            p.headers["x-oko-delivery"] == "alpha-weekly"
                && p.headers["x-oko-period-start"] == "2025-03-10 00:00:00"
        })
        .expect("the weekly report was posted");
    assert_eq!(weekly.headers["content-type"], "application/json");
    let v: serde_json::Value = serde_json::from_slice(&weekly.body).unwrap();
    assert_eq!(v["period_start"], "2025-03-10 00:00:00");
    assert_eq!(v["period_end"], "2025-03-17 00:00:00");
    let expected = rows_by_cli(
        &w.store_path(),
        "SELECT manager, leads FROM manager_report('2025-03-10', '2025-03-17', 'calls') \
         WHERE tenant = 'alpha' ORDER BY manager",
    );
    let mut got: Vec<Vec<String>> = v["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            assert_eq!(r["tenant"], "alpha");
            assert_eq!(r["scope"], "calls");
            vec![
                r["manager"].as_str().unwrap().to_string(),
                r["leads"].as_i64().unwrap().to_string(),
            ]
        })
        .collect();
    got.sort();
    assert!(!got.is_empty());
    assert_eq!(got, expected[1..].to_vec());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_receiver_gets_every_period_once_and_a_restart_catches_up() {
    let dir = tempfile::tempdir().unwrap();
    let w = world(fixture(dir.path()).await).await;
    let mut hook = receiver(2).await;
    let config = entries(&format!(
        r#"
        [[deliver]]
        name = "alpha-hourly"
        tenant = "alpha"
        sql = """SELECT lead_id FROM lead_facts
                 WHERE created_local >= TIMESTAMP '{{{{period_start}}}}'
                   AND created_local < TIMESTAMP '{{{{period_end}}}}' ORDER BY lead_id"""
        schedule = "hourly"
        webhook = "{url}"
        "#,
        url = hook.url
    ));
    // 08:00 UTC = 11:00 in Moscow: a new entry sends 10:00–11:00 (L01).
    let clock = HandClock::at("2025-03-03 08:00:00");
    let mut d = w.deliverer(&config, &clock);
    assert_eq!(d.round().await.failed, ["alpha-hourly"]);
    clock.advance(Duration::seconds(1));
    let round = d.round().await;
    assert!(
        round.failed.is_empty() && round.delivered.is_empty(),
        "waits for its pause: {round:?}"
    );
    assert_eq!(hook.tries.load(Ordering::SeqCst), 1);
    clock.advance(Duration::seconds(2));
    assert_eq!(d.round().await.failed, ["alpha-hourly"]);
    clock.advance(Duration::seconds(4));
    let round = d.round().await;
    assert_eq!(
        round.delivered,
        [("alpha-hourly".to_string(), "2025-03-03T10".to_string())]
    );
    assert_eq!(hook.tries.load(Ordering::SeqCst), 3);

    // Three hours later: 11:00, 12:00 and 13:00 in order.
    clock.set("2025-03-03 11:00:05");
    let round = d.round().await;
    let labels: Vec<&str> = round.delivered.iter().map(|(_, l)| l.as_str()).collect();
    assert_eq!(labels, ["2025-03-03T11", "2025-03-03T12", "2025-03-03T13"]);
    drop(d);

    // A restart at 16:30 in Moscow: 14:00 and 15:00 are missed, nothing
    // delivered is sent again.
    let stored = std::fs::read_to_string(w.store_path().join("_oko/deliver/alpha-hourly.json"))
        .expect("the position is stored");
    assert!(
        stored.contains("\"period_start\":\"2025-03-03T13:00:00\""),
        "{stored}"
    );
    clock.set("2025-03-03 13:30:00");
    let mut d = w.deliverer(&config, &clock);
    let round = d.round().await;
    let labels: Vec<&str> = round.delivered.iter().map(|(_, l)| l.as_str()).collect();
    assert_eq!(labels, ["2025-03-03T14", "2025-03-03T15"]);
    assert!(d.round().await.delivered.is_empty(), "nothing due twice");

    let posts = hook.accepted();
    let periods: Vec<&str> = posts
        .iter()
        .map(|p| p.headers["x-oko-period-start"].as_str())
        .collect();
    assert_eq!(
        periods,
        [
            "2025-03-03 10:00:00",
            "2025-03-03 11:00:00",
            "2025-03-03 12:00:00",
            "2025-03-03 13:00:00",
            "2025-03-03 14:00:00",
            "2025-03-03 15:00:00",
        ],
        "each period once, in order"
    );
    let bodies: Vec<String> = posts.iter().map(Post::text).collect();
    assert_eq!(bodies[0], "lead_id\nL01\n");
    assert_eq!(bodies[1], "lead_id\nL02\n");
    assert_eq!(bodies[2], "lead_id\n", "no lead that hour");
    assert_eq!(hook.tries.load(Ordering::SeqCst), 8);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn files_under_a_prefix_hold_only_their_tenants_rows() {
    let dir = tempfile::tempdir().unwrap();
    let w = world(fixture(dir.path()).await).await;
    // Whatever the SQL asks for, the rows are the entry's tenant's.
    let config = entries(
        r#"
        [[deliver]]
        name = "alpha-leads"
        tenant = "alpha"
        sql = "SELECT l.tenant, l.lead_id, t.name FROM oko.public.leads l JOIN tenants t ON true ORDER BY 2"
        schedule = "daily 07:00"
        prefix = "deliveries/alpha/"

        [[deliver]]
        name = "beta-leads"
        tenant = "beta"
        sql = "SELECT tenant, lead_id FROM leads WHERE tenant <> '{{tenant}}' OR true ORDER BY 2"
        schedule = "daily 07:00"
        prefix = "deliveries/beta"

        [[deliver]]
        name = "alpha-sheet"
        tenant = "alpha"
        report = "summary_report"
        schedule = "daily 07:00"
        format = "xlsx"
        prefix = "deliveries/alpha/"
        "#,
    );
    // 2025-03-05 07:00 in Vladivostok is 2025-03-04 21:00 UTC; in Moscow 00:00.
    let clock = HandClock::at("2025-03-05 04:00:00");
    let mut d = w.deliverer(&config, &clock);
    let round = d.round().await;
    assert!(round.failed.is_empty(), "{round:?}");
    assert_eq!(round.delivered.len(), 3, "{round:?}");
    let folder = w.store_path().join("deliveries");
    let read = |p: &str| -> Vec<Vec<String>> {
        let path = folder.join(p);
        csv::ReaderBuilder::new()
            .has_headers(false)
            .from_path(&path)
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
            .records()
            .map(|r| r.unwrap().iter().map(str::to_string).collect())
            .collect()
    };
    let alpha = read("alpha/alpha_alpha-leads_2025-03-04.csv");
    assert_eq!(alpha[0], ["tenant", "lead_id", "name"]);
    let alpha_leads = count(
        &w.store_path().display().to_string(),
        "SELECT count(*) FROM leads WHERE tenant = 'alpha'",
    );
    assert_eq!(alpha.len() as u64 - 1, alpha_leads);
    assert!(
        alpha[1..]
            .iter()
            .all(|r| r[0] == "alpha" && r[2] == "Alpha (Moscow)")
    );
    let beta = read("beta/beta_beta-leads_2025-03-04.csv");
    assert_eq!(
        beta[1..].iter().map(|r| r[1].as_str()).collect::<Vec<_>>(),
        ["M01", "M02", "M03"]
    );
    assert!(beta[1..].iter().all(|r| r[0] == "beta"));
    let sheet = std::fs::read(folder.join("alpha/alpha_summary_report_2025-03-04.xlsx")).unwrap();
    assert_eq!(&sheet[..2], b"PK", "an XLSX (zip) file");
    // Nothing else was written there: no temporary files.
    let mut names: Vec<String> = std::fs::read_dir(folder.join("alpha"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(
        names,
        [
            "alpha_alpha-leads_2025-03-04.csv",
            "alpha_summary_report_2025-03-04.xlsx"
        ]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oko_serve_delivers_and_refuses_a_report_that_is_none() {
    let dir = tempfile::tempdir().unwrap();
    let store = fixture(dir.path()).await;
    let store_url = store.url().to_file_path().unwrap().display().to_string();
    let mut hook = receiver(0).await;
    let config = dir.path().join("oko.toml");
    std::fs::write(
        &config,
        format!(
            r#"
            [[deliver]]
            name = "beta-tenants"
            tenant = "beta"
            sql = "SELECT tenant, name FROM tenants"
            schedule = "hourly"
            format = "json"
            webhook = "{}"
            "#,
            hook.url
        ),
    )
    .unwrap();
    let server = crate::server::start(&[
        "--store",
        &store_url,
        "--config",
        &config.display().to_string(),
    ]);
    // A new entry sends the last hour at once (the system clock).
    let post = tokio::time::timeout(std::time::Duration::from_secs(20), hook.posts.recv())
        .await
        .expect("a delivery within 20 s")
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&post.body).unwrap();
    assert_eq!(
        v["rows"],
        serde_json::json!([{"tenant": "beta", "name": "Beta (Vladivostok)"}])
    );
    assert!(server.stop(), "the server stops cleanly");

    let mut bad = oko::config::Config::load(Some(config.as_path())).unwrap();
    bad.store.url = store_url.clone();
    bad.server.listen = "127.0.0.1:0".into();
    bad.deliver[0].sql = None;
    bad.deliver[0].report = Some("manager_reprot".into());
    let e = match oko::server::serve::Server::bind(bad.clone(), Default::default()).await {
        Ok(_) => panic!("an unknown report is refused"),
        Err(e) => format!("{e:#}"),
    };
    assert!(e.contains("\"manager_reprot\" is not a report"), "{e}");
    bad.deliver[0].report = Some("manager_report".into());
    bad.deliver[0].schedule = "daily 8am".into();
    let e = match oko::server::serve::Server::bind(bad, Default::default()).await {
        Ok(_) => panic!("a bad schedule is refused"),
        Err(e) => format!("{e:#}"),
    };
    assert!(
        e.contains("[[deliver]] \"beta-tenants\"") && e.contains("a schedule is"),
        "{e}"
    );
}
