//! `avg(interval)`, as PostgreSQL's `interval_avg` (PG 15,
//! utils/adt/timestamp.c): the intervals summed field by field (months,
//! days, time, as `interval_pl`), then divided by the count with
//! `interval_div` — months and days divided apart, the fraction of a month
//! carried to days at 30 days a month and the fraction of a day to the time
//! at 24 hours, the time rounded to the microsecond. So `avg` of `1 mon`
//! and `0` is `15 days`, of `1 day` and `0` is `12:00:00`.
//!
//! DataFusion's `avg` takes no intervals; this one takes its name and hands
//! every other argument to it (its grouped and sliding accumulators too).
//! `avg(DISTINCT interval)` is refused (0A000) rather than answered apart
//! from PostgreSQL.

use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, AsArray, Int64Array};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{
    DataType, Field, FieldRef, IntervalMonthDayNano, IntervalMonthDayNanoType, IntervalUnit,
};
use datafusion::common::{Result, ScalarValue};
use datafusion::logical_expr::function::{AccumulatorArgs, StateFieldsArgs};
use datafusion::logical_expr::utils::AggregateOrderSensitivity;
use datafusion::logical_expr::{
    Accumulator, AggregateUDF, AggregateUDFImpl, GroupsAccumulator, ReversedUDAF, Signature,
    TypeSignature,
};
use datafusion::prelude::SessionContext;

use crate::sqlstate::{code, coded};

const INTERVAL: DataType = DataType::Interval(IntervalUnit::MonthDayNano);

/// Puts `avg` with intervals in place of DataFusion's.
pub fn register(ctx: &SessionContext) {
    if let Some(inner) = ctx.state().aggregate_functions().get("avg").cloned() {
        ctx.register_udaf(AggregateUDF::new_from_impl(Avg {
            signature: Signature::new(TypeSignature::UserDefined, inner.signature().volatility),
            aliases: inner.aliases().to_vec(),
            inner,
        }));
    }
}

#[derive(Debug, PartialEq, Eq, Hash)]
struct Avg {
    inner: Arc<AggregateUDF>,
    signature: Signature,
    aliases: Vec<String>,
}

fn of_intervals(t: &DataType) -> bool {
    matches!(t, DataType::Interval(_))
}

impl AggregateUDFImpl for Avg {
    fn name(&self) -> &str {
        "avg"
    }
    fn aliases(&self) -> &[String] {
        &self.aliases
    }
    fn signature(&self) -> &Signature {
        &self.signature
    }
    fn coerce_types(&self, args: &[DataType]) -> Result<Vec<DataType>> {
        if let [t] = args
            && of_intervals(t)
        {
            return Ok(vec![INTERVAL]);
        }
        let fields: Vec<FieldRef> = args
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
        if let [t] = args
            && of_intervals(t)
        {
            return Ok(INTERVAL);
        }
        self.inner.return_type(args)
    }
    fn accumulator(&self, args: AccumulatorArgs) -> Result<Box<dyn Accumulator>> {
        if !of_intervals(args.return_field.data_type()) {
            return self.inner.accumulator(args);
        }
        if args.is_distinct {
            return Err(coded(
                code::FEATURE_NOT_SUPPORTED,
                "avg(DISTINCT interval) is not supported",
            ));
        }
        Ok(Box::new(IntervalAvg::default()))
    }
    fn state_fields(&self, args: StateFieldsArgs) -> Result<Vec<FieldRef>> {
        if !of_intervals(args.return_field.data_type()) {
            return self.inner.state_fields(args);
        }
        Ok(["months", "days", "micros", "count"]
            .iter()
            .map(|n| {
                Arc::new(Field::new(
                    format!("{}[{n}]", args.name),
                    DataType::Int64,
                    true,
                ))
            })
            .collect())
    }
    fn groups_accumulator_supported(&self, args: AccumulatorArgs) -> bool {
        !of_intervals(args.return_field.data_type())
            && self.inner.groups_accumulator_supported(args)
    }
    fn create_groups_accumulator(
        &self,
        args: AccumulatorArgs,
    ) -> Result<Box<dyn GroupsAccumulator>> {
        self.inner.create_groups_accumulator(args)
    }
    fn create_sliding_accumulator(&self, args: AccumulatorArgs) -> Result<Box<dyn Accumulator>> {
        if of_intervals(args.return_field.data_type()) {
            return self.accumulator(args);
        }
        self.inner.create_sliding_accumulator(args)
    }
    fn reverse_expr(&self) -> ReversedUDAF {
        ReversedUDAF::Identical
    }
    fn order_sensitivity(&self) -> AggregateOrderSensitivity {
        AggregateOrderSensitivity::Insensitive
    }
}

/// The running sums of an `avg(interval)`.
#[derive(Debug, Default)]
struct IntervalAvg {
    months: i64,
    days: i64,
    micros: i64,
    count: i64,
}

fn overflow() -> datafusion::common::DataFusionError {
    coded(code::DATETIME_FIELD_OVERFLOW, "interval out of range")
}

impl IntervalAvg {
    fn add(&mut self, months: i64, days: i64, micros: i64, count: i64) -> Result<()> {
        self.months = self.months.checked_add(months).ok_or_else(overflow)?;
        self.days = self.days.checked_add(days).ok_or_else(overflow)?;
        self.micros = self.micros.checked_add(micros).ok_or_else(overflow)?;
        self.count += count;
        Ok(())
    }

    fn each(
        values: &ArrayRef,
        mut f: impl FnMut(IntervalMonthDayNano) -> Result<()>,
    ) -> Result<()> {
        let values = cast(values, &INTERVAL)?;
        for v in values
            .as_primitive::<IntervalMonthDayNanoType>()
            .iter()
            .flatten()
        {
            f(v)?;
        }
        Ok(())
    }
}

