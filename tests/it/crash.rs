//! A load killed with SIGKILL leaves the table at its previous version,
//! readable and without partial rows; the next load succeeds. The load is
//! killed from outside at several moments — early, and the instant its
//! first data file lands in the store (files are written, the commit is
//! not) — with no hook in the product: whatever the moment, the table holds
//! either none or all of the load's rows.

use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use crate::common::*;

/// When to kill the load.
enum Kill {
    After(Duration),
    /// As soon as a Parquet file appears under this folder.
    AtFirstFile(std::path::PathBuf),
}

fn parquet_files(dir: &Path) -> usize {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    entries
        .filter_map(|e| e.ok())
        .map(|e| {
            let path = e.path();
            if path.is_dir() {
                parquet_files(&path)
            } else {
                usize::from(path.extension().is_some_and(|x| x == "parquet"))
            }
        })
        .sum()
}

/// Starts `oko load` of `file` into leads and kills it as `when` says.
/// Returns whether it was still running when killed.
fn kill_load(store: &str, file: &str, when: Kill) -> bool {
    let mut child = oko()
        .args(["--store", store, "load", "--table", "leads", file])
        .stderr(Stdio::null())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let started = Instant::now();
    let baseline = match &when {
        Kill::AtFirstFile(dir) => parquet_files(dir),
        Kill::After(_) => 0,
    };
    loop {
        if child.try_wait().unwrap().is_some() {
            return false;
        }
        let now = match &when {
            Kill::After(d) => started.elapsed() >= *d,
            Kill::AtFirstFile(dir) => parquet_files(dir) > baseline,
        };
        if now {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "the load hangs"
        );
        std::thread::sleep(Duration::from_micros(200));
    }
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    true
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

    let table_dir = dir.path().join("store").join("leads");
    let mut killed_before_commit = 0;
    for when in [
        Kill::After(Duration::from_millis(100)),
        Kill::AtFirstFile(table_dir.clone()),
        Kill::After(Duration::from_millis(600)),
    ] {
        let what = match &when {
            Kill::After(d) => format!("after {d:?}"),
            Kill::AtFirstFile(_) => "at its first data file".to_string(),
        };
        let killed = kill_load(&store, &leads, when);
        let rows = count(&store, "SELECT count(*) FROM leads");
        assert!(
            rows == 1000 || rows == all,
            "killed {what}: {rows} rows, neither the previous 1000 nor all {all}"
        );
        if killed && rows == 1000 {
            killed_before_commit += 1;
        }
    }
    assert!(
        killed_before_commit > 0,
        "no kill landed before a commit: the test proved nothing"
    );
    ok(&store, &["load", "--table", "leads", &leads]);
    assert_eq!(count(&store, "SELECT count(*) FROM leads"), all);
    assert_eq!(
        count(
            &store,
            "SELECT count(*) FROM (SELECT DISTINCT tenant, lead_id FROM leads)"
        ),
        all
    );
}
