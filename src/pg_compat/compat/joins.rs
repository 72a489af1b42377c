//! A select whose `*` reads a join on common columns (`USING (…)`,
//! `NATURAL`) marked for [`crate::pg_compat::join_columns`]:
//! `WHERE oko_wildcard_join('using' | 'natural') [AND …]`.

use datafusion::sql::sqlparser::ast::{
    BinaryOperator, Expr as SqlExpr, JoinConstraint, JoinOperator, Query, SelectItem, SetExpr,
};

/// Marks `query`'s own select, if its `*` reads such a join.
pub(super) fn wildcard_joins(query: &mut Query) {
    let SetExpr::Select(select) = query.body.as_mut() else {
        return;
    };
    if !select
        .projection
        .iter()
        .any(|i| matches!(i, SelectItem::Wildcard(_)))
    {
        return;
    }
    let mut kind = None;
    for from in &select.from {
        for join in &from.joins {
            let constraint = match &join.join_operator {
                JoinOperator::Join(c)
                | JoinOperator::Inner(c)
                | JoinOperator::Left(c)
                | JoinOperator::LeftOuter(c)
                | JoinOperator::Right(c)
                | JoinOperator::RightOuter(c)
                | JoinOperator::FullOuter(c) => c,
                _ => continue,
            };
            match constraint {
                JoinConstraint::Natural => kind = Some("natural"),
                JoinConstraint::Using(_) => kind = kind.or(Some("using")),
                _ => {}
            }
        }
    }
    // (One join on common columns: with several, the marked order is the
    // first's.)
    let joins: usize = select.from.iter().map(|f| f.joins.len()).sum();
    let (Some(kind), 1) = (kind, joins) else {
        return;
    };
    let Some(mark) = super::parse_expr(&format!(
        "{}('{kind}')",
        crate::pg_compat::join_columns::MARK
    )) else {
        return;
    };
    select.selection = Some(match select.selection.take() {
        None => mark,
        Some(condition) => SqlExpr::BinaryOp {
            left: Box::new(mark),
            op: BinaryOperator::And,
            right: Box::new(SqlExpr::Nested(Box::new(condition))),
        },
    });
}
