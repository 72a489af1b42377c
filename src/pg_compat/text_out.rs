//! Values written as PostgreSQL writes them (its output functions, with
//! `DateStyle = ISO`, `IntervalStyle = postgres`, `extra_float_digits =
//! 1`): on the wire in text format ([`crate::server::encode`]) and in casts
//! to text ([`crate::pg_compat::time_zone`]), so `x::text` and the value a
//! client reads agree with PostgreSQL.
//!
//! - timestamps: `2026-07-01 10:00:00`, a fraction only when there is one
//!   and without trailing zeros (`…:00.5`), a `timestamptz` with its offset
//!   in the session's zone (`+03`, `+05:30`);
//! - intervals: `1 year 2 mons 3 days 04:05:06.5`, `-1 days +02:00:00`;
//! - `double precision`: the shortest text that reads back the same value,
//!   in exponent form outside 1e-4..1e15 (`1e+20`), `Infinity`, `NaN`.

use chrono::{DateTime, Utc};
use datafusion::arrow::array::{Array, AsArray};
use datafusion::arrow::datatypes::{
    DataType, IntervalMonthDayNano, IntervalMonthDayNanoType, IntervalUnit,
};

use crate::pg_compat::pg_functions::Zone;

/// A timestamp given as microseconds (UTC for an instant) in `zone` (an
/// instant) or as a wall clock (`None`).
pub fn timestamp(micros: i64, zone: Option<&Zone>) -> Option<String> {
    let instant = DateTime::<Utc>::from_timestamp_micros(micros)?;
    let (local, offset) = match zone {
        None => (instant.naive_utc(), None),
        Some(zone) => {
            let local = zone.local(instant);
            (local, Some((local - instant.naive_utc()).num_seconds()))
        }
    };
    let mut text = local.format("%Y-%m-%d %H:%M:%S").to_string();
    push_fraction(&mut text, micros.rem_euclid(1_000_000));
    if let Some(seconds) = offset {
        let sign = if seconds < 0 { '-' } else { '+' };
        let s = seconds.abs();
        text.push_str(&format!("{sign}{:02}", s / 3600));
        if s % 3600 != 0 {
            text.push_str(&format!(":{:02}", s % 3600 / 60));
        }
        if s % 60 != 0 {
            text.push_str(&format!(":{:02}", s % 60));
        }
    }
    Some(text)
}

/// The time of day of an instant in `zone` with the zone's offset, as
/// PostgreSQL writes a `time with time zone` (`10:11:12.123456+03`).
pub fn timetz(micros: i64, zone: &Zone) -> Option<String> {
    let text = timestamp(micros, Some(zone))?;
    text.split_once(' ').map(|(_, time)| time.to_string())
}

/// `.5` for 500 000 microseconds; nothing for none.
fn push_fraction(text: &mut String, micros: i64) {
    if micros != 0 {
        let digits = format!("{micros:06}");
        text.push('.');
        text.push_str(digits.trim_end_matches('0'));
    }
}

/// A time of day as PostgreSQL writes it: `08:15:30`, `08:15:30.5` (the
/// fraction without trailing zeros).
pub fn time(micros: i64) -> String {
    let (secs, frac) = (micros.div_euclid(1_000_000), micros.rem_euclid(1_000_000));
    let (h, m, s) = (secs / 3600, secs / 60 % 60, secs % 60);
    let mut out = format!("{h:02}:{m:02}:{s:02}");
    if frac != 0 {
        let digits = format!("{frac:06}");
        out.push('.');
        out.push_str(digits.trim_end_matches('0'));
    }
    out
}

/// An interval as PostgreSQL's `IntervalStyle = postgres` writes it.
pub fn interval(v: IntervalMonthDayNano) -> String {
    let mut out = String::new();
    let (mut is_zero, mut is_before) = (true, false);
    let mut part = |value: i64, unit: &str, out: &mut String| {
        if value == 0 {
            return;
        }
        if !is_zero {
            out.push(' ');
        }
        if is_before && value > 0 {
            out.push('+');
        }
        out.push_str(&format!(
            "{value} {unit}{}",
            if value != 1 { "s" } else { "" }
        ));
        is_before = value < 0;
        is_zero = false;
    };
    let months = i64::from(v.months);
    part(months / 12, "year", &mut out);
    part(months % 12, "mon", &mut out);
    part(i64::from(v.days), "day", &mut out);
    let micros = v.nanoseconds / 1000;
    if is_zero || micros != 0 {
        let minus = micros < 0;
        let a = micros.unsigned_abs();
        let (hours, rest) = (a / 3_600_000_000, a % 3_600_000_000);
        let (minutes, rest) = (rest / 60_000_000, rest % 60_000_000);
        let (seconds, fraction) = (rest / 1_000_000, rest % 1_000_000);
        if !is_zero {
            out.push(' ');
        }
        if minus {
            out.push('-');
        } else if is_before {
            out.push('+');
        }
        out.push_str(&format!("{hours:02}:{minutes:02}:{seconds:02}"));
        push_fraction(&mut out, fraction as i64);
    }
    out
}

