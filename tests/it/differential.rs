//! Differential test against a real PostgreSQL 15: OKO promises PostgreSQL's
//! answer or a clear error, never a different answer. The corpus
//! (`tests/differential/*.sql`, its README.md says the format) runs on OKO's
//! demo dataset and on a throwaway PostgreSQL 15 holding the same rows, copied
//! from OKO with the column types OKO reports; every statement is either
//! equal (column names, type OIDs, values) or on the written list of
//! refusals, where OKO fails with the SQLSTATE the mark names.
//!
//! `OKO_DIFF_FILTER=<text>` runs only the files whose name contains it, or
//! else the statements that contain it (and the `SET`/`RESET` statements
//! of their files). The full report is written to
//! `target/differential-report.txt` (or the file `OKO_DIFF_REPORT` names).

mod corpus;
mod wire;

use std::collections::HashMap;
use std::fmt::Write as _;
use std::time::{Duration, Instant};

use corpus::{
    Difference, Statement, agree_only_within_tolerance, difference, pg_type, show_row, type_name,
};
use wire::{Answer, DbError, Rows, Target, Wire};

/// How long one statement may take on either side before it counts as a
/// difference (a debug build of OKO is slow, but no corpus query is big).
const STATEMENT_LIMIT: Duration = Duration::from_secs(60);

/// Rows of each side shown for a difference.
const SHOWN_ROWS: usize = 5;

/// The answer the report records when a side could not run the statement
/// at all (connection lost, time out, an oid placeholder not found).
fn harness_error(message: String) -> DbError {
    DbError {
        code: "-----".into(),
        message,
    }
}

/// Runs a statement that must succeed (loading data, catalog look-ups).
async fn must(w: &mut Wire, what: &str, sql: &str) -> Rows {
    match w.query(sql, STATEMENT_LIMIT).await {
        Ok(Ok(rows)) => rows,
        Ok(Err(e)) => panic!("{what}: {sql}: {} {}", e.code, e.message),
        Err(e) => panic!("{what}: {sql}: {e}"),
    }
}

fn cell(rows: &Rows, r: usize, c: usize) -> String {
    rows.rows[r][c].clone().unwrap_or_default()
}

/// Escapes a value for `COPY … FROM STDIN` in text format.
fn copy_text(v: &Option<String>) -> String {
    match v {
        None => "\\N".into(),
        Some(s) => s
            .replace('\\', "\\\\")
            .replace('\t', "\\t")
            .replace('\n', "\\n")
            .replace('\r', "\\r"),
    }
}

fn quote_ident(s: &str) -> String {
    format!("\"{}\"", s.replace('"', "\"\""))
}

/// What the load did, for the report's header.
#[derive(Default)]
struct Loaded {
    tables: usize,
    rows: usize,
    views: usize,
    notes: Vec<String>,
}

/// Copies every base table of OKO's `public` schema into PostgreSQL with the
/// type OIDs OKO reports for its columns and OKO's NOT NULLs, then the rows
/// as OKO prints them (text, session time zone UTC on both sides). Each of
/// OKO's views becomes an empty stand-in view with the same column names and
/// types, so that psql's `\d`, `\dv+` and `\d+ <view>` list the same
/// relations on both sides (the corpus never reads a view's rows: they are
/// OKO's own computations).
async fn load(oko: &Target, pg: &Target) -> Loaded {
    let mut o = Wire::connect(oko, "oko")
        .await
        .expect("OKO accepts a connection");
    let mut p = Wire::connect(pg, "oko")
        .await
        .expect("PostgreSQL accepts a connection");
    let mut loaded = Loaded::default();
    let relations = must(
        &mut o,
        "OKO lists its relations",
        "SELECT table_name, table_type FROM information_schema.tables \
         WHERE table_schema = 'public' ORDER BY table_name",
    )
    .await;
    for r in 0..relations.rows.len() {
        let (name, kind) = (cell(&relations, r, 0), cell(&relations, r, 1));
        if kind == "BASE TABLE" {
            loaded.rows += copy_table(&mut o, &mut p, &name).await;
            loaded.tables += 1;
        } else if kind == "VIEW" {
            match stand_in_view(&mut o, &mut p, &name).await {
                Ok(()) => loaded.views += 1,
                Err(note) => loaded.notes.push(note),
            }
        }
    }
    loaded
}

