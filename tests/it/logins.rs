//! Login limits under attack: attempts are counted when made, per user
//! and address; a success forgets only its own user's failures; admins
//! keep places when others hold every open one; a client that does not
//! log in in time is cut off.

use std::io::{Read, Write};
use std::path::Path;
use std::time::{Duration, Instant};

use crate::common::{login_as, sqlstate, startup_packet, users_config};
use crate::server::{Server, start};

const USERS: [(&str, &str, Option<&str>); 3] = [
    ("admin", "admin", None),
    ("viewer", "viewer", None),
    ("other", "viewer", None),
];

fn server(dir: &Path, settings: &str) -> Server {
    let cfg = users_config(dir, settings, &USERS);
    start(&["--demo", "--config", &cfg.display().to_string()])
}

async fn try_login(port: u16, user: &str, password: &str) -> Result<(), String> {
    match tokio_postgres::connect(
        &format!("host=127.0.0.1 port={port} user={user} password='{password}' dbname=oko"),
        tokio_postgres::NoTls,
    )
    .await
    {
        Ok((client, conn)) => {
            tokio::spawn(conn);
            client
                .simple_query("SELECT 1")
                .await
                .map_err(|e| sqlstate(&e))?;
            Ok(())
        }
        Err(e) => Err(sqlstate(&e)),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn parallel_guesses_are_counted_when_they_are_made() {
    let dir = tempfile::tempdir().unwrap();
    let server = server(dir.path(), "max_failed_logins = 3");
    let port = server.port;
    let guesses: Vec<_> = (0..20)
        .map(|i| tokio::spawn(async move { try_login(port, "viewer", &format!("guess{i}")).await }))
        .collect();
    let mut checked = 0;
    for g in guesses {
        match g.await.unwrap() {
            Err(code) if code == "28P01" => checked += 1,
            Err(code) => assert_eq!(code, "28000"),
            Ok(()) => panic!("a wrong password logged in"),
        }
    }
    assert!(checked <= 3, "{checked} guesses were checked");
    assert_eq!(
        try_login(port, "viewer", "viewer-pw").await,
        Err("28000".into()),
        "the user is locked out from this address"
    );
    // Another user at the same address is not.
    assert_eq!(try_login(port, "other", "other-pw").await, Ok(()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_success_forgets_only_its_own_users_failures() {
    let dir = tempfile::tempdir().unwrap();
    let server = server(dir.path(), "max_failed_logins = 3");
    let port = server.port;
    for _ in 0..2 {
        assert_eq!(try_login(port, "other", "x").await, Err("28P01".into()));
    }
    // viewer logs in from the same address: other's count stays.
    assert_eq!(try_login(port, "viewer", "viewer-pw").await, Ok(()));
    assert_eq!(try_login(port, "other", "x").await, Err("28P01".into()));
    assert_eq!(
        try_login(port, "other", "other-pw").await,
        Err("28000".into())
    );
    // A user's own success does reset its count.
    for _ in 0..2 {
        assert_eq!(try_login(port, "viewer", "x").await, Err("28P01".into()));
    }
    assert_eq!(try_login(port, "viewer", "viewer-pw").await, Ok(()));
    for _ in 0..2 {
        assert_eq!(try_login(port, "viewer", "x").await, Err("28P01".into()));
    }
    assert_eq!(try_login(port, "viewer", "viewer-pw").await, Ok(()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admins_keep_places_when_silent_sockets_hold_the_others() {
    let dir = tempfile::tempdir().unwrap();
    let server = server(
        dir.path(),
        "max_connections = 4\nreserved_admin_connections = 2\nauthentication_timeout_s = 30",
    );
    let port = server.port;
    // Two clients that start up and then never answer the password
    // request take the two open places.
    let silent: Vec<_> = (0..2)
        .map(|_| {
            let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
            s.write_all(&startup_packet(&[("user", "viewer"), ("database", "oko")]))
                .unwrap();
            s
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        try_login(port, "viewer", "viewer-pw").await,
        Err("53300".into()),
        "a viewer gets no reserved place"
    );
    let admin = login_as(port, "admin").await;
    assert_eq!(
        admin
            .query_one("SELECT count(*) FROM tenants", &[])
            .await
            .unwrap()
            .get::<_, i64>(0),
        3
    );
    drop(silent);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_does_not_log_in_in_time_is_cut_off() {
    let dir = tempfile::tempdir().unwrap();
    let server = server(
        dir.path(),
        "max_connections = 2\nreserved_admin_connections = 0\nauthentication_timeout_s = 1",
    );
    let port = server.port;
    let mut silent = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    silent
        .set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    let started = Instant::now();
    let mut buf = [0u8; 64];
    // The server closes it: the read ends (0 bytes, or a reset).
    let _ = silent.read(&mut buf);
    let took = started.elapsed();
    assert!(took < Duration::from_secs(10), "still open after {took:?}");
    // Its place is free again: two logins fit.
    let a = login_as(port, "viewer").await;
    let b = login_as(port, "other").await;
    for c in [a, b] {
        c.simple_query("SELECT 1").await.unwrap();
    }
}
