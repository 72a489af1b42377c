//! PostgreSQL's interval and timestamp constructors DataFusion lacks:
//! `justify_hours`, `justify_days`, `justify_interval` (PostgreSQL 15's
//! algorithm, 30-day months and 24-hour days), `make_interval` (named
//! arguments: `make_interval(hours => 5)`), `make_timestamp`, `make_time`
//! (seconds with a fraction),
//! `make_timestamptz` (in the session's zone, or the one given) and
//! `isfinite` (OKO's timestamps are always finite).

use std::sync::Arc;

use chrono::{NaiveDate, NaiveDateTime, Utc};
use datafusion::arrow::array::{
    Array, ArrayRef, AsArray, BooleanArray, IntervalMonthDayNanoArray, TimestampMicrosecondArray,
};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{
    DataType, Float64Type, Int32Type, IntervalMonthDayNano, IntervalUnit, TimeUnit,
};
use datafusion::common::Result;
use datafusion::logical_expr::{
    ColumnarValue, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature, TypeSignature,
    Volatility,
};

use super::Zone;
use super::simple::{coercing, function, named};
use crate::sqlstate::{code, coded};

const INTERVAL: DataType = DataType::Interval(IntervalUnit::MonthDayNano);
const DAY_NS: i64 = 86_400_000_000_000;

/// The functions of this module.
pub fn functions() -> Result<Vec<ScalarUDF>> {
    Ok(vec![
        justify("justify_hours", |args, _| {
            map_intervals(&args[0], justify_hours)
        }),
        justify("justify_days", |args, _| {
            map_intervals(&args[0], justify_days)
        }),
        justify("justify_interval", |args, _| {
            map_intervals(&args[0], justify_interval)
        }),
        named(
            "make_interval",
            &["years", "months", "weeks", "days", "hours", "mins", "secs"],
            |args| {
                if args.len() > 7 {
                    return Err(coded(
                        code::UNDEFINED_FUNCTION,
                        "make_interval takes at most 7 arguments",
                    ));
                }
                Ok(args
                    .iter()
                    .enumerate()
                    .map(|(i, _)| {
                        if i == 6 {
                            DataType::Float64
                        } else {
                            DataType::Int32
                        }
                    })
                    .collect())
            },
            |_| Ok(INTERVAL),
            make_interval,
        )?,
        coercing(
            "make_timestamp",
            Volatility::Immutable,
            timestamp_parts,
            |_| Ok(DataType::Timestamp(TimeUnit::Microsecond, None)),
            |args, _| {
                let walls = wall_clocks(args)?;
                Ok(Arc::new(TimestampMicrosecondArray::from(
                    walls
                        .iter()
                        .map(|w| w.map(|w| w.and_utc().timestamp_micros()))
                        .collect::<Vec<_>>(),
                )))
            },
        ),
        ScalarUDF::new_from_impl(MakeTimestamptz::new()),
        coercing(
            "make_time",
            Volatility::Immutable,
            |args| {
                if args.len() != 3 {
                    return Err(coded(
                        code::UNDEFINED_FUNCTION,
                        "make_time takes hour, min, sec",
                    ));
                }
                Ok(vec![DataType::Int32, DataType::Int32, DataType::Float64])
            },
            |_| Ok(DataType::Time64(TimeUnit::Microsecond)),
            make_time,
        ),
        function(
            "isfinite",
            Signature::any(1, Volatility::Immutable),
            |_| Ok(DataType::Boolean),
            |args, _| {
                let a = &args[0];
                Ok(Arc::new(BooleanArray::from(
                    (0..a.len())
                        .map(|r| (!a.is_null(r)).then_some(true))
                        .collect::<Vec<_>>(),
                )))
            },
        ),
    ])
}

fn justify(name: &'static str, run: super::simple::Run) -> ScalarUDF {
    function(
        name,
        Signature::exact(vec![INTERVAL], Volatility::Immutable),
        |_| Ok(INTERVAL),
        run,
    )
}

fn map_intervals(array: &ArrayRef, f: fn(i32, i32, i64) -> (i32, i32, i64)) -> Result<ArrayRef> {
    let values = array.as_primitive::<datafusion::arrow::datatypes::IntervalMonthDayNanoType>();
    let out: IntervalMonthDayNanoArray = values
        .iter()
        .map(|v| {
            v.map(|v| {
                let (months, days, nanos) = f(v.months, v.days, v.nanoseconds);
                IntervalMonthDayNano::new(months, days, nanos)
            })
        })
        .collect();
    Ok(Arc::new(out))
}

