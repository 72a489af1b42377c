//! Output columns named as PostgreSQL names them.
//!
//! Clients read columns by name, and DataFusion names an unaliased column
//! after its expression (`count(*)`, `max(lead_facts.score)`, `Int64(1)`).
//! PostgreSQL names it by `FigureColname` (parser/parse_target.c): a column
//! reference by its column, a function call by the function, a cast by
//! what it casts (or, for a constant, by the type), `CASE` by its `ELSE`
//! (or `case`), a scalar subquery by its own first column, and anything
//! else `?column?`. PostgreSQL allows two output columns with one name
//! (`SELECT count(*), count(x)`), DataFusion does not, so the name travels
//! in the output field's metadata ([`PG_NAME`]) and the wire description
//! reads it from there ([`crate::server::encode::fields`]); the plan keeps
//! its own unique names.

use std::collections::HashMap;
use std::sync::Arc;

use datafusion::arrow::datatypes::{Field, Schema};
use datafusion::common::Column;
use datafusion::common::metadata::FieldMetadata;
use datafusion::logical_expr::{Expr, LogicalPlan, Projection};
use datafusion::sql::sqlparser::ast::{
    AccessExpr, ArrayElemTypeDef, DataType, ExactNumberInfo, Expr as SqlExpr, Ident, Query,
    SelectItem, SetExpr, Statement, TimezoneInfo, TrimWhereField,
};

/// The field metadata key that holds a column's PostgreSQL name.
pub const PG_NAME: &str = "oko.pg_name";

/// `plan` (of `statement`) with its output columns carrying PostgreSQL's
/// names, where they differ from DataFusion's. Statements other than
/// queries, and plans whose columns cannot be matched to the select list,
/// are returned as they are.
pub fn name_columns(statement: &Statement, plan: LogicalPlan) -> LogicalPlan {
    let Statement::Query(query) = statement else {
        return plan;
    };
    let Some(items) = select_items(query) else {
        return plan;
    };
    let schema = plan.schema().clone();
    let count = schema.fields().len();
    let names = match_columns(&items, count);
    if names
        .iter()
        .zip(schema.fields())
        .all(|(n, f)| n.as_deref().is_none_or(|n| n == f.name()))
    {
        return plan;
    }
    let exprs: Vec<Expr> = schema
        .iter()
        .zip(names)
        .map(|((qualifier, field), name)| {
            let column = Expr::Column(Column::from((qualifier, field)));
            match name {
                Some(name) if name != *field.name() => {
                    let mut metadata: HashMap<String, String> = field.metadata().clone();
                    metadata.insert(PG_NAME.to_string(), name);
                    column.alias_qualified_with_metadata(
                        qualifier.cloned(),
                        field.name(),
                        Some(FieldMetadata::from(metadata)),
                    )
                }
                _ => column,
            }
        })
        .collect();
    match Projection::try_new(exprs, Arc::new(plan.clone())) {
        Ok(p) => LogicalPlan::Projection(p),
        Err(_) => plan,
    }
}

/// Plans `statement` in `state` with PostgreSQL's column names
/// ([`name_columns`]). A select list PostgreSQL accepts with two columns of
/// one name (`SELECT count(*), count(*)`, `SELECT current_user,
/// session_user`), which DataFusion refuses, is planned with unique
/// aliases and then named as PostgreSQL names it.
pub async fn plan(
    state: &datafusion::execution::SessionState,
    statement: Statement,
) -> datafusion::common::Result<LogicalPlan> {
    use datafusion::sql::parser::Statement as DfStatement;
    if let Some(explained) = json_explain(state, &statement).await? {
        return Ok(explained);
    }
    let planned = state
        .statement_to_plan(DfStatement::Statement(Box::new(statement.clone())))
        .await;
    let plan = match planned {
        Err(e) if is_duplicate_name(&e) => match unique_aliases(&statement) {
            Some(aliased) => {
                state
                    .statement_to_plan(DfStatement::Statement(Box::new(aliased)))
                    .await?
            }
            None => return Err(e),
        },
        other => other?,
    };
    Ok(name_columns(&statement, plan))
}

