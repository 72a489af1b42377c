//! The Grafana dashboard `dashboards/oko.json` against `oko serve --demo`.
//!
//! Every query is sent the way Grafana's PostgreSQL data source sends it:
//! 1. the browser interpolates template variables (`$tenant`, `${exclude}`,
//!    `${managers:csv}`, `${__from:date:YYYY-MM-DD}`, `$__interval`) with the
//!    data source's own escaping (`interpolateVariable` in
//!    `public/app/plugins/datasource/grafana-postgresql-datasource/datasource.ts`);
//! 2. the backend replaces `$__interval`, `$__interval_ms`,
//!    `$__unixEpochFrom()`, `$__unixEpochTo()` and then runs the postgres
//!    macro engine (`pkg/tsdb/grafana-postgresql-datasource/macros.go`:
//!    `$__timeFilter`, `$__timeGroup[Alias]` with fill modes, `$__time`, …);
//! 3. the SQL goes over the simple query protocol, as pgx's `PgConn.Exec`
//!    does (and lib/pq's ping before it).
//!
//! One test per group, so that a failure says which part of Grafana breaks:
//! the expansion itself (no server), the dashboard file, its variables, its
//! panels, the data source's connection test and the query editor's
//! table/column pickers. The panel and catalog tests run every query and
//! report every failure (title, expanded SQL, server error) in one message.

use std::collections::BTreeMap;
use std::time::Duration;

use chrono::{DateTime, Datelike, Months, TimeZone, Timelike, Utc};
use serde_json::Value;
use tokio_postgres::types::Type;
use tokio_postgres::{Client, NoTls, SimpleQueryMessage};

use crate::server::start;

/// The dashboard, relative to the crate root.
const DASHBOARD: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/dashboards/oko.json");

/// A query that takes longer than this is reported as failed.
const QUERY_TIMEOUT: Duration = Duration::from_secs(120);

// ---------------------------------------------------------------------------
// Grafana's side: the time range, template variables and macros.

/// The dashboard's time range, as Grafana sends it (UTC instants).
#[derive(Clone, Copy, Debug)]
struct TimeRange {
    from: DateTime<Utc>,
    to: DateTime<Utc>,
}

/// July 2026: inside the demo data (2026-06-01 … 2026-09-28).
fn demo_range() -> TimeRange {
    TimeRange {
        from: Utc.with_ymd_and_hms(2026, 7, 1, 0, 0, 0).unwrap(),
        to: Utc.with_ymd_and_hms(2026, 8, 1, 0, 0, 0).unwrap(),
    }
}

/// A template variable's current value.
#[derive(Clone, Debug, PartialEq)]
enum VarValue {
    One(String),
    Many(Vec<String>),
}

/// What the browser knows when it interpolates a query.
#[derive(Clone, Debug)]
struct Scope {
    vars: BTreeMap<String, VarValue>,
    range: TimeRange,
    /// `$__interval` as Grafana writes it (`1h`, `1d`, `30m`).
    interval: String,
}

/// SQL quoting of one literal, as `PostgresQueryModel.quoteLiteral`.
fn quote_literal(v: &str) -> String {
    format!("'{}'", v.replace('\'', "''"))
}

/// Formats a `moment` pattern (the tokens Grafana dashboards use).
fn moment_format(t: DateTime<Utc>, pattern: &str) -> String {
    let tokens: [(&str, String); 7] = [
        ("YYYY", format!("{:04}", t.year())),
        ("SSS", format!("{:03}", t.timestamp_subsec_millis())),
        ("MM", format!("{:02}", t.month())),
        ("DD", format!("{:02}", t.day())),
        ("HH", format!("{:02}", t.hour())),
        ("mm", format!("{:02}", t.minute())),
        ("ss", format!("{:02}", t.second())),
    ];
    let mut out = String::new();
    let mut rest = pattern;
    'outer: while let Some(c) = rest.chars().next() {
        for (token, value) in &tokens {
            if let Some(tail) = rest.strip_prefix(token) {
                out.push_str(value);
                rest = tail;
                continue 'outer;
            }
        }
        out.push(c);
        rest = &rest[c.len_utf8()..];
    }
    out
}

/// `dateTime(ms).toISOString()`.
fn iso_ms(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
}

impl Scope {
    /// `${__from}` / `${__to}` with an optional format (`date:YYYY-MM-DD`).
    /// Grafana formats in the browser's zone; the test's browser is on UTC.
    fn time_macro(&self, t: DateTime<Utc>, format: Option<&str>) -> String {
        let ms = t.timestamp_millis();
        match format {
            None => ms.to_string(),
            Some(f) => match f.strip_prefix("date") {
                Some("") | Some(":iso") => iso_ms(t),
                Some(":ms") => ms.to_string(),
                Some(":seconds") => ((ms as f64 / 1000.0).round() as i64).to_string(),
                Some(p) if p.starts_with(':') => moment_format(t, &p[1..]),
                _ => panic!("format `{f}` of ${{__from}}/${{__to}} is not modelled here"),
            },
        }
    }

    /// A user variable with an optional format, or `None` when unknown.
    fn variable(&self, name: &str, format: Option<&str>) -> Option<String> {
        if name == "__from" {
            return Some(self.time_macro(self.range.from, format));
        }
        if name == "__to" {
            return Some(self.time_macro(self.range.to, format));
        }
        let value = match name {
            "__interval" => VarValue::One(self.interval.clone()),
            "__interval_ms" => VarValue::One(interval_ms(&self.interval).to_string()),
            _ => self.vars.get(name)?.clone(),
        };
        Some(match (format, value) {
            // The data source's interpolateVariable: a single value has its
            // quotes doubled (the query supplies the outer quotes), a list
            // becomes quoted literals joined by commas.
            (None, VarValue::One(v)) => v.replace('\'', "''"),
            (None, VarValue::Many(vs)) => vs
                .iter()
                .map(|v| quote_literal(v))
                .collect::<Vec<_>>()
                .join(","),
            (Some("csv" | "raw"), VarValue::One(v)) => v,
            (Some("csv" | "raw"), VarValue::Many(vs)) => vs.join(","),
            (Some("sqlstring"), VarValue::One(v)) => quote_literal(&v),
            (Some("sqlstring"), VarValue::Many(vs)) => vs
                .iter()
                .map(|v| quote_literal(v))
                .collect::<Vec<_>>()
                .join(","),
            (Some("singlequote"), VarValue::One(v)) => format!("'{}'", v.replace('\'', "\\'")),
            (Some("singlequote"), VarValue::Many(vs)) => vs
                .iter()
                .map(|v| format!("'{}'", v.replace('\'', "\\'")))
                .collect::<Vec<_>>()
                .join(","),
            (Some("pipe"), VarValue::One(v)) => v,
            (Some("pipe"), VarValue::Many(vs)) => vs.join("|"),
            (Some(f), _) => panic!("variable format `{f}` is not modelled here"),
        })
    }

