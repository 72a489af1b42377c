//! `like_escape(pattern, c)`: a LIKE pattern escaped with `c`, escaped
//! with a backslash instead (DataFusion knows only the backslash).

use std::sync::Arc;

use datafusion::arrow::array::{Array, AsArray, StringBuilder};
use datafusion::arrow::datatypes::DataType;
use datafusion::common::{Result, exec_err};
use datafusion::logical_expr::{
    ColumnarValue, ScalarFunctionArgs, ScalarUDFImpl, Signature, Volatility,
};

use super::{all_scalar, answer};

/// `like_escape(pattern, c)`: a LIKE pattern that escapes with `c`,
/// rewritten to escape with a backslash — the only escape character
/// DataFusion's LIKE knows. [`super::compat`] applies it to patterns that
/// are not literals (a bound parameter).
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct LikeEscape {
    signature: Signature,
}

impl LikeEscape {
    pub fn new() -> LikeEscape {
        LikeEscape {
            signature: Signature::exact(
                vec![DataType::Utf8, DataType::Utf8],
                Volatility::Immutable,
            ),
        }
    }
}

impl Default for LikeEscape {
    fn default() -> Self {
        Self::new()
    }
}

impl ScalarUDFImpl for LikeEscape {
    fn name(&self) -> &str {
        "like_escape"
    }
    fn signature(&self) -> &Signature {
        &self.signature
    }
    fn return_type(&self, _: &[DataType]) -> Result<DataType> {
        Ok(DataType::Utf8)
    }
    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let rows = args.number_rows;
        let scalar = all_scalar(&args.args);
        let patterns = args.args[0].to_array(rows)?;
        let escapes = args.args[1].to_array(rows)?;
        let (patterns, escapes) = (patterns.as_string::<i32>(), escapes.as_string::<i32>());
        let mut out = StringBuilder::new();
        for row in 0..rows {
            if patterns.is_null(row) {
                out.append_null();
                continue;
            }
            let mut esc = if escapes.is_null(row) {
                "".chars()
            } else {
                escapes.value(row).chars()
            };
            let pattern = patterns.value(row);
            match (esc.next(), esc.next()) {
                (Some(c), None) => {
                    out.append_value(crate::pg_compat::compat::with_backslash(pattern, c))
                }
                // ESCAPE '': no escape character at all.
                (None, _) => out.append_value(pattern.replace('\\', "\\\\")),
                _ => return exec_err!("invalid escape string: it must be one character"),
            }
        }
        answer(Arc::new(out.finish()), scalar)
    }
}
