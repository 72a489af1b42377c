//! Correlated subqueries brought into a form DataFusion can decorrelate
//! (SQLAlchemy's column reflection, `ARRAY(subquery)`, `EXISTS` in a select
//! list).

use std::collections::HashMap;
use std::ops::ControlFlow;

use datafusion::sql::sqlparser::ast::{
    BinaryOperator, Expr as SqlExpr, FunctionArg, FunctionArgExpr, FunctionArguments, GroupByExpr,
    Ident, LambdaFunction, LambdaFunctionParameter, LambdaSyntax, ObjectNamePart,
    OneOrManyWithParens, OrderByKind, Query, Select, SelectItem, SetExpr, Statement, TableFactor,
    VisitMut, VisitorMut,
};
use datafusion::sql::sqlparser::dialect::PostgreSqlDialect;
use datafusion::sql::sqlparser::parser::Parser;

/// Aggregate functions: a subquery selecting one is already aggregated.
pub(super) const AGGREGATES: &[&str] = &[
    "array_agg",
    "avg",
    "bool_and",
    "bool_or",
    "count",
    "every",
    "first_value",
    "json_agg",
    "json_object_agg",
    "last_value",
    "max",
    "min",
    "string_agg",
    "sum",
];

/// `(SELECT v FROM … WHERE <refers to the outer query>)` →
/// `(SELECT first_value(v) FROM …)`; other subqueries stay as they are.
/// Whether the subquery is a correlated one of one value (aggregated now).
pub(super) fn aggregate_correlated_value(query: &mut Query) -> bool {
    if query.with.is_some()
        || query.order_by.is_some()
        || query.limit_clause.is_some()
        || query.fetch.is_some()
    {
        return false;
    }
    let SetExpr::Select(select) = query.body.as_mut() else {
        return false;
    };
    let plain = select.projection.len() == 1
        && select.distinct.is_none()
        && select.having.is_none()
        && matches!(&select.group_by, GroupByExpr::Expressions(e, _) if e.is_empty());
    if !plain || !refers_outside(select) {
        return false;
    }
    let value = match &mut select.projection[0] {
        SelectItem::UnnamedExpr(e) | SelectItem::ExprWithAlias { expr: e, .. } => e,
        _ => return false,
    };
    let mut aggregated = false;
    let _ = value.visit(&mut FunctionNames(|name: &str| {
        aggregated |= AGGREGATES.contains(&name);
    }));
    if !aggregated {
        match parse_expr(&format!("first_value({value})")) {
            Some(call) => *value = call,
            None => return false,
        }
    }
    true
}

