//! A Callibri-style export (Windows-1251, semicolons, Russian headers, dates
//! like 12.02.2019 11:02 on Moscow time) loads through its mapping file.

use crate::common::*;

fn root() -> std::path::PathBuf {
    std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn callibri_export_loads_with_cyrillic_and_local_dates_intact() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store").display().to_string();
    let mapping = root().join("data/mappings/callibri_leads.toml");
    let file = root().join("data/examples/callibri_leads.csv");
    let out = ok(
        &store,
        &[
            "load",
            "--mapping",
            &mapping.display().to_string(),
            "--tenant",
            "okna",
            &file.display().to_string(),
        ],
    );
    assert!(out.contains("read 8 rows, loaded 8"), "{out}");

    let rows = query(
        &store,
        "SELECT lead_id, channel, manager_id, CAST(created_at AS VARCHAR), \
                CAST(answered_at AS VARCHAR), CAST(ended_at AS VARCHAR), \
                array_to_string(tags, '+'), source, class, tenant, direction \
         FROM leads WHERE lead_id = '1001'",
    );
    // 12.02.2019 11:02 Moscow (UTC+3) is 08:02 UTC; +12 s waiting; +185 s talk.
    assert_eq!(
        rows[0],
        vec![
            "1001",
            "call",
            "Анна Иванова",
            "2019-02-12T08:02:00Z",
            "2019-02-12T08:02:12Z",
            "2019-02-12T08:05:17Z",
            "замер+цена",
            "Яндекс.Директ",
            "Продажа",
            "okna",
            "in"
        ]
    );
    // The missed call has no answer and no end; channels are mapped.
    let rows = query(
        &store,
        "SELECT lead_id, channel, answered_at IS NULL, ended_at IS NULL FROM leads \
         WHERE lead_id IN ('1002', '1005', '1006', '1007') ORDER BY lead_id",
    );
    let got: Vec<String> = rows.iter().map(|r| r.join(" ")).collect();
    assert_eq!(
        got,
        vec![
            "1002 call t t",
            "1005 form t t",
            "1006 social f f",
            "1007 messenger f f"
        ]
    );
    // Loading it again adds nothing.
    let again = ok(
        &store,
        &[
            "load",
            "--mapping",
            &mapping.display().to_string(),
            "--tenant",
            "okna",
            &file.display().to_string(),
        ],
    );
    assert!(again.contains("loaded 0"), "{again}");
    assert_eq!(count(&store, "SELECT count(*) FROM leads"), 8);
}
