//! Scalar functions: one value in, one value out, row by row.
//!
//! Besides the functions, this module keeps what the two time functions
//! share: their argument coercion and a per-batch cache of parsed zones.

pub mod local_time;
pub mod parse_score;
pub mod utc_from_local;

use std::collections::HashMap;
use std::sync::{Arc, LazyLock};

use chrono::{Offset, TimeZone};
use chrono_tz::Tz;
use datafusion::arrow::datatypes::{DataType, TimeUnit};
use datafusion::common::{Result, ScalarValue, exec_err, plan_err};
use datafusion::logical_expr::{ColumnarValue, ScalarUDF};

/// Every scalar function of the crate.
pub fn functions() -> Vec<Arc<ScalarUDF>> {
    vec![
        LOCAL_TIME.clone(),
        UTC_FROM_LOCAL.clone(),
        PARSE_SCORE.clone(),
    ]
}

static LOCAL_TIME: LazyLock<Arc<ScalarUDF>> =
    LazyLock::new(|| Arc::new(ScalarUDF::new_from_impl(local_time::LocalTime::new())));
static UTC_FROM_LOCAL: LazyLock<Arc<ScalarUDF>> =
    LazyLock::new(|| Arc::new(ScalarUDF::new_from_impl(utc_from_local::UtcFromLocal::new())));
static PARSE_SCORE: LazyLock<Arc<ScalarUDF>> =
    LazyLock::new(|| Arc::new(ScalarUDF::new_from_impl(parse_score::ParseScore::new())));

/// Parsed time zones of one batch: the zone column usually repeats a few
/// names, so each is parsed once.
#[derive(Default)]
pub(crate) struct Zones {
    parsed: HashMap<String, Tz>,
}

impl Zones {
    /// The zone of an IANA name; an unknown name is the user's mistake.
    pub(crate) fn get(&mut self, name: &str) -> Result<Tz> {
        if let Some(tz) = self.parsed.get(name) {
            return Ok(*tz);
        }
        match name.parse::<Tz>() {
            Ok(tz) => {
                self.parsed.insert(name.to_string(), tz);
                Ok(tz)
            }
            Err(_) => {
                exec_err!("unknown time zone '{name}': use an IANA name like 'Europe/Moscow'")
            }
        }
    }
}

/// The offset of `tz` from UTC, in µs, at the UTC instant `utc_micros`.
pub(crate) fn offset_at(tz: Tz, utc_micros: i64) -> Result<i64> {
    let Some(at) = chrono::DateTime::from_timestamp_micros(utc_micros) else {
        return exec_err!("timestamp {utc_micros} µs is out of the supported range");
    };
    let seconds = tz
        .offset_from_utc_datetime(&at.naive_utc())
        .fix()
        .local_minus_utc();
    Ok(i64::from(seconds) * 1_000_000)
}

/// Both time functions take (timestamp, zone name). The timestamp becomes
/// microseconds, `Some("UTC")` for an instant (`local_time`) or no zone for
/// a wall-clock time (`utc_from_local`, which refuses a zoned timestamp: its
/// wall clock would be ambiguous). Dates and text are read as timestamps.
pub(crate) fn coerce_time_and_zone(
    name: &str,
    arg_types: &[DataType],
    instant: bool,
) -> Result<Vec<DataType>> {
    if arg_types.len() != 2 {
        return plan_err!(
            "{name} takes (timestamp, zone), got {} arguments",
            arg_types.len()
        );
    }
    let ts = match &arg_types[0] {
        DataType::Timestamp(_, Some(zone)) if !instant => {
            return plan_err!(
                "{name} takes a wall-clock TIMESTAMP without time zone, got one in '{zone}'"
            );
        }
        DataType::Timestamp(_, _)
        | DataType::Date32
        | DataType::Date64
        | DataType::Null
        | DataType::Utf8
        | DataType::Utf8View
        | DataType::LargeUtf8 => {
            DataType::Timestamp(TimeUnit::Microsecond, instant.then(|| "UTC".into()))
        }
        other => return plan_err!("{name}: the first argument must be a timestamp, got {other}"),
    };
    let zone = match &arg_types[1] {
        DataType::Utf8 | DataType::Utf8View | DataType::LargeUtf8 | DataType::Null => {
            DataType::Utf8
        }
        DataType::Dictionary(_, v) if v.is_string() => DataType::Utf8,
        other => return plan_err!("{name}: the zone must be text, got {other}"),
    };
    Ok(vec![ts, zone])
}

/// A scalar result when every argument was a scalar, an array otherwise.
pub(crate) fn columnar_result(
    args: &[ColumnarValue],
    result: datafusion::arrow::array::ArrayRef,
) -> Result<ColumnarValue> {
    if args.iter().all(|a| matches!(a, ColumnarValue::Scalar(_))) && result.len() == 1 {
        Ok(ColumnarValue::Scalar(ScalarValue::try_from_array(
            &result, 0,
        )?))
    } else {
        Ok(ColumnarValue::Array(result))
    }
}
