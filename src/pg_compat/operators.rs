//! PostgreSQL operators DataFusion does not plan, through its extension
//! point for binary operators ([`ExprPlanner::plan_binary_op`]).
//!
//! - `interval * number`, `number * interval`, `interval / number`:
//!   PostgreSQL's `interval_mul` (PG 15, utils/adt/timestamp.c): months and
//!   days are multiplied separately, and the fractions of a month (30 days)
//!   and of a day (24 hours) carry down, so `interval '1 month' * 1.5` is
//!   `1 mon 15 days` and `interval '1 day' / 3` is `08:00:00`.
//! - `integer + - * integer`: checked, as PostgreSQL (`integer out of
//!   range`, 22003); DataFusion's arithmetic wraps around silently.
//! - `timestamp - timestamp`: days and a time (`2 days 01:30:00`), as
//!   PostgreSQL's `timestamp_mi` (`interval_justify_hours`), where
//!   DataFusion gives hours only (`49:30:00`).
//! - `numeric / numeric`: PostgreSQL's digits, rounded
//!   ([`crate::pg_compat::pg_functions::numeric_division`]).
//! - `date ± integer` is a `date`, `date - date` an `integer` of days.
//! - interval comparisons: PostgreSQL compares intervals as spans (a month
//!   is 30 days, a day 24 hours: `interval '1 month' = interval '30
//!   days'`); DataFusion compares the fields.

