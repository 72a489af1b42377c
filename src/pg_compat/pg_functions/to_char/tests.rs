//! The functions through SQL, in a session with a time zone.

use datafusion::logical_expr::ScalarUDF;
use datafusion::prelude::{SessionConfig, SessionContext};

use super::*;

async fn rows(zone: &str, sql: &str) -> Result<Vec<String>> {
    let mut config = SessionConfig::new();
    config.options_mut().execution.time_zone = Some(zone.into());
    config.options_mut().sql_parser.parse_float_as_decimal = true;
    let ctx = SessionContext::new_with_config(config);
    ctx.register_udf(ScalarUDF::new_from_impl(ToChar::new()));
    ctx.register_udf(ScalarUDF::new_from_impl(ToTimestamp::new()));
    ctx.register_udf(ScalarUDF::new_from_impl(ToDate::new()));
    let batches = ctx.sql(sql).await?.collect().await?;
    let mut out = Vec::new();
    for b in &batches {
        for r in 0..b.num_rows() {
            let cells: Vec<String> = b
                .columns()
                .iter()
                .map(|c| {
                    datafusion::arrow::util::display::array_value_to_string(c, r)
                        .unwrap_or_default()
                })
                .collect();
            out.push(cells.join("|"));
        }
    }
    Ok(out)
}

async fn one(zone: &str, sql: &str) -> String {
    rows(zone, sql).await.unwrap().join("\n")
}

fn sqlstate(e: &datafusion::common::DataFusionError) -> String {
    match e.find_root() {
        datafusion::common::DataFusionError::External(inner) => inner
            .downcast_ref::<crate::sqlstate::Coded>()
            .map(|c| c.code.to_string())
            .unwrap_or_else(|| e.to_string()),
        other => other.to_string(),
    }
}

async fn code(zone: &str, sql: &str) -> String {
    match rows(zone, sql).await {
        Ok(r) => format!("answered {r:?}"),
        Err(e) => sqlstate(&e),
    }
}

// Expected values as PostgreSQL 15 prints them with the same TimeZone.
#[tokio::test]
async fn timestamptz_is_written_on_the_session_clock() {
    let sql = "SELECT to_char(CAST('2026-07-01T12:00:00Z' AS TIMESTAMP WITH TIME ZONE), \
               'YYYY-MM-DD HH24:MI TZ|tz|OF|TZH:TZM')";
    assert_eq!(
        one("Europe/Moscow", sql).await,
        "2026-07-01 15:00 MSK|msk|+03|+03:00"
    );
    assert_eq!(one("UTC", sql).await, "2026-07-01 12:00 UTC|utc|+00|+00:00");
    assert_eq!(
        one("Asia/Kolkata", sql).await,
        "2026-07-01 17:30 IST|ist|+05:30|+05:30"
    );
    assert_eq!(
        one("Asia/Yekaterinburg", sql).await,
        "2026-07-01 17:00 +05|+05|+05|+05:00"
    );
    assert_eq!(
        one("America/New_York", sql).await,
        "2026-07-01 08:00 EDT|edt|-04|-04:00"
    );
    // A date is its midnight in the session's zone.
    assert_eq!(
        one(
            "Europe/Moscow",
            "SELECT to_char(DATE '2026-07-01', 'HH24 TZ OF Day')"
        )
        .await,
        "00 MSK +03 Wednesday"
    );
    // A timestamp has no zone: TZ writes nothing, OF +00.
    assert_eq!(
        one(
            "Europe/Moscow",
            "SELECT to_char(TIMESTAMP '2026-07-01T12:00:00', 'HH24 TZ OF')"
        )
        .await,
        "12  +00"
    );
}

#[tokio::test]
async fn numbers_through_sql() {
    assert_eq!(
        one("UTC", "SELECT to_char(1234.5, '9999.99'), to_char(CAST(-12 AS INT), '999'), to_char(CAST(0.25 AS DOUBLE), 'FM0.00')").await,
        " 1234.50| -12|0.25"
    );
    assert_eq!(
        one("UTC", "SELECT to_char(CAST(NULL AS INT), '999')").await,
        ""
    );
}

