//! An SQL-level fuzzer beside the protocol fuzzer: generated statements —
//! deep and long expressions of every operator kind, functions called with
//! extreme arguments, the report functions with nonsense periods, every
//! `SET` a session might try with extreme values, long `IN` lists — sent
//! as a tenant-bound viewer to a server with a 512 MiB memory pool. Any
//! statement may fail; none may take the server down, hang past the
//! server's statement limit, or push its memory past a cap. After each
//! statement another session must be served.
//!
//! Statements that ever broke the server are kept in
//! `tests/fuzz/sql_crashes/` (one per file) and replayed first.
//! `OKO_SQL_FUZZ_SECS` sets how long it generates (45 s by default, in CI),
//! `OKO_SQL_FUZZ_SEED` replays a run (the seed is printed).

use std::path::Path;
use std::time::{Duration, Instant};

use crate::common::{login_as, rss_mib, text_values, users_config};
use crate::server::spawn;

/// The most resident memory the server may reach, in MiB: the 512 MiB pool,
/// the catalogs and what glibc keeps between trims.
const RSS_CAP_MIB: u64 = 2_048;

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len())]
    }
}

const BINARY: &[&str] = &[
    "+",
    "-",
    "*",
    "/",
    "%",
    "^",
    "&",
    "|",
    "#",
    "<<",
    ">>",
    "||",
    "=",
    "<>",
    "<",
    ">",
    "<=",
    ">=",
    "AND",
    "OR",
    "LIKE",
    "ILIKE",
    "~",
    "~*",
    "!~",
    "IS DISTINCT FROM",
    "@>",
    "->",
    "->>",
];

const LITERALS: &[&str] = &[
    "0",
    "1",
    "-1",
    "9223372036854775807",
    "-9223372036854775808",
    "2147483647",
    "1e308",
    "'NaN'::double precision",
    "'Infinity'::double precision",
    "NULL",
    "''",
    "'x'",
    "'%'",
    "'('",
    "'(a{1000}){1000}'",
    "'Europe/Moscow'",
    "'Mars/Olympus'",
    "DATE '2026-01-01'",
    "DATE '0001-01-01'",
    "TIMESTAMP '9999-12-31 23:59:59'",
    "TIMESTAMPTZ '2026-07-01 00:00:00+03'",
    "INTERVAL '1 day'",
    "INTERVAL '-1000000 years'",
    "ARRAY[1, 2, 3]",
    "ARRAY[]::int[]",
    "true",
    "lead_id",
    "channel",
    "created_at",
    "manager_id",
    "tenant",
];

const FUNCTIONS: &[&str] = &[
    "repeat",
    "lpad",
    "rpad",
    "range",
    "generate_series",
    "array_repeat",
    "array_resize",
    "replace",
    "regexp_replace",
    "regexp_like",
    "regexp_match",
    "concat",
    "concat_ws",
    "overlay",
    "translate",
    "encode",
    "decode",
    "substr",
    "left",
    "right",
    "length",
    "upper",
    "lower",
    "md5",
    "sha256",
    "to_hex",
    "abs",
    "power",
    "sqrt",
    "ln",
    "log",
    "exp",
    "factorial",
    "round",
    "trunc",
    "date_trunc",
    "date_part",
    "to_char",
    "to_timestamp",
    "make_date",
    "now",
    "array_agg",
    "string_agg",
    "cardinality",
    "array_length",
    "unnest",
    "coalesce",
    "nullif",
    "greatest",
    "least",
    "split_part",
    "string_to_array",
    "array_to_string",
    "strpos",
    "starts_with",
    "btrim",
    "chr",
    "ascii",
    "format",
    "current_setting",
    "set_config",
    "pg_get_viewdef",
    "json_build_object",
    "to_local_time",
    "arrow_typeof",
    "digest",
];