    /// The browser's step: `templateSrv.replace(rawSql, scopedVars,
    /// interpolateVariable)`. Unknown names (the backend's macros) stay.
    fn interpolate(&self, sql: &str) -> String {
        let bytes = sql.as_bytes();
        let word = |from: usize| {
            let mut end = from;
            while end < bytes.len() && (bytes[end].is_ascii_alphanumeric() || bytes[end] == b'_') {
                end += 1;
            }
            end
        };
        let mut out = String::with_capacity(sql.len());
        let mut i = 0;
        while i < sql.len() {
            let rest = &sql[i..];
            if let Some(inner) = rest.strip_prefix("${") {
                if let Some(close) = inner.find('}') {
                    let body = &inner[..close];
                    let (name, format) = match body.split_once(':') {
                        Some((n, f)) => (n, Some(f)),
                        None => (body, None),
                    };
                    // `${var.field}` paths are not used by this dashboard.
                    if let Some(v) = self.variable(name, format) {
                        out.push_str(&v);
                        i += 2 + close + 1;
                        continue;
                    }
                }
            } else if let Some(inner) = rest.strip_prefix("[[") {
                if let Some(close) = inner.find("]]") {
                    let body = &inner[..close];
                    let (name, format) = match body.split_once(':') {
                        Some((n, f)) => (n, Some(f)),
                        None => (body, None),
                    };
                    if let Some(v) = self.variable(name, format) {
                        out.push_str(&v);
                        i += 2 + close + 2;
                        continue;
                    }
                }
            } else if bytes[i] == b'$' {
                let end = word(i + 1);
                if end > i + 1 {
                    if let Some(v) = self.variable(&sql[i + 1..end], None) {
                        out.push_str(&v);
                        i = end;
                        continue;
                    }
                    out.push_str(&sql[i..end]);
                    i = end;
                    continue;
                }
            }
            let c = rest.chars().next().unwrap();
            out.push(c);
            i += c.len_utf8();
        }
        out
    }

    /// Both steps: browser interpolation, then the backend's macros.
    fn expand(&self, sql: &str) -> Result<String, String> {
        expand_backend(&self.interpolate(sql), self.range, &self.interval)
    }
}

/// `gtime.ParseInterval`: `5m`, `1h`, `1h30m`, `500ms`, `1d`, `2w`, `1M`, `1y`.
fn parse_interval(text: &str) -> Result<Duration, String> {
    let bad = || format!("error parsing interval {text}");
    let digits = text.bytes().take_while(u8::is_ascii_digit).count();
    if digits > 0 && digits + 1 == text.len() {
        let n: u32 = text[..digits].parse().map_err(|_| bad())?;
        let now = Utc::now();
        let later = match &text[digits..] {
            "d" => Some(now + chrono::Duration::days(i64::from(n))),
            "w" => Some(now + chrono::Duration::days(7 * i64::from(n))),
            "M" => now.checked_add_months(Months::new(n)),
            "y" => now.checked_add_months(Months::new(12 * n)),
            _ => None,
        };
        if let Some(later) = later {
            return (later - now).to_std().map_err(|_| bad());
        }
    }
    // Go's time.ParseDuration.
    let mut total = 0f64;
    let mut rest = text;
    if rest.is_empty() {
        return Err(bad());
    }
    while !rest.is_empty() {
        let n = rest
            .bytes()
            .take_while(|b| b.is_ascii_digit() || *b == b'.')
            .count();
        let value: f64 = rest[..n].parse().map_err(|_| bad())?;
        rest = &rest[n..];
        let u = rest.bytes().take_while(u8::is_ascii_alphabetic).count();
        let unit = match &rest[..u] {
            "ns" => 1e-9,
            "us" => 1e-6,
            "ms" => 1e-3,
            "s" => 1.0,
            "m" => 60.0,
            "h" => 3600.0,
            _ => return Err(bad()),
        };
        total += value * unit;
        rest = &rest[u..];
    }
    Ok(Duration::from_secs_f64(total))
}

/// `$__interval_ms` for an interval text.
fn interval_ms(interval: &str) -> u128 {
    parse_interval(interval).map(|d| d.as_millis()).unwrap_or(0)
}

/// Go's `%v` of a float64 (no exponent below 1e21).
fn go_float(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e21 {
        format!("{}", v as i64)
    } else {
        format!("{v}")
    }
}

/// `time.RFC3339Nano` in UTC: trailing zeros of the fraction dropped.
fn rfc3339_nano(t: DateTime<Utc>) -> String {
    let base = t.format("%Y-%m-%dT%H:%M:%S").to_string();
    let nanos = t.timestamp_subsec_nanos();
    if nanos == 0 {
        format!("{base}Z")
    } else {
        let frac = format!("{nanos:09}");
        format!("{base}.{}Z", frac.trim_end_matches('0'))
    }
}

/// The fill argument of `$__timeGroup(col, interval, fill)` (`SetupFillmode`).
fn check_fill(fill: &str) -> Result<(), String> {
    match fill {
        "NULL" | "previous" => Ok(()),
        v => v
            .parse::<f64>()
            .map(|_| ())
            .map_err(|_| format!("error parsing fill value {v}")),
    }
}

/// One macro of the postgres macro engine (TimescaleDB off).
fn evaluate_macro(name: &str, args: &[String], range: TimeRange) -> Result<String, String> {
    let first = || {
        args.first()
            .filter(|a| !a.is_empty())
            .cloned()
            .ok_or_else(|| format!("missing time column argument for macro {name}"))
    };
    let group = |args: &[String]| -> Result<f64, String> {
        if args.len() < 2 {
            return Err(format!(
                "macro {name} needs time column and interval and optional fill value"
            ));
        }
        let interval = parse_interval(args[1].trim_matches('\''))
            .map_err(|_| format!("error parsing interval {}", args[1]))?;
        if args.len() == 3 {
            check_fill(&args[2])?;
        }
        Ok(interval.as_secs_f64())
    };
    let (from, to) = (range.from, range.to);
    Ok(match name {
        "__time" => format!("{} AS \"time\"", first()?),
        "__timeEpoch" => format!("extract(epoch from {}) as \"time\"", first()?),
        "__timeFilter" => format!(
            "{} BETWEEN '{}' AND '{}'",
            first()?,
            rfc3339_nano(from),
            rfc3339_nano(to)
        ),
        "__timeFrom" => format!("'{}'", rfc3339_nano(from)),
        "__timeTo" => format!("'{}'", rfc3339_nano(to)),
        "__timeGroup" => {
            let s = go_float(group(args)?);
            format!("floor(extract(epoch from {})/{s})*{s}", args[0])
        }
        "__timeGroupAlias" => {
            format!(
                "{} AS \"time\"",
                evaluate_macro("__timeGroup", args, range)?
            )
        }
        "__unixEpochFilter" => {
            let c = first()?;
            format!("{c} >= {} AND {c} <= {}", from.timestamp(), to.timestamp())
        }
        "__unixEpochNanoFilter" => {
            let c = first()?;
            format!(
                "{c} >= {} AND {c} <= {}",
                from.timestamp_nanos_opt().unwrap_or_default(),
                to.timestamp_nanos_opt().unwrap_or_default()
            )
        }
        "__unixEpochNanoFrom" => from.timestamp_nanos_opt().unwrap_or_default().to_string(),
        "__unixEpochNanoTo" => to.timestamp_nanos_opt().unwrap_or_default().to_string(),
        "__unixEpochGroup" => {
            let s = go_float(group(args)?);
            format!("floor(({})/{s})*{s}", args[0])
        }
        "__unixEpochGroupAlias" => format!(
            "{} AS \"time\"",
            evaluate_macro("__unixEpochGroup", args, range)?
        ),
        other => return Err(format!("unknown macro \"{other}\"")),
    })
}