#[tokio::test]
async fn to_timestamp_reads_in_the_session_zone() {
    let sql = "SELECT to_timestamp('2026-07-01 12:00', 'YYYY-MM-DD HH24:MI')";
    assert_eq!(one("Europe/Moscow", sql).await, "2026-07-01T09:00:00Z");
    assert_eq!(one("UTC", sql).await, "2026-07-01T12:00:00Z");
    // An offset in the text wins.
    assert_eq!(
        one(
            "Europe/Moscow",
            "SELECT to_timestamp('2026-07-01 12:00 -05', 'YYYY-MM-DD HH24:MI TZH')"
        )
        .await,
        "2026-07-01T17:00:00Z"
    );
    // Superset's template.
    assert_eq!(
        one(
            "UTC",
            "SELECT to_timestamp('2026-07-01 10:00:00.000000', 'YYYY-MM-DD HH24:MI:SS.US')"
        )
        .await,
        "2026-07-01T10:00:00Z"
    );
    assert_eq!(
        one(
            "UTC",
            "SELECT to_timestamp(1782864000), to_timestamp(1782864000.5), to_timestamp('0')"
        )
        .await,
        "2026-07-01T00:00:00Z|2026-07-01T00:00:00.500Z|1970-01-01T00:00:00Z"
    );
    assert_eq!(
        one(
            "UTC",
            "SELECT to_date('01/07/2026', 'DD/MM/YYYY'), to_date('2026-182', 'YYYY-DDD')"
        )
        .await,
        "2026-07-01|2026-07-01"
    );
}

#[tokio::test]
async fn errors_carry_postgresql_codes() {
    for (sql, expected) in [
        ("SELECT to_char('2026-07-01', 'YYYY')", "42725"),
        (
            "SELECT to_char(TIMESTAMP '2026-07-01', 'YYYY-MM-DD', 'extra')",
            "42883",
        ),
        ("SELECT to_char(true, '9')", "42883"),
        ("SELECT to_char(1, '9.9.9')", "42601"),
        ("SELECT to_date('2026-99-99', 'YYYY-MM-DD')", "22008"),
        ("SELECT to_timestamp('garbage', 'YYYY-MM-DD')", "22007"),
        ("SELECT to_timestamp('x')", "22P02"),
        ("SELECT to_timestamp(CAST('NaN' AS DOUBLE))", "22008"),
        ("SELECT to_timestamp(1e20)", "22008"),
        ("SELECT to_timestamp(1, 2)", "42883"),
    ] {
        assert_eq!(code("UTC", sql).await, expected, "{sql}");
    }
}

/// `to_timestamp`/`to_date` readings and their errors.
mod readings {
    use super::super::parse_datetime::{parse, round_fraction};
    use super::super::template::{j2date, parse as template};
    use datafusion::common::Result;

    /// `(y, m, d, "hh:mm:ss.us", offset)` of a reading.
    fn read_as(text: &str, fmt: &str) -> Result<String> {
        let (p, ff) = parse(&template(fmt), text)?;
        let (y, m, d) = j2date(p.julian);
        let us = round_fraction(p.micros, ff);
        let (h, rest) = (us / 3_600_000_000, us % 3_600_000_000);
        let mut s = format!(
            "{y:04}-{m:02}-{d:02} {h:02}:{:02}:{:02}",
            rest / 60_000_000,
            rest % 60_000_000 / 1_000_000
        );
        if rest % 1_000_000 != 0 {
            s.push_str(&format!(".{:06}", rest % 1_000_000));
        }
        if let Some(o) = p.offset {
            s.push_str(&format!(" {o:+}"));
        }
        Ok(s)
    }

    fn code_of(r: Result<String>) -> String {
        match r {
            Ok(v) => v,
            Err(datafusion::common::DataFusionError::External(e)) => e
                .downcast_ref::<crate::sqlstate::Coded>()
                .map(|c| c.code.to_string())
                .unwrap_or_default(),
            Err(e) => e.to_string(),
        }
    }

