//! `oko compact`, `oko retention`, `oko erase`, `oko vacuum` on a generated
//! store: what they remove, what they keep, and that queries agree.

use std::path::Path;

use crate::common::*;

fn parquet_files(dir: &Path) -> usize {
    let mut n = 0;
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let p = entry.path();
        if p.is_dir() {
            n += parquet_files(&p);
        } else if p.extension().is_some_and(|e| e == "parquet") {
            n += 1;
        }
    }
    n
}

/// Per-table row counts of one tenant, and of the others.
fn counts(store: &str, tenant: &str) -> Vec<(u64, u64)> {
    [
        "leads",
        "ratings",
        "rating_requests",
        "rating_moderations",
        "lead_notes",
    ]
    .iter()
    .map(|t| {
        (
            count(
                store,
                &format!("SELECT count(*) FROM {t} WHERE tenant = '{tenant}'"),
            ),
            count(
                store,
                &format!("SELECT count(*) FROM {t} WHERE tenant <> '{tenant}'"),
            ),
        )
    })
    .collect()
}

#[test]
fn retention_erase_compact_and_vacuum() {
    let dir = tempfile::tempdir().unwrap();
    let store_dir = dir.path().join("store");
    let store = store_dir.display().to_string();
    let out = dir.path().join("gen").display().to_string();
    ok(
        &store,
        &[
            "generate",
            "--out",
            &out,
            "--leads",
            "3000",
            "--tenants",
            "2",
            "--load",
        ],
    );
    let tenant = &query(&store, "SELECT min(tenant) FROM leads")[0][0];
    let before = counts(&store, tenant);

    // Retention: the tenant's leads before the cutoff (a date of its own
    // clock) go with everything that hangs on them, nothing else.
    let cutoff = "2025-07-01";
    let zone = &query(
        &store,
        &format!("SELECT timezone FROM tenants WHERE tenant = '{tenant}'"),
    )[0][0];
    let before_cutoff = format!("created_at < utc_from_local(DATE '{cutoff}', '{zone}')");
    let old = count(
        &store,
        &format!("SELECT count(*) FROM leads WHERE tenant = '{tenant}' AND {before_cutoff}"),
    );
    assert!(old > 0 && old < before[0].0);
    let kept_ratings = count(
        &store,
        &format!(
            "SELECT count(*) FROM ratings r WHERE tenant = '{tenant}' AND lead_id IN \
             (SELECT lead_id FROM leads WHERE tenant = '{tenant}' AND NOT {before_cutoff})"
        ),
    );
    ok(
        &store,
        &["retention", "--tenant", tenant, "--before", cutoff],
    );
    let after = counts(&store, tenant);
    assert_eq!(after[0].0, before[0].0 - old);
    for (b, a) in before.iter().zip(&after) {
        assert_eq!(a.1, b.1, "another tenant lost rows");
    }
    assert_eq!(
        count(
            &store,
            &format!("SELECT count(*) FROM leads WHERE tenant = '{tenant}' AND {before_cutoff}")
        ),
        0
    );
    // The ratings of the kept leads stay, and no rating lost its lead.
    assert_eq!(after[1].0, kept_ratings);
    for t in ["ratings", "rating_requests", "lead_notes"] {
        assert_eq!(
            count(
                &store,
                &format!(
                    "SELECT count(*) FROM {t} x WHERE tenant = '{tenant}' AND lead_id NOT IN \
                     (SELECT lead_id FROM leads WHERE tenant = '{tenant}')"
                )
            ),
            0,
            "{t} has rows of deleted leads"
        );
    }

    // Erase one client: its leads and everything about them.
    let client = &query(
        &store,
        &format!(
            "SELECT client_id FROM leads l WHERE tenant = '{tenant}' AND client_id IS NOT NULL \
             AND EXISTS (SELECT 1 FROM ratings r WHERE r.tenant = l.tenant AND r.lead_id = l.lead_id) \
             ORDER BY client_id LIMIT 1"
        ),
    )[0][0];
    let about = |t: &str| {
        format!(
            "SELECT count(*) FROM {t} x WHERE tenant = '{tenant}' AND lead_id IN \
             (SELECT lead_id FROM leads WHERE tenant = '{tenant}' AND client_id = '{client}')"
        )
    };
    assert!(count(&store, &about("ratings")) > 0);
    let leads_before = count(&store, "SELECT count(*) FROM leads");
    let client_leads = count(
        &store,
        &format!("SELECT count(*) FROM leads WHERE tenant = '{tenant}' AND client_id = '{client}'"),
    );
    ok(
        &store,
        &["erase", "--tenant", tenant, "--client", client, "--vacuum"],
    );
    assert_eq!(
        count(&store, "SELECT count(*) FROM leads"),
        leads_before - client_leads
    );
    for t in ["leads", "rating_requests"] {
        assert_eq!(
            count(
                &store,
                &format!(
                    "SELECT count(*) FROM {t} WHERE tenant = '{tenant}' AND client_id = '{client}'"
                )
            ),
            0,
            "{t}"
        );
    }

    // Compaction: many small appends become few files, same rows.
    for i in 0..6 {
        let f = dir.path().join(format!("notes{i}.csv"));
        std::fs::write(
            &f,
            format!(
                "tenant,lead_id,comment,created_at\n{tenant},L{i},note {i},2025-09-0{}T10:00:00Z\n",
                i + 1
            ),
        )
        .unwrap();
        ok(
            &store,
            &["load", "--table", "lead_notes", &f.display().to_string()],
        );
    }
    let notes = store_dir.join("lead_notes");
    let files_before = parquet_files(&notes);
    let rows = count(&store, "SELECT count(*) FROM lead_notes");
    let summary = ok(&store, &["compact", "--table", "lead_notes"]);
    assert!(summary.contains("lead_notes"), "{summary}");
    assert_eq!(count(&store, "SELECT count(*) FROM lead_notes"), rows);
    // Vacuum with no safe period removes the compacted-away files.
    ok(
        &store,
        &["vacuum", "--table", "lead_notes", "--retain-hours", "0"],
    );
    let files_after = parquet_files(&notes);
    assert!(
        files_after < files_before,
        "{files_before} files before, {files_after} after"
    );
    assert_eq!(count(&store, "SELECT count(*) FROM lead_notes"), rows);
    // The default safe period keeps recent files.
    let dry = ok(&store, &["vacuum", "--dry-run"]);
    assert!(dry.contains("files +0 -0"), "{dry}");
}

