//! PostgreSQL's numeric functions that DataFusion lacks or answers
//! differently: `sign`, `mod`, `width_bucket`, `round(double precision)`
//! (to the nearest even, as C's `rint`), `num_nulls`, `num_nonnulls`,
//! `div` (the integer quotient of two `numeric`s, truncated toward zero).

use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, AsArray, Float64Array, Int32Array};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, Float64Type};
use datafusion::common::Result;
use datafusion::logical_expr::type_coercion::binary::comparison_coercion;
use datafusion::logical_expr::{
    ColumnarValue, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature, TypeSignature,
    Volatility,
};

use super::simple::{coercing, function};
use crate::sqlstate::{code, coded};

/// The functions of this module.
pub fn functions() -> Vec<ScalarUDF> {
    vec![
        coercing("sign", Volatility::Immutable, sign_types, sign_type, sign),
        coercing("mod", Volatility::Immutable, mod_types, first_type, modulo),
        coercing(
            "div",
            Volatility::Immutable,
            div_types,
            |_| Ok(DataType::Decimal128(38, 0)),
            integer_quotient,
        ),
        coercing(
            "width_bucket",
            Volatility::Immutable,
            |args| {
                if args.len() != 4 {
                    return Err(coded(
                        code::UNDEFINED_FUNCTION,
                        "width_bucket takes an operand, a low and a high bound and a count",
                    ));
                }
                Ok(vec![
                    DataType::Float64,
                    DataType::Float64,
                    DataType::Float64,
                    DataType::Int32,
                ])
            },
            |_| Ok(DataType::Int32),
            width_bucket,
        ),
        function(
            "num_nulls",
            Signature::variadic_any(Volatility::Immutable),
            |_| Ok(DataType::Int32),
            |args, _| count_nulls(args, true),
        ),
        function(
            "num_nonnulls",
            Signature::variadic_any(Volatility::Immutable),
            |_| Ok(DataType::Int32),
            |args, _| count_nulls(args, false),
        ),
    ]
}

/// `-1`, `0` or `1`: a whole `numeric`, or a `double precision`.
fn sign_type(args: &[DataType]) -> Result<DataType> {
    Ok(match args.first() {
        Some(DataType::Decimal128(..)) => DataType::Decimal128(1, 0),
        _ => DataType::Float64,
    })
}

fn first_type(args: &[DataType]) -> Result<DataType> {
    Ok(args.first().cloned().unwrap_or(DataType::Int32))
}

/// `sign(numeric)` is `numeric`; anything else is read as `double
/// precision`, as PostgreSQL resolves `sign(integer)`.
fn sign_types(args: &[DataType]) -> Result<Vec<DataType>> {
    match args {
        [DataType::Decimal128(p, s)] => Ok(vec![DataType::Decimal128(*p, *s)]),
        [t] if t.is_numeric() || t == &DataType::Null => Ok(vec![DataType::Float64]),
        _ => Err(coded(
            code::UNDEFINED_FUNCTION,
            "function sign takes one number",
        )),
    }
}

fn sign(args: &[ArrayRef], out: &DataType) -> Result<ArrayRef> {
    let floats = cast(&args[0], &DataType::Float64)?;
    let signs: Float64Array = floats
        .as_primitive::<Float64Type>()
        .iter()
        .map(|v| {
            v.map(|v| {
                if v > 0.0 {
                    1.0
                } else if v < 0.0 {
                    -1.0
                } else {
                    0.0
                }
            })
        })
        .collect();
    Ok(cast(&signs, out)?)
}

/// Integers keep the wider integer type; anything else is `numeric`.
/// `div(numeric, numeric)`: both as decimals of one scale.
fn div_types(args: &[DataType]) -> Result<Vec<DataType>> {
    let [a, b] = args else {
        return Err(coded(
            code::UNDEFINED_FUNCTION,
            "function div takes two numbers",
        ));
    };
    let decimal = |t: &DataType| match t {
        DataType::Decimal128(..) => Some(t.clone()),
        DataType::Null => Some(DataType::Decimal128(20, 0)),
        t if t.is_integer() => Some(DataType::Decimal128(20, 0)),
        t if t.is_floating() => Some(DataType::Decimal128(38, 10)),
        _ => None,
    };
    match (decimal(a), decimal(b)) {
        (Some(a), Some(b)) => {
            let common = comparison_coercion(&a, &b).unwrap_or(DataType::Decimal128(38, 10));
            Ok(vec![common.clone(), common])
        }
        _ => Err(coded(
            code::UNDEFINED_FUNCTION,
            format!("function div({a}, {b}) does not exist"),
        )),
    }
}