/// `EXPLAIN (FORMAT JSON) query` (without `ANALYZE`): the plan in
/// PostgreSQL's JSON form (DataFusion's `pgjson`, `[{"Plan": {…}}]`).
/// DataFusion reads `FORMAT` only in its own syntax and would answer text.
async fn json_explain(
    state: &datafusion::execution::SessionState,
    statement: &Statement,
) -> datafusion::common::Result<Option<LogicalPlan>> {
    use datafusion::common::format::ExplainFormat;
    use datafusion::logical_expr::{ExplainOption, LogicalPlanBuilder};
    use datafusion::sql::parser::Statement as DfStatement;
    use datafusion::sql::sqlparser::ast::{AnalyzeFormat, AnalyzeFormatKind, Expr as SqlExpr};

    let Statement::Explain {
        statement: inner,
        analyze: false,
        verbose,
        format,
        options,
        ..
    } = statement
    else {
        return Ok(None);
    };
    let by_option = options.iter().flatten().any(|o| {
        o.name.value.eq_ignore_ascii_case("format")
            && matches!(&o.arg, Some(SqlExpr::Identifier(i)) if i.value.eq_ignore_ascii_case("json"))
    });
    let by_keyword = matches!(
        format,
        Some(AnalyzeFormatKind::Keyword(AnalyzeFormat::JSON))
            | Some(AnalyzeFormatKind::Assignment(AnalyzeFormat::JSON))
    );
    if !(by_option || by_keyword) {
        return Ok(None);
    }
    let planned = state
        .statement_to_plan(DfStatement::Statement(inner.clone()))
        .await?;
    let explained = LogicalPlanBuilder::from(planned)
        .explain_option_format(ExplainOption {
            verbose: *verbose,
            analyze: false,
            format: ExplainFormat::PostgresJSON,
            ..Default::default()
        })?
        .build()?;
    Ok(Some(explained))
}

/// `plan` with its output typed as it will run: the analyzer (type
/// coercion, [`super::literals`], [`super::casts`]) can change the type of
/// an output column (`SELECT 1` is planned `bigint`, runs `integer`), and a
/// prepared statement is described before it runs. Where the analyzed plan's
/// types differ, a projection casts the plan's columns to them, so the
/// description and the rows agree. A plan the analyzer cannot check yet
/// (parameters of unknown type) is returned as it is.
pub fn settle_types(state: &datafusion::execution::SessionState, plan: LogicalPlan) -> LogicalPlan {
    if !matches!(
        plan,
        LogicalPlan::Projection(_)
            | LogicalPlan::Aggregate(_)
            | LogicalPlan::Sort(_)
            | LogicalPlan::Limit(_)
            | LogicalPlan::Filter(_)
            | LogicalPlan::Union(_)
            | LogicalPlan::Distinct(_)
            | LogicalPlan::Window(_)
            | LogicalPlan::Join(_)
            | LogicalPlan::SubqueryAlias(_)
            | LogicalPlan::Values(_)
            | LogicalPlan::Unnest(_)
    ) {
        return plan;
    }
    let Ok(analyzed) =
        state
            .analyzer()
            .execute_and_check(plan.clone(), state.config_options(), |_, _| {})
    else {
        return plan;
    };
    let before = plan.schema().clone();
    let after = analyzed.schema();
    if before.fields().len() != after.fields().len()
        || before
            .fields()
            .iter()
            .zip(after.fields())
            .all(|(b, a)| b.data_type() == a.data_type())
    {
        return plan;
    }
    let exprs: Vec<Expr> = before
        .iter()
        .zip(after.fields())
        .map(|((qualifier, field), settled)| {
            let column = Expr::Column(Column::from((qualifier, field)));
            if field.data_type() == settled.data_type() {
                column
            } else {
                let target = Arc::new(
                    field
                        .as_ref()
                        .clone()
                        .with_data_type(settled.data_type().clone()),
                );
                Expr::Cast(datafusion::logical_expr::Cast {
                    expr: Box::new(column),
                    field: target,
                })
                .alias_qualified(qualifier.cloned(), field.name())
            }
        })
        .collect();
    match Projection::try_new(exprs, Arc::new(plan.clone())) {
        Ok(p) => LogicalPlan::Projection(p),
        Err(_) => plan,
    }
}

/// DataFusion's refusal of two output columns with one name.
fn is_duplicate_name(e: &datafusion::common::DataFusionError) -> bool {
    let m = e.to_string();
    m.contains("require unique expression names") || m.contains("Schema contains duplicate")
}

/// The statement with every item of its select lists aliased uniquely
/// (`oko_column_<n>`); `None` when it is not a query.
fn unique_aliases(statement: &Statement) -> Option<Statement> {
    let mut statement = statement.clone();
    let Statement::Query(query) = &mut statement else {
        return None;
    };
    let mut pending = vec![query.body.as_mut()];
    while let Some(body) = pending.pop() {
        match body {
            SetExpr::Select(select) => {
                for (i, item) in select.projection.iter_mut().enumerate() {
                    let alias = Ident::new(format!("oko_column_{}", i + 1));
                    match item {
                        SelectItem::UnnamedExpr(e) => {
                            *item = SelectItem::ExprWithAlias {
                                expr: e.clone(),
                                alias,
                            }
                        }
                        SelectItem::ExprWithAlias { alias: a, .. } => *a = alias,
                        _ => {}
                    }
                }
            }
            SetExpr::Query(q) => pending.push(q.body.as_mut()),
            SetExpr::SetOperation { left, right, .. } => {
                pending.push(left.as_mut());
                pending.push(right.as_mut());
            }
            _ => {}
        }
    }
    Some(statement)
}

