//! Conditions must be booleans, as in PostgreSQL.
//!
//! DataFusion's type coercion casts a `CASE WHEN` condition of another type
//! to a boolean (`CASE WHEN 1 THEN 2 END` answers 2); PostgreSQL refuses it
//! with 42804, `argument of CASE/WHEN must be type boolean, not type
//! integer`. This analyzer rule runs before type coercion and refuses such
//! a condition. (A text constant is PostgreSQL's `unknown`, read as a
//! boolean's text: `CASE WHEN 'true' …` stays.)

use datafusion::common::config::ConfigOptions;
use datafusion::common::tree_node::{TreeNode, TreeNodeRecursion};
use datafusion::common::{DFSchema, Result, ScalarValue};
use datafusion::logical_expr::{Expr, ExprSchemable, LogicalPlan};
use datafusion::optimizer::AnalyzerRule;

use crate::sqlstate::{code, coded};

/// The analyzer rule; see the module documentation.
#[derive(Debug, Default)]
pub struct BooleanConditions;

impl AnalyzerRule for BooleanConditions {
    fn analyze(&self, plan: LogicalPlan, _: &ConfigOptions) -> Result<LogicalPlan> {
        plan.apply_with_subqueries(|node| {
            let mut schema = DFSchema::empty();
            for input in node.inputs() {
                schema.merge(input.schema());
            }
            node.apply_expressions(|e| {
                e.apply(|e| {
                    if let Expr::Case(case) = e
                        && case.expr.is_none()
                    {
                        for (when, _) in &case.when_then_expr {
                            check(when, &schema)?;
                        }
                    }
                    Ok(TreeNodeRecursion::Continue)
                })
            })?;
            Ok(TreeNodeRecursion::Continue)
        })?;
        Ok(plan)
    }

    fn name(&self) -> &str {
        "oko_boolean_conditions"
    }
}

fn check(condition: &Expr, schema: &DFSchema) -> Result<()> {
    if matches!(
        condition,
        Expr::Literal(ScalarValue::Utf8(_) | ScalarValue::Null, _)
    ) {
        return Ok(());
    }
    // (A type not known against these inputs, an outer reference, passes.)
    match condition.get_type(schema) {
        Ok(t) if !(t.is_null() || t == datafusion::arrow::datatypes::DataType::Boolean) => {
            Err(coded(
                code::DATATYPE_MISMATCH,
                format!(
                    "argument of CASE/WHEN must be type boolean, not type {}",
                    datafusion_postgres::arrow_pg::datatypes::into_pg_type(&t)
                        .ok()
                        .and_then(|ty| crate::pg_compat::pg_functions::type_name(ty.oid()))
                        .map_or_else(|| crate::pg_compat::json::pg_type_name(&t), str::to_string)
                ),
            ))
        }
        _ => Ok(()),
    }
}
