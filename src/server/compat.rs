//! Client queries that need a hand before they can be planned.
//!
//! SQLAlchemy writes `LIKE 'pg/_%' ESCAPE '/'`; DataFusion only knows the
//! backslash as escape character, so the pattern is rewritten to escape
//! with a backslash (same matches).
//!
//! pgjdbc and DBeaver compare `pg_type.typinput` (text in the emulated
//! catalog) with literals cast to `regproc` (`'pg_catalog.array_in'::regproc`),
//! which the planner would turn into a number; such a literal is kept as the
//! function's name, which is what the column holds.
//!
//! Grafana's query editor finds the schemas on the `search_path` with a
//! set-returning subquery over `current_setting('search_path')` that
//! DataFusion cannot plan (`generate_series(…) AS i, string_to_array(…) s`).
//! The subquery's answer only depends on the session's settings, so it is
//! replaced by that answer — the list of schemas named on this connection's
//! `search_path`, `"$user"` read as the session user — before parsing.
//! (datafusion-pg-catalog's parser would otherwise replace it with `''` and
//! the table picker would list nothing.)
//!
//! pgjdbc's `getPrimaryKeys`/`getIndexInfo` call the set-returning
//! `information_schema._pg_expandarray(a)` in a select list and read the
//! fields of its records (`(… ).n`); it becomes `unnest(_pg_expandarray(a))`
//! ([`super::pg_functions`] returns the records as an array) and the field
//! access one DataFusion can plan ([`rewrite_statement`]). SQLAlchemy's
//! `generate_subscripts(a, 1)` goes the same way.
//!
//! Two rewrites match one client's exact text, because general support
//! would be disproportionate: asyncpg's type introspection follows domain
//! base types with a correlated recursive CTE (replaced by the domain's own
//! base type, exact for every domain the catalog has) and aggregates
//! attribute type oids (cast to `oid[]`, see `ASYNCPG_DOMAIN_BASE`).
//!
//! The rest works on the parsed statement ([`rewrite_statement`], after
//! datafusion-pg-catalog's own rules), generally: correlated scalar
//! subqueries DataFusion cannot decorrelate as written (SQLAlchemy's column
//! reflection) are brought into a form it can; `CAST(<computed text> AS
//! regclass)` looks the relation up (Metabase); `x::oid[]` keeps its element
//! type for the description (asyncpg).

use std::borrow::Cow;
use std::collections::HashMap;
use std::ops::ControlFlow;
use std::sync::LazyLock;

use datafusion::sql::sqlparser::ast::{
    AccessExpr, ArrayElemTypeDef, BinaryOperator, DataType, Expr as SqlExpr, FunctionArg,
    FunctionArgExpr, FunctionArguments, GroupByExpr, Ident, ObjectNamePart, OrderByKind, Query,
    Select, SelectItem, SetExpr, Statement, TableFactor, Value, VisitMut, VisitorMut,
};
use datafusion::sql::sqlparser::dialect::PostgreSqlDialect;
use datafusion::sql::sqlparser::parser::Parser;
use datafusion::sql::sqlparser::tokenizer::{Token, Tokenizer};

/// The subquery Grafana 10–12 sends, as the tokens to look for.
const GRAFANA_SEARCH_PATH: &str = r#"SELECT
    CASE WHEN trim(s[i]) = '"$user"' THEN user ELSE trim(s[i]) END
FROM
    generate_series(
        array_lower(string_to_array(current_setting('search_path'),','),1),
        array_upper(string_to_array(current_setting('search_path'),','),1)
    ) as i,
    string_to_array(current_setting('search_path'),',') s"#;

static PATTERN: LazyLock<Vec<Token>> = LazyLock::new(|| solid_tokens(GRAFANA_SEARCH_PATH));

/// The subquery asyncpg's type introspection uses to find a domain's base
/// type, following domains over domains with a correlated recursive CTE,
/// which DataFusion cannot plan. OKO declares no domains, and the emulated
/// catalog's (`information_schema.cardinal_number`, …) are all over base
/// types, so the first step — the domain's own `typbasetype` — is the whole
/// answer.
const ASYNCPG_DOMAIN_BASE: &str = "(WITH RECURSIVE typebases(oid, depth) AS (
    SELECT t2.typbasetype AS oid, 0 AS depth FROM pg_type t2 WHERE t2.oid = t.oid
    UNION ALL
    SELECT t2.typbasetype AS oid, tb.depth + 1 AS depth FROM pg_type t2, typebases tb
    WHERE tb.oid = t2.oid AND t2.typbasetype != 0
) SELECT oid FROM typebases ORDER BY depth DESC LIMIT 1)";

