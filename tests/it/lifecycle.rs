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

    // Retention: the tenant's facts before the cutoff go, nothing else.
    let cutoff = "2025-07-01";
    let old = count(
        &store,
        &format!(
            "SELECT count(*) FROM leads WHERE tenant = '{tenant}' AND created_at < '{cutoff}T00:00:00Z'"
        ),
    );
    assert!(old > 0 && old < before[0].0);
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
            &format!(
                "SELECT count(*) FROM leads WHERE tenant = '{tenant}' AND created_at < '{cutoff}T00:00:00Z'"
            )
        ),
        0
    );
    assert_eq!(
        count(
            &store,
            &format!(
                "SELECT count(*) FROM ratings WHERE tenant = '{tenant}' AND received_at < '{cutoff}T00:00:00Z'"
            )
        ),
        0
    );

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
