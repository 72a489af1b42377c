//! Bad input gets a reason with file, line and column, a non-zero exit, and
//! the store stays as it was.

use crate::common::*;

const HEADER: &str = "tenant,lead_id,channel,direction,created_at\n";

struct Case {
    name: &'static str,
    table: &'static str,
    content: Vec<u8>,
    /// Text the error must contain.
    says: &'static [&'static str],
}

fn cases() -> Vec<Case> {
    let good = "t,1,call,in,2024-01-01T10:00:00Z\n";
    vec![
        Case {
            name: "wrong_date.csv",
            table: "leads",
            content: format!("{HEADER}{good}t,2,call,in,31.02.2024 10:00\n").into_bytes(),
            says: &["wrong_date.csv:3", "column `created_at`", "not a calendar date"],
        },
        Case {
            name: "missing_column.csv",
            table: "leads",
            content: "tenant,lead_id,channel,direction\nt,1,call,in\n".into(),
            says: &["missing required column `created_at`"],
        },
        Case {
            name: "bad_score.csv",
            table: "ratings",
            content: "tenant,rating_id,lead_id,score,received_at\nt,r1,1,5,2024-01-01T10:00:00Z\nt,r2,1,five,2024-01-01T10:00:00Z\n".into(),
            says: &["bad_score.csv:3", "column `score`", "`five` is not an integer"],
        },
        Case {
            name: "unknown_channel.csv",
            table: "leads",
            content: format!("{HEADER}{good}t,2,fax,in,2024-01-01T10:00:00Z\n").into_bytes(),
            says: &["unknown_channel.csv:3", "column `channel`", "`fax` is not one of"],
        },
        Case {
            name: "truncated.csv",
            table: "leads",
            content: format!("{HEADER}{good}t,2,ca").into_bytes(),
            says: &["truncated.csv:3", "cut short"],
        },
        Case {
            name: "bad_utf8.csv",
            table: "leads",
            content: [HEADER.as_bytes(), good.as_bytes(), b"t,2,call,in,2024-01-01T10:00:00Z\nt,3\xff\xfe,call,in,2024-01-01T10:00:00Z\n"].concat(),
            says: &["bad_utf8.csv:4", "column `lead_id`", "invalid UTF-8"],
        },
    ]
}

#[test]
fn every_kind_of_bad_input_is_reported_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store").display().to_string();
    // Some good data first, so "unchanged" means something.
    let base = dir.path().join("base.csv");
    std::fs::write(&base, format!("{HEADER}t,0,chat,in,2023-12-31T10:00:00Z\n")).unwrap();
    ok(
        &store,
        &["load", "--table", "leads", &base.display().to_string()],
    );
    let before = count(&store, "SELECT count(*) FROM leads");
    let mut tried = 0;
    for case in cases() {
        let path = dir.path().join(case.name);
        std::fs::write(&path, &case.content).unwrap();
        let out = run(
            &store,
            &["load", "--table", case.table, &path.display().to_string()],
        );
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{}: the load should fail", case.name);
        for s in case.says {
            assert!(
                stderr.contains(s),
                "{}: expected `{s}` in:\n{stderr}",
                case.name
            );
        }
        assert_eq!(
            count(&store, "SELECT count(*) FROM leads"),
            before,
            "{}",
            case.name
        );
        assert_eq!(
            count(&store, "SELECT count(*) FROM ratings"),
            0,
            "{}",
            case.name
        );
        tried += 1;
    }
    assert_eq!(tried, 6);
}

#[test]
fn allowed_bad_rows_go_to_a_rejects_file_and_the_rest_loads() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store").display().to_string();
    let path = dir.path().join("mixed.csv");
    std::fs::write(
        &path,
        format!("{HEADER}t,1,call,in,2024-01-01T10:00:00Z\nt,2,fax,in,2024-01-01T10:00:00Z\nt,3,chat,in,2024-01-01T11:00:00Z\n"),
    )
    .unwrap();
    let rejects = dir.path().join("rejects.csv");
    let out = ok(
        &store,
        &[
            "load",
            "--table",
            "leads",
            "--max-bad-rows",
            "1",
            "--rejects",
            &rejects.display().to_string(),
            &path.display().to_string(),
        ],
    );
    assert!(
        out.contains("loaded 2") && out.contains("rejected 1"),
        "{out}"
    );
    let text = std::fs::read_to_string(&rejects).unwrap();
    assert!(
        text.contains("fax") && text.contains(",3,channel,"),
        "{text}"
    );
    assert_eq!(count(&store, "SELECT count(*) FROM leads"), 2);
}

#[test]
fn a_dry_run_validates_without_writing() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store").display().to_string();
    let path = dir.path().join("leads.csv");
    std::fs::write(&path, format!("{HEADER}t,1,call,in,2024-01-01T10:00:00Z\n")).unwrap();
    let out = ok(&store, &["load", "--dry-run", &path.display().to_string()]);
    assert!(out.contains("dry run"), "{out}");
    assert_eq!(count(&store, "SELECT count(*) FROM leads"), 0);
}
