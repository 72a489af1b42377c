//! PostgreSQL spellings DataFusion does not read, written as what they
//! mean in forms it does (each keeps the statement's meaning exactly):
//! - `1e3`, `1.5e-3`: numeric constants in exponent form (DataFusion reads
//!   constants with a point as `numeric` and fails on an exponent) →
//!   `1000.0`, `0.0015`;
//! - `~x` (bitwise not) → `(x # -1)`;
//! - `a ^@ b` (starts with) → `starts_with(a, b)`;
//! - `array && array` (overlap) → `array_has_any(…)`;
//! - `localtimestamp` → `CAST(now() AS timestamp)` (the session's wall
//!   clock, [`crate::pg_compat::casts`]), `localtime` its time of day,
//!   `current_time` → `pg_timetz(now())` (a `time with time zone`);
//! - `FETCH FIRST n ROWS ONLY` → `LIMIT n`;
//! - `GROUP BY ()` (the one empty grouping set) → no `GROUP BY`;
//! - `WHERE 'true'` (a quoted condition) → `WHERE CAST('true' AS BOOLEAN)`;
//! - `sum(x)`, `avg(x)` → `sum(pg_sum_arg(x))`, `avg(pg_avg_arg(x))`: a
//!   `bigint` summed as a `numeric`, integers and `numeric`s averaged as a
//!   `numeric` (as aggregates and over windows; OKO's own views are planned
//!   apart and keep their types);
//! - `stddev(x)`, `variance(x)`, `var_pop(x)`, … → `pg_stddev_samp(x)`, …:
//!   integers and `numeric`s in exact `numeric` arithmetic (the same
//!   scoping; [`crate::pg_compat::pg_functions::exact_statistic`]);
//! - `cardinality(a)`, `array_length(a, d)`, `array_position(…)`, … →
//!   `CAST(… AS INTEGER)`, PostgreSQL's type for them;
//! - `percentile_cont(ARRAY[…]) WITHIN GROUP (…)` → the array of each
//!   percentile; `regr_count(…)` a `bigint`;
//! - `x [NOT] SIMILAR TO p [ESCAPE e]` → `[NOT] (x ~ pg_similar_to_regex(p
//!   [, e]))`, PostgreSQL's translation of the pattern.

use datafusion::sql::sqlparser::ast::{
    BinaryOperator, Expr as SqlExpr, Function, FunctionArg, FunctionArgExpr, FunctionArguments,
    GroupByExpr, LimitClause, ObjectNamePart, Query, Select, SetExpr, UnaryOperator, Value,
};

use super::subqueries::parse_expr;

/// `expr` in a spelling DataFusion reads, if it needs one.
pub fn expression(expr: &SqlExpr) -> Option<SqlExpr> {
    match expr {
        SqlExpr::Value(v) => match &v.value {
            Value::Number(n, long) if n.contains(['e', 'E']) => {
                Some(SqlExpr::Value(Value::Number(plain(n)?, *long).into()))
            }
            _ => None,
        },
        SqlExpr::UnaryOp {
            op: UnaryOperator::BitwiseNot,
            expr,
        } => parse_expr(&format!("(({expr}) # -1)")),
        SqlExpr::BinaryOp {
            left,
            op: BinaryOperator::PGStartsWith,
            right,
        } => parse_expr(&format!("starts_with({left}, {right})")),
        SqlExpr::BinaryOp {
            left,
            op: BinaryOperator::PGOverlap,
            right,
        } => parse_expr(&format!("array_has_any({left}, {right})")),
        SqlExpr::SimilarTo {
            negated,
            expr,
            pattern,
            escape_char,
        } => {
            let escape = escape_char
                .as_ref()
                .map(|e| format!(", {e}"))
                .unwrap_or_default();
            let not = if *negated { "NOT " } else { "" };
            parse_expr(&format!(
                "{not}(({expr}) ~ pg_similar_to_regex({pattern}{escape}))"
            ))
        }
        SqlExpr::Identifier(i) if i.quote_style.is_none() => local_clock(&i.value),
        SqlExpr::Function(f)
            if matches!(f.args, FunctionArguments::None) && f.name.0.len() == 1 =>
        {
            local_clock(&f.name.to_string())
        }
        SqlExpr::Function(f) => typed_aggregate(f)
            .map(SqlExpr::Function)
            .or_else(|| integer_result(f))
            .or_else(|| percentiles_of_array(f)),
        _ => None,
    }
}