    // Expected values from PostgreSQL 15 (`SELECT to_timestamp(…)`/`to_date(…)`
    // with TimeZone UTC; year 0 is PostgreSQL's 1 BC).
    #[test]
    fn readings() {
        for (text, fmt, expected) in [
            (
                "2026-07-01 12:34:56",
                "YYYY-MM-DD HH24:MI:SS",
                "2026-07-01 12:34:56",
            ),
            (
                "2026-07-01 10:00:00.000000",
                "YYYY-MM-DD HH24:MI:SS.US",
                "2026-07-01 10:00:00",
            ),
            (
                "2026-07-01 12:34:56.789",
                "YYYY-MM-DD HH24:MI:SS.MS",
                "2026-07-01 12:34:56.789000",
            ),
            (
                "2026-07-01 10:00:00.5",
                "YYYY-MM-DD HH24:MI:SS.MS",
                "2026-07-01 10:00:00.500000",
            ),
            (
                "2026-07-01 10:00:00.05",
                "YYYY-MM-DD HH24:MI:SS.US",
                "2026-07-01 10:00:00.050000",
            ),
            (
                "2026-07-01 10:00:00.123456",
                "YYYY-MM-DD HH24:MI:SS.FF2",
                "2026-07-01 10:00:00.120000",
            ),
            (
                "2026-07-01 10:00:00.999999",
                "YYYY-MM-DD HH24:MI:SS.FF1",
                "2026-07-01 10:00:01",
            ),
            ("01.07.2026", "DD.MM.YYYY", "2026-07-01 00:00:00"),
            (
                "2026-07-01T10:00:00",
                "YYYY-MM-DD\"T\"HH24:MI:SS",
                "2026-07-01 10:00:00",
            ),
            (
                "1 Jul 2026 3:04 PM",
                "DD Mon YYYY HH12:MI AM",
                "2026-07-01 15:04:00",
            ),
            ("  2026-07-01", "YYYY-MM-DD", "2026-07-01 00:00:00"),
            ("2026/7/1", "YYYY/MM/DD", "2026-07-01 00:00:00"),
            ("20260701", "YYYYMMDD", "2026-07-01 00:00:00"),
            ("2026-7", "YYYY-MM-DD", "2026-07-01 00:00:00"),
            ("2026", "YYYY-MM", "2026-01-01 00:00:00"),
            ("26-7-1", "YY-MM-DD", "2026-07-01 00:00:00"),
            ("2026 2", "YYYY Q", "2026-01-01 00:00:00"),
            ("01:30 PM", "HH12:MI PM", "0000-01-01 13:30:00"),
            ("12345", "SSSS", "0000-01-01 03:25:45"),
            (
                "2026-07-01 12:00 +03",
                "YYYY-MM-DD HH24:MI TZH",
                "2026-07-01 12:00:00 +10800",
            ),
            (
                "2026-07-01 10:00 +5:30",
                "YYYY-MM-DD HH24:MI TZH:TZM",
                "2026-07-01 10:00:00 +19800",
            ),
            (
                "2026-07-01 10:00 -05",
                "YYYY-MM-DD HH24:MI TZH",
                "2026-07-01 10:00:00 -18000",
            ),
            (
                "2026-07-01 10:00-05",
                "YYYY-MM-DD HH24:MITZH",
                "2026-07-01 10:00:00 -18000",
            ),
            ("2026-182", "YYYY-DDD", "2026-07-01 00:00:00"),
            ("2026 27", "IYYY IW", "2026-06-29 00:00:00"),
            ("2026 27 3", "IYYY IW ID", "2026-07-01 00:00:00"),
            ("July 2026", "Month YYYY", "2026-07-01 00:00:00"),
            ("20 26", "CC YY", "1926-01-01 00:00:00"),
            ("1,234", "Y,YYY", "1234-01-01 00:00:00"),
            ("2458000", "J", "2017-09-03 00:00:00"),
            ("2026 5", "YYYY W", "2026-01-29 00:00:00"),
            ("2026 5", "YYYY WW", "2026-01-29 00:00:00"),
            ("0044-03-15 BC", "YYYY-MM-DD BC", "-043-03-15 00:00:00"),
            ("VII 2026", "RM YYYY", "2026-07-01 00:00:00"),
            ("99", "YY", "1999-01-01 00:00:00"),
            ("450", "YYY", "2450-01-01 00:00:00"),
            ("5", "Y", "2005-01-01 00:00:00"),
            ("2026  07 01", "FXYYYY MM DD", "2026-07-01 00:00:00"),
            ("2026-07-01 extra", "YYYY-MM-DD", "2026-07-01 00:00:00"),
            ("2026-07-01", "YYYY-MM-DD HH24:MI", "2026-07-01 00:00:00"),
            (
                "Wednesday 2026-07-01",
                "Day YYYY-MM-DD",
                "2026-07-01 00:00:00",
            ),
            ("2026-07-01", "", "0000-01-01 00:00:00"),
            ("1st 2026", "DDth YYYY", "2026-01-01 00:00:00"),
            ("-5", "YYYY", "-004-01-01 00:00:00"),
            ("2026 -5", "YYYY MM", "2026-05-01 00:00:00"),
        ] {
            assert_eq!(code_of(read_as(text, fmt)), expected, "{text} / {fmt}");
        }
    }

