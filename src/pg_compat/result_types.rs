//! Function results typed as PostgreSQL types them, where DataFusion's type
//! differs and the value is the same: ranking window functions are
//! `bigint` (`ntile` `integer`) where DataFusion counts in `UInt64`; `sum`
//! of `real`s is a `real` (DataFusion's is a `double precision`); array
//! sizes and positions (`cardinality`, `array_length`, `array_position`, …)
//! are `integer` (and `array_length` of an empty array NULL); `date_part` is `double precision`; `date ± interval` is
//! a `timestamp`. Clients read a column's type from the description, and a
//! `UInt64` is described as `numeric`.
//!
//! This analyzer rule runs after type coercion. A cast expression keeps its
//! name, and a window node gets a projection above it that casts its
//! ranking columns under their own names, so the nodes above still find
//! them.

use std::sync::Arc;

use datafusion::arrow::datatypes::{DataType, Field, TimeUnit};
use datafusion::common::config::ConfigOptions;
use datafusion::common::tree_node::{Transformed, TreeNode};
use datafusion::common::{Column, DFSchema, Result};
use datafusion::logical_expr::expr::{ScalarFunction, WindowFunction};
use datafusion::logical_expr::expr_rewriter::NamePreserver;
use datafusion::logical_expr::{
    Cast, Expr, ExprSchemable, LogicalPlan, Operator, Projection, WindowFunctionDefinition,
};
use datafusion::optimizer::AnalyzerRule;

use super::text_types;

/// Scalar functions whose answer PostgreSQL types `integer`.
const INTEGER_FUNCTIONS: &[&str] = &[
    "cardinality",
    "array_length",
    "array_position",
    "array_upper",
    "array_lower",
    "array_ndims",
    "regexp_count",
];

/// The analyzer rule; see the module documentation.
#[derive(Debug, Default)]
pub struct PgResultTypes;

impl AnalyzerRule for PgResultTypes {
    fn analyze(&self, plan: LogicalPlan, _: &ConfigOptions) -> Result<LogicalPlan> {
        rewrite_nodes(plan, false, retype, |node| {
            node.transform_data(ranks_as_integers)?
                .transform_data(real_sums)?
                .transform_data(names_marked)
        })
    }

    fn name(&self) -> &str {
        "oko_pg_result_types"
    }
}

/// `plan` (its subqueries too) with every expression of every node rewritten
/// bottom-up by `rewrite`, which is given the node's input schema (the
/// merged schemas of its inputs; empty for `VALUES`). A rewritten
/// expression keeps its name, so the nodes above still find it; once one
/// changed, every node visited after it recomputes its schema from its
/// inputs (the nodes above must see the new types). The skeleton of the
/// expression rules of [`super`] (`numeric_scale`, `whole_rows`).
pub(crate) fn rewrite_expressions(
    plan: LogicalPlan,
    rewrite: impl Fn(Expr, &DFSchema) -> Result<Transformed<Expr>>,
) -> Result<LogicalPlan> {
    rewrite_nodes(plan, true, rewrite, Ok)
}

/// The walk of [`rewrite_expressions`], with `then` applied to each node
/// after its expressions (a change it makes counts as one); `VALUES` nodes
/// are rewritten only when `values` says so (nodes without inputs are
/// otherwise left alone).
fn rewrite_nodes(
    plan: LogicalPlan,
    values: bool,
    rewrite: impl Fn(Expr, &DFSchema) -> Result<Transformed<Expr>>,
    then: impl Fn(Transformed<LogicalPlan>) -> Result<Transformed<LogicalPlan>>,
) -> Result<LogicalPlan> {
    let mut changed = false;
    plan.transform_up_with_subqueries(|node| {
        if node.inputs().is_empty() && !(values && matches!(node, LogicalPlan::Values(_))) {
            return Ok(Transformed::no(node));
        }
        let mut schema = DFSchema::empty();
        for input in node.inputs() {
            schema.merge(input.schema());
        }
        let names = NamePreserver::new(&node);
        let node = node.map_expressions(|e| {
            let name = names.save(&e);
            let e = e.transform_up(|e| rewrite(e, &schema))?;
            Ok(e.update_data(|e| name.restore(e)))
        })?;
        changed |= node.transformed;
        let node = if changed {
            let transformed = node.transformed;
            Transformed::new_transformed(recomputed(node.data), transformed)
        } else {
            node
        };
        let node = then(node)?;
        changed |= node.transformed;
        Ok(node)
    })
    .map(|t| t.data)
}

