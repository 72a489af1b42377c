//! PostgreSQL 15's template formatting functions, in place of DataFusion's
//! chrono-based ones (which read `%Y`, so `to_char(ts, 'YYYY-MM-DD')` was
//! the template itself):
//!
//! - `to_char(timestamp | timestamptz | date | interval, text)` and
//!   `to_char(integer | bigint | real | double precision | numeric, text)`
//!   ([`format_datetime`], [`number`]);
//! - `to_timestamp(text, text)` → `timestamptz` and `to_date(text, text)`
//!   → `date` ([`parse_datetime`]); `to_timestamp(double precision)` from
//!   seconds since 1970.
//!
//! A `timestamptz` (and a `date`, which PostgreSQL turns into one) is
//! written as its wall clock in the session's `TimeZone` (the engine's
//! `execution.time_zone`, which follows it), `TZ` its abbreviation there;
//! text without an offset is read in that zone. Errors are PostgreSQL's,
//! with its SQLSTATEs (22007 text that does not fit its template, 22008 a
//! field out of range, 42601 a bad number template, 42883/42725 argument
//! types it has no such function for).

mod decimal;
mod format_datetime;
pub(super) mod number;
mod parse_datetime;
mod template;
#[cfg(test)]
mod tests;

use std::sync::Arc;

use chrono::{DateTime, NaiveDate, NaiveDateTime, Offset, TimeZone, Utc};
use datafusion::arrow::array::{
    Array, ArrayRef, AsArray, Date32Array, StringArray, TimestampMicrosecondArray,
};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{
    DataType, Date32Type, Field, FieldRef, Float32Type, Float64Type, Int64Type,
    IntervalDayTimeType, IntervalMonthDayNanoType, IntervalUnit, IntervalYearMonthType, TimeUnit,
    TimestampMicrosecondType,
};
use datafusion::common::Result;
use datafusion::common::config::ConfigOptions;
use datafusion::logical_expr::{
    ColumnarValue, ReturnFieldArgs, ScalarFunctionArgs, ScalarUDFImpl, Signature, Volatility,
};

use super::Zone;
use crate::sqlstate::{code, coded};
use format_datetime::Fields;
use number::Number;

/// The zone label OKO's `timestamptz` values carry.
const UTC_LABEL: &str = "+00:00";
/// Julian day of 1970-01-01 and of 0001-01-01 (chrono's day 1).
const UNIX_EPOCH_JDATE: i64 = 2_440_588;
const CE_JDATE: i64 = 1_721_425;

/// 42725: a call that more than one function could answer.
const AMBIGUOUS_FUNCTION: &str = "42725";

/// The session's `TimeZone`, with what `to_char` writes for `TZ`.
struct SessionZone {
    zone: Zone,
    /// The abbreviation of a fixed zone (`UTC`, `GMT`, `+03`).
    fixed_name: String,
}

impl SessionZone {
    fn of(config: &ConfigOptions) -> Result<SessionZone> {
        let text = config.execution.time_zone.as_deref().unwrap_or("UTC");
        let zone = Zone::of_arrow(text)?;
        let fixed_name = match zone {
            Zone::Named(_) => String::new(),
            Zone::Fixed(o) => {
                let letters: String = text
                    .trim()
                    .chars()
                    .take_while(|c| c.is_ascii_alphabetic())
                    .collect();
                match letters.to_ascii_lowercase().as_str() {
                    "gmt" => "GMT".into(),
                    "" => offset_name(i64::from(o.local_minus_utc())),
                    "utc" | "z" | "zulu" | "universal" => "UTC".into(),
                    other => other.to_ascii_uppercase(),
                }
            }
        };
        Ok(SessionZone { zone, fixed_name })
    }

    /// An instant's fields on the session's clock.
    fn fields(&self, utc_micros: i64) -> Result<Fields> {
        let instant =
            DateTime::<Utc>::from_timestamp_micros(utc_micros).ok_or_else(out_of_range)?;
        Ok(match self.zone {
            Zone::Named(tz) => {
                use chrono_tz::OffsetName;
                let local = instant.with_timezone(&tz);
                let offset = local.offset();
                let name = offset
                    .abbreviation()
                    .map(str::to_string)
                    .unwrap_or_else(|| offset_name(i64::from(offset.fix().local_minus_utc())));
                Fields::wall_clock(
                    local.naive_local(),
                    i64::from(offset.fix().local_minus_utc()),
                    Some(name),
                )
            }
            Zone::Fixed(o) => Fields::wall_clock(
                instant.with_timezone(&o).naive_local(),
                i64::from(o.local_minus_utc()),
                Some(self.fixed_name.clone()),
            ),
        })
    }
}

