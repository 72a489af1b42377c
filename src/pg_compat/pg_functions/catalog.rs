//! The catalog functions of psql's `\d` family and of drivers'
//! introspection that answer from the catalog itself
//! ([`crate::pg_compat::pg_catalog::CatalogIndex`]):
//!
//! - `pg_get_viewdef(view [, pretty])`: the view's SQL as it was written
//!   (`\d+ view`), the way PostgreSQL shows it (` SELECT …;`);
//! - `pg_table_size`, `pg_relation_size`, `pg_total_relation_size`,
//!   `pg_indexes_size`, `pg_database_size`: the bytes of the data files of
//!   a table's current Delta snapshot (a view, an index-less table's
//!   indexes: 0); `pg_size_pretty(bigint | numeric)` writes them as
//!   PostgreSQL does (`\dt+`, `\dv+`, `\l+`);
//! - `pg_table_is_visible`, `pg_type_is_visible`, `pg_function_is_visible`,
//!   `pg_operator_is_visible`, …: whether the object's schema is
//!   `pg_catalog` or on the session's `search_path` (`\df`, `\dT`,
//!   SQLAlchemy's `get_enums`);
//! - `pg_get_function_arguments`, `pg_get_function_identity_arguments`,
//!   `pg_get_function_result` (`\df`), `format_type` (for every type of
//!   `pg_type`, row types too);
//! - `oid_text(oid, kind)`: `x::regclass::text` and the like
//!   ([`crate::pg_compat::compat`]), the object's name;
//!   `pg_get_userbyid(oid)` for any integer type: `oko`, the service,
//!   which owns every relation, schema and function (their owner oid is
//!   PostgreSQL's bootstrap role's, 10);
//! - `pg_get_function_sqlbody`, `pg_get_ruledef`, `pg_get_triggerdef`,
//!   `shobj_description`, `pg_tablespace_location`: NULL or empty, as for
//!   an object without one.
//!
//! An oid that names nothing gives NULL, as in PostgreSQL; a relation given
//! by name (`pg_table_size('leads')`) is looked up as a `regclass` is.
//! A tenant-bound user's tables are that tenant's rows of shared Delta
//! tables, so their size is not that user's to see: NULL.

use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, BooleanBuilder, Int64Builder, StringBuilder};
use datafusion::arrow::datatypes::DataType;
use datafusion::catalog::CatalogProviderList;
use datafusion::catalog::view::ViewTable;
use datafusion::common::{Result, ScalarValue};
use datafusion::logical_expr::{
    ColumnarValue, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature, TypeSignature,
    Volatility,
};
use datafusion::prelude::SessionContext;
use datafusion::sql::sqlparser::dialect::PostgreSqlDialect;
use datafusion::sql::sqlparser::keywords::Keyword;
use datafusion::sql::sqlparser::tokenizer::{Token, Tokenizer};

mod names;
mod size;

use names::{arguments, format_type, oid_text, result};
use size::size_pretty;

use super::answer;
use crate::pg_compat::pg_catalog::{CatalogIndex, Kind, Relation};
use crate::pg_compat::vars::Vars;
use crate::sqlstate::{code, coded};

/// Registers the functions of this module in `ctx`, answering from the
/// catalog `ctx` has (or will have) and its connection's `search_path`.
pub fn register(ctx: &SessionContext) {
    register_in(&mut ctx.state_ref().write());
}

