//! Several `oko serve` replicas over one S3 store (moto_server on
//! loopback): each serves the others' commits within the refresh period,
//! racing INSERTs from different replicas neither lose nor repeat a row
//! (a key the other replica just committed is refused as a duplicate),
//! and notifications are posted once — by the replica holding the sender
//! lease, which passes to another when it dies.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use object_store::ObjectStore;
use serde_json::Value;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpListener;
use tokio::sync::mpsc;

use crate::common::*;
use crate::s3::{Moto, create_bucket, start_moto};
use crate::server::{Server, spawn, start};

const BUCKET: &str = "oko-replicas";
/// How often each replica looks for new commits (`[server] refresh_ms`).
const REFRESH_MS: u64 = 200;

/// One store on moto_server and the config files of its replicas.
struct Store {
    moto: Moto,
    dir: tempfile::TempDir,
    prefix: String,
}

impl Store {
    /// A store with two tenants and a manager loaded, or `None` when
    /// moto_server is missing (outside CI).
    fn new(prefix: &str) -> Option<Store> {
        let moto = start_moto()?;
        create_bucket(moto.port, BUCKET);
        let store = Store {
            moto,
            dir: tempfile::tempdir().unwrap(),
            prefix: prefix.to_string(),
        };
        let tenants = store.write(
            "tenants.csv",
            "tenant,name,timezone\nokna,Окна Плюс,Europe/Moscow\nklinika,Клиника,Asia/Yekaterinburg\n",
        );
        let managers = store.write(
            "managers.csv",
            "tenant,manager_id,name,department,active\nokna,m1,Анна Петрова,sales,true\n",
        );
        let config = store.config("loader", "");
        let out = oko()
            .arg("--config")
            .arg(&config)
            .args(["load", &tenants, &managers])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "load: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        Some(store)
    }

    fn write(&self, name: &str, text: &str) -> String {
        let path = self.dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        path.display().to_string()
    }

    /// The config of replica `name`: the store, a short refresh period
    /// and lease, an admin, and `extra` lines.
    fn config(&self, name: &str, extra: &str) -> PathBuf {
        let admin = oko::auth::Verifier::new("admin-pw").unwrap();
        let text = format!(
            "[store]\nurl = \"s3://{BUCKET}/{prefix}\"\ns3_endpoint = \"http://127.0.0.1:{port}\"\n\
             s3_region = \"us-east-1\"\ns3_access_key_id = \"test\"\ns3_secret_access_key = \"test\"\n\n\
             [server]\nrefresh_ms = {REFRESH_MS}\nlease_ttl_s = 2\nreplica = \"{name}\"\n\n\
             [[users]]\nname = \"admin\"\nrole = \"admin\"\npassword = \"{admin}\"\n\n{extra}",
            prefix = self.prefix,
            port = self.moto.port,
        );
        let path = self.dir.path().join(format!("{name}.toml"));
        std::fs::write(&path, text).unwrap();
        path
    }

    /// The store's root, as the test reads it (the lease's terms).
    fn root(&self) -> Arc<dyn ObjectStore> {
        Arc::new(
            object_store::aws::AmazonS3Builder::new()
                .with_bucket_name(BUCKET)
                .with_endpoint(format!("http://127.0.0.1:{}", self.moto.port))
                .with_region("us-east-1")
                .with_access_key_id("test")
                .with_secret_access_key("test")
                .with_allow_http(true)
                .build()
                .unwrap(),
        )
    }

    /// The replica named in the newest term of the sender lease.
    async fn lease_holder(&self) -> Option<String> {
        use futures::TryStreamExt;
        use object_store::ObjectStoreExt;
        let root = self.root();
        let prefix = object_store::path::Path::from(format!("{}/_oko/lease", self.prefix));
        let terms: Vec<_> = root.list(Some(&prefix)).try_collect().await.unwrap();
        let newest = terms.iter().map(|m| m.location.clone()).max()?;
        let term: Value =
            serde_json::from_slice(&root.get(&newest).await.unwrap().bytes().await.unwrap())
                .unwrap();
        (term["released"] != true).then(|| term["holder"].as_str().unwrap().to_string())
    }
}