/// The backend's step: global substitutions (`sqleng.Interpolate`), then
/// the postgres macro engine, whose pattern is
/// `\$([_a-zA-Z0-9]+)\(([^\)]*)\)`.
fn expand_backend(sql: &str, range: TimeRange, interval: &str) -> Result<String, String> {
    let interval_text = interval.to_string();
    let sql = sql
        .replace("$__interval_ms", &interval_ms(interval).to_string())
        .replace("$__interval", &interval_text)
        .replace("$__unixEpochFrom()", &range.from.timestamp().to_string())
        .replace("$__unixEpochTo()", &range.to.timestamp().to_string());
    let bytes = sql.as_bytes();
    let mut out = String::with_capacity(sql.len());
    let mut i = 0;
    let mut copied = 0;
    while i < bytes.len() {
        if bytes[i] != b'$' {
            i += 1;
            continue;
        }
        let start = i;
        let mut end = i + 1;
        while end < bytes.len() && (bytes[end].is_ascii_alphanumeric() || bytes[end] == b'_') {
            end += 1;
        }
        if end == start + 1 || end >= bytes.len() || bytes[end] != b'(' {
            i += 1;
            continue;
        }
        let Some(close) = sql[end + 1..].find(')') else {
            i += 1;
            continue;
        };
        let whole = &sql[start..end + 1 + close + 1];
        let mut name = &sql[start + 1..end];
        // Pre-5.3 compatibility: `$__timeGroup(...)` directly followed by a
        // comma (at its first occurrence) gets the alias.
        if name == "__timeGroup"
            && let Some(at) = sql.find(whole)
            && sql.as_bytes().get(at + whole.len()) == Some(&b',')
        {
            name = "__timeGroupAlias";
        }
        let args: Vec<String> = sql[end + 1..end + 1 + close]
            .split(',')
            .map(|a| a.trim_matches(' ').to_string())
            .collect();
        out.push_str(&sql[copied..start]);
        out.push_str(&evaluate_macro(name, &args, range)?);
        i = start + whole.len();
        copied = i;
    }
    out.push_str(&sql[copied..]);
    Ok(out)
}

// ---------------------------------------------------------------------------
// The dashboard file.

fn dashboard() -> Value {
    let text = std::fs::read_to_string(DASHBOARD).expect("dashboards/oko.json is readable");
    serde_json::from_str(&text).expect("dashboards/oko.json is JSON")
}

/// Every panel, rows' nested panels included.
fn panels(dash: &Value) -> Vec<&Value> {
    fn walk<'a>(list: &'a Value, out: &mut Vec<&'a Value>) {
        for p in list.as_array().into_iter().flatten() {
            out.push(p);
            if let Some(nested) = p.get("panels") {
                walk(nested, out);
            }
        }
    }
    let mut out = Vec::new();
    walk(&dash["panels"], &mut out);
    out
}

fn variables(dash: &Value) -> Vec<&Value> {
    dash["templating"]["list"]
        .as_array()
        .map(|l| l.iter().collect())
        .unwrap_or_default()
}

/// A query variable's SQL (a string, or `{ rawSql }` since Grafana 10).
fn variable_sql(var: &Value) -> Option<&str> {
    var["query"]
        .as_str()
        .or_else(|| var["query"]["rawSql"].as_str())
}

fn text(v: &Value) -> &str {
    v.as_str().unwrap_or_default()
}

/// The value a variable was saved with (`current.value`).
fn saved_value(var: &Value) -> VarValue {
    match &var["current"]["value"] {
        Value::Array(vs) => VarValue::Many(vs.iter().map(|v| text(v).to_string()).collect()),
        v => VarValue::One(text(v).to_string()),
    }
}

/// How Grafana's data frame types a column, from its type OID
/// (`getFieldTypesFromDescriptions` in the pgx engine).
#[derive(Clone, Copy, Debug, PartialEq)]
enum FieldKind {
    Number,
    Time,
    Bool,
    Text,
}

fn field_kind(ty: &Type) -> FieldKind {
    match *ty {
        Type::INT2 | Type::INT4 | Type::INT8 | Type::FLOAT4 | Type::FLOAT8 | Type::NUMERIC => {
            FieldKind::Number
        }
        Type::TIMESTAMP | Type::TIMESTAMPTZ | Type::DATE => FieldKind::Time,
        Type::BOOL => FieldKind::Bool,
        _ => FieldKind::Text,
    }
}

/// What the panel needs of each column's type to draw it, checked against
/// the types the server describes. Returns the problems found.
fn type_problems(panel: &Value, target: &Value, columns: &[(String, Type)]) -> Vec<String> {
    let mut need: Vec<(usize, &[FieldKind], &str)> = Vec::new();
    const NUMBER: &[FieldKind] = &[FieldKind::Number];
    const TIME: &[FieldKind] = &[FieldKind::Time];
    const TIME_OR_NUMBER: &[FieldKind] = &[FieldKind::Time, FieldKind::Number];
    let kind = text(&panel["type"]);
    for (i, (name, _)) in columns.iter().enumerate() {
        if name == "time" {
            need.push((i, TIME_OR_NUMBER, "the time column"));
        } else if text(&target["format"]) == "time_series" {
            need.push((i, NUMBER, "a series value (text would become a label)"));
        } else if ["piechart", "stat", "xychart", "barchart"].contains(&kind) && i > 0 {
            need.push((i, NUMBER, "a plotted value"));
        }
    }
    for o in panel["fieldConfig"]["overrides"]
        .as_array()
        .into_iter()
        .flatten()
    {
        let Some(i) = columns
            .iter()
            .position(|(n, _)| n == text(&o["matcher"]["options"]))
        else {
            continue;
        };
        for prop in o["properties"].as_array().into_iter().flatten() {
            match (text(&prop["id"]), &prop["value"]) {
                ("unit", Value::String(u)) if u.starts_with("time:") => {
                    need.push((i, TIME, "a column shown as a time"))
                }
                ("unit", _) | ("decimals", _) | ("mappings", _) | ("custom.cellOptions", _) => {
                    need.push((i, NUMBER, "a column with a unit, mapping or colour"))
                }
                _ => {}
            }
        }
    }
    need.into_iter()
        .filter(|(i, kinds, _)| !kinds.contains(&field_kind(&columns[*i].1)))
        .map(|(i, kinds, why)| {
            format!(
                "column `{}` is sent as `{}`; Grafana needs {kinds:?} for {why}",
                columns[i].0,
                columns[i].1.name()
            )
        })
        .collect()
}

