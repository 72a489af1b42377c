//! `pg_typeof(x)`: the PostgreSQL type of a value, as a `regtype` (an oid
//! written as the type's SQL name, `timestamp with time zone`).

use std::collections::HashMap;
use std::sync::Arc;

use datafusion::arrow::array::Int32Array;
use datafusion::arrow::datatypes::{DataType, Field, FieldRef};
use datafusion::common::{Result, ScalarValue};
use datafusion::logical_expr::{
    ColumnarValue, ReturnFieldArgs, ScalarFunctionArgs, ScalarUDFImpl, Signature, Volatility,
};

use super::OID_ALIAS;

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