/// A correlated subquery whose value reads outer columns (SQLAlchemy's
/// `json_build_object('always', a.attidentity = 'a', 'start', s.seqstart, …)`)
/// reads them from the distinct values of that column instead, joined on
/// equality with the outer row — the same value, in a form DataFusion can
/// decorrelate (it only moves outer references of the WHERE clause):
/// `(SELECT f(o.c, i.x) FROM i WHERE p)` →
/// `(SELECT f(oko_outer_0.v, i.x) FROM i, (SELECT DISTINCT oko_outer_0_t.c AS v
/// FROM t AS oko_outer_0_t) AS oko_outer_0 WHERE p AND oko_outer_0.v = o.c)`.
/// One difference: where the outer value is NULL the subquery is NULL rather
/// than `f(NULL, …)` (`IS NOT DISTINCT FROM` would keep it, but DataFusion 55
/// then fails to plan the subquery inside a CASE).
pub(super) fn hoist_outer_values(query: &mut Query, aliases: &HashMap<String, String>) {
    let SetExpr::Select(select) = query.body.as_mut() else {
        return;
    };
    let own = own_relations(select);
    let mut outer: Vec<Vec<Ident>> = Vec::new();
    for item in &mut select.projection {
        if let SelectItem::UnnamedExpr(e) | SelectItem::ExprWithAlias { expr: e, .. } = item {
            let _ = e.visit(&mut EveryExpr(&mut |e: &mut SqlExpr| {
                if let SqlExpr::CompoundIdentifier(ids) = e
                    && ids.len() >= 2
                    && !own.contains(&ids[ids.len() - 2].value.to_lowercase())
                    && !outer.contains(ids)
                {
                    outer.push(ids.clone());
                }
            }));
        }
    }
    for (i, ids) in outer.iter().enumerate() {
        let name = format!("oko_outer_{i}");
        let (qualifier, column) = ids.split_at(ids.len() - 1);
        let qualifier = qualifier
            .iter()
            .map(|id| id.to_string())
            .collect::<Vec<_>>()
            .join(".");
        // The table under a name of its own (the outer alias inside the
        // derived table would shadow the outer row).
        let table = match aliases.get(&ids[ids.len() - 2].value.to_lowercase()) {
            Some(table) if ids.len() == 2 => table.clone(),
            _ => qualifier,
        };
        let derived = format!(
            "SELECT 1 FROM (SELECT DISTINCT {name}_t.{} AS v FROM {table} AS {name}_t) AS {name}",
            column[0]
        );
        let Ok(mut parsed) = Parser::parse_sql(&PostgreSqlDialect {}, &derived) else {
            return;
        };
        let Some(Statement::Query(q)) = parsed.pop() else {
            return;
        };
        let SetExpr::Select(mut s) = *q.body else {
            return;
        };
        let Some(table) = s.from.pop() else {
            return;
        };
        let Some(condition) = parse_expr(&format!(
            "{name}.v = {}",
            SqlExpr::CompoundIdentifier(ids.clone())
        )) else {
            return;
        };
        select.from.push(table);
        select.selection = Some(match select.selection.take() {
            Some(w) => SqlExpr::BinaryOp {
                left: Box::new(w),
                op: BinaryOperator::And,
                right: Box::new(condition),
            },
            None => condition,
        });
        let replacement = SqlExpr::CompoundIdentifier(vec![Ident::new(name), Ident::new("v")]);
        for item in &mut select.projection {
            if let SelectItem::UnnamedExpr(e) | SelectItem::ExprWithAlias { expr: e, .. } = item {
                let _ = e.visit(&mut EveryExpr(&mut |e: &mut SqlExpr| {
                    if matches!(e, SqlExpr::CompoundIdentifier(x) if x == ids) {
                        *e = replacement.clone();
                    }
                }));
            }
        }
    }
}

