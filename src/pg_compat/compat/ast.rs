//! Rewrites of the parsed statement, after datafusion-pg-catalog's own:
//! field access on composite values, `regclass` lookups of computed text,
//! oid-alias casts kept for the description.

use std::collections::HashMap;
use std::ops::ControlFlow;

use datafusion::sql::sqlparser::ast::{
    AccessExpr, ArrayElemTypeDef, BinaryOperator, DataType, Expr as SqlExpr, FunctionArg,
    FunctionArgExpr, FunctionArguments, ObjectNamePart, Query, Statement, TableFactor, Value,
    VisitMut, VisitorMut,
};

use super::*;

/// Rewrites of a parsed statement, after datafusion-pg-catalog's:
/// - set-returning functions as PostgreSQL places them ([`super::sets`]);
/// - `ts AT TIME ZONE z` → `timezone(z, ts)`, PostgreSQL's conversion
///   between `timestamp` and `timestamptz` (DataFusion's relabels the zone);
/// - `(expr).field` (a field of a composite value, PostgreSQL's syntax)
///   names its field with a string, the only form DataFusion plans (as
///   `get_field`);
/// - a correlated scalar subquery that selects one plain value
///   (SQLAlchemy's `CASE WHEN a.atthasdef THEN (SELECT pg_get_expr(…) FROM
///   pg_attrdef WHERE … = a.attrelid …) END`) selects `first_value(…)` of
///   it: DataFusion only decorrelates aggregated subqueries. The answer is
///   the same when the subquery finds at most one row; where it finds more,
///   PostgreSQL fails (21000) and this answers, so only catalog statements
///   (`catalog`, see [`super::reads_catalog`]) get it: a client's catalog
///   query is known to find at most one, an analyst's query is not.
pub fn rewrite_statement(statement: &mut Statement, catalog: bool) {
    let mut aliases = HashMap::new();
    let _ = statement.visit(&mut TableAliases(&mut aliases));
    let _ = statement.visit(&mut StatementRewrites {
        aliases,
        depth: 0,
        catalog,
    });
}

pub(super) struct StatementRewrites {
    /// Alias → table name, of every aliased table of the statement.
    aliases: HashMap<String, String>,
    /// How deep in (sub)queries the visit is: 1 in the statement's own.
    depth: usize,
    /// Whether the statement reads the catalog (client introspection).
    catalog: bool,
}

/// Collects the aliases of tables.
pub(super) struct TableAliases<'a>(&'a mut HashMap<String, String>);

impl VisitorMut for TableAliases<'_> {
    type Break = ();

    fn pre_visit_table_factor(&mut self, factor: &mut TableFactor) -> ControlFlow<()> {
        if let TableFactor::Table {
            name,
            alias: Some(alias),
            ..
        } = factor
        {
            self.0
                .insert(alias.name.value.to_lowercase(), name.to_string());
        }
        ControlFlow::Continue(())
    }
}

impl VisitorMut for StatementRewrites {
    type Break = ();

    fn pre_visit_table_factor(&mut self, factor: &mut TableFactor) -> ControlFlow<()> {
        super::sets::name_function_column(factor);
        ControlFlow::Continue(())
    }

    fn pre_visit_query(&mut self, query: &mut Query) -> ControlFlow<()> {
        self.depth += 1;
        super::multisets::counted_set_operations(&mut query.body);
        super::spellings::query(query);
        exists_in_select_list(query);
        row_in_subquery(query);
        super::sets::select_list_sets(query);
        super::sets::select_list_lateral(query);
        super::rows::whole_rows(query);
        super::joins::wildcard_joins(query);
        ControlFlow::Continue(())
    }

    fn post_visit_query(&mut self, _: &mut Query) -> ControlFlow<()> {
        self.depth -= 1;
        ControlFlow::Continue(())
    }

    fn pre_visit_expr(&mut self, expr: &mut SqlExpr) -> ControlFlow<()> {
        if let Some(aggregated) = array_subquery(expr) {
            *expr = aggregated;
        }
        // (A lookup inside a subquery would be a subquery DataFusion
        // cannot decorrelate: only the outermost query gets one.)
        if self.depth <= 1
            && let Some(lookup) = regclass_lookup(expr)
        {
            *expr = lookup;
        }
        if let SqlExpr::Subquery(query) = expr
            && self.catalog
            && aggregate_correlated_value(query)
        {
            hoist_outer_values(query, &self.aliases);
            if let Some(guarded) = outer_conditions_outside(query) {
                *expr = guarded;
            }
        }
        ControlFlow::Continue(())
    }