/// `percentile_cont(ARRAY[p1, p2]) WITHIN GROUP (ORDER BY x)` (also
/// `percentile_disc`) → `CASE WHEN count(x) = 0 THEN NULL ELSE
/// ARRAY[percentile_cont(p1) WITHIN GROUP (ORDER BY x), …] END`: the
/// array of the percentiles, NULL without values, as PostgreSQL answers.
fn percentiles_of_array(f: &Function) -> Option<SqlExpr> {
    let name = f.name.to_string().to_lowercase();
    if !matches!(name.as_str(), "percentile_cont" | "percentile_disc")
        || f.within_group.len() != 1
        || f.over.is_some()
    {
        return None;
    }
    let FunctionArguments::List(list) = &f.args else {
        return None;
    };
    let [FunctionArg::Unnamed(FunctionArgExpr::Expr(SqlExpr::Array(array)))] = list.args.as_slice()
    else {
        return None;
    };
    let order = &f.within_group[0];
    let filter = f
        .filter
        .as_ref()
        .map(|c| format!(" FILTER (WHERE {c})"))
        .unwrap_or_default();
    let each: Vec<String> = array
        .elem
        .iter()
        .map(|p| format!("{name}({p}) WITHIN GROUP (ORDER BY {order}){filter}"))
        .collect();
    parse_expr(&format!(
        "CASE WHEN count({}){filter} = 0 THEN NULL ELSE ARRAY[{}] END",
        order.expr,
        each.join(", ")
    ))
}

/// Array sizes and positions as PostgreSQL's `integer`s (DataFusion counts
/// in `UInt64`, which a `coalesce(…, 0)` would make `numeric` and a
/// subscript `tags[cardinality(tags)]` refuses); `array_length` of an
/// empty array is NULL.
fn integer_result(f: &Function) -> Option<SqlExpr> {
    const INTEGER_FUNCTIONS: &[&str] = &[
        "cardinality",
        "array_position",
        "array_upper",
        "array_lower",
        "array_ndims",
    ];
    if f.over.is_some() || f.name.0.len() != 1 {
        return None;
    }
    let name = f.name.to_string().to_lowercase();
    if INTEGER_FUNCTIONS.contains(&name.as_str()) {
        parse_expr(&format!("CAST({f} AS INTEGER)"))
    } else if name == "regr_count" {
        parse_expr(&format!("CAST({f} AS BIGINT)"))
    } else if name == "array_length" {
        parse_expr(&format!("CAST(nullif({f}, 0) AS INTEGER)"))
    } else {
        None
    }
}

/// `sum(x)` / `avg(x)` with its argument typed as PostgreSQL sums and
/// averages it.
fn typed_aggregate(f: &Function) -> Option<Function> {
    let name = match f.name.0.as_slice() {
        [ObjectNamePart::Identifier(n)] => n,
        [ObjectNamePart::Identifier(s), ObjectNamePart::Identifier(n)]
            if s.value.eq_ignore_ascii_case("pg_catalog") =>
        {
            n
        }
        _ => return None,
    };
    if name.quote_style.is_some() {
        return None;
    }
    // `stddev(x)`, `variance(x)`, …: PostgreSQL's exact `numeric` forms.
    if let Some(exact) = crate::pg_compat::pg_functions::exact_statistic(&name.value) {
        let mut f = f.clone();
        f.name = datafusion::sql::sqlparser::ast::ObjectName::from(vec![
            datafusion::sql::sqlparser::ast::Ident::new(exact),
        ]);
        return Some(f);
    }
    let wrapper = match name.value.to_ascii_lowercase().as_str() {
        "sum" => "pg_sum_arg",
        "avg" => "pg_avg_arg",
        _ => return None,
    };
    let FunctionArguments::List(list) = &f.args else {
        return None;
    };
    let [FunctionArg::Unnamed(FunctionArgExpr::Expr(arg))] = list.args.as_slice() else {
        return None;
    };
    if matches!(arg, SqlExpr::Function(g) if g.name.to_string() == wrapper) {
        return None;
    }
    let wrapped = parse_expr(&format!("{wrapper}({arg})"))?;
    let mut f = f.clone();
    if let FunctionArguments::List(list) = &mut f.args {
        list.args = vec![FunctionArg::Unnamed(FunctionArgExpr::Expr(wrapped))];
    }
    Some(f)
}

