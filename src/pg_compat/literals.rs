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

use std::collections::BTreeMap;
use std::sync::Arc;

use datafusion::arrow::datatypes::DataType;
use datafusion::common::config::ConfigOptions;
use datafusion::common::metadata::{FieldMetadata, ScalarAndMetadata};
use datafusion::common::tree_node::{Transformed, TreeNode, TreeNodeRecursion};
use datafusion::common::{DFSchema, Result, ScalarValue};
use datafusion::logical_expr::expr_rewriter::NamePreserver;
use datafusion::logical_expr::{Expr, LogicalPlan, Union, Values};
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
    "pg_typeof",
    "array_concat",
    "array_append",
    "array_prepend",
    "array_remove",
    "array_remove_all",
    "array_replace",
    "array_replace_all",
    "array_element",
    "array_slice",
    "trim_array",
    "array_fill",
    "generate_series",
    "range",
    // (Its answer depends on the argument's width: `to_hex(-1)`.)
    "to_hex",
    "mod",
    "pg_sum_arg",
    "pg_avg_arg",
];

/// Aggregates whose argument is a value of its own (`sum(1)` sums
/// `integer`s, a `bigint` sum).
const VALUE_AGGREGATES: &[&str] = &["sum", "avg", "min", "max"];

/// The literal metadata key that marks a value bound to a parameter (`$1`):
/// it was described with its own type and keeps it.
const BOUND_PARAMETER: &str = "oko.bound_parameter";

/// A parameter's value, marked so this rule leaves its type alone.
pub fn bound_parameter(value: ScalarAndMetadata) -> ScalarAndMetadata {
    let (value, metadata) = value.into_inner();
    let mut metadata = metadata.unwrap_or_default();
    metadata.extend(FieldMetadata::new(BTreeMap::from([(
        BOUND_PARAMETER.to_string(),
        "true".to_string(),
    )])));
    ScalarAndMetadata::new(value, Some(metadata))
}

/// A constant written in the statement (not a bound parameter).
fn written(meta: &Option<FieldMetadata>) -> bool {
    meta.as_ref()
        .is_none_or(|m| !m.inner().contains_key(BOUND_PARAMETER))
}

/// The analyzer rule; see the module documentation.
#[derive(Debug, Default)]
pub struct IntegerLiterals;

