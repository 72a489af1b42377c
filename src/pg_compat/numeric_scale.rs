//! `x::numeric` with the scale PostgreSQL gives the value.
//!
//! A `numeric` without precision keeps each value's own scale in
//! PostgreSQL: `5::numeric` is `5`, `'1.50'::numeric` is `1.50`,
//! `sum(score::numeric)` is `10276`. Arrow's decimals have one scale per
//! column, and DataFusion makes every unconstrained `numeric` a
//! `Decimal128(38, 10)`, so those read `5.0000000000`. This analyzer rule
//! (before type coercion) gives such a cast the scale its operand has where
//! that is one scale for the whole column: an integer's 0, a decimal's own,
//! a constant text's digits after its point. Other operands (floats,
//! columns of text) keep DataFusion's 10.

use std::sync::Arc;

use datafusion::arrow::datatypes::DataType;
use datafusion::common::config::ConfigOptions;
use datafusion::common::tree_node::Transformed;
use datafusion::common::{DFSchema, Result, ScalarValue};
use datafusion::logical_expr::{Cast, Expr, ExprSchemable, LogicalPlan};
use datafusion::optimizer::AnalyzerRule;

/// What DataFusion makes of `numeric` without precision and scale.
const UNCONSTRAINED: DataType = DataType::Decimal128(38, 10);

/// The analyzer rule; see the module documentation.
#[derive(Debug, Default)]
pub struct NumericScale;

impl AnalyzerRule for NumericScale {
    fn analyze(&self, plan: LogicalPlan, _: &ConfigOptions) -> Result<LogicalPlan> {
        super::result_types::rewrite_expressions(plan, scaled)
    }

    fn name(&self) -> &str {
        "oko_numeric_scale"
    }
}

fn scaled(e: Expr, schema: &DFSchema) -> Result<Transformed<Expr>> {
    let Expr::Cast(Cast { expr, field }) = &e else {
        return Ok(Transformed::no(e));
    };
    if field.data_type() != &UNCONSTRAINED {
        return Ok(Transformed::no(e));
    }
    let scale = match expr.as_ref() {
        Expr::Literal(ScalarValue::Utf8(Some(t)) | ScalarValue::Utf8View(Some(t)), _) => {
            text_scale(t)
        }
        operand => match operand.get_type(schema) {
            Ok(t) if t.is_integer() => Some(0),
            Ok(DataType::Decimal128(_, s)) if (0..=38).contains(&s) => Some(s),
            _ => None,
        },
    };
    match scale {
        Some(s) if s != 10 => {
            let field = Arc::new(
                field
                    .as_ref()
                    .clone()
                    .with_data_type(DataType::Decimal128(38, s)),
            );
            Ok(Transformed::yes(Expr::Cast(Cast {
                expr: expr.clone(),
                field,
            })))
        }
        _ => Ok(Transformed::no(e)),
    }
}

/// The digits after the point of a number written as text (`'1.50'` → 2),
/// when it has at most 38 digits; `None` for anything else.
fn text_scale(text: &str) -> Option<i8> {
    let t = text.trim();
    let t = t.strip_prefix(['-', '+']).unwrap_or(t);
    let (whole, fraction) = t.split_once('.').unwrap_or((t, ""));
    let digits = |s: &str| s.chars().all(|c| c.is_ascii_digit());
    if whole.len() + fraction.len() == 0 || !digits(whole) || !digits(fraction) {
        return None;
    }
    (whole.trim_start_matches('0').len() + fraction.len() <= 38)
        .then(|| i8::try_from(fraction.len()).ok())
        .flatten()
}

#[cfg(test)]
mod tests {
    use super::text_scale;

    #[test]
    fn scale_of_written_numbers() {
        assert_eq!(text_scale("1.50"), Some(2));
        assert_eq!(text_scale(" -7 "), Some(0));
        assert_eq!(text_scale("0.000"), Some(3));
        assert_eq!(text_scale("1e3"), None);
        assert_eq!(text_scale("abc"), None);
        assert_eq!(text_scale("."), None);
    }
}