/// `div(a, b)`: `trunc(a / b)` of decimals of one scale.
fn integer_quotient(args: &[ArrayRef], _: &DataType) -> Result<ArrayRef> {
    use datafusion::arrow::datatypes::Decimal128Type;
    let a = args[0].as_primitive::<Decimal128Type>();
    let b = args[1].as_primitive::<Decimal128Type>();
    let out = a
        .iter()
        .zip(b.iter())
        .map(|(a, b)| match (a, b) {
            (Some(_), Some(0)) => Err(coded(code::DIVISION_BY_ZERO, "division by zero")),
            (Some(a), Some(b)) => Ok(a.checked_div(b)),
            _ => Ok(None),
        })
        .collect::<Result<datafusion::arrow::array::Decimal128Array>>()?;
    Ok(Arc::new(out.with_precision_and_scale(38, 0)?))
}

fn mod_types(args: &[DataType]) -> Result<Vec<DataType>> {
    let [a, b] = args else {
        return Err(coded(
            code::UNDEFINED_FUNCTION,
            "function mod takes two numbers",
        ));
    };
    let int = |t: &DataType| matches!(t, DataType::Int16 | DataType::Int32 | DataType::Int64);
    let common = if int(a) && int(b) {
        comparison_coercion(a, b)
    } else if (a.is_numeric() || a == &DataType::Null) && (b.is_numeric() || b == &DataType::Null) {
        // An integer is a whole `numeric`, a float `numeric` as PostgreSQL
        // casts it (there is no `mod(double precision, …)`).
        let decimal = |t: &DataType| match t {
            DataType::Decimal128(..) => t.clone(),
            DataType::Int8 | DataType::Int16 | DataType::Int32 => DataType::Decimal128(10, 0),
            DataType::Int64 => DataType::Decimal128(20, 0),
            _ => DataType::Decimal128(38, 10),
        };
        comparison_coercion(&decimal(a), &decimal(b))
    } else {
        None
    };
    match common {
        Some(t) => Ok(vec![t.clone(), t]),
        None => Err(coded(
            code::UNDEFINED_FUNCTION,
            format!("function mod({a}, {b}) does not exist"),
        )),
    }
}

fn modulo(args: &[ArrayRef], _: &DataType) -> Result<ArrayRef> {
    Ok(datafusion::arrow::compute::kernels::numeric::rem(
        &args[0], &args[1],
    )?)
}

fn width_bucket(args: &[ArrayRef], _: &DataType) -> Result<ArrayRef> {
    let f = |i: usize| args[i].as_primitive::<Float64Type>();
    let (operand, low, high) = (f(0), f(1), f(2));
    let count = args[3].as_primitive::<datafusion::arrow::datatypes::Int32Type>();
    let mut out = Vec::with_capacity(operand.len());
    for row in 0..operand.len() {
        if operand.is_null(row) || low.is_null(row) || high.is_null(row) || count.is_null(row) {
            out.push(None);
            continue;
        }
        let (x, lo, hi, n) = (
            operand.value(row),
            low.value(row),
            high.value(row),
            count.value(row),
        );
        if n <= 0 {
            return Err(coded(
                code::INVALID_ARGUMENT_FOR_WIDTH_BUCKET,
                "count must be greater than zero",
            ));
        }
        if lo == hi {
            return Err(coded(
                code::INVALID_ARGUMENT_FOR_WIDTH_BUCKET,
                "lower bound cannot equal upper bound",
            ));
        }
        if x.is_nan() || lo.is_nan() || hi.is_nan() {
            return Err(coded(
                code::INVALID_ARGUMENT_FOR_WIDTH_BUCKET,
                "operand, lower bound, and upper bound cannot be NaN",
            ));
        }
        let bucket = if lo < hi {
            if x < lo {
                0
            } else if x >= hi {
                i64::from(n) + 1
            } else {
                ((x - lo) / (hi - lo) * f64::from(n)) as i64 + 1
            }
        } else if x > lo {
            0
        } else if x <= hi {
            i64::from(n) + 1
        } else {
            ((lo - x) / (lo - hi) * f64::from(n)) as i64 + 1
        };
        out.push(Some(i32::try_from(bucket).map_err(|_| {
            coded(code::NUMERIC_VALUE_OUT_OF_RANGE, "integer out of range")
        })?));
    }
    Ok(Arc::new(Int32Array::from(out)))
}

fn count_nulls(args: &[ArrayRef], nulls: bool) -> Result<ArrayRef> {
    let rows = args.first().map_or(1, |a| a.len());
    let counts: Int32Array = (0..rows)
        .map(|row| {
            let null = args
                .iter()
                .filter(|a| a.logical_nulls().is_some_and(|n| n.is_null(row)))
                .count() as i32;
            Some(if nulls {
                null
            } else {
                args.len() as i32 - null
            })
        })
        .collect();
    Ok(Arc::new(counts))
}

