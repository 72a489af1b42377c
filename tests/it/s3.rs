//! The round trip against a real S3-compatible server on 127.0.0.1
//! (moto_server from PyPI, started here; `tests/setup.sh` installs it).
//! Under CI (`CI=true`) this test must run, never skip.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::common::*;

/// A moto_server on loopback, stopped on drop.
pub struct Moto {
    child: Child,
    pub port: u16,
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Starts moto_server on a free port (`None`: it is not installed and this
/// is not CI).
pub fn start_moto() -> Option<Moto> {
    if !require_tool(Tool::Python("moto.server")) {
        return None;
    }
    let port = free_port();
    let child = Command::new("python3")
        .args([
            "-m",
            "moto.server",
            "-H",
            "127.0.0.1",
            "-p",
            &port.to_string(),
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("moto_server starts");
    let moto = Moto { child, port };
    let deadline = Instant::now() + Duration::from_secs(30);
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "moto_server did not start");
        std::thread::sleep(Duration::from_millis(100));
    }
    Some(moto)
}

/// Creates a bucket with a plain HTTP PUT (moto does not check signatures).
pub fn create_bucket(port: u16, bucket: &str) {
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    write!(
        s,
        "PUT /{bucket} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut reply = String::new();
    s.read_to_string(&mut reply).unwrap();
    assert!(
        reply.starts_with("HTTP/1.1 200"),
        "bucket not created: {reply}"
    );
}

#[test]
fn round_trip_on_an_s3_compatible_server() {
    let Some(moto) = start_moto() else { return };
    create_bucket(moto.port, "oko-test");
    let dir = tempfile::tempdir().unwrap();
    let exports = dir.path().join("exports");
    ok(
        "unused",
        &[
            "generate",
            "--out",
            &exports.display().to_string(),
            "--leads",
            "20000",
        ],
    );
    let files: Vec<String> = TABLES
        .iter()
        .map(|t| exports.join(format!("{t}.csv")).display().to_string())
        .collect();
    let store = "s3://oko-test/tenants-data";
    let endpoint = format!("http://127.0.0.1:{}", moto.port);
    let s3 = |args: &[&str]| {
        let out = oko()
            .arg("--store")
            .arg(store)
            .env("OKO_S3_ENDPOINT", &endpoint)
            .env("OKO_S3_REGION", "us-east-1")
            .env("OKO_S3_ACCESS_KEY_ID", "test")
            .env("OKO_S3_SECRET_ACCESS_KEY", "test")
            .args(args)
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        assert!(
            out.status.success(),
            "oko {args:?} failed: {stdout}\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        stdout
    };
    let mut load = vec!["load"];
    load.extend(files.iter().map(String::as_str));
    s3(&load);
    let counts = |s3: &dyn Fn(&[&str]) -> String| -> Vec<u64> {
        TABLES
            .iter()
            .map(|t| {
                let out = s3(&[
                    "query",
                    "--format",
                    "csv",
                    &format!("SELECT count(*) FROM {t}"),
                ]);
                out.lines().nth(1).unwrap().trim().parse().unwrap()
            })
            .collect()
    };
    let expected: Vec<u64> = TABLES
        .iter()
        .map(|t| csv_records(&exports.join(format!("{t}.csv"))))
        .collect();
    assert_eq!(counts(&s3), expected);
    let again = s3(&load);
    assert!(
        again.contains("leads: read 20000 rows, loaded 0"),
        "{again}"
    );
    assert_eq!(counts(&s3), expected);
}