const SETTINGS: &[(&str, &[&str])] = &[
    (
        "datafusion.execution.batch_size",
        &["0", "1", "65536", "4000000000", "-1"],
    ),
    (
        "datafusion.execution.target_partitions",
        &["1", "32", "10000", "0"],
    ),
    ("datafusion.\"runtime\".memory_limit", &["'64G'"]),
    (
        "datafusion.runtime.temp_directory",
        &["'/tmp/oko-fuzz-escape'"],
    ),
    ("datafusion.explain.show_statistics", &["true"]),
    ("datafusion.optimizer.prefer_hash_join", &["false", "maybe"]),
    ("statement_timeout", &["0", "1", "'1h'", "'-5'", "'x'"]),
    (
        "TimeZone",
        &["'Europe/Moscow'", "'Mars/Olympus'", "'+15'", "'-99'"],
    ),
    ("session_authorization", &["'admin'"]),
    ("\"session_authorization\"", &["'admin'"]),
    ("work_mem", &["'64GB'"]),
    ("search_path", &["''", "'pg_catalog, x'"]),
    ("default_transaction_read_only", &["on", "off"]),
];

fn expr(rng: &mut Rng, depth: usize) -> String {
    if depth == 0 {
        return rng.pick(LITERALS).to_string();
    }
    match rng.below(9) {
        0 | 1 => format!(
            "({} {} {})",
            expr(rng, depth - 1),
            rng.pick(BINARY),
            expr(rng, depth - 1)
        ),
        2 | 3 => {
            let args: Vec<String> = (0..rng.below(4)).map(|_| expr(rng, depth - 1)).collect();
            format!("{}({})", rng.pick(FUNCTIONS), args.join(", "))
        }
        4 => format!(
            "CASE WHEN {} THEN {} ELSE {} END",
            expr(rng, depth - 1),
            expr(rng, depth - 1),
            expr(rng, depth - 1)
        ),
        5 => format!(
            "CAST({} AS {})",
            expr(rng, depth - 1),
            rng.pick(&[
                "int",
                "bigint",
                "text",
                "date",
                "timestamptz",
                "double precision",
                "numeric",
                "int[]",
                "interval",
                "boolean"
            ])
        ),
        6 => format!("(SELECT {} FROM leads LIMIT 1)", expr(rng, depth - 1)),
        7 => format!("NOT {}", expr(rng, depth - 1)),
        _ => rng.pick(LITERALS).to_string(),
    }
}