use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, AsArray, IntervalMonthDayNanoArray};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{
    DataType, IntervalMonthDayNano, IntervalMonthDayNanoType, IntervalUnit,
};
use datafusion::common::{DFSchema, Result, ScalarValue};
use datafusion::logical_expr::planner::{ExprPlanner, PlannerResult, RawBinaryExpr};
use datafusion::logical_expr::{
    ColumnarValue, Expr, ExprSchemable, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature,
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
    /// `EXTRACT(field FROM x)` is a `numeric` in PostgreSQL (14+): whole
    /// for most fields, with six decimals for seconds and epochs and three
    /// for milliseconds. `date_part(…)` stays `double precision`.
    fn plan_extract(&self, args: Vec<Expr>) -> Result<PlannerResult<Vec<Expr>>> {
        let field = match args.first() {
            Some(Expr::Literal(ScalarValue::Utf8(Some(field)), _)) => field.to_ascii_lowercase(),
            _ => return Ok(PlannerResult::Original(args)),
        };
        let date_part = |args: Vec<Expr>| {
            Expr::ScalarFunction(datafusion::logical_expr::expr::ScalarFunction::new_udf(
                datafusion::functions::datetime::date_part(),
                args,
            ))
        };
        // Seconds and milliseconds with their fraction: DataFusion's
        // `second`/`millisecond` parts are whole, its `microsecond` part
        // (seconds and fraction, in microseconds) is exact.
        let micros_scale = match field.as_str() {
            "second" | "seconds" => Some(6),
            "millisecond" | "milliseconds" => Some(3),
            _ => None,
        };
        if let Some(scale) = micros_scale
            && let [_, value] = args.as_slice()
        {
            return Ok(PlannerResult::Planned(
                seconds_of_minute(scale).call(vec![value.clone()]),
            ));
        }
        if let [_, value] = args.as_slice()
            && let Some(zone_field) =
                crate::pg_compat::pg_functions::extract_zone_field(&field, value)
        {
            return Ok(PlannerResult::Planned(zone_field));
        }
        if let Some(part) = CalendarPart::of(&field)
            && let [_, value] = args.as_slice()
        {
            return Ok(PlannerResult::Planned(
                calendar_part(part).call(vec![value.clone()]),
            ));
        }
        let scale = if field == "epoch" { 6 } else { 0 };
        Ok(PlannerResult::Planned(Expr::Cast(
            datafusion::logical_expr::Cast::new(
                Box::new(date_part(args)),
                DataType::Decimal128(38, scale),
            ),
        )))
    }

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
            BinaryOperator::Plus | BinaryOperator::Minus | BinaryOperator::Multiply
                if integer_width(&left).is_some() && integer_width(&right).is_some() =>
            {
                // (The function widens its operands itself: a constant
                // operand is still to be typed, see [`super::literals`].)
                let op = match expr.op {
                    BinaryOperator::Plus => IntOp::Add,
                    BinaryOperator::Minus => IntOp::Sub,
                    _ => IntOp::Mul,
                };
                // An integer constant is an `integer` already here: the
                // plan's types must be final where DataFusion checks them
                // while planning (the recursive term of `WITH RECURSIVE`
                // against its anchor).
                let int4 = |e: Expr| match e {
                    Expr::Literal(ScalarValue::Int64(Some(v)), None)
                        if i32::try_from(v).is_ok() =>
                    {
                        Expr::Literal(ScalarValue::Int32(Some(v as i32)), None)
                    }
                    other => other,
                };
                let udf = ScalarUDF::new_from_impl(CheckedInt::new(op));
                Ok(PlannerResult::Planned(
                    udf.call(vec![int4(expr.left), int4(expr.right)]),
                ))
            }
            // `date ± integer` is a date, `date - date` an `integer` of
            // days (DataFusion makes timestamps and `bigint`s of them).
            BinaryOperator::Plus | BinaryOperator::Minus
                if left == DataType::Date32 && integer_width(&right).is_some() =>
            {
                Ok(PlannerResult::Planned(days_to_date(
                    expr.left,
                    expr.right,
                    expr.op == BinaryOperator::Minus,
                )))
            }
            BinaryOperator::Plus if integer_width(&left).is_some() && right == DataType::Date32 => {
                Ok(PlannerResult::Planned(days_to_date(
                    expr.right, expr.left, false,
                )))
            }
            BinaryOperator::Minus if left == DataType::Date32 && right == DataType::Date32 => {
                let days = |e: Expr| as_type(as_type(e, DataType::Int32), DataType::Int64);
                Ok(PlannerResult::Planned(as_type(
                    Expr::BinaryExpr(datafusion::logical_expr::BinaryExpr::new(
                        Box::new(days(expr.left)),
                        datafusion::logical_expr::Operator::Minus,
                        Box::new(days(expr.right)),
                    )),
                    DataType::Int32,
                )))
            }
            // `numeric / numeric` with PostgreSQL's digits and rounding.
            BinaryOperator::Divide
                if (is_decimal(&left)
                    && (is_decimal(&right) || integer_width(&right).is_some()))
                    || (integer_width(&left).is_some() && is_decimal(&right)) =>
            {
                Ok(PlannerResult::Planned(
                    crate::pg_compat::pg_functions::numeric_division()
                        .call(vec![expr.left, expr.right]),
                ))
            }
            BinaryOperator::Divide
                if (is_float(&left) && is_number(&right))
                    || (is_number(&left) && is_float(&right)) =>
            {
                Ok(PlannerResult::Planned(
                    float_division().call(vec![expr.left, expr.right]),
                ))
            }
            BinaryOperator::Minus
                if matches!(left, DataType::Timestamp(..))
                    && matches!(right, DataType::Timestamp(..)) =>
            {
                let udf = ScalarUDF::new_from_impl(TimestampDiff::new());
                Ok(PlannerResult::Planned(
                    udf.call(vec![expr.left, expr.right]),
                ))
            }
            BinaryOperator::Eq
            | BinaryOperator::NotEq
            | BinaryOperator::Lt
            | BinaryOperator::LtEq
            | BinaryOperator::Gt
            | BinaryOperator::GtEq
                if is_interval(&left) && is_interval(&right) =>
            {
                let span = |e| ScalarUDF::new_from_impl(IntervalSpan::new()).call(vec![e]);
                Ok(PlannerResult::Original(RawBinaryExpr {
                    op: expr.op,
                    left: span(expr.left),
                    right: span(expr.right),
                }))
            }
            _ => Ok(PlannerResult::Original(expr)),
        }
    }
}

fn as_type(e: Expr, t: DataType) -> Expr {
    Expr::Cast(datafusion::logical_expr::Cast::new(Box::new(e), t))
}

/// `date + days` (or `date - days`) as a date: the day numbers added.
fn days_to_date(date: Expr, days: Expr, minus: bool) -> Expr {
    let sum = Expr::BinaryExpr(datafusion::logical_expr::BinaryExpr::new(
        Box::new(as_type(as_type(date, DataType::Int32), DataType::Int64)),
        if minus {
            datafusion::logical_expr::Operator::Minus
        } else {
            datafusion::logical_expr::Operator::Plus
        },
        Box::new(as_type(days, DataType::Int64)),
    ));
    as_type(as_type(sum, DataType::Int32), DataType::Date32)
}

