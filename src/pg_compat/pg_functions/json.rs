//! `json_build_object(k, v, …)` (SQLAlchemy's column reflection).

use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, StringBuilder};
use datafusion::arrow::datatypes::DataType;
use datafusion::common::{Result, ScalarValue, exec_err, plan_err};
use datafusion::logical_expr::{
    ColumnarValue, ScalarFunctionArgs, ScalarUDFImpl, Signature, TypeSignature, Volatility,
};

use super::{all_scalar, answer};

/// `json_build_object(key, value, …)`: a JSON object as text, written the
/// way PostgreSQL writes it (`{"a" : 1, "b" : "x"}`).
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct JsonBuildObject {
    signature: Signature,
}

impl JsonBuildObject {
    pub fn new() -> JsonBuildObject {
        JsonBuildObject {
            signature: Signature::one_of(
                vec![TypeSignature::VariadicAny, TypeSignature::Nullary],
                Volatility::Stable,
            ),
        }
    }
}

impl Default for JsonBuildObject {
    fn default() -> Self {
        Self::new()
    }
}

impl ScalarUDFImpl for JsonBuildObject {
    fn name(&self) -> &str {
        "json_build_object"
    }
    fn signature(&self) -> &Signature {
        &self.signature
    }
    fn return_type(&self, arg_types: &[DataType]) -> Result<DataType> {
        if !arg_types.len().is_multiple_of(2) {
            return plan_err!("json_build_object: argument list must have even number of elements");
        }
        Ok(DataType::Utf8)
    }
    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let rows = args.number_rows;
        let scalar = all_scalar(&args.args);
        let arrays: Vec<ArrayRef> = args
            .args
            .iter()
            .map(|a| a.to_array(rows))
            .collect::<Result<_>>()?;
        let mut out = StringBuilder::new();
        for row in 0..rows {
            let mut text = String::from("{");
            for (i, pair) in arrays.chunks(2).enumerate() {
                let key = ScalarValue::try_from_array(&pair[0], row)?;
                if key.is_null() {
                    return exec_err!("json_build_object: null value not allowed for object key");
                }
                if i > 0 {
                    text.push_str(", ");
                }
                let key = match key {
                    ScalarValue::Utf8(Some(s))
                    | ScalarValue::LargeUtf8(Some(s))
                    | ScalarValue::Utf8View(Some(s)) => s,
                    other => other.to_string(),
                };
                text.push_str(&json_string(&key));
                text.push_str(" : ");
                if let Some(value) = pair.get(1) {
                    text.push_str(&json_value(&ScalarValue::try_from_array(value, row)?)?);
                }
            }
            text.push('}');
            out.append_value(text);
        }
        answer(Arc::new(out.finish()), scalar)
    }
}

pub(super) fn json_string(s: &str) -> String {
    serde_json::Value::String(s.to_string()).to_string()
}

/// A value as JSON: numbers and booleans bare, arrays as arrays, the rest
/// as strings.
pub(super) fn json_value(v: &ScalarValue) -> Result<String> {
    if v.is_null() {
        return Ok("null".into());
    }
    Ok(match v {
        ScalarValue::Boolean(Some(b)) => b.to_string(),
        ScalarValue::Int8(_)
        | ScalarValue::Int16(_)
        | ScalarValue::Int32(_)
        | ScalarValue::Int64(_)
        | ScalarValue::UInt8(_)
        | ScalarValue::UInt16(_)
        | ScalarValue::UInt32(_)
        | ScalarValue::UInt64(_)
        | ScalarValue::Decimal128(..) => v.to_string(),
        ScalarValue::Float32(Some(f)) if f.is_finite() => v.to_string(),
        ScalarValue::Float64(Some(f)) if f.is_finite() => v.to_string(),
        ScalarValue::Utf8(Some(s))
        | ScalarValue::LargeUtf8(Some(s))
        | ScalarValue::Utf8View(Some(s)) => json_string(s),
        ScalarValue::List(list) => {
            let values = list.value(0);
            let items = (0..values.len())
                .map(|i| json_value(&ScalarValue::try_from_array(&values, i)?))
                .collect::<Result<Vec<_>>>()?;
            format!("[{}]", items.join(","))
        }
        other => json_string(&other.to_string()),
    })
}
