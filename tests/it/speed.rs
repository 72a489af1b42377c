//! Speed without other answers: the checkout pings answered without
//! planning send the same bytes as the planned path; sessions copied from
//! one template keep their own settings and statements; the result cache
//! recomputes after every commit and never crosses users or tenants.
//! (No timings are asserted here: `benches/cheap.py` measures.)

use std::io::{Read, Write};
use std::net::TcpStream;

use crate::common::*;
use crate::server::start;

/// A raw protocol client (the demo server trusts local connections).
struct Raw(TcpStream);

impl Raw {
    fn connect(port: u16) -> Raw {
        let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
        s.write_all(&startup_packet(&[("user", "viewer"), ("database", "oko")]))
            .unwrap();
        let mut raw = Raw(s);
        let greeting = raw.until_ready();
        assert!(greeting.iter().any(|(t, _)| *t == b'R'), "authenticated");
        raw
    }

    fn send(&mut self, kind: u8, body: &[u8]) {
        let mut m = vec![kind];
        m.extend_from_slice(&((body.len() + 4) as i32).to_be_bytes());
        m.extend_from_slice(body);
        self.0.write_all(&m).unwrap();
    }

    /// Messages up to and including `ReadyForQuery`.
    fn until_ready(&mut self) -> Vec<(u8, Vec<u8>)> {
        let mut out = Vec::new();
        loop {
            let mut head = [0u8; 5];
            self.0.read_exact(&mut head).unwrap();
            let len = i32::from_be_bytes([head[1], head[2], head[3], head[4]]) as usize;
            let mut body = vec![0u8; len - 4];
            self.0.read_exact(&mut body).unwrap();
            let kind = head[0];
            out.push((kind, body));
            if kind == b'Z' {
                return out;
            }
        }
    }

    fn simple(&mut self, sql: &str) -> Vec<(u8, Vec<u8>)> {
        let mut body = sql.as_bytes().to_vec();
        body.push(0);
        self.send(b'Q', &body);
        self.until_ready()
    }

    /// Parse (named `name`), describe the statement, bind with every
    /// result column in `format` (0 text, 1 binary), describe the portal,
    /// execute, sync.
    fn extended(&mut self, name: &str, sql: &str, format: i16) -> Vec<(u8, Vec<u8>)> {
        let mut parse = cstr(name);
        parse.extend(cstr(sql));
        parse.extend_from_slice(&0i16.to_be_bytes());
        self.send(b'P', &parse);
        let mut describe = vec![b'S'];
        describe.extend(cstr(name));
        self.send(b'D', &describe);
        self.bind_execute(name, format);
        self.until_ready()
    }

    fn bind_execute(&mut self, name: &str, format: i16) {
        let mut bind = cstr("");
        bind.extend(cstr(name));
        bind.extend_from_slice(&0i16.to_be_bytes());
        bind.extend_from_slice(&0i16.to_be_bytes());
        bind.extend_from_slice(&1i16.to_be_bytes());
        bind.extend_from_slice(&format.to_be_bytes());
        self.send(b'B', &bind);
        self.send(b'D', b"P\0");
        let mut execute = cstr("");
        execute.extend_from_slice(&0i32.to_be_bytes());
        self.send(b'E', &execute);
        self.send(b'S', &[]);
    }
}

fn cstr(s: &str) -> Vec<u8> {
    let mut v = s.as_bytes().to_vec();
    v.push(0);
    v
}

fn kinds(messages: &[(u8, Vec<u8>)]) -> String {
    messages.iter().map(|(k, _)| *k as char).collect()
}

/// The statements drivers send on every checkout that the fast path
/// answers, in the spellings they use.
const PINGS: &[&str] = &[
    "SELECT 1",
    "select 1;",
    "SELECT version()",
    "select pg_catalog.version()",
    "SELECT current_schema()",
    "select current_schema",
];