static ASYNCPG_PATTERN: LazyLock<Vec<Token>> = LazyLock::new(|| solid_tokens(ASYNCPG_DOMAIN_BASE));

fn solid_tokens(sql: &str) -> Vec<Token> {
    tokens(sql).into_iter().filter(|t| !is_space(t)).collect()
}

/// Every occurrence of `pattern` (compared token by token, whitespace
/// aside) in `sql` replaced by `answer`; `None` when there is none.
fn replace_pattern(sql: &str, pattern: &[Token], answer: &str) -> Option<String> {
    let all = tokens(sql);
    let solid: Vec<usize> = (0..all.len()).filter(|&i| !is_space(&all[i])).collect();
    let mut out = String::with_capacity(sql.len());
    let (mut k, mut copied, mut found) = (0, 0, false);
    while k + pattern.len() <= solid.len() {
        if (0..pattern.len()).all(|j| all[solid[k + j]] == pattern[j]) {
            let (first, last) = (solid[k], solid[k + pattern.len() - 1]);
            all[copied..first]
                .iter()
                .for_each(|t| out.push_str(&t.to_string()));
            out.push_str(answer);
            copied = last + 1;
            k += pattern.len();
            found = true;
        } else {
            k += 1;
        }
    }
    all[copied..]
        .iter()
        .for_each(|t| out.push_str(&t.to_string()));
    found.then_some(out)
}

/// The type oids of a composite type's attributes in asyncpg's type
/// introspection: `oid[]` in PostgreSQL; DataFusion's `array_agg` would make
/// it `int4[]`, a type asyncpg needs this very query to learn.
const ASYNCPG_ATTRIBUTE_TYPES: &str = "array_agg(ia.atttypid ORDER BY ia.attnum)";

static ASYNCPG_ATTRIBUTES: LazyLock<Vec<Token>> =
    LazyLock::new(|| solid_tokens(ASYNCPG_ATTRIBUTE_TYPES));

/// asyncpg's type introspection: the domain base-type subquery →
/// `t.typbasetype` (`ASYNCPG_DOMAIN_BASE`), the attribute types cast to
/// `oid[]` (`ASYNCPG_ATTRIBUTE_TYPES`).
pub fn asyncpg_domain_bases(sql: &str) -> Cow<'_, str> {
    if !sql.contains("typebases") {
        return Cow::Borrowed(sql);
    }
    let Some(out) = replace_pattern(sql, &ASYNCPG_PATTERN, "t.typbasetype") else {
        return Cow::Borrowed(sql);
    };
    let cast = format!("CAST({ASYNCPG_ATTRIBUTE_TYPES} AS oid[])");
    Cow::Owned(replace_pattern(&out, &ASYNCPG_ATTRIBUTES, &cast).unwrap_or(out))
}

fn tokens(sql: &str) -> Vec<Token> {
    Tokenizer::new(&PostgreSqlDialect {}, sql)
        .tokenize()
        .unwrap_or_default()
}

fn is_space(t: &Token) -> bool {
    matches!(t, Token::Whitespace(_))
}

/// Rewrites of a parsed statement, after datafusion-pg-catalog's:
/// - `(expr).field` (a field of a composite value, PostgreSQL's syntax)
///   names its field with a string, the only form DataFusion plans (as
///   `get_field`);
/// - a correlated scalar subquery that selects one plain value
///   (SQLAlchemy's `CASE WHEN a.atthasdef THEN (SELECT pg_get_expr(…) FROM
///   pg_attrdef WHERE … = a.attrelid …) END`) selects `first_value(…)` of
///   it: DataFusion only decorrelates aggregated subqueries. The answer is
///   the same when the subquery finds at most one row — what PostgreSQL
///   requires of a scalar subquery anyway (it fails on more).
pub fn rewrite_statement(statement: &mut Statement) {
    let mut aliases = HashMap::new();
    let _ = statement.visit(&mut TableAliases(&mut aliases));
    let _ = statement.visit(&mut StatementRewrites { aliases, depth: 0 });
}

