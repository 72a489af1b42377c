//! Helpers shared by the integration tests.

use std::path::Path;
use std::process::{Command, Output};

/// The `oko` binary under test.
pub fn oko() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_oko"));
    c.env_remove("OKO_STORE")
        .env_remove("OKO_CONFIG")
        .env("OKO_LOG", "warn,buoyant_kernel=off");
    c
}

/// Runs `oko` with `args`, asserting success; returns stdout.
pub fn ok(store: &str, args: &[&str]) -> String {
    let out = run(store, args);
    assert!(
        out.status.success(),
        "oko {args:?} failed:\nstdout: {}\nstderr: {}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Runs `oko` with `args` against `store`.
pub fn run(store: &str, args: &[&str]) -> Output {
    oko()
        .arg("--store")
        .arg(store)
        .args(args)
        .output()
        .expect("oko runs")
}

/// Runs a query and returns its rows as CSV records (header dropped).
pub fn query(store: &str, sql: &str) -> Vec<Vec<String>> {
    let text = ok(store, &["query", "--format", "csv", sql]);
    let mut r = csv::ReaderBuilder::new()
        .has_headers(true)
        .from_reader(text.as_bytes());
    r.records()
        .map(|rec| rec.expect("csv").iter().map(str::to_string).collect())
        .collect()
}

/// A single number from a query.
pub fn count(store: &str, sql: &str) -> u64 {
    let rows = query(store, sql);
    rows[0][0].parse().expect("a number")
}

/// Number of data records in a CSV file.
pub fn csv_records(path: &Path) -> u64 {
    let mut r = csv::Reader::from_path(path).expect("csv file");
    r.byte_records().count() as u64
}

/// The tables, in load order.
pub const TABLES: [&str; 8] = [
    "tenants",
    "managers",
    "leads",
    "rating_requests",
    "ratings",
    "rating_moderations",
    "lead_notes",
    "manual_stats",
];

/// Checks a client suite's `PASS name` / `FAIL name: …` lines: every check
/// passes except `known_gaps`, which must still fail (so the list stays
/// true). `what` names the suite in the message.
pub fn assert_checks(what: &str, stdout: &str, stderr: &str, known_gaps: &[&str]) {
    let checks = |word: &str| -> Vec<String> {
        stdout
            .lines()
            .filter_map(|l| l.strip_prefix(word))
            .map(|rest| {
                rest.split([':', ' '])
                    .next()
                    .unwrap_or_default()
                    .to_string()
            })
            .collect()
    };
    let (passed, failed) = (checks("PASS "), checks("FAIL "));
    assert!(
        !passed.is_empty(),
        "{what} ran no check:\n{stdout}\n{stderr}"
    );
    let unexpected: Vec<&String> = failed
        .iter()
        .filter(|f| !known_gaps.contains(&f.as_str()))
        .collect();
    let fixed: Vec<&&str> = known_gaps
        .iter()
        .filter(|g| passed.iter().any(|p| p == *g))
        .collect();
    assert!(
        unexpected.is_empty() && fixed.is_empty(),
        "{what}: failing and not a known gap: {unexpected:?}; \
         known gaps that pass now (take them off the list): {fixed:?}\n{stdout}\n{stderr}"
    );
}

/// Something from outside Rust a test drives. `tests/setup.sh` installs
/// all of them (`.ci/run` calls it); tests never install anything.
#[derive(Debug, Clone, Copy)]
pub enum Tool<'a> {
    /// A program on the `PATH` (`psql`, `openssl`, `java`, …).
    Program(&'a str),
    /// A Python module from `tests/requirements.txt` (`duckdb`, `moto.server`).
    Python(&'a str),
    /// A file another package installs (pgjdbc's jar, PostgreSQL's server).
    File(&'a str),
}

/// Whether `tool` is here. Under CI (`CI=true`) a missing one fails the
/// test — CI must run every test; elsewhere the test says what it skips
/// and why, and the caller returns.
pub fn require_tool(tool: Tool) -> bool {
    use std::process::{Command, Stdio};
    let quiet = |c: &mut Command| {
        c.stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    };
    let (found, what) = match tool {
        // Any answer to `--version` will do: the program runs.
        Tool::Program(p) => (
            Command::new(p).arg("--version").output().is_ok()
                || Command::new(p).arg("-version").output().is_ok(),
            format!("the program {p}"),
        ),
        Tool::Python(m) => (
            quiet(Command::new("python3").args(["-c", &format!("import {m}")])),
            format!("the Python module {m}"),
        ),
        Tool::File(f) => (Path::new(f).exists(), f.to_string()),
    };
    if !found {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "{what} is missing in CI (tests/setup.sh installs it)"
        );
        eprintln!("skipping: {what} is missing (bash tests/setup.sh installs it)");
    }
    found
}

/// A config file with `[server]` lines and one user per `(name, role,
/// tenant)`, each with the password `<name>-pw`.
pub fn users_config(
    dir: &Path,
    server: &str,
    users: &[(&str, &str, Option<&str>)],
) -> std::path::PathBuf {
    let mut text = format!("[server]\n{server}\n");
    for (name, role, tenant) in users {
        let verifier = oko::auth::Verifier::new(&format!("{name}-pw")).expect("a verifier");
        text.push_str(&format!(
            "\n[[users]]\nname = \"{name}\"\nrole = \"{role}\"\npassword = \"{verifier}\"\n"
        ));
        if let Some(t) = tenant {
            text.push_str(&format!("tenant = \"{t}\"\n"));
        }
    }
    let path = dir.join("oko.toml");
    std::fs::write(&path, text).expect("the config is written");
    path
}

/// Logs in as `user` with the password [`users_config`] gave it.
pub async fn login_as(port: u16, user: &str) -> tokio_postgres::Client {
    let (client, conn) = tokio_postgres::connect(
        &format!("host=127.0.0.1 port={port} user={user} password='{user}-pw' dbname=oko"),
        tokio_postgres::NoTls,
    )
    .await
    .unwrap_or_else(|e| panic!("{user} cannot log in: {e}"));
    tokio::spawn(conn);
    client
}

/// The SQLSTATE of a failed statement.
pub fn sqlstate(e: &tokio_postgres::Error) -> String {
    e.code()
        .map(|c| c.code().to_string())
        .unwrap_or_else(|| format!("no code: {e}"))
}

/// Every value of every row a simple query answers, as text.
pub async fn text_values(
    c: &tokio_postgres::Client,
    sql: &str,
) -> Result<Vec<String>, tokio_postgres::Error> {
    let mut out = Vec::new();
    for m in c.simple_query(sql).await? {
        if let tokio_postgres::SimpleQueryMessage::Row(row) = m {
            for i in 0..row.len() {
                out.push(row.get(i).unwrap_or("").to_string());
            }
        }
    }
    Ok(out)
}

/// A protocol 3.0 startup message with these parameters.
pub fn startup_packet(params: &[(&str, &str)]) -> Vec<u8> {
    let mut body = 196608i32.to_be_bytes().to_vec();
    for (k, v) in params {
        body.extend_from_slice(k.as_bytes());
        body.push(0);
        body.extend_from_slice(v.as_bytes());
        body.push(0);
    }
    body.push(0);
    let mut packet = ((body.len() + 4) as i32).to_be_bytes().to_vec();
    packet.extend_from_slice(&body);
    packet
}

/// Resident memory of a process, in MiB (0 when it cannot be read).
pub fn rss_mib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|kb| kb.parse::<u64>().ok())
        .map_or(0, |kb| kb / 1024)
}

/// The body of the one HTTP request a test webhook reads from `socket`
/// (`None` when the client closes before sending it whole).
pub async fn read_http_body(socket: &mut tokio::net::TcpStream) -> Option<Vec<u8>> {
    use tokio::io::AsyncReadExt;
    let mut buf = Vec::new();
    loop {
        let mut chunk = [0u8; 4096];
        let n = socket.read(&mut chunk).await.unwrap_or(0);
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
        let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") else {
            continue;
        };
        let head = String::from_utf8_lossy(&buf[..end]).to_lowercase();
        let length: usize = head
            .lines()
            .find_map(|l| l.strip_prefix("content-length:"))
            .map_or(0, |v| v.trim().parse().unwrap());
        if buf.len() >= end + 4 + length {
            return Some(buf[end + 4..end + 4 + length].to_vec());
        }
    }
}