/// [`register`] into a session state: they read the state's catalog list
/// and connection settings (`Vars`), so a state copied for another
/// connection registers them again
/// ([`crate::pg_compat::install_session_functions`]).
pub fn register_in(state: &mut datafusion::execution::SessionState) {
    use datafusion::execution::FunctionRegistry;
    let catalogs = state.catalog_list().clone();
    let vars = state.config().get_extension::<Vars>();
    let visible = [
        ("pg_table_is_visible", Kind::Relation),
        ("pg_type_is_visible", Kind::Type),
        ("pg_function_is_visible", Kind::Function),
        ("pg_operator_is_visible", Kind::Operator),
        ("pg_opclass_is_visible", Kind::Opclass),
        ("pg_opfamily_is_visible", Kind::Opfamily),
        ("pg_conversion_is_visible", Kind::Conversion),
        ("pg_ts_config_is_visible", Kind::TsConfig),
        ("pg_ts_dict_is_visible", Kind::TsDict),
        ("pg_ts_parser_is_visible", Kind::TsParser),
        ("pg_ts_template_is_visible", Kind::TsTemplate),
        ("pg_statistics_obj_is_visible", Kind::StatisticsObject),
    ];
    let mut functions: Vec<(&'static str, Function, usize, usize)> = vec![
        ("pg_size_pretty", Function::SizePretty, 1, 1),
        ("pg_table_size", Function::Size(Size::Table), 1, 1),
        ("pg_relation_size", Function::Size(Size::Relation), 1, 2),
        ("pg_total_relation_size", Function::Size(Size::Total), 1, 1),
        ("pg_indexes_size", Function::Size(Size::Indexes), 1, 1),
        ("pg_database_size", Function::DatabaseSize, 1, 1),
        ("pg_get_viewdef", Function::Viewdef, 1, 2),
        // (The same without defaults, which are not written: see `arguments`.)
        ("pg_get_function_arguments", Function::Arguments, 1, 1),
        (
            "pg_get_function_identity_arguments",
            Function::Arguments,
            1,
            1,
        ),
        ("pg_get_function_result", Function::Result, 1, 1),
        ("format_type", Function::FormatType, 2, 2),
        ("oid_text", Function::OidText, 2, 2),
        ("pg_get_userbyid", Function::UserById, 1, 1),
        ("pg_get_function_sqlbody", Function::Null, 1, 1),
        // OKO's relations have no rules or triggers (psql's `\d+ view` asks).
        ("pg_get_ruledef", Function::Null, 1, 2),
        ("pg_get_triggerdef", Function::Null, 1, 2),
        ("shobj_description", Function::Null, 2, 2),
        ("pg_tablespace_location", Function::Empty, 1, 1),
    ];
    functions.extend(
        visible
            .into_iter()
            .map(|(name, kind)| (name, Function::Visible(kind), 1, 1)),
    );
    for (name, function, min, max) in functions {
        let _ = state.register_udf(Arc::new(ScalarUDF::new_from_impl(CatalogFunction {
            name,
            function,
            signature: Signature::one_of(
                (min..=max).map(TypeSignature::Any).collect(),
                Volatility::Stable,
            ),
            catalogs: catalogs.clone(),
            vars: vars.clone(),
        })));
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Size {
    Table,
    Relation,
    Total,
    Indexes,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Function {
    SizePretty,
    Size(Size),
    DatabaseSize,
    Viewdef,
    Visible(Kind),
    Arguments,
    Result,
    FormatType,
    OidText,
    UserById,
    Null,
    Empty,
}

/// The role every catalog object belongs to.
const OWNER: &str = "oko";

#[derive(Debug)]
struct CatalogFunction {
    name: &'static str,
    function: Function,
    signature: Signature,
    catalogs: Arc<dyn CatalogProviderList>,
    vars: Option<Arc<Vars>>,
}

impl PartialEq for CatalogFunction {
    fn eq(&self, other: &Self) -> bool {
        self.name == other.name
            && Arc::ptr_eq(&self.catalogs, &other.catalogs)
            && match (&self.vars, &other.vars) {
                (Some(a), Some(b)) => Arc::ptr_eq(a, b),
                (a, b) => a.is_none() && b.is_none(),
            }
    }
}
impl Eq for CatalogFunction {}
impl std::hash::Hash for CatalogFunction {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.name.hash(state);
    }
}

impl ScalarUDFImpl for CatalogFunction {
    fn name(&self) -> &str {
        self.name
    }
    fn signature(&self) -> &Signature {
        &self.signature
    }
    fn return_type(&self, _: &[DataType]) -> Result<DataType> {
        Ok(match self.function {
            Function::Size(_) | Function::DatabaseSize => DataType::Int64,
            Function::Visible(_) => DataType::Boolean,
            _ => DataType::Utf8,
        })
    }
    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let scalar = super::all_scalar(&args.args);
        let rows = args.number_rows;
        let arrays = args
            .args
            .iter()
            .map(|a| a.to_array(rows))
            .collect::<Result<Vec<_>>>()?;
        let catalog = &args.config_options.catalog.default_catalog;
        let index = CatalogIndex::of(self.catalogs.as_ref(), catalog);
        let path = search_path(self.vars.as_deref());
        let out: ArrayRef = match self.function {
            Function::SizePretty => size_pretty(&arrays[0])?,
            Function::Size(size) => {
                let mut out = Int64Builder::new();
                for i in 0..rows {
                    let fork = match arrays.get(1) {
                        Some(a) => text(a, i)?,
                        None => Some("main".to_string()),
                    };
                    let relation = relation(index.as_deref(), &arrays[0], i, &path)?;
                    out.append_option(match (relation, fork.as_deref()) {
                        (Some(r), Some("main")) if size != Size::Indexes => relation_bytes(&r),
                        (Some(_), Some(_)) => Some(0),
                        _ => None,
                    });
                }
                Arc::new(out.finish())
            }
            Function::DatabaseSize => {
                let mut out = Int64Builder::new();
                for i in 0..rows {
                    let here = text(&arrays[0], i)?.map(|name| name == *catalog);
                    out.append_option(here.map(|here| {
                        match (&index, here) {
                            (Some(index), true) => index
                                .relations()
                                .iter()
                                .filter_map(relation_bytes)
                                .sum::<i64>(),
                            _ => 0,
                        }
                    }));
                }
                Arc::new(out.finish())
            }
            Function::Viewdef => {
                let mut out = StringBuilder::new();
                for i in 0..rows {
                    let relation = relation(index.as_deref(), &arrays[0], i, &path)?;
                    out.append_option(relation.and_then(|r| viewdef(&r)));
                }
                Arc::new(out.finish())
            }
            Function::Visible(kind) => {
                let mut out = BooleanBuilder::new();
                for i in 0..rows {
                    out.append_option(match (&index, oid(&arrays[0], i)?) {
                        (_, None) => None,
                        // Without OKO's catalog every object is visible.
                        (None, Some(_)) => Some(true),
                        (Some(index), Some(oid)) => index
                            .namespace_of(kind, oid)
                            .map(|n| index.namespace(n).is_some_and(|n| path.contains(&n))),
                    });
                }
                Arc::new(out.finish())
            }
            Function::Arguments => {
                let mut out = StringBuilder::new();
                for i in 0..rows {
                    let text = match (&index, oid(&arrays[0], i)?) {
                        (Some(index), Some(oid)) => arguments(index, oid, &path),
                        _ => None,
                    };
                    out.append_option(text);
                }
                Arc::new(out.finish())
            }
            Function::Result => {
                let mut out = StringBuilder::new();
                for i in 0..rows {
                    let text = match (&index, oid(&arrays[0], i)?) {
                        (Some(index), Some(oid)) => result(index, oid, &path),
                        _ => None,
                    };
                    out.append_option(text);
                }
                Arc::new(out.finish())
            }
            Function::FormatType => {
                let mut out = StringBuilder::new();
                for i in 0..rows {
                    let modifier = oid(&arrays[1], i)?;
                    out.append_option(
                        oid(&arrays[0], i)?
                            .map(|t| format_type(index.as_deref(), t, modifier, &path)),
                    );
                }
                Arc::new(out.finish())
            }
            Function::OidText => {
                let mut out = StringBuilder::new();
                for i in 0..rows {
                    let kind = text(&arrays[1], i)?.unwrap_or_default();
                    out.append_option(
                        oid(&arrays[0], i)?
                            .map(|oid| oid_text(index.as_deref(), oid, &kind, &path)),
                    );
                }
                Arc::new(out.finish())
            }
            // Every object here is owned by the bootstrap superuser
            // (datafusion-pg-catalog's owner), whatever integer type the
            // oid comes as.
            Function::UserById => {
                let mut out = StringBuilder::new();
                for i in 0..rows {
                    out.append_option(oid(&arrays[0], i)?.map(|_| OWNER));
                }
                Arc::new(out.finish())
            }
            Function::Null => Arc::new(StringBuilder::new().finish_with_nulls(rows)),
            Function::Empty => {
                let mut out = StringBuilder::new();
                for i in 0..rows {
                    out.append_option(oid(&arrays[0], i)?.map(|_| ""));
                }
                Arc::new(out.finish())
            }
        };
        answer(out, scalar)
    }
}

/// The items of a text in PostgreSQL's array input (`{a,"b c",NULL}`), for
/// the catalog's `aclitem[]` columns ([`crate::pg_compat::pg_catalog`]).
pub fn array_items(text: &str) -> Result<Vec<Option<String>>> {
    super::arrays::items(text)
}

/// A builder's `rows` NULLs.
trait FinishWithNulls {
    fn finish_with_nulls(self, rows: usize) -> datafusion::arrow::array::StringArray;
}

impl FinishWithNulls for StringBuilder {
    fn finish_with_nulls(mut self, rows: usize) -> datafusion::arrow::array::StringArray {
        (0..rows).for_each(|_| self.append_null());
        self.finish()
    }
}

/// The schemas searched for unqualified names: `pg_catalog`, then the
/// session's `search_path` (`"$user"` names no schema here).
fn search_path(vars: Option<&Vars>) -> Vec<String> {
    let text = vars
        .and_then(|v| v.get("search_path"))
        .unwrap_or_else(|| "\"$user\", public".to_string());
    let mut path = vec!["pg_catalog".to_string()];
    for part in identifiers(&text, ',') {
        if part != "$user" && !path.contains(&part) {
            path.push(part);
        }
    }
    path
}

/// The identifiers of a list separated by `separator`, unquoted (a quoted
/// one as written, a bare one in lower case).
fn identifiers(text: &str, separator: char) -> Vec<String> {
    let mut out = Vec::new();
    let mut current = String::new();
    let mut quoted = false;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' if quoted && chars.peek() == Some(&'"') => {
                chars.next();
                current.push('"');
            }
            '"' => quoted = !quoted,
            c if c == separator && !quoted => {
                out.push(std::mem::take(&mut current).trim().to_string());
            }
            c if quoted => current.push(c),
            c => current.extend(c.to_lowercase()),
        }
    }
    out.push(current.trim().to_string());
    out.into_iter().filter(|s| !s.is_empty()).collect()
}

