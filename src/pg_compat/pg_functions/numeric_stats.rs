//! `stddev`, `stddev_samp`, `stddev_pop`, `variance`, `var_samp` and
//! `var_pop` of integers and `numeric`s as PostgreSQL computes them: in
//! exact `numeric` arithmetic, answering a `numeric` (numeric.c's
//! `numeric_stddev_internal`): the variance is `(N·Σx² − (Σx)²) / (N·(N−1))`
//! (or `/ N²`) at `select_div_scale`'s scale (at least 16 significant
//! digits), rounded half away from zero, and the standard deviation the
//! square root of that rounded variance at the same scale. DataFusion
//! computes them in `double precision`. Over `real` and `double precision`
//! PostgreSQL answers `double precision` as well, and these delegate to
//! DataFusion's aggregates.
//!
//! In user statements [`crate::pg_compat::compat`] calls them in place of
//! the PostgreSQL names ([`exact_statistic`]): OKO's own views are planned
//! apart and keep DataFusion's aggregates and types.
//!
//! The answer is a decimal column of one scale: 16 decimals (twice the
//! argument's scale, if more), PostgreSQL's for a variance from 1 to 10000;
//! PostgreSQL chooses the scale per value (20 for a variance below 1, `0`
//! for a variance of exactly zero), and such a value is its value at the
//! column's scale.

use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, AsArray};
use datafusion::arrow::datatypes::{DataType, Field, FieldRef, Int64Type};
use datafusion::common::{Result, ScalarValue};
use datafusion::logical_expr::function::{AccumulatorArgs, StateFieldsArgs};
use datafusion::logical_expr::{
    Accumulator, AggregateUDF, AggregateUDFImpl, GroupsAccumulator, Signature, Volatility,
};
use datafusion::prelude::SessionContext;
use num_bigint::{BigInt, Sign};

use super::numeric_math::{divide, magnitude, pow10, round_to, select_div_scale, sqrt_at};
use crate::sqlstate::{code, coded};

/// The aggregate that computes PostgreSQL's aggregate `name` (any case)
/// exactly, if it is one of these.
pub fn exact_statistic(name: &str) -> Option<&'static str> {
    Some(match name.to_ascii_lowercase().as_str() {
        "stddev" | "stddev_samp" => "pg_stddev_samp",
        "stddev_pop" => "pg_stddev_pop",
        "variance" | "var_samp" => "pg_var_samp",
        "var_pop" => "pg_var_pop",
        _ => return None,
    })
}

