//! A small sqllogictest runner for the report SQL: every `tests/slt/*.slt`
//! file runs in a fresh session over the hand-checked fixture in
//! `tests/fixtures/kpi` (its numbers are reasoned out in
//! `tests/fixtures/kpi/README.md`).
//!
//! Records: `statement ok`, `statement error <text>`, and
//! `query <column types> [rowsort]` followed by the SQL, `----` and the
//! expected rows (columns separated by one space; NULL as `NULL`; floats
//! rounded to 4 decimals; lists as `[a, b]`). `OKO_SLT_COMPLETE=1` rewrites
//! the expected rows from the actual ones, for review.

use std::path::{Path, PathBuf};

use datafusion::arrow::array::{Array, AsArray, RecordBatch};
use datafusion::arrow::datatypes::{DataType, Float64Type};
use datafusion::arrow::util::display::array_value_to_string;

use oko::config::{ReportSettings, StoreConfig};
use oko::ingest::{LoadOptions, load};
use oko::model::Table;
use oko::store::Store;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// `oko generate --leads LEADS --seed SEED` into `dir/exports`, loaded
/// into the store at `dir/store`.
pub async fn generated_store(dir: &Path, leads: u64, seed: u64) -> Store {
    let exports = dir.join("exports");
    crate::common::ok(
        "unused",
        &[
            "generate",
            "--out",
            &exports.display().to_string(),
            "--leads",
            &leads.to_string(),
            "--seed",
            &seed.to_string(),
        ],
    );
    load_fixture(&exports, &dir.join("store")).await
}

/// Loads a folder of `<table>.csv` files into a fresh store.
pub async fn load_fixture(dir: &Path, store_dir: &Path) -> Store {
    let store = Store::open(&StoreConfig {
        url: store_dir.display().to_string(),
        ..Default::default()
    })
    .unwrap();
    for table in Table::ALL {
        let file = dir.join(format!("{}.csv", table.name()));
        if !file.exists() {
            continue;
        }
        load(
            &store,
            LoadOptions {
                table,
                files: vec![file],
                mapping: Default::default(),
                mapping_text: String::new(),
                format: None,
                delimiter: None,
                encoding: None,
                tenant: None,
                timezone: None,
                dry_run: false,
                max_bad_rows: 0,
                rejects: None,
                progress: false,
            },
        )
        .await
        .unwrap_or_else(|e| panic!("fixture {table}: {e:#}"));
    }
    store
}

/// One cell as the .slt files write it.
fn cell(array: &dyn Array, row: usize) -> String {
    if array.is_null(row) {
        return "NULL".into();
    }
    match array.data_type() {
        DataType::Float64 | DataType::Float32 => {
            let v = if let DataType::Float64 = array.data_type() {
                array.as_primitive::<Float64Type>().value(row)
            } else {
                array
                    .as_primitive::<datafusion::arrow::datatypes::Float32Type>()
                    .value(row) as f64
            };
            let s = format!("{v:.4}");
            let s = s.trim_end_matches('0').trim_end_matches('.').to_string();
            if s == "-0" { "0".into() } else { s }
        }
        _ => {
            let s = array_value_to_string(array, row).unwrap_or_else(|e| format!("<{e}>"));
            if s.is_empty() { "(empty)".into() } else { s }
        }
    }
}

fn rows(batches: &[RecordBatch]) -> Vec<String> {
    let mut out = Vec::new();
    for b in batches {
        for r in 0..b.num_rows() {
            let cells: Vec<String> = b.columns().iter().map(|c| cell(c.as_ref(), r)).collect();
            out.push(cells.join(" "));
        }
    }
    out
}

struct Record {
    kind: String,
    sql: String,
    expected: Vec<String>,
    /// Line where the record starts, for messages.
    line: usize,
}

fn parse(text: &str) -> Vec<Record> {
    let lines: Vec<&str> = text.lines().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let l = lines[i].trim_end();
        if l.is_empty() || l.starts_with('#') {
            i += 1;
            continue;
        }
        let start = i + 1;
        let kind = l.to_string();
        i += 1;
        let mut sql = Vec::new();
        while i < lines.len() && !lines[i].trim().is_empty() && lines[i].trim() != "----" {
            sql.push(lines[i]);
            i += 1;
        }
        let mut expected = Vec::new();
        if i < lines.len() && lines[i].trim() == "----" {
            i += 1;
            while i < lines.len() && !lines[i].trim().is_empty() {
                expected.push(lines[i].trim_end().to_string());
                i += 1;
            }
        }
        out.push(Record {
            kind,
            sql: sql.join("\n"),
            expected,
            line: start,
        });
    }
    out
}

async fn run_file(path: &Path, store: &Store) -> Vec<String> {
    let ctx = oko::engine::session(store, &ReportSettings::default())
        .await
        .unwrap();
    let text = std::fs::read_to_string(path).unwrap();
    let name = path.file_name().unwrap().to_string_lossy().to_string();
    let complete = std::env::var("OKO_SLT_COMPLETE").is_ok();
    let mut failures = Vec::new();
    let mut completed = text.clone();
    for rec in parse(&text) {
        let result = match ctx.sql(&rec.sql).await {
            Ok(df) => df.collect().await,
            Err(e) => Err(e),
        };
        let words: Vec<&str> = rec.kind.split_whitespace().collect();
        match words.as_slice() {
            ["statement", "ok"] => {
                if let Err(e) = result {
                    failures.push(format!("{name}:{}: statement failed: {e}", rec.line));
                }
            }
            ["statement", "error", msg @ ..] => match result {
                Ok(_) => failures.push(format!("{name}:{}: expected an error", rec.line)),
                Err(e) => {
                    let want = msg.join(" ");
                    if !e.to_string().contains(&want) {
                        failures.push(format!("{name}:{}: error `{e}` lacks `{want}`", rec.line));
                    }
                }
            },
            ["query", _types, rest @ ..] => match result {
                Err(e) => failures.push(format!("{name}:{}: query failed: {e}", rec.line)),
                Ok(batches) => {
                    let mut got = rows(&batches);
                    let mut want = rec.expected.clone();
                    if rest.contains(&"rowsort") {
                        got.sort();
                        want.sort();
                    }
                    if complete {
                        let old = format!("{}\n----\n{}", rec.sql, rec.expected.join("\n"));
                        let new = format!("{}\n----\n{}", rec.sql, got.join("\n"));
                        completed = completed.replacen(old.trim_end(), &new, 1);
                    } else if got != want {
                        failures.push(format!(
                            "{name}:{}: {}\n  expected:\n    {}\n  got:\n    {}",
                            rec.line,
                            rec.sql,
                            want.join("\n    "),
                            got.join("\n    ")
                        ));
                    }
                }
            },
            _ => failures.push(format!(
                "{name}:{}: unknown record `{}`",
                rec.line, rec.kind
            )),
        }
    }
    if complete {
        std::fs::write(path, completed).unwrap();
    }
    failures
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn report_sql_matches_the_hand_checked_fixture() {
    let dir = tempfile::tempdir().unwrap();
    let store = load_fixture(&root().join("tests/fixtures/kpi"), dir.path()).await;
    let mut files: Vec<PathBuf> = std::fs::read_dir(root().join("tests/slt"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "slt"))
        .collect();
    files.sort();
    assert!(!files.is_empty());
    let mut failures = Vec::new();
    for f in &files {
        failures.extend(run_file(f, &store).await);
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}
