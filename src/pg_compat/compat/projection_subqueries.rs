//! Scalar subqueries in a catalog statement's select list, in place of
//! datafusion-pg-catalog's `RemoveSubqueryFromProjection`.
//!
//! That rule makes every correlated subquery of a select list `NULL` — an
//! untyped one, so psql's `\d <table>` collation column (`(SELECT
//! c.collname FROM pg_collation c, pg_type t WHERE c.oid = a.attcollation
//! …)`) was `text` where PostgreSQL says `name`, and its value was `NULL`
//! whatever the catalog held. Here:
//! - a correlated subquery DataFusion can decorrelate stays, to be
//!   aggregated and joined like any other (`super::subqueries`): its value
//!   and type are the subquery's. It can when it reads the outer row only
//!   in its `WHERE`, through `inner = outer` equalities and conditions on
//!   the outer row alone; an outer column equated with an inner value is
//!   read as that value in its other conditions (`a.attcollation <>
//!   t.typcollation` with `c.oid = a.attcollation` is `c.oid <>
//!   t.typcollation`, the same condition on the rows that can match);
//! - any other correlated subquery is still `NULL`, but of the subquery's
//!   type where its value and `FROM` read no outer column: `(SELECT
//!   first_value(v) FROM … WHERE false)`;
//! - an uncorrelated one gets `LIMIT 1`, as with the crate's rule.

use std::collections::HashSet;
use std::ops::ControlFlow;

use datafusion::sql::sqlparser::ast::{
    BinaryOperator, Expr, GroupByExpr, LimitClause, Query, Select, SelectItem, SetExpr, Statement,
    TableFactor, Value, Visit, VisitMut, Visitor, VisitorMut,
};
use datafusion::sql::sqlparser::dialect::PostgreSqlDialect;
use datafusion::sql::sqlparser::parser::Parser;
use datafusion_postgres::datafusion_pg_catalog::sql::rules::SqlStatementRewriteRule;

/// The rule; see the module documentation.
#[derive(Debug)]
pub struct ProjectionSubqueries;

impl SqlStatementRewriteRule for ProjectionSubqueries {
    fn rewrite(&self, mut s: Statement) -> Statement {
        let _ = VisitMut::visit(&mut s, &mut Items);
        s
    }
}

struct Items;

impl VisitorMut for Items {
    type Break = ();

    fn pre_visit_query(&mut self, query: &mut Query) -> ControlFlow<()> {
        if let SetExpr::Select(select) = query.body.as_mut() {
            for item in &mut select.projection {
                if let SelectItem::UnnamedExpr(e) | SelectItem::ExprWithAlias { expr: e, .. } = item
                    && let Expr::Subquery(subquery) = e
                    && let Some(replacement) = item_subquery(subquery)
                {
                    *e = replacement;
                }
            }
        }
        ControlFlow::Continue(())
    }
}

/// What a select list's `(subquery)` becomes; `None` when it stays (the
/// subquery itself may have been changed).
fn item_subquery(query: &mut Query) -> Option<Expr> {
    let inner = inner_names(query);
    if !reads_outside(query, &inner) {
        if query.limit_clause.is_none() && query.fetch.is_none() {
            query.limit_clause = Some(LimitClause::LimitOffset {
                limit: Some(Expr::value(Value::Number("1".into(), false))),
                offset: None,
                limit_by: vec![],
            });
        }
        return None;
    }
    if decorrelated(query, &inner) {
        return None;
    }
    Some(typed_null(query, &inner).unwrap_or(Expr::value(Value::Null)))
}

/// The names the subquery's own relations go by (their aliases, or their
/// names).
fn inner_names(query: &Query) -> HashSet<String> {
    let mut names = HashSet::new();
    let SetExpr::Select(select) = query.body.as_ref() else {
        return names;
    };
    for from in &select.from {
        for factor in std::iter::once(&from.relation).chain(from.joins.iter().map(|j| &j.relation))
        {
            match factor {
                TableFactor::Table { alias: Some(a), .. }
                | TableFactor::Derived { alias: Some(a), .. }
                | TableFactor::Function { alias: Some(a), .. } => {
                    names.insert(a.name.value.clone());
                }
                TableFactor::Table { name, .. } => {
                    if let Some(last) = name.0.last() {
                        names.insert(last.to_string().trim_matches('"').to_string());
                    }
                }
                _ => {}
            }
        }
    }
    names
}

/// What a piece of the subquery reads: columns of another relation than
/// its own (the outer row's), of its own, unqualified ones, parameters and
/// nested subqueries.
#[derive(Default)]
struct Reads {
    outer: bool,
    inner: bool,
    unqualified: bool,
    parameter: bool,
    subquery: bool,
}