/// `schema` with every field named by its [`PG_NAME`], for describing it
/// to a client (two fields may then share a name).
pub fn described(schema: &Schema) -> Option<Schema> {
    if !schema
        .fields()
        .iter()
        .any(|f| f.metadata().contains_key(PG_NAME))
    {
        return None;
    }
    let fields: Vec<Field> = schema
        .fields()
        .iter()
        .map(|f| match f.metadata().get(PG_NAME) {
            Some(name) => f.as_ref().clone().with_name(name),
            None => f.as_ref().clone(),
        })
        .collect();
    Some(Schema::new_with_metadata(fields, schema.metadata().clone()))
}

/// The select list that names a query's columns: a set operation's first
/// branch, as in PostgreSQL.
fn select_items(query: &Query) -> Option<Vec<Option<String>>> {
    let mut body = query.body.as_ref();
    loop {
        match body {
            SetExpr::Select(select) => {
                return Some(select.projection.iter().map(item_name).collect());
            }
            SetExpr::Query(q) => body = q.body.as_ref(),
            SetExpr::SetOperation { left, .. } => body = left.as_ref(),
            _ => return None,
        }
    }
}

/// The name of one select item; `None` for a wildcard, whose columns keep
/// their (column) names.
pub(crate) fn item_name(item: &SelectItem) -> Option<String> {
    match item {
        SelectItem::UnnamedExpr(e) => Some(figure(e).0.unwrap_or_else(|| "?column?".into())),
        SelectItem::ExprWithAlias { alias, .. } => Some(ident(alias)),
        _ => None,
    }
}

/// The items' names placed on `count` output columns: all of them when
/// there is no wildcard; otherwise those before the first wildcard and after
/// the last (a wildcard's width is the plan's business).
fn match_columns(items: &[Option<String>], count: usize) -> Vec<Option<String>> {
    let mut out = vec![None; count];
    let wildcards = items.iter().filter(|i| i.is_none()).count();
    if wildcards == 0 {
        if items.len() == count {
            return items.to_vec();
        }
        return out;
    }
    let head = items.iter().take_while(|i| i.is_some()).count();
    let tail = items.iter().rev().take_while(|i| i.is_some()).count();
    if head + tail > count {
        return out;
    }
    out[..head].clone_from_slice(&items[..head]);
    out[count - tail..].clone_from_slice(&items[items.len() - tail..]);
    out
}

/// An identifier as PostgreSQL folds it: unquoted to lower case.
fn ident(id: &Ident) -> String {
    if id.quote_style.is_some() {
        id.value.clone()
    } else {
        id.value.to_lowercase()
    }
}

