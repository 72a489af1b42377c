//! Generate → load → count → load again: nothing is lost or duplicated.

use crate::common::*;

#[test]
fn generated_exports_load_completely_and_reload_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let exports = dir.path().join("exports");
    let store = dir.path().join("store").display().to_string();
    let ex = exports.display().to_string();
    ok(
        &store,
        &["generate", "--out", &ex, "--leads", "100000", "--seed", "7"],
    );

    let files: Vec<String> = TABLES
        .iter()
        .map(|t| exports.join(format!("{t}.csv")).display().to_string())
        .collect();
    let mut args = vec!["load"];
    args.extend(files.iter().map(String::as_str));
    let first = ok(&store, &args);
    assert!(
        first.contains("leads: read 100000 rows, loaded 100000"),
        "{first}"
    );

    let expected: Vec<u64> = TABLES
        .iter()
        .map(|t| csv_records(&exports.join(format!("{t}.csv"))))
        .collect();
    for (t, want) in TABLES.iter().zip(&expected) {
        assert!(*want > 0, "{t} generated no rows");
        assert_eq!(
            count(&store, &format!("SELECT count(*) FROM {t}")),
            *want,
            "{t}"
        );
    }

    let second = ok(&store, &args);
    assert!(
        second.contains("leads: read 100000 rows, loaded 0"),
        "{second}"
    );
    for (t, want) in TABLES.iter().zip(&expected) {
        assert_eq!(
            count(&store, &format!("SELECT count(*) FROM {t}")),
            *want,
            "{t} after reload"
        );
    }

    // A different file with overlapping rows: only the new rows are added.
    let head: String = std::fs::read_to_string(exports.join("leads.csv"))
        .unwrap()
        .lines()
        .take(11)
        .map(|l| format!("{l}\n"))
        .collect();
    let extra = dir.path().join("leads_extra.csv");
    std::fs::write(
        &extra,
        format!("{head}okna,NEW-1,chat,in,,m101,79000000000,2025-06-01T10:00:00Z,2025-06-01T10:01:00Z,,,site\n"),
    )
    .unwrap();
    let out = ok(
        &store,
        &["load", "--table", "leads", &extra.display().to_string()],
    );
    assert!(out.contains("loaded 1, updated 0, duplicate 10"), "{out}");
    assert_eq!(count(&store, "SELECT count(*) FROM leads"), expected[2] + 1);
}

#[test]
fn the_same_seed_gives_byte_identical_exports() {
    let dir = tempfile::tempdir().unwrap();
    for name in ["a", "b"] {
        let out = dir.path().join(name).display().to_string();
        ok(
            "unused",
            &["generate", "--out", &out, "--leads", "5000", "--seed", "3"],
        );
    }
    for t in TABLES {
        let a = std::fs::read(dir.path().join("a").join(format!("{t}.csv"))).unwrap();
        let b = std::fs::read(dir.path().join("b").join(format!("{t}.csv"))).unwrap();
        assert!(
            a == b,
            "{t}.csv differs between two runs with the same seed"
        );
    }
}

#[test]
fn dimension_tables_are_upserted() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store").display().to_string();
    let f = dir.path().join("tenants.csv");
    std::fs::write(
        &f,
        "tenant,name,timezone\nacme,Acme,Europe/Moscow\nbeta,Beta,UTC\n",
    )
    .unwrap();
    ok(&store, &["load", &f.display().to_string()]);
    std::fs::write(&f, "tenant,name,timezone\nacme,Acme Ltd,Asia/Omsk\n").unwrap();
    let out = ok(&store, &["load", &f.display().to_string()]);
    assert!(out.contains("loaded 0, updated 1"), "{out}");
    let rows = query(
        &store,
        "SELECT tenant, name, timezone FROM tenants ORDER BY tenant",
    );
    assert_eq!(
        rows,
        vec![
            vec!["acme".to_string(), "Acme Ltd".into(), "Asia/Omsk".into()],
            vec!["beta".to_string(), "Beta".into(), "UTC".into()],
        ]
    );
}