fn reads<V: Visit>(node: &V, inner: &HashSet<String>) -> Reads {
    struct Finder<'a>(&'a HashSet<String>, Reads);
    impl Visitor for Finder<'_> {
        type Break = ();
        fn pre_visit_expr(&mut self, e: &Expr) -> ControlFlow<()> {
            match e {
                Expr::CompoundIdentifier(parts) if parts.len() >= 2 => {
                    if self.0.contains(&parts[parts.len() - 2].value) {
                        self.1.inner = true;
                    } else {
                        self.1.outer = true;
                    }
                }
                Expr::Identifier(_) => self.1.unqualified = true,
                Expr::Value(v) if matches!(v.value, Value::Placeholder(_)) => {
                    self.1.parameter = true
                }
                Expr::Subquery(_) | Expr::Exists { .. } | Expr::InSubquery { .. } => {
                    self.1.subquery = true
                }
                _ => {}
            }
            ControlFlow::Continue(())
        }
    }
    let mut finder = Finder(inner, Reads::default());
    let _ = node.visit(&mut finder);
    finder.1
}

/// Whether the subquery reads anything outside itself (as the crate's rule
/// judges it: a column of another relation, or a parameter).
fn reads_outside(query: &Query, inner: &HashSet<String>) -> bool {
    let r = reads(query, inner);
    r.outer || r.parameter
}

/// The select of a plain subquery of one value: no `WITH`, `ORDER BY`,
/// `LIMIT`, grouping or `DISTINCT`.
fn plain_select(query: &mut Query) -> Option<&mut Select> {
    if query.with.is_some()
        || query.order_by.is_some()
        || query.limit_clause.is_some()
        || query.fetch.is_some()
    {
        return None;
    }
    let SetExpr::Select(select) = query.body.as_mut() else {
        return None;
    };
    let plain = select.projection.len() == 1
        && matches!(
            select.projection[0],
            SelectItem::UnnamedExpr(_) | SelectItem::ExprWithAlias { .. }
        )
        && select.distinct.is_none()
        && select.having.is_none()
        && matches!(&select.group_by, GroupByExpr::Expressions(e, _) if e.is_empty());
    plain.then_some(select)
}

/// Whether the subquery is one DataFusion decorrelates (see the module
/// documentation); its `WHERE` may be rewritten on the way.
fn decorrelated(query: &mut Query, inner: &HashSet<String>) -> bool {
    let Some(select) = plain_select(query) else {
        return false;
    };
    // Everything but the WHERE reads only the subquery's own relations.
    let value = reads(&select.projection, inner);
    let from = reads(&select.from, inner);
    if [&value, &from]
        .iter()
        .any(|r| r.outer || r.unqualified || r.parameter || r.subquery)
    {
        return false;
    }
    let Some(selection) = &select.selection else {
        return false;
    };
    let mut conditions = Vec::new();
    conjuncts(selection, &mut conditions);
    // The outer columns equated with an inner value.
    let mut equated: Vec<(Expr, Expr)> = Vec::new();
    for c in &conditions {
        let r = reads(c, inner);
        if r.unqualified || r.parameter || r.subquery {
            return false;
        }
        if let Expr::BinaryOp {
            left,
            op: BinaryOperator::Eq,
            right,
        } = c
        {
            for (o, i) in [(left, right), (right, left)] {
                let (ro, ri) = (reads(o.as_ref(), inner), reads(i.as_ref(), inner));
                if matches!(o.as_ref(), Expr::CompoundIdentifier(_))
                    && ro.outer
                    && !ri.outer
                    && ri.inner
                {
                    equated.push((o.as_ref().clone(), i.as_ref().clone()));
                }
            }
        }
    }
    let mut rewritten = Vec::with_capacity(conditions.len());
    for c in conditions {
        let r = reads(&c, inner);
        let is_equality = equated.iter().any(|(o, i)| {
            matches!(&c, Expr::BinaryOp { left, op: BinaryOperator::Eq, right }
                if (left.as_ref() == o && right.as_ref() == i)
                    || (left.as_ref() == i && right.as_ref() == o))
        });
        // Conditions on one side only, and the equalities, stay as they are.
        if !(r.outer && r.inner) || is_equality {
            rewritten.push(c);
            continue;
        }
        let mut c = c;
        let _ = VisitMut::visit(&mut c, &mut Substitute(&equated));
        if reads(&c, inner).outer {
            return false;
        }
        rewritten.push(c);
    }
    select.selection = rewritten.into_iter().reduce(|a, b| Expr::BinaryOp {
        left: Box::new(a),
        op: BinaryOperator::And,
        right: Box::new(b),
    });
    true
}

/// The conditions `e` is the conjunction of.
fn conjuncts(e: &Expr, out: &mut Vec<Expr>) {
    match e {
        Expr::BinaryOp {
            left,
            op: BinaryOperator::And,
            right,
        } => {
            conjuncts(left, out);
            conjuncts(right, out);
        }
        Expr::Nested(inner)
            if matches!(
                inner.as_ref(),
                Expr::BinaryOp {
                    op: BinaryOperator::And,
                    ..
                }
            ) =>
        {
            conjuncts(inner, out)
        }
        e => out.push(e.clone()),
    }
}