// ---------------------------------------------------------------------------
// Retention on a hand-made store: what hangs on a lead follows it, on the
// tenant's clock.
//
// The cutoff is 2025-03-10 in every test. `east` is Asia/Vladivostok
// (UTC+10): its 2025-03-10 starts at 2025-03-09T14:00Z. `west` is
// America/New_York, on daylight time since 2025-03-09 (UTC−4): its
// 2025-03-10 starts at 2025-03-10T04:00Z. `north` is never cut.
//
// east:
// - E_OLD (1 March): gone with its request, its late reaction (12 March),
//   its rating received 20 March, that rating's moderation (21 March) and a
//   note of 25 March — their own times are after the cutoff, they follow
//   the lead.
// - E_EDGE_OUT, 23:30 local on 9 March (13:30Z): gone with its rating and
//   note.
// - E_EDGE_IN, 00:30 local on 10 March (14:30Z of the 9th, before the date
//   in UTC): stays with its request, rating, moderation and note, all of
//   them before 2025-03-10T00:00Z too.
// - E_NEW (15 March): stays.
// - R_ORPH1, R_ORPH2: ratings of a lead that is not stored (E_GONE),
//   received 2 March: orphans, swept with R_ORPH2's moderation.
// - R_EARLY: a rating of a lead not stored yet (E_LATER), received 20
//   March: stays (its lead may still be loaded).
// - manual_stats: 13:00Z (23:00 local on the 9th) goes, 14:00Z stays.
// - (first test) a re-export corrects E_OLD and E_NEW: E_OLD's
//   `lead_corrections` row goes with it, E_NEW's stays.
// west:
// - W_EVE, 22:30 local on 9 March (02:30Z on the 10th, not before the date
//   in UTC): gone with its request and rating; W_IN (00:30 local on the
//   10th) stays. manual_stats 03:00Z (23:00 local) goes, 04:00Z stays.