/// An interval's fields as PostgreSQL splits it (`interval2itm`): years,
/// months, days, hours, minutes, seconds and microseconds, each with the
/// sign of its part.
struct Fields {
    year: i64,
    mon: i64,
    day: i64,
    hour: i64,
    min: i64,
    sec: i64,
    fsec: i64,
}

impl Fields {
    fn of(v: IntervalMonthDayNano) -> Fields {
        let months = i64::from(v.months);
        let micros = v.nanoseconds / 1000;
        Fields {
            year: months / 12,
            mon: months % 12,
            day: i64::from(v.days),
            hour: micros / 3_600_000_000,
            min: micros / 60_000_000 % 60,
            sec: micros / 1_000_000 % 60,
            fsec: micros % 1_000_000,
        }
    }
}

/// Seconds and their fraction (PostgreSQL's `AppendSeconds`), two digits
/// when `fill`.
fn seconds(sec: i64, fsec: i64, fill: bool) -> String {
    let minus = sec < 0 || fsec < 0;
    let (sec, fsec) = (sec.abs(), fsec.abs());
    let mut out = String::new();
    if minus {
        out.push('-');
    }
    if fill {
        out.push_str(&format!("{sec:02}"));
    } else {
        out.push_str(&sec.to_string());
    }
    push_fraction(&mut out, fsec);
    out
}

/// An interval as PostgreSQL writes it in `style` (`postgres`,
/// `postgres_verbose`, `sql_standard`, `iso_8601`).
pub fn interval_in_style(v: IntervalMonthDayNano, style: &str) -> String {
    match style.to_ascii_lowercase().as_str() {
        "iso_8601" => interval_iso(v),
        "sql_standard" => interval_sql(v),
        "postgres_verbose" => interval_verbose(v),
        _ => interval(v),
    }
}

fn interval_iso(v: IntervalMonthDayNano) -> String {
    let f = Fields::of(v);
    if [f.year, f.mon, f.day, f.hour, f.min, f.sec, f.fsec] == [0; 7] {
        return "PT0S".into();
    }
    let mut out = String::from("P");
    for (value, unit) in [(f.year, 'Y'), (f.mon, 'M'), (f.day, 'D')] {
        if value != 0 {
            out.push_str(&format!("{value}{unit}"));
        }
    }
    if f.hour != 0 || f.min != 0 || f.sec != 0 || f.fsec != 0 {
        out.push('T');
        for (value, unit) in [(f.hour, 'H'), (f.min, 'M')] {
            if value != 0 {
                out.push_str(&format!("{value}{unit}"));
            }
        }
        if f.sec != 0 || f.fsec != 0 {
            out.push_str(&seconds(f.sec, f.fsec, false));
            out.push('S');
        }
    }
    out
}

fn interval_sql(v: IntervalMonthDayNano) -> String {
    let mut f = Fields::of(v);
    let all = [f.year, f.mon, f.day, f.hour, f.min, f.sec, f.fsec];
    let negative = all.iter().any(|x| *x < 0);
    let positive = all.iter().any(|x| *x > 0);
    let year_month = f.year != 0 || f.mon != 0;
    let day_time = f.day != 0 || f.hour != 0 || f.min != 0 || f.sec != 0 || f.fsec != 0;
    let standard = !(negative && positive || year_month && day_time);
    let mut out = String::new();
    if negative && standard {
        out.push('-');
        for x in [
            &mut f.year,
            &mut f.mon,
            &mut f.day,
            &mut f.hour,
            &mut f.min,
            &mut f.sec,
            &mut f.fsec,
        ] {
            *x = -*x;
        }
    }
    if !negative && !positive {
        out.push('0');
    } else if !standard {
        let year_sign = if f.year < 0 || f.mon < 0 { '-' } else { '+' };
        let day_sign = if f.day < 0 { '-' } else { '+' };
        let sec_sign = if f.hour < 0 || f.min < 0 || f.sec < 0 || f.fsec < 0 {
            '-'
        } else {
            '+'
        };
        out.push_str(&format!(
            "{year_sign}{}-{} {day_sign}{} {sec_sign}{}:{:02}:{}",
            f.year.abs(),
            f.mon.abs(),
            f.day.abs(),
            f.hour.abs(),
            f.min.abs(),
            seconds(f.sec.abs(), f.fsec.abs(), true)
        ));
    } else if year_month {
        out.push_str(&format!("{}-{}", f.year, f.mon));
    } else if f.day != 0 {
        out.push_str(&format!(
            "{} {}:{:02}:{}",
            f.day,
            f.hour,
            f.min,
            seconds(f.sec, f.fsec, true)
        ));
    } else {
        out.push_str(&format!(
            "{}:{:02}:{}",
            f.hour,
            f.min,
            seconds(f.sec, f.fsec, true)
        ));
    }
    out
}

