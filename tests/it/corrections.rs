//! Lead corrections: a re-export with changed values updates the stored
//! lead (one lead, `updated` counted, every changed column recorded in
//! `lead_corrections`), an unchanged one stays a duplicate; an admin's
//! `UPDATE leads` over the wire corrects a lead of its tenant only, is
//! refused to the other roles and for the key columns, and the reports see
//! the correction at once.

use std::path::Path;

use crate::common::*;
use crate::server::start;

const TENANTS: &str = "tenant,name,timezone,survey_interval_days,service_level_seconds\n\
t1,Окна,UTC,7,20\n\
t2,Двери,UTC,7,20\n";

const MANAGERS: &str = "tenant,manager_id,name,department,active\n\
t1,m1,Ольга,Продажи,true\n\
t1,m2,Максим,Продажи,true\n\
t2,m1,Анна,Сервис,true\n";

const HEADER: &str = "tenant,lead_id,channel,direction,class,manager_id,client_id,created_at,answered_at,ended_at,tags,source\n";

/// An answered incoming call of 2026-06 (counted in the reports).
fn lead(tenant: &str, id: &str, class: &str, manager: &str, day: u32) -> String {
    format!(
        "{tenant},{id},call,in,{class},{manager},c-{id},2026-06-{day:02}T10:00:00Z,\
         2026-06-{day:02}T10:00:30Z,2026-06-{day:02}T10:05:00Z,a|b,direct\n"
    )
}

fn write(dir: &Path, name: &str, text: &str) -> String {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p.display().to_string()
}

fn load(store: &str, table: &str, file: &str) -> String {
    ok(store, &["load", "--table", table, file])
}

/// `leads` of `manager_report_month` in June, by manager (`-`: none), of
/// tenant t1, scope all.
fn june_leads(store: &str) -> Vec<(String, String)> {
    let mut rows: Vec<(String, String)> = query(
        store,
        "SELECT coalesce(manager_id, '-') AS m, CAST(leads AS VARCHAR) AS n \
         FROM manager_report_month WHERE tenant = 't1' AND scope = 'all' \
         AND period_start >= DATE '2026-06-01' AND period_start < DATE '2026-07-01'",
    )
    .into_iter()
    .map(|r| (r[0].clone(), r[1].clone()))
    .collect();
    rows.sort();
    rows
}

fn pairs(v: &[(&str, &str)]) -> Vec<(String, String)> {
    v.iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect()
}

/// The numbers of a load's summary line: `(loaded, updated, duplicate)`.
fn counted(summary: &str) -> (u64, u64, u64) {
    let number = |word: &str| -> u64 {
        let at = summary
            .find(word)
            .unwrap_or_else(|| panic!("no `{word}` in {summary}"));
        summary[at + word.len()..]
            .trim_start()
            .split(|c: char| !c.is_ascii_digit())
            .next()
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("no number after `{word}` in {summary}"))
    };
    (number("loaded"), number("updated"), number("duplicate"))
}

/// A store with two tenants and four leads of t1, one of t2.
fn store_with_leads(dir: &Path) -> String {
    let store = dir.join("store").display().to_string();
    load(&store, "tenants", &write(dir, "tenants.csv", TENANTS));
    load(&store, "managers", &write(dir, "managers.csv", MANAGERS));
    let first = [
        HEADER.to_string(),
        lead("t1", "L1", "Целевой", "", 2),
        lead("t1", "L2", "Целевой", "m1", 3),
        lead("t1", "L3", "Целевой", "m2", 4),
        lead("t2", "T2L1", "Целевой", "m1", 5),
    ]
    .concat();
    let out = load(&store, "leads", &write(dir, "leads-1.csv", &first));
    assert_eq!(counted(&out), (4, 0, 0), "{out}");
    store
}

