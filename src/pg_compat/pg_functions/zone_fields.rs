//! `EXTRACT(TIMEZONE | TIMEZONE_HOUR | TIMEZONE_MINUTE FROM timestamptz)`:
//! the session's offset from UTC at that instant (PostgreSQL keeps no zone
//! in a `timestamptz`; it answers the `TimeZone` setting's offset then), in
//! seconds east, or its whole hours and the minutes left (both with the
//! offset's sign), as a `numeric`. Any other type is refused as PostgreSQL
//! refuses it (0A000); DataFusion's `date_part` has no such fields.

use std::sync::Arc;

use chrono::{DateTime, Offset, Utc};
use datafusion::arrow::array::{ArrayRef, AsArray, Decimal128Array};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, TimeUnit, TimestampMicrosecondType};
use datafusion::common::Result;
use datafusion::logical_expr::{
    ColumnarValue, Expr, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature, Volatility,
};

use super::Zone;
use crate::sqlstate::{code, coded};

/// Which part of the offset.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Part {
    Seconds,
    Hours,
    Minutes,
}

/// `EXTRACT(field FROM value)` when `field` is one of the zone's, planned
/// as this module's function.
pub fn extract(field: &str, value: &Expr) -> Option<Expr> {
    let part = match field {
        "timezone" => Part::Seconds,
        "timezone_hour" => Part::Hours,
        "timezone_minute" => Part::Minutes,
        _ => return None,
    };
    Some(
        ScalarUDF::new_from_impl(ZoneField {
            part,
            signature: Signature::any(1, Volatility::Stable),
        })
        .call(vec![value.clone()]),
    )
}

#[derive(Debug, PartialEq, Eq, Hash)]
struct ZoneField {
    part: Part,
    signature: Signature,
}

impl ZoneField {
    fn unit(&self) -> &'static str {
        match self.part {
            Part::Seconds => "timezone",
            Part::Hours => "timezone_hour",
            Part::Minutes => "timezone_minute",
        }
    }
}

impl ScalarUDFImpl for ZoneField {
    fn name(&self) -> &str {
        match self.part {
            Part::Seconds => "pg_extract_timezone",
            Part::Hours => "pg_extract_timezone_hour",
            Part::Minutes => "pg_extract_timezone_minute",
        }
    }
    fn signature(&self) -> &Signature {
        &self.signature
    }
    fn return_type(&self, args: &[DataType]) -> Result<DataType> {
        let type_name = match args.first() {
            Some(DataType::Timestamp(_, Some(_)) | DataType::Null) => {
                return Ok(DataType::Decimal128(38, 0));
            }
            Some(DataType::Timestamp(_, None)) => "timestamp without time zone",
            Some(DataType::Date32 | DataType::Date64) => "date",
            Some(DataType::Interval(_)) => "interval",
            Some(DataType::Time32(_) | DataType::Time64(_)) => "time without time zone",
            other => {
                return Err(coded(
                    code::UNDEFINED_FUNCTION,
                    format!(
                        "function extract(unknown, {}) does not exist",
                        other.map(|t| t.to_string()).unwrap_or_default()
                    ),
                ));
            }
        };
        Err(coded(
            code::FEATURE_NOT_SUPPORTED,
            format!(
                "unit \"{}\" not supported for type {type_name}",
                self.unit()
            ),
        ))
    }
    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let scalar = super::all_scalar(&args.args);
        let session = args
            .config_options
            .execution
            .time_zone
            .as_deref()
            .map(Zone::of_arrow)
            .transpose()?
            .unwrap_or(Zone::Fixed(Utc.fix()));
        let values = args.args[0].to_array(args.number_rows)?;
        let micros = cast(
            &values,
            &DataType::Timestamp(TimeUnit::Microsecond, Some("+00:00".into())),
        )?;
        let out: Decimal128Array = micros
            .as_primitive::<TimestampMicrosecondType>()
            .iter()
            .map(|m| {
                let instant = DateTime::<Utc>::from_timestamp_micros(m?)?;
                let east = (session.local(instant) - instant.naive_utc()).num_seconds();
                Some(i128::from(match self.part {
                    Part::Seconds => east,
                    Part::Hours => east / 3600,
                    Part::Minutes => east / 60 % 60,
                }))
            })
            .collect();
        let out: ArrayRef = Arc::new(out.with_precision_and_scale(38, 0)?);
        super::answer(out, scalar)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::prelude::{SessionConfig, SessionContext};

    async fn one(zone: &str, part: &str) -> String {
        let mut config = SessionConfig::new();
        config.options_mut().execution.time_zone = Some(zone.into());
        let ctx = SessionContext::new_with_config(config);
        let value = datafusion::logical_expr::cast(
            datafusion::logical_expr::lit("2026-01-15T12:00:00Z"),
            DataType::Timestamp(TimeUnit::Microsecond, Some("+00:00".into())),
        );
        let df = ctx
            .read_empty()
            .unwrap()
            .select(vec![extract(part, &value).unwrap().alias("x")])
            .unwrap();
        let batches = df.collect().await.unwrap();
        datafusion::arrow::util::pretty::pretty_format_batches(&batches)
            .unwrap()
            .to_string()
    }

    #[tokio::test]
    async fn the_session_offset_at_the_instant() {
        // PostgreSQL 15, SET TIME ZONE 'America/St_Johns' (-03:30 in January):
        // timezone -12600, timezone_hour -3, timezone_minute -30.
        assert!(one("America/St_Johns", "timezone").await.contains("-12600"));
        assert!(
            one("America/St_Johns", "timezone_hour")
                .await
                .contains("| -3 ")
        );
        assert!(
            one("America/St_Johns", "timezone_minute")
                .await
                .contains("-30")
        );
        assert!(one("+00:00", "timezone").await.contains("| 0 "));
        assert!(one("Europe/Moscow", "timezone").await.contains("10800"));
    }
}