/// `+03`, `-03:30`: a zone without a name, as PostgreSQL writes it.
fn offset_name(east: i64) -> String {
    let sign = if east >= 0 { '+' } else { '-' };
    let (h, m) = (east.abs() / 3600, east.abs() % 3600 / 60);
    if m == 0 {
        format!("{sign}{h:02}")
    } else {
        format!("{sign}{h:02}:{m:02}")
    }
}

fn out_of_range() -> datafusion::common::DataFusionError {
    coded(code::DATETIME_FIELD_OVERFLOW, "timestamp out of range")
}

/// PostgreSQL's name of the type a value of `t` has.
fn pg_name(t: &DataType, literal: bool) -> &'static str {
    match t {
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View if literal => "unknown",
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => "text",
        DataType::Boolean => "boolean",
        DataType::Int8 | DataType::Int16 | DataType::UInt8 => "smallint",
        DataType::Int32 | DataType::UInt16 => "integer",
        DataType::Int64 | DataType::UInt32 | DataType::UInt64 => "bigint",
        DataType::Float16 | DataType::Float32 => "real",
        DataType::Float64 => "double precision",
        DataType::Decimal128(..) | DataType::Decimal256(..) => "numeric",
        DataType::Date32 | DataType::Date64 => "date",
        DataType::Timestamp(_, Some(_)) => "timestamp with time zone",
        DataType::Timestamp(_, None) => "timestamp without time zone",
        DataType::Interval(_) | DataType::Duration(_) => "interval",
        DataType::Null => "unknown",
        DataType::List(_) | DataType::LargeList(_) => "anyarray",
        _ => "unknown",
    }
}

fn is_text(t: &DataType) -> bool {
    matches!(
        t,
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View | DataType::Null
    )
}

/// 42883 (or 42725 for an untyped literal PostgreSQL cannot choose a
/// function for) when the arguments fit none of `name`'s signatures.
fn check_args(
    name: &str,
    args: &ReturnFieldArgs,
    fits: impl Fn(&[DataType]) -> bool,
) -> Result<()> {
    let types: Vec<DataType> = args
        .arg_fields
        .iter()
        .map(|f| f.data_type().clone())
        .collect();
    if fits(&types) {
        return Ok(());
    }
    let literal = |i: usize| args.scalar_arguments.get(i).is_some_and(|s| s.is_some());
    let shown: Vec<&str> = types
        .iter()
        .enumerate()
        .map(|(i, t)| pg_name(t, literal(i)))
        .collect();
    let signature = format!("{name}({})", shown.join(", "));
    if name == "to_char" && types.len() == 2 && shown[0] == "unknown" && is_text(&types[1]) {
        return Err(coded(
            AMBIGUOUS_FUNCTION,
            format!("function {signature} is not unique"),
        ));
    }
    Err(coded(
        code::UNDEFINED_FUNCTION,
        format!("function {signature} does not exist"),
    ))
}

/// One argument's values as text (NULL for NULL).
fn texts(value: &ColumnarValue, rows: usize) -> Result<Vec<Option<String>>> {
    let array = cast(&value.to_array(rows)?, &DataType::Utf8)?;
    let array = array.as_string::<i32>();
    Ok((0..array.len())
        .map(|i| (!array.is_null(i)).then(|| array.value(i).to_string()))
        .collect())
}

/// `to_char(value, template)`.
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct ToChar {
    signature: Signature,
    /// DataFusion's `to_char` is also registered as `date_format`: taking
    /// that name too leaves no copy of it in the session, which a rebuilt
    /// session state (`SessionStateBuilder::new_from_existing` registers
    /// every function again, by name and aliases, in hash order) could
    /// otherwise put back under `to_char`.
    aliases: Vec<String>,
}