#[test]
fn checkout_pings_answer_the_same_bytes_as_the_planned_path() {
    let server = start(&["--demo"]);
    let mut fast = Raw::connect(server.port);
    let mut planned = Raw::connect(server.port);
    for m in planned.simple("SET oko.fast_path = off; SET oko.result_cache = off") {
        assert_ne!(m.0, b'E', "the settings are taken");
    }
    for (i, sql) in PINGS.iter().enumerate() {
        let a = fast.simple(sql);
        let b = planned.simple(sql);
        assert_eq!(kinds(&a), "TDCZ", "{sql}: one row");
        assert_eq!(a, b, "{sql}: simple protocol");
        for format in [0i16, 1] {
            let name = format!("s{i}_{format}");
            let a = fast.extended(&name, sql, format);
            let b = planned.extended(&name, sql, format);
            assert_eq!(
                kinds(&a),
                "1tT2TDCZ",
                "{sql}: parse, describe, bind, execute"
            );
            assert_eq!(a, b, "{sql}: extended protocol, format {format}");
            // The prepared statement runs again (its plan only described).
            fast.bind_execute(&name, format);
            planned.bind_execute(&name, format);
            assert_eq!(fast.until_ready(), planned.until_ready(), "{sql}: again");
        }
    }
    // A changed search path: planned, still the same answer.
    for raw in [&mut fast, &mut planned] {
        raw.simple("SET search_path = public");
    }
    assert_eq!(
        fast.simple("SELECT current_schema()"),
        planned.simple("SELECT current_schema()")
    );
    // In a failed transaction block a ping is refused like any statement.
    for raw in [&mut fast, &mut planned] {
        raw.simple("BEGIN");
        raw.simple("SELECT no_such_column FROM leads");
    }
    let a = fast.simple("SELECT 1");
    assert_eq!(kinds(&a), "EZ");
    assert_eq!(a, planned.simple("SELECT 1"), "25P02 either way");
    assert_eq!(fast.simple("ROLLBACK"), planned.simple("ROLLBACK"));
    // A prepared statement belongs to the connection that prepared it.
    let mut parse = cstr("mine");
    parse.extend(cstr("SELECT 42"));
    parse.extend_from_slice(&0i16.to_be_bytes());
    fast.send(b'P', &parse);
    fast.send(b'S', &[]);
    assert_eq!(kinds(&fast.until_ready()), "1Z");
    planned.bind_execute("mine", 0);
    let refused = planned.until_ready();
    assert_eq!(
        refused[0].0, b'E',
        "another connection's statement is unknown"
    );
    fast.bind_execute("mine", 0);
    assert_eq!(kinds(&fast.until_ready()), "2TDCZ");
    // Empty queries and session statements were never planned; they still
    // answer as before.
    for sql in [
        ";",
        "",
        "-- ping",
        "SHOW transaction_isolation",
        "BEGIN",
        "COMMIT",
    ] {
        assert_eq!(fast.simple(sql), planned.simple(sql), "{sql}");
    }
    server.stop();
}

#[test]
fn sessions_keep_their_own_settings_statements_and_identity() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = users_config(
        dir.path(),
        "",
        &[("admin", "admin", None), ("viewer", "viewer", None)],
    );
    let server = start(&["--demo", "--config", &cfg.display().to_string()]);
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let a = login_as(server.port, "admin").await;
        let b = login_as(server.port, "viewer").await;
        a.batch_execute(
            "SET TimeZone = 'Asia/Tokyo'; SET myapp.flag = 'on'; SET search_path = pg_catalog",
        )
        .await
        .unwrap();
        assert_eq!(one(&a, "SHOW TimeZone").await, ["Asia/Tokyo"]);
        assert_eq!(one(&b, "SHOW TimeZone").await, ["UTC"]);
        assert_eq!(
            one(&a, "SELECT current_setting('myapp.flag', true) AS f").await,
            ["on"]
        );
        assert_eq!(
            one(
                &b,
                "SELECT coalesce(current_setting('myapp.flag', true), 'unset') AS f"
            )
            .await,
            ["unset"]
        );
        assert_eq!(one(&b, "SELECT current_schema()").await, ["public"]);
        assert_eq!(one(&a, "SELECT current_user").await, ["admin"]);
        assert_eq!(one(&b, "SELECT current_user").await, ["viewer"]);
        // A connection opened after the others changed theirs starts clean.
        let c = login_as(server.port, "viewer").await;
        assert_eq!(one(&c, "SHOW TimeZone").await, ["UTC"]);
        assert_eq!(one(&c, "SELECT current_user").await, ["viewer"]);
    });
    server.stop();
}

