//! `pg_typeof(x)`: the PostgreSQL type of a value, as a `regtype` (an oid
//! written as the type's SQL name, `timestamp with time zone`).
//!
//! `oko_typed(x, 'type')`: `x` itself, under a name that says the type it
//! was cast to ([`super::super::compat`] uses it where two calls would
//! otherwise share a name).

use std::collections::HashMap;
use std::sync::Arc;

use datafusion::arrow::array::Int32Array;
use datafusion::arrow::datatypes::{DataType, Field, FieldRef};
use datafusion::common::{Result, ScalarValue};
use datafusion::logical_expr::{
    ColumnarValue, ReturnFieldArgs, ScalarFunctionArgs, ScalarUDFImpl, Signature, Volatility,
};

use super::OID_ALIAS;
use crate::sqlstate::{code, coded};

/// The SQL name PostgreSQL's `format_type` gives a type oid without a
/// modifier, for the types OKO's values can have.
pub fn type_name(oid: u32) -> Option<&'static str> {
    Some(match oid {
        16 => "boolean",
        17 => "bytea",
        18 => "\"char\"",
        19 => "name",
        20 => "bigint",
        21 => "smallint",
        23 => "integer",
        25 => "text",
        26 => "oid",
        114 => "json",
        700 => "real",
        701 => "double precision",
        1043 => "character varying",
        1082 => "date",
        1083 => "time without time zone",
        1114 => "timestamp without time zone",
        1184 => "timestamp with time zone",
        1186 => "interval",
        1700 => "numeric",
        2205 => "regclass",
        2206 => "regtype",
        3802 => "jsonb",
        1000 => "boolean[]",
        1001 => "bytea[]",
        1005 => "smallint[]",
        1007 => "integer[]",
        1009 => "text[]",
        1016 => "bigint[]",
        1021 => "real[]",
        1022 => "double precision[]",
        1028 => "oid[]",
        1015 => "character varying[]",
        1115 => "timestamp without time zone[]",
        1182 => "date[]",
        1185 => "timestamp with time zone[]",
        1187 => "interval[]",
        1231 => "numeric[]",
        705 => "unknown",
        _ => return None,
    })
}

/// `pg_typeof(any)`.
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct PgTypeof {
    signature: Signature,
}

impl PgTypeof {
    pub fn new() -> Self {
        Self {
            signature: Signature::any(1, Volatility::Immutable),
        }
    }
}

impl Default for PgTypeof {
    fn default() -> Self {
        Self::new()
    }
}

/// The oid of the PostgreSQL type a value of `field` is sent as.
fn pg_oid(field: &FieldRef) -> i32 {
    if matches!(field.data_type(), DataType::Null) {
        return 25;
    }
    if let Some(t) = crate::pg_compat::text_types::wire_type(field) {
        return t.oid() as i32;
    }
    datafusion_postgres::arrow_pg::datatypes::field_into_pg_type(field)
        .map(|t| t.oid() as i32)
        .unwrap_or(25)
}

impl ScalarUDFImpl for PgTypeof {
    fn name(&self) -> &str {
        "pg_typeof"
    }
    fn signature(&self) -> &Signature {
        &self.signature
    }
    fn return_type(&self, _: &[DataType]) -> Result<DataType> {
        Ok(DataType::Int32)
    }
    fn return_field_from_args(&self, _: ReturnFieldArgs) -> Result<FieldRef> {
        Ok(Arc::new(
            Field::new(self.name(), DataType::Int32, false).with_metadata(HashMap::from([(
                OID_ALIAS.to_string(),
                "regtype".to_string(),
            )])),
        ))
    }
    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let oid = args.arg_fields.first().map_or(25, pg_oid);
        Ok(match args.args.first() {
            Some(ColumnarValue::Array(a)) => {
                ColumnarValue::Array(Arc::new(Int32Array::from(vec![oid; a.len()])))
            }
            _ => ColumnarValue::Scalar(ScalarValue::Int32(Some(oid))),
        })
    }
}

/// `pg_text(x)`: a timestamp, interval or float as PostgreSQL writes it
/// ([`crate::pg_compat::text_out`]), for `CAST(x AS text)`.
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct PgText {
    signature: Signature,
}