/// Registers the four aggregates (after DataFusion's, which they wrap).
pub fn register(ctx: &SessionContext) {
    let state = ctx.state();
    for (name, inner, kind) in [
        ("pg_stddev_samp", "stddev", Kind::StddevSamp),
        ("pg_stddev_pop", "stddev_pop", Kind::StddevPop),
        ("pg_var_samp", "var_samp", Kind::VarSamp),
        ("pg_var_pop", "var_pop", Kind::VarPop),
    ] {
        if let Some(inner) = state.aggregate_functions().get(inner) {
            ctx.register_udaf(AggregateUDF::new_from_impl(ExactStatistic {
                name,
                kind,
                inner: inner.clone(),
                signature: Signature::user_defined(Volatility::Immutable),
            }));
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Kind {
    StddevSamp,
    StddevPop,
    VarSamp,
    VarPop,
}

impl Kind {
    fn sample(self) -> bool {
        matches!(self, Kind::StddevSamp | Kind::VarSamp)
    }
    fn root(self) -> bool {
        matches!(self, Kind::StddevSamp | Kind::StddevPop)
    }
}

/// One of the aggregates; see the module documentation.
#[derive(Debug, PartialEq, Eq, Hash)]
struct ExactStatistic {
    name: &'static str,
    kind: Kind,
    inner: Arc<AggregateUDF>,
    signature: Signature,
}

/// The scale of an exact argument: an integer's 0, a decimal's own.
fn exact_scale(t: &DataType) -> Option<u32> {
    match t {
        DataType::Decimal128(_, s) => Some(u32::from(s.unsigned_abs())),
        t if t.is_integer() => Some(0),
        _ => None,
    }
}

/// The answer's scale for an argument of scale `s`.
fn answer_scale(s: u32) -> i8 {
    (2 * s).clamp(16, 38) as i8
}

impl AggregateUDFImpl for ExactStatistic {
    fn name(&self) -> &str {
        self.name
    }
    fn signature(&self) -> &Signature {
        &self.signature
    }
    fn coerce_types(&self, args: &[DataType]) -> Result<Vec<DataType>> {
        match args {
            [t] if exact_scale(t).is_some() => Ok(vec![t.clone()]),
            [t] if t.is_numeric() || t == &DataType::Null => Ok(vec![DataType::Float64]),
            _ => Err(coded(
                code::UNDEFINED_FUNCTION,
                format!(
                    "function {}({}) does not exist",
                    self.name.trim_start_matches("pg_"),
                    args.iter()
                        .map(|t| t.to_string())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            )),
        }
    }
    fn return_type(&self, args: &[DataType]) -> Result<DataType> {
        match args.first().and_then(exact_scale) {
            Some(s) => Ok(DataType::Decimal128(38, answer_scale(s))),
            None => self.inner.return_type(args),
        }
    }
    fn is_nullable(&self) -> bool {
        true
    }
    fn accumulator(&self, args: AccumulatorArgs) -> Result<Box<dyn Accumulator>> {
        let input = args.expr_fields.first().map(|f| f.data_type().clone());
        match input.as_ref().and_then(exact_scale) {
            Some(scale) => Ok(Box::new(ExactAccumulator {
                kind: self.kind,
                scale,
                out: answer_scale(scale),
                n: 0,
                sum: BigInt::from(0),
                sum_sq: BigInt::from(0),
            })),
            None => self.inner.accumulator(args),
        }
    }
    fn state_fields(&self, args: StateFieldsArgs) -> Result<Vec<FieldRef>> {
        let input = args.input_fields.first().map(|f| f.data_type().clone());
        if input.as_ref().and_then(exact_scale).is_none() {
            return self.inner.state_fields(args);
        }
        Ok(vec![
            Arc::new(Field::new(
                format!("{}[count]", args.name),
                DataType::Int64,
                true,
            )),
            Arc::new(Field::new(
                format!("{}[sum]", args.name),
                DataType::Binary,
                true,
            )),
            Arc::new(Field::new(
                format!("{}[sum_sq]", args.name),
                DataType::Binary,
                true,
            )),
        ])
    }
    fn groups_accumulator_supported(&self, args: AccumulatorArgs) -> bool {
        let input = args.expr_fields.first().map(|f| f.data_type().clone());
        input.as_ref().and_then(exact_scale).is_none()
            && self.inner.inner().groups_accumulator_supported(args)
    }
    fn create_groups_accumulator(
        &self,
        args: AccumulatorArgs,
    ) -> Result<Box<dyn GroupsAccumulator>> {
        self.inner.inner().create_groups_accumulator(args)
    }
}

/// The count, sum and sum of squares of the values, unscaled (the sum of
/// scale `scale`, the squares of twice that).
#[derive(Debug)]
struct ExactAccumulator {
    kind: Kind,
    scale: u32,
    out: i8,
    n: i64,
    sum: BigInt,
    sum_sq: BigInt,
}

/// The values of an integer or decimal array, unscaled.
fn unscaled(array: &ArrayRef) -> Result<Vec<Option<i128>>> {
    let array = match array.data_type() {
        DataType::Decimal128(..) => array.clone(),
        _ => datafusion::arrow::compute::cast(array, &DataType::Decimal128(38, 0))?,
    };
    Ok(array
        .as_primitive::<datafusion::arrow::datatypes::Decimal128Type>()
        .iter()
        .collect())
}

impl ExactAccumulator {
    fn add(&mut self, values: &ArrayRef, sign: i64) -> Result<()> {
        for v in unscaled(values)?.into_iter().flatten() {
            let v = BigInt::from(v);
            self.n += sign;
            if sign > 0 {
                self.sum_sq += &v * &v;
                self.sum += v;
            } else {
                self.sum_sq -= &v * &v;
                self.sum -= v;
            }
        }
        Ok(())
    }
}

fn bytes(b: &BigInt) -> ScalarValue {
    ScalarValue::Binary(Some(b.to_signed_bytes_le()))
}

impl Accumulator for ExactAccumulator {
    fn update_batch(&mut self, values: &[ArrayRef]) -> Result<()> {
        self.add(&values[0], 1)
    }
    fn retract_batch(&mut self, values: &[ArrayRef]) -> Result<()> {
        self.add(&values[0], -1)
    }
    fn supports_retract_batch(&self) -> bool {
        true
    }
    fn state(&mut self) -> Result<Vec<ScalarValue>> {
        Ok(vec![
            ScalarValue::Int64(Some(self.n)),
            bytes(&self.sum),
            bytes(&self.sum_sq),
        ])
    }
    fn merge_batch(&mut self, states: &[ArrayRef]) -> Result<()> {
        let counts = states[0].as_primitive::<Int64Type>();
        let sums = states[1].as_binary::<i32>();
        let squares = states[2].as_binary::<i32>();
        for i in 0..counts.len() {
            if counts.is_null(i) || sums.is_null(i) || squares.is_null(i) {
                continue;
            }
            self.n += counts.value(i);
            self.sum += BigInt::from_signed_bytes_le(sums.value(i));
            self.sum_sq += BigInt::from_signed_bytes_le(squares.value(i));
        }
        Ok(())
    }
    fn evaluate(&mut self) -> Result<ScalarValue> {
        let null = ScalarValue::Decimal128(None, 38, self.out);
        let minimum = if self.kind.sample() { 1 } else { 0 };
        if self.n <= minimum {
            return Ok(null);
        }
        let Some(value) = statistic(self.kind, self.n, &self.sum, &self.sum_sq, self.scale) else {
            return Ok(ScalarValue::Decimal128(Some(0), 38, self.out));
        };
        let out = u32::from(self.out.unsigned_abs());
        let m = round_to(&value.0, value.1, out);
        if magnitude(&m) >= pow10(38) {
            return Err(coded(
                code::NUMERIC_VALUE_OUT_OF_RANGE,
                "value overflows numeric format",
            ));
        }
        let m = i128::try_from(&m).map_err(|_| {
            coded(
                code::NUMERIC_VALUE_OUT_OF_RANGE,
                "value overflows numeric format",
            )
        })?;
        Ok(ScalarValue::Decimal128(Some(m), 38, self.out))
    }
    fn size(&self) -> usize {
        std::mem::size_of_val(self) + (self.sum.bits() + self.sum_sq.bits()) as usize / 8
    }
}

/// `numeric_stddev_internal` for `n` (more than one, or than zero for a
/// population) values of scale `s` with these sums: the value and its
/// scale, or `None` for a zero variance (PostgreSQL's `0`).
fn statistic(kind: Kind, n: i64, sum: &BigInt, sum_sq: &BigInt, s: u32) -> Option<(BigInt, u32)> {
    let n_big = BigInt::from(n);
    // N·Σx² − (Σx)², of scale 2s.
    let numerator = &n_big * sum_sq - sum * sum;
    if numerator.sign() != Sign::Plus {
        return None;
    }
    let denominator = if kind.sample() {
        &n_big * (&n_big - 1)
    } else {
        &n_big * &n_big
    };
    let r = select_div_scale(&numerator, 2 * s, &denominator, 0);
    let variance = divide(&numerator, 2 * s, &denominator, 0, r);
    if kind.root() {
        Some((sqrt_at(&variance, r, r), r))
    } else {
        Some((variance, r))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(kind: Kind, values: &[i128], s: u32) -> String {
        let n = values.len() as i64;
        let sum: BigInt = values.iter().map(|v| BigInt::from(*v)).sum();
        let sum_sq: BigInt = values.iter().map(|v| BigInt::from(*v) * v).sum();
        match statistic(kind, n, &sum, &sum_sq, s) {
            Some((m, scale)) => crate::server::numeric::Numeric {
                value: i128::try_from(&m).unwrap(),
                scale,
            }
            .text(),
            None => "0".to_string(),
        }
    }

    #[test]
    fn variances_are_exact_at_postgresql_scale() {
        // PostgreSQL 15: SELECT variance(x), stddev(x), var_pop(x),
        // stddev_pop(x) FROM (VALUES (1), (2), (4), (5), (5)) v(x).
        let xs = [1, 2, 4, 5, 5];
        assert_eq!(text(Kind::VarSamp, &xs, 0), "3.3000000000000000");
        assert_eq!(text(Kind::StddevSamp, &xs, 0), "1.8165902124584950");
        assert_eq!(text(Kind::VarPop, &xs, 0), "2.6400000000000000");
        assert_eq!(text(Kind::StddevPop, &xs, 0), "1.6248076809271921");
        // Numerics of scale 1: 1.5, 2.5.
        assert_eq!(text(Kind::VarSamp, &[15, 25], 1), "0.50000000000000000000");
        assert_eq!(text(Kind::VarSamp, &[3, 3], 0), "0");
    }

    #[test]
    fn names_map_to_the_exact_aggregates() {
        assert_eq!(exact_statistic("STDDEV"), Some("pg_stddev_samp"));
        assert_eq!(exact_statistic("variance"), Some("pg_var_samp"));
        assert_eq!(exact_statistic("sum"), None);
    }
}
