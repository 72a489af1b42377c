//! PostgreSQL's JSON functions that analysts use.
//!
//! | function | answer |
//! |---|---|
//! | `json_typeof(json)`, `jsonb_typeof(jsonb)` | `object`, `array`, `string`, `number`, `boolean`, `null` |
//! | `json_array_length`, `jsonb_array_length` | the items of an array (22023 for anything else) |
//! | `json_build_object(k, v, …)`, `jsonb_build_object` | an object (`{"a" : 1}` for `json`, as PostgreSQL spaces it) |
//! | `json_build_array(v, …)`, `jsonb_build_array` | an array |
//! | `to_json(x)`, `to_jsonb(x)` | any value as JSON ([`super::to_json`]) |
//! | `json_extract_path(j, k, …)`, `jsonb_extract_path`, `…_text` | `#>`, `#>>` as functions |
//! | `json_strip_nulls`, `jsonb_strip_nulls` | without the object members whose value is `null` |
//! | `jsonb_set(j, path, value[, create])` | `j` with the value at `path` replaced (or added) |
//! | `jsonb_pretty(jsonb)` | indented text |
//! | `jsonb_path_exists(j, path[, vars[, silent]])`, `jsonb_path_match` | whether the SQL/JSON path finds an item; its single boolean ([`super::path`]) |
//! | `jsonb_path_query_first(…)`, `jsonb_path_query_array(…)` | the path's first item; all of them as an array |
//!
//! A function of `jsonb` takes a `jsonb` or a quoted literal, as in
//! PostgreSQL, which has no implicit cast from `json` or `text`:
//! `jsonb_typeof('1'::json)` is refused with 42883 there and here.

use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, Int32Builder, StringBuilder};
use datafusion::arrow::datatypes::{DataType, Field, FieldRef};
use datafusion::common::{Result, ScalarValue};
use datafusion::logical_expr::{
    ColumnarValue, ReturnFieldArgs, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature,
    TypeSignature, Volatility,
};
use datafusion::prelude::SessionContext;

use super::operators::{path_index, text_arrays, walk};
use super::to_json::Writer;
use super::value::{self, JsonError, Node, Value};
use super::{Kind, answer, is_text, no_function, rows_of, text_array};
use crate::sqlstate::{code, coded};

/// Registers the functions of this module in `ctx`.
pub fn register(ctx: &SessionContext) {
    for kind in [Kind::Json, Kind::Jsonb] {
        for f in [
            Function::Typeof,
            Function::ArrayLength,
            Function::BuildObject,
            Function::BuildArray,
            Function::To,
            Function::ExtractPath { text: false },
            Function::ExtractPath { text: true },
            Function::StripNulls,
        ] {
            ctx.register_udf(ScalarUDF::new_from_impl(JsonFunction::new(f, kind)));
        }
    }
    ctx.register_udf(ScalarUDF::new_from_impl(JsonFunction::new(
        Function::Pretty,
        Kind::Jsonb,
    )));
    ctx.register_udf(ScalarUDF::new_from_impl(JsonFunction::new(
        Function::Set,
        Kind::Jsonb,
    )));
    for call in [
        PathCall::Exists,
        PathCall::Match,
        PathCall::First,
        PathCall::Array,
    ] {
        for tz in [false, true] {
            ctx.register_udf(ScalarUDF::new_from_impl(PathFunction::new(call, tz)));
        }
    }
}

/// The functions, each for `json` or `jsonb`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Function {
    Typeof,
    ArrayLength,
    BuildObject,
    BuildArray,
    To,
    ExtractPath { text: bool },
    StripNulls,
    Pretty,
    Set,
}

/// One function of one kind.
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct JsonFunction {
    function: Function,
    kind: Kind,
    name: String,
    signature: Signature,
}