    fn post_visit_expr(&mut self, expr: &mut SqlExpr) -> ControlFlow<()> {
        if let Some(zoned) = date_trunc_in_zone(expr) {
            *expr = zoned;
        }
        if let Some(spelled) = super::spellings::expression(expr) {
            *expr = spelled;
        }
        // (Children first: a negated interval's literal is read already.)
        if let Some(read) = negated_interval(expr).or_else(|| interval_literal(expr)) {
            *expr = read;
        }
        if let Some(call) = crate::pg_compat::pg_functions::overlaps_call(expr) {
            *expr = call;
        }
        if let Some(positional) = make_interval_positional(expr) {
            *expr = positional;
        }
        if let Some(quantified) = quantified_subquery(expr).or_else(|| quantified_array(expr)) {
            *expr = quantified;
        }
        if let SqlExpr::Substring {
            expr: text,
            substring_from: Some(from),
            substring_for: None,
            ..
        } = expr
            && matches!(
                from.as_ref(),
                SqlExpr::Value(v) if matches!(v.value, Value::SingleQuotedString(_))
            )
            && let Some(call) = parse_expr(&format!("\"substring\"({text}, {from})"))
        {
            // `substring(text FROM 'pattern')`: a POSIX pattern, which our
            // `substring` function reads from a text second argument (the
            // quoted name is a plain call, which DataFusion's planner of the
            // `SUBSTRING` syntax, always `substr`, does not take).
            *expr = call;
        }
        if let SqlExpr::AtTimeZone {
            timestamp,
            time_zone,
        } = expr
            && let Some(call) = parse_expr(&format!("timezone({time_zone}, {timestamp})"))
        {
            *expr = call;
        }
        if let Some(tagged) = oid_array_cast(expr).or_else(|| oid_alias_cast(expr)) {
            *expr = tagged;
        }
        if let Some(named) = oid_alias_text(expr) {
            *expr = named;
        }
        if let SqlExpr::CompoundFieldAccess { root, access_chain } = expr {
            // `t.a[1]`: the dots after a bare name still name the column.
            let column = matches!(
                root.as_ref(),
                SqlExpr::Identifier(_) | SqlExpr::CompoundIdentifier(_)
            );
            let skip = if column {
                access_chain
                    .iter()
                    .take_while(|a| matches!(a, AccessExpr::Dot(SqlExpr::Identifier(_))))
                    .count()
            } else {
                0
            };
            for access in access_chain.iter_mut().skip(skip) {
                if let AccessExpr::Dot(SqlExpr::Identifier(id)) = access {
                    let name = if id.quote_style.is_some() {
                        id.value.clone()
                    } else {
                        id.value.to_lowercase()
                    };
                    *access = AccessExpr::Dot(SqlExpr::Value(
                        Value::SingleQuotedString(name).with_empty_span(),
                    ));
                }
            }
        }
        ControlFlow::Continue(())
    }
}

/// `date_trunc(field, ts, zone)` (PostgreSQL 12+: truncation in `zone`)
/// → `timezone(zone, date_trunc(field, timezone(zone, ts)))`.
pub(super) fn date_trunc_in_zone(expr: &SqlExpr) -> Option<SqlExpr> {
    let SqlExpr::Function(f) = expr else {
        return None;
    };
    if !f.name.to_string().eq_ignore_ascii_case("date_trunc") {
        return None;
    }
    let FunctionArguments::List(list) = &f.args else {
        return None;
    };
    let [
        FunctionArg::Unnamed(FunctionArgExpr::Expr(field)),
        FunctionArg::Unnamed(FunctionArgExpr::Expr(ts)),
        FunctionArg::Unnamed(FunctionArgExpr::Expr(zone)),
    ] = list.args.as_slice()
    else {
        return None;
    };
    parse_expr(&format!(
        "timezone({zone}, date_trunc({field}, timezone({zone}, {ts})))"
    ))
}