/// One generated statement.
fn statement(rng: &mut Rng) -> String {
    match rng.below(12) {
        0 => {
            let (name, values) = SETTINGS[rng.below(SETTINGS.len())];
            format!("SET {name} = {}", values[rng.below(values.len())])
        }
        1 => {
            // A long chain of one operator.
            let op = rng.pick(BINARY);
            let n = [10, 500, 1_990, 2_500, 20_000][rng.below(5)];
            format!("SELECT 1{}", format!(" {op} 1").repeat(n))
        }
        2 => {
            // Deep nesting of calls or parentheses.
            let n = [50, 500, 1_990, 5_000][rng.below(4)];
            let f = rng.pick(&["abs(", "(", "coalesce(", "upper("]);
            format!("SELECT {}1{}", f.repeat(n), ")".repeat(n))
        }
        3 => {
            // A long IN list on a column.
            let n = [100, 5_000, 100_000][rng.below(3)];
            let column = rng.pick(&["lead_id", "manager_id", "channel"]);
            let list: Vec<String> = (0..n).map(|i| format!("'v{i}'")).collect();
            format!(
                "SELECT count(*) FROM leads WHERE {column} IN ({})",
                list.join(",")
            )
        }
        4 => {
            let from = rng.pick(&[
                "'2026-01-01'",
                "'0001-01-01'",
                "'9999-12-31'",
                "NULL",
                "'x'",
            ]);
            let to = rng.pick(&[
                "'2026-12-31'",
                "'0001-01-02'",
                "'9999-12-31'",
                "NULL",
                "'y'",
            ]);
            let f = rng.pick(&["summary_report", "manager_report", "cc_report"]);
            let scope = rng.pick(&["'all'", "'calls'", "'chats'", "NULL", "'nonsense'", "''"]);
            format!("SELECT count(*) FROM {f}({from}, {to}, {scope})")
        }
        5 => format!(
            "SELECT {} FROM leads GROUP BY 1 ORDER BY 1 LIMIT 5",
            expr(rng, 3)
        ),
        6 => format!(
            "SELECT count(*) FROM leads a JOIN ratings r ON {} LIMIT 3",
            expr(rng, 2)
        ),
        7 => format!(
            "SELECT {}, row_number() OVER (PARTITION BY channel ORDER BY {}) FROM leads LIMIT 5",
            expr(rng, 2),
            expr(rng, 1)
        ),
        8 => format!(
            "EXPLAIN {}SELECT {} FROM tenants",
            rng.pick(&["", "ANALYZE ", "VERBOSE "]),
            expr(rng, 2)
        ),
        9 => {
            let f = rng.pick(&[
                "repeat('x', ",
                "range(1, ",
                "lpad('x', ",
                "array_repeat(1, ",
            ]);
            let n = rng.pick(&["1000000000", "9223372036854775807", "-1", "100000000", "10"]);
            format!("SELECT cardinality(string_to_array(CAST({f}{n}) AS text), ','))")
        }
        _ => format!("SELECT {}", expr(rng, 4)),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sql_fuzzer_never_takes_the_server_down() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = users_config(
        dir.path(),
        "memory_limit_mb = 512\nstatement_timeout_s = 5",
        &[
            ("okna_viewer", "viewer", Some("okna")),
            ("viewer", "viewer", None),
        ],
    );
    let mut server = spawn(&["--demo", "--config", &cfg.display().to_string()]);
    let port = server.port;
    let crashes = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fuzz/sql_crashes");
    let mut corpus: Vec<(String, String)> = std::fs::read_dir(&crashes)
        .map(|entries| {
            entries
                .filter_map(|e| e.ok())
                .filter_map(|e| {
                    let text = std::fs::read_to_string(e.path()).ok()?;
                    let sql: String = text
                        .lines()
                        .filter(|l| !l.starts_with("--"))
                        .collect::<Vec<_>>()
                        .join("\n");
                    Some((e.file_name().to_string_lossy().into_owned(), sql))
                })
                .collect()
        })
        .unwrap_or_default();
    corpus.sort();
    assert!(!corpus.is_empty(), "the crash corpus is missing");
    let seconds: u64 = std::env::var("OKO_SQL_FUZZ_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(45);
    let seed: u64 = std::env::var("OKO_SQL_FUZZ_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(1, |d| d.as_nanos() as u64)
                | 1
        });
    eprintln!("sql fuzzer: seed {seed} (OKO_SQL_FUZZ_SEED={seed} replays it), {seconds} s");
    let mut rng = Rng(seed);
    let attacker = login_as(port, "okna_viewer").await;
    let watcher = login_as(port, "viewer").await;
    let mut statements = 0;
    let mut peak = 0;
    let until = Instant::now() + Duration::from_secs(seconds);
    let mut next = corpus.into_iter().map(|(_, sql)| sql);
    loop {
        let sql = match next.next() {
            Some(sql) => sql,
            None if Instant::now() < until => statement(&mut rng),
            None => break,
        };
        statements += 1;
        // 5 s is the server's limit; planning may add a little.
        let answered =
            tokio::time::timeout(Duration::from_secs(30), attacker.simple_query(&sql)).await;
        let alive = server.is_running();
        let served = alive
            && tokio::time::timeout(
                Duration::from_secs(20),
                text_values(&watcher, "SELECT count(*) FROM tenants"),
            )
            .await
            .is_ok_and(|r| r.is_ok_and(|v| v == ["3"]));
        let rss = rss_mib(server.pid());
        peak = peak.max(rss);
        let broken = if !alive {
            Some("the server died")
        } else if !served {
            Some("another session was not served")
        } else if answered.is_err() {
            Some("the statement hung past the server's limit")
        } else if rss > RSS_CAP_MIB {
            Some("the server's memory passed the cap")
        } else {
            None
        };
        if let Some(what) = broken {
            let _ = std::fs::create_dir_all(&crashes);
            let name = format!("found-{:016x}.sql", seed ^ statements as u64);
            let shown: String = sql.chars().take(300).collect();
            let _ = std::fs::write(crashes.join(&name), format!("-- {what}\n{sql}\n"));
            panic!("{what} ({rss} MiB) after statement {statements} (kept as {name}): {shown}");
        }
    }
    eprintln!(
        "sql fuzzer: {statements} statements, server alive, peak RSS {peak} MiB (cap {RSS_CAP_MIB})"
    );
}