// ---------------------------------------------------------------------------
// The wire.

async fn connect(port: u16) -> Client {
    let (client, conn) = tokio_postgres::connect(
        &format!("host=127.0.0.1 port={port} user=oko dbname=oko"),
        NoTls,
    )
    .await
    .expect("connect to oko serve");
    tokio::spawn(conn);
    client
}

/// A connection that is opened again when the server dropped it, so one
/// failing query cannot hide the ones after it.
struct Conn {
    port: u16,
    client: Client,
}

/// What a query returned: its column names and rows as text.
#[derive(Debug, Default)]
struct Rows {
    columns: Vec<String>,
    rows: Vec<Vec<Option<String>>>,
}

impl Rows {
    fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// The first column's values.
    fn firsts(&self) -> Vec<String> {
        self.rows
            .iter()
            .filter_map(|r| r.first().cloned().flatten())
            .collect()
    }
}

/// The rows, or the server's error.
type Outcome = Result<Rows, String>;

impl Conn {
    async fn open(port: u16) -> Conn {
        Conn {
            port,
            client: connect(port).await,
        }
    }

    /// Runs `sql` over the simple query protocol.
    async fn run(&mut self, sql: &str) -> Outcome {
        if self.client.is_closed() {
            self.client = connect(self.port).await;
        }
        let result = tokio::time::timeout(QUERY_TIMEOUT, self.client.simple_query(sql)).await;
        let messages = match result {
            Err(_) => {
                // The query may still run; do not wait for it.
                self.client = connect(self.port).await;
                return Err(format!("no answer within {QUERY_TIMEOUT:?}"));
            }
            Ok(Err(e)) => {
                return Err(match e.as_db_error() {
                    Some(db) => format!("{} (SQLSTATE {})", db.message(), db.code().code()),
                    None => format!("{e}"),
                });
            }
            Ok(Ok(m)) => m,
        };
        let mut out = Rows::default();
        for m in &messages {
            if let SimpleQueryMessage::Row(r) = m {
                if out.columns.is_empty() {
                    out.columns = r.columns().iter().map(|c| c.name().to_string()).collect();
                }
                out.rows
                    .push((0..r.len()).map(|i| r.get(i).map(str::to_string)).collect());
            }
        }
        Ok(out)
    }

    /// The column names and types the server describes for `sql`. pgx
    /// reads them from the simple protocol's RowDescription; tokio-postgres
    /// hides them there, so they are asked for with Parse/Describe, which
    /// OKO answers from the same Arrow schema.
    async fn describe(&mut self, sql: &str) -> Result<Vec<(String, Type)>, String> {
        if self.client.is_closed() {
            self.client = connect(self.port).await;
        }
        match tokio::time::timeout(QUERY_TIMEOUT, self.client.prepare(sql)).await {
            Err(_) => Err(format!("no description within {QUERY_TIMEOUT:?}")),
            Ok(Err(e)) => Err(e.to_string()),
            Ok(Ok(st)) => Ok(st
                .columns()
                .iter()
                .map(|c| (c.name().to_string(), c.type_().clone()))
                .collect()),
        }
    }
}

/// Failures collected over a group; asserted at once.
#[derive(Default)]
struct Failures(Vec<String>);

impl Failures {
    fn add(&mut self, what: &str, sql: &str, why: &str) {
        self.0
            .push(format!("--- {what}\n    error: {why}\n    sql:\n{sql}\n"));
    }

    fn assert_none(self, group: &str) {
        assert!(
            self.0.is_empty(),
            "{} of the {group} failed:\n\n{}",
            self.0.len(),
            self.0.join("\n")
        );
    }
}

/// The values of the dashboard's variables, resolved as Grafana does on
/// load: query variables run (in order; a later one may use an earlier
/// one), custom and textbox variables keep their saved value. A query
/// variable whose query fails keeps its saved value (the failure is the
/// variables test's to report).
async fn resolve_variables(conn: &mut Conn, dash: &Value, range: TimeRange) -> Scope {
    let mut scope = Scope {
        vars: BTreeMap::new(),
        range,
        interval: "1h".into(),
    };
    for var in variables(dash) {
        let name = text(&var["name"]).to_string();
        let mut value = saved_value(var);
        if text(&var["type"]) == "query"
            && let Some(rows) = variable_rows(conn, &scope, var)
                .await
                .ok()
                .filter(|r| !r.is_empty())
        {
            let values: Vec<String> = rows.into_iter().map(|(v, _)| v).collect();
            value = match &value {
                // "All": the variable's custom all value as it is (Grafana
                // formats it no further), else every option.
                VarValue::Many(saved) if saved.iter().any(|v| v == "$__all") => {
                    match var["allValue"].as_str() {
                        Some(all) => VarValue::One(all.to_string()),
                        None => VarValue::Many(values),
                    }
                }
                VarValue::One(saved) if values.contains(saved) => value.clone(),
                VarValue::Many(saved) if saved.iter().all(|v| values.contains(v)) => value.clone(),
                _ => VarValue::One(values[0].clone()),
            };
        }
        scope.vars.insert(name, value);
    }
    scope
}

/// Runs a query variable's SQL; returns `(value, text)` pairs as Grafana
/// reads them (`__value`/`__text` columns, else the first column).
async fn variable_rows(
    conn: &mut Conn,
    scope: &Scope,
    var: &Value,
) -> Result<Vec<(String, String)>, (String, String)> {
    let raw = variable_sql(var).unwrap_or_default();
    let sql = scope.expand(raw).map_err(|e| (raw.to_string(), e))?;
    let rows = conn.run(&sql).await.map_err(|e| (sql.clone(), e))?;
    // `transformMetricFindResponse`: `__value` and `__text` columns when
    // present, else the first column is both.
    let at = |name: &str| rows.columns.iter().position(|c| c == name);
    let value_at = at("__value").or(at("__text")).unwrap_or(0);
    let text_at = at("__text").or(at("__value")).unwrap_or(0);
    Ok(rows
        .rows
        .iter()
        .map(|r| {
            let cell = |i: usize| r.get(i).cloned().flatten().unwrap_or_default();
            (cell(value_at), cell(text_at))
        })
        .collect())
}