/// `make_interval(hours => 5)` → `make_interval(0, 0, 0, 0, 5)`: PostgreSQL
/// defaults every omitted part to zero; DataFusion's named arguments
/// cannot skip one.
pub(super) fn make_interval_positional(expr: &SqlExpr) -> Option<SqlExpr> {
    const PARTS: [&str; 7] = ["years", "months", "weeks", "days", "hours", "mins", "secs"];
    let SqlExpr::Function(f) = expr else {
        return None;
    };
    if !f.name.to_string().eq_ignore_ascii_case("make_interval") {
        return None;
    }
    let FunctionArguments::List(list) = &f.args else {
        return None;
    };
    if !list
        .args
        .iter()
        .any(|a| matches!(a, FunctionArg::Named { .. } | FunctionArg::ExprNamed { .. }))
    {
        return None;
    }
    let mut values: Vec<String> = vec!["0".into(); PARTS.len()];
    let mut last = 0;
    for (i, arg) in list.args.iter().enumerate() {
        let (slot, value) = match arg {
            FunctionArg::Unnamed(FunctionArgExpr::Expr(e)) => (i, e),
            FunctionArg::Named {
                name,
                arg: FunctionArgExpr::Expr(e),
                ..
            } => (
                PARTS
                    .iter()
                    .position(|p| name.value.eq_ignore_ascii_case(p))?,
                e,
            ),
            FunctionArg::ExprNamed {
                name: SqlExpr::Identifier(name),
                arg: FunctionArgExpr::Expr(e),
                ..
            } => (
                PARTS
                    .iter()
                    .position(|p| name.value.eq_ignore_ascii_case(p))?,
                e,
            ),
            _ => return None,
        };
        *values.get_mut(slot)? = value.to_string();
        last = last.max(slot + 1);
    }
    parse_expr(&format!("make_interval({})", values[..last].join(", ")))
}

/// The parts of `x op ANY (…)` / `x op ALL (…)`: `x`, `op`, the set, and
/// whether it is `ALL`.
fn quantified(expr: &SqlExpr) -> Option<(&SqlExpr, &BinaryOperator, &SqlExpr, bool)> {
    match expr {
        SqlExpr::AnyOp {
            left,
            compare_op,
            right,
            ..
        } => Some((left, compare_op, right, false)),
        SqlExpr::AllOp {
            left,
            compare_op,
            right,
        } => Some((left, compare_op, right, true)),
        _ => None,
    }
}

/// `x op ANY (array)` / `x op ALL (array)` → `pg_array_any(x, array,
/// 'op')` / `pg_array_all(…)`: PostgreSQL's three-valued answer for every
/// comparison operator ([`crate::pg_compat::pg_functions`]'s `quantified`).
pub(super) fn quantified_array(expr: &SqlExpr) -> Option<SqlExpr> {
    let (left, op, right, all) = quantified(expr)?;
    if matches!(right, SqlExpr::Subquery(_)) {
        return None;
    }
    let op = match op {
        BinaryOperator::Eq => "=",
        BinaryOperator::NotEq => "<>",
        BinaryOperator::Lt => "<",
        BinaryOperator::LtEq => "<=",
        BinaryOperator::Gt => ">",
        BinaryOperator::GtEq => ">=",
        _ => return None,
    };
    let f = if all { "pg_array_all" } else { "pg_array_any" };
    parse_expr(&format!("{f}({left}, {right}, '{op}')"))
}