/// `node` with its schema recomputed from its inputs; a node that cannot
/// recompute its own (an aggregate with grouping sets, whose schema holds
/// the internal grouping id) stays as it is.
pub(crate) fn recomputed(node: LogicalPlan) -> LogicalPlan {
    node.clone().recompute_schema().unwrap_or(node)
}

fn cast(e: Expr, to: DataType) -> Expr {
    Expr::Cast(Cast::new(Box::new(e), to))
}

/// One expression with PostgreSQL's result type.
fn retype(e: Expr, schema: &DFSchema) -> Result<Transformed<Expr>> {
    match &e {
        Expr::ScalarFunction(ScalarFunction { func, .. })
            if INTEGER_FUNCTIONS.contains(&func.name()) =>
        {
            let empty_is_null = func.name() == "array_length";
            match e.get_type(schema) {
                // (`array_length` of an empty array is NULL, not 0.)
                Ok(DataType::UInt64 | DataType::UInt32 | DataType::Int64) if empty_is_null => Ok(
                    Transformed::yes(datafusion::functions::core::expr_fn::nullif(
                        cast(e, DataType::Int32),
                        Expr::Literal(datafusion::common::ScalarValue::Int32(Some(0)), None),
                    )),
                ),
                Ok(DataType::UInt64 | DataType::UInt32 | DataType::Int64) => {
                    Ok(Transformed::yes(cast(e, DataType::Int32)))
                }
                _ => Ok(Transformed::no(e)),
            }
        }
        Expr::ScalarFunction(ScalarFunction { func, .. }) if func.name() == "array_positions" => {
            match e.get_type(schema) {
                Ok(DataType::List(f)) if f.data_type() != &DataType::Int32 => {
                    Ok(Transformed::yes(cast(
                        e,
                        DataType::List(Arc::new(Field::new_list_field(DataType::Int32, true))),
                    )))
                }
                _ => Ok(Transformed::no(e)),
            }
        }
        // A series of `integer`s is `integer` (DataFusion counts in
        // `Int64`; the arguments were `integer` before coercion cast them).
        Expr::ScalarFunction(ScalarFunction { func, args })
            if matches!(func.name(), "generate_series" | "range")
                && !args.is_empty()
                && args.iter().all(|a| {
                    let a = match a {
                        Expr::Cast(c) => c.expr.as_ref(),
                        other => other,
                    };
                    matches!(a.get_type(schema), Ok(DataType::Int32 | DataType::Null))
                }) =>
        {
            match e.get_type(schema) {
                Ok(DataType::List(f)) if f.data_type() == &DataType::Int64 => {
                    Ok(Transformed::yes(cast(
                        e,
                        DataType::List(Arc::new(Field::new_list_field(DataType::Int32, true))),
                    )))
                }
                _ => Ok(Transformed::no(e)),
            }
        }
        Expr::ScalarFunction(ScalarFunction { func, .. }) if func.name() == "date_part" => {
            match e.get_type(schema) {
                Ok(DataType::Float64) | Err(_) => Ok(Transformed::no(e)),
                Ok(_) => Ok(Transformed::yes(cast(e, DataType::Float64))),
            }
        }
        // A comparison of numbers of two types: an operand retyped here
        // (`date_part` of a derived table's column, now `double precision`)
        // meets a value coerced to its old type (`h = 9`, the literal made
        // `integer`). Both sides are cast to the type they compare in, as
        // type coercion would have done.
        Expr::BinaryExpr(b)
            if matches!(
                b.op,
                Operator::Eq
                    | Operator::NotEq
                    | Operator::Lt
                    | Operator::LtEq
                    | Operator::Gt
                    | Operator::GtEq
                    | Operator::IsDistinctFrom
                    | Operator::IsNotDistinctFrom
            ) =>
        {
            let (Ok(left), Ok(right)) = (b.left.get_type(schema), b.right.get_type(schema)) else {
                return Ok(Transformed::no(e));
            };
            if left == right || !left.is_numeric() || !right.is_numeric() {
                return Ok(Transformed::no(e));
            }
            let Some(common) =
                datafusion::logical_expr::type_coercion::binary::comparison_coercion(&left, &right)
            else {
                return Ok(Transformed::no(e));
            };
            let side = |operand: Box<Expr>, from: &DataType| -> Box<Expr> {
                match from == &common {
                    true => operand,
                    false => Box::new(cast(*operand, common.clone())),
                }
            };
            let b = b.clone();
            Ok(Transformed::yes(Expr::BinaryExpr(
                datafusion::logical_expr::BinaryExpr::new(
                    side(b.left, &left),
                    b.op,
                    side(b.right, &right),
                ),
            )))
        }
        // `date + interval`, `date - interval`: a `timestamp`.
        Expr::BinaryExpr(b)
            if matches!(b.op, Operator::Plus | Operator::Minus)
                && matches!(b.left.get_type(schema), Ok(DataType::Date32))
                && matches!(b.right.get_type(schema), Ok(DataType::Interval(_))) =>
        {
            let b = b.clone();
            Ok(Transformed::yes(Expr::BinaryExpr(
                datafusion::logical_expr::BinaryExpr::new(
                    Box::new(cast(
                        *b.left,
                        DataType::Timestamp(TimeUnit::Microsecond, None),
                    )),
                    b.op,
                    b.right,
                ),
            )))
        }
        _ => Ok(Transformed::no(e)),
    }
}