    #[test]
    fn errors() {
        for (text, fmt, expected) in [
            ("2026-07-01 12:00 MSK", "YYYY-MM-DD HH24:MI TZ", "0A000"),
            ("2026-07-01 12:00 +03", "YYYY-MM-DD HH24:MI OF", "0A000"),
            ("00:30 AM", "HH12:MI AM", "22007"),
            ("2026-07-01 25:00", "YYYY-MM-DD HH24:MI", "22008"),
            ("2026-07-01 12:61", "YYYY-MM-DD HH24:MI", "22008"),
            ("2026-02-30", "YYYY-MM-DD", "22008"),
            ("2026-13-01", "YYYY-MM-DD", "22008"),
            ("2026-99-99", "YYYY-MM-DD", "22008"),
            ("2026-07-01", "YYYY-IW-DD", "22007"),
            ("2026/07/01", "YYYYMMDD", "22007"),
            ("2026 Foo 1", "YYYY Mon DD", "22007"),
            ("2026-07-01 10:00 16", "YYYY-MM-DD HH24:MI TZH", "22009"),
            ("2026 27", "YYYY IW", "22007"),
            ("2026--07", "YYYY-MM", "22008"),
            ("x2026", "YYYY", "22007"),
            ("garbage", "YYYY-MM-DD", "22007"),
            ("99999999999", "YYYY", "22008"),
            (
                "2026-07-01 10:00:00.1234567",
                "YYYY-MM-DD HH24:MI:SS.US",
                "22008",
            ),
        ] {
            assert_eq!(code_of(read_as(text, fmt)), expected, "{text} / {fmt}");
        }
    }
}

/// Cases whose answers were taken from PostgreSQL 15 (`testdata/*.tsv`):
/// every number template on integers, floats and numerics, every date/time
/// keyword on timestamps and intervals, and `to_timestamp` readings.
mod postgresql_answers {
    use chrono::{Datelike, NaiveDateTime};
    use datafusion::common::{DataFusionError, Result};

    use super::super::format_datetime::{Fields, format};
    use super::super::number::{Number, to_char};
    use super::super::{Zone, instant, parse_datetime, template};

    /// The tab-separated fields of each case line.
    fn cases(data: &str) -> impl Iterator<Item = Vec<&str>> {
        data.lines()
            .filter(|l| !l.starts_with('#') && !l.is_empty())
            .map(|l| l.split('\t').collect())
    }

    /// An answer as the files write it: `[text]`, or the error's SQLSTATE.
    fn shown(r: Result<String>) -> String {
        match r {
            Ok(s) => format!("[{s}]"),
            Err(DataFusionError::External(e)) => format!(
                "ERROR:  {}",
                e.downcast_ref::<crate::sqlstate::Coded>()
                    .map_or("?", |c| c.code)
            ),
            Err(e) => e.to_string(),
        }
    }

    fn check(kind: &str, differences: Vec<String>, total: usize) {
        assert!(total > 90, "{kind}: only {total} cases");
        assert!(
            differences.is_empty(),
            "{} of {total} {kind} cases differ from PostgreSQL:\n{}",
            differences.len(),
            differences.join("\n")
        );
    }