impl JsonFunction {
    pub fn new(function: Function, kind: Kind) -> JsonFunction {
        let prefix = kind.name();
        let name = match function {
            Function::Typeof => format!("{prefix}_typeof"),
            Function::ArrayLength => format!("{prefix}_array_length"),
            Function::BuildObject => format!("{prefix}_build_object"),
            Function::BuildArray => format!("{prefix}_build_array"),
            Function::To => format!("to_{prefix}"),
            Function::ExtractPath { text: false } => format!("{prefix}_extract_path"),
            Function::ExtractPath { text: true } => format!("{prefix}_extract_path_text"),
            Function::StripNulls => format!("{prefix}_strip_nulls"),
            Function::Pretty => "jsonb_pretty".into(),
            Function::Set => "jsonb_set".into(),
        };
        let signature = match function {
            Function::Typeof
            | Function::ArrayLength
            | Function::To
            | Function::StripNulls
            | Function::Pretty => Signature::any(1, Volatility::Immutable),
            Function::BuildObject | Function::BuildArray => Signature::one_of(
                vec![TypeSignature::VariadicAny, TypeSignature::Nullary],
                Volatility::Stable,
            ),
            Function::ExtractPath { .. } => Signature::variadic_any(Volatility::Immutable),
            Function::Set => Signature::one_of(
                vec![TypeSignature::Any(3), TypeSignature::Any(4)],
                Volatility::Immutable,
            ),
        };
        JsonFunction {
            function,
            kind,
            name,
            signature,
        }
    }

    /// Whether argument `i` may be this function's JSON input: of its kind,
    /// a quoted literal or NULL.
    fn takes(&self, args: &ReturnFieldArgs, i: usize) -> bool {
        let Some(f) = args.arg_fields.get(i) else {
            return false;
        };
        let literal = args.scalar_arguments.get(i).is_some_and(|a| a.is_some());
        Kind::of(f) == Some(self.kind)
            || f.data_type().is_null()
            || (literal && is_text(f.data_type()) && Kind::of(f).is_none())
    }

    fn parse<'a>(&self, text: &'a str) -> Result<Node<'a>, JsonError> {
        match self.kind {
            Kind::Json => value::parse(text),
            Kind::Jsonb => value::parse_jsonb(text),
        }
    }
}

fn invalid(message: impl Into<String>) -> datafusion::common::DataFusionError {
    coded(code::INVALID_PARAMETER_VALUE, message)
}

