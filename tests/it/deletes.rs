//! `DELETE` deletes exactly the rows PostgreSQL 15 deletes, or is refused
//! with nothing written: the same rows in both, the same statements, the
//! rows left compared after each.

use std::time::Duration;

use tokio_postgres::Client;

use crate::common::{login_as, sqlstate, text_values, users_config};
use crate::postgres::Postgres;
use crate::server::start;

/// `(tenant, lead_id suffix, tag, comment)` of the notes each case starts
/// with.
const ROWS: [(&str, &str, Option<&str>, Option<&str>); 5] = [
    ("okna", "1", Some("a"), Some("x1")),
    ("okna", "2", None, Some("x2")),
    ("okna", "3", Some("b"), Some("y1")),
    ("okna", "4", None, None),
    ("klinika", "5", Some("a"), Some("x3")),
];

/// Conditions added to `lead_id LIKE '<case>-%' AND (…)`, and statement
/// tails.
const CASES: [&str; 22] = [
    "WHERE {own} AND (comment LIKE 'x%')",
    "WHERE {own} AND (comment = 'y1' OR tag IS NULL)",
    "WHERE {own} AND (tag IN ('a', 'b'))",
    "WHERE {own} AND (tag NOT IN ('a'))",
    "WHERE {own} AND (NOT (comment LIKE 'x%'))",
    "WHERE {own} AND (CASE WHEN tag = 'a' THEN true ELSE false END)",
    "WHERE {own} AND (lower(comment) = 'x2')",
    "WHERE {own} AND (comment IS NULL)",
    "WHERE {own} AND (tenant = 'okna' AND tag IS DISTINCT FROM 'a')",
    "WHERE {own} AND (length(comment) > 5)",
    "WHERE {own} AND (lead_id IN (SELECT lead_id FROM leads WHERE lead_id = 'no-such'))",
    "WHERE {own} AND comment LIKE 'x%' AND lead_id IN (SELECT lead_id FROM leads WHERE false)",
    "WHERE {own} AND (EXISTS (SELECT 1 FROM leads l WHERE l.lead_id = lead_notes.lead_id))",
    "WHERE {own} AND (NOT EXISTS (SELECT 1 FROM leads WHERE lead_id = 'no-such'))",
    "WHERE {own} AND (tag NOT IN (SELECT 'zz' UNION ALL SELECT NULL))",
    "WHERE {own} AND (comment = (SELECT max(comment) FROM lead_notes))",
    "WHERE {own} AND (tag = ANY (SELECT tag FROM lead_notes WHERE comment = 'x1'))",
    "WHERE {own} AND (tenant IN (SELECT tenant FROM tenants))",
    "WHERE {own} AND (random() < 2)",
    "WHERE {own} AND (comment LIKE 'x%') RETURNING lead_id",
    "WHERE {own} AND (comment LIKE 'x%') LIMIT 1",
    "WHERE {own} AND (comment LIKE 'x%') ORDER BY lead_id",
];

fn literal(v: Option<&str>) -> String {
    v.map_or("NULL".into(), |s| format!("'{s}'"))
}

