//! SQL values as JSON, as PostgreSQL's `to_json` writes them
//! (`datum_to_json` in utils/adt/json.c): numbers bare (`float8` in its
//! shortest form, `1e+20`; `NaN` and infinities quoted), booleans bare,
//! text quoted and escaped, `json` as it is, `jsonb` canonical, dates and
//! times in ISO 8601 (`"2026-06-01T10:00:00+03:00"` for a `timestamptz`, in
//! the session's time zone), arrays as `[1,2]`, records as `{"a":1}`. The
//! `jsonb` form of a value is this text read as `jsonb`.
//!
//! Types PostgreSQL would write differently from anything this can know
//! (`interval`, maps) are refused with 0A000 rather than written another
//! way.

use std::str::FromStr;

use chrono::{DateTime, NaiveDateTime, Offset, TimeZone};
use datafusion::arrow::array::timezone::Tz;
use datafusion::arrow::array::{Array, ArrayRef, AsArray};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{
    DataType, Date32Type, Date64Type, Field, Float16Type, Float32Type, Float64Type, Int8Type,
    Int16Type, Int32Type, Int64Type, Time32MillisecondType, Time32SecondType,
    Time64MicrosecondType, Time64NanosecondType, TimeUnit, UInt8Type, UInt16Type, UInt32Type,
    UInt64Type,
};
use datafusion::arrow::temporal_conversions as tc;
use datafusion::common::Result;

use super::Kind;
use super::value::{self, write_string};
use crate::sqlstate::{code, coded};

/// How values are written: the session's time zone, for `timestamptz`.
#[derive(Debug, Clone, Default)]
pub struct Writer {
    zone: Option<Tz>,
}

impl Writer {
    /// A writer for the session whose `execution.time_zone` is `zone`.
    pub fn new(zone: Option<&str>) -> Writer {
        Writer {
            zone: zone.and_then(|z| Tz::from_str(z).ok()),
        }
    }

    /// A writer for the configuration a function runs with.
    pub fn for_config(config: &datafusion::common::config::ConfigOptions) -> Writer {
        Writer::new(config.execution.time_zone.as_deref())
    }

