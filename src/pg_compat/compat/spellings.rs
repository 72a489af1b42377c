//! PostgreSQL spellings DataFusion does not read, written as what they
//! mean in forms it does (each keeps the statement's meaning exactly):
//! - `1e3`, `1.5e-3`: numeric constants in exponent form (DataFusion reads
//!   constants with a point as `numeric` and fails on an exponent) →
//!   `1000.0`, `0.0015`;
//! - `~x` (bitwise not) → `(x # -1)`;
//! - `a ^@ b` (starts with) → `starts_with(a, b)`;
//! - `array && array` (overlap) → `array_has_any(…)`;
//! - `localtimestamp` → `CAST(now() AS timestamp)` (the session's wall
//!   clock, [`crate::pg_compat::casts`]), `localtime` its time of day;
//! - `FETCH FIRST n ROWS ONLY` → `LIMIT n`;
//! - `GROUP BY ()` (the one empty grouping set) → no `GROUP BY`;
//! - `WHERE 'true'` (a quoted condition) → `WHERE CAST('true' AS BOOLEAN)`;
//! - `sum(x)`, `avg(x)` → `sum(pg_sum_arg(x))`, `avg(pg_avg_arg(x))`: a
//!   `bigint` summed as a `numeric`, integers and `numeric`s averaged as a
//!   `numeric` (as aggregates and over windows; OKO's own views are planned
//!   apart and keep their types);
//! - `x [NOT] SIMILAR TO p [ESCAPE e]` → `[NOT] (x ~ pg_similar_to_regex(p
//!   [, e]))`, PostgreSQL's translation of the pattern.

use datafusion::sql::sqlparser::ast::{
    BinaryOperator, Expr as SqlExpr, Function, FunctionArg, FunctionArgExpr, FunctionArguments,
    GroupByExpr, LimitClause, ObjectNamePart, Query, SetExpr, UnaryOperator, Value,
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
        SqlExpr::Function(f) => typed_aggregate(f).map(SqlExpr::Function),
        _ => None,
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

/// `localtimestamp` and `localtime`.
fn local_clock(name: &str) -> Option<SqlExpr> {
    match name.to_ascii_lowercase().as_str() {
        "localtimestamp" => parse_expr("CAST(now() AS TIMESTAMP)"),
        "localtime" => parse_expr("CAST(CAST(now() AS TIMESTAMP) AS TIME)"),
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