fn run_server(config: &Path) -> Server {
    start(&["--config", config.to_str().unwrap()])
}

async fn admin(server: &Server) -> tokio_postgres::Client {
    login_as(server.port, "admin").await
}

fn stamp(hours_ago: i64) -> String {
    (chrono::Utc::now() - chrono::Duration::hours(hours_ago)).to_rfc3339()
}

/// The INSERT of leads `L<first>`..`L<first + rows - 1>` of tenant okna.
fn insert_leads(first: usize, rows: usize) -> String {
    let a = stamp(2);
    let values: Vec<String> = (first..first + rows)
        .map(|i| {
            format!("('okna', 'L{i:04}', 'call', 'in', 'm1', '+7900{i:07}', '{a}', '{a}', '{a}')")
        })
        .collect();
    format!(
        "INSERT INTO leads (tenant, lead_id, channel, direction, manager_id, client_id, \
         created_at, answered_at, ended_at) VALUES {}",
        values.join(", ")
    )
}

/// Every lead id a replica serves, with how many rows hold it.
async fn stored_leads(c: &tokio_postgres::Client) -> BTreeMap<String, u64> {
    let values = text_values(
        c,
        "SELECT lead_id, count(*) FROM leads WHERE tenant = 'okna' GROUP BY lead_id",
    )
    .await
    .unwrap();
    values
        .chunks(2)
        .map(|kv| (kv[0].clone(), kv[1].parse().unwrap()))
        .collect()
}

/// What one replica's writers got: the blocks acknowledged and the blocks
/// refused as duplicates.
#[derive(Default)]
struct Outcome {
    acknowledged: Vec<usize>,
    duplicates: Vec<usize>,
}

/// `writers` connections to `server`, each inserting its share of `blocks`
/// (a block is one statement of `ROWS_PER_BLOCK` leads).
async fn race(server: &Server, blocks: std::ops::Range<usize>, writers: usize) -> Outcome {
    let mut tasks = Vec::new();
    for w in 0..writers {
        let c = admin(server).await;
        let mine: Vec<usize> = blocks.clone().filter(|b| b % writers == w).collect();
        tasks.push(tokio::spawn(async move {
            let mut out = Outcome::default();
            for b in mine {
                match c
                    .batch_execute(&insert_leads(b * ROWS_PER_BLOCK, ROWS_PER_BLOCK))
                    .await
                {
                    Ok(()) => out.acknowledged.push(b),
                    Err(e) if sqlstate(&e) == "23505" => out.duplicates.push(b),
                    Err(e) => panic!("block {b}: {e:?}"),
                }
            }
            out
        }));
    }
    let mut all = Outcome::default();
    for t in tasks {
        let out = t.await.unwrap();
        all.acknowledged.extend(out.acknowledged);
        all.duplicates.extend(out.duplicates);
    }
    all
}

const ROWS_PER_BLOCK: usize = 5;