    /// Row `row` of `array` (described by `field`) as JSON text.
    pub fn write(
        &self,
        array: &dyn Array,
        field: &Field,
        row: usize,
        out: &mut String,
    ) -> Result<()> {
        if array.is_null(row) {
            out.push_str("null");
            return Ok(());
        }
        match array.data_type() {
            DataType::Null => out.push_str("null"),
            DataType::Boolean => out.push_str(if array.as_boolean().value(row) {
                "true"
            } else {
                "false"
            }),
            DataType::Int8 => push(out, array.as_primitive::<Int8Type>().value(row)),
            DataType::Int16 => push(out, array.as_primitive::<Int16Type>().value(row)),
            DataType::Int32 => push(out, array.as_primitive::<Int32Type>().value(row)),
            DataType::Int64 => push(out, array.as_primitive::<Int64Type>().value(row)),
            DataType::UInt8 => push(out, array.as_primitive::<UInt8Type>().value(row)),
            DataType::UInt16 => push(out, array.as_primitive::<UInt16Type>().value(row)),
            DataType::UInt32 => push(out, array.as_primitive::<UInt32Type>().value(row)),
            DataType::UInt64 => push(out, array.as_primitive::<UInt64Type>().value(row)),
            DataType::Float16 => float(
                out,
                f64::from(array.as_primitive::<Float16Type>().value(row)),
                false,
            ),
            DataType::Float32 => float(
                out,
                f64::from(array.as_primitive::<Float32Type>().value(row)),
                true,
            ),
            DataType::Float64 => float(out, array.as_primitive::<Float64Type>().value(row), false),
            DataType::Decimal32(..)
            | DataType::Decimal64(..)
            | DataType::Decimal128(..)
            | DataType::Decimal256(..) => {
                // Arrow writes a decimal with all its scale, as numeric does.
                let one = array.slice(row, 1);
                let text = cast(&one, &DataType::Utf8)?;
                out.push_str(text.as_string::<i32>().value(0));
            }
            DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => {
                let one = array.slice(row, 1);
                let text = cast(&one, &DataType::Utf8)?;
                let text = text.as_string::<i32>().value(0);
                match Kind::of(field) {
                    Some(Kind::Json | Kind::Jsonb) => out.push_str(text),
                    None => write_string(text, out),
                }
            }
            DataType::Date32 => {
                let d = tc::date32_to_datetime(array.as_primitive::<Date32Type>().value(row));
                match d {
                    Some(d) => out.push_str(&format!("\"{}\"", d.format("%Y-%m-%d"))),
                    None => return Err(out_of_range("date")),
                }
            }
            DataType::Date64 => {
                let d = tc::date64_to_datetime(array.as_primitive::<Date64Type>().value(row));
                match d {
                    Some(d) => out.push_str(&format!("\"{}\"", d.format("%Y-%m-%d"))),
                    None => return Err(out_of_range("date")),
                }
            }
            DataType::Timestamp(unit, zone) => {
                let v = match unit {
                    TimeUnit::Second => array
                        .as_primitive::<datafusion::arrow::datatypes::TimestampSecondType>()
                        .value(row),
                    TimeUnit::Millisecond => array
                        .as_primitive::<datafusion::arrow::datatypes::TimestampMillisecondType>()
                        .value(row),
                    TimeUnit::Microsecond => array
                        .as_primitive::<datafusion::arrow::datatypes::TimestampMicrosecondType>()
                        .value(row),
                    TimeUnit::Nanosecond => array
                        .as_primitive::<datafusion::arrow::datatypes::TimestampNanosecondType>()
                        .value(row),
                };
                let utc = naive(v, *unit).ok_or_else(|| out_of_range("timestamp"))?;
                match zone {
                    None => {
                        out.push('"');
                        wall_clock(&utc, out);
                        out.push('"');
                    }
                    Some(own) => {
                        let zone = match &self.zone {
                            Some(z) => *z,
                            None => Tz::from_str(own)
                                .map_err(|e| coded(code::INVALID_PARAMETER_VALUE, e.to_string()))?,
                        };
                        let local: DateTime<Tz> = zone.from_utc_datetime(&utc);
                        out.push('"');
                        wall_clock(&local.naive_local(), out);
                        offset(local.offset().fix().local_minus_utc(), out);
                        out.push('"');
                    }
                }
            }
            DataType::Time32(_) | DataType::Time64(_) => {
                let t = match array.data_type() {
                    DataType::Time32(TimeUnit::Second) => {
                        tc::time32s_to_time(array.as_primitive::<Time32SecondType>().value(row))
                    }
                    DataType::Time32(_) => tc::time32ms_to_time(
                        array.as_primitive::<Time32MillisecondType>().value(row),
                    ),
                    DataType::Time64(TimeUnit::Microsecond) => tc::time64us_to_time(
                        array.as_primitive::<Time64MicrosecondType>().value(row),
                    ),
                    _ => tc::time64ns_to_time(
                        array.as_primitive::<Time64NanosecondType>().value(row),
                    ),
                };
                let t = t.ok_or_else(|| out_of_range("time"))?;
                out.push('"');
                out.push_str(&t.format("%H:%M:%S").to_string());
                fraction(t.format("%6f").to_string(), out);
                out.push('"');
            }
            DataType::Binary
            | DataType::LargeBinary
            | DataType::BinaryView
            | DataType::FixedSizeBinary(_) => {
                let one = array.slice(row, 1);
                let bytes = cast(&one, &DataType::Binary)?;
                let bytes = bytes.as_binary::<i32>().value(0);
                write_string(&format!("\\x{}", hex::encode(bytes)), out);
            }
            DataType::List(item) | DataType::LargeList(item) | DataType::FixedSizeList(item, _) => {
                let values: ArrayRef = match array.data_type() {
                    DataType::List(_) => array.as_list::<i32>().value(row),
                    DataType::LargeList(_) => array.as_list::<i64>().value(row),
                    _ => array.as_fixed_size_list().value(row),
                };
                out.push('[');
                for i in 0..values.len() {
                    if i > 0 {
                        out.push(',');
                    }
                    self.write(values.as_ref(), item, i, out)?;
                }
                out.push(']');
            }
            DataType::Struct(fields) => {
                let s = array.as_struct();
                out.push('{');
                for (i, (f, column)) in fields.iter().zip(s.columns()).enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    write_string(f.name(), out);
                    out.push(':');
                    self.write(column.as_ref(), f, row, out)?;
                }
                out.push('}');
            }
            DataType::Dictionary(_, value_type) => {
                let one = array.slice(row, 1);
                let plain = cast(&one, value_type)?;
                let f = Field::new(field.name(), value_type.as_ref().clone(), true)
                    .with_metadata(field.metadata().clone());
                self.write(plain.as_ref(), &f, 0, out)?;
            }
            other => {
                return Err(coded(
                    code::FEATURE_NOT_SUPPORTED,
                    format!(
                        "values of type {} cannot be written as JSON here",
                        super::pg_type_name(other)
                    ),
                ));
            }
        }
        Ok(())
    }

    /// Row `row` as `kind`: the JSON text, canonical for `jsonb`.
    pub fn write_as(
        &self,
        kind: Kind,
        array: &dyn Array,
        field: &Field,
        row: usize,
    ) -> Result<String> {
        let mut text = String::new();
        self.write(array, field, row, &mut text)?;
        Ok(match kind {
            Kind::Json => text,
            Kind::Jsonb => value::jsonb_text(&value::parse_jsonb(&text)?)?,
        })
    }
}

fn push(out: &mut String, v: impl std::fmt::Display) {
    out.push_str(&v.to_string());
}

fn out_of_range(what: &str) -> datafusion::common::DataFusionError {
    coded("22008", format!("{what} out of range"))
}

