//! `local_time(ts, zone)`: the wall-clock time of the instant `ts` in the
//! IANA zone `zone` (a column or a constant; tenants live in different
//! zones, and hours, days and periods are read on their wall clock).
//!
//! `ts` is any timestamp; one without a zone is taken as UTC. The result is
//! a `TIMESTAMP` without zone, in microseconds. NULL in either argument
//! gives NULL; an unknown zone name is an error naming it.
//!
//! ```sql
//! SELECT local_time(TIMESTAMP '2025-03-01 21:30:00', 'Europe/Moscow');
//! -- 2025-03-02T00:30:00
//! ```

use std::sync::Arc;

use datafusion::arrow::array::{Array, AsArray, TimestampMicrosecondArray};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, TimeUnit, TimestampMicrosecondType};
use datafusion::common::{Result, plan_err};
use datafusion::logical_expr::{
    ColumnarValue, ScalarFunctionArgs, ScalarUDFImpl, Signature, Volatility,
};

use super::Zones;

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

/// Both time functions take (timestamp, zone name).
pub(crate) fn coerce_time_and_zone(
    name: &str,
    arg_types: &[DataType],
    utc: bool,
) -> Result<Vec<DataType>> {
    if arg_types.len() != 2 {
        return plan_err!(
            "{name} takes (timestamp, zone), got {} arguments",
            arg_types.len()
        );
    }
    let ts = match &arg_types[0] {
        DataType::Timestamp(_, _)
        | DataType::Date32
        | DataType::Date64
        | DataType::Null
        | DataType::Utf8
        | DataType::Utf8View
        | DataType::LargeUtf8 => {
            DataType::Timestamp(TimeUnit::Microsecond, utc.then(|| "UTC".into()))
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
        let ts = cast(
            &arrays[0],
            &DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
        )?;
        let ts = ts.as_primitive::<TimestampMicrosecondType>();
        let zone = cast(&arrays[1], &DataType::Utf8)?;
        let zone = zone.as_string::<i32>();
        let mut zones = Zones::default();
        let mut out = Vec::with_capacity(ts.len());
        for i in 0..ts.len() {
            if ts.is_null(i) || zone.is_null(i) {
                out.push(None);
                continue;
            }
            let tz = zones.get(zone.value(i))?;
            let utc = ts.value(i);
            out.push(Some(utc + zones.offset_at(tz, utc)?));
        }
        let result = TimestampMicrosecondArray::from(out);
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

#[cfg(test)]
mod tests {
    use datafusion::prelude::SessionContext;

    async fn one(sql: &str) -> String {
        let ctx = SessionContext::new();
        crate::register_all(&ctx);
        let batches = ctx.sql(sql).await.unwrap().collect().await.unwrap();
        datafusion::arrow::util::pretty::pretty_format_batches(&batches)
            .unwrap()
            .to_string()
    }

    #[tokio::test]
    async fn per_row_zones_and_dst() {
        let out = one(
            "SELECT CAST(local_time(CAST(t AS TIMESTAMP), z) AS VARCHAR) AS l FROM (VALUES \
             ('2025-03-01T21:30:00', 'Europe/Moscow'), \
             ('2025-03-01T21:30:00', 'Asia/Vladivostok'), \
             ('2024-03-31T00:30:00', 'Europe/Berlin'), \
             ('2024-03-31T01:30:00', 'Europe/Berlin')) AS v(t, z)",
        )
        .await;
        assert!(out.contains("2025-03-02T00:30:00"), "{out}");
        assert!(out.contains("2025-03-02T07:30:00"), "{out}");
        // Berlin springs forward at 01:00 UTC: 00:30Z is 01:30 CET, 01:30Z is 03:30 CEST.
        assert!(out.contains("2024-03-31T01:30:00"), "{out}");
        assert!(out.contains("2024-03-31T03:30:00"), "{out}");
    }

    #[tokio::test]
    async fn unknown_zone_is_an_error_and_null_is_null() {
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
        let out = one("SELECT local_time(NULL, 'UTC') IS NULL AS n").await;
        assert!(out.contains("true"), "{out}");
    }
}
