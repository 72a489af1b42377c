//! `SELECT *` over a join `USING (…)` or a `NATURAL` join, with
//! PostgreSQL's columns: the joined columns first, once, then the left
//! side's others, then the right side's. A joined column of a `LEFT JOIN`
//! is the left side's value, of a `RIGHT JOIN` the right side's, of a
//! `FULL JOIN` the one that is not NULL.
//!
//! DataFusion keeps, of each joined pair, the column whose qualifier sorts
//! first, where it stands: `tenants t LEFT JOIN x a USING (tenant)` showed
//! `a.tenant`, NULL for the rows `a` lacks — a wrong answer. The statement's
//! text ([`super::compat`]) marks such a select with `oko_wildcard_join(kind)`
//! in its `WHERE` (`true`); this analyzer rule removes the mark and puts the
//! wildcard's columns in PostgreSQL's order under the names and qualifiers
//! the plan gave them (so the nodes above still find them).

use std::sync::Arc;

use datafusion::arrow::datatypes::DataType;
use datafusion::common::config::ConfigOptions;
use datafusion::common::tree_node::Transformed;
use datafusion::common::{Column, Result, ScalarValue};
use datafusion::logical_expr::expr::ScalarFunction;
use datafusion::logical_expr::utils::{conjunction, expand_wildcard, split_conjunction};
use datafusion::logical_expr::{
    ColumnarValue, Expr, Filter, JoinType, LogicalPlan, Projection, ScalarFunctionArgs, ScalarUDF,
    ScalarUDFImpl, Signature, Volatility,
};
use datafusion::optimizer::AnalyzerRule;

/// The mark's name.
pub const MARK: &str = "oko_wildcard_join";

/// `oko_wildcard_join('using' | 'natural')`: `true`; marks a select whose
/// `*` reads a join on common columns.
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct WildcardJoinMark {
    signature: Signature,
}

impl WildcardJoinMark {
    pub fn new() -> Self {
        Self {
            signature: Signature::exact(vec![DataType::Utf8], Volatility::Immutable),
        }
    }
}

impl Default for WildcardJoinMark {
    fn default() -> Self {
        Self::new()
    }
}

impl ScalarUDFImpl for WildcardJoinMark {
    fn name(&self) -> &str {
        MARK
    }
    fn signature(&self) -> &Signature {
        &self.signature
    }
    fn return_type(&self, _: &[DataType]) -> Result<DataType> {
        Ok(DataType::Boolean)
    }
    fn invoke_with_args(&self, _: ScalarFunctionArgs) -> Result<ColumnarValue> {
        Ok(ColumnarValue::Scalar(ScalarValue::Boolean(Some(true))))
    }
}

/// The mark as a function, for registering.
pub fn mark() -> ScalarUDF {
    ScalarUDF::new_from_impl(WildcardJoinMark::new())
}

/// The kind a mark names (`Some(true)` for a `NATURAL` join).
fn mark_kind(e: &Expr) -> Option<bool> {
    match e {
        Expr::ScalarFunction(ScalarFunction { func, args }) if func.name() == MARK => {
            match args.as_slice() {
                [Expr::Literal(ScalarValue::Utf8(Some(k)), _)] => Some(k == "natural"),
                _ => Some(false),
            }
        }
        _ => None,
    }
}

/// The analyzer rule; see the module documentation.
#[derive(Debug, Default)]
pub struct JoinColumns;

impl AnalyzerRule for JoinColumns {
    fn analyze(&self, plan: LogicalPlan, _: &ConfigOptions) -> Result<LogicalPlan> {
        plan.transform_down_with_subqueries(|node| {
            let LogicalPlan::Projection(projection) = node else {
                return Ok(Transformed::no(node));
            };
            match reordered(&projection)? {
                Some(plan) => Ok(Transformed::yes(plan)),
                None => Ok(Transformed::no(LogicalPlan::Projection(projection))),
            }
        })
        .map(|t| t.data)
    }

    fn name(&self) -> &str {
        "oko_join_columns"
    }
}