impl ToChar {
    pub fn new() -> Self {
        Self {
            signature: Signature::variadic_any(Volatility::Stable),
            aliases: vec!["date_format".to_string()],
        }
    }
}

impl Default for ToChar {
    fn default() -> Self {
        Self::new()
    }
}

fn formattable(t: &DataType) -> bool {
    matches!(
        t,
        DataType::Null
            | DataType::Int8
            | DataType::Int16
            | DataType::Int32
            | DataType::Int64
            | DataType::UInt8
            | DataType::UInt16
            | DataType::UInt32
            | DataType::UInt64
            | DataType::Float16
            | DataType::Float32
            | DataType::Float64
            | DataType::Decimal128(..)
            | DataType::Decimal256(..)
            | DataType::Date32
            | DataType::Date64
            | DataType::Timestamp(..)
            | DataType::Interval(_)
            | DataType::Duration(_)
    )
}

impl ScalarUDFImpl for ToChar {
    fn name(&self) -> &str {
        "to_char"
    }
    fn aliases(&self) -> &[String] {
        &self.aliases
    }
    fn signature(&self) -> &Signature {
        &self.signature
    }
    fn return_type(&self, _: &[DataType]) -> Result<DataType> {
        Ok(DataType::Utf8)
    }
    fn return_field_from_args(&self, args: ReturnFieldArgs) -> Result<FieldRef> {
        check_args("to_char", &args, |t| {
            t.len() == 2 && formattable(&t[0]) && is_text(&t[1])
        })?;
        Ok(Arc::new(Field::new("to_char", DataType::Utf8, true)))
    }
    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let rows = args.number_rows;
        let scalar = super::all_scalar(&args.args);
        let [value, template] = args.args.as_slice() else {
            return Err(coded(
                code::UNDEFINED_FUNCTION,
                "to_char takes two arguments",
            ));
        };
        let templates = texts(template, rows)?;
        let values = value.to_array(rows)?;
        let zone = SessionZone::of(&args.config_options)?;
        // One parse per distinct template in a batch (usually one).
        let mut parsed: Option<(String, Vec<template::Node>)> = None;
        let mut out: Vec<Option<String>> = Vec::with_capacity(rows);
        let kind = Kind::of(values.data_type());
        let values = kind.normalize(&values)?;
        for (i, t) in templates.iter().enumerate() {
            let Some(t) = t.as_deref().filter(|t| !t.is_empty()) else {
                out.push(None);
                continue;
            };
            if values.is_null(i) {
                out.push(None);
                continue;
            }
            if let Some(n) = kind.number(&values, i)? {
                out.push(number::to_char(&n, t)?);
                continue;
            }
            let nodes = match &parsed {
                Some((text, nodes)) if text == t => nodes,
                _ => &parsed.insert((t.to_string(), template::parse(t))).1,
            };
            let fields = kind.fields(&values, i, &zone)?;
            out.push(Some(format_datetime::format(nodes, &fields)?));
        }
        let array: ArrayRef = Arc::new(StringArray::from(out));
        super::answer(array, scalar)
    }
}

/// What `to_char` is writing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Null,
    Int4,
    Int8,
    Float4,
    Float8,
    Numeric,
    Timestamp,
    Timestamptz,
    Date,
    Interval,
    Duration,
}

impl Kind {
    fn of(t: &DataType) -> Kind {
        match t {
            DataType::Int8
            | DataType::Int16
            | DataType::Int32
            | DataType::UInt8
            | DataType::UInt16 => Kind::Int4,
            DataType::Int64 | DataType::UInt32 => Kind::Int8,
            DataType::UInt64 | DataType::Decimal128(..) | DataType::Decimal256(..) => Kind::Numeric,
            DataType::Float16 | DataType::Float32 => Kind::Float4,
            DataType::Float64 => Kind::Float8,
            DataType::Timestamp(_, Some(_)) => Kind::Timestamptz,
            DataType::Timestamp(_, None) => Kind::Timestamp,
            DataType::Date32 | DataType::Date64 => Kind::Date,
            DataType::Interval(_) => Kind::Interval,
            DataType::Duration(_) => Kind::Duration,
            _ => Kind::Null,
        }
    }

