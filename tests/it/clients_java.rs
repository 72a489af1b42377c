//! Java's PostgreSQL driver (pgjdbc) against `oko serve --demo`, driven the
//! way Metabase (startup, sync, questions, errors) and DBeaver (catalog
//! queries) drive it.
//!
//! The checks are `tests/clients/java/OkoJdbcCheck.java`; `run.sh HOST PORT
//! [CHECK...]` compiles and runs them against a running server, printing
//! `PASS`/`FAIL <check>: <the driver's error>` for each. Needs a JDK and
//! Debian's `libpostgresql-jdbc-java` (`/usr/share/java/postgresql.jar`):
//! installed with apt-get when missing and running as root; otherwise the
//! test is skipped, except under CI where it fails.

use std::path::Path;
use std::process::{Command, Stdio};

use crate::server;

const DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/clients/java");
const JAR: &str = "/usr/share/java/postgresql.jar";

/// Whether `cmd -version` runs.
fn runs(cmd: &str) -> bool {
    Command::new(cmd)
        .arg("-version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .map(|s| s.success())
        .unwrap_or(false)
}

fn java_ready() -> bool {
    runs("java") && runs("javac") && Path::new(JAR).is_file()
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

/// Makes sure a JDK and pgjdbc are installed (apt-get, as root); returns
/// false (or, under CI, panics) when they cannot be had.
fn java_and_pgjdbc() -> bool {
    if !java_ready() && is_root() {
        let install = || {
            Command::new("apt-get")
                .args([
                    "install",
                    "-y",
                    "-qq",
                    "default-jdk-headless",
                    "libpostgresql-jdbc-java",
                ])
                .env("DEBIAN_FRONTEND", "noninteractive")
                .stdout(Stdio::null())
                .status()
                .map(|s| s.success())
                .unwrap_or(false)
        };
        if !install() {
            let _ = Command::new("apt-get")
                .args(["update", "-qq"])
                .stdout(Stdio::null())
                .status();
            install();
        }
    }
    if java_ready() {
        return true;
    }
    let msg = format!(
        "java, javac or {JAR} is missing: apt-get install default-jdk-headless libpostgresql-jdbc-java"
    );
    assert!(
        std::env::var("CI").as_deref() != Ok("true"),
        "{msg} (CI must run this test)"
    );
    eprintln!("skipping: {msg}");
    false
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
