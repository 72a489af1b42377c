//! Bad input on the wire: malformed and truncated messages, invalid UTF-8,
//! enormous and deeply nested queries, oversized parameters, clients that
//! vanish mid-result, and a seeded protocol fuzzer. After each, the server
//! is alive and another session works. Inputs that ever broke the server are
//! kept in `tests/fuzz/crashes/` and replayed first.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::time::{Duration, Instant};

use crate::server::{Server, spawn};

/// A frontend message: type byte, length, body.
fn msg(kind: u8, body: &[u8]) -> Vec<u8> {
    let mut m = vec![kind];
    m.extend_from_slice(&((body.len() + 4) as i32).to_be_bytes());
    m.extend_from_slice(body);
    m
}

fn startup(user: &str) -> Vec<u8> {
    let mut body = Vec::new();
    body.extend_from_slice(&196608i32.to_be_bytes());
    for (k, v) in [("user", user), ("database", "oko")] {
        body.extend_from_slice(k.as_bytes());
        body.push(0);
        body.extend_from_slice(v.as_bytes());
        body.push(0);
    }
    body.push(0);
    let mut m = ((body.len() + 4) as i32).to_be_bytes().to_vec();
    m.extend_from_slice(&body);
    m
}

fn query(sql: &[u8]) -> Vec<u8> {
    let mut body = sql.to_vec();
    body.push(0);
    msg(b'Q', &body)
}

/// Sends bytes on a fresh, logged-in connection (or raw, before startup)
/// and reads what comes back until the server closes, goes quiet, or
/// `limit` bytes arrived.
fn exchange(port: u16, login: bool, bytes: &[u8], limit: usize) -> Vec<u8> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(Duration::from_millis(1500)))
        .unwrap();
    let mut got = Vec::new();
    if login {
        s.write_all(&startup("fuzz")).unwrap();
        read_until_ready(&mut s, &mut got);
    }
    let _ = s.write_all(bytes);
    let mut buf = [0u8; 65536];
    let logged_in = got.len();
    let started = Instant::now();
    // A query is answered when a ReadyForQuery follows it (planning a long
    // one takes seconds in a debug build); other input gets a quiet spell.
    let answerable = login && bytes.first() == Some(&b'Q');
    while got.len() < limit {
        match s.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => got.extend_from_slice(&buf[..n]),
            Err(_) if answerable && started.elapsed() < Duration::from_secs(60) => {}
            Err(_) => break,
        }
        if answerable && got[logged_in..].ends_with(&[b'Z', 0, 0, 0, 5, b'I']) {
            break;
        }
    }
    got
}

fn read_until_ready(s: &mut TcpStream, got: &mut Vec<u8>) {
    let mut buf = [0u8; 4096];
    let started = Instant::now();
    while !got.windows(6).any(|w| w == [b'Z', 0, 0, 0, 5, b'I']) {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "no ReadyForQuery"
        );
        match s.read(&mut buf) {
            Ok(0) => panic!("closed during login"),
            Ok(n) => got.extend_from_slice(&buf[..n]),
            Err(_) => {}
        }
    }
}

/// The SQLSTATEs of the ErrorResponses in a byte stream.
fn sqlstates(bytes: &[u8]) -> Vec<String> {
    let mut out = Vec::new();
    let mut i = 0;
    while i + 5 <= bytes.len() {
        let len = i32::from_be_bytes([bytes[i + 1], bytes[i + 2], bytes[i + 3], bytes[i + 4]]);
        let end = (i + 1 + len.max(4) as usize).min(bytes.len());
        if bytes[i] == b'E' {
            for field in bytes[i + 5..end].split(|b| *b == 0) {
                if let Some(code) = field.strip_prefix(b"C") {
                    out.push(String::from_utf8_lossy(code).into_owned());
                }
            }
        }
        i = end.max(i + 1);
    }
    out
}

/// The server answers `SELECT 1` on a new connection.
fn alive(server: &mut Server) {
    let got = exchange(server.port, true, &query(b"SELECT 1"), 1 << 20);
    assert!(
        got.windows(6).any(|w| w == [b'Z', 0, 0, 0, 5, b'I']),
        "the server did not answer a healthy query: {:?}",
        String::from_utf8_lossy(&got)
    );
    assert!(server.is_running(), "the server process exited");
}