    /// The values in the one Arrow type each kind is read from.
    fn normalize(self, values: &ArrayRef) -> Result<ArrayRef> {
        let target = match self {
            Kind::Null => return Ok(values.clone()),
            Kind::Int4 | Kind::Int8 => DataType::Int64,
            Kind::Float4 => DataType::Float32,
            Kind::Float8 => DataType::Float64,
            Kind::Numeric => DataType::Utf8,
            Kind::Timestamp => DataType::Timestamp(TimeUnit::Microsecond, None),
            Kind::Timestamptz => DataType::Timestamp(TimeUnit::Microsecond, Some(UTC_LABEL.into())),
            Kind::Date => DataType::Date32,
            Kind::Interval => match values.data_type() {
                DataType::Interval(_) => return Ok(values.clone()),
                _ => DataType::Interval(IntervalUnit::MonthDayNano),
            },
            Kind::Duration => DataType::Duration(TimeUnit::Microsecond),
        };
        Ok(cast(values, &target)?)
    }

    fn number(self, values: &ArrayRef, i: usize) -> Result<Option<Number>> {
        Ok(Some(match self {
            Kind::Int4 => Number::Int4(values.as_primitive::<Int64Type>().value(i)),
            Kind::Int8 => Number::Int8(values.as_primitive::<Int64Type>().value(i)),
            Kind::Float4 => Number::Float4(values.as_primitive::<Float32Type>().value(i)),
            Kind::Float8 => Number::Float8(values.as_primitive::<Float64Type>().value(i)),
            Kind::Numeric => Number::Numeric(values.as_string::<i32>().value(i).to_string()),
            _ => return Ok(None),
        }))
    }

    fn fields(self, values: &ArrayRef, i: usize, zone: &SessionZone) -> Result<Fields> {
        Ok(match self {
            Kind::Timestamp => {
                let v = values.as_primitive::<TimestampMicrosecondType>().value(i);
                let t = DateTime::<Utc>::from_timestamp_micros(v).ok_or_else(out_of_range)?;
                Fields::wall_clock(t.naive_utc(), 0, None)
            }
            Kind::Timestamptz => {
                zone.fields(values.as_primitive::<TimestampMicrosecondType>().value(i))?
            }
            Kind::Date => {
                // A date is formatted as the timestamptz of its midnight.
                let days = values.as_primitive::<Date32Type>().value(i);
                let midnight = DateTime::<Utc>::from_timestamp(i64::from(days) * 86_400, 0)
                    .ok_or_else(out_of_range)?
                    .naive_utc();
                let instant = zone.zone.instant(midnight).ok_or_else(out_of_range)?;
                zone.fields(instant.timestamp_micros())?
            }
            Kind::Interval => match values.data_type() {
                DataType::Interval(IntervalUnit::YearMonth) => {
                    let m = values.as_primitive::<IntervalYearMonthType>().value(i);
                    Fields::interval(i64::from(m), 0, 0)
                }
                DataType::Interval(IntervalUnit::DayTime) => {
                    let v = values.as_primitive::<IntervalDayTimeType>().value(i);
                    Fields::interval(0, i64::from(v.days), i64::from(v.milliseconds) * 1000)
                }
                _ => {
                    let v = values.as_primitive::<IntervalMonthDayNanoType>().value(i);
                    Fields::interval(i64::from(v.months), i64::from(v.days), v.nanoseconds / 1000)
                }
            },
            Kind::Duration => {
                // A difference of timestamps: days and a time, as
                // PostgreSQL's `timestamp - timestamp` answers it.
                let us = values
                    .as_primitive::<datafusion::arrow::datatypes::DurationMicrosecondType>()
                    .value(i);
                Fields::interval(0, us / 86_400_000_000, us % 86_400_000_000)
            }
            _ => Fields::default(),
        })
    }
}

/// `to_timestamp(text, template)` → `timestamptz`, and
/// `to_timestamp(seconds)`.
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct ToTimestamp {
    signature: Signature,
}

impl ToTimestamp {
    pub fn new() -> Self {
        Self {
            signature: Signature::variadic_any(Volatility::Stable),
        }
    }
}

impl Default for ToTimestamp {
    fn default() -> Self {
        Self::new()
    }
}

fn is_number(t: &DataType) -> bool {
    t.is_numeric() || matches!(t, DataType::Null)
}

