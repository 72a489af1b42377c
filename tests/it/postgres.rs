//! A throwaway PostgreSQL 15 for differential tests: OKO and PostgreSQL run
//! the same statements on the same rows.
//!
//! Debian's `postgresql-15` (installed by `.ci/run`); the server runs from a
//! temporary folder, listening on a Unix socket there only, as the
//! `postgres` system user when the tests run as root (PostgreSQL refuses
//! to run as root). Stopped when dropped.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = "/usr/lib/postgresql/15/bin";

/// A running PostgreSQL 15.
pub struct Postgres {
    child: Child,
    /// Holds the data folder and the socket.
    _dir: tempfile::TempDir,
    socket: PathBuf,
}

impl Drop for Postgres {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs `program` as the user PostgreSQL accepts (`postgres` under root).
fn as_owner(program: &str) -> Command {
    let root = Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0");
    if root {
        let mut c = Command::new("runuser");
        c.args(["-u", "postgres", "--", program]);
        c
    } else {
        Command::new(program)
    }
}

impl Postgres {
    /// Starts one, or returns `None` (saying so) when PostgreSQL 15 is not
    /// installed; under CI (`CI=true`) a missing one fails the test.
    pub fn start() -> Option<Postgres> {
        let postgres = format!("{BIN}/postgres");
        if !crate::common::require_tool(crate::common::Tool::File(&postgres)) {
            return None;
        }
        let dir = tempfile::Builder::new()
            .prefix("oko-pg")
            .tempdir()
            .expect("a temporary folder");
        let data = dir.path().join("data");
        // The server's user must own its folder.
        let _ = Command::new("chown")
            .args(["-R", "postgres:postgres", &dir.path().display().to_string()])
            .status();
        let init = as_owner(&format!("{BIN}/initdb"))
            .args([
                "-D",
                &data.display().to_string(),
                "-A",
                "trust",
                "-U",
                "oko",
            ])
            .args(["--no-sync", "-E", "UTF8", "--locale", "C.UTF-8"])
            .stdout(Stdio::null())
            .output()
            .expect("initdb runs");
        assert!(
            init.status.success(),
            "initdb failed: {}",
            String::from_utf8_lossy(&init.stderr)
        );
        let child = as_owner(&postgres)
            .args(["-D", &data.display().to_string()])
            .args(["-k", &dir.path().display().to_string()])
            .args(["-c", "listen_addresses=", "-c", "fsync=off", "-p", "5432"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("postgres starts");
        let socket = dir.path().to_path_buf();
        let pg = Postgres {
            child,
            _dir: dir,
            socket,
        };
        let started = Instant::now();
        while !pg.socket.join(".s.PGSQL.5432").exists() {
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "PostgreSQL did not start"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        Some(pg)
    }

    /// The folder of its Unix socket, for clients that speak the protocol
    /// themselves (the differential test reads type OIDs tokio-postgres hides).
    pub fn socket_dir(&self) -> &std::path::Path {
        &self.socket
    }

    /// A connection to its `postgres` database as `oko`.
    pub async fn connect(&self) -> tokio_postgres::Client {
        let started = Instant::now();
        loop {
            let conf = format!(
                "host={} port=5432 user=oko dbname=postgres",
                self.socket.display()
            );
            match tokio_postgres::connect(&conf, tokio_postgres::NoTls).await {
                Ok((client, conn)) => {
                    tokio::spawn(conn);
                    return client;
                }
                Err(e) if started.elapsed() < Duration::from_secs(30) => {
                    let _ = e;
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                Err(e) => panic!("cannot connect to PostgreSQL: {e}"),
            }
        }
    }
}