#[test]
fn hostile_messages_get_errors_and_the_server_stays_up() {
    let mut server = spawn(&["--demo"]);
    let port = server.port;
    // A session that stays open throughout, untouched by the others.
    let mut bystander = TcpStream::connect(("127.0.0.1", port)).unwrap();
    bystander
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    bystander.write_all(&startup("bystander")).unwrap();
    read_until_ready(&mut bystander, &mut Vec::new());

    let deep = format!("SELECT {}1{}", "(".repeat(5000), ")".repeat(5000));
    let long_chain = format!("SELECT 1{}", "+1".repeat(500_000));
    let near_limit = format!("SELECT 1{}", "+1".repeat(1_900));
    let or_chain = format!(
        "SELECT count(*) FROM leads WHERE {}",
        (0..900)
            .map(|i| format!("lead_id = 'x{i}'"))
            .collect::<Vec<_>>()
            .join(" OR ")
    );
    let wide_in = format!(
        "SELECT count(*) FROM leads WHERE lead_id IN ({})",
        (0..20_000)
            .map(|i| format!("'x{i}'"))
            .collect::<Vec<_>>()
            .join(",")
    );
    let nested_case = format!(
        "SELECT {} 1 {}",
        "CASE WHEN true THEN ".repeat(3000),
        " END".repeat(3000)
    );
    let huge = format!("SELECT '{}'", "x".repeat(8 << 20));
    let cases: Vec<(&str, Vec<u8>, bool, &[&str])> = vec![
        (
            "invalid UTF-8",
            query(b"SELECT '\xff\xfe'"),
            true,
            &["22021"],
        ),
        (
            "deep parentheses",
            query(deep.as_bytes()),
            true,
            &["42601", "54001"],
        ),
        (
            "long operator chain",
            query(long_chain.as_bytes()),
            true,
            &["54001"],
        ),
        (
            "chain just under the limit",
            query(near_limit.as_bytes()),
            true,
            &[],
        ),
        (
            "OR chain under the limit",
            query(or_chain.as_bytes()),
            true,
            &[],
        ),
        ("nested CASE", query(nested_case.as_bytes()), true, &["*"]),
        ("20k-item IN list", query(wide_in.as_bytes()), true, &[]),
        ("8 MiB query", query(huge.as_bytes()), true, &[]),
        (
            "unknown message type",
            msg(b'@', b"hello"),
            true,
            &["08P01"],
        ),
        (
            "negative length",
            vec![b'Q', 0xff, 0xff, 0xff, 0xf0, b'x'],
            true,
            &["08P01"],
        ),
        (
            "1 GiB declared length",
            vec![b'Q', 0x3f, 0xff, 0xff, 0x00, b'x'],
            true,
            &["54000"],
        ),
        (
            "truncated message",
            msg(b'Q', b"SELECT 1")[..7].to_vec(),
            true,
            &[],
        ),
        (
            "garbage before startup",
            b"GET / HTTP/1.1\r\n\r\n".to_vec(),
            false,
            &["08P01"],
        ),
        (
            "startup with 2 GiB length",
            vec![0x7f, 0xff, 0xff, 0xff, 0, 3, 0, 0],
            false,
            &["08P01"],
        ),
        (
            "bind before parse",
            msg(b'B', b"\0nope\0\0\0\0\0\0\0"),
            true,
            &[],
        ),
        (
            "parse with 65535 parameter types",
            {
                let mut b = b"\0SELECT $1\0".to_vec();
                b.extend_from_slice(&u16::MAX.to_be_bytes());
                b.extend(std::iter::repeat_n([0u8, 0, 0, 25], 65535).flatten());
                msg(b'P', &b)
            },
            true,
            &[],
        ),
        (
            "bind with a parameter longer than its message",
            {
                let mut p = msg(b'P', b"\0SELECT $1::text\0\0\0");
                let mut b = b"\0\0".to_vec();
                b.extend_from_slice(&0u16.to_be_bytes());
                b.extend_from_slice(&1u16.to_be_bytes());
                b.extend_from_slice(&(64i32 << 20).to_be_bytes());
                b.extend_from_slice(b"short");
                p.extend(msg(b'B', &b));
                p.extend(msg(b'S', b""));
                p
            },
            true,
            &["08P01"],
        ),
        (
            "bind with a 4 MiB text parameter",
            {
                let mut p = msg(b'P', b"\0SELECT length($1::text)\0\0\0");
                let value = vec![b'y'; 4 << 20];
                let mut b = b"\0\0".to_vec();
                b.extend_from_slice(&0u16.to_be_bytes());
                b.extend_from_slice(&1u16.to_be_bytes());
                b.extend_from_slice(&(value.len() as i32).to_be_bytes());
                b.extend_from_slice(&value);
                b.extend_from_slice(&0u16.to_be_bytes());
                p.extend(msg(b'B', &b));
                p.extend(msg(b'E', b"\0\0\0\0\0"));
                p.extend(msg(b'S', b""));
                p
            },
            true,
            &[],
        ),
    ];
    let mut tried = 0;
    for (what, bytes, login, codes) in &cases {
        let got = exchange(port, *login, bytes, 64 << 20);
        let states = sqlstates(&got);
        eprintln!("{what}: {states:?} ({} bytes back)", got.len());
        if codes == &["*"] {
            assert!(!states.is_empty(), "{what}: no error");
        } else if !codes.is_empty() {
            assert!(
                states.iter().any(|s| codes.contains(&s.as_str())),
                "{what}: expected one of {codes:?}, got {states:?}"
            );
        }
        alive(&mut server);
        tried += 1;
    }
    // A client that vanishes in the middle of a large result.
    for _ in 0..3 {
        let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
        s.write_all(&startup("quitter")).unwrap();
        read_until_ready(&mut s, &mut Vec::new());
        s.write_all(&query(
            b"SELECT * FROM leads a CROSS JOIN (SELECT 1 FROM leads LIMIT 200) b",
        ))
        .unwrap();
        let mut buf = [0u8; 1024];
        let _ = s.read(&mut buf);
        drop(s);
        tried += 1;
    }
    alive(&mut server);
    // The bystander's session still works.
    bystander.write_all(&query(b"SELECT 42")).unwrap();
    let mut got = Vec::new();
    read_until_ready(&mut bystander, &mut got);
    assert!(String::from_utf8_lossy(&got).contains("42"));
    eprintln!("hostile inputs tried: {tried}; server up, bystander unaffected");
}