// ---------------------------------------------------------------------------
// The tests.

/// The expansion reproduces Grafana's own expected outputs
/// (`macros_test.go`, `interpolationTruthTable.test.ts`), so the server
/// tests below send what Grafana sends.
#[test]
fn macros_and_variables_expand_as_grafana_does() {
    let from = Utc.with_ymd_and_hms(2018, 4, 12, 18, 0, 0).unwrap();
    let range = TimeRange {
        from,
        to: from + chrono::Duration::minutes(5),
    };
    let be = |sql: &str| expand_backend(sql, range, "1m").unwrap();
    assert_eq!(
        be("select $__time(time_column)"),
        "select time_column AS \"time\""
    );
    assert_eq!(
        be("WHERE $__timeFilter(time_column)"),
        "WHERE time_column BETWEEN '2018-04-12T18:00:00Z' AND '2018-04-12T18:05:00Z'"
    );
    assert_eq!(be("select $__timeFrom()"), "select '2018-04-12T18:00:00Z'");
    assert_eq!(be("select $__timeTo()"), "select '2018-04-12T18:05:00Z'");
    assert_eq!(
        be("SELECT $__timeGroup(time_column,'5m'), value"),
        "SELECT floor(extract(epoch from time_column)/300)*300 AS \"time\", value"
    );
    assert_eq!(
        be("SELECT $__timeGroup(time_column,'5m') as time, value"),
        "SELECT floor(extract(epoch from time_column)/300)*300 as time, value"
    );
    assert_eq!(
        be("SELECT $__timeGroupAlias(time_column,'5m')"),
        "SELECT floor(extract(epoch from time_column)/300)*300 AS \"time\""
    );
    assert_eq!(
        be("$__timeGroup(time_column , '5m')"),
        "floor(extract(epoch from time_column)/300)*300"
    );
    assert_eq!(
        be("SELECT $__timeGroupAlias(period_start, 1h, 0)"),
        "SELECT floor(extract(epoch from period_start)/3600)*3600 AS \"time\""
    );
    assert_eq!(
        be("SELECT $__timeGroupAlias(period_start,'1d', NULL)"),
        "SELECT floor(extract(epoch from period_start)/86400)*86400 AS \"time\""
    );
    assert_eq!(
        be("$__timeGroup(t, '20ms', previous)"),
        "floor(extract(epoch from t)/0.02)*0.02"
    );
    assert!(expand_backend("$__timeGroup(t, '1h', nope)", range, "1m").is_err());
    assert!(expand_backend("$__timeGroup(t)", range, "1m").is_err());
    assert!(expand_backend("$__nope(t)", range, "1m").is_err());
    assert_eq!(
        be("select $__unixEpochFilter(time)"),
        format!(
            "select time >= {} AND time <= {}",
            from.timestamp(),
            from.timestamp() + 300
        )
    );
    assert_eq!(
        be("SELECT $__unixEpochGroupAlias(time_column+time_adjustment,'5m')"),
        "SELECT floor((time_column+time_adjustment)/300)*300 AS \"time\""
    );
    assert_eq!(
        be("SELECT $__unixEpochFrom(), $__unixEpochTo(), $__interval_ms, $__interval"),
        format!(
            "SELECT {}, {}, 60000, 1m",
            from.timestamp(),
            from.timestamp() + 300
        )
    );
    let half = TimeRange {
        from: Utc.timestamp_opt(-312_915_600, 500_000_000).unwrap(),
        to: Utc.timestamp_opt(318_412_800, 500_000_000).unwrap(),
    };
    assert_eq!(rfc3339_nano(half.from), "1960-02-01T07:00:00.5Z");
    assert_eq!(rfc3339_nano(half.to), "1980-02-03T08:00:00.5Z");

    let scope = Scope {
        vars: BTreeMap::from([
            ("tenant".to_string(), VarValue::One("o'kna".into())),
            (
                "managers".to_string(),
                VarValue::Many(vec!["m1".into(), "Нет менеджера".into()]),
            ),
        ]),
        range: demo_range(),
        interval: "1h".into(),
    };
    assert_eq!(
        scope.interpolate("tenant = '$tenant' AND t = '${tenant}' AND [[tenant]]"),
        "tenant = 'o''kna' AND t = 'o''kna' AND o''kna"
    );
    assert_eq!(
        scope.interpolate("IN ($managers) '${managers:csv}' ${managers:sqlstring}"),
        "IN ('m1','Нет менеджера') 'm1,Нет менеджера' 'm1','Нет менеджера'"
    );
    assert_eq!(
        scope.interpolate(
            "'${__from:date:YYYY-MM-DD}' '${__to:date:YYYY-MM-DD HH:mm:ss}' ${__from} ${__to:date}"
        ),
        "'2026-07-01' '2026-08-01 00:00:00' 1782864000000 2026-08-01T00:00:00.000Z"
    );
    assert_eq!(
        scope.interpolate("$__timeFilter(x) $unknown $__interval ${__interval_ms}"),
        "$__timeFilter(x) $unknown 1h 3600000"
    );
}

/// The column-type rules flag what Grafana could not draw: a plotted value
/// or a series value sent as text, a time column sent as text.
#[test]
fn grafana_field_types_follow_the_column_types() {
    let col = |n: &str, t: Type| (n.to_string(), t);
    let pie = serde_json::json!({"type": "piechart", "fieldConfig": {"overrides": []}});
    let table = serde_json::json!({"format": "table"});
    let good = [col("channel", Type::TEXT), col("leads", Type::INT8)];
    assert!(type_problems(&pie, &table, &good).is_empty());
    let bad = [col("channel", Type::TEXT), col("leads", Type::TEXT)];
    assert_eq!(type_problems(&pie, &table, &bad).len(), 1);

    let series = serde_json::json!({"type": "timeseries", "fieldConfig": {"overrides": []}});
    let ts = serde_json::json!({"format": "time_series"});
    let good = [col("time", Type::FLOAT8), col("SL", Type::FLOAT8)];
    assert!(type_problems(&series, &ts, &good).is_empty());
    let good = [col("time", Type::TIMESTAMP), col("SL", Type::NUMERIC)];
    assert!(type_problems(&series, &ts, &good).is_empty());
    let bad = [col("time", Type::TEXT), col("SL", Type::VARCHAR)];
    assert_eq!(type_problems(&series, &ts, &bad).len(), 2);

    let grid = serde_json::json!({"type": "table", "fieldConfig": {"overrides": [
        {"matcher": {"id": "byName", "options": "Час"},
         "properties": [{"id": "unit", "value": "time:YYYY-MM-DD HH:mm"}]},
        {"matcher": {"id": "byName", "options": "CSAT"},
         "properties": [{"id": "unit", "value": "percentunit"}]}]}});
    let good = [
        col("Час", Type::TIMESTAMP),
        col("CSAT", Type::FLOAT8),
        col("x", Type::TEXT),
    ];
    assert!(type_problems(&grid, &table, &good).is_empty());
    let bad = [col("Час", Type::TEXT), col("CSAT", Type::TEXT)];
    assert_eq!(type_problems(&grid, &table, &bad).len(), 2);
}

