//! Rating notifications: new ratings reach subscribed webhooks (a real HTTP
//! receiver on loopback), filtered per subscription, retried when the
//! webhook fails, and neither lost nor repeated across a restart.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use serde_json::Value;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpListener;
use tokio::sync::mpsc;
use tokio_postgres::NoTls;

use crate::common::*;
use crate::server::start;

/// A webhook on loopback: answers 500 to the first `failures` posts, then
/// 200, and hands every body it accepted to the test.
struct Webhook {
    url: String,
    bodies: mpsc::UnboundedReceiver<Value>,
    posts: Arc<AtomicUsize>,
    /// The `text` of the posts `collect` last took.
    texts: Vec<String>,
}

async fn webhook(failures: usize) -> Webhook {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    let (tx, bodies) = mpsc::unbounded_channel();
    let posts = Arc::new(AtomicUsize::new(0));
    let seen = posts.clone();
    tokio::spawn(async move {
        loop {
            let Ok((mut socket, _)) = listener.accept().await else {
                return;
            };
            let body = read_http_body(&mut socket).await;
            let Some(body) = body else { continue };
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
                let _ = tx.send(serde_json::from_slice(&body).expect("the post is JSON"));
            }
        }
    });
    Webhook {
        url,
        bodies,
        posts,
        texts: Vec::new(),
    }
}

impl Webhook {
    /// Rating ids delivered per subscription, until each subscription in
    /// `want` has at least that many, or 30 s have passed.
    async fn collect(&mut self, want: &[(&str, usize)]) -> HashMap<String, Vec<Value>> {
        let mut got: HashMap<String, Vec<Value>> = HashMap::new();
        self.texts.clear();
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        while want
            .iter()
            .any(|(s, n)| got.get(*s).map_or(0, |v| v.len()) < *n)
        {
            let body = tokio::time::timeout_at(deadline, self.bodies.recv())
                .await
                .unwrap_or_else(|_| panic!("waited 30 s for notifications; have {got:#?}"))
                .unwrap();
            let sub = body["subscription"].as_str().unwrap().to_string();
            let text = body["text"].as_str().unwrap().to_string();
            assert!(text.starts_with(&format!("OKO · «{sub}»")), "{text}");
            self.texts.push(text);
            let ratings = body["ratings"].as_array().unwrap().clone();
            assert_eq!(body["omitted"], 0);
            got.entry(sub).or_default().extend(ratings);
        }
        got
    }
}

fn ids(ratings: &[Value]) -> Vec<String> {
    let mut ids: Vec<String> = ratings
        .iter()
        .map(|r| r["rating_id"].as_str().unwrap().to_string())
        .collect();
    ids.sort();
    ids
}

/// The newest version in a Delta table's log.
fn latest_version(table: &Path) -> u64 {
    std::fs::read_dir(table.join("_delta_log"))
        .unwrap()
        .filter_map(|e| {
            let name = e.ok()?.file_name().into_string().ok()?;
            name.strip_suffix(".json")?.parse::<u64>().ok()
        })
        .max()
        .unwrap()
}

/// The version a subscription has delivered up to, as the server stored it.
fn position(table: &Path, name: &str) -> Option<u64> {
    let text = std::fs::read(table.join(format!("_oko/notify/{name}.json"))).ok()?;
    serde_json::from_slice::<Value>(&text).ok()?["version"].as_u64()
}

fn write(dir: &Path, name: &str, text: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path.display().to_string()
}