/// xorshift64*: the fuzzer's inputs are the same on every run.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

/// Valid message sequences the fuzzer mutates.
fn seeds() -> Vec<Vec<u8>> {
    let mut extended = msg(b'P', b"s1\0SELECT $1::int + 1\0\0\x01\0\0\0\x17");
    extended.extend(msg(b'B', b"p1\0s1\0\0\0\0\x01\0\0\0\x0142\0\0"));
    extended.extend(msg(b'D', b"Pp1\0"));
    extended.extend(msg(b'E', b"p1\0\0\0\0\0"));
    extended.extend(msg(b'S', b""));
    vec![
        query(b"SELECT tenant, count(*) FROM leads GROUP BY 1"),
        query(b"BEGIN; DECLARE c CURSOR FOR SELECT * FROM ratings; FETCH 5 FROM c; COMMIT"),
        query(b"SET statement_timeout = '1s'; SHOW statement_timeout"),
        query(b"SELECT * FROM manager_report('2026-01-01', '2026-02-01')"),
        extended,
        msg(b'X', b""),
    ]
}

fn mutate(rng: &mut Rng, input: &[u8]) -> Vec<u8> {
    let mut out = input.to_vec();
    for _ in 0..=rng.below(4) {
        if out.is_empty() {
            out.push(rng.next() as u8);
            continue;
        }
        let at = rng.below(out.len());
        match rng.below(6) {
            0 => out[at] ^= 1 << rng.below(8),
            1 => out[at] = rng.next() as u8,
            2 => out.truncate(at),
            3 => {
                let n = rng.below(16) + 1;
                let junk: Vec<u8> = (0..n).map(|_| rng.next() as u8).collect();
                out.splice(at..at, junk);
            }
            4 => {
                // A length field set to something odd.
                let v = [0u32, 3, 4, 0x7fff_ffff, 0xffff_ffff, rng.next() as u32][rng.below(6)];
                let end = (at + 4).min(out.len());
                out.splice(at..end, v.to_be_bytes());
            }
            _ => {
                let from = rng.below(out.len());
                let piece = out[from..(from + rng.below(32)).min(out.len())].to_vec();
                out.splice(at..at, piece);
            }
        }
    }
    out
}

#[test]
fn protocol_fuzzer_never_takes_the_server_down() {
    let crashes = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fuzz/crashes");
    let mut server = spawn(&["--demo"]);
    // Inputs that once broke the server come first.
    let mut corpus: Vec<Vec<u8>> = std::fs::read_dir(&crashes)
        .map(|d| {
            d.flatten()
                .filter_map(|e| std::fs::read(e.path()).ok())
                .collect()
        })
        .unwrap_or_default();
    let known = corpus.len();
    let mut rng = Rng(0x0c0f_fee0_dead_beef);
    let seeds = seeds();
    let rounds: usize = std::env::var("OKO_FUZZ_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(300);
    for _ in 0..rounds {
        let seed = &seeds[rng.below(seeds.len())];
        corpus.push(mutate(&mut rng, seed));
    }
    for (i, input) in corpus.iter().enumerate() {
        let mut s = TcpStream::connect(("127.0.0.1", server.port)).unwrap();
        s.set_read_timeout(Some(Duration::from_millis(300)))
            .unwrap();
        s.write_all(&startup("fuzz")).unwrap();
        read_until_ready(&mut s, &mut Vec::new());
        let _ = s.write_all(input);
        let mut buf = [0u8; 65536];
        let started = Instant::now();
        while started.elapsed() < Duration::from_secs(2) {
            match s.read(&mut buf) {
                Ok(0) => break,
                Ok(_) => {}
                Err(_) => break,
            }
        }
        drop(s);
        if !server.is_running() {
            let _ = std::fs::create_dir_all(&crashes);
            let path = crashes.join(format!("crash-{i:04}.bin"));
            std::fs::write(&path, input).unwrap();
            panic!("input {i} took the server down; kept in {}", path.display());
        }
        if i % 50 == 0 {
            alive(&mut server);
        }
    }
    alive(&mut server);
    eprintln!(
        "protocol fuzzer: {} inputs ({known} from the crash corpus), server up",
        corpus.len()
    );
}
