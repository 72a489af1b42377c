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

/// `.5` for 500 000 microseconds; nothing for none.
fn push_fraction(text: &mut String, micros: i64) {
    if micros != 0 {
        let digits = format!("{micros:06}");
        text.push('.');
        text.push_str(digits.trim_end_matches('0'));
    }
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
            let zone = match zone.as_deref().map(Zone::parse) {
                Some(Ok(z)) => Some(z),
                Some(Err(_)) => return None,
                None => None,
            };
            timestamp(micros, zone.as_ref())
        }
        DataType::Interval(_) => Some(interval(
            array.as_primitive::<IntervalMonthDayNanoType>().value(row),
        )),
        DataType::Float64 => Some(float8(array.as_primitive::<Float64Type>().value(row))),
        DataType::Float32 => Some(float4(array.as_primitive::<Float32Type>().value(row))),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
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
