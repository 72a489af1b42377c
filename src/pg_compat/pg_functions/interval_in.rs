//! PostgreSQL's interval input (`interval_in`, PG 15's `DecodeInterval` and
//! `DecodeISO8601Interval`), which Arrow's parser reads only in part:
//! - quantities with units, each with its own sign, abbreviations included
//!   (`1 year 2 mons`, `-1 day +2 hours`, `3h 20min`, `@ 1 day ago`);
//! - a time of day (`04:05:06.5`, `-04:05`, `05:06.5` minutes and seconds)
//!   and a bare number before it as days (`3 04:05:06`), a lone bare number
//!   as seconds (`90`);
//! - SQL's year-month (`1-2`);
//! - ISO 8601 durations (`P1Y2M3DT4H5M6S`, `PT1M30S`, `P1W`);
//! - fractions carried down as PostgreSQL does: a fraction of a year in
//!   whole months, of a month in days of 30 and the rest in time, of a week
//!   in days of 7, of a day in hours of 24 (`1.5 months` = `1 mon 15
//!   days`, `1.5 hours` = `01:30:00`).
//!
//! [`parse`] gives months, days and microseconds; `CAST(text AS interval)`
//! calls [`interval_in`] ([`crate::pg_compat::casts`]) and an `INTERVAL
//! '…'` literal is written in units Arrow reads ([`canonical`],
//! [`crate::pg_compat::compat`]).

use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, AsArray, IntervalMonthDayNanoArray};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, IntervalMonthDayNano, IntervalUnit};
use datafusion::common::Result;
use datafusion::logical_expr::{ScalarUDF, Signature, Volatility};

use super::simple::function;
use crate::sqlstate::{code, coded};

const DAY_US: f64 = 86_400_000_000.0;

/// An interval as PostgreSQL keeps it.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Interval {
    pub months: i32,
    pub days: i32,
    pub micros: i64,
}

/// Fields as they are read, with fractions, before they are carried down.
#[derive(Default)]
struct Fields {
    months: f64,
    days: f64,
    micros: f64,
}

impl Fields {
    /// `n` years' months: whole months, the fraction of a month dropped
    /// after rounding (PostgreSQL 15).
    fn years(&mut self, n: f64) {
        self.months += (n * 12.0).round();
    }
    fn months(&mut self, n: f64) {
        let whole = n.trunc();
        self.months += whole;
        self.days_with_fraction((n - whole) * 30.0);
    }
    fn days_with_fraction(&mut self, n: f64) {
        let whole = n.trunc();
        self.days += whole;
        self.micros += (n - whole) * DAY_US;
    }
    fn finish(self, negate: bool) -> Option<Interval> {
        let sign = if negate { -1.0 } else { 1.0 };
        let months = sign * self.months;
        let days = sign * self.days;
        let micros = (sign * self.micros).round();
        let fits32 = |v: f64| v >= i32::MIN as f64 && v <= i32::MAX as f64;
        (fits32(months) && fits32(days) && micros.abs() < 9.2e18).then_some(Interval {
            months: months as i32,
            days: days as i32,
            micros: micros as i64,
        })
    }
}

/// The error of text that is not an interval.
fn invalid(text: &str) -> datafusion::error::DataFusionError {
    coded(
        code::INVALID_DATETIME_FORMAT,
        format!("invalid input syntax for type interval: \"{text}\""),
    )
}

/// `text` read as PostgreSQL reads an interval.
pub fn parse(text: &str) -> Result<Interval> {
    let trimmed = text.trim();
    let parsed = if trimmed.len() > 1 && trimmed.starts_with(['P', 'p']) {
        iso8601(&trimmed[1..])
    } else {
        postgres(trimmed)
    };
    parsed.ok_or_else(|| invalid(text))
}

