//! The kept report parts give exactly the reports computed from the facts,
//! after every kind of change: SQL inserts of leads, requests, ratings
//! (late) and moderations, `UPDATE leads`, `DELETE`, another process's load,
//! a tenant's new clock, retention, erasure (with a vacuum that leaves the
//! changes unreadable), compaction — one at a time and in random sequences
//! committed back to back. Each report is read twice in the same state,
//! from the kept parts and with `SET oko.report_parts = off` (from the
//! facts), and must be equal to the last character.

use std::path::Path;
use std::time::{Duration, Instant};

use tokio_postgres::{Client, SimpleQueryMessage};

use crate::common::*;
use crate::server::start;

/// Every report, over periods of whole days and hours (kept parts) and
/// over periods that are not (from the facts either way), with filters.
const REPORTS: &[&str] = &[
    "SELECT * FROM manager_report('2025-01-01', '2025-03-01')",
    "SELECT * FROM manager_report('2025-01-10', '2025-01-20', 'calls', 'Спам,Консультация')",
    "SELECT * FROM manager_report('2025-02-01', '2025-03-01', 'chats', '', 'm101,m103')",
    "SELECT * FROM manager_report('2025-01-05 09:00', '2025-02-05')",
    "SELECT * FROM summary_report('2025-01-01', '2025-03-01')",
    "SELECT * FROM summary_report('2025-01-01', '2025-03-01', 'calls', NULL, NULL, 'week')",
    "SELECT * FROM bubble_productivity('2025-01-01', '2025-02-01')",
    "SELECT * FROM bubble_speed('2025-02-01', '2025-03-01', 'chats')",
    "SELECT * FROM cc_report('2025-01-01', '2025-03-01', 'hour')",
    "SELECT * FROM cc_report('2025-01-01', '2025-03-01', 'week', 'calls', '')",
    "SELECT * FROM cc_report('2025-01-01', '2025-03-01', 'day', 'all', NULL, 'm102')",
    "SELECT * FROM cc_report('2025-01-03 10:30', '2025-01-09', 'day')",
    "SELECT * FROM cc_hour_of_day('2025-01-01', '2025-03-01', 'chats')",
    "SELECT * FROM cc_day_of_week('2025-01-01', '2025-03-01')",
    "SELECT * FROM cc_manual('2025-01-01', '2025-03-01', 'day')",
    "SELECT * FROM cc_tags('2025-01-01', '2025-03-01', 'week')",
    "SELECT * FROM cc_tags('2025-01-01', '2025-03-01', 'day', 'calls', '', 'm101')",
    "SELECT * FROM cc_tag_hours('2025-01-01', '2025-03-01', 'chats', 'Спам')",
    "SELECT * FROM cc_tags",
    "SELECT * FROM cc_tag_hours",
    "SELECT * FROM manager_report_month",
    "SELECT * FROM summary_week",
    "SELECT * FROM cc_daily",
    "SELECT * FROM cc_hourly_parts",
];

/// A report's rows as text, sorted.
async fn rows(c: &Client, sql: &str) -> Vec<Vec<Option<String>>> {
    let mut out: Vec<Vec<Option<String>>> = c
        .simple_query(sql)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e:?}"))
        .into_iter()
        .filter_map(|m| match m {
            SimpleQueryMessage::Row(r) => {
                Some((0..r.len()).map(|i| r.get(i).map(str::to_string)).collect())
            }
            _ => None,
        })
        .collect();
    out.sort();
    out
}

/// The keeper's counters: (fresh, rounds, full builds, days recomputed).
async fn state(c: &Client) -> (bool, i64, i64, i64) {
    let r = rows(
        c,
        "SELECT fresh, rounds, full_builds, days_recomputed FROM oko_report_parts",
    )
    .await;
    let v = &r[0];
    let n = |i: usize| v[i].as_deref().unwrap().parse::<i64>().unwrap();
    (v[0].as_deref() == Some("t"), n(1), n(2), n(3))
}

