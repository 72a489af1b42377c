//! `date_trunc(field, interval)`: PostgreSQL's `interval_trunc` (PG 15,
//! utils/adt/timestamp.c), which DataFusion's `date_trunc` does not take.
//!
//! The interval is split as PostgreSQL splits it (`interval2tm`: years and
//! months of its months, its days, hours, minutes, seconds and microseconds
//! of its time, each keeping the sign) and every field below `field` is
//! zeroed: `date_trunc('hour', interval '3 days 04:35:00')` is `3 days
//! 04:00:00`, `date_trunc('year', interval '1 year 5 months')` is `1 year`.
//! `week` is refused (0A000, months have fractional weeks), an unknown
//! field is 22023. Other arguments go to DataFusion's `date_trunc`, so this
//! one takes its name.

use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, AsArray, IntervalMonthDayNanoArray};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{
    DataType, Field, FieldRef, IntervalMonthDayNano, IntervalMonthDayNanoType, IntervalUnit,
};
use datafusion::common::Result;
use datafusion::logical_expr::{
    ColumnarValue, ReturnFieldArgs, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature,
    TypeSignature,
};
use datafusion::prelude::SessionContext;

use crate::sqlstate::{code, coded};

/// Puts `date_trunc` with intervals in place of DataFusion's (which it
/// calls for every other argument).
pub fn register(ctx: &SessionContext) {
    if let Some(inner) = ctx.state().scalar_functions().get("date_trunc").cloned() {
        ctx.register_udf(ScalarUDF::new_from_impl(DateTrunc {
            signature: Signature::new(TypeSignature::UserDefined, inner.signature().volatility),
            aliases: inner.aliases().to_vec(),
            inner,
        }));
    }
}

#[derive(Debug, PartialEq, Eq, Hash)]
struct DateTrunc {
    inner: Arc<ScalarUDF>,
    signature: Signature,
    aliases: Vec<String>,
}

const INTERVAL: DataType = DataType::Interval(IntervalUnit::MonthDayNano);

fn truncates_interval(args: &[DataType]) -> bool {
    matches!(args, [_, DataType::Interval(_)])
}

impl ScalarUDFImpl for DateTrunc {
    fn name(&self) -> &str {
        "date_trunc"
    }
    fn aliases(&self) -> &[String] {
        &self.aliases
    }
    fn signature(&self) -> &Signature {
        &self.signature
    }
    fn coerce_types(&self, args: &[DataType]) -> Result<Vec<DataType>> {
        if truncates_interval(args) {
            return Ok(vec![DataType::Utf8, INTERVAL]);
        }
        let fields: Vec<_> = args
            .iter()
            .map(|t| Arc::new(Field::new("a", t.clone(), true)))
            .collect();
        let coerced = datafusion::logical_expr::type_coercion::functions::fields_with_udf(
            &fields,
            self.inner.as_ref(),
        )?;
        Ok(coerced.iter().map(|f| f.data_type().clone()).collect())
    }
    fn return_type(&self, args: &[DataType]) -> Result<DataType> {
        if truncates_interval(args) {
            return Ok(INTERVAL);
        }
        self.inner.return_type(args)
    }
    fn return_field_from_args(&self, args: ReturnFieldArgs) -> Result<FieldRef> {
        let types: Vec<DataType> = args
            .arg_fields
            .iter()
            .map(|f| f.data_type().clone())
            .collect();
        if truncates_interval(&types) {
            return Ok(Arc::new(Field::new(self.name(), INTERVAL, true)));
        }
        self.inner.return_field_from_args(args)
    }
    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let types: Vec<DataType> = args
            .arg_fields
            .iter()
            .map(|f| f.data_type().clone())
            .collect();
        if !truncates_interval(&types) {
            return self.inner.invoke_with_args(args);
        }
        let scalar = super::all_scalar(&args.args);
        let rows = args.number_rows;
        let fields = cast(&args.args[0].to_array(rows)?, &DataType::Utf8)?;
        let fields = fields.as_string::<i32>();
        let values = cast(&args.args[1].to_array(rows)?, &INTERVAL)?;
        let values = values.as_primitive::<IntervalMonthDayNanoType>();
        let out = (0..values.len())
            .map(|i| {
                if fields.is_null(i) || values.is_null(i) {
                    return Ok(None);
                }
                interval_trunc(fields.value(i), values.value(i)).map(Some)
            })
            .collect::<Result<IntervalMonthDayNanoArray>>()?;
        super::answer(Arc::new(out) as ArrayRef, scalar)
    }
}

/// The fields of an interval, coarsest first; each truncation zeroes the
/// fields after its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Unit {
    Millennium,
    Century,
    Decade,
    Year,
    Quarter,
    Month,
    Day,
    Hour,
    Minute,
    Second,
    Millisecond,
    Microsecond,
}