impl ScalarUDFImpl for JsonFunction {
    fn name(&self) -> &str {
        &self.name
    }
    fn signature(&self) -> &Signature {
        &self.signature
    }
    fn return_type(&self, _: &[DataType]) -> Result<DataType> {
        Ok(match self.function {
            Function::ArrayLength => DataType::Int32,
            _ => DataType::Utf8,
        })
    }
    fn return_field_from_args(&self, args: ReturnFieldArgs) -> Result<FieldRef> {
        let refuse = || Err(no_function(&self.name, args.arg_fields));
        match self.function {
            Function::Typeof | Function::ArrayLength | Function::StripNulls | Function::Pretty => {
                if !self.takes(&args, 0) {
                    return refuse();
                }
            }
            Function::ExtractPath { .. } => {
                let keys_ok = args.arg_fields[1.min(args.arg_fields.len())..]
                    .iter()
                    .all(|f| is_text(f.data_type()) || f.data_type().is_null());
                if args.arg_fields.len() < 2 || !self.takes(&args, 0) || !keys_ok {
                    return refuse();
                }
            }
            Function::Set => {
                if !self.takes(&args, 0) || !self.takes(&args, 2) {
                    return refuse();
                }
            }
            Function::BuildObject => {
                if !args.arg_fields.len().is_multiple_of(2) {
                    return Err(invalid("argument list must have even number of elements"));
                }
            }
            Function::BuildArray | Function::To => {}
        }
        let name = self.name.as_str();
        Ok(match self.function {
            Function::Typeof | Function::Pretty | Function::ExtractPath { text: true } => {
                Arc::new(Field::new(name, DataType::Utf8, true))
            }
            Function::ArrayLength => Arc::new(Field::new(name, DataType::Int32, true)),
            _ => self.kind.field(name, true),
        })
    }
    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let rows = rows_of(&args.args, args.number_rows);
        let writer = Writer::for_config(&args.config_options);
        let array: ArrayRef = match self.function {
            Function::Typeof | Function::StripNulls | Function::Pretty => {
                let texts = text_array(&args.args[0], rows)?;
                let mut out = StringBuilder::new();
                for t in texts.iter() {
                    let Some(t) = t else {
                        out.append_null();
                        continue;
                    };
                    let doc = self.parse(t)?;
                    out.append_value(match self.function {
                        Function::Typeof => doc.type_name().to_string(),
                        Function::Pretty => {
                            let mut s = String::new();
                            value::write_pretty(&doc, 0, &mut s)?;
                            s
                        }
                        _ => match self.kind {
                            Kind::Json => strip_nulls_json(&doc),
                            Kind::Jsonb => value::jsonb_text(&strip_nulls(doc))?,
                        },
                    });
                }
                Arc::new(out.finish())
            }
            Function::ArrayLength => {
                let texts = text_array(&args.args[0], rows)?;
                let mut out = Int32Builder::new();
                for t in texts.iter() {
                    let Some(t) = t else {
                        out.append_null();
                        continue;
                    };
                    match self.parse(t)?.value {
                        Value::Array(items) => out.append_value(items.len() as i32),
                        Value::Object(_) => {
                            return Err(invalid("cannot get array length of a non-array"));
                        }
                        _ => return Err(invalid("cannot get array length of a scalar")),
                    }
                }
                Arc::new(out.finish())
            }
            Function::To => {
                let array = args.args[0].to_array(rows)?;
                let field = &args.arg_fields[0];
                let mut out = StringBuilder::new();
                for i in 0..rows {
                    if array.is_null(i) {
                        out.append_null();
                    } else {
                        out.append_value(writer.write_as(self.kind, array.as_ref(), field, i)?);
                    }
                }
                Arc::new(out.finish())
            }
            Function::BuildObject | Function::BuildArray => {
                let arrays: Vec<ArrayRef> = args
                    .args
                    .iter()
                    .map(|a| a.to_array(rows))
                    .collect::<Result<_>>()?;
                let mut out = StringBuilder::new();
                for row in 0..rows {
                    let text = if self.function == Function::BuildObject {
                        build_object(&writer, &arrays, &args.arg_fields, row)?
                    } else {
                        build_array(&writer, &arrays, &args.arg_fields, row)?
                    };
                    out.append_value(match self.kind {
                        Kind::Json => text,
                        Kind::Jsonb => value::jsonb_text(&value::parse_jsonb(&text)?)?,
                    });
                }
                Arc::new(out.finish())
            }
            Function::ExtractPath { text } => {
                let docs = text_array(&args.args[0], rows)?;
                let steps: Vec<_> = args.args[1..]
                    .iter()
                    .map(|a| text_array(a, rows))
                    .collect::<Result<_>>()?;
                let mut out = StringBuilder::new();
                for i in 0..rows {
                    let Some(doc) = docs.is_valid(i).then(|| docs.value(i)) else {
                        out.append_null();
                        continue;
                    };
                    let path: Vec<Option<String>> = steps
                        .iter()
                        .map(|s| s.is_valid(i).then(|| s.value(i).to_string()))
                        .collect();
                    let doc = self.parse(doc)?;
                    let part = walk(&doc, &path, self.kind);
                    out.append_option(extracted(part, text, self.kind)?);
                }
                Arc::new(out.finish())
            }
            Function::Set => {
                let docs = text_array(&args.args[0], rows)?;
                let paths = text_arrays(&args.args[1], rows)?;
                let values = text_array(&args.args[2], rows)?;
                let create = match args.args.get(3) {
                    Some(c) => Some(c.to_array(rows)?),
                    None => None,
                };
                let mut out = StringBuilder::new();
                for (i, path) in paths.iter().enumerate().take(rows) {
                    let create = match &create {
                        Some(c) if c.is_null(i) => None,
                        Some(c) => Some(
                            datafusion::arrow::array::AsArray::as_boolean_opt(c.as_ref())
                                .is_none_or(|b| b.value(i)),
                        ),
                        None => Some(true),
                    };
                    let (true, Some(path), true, Some(create)) =
                        (docs.is_valid(i), path, values.is_valid(i), create)
                    else {
                        out.append_null();
                        continue;
                    };
                    let doc = value::parse_jsonb(docs.value(i))?;
                    let new = value::parse_jsonb(values.value(i))?;
                    out.append_value(value::jsonb_text(&set_path(doc, path, new, create, 1)?)?);
                }
                Arc::new(out.finish())
            }
        };
        answer(array, &args.args)
    }
}

