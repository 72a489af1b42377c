//! `oid_alias` and `oid_array`: int4 values described as `regclass`,
//! `oid[]`, … on the wire ([`crate::server::encode`]).

use std::sync::Arc;

use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, Field};
use datafusion::common::{Result, ScalarValue};
use datafusion::logical_expr::{
    ColumnarValue, ScalarFunctionArgs, ScalarUDFImpl, Signature, Volatility,
};

use super::{OID_ALIAS, all_scalar, answer};

/// `oid_alias(int4, 'kind')`: the same value, marked as the oid alias
/// `kind` (arrow-pg's `pg.oid_alias`), so the column is described as, say,
/// `regclass` (and a `regclass` is written as its relation's name, see
/// [`crate::server::encode`]).
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct OidAlias {
    signature: Signature,
}

impl OidAlias {
    pub fn new() -> OidAlias {
        OidAlias {
            signature: Signature::any(2, Volatility::Immutable),
        }
    }
}

impl Default for OidAlias {
    fn default() -> Self {
        Self::new()
    }
}

impl ScalarUDFImpl for OidAlias {
    fn name(&self) -> &str {
        "oid_alias"
    }
    fn signature(&self) -> &Signature {
        &self.signature
    }
    fn return_type(&self, _: &[DataType]) -> Result<DataType> {
        Ok(DataType::Int32)
    }
    fn return_field_from_args(
        &self,
        args: datafusion::logical_expr::ReturnFieldArgs,
    ) -> Result<datafusion::arrow::datatypes::FieldRef> {
        let kind = match args.scalar_arguments.get(1) {
            Some(Some(ScalarValue::Utf8(Some(k)))) => k.clone(),
            _ => "oid".to_string(),
        };
        Ok(Arc::new(
            Field::new(self.name(), DataType::Int32, true).with_metadata(
                std::collections::HashMap::from([(OID_ALIAS.to_string(), kind)]),
            ),
        ))
    }
    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        match &args.args[0] {
            ColumnarValue::Scalar(v) => Ok(ColumnarValue::Scalar(v.cast_to(&DataType::Int32)?)),
            ColumnarValue::Array(a) => Ok(ColumnarValue::Array(cast(a, &DataType::Int32)?)),
        }
    }
}

/// `oid_array(int4[], 'kind')`: the same array, its elements marked as the
/// oid alias `kind` (arrow-pg's `pg.oid_alias`), so the column is described
/// as `oid[]` (see [`crate::server::encode`]).
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct OidArray {
    signature: Signature,
}

impl OidArray {
    pub fn new() -> OidArray {
        OidArray {
            signature: Signature::any(2, Volatility::Immutable),
        }
    }

    pub fn list_type(kind: &str) -> DataType {
        DataType::List(Arc::new(
            Field::new_list_field(DataType::Int32, true).with_metadata(
                std::collections::HashMap::from([(OID_ALIAS.to_string(), kind.to_string())]),
            ),
        ))
    }
}

impl Default for OidArray {
    fn default() -> Self {
        Self::new()
    }
}

impl ScalarUDFImpl for OidArray {
    fn name(&self) -> &str {
        "oid_array"
    }
    fn signature(&self) -> &Signature {
        &self.signature
    }
    fn return_type(&self, _: &[DataType]) -> Result<DataType> {
        Ok(Self::list_type("oid"))
    }
    fn return_field_from_args(
        &self,
        args: datafusion::logical_expr::ReturnFieldArgs,
    ) -> Result<datafusion::arrow::datatypes::FieldRef> {
        let kind = match args.scalar_arguments.get(1) {
            Some(Some(ScalarValue::Utf8(Some(k)))) => k.clone(),
            _ => "oid".to_string(),
        };
        Ok(Arc::new(Field::new(
            self.name(),
            Self::list_type(&kind),
            true,
        )))
    }
    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let scalar = all_scalar(&args.args);
        let input = args.args[0].to_array(args.number_rows)?;
        let out = cast(&input, args.return_field.data_type())?;
        answer(out, scalar)
    }
}