async fn copy_table(o: &mut Wire, p: &mut Wire, name: &str) -> usize {
    let nullable = must(
        o,
        "OKO describes a table",
        &format!(
            "SELECT column_name, is_nullable FROM information_schema.columns \
             WHERE table_schema = 'public' AND table_name = '{name}' ORDER BY ordinal_position"
        ),
    )
    .await;
    let not_null: Vec<String> = (0..nullable.rows.len())
        .filter(|&r| cell(&nullable, r, 1) == "NO")
        .map(|r| cell(&nullable, r, 0))
        .collect();
    let data = must(
        o,
        "OKO reads a table",
        &format!("SELECT * FROM {}", quote_ident(name)),
    )
    .await;
    let columns = data.columns.clone().unwrap_or_default();
    let ddl: Vec<String> = columns
        .iter()
        .map(|(c, oid)| {
            let ty = pg_type(*oid).unwrap_or_else(|| {
                panic!("{name}.{c}: OKO reports type oid {oid}, which this test cannot create")
            });
            let nn = if not_null.contains(c) {
                " NOT NULL"
            } else {
                ""
            };
            format!("{} {ty}{nn}", quote_ident(c))
        })
        .collect();
    must(
        p,
        "PostgreSQL creates a table",
        &format!("CREATE TABLE {} ({})", quote_ident(name), ddl.join(", ")),
    )
    .await;
    let mut text = String::new();
    for row in &data.rows {
        let cells: Vec<String> = row.iter().map(copy_text).collect();
        text.push_str(&cells.join("\t"));
        text.push('\n');
    }
    let copy = format!("COPY {} FROM STDIN", quote_ident(name));
    match p.copy_in(&copy, text.as_bytes()).await {
        Ok(Ok(_)) => {}
        Ok(Err(e)) => panic!(
            "PostgreSQL does not take OKO's rows of {name}: {} {}",
            e.code, e.message
        ),
        Err(e) => panic!("copying {name}: {e}"),
    }
    must(
        p,
        "PostgreSQL analyzes",
        &format!("ANALYZE {}", quote_ident(name)),
    )
    .await;
    data.rows.len()
}

async fn stand_in_view(o: &mut Wire, p: &mut Wire, name: &str) -> Result<(), String> {
    let sql = format!("SELECT * FROM {} LIMIT 0", quote_ident(name));
    let columns = match o.query(&sql, STATEMENT_LIMIT).await {
        Ok(Ok(rows)) => rows.columns.unwrap_or_default(),
        Ok(Err(e)) => {
            return Err(format!(
                "view {name} left out: OKO fails to read it ({} {})",
                e.code, e.message
            ));
        }
        Err(e) => return Err(format!("view {name} left out: {e}")),
    };
    let mut select = Vec::new();
    for (c, oid) in &columns {
        let ty = pg_type(*oid)
            .ok_or_else(|| format!("view {name} left out: column {c} has type oid {oid}"))?;
        select.push(format!("NULL::{ty} AS {}", quote_ident(c)));
    }
    must(
        p,
        "PostgreSQL creates a stand-in view",
        &format!(
            "CREATE VIEW {} AS SELECT {} WHERE false",
            quote_ident(name),
            select.join(", ")
        ),
    )
    .await;
    Ok(())
}