/// `x op ANY (subquery)`, `x op ALL (subquery)`: `= ANY` is `IN`, `<> ALL`
/// is `NOT IN`; the other comparisons are written with the subquery's
/// count, NULL count and minimum or maximum, with PostgreSQL's answers for
/// an empty set (`ALL` true, `ANY` false) and for NULLs. (DataFusion's own
/// plan of these forms answers wrongly.)
pub(super) fn quantified_subquery(expr: &SqlExpr) -> Option<SqlExpr> {
    let (left, op, right, all) = quantified(expr)?;
    let SqlExpr::Subquery(query) = right else {
        return None;
    };
    match (op, all) {
        (BinaryOperator::Eq, false) => {
            return parse_expr(&format!("({left}) IN ({query})"));
        }
        (BinaryOperator::NotEq, true) => {
            return parse_expr(&format!("({left}) NOT IN ({query})"));
        }
        _ => {}
    }
    let set = |agg: &str| format!("(SELECT {agg} FROM ({query}) AS oko_set(v))");
    let (count, nulls) = (set("count(*)"), set("count(*) - count(v)"));
    let (min, max) = (set("min(v)"), set("max(v)"));
    // The comparison that decides: for ALL the one that makes it false,
    // for ANY the one that makes it true.
    let decisive = match (op, all) {
        (BinaryOperator::Gt, true) => format!("NOT (({left}) > {max})"),
        (BinaryOperator::GtEq, true) => format!("NOT (({left}) >= {max})"),
        (BinaryOperator::Lt, true) => format!("NOT (({left}) < {min})"),
        (BinaryOperator::LtEq, true) => format!("NOT (({left}) <= {min})"),
        (BinaryOperator::Eq, true) | (BinaryOperator::NotEq, false) => {
            format!("(({left}) <> {min} OR ({left}) <> {max})")
        }
        (BinaryOperator::Gt, false) => format!("({left}) > {min}"),
        (BinaryOperator::GtEq, false) => format!("({left}) >= {min}"),
        (BinaryOperator::Lt, false) => format!("({left}) < {max}"),
        (BinaryOperator::LtEq, false) => format!("({left}) <= {max}"),
        _ => return None,
    };
    let (empty, found, otherwise) = if all {
        ("true", "false", "true")
    } else {
        ("false", "true", "false")
    };
    parse_expr(&format!(
        "(CASE WHEN {count} = 0 THEN {empty} WHEN ({left}) IS NULL THEN NULL \
         WHEN {decisive} THEN {found} WHEN {nulls} > 0 THEN NULL ELSE {otherwise} END)"
    ))
}

/// Functions that return a relation's name as text.
pub(super) const NAME_FUNCTIONS: &[&str] = &[
    "btrim",
    "concat",
    "concat_ws",
    "format",
    "lower",
    "quote_ident",
    "replace",
    "trim",
    "upper",
];

/// `CAST(<computed text> AS regclass)` (Metabase's
/// `CAST(CAST(format('%I.%I', schema, table) AS TEXT) AS regclass)`) → the
/// relation's oid, looked up by every spelling PostgreSQL accepts for it
/// (`schema.table`, quoted or not, or the bare name in the current schema):
/// `(SELECT first_value(oid) FROM (<oid, name> of every spelling) WHERE name
/// = <text>)`. A literal (`'leads'::regclass`) is datafusion-pg-catalog's
/// to resolve, a column (`c.oid::regclass`) is an oid already.
pub(super) fn regclass_lookup(expr: &SqlExpr) -> Option<SqlExpr> {
    let SqlExpr::Cast {
        expr: operand,
        data_type,
        ..
    } = expr
    else {
        return None;
    };
    let target = data_type.to_string().to_lowercase();
    if target.strip_prefix("pg_catalog.").unwrap_or(&target) != "regclass" || !is_text(operand) {
        return None;
    }
    let spellings = [
        (
            "quote_ident(n.nspname) || '.' || quote_ident(r.relname)",
            "",
        ),
        ("n.nspname || '.' || r.relname", ""),
        (
            "quote_ident(r.relname)",
            " WHERE n.nspname = current_schema()",
        ),
        ("r.relname", " WHERE n.nspname = current_schema()"),
    ]
    .map(|(name, filter)| {
        format!(
            "SELECT r.oid AS oid, {name} AS name FROM pg_catalog.pg_class r \
             JOIN pg_catalog.pg_namespace n ON r.relnamespace = n.oid{filter}"
        )
    })
    .join(" UNION ALL ");
    parse_expr(&format!(
        "(SELECT first_value(oko_regclass.oid) FROM ({spellings}) AS oko_regclass \
         WHERE oko_regclass.name = {operand})"
    ))
}

/// Whether an expression evidently computes text.
pub(super) fn is_text(expr: &SqlExpr) -> bool {
    match expr {
        SqlExpr::Nested(e) => is_text(e),
        SqlExpr::Cast { data_type, .. } => {
            let t = data_type.to_string().to_lowercase();
            t == "text" || t.starts_with("varchar") || t.starts_with("character varying")
        }
        SqlExpr::BinaryOp {
            op: BinaryOperator::StringConcat,
            ..
        } => true,
        SqlExpr::Function(f) => f.name.0.last().is_some_and(|p| {
            matches!(p, ObjectNamePart::Identifier(id)
                if NAME_FUNCTIONS.contains(&id.value.to_lowercase().as_str()))
        }),
        _ => false,
    }
}