/// `FigureColnameInternal`: the name and its strength (2 a column or
/// function, 1 a fallback a cast may override, 0 none).
fn figure(expr: &SqlExpr) -> (Option<String>, u8) {
    let strong = |s: &str| (Some(s.to_string()), 2);
    match expr {
        SqlExpr::Identifier(id) => (Some(ident(id)), 2),
        SqlExpr::CompoundIdentifier(ids) => (ids.last().map(ident), 2),
        SqlExpr::Nested(e) | SqlExpr::Collate { expr: e, .. } => figure(e),
        SqlExpr::Function(f) => {
            let name = f.name.0.last().map(|p| match p.as_ident() {
                Some(id) => ident(id),
                None => p.to_string().to_lowercase(),
            });
            match name.as_deref() {
                // `ARRAY(SELECT …)` parses as a call.
                Some("array") => strong("array"),
                // A cast to an oid alias, and its text, as compat wrote them
                // (`x::regclass`, `x::regclass::text`): named as the cast.
                Some(kind @ ("oid_alias" | "oid_array" | "oid_text")) => {
                    match crate::pg_compat::compat::oid_alias_parts(f) {
                        Some((x, _)) if !matches!(x, SqlExpr::Subquery(_)) => figure(x),
                        Some((_, alias)) if kind != "oid_text" => (Some(alias), 1),
                        _ => (Some("text".into()), 1),
                    }
                }
                // A set in a select list, as compat::sets wrote it.
                Some("unnest") => match set_argument(f) {
                    Some(inner) => strong(&inner),
                    None => strong("unnest"),
                },
                Some(n) => strong(n),
                None => (None, 0),
            }
        }
        SqlExpr::Cast {
            expr, data_type, ..
        } => match figure(expr) {
            (name, 2) => (name, 2),
            _ => (Some(type_name(data_type)), 1),
        },
        SqlExpr::TypedString(t) => (Some(type_name(&t.data_type)), 1),
        SqlExpr::Interval(_) => (Some("interval".into()), 1),
        SqlExpr::Case { else_result, .. } => match else_result.as_deref().map(figure) {
            Some((name, 2)) => (name, 2),
            _ => (Some("case".into()), 1),
        },
        SqlExpr::Subquery(q) => match select_items(q).and_then(|i| i.into_iter().next()) {
            Some(Some(name)) if name != "?column?" => (Some(name), 2),
            _ => (None, 0),
        },
        // (`NOT EXISTS …` is an operator's answer: `?column?`.)
        SqlExpr::Exists { negated: false, .. } => strong("exists"),
        SqlExpr::Array(_) => strong("array"),
        SqlExpr::Tuple(_) => strong("row"),
        SqlExpr::Extract { .. } => strong("extract"),
        SqlExpr::Substring { shorthand, .. } => {
            strong(if *shorthand { "substr" } else { "substring" })
        }
        SqlExpr::Position { .. } => strong("position"),
        SqlExpr::Overlay { .. } => strong("overlay"),
        SqlExpr::Ceil { .. } => strong("ceil"),
        SqlExpr::Floor { .. } => strong("floor"),
        SqlExpr::AtTimeZone { .. } => strong("timezone"),
        SqlExpr::BinaryOp {
            op: datafusion::sql::sqlparser::ast::BinaryOperator::Overlaps,
            ..
        } => strong("overlaps"),
        SqlExpr::Trim { trim_where, .. } => strong(match trim_where {
            Some(TrimWhereField::Leading) => "ltrim",
            Some(TrimWhereField::Trailing) => "rtrim",
            _ => "btrim",
        }),
        SqlExpr::CompoundFieldAccess { root, access_chain } => match access_chain.last() {
            Some(AccessExpr::Dot(SqlExpr::Identifier(id))) => (Some(ident(id)), 2),
            Some(AccessExpr::Dot(_)) => (None, 0),
            _ => figure(root),
        },
        _ => (None, 0),
    }
}

/// `unnest(generate_series(…))` (or another of `LIST_SETS`): the set function's name (the form
/// [`crate::pg_compat::compat`] gives `generate_series(…)` in a select list).
fn set_argument(f: &datafusion::sql::sqlparser::ast::Function) -> Option<String> {
    use datafusion::sql::sqlparser::ast::{FunctionArg, FunctionArgExpr, FunctionArguments};
    let FunctionArguments::List(list) = &f.args else {
        return None;
    };
    match list.args.as_slice() {
        [FunctionArg::Unnamed(FunctionArgExpr::Expr(SqlExpr::Function(inner)))] => {
            let name = inner.name.to_string().to_lowercase();
            crate::pg_compat::compat::LIST_SETS
                .contains(&name.as_str())
                .then_some(name)
        }
        _ => None,
    }
}

/// A type's name as PostgreSQL's grammar records it (`int` is `int4`,
/// `double precision` is `float8`); an array by its element's name.
fn type_name(t: &DataType) -> String {
    let name = match t {
        DataType::Int(_) | DataType::Integer(_) | DataType::Int4(_) => "int4",
        DataType::BigInt(_) | DataType::Int8(_) => "int8",
        DataType::SmallInt(_) | DataType::Int2(_) => "int2",
        DataType::Real | DataType::Float4 => "float4",
        DataType::Float(
            ExactNumberInfo::Precision(p) | ExactNumberInfo::PrecisionAndScale(p, _),
        ) if *p <= 24 => "float4",
        DataType::Double(_) | DataType::DoublePrecision | DataType::Float8 | DataType::Float(_) => {
            "float8"
        }
        DataType::Numeric(_) | DataType::Decimal(_) | DataType::Dec(_) => "numeric",
        DataType::Boolean | DataType::Bool => "bool",
        DataType::Text | DataType::String(_) => "text",
        DataType::Varchar(_) | DataType::CharacterVarying(_) | DataType::CharVarying(_) => {
            "varchar"
        }
        DataType::Char(_) | DataType::Character(_) => "bpchar",
        DataType::Date => "date",
        DataType::Timestamp(_, TimezoneInfo::WithTimeZone | TimezoneInfo::Tz) => "timestamptz",
        DataType::Timestamp(_, _) => "timestamp",
        DataType::Time(_, TimezoneInfo::WithTimeZone | TimezoneInfo::Tz) => "timetz",
        DataType::Time(_, _) => "time",
        DataType::Interval { .. } => "interval",
        DataType::JSON => "json",
        DataType::JSONB => "jsonb",
        DataType::Bytea => "bytea",
        DataType::Uuid => "uuid",
        DataType::Array(
            ArrayElemTypeDef::AngleBracket(e)
            | ArrayElemTypeDef::SquareBracket(e, _)
            | ArrayElemTypeDef::Parenthesis(e),
        ) => return type_name(e),
        DataType::Custom(name, _) => {
            return name
                .0
                .last()
                .and_then(|p| p.as_ident().map(ident))
                .unwrap_or_else(|| name.to_string().to_lowercase());
        }
        other => return other.to_string().to_lowercase(),
    };
    name.to_string()
}

