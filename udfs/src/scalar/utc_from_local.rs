//! `utc_from_local(local, zone)`: the UTC instant of a wall-clock time in
//! the IANA zone `zone` — the inverse of `local_time`, used to turn a local
//! period `[from, to)` into UTC bounds.
//!
//! `local` is a `TIMESTAMP` without zone (any unit), a date or text. A time
//! that happens twice (the repeated hour of a fall-back day) gives the
//! earlier instant; a time that never happens (the gap of a spring-forward
//! day) is moved forward by the gap, to the first valid instant after it, as
//! PostgreSQL does. The result is a `TIMESTAMP WITH TIME ZONE 'UTC'` in
//! microseconds. NULL in either argument gives NULL; an unknown zone name is
//! an error naming it.
//!
//! ```sql
//! SELECT utc_from_local(TIMESTAMP '2025-03-02 00:30:00', 'Europe/Moscow');
//! -- 2025-03-01T21:30:00Z
//! SELECT * FROM leads
//! WHERE created_at >= utc_from_local(DATE '2025-03-01', 'Europe/Moscow')
//!   AND created_at <  utc_from_local(DATE '2025-04-01', 'Europe/Moscow');
//! ```

use std::sync::Arc;

use chrono::TimeZone;
use chrono_tz::Tz;
use datafusion::arrow::array::{Array, AsArray, StringArray, TimestampMicrosecondArray};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, TimeUnit, TimestampMicrosecondType};
use datafusion::common::{Result, exec_err, internal_err};
use datafusion::logical_expr::{
    ColumnarValue, ScalarFunctionArgs, ScalarUDFImpl, Signature, Volatility,
};

use super::{Zones, coerce_time_and_zone, columnar_result, offset_at};

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
        let [local, zone] = arrays.as_slice() else {
            return internal_err!(
                "utc_from_local got {} arguments after coercion",
                arrays.len()
            );
        };
        let local = cast(local, &DataType::Timestamp(TimeUnit::Microsecond, None))?;
        let zone = cast(zone, &DataType::Utf8)?;
        let result = to_utc_array(
            local.as_primitive::<TimestampMicrosecondType>(),
            zone.as_string::<i32>(),
        )?;
        columnar_result(&args.args, Arc::new(result.with_timezone("UTC")))
    }
}

/// The kernel over arrays: wall-clock times (µs) and zone names to UTC (µs).
fn to_utc_array(
    local: &TimestampMicrosecondArray,
    zone: &StringArray,
) -> Result<TimestampMicrosecondArray> {
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
    Ok(TimestampMicrosecondArray::from(out))
}

