//! Java's PostgreSQL driver (pgjdbc) against `oko serve --demo`, driven the
//! way Metabase (startup, sync, questions, errors) and DBeaver (catalog
//! queries) drive it.
//!
//! The checks are `tests/clients/java/OkoJdbcCheck.java`; `run.sh HOST PORT
//! [CHECK...]` compiles and runs them against a running server, printing
//! `PASS`/`FAIL <check>: <the driver's error>` for each. Needs a JDK and
//! Debian's `libpostgresql-jdbc-java` (`/usr/share/java/postgresql.jar`),
//! which `tests/setup.sh` installs.

use std::process::Command;

use crate::common::{Tool, require_tool};
use crate::server;

const DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/clients/java");
const JAR: &str = "/usr/share/java/postgresql.jar";

/// A JDK and pgjdbc ([`require_tool`]).
fn java_and_pgjdbc() -> bool {
    require_tool(Tool::Program("java"))
        && require_tool(Tool::Program("javac"))
        && require_tool(Tool::File(JAR))
}

#[test]
fn pgjdbc_as_metabase_and_dbeaver_use_it() {
    if !java_and_pgjdbc() {
        return;
    }
    let server = server::start(&["--demo"]);
    let out = Command::new("bash")
        .arg(format!("{DIR}/run.sh"))
        .args(["127.0.0.1", &server.port.to_string()])
        .current_dir(DIR)
        .output()
        .expect("run.sh runs");
    drop(server);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    crate::common::assert_checks(
        "pgjdbc against oko serve --demo",
        &stdout,
        &stderr,
        KNOWN_GAPS,
    );
}

/// Checks that still fail. The test fails if any other check fails, and if
/// one of these starts to pass. (None at the moment.)
const KNOWN_GAPS: &[&str] = &[];