impl ScalarUDFImpl for ToTimestamp {
    fn name(&self) -> &str {
        "to_timestamp"
    }
    fn signature(&self) -> &Signature {
        &self.signature
    }
    fn return_type(&self, _: &[DataType]) -> Result<DataType> {
        Ok(DataType::Timestamp(
            TimeUnit::Microsecond,
            Some(UTC_LABEL.into()),
        ))
    }
    fn return_field_from_args(&self, args: ReturnFieldArgs) -> Result<FieldRef> {
        let literal = args.scalar_arguments.first().is_some_and(|s| s.is_some());
        check_args("to_timestamp", &args, |t| match t {
            [one] => is_number(one) || (literal && is_text(one)),
            [a, b] => is_text(a) && is_text(b),
            _ => false,
        })?;
        Ok(Arc::new(Field::new(
            "to_timestamp",
            DataType::Timestamp(TimeUnit::Microsecond, Some(UTC_LABEL.into())),
            true,
        )))
    }
    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let rows = args.number_rows;
        let scalar = super::all_scalar(&args.args);
        let out: Vec<Option<i64>> = match args.args.as_slice() {
            [seconds] => epoch_seconds(seconds, rows)?,
            [text, template] => {
                let zone = SessionZone::of(&args.config_options)?.zone;
                read_all(text, template, rows, |parsed, _| instant(parsed, &zone))?
            }
            _ => {
                return Err(coded(
                    code::UNDEFINED_FUNCTION,
                    "to_timestamp takes one or two arguments",
                ));
            }
        };
        let array: ArrayRef =
            Arc::new(TimestampMicrosecondArray::from(out).with_timezone(UTC_LABEL));
        super::answer(array, scalar)
    }
}

/// Reads each text by its template with `convert`.
fn read_all<T>(
    text: &ColumnarValue,
    template: &ColumnarValue,
    rows: usize,
    convert: impl Fn(parse_datetime::Parsed, &str) -> Result<T>,
) -> Result<Vec<Option<T>>> {
    let templates = texts(template, rows)?;
    let texts = texts(text, rows)?;
    let mut parsed: Option<(String, Vec<template::Node>)> = None;
    let mut out = Vec::with_capacity(texts.len());
    for (text, t) in texts.iter().zip(&templates) {
        let (Some(text), Some(t)) = (text, t) else {
            out.push(None);
            continue;
        };
        let nodes = match &parsed {
            Some((known, nodes)) if known == t => nodes,
            _ => &parsed.insert((t.clone(), template::parse(t))).1,
        };
        let (mut p, ff) = parse_datetime::parse(nodes, text)?;
        p.micros = parse_datetime::round_fraction(p.micros, ff);
        out.push(Some(convert(p, text)?));
    }
    Ok(out)
}

/// The instant a reading names: with its own offset, or the session's.
fn instant(p: parse_datetime::Parsed, zone: &Zone) -> Result<i64> {
    let date = NaiveDate::from_num_days_from_ce_opt(
        i32::try_from(p.julian - CE_JDATE).map_err(|_| out_of_range())?,
    )
    .ok_or_else(out_of_range)?;
    let local: NaiveDateTime =
        date.and_time(chrono::NaiveTime::MIN) + chrono::Duration::microseconds(p.micros);
    let utc = match p.offset {
        Some(east) => {
            chrono::FixedOffset::east_opt(i32::try_from(east).map_err(|_| out_of_range())?)
                .and_then(|o| o.from_local_datetime(&local).single())
                .map(|t| t.with_timezone(&Utc))
        }
        None => zone.instant(local),
    };
    utc.map(|u| u.timestamp_micros()).ok_or_else(out_of_range)
}

/// `to_timestamp(seconds since 1970)`, rounded to microseconds as
/// PostgreSQL rounds it; a text literal is read as `double precision`.
fn epoch_seconds(seconds: &ColumnarValue, rows: usize) -> Result<Vec<Option<i64>>> {
    let array = seconds.to_array(rows)?;
    let values: Vec<Option<f64>> =
        if is_text(array.data_type()) && !matches!(array.data_type(), DataType::Null) {
            texts(seconds, rows)?
                .into_iter()
                .map(|t| t.map(|t| float8_in(&t)).transpose())
                .collect::<Result<_>>()?
        } else {
            let f = cast(&array, &DataType::Float64)?;
            let f = f.as_primitive::<Float64Type>();
            (0..f.len())
                .map(|i| (!f.is_null(i)).then(|| f.value(i)))
                .collect()
        };
    values
        .into_iter()
        .map(|v| v.map(from_epoch).transpose())
        .collect()
}