const TENANTS_CSV: &str = "tenant,name,timezone,survey_interval_days,service_level_seconds
east,East,Asia/Vladivostok,7,20
west,West,America/New_York,7,20
north,North,Europe/Moscow,7,20
";

const LEADS_CSV: &str = "tenant,lead_id,channel,direction,class,manager_id,client_id,created_at,answered_at,ended_at,tags,source
east,E_OLD,call,in,,m1,c1,2025-03-01T02:00:00Z,2025-03-01T02:00:10Z,2025-03-01T02:03:00Z,,site
east,E_EDGE_OUT,call,in,,m1,c2,2025-03-09T13:30:00Z,2025-03-09T13:30:10Z,2025-03-09T13:33:00Z,,site
east,E_EDGE_IN,call,in,,m1,c3,2025-03-09T14:30:00Z,2025-03-09T14:30:10Z,2025-03-09T14:33:00Z,,site
east,E_NEW,chat,in,,m1,c4,2025-03-15T05:00:00Z,2025-03-15T05:00:10Z,2025-03-15T05:03:00Z,,site
west,W_EVE,call,in,,m1,c5,2025-03-10T02:30:00Z,2025-03-10T02:30:10Z,2025-03-10T02:33:00Z,,site
west,W_IN,call,in,,m1,c6,2025-03-10T04:30:00Z,2025-03-10T04:30:10Z,2025-03-10T04:33:00Z,,site
north,N_OLD,call,in,,m1,c7,2025-03-01T02:00:00Z,2025-03-01T02:00:10Z,2025-03-01T02:03:00Z,,site
";

const REQUESTS_CSV: &str = "tenant,request_id,lead_id,client_id,kind,via,sent_at,cost
east,Q1,E_OLD,c1,request,sms,2025-03-01T02:05:00Z,3.5
east,Q1B,E_OLD,c1,reaction,sms,2025-03-12T02:05:00Z,3.5
east,Q3,E_EDGE_IN,c3,request,sms,2025-03-09T14:35:00Z,3.5
east,Q4,E_NEW,c4,request,chat,2025-03-15T05:05:00Z,
west,QW1,W_EVE,c5,request,sms,2025-03-10T02:35:00Z,3.5
north,QN1,N_OLD,c7,request,sms,2025-03-01T02:05:00Z,3.5
";

const RATINGS_CSV: &str = "tenant,rating_id,lead_id,score_raw,received_at
east,R1,E_OLD,7,2025-03-20T00:00:00Z
east,R2,E_EDGE_OUT,5,2025-03-09T13:40:00Z
east,R3,E_EDGE_IN,4,2025-03-09T14:40:00Z
east,R4,E_NEW,5,2025-03-15T05:10:00Z
east,R_ORPH1,E_GONE,спасибо,2025-03-02T00:00:00Z
east,R_ORPH2,E_GONE,4,2025-03-02T01:00:00Z
east,R_EARLY,E_LATER,5,2025-03-20T00:00:00Z
west,RW1,W_EVE,5,2025-03-10T02:40:00Z
west,RW2,W_IN,5,2025-03-10T04:40:00Z
north,RN1,N_OLD,5,2025-03-01T02:10:00Z
";

const MODERATIONS_CSV: &str =
    "tenant,rating_id,moderated_at,new_score,previous_score,moderator,reason
east,R1,2025-03-21T00:00:00Z,5,,olga,a 5 on a 10-point scale
east,R3,2025-03-09T15:00:00Z,3,,olga,asked again
east,R_ORPH2,2025-03-03T00:00:00Z,,,olga,about another call
";