struct StatementRewrites {
    /// Alias → table name, of every aliased table of the statement.
    aliases: HashMap<String, String>,
    /// How deep in (sub)queries the visit is: 1 in the statement's own.
    depth: usize,
}

/// Collects the aliases of tables.
struct TableAliases<'a>(&'a mut HashMap<String, String>);

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

    fn pre_visit_query(&mut self, _: &mut Query) -> ControlFlow<()> {
        self.depth += 1;
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
        if let Some(tagged) = oid_array_cast(expr).or_else(|| oid_alias_cast(expr)) {
            *expr = tagged;
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

/// Functions that return a relation's name as text.
const NAME_FUNCTIONS: &[&str] = &[
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
fn regclass_lookup(expr: &SqlExpr) -> Option<SqlExpr> {
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
fn is_text(expr: &SqlExpr) -> bool {
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
const OID_ALIASES: &[&str] = &[
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
fn oid_array_cast(expr: &SqlExpr) -> Option<SqlExpr> {
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
fn oid_alias_cast(expr: &SqlExpr) -> Option<SqlExpr> {
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

/// Aggregate functions: a subquery selecting one is already aggregated.
const AGGREGATES: &[&str] = &[
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
fn aggregate_correlated_value(query: &mut Query) -> bool {
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
fn hoist_outer_values(query: &mut Query, aliases: &HashMap<String, String>) {
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
/// groups so) → `(SELECT array_agg(x ORDER BY …) FROM …)`: the same values
/// in the same order, in a form DataFusion plans (and decorrelates). One
/// difference: no rows give NULL where PostgreSQL gives `{}`. Subqueries
/// with `DISTINCT`, grouping, `LIMIT` or set operations are left alone (and
/// refused by the planner).
fn array_subquery(expr: &SqlExpr) -> Option<SqlExpr> {
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
    let item = match &select.projection[0] {
        SelectItem::UnnamedExpr(e) | SelectItem::ExprWithAlias { expr: e, .. } => e,
        _ => return None,
    };
    let order = match &query.order_by {
        None => String::new(),
        Some(o) => match &o.kind {
            OrderByKind::Expressions(exprs) => format!(
                " ORDER BY {}",
                exprs
                    .iter()
                    .map(|e| e.to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            OrderByKind::All(_) => return None,
        },
    };
    let aggregate = parse_expr(&format!("array_agg({item}{order})"))?;
    let mut select = select.clone();
    select.projection = vec![SelectItem::UnnamedExpr(aggregate)];
    let mut aggregated = query.clone();
    aggregated.order_by = None;
    aggregated.body = Box::new(SetExpr::Select(select));
    Some(SqlExpr::Subquery(aggregated))
}

fn parse_expr(sql: &str) -> Option<SqlExpr> {
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
fn outer_conditions_outside(query: &mut Query) -> Option<SqlExpr> {
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

fn split_and(expr: SqlExpr, out: &mut Vec<SqlExpr>) {
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
fn only_outside(expr: &SqlExpr, own: &[String]) -> bool {
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
struct FunctionNames<F: FnMut(&str)>(F);

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
fn refers_outside(select: &mut Select) -> bool {
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
fn own_relations(select: &Select) -> Vec<String> {
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
struct EveryExpr<'a, F: FnMut(&mut SqlExpr)>(&'a mut F);

impl<F: FnMut(&mut SqlExpr)> VisitorMut for EveryExpr<'_, F> {
    type Break = ();

    fn pre_visit_expr(&mut self, expr: &mut SqlExpr) -> ControlFlow<()> {
        (self.0)(expr);
        ControlFlow::Continue(())
    }
}

/// Every rewrite, in order.
pub fn rewrite_all<'a>(sql: &'a str, search_path: &str, user: &str) -> Cow<'a, str> {
    let mut sql = rewrite(sql, search_path, user);
    let steps: [fn(&str) -> Cow<'_, str>; 5] = [
        typed_regclass_literals,
        regproc_literals,
        like_escapes,
        expand_arrays,
        asyncpg_domain_bases,
    ];
    for step in steps {
        if let Cow::Owned(s) = step(&sql) {
            sql = Cow::Owned(s);
        }
    }
    sql
}

/// Set-returning functions over arrays that [`super::pg_functions`]
/// implements as functions returning the set as an array.
const ARRAY_SETS: &[&str] = &["_pg_expandarray", "generate_subscripts"];

/// `information_schema._pg_expandarray(a)` → `unnest(_pg_expandarray(a))`,
/// `generate_subscripts(a, 1)` → `unnest(generate_subscripts(a, 1))`:
/// PostgreSQL's set-returning functions as DataFusion can plan them (the
/// functions return the set as an array, of `(x, n)` records or of
/// subscripts). Two of them in one select list are unnested side by side,
/// as PostgreSQL runs them.
pub fn expand_arrays(sql: &str) -> Cow<'_, str> {
    let lower = sql.to_ascii_lowercase();
    if !ARRAY_SETS.iter().any(|f| lower.contains(f)) {
        return Cow::Borrowed(sql);
    }
    let all = tokens(sql);
    let is_word =
        |t: &Token, w: &str| matches!(t, Token::Word(x) if x.value.eq_ignore_ascii_case(w));
    // (first token of the call, the function's name, its closing parenthesis)
    let mut calls: Vec<(usize, usize, usize)> = Vec::new();
    for i in 0..all.len() {
        let set_function = ARRAY_SETS.iter().any(|f| is_word(&all[i], f));
        if !set_function || !matches!(all.get(i + 1), Some(Token::LParen)) {
            continue;
        }
        let mut depth = 0;
        let Some(close) = (i + 1..all.len()).find(|&j| {
            match all[j] {
                Token::LParen => depth += 1,
                Token::RParen => depth -= 1,
                _ => {}
            }
            depth == 0
        }) else {
            continue;
        };
        let qualified = i >= 2
            && matches!(all[i - 1], Token::Period)
            && (is_word(&all[i - 2], "information_schema") || is_word(&all[i - 2], "pg_catalog"));
        calls.push((if qualified { i - 2 } else { i }, i, close));
    }
    if calls.is_empty() {
        return Cow::Borrowed(sql);
    }
    let mut out = String::with_capacity(sql.len() + 16 * calls.len());
    for (i, t) in all.iter().enumerate() {
        if calls.iter().any(|(start, _, _)| *start == i) {
            out.push_str("unnest(");
        }
        // The qualifier goes: the function lives in no schema here.
        if !calls
            .iter()
            .any(|(start, name, _)| *start <= i && i < *name)
        {
            out.push_str(&t.to_string());
        }
        if calls.iter().any(|(_, _, close)| *close == i) {
            out.push(')');
        }
    }
    Cow::Owned(out)
}

/// `LIKE p ESCAPE 'c'` with `c` not a backslash → the same pattern escaped
/// with backslashes: a literal pattern (or literals joined by `||`, as
/// SQLAlchemy writes `'pg/_' || '%'`) is rewritten in place, any other
/// (`$1::VARCHAR || '%'`, psycopg 3) when it has its value,
/// `LIKE like_escape(p, 'c') ESCAPE '\'`.
pub fn like_escapes(sql: &str) -> Cow<'_, str> {
    if !sql.to_ascii_uppercase().contains("ESCAPE") {
        return Cow::Borrowed(sql);
    }
    let mut all = tokens(sql);
    let solid: Vec<usize> = (0..all.len()).filter(|&i| !is_space(&all[i])).collect();
    let mut changed = false;
    for k in 2..solid.len() {
        let (e, c) = (solid[k - 1], solid[k]);
        let escape = matches!(&all[e], Token::Word(w) if w.value.eq_ignore_ascii_case("escape"));
        let Token::SingleQuotedString(esc) = &all[c] else {
            continue;
        };
        let mut chars = esc.chars();
        let (Some(esc_char), None) = (chars.next(), chars.next()) else {
            continue;
        };
        if !escape || esc_char == '\\' {
            continue;
        }
        let Some(like) = like_keyword_before(&all, &solid, k - 1) else {
            continue;
        };
        let pattern = &solid[like + 1..k - 1];
        if pattern.is_empty() {
            continue;
        }
        let literal = pattern
            .iter()
            .all(|&i| matches!(all[i], Token::SingleQuotedString(_) | Token::StringConcat));
        if literal {
            for &i in pattern {
                if let Token::SingleQuotedString(p) = &all[i] {
                    all[i] = Token::SingleQuotedString(with_backslash(p, esc_char));
                }
            }
        } else {
            let (first, end) = (pattern[0], e);
            let text: String = all[first..end].iter().map(|t| t.to_string()).collect();
            let call = format!(
                "like_escape({}, {}) ",
                text.trim(),
                Token::SingleQuotedString(esc_char.to_string())
            );
            // The call takes the place of the pattern's tokens (a word is
            // written out as it is).
            all[first] = Token::make_word(&call, None);
            for t in &mut all[first + 1..end] {
                *t = Token::make_word("", None);
            }
        }
        all[c] = Token::SingleQuotedString("\\".into());
        changed = true;
    }
    if !changed {
        return Cow::Borrowed(sql);
    }
    Cow::Owned(all.iter().map(|t| t.to_string()).collect())
}

/// The solid-token index of the `LIKE`/`ILIKE` whose pattern ends just
/// before solid token `escape` (the `ESCAPE` keyword), looking back at the
/// same parenthesis depth; `None` when there is none.
fn like_keyword_before(all: &[Token], solid: &[usize], escape: usize) -> Option<usize> {
    let mut depth = 0i32;
    for j in (0..escape).rev() {
        match &all[solid[j]] {
            Token::RParen | Token::RBracket => depth += 1,
            Token::LParen | Token::LBracket => {
                depth -= 1;
                if depth < 0 {
                    return None;
                }
            }
            Token::Word(w) if depth == 0 => {
                let word = w.value.to_ascii_uppercase();
                match word.as_str() {
                    "LIKE" | "ILIKE" if w.quote_style.is_none() => return Some(j),
                    "WHERE" | "AND" | "OR" | "SELECT" | "ON" | "WHEN" | "THEN" | "ELSE"
                        if w.quote_style.is_none() =>
                    {
                        return None;
                    }
                    _ => {}
                }
            }
            Token::Comma | Token::SemiColon if depth == 0 => return None,
            _ => {}
        }
    }
    None
}

/// A LIKE pattern escaped with `esc` rewritten to escape with a backslash.
pub(crate) fn with_backslash(pattern: &str, esc: char) -> String {
    let mut out = String::with_capacity(pattern.len());
    let mut it = pattern.chars();
    while let Some(ch) = it.next() {
        if ch == esc {
            if let Some(next) = it.next() {
                out.push('\\');
                out.push(next);
            }
        } else if ch == '\\' {
            out.push_str("\\\\");
        } else {
            out.push(ch);
        }
    }
    out
}

/// `'leads'::regclass` and `CAST('leads' AS regclass)` →
/// `oid_alias(…, 'regclass')`, so the value (the oid that
/// datafusion-pg-catalog looks up) is described as `regclass`.
pub fn typed_regclass_literals(sql: &str) -> Cow<'_, str> {
    if !sql.to_ascii_lowercase().contains("regclass") {
        return Cow::Borrowed(sql);
    }
    let all = tokens(sql);
    let solid: Vec<usize> = (0..all.len()).filter(|&i| !is_space(&all[i])).collect();
    let is_word = |k: usize, w: &str| matches!(solid.get(k).map(|&i| &all[i]), Some(Token::Word(x)) if x.value.eq_ignore_ascii_case(w));
    let is = |k: usize, t: &Token| solid.get(k).map(|&i| &all[i]) == Some(t);
    // `[pg_catalog .] regclass` at solid index k: the index after it.
    let regclass_at = |k: usize| {
        if is_word(k, "regclass") {
            Some(k + 1)
        } else if is_word(k, "pg_catalog")
            && is(k + 1, &Token::Period)
            && is_word(k + 2, "regclass")
        {
            Some(k + 3)
        } else {
            None
        }
    };
    // (first solid index, one past the last) of every literal cast.
    let mut spans: Vec<(usize, usize)> = Vec::new();
    for k in 0..solid.len() {
        let literal = |k: usize| {
            matches!(
                solid.get(k).map(|&i| &all[i]),
                Some(Token::SingleQuotedString(_))
            )
        };
        if literal(k) && is(k + 1, &Token::DoubleColon)
            && let Some(end) = regclass_at(k + 2)
            // Not the operand of CAST(… AS …), handled below.
            && !(k >= 2 && is(k - 1, &Token::LParen) && is_word(k - 2, "cast"))
        {
            spans.push((k, end));
        } else if is_word(k, "cast")
            && is(k + 1, &Token::LParen)
            && literal(k + 2)
            && is_word(k + 3, "as")
            && let Some(end) = regclass_at(k + 4)
            && is(end, &Token::RParen)
        {
            spans.push((k, end + 1));
        }
    }
    if spans.is_empty() {
        return Cow::Borrowed(sql);
    }
    let mut out = String::with_capacity(sql.len() + 32 * spans.len());
    for (k, &i) in solid.iter().enumerate() {
        let start = if k == 0 { 0 } else { solid[k - 1] + 1 };
        all[start..i]
            .iter()
            .for_each(|t| out.push_str(&t.to_string()));
        if spans.iter().any(|(s, _)| *s == k) {
            out.push_str("oid_alias(");
        }
        out.push_str(&all[i].to_string());
        if spans.iter().any(|(_, e)| *e == k + 1) {
            out.push_str(", 'regclass')");
        }
    }
    if let Some(&last) = solid.last() {
        all[last + 1..]
            .iter()
            .for_each(|t| out.push_str(&t.to_string()));
    }
    Cow::Owned(out)
}

/// `'pg_catalog.f'::regproc` (or `::pg_catalog.regproc`) → `'f'`.
pub fn regproc_literals(sql: &str) -> Cow<'_, str> {
    if !sql.to_ascii_lowercase().contains("regproc") {
        return Cow::Borrowed(sql);
    }
    let all = tokens(sql);
    let is_word =
        |t: &Token, w: &str| matches!(t, Token::Word(x) if x.value.eq_ignore_ascii_case(w));
    let mut out = String::with_capacity(sql.len());
    let mut i = 0;
    let mut changed = false;
    while i < all.len() {
        if let Token::SingleQuotedString(name) = &all[i]
            && matches!(all.get(i + 1), Some(Token::DoubleColon))
        {
            let end = if all.get(i + 2).is_some_and(|t| is_word(t, "regproc")) {
                Some(i + 2)
            } else if all.get(i + 2).is_some_and(|t| is_word(t, "pg_catalog"))
                && matches!(all.get(i + 3), Some(Token::Period))
                && all.get(i + 4).is_some_and(|t| is_word(t, "regproc"))
            {
                Some(i + 4)
            } else {
                None
            };
            if let Some(end) = end {
                let bare = name.strip_prefix("pg_catalog.").unwrap_or(name);
                out.push_str(&Token::SingleQuotedString(bare.to_string()).to_string());
                i = end + 1;
                changed = true;
                continue;
            }
        }
        out.push_str(&all[i].to_string());
        i += 1;
    }
    if changed {
        Cow::Owned(out)
    } else {
        Cow::Borrowed(sql)
    }
}

/// `sql` with Grafana's search-path subquery replaced by the schemas of
/// `search_path` (with `"$user"` standing for `user`).
pub fn rewrite<'a>(sql: &'a str, search_path: &str, user: &str) -> Cow<'a, str> {
    if !sql.contains("search_path") || !sql.contains("generate_series") {
        return Cow::Borrowed(sql);
    }
    let all = tokens(sql);
    let solid: Vec<usize> = (0..all.len()).filter(|&i| !is_space(&all[i])).collect();
    let pattern = &*PATTERN;
    let Some(start) = (0..solid.len().saturating_sub(pattern.len() - 1))
        .find(|&k| (0..pattern.len()).all(|j| all[solid[k + j]] == pattern[j]))
    else {
        return Cow::Borrowed(sql);
    };
    let first = solid[start];
    let last = solid[start + pattern.len() - 1];
    let schemas: Vec<String> = search_path
        .split(',')
        .map(|s| s.trim())
        .filter(|s| !s.is_empty())
        .map(|s| {
            if s == "\"$user\"" {
                user
            } else {
                s.trim_matches('"')
            }
        })
        .map(|s| format!("'{}'", s.replace('\'', "''")))
        .collect();
    // Grafana writes `IN (<subquery>)`: a list of literals in its place
    // also plans where a subquery cannot (inside CASE, in Grafana 12).
    let answer = if schemas.is_empty() {
        "NULL".to_string()
    } else {
        schemas.join(", ")
    };
    let mut out = String::with_capacity(sql.len());
    for t in &all[..first] {
        out.push_str(&t.to_string());
    }
    out.push_str(&answer);
    for t in &all[last + 1..] {
        out.push_str(&t.to_string());
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grafanas_search_path_subquery_becomes_its_answer() {
        let sql = r#"select quote_ident(table_name) as "table" from information_schema.tables
  where quote_ident(table_schema) not in ('information_schema', 'pg_catalog')
  and quote_ident(table_schema) IN (SELECT CASE WHEN trim(s[i]) = '"$user"' THEN user ELSE trim(s[i]) END
      FROM generate_series(array_lower(string_to_array(current_setting('search_path'),','),1),
                           array_upper(string_to_array(current_setting('search_path'),','),1)) as i,
           string_to_array(current_setting('search_path'),',') s)"#;
        let out = rewrite(sql, "\"$user\", public", "oko");
        assert!(out.contains("IN ('oko', 'public')"), "{out}");
        assert!(out.starts_with("select quote_ident(table_name)"));
        assert_eq!(rewrite("SELECT 1", "public", "oko"), "SELECT 1");
    }

    #[test]
    fn like_escapes_become_backslashes() {
        let out = like_escapes("SELECT 1 WHERE n NOT LIKE 'pg/_%' ESCAPE '/'");
        assert_eq!(out, "SELECT 1 WHERE n NOT LIKE 'pg\\_%' ESCAPE '\\'");
        assert_eq!(like_escapes("SELECT 'ESCAPE'"), "SELECT 'ESCAPE'");
        let out = like_escapes("SELECT 1 WHERE n NOT LIKE 'pg/_' || '%' ESCAPE '/'");
        assert_eq!(out, "SELECT 1 WHERE n NOT LIKE 'pg\\_' || '%' ESCAPE '\\'");
    }

    fn rewritten(sql: &str) -> String {
        let mut s = Parser::parse_sql(&PostgreSqlDialect {}, sql)
            .unwrap()
            .remove(0);
        rewrite_statement(&mut s);
        s.to_string()
    }

    #[test]
    fn correlated_scalar_subqueries_are_aggregated() {
        let out = rewritten(
            "SELECT CASE WHEN a.atthasdef THEN (SELECT pg_get_expr(d.adbin, d.adrelid) \
             FROM pg_attrdef d WHERE a.atthasdef AND d.adrelid = a.attrelid) END AS x, \
             (SELECT max(t.oid) FROM pg_type t WHERE t.oid = a.atttypid) AS y, \
             (SELECT t.typname FROM pg_type t WHERE t.oid = 23) AS z FROM pg_attribute a",
        );
        assert!(
            out.contains(
                "CASE WHEN a.atthasdef THEN CASE WHEN (a.atthasdef) THEN \
                 (SELECT first_value(pg_get_expr(d.adbin, d.adrelid)) FROM pg_attrdef d \
                 WHERE d.adrelid = a.attrelid) END END"
            ),
            "{out}"
        );
        assert!(out.contains("(SELECT max(t.oid) FROM"), "{out}");
        assert!(
            out.contains("(SELECT t.typname FROM pg_type t WHERE t.oid = 23)"),
            "{out}"
        );
        let out = rewritten(
            "SELECT CASE WHEN a.attidentity != '' THEN (SELECT json_build_object('always', \
             a.attidentity = 'a', 'start', s.seqstart) FROM pg_sequence s \
             WHERE a.attidentity != '' AND s.seqrelid = a.attrelid) END FROM pg_attribute a",
        );
        for part in [
            "first_value(json_build_object('always', oko_outer_0.v = 'a', 'start', s.seqstart))",
            "(SELECT DISTINCT oko_outer_0_t.attidentity AS v FROM pg_attribute AS oko_outer_0_t) \
             AS oko_outer_0",
            "WHERE s.seqrelid = a.attrelid AND oko_outer_0.v = a.attidentity",
        ] {
            assert!(out.contains(part), "{part} in {out}");
        }
        let out = rewritten(
            "SELECT col_description(CAST(CAST(format('%I.%I', c.s, c.t) AS TEXT) AS REGCLASS), 1), \
             CAST(c.oid AS regclass), (SELECT CAST(concat(x.a) AS regclass) FROM x) FROM c",
        );
        assert!(
            out.contains(
                "col_description((SELECT first_value(oko_regclass.oid) FROM (SELECT r.oid AS oid, \
                 quote_ident(n.nspname) || '.' || quote_ident(r.relname) AS name"
            ),
            "{out}"
        );
        assert!(
            out.contains("WHERE oko_regclass.name = CAST(format('%I.%I', c.s, c.t) AS TEXT)), 1)"),
            "{out}"
        );
        assert!(
            out.contains("oid_alias(CAST(c.oid AS REGCLASS), 'regclass')"),
            "{out}"
        );
        assert!(
            out.contains("(SELECT oid_alias(CAST(concat(x.a) AS REGCLASS), 'regclass') FROM x)"),
            "{out}"
        );
        let out = rewritten("SELECT c.relnamespace::oid FROM pg_class c");
        assert!(
            out.contains("oid_alias(c.relnamespace::oid, 'oid')"),
            "{out}"
        );
        let out = rewritten("SELECT t.oid FROM pg_type t WHERE t.oid = any($2::oid[])");
        assert!(
            out.contains("ANY(oid_array(CAST($2 AS INT[]), 'oid'))"),
            "{out}"
        );
        let statement = Parser::parse_sql(&PostgreSqlDialect {}, &out)
            .unwrap()
            .remove(0);
        assert_eq!(
            oid_array_parameters(&statement),
            vec![(1, "oid".to_string())]
        );
        let out = rewritten("SELECT (r.keys).x, (unnest(k)).n, r.a[1] FROM r");
        assert!(out.contains("(r.keys).'x'"), "{out}");
        assert!(out.contains("r.a[1]"), "{out}");
    }

    #[test]
    fn asyncpgs_domain_base_lookup_is_the_base_type() {
        let intro = format!(
            "SELECT t.oid, (CASE WHEN t.typtype = 'd' THEN {ASYNCPG_DOMAIN_BASE} ELSE NULL END) \
             AS basetype FROM pg_type t"
        );
        let out = asyncpg_domain_bases(&intro);
        assert_eq!(
            out,
            "SELECT t.oid, (CASE WHEN t.typtype = 'd' THEN t.typbasetype ELSE NULL END) \
             AS basetype FROM pg_type t"
        );
    }

    #[test]
    fn pg_expandarray_becomes_a_set() {
        let sql = "SELECT (information_schema._pg_expandarray(i.indkey)).n AS KEY_SEQ, \
                   information_schema._pg_expandarray(i.indkey) AS KEYS FROM pg_index i";
        let out = expand_arrays(sql);
        assert_eq!(
            out,
            "SELECT (unnest(_pg_expandarray(i.indkey))).n AS KEY_SEQ, \
             unnest(_pg_expandarray(i.indkey)) AS KEYS FROM pg_index i"
        );
        assert_eq!(expand_arrays("SELECT 1"), "SELECT 1");
        let out =
            expand_arrays("SELECT unnest(i.indkey) AS a, generate_subscripts(i.indkey, 1) AS o");
        assert_eq!(
            out,
            "SELECT unnest(i.indkey) AS a, unnest(generate_subscripts(i.indkey, 1)) AS o"
        );
    }

    #[test]
    fn a_bound_like_pattern_is_converted_when_it_has_its_value() {
        let sql = "SELECT nspname FROM pg_namespace \
                   WHERE (nspname NOT LIKE $1::VARCHAR || '%' ESCAPE '/') ORDER BY 1";
        let out = like_escapes(sql);
        assert!(
            out.contains("NOT LIKE like_escape($1::VARCHAR || '%', '/') ESCAPE '\\') ORDER BY 1"),
            "{out}"
        );
    }

    #[test]
    fn regclass_literals_are_described_as_regclass() {
        let out = typed_regclass_literals(
            "SELECT CAST('leads' AS regclass) AS r, 'pg_class'::pg_catalog.regclass, \
             CAST(x AS regclass) FROM t",
        );
        assert_eq!(
            out,
            "SELECT oid_alias(CAST('leads' AS regclass), 'regclass') AS r, \
             oid_alias('pg_class'::pg_catalog.regclass, 'regclass'), CAST(x AS regclass) FROM t"
        );
        assert_eq!(typed_regclass_literals("SELECT 1"), "SELECT 1");
    }

    #[test]
    fn regproc_literals_become_function_names() {
        let sql = "SELECT typinput='pg_catalog.array_in'::regproc AS is_array, \
                   typoutput = 'record_out'::pg_catalog.regproc FROM pg_type";
        let out = regproc_literals(sql);
        assert!(out.contains("typinput='array_in' AS is_array"), "{out}");
        assert!(out.contains("typoutput = 'record_out' FROM"), "{out}");
        assert_eq!(regproc_literals("SELECT 'x'::text"), "SELECT 'x'::text");
    }
}