/// The dashboard is a Grafana 10/11 dashboard over the provisioned OKO
/// data source, with the filters the reports take.
#[test]
fn dashboard_file_is_a_grafana_dashboard_over_the_oko_data_source() {
    let dash = dashboard();
    let schema = dash["schemaVersion"].as_i64().unwrap_or_default();
    assert!(
        (36..=41).contains(&schema),
        "schemaVersion {schema} is not Grafana 10/11's"
    );
    assert!(!text(&dash["uid"]).is_empty(), "the dashboard needs a uid");
    let mut ids = std::collections::BTreeSet::new();
    let mut kinds = std::collections::BTreeSet::new();
    for p in panels(&dash) {
        let title = text(&p["title"]);
        assert!(
            ids.insert(p["id"].as_i64().unwrap_or(-1)),
            "panel `{title}`: duplicate or missing id"
        );
        for k in ["x", "y", "w", "h"] {
            assert!(p["gridPos"][k].is_i64(), "panel `{title}`: gridPos.{k}");
        }
        kinds.insert(text(&p["type"]).to_string());
        if text(&p["type"]) == "row" {
            continue;
        }
        assert_eq!(text(&p["datasource"]["uid"]), "oko", "panel `{title}`");
        let targets = p["targets"].as_array().expect("targets");
        assert!(!targets.is_empty(), "panel `{title}` has no query");
        for t in targets {
            assert_eq!(text(&t["datasource"]["uid"]), "oko", "panel `{title}`");
            assert!(!text(&t["rawSql"]).is_empty(), "panel `{title}`: rawSql");
            assert_eq!(t["rawQuery"], Value::Bool(true), "panel `{title}`");
            assert!(
                ["table", "time_series"].contains(&text(&t["format"])),
                "panel `{title}`: format"
            );
        }
        if text(&p["type"]) == "xychart" {
            let series = &p["options"]["series"][0];
            assert_eq!(
                text(&series["pointSize"]["field"]),
                "Средняя оценка",
                "bubble `{title}`: size is the average score"
            );
            // Grafana 11 migrates these options only from a panel without
            // pluginVersion, and needs custom.pointSize to do it.
            assert!(p.get("pluginVersion").is_none(), "bubble `{title}`");
            assert!(
                p["fieldConfig"]["defaults"]["custom"]["pointSize"].is_object(),
                "bubble `{title}`"
            );
        }
    }
    for kind in [
        "piechart",
        "table",
        "xychart",
        "timeseries",
        "stat",
        "heatmap",
        "barchart",
    ] {
        assert!(kinds.contains(kind), "no {kind} panel");
    }
    let all = panels(&dash)
        .iter()
        .flat_map(|p| p["targets"].as_array().into_iter().flatten())
        .map(|t| text(&t["rawSql"]).to_string())
        .collect::<Vec<_>>()
        .join("\n");
    for report in [
        "summary_report(",
        "manager_report(",
        "bubble_productivity(",
        "bubble_speed(",
        "cc_report(",
        "cc_tags(",
        "cc_tag_hours(",
        "cc_hour_of_day(",
        "cc_day_of_week(",
        "cc_manual(",
        "cc_manual_beside_auto",
        "$__timeFilter(",
        "$__timeGroupAlias(",
        "${__from:date:YYYY-MM-DD}",
        "${__to:date:YYYY-MM-DD}",
    ] {
        assert!(all.contains(report), "no panel uses {report}");
    }
    // Every period report a panel calls gets the page's filters (SPEC.md
    // §7: every report takes them), none filters channels by hand.
    for sql in all.split("\n").filter(|l| l.contains("FROM ")) {
        for function in [
            "summary_report(",
            "manager_report(",
            "bubble_productivity(",
            "bubble_speed(",
            "cc_report(",
            "cc_tags(",
            "cc_tag_hours(",
            "cc_hour_of_day(",
            "cc_day_of_week(",
            "cc_manual(",
        ] {
            if sql.contains(function) {
                assert!(
                    sql.contains("'$scope', '$exclude', '${managers:csv}'"),
                    "{sql} does not pass the page's filters"
                );
            }
        }
    }
    assert!(
        !all.contains("WHEN 'calls' THEN channel IN"),
        "a panel filters channels by hand"
    );
    // The speed bubbles: both scales run from more to less (values negated)
    // and end at the sample's minimum (the report's x_min / y_min set the
    // axes' max); the productivity axes start at it.
    for (title, handler) in [("Скорость", "max"), ("Продуктивность", "min")] {
        let panel = panels(&dash)
            .into_iter()
            .find(|p| text(&p["title"]).starts_with(title))
            .unwrap_or_else(|| panic!("no {title} panel"));
        let transforms = panel["transformations"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        assert_eq!(transforms.len(), 2, "{title}: x and y axes from the report");
        for t in &transforms {
            assert_eq!(text(&t["id"]), "configFromData");
            assert_eq!(text(&t["options"]["mappings"][0]["handlerKey"]), handler);
        }
        if handler == "max" {
            let sql = text(&panel["targets"][0]["rawSql"]);
            assert!(
                sql.contains("-CAST(b.x") && sql.contains("-CAST(b.y"),
                "{sql}"
            );
        }
    }

    let vars = variables(&dash);
    let var = |name: &str| {
        *vars
            .iter()
            .find(|v| text(&v["name"]) == name)
            .unwrap_or_else(|| panic!("no variable `{name}`"))
    };
    let tenant = var("tenant");
    assert_eq!(text(&tenant["type"]), "query");
    assert!(
        variable_sql(tenant)
            .unwrap_or_default()
            .contains("FROM tenants")
    );
    // The manager picker lists the managers of the picked period (read
    // through the period's report, so it prunes like the panels) and is
    // asked again when the period changes.
    let managers = var("managers");
    assert_eq!(
        managers["refresh"], 2,
        "managers refresh on time range change"
    );
    assert!(
        variable_sql(managers)
            .unwrap_or_default()
            .contains("manager_report('${__from:date:YYYY-MM-DD}', '${__to:date:YYYY-MM-DD}'")
    );
    let scope = var("scope");
    assert_eq!(text(&scope["type"]), "custom");
    assert_eq!(text(&scope["query"]), "all,calls,chats");
    let exclude = var("exclude");
    assert_eq!(text(&exclude["query"]), "Спам");
    assert_eq!(saved_value(exclude), VarValue::One("Спам".into()));

    let root = env!("CARGO_MANIFEST_DIR");
    let ds = std::fs::read_to_string(format!(
        "{root}/dashboards/provisioning/datasources/oko.yaml"
    ))
    .expect("datasource provisioning");
    for needle in [
        "uid: oko",
        "localhost:5433",
        "database: oko",
        "user: oko",
        "sslmode: disable",
    ] {
        assert!(ds.contains(needle), "datasources/oko.yaml lacks `{needle}`");
    }
    let provider = std::fs::read_to_string(format!(
        "{root}/dashboards/provisioning/dashboards/oko.yaml"
    ))
    .expect("dashboard provisioning");
    assert!(provider.contains("providers:") && provider.contains("type: file"));
}

/// Every query variable runs and offers values (the tenant list includes
/// the demo tenants; the managers list includes the no-manager bucket).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dashboard_variables_run_as_grafana_sends_them() {
    let dash = dashboard();
    let server = start(&["--demo"]);
    let mut conn = Conn::open(server.port).await;
    let range = demo_range();
    let mut scope = Scope {
        vars: BTreeMap::new(),
        range,
        interval: "1h".into(),
    };
    let mut failures = Failures::default();
    for var in variables(&dash) {
        let name = text(&var["name"]).to_string();
        if text(&var["type"]) == "query" {
            match variable_rows(&mut conn, &scope, var).await {
                Err((sql, e)) => failures.add(&format!("variable `{name}`"), &sql, &e),
                Ok(rows) if rows.is_empty() => failures.add(
                    &format!("variable `{name}`"),
                    variable_sql(var).unwrap_or_default(),
                    "no values",
                ),
                Ok(rows) => {
                    let values: Vec<&str> = rows.iter().map(|(v, _)| v.as_str()).collect();
                    let expected: &[&str] = match name.as_str() {
                        "tenant" => &["okna", "dostavka", "klinika"],
                        "managers" => &["Нет менеджера"],
                        _ => &[],
                    };
                    for e in expected {
                        if !values.contains(e) {
                            failures.add(
                                &format!("variable `{name}`"),
                                variable_sql(var).unwrap_or_default(),
                                &format!("`{e}` is not among {values:?}"),
                            );
                        }
                    }
                    if rows.iter().any(|(v, t)| v.is_empty() || t.is_empty()) {
                        failures.add(
                            &format!("variable `{name}`"),
                            variable_sql(var).unwrap_or_default(),
                            &format!("an empty value or text in {rows:?}"),
                        );
                    }
                }
            }
        }
        // Later variables see this one as the dashboard saved it.
        scope.vars.insert(name, saved_value(var));
    }
    failures.assert_none("dashboard variables");
}