const NOTES_CSV: &str = "tenant,lead_id,tag,comment,author,created_at
east,E_OLD,жалоба,a late note,olga,2025-03-25T00:00:00Z
east,E_EDGE_OUT,,gone with its lead,olga,2025-03-09T13:50:00Z
east,E_EDGE_IN,цена,kept with its lead,olga,2025-03-09T14:50:00Z
";

const MANUAL_CSV: &str = "tenant,hour,metric,value,author,comment
east,2025-03-09T13:00:00Z,staff_on_shift,4,olga,
east,2025-03-09T14:00:00Z,staff_on_shift,5,olga,
west,2025-03-10T03:00:00Z,staff_on_shift,2,olga,
west,2025-03-10T04:00:00Z,staff_on_shift,3,olga,
";

/// A store with the rows above; returns (tempdir, store URL).
fn retention_store() -> (tempfile::TempDir, String) {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in");
    std::fs::create_dir(&input).unwrap();
    let mut files = Vec::new();
    for (table, text) in [
        ("tenants", TENANTS_CSV),
        ("leads", LEADS_CSV),
        ("rating_requests", REQUESTS_CSV),
        ("ratings", RATINGS_CSV),
        ("rating_moderations", MODERATIONS_CSV),
        ("lead_notes", NOTES_CSV),
        ("manual_stats", MANUAL_CSV),
    ] {
        let f = input.join(format!("{table}.csv"));
        std::fs::write(&f, text).unwrap();
        files.push(f.display().to_string());
    }
    let store = dir.path().join("store").display().to_string();
    let mut args = vec!["load"];
    args.extend(files.iter().map(String::as_str));
    ok(&store, &args);
    (dir, store)
}

/// One key column of a tenant's rows, sorted, joined by spaces.
fn keys(store: &str, table: &str, column: &str, tenant: &str) -> String {
    query(
        store,
        &format!("SELECT {column} FROM {table} WHERE tenant = '{tenant}' ORDER BY 1"),
    )
    .into_iter()
    .map(|r| r[0].clone())
    .collect::<Vec<_>>()
    .join(" ")
}

/// What every table of `tenant` holds, one line per table.
fn contents(store: &str, tenant: &str) -> Vec<String> {
    [
        ("leads", "lead_id"),
        ("rating_requests", "request_id"),
        ("ratings", "rating_id"),
        ("rating_moderations", "rating_id"),
        ("lead_notes", "lead_id"),
        ("manual_stats", "CAST(hour AS VARCHAR)"),
    ]
    .iter()
    .map(|(t, c)| format!("{t}: {}", keys(store, t, c, tenant)))
    .collect()
}

/// `east` after retention before 2025-03-10 (see the table above).
fn east_after() -> Vec<String> {
    vec![
        "leads: E_EDGE_IN E_NEW".into(),
        "rating_requests: Q3 Q4".into(),
        "ratings: R3 R4 R_EARLY".into(),
        "rating_moderations: R3".into(),
        "lead_notes: E_EDGE_IN".into(),
        "manual_stats: 2025-03-09T14:00:00Z".into(),
    ]
}

/// `west` after retention before 2025-03-10.
fn west_after() -> Vec<String> {
    vec![
        "leads: W_IN".into(),
        "rating_requests: ".into(),
        "ratings: RW2".into(),
        "rating_moderations: ".into(),
        "lead_notes: ".into(),
        "manual_stats: 2025-03-10T04:00:00Z".into(),
    ]
}

/// The rows a report shows of ratings or moderations whose lead is gone.
fn orphans_in_reports(store: &str, tenant: &str) -> u64 {
    count(
        store,
        &format!(
            "SELECT (SELECT count(*) FROM ratings_to_moderate WHERE tenant = '{tenant}' \
               AND lead_created_at IS NULL) \
             + (SELECT count(*) FROM moderation_history WHERE tenant = '{tenant}' \
               AND lead_id NOT IN (SELECT lead_id FROM leads WHERE tenant = '{tenant}'))"
        ),
    )
}