/// The PostgreSQL type of a ranking window function's answer.
fn rank_type(e: &Expr) -> Option<DataType> {
    let e = match e {
        Expr::Alias(a) => a.expr.as_ref(),
        other => other,
    };
    let Expr::WindowFunction(w) = e else {
        return None;
    };
    let WindowFunction { fun, .. } = w.as_ref();
    let WindowFunctionDefinition::WindowUDF(f) = fun else {
        return None;
    };
    match f.name() {
        "row_number" | "rank" | "dense_rank" => Some(DataType::Int64),
        "ntile" => Some(DataType::Int32),
        _ => None,
    }
}

/// A window node with ranking functions, under a projection that casts
/// their `UInt64` columns to PostgreSQL's types.
fn ranks_as_integers(node: LogicalPlan) -> Result<Transformed<LogicalPlan>> {
    let LogicalPlan::Window(window) = &node else {
        return Ok(Transformed::no(node));
    };
    let first = window.input.schema().fields().len();
    let targets: Vec<Option<DataType>> = window.window_expr.iter().map(rank_type).collect();
    let schema = window.schema.clone();
    let needed = targets.iter().enumerate().any(|(i, t)| {
        t.is_some()
            && schema
                .fields()
                .get(first + i)
                .is_some_and(|f| matches!(f.data_type(), DataType::UInt64 | DataType::UInt32))
    });
    if !needed {
        return Ok(Transformed::no(node));
    }
    let exprs: Vec<Expr> = schema
        .iter()
        .enumerate()
        .map(|(i, (qualifier, field))| {
            let column = Expr::Column(Column::from((qualifier, field)));
            let target = i
                .checked_sub(first)
                .and_then(|w| targets.get(w).cloned().flatten())
                .filter(|_| matches!(field.data_type(), DataType::UInt64 | DataType::UInt32));
            match target {
                Some(t) => cast(column, t).alias_qualified(qualifier.cloned(), field.name()),
                None => column,
            }
        })
        .collect();
    Ok(Transformed::yes(LogicalPlan::Projection(
        Projection::try_new(exprs, Arc::new(node))?,
    )))
}