/// A part as `#>` or `#>>` answers it.
fn extracted(part: Option<&Node<'_>>, text: bool, kind: Kind) -> Result<Option<String>> {
    let Some(part) = part else {
        return Ok(None);
    };
    if text {
        match &part.value {
            Value::Null => return Ok(None),
            Value::String(s) => return Ok(Some(value::text_of(s)?.to_string())),
            _ => {}
        }
    }
    Ok(Some(match kind {
        Kind::Json => part.text.to_string(),
        Kind::Jsonb => value::jsonb_text(part)?,
    }))
}

/// The key of `json_build_object`: a scalar as its text.
pub fn key_text(
    writer: &Writer,
    array: &dyn Array,
    field: &Field,
    row: usize,
    position: usize,
) -> Result<String> {
    // A `NULL` constant is a `NullArray`, null only logically.
    if array.is_null(row) || array.data_type() == &DataType::Null {
        return Err(invalid(format!("argument {position} cannot be null")));
    }
    let t = array.data_type();
    if Kind::of(field).is_some()
        || matches!(
            t,
            DataType::List(_)
                | DataType::LargeList(_)
                | DataType::FixedSizeList(..)
                | DataType::Struct(_)
        )
    {
        return Err(invalid(
            "key value must be scalar, not array, composite, or json",
        ));
    }
    if is_text(t) {
        let v = ScalarValue::try_from_array(array, row)?;
        return Ok(match v {
            ScalarValue::Utf8(Some(s))
            | ScalarValue::LargeUtf8(Some(s))
            | ScalarValue::Utf8View(Some(s)) => s,
            other => other.to_string(),
        });
    }
    if t.is_numeric() || t == &DataType::Boolean {
        let mut s = String::new();
        writer.write(array, field, row, &mut s)?;
        // Not-finite floats are quoted as values; a key is their text.
        return Ok(s.trim_matches('"').to_string());
    }
    Err(coded(
        code::FEATURE_NOT_SUPPORTED,
        format!(
            "object keys of type {} are not supported here",
            super::pg_type_name(t)
        ),
    ))
}

/// `json_build_object` of one row, as PostgreSQL writes it:
/// `{"a" : 1, "b" : [1,2]}`.
fn build_object(
    writer: &Writer,
    arrays: &[ArrayRef],
    fields: &[FieldRef],
    row: usize,
) -> Result<String> {
    let mut text = String::from("{");
    for (i, pair) in arrays.chunks(2).enumerate() {
        if i > 0 {
            text.push_str(", ");
        }
        let key = key_text(writer, pair[0].as_ref(), &fields[2 * i], row, 2 * i + 1)?;
        value::write_string(&key, &mut text);
        text.push_str(" : ");
        if let Some(v) = pair.get(1) {
            writer.write(v.as_ref(), &fields[2 * i + 1], row, &mut text)?;
        }
    }
    text.push('}');
    Ok(text)
}

/// `json_build_array` of one row: `[1, "a", null]`.
fn build_array(
    writer: &Writer,
    arrays: &[ArrayRef],
    fields: &[FieldRef],
    row: usize,
) -> Result<String> {
    let mut text = String::from("[");
    for (i, a) in arrays.iter().enumerate() {
        if i > 0 {
            text.push_str(", ");
        }
        writer.write(a.as_ref(), &fields[i], row, &mut text)?;
    }
    text.push(']');
    Ok(text)
}

