//! `utc_from_local(local, zone)`: the UTC instant of a wall-clock time in
//! the IANA zone `zone` — the inverse of `local_time`, used to turn a local
//! period `[from, to)` into UTC bounds.
//!
//! An ambiguous time (the repeated hour of a fall-back day) is the earlier
//! instant; a time in a spring-forward gap is moved forward by the gap (as
//! PostgreSQL does). NULL gives NULL; an unknown zone is an error.
//!
//! ```sql
//! SELECT utc_from_local(TIMESTAMP '2025-03-02 00:30:00', 'Europe/Moscow');
//! -- 2025-03-01T21:30:00Z
//! ```

use std::sync::Arc;

use chrono::{NaiveDateTime, TimeZone};
use chrono_tz::Tz;
use datafusion::arrow::array::{Array, AsArray, TimestampMicrosecondArray};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, TimeUnit, TimestampMicrosecondType};
use datafusion::common::{Result, exec_err};
use datafusion::logical_expr::{
    ColumnarValue, ScalarFunctionArgs, ScalarUDFImpl, Signature, Volatility,
};

use super::Zones;
use super::local_time::coerce_time_and_zone;

#[derive(Debug, PartialEq, Eq, Hash)]
pub struct UtcFromLocal {
    signature: Signature,
}

impl UtcFromLocal {
    pub fn new() -> Self {
        UtcFromLocal {
            signature: Signature::user_defined(Volatility::Immutable),
        }
    }
}

impl Default for UtcFromLocal {
    fn default() -> Self {
        Self::new()
    }
}

impl ScalarUDFImpl for UtcFromLocal {
    fn name(&self) -> &str {
        "utc_from_local"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn coerce_types(&self, arg_types: &[DataType]) -> Result<Vec<DataType>> {
        coerce_time_and_zone(self.name(), arg_types, false)
    }

    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        Ok(DataType::Timestamp(
            TimeUnit::Microsecond,
            Some("UTC".into()),
        ))
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let arrays = ColumnarValue::values_to_arrays(&args.args)?;
        let local = cast(
            &arrays[0],
            &DataType::Timestamp(TimeUnit::Microsecond, None),
        )?;
        let local = local.as_primitive::<TimestampMicrosecondType>();
        let zone = cast(&arrays[1], &DataType::Utf8)?;
        let zone = zone.as_string::<i32>();
        let mut zones = Zones::default();
        let mut out = Vec::with_capacity(local.len());
        for i in 0..local.len() {
            if local.is_null(i) || zone.is_null(i) {
                out.push(None);
                continue;
            }
            let tz = zones.get(zone.value(i))?;
            out.push(Some(to_utc(local.value(i), tz)?));
        }
        let result = TimestampMicrosecondArray::from(out).with_timezone("UTC");
        Ok(
            if args
                .args
                .iter()
                .all(|a| matches!(a, ColumnarValue::Scalar(_)))
            {
                ColumnarValue::Scalar(datafusion::common::ScalarValue::try_from_array(&result, 0)?)
            } else {
                ColumnarValue::Array(Arc::new(result))
            },
        )
    }
}

/// A local wall-clock time (µs) in `tz` to UTC (µs).
fn to_utc(local_micros: i64, tz: Tz) -> Result<i64> {
    let Some(naive) = chrono::DateTime::from_timestamp_micros(local_micros).map(|t| t.naive_utc())
    else {
        return exec_err!("timestamp {local_micros} µs is out of range");
    };
    let resolve = |n: NaiveDateTime| {
        tz.from_local_datetime(&n)
            .earliest()
            .map(|t| t.timestamp_micros())
    };
    if let Some(t) = resolve(naive) {
        return Ok(t);
    }
    // In a gap: find its length by the offsets on both sides and move forward.
    let before = tz.offset_from_utc_datetime(&(naive - chrono::Duration::days(1)));
    let after = tz.offset_from_utc_datetime(&(naive + chrono::Duration::days(1)));
    use chrono::Offset;
    let gap = (after.fix().local_minus_utc() - before.fix().local_minus_utc()).max(0) as i64;
    match resolve(naive + chrono::Duration::seconds(gap)) {
        Some(t) => Ok(t),
        None => exec_err!("{naive} does not exist in time zone {tz}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn micros(s: &str) -> i64 {
        NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S")
            .unwrap()
            .and_utc()
            .timestamp_micros()
    }

    #[test]
    fn plain_gap_and_overlap() {
        let ny: Tz = "America/New_York".parse().unwrap();
        let msk: Tz = "Europe/Moscow".parse().unwrap();
        assert_eq!(
            to_utc(micros("2025-03-02 00:30:00"), msk).unwrap(),
            micros("2025-03-01 21:30:00")
        );
        // 02:30 does not exist on 2024-03-10 in New York: it becomes 03:30 EDT = 07:30Z.
        assert_eq!(
            to_utc(micros("2024-03-10 02:30:00"), ny).unwrap(),
            micros("2024-03-10 07:30:00")
        );
        // 01:30 happens twice on 2024-11-03: the earlier is EDT = 05:30Z.
        assert_eq!(
            to_utc(micros("2024-11-03 01:30:00"), ny).unwrap(),
            micros("2024-11-03 05:30:00")
        );
    }
}