/// Waits until the kept parts match the facts served now (another
/// process's commit reaches the server within its refresh period).
async fn fresh(c: &Client) -> (i64, i64, i64) {
    let started = Instant::now();
    loop {
        let (fresh, rounds, full, days) = state(c).await;
        if fresh {
            return (rounds, full, days);
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "the parts did not catch up: {:?}",
            rows(c, "SELECT * FROM oko_report_parts").await
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Every report from the kept parts equals the one from the facts.
async fn same_reports(kept: &Client, raw: &Client, when: &str) {
    for sql in REPORTS {
        let a = rows(kept, sql).await;
        let b = rows(raw, sql).await;
        assert!(
            a == b,
            "{when}: {sql} differs: {} rows kept, {} from the facts; first difference: {:?}",
            a.len(),
            b.len(),
            a.iter().zip(&b).find(|(x, y)| x != y)
        );
    }
}

async fn sessions(port: u16) -> (Client, Client) {
    let kept = login_as(port, "admin").await;
    kept.batch_execute("SET oko.result_cache = off")
        .await
        .unwrap();
    let raw = login_as(port, "admin").await;
    raw.batch_execute("SET oko.result_cache = off; SET oko.report_parts = off")
        .await
        .unwrap();
    (kept, raw)
}

fn generated_store(dir: &Path, leads: &str) -> String {
    let store = dir.join("store").display().to_string();
    let exports = dir.join("exports").display().to_string();
    ok(
        &store,
        &[
            "generate",
            "--out",
            &exports,
            "--leads",
            leads,
            "--tenants",
            "3",
            "--days",
            "60",
            "--seed",
            "7",
            "--load",
        ],
    );
    store
}

fn write(dir: &Path, name: &str, text: &str) -> String {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p.display().to_string()
}

/// A rating of `tenant` with its current score, for a moderation.
async fn some_rating(c: &Client, tenant: &str, skip: usize) -> (String, String) {
    let r = rows(
        c,
        &format!(
            "SELECT rating_id, CAST(effective_score AS VARCHAR) FROM ratings_effective \
             WHERE tenant = '{tenant}' AND effective_score IS NOT NULL ORDER BY rating_id"
        ),
    )
    .await;
    let v = &r[skip % r.len()];
    (v[0].clone().unwrap(), v[1].clone().unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kept_parts_follow_every_kind_of_change_exactly() {
    let dir = tempfile::tempdir().unwrap();
    let store = generated_store(dir.path(), "6000");
    let config = users_config(dir.path(), "refresh_ms = 100", &[("admin", "admin", None)]);
    let config = config.to_str().unwrap().to_string();
    let server = start(&["--config", &config, "--store", &store]);
    let (kept, raw) = sessions(server.port).await;

    let (_, full0, _) = fresh(&kept).await;
    assert!(full0 >= 1, "built once at start");
    same_reports(&kept, &raw, "at start").await;
    // The kept parts are in use (non-empty, both grains).
    let r = rows(&kept, "SELECT day_rows, hour_rows FROM oko_report_parts").await;
    assert!(r[0].iter().all(|v| v.as_deref().unwrap() != "0"), "{r:?}");
    // A month of one tenant's kept parts is summed in one partition; from
    // the facts the report is split over the cores. (The report's own plan:
    // the lines EXPLAIN prints inside its ReportExec.)
    let month =
        "EXPLAIN SELECT * FROM summary_report('2025-01-01', '2025-02-01') WHERE tenant = 'okna'";
    let plan = |r: Vec<Vec<Option<String>>>| -> String {
        r.into_iter()
            .flatten()
            .flatten()
            .flat_map(|text| text.lines().map(str::to_string).collect::<Vec<_>>())
            .filter(|line| line.trim_start().starts_with('|'))
            .collect::<Vec<_>>()
            .join("\n")
    };
    let over_parts = plan(rows(&kept, month).await);
    assert!(over_parts.contains("AggregateExec"), "{over_parts}");
    assert!(!over_parts.contains("RepartitionExec"), "{over_parts}");
    if std::thread::available_parallelism().map_or(1, |n| n.get()) >= 2 {
        let from_facts = plan(rows(&raw, month).await);
        assert!(from_facts.contains("RepartitionExec"), "{from_facts}");
    }

    let mut days_before = fresh(&kept).await.2;
    // Each change: applied, the parts catch up by recomputing days (not
    // everything), and every report still agrees.
    let changes: Vec<(&str, String)> = vec![
        (
            "insert leads, one at a tenant's local midnight",
            "INSERT INTO leads (tenant, lead_id, channel, direction, class, manager_id, \
             created_at, answered_at, ended_at) VALUES \
             ('okna', 'P1', 'call', 'in', 'Продажа', 'm101', '2025-01-14 20:59:59+00', \
              '2025-01-14 21:00:10+00', '2025-01-14 21:04:00+00'), \
             ('okna', 'P2', 'chat', 'in', NULL, NULL, '2025-01-14 21:00:00+00', NULL, \
              '2025-01-14 21:00:03+00'), \
             ('klinika', 'P3', 'messenger', 'in', 'Консультация', 'm102', \
              '2025-02-10 03:00:00+00', '2025-02-10 03:00:40+00', NULL)"
                .to_string(),
        ),
        (
            "a rating request",
            "INSERT INTO rating_requests (tenant, request_id, lead_id, kind, via, sent_at) \
             VALUES ('okna', 'PQ1', 'P1', 'request', 'sms', '2025-01-14 21:10:00+00')"
                .to_string(),
        ),
        (
            "a late rating of an old lead",
            "INSERT INTO ratings (tenant, rating_id, lead_id, score, received_at) \
             VALUES ('okna', 'PR1', 'P1', 2, '2025-02-20 10:00:00+00')"
                .to_string(),
        ),
        (
            "a note with a tag on an old lead",
            "INSERT INTO lead_notes (tenant, lead_id, tag, comment) \
             VALUES ('okna', 'P1', 'жалоба', 'test'), ('okna', 'P2', ' цена ', NULL)"
                .to_string(),
        ),
        (
            "a correction",
            "UPDATE leads SET manager_id = 'm103', class = 'Спам' \
             WHERE tenant = 'okna' AND lead_id = 'P1'"
                .to_string(),
        ),
        (
            "a delete of ratings",
            "DELETE FROM ratings WHERE tenant = 'dostavka' AND received_at < '2025-01-03'"
                .to_string(),
        ),
        (
            "a delete of leads",
            "DELETE FROM leads WHERE tenant = 'klinika' AND created_at >= '2025-01-20' \
             AND created_at < '2025-01-21'"
                .to_string(),
        ),
    ];
    for (what, sql) in &changes {
        kept.batch_execute(sql)
            .await
            .unwrap_or_else(|e| panic!("{what}: {e:?}"));
        let (_, full, days) = fresh(&kept).await;
        assert_eq!(full, full0, "{what}: recomputed days, not everything");
        assert!(days > days_before, "{what}: days recomputed");
        days_before = days;
        same_reports(&kept, &raw, what).await;
    }

    // A moderation: the effective score of a rating changes.
    let (rating, score) = some_rating(&kept, "dostavka", 3).await;
    let new_score = if score == "1" { 5 } else { 1 };
    kept.batch_execute(&format!(
        "INSERT INTO rating_moderations (tenant, rating_id, new_score, previous_score, \
         reason) VALUES ('dostavka', '{rating}', {new_score}, {score}, 'test')"
    ))
    .await
    .unwrap();
    let (_, full, days) = fresh(&kept).await;
    assert_eq!(full, full0, "moderation: days only");
    assert!(days > days_before);
    days_before = days;
    same_reports(&kept, &raw, "a moderation").await;

    // Another process: a load of leads, then compaction (no row changes).
    let more = "tenant,lead_id,channel,direction,class,manager_id,client_id,created_at,answered_at,ended_at,tags,source\n\
                dostavka,PL1,call,in,Продажа,m104,c1,2025-02-03T05:00:00Z,2025-02-03T05:00:09Z,2025-02-03T05:09:00Z,,site\n\
                dostavka,PL2,callback,out,,m104,c2,2025-02-04T05:00:00Z,,,,site\n";
    ok(
        &store,
        &[
            "load",
            "--table",
            "leads",
            &write(dir.path(), "more.csv", more),
        ],
    );
    // The load's commit reaches the server by its refresh.
    let started = Instant::now();
    loop {
        let (_, _, days) = fresh(&kept).await;
        if days > days_before {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "the load was not seen"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    same_reports(&kept, &raw, "another process's load").await;

    // A tenant's clock changes: its local days move, all its parts again.
    let tenants = "tenant,name,timezone,survey_interval_days,service_level_seconds\n\
                   okna,Окна Москвы,Asia/Yekaterinburg,7,20\n";
    ok(
        &store,
        &[
            "load",
            "--table",
            "tenants",
            &write(dir.path(), "tz.csv", tenants),
        ],
    );
    let started = Instant::now();
    loop {
        tokio::time::sleep(Duration::from_millis(300)).await;
        fresh(&kept).await;
        let tz = rows(&kept, "SELECT timezone FROM tenants WHERE tenant = 'okna'").await;
        if tz[0][0].as_deref() == Some("Asia/Yekaterinburg") {
            fresh(&kept).await;
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "the tenant was not seen"
        );
    }
    same_reports(&kept, &raw, "a tenant's new clock").await;

    // Retention and erasure from the command line; the erasure vacuums, so
    // the files its commits removed are gone: everything is recomputed.
    ok(
        &store,
        &["retention", "--tenant", "klinika", "--before", "2025-01-08"],
    );
    tokio::time::sleep(Duration::from_millis(400)).await;
    fresh(&kept).await;
    same_reports(&kept, &raw, "retention").await;
    let client = rows(
        &kept,
        "SELECT client_id FROM leads WHERE tenant = 'okna' AND client_id IS NOT NULL \
         GROUP BY client_id ORDER BY count(*) DESC, client_id LIMIT 1",
    )
    .await[0][0]
        .clone()
        .unwrap();
    ok(
        &store,
        &["erase", "--tenant", "okna", "--client", &client, "--vacuum"],
    );
    tokio::time::sleep(Duration::from_millis(400)).await;
    fresh(&kept).await;
    same_reports(&kept, &raw, "erasure").await;
    ok(&store, &["compact"]);
    tokio::time::sleep(Duration::from_millis(400)).await;
    fresh(&kept).await;
    same_reports(&kept, &raw, "compaction").await;
    drop(server);
}

/// A small deterministic generator (no dependency for one test).
struct Lcg(u64);

impl Lcg {
    fn next(&mut self, n: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (self.0 >> 33) % n
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn random_change_sequences_keep_the_parts_exact() {
    let dir = tempfile::tempdir().unwrap();
    let store = generated_store(dir.path(), "3000");
    let config = users_config(dir.path(), "", &[("admin", "admin", None)]);
    let server = start(&["--config", config.to_str().unwrap(), "--store", &store]);
    let (kept, raw) = sessions(server.port).await;
    fresh(&kept).await;
    let tenants = ["okna", "dostavka", "klinika"];
    let channels = ["call", "callback", "chat", "social", "messenger", "email"];
    let classes = ["NULL", "'Продажа'", "'Спам'", "'Консультация'"];
    for seed in [1u64, 2, 3] {
        let mut rng = Lcg(seed);
        // A burst of changes committed back to back: the keeper catches up
        // over several commits at once.
        for step in 0..8 {
            let tenant = tenants[rng.next(3) as usize];
            let day = 1 + rng.next(58);
            let at = chrono::NaiveDate::from_ymd_opt(2025, 1, 1)
                .unwrap()
                .and_time(chrono::NaiveTime::MIN)
                + chrono::Duration::days(day as i64)
                + chrono::Duration::minutes(rng.next(24 * 60) as i64);
            let ts = |t: chrono::NaiveDateTime| format!("'{}+00'", t.format("%Y-%m-%d %H:%M:%S"));
            let id = format!("S{seed}-{step}");
            let sql = match rng.next(5) {
                0 => {
                    let answered = rng.next(3) > 0;
                    format!(
                        "INSERT INTO leads (tenant, lead_id, channel, direction, class, \
                         manager_id, created_at, answered_at, ended_at) VALUES ('{tenant}', \
                         '{id}', '{}', '{}', {}, {}, {}, {}, {})",
                        channels[rng.next(6) as usize],
                        if rng.next(4) == 0 { "out" } else { "in" },
                        classes[rng.next(4) as usize],
                        if answered {
                            format!("'m10{}'", 1 + rng.next(4))
                        } else {
                            "NULL".into()
                        },
                        ts(at),
                        if answered {
                            ts(at + chrono::Duration::seconds(1 + rng.next(90) as i64))
                        } else {
                            "NULL".into()
                        },
                        ts(at + chrono::Duration::seconds(100 + rng.next(900) as i64)),
                    )
                }
                1 => format!(
                    "INSERT INTO ratings (tenant, rating_id, lead_id, score, received_at) \
                     SELECT tenant, '{id}', lead_id, {}, now() FROM leads \
                     WHERE tenant = '{tenant}' AND answered_at IS NOT NULL \
                     ORDER BY lead_id LIMIT 1 OFFSET {}",
                    1 + rng.next(5),
                    rng.next(500)
                ),
                2 => {
                    let keys = rows(
                        &kept,
                        &format!(
                            "SELECT lead_id FROM leads WHERE tenant = '{tenant}' \
                             ORDER BY lead_id LIMIT 3 OFFSET {}",
                            rng.next(900)
                        ),
                    )
                    .await;
                    let keys: Vec<String> = keys
                        .iter()
                        .map(|r| format!("'{}'", r[0].as_deref().unwrap()))
                        .collect();
                    format!(
                        "UPDATE leads SET class = {} WHERE tenant = '{tenant}' AND lead_id IN ({})",
                        classes[rng.next(4) as usize],
                        keys.join(", ")
                    )
                }
                3 => format!(
                    "DELETE FROM leads WHERE tenant = '{tenant}' AND created_at >= {} \
                     AND created_at < {}",
                    ts(at),
                    ts(at + chrono::Duration::minutes(40))
                ),
                _ => format!(
                    "INSERT INTO rating_requests (tenant, request_id, lead_id, kind, via, sent_at) \
                     SELECT tenant, '{id}', lead_id, 'request', 'sms', now() FROM leads \
                     WHERE tenant = '{tenant}' ORDER BY lead_id LIMIT 1 OFFSET {}",
                    rng.next(500)
                ),
            };
            kept.batch_execute(&sql)
                .await
                .unwrap_or_else(|e| panic!("seed {seed} step {step}: {sql}: {e:?}"));
        }
        fresh(&kept).await;
        same_reports(&kept, &raw, &format!("seed {seed}")).await;
    }
    drop(server);
}

/// The keeper's counters after a restart: whether the saved parts were
/// loaded, and the full builds.
async fn loaded(c: &Client) -> (bool, i64) {
    let r = rows(c, "SELECT loaded, full_builds, saves FROM oko_report_parts").await;
    (
        r[0][0].as_deref() == Some("t"),
        r[0][1].as_deref().unwrap().parse().unwrap(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn saved_parts_spare_a_restart_the_full_build() {
    let dir = tempfile::tempdir().unwrap();
    let store = generated_store(dir.path(), "3000");
    let config = users_config(dir.path(), "", &[("admin", "admin", None)]);
    let config = config.to_str().unwrap().to_string();
    let server = start(&["--config", &config, "--store", &store]);
    let (kept, _) = sessions(server.port).await;
    fresh(&kept).await;
    // The first build is saved at once, beside the facts.
    let started = Instant::now();
    while rows(&kept, "SELECT saves FROM oko_report_parts").await[0][0].as_deref() == Some("0") {
        assert!(started.elapsed() < Duration::from_secs(30), "not saved");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    for grain in ["report_parts_day", "report_parts_hour"] {
        assert!(
            Path::new(&store).join(grain).join("_delta_log").is_dir(),
            "{grain} saved"
        );
    }
    // A change after the save (not saved yet: saves are a minute apart).
    kept.batch_execute(
        "INSERT INTO leads (tenant, lead_id, channel, direction, manager_id, created_at, \
         answered_at) VALUES ('okna', 'R1', 'call', 'in', 'm101', '2025-01-20 10:00:00+00', \
         '2025-01-20 10:00:05+00')",
    )
    .await
    .unwrap();
    fresh(&kept).await;
    drop(kept);
    assert!(server.stop(), "the server stops");

    // Restarted: the saved parts, caught up with the insert, no full build.
    let server = start(&["--config", &config, "--store", &store]);
    let (kept, raw) = sessions(server.port).await;
    let (_, full, days) = fresh(&kept).await;
    assert_eq!(loaded(&kept).await, (true, 0), "loaded, not built");
    assert_eq!(full, 0);
    assert!(days >= 1, "the insert's day recomputed");
    same_reports(&kept, &raw, "after a restart").await;
    drop(server);
}