/// An instant as UTC wall-clock time.
fn naive(v: i64, unit: TimeUnit) -> Option<NaiveDateTime> {
    let (secs, nanos) = match unit {
        TimeUnit::Second => (v, 0),
        TimeUnit::Millisecond => (v.div_euclid(1000), v.rem_euclid(1000) * 1_000_000),
        TimeUnit::Microsecond => (v.div_euclid(1_000_000), v.rem_euclid(1_000_000) * 1000),
        TimeUnit::Nanosecond => (v.div_euclid(1_000_000_000), v.rem_euclid(1_000_000_000)),
    };
    DateTime::from_timestamp(secs, u32::try_from(nanos).ok()?).map(|d| d.naive_utc())
}

/// `YYYY-MM-DDTHH:MI:SS[.ffffff]`, microseconds without trailing zeros.
fn wall_clock(t: &NaiveDateTime, out: &mut String) {
    out.push_str(&t.format("%Y-%m-%dT%H:%M:%S").to_string());
    fraction(t.format("%6f").to_string(), out);
}

fn fraction(micros: String, out: &mut String) {
    let trimmed = micros.trim_end_matches('0');
    if !trimmed.is_empty() {
        out.push('.');
        out.push_str(trimmed);
    }
}

/// A UTC offset as PostgreSQL's ISO style writes it: `+03:00`,
/// `-09:30`, seconds only when there are some.
fn offset(seconds: i32, out: &mut String) {
    let sign = if seconds < 0 { '-' } else { '+' };
    let s = seconds.abs();
    out.push_str(&format!("{sign}{:02}:{:02}", s / 3600, s / 60 % 60));
    if s % 60 != 0 {
        out.push_str(&format!(":{:02}", s % 60));
    }
}

/// A float as PostgreSQL prints it (shortest exact digits; exponent form
/// below 1e-4 and from 1e15, 1e6 for `real`), quoted when not finite.
fn float(out: &mut String, v: f64, single: bool) {
    if v.is_nan() {
        out.push_str("\"NaN\"");
        return;
    }
    if v.is_infinite() {
        out.push_str(if v > 0.0 {
            "\"Infinity\""
        } else {
            "\"-Infinity\""
        });
        return;
    }
    out.push_str(&float_text(v, single));
}

/// PostgreSQL's `float8out`/`float4out` text of a finite value.
pub fn float_text(v: f64, single: bool) -> String {
    if v == 0.0 {
        return if v.is_sign_negative() {
            "-0".into()
        } else {
            "0".into()
        };
    }
    // Shortest round-trip digits, in scientific form: `-1.2345e-7`.
    let sci = if single {
        format!("{:e}", v as f32)
    } else {
        format!("{v:e}")
    };
    let (mantissa, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let (negative, mantissa) = match mantissa.strip_prefix('-') {
        Some(m) => (true, m),
        None => (false, mantissa),
    };
    let digits: String = mantissa.chars().filter(|c| *c != '.').collect();
    let limit = if single { 6 } else { 15 };
    let mut out = String::new();
    if negative {
        out.push('-');
    }
    if exp < -4 || exp >= limit {
        out.push_str(&digits[..1]);
        if digits.len() > 1 {
            out.push('.');
            out.push_str(&digits[1..]);
        }
        out.push_str(&format!(
            "e{}{:02}",
            if exp < 0 { '-' } else { '+' },
            exp.abs()
        ));
    } else if exp < 0 {
        out.push_str("0.");
        for _ in 0..(-exp - 1) {
            out.push('0');
        }
        out.push_str(&digits);
    } else {
        let point = exp as usize + 1;
        if digits.len() <= point {
            out.push_str(&digits);
            for _ in digits.len()..point {
                out.push('0');
            }
        } else {
            out.push_str(&digits[..point]);
            out.push('.');
            out.push_str(&digits[point..]);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn floats_print_as_postgresql_prints_them() {
        // PostgreSQL 15: json_agg of float8 1e20, 1e-5, 123456789012345,
        // 1.5; float4 0.1, 1e15, 3.4e38.
        assert_eq!(float_text(1e20, false), "1e+20");
        assert_eq!(float_text(1e-5, false), "1e-05");
        assert_eq!(float_text(123_456_789_012_345.0, false), "123456789012345");
        assert_eq!(float_text(1.5, false), "1.5");
        assert_eq!(float_text(0.1, true), "0.1");
        assert_eq!(float_text(1e15, true), "1e+15");
        assert_eq!(float_text(3.4e38, true), "3.4e+38");
        assert_eq!(float_text(-0.000_123, false), "-0.000123");
        assert_eq!(float_text(100.0, false), "100");
    }

    #[test]
    fn offsets_print_as_postgresql_prints_them() {
        let mut s = String::new();
        offset(3 * 3600, &mut s);
        offset(-(9 * 3600 + 30 * 60), &mut s);
        offset(0, &mut s);
        assert_eq!(s, "+03:00-09:30+00:00");
    }
}