fn interval_verbose(v: IntervalMonthDayNano) -> String {
    let f = Fields::of(v);
    let mut out = String::from("@");
    let (mut is_zero, mut is_before) = (true, false);
    for (value, unit) in [
        (f.year, "year"),
        (f.mon, "mon"),
        (f.day, "day"),
        (f.hour, "hour"),
        (f.min, "min"),
    ] {
        if value == 0 {
            continue;
        }
        let shown = if is_zero {
            is_before = value < 0;
            value.abs()
        } else if is_before {
            -value
        } else {
            value
        };
        out.push_str(&format!(
            " {shown} {unit}{}",
            if shown == 1 { "" } else { "s" }
        ));
        is_zero = false;
    }
    if f.sec != 0 || f.fsec != 0 {
        out.push(' ');
        if f.sec < 0 || (f.sec == 0 && f.fsec < 0) {
            if is_zero {
                is_before = true;
            } else if !is_before {
                out.push('-');
            }
        } else if is_before {
            out.push('-');
        }
        out.push_str(&seconds(f.sec.abs(), f.fsec.abs(), false));
        out.push_str(if f.sec.abs() != 1 || f.fsec != 0 {
            " secs"
        } else {
            " sec"
        });
        is_zero = false;
    }
    if is_zero {
        out.push_str(" 0");
    }
    if is_before {
        out.push_str(" ago");
    }
    out
}

/// A `double precision` as PostgreSQL writes it.
pub fn float8(v: f64) -> String {
    if v.is_nan() {
        return "NaN".into();
    }
    if v.is_infinite() {
        return if v > 0.0 { "Infinity" } else { "-Infinity" }.into();
    }
    if v == 0.0 {
        return if v.is_sign_negative() { "-0" } else { "0" }.into();
    }
    // The shortest digits that read back the same value, and the exponent.
    let sci = format!("{v:e}");
    let Some((mantissa, exp)) = sci.split_once('e') else {
        return sci;
    };
    let Ok(exp) = exp.parse::<i32>() else {
        return sci;
    };
    if (-4..15).contains(&exp) {
        return format!("{v}");
    }
    let sign = if exp < 0 { '-' } else { '+' };
    format!("{mantissa}e{sign}{:02}", exp.abs())
}

/// A `real` as PostgreSQL writes it.
pub fn float4(v: f32) -> String {
    if v.is_nan() || v.is_infinite() || v == 0.0 {
        return float8(f64::from(v));
    }
    let sci = format!("{v:e}");
    let Some((mantissa, exp)) = sci.split_once('e') else {
        return sci;
    };
    let Ok(exp) = exp.parse::<i32>() else {
        return sci;
    };
    if (-4..6).contains(&exp) {
        return format!("{v}");
    }
    let sign = if exp < 0 { '-' } else { '+' };
    format!("{mantissa}e{sign}{:02}", exp.abs())
}

/// Row `row` of a list `array` as the texts of its elements, as PostgreSQL
/// writes them in an array (`{3,4.5}`, `{"2026-07-01 10:00:00+00",NULL}`:
/// the wire encoder joins and quotes them), for lists of the types
/// [`array_value`] writes (`None` for another type; `Some(None)` for NULL).
pub fn list_value(array: &dyn Array, row: usize) -> Option<Option<Vec<Option<String>>>> {
    let items = match array.data_type() {
        DataType::List(f) | DataType::LargeList(f) | DataType::FixedSizeList(f, _) => f,
        _ => return None,
    };
    let known = matches!(
        items.data_type(),
        DataType::Timestamp(..)
            | DataType::Interval(IntervalUnit::MonthDayNano)
            | DataType::Float64
            | DataType::Float32
            | DataType::Time64(_)
            | DataType::Time32(_)
    );
    if !known {
        return None;
    }
    if array.is_null(row) {
        return Some(None);
    }
    let value = match array.data_type() {
        DataType::List(_) => array.as_list::<i32>().value(row),
        DataType::LargeList(_) => array.as_list::<i64>().value(row),
        _ => array.as_fixed_size_list().value(row),
    };
    (0..value.len())
        .map(|i| array_value(value.as_ref(), i))
        .collect::<Option<Vec<_>>>()
        .map(Some)
}