/// Every panel's query, expanded as Grafana expands it, runs over the
/// simple protocol, returns rows for the demo month with the column types
/// the panel needs to draw them — with the saved filters, then with other ones (another
/// tenant, chats only, no class excluded).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dashboard_panels_run_as_grafana_sends_them() {
    let dash = dashboard();
    let server = start(&["--demo"]);
    let mut conn = Conn::open(server.port).await;
    let range = demo_range();
    let saved = resolve_variables(&mut conn, &dash, range).await;
    let mut other = saved.clone();
    other
        .vars
        .insert("tenant".into(), VarValue::One("dostavka".into()));
    other
        .vars
        .insert("scope".into(), VarValue::One("chats".into()));
    other
        .vars
        .insert("exclude".into(), VarValue::One(String::new()));
    other.vars.insert(
        "managers".into(),
        VarValue::Many(vec!["m101".into(), "m102".into(), "Нет менеджера".into()]),
    );
    let mut failures = Failures::default();
    let mut ran = 0;
    for (label, scope) in [
        ("saved filters", &saved),
        ("dostavka, chats, nothing excluded", &other),
    ] {
        for p in panels(&dash) {
            let title = text(&p["title"]);
            for t in p["targets"].as_array().into_iter().flatten() {
                let what = format!("panel `{title}` target {} ({label})", text(&t["refId"]));
                let mut scope = scope.clone();
                // Grafana's $__interval is at least the panel's min interval;
                // a month over ~800 points rounds to 1h.
                scope.interval = p["interval"].as_str().unwrap_or("1h").to_string();
                let sql = match scope.expand(text(&t["rawSql"])) {
                    Ok(sql) => sql,
                    Err(e) => {
                        failures.add(
                            &what,
                            text(&t["rawSql"]),
                            &format!("interpolation failed: {e}"),
                        );
                        continue;
                    }
                };
                ran += 1;
                match conn.run(&sql).await {
                    Err(e) => failures.add(&what, &sql, &e),
                    Ok(rows) if rows.is_empty() => {
                        failures.add(&what, &sql, "no rows for a month the demo data covers")
                    }
                    Ok(rows) => {
                        eprintln!(
                            "{what}: {} rows of {:?}, first {:?}",
                            rows.rows.len(),
                            rows.columns,
                            rows.rows.first()
                        );
                        match conn.describe(&sql).await {
                            Err(e) => eprintln!("{what}: column types not described: {e}"),
                            Ok(columns) => {
                                for problem in type_problems(p, t, &columns) {
                                    failures.add(&what, &sql, &problem);
                                }
                            }
                        }
                    }
                }
            }
        }
    }
    assert!(ran >= 30, "only {ran} panel queries ran");
    failures.assert_none("dashboard panel queries");
}

/// The data source's "Save & test" and its setup queries: the ping (pgx's
/// `-- ping`, lib/pq's `;` in Grafana ≤ 11), `SELECT 1`, the version probe
/// of the configuration page and the TimescaleDB probe.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn grafana_connection_test_succeeds() {
    let server = start(&["--demo"]);
    let mut conn = Conn::open(server.port).await;
    let mut failures = Failures::default();
    let range = demo_range();
    let checks: &[(&str, &str)] = &[
        ("pgx ping (Grafana 11+)", "-- ping"),
        ("lib/pq ping (Grafana 10)", ";"),
        ("test query", "SELECT 1"),
        (
            "version probe (postgresMetaQuery.getVersion)",
            "SELECT current_setting('server_version_num')::int/100 as version",
        ),
        (
            "TimescaleDB probe (postgresMetaQuery.getTimescaleDBVersion)",
            "SELECT extversion FROM pg_extension WHERE extname = 'timescaledb'",
        ),
        ("server version text", "SELECT version()"),
    ];
    for (what, raw) in checks {
        let sql = match expand_backend(raw, range, "1h") {
            Ok(s) => s,
            Err(e) => {
                failures.add(what, raw, &e);
                continue;
            }
        };
        match conn.run(&sql).await {
            Err(e) => failures.add(what, &sql, &e),
            Ok(rows) => {
                let first = rows.firsts().into_iter().next().unwrap_or_default();
                if raw.contains("server_version_num") {
                    // Grafana parses it as major*100+minor, e.g. 1600.
                    match first.parse::<i64>() {
                        Ok(v) if v >= 906 => {}
                        _ => failures.add(what, &sql, &format!("not a version number: {rows:?}")),
                    }
                } else if (*raw == "SELECT 1" && first != "1")
                    || (raw.contains("version()") && !first.contains("PostgreSQL"))
                {
                    failures.add(what, &sql, &format!("answered {rows:?}"));
                }
            }
        }
    }
    failures.assert_none("connection-test queries");
}