/// Row `i` of an argument as text (NULL: `None`).
fn text(array: &ArrayRef, i: usize) -> Result<Option<String>> {
    // (A `NullArray` has no validity bitmap: ask the value.)
    let value = ScalarValue::try_from_array(array, i)?;
    Ok((!value.is_null()).then(|| value.to_string()))
}

/// Row `i` of an argument as an oid: a number, or a text holding one.
fn oid(array: &ArrayRef, i: usize) -> Result<Option<i32>> {
    let Some(text) = text(array, i)? else {
        return Ok(None);
    };
    match text.trim().parse::<i64>() {
        // Oids are unsigned in PostgreSQL; OKO keeps them in an int4.
        Ok(n) => Ok(Some(n as i32)),
        Err(_) => Err(coded(
            code::INVALID_TEXT_REPRESENTATION,
            format!("invalid input syntax for type oid: \"{text}\""),
        )),
    }
}

/// The relation row `i` of a `regclass` argument names: an oid, or a
/// relation's name (`leads`, `public."Leads"`), which must exist.
fn relation(
    index: Option<&CatalogIndex>,
    array: &ArrayRef,
    i: usize,
    path: &[String],
) -> Result<Option<Relation>> {
    let Some(index) = index else {
        return Ok(None);
    };
    let numeric = matches!(
        array.data_type(),
        DataType::Int8
            | DataType::Int16
            | DataType::Int32
            | DataType::Int64
            | DataType::UInt8
            | DataType::UInt16
            | DataType::UInt32
            | DataType::UInt64
    );
    let Some(name) = text(array, i)? else {
        return Ok(None);
    };
    if numeric || name.trim().parse::<i64>().is_ok() {
        return Ok(oid(array, i)?.and_then(|oid| index.relation(oid)));
    }
    let parts = identifiers(&name, '.');
    let found = match parts.as_slice() {
        [name] => index.relation_named(None, name, path),
        [schema, name] => index.relation_named(Some(schema), name, path),
        _ => None,
    };
    match found {
        Some(r) => Ok(Some(r)),
        None => Err(coded(
            code::UNDEFINED_TABLE,
            format!("relation \"{name}\" does not exist"),
        )),
    }
}

