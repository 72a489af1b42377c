//! The main reports recomputed independently in DuckDB over the same Parquet
//! files (tests/crosscheck/duckdb_reports.py) must agree exactly with OKO on
//! a 100k-lead generated dataset.

use std::collections::BTreeSet;
use std::process::Command;

use datafusion::arrow::array::{Array, AsArray};
use datafusion::arrow::datatypes::{DataType, Float64Type};
use datafusion::arrow::util::display::array_value_to_string;

use crate::common::*;

fn cell(a: &dyn Array, row: usize) -> String {
    if a.is_null(row) {
        return "NULL".into();
    }
    match a.data_type() {
        DataType::Float64 => {
            let s = format!("{:.6}", a.as_primitive::<Float64Type>().value(row));
            let s = s.trim_end_matches('0').trim_end_matches('.').to_string();
            if s == "-0" { "0".into() } else { s }
        }
        _ => array_value_to_string(a, row).unwrap(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn duckdb_recomputes_the_main_reports_identically() {
    if !require_tool(Tool::Python("duckdb")) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let store_dir = dir.path().join("store");
    let store = crate::slt::generated_store(dir.path(), 100_000, 11).await;

    let ctx = oko::engine::session(&store, &Default::default())
        .await
        .unwrap();
    let queries = [
        "SELECT 'manager', tenant, to_char(period_start, '%Y-%m-%d'), scope, manager, leads, \
                mean_reaction_s, mean_dialog_s, ratings, avg_score, response_rate, is_outlier, \
                array_to_string(achievements, ',') FROM manager_report_month",
        "SELECT 'summary', tenant, to_char(period_start, '%Y-%m-%d'), channel, leads, requested, \
                rated, avg_score FROM summary_month",
        "SELECT 'cc', tenant, to_char(period_start, '%Y-%m-%d'), channel, offered, answered, \
                short_abandons, answered_in_sl, asa_s, aht_s, abandon_rate FROM cc_monthly",
        "SELECT 'tags', tenant, to_char(period_start, '%Y-%m-%d'), channel, tag, offered, \
                answered, missed FROM cc_tags('2000-01-01', '2100-01-01', 'month')",
    ];
    let mut ours = BTreeSet::new();
    for q in queries {
        let batches = ctx.sql(q).await.unwrap().collect().await.unwrap();
        for b in &batches {
            for r in 0..b.num_rows() {
                let cells: Vec<String> = b.columns().iter().map(|c| cell(c.as_ref(), r)).collect();
                ours.insert(cells.join("|"));
            }
        }
    }
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/crosscheck/duckdb_reports.py"
    );
    let out = Command::new("python3")
        .arg(script)
        .arg(&store_dir)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let theirs: BTreeSet<String> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect();
    assert!(ours.len() > 1000, "only {} rows", ours.len());
    for report in ["manager|", "summary|", "cc|", "tags|"] {
        let n = ours.iter().filter(|r| r.starts_with(report)).count();
        assert!(n > 100, "only {n} {report} rows");
    }
    // Same keys, same values; floats may differ in the last printed digit
    // (summation order), so numbers compare with a relative tolerance.
    let keyed = |rows: &BTreeSet<String>| -> std::collections::BTreeMap<String, Vec<String>> {
        rows.iter()
            .map(|r| {
                let f: Vec<String> = r.split('|').map(str::to_string).collect();
                (f[..5].join("|"), f[5..].to_vec())
            })
            .collect()
    };
    let (a, b) = (keyed(&ours), keyed(&theirs));
    let same = |x: &str, y: &str| {
        x == y
            || matches!((x.parse::<f64>(), y.parse::<f64>()),
                (Ok(p), Ok(q)) if (p - q).abs() <= 1e-6 * p.abs().max(1.0))
    };
    let mut diffs = Vec::new();
    for key in a.keys().chain(b.keys()).collect::<BTreeSet<_>>() {
        match (a.get(key), b.get(key)) {
            (Some(x), Some(y))
                if x.len() == y.len() && x.iter().zip(y).all(|(p, q)| same(p, q)) => {}
            (x, y) => diffs.push(format!("{key}\n  OKO:    {x:?}\n  DuckDB: {y:?}")),
        }
    }
    assert!(
        diffs.is_empty(),
        "OKO and DuckDB disagree on {} of {} rows:\n{}",
        diffs.len(),
        a.len(),
        diffs
            .iter()
            .take(10)
            .cloned()
            .collect::<Vec<_>>()
            .join("\n")
    );
}