/// The notes of one case, as sorted text rows.
async fn notes(c: &Client, case: &str) -> Vec<String> {
    let mut rows = text_values(
        c,
        &format!(
            "SELECT concat_ws('|', tenant, lead_id, coalesce(tag, '-'), coalesce(comment, '-')) \
             AS r FROM lead_notes WHERE lead_id LIKE '{case}-%'"
        ),
    )
    .await
    .expect("the notes are read");
    rows.sort();
    rows
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_delete_removes_exactly_what_postgresql_removes_or_nothing() {
    let Some(pg) = Postgres::start() else {
        return;
    };
    let p = pg.connect().await;
    p.batch_execute(
        "CREATE TABLE tenants (tenant text);
         INSERT INTO tenants VALUES ('okna'), ('klinika'), ('dostavka');
         CREATE TABLE leads (tenant text, lead_id text);
         CREATE TABLE lead_notes (tenant text, lead_id text, tag text, comment text);",
    )
    .await
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let cfg = users_config(dir.path(), "", &[("admin", "admin", None)]);
    let server = start(&["--demo", "--config", &cfg.display().to_string()]);
    let o = login_as(server.port, "admin").await;
    let mut refused = 0;
    for (i, case) in CASES.iter().enumerate() {
        let prefix = format!("D{i}");
        let values: Vec<String> = ROWS
            .iter()
            .map(|(t, n, tag, comment)| {
                format!(
                    "('{t}', '{prefix}-{n}', {}, {})",
                    literal(*tag),
                    literal(*comment)
                )
            })
            .collect();
        let insert = format!(
            "INSERT INTO lead_notes (tenant, lead_id, tag, comment) VALUES {}",
            values.join(", ")
        );
        p.execute(insert.as_str(), &[]).await.unwrap();
        o.execute(insert.as_str(), &[]).await.unwrap();
        // PostgreSQL's leads: one per note, so EXISTS finds them.
        p.execute(
            format!("INSERT INTO leads SELECT tenant, lead_id FROM lead_notes WHERE lead_id LIKE '{prefix}-%'")
                .as_str(),
            &[],
        )
        .await
        .unwrap();
        let before = notes(&o, &prefix).await;
        let sql = format!(
            "DELETE FROM lead_notes {}",
            case.replace("{own}", &format!("lead_id LIKE '{prefix}-%'"))
        );
        let theirs = p.execute(sql.as_str(), &[]).await;
        let ours = tokio::time::timeout(Duration::from_secs(60), o.execute(sql.as_str(), &[]))
            .await
            .expect("the DELETE answers");
        match (&ours, &theirs) {
            (Ok(n), Ok(m)) => {
                assert_eq!(n, m, "{sql}: rows deleted");
                assert_eq!(notes(&o, &prefix).await, notes(&p, &prefix).await, "{sql}");
            }
            (Err(e), theirs) => {
                let code = sqlstate(e);
                let same = theirs.as_ref().err().map(sqlstate) == Some(code.clone());
                assert!(
                    code == "0A000" || same,
                    "{sql}: OKO failed with {code} ({e}), PostgreSQL: {theirs:?}"
                );
                assert_eq!(
                    notes(&o, &prefix).await,
                    before,
                    "{sql}: refused but changed"
                );
                refused += 1;
            }
            (Ok(_), Err(e)) => panic!("{sql}: OKO deleted, PostgreSQL failed: {e}"),
        }
    }
    // The plain conditions run; the subqueries, volatile functions,
    // RETURNING, LIMIT and ORDER BY are refused.
    assert_eq!(refused, 12, "refusals");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tenant_bound_admin_deletes_only_in_its_tenant() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = users_config(
        dir.path(),
        "",
        &[
            ("admin", "admin", None),
            ("okna_admin", "admin", Some("okna")),
        ],
    );
    let server = start(&["--demo", "--config", &cfg.display().to_string()]);
    let admin = login_as(server.port, "admin").await;
    admin
        .execute(
            "INSERT INTO lead_notes (tenant, lead_id, comment) VALUES \
             ('okna', 'T-1', 'x'), ('klinika', 'T-2', 'x'), ('dostavka', 'T-3', 'x')",
            &[],
        )
        .await
        .unwrap();
    let okna = login_as(server.port, "okna_admin").await;
    let e = okna
        .execute(
            "DELETE FROM lead_notes WHERE comment = 'x' AND tenant IN (SELECT tenant FROM tenants)",
            &[],
        )
        .await
        .expect_err("a subquery is refused");
    assert_eq!(sqlstate(&e), "0A000");
    let n = okna
        .execute("DELETE FROM lead_notes WHERE lead_id LIKE 'T-%'", &[])
        .await
        .unwrap();
    assert_eq!(n, 1);
    let left = text_values(
        &admin,
        "SELECT count(*) FROM lead_notes WHERE lead_id LIKE 'T-%'",
    )
    .await
    .unwrap();
    assert_eq!(left, ["2"]);
}