#[cfg(test)]
mod tests {
    use datafusion::sql::sqlparser::dialect::PostgreSqlDialect;
    use datafusion::sql::sqlparser::parser::Parser;

    use super::*;

    fn names(sql: &str) -> Vec<Option<String>> {
        let s = Parser::parse_sql(&PostgreSqlDialect {}, sql)
            .unwrap()
            .remove(0);
        let Statement::Query(q) = s else {
            panic!("not a query")
        };
        select_items(&q).unwrap()
    }

    fn one(sql: &str) -> String {
        names(sql).remove(0).unwrap()
    }

    #[test]
    fn columns_are_named_as_postgresql_names_them() {
        // Each expected name is what PostgreSQL 15 answers.
        for (sql, name) in [
            ("SELECT 1", "?column?"),
            ("SELECT ''", "?column?"),
            ("SELECT count(*) FROM t", "count"),
            ("SELECT max(t.score) FROM t", "max"),
            ("SELECT now()", "now"),
            ("SELECT pg_catalog.now()", "now"),
            ("SELECT score FROM t", "score"),
            ("SELECT t.Score FROM t", "score"),
            ("SELECT \"Score\" FROM t", "Score"),
            ("SELECT score + 1 FROM t", "?column?"),
            ("SELECT score::text FROM t", "score"),
            ("SELECT '1'::int", "int4"),
            ("SELECT CAST(1 AS double precision)", "float8"),
            ("SELECT 1::numeric(10,2)", "numeric"),
            ("SELECT '{a}'::text[]", "text"),
            ("SELECT DATE '2024-01-01'", "date"),
            ("SELECT interval '1 day'", "interval"),
            ("SELECT '2024-01-01'::timestamptz", "timestamptz"),
            ("SELECT CASE WHEN a THEN 1 END FROM t", "case"),
            ("SELECT CASE WHEN a THEN 1 ELSE b END FROM t", "b"),
            ("SELECT (CASE WHEN a THEN 1 END)::text FROM t", "text"),
            ("SELECT (SELECT max(x) FROM u) FROM t", "max"),
            ("SELECT (SELECT 1) FROM t", "?column?"),
            ("SELECT EXISTS (SELECT 1)", "exists"),
            ("SELECT ARRAY[1, 2]", "array"),
            ("SELECT ARRAY(SELECT 1)", "array"),
            ("SELECT coalesce(a, 1) FROM t", "coalesce"),
            ("SELECT extract(year FROM d) FROM t", "extract"),
            ("SELECT trim(a) FROM t", "btrim"),
            ("SELECT substring(a FROM 2) FROM t", "substring"),
            ("SELECT d AT TIME ZONE 'UTC' FROM t", "timezone"),
            ("SELECT tags[1] FROM t", "tags"),
            ("SELECT a IS NULL FROM t", "?column?"),
            ("SELECT rank() OVER (ORDER BY a) FROM t", "rank"),
            ("SELECT count(*) AS n FROM t", "n"),
            ("SELECT 1 AS \"N\"", "N"),
            ("SELECT 1 UNION SELECT 2 AS x", "?column?"),
            ("(SELECT a FROM t) UNION ALL SELECT 2", "a"),
        ] {
            assert_eq!(one(sql), name, "{sql}");
        }
    }

    #[test]
    fn wildcards_keep_their_columns_and_fix_the_rest() {
        let items = names("SELECT 1, *, count(*) FROM t");
        assert_eq!(
            match_columns(&items, 4),
            vec![Some("?column?".into()), None, None, Some("count".into())]
        );
        assert_eq!(match_columns(&names("SELECT 1, 2"), 3), vec![None; 3]);
    }
}