/// The bytes of a relation's data: a table's Delta files, nothing for a
/// view; unknown for another provider (a tenant's rows of a table).
fn relation_bytes(relation: &Relation) -> Option<i64> {
    if relation.kind == "v" {
        return Some(0);
    }
    let Some(table) = &relation.table else {
        return Some(0);
    };
    let any: &dyn std::any::Any = table.as_ref();
    any.downcast_ref::<crate::live::LiveTable>()
        .map(|t| i64::try_from(t.stored_bytes()).unwrap_or(i64::MAX))
}

/// `pg_get_viewdef` of a relation: a view's query, NULL for anything else.
fn viewdef(relation: &Relation) -> Option<String> {
    let table = relation.table.as_ref()?;
    let any: &dyn std::any::Any = table.as_ref();
    let definition = any.downcast_ref::<ViewTable>()?.definition()?;
    Some(view_definition(definition))
}

/// A view's query as `pg_get_viewdef` and `information_schema.views` show
/// it (` SELECT …;`) from its definition, the `CREATE VIEW … AS <query>`
/// statement that made it: the query as written, comments and layout
/// kept, without what came before it.
pub fn view_definition(definition: &str) -> String {
    let query = query_of_create_view(definition).unwrap_or(definition);
    let query = query.trim().trim_end_matches(';').trim_end();
    // A `;` after a closing `-- comment` would be part of it.
    let ends_in_comment = Tokenizer::new(&PostgreSqlDialect {}, query)
        .tokenize()
        .ok()
        .and_then(|t| t.last().cloned())
        .is_some_and(|t| {
            matches!(
                t,
                Token::Whitespace(
                    datafusion::sql::sqlparser::tokenizer::Whitespace::SingleLineComment { .. }
                )
            )
        });
    if ends_in_comment {
        format!(" {query}\n;")
    } else {
        format!(" {query};")
    }
}