/// `jsonb_strip_nulls`: object members whose value is `null` removed, at
/// every depth (array items stay).
fn strip_nulls(node: Node<'_>) -> Node<'_> {
    Node::built(match node.value {
        Value::Object(members) => Value::Object(
            members
                .into_iter()
                .filter(|(_, v)| v.value != Value::Null)
                .map(|(k, v)| (k, strip_nulls(v)))
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.into_iter().map(strip_nulls).collect()),
        other => other,
    })
}

/// `json_strip_nulls`: the same, written compactly as PostgreSQL writes it
/// (`{"b":[1,null,{}]}`), scalars as in the source.
fn strip_nulls_json(node: &Node<'_>) -> String {
    let mut out = String::new();
    fn write(node: &Node<'_>, out: &mut String) {
        match &node.value {
            Value::Object(members) => {
                out.push('{');
                let mut first = true;
                for (k, v) in members {
                    if v.value == Value::Null {
                        continue;
                    }
                    if !first {
                        out.push(',');
                    }
                    first = false;
                    value::write_string(k, out);
                    out.push(':');
                    write(v, out);
                }
                out.push('}');
            }
            Value::Array(items) => {
                out.push('[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    write(item, out);
                }
                out.push(']');
            }
            _ => out.push_str(node.text),
        }
    }
    write(node, &mut out);
    out
}

/// `jsonb_set`: `new` at `path` (step `position` onwards) in `doc`;
/// a missing last step is added when `create`, a missing inner step
/// leaves `doc` as it is.
fn set_path<'a>(
    doc: Node<'a>,
    path: &[Option<String>],
    new: Node<'a>,
    create: bool,
    position: usize,
) -> Result<Node<'a>> {
    let Some((first, rest)) = path.split_first() else {
        return Ok(new);
    };
    let Some(step) = first else {
        return Err(invalid(format!(
            "path element at position {position} is null"
        )));
    };
    match doc.value {
        Value::Object(mut members) => {
            match members.iter().position(|(k, _)| k == step.as_str()) {
                Some(i) => {
                    let (k, v) = members.remove(i);
                    let v = if rest.is_empty() {
                        new
                    } else {
                        set_path(v, rest, new, create, position + 1)?
                    };
                    members.insert(i, (k, v));
                }
                None if rest.is_empty() && create => {
                    members.push((std::borrow::Cow::Owned(step.clone()), new));
                }
                None => {}
            }
            Ok(value::canonical(Node::built(Value::Object(members))))
        }
        Value::Array(mut items) => {
            let Some(index) = path_index(step) else {
                return Err(coded(
                    code::INVALID_TEXT_REPRESENTATION,
                    format!("path element at position {position} is not an integer: \"{step}\""),
                ));
            };
            let len = items.len() as i64;
            let i = if index < 0 { len + index } else { index };
            if (0..len).contains(&i) {
                let i = i as usize;
                let item = items.remove(i);
                let item = if rest.is_empty() {
                    new
                } else {
                    set_path(item, rest, new, create, position + 1)?
                };
                items.insert(i, item);
            } else if rest.is_empty() && create {
                // Beyond the end appends, before the start prepends.
                if i < 0 {
                    items.insert(0, new);
                } else {
                    items.push(new);
                }
            }
            Ok(Node::built(Value::Array(items)))
        }
        _ => Err(invalid("cannot set path in scalar")),
    }
}

/// The SQL/JSON path functions that answer one value a row.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PathCall {
    Exists,
    Match,
    First,
    Array,
}

/// `jsonb_path_exists`, `jsonb_path_match`, `jsonb_path_query_first`,
/// `jsonb_path_query_array` (and their `_tz` forms, which differ only in
/// `.datetime()`, refused here): `(jsonb, jsonpath[, vars jsonb[, silent
/// boolean]])`, NULL when any argument is NULL.
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct PathFunction {
    call: PathCall,
    name: String,
    signature: Signature,
}