/// Replaces each outer column with the inner value it is equated with.
struct Substitute<'a>(&'a [(Expr, Expr)]);

impl VisitorMut for Substitute<'_> {
    type Break = ();

    fn post_visit_expr(&mut self, e: &mut Expr) -> ControlFlow<()> {
        if let Some((_, inner)) = self.0.iter().find(|(outer, _)| outer == e) {
            *e = Expr::Nested(Box::new(inner.clone()));
        }
        ControlFlow::Continue(())
    }
}

/// `(SELECT first_value(v) FROM … WHERE false)`: no value, of the
/// subquery's type (an aggregate's answer over no rows, which may be NULL
/// whatever `v`'s column allows), when its value and relations read only
/// the subquery's own columns and its value aggregates nothing.
fn typed_null(query: &Query, inner: &HashSet<String>) -> Option<Expr> {
    let mut query = query.clone();
    let select = plain_select(&mut query)?;
    let value = reads(&select.projection, inner);
    let from = reads(&select.from, inner);
    if [&value, &from]
        .iter()
        .any(|r| r.outer || r.unqualified || r.parameter || r.subquery)
    {
        return None;
    }
    let (SelectItem::UnnamedExpr(value) | SelectItem::ExprWithAlias { expr: value, .. }) =
        &mut select.projection[0]
    else {
        return None;
    };
    let mut aggregates = false;
    let _ = Visit::visit(value, &mut FunctionNames(&mut aggregates));
    if aggregates {
        return None;
    }
    let call = format!("first_value({value})");
    *value = Parser::new(&PostgreSqlDialect {})
        .try_with_sql(&call)
        .and_then(|mut p| p.parse_expr())
        .ok()?;
    select.selection = Some(Expr::value(Value::Boolean(false)));
    Some(Expr::Subquery(Box::new(query)))
}

/// Sets its flag when an expression calls an aggregate function.
struct FunctionNames<'a>(&'a mut bool);

impl Visitor for FunctionNames<'_> {
    type Break = ();

    fn pre_visit_expr(&mut self, e: &Expr) -> ControlFlow<()> {
        if let Expr::Function(f) = e {
            let name = f.name.to_string().to_ascii_lowercase();
            *self.0 |= super::subqueries::AGGREGATES.contains(&name.as_str());
        }
        ControlFlow::Continue(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rewritten(sql: &str) -> String {
        let s = Parser::parse_sql(&PostgreSqlDialect {}, sql)
            .unwrap()
            .remove(0);
        ProjectionSubqueries.rewrite(s).to_string()
    }

    #[test]
    fn correlated_subqueries_stay_where_they_can_be_joined() {
        // psql's `\d <table>` collation: the outer column of `<>` is read
        // as the inner value it equals.
        let out = rewritten(
            "SELECT (SELECT c.collname FROM pg_collation c, pg_type t \
             WHERE c.oid = a.attcollation AND t.oid = a.atttypid \
             AND a.attcollation <> t.typcollation) AS attcollation FROM pg_attribute a",
        );
        assert!(
            out.contains(
                "WHERE c.oid = a.attcollation AND t.oid = a.atttypid \
                 AND (c.oid) <> t.typcollation) AS attcollation"
            ),
            "{out}"
        );
        // A condition on the outer row alone stays.
        let sql = "SELECT (SELECT d.adsrc FROM pg_attrdef d WHERE d.adrelid = a.attrelid \
                   AND a.atthasdef) FROM pg_attribute a";
        assert_eq!(rewritten(sql), sql);
    }

    #[test]
    fn other_correlated_subqueries_are_null_of_their_type() {
        // The outer column in a comparison no equality gives a value for.
        let out = rewritten(
            "SELECT (SELECT c.relname FROM pg_class c WHERE c.oid > a.attrelid) AS r \
             FROM pg_attribute a",
        );
        assert!(
            out.contains("(SELECT first_value(c.relname) FROM pg_class c WHERE false) AS r"),
            "{out}"
        );
        // The value reads the outer row: an untyped NULL, as before.
        let out = rewritten(
            "SELECT (SELECT a.attname || c.relname FROM pg_class c WHERE c.oid > a.attrelid) \
             FROM pg_attribute a",
        );
        assert!(out.starts_with("SELECT NULL FROM"), "{out}");
        let out = rewritten("SELECT (SELECT c.relname FROM pg_class c WHERE c.oid = $1)");
        assert!(out.contains("FROM pg_class c WHERE false)"), "{out}");
        // An aggregate's value: an untyped NULL.
        let out = rewritten(
            "SELECT (SELECT count(*) FROM pg_class c WHERE c.oid > a.attrelid) FROM pg_attribute a",
        );
        assert!(out.starts_with("SELECT NULL FROM"), "{out}");
    }

    #[test]
    fn uncorrelated_subqueries_get_one_row() {
        let out = rewritten("SELECT (SELECT c.relname FROM pg_class c WHERE c.oid = 1259)");
        assert!(out.contains("WHERE c.oid = 1259 LIMIT 1)"), "{out}");
    }
}