impl PgText {
    pub fn new() -> Self {
        Self {
            signature: Signature::any(1, Volatility::Immutable),
        }
    }
}

impl Default for PgText {
    fn default() -> Self {
        Self::new()
    }
}

impl ScalarUDFImpl for PgText {
    fn name(&self) -> &str {
        "pg_text"
    }
    fn signature(&self) -> &Signature {
        &self.signature
    }
    fn return_type(&self, _: &[DataType]) -> Result<DataType> {
        Ok(DataType::Utf8)
    }
    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let scalar = super::all_scalar(&args.args);
        let Some(value) = args.args.first() else {
            return Err(coded(code::UNDEFINED_FUNCTION, "pg_text takes one value"));
        };
        let array = value.to_array(args.number_rows)?;
        let mut out = datafusion::arrow::array::StringBuilder::new();
        for row in 0..array.len() {
            match crate::pg_compat::text_out::array_value(array.as_ref(), row) {
                Some(Some(text)) => out.append_value(text),
                Some(None) => out.append_null(),
                None => {
                    let v = ScalarValue::try_from_array(&array, row)?;
                    if v.is_null() {
                        out.append_null()
                    } else {
                        out.append_value(v.to_string())
                    }
                }
            }
        }
        super::answer(Arc::new(out.finish()), scalar)
    }
}

/// `pg_round_to_integer(x)`: a fraction rounded as PostgreSQL rounds it to
/// an integer — a `double precision` to the nearest even (`rint`), a
/// `numeric` half away from zero — before the cast to the integer type.
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct RoundToInteger {
    signature: Signature,
}

impl RoundToInteger {
    pub fn new() -> Self {
        Self {
            signature: Signature::any(1, Volatility::Immutable),
        }
    }
}

impl Default for RoundToInteger {
    fn default() -> Self {
        Self::new()
    }
}

impl ScalarUDFImpl for RoundToInteger {
    fn name(&self) -> &str {
        "pg_round_to_integer"
    }
    fn signature(&self) -> &Signature {
        &self.signature
    }
    fn return_type(&self, args: &[DataType]) -> Result<DataType> {
        Ok(match args.first() {
            Some(DataType::Decimal128(p, _)) => DataType::Decimal128(*p, 0),
            _ => DataType::Float64,
        })
    }
    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        use datafusion::arrow::array::{Array, AsArray, Decimal128Array, Float64Array};
        use datafusion::arrow::datatypes::{Decimal128Type, Float64Type};
        let scalar = super::all_scalar(&args.args);
        let Some(value) = args.args.first() else {
            return Err(coded(
                code::UNDEFINED_FUNCTION,
                "pg_round_to_integer takes one value",
            ));
        };
        let array = value.to_array(args.number_rows)?;
        let out: datafusion::arrow::array::ArrayRef = match array.data_type() {
            DataType::Decimal128(p, s) => {
                let d = array.as_primitive::<Decimal128Type>();
                let unit = 10_i128.pow(u32::from(*s as u8));
                let rounded: Decimal128Array = d
                    .iter()
                    .map(|v| {
                        v.map(|v| {
                            let (q, r) = (v / unit, v % unit);
                            if r.abs() * 2 >= unit {
                                q + v.signum()
                            } else {
                                q
                            }
                        })
                    })
                    .collect();
                Arc::new(rounded.with_precision_and_scale(*p, 0)?)
            }
            _ => {
                let f = datafusion::arrow::compute::cast(&array, &DataType::Float64)?;
                let f = f.as_primitive::<Float64Type>();
                let rounded: Float64Array = f.iter().map(|v| v.map(f64::round_ties_even)).collect();
                Arc::new(rounded)
            }
        };
        super::answer(out, scalar)
    }
}

/// `oko_typed(x, 'type')` (see the module documentation).
pub fn oko_typed() -> datafusion::logical_expr::ScalarUDF {
    super::simple::function(
        "oko_typed",
        Signature::any(2, Volatility::Immutable),
        |args| Ok(args[0].clone()),
        |args, _| Ok(args[0].clone()),
    )
}
