//! Sets in `FROM` that read the row before them — `FROM leads l, unnest(l.tags)
//! AS t(tag)`, `CROSS JOIN LATERAL unnest(…)`, `LEFT JOIN LATERAL unnest(…)
//! ON true`, `generate_series(1, t.days)` — joined to that row.
//!
//! DataFusion plans such a set as a lateral subquery: a join whose right
//! side is `unnest` over one row that reads the left row through outer
//! references. Its own lateral decorrelation handles filters and aggregates
//! in the subquery, not an `unnest` of an outer value, and the statement
//! fails. [`LateralSets`] plans it as what it means: the left rows, each
//! unnested — the subquery's nodes rebuilt over the left input, carrying
//! its columns through, and the join's output restored with the names and
//! qualifiers the statement was planned with. An inner join drops rows
//! whose array is NULL or empty; a `LEFT JOIN … ON true` keeps them with
//! NULLs, as PostgreSQL does. Other lateral subqueries (with their own
//! tables, `LIMIT`, aggregates) are left to DataFusion.

use std::sync::Arc;

use datafusion::common::config::ConfigOptions;
use datafusion::common::tree_node::{Transformed, TransformedResult, TreeNode};
use datafusion::common::{Column, NullHandling, Result, ScalarValue, UnnestOptions};
use datafusion::logical_expr::{
    Expr, Filter, JoinType, LogicalPlan, LogicalPlanBuilder, Projection, SubqueryAlias,
};
use datafusion::optimizer::AnalyzerRule;

/// Plans lateral sets (see the module's documentation).
#[derive(Debug, Default)]
pub struct LateralSets;

impl AnalyzerRule for LateralSets {
    fn analyze(&self, plan: LogicalPlan, _: &ConfigOptions) -> Result<LogicalPlan> {
        plan.transform_up_with_subqueries(|node| {
            let LogicalPlan::Join(join) = &node else {
                return Ok(Transformed::no(node));
            };
            match unnested_join(join)? {
                Some(plan) => Ok(Transformed::yes(plan)),
                None => Ok(Transformed::no(node)),
            }
        })
        .data()
    }

    fn name(&self) -> &str {
        "oko_lateral_sets"
    }
}

/// The prefix of the left input's columns while they are carried through
/// the rebuilt subquery (positions, not names, find them: they are always
/// its first columns).
const CARRIED: &str = "__oko_lateral_";

/// `join` as the left rows unnested, when its right side is a lateral set;
/// `None` for any other join.
fn unnested_join(join: &datafusion::logical_expr::Join) -> Result<Option<LogicalPlan>> {
    let keeps_empty = match join.join_type {
        JoinType::Inner => false,
        JoinType::Left if is_true(join.filter.as_ref()) => true,
        _ => return Ok(None),
    };
    if !join.on.is_empty() || !is_lateral_set(&join.right) {
        return Ok(None);
    }
    let left = join.left.as_ref();
    let width = left.schema().fields().len();
    let carried = left
        .schema()
        .columns()
        .into_iter()
        .enumerate()
        .map(|(i, c)| Expr::Column(c).alias(format!("{CARRIED}{i}")))
        .collect::<Vec<_>>();
    let carried = LogicalPlan::Projection(Projection::try_new(carried, Arc::new(left.clone()))?);
    let handling = if keeps_empty {
        NullHandling::PreserveAndExpandEmpty
    } else {
        NullHandling::Drop
    };
    let Some(rebuilt) = rebuild(&join.right, &carried, left, width, handling)? else {
        return Ok(None);
    };
    // The join's columns: the left's under their own names, then the set's.
    let out = rebuilt.schema();
    let mut exprs = Vec::with_capacity(out.fields().len());
    for (i, (qualifier, field)) in left.schema().iter().enumerate() {
        let (q, f) = out.qualified_field(i);
        exprs.push(
            Expr::Column(Column::new(q.cloned(), f.name()))
                .alias_qualified(qualifier.cloned(), field.name()),
        );
    }
    for i in width..out.fields().len() {
        let (q, f) = out.qualified_field(i);
        exprs.push(Expr::Column(Column::new(q.cloned(), f.name())));
    }
    let mut plan = LogicalPlan::Projection(Projection::try_new(exprs, Arc::new(rebuilt))?);
    // Only when the rebuilt plan answers with the join's own columns.
    let same = plan
        .schema()
        .iter()
        .zip(join.schema.iter())
        .all(|((q1, f1), (q2, f2))| q1 == q2 && f1.name() == f2.name())
        && plan.schema().fields().len() == join.schema.fields().len();
    if !same {
        return Ok(None);
    }
    if !keeps_empty && let Some(condition) = join.filter.clone() {
        plan = LogicalPlan::Filter(Filter::try_new(condition, Arc::new(plan))?);
    }
    Ok(Some(plan))
}