/// Row `row` of `array` as PostgreSQL writes it, for the types this module
/// writes (`None` for another type; `Some(None)` for NULL). A `timestamptz`
/// is written in the zone its values carry.
pub fn array_value(array: &dyn Array, row: usize) -> Option<Option<String>> {
    use datafusion::arrow::datatypes::{
        Float32Type, Float64Type, TimeUnit, TimestampMicrosecondType, TimestampMillisecondType,
        TimestampNanosecondType, TimestampSecondType,
    };
    let known = matches!(
        array.data_type(),
        DataType::Timestamp(..)
            | DataType::Interval(IntervalUnit::MonthDayNano)
            | DataType::Float64
            | DataType::Float32
            | DataType::Time64(_)
            | DataType::Time32(_)
    );
    if !known {
        return None;
    }
    if array.is_null(row) {
        return Some(None);
    }
    Some(match array.data_type() {
        DataType::Timestamp(unit, zone) => {
            let micros = match unit {
                TimeUnit::Second => {
                    array.as_primitive::<TimestampSecondType>().value(row) * 1_000_000
                }
                TimeUnit::Millisecond => {
                    array.as_primitive::<TimestampMillisecondType>().value(row) * 1_000
                }
                TimeUnit::Microsecond => {
                    array.as_primitive::<TimestampMicrosecondType>().value(row)
                }
                // Rounded to microseconds, as PostgreSQL keeps them.
                TimeUnit::Nanosecond => {
                    let ns = array.as_primitive::<TimestampNanosecondType>().value(row);
                    (ns as f64 / 1000.0).round_ties_even() as i64
                }
            };
            let zone = match zone.as_deref().map(Zone::of_arrow) {
                Some(Ok(z)) => Some(z),
                Some(Err(_)) => return None,
                None => None,
            };
            timestamp(micros, zone.as_ref())
        }
        DataType::Interval(_) => Some(interval(
            array.as_primitive::<IntervalMonthDayNanoType>().value(row),
        )),
        DataType::Time64(_) | DataType::Time32(_) => {
            let micros = datafusion::arrow::compute::cast(
                &array.slice(row, 1),
                &DataType::Time64(TimeUnit::Microsecond),
            )
            .ok()?;
            let micros = datafusion::arrow::compute::cast(&micros, &DataType::Int64).ok()?;
            Some(time(
                micros
                    .as_primitive::<datafusion::arrow::datatypes::Int64Type>()
                    .value(0),
            ))
        }
        DataType::Float64 => Some(float8(array.as_primitive::<Float64Type>().value(row))),
        DataType::Float32 => Some(float4(array.as_primitive::<Float32Type>().value(row))),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {

    #[test]
    fn times_drop_trailing_zeros_of_their_fraction() {
        assert_eq!(
            time(((8 * 60 + 15) * 60 + 30) * 1_000_000 + 500_000),
            "08:15:30.5"
        );
        assert_eq!(time(0), "00:00:00");
        assert_eq!(time(86_399_999_999), "23:59:59.999999");
    }

    use super::*;

    #[test]
    fn intervals_read_as_postgresql_writes_them() {
        let iv = |m, d, us: i64| IntervalMonthDayNano::new(m, d, us * 1000);
        // Each expected text is PostgreSQL 15's.
        for (v, text) in [
            (iv(0, 0, 0), "00:00:00"),
            (iv(0, 1, 0), "1 day"),
            (iv(0, 7, 0), "7 days"),
            (iv(14, 3, 14_706_500_000), "1 year 2 mons 3 days 04:05:06.5"),
            (iv(0, 0, 100_000), "00:00:00.1"),
            (iv(0, 0, 178_200_000_000), "49:30:00"),
            (iv(0, -1, 7_200_000_000), "-1 days +02:00:00"),
            (iv(0, 0, -3_600_000_000), "-01:00:00"),
            (iv(-1, 0, 0), "-1 mons"),
        ] {
            assert_eq!(interval(v), text);
        }
    }

    #[test]
    fn floats_read_as_postgresql_writes_them() {
        for (v, text) in [
            (4.0, "4"),
            (2.5, "2.5"),
            (0.1 + 0.2, "0.30000000000000004"),
            (1e20, "1e+20"),
            (1e-10, "1e-10"),
            (123456789012345.0, "123456789012345"),
            (1e15, "1e+15"),
            (0.0001, "0.0001"),
            (-1.5e-7, "-1.5e-07"),
            (f64::INFINITY, "Infinity"),
            (f64::NAN, "NaN"),
        ] {
            assert_eq!(float8(v), text, "{v}");
        }
    }

    #[test]
    fn timestamps_read_as_postgresql_writes_them() {
        let msk = Zone::parse("Europe/Moscow").unwrap();
        assert_eq!(
            timestamp(1_782_900_000_500_000, Some(&msk)).unwrap(),
            "2026-07-01 13:00:00.5+03"
        );
        assert_eq!(
            timestamp(1_782_900_000_000_000, None).unwrap(),
            "2026-07-01 10:00:00"
        );
    }
}