/// A unit's effect on the fields, for `n` of it.
fn apply(fields: &mut Fields, unit: &str, n: f64) -> Option<()> {
    match unit {
        "microsecond" | "microseconds" | "us" | "usec" | "usecs" | "microsecon" => {
            fields.micros += n;
        }
        "millisecond" | "milliseconds" | "ms" | "msec" | "msecs" | "millisecon" => {
            fields.micros += n * 1_000.0;
        }
        "second" | "seconds" | "s" | "sec" | "secs" => fields.micros += n * 1_000_000.0,
        "minute" | "minutes" | "m" | "min" | "mins" => fields.micros += n * 60_000_000.0,
        "hour" | "hours" | "h" | "hr" | "hrs" => fields.micros += n * 3_600_000_000.0,
        "day" | "days" | "d" => fields.days_with_fraction(n),
        "week" | "weeks" | "w" => fields.days_with_fraction(n * 7.0),
        "month" | "months" | "mon" | "mons" => fields.months(n),
        "year" | "years" | "y" | "yr" | "yrs" => fields.years(n),
        "decade" | "decades" | "dec" | "decs" => fields.years(n * 10.0),
        "century" | "centuries" | "c" | "cent" => fields.years(n * 100.0),
        "millennium" | "millennia" | "mil" | "mils" => fields.years(n * 1000.0),
        _ => return None,
    }
    Some(())
}

/// A signed decimal number (`-1`, `+2.5`, `.5`).
fn number(s: &str) -> Option<f64> {
    let digits = s.trim_start_matches(['+', '-']);
    if digits.is_empty() || !digits.chars().all(|c| c.is_ascii_digit() || c == '.') {
        return None;
    }
    s.parse().ok()
}

/// A time of day, `[+-]H:M[:S[.f]]` or `[+-]M:S.f`, in microseconds.
fn time(s: &str) -> Option<f64> {
    let (sign, body) = match s.strip_prefix('-') {
        Some(rest) => (-1.0, rest),
        None => (1.0, s.strip_prefix('+').unwrap_or(s)),
    };
    let parts: Vec<&str> = body.split(':').collect();
    let unsigned = |p: &str| {
        (!p.is_empty() && p.chars().all(|c| c.is_ascii_digit() || c == '.'))
            .then(|| p.parse::<f64>().ok())
            .flatten()
    };
    let (h, m, sec) = match parts.as_slice() {
        [m, s] if s.contains('.') => (0.0, unsigned(m)?, unsigned(s)?),
        [h, m] => (unsigned(h)?, unsigned(m)?, 0.0),
        [h, m, s] => (unsigned(h)?, unsigned(m)?, unsigned(s)?),
        _ => return None,
    };
    Some(sign * ((h * 60.0 + m) * 60.0 + sec) * 1_000_000.0)
}

/// Splits `1day` into `1` and `day`, `-2.5h` into `-2.5` and `h`.
fn split_attached(token: &str) -> (&str, &str) {
    let at = token
        .char_indices()
        .find(|(i, c)| c.is_alphabetic() && *i > 0)
        .map_or(token.len(), |(i, _)| i);
    token.split_at(at)
}

/// PostgreSQL's own format (and SQL's).
fn postgres(text: &str) -> Option<Interval> {
    let lower = text.to_lowercase();
    let mut tokens: Vec<&str> = lower.split_whitespace().collect();
    if tokens.first() == Some(&"@") {
        tokens.remove(0);
    } else if let Some(first) = tokens.first_mut()
        && let Some(rest) = first.strip_prefix('@')
    {
        *first = rest;
    }
    let negate = tokens.last() == Some(&"ago");
    if negate {
        tokens.pop();
    }
    if tokens.is_empty() {
        return None;
    }
    let mut fields = Fields::default();
    let mut i = 0;
    while i < tokens.len() {
        let token = tokens[i];
        if token.contains(':') {
            fields.micros += time(token)?;
            i += 1;
            continue;
        }
        // SQL's year-month: `1-2`, `-1-2`.
        if let Some((y, m)) = year_month(token) {
            fields.months += y * 12.0 + m;
            i += 1;
            continue;
        }
        let (n, attached) = split_attached(token);
        let n = number(n)?;
        if !attached.is_empty() {
            apply(&mut fields, attached, n)?;
            i += 1;
            continue;
        }
        match tokens.get(i + 1) {
            // A number before a time of day is days.
            Some(next) if next.contains(':') => {
                fields.days_with_fraction(n);
                i += 1;
            }
            Some(unit) if unit.chars().next().is_some_and(char::is_alphabetic) => {
                apply(&mut fields, unit, n)?;
                i += 2;
            }
            // A bare number is seconds.
            None => {
                fields.micros += n * 1_000_000.0;
                i += 1;
            }
            Some(_) => return None,
        }
    }
    fields.finish(negate)
}

