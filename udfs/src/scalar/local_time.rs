//! `local_time(ts, zone)`: the wall-clock time of the instant `ts` in the
//! IANA zone `zone` (a column or a constant; tenants live in different
//! zones, and hours, days and periods are read on their wall clock).
//!
//! `ts` is a timestamp of any unit, with or without a zone; one without a
//! zone is taken as UTC (text and dates are read the same way). The result
//! is a `TIMESTAMP` without zone, in microseconds. NULL in either argument
//! gives NULL; an unknown zone name is an error naming it.
//!
//! ```sql
//! SELECT local_time(TIMESTAMP '2025-03-01 21:30:00', 'Europe/Moscow');
//! -- 2025-03-02T00:30:00
//! SELECT date_trunc('hour', local_time(created_at, tenant_zone)) AS local_hour FROM leads;
//! ```

use std::sync::Arc;

use datafusion::arrow::array::{Array, AsArray, TimestampMicrosecondArray};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, TimeUnit, TimestampMicrosecondType};
use datafusion::common::{Result, internal_err};
use datafusion::logical_expr::{
    ColumnarValue, ScalarFunctionArgs, ScalarUDFImpl, Signature, Volatility,
};

use super::{Zones, coerce_time_and_zone, columnar_result, offset_at};

#[derive(Debug, PartialEq, Eq, Hash)]
pub struct LocalTime {
    signature: Signature,
}

impl LocalTime {
    pub fn new() -> Self {
        LocalTime {
            signature: Signature::user_defined(Volatility::Immutable),
        }
    }
}

impl Default for LocalTime {
    fn default() -> Self {
        Self::new()
    }
}

impl ScalarUDFImpl for LocalTime {
    fn name(&self) -> &str {
        "local_time"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn coerce_types(&self, arg_types: &[DataType]) -> Result<Vec<DataType>> {
        coerce_time_and_zone(self.name(), arg_types, true)
    }

    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        Ok(DataType::Timestamp(TimeUnit::Microsecond, None))
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let arrays = ColumnarValue::values_to_arrays(&args.args)?;
        let [ts, zone] = arrays.as_slice() else {
            return internal_err!("local_time got {} arguments after coercion", arrays.len());
        };
        let ts = cast(
            ts,
            &DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
        )?;
        let zone = cast(zone, &DataType::Utf8)?;
        let result = to_local(
            ts.as_primitive::<TimestampMicrosecondType>(),
            zone.as_string::<i32>(),
        )?;
        columnar_result(&args.args, Arc::new(result))
    }
}

/// The kernel: UTC instants (µs) and zone names to wall-clock times (µs).
fn to_local(
    ts: &TimestampMicrosecondArray,
    zone: &datafusion::arrow::array::StringArray,
) -> Result<TimestampMicrosecondArray> {
    let mut zones = Zones::default();
    let mut out = Vec::with_capacity(ts.len());
    for i in 0..ts.len() {
        if ts.is_null(i) || zone.is_null(i) {
            out.push(None);
            continue;
        }
        let tz = zones.get(zone.value(i))?;
        let utc = ts.value(i);
        out.push(Some(utc + offset_at(tz, utc)?));
    }
    Ok(TimestampMicrosecondArray::from(out))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDateTime;
    use datafusion::arrow::array::StringArray;
    use datafusion::prelude::SessionContext;

    fn micros(s: &str) -> i64 {
        NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S")
            .unwrap()
            .and_utc()
            .timestamp_micros()
    }

    fn local(utc: &str, zone: &str) -> Option<i64> {
        let ts = TimestampMicrosecondArray::from(vec![micros(utc)]);
        let out = to_local(&ts, &StringArray::from(vec![zone])).unwrap();
        out.is_valid(0).then(|| out.value(0))
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
    fn moscow_and_vladivostok_have_fixed_offsets() {
        // Moscow is UTC+3 and Vladivostok UTC+10 all year since 2014.
        let at = "2025-03-01 21:30:00";
        assert_eq!(
            local(at, "Europe/Moscow"),
            Some(micros("2025-03-02 00:30:00"))
        );
        assert_eq!(
            local(at, "Asia/Vladivostok"),
            Some(micros("2025-03-02 07:30:00"))
        );
        assert_eq!(
            local("2025-07-01 21:30:00", "Europe/Moscow"),
            Some(micros("2025-07-02 00:30:00"))
        );
    }

    #[test]
    fn berlin_springs_forward_and_falls_back() {
        let berlin = "Europe/Berlin";
        // 2024-03-31 01:00Z: 02:00 CET becomes 03:00 CEST.
        assert_eq!(
            local("2024-03-31 00:59:59", berlin),
            Some(micros("2024-03-31 01:59:59"))
        );
        assert_eq!(
            local("2024-03-31 01:00:00", berlin),
            Some(micros("2024-03-31 03:00:00"))
        );
        // 2024-10-27 01:00Z: 03:00 CEST becomes 02:00 CET; 02:30 is seen twice.
        assert_eq!(
            local("2024-10-27 00:30:00", berlin),
            Some(micros("2024-10-27 02:30:00"))
        );
        assert_eq!(
            local("2024-10-27 01:30:00", berlin),
            Some(micros("2024-10-27 02:30:00"))
        );
    }

    #[test]
    fn nulls_give_null_and_unknown_zone_is_named() {
        let ts = TimestampMicrosecondArray::from(vec![None, Some(0), Some(0)]);
        let zone = StringArray::from(vec![Some("UTC"), None, Some("Europe/Moscow")]);
        let out = to_local(&ts, &zone).unwrap();
        assert_eq!(out.null_count(), 2);
        assert_eq!(out.value(2), 3 * 3_600_000_000);

        let err = to_local(
            &TimestampMicrosecondArray::from(vec![0]),
            &StringArray::from(vec!["Mars/Olympus"]),
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("Mars/Olympus"), "{err}");
    }

    #[tokio::test]
    async fn sql_per_row_zones_any_unit() {
        // Nanosecond input without zone (taken as UTC), zones per row.
        let out = rows(
            "SELECT CAST(local_time(CAST(t AS TIMESTAMP), z) AS VARCHAR) AS l FROM (VALUES \
             ('2025-03-01T21:30:00', 'Europe/Moscow'), \
             ('2025-03-01T21:30:00', 'Asia/Vladivostok'), \
             ('2024-11-03T06:30:00', 'America/New_York'), \
             (NULL, 'UTC'), \
             ('2025-03-01T21:30:00', NULL)) AS v(t, z)",
        )
        .await;
        assert_eq!(
            out,
            vec![
                "2025-03-02T00:30:00",
                "2025-03-02T07:30:00",
                "2024-11-03T01:30:00",
                "",
                ""
            ]
        );
        // A zoned input in seconds: the instant is what counts, not its zone.
        let out = rows(
            "SELECT CAST(local_time(arrow_cast('2025-03-02T02:30:00+05:00', \
             'Timestamp(Second, Some(\"+05:00\"))'), 'Europe/Moscow') AS VARCHAR) AS l",
        )
        .await;
        assert_eq!(out, vec!["2025-03-02T00:30:00"]);
    }

    #[tokio::test]
    async fn sql_unknown_zone_is_an_error() {
        let ctx = SessionContext::new();
        crate::register_all(&ctx);
        let err = ctx
            .sql("SELECT local_time(now(), 'Mars/Olympus')")
            .await
            .unwrap()
            .collect()
            .await
            .unwrap_err()
            .to_string();
        assert!(err.contains("Mars/Olympus"), "{err}");
    }
}