impl PathFunction {
    pub fn new(call: PathCall, tz: bool) -> PathFunction {
        let base = match call {
            PathCall::Exists => "jsonb_path_exists",
            PathCall::Match => "jsonb_path_match",
            PathCall::First => "jsonb_path_query_first",
            PathCall::Array => "jsonb_path_query_array",
        };
        PathFunction {
            call,
            name: format!("{base}{}", if tz { "_tz" } else { "" }),
            signature: Signature::one_of(
                vec![
                    TypeSignature::Any(2),
                    TypeSignature::Any(3),
                    TypeSignature::Any(4),
                ],
                Volatility::Immutable,
            ),
        }
    }
}

/// Whether the arguments of a path function or operator are PostgreSQL's
/// `(jsonb, jsonpath[, jsonb[, boolean]])`: a `jsonb` is `jsonb`, a quoted
/// literal or NULL; the path a quoted literal or NULL (text is no
/// `jsonpath`: 42883 there too).
pub fn path_arguments_fit(args: &ReturnFieldArgs) -> bool {
    let literal = |i: usize| args.scalar_arguments.get(i).is_some_and(|a| a.is_some());
    let field = |i: usize| args.arg_fields.get(i);
    let null = |i: usize| field(i).is_some_and(|f| f.data_type().is_null());
    let jsonb = |i: usize| {
        field(i).is_some_and(|f| {
            Kind::of(f) == Some(Kind::Jsonb)
                || f.data_type().is_null()
                || (literal(i) && is_text(f.data_type()) && Kind::of(f).is_none())
        })
    };
    let path = |i: usize| {
        null(i)
            || (literal(i)
                && field(i).is_some_and(|f| is_text(f.data_type()) && Kind::of(f).is_none()))
    };
    let boolean = |i: usize| {
        field(i).is_some_and(|f| matches!(f.data_type(), DataType::Boolean | DataType::Null))
    };
    let n = args.arg_fields.len();
    (2..=4).contains(&n) && jsonb(0) && path(1) && (n < 3 || jsonb(2)) && (n < 4 || boolean(3))
}

/// The paths of a column of path texts, each parsed once.
pub struct PathCache {
    last: Option<(String, std::rc::Rc<super::path::JsonPath>)>,
}

impl PathCache {
    pub fn new() -> PathCache {
        PathCache { last: None }
    }

    pub fn get(&mut self, text: &str) -> Result<std::rc::Rc<super::path::JsonPath>> {
        if let Some((t, p)) = &self.last
            && t == text
        {
            return Ok(p.clone());
        }
        let p = std::rc::Rc::new(super::path::parse(text)?);
        self.last = Some((text.to_string(), p.clone()));
        Ok(p)
    }
}

impl Default for PathCache {
    fn default() -> Self {
        PathCache::new()
    }
}

