//! Integer constants typed as PostgreSQL types them.
//!
//! PostgreSQL reads `1` as an `integer` (int4) when it fits, DataFusion as
//! a `bigint`; so `SELECT 1`, `CASE … THEN 1 ELSE 0 END`, `ARRAY[1, 2]` and
//! `1 + 1` are described (and checked for overflow) as PostgreSQL's. This
//! analyzer rule runs before type coercion and retypes such constants
//! where they stand for a value of their own: in the expressions of a
//! node, including operands of operators, `CASE`, `IN` lists and the
//! functions that return their arguments' type (`coalesce`, arrays, the
//! checked arithmetic of [`super::operators`]). Arguments of other
//! functions (`round(x, 2)`, `lag(x, 1)`, `repeat(s, 3)`) and `LIMIT` keep
//! DataFusion's type, which those functions expect. A retyped expression
//! keeps its name, so the nodes above still find it.

use datafusion::common::config::ConfigOptions;
use datafusion::common::tree_node::{Transformed, TreeNode, TreeNodeRecursion};
use datafusion::common::{Result, ScalarValue};
use datafusion::logical_expr::expr_rewriter::NamePreserver;
use datafusion::logical_expr::{Expr, LogicalPlan};
use datafusion::optimizer::AnalyzerRule;

/// Functions whose arguments are values of the answer's type.
const VALUE_FUNCTIONS: &[&str] = &[
    "make_array",
    "coalesce",
    "nullif",
    "greatest",
    "least",
    "abs",
    "pg_int_add",
    "pg_int_sub",
    "pg_int_mul",
];

/// The analyzer rule; see the module documentation.
#[derive(Debug, Default)]
pub struct IntegerLiterals;

impl AnalyzerRule for IntegerLiterals {
    fn analyze(&self, plan: LogicalPlan, _: &ConfigOptions) -> Result<LogicalPlan> {
        plan.transform_up_with_subqueries(|node| {
            if matches!(
                node,
                LogicalPlan::Limit(_) | LogicalPlan::TableScan(_) | LogicalPlan::Statement(_)
            ) {
                return Ok(Transformed::no(node));
            }
            let names = NamePreserver::new(&node);
            let changed = node.map_expressions(|e| {
                let name = names.save(&e);
                let e = retype(e)?;
                Ok(if e.transformed {
                    e.update_data(|e| name.restore(e))
                } else {
                    e
                })
            })?;
            if changed.transformed {
                changed.map_data(|n| n.recompute_schema())
            } else {
                Ok(changed)
            }
        })
        .map(|t| t.data)
    }

    fn name(&self) -> &str {
        "oko_integer_literals"
    }
}

/// `expr` with its own integer constants as `integer`.
fn retype(expr: Expr) -> Result<Transformed<Expr>> {
    expr.transform_down(|e| match e {
        Expr::Literal(ScalarValue::Int64(Some(v)), meta) if i32::try_from(v).is_ok() => Ok(
            Transformed::new(
                Expr::Literal(ScalarValue::Int32(Some(v as i32)), meta),
                true,
                TreeNodeRecursion::Jump,
            ),
        ),
        Expr::ScalarFunction(ref f) if !VALUE_FUNCTIONS.contains(&f.name()) => {
            Ok(Transformed::new(e, false, TreeNodeRecursion::Jump))
        }
        Expr::AggregateFunction(_)
        | Expr::WindowFunction(_)
        | Expr::ScalarSubquery(_)
        | Expr::Exists(_)
        | Expr::InSubquery(_) => Ok(Transformed::new(e, false, TreeNodeRecursion::Jump)),
        other => Ok(Transformed::no(other)),
    })
}
