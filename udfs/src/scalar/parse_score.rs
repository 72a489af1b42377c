//! `parse_score(text)`: the score in a client's answer — the leading integer
//! of the trimmed text.
//!
//! `'5'` → 5, `'7'` → 7, `'5 спасибо'` → 5, `' 4.'` → 4, `'0'` → 0;
//! `'отлично'`, `''`, `'-3'`, numbers that do not fit 32 bits and NULL →
//! NULL.
//! Whether a score is valid (1..5) is the reports' business, not this
//! function's. The loader uses the same rule through [`parse_score`].
//!
//! ```sql
//! SELECT parse_score('5 спасибо');  -- 5
//! ```

use std::sync::Arc;

use datafusion::arrow::array::{AsArray, Int32Array};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::DataType;
use datafusion::common::{Result, internal_err};
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
        let [text] = arrays.as_slice() else {
            return internal_err!("parse_score got {} arguments", arrays.len());
        };
        let text = cast(text, &DataType::Utf8)?;
        let text = text.as_string::<i32>();
        let out: Int32Array = text.iter().map(|t| t.and_then(parse_score)).collect();
        super::columnar_result(&args.args, Arc::new(out))
    }
}

/// The leading integer of the trimmed text: `None` when the text does not
/// start with an ASCII digit (a sign is not a digit) or the number does not
/// fit an `i32`. The loader uses it to fill `ratings.score`.
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
    use super::*;
    use datafusion::arrow::array::StringArray;
    use datafusion::arrow::datatypes::Field;
    use datafusion::config::ConfigOptions;
    use datafusion::prelude::SessionContext;

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

    #[test]
    fn leading_zeros_and_unicode_spaces() {
        assert_eq!(parse_score("05"), Some(5));
        assert_eq!(parse_score("\u{a0}5\n"), Some(5));
        assert_eq!(parse_score("+5"), None);
        assert_eq!(parse_score("٥"), None, "only ASCII digits");
        assert_eq!(parse_score("2147483647"), Some(i32::MAX));
        assert_eq!(parse_score("2147483648"), None);
    }

    #[test]
    fn invoke_keeps_nulls_and_rows() {
        let text = StringArray::from(vec![Some("5 спасибо"), None, Some("отлично")]);
        let args = ScalarFunctionArgs {
            args: vec![ColumnarValue::Array(Arc::new(text))],
            arg_fields: vec![Arc::new(Field::new("raw", DataType::Utf8, true))],
            number_rows: 3,
            return_field: Arc::new(Field::new("s", DataType::Int32, true)),
            config_options: Arc::new(ConfigOptions::default()),
        };
        let ColumnarValue::Array(out) = ParseScore::new().invoke_with_args(args).unwrap() else {
            panic!("an array in, an array out");
        };
        let out = out.as_primitive::<datafusion::arrow::datatypes::Int32Type>();
        assert_eq!(out.iter().collect::<Vec<_>>(), vec![Some(5), None, None]);
    }

    #[tokio::test]
    async fn sql_over_text_columns() {
        let ctx = SessionContext::new();
        crate::register_all(&ctx);
        let batches = ctx
            .sql(
                "SELECT parse_score(r) AS s FROM (VALUES ('5'), ('7'), (' 4.'), ('0'), \
                 ('-3'), (''), (NULL), ('99999999999')) AS v(r)",
            )
            .await
            .unwrap()
            .collect()
            .await
            .unwrap();
        let s = batches[0]
            .column(0)
            .as_primitive::<datafusion::arrow::datatypes::Int32Type>();
        assert_eq!(
            s.iter().collect::<Vec<_>>(),
            vec![Some(5), Some(7), Some(4), Some(0), None, None, None, None]
        );
        assert_eq!(s.len(), 8);
    }
}