impl ScalarUDFImpl for PathFunction {
    fn name(&self) -> &str {
        &self.name
    }
    fn signature(&self) -> &Signature {
        &self.signature
    }
    fn return_type(&self, _: &[DataType]) -> Result<DataType> {
        Ok(match self.call {
            PathCall::Exists | PathCall::Match => DataType::Boolean,
            _ => DataType::Utf8,
        })
    }
    fn return_field_from_args(&self, args: ReturnFieldArgs) -> Result<FieldRef> {
        if !path_arguments_fit(&args) {
            return Err(no_function(&self.name, args.arg_fields));
        }
        Ok(match self.call {
            PathCall::Exists | PathCall::Match => {
                Arc::new(Field::new(&self.name, DataType::Boolean, true))
            }
            _ => Kind::Jsonb.field(&self.name, true),
        })
    }
    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        use datafusion::arrow::array::{AsArray, BooleanBuilder};
        let rows = rows_of(&args.args, args.number_rows);
        let docs = text_array(&args.args[0], rows)?;
        let paths = text_array(&args.args[1], rows)?;
        let vars = match args.args.get(2) {
            Some(v) => Some(text_array(v, rows)?),
            None => None,
        };
        let silent = match args.args.get(3) {
            Some(s) => Some(s.to_array(rows)?),
            None => None,
        };
        let mut cache = PathCache::new();
        let mut texts = StringBuilder::new();
        let mut bools = BooleanBuilder::new();
        for i in 0..rows {
            // The path is read (and refused) even where another argument
            // is NULL, as PostgreSQL reads the literal while planning.
            let path = if paths.is_valid(i) {
                Some(cache.get(paths.value(i))?)
            } else {
                None
            };
            let vars_text = match &vars {
                None => Some("{}"),
                Some(v) => v.is_valid(i).then(|| v.value(i)),
            };
            let quiet = match &silent {
                None => Some(false),
                Some(s) if s.data_type() != &DataType::Boolean || s.is_null(i) => None,
                Some(s) => Some(s.as_boolean().value(i)),
            };
            let (Some(path), true, Some(vars_text), Some(quiet)) =
                (path, docs.is_valid(i), vars_text, quiet)
            else {
                texts.append_null();
                bools.append_null();
                continue;
            };
            let doc = docs.value(i);
            let vars_text = Some(vars_text);
            match self.call {
                PathCall::Exists => {
                    bools.append_option(super::path::path_exists(&path, doc, vars_text, quiet)?)
                }
                PathCall::Match => {
                    bools.append_option(super::path::path_match(&path, doc, vars_text, quiet)?)
                }
                PathCall::First => texts.append_option(
                    super::path::path_query(&path, doc, vars_text, quiet)?
                        .into_iter()
                        .next(),
                ),
                PathCall::Array => {
                    texts.append_value(super::path::path_query_array(&path, doc, vars_text, quiet)?)
                }
            }
        }
        let array: ArrayRef = match self.call {
            PathCall::Exists | PathCall::Match => Arc::new(bools.finish()),
            _ => Arc::new(texts.finish()),
        };
        answer(array, &args.args)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(doc: &str, path: &[&str], new: &str, create: bool) -> Result<String> {
        let path: Vec<Option<String>> = path.iter().map(|s| Some(s.to_string())).collect();
        let out = set_path(
            value::parse_jsonb(doc)?,
            &path,
            value::parse_jsonb(new)?,
            create,
            1,
        )?;
        Ok(value::jsonb_text(&out)?)
    }

    #[test]
    fn jsonb_set_is_postgresqls() {
        // PostgreSQL 15.18.
        assert_eq!(
            set(r#"{"a": 1}"#, &["a"], "2", true).unwrap(),
            r#"{"a": 2}"#
        );
        assert_eq!(
            set(r#"{"a": 1}"#, &["b"], r#""x""#, true).unwrap(),
            r#"{"a": 1, "b": "x"}"#
        );
        assert_eq!(set("[1,2]", &["5"], "3", true).unwrap(), "[1, 2, 3]");
        assert_eq!(set("[1,2]", &["-5"], "3", true).unwrap(), "[3, 1, 2]");
        assert_eq!(
            set(r#"{"a":{"b":1}}"#, &["a", "c"], "3", false).unwrap(),
            r#"{"a": {"b": 1}}"#
        );
        assert_eq!(
            set(r#"{"a":1}"#, &["x", "y"], "3", true).unwrap(),
            r#"{"a": 1}"#
        );
        assert!(set("1", &["a"], "2", true).is_err());
        assert!(set("[1]", &["a"], "2", true).is_err());
    }

    #[test]
    fn strip_nulls_is_postgresqls() {
        let doc = r#"{"a": null, "b" :  [1, null, {"c":null}]}"#;
        // PostgreSQL 15.18: {"b":[1,null,{}]} and {"b": [1, null, {}]}.
        assert_eq!(
            strip_nulls_json(&value::parse(doc).unwrap()),
            r#"{"b":[1,null,{}]}"#
        );
        assert_eq!(
            value::jsonb_text(&strip_nulls(value::parse_jsonb(doc).unwrap())).unwrap(),
            r#"{"b": [1, null, {}]}"#
        );
    }
}