/// Waits until `c` serves `want` leads of okna; returns how long it took.
async fn until_served(c: &tokio_postgres::Client, want: usize, within: Duration) -> Duration {
    let started = Instant::now();
    loop {
        let n = stored_leads(c).await.len();
        if n >= want {
            return started.elapsed();
        }
        assert!(
            started.elapsed() < within,
            "{n} of {want} leads served after {within:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn racing_inserts_on_two_replicas_lose_and_repeat_no_row() {
    let Some(store) = Store::new("race") else {
        return;
    };
    let a = run_server(&store.config("a", ""));
    let b = run_server(&store.config("b", ""));
    let (on_a, on_b) = (admin(&a).await, admin(&b).await);

    // A row committed on A is served by B within the refresh period (and
    // the time to read the commit).
    on_a.batch_execute(&insert_leads(9000, 1)).await.unwrap();
    let took = until_served(&on_b, 1, Duration::from_secs(10)).await;
    eprintln!("a row inserted on A was served by B after {took:?} (refresh_ms = {REFRESH_MS})");
    assert!(
        took < Duration::from_millis(REFRESH_MS) + Duration::from_secs(2),
        "B served A's row only after {took:?}"
    );

    // Blocks 0..60 on A, 30..90 on B, three writers each: blocks 30..60
    // race. Each racing block is acknowledged by exactly one replica and
    // refused as a duplicate (23505) by the other, whichever commits last.
    let (on_a_out, on_b_out) = tokio::join!(race(&a, 0..60, 3), race(&b, 30..90, 3));
    let mut acknowledged: HashMap<usize, usize> = HashMap::new();
    for blk in on_a_out.acknowledged.iter().chain(&on_b_out.acknowledged) {
        *acknowledged.entry(*blk).or_default() += 1;
    }
    let twice: Vec<_> = acknowledged.iter().filter(|(_, n)| **n > 1).collect();
    assert!(twice.is_empty(), "blocks acknowledged twice: {twice:?}");
    let all_blocks: BTreeSet<usize> = (0..90).collect();
    let acked: BTreeSet<usize> = acknowledged.keys().copied().collect();
    assert_eq!(acked, all_blocks, "every block is acknowledged once");
    let refused = on_a_out.duplicates.len() + on_b_out.duplicates.len();
    assert_eq!(refused, 30, "each racing block is refused once");
    eprintln!(
        "A: {} acknowledged, {} duplicates; B: {} acknowledged, {} duplicates",
        on_a_out.acknowledged.len(),
        on_a_out.duplicates.len(),
        on_b_out.acknowledged.len(),
        on_b_out.duplicates.len()
    );

    // Both replicas serve every acknowledged row exactly once.
    let want = 90 * ROWS_PER_BLOCK + 1;
    for c in [&on_a, &on_b] {
        until_served(c, want, Duration::from_secs(10)).await;
        let stored = stored_leads(c).await;
        let repeated: Vec<_> = stored.iter().filter(|(_, n)| **n != 1).collect();
        assert!(repeated.is_empty(), "rows stored twice: {repeated:?}");
        assert_eq!(stored.len(), want);
    }
    // And a reader from scratch (the CLI over the store) agrees.
    let config = store.config("reader", "");
    let out = oko()
        .arg("--config")
        .arg(&config)
        .args([
            "query",
            "--format",
            "csv",
            "SELECT count(*), count(DISTINCT lead_id) FROM leads",
        ])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        text.lines().nth(1),
        Some(format!("{want},{want}").as_str()),
        "{text}"
    );
}

/// A webhook on loopback that accepts every post and hands its JSON body
/// to the test.
async fn webhook() -> (String, mpsc::UnboundedReceiver<Value>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    let (tx, bodies) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            let tx = tx.clone();
            tokio::spawn(async move {
                let Some(body) = read_http_body(&mut socket).await else {
                    return;
                };
                let _ = socket
                    .write_all(
                        b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok",
                    )
                    .await;
                let _ = tx.send(serde_json::from_slice(&body).unwrap());
            });
        }
    });
    (url, bodies)
}

/// The rating ids posted until `want` are all in, then for `quiet` more
/// (a second post of any of them would show up), each id as often as it
/// was posted.
async fn posted(
    bodies: &mut mpsc::UnboundedReceiver<Value>,
    want: &BTreeSet<String>,
    quiet: Duration,
) -> BTreeMap<String, usize> {
    let mut got: BTreeMap<String, usize> = BTreeMap::new();
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut all_in: Option<Instant> = None;
    loop {
        if all_in.is_none() && want.iter().all(|id| got.contains_key(id)) {
            all_in = Some(Instant::now());
        }
        let until = match all_in {
            Some(at) => at + quiet,
            None => deadline,
        };
        let Ok(body) = tokio::time::timeout_at(until.into(), bodies.recv()).await else {
            assert!(all_in.is_some(), "after 60 s only {got:?} of {want:?}");
            return got;
        };
        for r in body.unwrap()["ratings"].as_array().unwrap() {
            *got.entry(r["rating_id"].as_str().unwrap().to_string())
                .or_default() += 1;
        }
    }
}