fn is_true(filter: Option<&Expr>) -> bool {
    matches!(
        filter,
        None | Some(Expr::Literal(ScalarValue::Boolean(Some(true)), _))
    )
}

/// Whether `plan` is a lateral subquery made only of projections, filters,
/// aliases and unnests over one row — a set computed from the outer row.
fn is_lateral_set(plan: &LogicalPlan) -> bool {
    fn set_nodes(plan: &LogicalPlan, unnests: &mut usize) -> bool {
        match plan {
            LogicalPlan::EmptyRelation(e) => e.produce_one_row,
            LogicalPlan::Unnest(u) => {
                *unnests += 1;
                set_nodes(&u.input, unnests)
            }
            LogicalPlan::Projection(p) => set_nodes(&p.input, unnests),
            LogicalPlan::Filter(f) => set_nodes(&f.input, unnests),
            LogicalPlan::SubqueryAlias(a) => set_nodes(&a.input, unnests),
            _ => false,
        }
    }
    let mut node = plan;
    if let LogicalPlan::SubqueryAlias(a) = node {
        node = &a.input;
    }
    let LogicalPlan::Subquery(subquery) = node else {
        return false;
    };
    let mut unnests = 0;
    set_nodes(&subquery.subquery, &mut unnests) && unnests > 0
}

/// `plan` (a lateral set's nodes) over `carried` instead of its one row:
/// every projection keeps the `width` carried columns first and reads the
/// outer row's columns from them; every unnest handles empty arrays as
/// `handling` says.
fn rebuild(
    plan: &LogicalPlan,
    carried: &LogicalPlan,
    left: &LogicalPlan,
    width: usize,
    handling: NullHandling,
) -> Result<Option<LogicalPlan>> {
    let input = |p: &LogicalPlan| rebuild(p, carried, left, width, handling);
    Ok(Some(match plan {
        LogicalPlan::EmptyRelation(_) => carried.clone(),
        LogicalPlan::Subquery(s) => return input(&s.subquery),
        LogicalPlan::SubqueryAlias(a) => {
            let Some(inner) = input(&a.input)? else {
                return Ok(None);
            };
            LogicalPlan::SubqueryAlias(SubqueryAlias::try_new(Arc::new(inner), a.alias.clone())?)
        }
        LogicalPlan::Filter(f) => {
            let Some(inner) = input(&f.input)? else {
                return Ok(None);
            };
            let Some(predicate) = read_outer(&f.predicate, &inner, left, width)? else {
                return Ok(None);
            };
            LogicalPlan::Filter(Filter::try_new(predicate, Arc::new(inner))?)
        }
        LogicalPlan::Projection(p) => {
            let Some(inner) = input(&p.input)? else {
                return Ok(None);
            };
            let mut exprs: Vec<Expr> = (0..width)
                .map(|i| Expr::Column(Column::from(inner.schema().qualified_field(i))))
                .collect();
            for (j, e) in p.expr.iter().enumerate() {
                let Some(read) = read_outer(e, &inner, left, width)? else {
                    return Ok(None);
                };
                let (q, f) = p.schema.qualified_field(j);
                exprs.push(
                    if read.schema_name().to_string() == e.schema_name().to_string() {
                        read
                    } else {
                        read.alias_qualified(q.cloned(), f.name())
                    },
                );
            }
            LogicalPlan::Projection(Projection::try_new(exprs, Arc::new(inner))?)
        }
        LogicalPlan::Unnest(u) => {
            let Some(inner) = input(&u.input)? else {
                return Ok(None);
            };
            let options = UnnestOptions {
                null_handling: handling,
                recursions: u.options.recursions.clone(),
            };
            LogicalPlanBuilder::from(inner)
                .unnest_columns_with_options(u.exec_columns.clone(), options)?
                .build()?
        }
        _ => return Ok(None),
    }))
}

/// `expr` with its outer references read from the carried columns of
/// `input` (`None` when one names no column of the left input).
fn read_outer(
    expr: &Expr,
    input: &LogicalPlan,
    left: &LogicalPlan,
    width: usize,
) -> Result<Option<Expr>> {
    let mut missing = false;
    let read = expr
        .clone()
        .transform(|e| match e {
            Expr::OuterReferenceColumn(field, column) => {
                match left.schema().index_of_column(&column) {
                    Ok(i) if i < width => Ok(Transformed::yes(Expr::Column(Column::from(
                        input.schema().qualified_field(i),
                    )))),
                    _ => {
                        missing = true;
                        Ok(Transformed::no(Expr::OuterReferenceColumn(field, column)))
                    }
                }
            }
            other => Ok(Transformed::no(other)),
        })?
        .data;
    Ok((!missing).then_some(read))
}
