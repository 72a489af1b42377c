//! `parse_score(text)`: the score in a client's answer — the leading integer
//! of the trimmed text.
//!
//! `'5'` → 5, `'7'` → 7, `'5 спасибо'` → 5, `' 4.'` → 4, `'0'` → 0;
//! `'отлично'`, `''`, `'-3'` and numbers that do not fit 32 bits → NULL.
//! Whether a score is valid (1..5) is the reports' business, not this
//! function's. The loader uses the same rule through [`parse_score`].
//!
//! ```sql
//! SELECT parse_score('5 спасибо');  -- 5
//! ```

use std::sync::Arc;

use datafusion::arrow::array::{Array, AsArray, Int32Array};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::DataType;
use datafusion::common::Result;
use datafusion::logical_expr::{
    ColumnarValue, ScalarFunctionArgs, ScalarUDFImpl, Signature, Volatility,
};

#[derive(Debug, PartialEq, Eq, Hash)]
pub struct ParseScore {
    signature: Signature,
}

impl ParseScore {
    pub fn new() -> Self {
        ParseScore {
            signature: Signature::string(1, Volatility::Immutable),
        }
    }
}

impl Default for ParseScore {
    fn default() -> Self {
        Self::new()
    }
}

impl ScalarUDFImpl for ParseScore {
    fn name(&self) -> &str {
        "parse_score"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        Ok(DataType::Int32)
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let arrays = ColumnarValue::values_to_arrays(&args.args)?;
        let text = cast(&arrays[0], &DataType::Utf8)?;
        let text = text.as_string::<i32>();
        let out: Int32Array = (0..text.len())
            .map(|i| {
                if text.is_null(i) {
                    None
                } else {
                    parse_score(text.value(i))
                }
            })
            .collect();
        Ok(ColumnarValue::Array(Arc::new(out)))
    }
}

/// The leading integer of the trimmed text, if any.
pub fn parse_score(raw: &str) -> Option<i32> {
    let t = raw.trim();
    let end = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    if end == 0 {
        return None;
    }
    t[..end].parse().ok()
}

#[cfg(test)]
mod tests {
    use super::parse_score;

    #[test]
    fn leading_integers() {
        assert_eq!(parse_score("5"), Some(5));
        assert_eq!(parse_score("7"), Some(7));
        assert_eq!(parse_score("5 спасибо"), Some(5));
        assert_eq!(parse_score(" 4."), Some(4));
        assert_eq!(parse_score("0"), Some(0));
        assert_eq!(parse_score("отлично"), None);
        assert_eq!(parse_score(""), None);
        assert_eq!(parse_score("-3"), None);
        assert_eq!(parse_score("99999999999"), None);
    }
}
