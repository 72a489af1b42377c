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
//!   `pg_get_function_result` (`\df`), `pg_get_function_sqlbody`,
//!   `shobj_description`, `pg_tablespace_location` (NULL or empty, as for
//!   an object without one).
//!
//! An oid that names nothing gives NULL, as in PostgreSQL; a relation given
//! by name (`pg_table_size('leads')`) is looked up as a `regclass` is.
//! A tenant-bound user's tables are that tenant's rows of shared Delta
//! tables, so their size is not that user's to see: NULL.

use std::sync::Arc;

use datafusion::arrow::array::{
    Array, ArrayRef, AsArray, BooleanBuilder, Int64Builder, StringBuilder,
};
use datafusion::arrow::datatypes::{DataType, Decimal128Type, Int64Type};
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

use super::{answer, quote_ident};
use crate::pg_compat::pg_catalog::{CatalogIndex, Kind, Relation};
use crate::pg_compat::vars::Vars;
use crate::sqlstate::{code, coded};

/// Registers the functions of this module in `ctx`, answering from the
/// catalog `ctx` has (or will have) and its connection's `search_path`.
pub fn register(ctx: &SessionContext) {
    let catalogs = ctx.state().catalog_list().clone();
    let vars = ctx.state().config().get_extension::<Vars>();
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
        ("pg_get_function_arguments", Function::Arguments(true), 1, 1),
        (
            "pg_get_function_identity_arguments",
            Function::Arguments(false),
            1,
            1,
        ),
        ("pg_get_function_result", Function::Result, 1, 1),
        ("format_type", Function::FormatType, 2, 2),
        ("pg_get_function_sqlbody", Function::Null, 1, 1),
        ("shobj_description", Function::Null, 2, 2),
        ("pg_tablespace_location", Function::Empty, 1, 1),
    ];
    functions.extend(
        visible
            .into_iter()
            .map(|(name, kind)| (name, Function::Visible(kind), 1, 1)),
    );
    for (name, function, min, max) in functions {
        ctx.register_udf(ScalarUDF::new_from_impl(CatalogFunction {
            name,
            function,
            signature: Signature::one_of(
                (min..=max).map(TypeSignature::Any).collect(),
                Volatility::Stable,
            ),
            catalogs: catalogs.clone(),
            vars: vars.clone(),
        }));
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
    /// With output arguments and defaults (`true`) or the identity only.
    Arguments(bool),
    Result,
    FormatType,
    Null,
    Empty,
}

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
                    let here = match text(&arrays[0], i)? {
                        None => None,
                        Some(name) => Some(name == *catalog),
                    };
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
            Function::Arguments(full) => {
                let mut out = StringBuilder::new();
                for i in 0..rows {
                    let text = match (&index, oid(&arrays[0], i)?) {
                        (Some(index), Some(oid)) => arguments(index, oid, full, &path),
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

/// `pg_size_pretty`: PostgreSQL's units and rounding (`dbsize.c`): bytes
/// below 10 kB, then kB, MB, GB, TB and PB below 20 480 of them, halves
/// rounded away from zero.
fn size_pretty(array: &ArrayRef) -> Result<ArrayRef> {
    let mut out = StringBuilder::new();
    match array.data_type() {
        DataType::Null => (0..array.len()).for_each(|_| out.append_null()),
        DataType::Decimal128(_, scale) => {
            let scale = u32::try_from(*scale).unwrap_or(0);
            let values = array.as_primitive::<Decimal128Type>();
            for v in values.iter() {
                out.append_option(v.map(|v| pretty(v, scale)));
            }
        }
        t if t.is_integer() => {
            let values = datafusion::arrow::compute::cast(array, &DataType::Int64)?;
            for v in values.as_primitive::<Int64Type>().iter() {
                out.append_option(v.map(|v| pretty(i128::from(v), 0)));
            }
        }
        t => {
            return Err(coded(
                code::UNDEFINED_FUNCTION,
                format!("function pg_size_pretty({t}) does not exist"),
            ));
        }
    }
    Ok(Arc::new(out.finish()))
}

/// `value / 10^scale` bytes, written as PostgreSQL writes a size.
fn pretty(value: i128, scale: u32) -> String {
    // (unit, limit, half rounded, bits)
    const UNITS: [(&str, i128, bool, u32); 6] = [
        ("bytes", 10 * 1024, false, 0),
        ("kB", 20 * 1024 - 1, true, 10),
        ("MB", 20 * 1024 - 1, true, 20),
        ("GB", 20 * 1024 - 1, true, 30),
        ("TB", 20 * 1024 - 1, true, 40),
        ("PB", 20 * 1024 - 1, true, 50),
    ];
    let unit_scale = 10i128.checked_pow(scale).unwrap_or(i128::MAX);
    // The value, still scaled while it is in bytes.
    let mut size = value;
    let mut scaled = true;
    for (n, (name, limit, round, bits)) in UNITS.iter().enumerate() {
        let whole = if scaled { size / unit_scale } else { size };
        let below = if scaled {
            size.unsigned_abs() < limit.saturating_mul(unit_scale).unsigned_abs()
        } else {
            size.unsigned_abs() < limit.unsigned_abs()
        };
        if n + 1 == UNITS.len() || below {
            if *round {
                let half = (whole + if whole < 0 { -1 } else { 1 }) / 2;
                return format!("{half} {name}");
            }
            if scaled && scale > 0 {
                return format!("{} {name}", decimal_text(size, scale));
            }
            return format!("{whole} {name}");
        }
        let (next_bits, next_round) = (UNITS[n + 1].3, UNITS[n + 1].2);
        let shift = next_bits - bits - u32::from(next_round) + u32::from(*round);
        // Truncating division, as PostgreSQL's (for negative sizes too).
        size = if scaled {
            size / unit_scale.saturating_mul(1i128 << shift)
        } else {
            size / (1i128 << shift)
        };
        scaled = false;
    }
    String::new()
}

/// A decimal's text, without trailing zeros after the point.
fn decimal_text(value: i128, scale: u32) -> String {
    let text =
        ScalarValue::Decimal128(Some(value), 38, i8::try_from(scale).unwrap_or(0)).to_string();
    if text.contains('.') {
        text.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        text
    }
}

/// `format_type(oid, typmod)` as PostgreSQL's `format_type_extended`
/// writes it: SQL's names for the built-in types, with their modifiers
/// (`character varying(10)`, `numeric(10,2)`, `timestamp(3) with time
/// zone`), an array as its element's type and `[]`, a relation's row type
/// as the relation's name, qualified when its schema is not on the path;
/// `???` for an oid that names no type.
fn format_type(
    index: Option<&CatalogIndex>,
    oid: i32,
    modifier: Option<i32>,
    path: &[String],
) -> String {
    // (name, element type, schema, namespace on the path)
    let (name, element, schema) = match (oid, index) {
        (_, Some(index)) => match index.static_type(oid) {
            Some(t) => (t.name.clone(), t.element, index.namespace(t.namespace)),
            None => match index.row_type(oid) {
                Some((r, false)) => (r.name, 0, Some(r.schema)),
                Some((r, true)) => (format!("_{}", r.name), r.row_type, Some(r.schema)),
                None => return "???".to_string(),
            },
        },
        // Without OKO's catalog: the built-in types only.
        (_, None) => (String::new(), 0, None),
    };
    if element != 0 {
        let base = format_type(index, element, modifier, path);
        return format!("{base}[]");
    }
    let given = modifier.is_some();
    let typmod = modifier.unwrap_or(-1);
    let with = given && typmod >= 0;
    let precision = |sql: &str, zone: &str| match with {
        true => format!("{sql}({typmod}){zone}"),
        false => format!("{sql}{zone}"),
    };
    let sql = match oid {
        16 => Some("boolean".to_string()),
        20 => Some("bigint".to_string()),
        21 => Some("smallint".to_string()),
        23 => Some("integer".to_string()),
        700 => Some("real".to_string()),
        701 => Some("double precision".to_string()),
        1042 if with => Some(format!("character({})", typmod - 4)),
        1042 if !given => Some("character".to_string()),
        1043 if with => Some(format!("character varying({})", typmod - 4)),
        1043 => Some("character varying".to_string()),
        1700 if with => Some(format!(
            "numeric({},{})",
            ((typmod - 4) >> 16) & 0xffff,
            (typmod - 4) & 0xffff
        )),
        1700 => Some("numeric".to_string()),
        1083 => Some(precision("time", " without time zone")),
        1266 => Some(precision("time", " with time zone")),
        1114 => Some(precision("timestamp", " without time zone")),
        1184 => Some(precision("timestamp", " with time zone")),
        1186 if !with => Some("interval".to_string()),
        1560 if with => Some(format!("bit({typmod})")),
        1560 if !given => Some("bit".to_string()),
        1562 => Some(precision("bit varying", "")),
        _ => None,
    };
    if let Some(sql) = sql {
        return sql;
    }
    if name.is_empty() {
        return match super::type_name(u32::try_from(oid).unwrap_or(0)) {
            Some(known) => known.to_string(),
            None => "???".to_string(),
        };
    }
    let quoted = match name.as_str() {
        // Keywords PostgreSQL quotes.
        "any" | "char" | "bit" => format!("\"{name}\""),
        _ => quote_ident(&name),
    };
    let qualified = match schema {
        Some(schema) if !path.contains(&schema) => format!("{}.{quoted}", quote_ident(&schema)),
        _ => quoted,
    };
    if with {
        format!("{qualified}({typmod})")
    } else {
        qualified
    }
}

/// `format_type(oid, NULL)`.
fn type_name(index: &CatalogIndex, oid: i32, path: &[String]) -> String {
    format_type(Some(index), oid, None, path)
}

/// `pg_get_function_arguments` (`full`) or `…_identity_arguments`.
fn arguments(index: &CatalogIndex, oid: i32, full: bool, path: &[String]) -> Option<String> {
    let f = index.function(oid)?;
    let types = f
        .all_arguments
        .clone()
        .unwrap_or_else(|| f.arguments.clone());
    let mut out = Vec::new();
    for (i, t) in types.iter().enumerate() {
        let mode = f
            .modes
            .as_ref()
            .and_then(|m| m.get(i))
            .map(String::as_str)
            .unwrap_or("i");
        let prefix = match mode {
            "t" => continue,
            "o" if !full => continue,
            "o" => "OUT ",
            "b" => "INOUT ",
            "v" => "VARIADIC ",
            _ => "",
        };
        let name = f
            .names
            .as_ref()
            .and_then(|n| n.get(i))
            .filter(|n| !n.is_empty())
            .map(|n| format!("{} ", quote_ident(n)))
            .unwrap_or_default();
        out.push(format!("{prefix}{name}{}", type_name(index, *t, path)));
    }
    Some(out.join(", "))
}

/// `pg_get_function_result`: `SETOF t`, `TABLE(…)` or the type; NULL for a
/// procedure.
fn result(index: &CatalogIndex, oid: i32, path: &[String]) -> Option<String> {
    let f = index.function(oid)?;
    if f.kind == "p" {
        return None;
    }
    if let (Some(modes), Some(all)) = (&f.modes, &f.all_arguments)
        && modes.iter().any(|m| m == "t")
    {
        let columns: Vec<String> = modes
            .iter()
            .zip(all)
            .enumerate()
            .filter(|(_, (m, _))| *m == "t")
            .map(|(i, (_, t))| {
                let name = f
                    .names
                    .as_ref()
                    .and_then(|n| n.get(i))
                    .map(|n| format!("{} ", quote_ident(n)))
                    .unwrap_or_default();
                format!("{name}{}", type_name(index, *t, path))
            })
            .collect();
        return Some(format!("TABLE({})", columns.join(", ")));
    }
    let set = if f.returns_set { "SETOF " } else { "" };
    Some(format!("{set}{}", type_name(index, f.result, path)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_are_written_as_postgresql_writes_them() {
        // Checked against PostgreSQL 15.
        for (bytes, text) in [
            (0, "0 bytes"),
            (10239, "10239 bytes"),
            (10240, "10 kB"),
            (-10240, "-10 kB"),
            (10752, "11 kB"),
            (-10752, "-11 kB"),
            (1234567, "1206 kB"),
            (20971519, "20 MB"),
            (20971520, "20 MB"),
            (i128::from(i64::MAX), "8192 PB"),
        ] {
            assert_eq!(pretty(bytes, 0), text, "{bytes}");
        }
        assert_eq!(pretty(55, 1), "5.5 bytes");
        assert_eq!(pretty(102_397, 1), "10239.7 bytes");
        assert_eq!(pretty(1_234_567_899, 1), "118 MB");
        assert_eq!(pretty(50_000_000_000, 10), "5 bytes");
    }

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