/// The `rows deleted` of `table` in `oko retention`'s output.
fn deleted(out: &str, table: &str) -> u64 {
    out.lines()
        .map(str::trim)
        .find(|l| l.split_whitespace().next() == Some(table))
        .and_then(|l| l.split("rows deleted").nth(1))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no line for {table} in:\n{out}"))
}

#[test]
fn retention_takes_a_lead_with_everything_on_it_by_the_tenants_clock() {
    let (dir, store) = retention_store();
    // A re-export with another manager corrects E_OLD and E_NEW: the audit
    // (`lead_corrections`, a table OKO writes itself) hangs on the leads too.
    let fix = dir.path().join("fix.csv");
    let header = LEADS_CSV.lines().next().unwrap();
    let changed: Vec<String> = LEADS_CSV
        .lines()
        .filter(|l| l.starts_with("east,E_OLD,") || l.starts_with("east,E_NEW,"))
        .map(|l| l.replace(",m1,", ",m2,"))
        .collect();
    std::fs::write(&fix, format!("{header}\n{}\n", changed.join("\n"))).unwrap();
    ok(
        &store,
        &["load", "--table", "leads", &fix.display().to_string()],
    );
    assert_eq!(
        keys(&store, "lead_corrections", "lead_id", "east"),
        "E_NEW E_OLD"
    );
    let north = contents(&store, "north");
    let east = contents(&store, "east");
    // The orphans show in the reports before.
    assert_eq!(orphans_in_reports(&store, "east"), 2);

    // A dry run counts and deletes nothing.
    let dry = ok(
        &store,
        &[
            "retention",
            "--tenant",
            "east",
            "--before",
            "2025-03-10",
            "--dry-run",
        ],
    );
    assert!(dry.contains("dry run"), "{dry}");
    assert!(
        dry.contains("Asia/Vladivostok") && dry.contains("2025-03-09T14:00:00Z"),
        "{dry}"
    );
    for (table, n) in [
        ("leads", 2),
        ("rating_requests", 2),
        ("ratings", 4),
        ("rating_moderations", 2),
        ("lead_notes", 2),
        ("lead_corrections", 1),
        ("manual_stats", 1),
    ] {
        assert_eq!(deleted(&dry, table), n, "{table}: {dry}");
    }
    assert_eq!(contents(&store, "east"), east);

    let out = ok(
        &store,
        &["retention", "--tenant", "east", "--before", "2025-03-10"],
    );
    assert_eq!(deleted(&out, "ratings"), 4, "{out}");
    assert_eq!(contents(&store, "east"), east_after());
    assert_eq!(keys(&store, "lead_corrections", "lead_id", "east"), "E_NEW");
    assert_eq!(orphans_in_reports(&store, "east"), 0);

    ok(
        &store,
        &["retention", "--tenant", "west", "--before", "2025-03-10"],
    );
    assert_eq!(contents(&store, "west"), west_after());
    assert_eq!(contents(&store, "north"), north);

    // Run again: nothing more goes.
    let again = ok(
        &store,
        &["retention", "--tenant", "east", "--before", "2025-03-10"],
    );
    assert_eq!(deleted(&again, "leads"), 0, "{again}");
    assert_eq!(deleted(&again, "ratings"), 0, "{again}");
    assert_eq!(contents(&store, "east"), east_after());

    // A time of day is refused: retention is by whole local days.
    let t = run(
        &store,
        &[
            "retention",
            "--tenant",
            "east",
            "--before",
            "2025-03-10T00:00:00Z",
        ],
    );
    assert!(!t.status.success());
    assert!(String::from_utf8_lossy(&t.stderr).contains("not a date"));
}

/// The `retention_days` that makes `tenant`'s cutoff 2025-03-10 today.
fn days_to_cutoff(zone: &str) -> i64 {
    let tz: chrono_tz::Tz = zone.parse().unwrap();
    let today = chrono::Utc::now().with_timezone(&tz).date_naive();
    (today - chrono::NaiveDate::from_ymd_opt(2025, 3, 10).unwrap()).num_days()
}