/// Calls in one select list that differ only in the types their arguments
/// are cast to (`sum(x::int8), sum(x::numeric)`) get those casts named
/// (`oko_typed(x::int8, 'BIGINT')`, the same value): DataFusion names an
/// expression after its casts' operands, so both would be `sum(x)`, and a
/// node's columns need distinct names.
fn typed_arguments_named(select: &mut Select) {
    use std::collections::HashMap;
    use std::ops::ControlFlow;

    use datafusion::sql::sqlparser::ast::{visit_expressions, visit_expressions_mut};

    let uncast = |f: &Function| {
        let mut f = SqlExpr::Function(f.clone());
        let _ = visit_expressions_mut(&mut f, |e| {
            while let SqlExpr::Cast { expr, .. } = e {
                *e = (**expr).clone();
            }
            ControlFlow::<()>::Continue(())
        });
        f.to_string()
    };
    let mut spellings: HashMap<String, Vec<String>> = HashMap::new();
    for item in &select.projection {
        let _ = visit_expressions(item, |e| {
            if let SqlExpr::Function(f) = e {
                let written = f.to_string();
                let all = spellings.entry(uncast(f)).or_default();
                if !all.contains(&written) {
                    all.push(written);
                }
            }
            ControlFlow::<()>::Continue(())
        });
    }
    if spellings.values().all(|s| s.len() < 2) {
        return;
    }
    for item in &mut select.projection {
        let _ = visit_expressions_mut(item, |e| {
            if let SqlExpr::Function(f) = e
                && spellings.get(&uncast(f)).is_some_and(|s| s.len() > 1)
                && let FunctionArguments::List(list) = &mut f.args
            {
                for arg in &mut list.args {
                    if let FunctionArg::Unnamed(FunctionArgExpr::Expr(a)) = arg
                        && let SqlExpr::Cast { data_type, .. } = a
                        && let Some(named) = parse_expr(&format!(
                            "oko_typed({a}, '{}')",
                            data_type.to_string().replace('\'', "''")
                        ))
                    {
                        *a = named;
                    }
                }
            }
            ControlFlow::<()>::Continue(())
        });
    }
}

/// `ORDER BY` read as PostgreSQL reads it, where DataFusion reads it
/// otherwise:
/// - a name in `grouping(…)` (`ORDER BY grouping(tenant)`) is the input's
///   column, also where an output column has that name (`coalesce(tenant,
///   'ALL') AS tenant`); DataFusion takes the output column and fails. With
///   one table in `FROM`, such a name is qualified with it.
/// - `ORDER BY 3`, the third item being a window function over aggregates
///   (`rank() OVER (ORDER BY count(*))`), which DataFusion fails to find:
///   the item gets its PostgreSQL name as an alias and is ordered by it.
fn order_by_as_postgresql(query: &mut Query) {
    use std::ops::ControlFlow;

    use datafusion::sql::sqlparser::ast::{
        Ident, OrderByKind, SelectItem, TableFactor, visit_expressions, visit_expressions_mut,
    };

    let Some(order_by) = &mut query.order_by else {
        return;
    };
    let OrderByKind::Expressions(order) = &mut order_by.kind else {
        return;
    };
    let SetExpr::Select(select) = query.body.as_mut() else {
        return;
    };
    let aliases: Vec<String> = select
        .projection
        .iter()
        .filter_map(|i| match i {
            SelectItem::ExprWithAlias { alias, .. } => Some(alias.value.to_lowercase()),
            _ => None,
        })
        .collect();
    let table = match select.from.as_slice() {
        [t] if t.joins.is_empty() => match &t.relation {
            TableFactor::Table {
                name,
                alias,
                args: None,
                ..
            } => Some(match alias {
                Some(a) => vec![a.name.clone()],
                None => name
                    .0
                    .iter()
                    .filter_map(|p| p.as_ident().cloned())
                    .collect::<Vec<Ident>>(),
            }),
            _ => None,
        },
        _ => None,
    };
    for o in order.iter_mut() {
        if let Some(table) = &table {
            let _ = visit_expressions_mut(&mut o.expr, |e| {
                if let SqlExpr::Function(f) = e
                    && f.name.to_string().eq_ignore_ascii_case("grouping")
                {
                    let _ = visit_expressions_mut(&mut f.args, |a| {
                        if let SqlExpr::Identifier(i) = a
                            && aliases.contains(&i.value.to_lowercase())
                        {
                            let mut parts = table.clone();
                            parts.push(i.clone());
                            *a = SqlExpr::CompoundIdentifier(parts);
                        }
                        ControlFlow::<()>::Continue(())
                    });
                }
                ControlFlow::<()>::Continue(())
            });
        }
        let SqlExpr::Value(v) = &o.expr else {
            continue;
        };
        let Value::Number(n, _) = &v.value else {
            continue;
        };
        let Some(item) = n
            .parse::<usize>()
            .ok()
            .and_then(|n| n.checked_sub(1))
            .and_then(|n| select.projection.get_mut(n))
        else {
            continue;
        };
        let mut windowed = false;
        let _ = visit_expressions(item, |e| {
            if matches!(e, SqlExpr::Function(f) if f.over.is_some()) {
                windowed = true;
            }
            ControlFlow::<()>::Continue(())
        });
        if !windowed {
            continue;
        }
        let pg_name = crate::pg_compat::column_names::item_name(item);
        let name = match (&*item, pg_name) {
            (SelectItem::ExprWithAlias { alias, .. }, _) => alias.clone(),
            (SelectItem::UnnamedExpr(expr), Some(name)) => {
                let alias = Ident::with_quote('"', name);
                *item = SelectItem::ExprWithAlias {
                    expr: expr.clone(),
                    alias: alias.clone(),
                };
                alias
            }
            _ => continue,
        };
        o.expr = SqlExpr::Identifier(name);
    }
}