/// `round`: PostgreSQL rounds a `double precision` to the nearest even
/// (`round(2.5::float8)` is 2) and a `numeric` half away from zero;
/// DataFusion's `round` rounds both half away. One argument of a float
/// type is rounded here, anything else by DataFusion's function.
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct PgRound {
    inner: Arc<ScalarUDF>,
    signature: Signature,
}

impl PgRound {
    pub fn new() -> Self {
        let inner = datafusion::functions::math::round();
        Self {
            signature: Signature::new(TypeSignature::UserDefined, Volatility::Immutable),
            inner,
        }
    }
}

impl Default for PgRound {
    fn default() -> Self {
        Self::new()
    }
}

fn is_float(t: &DataType) -> bool {
    matches!(t, DataType::Float64 | DataType::Float32)
}

impl ScalarUDFImpl for PgRound {
    fn name(&self) -> &str {
        "round"
    }
    fn signature(&self) -> &Signature {
        &self.signature
    }
    fn coerce_types(&self, args: &[DataType]) -> Result<Vec<DataType>> {
        if let [t] = args
            && is_float(t)
        {
            return Ok(vec![DataType::Float64]);
        }
        let coerced = datafusion::logical_expr::type_coercion::functions::fields_with_udf(
            &args
                .iter()
                .map(|t| {
                    Arc::new(datafusion::arrow::datatypes::Field::new(
                        "a",
                        t.clone(),
                        true,
                    ))
                })
                .collect::<Vec<_>>(),
            self.inner.as_ref(),
        )?;
        Ok(coerced.iter().map(|f| f.data_type().clone()).collect())
    }
    fn return_type(&self, args: &[DataType]) -> Result<DataType> {
        if let [t] = args
            && is_float(t)
        {
            return Ok(DataType::Float64);
        }
        self.inner.return_type(args)
    }
    fn return_field_from_args(
        &self,
        args: datafusion::logical_expr::ReturnFieldArgs,
    ) -> Result<datafusion::arrow::datatypes::FieldRef> {
        if let [f] = args.arg_fields
            && is_float(f.data_type())
        {
            return Ok(Arc::new(datafusion::arrow::datatypes::Field::new(
                self.name(),
                DataType::Float64,
                true,
            )));
        }
        self.inner.return_field_from_args(args)
    }
    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        if let [f] = args.arg_fields.as_slice()
            && is_float(f.data_type())
        {
            let scalar = super::all_scalar(&args.args);
            let array = cast(
                &args.args[0].to_array(args.number_rows)?,
                &DataType::Float64,
            )?;
            let rounded: Float64Array = array
                .as_primitive::<Float64Type>()
                .iter()
                .map(|v| v.map(f64::round_ties_even))
                .collect();
            return super::answer(Arc::new(rounded), scalar);
        }
        self.inner.invoke_with_args(args)
    }
}

/// `ln`, `log`, `log10`: PostgreSQL refuses the logarithm of zero or of a
/// negative number (2201E) where IEEE gives `-Infinity` or `NaN`; the
/// computation is DataFusion's.
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct PgLog {
    inner: Arc<ScalarUDF>,
}

impl PgLog {
    /// The three functions.
    pub fn all() -> Vec<ScalarUDF> {
        use datafusion::functions::math;
        [math::ln(), math::log(), math::log10()]
            .into_iter()
            .map(|inner| ScalarUDF::new_from_impl(PgLog { inner }))
            .collect()
    }
}

impl ScalarUDFImpl for PgLog {
    fn name(&self) -> &str {
        self.inner.name()
    }
    fn aliases(&self) -> &[String] {
        self.inner.aliases()
    }
    fn signature(&self) -> &Signature {
        self.inner.signature()
    }
    fn coerce_types(&self, args: &[DataType]) -> Result<Vec<DataType>> {
        self.inner.coerce_types(args)
    }
    fn return_type(&self, args: &[DataType]) -> Result<DataType> {
        self.inner.return_type(args)
    }
    fn return_field_from_args(
        &self,
        args: datafusion::logical_expr::ReturnFieldArgs,
    ) -> Result<datafusion::arrow::datatypes::FieldRef> {
        self.inner.return_field_from_args(args)
    }
    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        for arg in &args.args {
            let values = cast(&arg.to_array(args.number_rows)?, &DataType::Float64)?;
            for v in values.as_primitive::<Float64Type>().iter().flatten() {
                if v == 0.0 {
                    return Err(coded(
                        code::INVALID_ARGUMENT_FOR_LOG,
                        "cannot take logarithm of zero",
                    ));
                }
                if v < 0.0 {
                    return Err(coded(
                        code::INVALID_ARGUMENT_FOR_LOG,
                        "cannot take logarithm of a negative number",
                    ));
                }
            }
        }
        self.inner.invoke_with_args(args)
    }
}