/// Whole days of the time part into days (PostgreSQL's `interval_justify_hours`).
pub fn justify_hours(months: i32, days: i32, nanos: i64) -> (i32, i32, i64) {
    let whole = nanos / DAY_NS;
    let (mut days, mut nanos) = (days + whole as i32, nanos - whole * DAY_NS);
    if days > 0 && nanos < 0 {
        nanos += DAY_NS;
        days -= 1;
    } else if days < 0 && nanos > 0 {
        nanos -= DAY_NS;
        days += 1;
    }
    (months, days, nanos)
}

/// Whole 30-day months of the days into months (`interval_justify_days`).
pub fn justify_days(months: i32, days: i32, nanos: i64) -> (i32, i32, i64) {
    let whole = days / 30;
    let (mut months, mut days) = (months + whole, days - whole * 30);
    if months > 0 && days < 0 {
        days += 30;
        months -= 1;
    } else if months < 0 && days > 0 {
        days -= 30;
        months += 1;
    }
    (months, days, nanos)
}

/// Both, with the signs made to agree (`interval_justify_interval`).
pub fn justify_interval(months: i32, days: i32, nanos: i64) -> (i32, i32, i64) {
    let (mut months, mut days, mut nanos) = (months, days, nanos);
    if (days > 0 && nanos > 0) || (days < 0 && nanos < 0) {
        let whole = nanos / DAY_NS;
        days += whole as i32;
        nanos -= whole * DAY_NS;
    }
    let whole = days / 30;
    days -= whole * 30;
    months += whole;
    if months > 0 && (days < 0 || (days == 0 && nanos < 0)) {
        days += 30;
        months -= 1;
    } else if months < 0 && (days > 0 || (days == 0 && nanos > 0)) {
        days -= 30;
        months += 1;
    }
    let whole = nanos / DAY_NS;
    nanos -= whole * DAY_NS;
    days += whole as i32;
    if days > 0 && nanos < 0 {
        nanos += DAY_NS;
        days -= 1;
    } else if days < 0 && nanos > 0 {
        nanos -= DAY_NS;
        days += 1;
    }
    (months, days, nanos)
}

fn make_interval(args: &[ArrayRef], _: &DataType) -> Result<ArrayRef> {
    let rows = args.first().map_or(1, |a| a.len());
    let int = |i: usize, row: usize| -> Option<Option<i64>> {
        match args.get(i) {
            None => Some(Some(0)),
            Some(a) if a.is_null(row) => None,
            Some(a) => Some(Some(i64::from(a.as_primitive::<Int32Type>().value(row)))),
        }
    };
    let mut out = Vec::with_capacity(rows);
    for row in 0..rows {
        let parts: Option<Vec<i64>> = (0..6).map(|i| int(i, row).flatten()).collect();
        let secs = match args.get(6) {
            None => Some(0.0),
            Some(a) if a.is_null(row) => None,
            Some(a) => Some(a.as_primitive::<Float64Type>().value(row)),
        };
        let (Some(p), Some(secs)) = (parts, secs) else {
            out.push(None);
            continue;
        };
        let overflow = || coded(code::DATETIME_FIELD_OVERFLOW, "interval out of range");
        let months = i32::try_from(p[0] * 12 + p[1]).map_err(|_| overflow())?;
        let days = i32::try_from(p[2] * 7 + p[3]).map_err(|_| overflow())?;
        let micros = (secs * 1e6).round() as i64;
        let nanos = p[4]
            .checked_mul(3_600_000_000_000)
            .and_then(|h| h.checked_add(p[5].checked_mul(60_000_000_000)?))
            .and_then(|t| t.checked_add(micros.checked_mul(1000)?))
            .ok_or_else(overflow)?;
        out.push(Some(IntervalMonthDayNano::new(months, days, nanos)));
    }
    Ok(Arc::new(IntervalMonthDayNanoArray::from(out)))
}

/// `(year, month, day, hour, min, sec[, zone])`.
fn timestamp_parts(args: &[DataType]) -> Result<Vec<DataType>> {
    if !(6..=7).contains(&args.len()) {
        return Err(coded(
            code::UNDEFINED_FUNCTION,
            "the function takes year, month, day, hour, min, sec (and a zone)",
        ));
    }
    let mut types = vec![DataType::Int32; 5];
    types.push(DataType::Float64);
    if args.len() == 7 {
        types.push(DataType::Utf8);
    }
    Ok(types)
}