/// `Y-M` (years and months), signed as a whole.
fn year_month(token: &str) -> Option<(f64, f64)> {
    let (sign, body) = match token.strip_prefix('-') {
        Some(rest) => (-1.0, rest),
        None => (1.0, token.strip_prefix('+').unwrap_or(token)),
    };
    let (y, m) = body.split_once('-')?;
    let digits = |s: &str| !s.is_empty() && s.chars().all(|c| c.is_ascii_digit());
    if !(digits(y) && digits(m)) {
        return None;
    }
    Some((sign * y.parse::<f64>().ok()?, sign * m.parse::<f64>().ok()?))
}

/// ISO 8601 after the `P`: `1Y2M3W4DT5H6M7.5S`.
fn iso8601(body: &str) -> Option<Interval> {
    let mut fields = Fields::default();
    let mut in_time = false;
    let mut rest = body;
    let mut any = false;
    while !rest.is_empty() {
        if let Some(after) = rest.strip_prefix(['T', 't']) {
            if in_time {
                return None;
            }
            in_time = true;
            rest = after;
            continue;
        }
        let end = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.' || c == '-' || c == '+'))
            .filter(|&e| e > 0)?;
        let n = number(&rest[..end])?;
        let designator = rest[end..].chars().next()?.to_ascii_uppercase();
        let unit = match (designator, in_time) {
            ('Y', false) => "year",
            ('M', false) => "month",
            ('W', false) => "week",
            ('D', false) => "day",
            ('H', true) => "hour",
            ('M', true) => "minute",
            ('S', true) => "second",
            _ => return None,
        };
        apply(&mut fields, unit, n)?;
        any = true;
        rest = &rest[end + 1..];
    }
    if any { fields.finish(false) } else { None }
}

/// `interval` as Arrow's interval parser reads it: the same months, days
/// and microseconds (for an `INTERVAL '…'` literal, which DataFusion reads
/// with Arrow's parser while it plans).
pub fn canonical(i: Interval) -> String {
    format!(
        "{} months {} days {} microseconds",
        i.months, i.days, i.micros
    )
}