/// Every value a simple query answers.
async fn one(c: &tokio_postgres::Client, sql: &str) -> Vec<String> {
    text_values(c, sql).await.unwrap()
}

/// `count(*)` of a table, as one number.
async fn count(c: &tokio_postgres::Client, sql: &str) -> i64 {
    text_values(c, sql).await.unwrap()[0].parse().unwrap()
}

/// The cache's counters: hits, misses, entries.
async fn stats(c: &tokio_postgres::Client) -> (i64, i64, i64) {
    let v = text_values(c, "SELECT hits, misses, entries FROM oko_cache_stats")
        .await
        .unwrap();
    (
        v[0].parse().unwrap(),
        v[1].parse().unwrap(),
        v[2].parse().unwrap(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_result_cache_recomputes_after_a_commit_and_never_crosses_tenants() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = users_config(
        dir.path(),
        "",
        &[
            ("admin", "admin", None),
            ("okna_admin", "admin", Some("okna")),
            ("klinika_viewer", "viewer", Some("klinika")),
        ],
    );
    let server = start(&["--demo", "--config", &cfg.display().to_string()]);
    let a = login_as(server.port, "admin").await;
    let b = login_as(server.port, "admin").await;
    let okna = login_as(server.port, "okna_admin").await;
    let klinika = login_as(server.port, "klinika_viewer").await;
    let notes = "SELECT count(*) FROM lead_notes";
    let leads = "SELECT count(*) AS n FROM leads";

    // Computed once, then served: the same text in another session of the
    // same user is a hit.
    let (h0, m0, _) = stats(&a).await;
    let before = count(&a, notes).await;
    assert_eq!(count(&b, notes).await, before);
    assert_eq!(
        count(&a, "select   count(*)\n from lead_notes").await,
        before
    );
    let (h1, m1, e1) = stats(&a).await;
    assert_eq!((h1 - h0, m1 - m0), (2, 1), "one computation, two hits");
    assert!(e1 >= 1);

    // A commit to the table: the next execution recomputes, in the same
    // session and in another one.
    a.batch_execute(
        "INSERT INTO lead_notes (tenant, lead_id, tag, comment) VALUES ('okna', 'speed-1', 'x', 'y')",
    )
    .await
    .unwrap();
    assert_eq!(
        count(&a, notes).await,
        before + 1,
        "the same session sees it"
    );
    assert_eq!(
        count(&b, notes).await,
        before + 1,
        "another session sees it"
    );

    // Tenants: the same text answers each tenant's own rows, whoever ran
    // it before.
    let all = count(&a, leads).await;
    let okna_leads = count(&okna, leads).await;
    let klinika_leads = count(&klinika, leads).await;
    assert!(okna_leads > 0 && klinika_leads > 0);
    assert_ne!(okna_leads, klinika_leads);
    assert!(okna_leads < all && klinika_leads < all);
    assert_eq!(count(&okna, leads).await, okna_leads, "a hit of its own");
    assert_eq!(count(&a, leads).await, all);
    // okna's note is okna's: klinika's cached count never has it.
    let k_notes = count(&klinika, notes).await;
    okna.batch_execute(
        "INSERT INTO lead_notes (tenant, lead_id, tag, comment) VALUES ('okna', 'speed-2', 'x', 'y')",
    )
    .await
    .unwrap();
    assert_eq!(count(&klinika, notes).await, k_notes);
    assert_eq!(count(&a, notes).await, before + 2);

    // Extended protocol: bound values are part of the key.
    let by_tenant = "SELECT count(*) FROM leads WHERE tenant = $1";
    let n = |r: Vec<tokio_postgres::Row>| r[0].get::<_, i64>(0);
    let okna_n = n(a.query(by_tenant, &[&"okna"]).await.unwrap());
    let klinika_n = n(a.query(by_tenant, &[&"klinika"]).await.unwrap());
    assert_eq!(okna_n, okna_leads);
    assert_eq!(klinika_n, klinika_leads);
    assert_eq!(n(a.query(by_tenant, &[&"okna"]).await.unwrap()), okna_n);

    // Settings that change results are part of the key.
    let day = "SELECT CAST(TIMESTAMP WITH TIME ZONE '2024-01-01 23:30:00+00' AS DATE) AS d";
    assert_eq!(text_values(&a, day).await.unwrap(), ["2024-01-01"]);
    a.batch_execute("SET TimeZone = 'Asia/Tokyo'")
        .await
        .unwrap();
    assert_eq!(text_values(&a, day).await.unwrap(), ["2024-01-02"]);

    // Volatile statements are computed every time and never kept.
    let (_, m2, e2) = stats(&a).await;
    let x = text_values(&a, "SELECT random() AS r").await.unwrap();
    let y = text_values(&a, "SELECT random() AS r").await.unwrap();
    assert_ne!(x, y);
    text_values(&a, "SELECT now() AS t").await.unwrap();
    let (_, m3, e3) = stats(&a).await;
    assert_eq!((m3, e3), (m2, e2), "not cacheable, not counted");

    // The session switch: the raw path, no hit counted; SHOW tells it.
    assert_eq!(one(&b, "SHOW oko.result_cache").await, ["on"]);
    b.batch_execute("SET oko.result_cache = off").await.unwrap();
    assert_eq!(one(&b, "SHOW oko.result_cache").await, ["off"]);
    assert_eq!(
        one(&b, "SELECT current_setting('oko.fast_path')").await,
        ["on"]
    );
    let (h4, m4, _) = stats(&b).await;
    assert_eq!(count(&b, notes).await, before + 2);
    assert_eq!(count(&b, notes).await, before + 2);
    let (h5, m5, _) = stats(&b).await;
    assert_eq!((h5, m5), (h4, m4));
    // oko_cache_stats is for users who see every tenant.
    assert!(
        text_values(&okna, "SELECT * FROM oko_cache_stats")
            .await
            .is_err()
    );
    server.stop();
}

/// Panels that call the same report with the same arguments: one call
/// computes it and the others take its rows, also when they arrive
/// together; a commit, another tenant or the cache switched off computes
/// again, and every answer is the one computed from scratch.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn panels_calling_the_same_report_share_one_computation() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = users_config(
        dir.path(),
        "",
        &[
            ("admin", "admin", None),
            ("okna_viewer", "viewer", Some("okna")),
        ],
    );
    let server = start(&["--demo", "--config", &cfg.display().to_string()]);
    let raw = login_as(server.port, "admin").await;
    raw.batch_execute("SET oko.result_cache = off")
        .await
        .unwrap();
    let call = "summary_report('2026-06-01', '2026-08-01', 'all', NULL, NULL)";
    let panel = |column: &str, filter: &str| {
        format!(
            "SELECT channel, {column} FROM {call} WHERE tenant = 'okna' AND channel {filter} \
             ORDER BY channel"
        )
    };
    let panels: Vec<String> = ["leads", "requested", "rated"]
        .iter()
        .flat_map(|c| [panel(c, "<> 'all'"), panel(c, "= 'all'")])
        .collect();
    let mut expected = Vec::new();
    for p in &panels {
        expected.push(one(&raw, p).await);
    }
    assert!(expected[0].len() > 2, "{:?}", expected[0]);

    // Six panels at once, each its own statement: the report is computed
    // once (one miss of its own), the other five calls take its rows.
    let (h0, m0, _) = stats(&raw).await;
    let mut clients = Vec::new();
    for _ in &panels {
        clients.push(login_as(server.port, "admin").await);
    }
    let answers =
        futures::future::join_all(clients.iter().zip(&panels).map(|(c, p)| one(c, p))).await;
    assert_eq!(answers, expected);
    let (h1, m1, _) = stats(&raw).await;
    assert_eq!(
        (h1 - h0, m1 - m0),
        (5, 6 + 1),
        "six statements missed; the report was computed once and shared five times"
    );

    // Another statement on the same call, later: a hit, no computation.
    let other = format!("SELECT sum(leads) AS n FROM {call} WHERE tenant = 'okna'");
    let total = one(&raw, &other).await;
    assert_eq!(one(&clients[0], &other).await, total);
    let (h2, m2, _) = stats(&raw).await;
    assert_eq!((h2 - h1, m2 - m1), (1, 1));

    // A commit: the next call computes again and counts the new lead.
    clients[0]
        .batch_execute(
            "INSERT INTO leads (tenant, lead_id, channel, direction, class, manager_id, \
             created_at, answered_at, ended_at) VALUES ('okna', 'shared-1', 'call', 'in', \
             'Продажа', 'm101', '2026-07-03 10:00:00+00', '2026-07-03 10:00:10+00', \
             '2026-07-03 10:04:00+00')",
        )
        .await
        .unwrap();
    let after = one(&raw, &other).await;
    assert_ne!(after, total, "the new lead is counted from scratch");
    assert_eq!(one(&clients[1], &other).await, after);
    for (c, p) in clients.iter().zip(&panels) {
        assert_eq!(one(c, p).await, one(&raw, p).await, "{p}");
    }

    // A tenant-bound viewer never gets the rows computed for an admin.
    let viewer = login_as(server.port, "okna_viewer").await;
    let everyone = format!("SELECT count(DISTINCT tenant) AS n FROM {call}");
    assert_ne!(one(&clients[2], &everyone).await, ["1"]);
    assert_eq!(one(&viewer, &everyone).await, ["1"]);
    server.stop();
}