/// `ARRAY(SELECT x FROM … [ORDER BY …])` (psql's `\du` lists each role's
/// groups so) → `(SELECT coalesce(array_agg(x ORDER BY …), make_array())
/// AS "array" FROM …)`: the same values in the same order (`ORDER BY 1`
/// or the item's alias order by the item), `{}` when there are none, in a
/// form DataFusion plans (and decorrelates; the empty array's type is the
/// aggregate's, by `coalesce`'s coercion). `ARRAY(SELECT f(x) FROM
/// unnest(a) x)` (psql's `\d+` prefixes a relation's TOAST options so),
/// whose `a` is the outer row's, becomes `array_transform(coalesce(a,
/// make_array()), x -> f(x))`: DataFusion cannot join a subquery to a
/// function of the outer row. Subqueries with `DISTINCT`, grouping,
/// `LIMIT` or set operations are left alone (and refused by the planner).
pub(super) fn array_subquery(expr: &SqlExpr) -> Option<SqlExpr> {
    let SqlExpr::Function(f) = expr else {
        return None;
    };
    let FunctionArguments::Subquery(query) = &f.args else {
        return None;
    };
    if !f.name.to_string().eq_ignore_ascii_case("array")
        || query.limit_clause.is_some()
        || query.fetch.is_some()
        || query.with.is_some()
    {
        return None;
    }
    let SetExpr::Select(select) = query.body.as_ref() else {
        return None;
    };
    let plain_grouping =
        matches!(&select.group_by, GroupByExpr::Expressions(e, m) if e.is_empty() && m.is_empty());
    if select.projection.len() != 1
        || select.distinct.is_some()
        || !plain_grouping
        || select.having.is_some()
    {
        return None;
    }
    let (item, alias) = match &select.projection[0] {
        SelectItem::UnnamedExpr(e) => (e, None),
        SelectItem::ExprWithAlias { expr, alias } => (expr, Some(alias)),
        _ => return None,
    };
    if query.order_by.is_none()
        && let Some(transformed) = array_of_unnest(select, item)
    {
        return Some(transformed);
    }
    let order = match &query.order_by {
        None => String::new(),
        Some(o) => match &o.kind {
            OrderByKind::Expressions(exprs) => {
                let keys = exprs
                    .iter()
                    .map(|e| {
                        let by_item = match &e.expr {
                            SqlExpr::Value(v) => v.value.to_string() == "1",
                            SqlExpr::Identifier(id) => alias.is_some_and(|a| a.value == id.value),
                            _ => false,
                        };
                        let mut e = e.clone();
                        if by_item {
                            e.expr = item.clone();
                        }
                        e.to_string()
                    })
                    .collect::<Vec<_>>();
                format!(" ORDER BY {}", keys.join(", "))
            }
            OrderByKind::All(_) => return None,
        },
    };
    let aggregate = parse_expr(&format!("coalesce(array_agg({item}{order}), make_array())"))?;
    let mut select = select.clone();
    select.projection = vec![SelectItem::ExprWithAlias {
        expr: aggregate,
        alias: Ident::with_quote('"', "array"),
    }];
    let mut aggregated = query.clone();
    aggregated.order_by = None;
    aggregated.body = Box::new(SetExpr::Select(select));
    Some(SqlExpr::Subquery(aggregated))
}

/// `SELECT f(x) FROM unnest(a) [AS] x` (nothing else: no WHERE, no join)
/// whose `f(x)` reads nothing but `x` → `array_transform(coalesce(a,
/// make_array()), x -> f(x))`.
fn array_of_unnest(select: &Select, item: &SqlExpr) -> Option<SqlExpr> {
    if select.from.len() != 1
        || !select.from[0].joins.is_empty()
        || select.selection.is_some()
        || select.qualify.is_some()
        || !select.named_window.is_empty()
    {
        return None;
    }
    let (array, alias) = match &select.from[0].relation {
        TableFactor::Table {
            name,
            args: Some(args),
            alias: Some(alias),
            ..
        } if name
            .0
            .last()
            .and_then(|p| p.as_ident())
            .is_some_and(|id| id.value.eq_ignore_ascii_case("unnest"))
            && args.args.len() == 1 =>
        {
            let FunctionArg::Unnamed(FunctionArgExpr::Expr(a)) = &args.args[0] else {
                return None;
            };
            (a.clone(), alias)
        }
        TableFactor::UNNEST {
            array_exprs,
            alias: Some(alias),
            with_offset: false,
            with_ordinality: false,
            ..
        } if array_exprs.len() == 1 => (array_exprs[0].clone(), alias),
        _ => return None,
    };
    // `unnest(a) x` names its column `x`; `unnest(a) t(x)` names it `x`.
    let column = match alias.columns.as_slice() {
        [] => alias.name.clone(),
        [c] => c.name.clone(),
        _ => return None,
    };
    let mut reads_only_column = true;
    let mut body = item.clone();
    let _ = body.visit(&mut EveryExpr(&mut |e: &mut SqlExpr| match e {
        SqlExpr::Identifier(id) if id.value.eq_ignore_ascii_case(&column.value) => {}
        SqlExpr::CompoundIdentifier(ids)
            if ids.len() == 2
                && ids[0].value.eq_ignore_ascii_case(&alias.name.value)
                && ids[1].value.eq_ignore_ascii_case(&column.value) =>
        {
            *e = SqlExpr::Identifier(column.clone());
        }
        SqlExpr::Identifier(_)
        | SqlExpr::CompoundIdentifier(_)
        | SqlExpr::Subquery(_)
        | SqlExpr::Exists { .. }
        | SqlExpr::InSubquery { .. } => reads_only_column = false,
        _ => {}
    }));
    if !reads_only_column {
        return None;
    }
    let mut call = parse_expr(&format!(
        "array_transform(coalesce({array}, make_array()), {column})"
    ))?;
    // The lambda, built as a tree: PostgreSQL's dialect reads `x -> …` as
    // the JSON operator.
    if let SqlExpr::Function(f) = &mut call
        && let FunctionArguments::List(list) = &mut f.args
        && let Some(FunctionArg::Unnamed(FunctionArgExpr::Expr(last))) = list.args.last_mut()
    {
        *last = SqlExpr::Lambda(LambdaFunction {
            params: OneOrManyWithParens::One(LambdaFunctionParameter {
                name: column,
                data_type: None,
            }),
            body: Box::new(body),
            syntax: LambdaSyntax::Arrow,
        });
        return Some(call);
    }
    None
}