fn is_decimal(t: &DataType) -> bool {
    matches!(t, DataType::Decimal128(..))
}

fn is_float(t: &DataType) -> bool {
    matches!(t, DataType::Float64 | DataType::Float32)
}

/// `pg_float_div(a, b)`: `double precision` division, which PostgreSQL
/// refuses for a zero divisor (22012) where IEEE gives an infinity.
fn float_division() -> ScalarUDF {
    crate::pg_compat::pg_functions::simple::coercing(
        "pg_float_div",
        Volatility::Immutable,
        |args| Ok(vec![DataType::Float64; args.len()]),
        |_| Ok(DataType::Float64),
        |args, _| {
            use datafusion::arrow::array::{Array, AsArray};
            use datafusion::arrow::datatypes::Float64Type;
            let dividends = &args[0];
            let divisors = args[1].as_primitive::<Float64Type>();
            if (0..divisors.len())
                .any(|i| !dividends.is_null(i) && !divisors.is_null(i) && divisors.value(i) == 0.0)
            {
                return Err(coded(code::DIVISION_BY_ZERO, "division by zero"));
            }
            Ok(datafusion::arrow::compute::kernels::numeric::div(
                &args[0], &args[1],
            )?)
        },
    )
}

/// The width of a signed integer type (PostgreSQL has no unsigned ones).
fn integer_width(t: &DataType) -> Option<u8> {
    match t {
        DataType::Int16 => Some(2),
        DataType::Int32 => Some(4),
        DataType::Int64 => Some(8),
        _ => None,
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum IntOp {
    Add,
    Sub,
    Mul,
}

/// `pg_int_add|sub|mul(a, b)`: checked integer arithmetic on one type.
#[derive(Debug, PartialEq, Eq, Hash)]
struct CheckedInt {
    op: IntOp,
    signature: Signature,
}

impl CheckedInt {
    fn new(op: IntOp) -> Self {
        Self {
            op,
            signature: Signature::any(2, Volatility::Immutable),
        }
    }
}

impl ScalarUDFImpl for CheckedInt {
    fn name(&self) -> &str {
        match self.op {
            IntOp::Add => "pg_int_add",
            IntOp::Sub => "pg_int_sub",
            IntOp::Mul => "pg_int_mul",
        }
    }
    fn signature(&self) -> &Signature {
        &self.signature
    }
    /// The wider operand's type (an `integer` constant may meet a `bigint`,
    /// see [`super::literals`]).
    fn return_type(&self, args: &[DataType]) -> Result<DataType> {
        Ok(args
            .iter()
            .max_by_key(|t| integer_width(t))
            .cloned()
            .unwrap_or(DataType::Int64))
    }
    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        use datafusion::arrow::compute::kernels::numeric;
        let [a, b] = args.args.as_slice() else {
            return Err(coded(
                code::UNDEFINED_FUNCTION,
                "integer arithmetic takes two operands",
            ));
        };
        let target = args.return_field.data_type();
        let (a, b) = (
            cast(&a.to_array(args.number_rows)?, target)?,
            cast(&b.to_array(args.number_rows)?, target)?,
        );
        let scalar = args
            .args
            .iter()
            .all(|x| matches!(x, ColumnarValue::Scalar(_)));
        let out = match self.op {
            IntOp::Add => numeric::add(&a, &b),
            IntOp::Sub => numeric::sub(&a, &b),
            IntOp::Mul => numeric::mul(&a, &b),
        };
        let out = out.map_err(|_| {
            let kind = match a.data_type() {
                DataType::Int16 => "smallint",
                DataType::Int32 => "integer",
                _ => "bigint",
            };
            coded(
                code::NUMERIC_VALUE_OUT_OF_RANGE,
                format!("{kind} out of range"),
            )
        })?;
        crate::pg_compat::pg_functions::answer(out, scalar)
    }
}

/// `pg_timestamp_diff(a, b)`: `a - b` as PostgreSQL's `timestamp_mi`.
#[derive(Debug, PartialEq, Eq, Hash)]
struct TimestampDiff {
    signature: Signature,
}

impl TimestampDiff {
    fn new() -> Self {
        Self {
            signature: Signature::any(2, Volatility::Immutable),
        }
    }
}

const MICROS_PER_DAY: i64 = 86_400_000_000;

/// `interval_justify_hours` of a span of microseconds: whole days, and the
/// time of the same sign.
pub fn justify_hours(micros: i64) -> IntervalMonthDayNano {
    let mut days = micros / MICROS_PER_DAY;
    let mut time = micros % MICROS_PER_DAY;
    if days > 0 && time < 0 {
        time += MICROS_PER_DAY;
        days -= 1;
    } else if days < 0 && time > 0 {
        time -= MICROS_PER_DAY;
        days += 1;
    }
    IntervalMonthDayNano::new(0, days as i32, time * 1000)
}

impl ScalarUDFImpl for TimestampDiff {
    fn name(&self) -> &str {
        "pg_timestamp_diff"
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
            .all(|x| matches!(x, ColumnarValue::Scalar(_)));
        let micros = |v: &ColumnarValue| -> Result<ArrayRef> {
            let a = v.to_array(rows)?;
            // Both as UTC instants (a naive timestamp as its wall clock).
            let target = match a.data_type() {
                DataType::Timestamp(_, Some(_)) => DataType::Timestamp(
                    datafusion::arrow::datatypes::TimeUnit::Microsecond,
                    Some("+00:00".into()),
                ),
                _ => DataType::Timestamp(datafusion::arrow::datatypes::TimeUnit::Microsecond, None),
            };
            Ok(cast(&cast(&a, &target)?, &DataType::Int64)?)
        };
        let [a, b] = args.args.as_slice() else {
            return Err(coded(
                code::UNDEFINED_FUNCTION,
                "timestamp - timestamp takes two operands",
            ));
        };
        let (a, b) = (micros(a)?, micros(b)?);
        let (a, b) = (
            a.as_primitive::<datafusion::arrow::datatypes::Int64Type>(),
            b.as_primitive::<datafusion::arrow::datatypes::Int64Type>(),
        );
        let out: IntervalMonthDayNanoArray = (0..a.len())
            .map(|i| {
                (!a.is_null(i) && !b.is_null(i))
                    .then(|| a.value(i).checked_sub(b.value(i)).map(justify_hours))
                    .flatten()
            })
            .collect();
        crate::pg_compat::pg_functions::answer(Arc::new(out), scalar)
    }
}

/// `pg_interval_span(i)`: an interval as PostgreSQL compares it, in
/// microseconds (a month 30 days, a day 24 hours).
#[derive(Debug, PartialEq, Eq, Hash)]
struct IntervalSpan {
    signature: Signature,
}

impl IntervalSpan {
    fn new() -> Self {
        Self {
            signature: Signature::any(1, Volatility::Immutable),
        }
    }
}

impl ScalarUDFImpl for IntervalSpan {
    fn name(&self) -> &str {
        "pg_interval_span"
    }
    fn signature(&self) -> &Signature {
        &self.signature
    }
    fn return_type(&self, _: &[DataType]) -> Result<DataType> {
        Ok(DataType::Decimal128(38, 0))
    }
    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let scalar = matches!(args.args.first(), Some(ColumnarValue::Scalar(_)));
        let Some(v) = args.args.first() else {
            return Err(coded(
                code::UNDEFINED_FUNCTION,
                "pg_interval_span takes an interval",
            ));
        };
        let spans = cast(
            &v.to_array(args.number_rows)?,
            &DataType::Interval(IntervalUnit::MonthDayNano),
        )?;
        let spans = spans.as_primitive::<IntervalMonthDayNanoType>();
        let out: datafusion::arrow::array::Decimal128Array = (0..spans.len())
            .map(|i| {
                (!spans.is_null(i)).then(|| {
                    let s = spans.value(i);
                    (i128::from(s.months) * 30 + i128::from(s.days)) * i128::from(MICROS_PER_DAY)
                        + i128::from(s.nanoseconds / 1000)
                })
            })
            .collect();
        let out = out.with_precision_and_scale(38, 0)?;
        crate::pg_compat::pg_functions::answer(Arc::new(out), scalar)
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

/// `EXTRACT` fields DataFusion's `date_part` lacks, of a date or timestamp.
#[derive(Debug, Clone, Copy, PartialEq)]
enum CalendarPart {
    Century,
    Millennium,
    Decade,
    IsoYear,
    /// The Julian day, with the fraction of the day for a timestamp.
    Julian,
}

impl CalendarPart {
    fn of(field: &str) -> Option<CalendarPart> {
        Some(match field {
            "century" | "centuries" => CalendarPart::Century,
            "millennium" | "millennia" => CalendarPart::Millennium,
            "decade" | "decades" => CalendarPart::Decade,
            "isoyear" => CalendarPart::IsoYear,
            "julian" => CalendarPart::Julian,
            _ => return None,
        })
    }
}

/// `EXTRACT(CENTURY | MILLENNIUM | DECADE | ISOYEAR | JULIAN FROM x)`, a
/// `numeric` as PostgreSQL's (a timestamptz read in the session's zone).
fn calendar_part(part: CalendarPart) -> ScalarUDF {
    let (name, run): (&'static str, crate::pg_compat::pg_functions::simple::Run) = match part {
        CalendarPart::Century => ("pg_extract_century", |a, t| {
            calendar(&a[0], t, CalendarPart::Century)
        }),
        CalendarPart::Millennium => ("pg_extract_millennium", |a, t| {
            calendar(&a[0], t, CalendarPart::Millennium)
        }),
        CalendarPart::Decade => ("pg_extract_decade", |a, t| {
            calendar(&a[0], t, CalendarPart::Decade)
        }),
        CalendarPart::IsoYear => ("pg_extract_isoyear", |a, t| {
            calendar(&a[0], t, CalendarPart::IsoYear)
        }),
        CalendarPart::Julian => ("pg_extract_julian", |a, t| {
            calendar(&a[0], t, CalendarPart::Julian)
        }),
    };
    let return_type: crate::pg_compat::pg_functions::simple::ReturnType = match part {
        CalendarPart::Julian => |_| Ok(DataType::Decimal128(38, 20)),
        _ => |_| Ok(DataType::Decimal128(38, 0)),
    };
    crate::pg_compat::pg_functions::simple::function(
        name,
        Signature::any(1, Volatility::Stable),
        return_type,
        run,
    )
}

fn calendar(value: &ArrayRef, t: &DataType, part: CalendarPart) -> Result<ArrayRef> {
    use chrono::{Datelike, NaiveDate, Timelike};
    use datafusion::arrow::datatypes::{Int64Type, TimeUnit};
    let DataType::Decimal128(precision, scale) = t else {
        return datafusion::common::internal_err!("calendar parts are decimals, not {t}");
    };
    // Each value as a wall-clock time (a date at its midnight).
    let walls: Vec<Option<chrono::NaiveDateTime>> = match value.data_type() {
        DataType::Date32 | DataType::Date64 => {
            let days = cast(&cast(value, &DataType::Date32)?, &DataType::Int32)?;
            days.as_primitive::<datafusion::arrow::datatypes::Int32Type>()
                .iter()
                .map(|d| {
                    d.and_then(|d| {
                        NaiveDate::from_num_days_from_ce_opt(d + 719_163)
                            .and_then(|d| d.and_hms_opt(0, 0, 0))
                    })
                })
                .collect()
        }
        DataType::Timestamp(_, zone) => {
            let micros = cast(
                value,
                &DataType::Timestamp(TimeUnit::Microsecond, zone.clone()),
            )?;
            let micros = cast(&micros, &DataType::Int64)?;
            let zone = zone
                .as_deref()
                .map(crate::pg_compat::pg_functions::Zone::of_arrow)
                .transpose()?;
            micros
                .as_primitive::<Int64Type>()
                .iter()
                .map(|m| {
                    let instant = chrono::DateTime::from_timestamp_micros(m?)?;
                    Some(match &zone {
                        Some(z) => z.local(instant),
                        None => instant.naive_utc(),
                    })
                })
                .collect()
        }
        other => {
            return Err(coded(
                code::UNDEFINED_FUNCTION,
                format!("function extract(unknown, {other}) does not exist"),
            ));
        }
    };
    let ten = 10_i128.pow(*scale as u32);
    let out: datafusion::arrow::array::Decimal128Array = walls
        .iter()
        .map(|w| {
            let w = (*w)?;
            let y = i128::from(w.year());
            let whole = |n: i128| Some(n * ten);
            match part {
                CalendarPart::Century if y > 0 => whole((y + 99) / 100),
                CalendarPart::Century => whole(-((100 - y) / 100)),
                CalendarPart::Millennium if y > 0 => whole((y + 999) / 1000),
                CalendarPart::Millennium => whole(-((1000 - y) / 1000)),
                CalendarPart::Decade => whole(y.div_euclid(10)),
                CalendarPart::IsoYear => whole(i128::from(w.date().iso_week().year())),
                CalendarPart::Julian => {
                    let day = i128::from(w.date().num_days_from_ce()) - 719_163 + 2_440_588;
                    let micros = i128::from(w.num_seconds_from_midnight()) * 1_000_000
                        + i128::from(w.nanosecond() / 1_000);
                    // The fraction of the day, rounded at the last decimal.
                    let fraction = (micros * ten + 43_200_000_000) / 86_400_000_000;
                    Some(day * ten + fraction)
                }
            }
        })
        .collect();
    Ok(Arc::new(out.with_precision_and_scale(*precision, *scale)?))
}

/// `EXTRACT(SECOND | MILLISECONDS FROM x)`: the seconds of the minute with
/// their fraction, a `numeric` of seconds (`scale` 6) or milliseconds
/// (`scale` 3), of a timestamp, time or interval.
fn seconds_of_minute(scale: i8) -> ScalarUDF {
    let return_type: crate::pg_compat::pg_functions::simple::ReturnType = if scale == 6 {
        |_| Ok(DataType::Decimal128(38, 6))
    } else {
        |_| Ok(DataType::Decimal128(38, 3))
    };
    crate::pg_compat::pg_functions::simple::function(
        if scale == 6 {
            "pg_extract_seconds"
        } else {
            "pg_extract_milliseconds"
        },
        Signature::any(1, Volatility::Immutable),
        return_type,
        |args, t| micros_of_minute(&args[0], t),
    )
}

fn micros_of_minute(value: &ArrayRef, t: &DataType) -> Result<ArrayRef> {
    use datafusion::arrow::datatypes::{Int64Type, TimeUnit};
    let DataType::Decimal128(precision, scale) = t else {
        return datafusion::common::internal_err!("seconds of a minute are a decimal, not {t}");
    };
    const MINUTE: i64 = 60_000_000;
    let micros: Vec<Option<i64>> = match value.data_type() {
        DataType::Interval(_) => {
            let v = cast(value, &DataType::Interval(IntervalUnit::MonthDayNano))?;
            v.as_primitive::<IntervalMonthDayNanoType>()
                .iter()
                .map(|v| v.map(|v| (v.nanoseconds / 1_000) % MINUTE))
                .collect()
        }
        DataType::Date32 | DataType::Date64 => {
            return Err(coded(
                code::FEATURE_NOT_SUPPORTED,
                format!(
                    "unit \"{}\" not supported for type date",
                    if *scale == 6 {
                        "second"
                    } else {
                        "milliseconds"
                    }
                ),
            ));
        }
        DataType::Time32(_) | DataType::Time64(_) => {
            let v = cast(value, &DataType::Time64(TimeUnit::Microsecond))?;
            let v = cast(&v, &DataType::Int64)?;
            v.as_primitive::<Int64Type>()
                .iter()
                .map(|v| v.map(|v| v.rem_euclid(MINUTE)))
                .collect()
        }
        DataType::Timestamp(_, zone) => {
            let v = cast(
                value,
                &DataType::Timestamp(TimeUnit::Microsecond, zone.clone()),
            )?;
            let v = cast(&v, &DataType::Int64)?;
            v.as_primitive::<Int64Type>()
                .iter()
                .map(|v| v.map(|v| v.rem_euclid(MINUTE)))
                .collect()
        }
        other => {
            return Err(coded(
                code::UNDEFINED_FUNCTION,
                format!("function extract(unknown, {other}) does not exist"),
            ));
        }
    };
    // The microseconds are the digits of both: seconds with six decimals,
    // milliseconds with three.
    let out: datafusion::arrow::array::Decimal128Array =
        micros.into_iter().map(|v| v.map(i128::from)).collect();
    Ok(Arc::new(out.with_precision_and_scale(*precision, *scale)?))
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