#[test]
fn result_cache_mb_zero_turns_the_cache_off() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = users_config(
        dir.path(),
        "result_cache_mb = 0",
        &[("admin", "admin", None)],
    );
    let server = start(&["--demo", "--config", &cfg.display().to_string()]);
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let a = login_as(server.port, "admin").await;
        for _ in 0..3 {
            count(&a, "SELECT count(*) FROM leads").await;
        }
        let v = text_values(
            &a,
            "SELECT hits, misses, entries, budget_bytes FROM oko_cache_stats",
        )
        .await
        .unwrap();
        assert_eq!(v, ["0", "0", "0", "0"]);
    });
    server.stop();
}

/// `row_groups_pruned_statistics=N total → M matched` of the scan of
/// `table` in an `EXPLAIN ANALYZE` (summed over its scans).
fn row_groups(plan: &str, table: &str) -> (u64, u64) {
    let (mut total, mut matched) = (0, 0);
    for line in plan.lines() {
        if !line.contains("DataSourceExec") || !line.contains(&format!("/{table}/")) {
            continue;
        }
        let at = line
            .find("row_groups_pruned_statistics=")
            .expect("row group metrics");
        let rest = &line[at + "row_groups_pruned_statistics=".len()..];
        let mut words = rest.split_whitespace();
        total += words.next().unwrap().parse::<u64>().unwrap();
        assert_eq!(words.next(), Some("total"));
        assert_eq!(words.next(), Some("→"));
        matched += words.next().unwrap().parse::<u64>().unwrap();
    }
    (total, matched)
}