/// Every statement of the corpus, file by file, in file order.
fn read_corpus() -> Vec<(String, Vec<Statement>)> {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/differential");
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .expect("the corpus folder")
        .map(|e| e.expect("a corpus entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "sql"))
        .collect();
    files.sort();
    files
        .iter()
        .map(|path| {
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            let text = std::fs::read_to_string(path).expect("a corpus file");
            let st = corpus::split(&name, &text).unwrap_or_else(|e| panic!("{e}"));
            (name, st)
        })
        .collect()
}

/// The statements `OKO_DIFF_FILTER` selects (all without it).
fn select(
    corpus: Vec<(String, Vec<Statement>)>,
    filter: Option<&str>,
) -> Vec<(String, Vec<Statement>)> {
    let Some(f) = filter.map(str::to_lowercase) else {
        return corpus;
    };
    corpus
        .into_iter()
        .filter_map(|(name, st)| {
            if name.to_lowercase().contains(&f) {
                return Some((name, st));
            }
            if !st.iter().any(|s| s.sql.to_lowercase().contains(&f)) {
                return None;
            }
            let session = |s: &Statement| {
                let head = s.sql.trim_start().to_uppercase();
                head.starts_with("SET ") || head.starts_with("RESET ")
            };
            let kept = st
                .into_iter()
                .filter(|s| s.sql.to_lowercase().contains(&f) || session(s))
                .collect();
            Some((name, kept))
        })
        .collect()
}

/// Replaces each `{{oid:NAME}}` with this side's pg_class oid of public.NAME.
async fn resolve(w: &mut Wire, sql: &str) -> Result<String, String> {
    let mut out = String::new();
    let mut rest = sql;
    while let Some(at) = rest.find("{{oid:") {
        out.push_str(&rest[..at]);
        let after = &rest[at + 6..];
        let end = after.find("}}").ok_or("an unclosed {{oid:")?;
        let name = &after[..end];
        let look = format!(
            "SELECT c.oid FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n \
             ON n.oid = c.relnamespace WHERE n.nspname = 'public' AND c.relname = '{name}'"
        );
        match w.query(&look, STATEMENT_LIMIT).await {
            Ok(Ok(rows)) if !rows.rows.is_empty() => out.push_str(&cell(&rows, 0, 0)),
            Ok(Ok(_)) => return Err(format!("no relation public.{name} in pg_class")),
            Ok(Err(e)) => {
                return Err(format!(
                    "looking up the oid of {name}: {} {}",
                    e.code, e.message
                ));
            }
            Err(e) => return Err(format!("looking up the oid of {name}: {e}")),
        }
        rest = &after[end + 2..];
    }
    out.push_str(rest);
    Ok(out)
}

/// One side: its target and its connection for the current file.
struct Side {
    target: Target,
    wire: Option<Wire>,
}

impl Side {
    /// Runs a statement on this side's connection (opening one if needed).
    /// A lost connection or a time-out becomes the answer, and the next
    /// statement gets a new connection.
    async fn run(&mut self, sql: &str) -> Answer {
        if self.wire.is_none() {
            match Wire::connect(&self.target, "oko").await {
                Ok(w) => self.wire = Some(w),
                Err(e) => return Err(harness_error(format!("cannot connect: {e}"))),
            }
        }
        let w = self.wire.as_mut().expect("connected above");
        let sql = match resolve(w, sql).await {
            Ok(sql) => sql,
            Err(e) => return Err(harness_error(e)),
        };
        match w.query(&sql, STATEMENT_LIMIT).await {
            Ok(answer) => answer,
            Err(e) => {
                self.wire = None;
                Err(harness_error(format!("{e} (the session was lost)")))
            }
        }
    }
}

/// How one statement came out.
enum Outcome {
    /// Equal; `true` when only within the float tolerance.
    Equal(bool),
    Refused,
    Differs(Difference),
}

struct Run {
    st: Statement,
    outcome: Outcome,
    oko: Answer,
    pg: Answer,
}

fn judge(st: &Statement, oko: &Answer, pg: &Answer) -> Outcome {
    let Some((code, _)) = &st.refused else {
        return match difference(st, oko, pg) {
            None => Outcome::Equal(agree_only_within_tolerance(st, oko, pg)),
            Some(d) => Outcome::Differs(d),
        };
    };
    match oko {
        Err(e) if e.code == *code => Outcome::Refused,
        Err(e) => Outcome::Differs((
            "refusal mark",
            format!("marked refused with {code}, OKO fails with {}", e.code),
        )),
        Ok(_) => {
            let same = difference(st, oko, pg).is_none();
            let how = if same {
                " as PostgreSQL does: take the mark off"
            } else {
                ""
            };
            Outcome::Differs((
                "refusal mark",
                format!("marked refused with {code}, but OKO answers{how}"),
            ))
        }
    }
}

/// Runs the (selected) corpus on both sides, file by file.
async fn run_corpus(oko: &Target, postgres: &Target, filter: Option<&str>) -> Vec<Run> {
    let corpus = select(read_corpus(), filter);
    let mut runs = Vec::new();
    for (_, statements) in corpus {
        // Each file starts on fresh sessions, so its SETs apply to it alone.
        let mut o = Side {
            target: oko.clone(),
            wire: None,
        };
        let mut p = Side {
            target: postgres.clone(),
            wire: None,
        };
        for st in statements {
            let oko_answer = o.run(&st.sql).await;
            let pg_answer = p.run(&st.sql).await;
            let outcome = judge(&st, &oko_answer, &pg_answer);
            runs.push(Run {
                st,
                outcome,
                oko: oko_answer,
                pg: pg_answer,
            });
        }
    }
    runs
}

fn show_answer(a: &Answer) -> String {
    match a {
        Err(e) => format!("ERROR {}: {}", e.code, e.message),
        Ok(r) => {
            if let Some(copy) = &r.copy {
                let lines: Vec<&str> = copy.lines().take(SHOWN_ROWS).collect();
                return format!("COPY data:\n        {}", lines.join("\n        "));
            }
            let Some(cols) = &r.columns else {
                return "done, no rows".into();
            };
            let header: Vec<String> = cols
                .iter()
                .map(|(n, t)| format!("{n} {}", type_name(*t)))
                .collect();
            let mut s = format!("[{}] {} rows", header.join(", "), r.rows.len());
            for row in r.rows.iter().take(SHOWN_ROWS) {
                s.push_str("\n        ");
                s.push_str(&show_row(row));
            }
            if r.rows.len() > SHOWN_ROWS {
                s.push_str("\n        …");
            }
            s
        }
    }
}

fn report(
    runs: &[Run],
    loaded: &Loaded,
    load_time: Duration,
    filter: Option<&str>,
) -> (String, usize) {
    let (mut equal, mut refused, mut differing) = (0, 0, 0);
    let mut kinds: HashMap<&str, usize> = HashMap::new();
    for r in runs {
        match &r.outcome {
            Outcome::Equal(_) => equal += 1,
            Outcome::Refused => refused += 1,
            Outcome::Differs((kind, _)) => {
                differing += 1;
                *kinds.entry(kind).or_default() += 1;
            }
        }
    }
    let mut out = String::new();
    let _ = writeln!(
        out,
        "differential: {} statements, {equal} equal, {refused} refused, {differing} differing",
        runs.len()
    );
    if let Some(f) = filter {
        let _ = writeln!(out, "(OKO_DIFF_FILTER={f})");
    }
    let _ = writeln!(
        out,
        "data: {} tables ({} rows) and {} stand-in views copied from OKO in {:.1} s",
        loaded.tables,
        loaded.rows,
        loaded.views,
        load_time.as_secs_f64()
    );
    for note in &loaded.notes {
        let _ = writeln!(out, "note: {note}");
    }
    let mut kinds: Vec<_> = kinds.into_iter().collect();
    kinds.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
    for (kind, n) in &kinds {
        let _ = writeln!(out, "  {n:4}  {kind}");
    }
    let refusals: Vec<&Run> = runs
        .iter()
        .filter(|r| matches!(r.outcome, Outcome::Refused))
        .collect();
    if !refusals.is_empty() {
        let _ = writeln!(out, "\nrefused as marked:");
        for r in refusals {
            let (code, reason) = r.st.refused.clone().unwrap_or_default();
            let _ = writeln!(out, "  {}:{} {code} {reason}", r.st.file, r.st.line);
        }
    }
    let tolerated: Vec<&Run> = runs
        .iter()
        .filter(|r| matches!(r.outcome, Outcome::Equal(true)))
        .collect();
    if !tolerated.is_empty() {
        let _ = writeln!(
            out,
            "\nequal only within the float tolerance (the text differs, e.g. `4.0` for `4`):"
        );
        for r in tolerated {
            let _ = writeln!(
                out,
                "  {}:{} {}",
                r.st.file,
                r.st.line,
                first_line(&r.st.sql)
            );
        }
    }
    for r in runs {
        let Outcome::Differs((kind, detail)) = &r.outcome else {
            continue;
        };
        let _ = writeln!(out, "\n== {}:{} [{kind}] {detail}", r.st.file, r.st.line);
        for line in r.st.sql.lines() {
            let _ = writeln!(out, "  > {line}");
        }
        let _ = writeln!(out, "  OKO:        {}", show_answer(&r.oko));
        let _ = writeln!(out, "  PostgreSQL: {}", show_answer(&r.pg));
    }
    (out, differing)
}

/// A statement's first line, cut to fit a line of the report.
fn first_line(sql: &str) -> String {
    let line = sql.lines().next().unwrap_or_default();
    match line.char_indices().nth(100) {
        Some((at, _)) => format!("{}…", &line[..at]),
        None => line.to_string(),
    }
}

fn report_path() -> std::path::PathBuf {
    if let Some(path) = std::env::var_os("OKO_DIFF_REPORT") {
        return path.into();
    }
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target"));
    target.join("differential-report.txt")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_statement_is_answered_like_postgres_15_or_refused_as_written() {
    let Some(pg) = crate::postgres::Postgres::start() else {
        return;
    };
    let server = crate::server::start(&["--demo"]);
    pg.connect()
        .await
        .batch_execute("CREATE DATABASE oko")
        .await
        .expect("PostgreSQL creates the database");
    let oko = Target::Tcp(server.port);
    let postgres = Target::Unix(pg.socket_dir().to_path_buf());

    let started = Instant::now();
    let loaded = load(&oko, &postgres).await;
    let load_time = started.elapsed();
    assert!(
        loaded.tables >= 8,
        "OKO lists {} base tables",
        loaded.tables
    );

    let filter = std::env::var("OKO_DIFF_FILTER")
        .ok()
        .filter(|f| !f.is_empty());
    let runs = run_corpus(&oko, &postgres, filter.as_deref()).await;
    if filter.is_none() {
        assert!(
            runs.len() >= 320,
            "the corpus holds {} statements",
            runs.len()
        );
    }
    let (text, differing) = report(&runs, &loaded, load_time, filter.as_deref());
    let path = report_path();
    let _ = std::fs::create_dir_all(path.parent().unwrap());
    std::fs::write(&path, &text).expect("the report is written");
    println!("{text}");
    println!("report: {}", path.display());
    let _ = differing;
    check_pending(&runs, filter.is_none(), &path);
}

/// The statements that still differ, written down as work to do
/// (`tests/differential/pending.txt`, one `file: statement` per line; `#`
/// starts a comment). Every other statement must be equal or refused as
/// written; a listed statement that has become equal must leave the list
/// (`OKO_DIFF_WRITE_PENDING=1` rewrites it from the run).
fn check_pending(runs: &[Run], whole_corpus: bool, report: &std::path::Path) {
    let file =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/differential/pending.txt");
    let key = |r: &Run| {
        format!(
            "{}: {}",
            r.st.file,
            r.st.sql.split_whitespace().collect::<Vec<_>>().join(" ")
        )
    };
    let differing: Vec<&Run> = runs
        .iter()
        .filter(|r| matches!(r.outcome, Outcome::Differs(_)))
        .collect();
    if whole_corpus && std::env::var_os("OKO_DIFF_WRITE_PENDING").is_some() {
        let mut text = String::from(
            "# Statements of the corpus that OKO does not yet answer as PostgreSQL 15 does\n\
             # (work to do, issue 12); written by OKO_DIFF_WRITE_PENDING=1.\n",
        );
        for r in &differing {
            if let Outcome::Differs((kind, _)) = &r.outcome {
                let _ = writeln!(text, "# {kind}\n{}", key(r));
            }
        }
        std::fs::write(&file, text).expect("the pending list is written");
        return;
    }
    let listed: std::collections::HashSet<String> = std::fs::read_to_string(&file)
        .unwrap_or_default()
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .map(|l| l.to_string())
        .collect();
    let unlisted: Vec<String> = differing
        .iter()
        .map(|r| key(r))
        .filter(|k| !listed.contains(k))
        .collect();
    assert!(
        unlisted.is_empty(),
        "{} statements differ from PostgreSQL and are not on the pending list:\n{}\n(full report: {})",
        unlisted.len(),
        unlisted.join("\n"),
        report.display()
    );
    if whole_corpus {
        let still: std::collections::HashSet<String> = differing.iter().map(|r| key(r)).collect();
        let fixed: Vec<&String> = listed.iter().filter(|k| !still.contains(*k)).collect();
        assert!(
            fixed.is_empty(),
            "{} pending statements now agree with PostgreSQL (or left the corpus); remove them from {}:\n{}",
            fixed.len(),
            file.display(),
            fixed
                .iter()
                .map(|k| k.as_str())
                .collect::<Vec<_>>()
                .join("\n")
        );
    }
}