/// The wall-clock times the first six arguments name (PostgreSQL's
/// `make_timestamp`: 22008 for a field out of range).
fn wall_clocks(args: &[ArrayRef]) -> Result<Vec<Option<NaiveDateTime>>> {
    let rows = args.first().map_or(0, |a| a.len());
    let secs = cast(&args[5], &DataType::Float64)?;
    let secs = secs.as_primitive::<Float64Type>();
    let mut out = Vec::with_capacity(rows);
    for row in 0..rows {
        if args.iter().take(6).any(|a| a.is_null(row)) {
            out.push(None);
            continue;
        }
        let int = |i: usize| args[i].as_primitive::<Int32Type>().value(row);
        let (y, mo, d, h, mi, s) = (int(0), int(1), int(2), int(3), int(4), secs.value(row));
        let whole = s.trunc();
        let micros = ((s - whole) * 1e6).round() as u32;
        let wall = NaiveDate::from_ymd_opt(y, mo as u32, d as u32)
            .and_then(|date| {
                if !(0.0..60.0).contains(&s) {
                    return None;
                }
                date.and_hms_micro_opt(h as u32, mi as u32, whole as u32, micros)
            })
            .ok_or_else(|| {
                coded(
                    code::DATETIME_FIELD_OVERFLOW,
                    format!("date field value out of range: {y}-{mo:02}-{d:02} {h:02}:{mi:02}:{s}"),
                )
            })?;
        out.push(Some(wall));
    }
    Ok(out)
}

/// `make_time(hour, min, sec)`: seconds with a fraction (DataFusion's takes
/// whole ones); 22008 for a field out of range, as PostgreSQL.
fn make_time(args: &[ArrayRef], _: &DataType) -> Result<ArrayRef> {
    let (h, m) = (
        args[0].as_primitive::<Int32Type>(),
        args[1].as_primitive::<Int32Type>(),
    );
    let s = args[2].as_primitive::<Float64Type>();
    let out = (0..h.len())
        .map(|row| {
            if h.is_null(row) || m.is_null(row) || s.is_null(row) {
                return Ok(None);
            }
            let (h, m, s) = (h.value(row), m.value(row), s.value(row));
            let micros = ((h as f64 * 60.0 + m as f64) * 60.0 + s) * 1e6;
            let valid = (0..24).contains(&h) && (0..60).contains(&m) && (0.0..60.0).contains(&s)
                || (h == 24 && m == 0 && s == 0.0);
            if !valid {
                return Err(coded(
                    code::DATETIME_FIELD_OVERFLOW,
                    format!("time field value out of range: {h:02}:{m:02}:{s:02}"),
                ));
            }
            Ok(Some(micros.round() as i64))
        })
        .collect::<Result<datafusion::arrow::array::Time64MicrosecondArray>>()?;
    Ok(Arc::new(out))
}

/// `make_timestamptz(y, m, d, h, mi, s[, zone])`: the wall clock read in
/// `zone`, or else in the session's zone.
#[derive(Debug, PartialEq, Eq, Hash)]
struct MakeTimestamptz {
    signature: Signature,
}

impl MakeTimestamptz {
    fn new() -> Self {
        Self {
            signature: Signature::new(TypeSignature::UserDefined, Volatility::Stable),
        }
    }
}

impl ScalarUDFImpl for MakeTimestamptz {
    fn name(&self) -> &str {
        "make_timestamptz"
    }
    fn signature(&self) -> &Signature {
        &self.signature
    }
    fn coerce_types(&self, args: &[DataType]) -> Result<Vec<DataType>> {
        timestamp_parts(args)
    }
    fn return_type(&self, _: &[DataType]) -> Result<DataType> {
        Ok(DataType::Timestamp(
            TimeUnit::Microsecond,
            Some("+00:00".into()),
        ))
    }
    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let scalar = super::all_scalar(&args.args);
        let arrays = args
            .args
            .iter()
            .map(|a| a.to_array(args.number_rows))
            .collect::<Result<Vec<_>>>()?;
        let session = args
            .config_options
            .execution
            .time_zone
            .as_deref()
            .map(Zone::of_arrow)
            .transpose()?;
        let walls = wall_clocks(&arrays)?;
        let zones = arrays
            .get(6)
            .map(|z| cast(z, &DataType::Utf8))
            .transpose()?;
        let mut out = Vec::with_capacity(walls.len());
        for (row, wall) in walls.into_iter().enumerate() {
            let zone = match &zones {
                Some(z) if z.is_null(row) => {
                    out.push(None);
                    continue;
                }
                Some(z) => Some(Zone::parse(z.as_string::<i32>().value(row))?),
                None => None,
            };
            let zone = zone.or(session);
            out.push(match (wall, zone) {
                (None, _) => None,
                (Some(w), Some(zone)) => zone.instant(w).map(|i| i.timestamp_micros()),
                (Some(w), None) => Some(
                    w.and_local_timezone(Utc)
                        .single()
                        .map_or(w.and_utc().timestamp_micros(), |t| t.timestamp_micros()),
                ),
            });
        }
        let array = TimestampMicrosecondArray::from(out).with_timezone("+00:00");
        super::answer(Arc::new(array), scalar)
    }
}