/// `projection` with its mark removed and its wildcard's columns in
/// PostgreSQL's order, if its input (through sorts and limits) is a marked
/// filter.
fn reordered(projection: &Projection) -> Result<Option<LogicalPlan>> {
    // The marked filter, found under the sorts and limits DataFusion may
    // put between.
    let mut path = vec![];
    let mut at = projection.input.as_ref();
    let (filter, natural) = loop {
        match at {
            LogicalPlan::Filter(f) => {
                match split_conjunction(&f.predicate)
                    .into_iter()
                    .find_map(mark_kind)
                {
                    Some(natural) => break (f, natural),
                    None => return Ok(None),
                }
            }
            LogicalPlan::Sort(_) | LogicalPlan::Limit(_) => {
                path.push(at.clone());
                at = at.inputs()[0];
            }
            _ => return Ok(None),
        }
    };
    let rest: Vec<Expr> = split_conjunction(&filter.predicate)
        .into_iter()
        .filter(|e| mark_kind(e).is_none())
        .cloned()
        .collect();
    let below = filter.input.as_ref().clone();
    let unmarked = match conjunction(rest) {
        Some(predicate) => LogicalPlan::Filter(Filter::try_new(predicate, Arc::new(below))?),
        None => below,
    };
    // The nodes between, rebuilt over the unmarked input.
    let mut input = unmarked;
    for node in path.into_iter().rev() {
        input = node.with_new_exprs(node.expressions(), vec![input])?;
    }
    let mut exprs = projection.expr.clone();
    if let Some(order) = postgresql_order(&input, natural)? {
        let expanded = expand_wildcard(input.schema(), &input, None)?;
        if let Some(start) = (0..=exprs.len().saturating_sub(expanded.len()))
            .find(|&s| exprs.get(s..s + expanded.len()) == Some(expanded.as_slice()))
            && order.len() == expanded.len()
        {
            exprs.splice(start..start + expanded.len(), order);
        }
    }
    Ok(Some(LogicalPlan::Projection(Projection::try_new(
        exprs,
        Arc::new(input),
    )?)))
}

/// The columns of `plan`'s join on common columns in PostgreSQL's order,
/// each under the name and qualifier DataFusion's `*` gave it; `None` when
/// `plan` is not such a join (through filters).
fn postgresql_order(plan: &LogicalPlan, natural: bool) -> Result<Option<Vec<Expr>>> {
    let join = match plan {
        LogicalPlan::Filter(f) => return postgresql_order(&f.input, natural),
        LogicalPlan::Join(j) if j.join_constraint == datafusion::common::JoinConstraint::Using => j,
        _ => return Ok(None),
    };
    let kept = expand_wildcard(plan.schema(), plan, None)?;
    let kept: Vec<Column> = kept
        .iter()
        .filter_map(|e| match e {
            Expr::Column(c) => Some(c.clone()),
            _ => None,
        })
        .collect();
    let mut pairs: Vec<(Column, Column)> = vec![];
    for (l, r) in &join.on {
        let (Expr::Column(l), Expr::Column(r)) = (l, r) else {
            return Ok(None);
        };
        pairs.push((l.clone(), r.clone()));
    }
    let left = join.left.schema();
    if natural {
        // A natural join's columns in the left side's order.
        pairs.sort_by_key(|(l, _)| left.index_of_column(l).unwrap_or(usize::MAX));
    }
    let mut out = vec![];
    for (l, r) in &pairs {
        // The name DataFusion's `*` kept for the pair.
        let Some(shown) = kept.iter().find(|c| c == &l || c == &r) else {
            return Ok(None);
        };
        let value = match join.join_type {
            JoinType::Right => Expr::Column(r.clone()),
            JoinType::Full => datafusion::functions::core::expr_fn::coalesce(vec![
                Expr::Column(l.clone()),
                Expr::Column(r.clone()),
            ]),
            _ => Expr::Column(l.clone()),
        };
        out.push(if value == Expr::Column(shown.clone()) {
            value
        } else {
            value.alias_qualified(shown.relation.clone(), &shown.name)
        });
    }
    let joined = |c: &Column| pairs.iter().any(|(l, r)| c == l || c == r);
    for c in join
        .left
        .schema()
        .columns()
        .into_iter()
        .chain(join.right.schema().columns())
    {
        if !joined(&c) && kept.contains(&c) {
            out.push(Expr::Column(c));
        }
    }
    Ok(Some(out))
}