/// An aggregate's `sum` of `real`s as a `real`, as PostgreSQL types it
/// (DataFusion sums `Float32` into a `Float64`): a projection above the
/// aggregate casts those columns back under their own names.
fn real_sums(node: LogicalPlan) -> Result<Transformed<LogicalPlan>> {
    let LogicalPlan::Aggregate(aggregate) = &node else {
        return Ok(Transformed::no(node));
    };
    let input = aggregate.input.schema();
    let real: Vec<bool> = aggregate
        .aggr_expr
        .iter()
        .map(|e| {
            let e = match e {
                Expr::Alias(a) => a.expr.as_ref(),
                e => e,
            };
            // (Type coercion widened the argument: the cast's operand
            // says what was summed.)
            let real = |a: &Expr| match a {
                Expr::Cast(c) => matches!(c.expr.get_type(input), Ok(DataType::Float32)),
                a => matches!(a.get_type(input), Ok(DataType::Float32)),
            };
            matches!(e, Expr::AggregateFunction(f)
                if f.func.name() == "sum" && f.params.args.len() == 1 && real(&f.params.args[0]))
        })
        .collect();
    if !real.contains(&true) {
        return Ok(Transformed::no(node));
    }
    let schema = aggregate.schema.clone();
    // (An aggregate with grouping sets has its internal grouping id after
    // the groups: the aggregates are the last columns.)
    let offset = schema.fields().len() - aggregate.aggr_expr.len();
    let exprs: Vec<Expr> = schema
        .iter()
        .enumerate()
        .map(|(i, (qualifier, field))| {
            let column = Expr::Column(Column::from((qualifier, field)));
            let is_real = i
                .checked_sub(offset)
                .and_then(|a| real.get(a).copied())
                .unwrap_or(false)
                && field.data_type() == &DataType::Float64;
            if is_real {
                cast(column, DataType::Float32).alias_qualified(qualifier.cloned(), field.name())
            } else {
                column
            }
        })
        .collect();
    Ok(Transformed::yes(LogicalPlan::Projection(
        Projection::try_new(exprs, Arc::new(node))?,
    )))
}

/// A projection whose columns call a function PostgreSQL types `name`
/// (`current_user`, `current_database()`, …; [`text_types::NAME_FUNCTIONS`])
/// with those columns marked `name`: a cast to a text field that carries
/// the mark (its name stays the call's).
fn names_marked(node: LogicalPlan) -> Result<Transformed<LogicalPlan>> {
    let LogicalPlan::Projection(projection) = &node else {
        return Ok(Transformed::no(node));
    };
    let is_name_call = |e: &Expr| {
        matches!(e, Expr::ScalarFunction(ScalarFunction { func, .. })
            if text_types::NAME_FUNCTIONS.contains(&func.name()))
    };
    if !projection
        .expr
        .iter()
        .any(|e| is_name_call(e) || matches!(e, Expr::Alias(a) if is_name_call(&a.expr)))
    {
        return Ok(Transformed::no(node));
    }
    let name_field = Arc::new(text_types::marked(
        Field::new("", DataType::Utf8, true),
        "name",
    ));
    let mark = |e: Expr| -> Expr {
        if is_name_call(&e) {
            Expr::Cast(Cast {
                expr: Box::new(e),
                field: name_field.clone(),
            })
        } else {
            e
        }
    };
    let exprs: Vec<Expr> = projection
        .expr
        .iter()
        .cloned()
        .map(|e| match e {
            Expr::Alias(mut a) => {
                a.expr = Box::new(mark(*a.expr));
                Expr::Alias(a)
            }
            e => mark(e),
        })
        .collect();
    Ok(Transformed::yes(LogicalPlan::Projection(
        Projection::try_new(exprs, projection.input.clone())?,
    )))
}