#[test]
fn retention_apply_uses_each_configured_tenants_stored_period() {
    let (dir, store) = retention_store();
    let west = contents(&store, "west");
    let north = contents(&store, "north");
    let config = dir.path().join("oko.toml");
    // east has a period; west has a section without one.
    std::fs::write(
        &config,
        format!(
            "[tenants.east]\nretention_days = {}\n\n[tenants.west]\n",
            days_to_cutoff("Asia/Vladivostok")
        ),
    )
    .unwrap();
    let config = config.display().to_string();
    let out = ok(&store, &["--config", &config, "retention", "--apply"]);
    assert!(out.contains("tenant east: before 2025-03-10"), "{out}");
    assert!(!out.contains("tenant west"), "{out}");
    assert_eq!(deleted(&out, "leads"), 2, "{out}");
    assert_eq!(contents(&store, "east"), east_after());
    assert_eq!(contents(&store, "west"), west);
    assert_eq!(contents(&store, "north"), north);

    // Without any period, --apply says what to configure.
    let none = dir.path().join("none.toml");
    std::fs::write(&none, "[tenants.west]\n").unwrap();
    let r = run(
        &store,
        &[
            "--config",
            &none.display().to_string(),
            "retention",
            "--apply",
        ],
    );
    assert!(!r.status.success());
    assert!(String::from_utf8_lossy(&r.stderr).contains("retention_days"));
    // A period of 0 days is refused, an unknown key too.
    for text in [
        "[tenants.east]\nretention_days = 0\n",
        "[tenants.east]\nretention = 3\n",
    ] {
        std::fs::write(&none, text).unwrap();
        let r = run(
            &store,
            &[
                "--config",
                &none.display().to_string(),
                "retention",
                "--apply",
            ],
        );
        assert!(!r.status.success(), "{text}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_server_applies_stored_retention_periods_at_start() {
    let (dir, store) = retention_store();
    let config = users_config(dir.path(), "", &[("admin", "admin", None)]);
    let mut text = std::fs::read_to_string(&config).unwrap();
    text.push_str(&format!(
        "\n[tenants.east]\nretention_days = {}\n\n[tenants.west]\nretention_days = {}\n",
        days_to_cutoff("Asia/Vladivostok"),
        days_to_cutoff("America/New_York"),
    ));
    std::fs::write(&config, text).unwrap();
    let server =
        crate::server::start(&["--store", &store, "--config", &config.display().to_string()]);
    let c = login_as(server.port, "admin").await;
    let leads = |tenant: &'static str| {
        let c = &c;
        async move {
            text_values(
                c,
                &format!("SELECT lead_id FROM leads WHERE tenant = '{tenant}' ORDER BY 1"),
            )
            .await
            .unwrap()
            .join(" ")
        }
    };
    let ratings = || async {
        text_values(
            &c,
            "SELECT rating_id FROM ratings WHERE tenant IN ('east', 'west') ORDER BY 1",
        )
        .await
        .unwrap()
        .join(" ")
    };
    // The server applies the periods in the background, at once; its
    // tables see each commit at their next refresh.
    let started = std::time::Instant::now();
    while (leads("east").await != "E_EDGE_IN E_NEW"
        || leads("west").await != "W_IN"
        || ratings().await != "R3 R4 RW2 R_EARLY")
        && started.elapsed() < std::time::Duration::from_secs(60)
    {
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    assert_eq!(leads("east").await, "E_EDGE_IN E_NEW");
    assert_eq!(leads("west").await, "W_IN");
    assert_eq!(leads("north").await, "N_OLD");
    assert_eq!(ratings().await, "R3 R4 RW2 R_EARLY");
    // The dependents went with their leads: the reports show no orphans.
    let orphans = text_values(
        &c,
        "SELECT count(*) FROM ratings_to_moderate WHERE lead_created_at IS NULL AND tenant <> 'north'",
    )
    .await
    .unwrap();
    assert_eq!(orphans, ["0"]);
    drop(c);
    assert!(server.stop());
    assert_eq!(contents(&store, "east"), east_after());
    assert_eq!(contents(&store, "west"), west_after());
}