/// A CTE's first select list (the one that names and types its columns):
/// - with the CTE's column names as its items' aliases (`fib(a, b, i) AS
///   (SELECT 0::bigint, 1::bigint, 1 …)`: the names are the CTE's anyway,
///   and DataFusion names `1::bigint` and `1` alike, which one select list
///   cannot hold);
/// - in a recursive CTE, its integer constants `integer`, as PostgreSQL
///   types them (OKO's constant typing cannot retype a recursive CTE once
///   planned: its recursive part was planned against the first part's
///   types).
fn named_and_typed_cte(cte: &mut datafusion::sql::sqlparser::ast::Cte, recursive: bool) {
    use datafusion::sql::sqlparser::ast::{Ident, SelectItem};

    let columns: Vec<Ident> = cte.alias.columns.iter().map(|c| c.name.clone()).collect();
    let Some(select) = super::naming_select_mut(&mut cte.query.body) else {
        return;
    };
    if recursive {
        for item in &mut select.projection {
            if let SelectItem::UnnamedExpr(e) | SelectItem::ExprWithAlias { expr: e, .. } = item
                && is_integer_constant(e)
                && let Some(typed) = parse_expr(&format!("CAST({e} AS INTEGER)"))
            {
                *e = typed;
            }
        }
    }
    if columns.is_empty() || columns.len() != select.projection.len() {
        return;
    }
    for (item, name) in select.projection.iter_mut().zip(columns) {
        *item = match std::mem::replace(item, SelectItem::Wildcard(Default::default())) {
            SelectItem::UnnamedExpr(expr) | SelectItem::ExprWithAlias { expr, .. } => {
                SelectItem::ExprWithAlias { expr, alias: name }
            }
            other => other,
        };
    }
}

/// `1`, `-1`: an integer constant that fits an `integer`.
fn is_integer_constant(e: &SqlExpr) -> bool {
    let e = match e {
        SqlExpr::UnaryOp {
            op: UnaryOperator::Minus,
            expr,
        } => expr.as_ref(),
        e => e,
    };
    matches!(e, SqlExpr::Value(v) if matches!(&v.value, Value::Number(n, _) if n.parse::<i32>().is_ok()))
}

/// `localtimestamp` and `localtime`.
fn local_clock(name: &str) -> Option<SqlExpr> {
    match name.to_ascii_lowercase().as_str() {
        "localtimestamp" => parse_expr("CAST(now() AS TIMESTAMP)"),
        "localtime" => parse_expr("CAST(CAST(now() AS TIMESTAMP) AS TIME)"),
        // A `time with time zone`: the time of day and the session zone's
        // offset at this instant.
        "current_time" => parse_expr("pg_timetz(now())"),
        _ => None,
    }
}

