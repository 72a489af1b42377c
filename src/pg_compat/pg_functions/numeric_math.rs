//! `sqrt`, `exp`, `ln`, `log` and `log10` of a `numeric` as PostgreSQL
//! computes them: exactly, to PostgreSQL's result scale (numeric.c's
//! `numeric_sqrt`, `numeric_exp`, `numeric_ln`, `numeric_log`: at least
//! 16 significant digits, never fewer decimals than the argument), rounded
//! half away from zero. `sqrt(2.0)` is `1.414213562373095`, `ln(2.0)`
//! `0.6931471805599453`, `log(100.0)` `2.0000000000000000`. DataFusion
//! computes them in `double precision`; an integer or float argument still
//! goes there, as PostgreSQL resolves `sqrt(2)` to `double precision` too.
//!
//! PostgreSQL chooses the scale per value, from its magnitude; an Arrow
//! decimal column has one scale, chosen before a row is read. The column's
//! scale is PostgreSQL's for a value with as many whole digits as the
//! argument's decimal type has (a constant's type has exactly its digits:
//! `2.0` is one whole digit), or for a value below 10 when the type says
//! nothing (`numeric` of 38 digits); each value is PostgreSQL's, shown at
//! the column's scale. (`exp` assumes an argument below 2.3, `ln` one not
//! within 0.1 of 1.) The scale can only follow the argument's type, not
//! its value: DataFusion folds a constant call after planning, and the
//! folded value must keep the planned type.
//!
//! Errors as PostgreSQL's: the square root of a negative number is 2201F,
//! the logarithm of zero or of a negative number 2201E, a logarithm to
//! base 1 22012, a result beyond 38 digits 22003. `sqrt` of a negative
//! `double precision` is 2201F as well (DataFusion answers `NaN`).

use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, AsArray, Decimal128Array};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, Decimal128Type, Field, FieldRef, Float64Type};
use datafusion::common::Result;
use datafusion::logical_expr::{
    ColumnarValue, ReturnFieldArgs, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature,
    TypeSignature, Volatility,
};
use datafusion::prelude::SessionContext;
use num_bigint::{BigInt, Sign};

use crate::sqlstate::{code, coded};

/// PostgreSQL's `NUMERIC_MIN_SIG_DIGITS`.
const MIN_SIG_DIGITS: i32 = 16;
/// PostgreSQL's `NUMERIC_MAX_DISPLAY_SCALE`.
const MAX_DISPLAY_SCALE: i32 = 1000;
/// Arrow's largest decimal scale (and precision).
const MAX_SCALE: i32 = 38;
/// Decimals computed beyond the result's, so that rounding it is exact.
const GUARD: u32 = 25;