pub(super) fn parse_expr(sql: &str) -> Option<SqlExpr> {
    Parser::new(&PostgreSqlDialect {})
        .try_with_sql(sql)
        .and_then(|mut p| p.parse_expr())
        .ok()
}

/// A correlated subquery whose WHERE has conditions on the outer row only
/// (`WHERE outer.flag AND inner.x = outer.y`, SQLAlchemy's pattern) →
/// `CASE WHEN outer.flag THEN (SELECT … WHERE inner.x = outer.y) END`, the
/// same value: DataFusion 55 fails to decorrelate the first form inside a
/// `CASE WHEN outer.flag` ("Physical plan does not support … ScalarSubquery").
pub(super) fn outer_conditions_outside(query: &mut Query) -> Option<SqlExpr> {
    let SetExpr::Select(select) = query.body.as_mut() else {
        return None;
    };
    let own = own_relations(select);
    let mut conjuncts = Vec::new();
    split_and(select.selection.take()?, &mut conjuncts);
    let (outer, inner): (Vec<SqlExpr>, Vec<SqlExpr>) =
        conjuncts.into_iter().partition(|c| only_outside(c, &own));
    select.selection = inner.into_iter().reduce(|a, b| SqlExpr::BinaryOp {
        left: Box::new(a),
        op: BinaryOperator::And,
        right: Box::new(b),
    });
    let condition = outer
        .iter()
        .map(|c| format!("({c})"))
        .collect::<Vec<_>>()
        .join(" AND ");
    if condition.is_empty() {
        return None;
    }
    parse_expr(&format!("CASE WHEN {condition} THEN ({query}) END"))
}

pub(super) fn split_and(expr: SqlExpr, out: &mut Vec<SqlExpr>) {
    match expr {
        SqlExpr::BinaryOp {
            left,
            op: BinaryOperator::And,
            right,
        } => {
            split_and(*left, out);
            split_and(*right, out);
        }
        SqlExpr::Nested(inner)
            if matches!(
                inner.as_ref(),
                SqlExpr::BinaryOp {
                    op: BinaryOperator::And,
                    ..
                }
            ) =>
        {
            split_and(*inner, out)
        }
        other => out.push(other),
    }
}

/// Whether `expr` reads qualified columns of outer relations only (and no
/// unqualified names, which could be either, nor subqueries).
pub(super) fn only_outside(expr: &SqlExpr, own: &[String]) -> bool {
    let mut outside = 0;
    let mut other = false;
    let mut e = expr.clone();
    let _ = e.visit(&mut EveryExpr(&mut |e: &mut SqlExpr| match e {
        SqlExpr::CompoundIdentifier(ids)
            if ids.len() >= 2 && !own.contains(&ids[ids.len() - 2].value.to_lowercase()) =>
        {
            outside += 1
        }
        SqlExpr::CompoundIdentifier(_)
        | SqlExpr::Identifier(_)
        | SqlExpr::Subquery(_)
        | SqlExpr::Exists { .. }
        | SqlExpr::InSubquery { .. } => other = true,
        _ => {}
    }));
    outside > 0 && !other
}