fn insert_rating(id: &str) -> String {
    format!(
        "INSERT INTO ratings (tenant, rating_id, lead_id, score_raw, score, received_at) \
         VALUES ('okna', '{id}', 'L0001', '2', 2, '{}')",
        stamp(0)
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_notification_is_posted_once_and_the_lease_passes_when_a_replica_dies() {
    let Some(store) = Store::new("notify") else {
        return;
    };
    let (url, mut bodies) = webhook().await;
    let notify = format!("[[notify]]\nname = \"every\"\nurl = \"{url}\"\n");
    // A runs as its own process, so it can die without a word.
    let config_a = store.config("a", &notify);
    let mut a = spawn(&["--config", config_a.to_str().unwrap()]);
    let started = Instant::now();
    while store.lease_holder().await.as_deref() != Some("a") {
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "A never took the lease"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let b = run_server(&store.config("b", &notify));
    let (on_a, on_b) = (admin(&a).await, admin(&b).await);
    on_a.batch_execute(&insert_leads(1, 1)).await.unwrap();
    until_served(&on_b, 1, Duration::from_secs(10)).await;

    // Ratings inserted on both replicas, some racing for the same id: each
    // acknowledged rating is posted once, by the lease holder.
    let mut acknowledged = BTreeSet::new();
    let mut tasks = Vec::new();
    for (replica, c) in [("A", on_a), ("B", on_b)] {
        tasks.push(tokio::spawn(async move {
            let mut acked = Vec::new();
            for i in 0..12 {
                // R00..R03 are inserted on both replicas.
                let id = if i < 4 {
                    format!("R{i:02}")
                } else {
                    format!("R{replica}{i:02}")
                };
                match c.batch_execute(&insert_rating(&id)).await {
                    Ok(()) => acked.push(id),
                    Err(e) if sqlstate(&e) == "23505" => {}
                    Err(e) => panic!("{id} on {replica}: {e:?}"),
                }
            }
            (acked, c)
        }));
    }
    let mut clients = Vec::new();
    for t in tasks {
        let (acked, c) = t.await.unwrap();
        for id in acked {
            assert!(acknowledged.insert(id.clone()), "{id} acknowledged twice");
        }
        clients.push(c);
    }
    assert_eq!(acknowledged.len(), 20);
    let got = posted(&mut bodies, &acknowledged, Duration::from_secs(4)).await;
    let more_than_once: Vec<_> = got.iter().filter(|(_, n)| **n != 1).collect();
    assert!(
        more_than_once.is_empty(),
        "posted twice: {more_than_once:?}"
    );
    assert_eq!(got.keys().cloned().collect::<BTreeSet<_>>(), acknowledged);
    assert_eq!(store.lease_holder().await.as_deref(), Some("a"));

    // A dies (SIGKILL: no release). B takes the lease within its term and
    // posts what is inserted from then on — once.
    let _ = std::process::Command::new("kill")
        .args(["-KILL", &a.pid().to_string()])
        .status();
    while a.is_running() {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let died = Instant::now();
    let on_b = clients.pop().unwrap();
    on_b.batch_execute(&insert_rating("R-after")).await.unwrap();
    let want = BTreeSet::from(["R-after".to_string()]);
    let got = posted(&mut bodies, &want, Duration::from_secs(3)).await;
    eprintln!("after A died, B posted within {:?}", died.elapsed());
    assert_eq!(got, BTreeMap::from([("R-after".to_string(), 1)]));
    assert_eq!(store.lease_holder().await.as_deref(), Some("b"));
}