fn stamp(hours_ago: i64) -> String {
    (chrono::Utc::now() - chrono::Duration::hours(hours_ago)).to_rfc3339()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn new_ratings_reach_the_subscribed_webhooks() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store").display().to_string();
    let tenants = write(
        dir.path(),
        "tenants.csv",
        "tenant,name,timezone\nokna,Окна Плюс,Europe/Moscow\nklinika,Клиника,Asia/Yekaterinburg\n",
    );
    let managers = write(
        dir.path(),
        "managers.csv",
        "tenant,manager_id,name,department,active\nokna,m1,Анна Петрова,sales,true\n",
    );
    ok(&store, &["load", &tenants, &managers]);

    // The webhook refuses the first post: it must be retried, not lost.
    let mut hook = webhook(1).await;
    let admin = oko::auth::Verifier::new("admin-pw").unwrap();
    let cfg = write(
        dir.path(),
        "oko.toml",
        &format!(
            "[[users]]\nname = \"admin\"\nrole = \"admin\"\npassword = \"{admin}\"\n\n\
             [[notify]]\nname = \"low\"\nurl = \"{url}\"\ntenant = \"okna\"\nmax_score = 3\ninvalid = true\nscope = \"calls\"\n\n\
             [[notify]]\nname = \"every\"\nurl = \"{url}\"\n",
            url = hook.url
        ),
    );
    let server = start(&["--store", &store, "--config", &cfg]);
    let (c, conn) = tokio_postgres::connect(
        &format!(
            "host=127.0.0.1 port={} user=admin password=admin-pw dbname=oko",
            server.port
        ),
        NoTls,
    )
    .await
    .unwrap();
    tokio::spawn(conn);
    let leads = format!(
        "INSERT INTO leads (tenant, lead_id, channel, direction, manager_id, client_id, created_at, answered_at, ended_at) VALUES \
         ('okna', 'L1', 'call', 'in', 'm1', '+79001234567', '{a}', '{a}', '{a}'), \
         ('okna', 'L2', 'chat', 'in', 'm1', 'vk:42', '{a}', '{a}', '{a}'), \
         ('klinika', 'K1', 'chat', 'in', 'k7', 'tg:1', '{a}', '{a}', '{a}')",
        a = stamp(2)
    );
    c.batch_execute(&leads).await.unwrap();
    // okna: a low call rating, a five, an answer to moderate, a low chat
    // rating (outside "low"'s scope) and a backfilled low one.
    let ratings = format!(
        "INSERT INTO ratings (tenant, rating_id, lead_id, score_raw, score, received_at) VALUES \
         ('okna', 'R1', 'L1', '2 плохо', 2, '{now}'), \
         ('okna', 'R2', 'L1', '5', 5, '{now}'), \
         ('okna', 'R3', 'L1', '7', 7, '{now}'), \
         ('okna', 'R4', 'L2', '1', 1, '{now}'), \
         ('okna', 'R5', 'L1', '1', 1, '{old}')",
        now = stamp(0),
        old = stamp(72)
    );
    c.batch_execute(&ratings).await.unwrap();
    c.batch_execute(&format!(
        "INSERT INTO ratings (tenant, rating_id, lead_id, score_raw, score, received_at) VALUES ('klinika', 'K1r', 'K1', '3', 3, '{}')",
        stamp(0)
    ))
    .await
    .unwrap();

    let got = hook.collect(&[("low", 2), ("every", 4)]).await;
    assert_eq!(ids(&got["low"]), ["R1", "R3"]);
    assert_eq!(ids(&got["every"]), ["K1r", "R1", "R2", "R4"]);
    let r1 = got["low"].iter().find(|r| r["rating_id"] == "R1").unwrap();
    assert_eq!(r1["tenant"], "okna");
    assert_eq!(r1["score"], 2);
    assert_eq!(r1["score_raw"], "2 плохо");
    assert_eq!(r1["channel"], "call");
    assert_eq!(r1["manager_id"], "m1");
    assert_eq!(r1["manager"], "Анна Петрова");
    assert_eq!(r1["client_id"], "+79001234567");
    let r3 = got["low"].iter().find(|r| r["rating_id"] == "R3").unwrap();
    assert_eq!(r3["score"], Value::Null, "7 is not a valid score");
    assert!(
        hook.posts.load(Ordering::SeqCst) >= 3,
        "the refused post was retried"
    );
    // What a person reads in Slack: stars, the manager's name, the
    // client's words, the time on the tenant's (Moscow) clock.
    let text = hook.texts.iter().find(|t| t.contains("«low»")).unwrap();
    let moscow = (chrono::Utc::now() + chrono::Duration::hours(3))
        .format("%d.%m.%Y")
        .to_string();
    for part in [
        "★★ 2/5 · Окна Плюс · Анна Петрова (m1) · call · лид L1",
        "«2 плохо»",
        "❓ нужна модерация",
        &moscow,
    ] {
        assert!(text.contains(part), "{part:?} not in {text}");
    }

    // Stopped, a load from another process adds a low rating: after the
    // restart it is announced, and nothing announced before comes again.
    assert!(server.stop(), "oko serve stops cleanly on SIGTERM");
    let more = write(
        dir.path(),
        "ratings.csv",
        &format!(
            "tenant,rating_id,lead_id,score_raw,score,received_at\nokna,R6,L1,1,1,{}\n",
            stamp(0)
        ),
    );
    ok(&store, &["load", &more]);
    let _server = start(&["--store", &store, "--config", &cfg]);
    let got = hook.collect(&[("low", 1), ("every", 1)]).await;
    assert_eq!(ids(&got["low"]), ["R6"]);
    assert_eq!(ids(&got["every"]), ["R6"]);
    // A compaction of ratings rewrites every row: it announces none.
    ok(&store, &["compact", "--table", "ratings"]);
    // Wait until both subscriptions have read past the compaction (their
    // stored positions reach the table's newest version), then look.
    let table = Path::new(&store).join("ratings");
    let newest = latest_version(&table);
    let started = std::time::Instant::now();
    while ["low", "every"]
        .iter()
        .any(|name| position(&table, name) < Some(newest))
    {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "the notifier never read past version {newest}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(
        hook.bodies.try_recv().is_err(),
        "a compaction is not new ratings"
    );
}