/// The text after the `AS` of `CREATE [OR REPLACE] VIEW name [(columns)] AS`.
fn query_of_create_view(definition: &str) -> Option<&str> {
    let tokens = Tokenizer::new(&PostgreSqlDialect {}, definition)
        .tokenize_with_location()
        .ok()?;
    let mut seen_view = false;
    let mut depth = 0usize;
    let mut words = tokens
        .iter()
        .filter(|t| !matches!(t.token, Token::Whitespace(_)));
    if !matches!(words.next().map(|t| &t.token), Some(Token::Word(w)) if w.keyword == Keyword::CREATE)
    {
        return None;
    }
    for token in words {
        match &token.token {
            Token::Word(w) if w.keyword == Keyword::VIEW => seen_view = true,
            Token::LParen => depth += 1,
            Token::RParen => depth = depth.saturating_sub(1),
            Token::Word(w) if seen_view && depth == 0 && w.keyword == Keyword::AS => {
                let end = token.span.end;
                return byte_offset(definition, end.line, end.column).map(|at| &definition[at..]);
            }
            _ => {}
        }
    }
    None
}

/// The byte offset of a (1-based) line and column, columns counted in
/// characters.
fn byte_offset(text: &str, line: u64, column: u64) -> Option<usize> {
    let mut start = 0usize;
    for _ in 1..line {
        start += text[start..].find('\n')? + 1;
    }
    let rest = &text[start..];
    let skip = usize::try_from(column.saturating_sub(1)).ok()?;
    match rest.char_indices().nth(skip) {
        Some((at, _)) => Some(start + at),
        None => Some(text.len()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_views_query_is_what_follows_as() {
        let sql = "-- the header (AS in a comment)\nCREATE VIEW v (a, b) AS\nSELECT 1 AS a,\n       'ü' AS b -- why\n;\n";
        assert_eq!(
            view_definition(sql),
            " SELECT 1 AS a,\n       'ü' AS b -- why\n;"
        );
        assert_eq!(
            view_definition("CREATE VIEW v AS SELECT x FROM t"),
            " SELECT x FROM t;"
        );
        assert_eq!(view_definition("SELECT 1"), " SELECT 1;");
    }

    #[test]
    fn search_paths_are_read_as_postgresql_reads_them() {
        assert_eq!(
            identifiers("\"$user\", public, \"My\"\"S\"", ','),
            vec!["$user", "public", "My\"S"]
        );
        assert_eq!(
            identifiers("Public.\"Leads\"", '.'),
            vec!["public", "Leads"]
        );
        assert_eq!(search_path(None), vec!["pg_catalog", "public"]);
    }
}