/// PostgreSQL's `interval_trunc` of one value.
fn interval_trunc(field: &str, v: IntervalMonthDayNano) -> Result<IntervalMonthDayNano> {
    let lower = field.trim().to_ascii_lowercase();
    let unit = match lower.as_str() {
        "millennium" | "millennia" | "mil" | "mils" | "millenniums" => Unit::Millennium,
        "century" | "centuries" | "c" | "cent" => Unit::Century,
        "decade" | "decades" | "dec" | "decs" => Unit::Decade,
        "year" | "years" | "y" | "yr" | "yrs" => Unit::Year,
        "quarter" | "qtr" => Unit::Quarter,
        "month" | "months" | "mon" | "mons" => Unit::Month,
        "day" | "days" | "d" => Unit::Day,
        "hour" | "hours" | "h" | "hr" | "hrs" => Unit::Hour,
        "minute" | "minutes" | "m" | "min" | "mins" => Unit::Minute,
        "second" | "seconds" | "s" | "sec" | "secs" => Unit::Second,
        "millisecond" | "milliseconds" | "ms" | "msec" | "msecs" | "millisecon" => {
            Unit::Millisecond
        }
        "microsecond" | "microseconds" | "us" | "usec" | "usecs" | "microsecon" => {
            Unit::Microsecond
        }
        "week" | "weeks" | "w" => {
            return Err(coded(
                code::FEATURE_NOT_SUPPORTED,
                "unit \"week\" not supported for type interval: months usually have fractional weeks",
            ));
        }
        _ => {
            return Err(coded(
                code::INVALID_PARAMETER_VALUE,
                format!("unit \"{lower}\" not recognized for type interval"),
            ));
        }
    };
    // interval2tm, C division (toward zero) throughout.
    let mut year = v.months / 12;
    let mut mon = v.months % 12;
    let mut day = v.days;
    let micros = v.nanoseconds / 1000;
    let mut hour = micros / 3_600_000_000;
    let rest = micros % 3_600_000_000;
    let mut min = rest / 60_000_000;
    let rest = rest % 60_000_000;
    let mut sec = rest / 1_000_000;
    let mut fsec = rest % 1_000_000;
    match unit {
        Unit::Millennium => year = year / 1000 * 1000,
        Unit::Century => year = year / 100 * 100,
        Unit::Decade => year = year / 10 * 10,
        _ => {}
    }
    if unit <= Unit::Year {
        mon = 0;
    }
    if unit == Unit::Quarter {
        mon = 3 * (mon / 3);
    }
    if unit <= Unit::Month {
        day = 0;
    }
    if unit <= Unit::Day {
        hour = 0;
    }
    if unit <= Unit::Hour {
        min = 0;
    }
    if unit <= Unit::Minute {
        sec = 0;
    }
    if unit <= Unit::Second {
        fsec = 0;
    }
    if unit == Unit::Millisecond {
        fsec = fsec / 1000 * 1000;
    }
    let micros = ((hour * 60 + min) * 60 + sec) * 1_000_000 + fsec;
    Ok(IntervalMonthDayNano::new(
        year * 12 + mon,
        day,
        micros * 1000,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn iv(months: i32, days: i32, micros: i64) -> IntervalMonthDayNano {
        IntervalMonthDayNano::new(months, days, micros * 1000)
    }

    #[test]
    fn truncates_each_field_as_postgresql() {
        const H: i64 = 3_600_000_000;
        const M: i64 = 60_000_000;
        // date_trunc('hour', interval '3 days 04:35:00') = 3 days 04:00:00
        let v = iv(0, 3, 4 * H + 35 * M);
        assert_eq!(interval_trunc("hour", v).unwrap(), iv(0, 3, 4 * H));
        assert_eq!(interval_trunc("DAY", v).unwrap(), iv(0, 3, 0));
        // date_trunc('quarter', interval '1 year 5 months 3 days') = 1 year 3 mons
        assert_eq!(
            interval_trunc("quarter", iv(17, 3, 0)).unwrap(),
            iv(15, 0, 0)
        );
        assert_eq!(
            interval_trunc("decade", iv(12 * 27 + 5, 0, 0)).unwrap(),
            iv(240, 0, 0)
        );
        // date_trunc('minute', interval '-1 days -04:35:30.5') = -1 days -04:35:00
        let neg = iv(0, -1, -(4 * H + 35 * M + 30_500_000));
        assert_eq!(
            interval_trunc("minute", neg).unwrap(),
            iv(0, -1, -(4 * H + 35 * M))
        );
        assert_eq!(
            interval_trunc("milliseconds", iv(0, 0, 1_234_567)).unwrap(),
            iv(0, 0, 1_234_000)
        );
        assert!(interval_trunc("week", v).is_err());
        assert!(interval_trunc("fortnight", v).is_err());
    }
}
