//! A load killed with SIGKILL leaves the table at its previous version,
//! readable and without partial rows; the next load succeeds.

use std::io::{BufRead, BufReader};
use std::process::Stdio;

use crate::common::*;

fn kill_at(store: &str, failpoint: &str, file: &str) {
    let mut child = oko()
        .args(["--store", store, "load", "--table", "leads", file])
        .env("OKO_FAILPOINT", failpoint)
        .stderr(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let mut reached = false;
    for line in BufReader::new(stderr).lines() {
        let line = line.unwrap();
        if line.contains(&format!("failpoint {failpoint}")) {
            reached = true;
            break;
        }
    }
    assert!(reached, "the load never reached failpoint {failpoint}");
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
}

#[test]
fn a_killed_load_leaves_the_previous_version_and_the_next_load_succeeds() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store").display().to_string();
    let exports = dir.path().join("exports");
    ok(
        &store,
        &[
            "generate",
            "--out",
            &exports.display().to_string(),
            "--leads",
            "150000",
            "--tenants",
            "2",
        ],
    );
    let leads = exports.join("leads.csv").display().to_string();
    let all = csv_records(&exports.join("leads.csv"));

    // A first small load gives the table a previous version with rows.
    let small = dir.path().join("small.csv");
    let head: String = std::fs::read_to_string(&leads)
        .unwrap()
        .lines()
        .take(1001)
        .map(|l| format!("{l}\n"))
        .collect();
    std::fs::write(&small, head).unwrap();
    ok(
        &store,
        &["load", "--table", "leads", &small.display().to_string()],
    );
    assert_eq!(count(&store, "SELECT count(*) FROM leads"), 1000);

    for failpoint in ["after-first-batch", "before-commit"] {
        kill_at(&store, failpoint, &leads);
        assert_eq!(
            count(&store, "SELECT count(*) FROM leads"),
            1000,
            "killed at {failpoint}: the table must be at its previous version"
        );
    }
    let out = ok(&store, &["load", "--table", "leads", &leads]);
    assert!(out.contains("duplicate 1000"), "{out}");
    assert_eq!(count(&store, "SELECT count(*) FROM leads"), all);
    assert_eq!(
        count(
            &store,
            "SELECT count(*) FROM (SELECT DISTINCT tenant, lead_id FROM leads)"
        ),
        all
    );
}