/// Wraps the session's `sqrt`, `exp`, `ln`, `log` and `log10` (run after
/// they are registered) with their `numeric` forms.
pub fn register(ctx: &SessionContext) {
    let state = ctx.state();
    for (name, op) in [
        ("sqrt", Op::Sqrt),
        ("exp", Op::Exp),
        ("ln", Op::Ln),
        ("log", Op::Log),
        ("log10", Op::Log),
    ] {
        if let Some(inner) = state.scalar_functions().get(name) {
            ctx.register_udf(ScalarUDF::new_from_impl(NumericMath {
                inner: inner.clone(),
                op,
                signature: Signature::new(TypeSignature::UserDefined, Volatility::Immutable),
            }));
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Op {
    Sqrt,
    Exp,
    Ln,
    /// `log(x)` (base 10) or `log(b, x)`.
    Log,
}

/// One of the functions; see the module documentation.
#[derive(Debug, PartialEq, Eq, Hash)]
struct NumericMath {
    inner: Arc<ScalarUDF>,
    op: Op,
    signature: Signature,
}

fn is_decimal(t: &DataType) -> bool {
    matches!(t, DataType::Decimal128(..))
}

/// A `numeric` argument: a decimal, or an integer beside one.
fn numeric_arg(t: &DataType) -> bool {
    is_decimal(t) || t.is_integer() || t == &DataType::Null
}

impl NumericMath {
    /// Whether the call takes the `numeric` form.
    fn numeric(&self, types: &[DataType]) -> bool {
        let arity = match self.op {
            Op::Log => [1, 2].contains(&types.len()),
            _ => types.len() == 1,
        };
        arity && types.iter().any(is_decimal) && types.iter().all(numeric_arg)
    }

    /// The column's scale for arguments of these types.
    fn column_scale(&self, types: &[DataType]) -> i8 {
        let scale = |t: &DataType| match t {
            DataType::Decimal128(_, s) => i32::from(*s).max(0),
            _ => 0,
        };
        let r = match (self.op, types) {
            (Op::Sqrt, [t]) => MIN_SIG_DIGITS - sqrt_weight(typical_weight(t)),
            (Op::Exp, _) => MIN_SIG_DIGITS,
            (Op::Ln, [t]) | (Op::Log, [t]) => MIN_SIG_DIGITS - typical_ln_dweight(t),
            (Op::Log, [b, x]) => MIN_SIG_DIGITS - (typical_ln_dweight(x) - typical_ln_dweight(b)),
            _ => MIN_SIG_DIGITS,
        };
        let r = types.iter().map(scale).fold(r, i32::max);
        r.clamp(0, MAX_SCALE) as i8
    }
}

/// The base-10000 weight PostgreSQL would see for a value of type `t`: a
/// value with the type's whole digits, or one below 10.
fn typical_weight(t: &DataType) -> i32 {
    match t {
        DataType::Decimal128(p, s) if *p < 38 && i32::from(*p) > i32::from(*s) => {
            (i32::from(*p) - i32::from(*s) - 1) / 4
        }
        DataType::Decimal128(p, s) if *p < 38 => -1,
        _ => 0,
    }
}

/// `estimate_ln_dweight` for a value of type `t` (see [`typical_weight`]):
/// the decimal weight of its natural logarithm.
fn typical_ln_dweight(t: &DataType) -> i32 {
    match t {
        DataType::Decimal128(p, s) if *p < 38 && i32::from(*p) > i32::from(*s) => {
            let whole = f64::from(i32::from(*p) - i32::from(*s));
            let ln = (whole - 0.5) * std::f64::consts::LN_10;
            ln.abs().log10() as i32
        }
        _ => 0,
    }
}

/// numeric_sqrt's `sweight` for an argument of base-10000 weight `w`.
fn sqrt_weight(w: i32) -> i32 {
    (w + 1) * 4 / 2 - 1
}

impl ScalarUDFImpl for NumericMath {
    fn name(&self) -> &str {
        self.inner.name()
    }
    fn aliases(&self) -> &[String] {
        self.inner.aliases()
    }
    fn signature(&self) -> &Signature {
        &self.signature
    }
    fn coerce_types(&self, args: &[DataType]) -> Result<Vec<DataType>> {
        if self.numeric(args) {
            // As they are: a constant argument stays a constant.
            return Ok(args.to_vec());
        }
        let fields = args
            .iter()
            .map(|t| Arc::new(Field::new("a", t.clone(), true)))
            .collect::<Vec<_>>();
        let coerced = datafusion::logical_expr::type_coercion::functions::fields_with_udf(
            &fields,
            self.inner.as_ref(),
        )?;
        Ok(coerced.iter().map(|f| f.data_type().clone()).collect())
    }
    fn return_type(&self, args: &[DataType]) -> Result<DataType> {
        if self.numeric(args) {
            return Ok(DataType::Decimal128(38, self.column_scale(args)));
        }
        self.inner.return_type(args)
    }
    fn return_field_from_args(&self, args: ReturnFieldArgs) -> Result<FieldRef> {
        let types: Vec<DataType> = args
            .arg_fields
            .iter()
            .map(|f| f.data_type().clone())
            .collect();
        if self.numeric(&types) {
            return Ok(Arc::new(Field::new(
                self.name(),
                DataType::Decimal128(38, self.column_scale(&types)),
                true,
            )));
        }
        self.inner.return_field_from_args(args)
    }
    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let types: Vec<DataType> = args
            .arg_fields
            .iter()
            .map(|f| f.data_type().clone())
            .collect();
        if !self.numeric(&types) {
            if self.op == Op::Sqrt {
                refuse_negative_float(&args)?;
            }
            if self.op == Op::Log
                && self.inner.name() == "log"
                && types.len() == 1
                && args.return_field.data_type() == &DataType::Float64
            {
                return decimal_logarithm(args, self.inner.as_ref());
            }
            return self.inner.invoke_with_args(args);
        }
        let DataType::Decimal128(_, out) = args.return_field.data_type() else {
            return datafusion::common::internal_err!("a numeric result is a decimal");
        };
        let out = *out;
        let scalar = super::all_scalar(&args.args);
        let rows = args.number_rows;
        let values = args
            .args
            .iter()
            .map(|a| decimals(&a.to_array(rows)?))
            .collect::<Result<Vec<_>>>()?;
        let mut result = Vec::with_capacity(rows);
        for row in 0..rows {
            let row_values: Option<Vec<(BigInt, u32)>> =
                values.iter().map(|v| v[row].clone()).collect();
            let Some(row_values) = row_values else {
                result.push(None);
                continue;
            };
            let value = match (self.op, row_values.as_slice()) {
                (Op::Sqrt, [(m, s)]) => pg_sqrt(m, *s)?,
                (Op::Exp, [(m, s)]) => pg_exp(m, *s)?,
                (Op::Ln, [(m, s)]) => pg_ln(m, *s)?,
                (Op::Log, [(m, s)]) => pg_log(&BigInt::from(10), 0, m, *s)?,
                (Op::Log, [(b, sb), (m, s)]) => pg_log(b, *sb, m, *s)?,
                _ => return datafusion::common::internal_err!("wrong number of arguments"),
            };
            result.push(Some(to_i128(&value, u32::from(out.unsigned_abs()))?));
        }
        let array = Decimal128Array::from(result).with_precision_and_scale(38, out)?;
        super::answer(Arc::new(array), scalar)
    }
}

/// PostgreSQL refuses the square root of a negative `double precision`.
fn refuse_negative_float(args: &ScalarFunctionArgs) -> Result<()> {
    for arg in &args.args {
        let values = cast(&arg.to_array(args.number_rows)?, &DataType::Float64)?;
        if values
            .as_primitive::<Float64Type>()
            .iter()
            .flatten()
            .any(|v| v < 0.0)
        {
            return Err(negative_sqrt());
        }
    }
    Ok(())
}

/// `log(double precision)`: C's `log10`, as PostgreSQL's `dlog10`
/// (DataFusion divides natural logarithms: `log(1000)` is
/// `2.9999999999999996`). `inner` checks the argument first.
fn decimal_logarithm(args: ScalarFunctionArgs, inner: &ScalarUDF) -> Result<ColumnarValue> {
    let scalar = super::all_scalar(&args.args);
    let input = cast(
        &args.args[0].to_array(args.number_rows)?,
        &DataType::Float64,
    )?;
    inner.invoke_with_args(args)?;
    let out: datafusion::arrow::array::Float64Array = input
        .as_primitive::<Float64Type>()
        .iter()
        .map(|v| v.map(f64::log10))
        .collect();
    super::answer(Arc::new(out), scalar)
}

fn negative_sqrt() -> datafusion::common::DataFusionError {
    coded(
        code::INVALID_ARGUMENT_FOR_POWER,
        "cannot take square root of a negative number",
    )
}

/// The values of a decimal or integer array: each as its unscaled digits
/// and scale.
fn decimals(array: &ArrayRef) -> Result<Vec<Option<(BigInt, u32)>>> {
    let (array, scale) = match array.data_type() {
        DataType::Decimal128(_, s) => (array.clone(), u32::from(s.unsigned_abs())),
        _ => (cast(array, &DataType::Decimal128(38, 0))?, 0),
    };
    Ok(array
        .as_primitive::<Decimal128Type>()
        .iter()
        .map(|v| v.map(|v| (BigInt::from(v), scale)))
        .collect())
}

/// A value of PostgreSQL's scale `(m, s)` at the column's scale, as an
/// Arrow decimal.
fn to_i128(value: &(BigInt, u32), scale: u32) -> Result<i128> {
    let m = round_to(&value.0, value.1, scale);
    let limit = pow10(38);
    if magnitude(&m) >= limit {
        return Err(coded(
            code::NUMERIC_VALUE_OUT_OF_RANGE,
            "value overflows numeric format",
        ));
    }
    i128::try_from(&m).map_err(|_| {
        coded(
            code::NUMERIC_VALUE_OUT_OF_RANGE,
            "value overflows numeric format",
        )
    })
}

// ---- exact arithmetic on unscaled integers -------------------------------

/// `10^n`.
pub(super) fn pow10(n: u32) -> BigInt {
    BigInt::from(10u8).pow(n)
}

/// `|m|`.
pub(super) fn magnitude(m: &BigInt) -> BigInt {
    BigInt::from(m.magnitude().clone())
}

/// `m` (of scale `from`) at scale `to`, rounded half away from zero.
pub(super) fn round_to(m: &BigInt, from: u32, to: u32) -> BigInt {
    if to >= from {
        return m * pow10(to - from);
    }
    let d = pow10(from - to);
    let q = m / &d;
    let r = magnitude(&(m % &d));
    if r * 2u8 >= d {
        match m.sign() {
            Sign::Minus => q - 1,
            _ => q + 1,
        }
    } else {
        q
    }
}

/// `a / b` (unscaled, of scales `sa`, `sb`) at scale `to`, rounded half
/// away from zero. `b` is not zero.
pub(super) fn divide(a: &BigInt, sa: u32, b: &BigInt, sb: u32, to: u32) -> BigInt {
    // a/10^sa ÷ b/10^sb = a·10^(to+1+sb-sa) / b, at scale to+1.
    let shift = i64::from(to) + 1 + i64::from(sb) - i64::from(sa);
    let (num, den) = if shift >= 0 {
        (a * pow10(shift as u32), b.clone())
    } else {
        (a.clone(), b * pow10((-shift) as u32))
    };
    round_to(&(num / den), to + 1, to)
}

/// The square root of `m` (scale `s`, not negative) at scale `to`, rounded
/// half away from zero (the truncated root with one more digit decides).
pub(super) fn sqrt_at(m: &BigInt, s: u32, to: u32) -> BigInt {
    // sqrt(m / 10^s) · 10^(to+1) = sqrt(m · 10^(2(to+1) - s)).
    let e = 2 * (i64::from(to) + 1) - i64::from(s);
    let radicand = if e >= 0 {
        m * pow10(e as u32)
    } else {
        m / pow10((-e) as u32)
    };
    round_to(&radicand.sqrt(), to + 1, to)
}

/// PostgreSQL's view of a value: the base-10000 digits of `|m / 10^s|`
/// without leading or trailing zero groups, and the weight of the first.
/// Zero has no digits and weight 0.
pub(super) fn nbase(m: &BigInt, s: u32) -> (i32, Vec<u32>) {
    let digits = m.magnitude().to_string();
    if digits == "0" {
        return (0, Vec::new());
    }
    let s = s as usize;
    let (whole, fraction) = if digits.len() > s {
        let (w, f) = digits.split_at(digits.len() - s);
        (w.to_string(), f.to_string())
    } else {
        (
            String::new(),
            format!("{}{digits}", "0".repeat(s - digits.len())),
        )
    };
    let whole = format!("{}{whole}", "0".repeat((4 - whole.len() % 4) % 4));
    let fraction = format!("{fraction}{}", "0".repeat((4 - fraction.len() % 4) % 4));
    let group = |s: &str| -> Vec<u32> {
        s.as_bytes()
            .chunks(4)
            .map(|c| c.iter().fold(0, |n, d| n * 10 + u32::from(d - b'0')))
            .collect()
    };
    let mut groups = group(&whole);
    let mut weight = groups.len() as i32 - 1;
    groups.extend(group(&fraction));
    let leading = groups.iter().take_while(|g| **g == 0).count();
    groups.drain(..leading);
    weight -= leading as i32;
    while groups.last() == Some(&0) {
        groups.pop();
    }
    (weight, groups)
}

/// numeric.c's `select_div_scale(var1, var2)`; `d1`, `d2` the display
/// scales.
pub(super) fn select_div_scale(a: &BigInt, d1: u32, b: &BigInt, d2: u32) -> u32 {
    let (w1, g1) = nbase(a, d1);
    let (w2, g2) = nbase(b, d2);
    let f1 = g1.first().copied().unwrap_or(0);
    let f2 = g2.first().copied().unwrap_or(0);
    let mut qweight = w1 - w2;
    if f1 <= f2 {
        qweight -= 1;
    }
    let r = (MIN_SIG_DIGITS - qweight * 4)
        .max(d1 as i32)
        .max(d2 as i32)
        .clamp(0, MAX_DISPLAY_SCALE);
    r as u32
}

/// numeric.c's `estimate_ln_dweight`.
fn estimate_ln_dweight(m: &BigInt, s: u32) -> i32 {
    if m.sign() != Sign::Plus {
        return 0;
    }
    let point_nine = BigInt::from(9) * pow10(s) / 10u8;
    let one_point_one = BigInt::from(11) * pow10(s) / 10u8;
    if s >= 1 && *m >= point_nine && *m <= one_point_one {
        let x = m - pow10(s);
        let (w, g) = nbase(&x, s);
        return match g.first() {
            Some(d) => w * 4 + f64::from(*d).log10() as i32,
            None => 0,
        };
    }
    if s == 0 && *m == BigInt::from(1) {
        return 0;
    }
    let (w, g) = nbase(m, s);
    let Some(first) = g.first() else {
        return 0;
    };
    let mut digits = f64::from(*first);
    let mut dweight = w * 4;
    if let Some(second) = g.get(1) {
        digits = digits * 10000.0 + f64::from(*second);
        dweight -= 4;
    }
    let ln = digits.ln() + f64::from(dweight) * std::f64::consts::LN_10;
    ln.abs().log10() as i32
}

fn check_log_argument(m: &BigInt) -> Result<()> {
    match m.sign() {
        Sign::NoSign => Err(coded(
            code::INVALID_ARGUMENT_FOR_LOG,
            "cannot take logarithm of zero",
        )),
        Sign::Minus => Err(coded(
            code::INVALID_ARGUMENT_FOR_LOG,
            "cannot take logarithm of a negative number",
        )),
        Sign::Plus => Ok(()),
    }
}

/// `sqrt(m / 10^s)` at PostgreSQL's scale: `(digits, scale)`.
fn pg_sqrt(m: &BigInt, s: u32) -> Result<(BigInt, u32)> {
    if m.sign() == Sign::Minus {
        return Err(negative_sqrt());
    }
    let (w, _) = nbase(m, s);
    let r = (MIN_SIG_DIGITS - sqrt_weight(w))
        .max(s as i32)
        .clamp(0, MAX_DISPLAY_SCALE) as u32;
    Ok((sqrt_at(m, s, r), r))
}

/// `exp(m / 10^s)` at PostgreSQL's scale.
fn pg_exp(m: &BigInt, s: u32) -> Result<(BigInt, u32)> {
    let x: f64 = format!("{m}e-{s}").parse().unwrap_or(0.0);
    if x > 88.0 {
        // Beyond 38 digits.
        return Err(coded(
            code::NUMERIC_VALUE_OUT_OF_RANGE,
            "value overflows numeric format",
        ));
    }
    let val = (x * std::f64::consts::LOG10_E).clamp(-2000.0, 2000.0);
    let r = (MIN_SIG_DIGITS - val as i32)
        .max(s as i32)
        .clamp(0, MAX_DISPLAY_SCALE) as u32;
    if x < -200.0 {
        // Zero at any scale a column holds.
        return Ok((BigInt::from(0), r));
    }
    // Computed to 60 decimals at most: beyond Arrow's 38 either way.
    let to = r.min(60);
    let whole = (val.max(0.0).ceil() as u32) + 1;
    let w = (to + GUARD + whole).max(s);
    let mut y = m * pow10(w - s);
    let one = pow10(w);
    let small = &one / 100u8;
    let mut halvings = 0;
    while magnitude(&y) > small {
        y /= 2u8;
        halvings += 1;
    }
    // e^y = 1 + y + y²/2! + …
    let mut sum = one.clone();
    let mut term = one.clone();
    let mut i = 1u32;
    loop {
        term = &term * &y / &one / i;
        if term.sign() == Sign::NoSign {
            break;
        }
        sum += &term;
        i += 1;
    }
    for _ in 0..halvings {
        sum = &sum * &sum / &one;
    }
    Ok((round_to(&sum, w, to), to))
}

/// `ln(m / 10^s)` (positive) at scale `w`, unrounded (good to a few units
/// of the last place).
fn ln_fixed(m: &BigInt, s: u32, w: u32) -> BigInt {
    // m / 10^s = a · 10^k with 1 ≤ a < 10.
    let digits = m.magnitude().to_string().len() as i64;
    let k = digits - 1 - i64::from(s);
    let shift = i64::from(w) - (digits - 1);
    let a = if shift >= 0 {
        m * pow10(shift as u32)
    } else {
        m / pow10((-shift) as u32)
    };
    let mut out = ln_reduced(&a, w);
    if k != 0 {
        out += ln_reduced(&(pow10(w) * 10u8), w) * k;
    }
    out
}

/// `ln(a / 10^w)` for a value between 1 and 10: square roots down to
/// within 1% of 1, then `2·atanh((x-1)/(x+1))`.
fn ln_reduced(a: &BigInt, w: u32) -> BigInt {
    let one = pow10(w);
    let near = &one + &one / 100u8;
    let mut x = a.clone();
    let mut roots = 0u32;
    while x > near {
        x = (&x * &one).sqrt();
        roots += 1;
    }
    let z = (&x - &one) * &one / (&x + &one);
    let z2 = &z * &z / &one;
    let mut sum = z.clone();
    let mut power = z;
    let mut i = 3u32;
    loop {
        power = &power * &z2 / &one;
        let term = &power / i;
        if term.sign() == Sign::NoSign {
            break;
        }
        sum += term;
        i += 2;
    }
    sum * 2u8 * BigInt::from(2u8).pow(roots)
}

/// `ln(m / 10^s)` at PostgreSQL's scale.
fn pg_ln(m: &BigInt, s: u32) -> Result<(BigInt, u32)> {
    check_log_argument(m)?;
    let dweight = estimate_ln_dweight(m, s);
    let r = (MIN_SIG_DIGITS - dweight)
        .max(s as i32)
        .clamp(0, MAX_DISPLAY_SCALE) as u32;
    let to = r.min(60);
    let w = to + GUARD + dweight.unsigned_abs();
    Ok((round_to(&ln_fixed(m, s, w), w, to), to))
}

/// `log(b, x)`: `ln(x) / ln(b)` at PostgreSQL's scale (numeric.c's
/// `log_var`).
fn pg_log(b: &BigInt, sb: u32, m: &BigInt, s: u32) -> Result<(BigInt, u32)> {
    check_log_argument(b)?;
    check_log_argument(m)?;
    let db = estimate_ln_dweight(b, sb);
    let dx = estimate_ln_dweight(m, s);
    let r = (MIN_SIG_DIGITS - (dx - db))
        .max(sb as i32)
        .max(s as i32)
        .clamp(0, MAX_DISPLAY_SCALE) as u32;
    let to = r.min(60);
    let w = to + GUARD + db.unsigned_abs() + dx.unsigned_abs();
    let ln_b = ln_fixed(b, sb, w);
    if ln_b.sign() == Sign::NoSign {
        return Err(coded(code::DIVISION_BY_ZERO, "division by zero"));
    }
    let ln_x = ln_fixed(m, s, w);
    Ok((divide(&ln_x, w, &ln_b, w, to), to))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text((m, s): &(BigInt, u32)) -> String {
        crate::server::numeric::Numeric {
            value: i128::try_from(m).unwrap(),
            scale: *s,
        }
        .text()
    }

    fn num(v: &str) -> (BigInt, u32) {
        let s = v.split_once('.').map_or(0, |(_, f)| f.len() as u32);
        (v.replace('.', "").parse().unwrap(), s)
    }

    #[test]
    fn square_roots_have_postgresql_scale() {
        let cases = [
            ("2.0", "1.414213562373095"),
            ("16.00", "4.000000000000000"),
            ("0.0", "0.000000000000000"),
            ("0.0000000001", "0.000010000000000000000"),
            ("123456789012345678901234567890.0", "351364182882014.4"),
        ];
        for (x, want) in cases {
            let (m, s) = num(x);
            assert_eq!(text(&pg_sqrt(&m, s).unwrap()), want, "sqrt({x})");
        }
        let (m, s) = num("-1.0");
        assert!(
            pg_sqrt(&m, s)
                .unwrap_err()
                .to_string()
                .contains("square root")
        );
    }

    #[test]
    fn logarithms_and_exponentials_have_postgresql_digits() {
        let (m, s) = num("2.0");
        assert_eq!(text(&pg_ln(&m, s).unwrap()), "0.6931471805599453");
        let (m, s) = num("1000000.123");
        assert_eq!(text(&pg_ln(&m, s).unwrap()), "13.815510680964267");
        let (m, s) = num("1.0");
        assert_eq!(text(&pg_exp(&m, s).unwrap()), "2.7182818284590452");
        assert_eq!(text(&pg_ln(&m, s).unwrap()), "0.0000000000000000");
        let (m, s) = num("10.5");
        assert_eq!(text(&pg_exp(&m, s).unwrap()), "36315.502674246638");
        let (m, s) = num("0.0");
        assert_eq!(text(&pg_exp(&m, s).unwrap()), "1.0000000000000000");
        let ten = BigInt::from(10);
        for (x, want) in [
            ("100.0", "2.0000000000000000"),
            ("0.001", "-3.0000000000000000"),
            ("1.0", "0.0000000000000000"),
        ] {
            let (m, s) = num(x);
            assert_eq!(text(&pg_log(&ten, 0, &m, s).unwrap()), want, "log({x})");
        }
        let (b, sb) = num("2.0");
        let (m, s) = num("8.0");
        assert_eq!(text(&pg_log(&b, sb, &m, s).unwrap()), "3.0000000000000000");
        let (b, sb) = num("1.0");
        assert!(
            pg_log(&b, sb, &m, s)
                .unwrap_err()
                .to_string()
                .contains("division by zero")
        );
        let (z, sz) = num("0.0");
        assert!(pg_ln(&z, sz).unwrap_err().to_string().contains("zero"));
        let (n, sn) = num("-2.0");
        assert!(pg_ln(&n, sn).unwrap_err().to_string().contains("negative"));
    }

    #[test]
    fn division_scale_is_postgresql_select_div_scale() {
        // 1 / 3: both weight 0, first digits 1 <= 3 → qweight -1 → 20.
        assert_eq!(
            select_div_scale(&BigInt::from(1), 0, &BigInt::from(3), 0),
            20
        );
        assert_eq!(
            select_div_scale(&BigInt::from(7), 0, &BigInt::from(3), 0),
            16
        );
        assert_eq!(
            divide(&BigInt::from(2), 0, &BigInt::from(3), 0, 20).to_string(),
            "66666666666666666667"
        );
    }

    #[test]
    fn column_scale_follows_the_argument_digits() {
        let f = |op, types: &[DataType]| {
            NumericMath {
                inner: datafusion::functions::math::sqrt(),
                op,
                signature: Signature::new(TypeSignature::UserDefined, Volatility::Immutable),
            }
            .column_scale(types)
        };
        assert_eq!(f(Op::Sqrt, &[DataType::Decimal128(2, 1)]), 15);
        assert_eq!(f(Op::Ln, &[DataType::Decimal128(2, 1)]), 16);
        assert_eq!(f(Op::Log, &[DataType::Decimal128(4, 1)]), 16);
        assert_eq!(f(Op::Exp, &[DataType::Decimal128(38, 20)]), 20);
    }
}