/// PostgreSQL's oid alias types.
pub(super) const OID_ALIASES: &[&str] = &[
    "oid",
    "regclass",
    "regcollation",
    "regconfig",
    "regdictionary",
    "regnamespace",
    "regoper",
    "regoperator",
    "regproc",
    "regprocedure",
    "regrole",
    "regtype",
];

/// `CAST(x AS oid[])` (or `regtype[]`, …) → `oid_array(CAST(x AS INT[]),
/// 'oid')`: the same int4 values, with the element type on record so the
/// column (and a `$1::oid[]` parameter, see [`oid_array_parameters`]) is
/// described as `oid[]`. asyncpg has no codec for `int4[]` until it has
/// introspected it, and its introspection query reads and binds `oid[]`.
pub(super) fn oid_array_cast(expr: &SqlExpr) -> Option<SqlExpr> {
    let SqlExpr::Cast {
        expr: operand,
        data_type:
            DataType::Array(ArrayElemTypeDef::SquareBracket(element, None))
            | DataType::Array(ArrayElemTypeDef::AngleBracket(element)),
        ..
    } = expr
    else {
        return None;
    };
    let name = element.to_string().to_lowercase();
    let kind = name.strip_prefix("pg_catalog.").unwrap_or(&name);
    if !OID_ALIASES.contains(&kind) {
        return None;
    }
    parse_expr(&format!("oid_array(CAST({operand} AS INT[]), '{kind}')"))
}

/// `CAST(x AS regclass)` (or another oid alias) → `oid_alias(CAST(x AS
/// regclass), 'regclass')`: the result is described with the cast's type,
/// not the operand's (DataFusion keeps a column's `pg.oid_alias` through a
/// cast between int4 types, so `relnamespace::oid` would stay
/// `regnamespace`), and a `regclass` is written as its relation's name. (A
/// literal's `regclass` cast became a lookup subquery in
/// datafusion-pg-catalog's rules; [`typed_regclass_literals`] marks those
/// before parsing.)
pub(super) fn oid_alias_cast(expr: &SqlExpr) -> Option<SqlExpr> {
    let SqlExpr::Cast { data_type, .. } = expr else {
        return None;
    };
    let target = data_type.to_string().to_lowercase();
    let kind = target.strip_prefix("pg_catalog.").unwrap_or(&target);
    if !OID_ALIASES.contains(&kind) {
        return None;
    }
    parse_expr(&format!("oid_alias({expr}, '{kind}')"))
}

/// `CAST(oid_alias(x, 'regclass') AS text)` (psql's
/// `c.oid::pg_catalog.regclass::pg_catalog.text`, `'leads'::regclass::text`)
/// → `oid_text(x, 'regclass')`: the relation's name, as the text of a
/// `regclass` is (the same for `regtype`, `regnamespace`, `regproc`).
pub(super) fn oid_alias_text(expr: &SqlExpr) -> Option<SqlExpr> {
    let SqlExpr::Cast {
        expr: operand,
        data_type,
        ..
    } = expr
    else {
        return None;
    };
    let target = data_type.to_string().to_lowercase();
    let target = target.strip_prefix("pg_catalog.").unwrap_or(&target);
    if !(target == "text"
        || target == "name"
        || target.starts_with("varchar")
        || target.starts_with("character varying"))
    {
        return None;
    }
    let SqlExpr::Function(f) = operand.as_ref() else {
        return None;
    };
    if !f.name.to_string().eq_ignore_ascii_case("oid_alias") {
        return None;
    }
    let FunctionArguments::List(list) = &f.args else {
        return None;
    };
    let [
        FunctionArg::Unnamed(FunctionArgExpr::Expr(inner)),
        FunctionArg::Unnamed(FunctionArgExpr::Expr(kind)),
    ] = list.args.as_slice()
    else {
        return None;
    };
    parse_expr(&format!("oid_text({inner}, {kind})"))
}

/// `x` and `kind` of `oid_alias(x, 'kind')`, `oid_array(…)` or
/// `oid_text(…)` (see [`oid_alias_cast`]).
pub fn oid_alias_parts(
    f: &datafusion::sql::sqlparser::ast::Function,
) -> Option<(&SqlExpr, String)> {
    let FunctionArguments::List(list) = &f.args else {
        return None;
    };
    match list.args.as_slice() {
        [
            FunctionArg::Unnamed(FunctionArgExpr::Expr(x)),
            FunctionArg::Unnamed(FunctionArgExpr::Expr(SqlExpr::Value(v))),
        ] => match &v.value {
            Value::SingleQuotedString(kind) => Some((x, kind.clone())),
            _ => None,
        },
        _ => None,
    }
}