#[test]
fn a_reexport_corrects_changed_leads_and_keeps_unchanged_ones_as_duplicates() {
    let dir = tempfile::tempdir().unwrap();
    let store = store_with_leads(dir.path());
    assert_eq!(
        june_leads(&store),
        pairs(&[("-", "1"), ("m1", "1"), ("m2", "1")])
    );

    // The same leads in another order, and a new one: duplicates, not
    // corrections.
    let again = [
        HEADER.to_string(),
        lead("t1", "L3", "Целевой", "m2", 4),
        lead("t1", "L4", "Целевой", "m1", 6),
        lead("t1", "L1", "Целевой", "", 2),
        lead("t1", "L2", "Целевой", "m1", 3),
    ]
    .concat();
    let out = load(&store, "leads", &write(dir.path(), "leads-2.csv", &again));
    assert_eq!(counted(&out), (1, 0, 3), "{out}");
    assert_eq!(count(&store, "SELECT count(*) FROM lead_corrections"), 0);

    // The CRM filled in L1's manager ("Принял" later) and marked L2 as spam.
    let corrected = [
        HEADER.to_string(),
        lead("t1", "L1", "Целевой", "m2", 2),
        lead("t1", "L2", "Спам", "m1", 3),
        lead("t1", "L3", "Целевой", "m2", 4),
    ]
    .concat();
    let out = load(
        &store,
        "leads",
        &write(dir.path(), "leads-3.csv", &corrected),
    );
    assert_eq!(counted(&out), (0, 2, 1), "{out}");
    assert_eq!(count(&store, "SELECT count(*) FROM leads"), 5);
    assert_eq!(
        count(
            &store,
            "SELECT count(*) FROM leads WHERE lead_id IN ('L1', 'L2')"
        ),
        2
    );
    assert_eq!(
        query(
            &store,
            "SELECT lead_id, column_name, coalesce(previous_value, '-'), new_value, source, \
             CAST(corrected_at IS NOT NULL AS VARCHAR), CAST(corrected_by <> '' AS VARCHAR) \
             FROM lead_corrections ORDER BY lead_id"
        ),
        [
            ["L1", "manager_id", "-", "m2", "load", "true", "true"],
            ["L2", "class", "Целевой", "Спам", "load", "true", "true"],
        ]
        .map(|r| r.map(str::to_string).to_vec())
    );
    // The report: L1 is m2's now, L2 is spam (not counted by default).
    assert_eq!(june_leads(&store), pairs(&[("m1", "1"), ("m2", "2")]));

    // An export without the manager and tags columns corrects what it
    // carries and leaves the rest as stored; a new created_at moves the
    // lead to its month.
    let partial = "tenant,lead_id,channel,direction,class,client_id,created_at,answered_at,ended_at,source\n\
t1,L3,call,in,Продажа,c-L3,2026-07-01T10:00:00Z,2026-07-01T10:00:30Z,2026-07-01T10:05:00Z,direct\n";
    let out = load(&store, "leads", &write(dir.path(), "leads-4.csv", partial));
    assert_eq!(counted(&out), (0, 1, 0), "{out}");
    assert_eq!(
        query(
            &store,
            "SELECT class, manager_id, created_month, array_to_string(tags, '|') \
             FROM leads WHERE lead_id = 'L3'"
        ),
        [["Продажа", "m2", "2026-07", "a|b"]
            .map(str::to_string)
            .to_vec()]
    );
    assert_eq!(count(&store, "SELECT count(*) FROM leads"), 5);
    assert_eq!(
        count(
            &store,
            "SELECT count(*) FROM lead_corrections WHERE lead_id = 'L3'"
        ),
        4,
        "class, created_at, answered_at, ended_at"
    );
    assert_eq!(june_leads(&store), pairs(&[("m1", "1"), ("m2", "1")]));

    // A dry run counts a correction and writes nothing.
    let dry = [HEADER.to_string(), lead("t1", "L4", "Спам", "m1", 6)].concat();
    let file = write(dir.path(), "leads-5.csv", &dry);
    let out = ok(&store, &["load", "--table", "leads", "--dry-run", &file]);
    assert_eq!(counted(&out), (0, 1, 0), "{out}");
    assert_eq!(
        count(
            &store,
            "SELECT count(*) FROM leads WHERE class = 'Спам' AND lead_id = 'L4'"
        ),
        0
    );

    // Erasing a client erases the record of its leads' corrections.
    ok(&store, &["erase", "--tenant", "t1", "--client", "c-L1"]);
    assert_eq!(
        count(
            &store,
            "SELECT count(*) FROM lead_corrections WHERE lead_id = 'L1'"
        ),
        0
    );
    assert_eq!(
        count(
            &store,
            "SELECT count(*) FROM lead_corrections WHERE lead_id = 'L2'"
        ),
        1
    );

    // The record is OKO's: it is not loaded from a file.
    let refused = run(&store, &["load", "--table", "lead_corrections", &file]);
    assert!(!refused.status.success());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_admin_corrects_leads_over_sql_and_the_reports_follow_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let store = store_with_leads(dir.path());
    let config = users_config(
        dir.path(),
        "",
        &[
            ("admin", "admin", None),
            ("t1admin", "admin", Some("t1")),
            ("t1viewer", "viewer", Some("t1")),
            ("viewer", "viewer", None),
            ("moderator", "moderator", None),
            ("supervisor", "supervisor", None),
        ],
    );
    let server = start(&["--config", config.to_str().unwrap(), "--store", &store]);
    let port = server.port;

    let admin = login_as(port, "admin").await;
    let reader = login_as(port, "viewer").await;
    let report = "SELECT coalesce(manager_id, '-') || ':' || CAST(leads AS VARCHAR) \
                  FROM manager_report_month WHERE tenant = 't1' AND scope = 'all' \
                  AND period_start >= DATE '2026-06-01' ORDER BY 1";
    assert_eq!(
        text_values(&reader, report).await.unwrap(),
        ["-:1", "m1:1", "m2:1"]
    );

    // Other roles may not.
    for user in ["viewer", "moderator", "supervisor", "t1viewer"] {
        let c = login_as(port, user).await;
        let e = c
            .execute("UPDATE leads SET class = 'Спам' WHERE lead_id = 'L2'", &[])
            .await
            .unwrap_err();
        assert_eq!(sqlstate(&e), "42501", "{user}: {e:?}");
    }

    // A reclassification to spam: the lead leaves the default report at
    // once, for every session.
    let n = admin
        .execute("UPDATE leads SET class = 'Спам' WHERE lead_id = 'L2'", &[])
        .await
        .unwrap();
    assert_eq!(n, 1);
    assert_eq!(text_values(&reader, report).await.unwrap(), ["-:1", "m2:1"]);
    // The manager filled in, with a parameter.
    let n = admin
        .execute(
            "UPDATE leads SET manager_id = $1 WHERE tenant = 't1' AND lead_id = $2",
            &[&"m2", &"L1"],
        )
        .await
        .unwrap();
    assert_eq!(n, 1);
    assert_eq!(text_values(&reader, report).await.unwrap(), ["m2:2"]);
    assert_eq!(
        text_values(
            &reader,
            "SELECT lead_id || ' ' || column_name || ' ' || coalesce(previous_value, '-') || ' ' \
             || new_value || ' ' || corrected_by || ' ' || source FROM lead_corrections ORDER BY 1"
        )
        .await
        .unwrap(),
        [
            "L1 manager_id - m2 admin sql",
            "L2 class Целевой Спам admin sql"
        ]
    );
    // Setting what is stored matches the lead and records nothing.
    let n = admin
        .execute("UPDATE leads SET class = 'Спам' WHERE lead_id = 'L2'", &[])
        .await
        .unwrap();
    assert_eq!(n, 1);
    assert_eq!(
        text_values(&reader, "SELECT count(*) FROM lead_corrections")
            .await
            .unwrap(),
        ["2"]
    );
    assert_eq!(
        text_values(&reader, "SELECT count(*) FROM leads")
            .await
            .unwrap(),
        ["4"]
    );

    // A tenant-bound admin corrects its tenant's leads only.
    let t1admin = login_as(port, "t1admin").await;
    for sql in [
        "UPDATE leads SET manager_id = 'mX' WHERE lead_id = 'T2L1'",
        "UPDATE leads SET manager_id = 'mX' WHERE tenant = 't2'",
    ] {
        assert_eq!(t1admin.execute(sql, &[]).await.unwrap(), 0, "{sql}");
    }
    assert_eq!(
        text_values(
            &admin,
            "SELECT manager_id FROM leads WHERE lead_id = 'T2L1'"
        )
        .await
        .unwrap(),
        ["m1"]
    );
    let n = t1admin
        .execute(
            "UPDATE leads SET class = 'Продажа', tags = ARRAY['x'] WHERE lead_id IN ('L3', 'T2L1')",
            &[],
        )
        .await
        .unwrap();
    assert_eq!(n, 1);
    // Its record: its tenant's rows only.
    let t1viewer = login_as(port, "t1viewer").await;
    assert_eq!(
        text_values(
            &t1viewer,
            "SELECT DISTINCT tenant || ' ' || corrected_by FROM lead_corrections WHERE lead_id = 'L3'"
        )
        .await
        .unwrap(),
        ["t1 t1admin"]
    );

    // Refused: the key, created_at, subqueries, no WHERE, RETURNING, FROM,
    // another table, a write into the record, an invalid row.
    for (sql, code) in [
        (
            "UPDATE leads SET lead_id = 'L9' WHERE lead_id = 'L1'",
            "0A000",
        ),
        (
            "UPDATE leads SET tenant = 't2' WHERE lead_id = 'L1'",
            "0A000",
        ),
        (
            "UPDATE leads SET created_at = now() WHERE lead_id = 'L1'",
            "0A000",
        ),
        (
            "UPDATE leads SET class = 'x' WHERE lead_id IN (SELECT lead_id FROM leads WHERE false)",
            "0A000",
        ),
        (
            "UPDATE leads SET manager_id = (SELECT max(manager_id) FROM managers) WHERE lead_id = 'L1'",
            "0A000",
        ),
        ("UPDATE leads SET class = 'x'", "0A000"),
        (
            "UPDATE leads SET class = 'x' WHERE lead_id = 'L1' RETURNING lead_id",
            "0A000",
        ),
        (
            "UPDATE leads SET class = m.name FROM managers m WHERE m.manager_id = leads.manager_id",
            "0A000",
        ),
        (
            "UPDATE ratings SET score = 5 WHERE rating_id = 'r'",
            "0A000",
        ),
        ("DELETE FROM lead_corrections WHERE lead_id = 'L1'", "42501"),
        (
            "UPDATE leads SET answered_at = TIMESTAMPTZ '2020-01-01 00:00:00+00' WHERE lead_id = 'L1'",
            "22023",
        ),
    ] {
        let e = admin.execute(sql, &[]).await.unwrap_err();
        assert_eq!(sqlstate(&e), code, "{sql}: {e:?}");
    }
    assert_eq!(
        text_values(&admin, "SELECT count(*) FROM lead_corrections")
            .await
            .unwrap(),
        ["4"]
    );
    assert!(server.stop());
}