/// The condition Grafana puts on `table_schema`: the schemas of the
/// session's `search_path` (`buildSchemaConstraint` in postgresMetaQuery.ts).
const SCHEMA_CONSTRAINT: &str = "
          quote_ident(table_schema) IN (
          SELECT
            CASE WHEN trim(s[i]) = '\"$user\"' THEN user ELSE trim(s[i]) END
          FROM
            generate_series(
              array_lower(string_to_array(current_setting('search_path'),','),1),
              array_upper(string_to_array(current_setting('search_path'),','),1)
            ) as i,
            string_to_array(current_setting('search_path'),',') s
          )";

const EXCLUDED_SCHEMAS: &str = "('information_schema',
                             'pg_catalog',
                             '_timescaledb_cache',
                             '_timescaledb_catalog',
                             '_timescaledb_internal',
                             '_timescaledb_config',
                             'timescaledb_information',
                             'timescaledb_experimental')";

/// The query editor's pickers (builder mode and code-mode completion): the
/// table list and a table's columns, in Grafana 10–11's form and in the
/// newer schema-aware form. Grafana sends them without template
/// interpolation, through the backend's macro step.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn grafana_query_editor_pickers_list_tables_and_columns() {
    let server = start(&["--demo"]);
    let mut conn = Conn::open(server.port).await;
    let mut failures = Failures::default();
    let range = demo_range();
    let table = "leads";
    let quoted = format!("'{table}'");
    let tables_10 = format!(
        "select quote_ident(table_name) as \"table\" from information_schema.tables
    where quote_ident(table_schema) not in {EXCLUDED_SCHEMAS}
      and {SCHEMA_CONSTRAINT}"
    );
    let columns_10 = format!(
        "select quote_ident(column_name) as \"column\", data_type as \"type\"
    from information_schema.columns
    where quote_ident(table_name) = '{table}'"
    );
    let tables_12 = format!(
        "SELECT
    CASE WHEN {SCHEMA_CONSTRAINT}
      THEN quote_ident(table_name)
      ELSE quote_ident(table_schema) || '.' || quote_ident(table_name)
    END AS \"table\"
    FROM information_schema.tables
    WHERE quote_ident(table_schema) NOT IN {EXCLUDED_SCHEMAS}
    ORDER BY CASE WHEN {SCHEMA_CONSTRAINT} THEN 0 ELSE 1 END, 1"
    );
    let columns_12 = format!(
        "SELECT quote_ident(column_name) AS \"column\", data_type AS \"type\"
    FROM information_schema.columns
    WHERE
      CASE WHEN array_length(parse_ident({quoted}),1) = 2
        THEN quote_ident(table_schema) = (parse_ident({quoted}))[1]
          AND quote_ident(table_name) = (parse_ident({quoted}))[2]
        ELSE quote_ident(table_name) = {quoted}
          AND {SCHEMA_CONSTRAINT}
      END"
    );
    let schemas_12 = "SELECT schema_name AS \"name\"
    FROM information_schema.schemata
    WHERE schema_name NOT IN ('information_schema',
                              'pg_catalog',
                              'pg_toast',
                              '_timescaledb_cache',
                              '_timescaledb_catalog',
                              '_timescaledb_internal',
                              '_timescaledb_config',
                              'timescaledb_information',
                              'timescaledb_experimental')
    ORDER BY schema_name"
        .to_string();
    let search_path = "SELECT current_setting('search_path')".to_string();
    let picks: Vec<(&str, String, &[&str])> = vec![
        (
            "table picker, Grafana 10/11 (showTables)",
            tables_10,
            &["leads", "tenants", "manager_report_month", "cc_hourly"],
        ),
        (
            "column picker, Grafana 10/11 (getSchema('leads'))",
            columns_10,
            &["created_at", "tenant", "channel"],
        ),
        (
            "table picker, Grafana 12 (showTables)",
            tables_12,
            &["leads", "tenants", "manager_report_month"],
        ),
        (
            "column picker, Grafana 12 (getSchema('leads'))",
            columns_12,
            &["created_at", "tenant", "channel"],
        ),
        (
            "schema picker, Grafana 12 (showSchemas)",
            schemas_12,
            &["public"],
        ),
        ("search_path behind the pickers", search_path, &[]),
    ];
    for (what, raw, expected) in picks {
        let sql = match expand_backend(&raw, range, "1h") {
            Ok(s) => s,
            Err(e) => {
                failures.add(what, &raw, &e);
                continue;
            }
        };
        match conn.run(&sql).await {
            Err(e) => failures.add(what, &sql, &e),
            Ok(rows) if rows.is_empty() && !expected.is_empty() => {
                failures.add(what, &sql, "no rows");
            }
            Ok(rows) => {
                let names = rows.firsts();
                for e in expected {
                    if !names.iter().any(|n| n == e) {
                        failures.add(what, &sql, &format!("`{e}` is not among {names:?}"));
                    }
                }
                if what.starts_with("column picker") {
                    // `getFieldConfig` in sqlUtil.ts matches PostgreSQL's
                    // data_type names exactly to pick the builder's types.
                    for (column, types) in [
                        ("created_at", &["timestamp with time zone"][..]),
                        ("channel", &["text", "character varying"][..]),
                        ("tenant", &["text", "character varying"][..]),
                    ] {
                        let ty = rows
                            .rows
                            .iter()
                            .find(|r| r.first().cloned().flatten().as_deref() == Some(column))
                            .and_then(|r| r.get(1).cloned().flatten())
                            .unwrap_or_default();
                        if !types.contains(&ty.as_str()) {
                            failures.add(
                                what,
                                &sql,
                                &format!("{column} has data_type `{ty}`; Grafana knows {types:?}"),
                            );
                        }
                    }
                }
            }
        }
    }
    failures.assert_none("query-editor picker queries");
}