/// `pg_interval_in(text)`: text read as an interval ([`parse`]).
pub fn interval_in() -> ScalarUDF {
    function(
        "pg_interval_in",
        Signature::exact(vec![DataType::Utf8], Volatility::Immutable),
        |_| Ok(DataType::Interval(IntervalUnit::MonthDayNano)),
        |args, _| {
            let text = cast(&args[0], &DataType::Utf8)?;
            let text = text.as_string::<i32>();
            let out = (0..text.len())
                .map(|i| {
                    if text.is_null(i) {
                        return Ok(None);
                    }
                    let v = parse(text.value(i))?;
                    Ok(Some(IntervalMonthDayNano::new(
                        v.months,
                        v.days,
                        v.micros.saturating_mul(1_000),
                    )))
                })
                .collect::<Result<IntervalMonthDayNanoArray>>()?;
            Ok(Arc::new(out) as ArrayRef)
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn iv(months: i32, days: i32, micros: i64) -> Interval {
        Interval {
            months,
            days,
            micros,
        }
    }

    const H: i64 = 3_600_000_000;
    const MIN: i64 = 60_000_000;
    const S: i64 = 1_000_000;

    #[test]
    fn postgresql_formats_are_read_as_postgresql_reads_them() {
        assert_eq!(parse("90 seconds").unwrap(), iv(0, 0, 90 * S));
        assert_eq!(parse("1.5 hours").unwrap(), iv(0, 0, 90 * MIN));
        assert_eq!(
            parse("1 year 2 months 3 days 04:05:06").unwrap(),
            iv(14, 3, 4 * H + 5 * MIN + 6 * S)
        );
        assert_eq!(
            parse("1 day 02:03:04.5").unwrap(),
            iv(0, 1, 2 * H + 3 * MIN + 4 * S + S / 2)
        );
        assert_eq!(parse("-1 day +2 hours").unwrap(), iv(0, -1, 2 * H));
        assert_eq!(
            parse("3 days 04:35:00").unwrap(),
            iv(0, 3, 4 * H + 35 * MIN)
        );
        assert_eq!(
            parse("26 hours 5 minutes").unwrap(),
            iv(0, 0, 26 * H + 5 * MIN)
        );
        assert_eq!(parse("1.5 months").unwrap(), iv(1, 15, 0));
        assert_eq!(parse("1.5 days").unwrap(), iv(0, 1, 12 * H));
        assert_eq!(parse("2 weeks").unwrap(), iv(0, 14, 0));
        assert_eq!(parse("@ 1 day ago").unwrap(), iv(0, -1, 0));
        assert_eq!(parse("1 mon 2 days ago").unwrap(), iv(-1, -2, 0));
        assert_eq!(parse("3h 20min").unwrap(), iv(0, 0, 3 * H + 20 * MIN));
        assert_eq!(parse("1day").unwrap(), iv(0, 1, 0));
        assert_eq!(parse("-04:05").unwrap(), iv(0, 0, -(4 * H + 5 * MIN)));
        assert_eq!(parse("05:06.5").unwrap(), iv(0, 0, 5 * MIN + 6 * S + S / 2));
        assert_eq!(
            parse("3 04:05:06").unwrap(),
            iv(0, 3, 4 * H + 5 * MIN + 6 * S)
        );
        assert_eq!(parse("90").unwrap(), iv(0, 0, 90 * S));
        assert_eq!(parse("1-2").unwrap(), iv(14, 0, 0));
        assert_eq!(parse("1 decade").unwrap(), iv(120, 0, 0));
        assert_eq!(parse("1.5 years").unwrap(), iv(18, 0, 0));
        assert_eq!(parse("100 ms").unwrap(), iv(0, 0, 100_000));
        assert_eq!(parse("+05:00").unwrap(), iv(0, 0, 5 * H));
    }

    #[test]
    fn iso_8601_durations_are_read() {
        assert_eq!(parse("P1DT2H").unwrap(), iv(0, 1, 2 * H));
        assert_eq!(parse("PT1M30S").unwrap(), iv(0, 0, 90 * S));
        assert_eq!(parse("P1Y2M3W").unwrap(), iv(14, 21, 0));
        assert_eq!(parse("PT1.5S").unwrap(), iv(0, 0, S + S / 2));
    }

    #[test]
    fn what_is_not_an_interval_is_refused() {
        for bad in [
            "",
            "abc",
            "1 fortnight",
            "1 day day",
            "P",
            "PT",
            "1:2:3:4",
            "--1 day",
            "1 2",
        ] {
            let e = parse(bad).unwrap_err();
            assert!(
                e.to_string()
                    .contains("invalid input syntax for type interval"),
                "{bad}: {e}"
            );
        }
    }

    #[test]
    fn canonical_text_is_read_by_arrow_as_the_same_interval() {
        for text in [
            "1 year 2 months 3 days 04:05:06.5",
            "-1 day +2 hours",
            "1.5 months",
            "1 day ago",
        ] {
            let v = parse(text).unwrap();
            let arrow =
                datafusion::arrow::compute::kernels::cast_utils::parse_interval_month_day_nano(
                    &canonical(v),
                )
                .unwrap();
            assert_eq!(
                arrow,
                IntervalMonthDayNano::new(v.months, v.days, v.micros * 1_000),
                "{text}"
            );
        }
    }
}