impl Accumulator for IntervalAvg {
    fn update_batch(&mut self, values: &[ArrayRef]) -> Result<()> {
        IntervalAvg::each(&values[0], |v| {
            self.add(
                i64::from(v.months),
                i64::from(v.days),
                v.nanoseconds / 1000,
                1,
            )
        })
    }
    fn retract_batch(&mut self, values: &[ArrayRef]) -> Result<()> {
        IntervalAvg::each(&values[0], |v| {
            self.add(
                -i64::from(v.months),
                -i64::from(v.days),
                -(v.nanoseconds / 1000),
                -1,
            )
        })
    }
    fn supports_retract_batch(&self) -> bool {
        true
    }
    fn merge_batch(&mut self, states: &[ArrayRef]) -> Result<()> {
        let column = |i: usize| -> Result<Int64Array> {
            Ok(cast(&states[i], &DataType::Int64)?.as_primitive().clone())
        };
        let (m, d, t, n) = (column(0)?, column(1)?, column(2)?, column(3)?);
        for i in 0..m.len() {
            if n.is_null(i) {
                continue;
            }
            self.add(m.value(i), d.value(i), t.value(i), n.value(i))?;
        }
        Ok(())
    }
    fn state(&mut self) -> Result<Vec<ScalarValue>> {
        Ok(vec![
            ScalarValue::Int64(Some(self.months)),
            ScalarValue::Int64(Some(self.days)),
            ScalarValue::Int64(Some(self.micros)),
            ScalarValue::Int64(Some(self.count)),
        ])
    }
    fn evaluate(&mut self) -> Result<ScalarValue> {
        if self.count == 0 {
            return Ok(ScalarValue::IntervalMonthDayNano(None));
        }
        let months = i32::try_from(self.months).map_err(|_| overflow())?;
        let days = i32::try_from(self.days).map_err(|_| overflow())?;
        let (m, d, us) = interval_div(months, days, self.micros, self.count as f64);
        Ok(ScalarValue::IntervalMonthDayNano(Some(
            IntervalMonthDayNano::new(m, d, us.checked_mul(1000).ok_or_else(overflow)?),
        )))
    }
    fn size(&self) -> usize {
        std::mem::size_of_val(self)
    }
}

/// PostgreSQL's `interval_div` (PG 15) of (months, days, microseconds).
pub(crate) fn interval_div(months: i32, days: i32, micros: i64, factor: f64) -> (i32, i32, i64) {
    // TSROUND: to the microsecond.
    let tsround = |j: f64| (j * 1_000_000.0).round_ties_even() / 1_000_000.0;
    let result_months = (f64::from(months) / factor) as i32;
    let mut result_days = (f64::from(days) / factor) as i32;
    let month_remainder_days =
        tsround((f64::from(months) / factor - f64::from(result_months)) * 30.0);
    let mut sec_remainder = tsround(
        (f64::from(days) / factor - f64::from(result_days) + month_remainder_days
            - f64::from(month_remainder_days as i32))
            * 86_400.0,
    );
    if sec_remainder.abs() >= 86_400.0 {
        let whole = (sec_remainder / 86_400.0) as i32;
        result_days += whole;
        sec_remainder -= f64::from(whole) * 86_400.0;
    }
    result_days += month_remainder_days as i32;
    let time = (micros as f64 / factor + sec_remainder * 1_000_000.0).round_ties_even() as i64;
    (result_months, result_days, time)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interval_division_carries_fractions_down() {
        const H: i64 = 3_600_000_000;
        // PostgreSQL 15: interval '1 mon' / 2 = 15 days; '1 day' / 2 = 12:00:00;
        // '1 mon 1 day 01:00:00' / 3 = 10 days 08:20:00; '-1 mon' / 7 = -4 days -06:51:25.6896
        assert_eq!(interval_div(1, 0, 0, 2.0), (0, 15, 0));
        assert_eq!(interval_div(0, 1, 0, 2.0), (0, 0, 12 * H));
        assert_eq!(interval_div(1, 1, H, 3.0), (0, 10, 8 * H + 20 * 60_000_000));
        assert_eq!(
            interval_div(-1, 0, 0, 7.0),
            (0, -4, -(6 * H + 51 * 60_000_000 + 25_689_600))
        );
    }

    #[test]
    fn the_accumulator_sums_merges_and_retracts() {
        let values: ArrayRef = Arc::new(datafusion::arrow::array::IntervalMonthDayNanoArray::from(
            vec![
                Some(IntervalMonthDayNano::new(1, 0, 0)),
                None,
                Some(IntervalMonthDayNano::new(0, 1, 0)),
            ],
        ));
        let mut a = IntervalAvg::default();
        a.update_batch(std::slice::from_ref(&values)).unwrap();
        let state: Vec<ArrayRef> = a
            .state()
            .unwrap()
            .iter()
            .map(|s| s.to_array().unwrap())
            .collect();
        let mut b = IntervalAvg::default();
        b.merge_batch(&state).unwrap();
        // avg('1 mon', '1 day') = 15 days 12:00:00
        assert_eq!(
            b.evaluate().unwrap(),
            ScalarValue::IntervalMonthDayNano(Some(IntervalMonthDayNano::new(
                0,
                15,
                12 * 3_600_000_000_000
            )))
        );
        b.retract_batch(&[values]).unwrap();
        assert_eq!(
            b.evaluate().unwrap(),
            ScalarValue::IntervalMonthDayNano(None)
        );
    }
}