/// One wall-clock time (µs) in `tz` to UTC (µs).
fn to_utc(local_micros: i64, tz: Tz) -> Result<i64> {
    let Some(naive) = chrono::DateTime::from_timestamp_micros(local_micros).map(|t| t.naive_utc())
    else {
        return exec_err!("timestamp {local_micros} µs is out of the supported range");
    };
    if let Some(t) = tz.from_local_datetime(&naive).earliest() {
        return Ok(t.timestamp_micros());
    }
    // In a gap between the offset before (`b`) and after (`a`, larger) a
    // transition at T: `local − a` falls before T and reads offset `b`, and
    // `local − b` falls after T and reads `a`. Two lookups from any start
    // find both; reading `local` with the earlier, smaller offset gives
    // `local + (a − b)` on the wall clock, the first instant after the gap.
    let start = offset_at(tz, local_micros)?;
    let first = offset_at(tz, local_micros - start)?;
    let second = offset_at(tz, local_micros - first)?;
    let utc = local_micros - first.min(second);
    if utc + offset_at(tz, utc)? > local_micros {
        Ok(utc)
    } else {
        exec_err!("{naive} does not exist in time zone {tz} and no instant follows it")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDateTime;
    use datafusion::prelude::SessionContext;

    fn micros(s: &str) -> i64 {
        NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S")
            .unwrap()
            .and_utc()
            .timestamp_micros()
    }

    fn utc(local: &str, zone: &str) -> i64 {
        to_utc(micros(local), zone.parse().unwrap()).unwrap()
    }

    async fn rows(sql: &str) -> Vec<String> {
        let ctx = SessionContext::new();
        crate::register_all(&ctx);
        let batches = ctx.sql(sql).await.unwrap().collect().await.unwrap();
        let text = datafusion::arrow::util::pretty::pretty_format_batches(&batches)
            .unwrap()
            .to_string();
        text.lines()
            .skip(3)
            .filter(|l| l.starts_with('|'))
            .map(|l| l.trim_matches('|').trim().to_string())
            .collect()
    }

    #[test]
    fn fixed_offset_zones() {
        assert_eq!(
            utc("2025-03-02 00:30:00", "Europe/Moscow"),
            micros("2025-03-01 21:30:00")
        );
        assert_eq!(
            utc("2025-03-02 07:30:00", "Asia/Vladivostok"),
            micros("2025-03-01 21:30:00")
        );
        // Moscow's last change: UTC+4 became UTC+3 on 2014-10-26 at 02:00 local.
        assert_eq!(
            utc("2014-10-26 01:30:00", "Europe/Moscow"),
            micros("2014-10-25 21:30:00"),
            "the repeated hour of 2014 is the earlier instant (UTC+4)"
        );
    }

    #[test]
    fn spring_forward_gap_moves_forward_by_the_gap() {
        // New York, 2024-03-10: 02:00 EST becomes 03:00 EDT; 02:30 does not
        // exist and reads as 03:30 EDT = 07:30Z.
        assert_eq!(
            utc("2024-03-10 02:30:00", "America/New_York"),
            micros("2024-03-10 07:30:00")
        );
        assert_eq!(
            utc("2024-03-10 02:00:00", "America/New_York"),
            micros("2024-03-10 07:00:00"),
            "the gap's first instant is the transition"
        );
        assert_eq!(
            utc("2024-03-10 03:00:00", "America/New_York"),
            micros("2024-03-10 07:00:00")
        );
        // Berlin, 2024-03-31: 02:00 CET becomes 03:00 CEST at 01:00Z.
        assert_eq!(
            utc("2024-03-31 02:15:00", "Europe/Berlin"),
            micros("2024-03-31 01:15:00")
        );
    }

    #[test]
    fn fall_back_overlap_is_the_earlier_instant() {
        // New York, 2024-11-03: 01:30 happens in EDT (05:30Z) and EST (06:30Z).
        assert_eq!(
            utc("2024-11-03 01:30:00", "America/New_York"),
            micros("2024-11-03 05:30:00")
        );
        // Berlin, 2024-10-27: 02:30 happens in CEST (00:30Z) and CET (01:30Z).
        assert_eq!(
            utc("2024-10-27 02:30:00", "Europe/Berlin"),
            micros("2024-10-27 00:30:00")
        );
        assert_eq!(
            utc("2024-10-27 03:00:00", "Europe/Berlin"),
            micros("2024-10-27 02:00:00")
        );
    }

    #[test]
    fn nulls_give_null_and_unknown_zone_is_named() {
        let local = TimestampMicrosecondArray::from(vec![None, Some(0), Some(0)]);
        let zone = StringArray::from(vec![Some("UTC"), None, Some("Asia/Vladivostok")]);
        let out = to_utc_array(&local, &zone).unwrap();
        assert_eq!(out.null_count(), 2);
        assert_eq!(out.value(2), -10 * 3_600_000_000);
        let err = to_utc_array(
            &TimestampMicrosecondArray::from(vec![0]),
            &StringArray::from(vec!["Europe/Mordor"]),
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("Europe/Mordor"), "{err}");
    }

    #[tokio::test]
    async fn sql_period_bounds_round_trip() {
        let out = rows(
            "SELECT CAST(utc_from_local(d, z) AS VARCHAR) AS u, \
                    CAST(local_time(utc_from_local(d, z), z) AS VARCHAR) AS back \
             FROM (VALUES (DATE '2025-03-01', 'Europe/Moscow'), \
                          (DATE '2025-03-01', 'Asia/Vladivostok'), \
                          (NULL, 'Europe/Moscow')) AS v(d, z)",
        )
        .await;
        assert_eq!(
            out,
            vec![
                "2025-02-28T21:00:00Z | 2025-03-01T00:00:00",
                "2025-02-28T14:00:00Z | 2025-03-01T00:00:00",
                "|"
            ]
        );
    }

    #[tokio::test]
    async fn sql_zoned_input_is_refused() {
        let ctx = SessionContext::new();
        crate::register_all(&ctx);
        let err = ctx
            .sql(
                "SELECT utc_from_local(arrow_cast('2025-03-02T02:30:00+05:00', \
                 'Timestamp(Second, Some(\"+05:00\"))'), 'Europe/Moscow')",
            )
            .await
            .unwrap_err()
            .to_string();
        assert!(err.contains("without time zone"), "{err}");
    }
}