/// `query` with `FETCH FIRST … ROWS ONLY` as `LIMIT` and `GROUP BY ()`
/// dropped.
pub fn query(query: &mut Query) {
    if let Some(fetch) = &query.fetch
        && !fetch.with_ties
        && !fetch.percent
    {
        let count = fetch
            .quantity
            .clone()
            .unwrap_or_else(|| SqlExpr::Value(Value::Number("1".into(), false).into()));
        let limited = match query.limit_clause.take() {
            None => Some(LimitClause::LimitOffset {
                limit: Some(count),
                offset: None,
                limit_by: vec![],
            }),
            Some(LimitClause::LimitOffset {
                limit: None,
                offset,
                limit_by,
            }) => Some(LimitClause::LimitOffset {
                limit: Some(count),
                offset,
                limit_by,
            }),
            other => {
                query.limit_clause = other;
                None
            }
        };
        if limited.is_some() {
            query.limit_clause = limited;
            query.fetch = None;
        }
    }
    if let SetExpr::Select(select) = query.body.as_mut() {
        typed_arguments_named(select);
    }
    order_by_as_postgresql(query);
    if let Some(with) = &mut query.with {
        for cte in &mut with.cte_tables {
            named_and_typed_cte(cte, with.recursive);
        }
    }
    // `WHERE 'true'`: a quoted condition is a boolean's text, as
    // PostgreSQL reads an untyped constant where a boolean stands.
    if let SetExpr::Select(select) = query.body.as_mut() {
        for condition in [&mut select.selection, &mut select.having]
            .into_iter()
            .flatten()
        {
            if let SqlExpr::Value(v) = condition
                && matches!(v.value, Value::SingleQuotedString(_))
                && let Some(cast) = parse_expr(&format!("CAST({v} AS BOOLEAN)"))
            {
                *condition = cast;
            }
        }
    }
    if let SetExpr::Select(select) = query.body.as_mut()
        && let GroupByExpr::Expressions(exprs, modifiers) = &mut select.group_by
        && modifiers.is_empty()
        && !exprs.is_empty()
        && exprs
            .iter()
            .all(|e| matches!(e, SqlExpr::Tuple(t) if t.is_empty()))
    {
        exprs.clear();
    }
}

/// A number in exponent form written without one (`1.5e-3` → `0.0015`).
fn plain(n: &str) -> Option<String> {
    let (mantissa, exponent) = n.split_once(['e', 'E'])?;
    let exponent: i64 = exponent.parse().ok()?;
    let (whole, fraction) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    if !(whole
        .chars()
        .chain(fraction.chars())
        .all(|c| c.is_ascii_digit()))
    {
        return None;
    }
    let digits = format!("{whole}{fraction}");
    // The point's place in `digits`, moved by the exponent.
    let point = whole.len() as i64 + exponent;
    if !(-1000..=1000).contains(&point) {
        return None;
    }
    let text = if point <= 0 {
        format!("0.{}{digits}", "0".repeat((-point) as usize))
    } else if point as usize >= digits.len() {
        format!("{digits}{}", "0".repeat(point as usize - digits.len()))
    } else {
        let (w, f) = digits.split_at(point as usize);
        format!("{w}.{f}")
    };
    let trimmed = text.trim_start_matches('0');
    let text = if trimmed.is_empty() || trimmed.starts_with('.') {
        format!("0{trimmed}")
    } else {
        trimmed.to_string()
    };
    // (With a point, as a `numeric`, which PostgreSQL makes of it.)
    Some(if text.contains('.') {
        text
    } else {
        format!("{text}.0")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exponents_are_written_out() {
        assert_eq!(plain("1e3").as_deref(), Some("1000.0"));
        assert_eq!(plain("1.5e-3").as_deref(), Some("0.0015"));
        assert_eq!(plain("2.5E2").as_deref(), Some("250.0"));
        assert_eq!(plain("12.34e1").as_deref(), Some("123.4"));
        assert_eq!(plain("0e0").as_deref(), Some("0.0"));
        assert_eq!(plain("5e-1").as_deref(), Some("0.5"));
        assert_eq!(plain("1e99999"), None);
    }
}