/// A join on `(tenant, key)` passes its keys to the scan of the other
/// table although `tenant` is a partition column: a month's ratings read
/// the row groups of the leads they belong to, not all of the tenant's.
/// The rows are the same as without the join's filter, for every tenant
/// and month, for the view and for a plain join.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_join_on_tenant_and_key_reads_only_the_matching_row_groups() {
    let server = start(&["--demo"]);
    let (c, conn) = tokio_postgres::connect(
        &format!("host=127.0.0.1 port={} user=viewer dbname=oko", server.port),
        tokio_postgres::NoTls,
    )
    .await
    .unwrap();
    tokio::spawn(conn);
    one(&c, "SET oko.result_cache = off").await;
    let months = one(
        &c,
        "SELECT DISTINCT tenant || '|' || CAST(date_trunc('month', received_at) AS DATE) \
         FROM ratings ORDER BY 1",
    )
    .await;
    assert!(months.len() >= 6, "{months:?}");
    let mut pruned = 0;
    let mut dropped = 0;
    for key in &months {
        let (tenant, month) = key.split_once('|').unwrap();
        let period = format!(
            "tenant = '{tenant}' AND received_at >= DATE '{month}' \
             AND received_at < DATE '{month}' + INTERVAL '1 month'"
        );
        let view = format!(
            "SELECT rating_id, lead_id, manager, channel, lead_created_at \
             FROM ratings_to_moderate WHERE {period} ORDER BY rating_id"
        );
        let join = format!(
            "SELECT r.rating_id, l.lead_id, l.manager_id, l.created_at \
             FROM ratings r JOIN leads l ON l.tenant = r.tenant AND l.lead_id = r.lead_id \
             WHERE r.{} ORDER BY r.rating_id",
            period.replace(" AND received_at", " AND r.received_at")
        );
        for sql in [&view, &join] {
            one(
                &c,
                "SET datafusion.optimizer.enable_join_dynamic_filter_pushdown = true",
            )
            .await;
            let with = one(&c, sql).await;
            one(
                &c,
                "SET datafusion.optimizer.enable_join_dynamic_filter_pushdown = false",
            )
            .await;
            let without = one(&c, sql).await;
            assert_eq!(with, without, "{sql}");
        }
        one(
            &c,
            "SET datafusion.optimizer.enable_join_dynamic_filter_pushdown = true",
        )
        .await;
        let plan = one(&c, &format!("EXPLAIN ANALYZE {join}")).await.join("\n");
        let (total, matched) = row_groups(&plan, "leads");
        assert!(matched <= total, "{plan}");
        if matched < total {
            pruned += 1;
        }
        // Within the row groups read, the leads of no rating of the
        // period are dropped at the scan, before the view's projections.
        let plan = one(&c, &format!("EXPLAIN ANALYZE {view}")).await.join("\n");
        if dropped_at_scan(&plan) > 0 {
            dropped += 1;
        }
    }
    // The demo's leads of a month are one row group in their month's
    // file: a month's ratings skip the others.
    assert!(
        pruned * 2 >= months.len(),
        "pruned in {pruned} of {months:?}"
    );
    assert!(
        dropped * 2 >= months.len(),
        "rows dropped at the scan in {dropped} of {months:?}"
    );
    server.stop();
}

/// The rows the key filters of a plan's scans dropped (EXPLAIN ANALYZE's
/// `rows_dropped` of every `KeyFilterExec`).
fn dropped_at_scan(plan: &str) -> u64 {
    plan.lines()
        .filter(|l| l.contains("KeyFilterExec"))
        .filter_map(|l| l.split("rows_dropped=").nth(1))
        .filter_map(|rest| {
            let n: String = rest
                .chars()
                .take_while(|c| c.is_ascii_digit() || *c == '.' || *c == 'K')
                .collect();
            match n.strip_suffix('K') {
                Some(k) => k.parse::<f64>().ok().map(|k| (k * 1000.0) as u64),
                None => n.parse::<f64>().ok().map(|v| v as u64),
            }
        })
        .sum()
}
