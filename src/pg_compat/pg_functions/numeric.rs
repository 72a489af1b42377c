//! `numeric` arithmetic as PostgreSQL types and rounds it, within Arrow's
//! 38-digit decimals.
//!
//! - `pg_numeric_div(a, b)`: `numeric / numeric` (and a `numeric` with an
//!   integer). PostgreSQL gives a quotient at least 16 significant digits
//!   (`1.0 / 3` is `0.33333333333333333333`), rounded half away from zero;
//!   DataFusion gives its dividend's scale plus 4 (`0.33333`), truncated.
//!   Here the quotient has [`QUOTIENT_SCALE`] decimals (or the operands'
//!   scale, if larger), rounded as PostgreSQL rounds: the same value as
//!   PostgreSQL's to the digits it shows, and never fewer. Its whole part
//!   has up to 18 digits (a larger quotient is 22003, `numeric field
//!   overflow`); a zero divisor is 22012.
//! - `pg_sum_arg(x)` and `pg_avg_arg(x)`: the argument of `sum` and `avg`
//!   in user statements ([`crate::pg_compat::compat`] wraps it): PostgreSQL
//!   sums a `bigint` as a `numeric` (DataFusion wraps around in `bigint`),
//!   and averages integers and `numeric`s as a `numeric` with at least 16
//!   decimals (DataFusion as `double precision`). Any other argument is
//!   passed as it is.

use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, AsArray, Decimal128Array};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, Decimal128Type, i256};
use datafusion::common::Result;
use datafusion::logical_expr::{ScalarUDF, Volatility};

use super::simple::coercing;
use crate::sqlstate::{code, coded};

/// The decimals of a quotient (PostgreSQL's is at least 16 significant
/// digits: 20 decimals for a quotient below 1 that starts at its first
/// decimal).
pub const QUOTIENT_SCALE: i8 = 20;

/// The decimals `avg` is computed with (DataFusion's average adds 4).
const AVG_SCALE: i8 = 16;

fn decimal_of(t: &DataType) -> Option<DataType> {
    match t {
        DataType::Decimal128(_, s) => Some(DataType::Decimal128(38, *s)),
        DataType::Null => Some(DataType::Decimal128(38, 0)),
        t if t.is_integer() => Some(DataType::Decimal128(38, 0)),
        _ => None,
    }
}

fn scale(t: &DataType) -> i8 {
    match t {
        DataType::Decimal128(_, s) => *s,
        _ => 0,
    }
}

/// The functions of this module.
pub fn functions() -> Vec<ScalarUDF> {
    vec![
        numeric_division(),
        coercing(
            "pg_sum_arg",
            Volatility::Immutable,
            |args| Ok(args.to_vec()),
            |args| {
                Ok(match &args[0] {
                    DataType::Int64 | DataType::UInt64 | DataType::UInt32 => {
                        DataType::Decimal128(38, 0)
                    }
                    DataType::Decimal128(_, s) => DataType::Decimal128(38, *s),
                    other => other.clone(),
                })
            },
            |args, t| Ok(cast(&args[0], t)?),
        ),
        coercing(
            "pg_avg_arg",
            Volatility::Immutable,
            |args| Ok(args.to_vec()),
            |args| {
                Ok(match &args[0] {
                    t if t.is_integer() => DataType::Decimal128(38, AVG_SCALE),
                    DataType::Decimal128(_, s) => DataType::Decimal128(38, AVG_SCALE.max(*s)),
                    other => other.clone(),
                })
            },
            |args, t| Ok(cast(&args[0], t)?),
        ),
    ]
}

/// `pg_numeric_div(a, b)`; see the module documentation.
pub fn numeric_division() -> ScalarUDF {
    coercing(
        "pg_numeric_div",
        Volatility::Immutable,
        |args| match args {
            [a, b] => match (decimal_of(a), decimal_of(b)) {
                (Some(a), Some(b)) => Ok(vec![a, b]),
                _ => Err(coded(
                    code::UNDEFINED_FUNCTION,
                    format!("operator does not exist: {a} / {b}"),
                )),
            },
            _ => Err(coded(
                code::UNDEFINED_FUNCTION,
                "division takes two operands",
            )),
        },
        |args| {
            let s = QUOTIENT_SCALE.max(scale(&args[0])).max(scale(&args[1]));
            Ok(DataType::Decimal128(38, s))
        },
        divide,
    )
}

fn divide(args: &[ArrayRef], t: &DataType) -> Result<ArrayRef> {
    let DataType::Decimal128(_, out_scale) = t else {
        return datafusion::common::internal_err!("a numeric quotient is a decimal, not {t}");
    };
    let (sa, sb) = (scale(args[0].data_type()), scale(args[1].data_type()));
    let a = args[0].as_primitive::<Decimal128Type>();
    let b = args[1].as_primitive::<Decimal128Type>();
    // a / 10^sa ÷ b / 10^sb, with out_scale decimals and one more to round.
    let shift = (*out_scale as i32 - sa as i32 + sb as i32 + 1) as u32;
    let factor = i256::from_i128(10)
        .checked_pow(shift)
        .ok_or_else(overflow)?;
    let ten = i256::from_i128(10);
    let limit = i256::from_i128(10).checked_pow(38).ok_or_else(overflow)?;
    let out = (0..a.len())
        .map(|i| {
            if a.is_null(i) || b.is_null(i) {
                return Ok(None);
            }
            let (x, y) = (a.value(i), b.value(i));
            if y == 0 {
                return Err(coded(code::DIVISION_BY_ZERO, "division by zero"));
            }
            let scaled = i256::from_i128(x)
                .checked_mul(factor)
                .ok_or_else(overflow)?;
            let q = scaled
                .checked_div(i256::from_i128(y))
                .ok_or_else(overflow)?;
            let last = q.wrapping_rem(ten);
            let mut q = q.wrapping_div(ten);
            if last.wrapping_abs() >= i256::from_i128(5) {
                q = q.wrapping_add(last.signum());
            }
            if q.wrapping_abs() >= limit {
                return Err(overflow());
            }
            Ok(q.to_i128())
        })
        .collect::<Result<Decimal128Array>>()?;
    Ok(Arc::new(out.with_precision_and_scale(38, *out_scale)?))
}

fn overflow() -> datafusion::error::DataFusionError {
    coded(code::NUMERIC_VALUE_OUT_OF_RANGE, "numeric field overflow")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn quotient(a: i128, sa: i8, b: i128, sb: i8) -> String {
        let a: ArrayRef = Arc::new(
            Decimal128Array::from(vec![a])
                .with_precision_and_scale(38, sa)
                .unwrap(),
        );
        let b: ArrayRef = Arc::new(
            Decimal128Array::from(vec![b])
                .with_precision_and_scale(38, sb)
                .unwrap(),
        );
        let out = divide(&[a, b], &DataType::Decimal128(38, QUOTIENT_SCALE)).unwrap();
        datafusion::arrow::util::display::array_value_to_string(&out, 0).unwrap()
    }

    #[test]
    fn quotients_have_twenty_decimals_rounded_half_away_from_zero() {
        assert_eq!(quotient(10, 1, 3, 0), "0.33333333333333333333");
        assert_eq!(quotient(2, 0, 3, 0), "0.66666666666666666667");
        assert_eq!(quotient(-2, 0, 3, 0), "-0.66666666666666666667");
        assert_eq!(quotient(70, 1, 2, 0), "3.50000000000000000000");
        assert_eq!(quotient(1, 0, 8, 0), "0.12500000000000000000");
    }
}