impl AnalyzerRule for IntegerLiterals {
    fn analyze(&self, plan: LogicalPlan, _: &ConfigOptions) -> Result<LogicalPlan> {
        // Once a constant is retyped, every node above it (and, simpler,
        // every node visited after it) recomputes its schema from its
        // inputs, so the plan's declared types stay its real ones.
        // The recursive term of `WITH RECURSIVE` was planned against the
        // anchor's types, which must not change under it: such a statement
        // keeps DataFusion's `bigint` constants.
        if plan.exists(|n| Ok(matches!(n, LogicalPlan::RecursiveQuery(_))))? {
            return Ok(plan);
        }
        let mut retyped = false;
        plan.transform_up_with_subqueries(|node| {
            if let LogicalPlan::Values(values) = node {
                let out = retype_values(values)?;
                retyped |= out.transformed;
                return Ok(out);
            }
            if matches!(
                node,
                LogicalPlan::Limit(_) | LogicalPlan::TableScan(_) | LogicalPlan::Statement(_)
            ) {
                return Ok(Transformed::no(node));
            }
            let names = NamePreserver::new(&node);
            let changed = node.map_expressions(|e| {
                // Naming an expression formats it whole: only for one
                // that has a constant to retype.
                if !retypable(&e)? {
                    return Ok(Transformed::no(e));
                }
                let name = names.save(&e);
                let e = retype(e)?;
                Ok(if e.transformed {
                    e.update_data(|e| name.restore(e))
                } else {
                    e
                })
            })?;
            retyped |= changed.transformed;
            if retyped {
                let transformed = changed.transformed;
                let changed = changed.transform_data(outer_references_retyped)?;
                let node = match changed.data {
                    LogicalPlan::Union(union) => union_of_input_types(union),
                    other => super::result_types::recomputed(other),
                };
                Ok(Transformed::new_transformed(node, transformed))
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

/// `node` with the outer references of its subqueries typed as the
/// columns they read now are: a subquery planned against an input whose
/// constants this rule retyped (`(VALUES (1)) t(x) … WHERE t.x = u.a`)
/// would compare the old type with the new one.
fn outer_references_retyped(node: LogicalPlan) -> Result<Transformed<LogicalPlan>> {
    let mut schema = DFSchema::empty();
    for input in node.inputs() {
        schema.merge(input.schema());
    }
    node.map_subqueries(|subquery| {
        subquery.transform_down_with_subqueries(|n| {
            n.map_expressions(|e| {
                e.transform(|e| match e {
                    Expr::OuterReferenceColumn(field, column) => {
                        match schema.qualified_field_from_column(&column).map(|(_, f)| f) {
                            Ok(now) if now.data_type() != field.data_type() => {
                                let field = Arc::new(
                                    field
                                        .as_ref()
                                        .clone()
                                        .with_data_type(now.data_type().clone()),
                                );
                                Ok(Transformed::yes(Expr::OuterReferenceColumn(field, column)))
                            }
                            _ => Ok(Transformed::no(Expr::OuterReferenceColumn(field, column))),
                        }
                    }
                    other => Ok(Transformed::no(other)),
                })
            })
        })
    })
}

/// A union typed anew from its inputs (`SELECT 1 UNION SELECT 2` is an
/// `integer` column once its constants are; a union's schema is otherwise
/// kept as planned, and type coercion would cast them back).
fn union_of_input_types(union: Union) -> LogicalPlan {
    match datafusion::optimizer::analyzer::type_coercion::coerce_union_schema(&union.inputs) {
        Ok(schema) if schema.fields().len() == union.schema.fields().len() => {
            LogicalPlan::Union(Union {
                inputs: union.inputs,
                schema: Arc::new(schema),
            })
        }
        _ => LogicalPlan::Union(union),
    }
}

/// `VALUES` whose columns hold only integer constants that fit (and
/// NULLs), or arrays of them, as `integer` (`integer[]`) columns, as
/// PostgreSQL types them; a row already typed so by a cast (`NULL::int[]`,
/// which DataFusion's planning widened to the column's `bigint`) keeps its
/// own type. A column with anything else keeps DataFusion's type.
fn retype_values(values: Values) -> Result<Transformed<LogicalPlan>> {
    let width = values.schema.fields().len();
    let mut columns: Vec<Option<(DataType, Vec<Expr>)>> = vec![];
    for c in 0..width {
        let wanted = match values.schema.field(c).data_type() {
            DataType::Int64 => Some(DataType::Int32),
            DataType::List(item) if item.data_type() == &DataType::Int64 => Some(DataType::List(
                Arc::new(item.as_ref().clone().with_data_type(DataType::Int32)),
            )),
            _ => None,
        };
        let retyped = wanted.and_then(|wanted| {
            let rows = values
                .values
                .iter()
                .map(|row| row.get(c).and_then(|e| as_int4(e, &wanted)))
                .collect::<Option<Vec<_>>>()?;
            Some((wanted, rows))
        });
        columns.push(retyped);
    }
    if columns.iter().all(Option::is_none) {
        return Ok(Transformed::no(LogicalPlan::Values(values)));
    }
    let mut rows = values.values;
    for (c, column) in columns.iter().enumerate() {
        if let Some((_, retyped)) = column {
            for (row, e) in rows.iter_mut().zip(retyped) {
                row[c] = e.clone();
            }
        }
    }
    let fields = values
        .schema
        .iter()
        .zip(&columns)
        .map(|((qualifier, field), column)| {
            let field = match column {
                Some((wanted, _)) => {
                    Arc::new(field.as_ref().clone().with_data_type(wanted.clone()))
                }
                None => field.clone(),
            };
            (qualifier.cloned(), field)
        })
        .collect();
    let schema = DFSchema::new_with_metadata(fields, values.schema.metadata().clone())?;
    Ok(Transformed::yes(LogicalPlan::Values(Values {
        schema: Arc::new(schema),
        values: rows,
    })))
}

/// One `VALUES` entry as a value of `wanted` (`integer` or `integer[]`):
/// a written integer constant that fits, NULL, an array of such constants,
/// or a widening cast of a value of that type already.
fn as_int4(e: &Expr, wanted: &DataType) -> Option<Expr> {
    match e {
        Expr::Literal(ScalarValue::Int64(Some(v)), meta)
            if wanted == &DataType::Int32 && written(meta) =>
        {
            Some(Expr::Literal(
                ScalarValue::Int32(Some(i32::try_from(*v).ok()?)),
                meta.clone(),
            ))
        }
        Expr::Literal(ScalarValue::Int64(None) | ScalarValue::Null, meta) if written(meta) => Some(
            Expr::Literal(ScalarValue::try_from(wanted).ok()?, meta.clone()),
        ),
        Expr::ScalarFunction(f)
            if f.name() == "make_array" && matches!(wanted, DataType::List(_)) =>
        {
            let DataType::List(item) = wanted else {
                return None;
            };
            let args = f
                .args
                .iter()
                .map(|a| as_int4(a, item.data_type()))
                .collect::<Option<Vec<_>>>()?;
            Some(Expr::ScalarFunction(
                datafusion::logical_expr::expr::ScalarFunction::new_udf(f.func.clone(), args),
            ))
        }
        Expr::Cast(cast) => match cast.expr.as_ref() {
            inner @ Expr::Cast(c) if c.field.data_type() == wanted => Some(inner.clone()),
            _ => None,
        },
        _ => None,
    }
}

/// What the walk of [`retype`] does at an expression.
enum Step {
    /// An integer constant written in the statement that fits `integer`.
    Retype(i32),
    /// Not into it: its operands keep their types (a cast's operand has
    /// the cast's type: `1::bigint` stays `bigint`).
    Jump,
    Continue,
}

fn step(e: &Expr) -> Step {
    match e {
        Expr::Literal(ScalarValue::Int64(Some(v)), meta) if written(meta) => {
            match i32::try_from(*v) {
                Ok(v) => Step::Retype(v),
                Err(_) => Step::Continue,
            }
        }
        Expr::ScalarFunction(f) if !VALUE_FUNCTIONS.contains(&f.name()) => Step::Jump,
        Expr::AggregateFunction(f) if VALUE_AGGREGATES.contains(&f.func.name()) => Step::Continue,
        Expr::Cast(_)
        | Expr::TryCast(_)
        | Expr::AggregateFunction(_)
        | Expr::WindowFunction(_)
        | Expr::ScalarSubquery(_)
        | Expr::Exists(_)
        | Expr::InSubquery(_) => Step::Jump,
        _ => Step::Continue,
    }
}

/// Whether [`retype`] would change `expr` (the same walk, read only).
fn retypable(expr: &Expr) -> Result<bool> {
    let mut found = false;
    expr.apply(|e| {
        Ok(match step(e) {
            Step::Retype(_) => {
                found = true;
                TreeNodeRecursion::Stop
            }
            Step::Jump => TreeNodeRecursion::Jump,
            Step::Continue => TreeNodeRecursion::Continue,
        })
    })?;
    Ok(found)
}

/// `expr` with its own integer constants as `integer`.
fn retype(expr: Expr) -> Result<Transformed<Expr>> {
    expr.transform_down(|e| {
        Ok(match (step(&e), e) {
            (Step::Retype(v), Expr::Literal(_, meta)) => Transformed::new(
                Expr::Literal(ScalarValue::Int32(Some(v)), meta),
                true,
                TreeNodeRecursion::Jump,
            ),
            (Step::Jump, e) => Transformed::new(e, false, TreeNodeRecursion::Jump),
            (_, e) => Transformed::no(e),
        })
    })
}