/// Calls `f` with the lower-case name of every function called.
pub(super) struct FunctionNames<F: FnMut(&str)>(pub(super) F);

impl<F: FnMut(&str)> VisitorMut for FunctionNames<F> {
    type Break = ();

    fn pre_visit_expr(&mut self, expr: &mut SqlExpr) -> ControlFlow<()> {
        if let SqlExpr::Function(f) = expr
            && let Some(ObjectNamePart::Identifier(id)) = f.name.0.last()
        {
            (self.0)(&id.value.to_lowercase());
        }
        ControlFlow::Continue(())
    }
}

/// Whether a select names a column of a relation it does not read itself
/// (`outer.column`): a correlated subquery.
pub(super) fn refers_outside(select: &mut Select) -> bool {
    let own = own_relations(select);
    let mut outside = false;
    let mut check = |e: &mut SqlExpr| {
        if let SqlExpr::CompoundIdentifier(ids) = e
            && ids.len() >= 2
            && !own.contains(&ids[ids.len() - 2].value.to_lowercase())
        {
            outside = true;
        }
    };
    for item in &mut select.projection {
        if let SelectItem::UnnamedExpr(e) | SelectItem::ExprWithAlias { expr: e, .. } = item {
            let _ = e.visit(&mut EveryExpr(&mut check));
        }
    }
    if let Some(w) = &mut select.selection {
        let _ = w.visit(&mut EveryExpr(&mut check));
    }
    outside
}

/// The names (and aliases) of the relations a select reads, lower case.
pub(super) fn own_relations(select: &Select) -> Vec<String> {
    let mut own: Vec<String> = Vec::new();
    for from in &select.from {
        for factor in std::iter::once(&from.relation).chain(from.joins.iter().map(|j| &j.relation))
        {
            match factor {
                TableFactor::Table { name, alias, .. } => {
                    if let Some(ObjectNamePart::Identifier(id)) = name.0.last() {
                        own.push(id.value.to_lowercase());
                    }
                    if let Some(a) = alias {
                        own.push(a.name.value.to_lowercase());
                    }
                }
                TableFactor::Derived { alias: Some(a), .. }
                | TableFactor::Function { alias: Some(a), .. }
                | TableFactor::UNNEST { alias: Some(a), .. } => {
                    own.push(a.name.value.to_lowercase())
                }
                _ => {}
            }
        }
    }
    own
}

/// Calls `f` with every expression.
pub(super) struct EveryExpr<'a, F: FnMut(&mut SqlExpr)>(pub(super) &'a mut F);

impl<F: FnMut(&mut SqlExpr)> VisitorMut for EveryExpr<'_, F> {
    type Break = ();

    fn pre_visit_expr(&mut self, expr: &mut SqlExpr) -> ControlFlow<()> {
        (self.0)(expr);
        ControlFlow::Continue(())
    }
}