    #[test]
    fn numbers() {
        let (mut differences, mut total) = (Vec::new(), 0);
        for case in cases(include_str!("testdata/number.tsv")) {
            let [kind, value, template, expected] = case[..] else {
                panic!("bad case {case:?}");
            };
            let n = match kind {
                "int4" => Number::Int4(value.parse().unwrap()),
                "int8" => Number::Int8(value.parse().unwrap()),
                "float4" => Number::Float4(value.parse().unwrap()),
                "float8" => Number::Float8(value.parse().unwrap()),
                _ => Number::Numeric(value.to_string()),
            };
            let got = shown(to_char(&n, template).map(Option::unwrap_or_default));
            if got != expected {
                differences.push(format!(
                    "to_char({value}::{kind}, '{template}') = {got}, not {expected}"
                ));
            }
            total += 1;
        }
        check("number", differences, total);
    }

    #[test]
    fn dates_times_and_intervals() {
        let (mut differences, mut total) = (Vec::new(), 0);
        for case in cases(include_str!("testdata/datetime.tsv")) {
            let [kind, value, tmpl, expected] = case[..] else {
                panic!("bad case {case:?}");
            };
            let (fields, expected) = if kind == "ts" {
                let (text, bc) = match value.strip_suffix(" BC") {
                    Some(t) => (t, true),
                    None => (value, false),
                };
                let (year, rest) = text.split_once('-').unwrap();
                let t =
                    NaiveDateTime::parse_from_str(&format!("2000-{rest}"), "%Y-%m-%d %H:%M:%S%.f")
                        .unwrap();
                let year: i32 = year.parse().unwrap();
                let t = t.with_year(if bc { 1 - year } else { year }).unwrap();
                (Fields::wall_clock(t, 0, None), expected.to_string())
            } else {
                // `[answer]|months|days|microseconds`
                let parts: Vec<&str> = expected.rsplitn(4, '|').collect();
                let number = |s: &str| s.parse::<f64>().unwrap() as i64;
                let fields = Fields::interval(number(parts[2]), number(parts[1]), number(parts[0]));
                (fields, parts[3].to_string())
            };
            let got = shown(format(&template::parse(tmpl), &fields));
            if got != expected {
                differences.push(format!(
                    "to_char({value}, '{tmpl}') = {got}, not {expected}"
                ));
            }
            total += 1;
        }
        check("date/time", differences, total);
    }

    #[test]
    fn to_timestamp_readings() {
        let utc = Zone::parse("UTC").unwrap();
        let (mut differences, mut total) = (Vec::new(), 0);
        for case in cases(include_str!("testdata/to_timestamp.tsv")) {
            let [text, tmpl, expected] = case[..] else {
                panic!("bad case {case:?}");
            };
            let got =
                parse_datetime::parse(&template::parse(tmpl), text).and_then(|(mut p, ff)| {
                    p.micros = parse_datetime::round_fraction(p.micros, ff);
                    instant(p, &utc)
                });
            let got = match shown(got.map(|us| us.to_string())) {
                s if s.starts_with('[') => s.trim_matches(['[', ']']).to_string(),
                s => s,
            };
            if got != expected {
                differences.push(format!(
                    "to_timestamp('{text}', '{tmpl}') = {got}, not {expected}"
                ));
            }
            total += 1;
        }
        check("to_timestamp", differences, total);
    }
}

/// A connection's session (rebuilt by later installs in hash order) keeps
/// PostgreSQL's `to_char`, never DataFusion's.
#[tokio::test]
async fn the_session_keeps_postgresql_to_char() {
    for _ in 0..20 {
        let ctx = SessionContext::new_with_config(
            SessionConfig::new().with_default_catalog_and_schema(crate::engine::CATALOG, "public"),
        );
        let vars = std::sync::Arc::new(crate::pg_compat::vars::Vars::new(Vec::new()));
        crate::pg_compat::install(&ctx, &vars).unwrap();
        let batches = ctx
            .sql("SELECT to_char(CAST('2026-07-01T00:00:00' AS TIMESTAMP), 'YYYY') AS y")
            .await
            .unwrap()
            .collect()
            .await
            .unwrap();
        let y = datafusion::arrow::util::display::array_value_to_string(batches[0].column(0), 0)
            .unwrap();
        assert_eq!(y, "2026");
    }
}