/// PostgreSQL's `float8in` of a text.
fn float8_in(text: &str) -> Result<f64> {
    let t = text.trim();
    match t.to_ascii_lowercase().as_str() {
        "nan" => return Ok(f64::NAN),
        "infinity" | "+infinity" | "inf" | "+inf" => return Ok(f64::INFINITY),
        "-infinity" | "-inf" => return Ok(f64::NEG_INFINITY),
        _ => {}
    }
    t.parse::<f64>()
        .ok()
        .filter(|v| v.is_finite())
        .ok_or_else(|| {
            coded(
                code::INVALID_TEXT_REPRESENTATION,
                format!("invalid input syntax for type double precision: \"{text}\""),
            )
        })
}

/// Seconds since 1970 as microseconds (PostgreSQL's `float8_timestamptz`).
fn from_epoch(seconds: f64) -> Result<i64> {
    if seconds.is_nan() {
        return Err(coded(
            code::DATETIME_FIELD_OVERFLOW,
            "timestamp cannot be NaN",
        ));
    }
    if seconds.is_infinite() {
        return Err(coded(
            code::FEATURE_NOT_SUPPORTED,
            "infinite timestamps are not supported",
        ));
    }
    // PostgreSQL counts from 2000-01-01 and rounds there.
    const PG_EPOCH_SECONDS: f64 = 946_684_800.0;
    let min = -(UNIX_EPOCH_JDATE as f64) * 86_400.0;
    let max = (109_203_528 - UNIX_EPOCH_JDATE) as f64 * 86_400.0;
    let range = || {
        coded(
            code::DATETIME_FIELD_OVERFLOW,
            format!("timestamp out of range: \"{seconds}\""),
        )
    };
    if seconds < min || seconds >= max {
        return Err(range());
    }
    let pg = ((seconds - PG_EPOCH_SECONDS) * 1e6).round_ties_even();
    let micros = pg + PG_EPOCH_SECONDS * 1e6;
    if micros.abs() >= 9.2e18 {
        return Err(range());
    }
    Ok(micros as i64)
}

/// `to_date(text, template)`.
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct ToDate {
    signature: Signature,
}

impl ToDate {
    pub fn new() -> Self {
        Self {
            signature: Signature::variadic_any(Volatility::Stable),
        }
    }
}

impl Default for ToDate {
    fn default() -> Self {
        Self::new()
    }
}

impl ScalarUDFImpl for ToDate {
    fn name(&self) -> &str {
        "to_date"
    }
    fn signature(&self) -> &Signature {
        &self.signature
    }
    fn return_type(&self, _: &[DataType]) -> Result<DataType> {
        Ok(DataType::Date32)
    }
    fn return_field_from_args(&self, args: ReturnFieldArgs) -> Result<FieldRef> {
        check_args("to_date", &args, |t| {
            t.len() == 2 && is_text(&t[0]) && is_text(&t[1])
        })?;
        Ok(Arc::new(Field::new("to_date", DataType::Date32, true)))
    }
    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let rows = args.number_rows;
        let scalar = super::all_scalar(&args.args);
        let [text, template] = args.args.as_slice() else {
            return Err(coded(
                code::UNDEFINED_FUNCTION,
                "to_date takes two arguments",
            ));
        };
        let out = read_all(text, template, rows, |p, text| {
            // PostgreSQL's dates run from 4714-11-24 BC to 5874897 AD.
            let out_of_range = || {
                coded(
                    code::DATETIME_FIELD_OVERFLOW,
                    format!("date out of range: \"{text}\""),
                )
            };
            if !(0..2_147_483_494).contains(&p.julian) {
                return Err(out_of_range());
            }
            i32::try_from(p.julian - UNIX_EPOCH_JDATE).map_err(|_| out_of_range())
        })?;
        let array: ArrayRef = Arc::new(Date32Array::from(out));
        super::answer(array, scalar)
    }
}
