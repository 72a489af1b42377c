//! PostgreSQL operators DataFusion does not plan, through its extension
//! point for binary operators ([`ExprPlanner::plan_binary_op`]).
//!
//! - `interval * number`, `number * interval`, `interval / number`:
//!   PostgreSQL's `interval_mul` (PG 15, utils/adt/timestamp.c): months and
//!   days are multiplied separately, and the fractions of a month (30 days)
//!   and of a day (24 hours) carry down, so `interval '1 month' * 1.5` is
//!   `1 mon 15 days` and `interval '1 day' / 3` is `08:00:00`.

use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, AsArray, IntervalMonthDayNanoArray};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{
    DataType, IntervalMonthDayNano, IntervalMonthDayNanoType, IntervalUnit,
};
use datafusion::common::{DFSchema, Result};
use datafusion::logical_expr::planner::{ExprPlanner, PlannerResult, RawBinaryExpr};
use datafusion::logical_expr::{
    ColumnarValue, ExprSchemable, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature,
    Volatility,
};
use datafusion::sql::sqlparser::ast::BinaryOperator;

use crate::sqlstate::{code, coded};

/// The planner; see the module documentation.
#[derive(Debug, Default)]
pub struct PgOperators;

fn is_interval(t: &DataType) -> bool {
    matches!(t, DataType::Interval(_))
}

fn is_number(t: &DataType) -> bool {
    t.is_numeric()
}

impl ExprPlanner for PgOperators {
    fn plan_binary_op(
        &self,
        expr: RawBinaryExpr,
        schema: &DFSchema,
    ) -> Result<PlannerResult<RawBinaryExpr>> {
        let (Ok(left), Ok(right)) = (expr.left.get_type(schema), expr.right.get_type(schema))
        else {
            return Ok(PlannerResult::Original(expr));
        };
        let mul = |divide| {
            ScalarUDF::new_from_impl(IntervalMul {
                divide,
                signature: Signature::any(2, Volatility::Immutable),
            })
        };
        match expr.op {
            BinaryOperator::Multiply if is_interval(&left) && is_number(&right) => Ok(
                PlannerResult::Planned(mul(false).call(vec![expr.left, expr.right])),
            ),
            BinaryOperator::Multiply if is_number(&left) && is_interval(&right) => Ok(
                PlannerResult::Planned(mul(false).call(vec![expr.right, expr.left])),
            ),
            BinaryOperator::Divide if is_interval(&left) && is_number(&right) => Ok(
                PlannerResult::Planned(mul(true).call(vec![expr.left, expr.right])),
            ),
            _ => Ok(PlannerResult::Original(expr)),
        }
    }
}

/// `interval_mul(interval, factor)`, or `interval_div` (`divide`).
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct IntervalMul {
    divide: bool,
    signature: Signature,
}

const DAYS_PER_MONTH: f64 = 30.0;
const SECS_PER_DAY: f64 = 86_400.0;

/// Rounds to microseconds, as PostgreSQL's `TSROUND`.
fn ts_round(x: f64) -> f64 {
    (x * 1e6).round() / 1e6
}

/// PostgreSQL's `interval_mul` on one value.
pub fn interval_mul(span: IntervalMonthDayNano, factor: f64) -> Option<IntervalMonthDayNano> {
    let months = span.months as f64 * factor;
    let days = span.days as f64 * factor;
    if !months.is_finite() || !days.is_finite() || months.abs() > i32::MAX as f64 {
        return None;
    }
    let result_months = months.trunc();
    let mut result_days = days.trunc();
    let month_remainder_days = ts_round((months - result_months) * DAYS_PER_MONTH);
    let mut sec_remainder = ts_round(
        (days - result_days + month_remainder_days - month_remainder_days.trunc()) * SECS_PER_DAY,
    );
    if sec_remainder.abs() >= SECS_PER_DAY {
        let whole = (sec_remainder / SECS_PER_DAY).trunc();
        result_days += whole;
        sec_remainder -= whole * SECS_PER_DAY;
    }
    result_days += month_remainder_days.trunc();
    let micros = (span.nanoseconds as f64 / 1e3 * factor + sec_remainder * 1e6).round_ties_even();
    if result_days.abs() > i32::MAX as f64 || !micros.is_finite() || micros.abs() > 9.2e15 {
        return None;
    }
    Some(IntervalMonthDayNano::new(
        result_months as i32,
        result_days as i32,
        micros as i64 * 1000,
    ))
}

impl ScalarUDFImpl for IntervalMul {
    fn name(&self) -> &str {
        if self.divide {
            "interval_div"
        } else {
            "interval_mul"
        }
    }
    fn signature(&self) -> &Signature {
        &self.signature
    }
    fn return_type(&self, _: &[DataType]) -> Result<DataType> {
        Ok(DataType::Interval(IntervalUnit::MonthDayNano))
    }
    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let rows = args.number_rows;
        let scalar = args
            .args
            .iter()
            .all(|a| matches!(a, ColumnarValue::Scalar(_)));
        let [span, factor] = args.args.as_slice() else {
            return Err(coded(
                code::UNDEFINED_FUNCTION,
                "interval_mul takes two arguments",
            ));
        };
        let spans = cast(
            &span.to_array(rows)?,
            &DataType::Interval(IntervalUnit::MonthDayNano),
        )?;
        let spans = spans.as_primitive::<IntervalMonthDayNanoType>();
        let factors = cast(&factor.to_array(rows)?, &DataType::Float64)?;
        let factors = factors.as_primitive::<datafusion::arrow::datatypes::Float64Type>();
        let mut out = Vec::with_capacity(rows);
        for i in 0..spans.len() {
            if spans.is_null(i) || factors.is_null(i) {
                out.push(None);
                continue;
            }
            let mut factor = factors.value(i);
            if self.divide {
                if factor == 0.0 {
                    return Err(coded(code::DIVISION_BY_ZERO, "division by zero"));
                }
                factor = 1.0 / factor;
            }
            out.push(Some(
                interval_mul(spans.value(i), factor)
                    .ok_or_else(|| coded("22008", "interval out of range"))?,
            ));
        }
        let array: ArrayRef = Arc::new(IntervalMonthDayNanoArray::from(out));
        crate::pg_compat::pg_functions::answer(array, scalar)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn iv(months: i32, days: i32, micros: i64) -> IntervalMonthDayNano {
        IntervalMonthDayNano::new(months, days, micros * 1000)
    }

    #[test]
    fn interval_arithmetic_carries_fractions_down_as_postgresql() {
        // PostgreSQL 15: interval '1 month' * 1.5 = 1 mon 15 days
        assert_eq!(interval_mul(iv(1, 0, 0), 1.5), Some(iv(1, 15, 0)));
        // interval '1 day' * 3 = 3 days
        assert_eq!(interval_mul(iv(0, 1, 0), 3.0), Some(iv(0, 3, 0)));
        // interval '1 day' / 3 = 08:00:00
        assert_eq!(
            interval_mul(iv(0, 1, 0), 1.0 / 3.0),
            Some(iv(0, 0, 8 * 3_600_000_000))
        );
        // interval '1 hour 30 minutes' * 2 = 03:00:00
        assert_eq!(
            interval_mul(iv(0, 0, 5_400_000_000), 2.0),
            Some(iv(0, 0, 10_800_000_000))
        );
        // interval '2 days' * 0.25 = 12:00:00
        assert_eq!(
            interval_mul(iv(0, 2, 0), 0.25),
            Some(iv(0, 0, 43_200_000_000))
        );
    }
}