/// `x` of `oid_alias(x, 'kind')` (see [`oid_alias_cast`]).
pub(super) fn oid_alias_operand(expr: &SqlExpr) -> Option<SqlExpr> {
    let SqlExpr::Function(f) = expr else {
        return None;
    };
    if !f.name.to_string().eq_ignore_ascii_case("oid_alias") {
        return None;
    }
    let FunctionArguments::List(list) = &f.args else {
        return None;
    };
    match list.args.first() {
        Some(FunctionArg::Unnamed(FunctionArgExpr::Expr(e))) => Some(e.clone()),
        _ => None,
    }
}

/// The (0-based) parameters a statement casts to an oid alias array
/// (`$1::oid[]`, which [`oid_array_cast`] made `oid_array(CAST($1 AS
/// INT[]), 'oid')`), with the alias.
pub fn oid_array_parameters(statement: &Statement) -> Vec<(usize, String)> {
    let mut found = Vec::new();
    let mut statement = statement.clone();
    let _ = statement.visit(&mut EveryExpr(&mut |e: &mut SqlExpr| {
        let SqlExpr::Function(f) = e else {
            return;
        };
        if !f.name.to_string().eq_ignore_ascii_case("oid_array") {
            return;
        }
        let FunctionArguments::List(list) = &f.args else {
            return;
        };
        let args: Vec<&SqlExpr> = list
            .args
            .iter()
            .filter_map(|a| match a {
                FunctionArg::Unnamed(FunctionArgExpr::Expr(e)) => Some(e),
                _ => None,
            })
            .collect();
        if let [SqlExpr::Cast { expr: operand, .. }, SqlExpr::Value(kind)] = args.as_slice()
            && let SqlExpr::Value(v) = operand.as_ref()
            && let Value::Placeholder(p) = &v.value
            && let Value::SingleQuotedString(kind) = &kind.value
            && let Some(n) = p.strip_prefix('$').and_then(|n| n.parse::<usize>().ok())
            && n >= 1
        {
            found.push((n - 1, kind.clone()));
        }
    }));
    found
}

/// `INTERVAL '…'` in PostgreSQL's formats (`'1 day 02:03:04'`,
/// `'P1DT2H'`), which DataFusion reads with Arrow's parser while it plans:
/// written again in units Arrow reads, the same interval. Text that is not
/// an interval stays, and fails as it did.
pub(super) fn interval_literal(expr: &SqlExpr) -> Option<SqlExpr> {
    read_interval(expr, false)
}

/// `-INTERVAL '…'`: the interval negated, as one literal (DataFusion
/// negates an interval literal by a `-` before its text, which negates only
/// the first of the units the text is written in).
fn negated_interval(expr: &SqlExpr) -> Option<SqlExpr> {
    let SqlExpr::UnaryOp {
        op: datafusion::sql::sqlparser::ast::UnaryOperator::Minus,
        expr: inner,
    } = expr
    else {
        return None;
    };
    read_interval(inner, true)
}

fn read_interval(expr: &SqlExpr, negate: bool) -> Option<SqlExpr> {
    let SqlExpr::Interval(interval) = expr else {
        return None;
    };
    if interval.leading_field.is_some() || interval.last_field.is_some() {
        return None;
    }
    let SqlExpr::Value(v) = interval.value.as_ref() else {
        return None;
    };
    let Value::SingleQuotedString(text) = &v.value else {
        return None;
    };
    let mut parsed = crate::pg_compat::pg_functions::parse_interval(text).ok()?;
    if negate {
        parsed.months = parsed.months.checked_neg()?;
        parsed.days = parsed.days.checked_neg()?;
        parsed.micros = parsed.micros.checked_neg()?;
    }
    let mut read = interval.clone();
    read.value = Box::new(SqlExpr::Value(
        Value::SingleQuotedString(crate::pg_compat::pg_functions::interval_text(parsed)).into(),
    ));
    Some(SqlExpr::Interval(read))
}