/// `EXISTS (subquery)` in `query`'s select list → `((SELECT count(*) …) >
/// 0)` (`NOT EXISTS` → `= 0`): DataFusion joins `EXISTS` in only in `WHERE`,
/// and decorrelates an aggregated scalar subquery anywhere. Only a plain
/// subquery is counted (no grouping, `DISTINCT`, `LIMIT` or set
/// operation, where a count of its rows would be another count).
pub(super) fn exists_in_select_list(query: &mut Query) {
    let SetExpr::Select(select) = query.body.as_mut() else {
        return;
    };
    for item in &mut select.projection {
        let expr = match item {
            SelectItem::UnnamedExpr(e) | SelectItem::ExprWithAlias { expr: e, .. } => e,
            _ => continue,
        };
        let _ = datafusion::sql::sqlparser::ast::visit_expressions_mut(expr, |e| {
            if let SqlExpr::Exists { subquery, negated } = e
                && let Some(counted) = counted_rows(subquery)
                && let Some(test) = parse_expr(&format!(
                    "(({counted}) {} 0)",
                    if *negated { "=" } else { ">" }
                ))
            {
                *e = test;
            }
            ControlFlow::<()>::Continue(())
        });
    }
}

/// `subquery` selecting `count(*)` of its rows, if it is a plain one.
fn counted_rows(subquery: &Query) -> Option<Query> {
    let SetExpr::Select(select) = subquery.body.as_ref() else {
        return None;
    };
    let plain = select.distinct.is_none()
        && select.having.is_none()
        && matches!(&select.group_by, GroupByExpr::Expressions(e, m) if e.is_empty() && m.is_empty())
        && subquery.limit_clause.is_none()
        && subquery.fetch.is_none()
        && subquery.with.is_none();
    if !plain {
        return None;
    }
    let mut counted = subquery.clone();
    counted.order_by = None;
    if let SetExpr::Select(select) = counted.body.as_mut() {
        select.projection = vec![SelectItem::UnnamedExpr(parse_expr("count(*)")?)];
    }
    Some(counted)
}

/// `(a, b) [NOT] IN (SELECT x, y …)` among the conditions of `query`'s
/// `WHERE` (a row compared with a subquery's rows, which DataFusion plans
/// for one column only) → `[NOT] EXISTS (SELECT 1 FROM (…) AS oko_in(c1,
/// c2) WHERE …)`:
/// - `IN`: some row equal in every column;
/// - `NOT IN`: no row that is equal or unknown (a NULL in a compared
///   column), since PostgreSQL's `NOT IN` is then NULL, which `WHERE`
///   reads as false.
///
/// Only a condition that `WHERE` reads directly (one of its `AND`ed terms)
/// is rewritten: there an unknown answer and false are the same.
pub(super) fn row_in_subquery(query: &mut Query) {
    let SetExpr::Select(select) = query.body.as_mut() else {
        return;
    };
    let Some(selection) = select.selection.as_mut() else {
        return;
    };
    let mut terms = vec![selection];
    while let Some(term) = terms.pop() {
        match term {
            SqlExpr::BinaryOp {
                left,
                op: BinaryOperator::And,
                right,
            } => {
                terms.push(left.as_mut());
                terms.push(right.as_mut());
            }
            SqlExpr::Nested(inner) => terms.push(inner.as_mut()),
            SqlExpr::InSubquery {
                expr,
                subquery,
                negated,
            } => {
                if let Some(exists) = row_membership(expr, subquery, *negated) {
                    *term = exists;
                }
            }
            _ => {}
        }
    }
}

fn row_membership(row: &SqlExpr, subquery: &Query, negated: bool) -> Option<SqlExpr> {
    let SqlExpr::Tuple(values) = row else {
        return None;
    };
    if values.len() < 2 {
        return None;
    }
    let columns: Vec<String> = (1..=values.len()).map(|i| format!("oko_c{i}")).collect();
    let condition = values
        .iter()
        .zip(&columns)
        .map(|(v, c)| {
            if negated {
                format!("(oko_in.{c} = ({v}) OR oko_in.{c} IS NULL OR ({v}) IS NULL)")
            } else {
                format!("oko_in.{c} = ({v})")
            }
        })
        .collect::<Vec<_>>()
        .join(" AND ");
    let not = if negated { "NOT " } else { "" };
    parse_expr(&format!(
        "{not}EXISTS (SELECT 1 FROM ({subquery}) AS oko_in({}) WHERE {condition})",
        columns.join(", ")
    ))
}
