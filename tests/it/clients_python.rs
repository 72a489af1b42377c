//! Real Python drivers against `oko serve --demo`: psycopg2, psycopg 3,
//! SQLAlchemy 2 with pandas, asyncpg.
//!
//! Each test runs one script of `tests/clients/python/` against its own
//! server. A script runs every check of its driver on a fresh connection,
//! prints `PASS`/`FAIL <check>: <the driver's error>` for each and exits 1
//! when any failed; the whole output is shown on failure. Run a script by
//! hand against a running server with
//! `python3 tests/clients/python/<driver>_client.py --port PORT [CHECK...]`.

use std::process::Command;

use crate::common::{Tool, require_tool};
use crate::server;

const SCRIPTS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/clients/python");

/// Runs `script` against a fresh `oko serve --demo` once `modules` are
/// importable ([`require_tool`]). Every check must pass except the
/// `known_gaps`, which must still fail (so the list stays true).
fn run_suite(script: &str, modules: &[&str], known_gaps: &[&str]) {
    for module in modules {
        if !require_tool(Tool::Python(module)) {
            return;
        }
    }
    let server = server::start(&["--demo"]);
    let out = Command::new("python3")
        .arg(format!("{SCRIPTS}/{script}"))
        .args(["--host", "127.0.0.1", "--port", &server.port.to_string()])
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .env("PYTHONUNBUFFERED", "1")
        .current_dir(SCRIPTS)
        .output()
        .expect("python3 runs");
    drop(server);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    crate::common::assert_checks(script, &stdout, &stderr, known_gaps);
}

#[test]
fn psycopg2_driver() {
    run_suite("psycopg2_client.py", &["psycopg2"], &[]);
}

/// Including a server-side cursor read with binary results (each `FETCH`
/// encodes its rows as it asks).
#[test]
fn psycopg3_driver() {
    run_suite("psycopg3_client.py", &["psycopg"], &[]);
}

/// Inspector (schema, table, view and column names and types), table
/// reflection, queries and `pandas.read_sql`, on both dialects.
#[test]
fn sqlalchemy_and_pandas() {
    run_suite(
        "sqlalchemy_client.py",
        &["sqlalchemy", "pandas", "psycopg2", "psycopg"],
        &[],
    );
}

/// Including asyncpg's introspection of a type it has no codec for
/// (`$1::oid[]` bound and `oid[]` read).
#[test]
fn asyncpg_driver() {
    run_suite("asyncpg_client.py", &["asyncpg"], &[]);
}
