//! PostgreSQL's JSON set-returning functions in `FROM`, as DataFusion
//! table functions: `json_each(j)` / `jsonb_each` (`key`, `value`),
//! `json_each_text` / `jsonb_each_text`, `json_array_elements(j)` /
//! `jsonb_array_elements` (`value`), `…_elements_text`, and
//! `json_object_keys(j)` / `jsonb_object_keys`, and `jsonb_path_query(j,
//! path[, vars[, silent]])` (`value` … the items the SQL/JSON path yields,
//! [`super::path`]).
//!
//! DataFusion calls a table function while planning, with its arguments
//! folded to constants: `SELECT * FROM jsonb_each('{"a": 1}')` works, an
//! argument that is a column of another table (`LATERAL`) does not, and is
//! refused with 0A000. In a select list the single-column sets
//! (`…_array_elements[_text]`, `…_object_keys`) are scalar functions
//! returning the set as a list ([`ListOfSet`]), which
//! [`crate::pg_compat::compat`] unnests: one row per element, for any row's
//! document.

use std::sync::Arc;

use datafusion::arrow::array::{ArrayRef, RecordBatch, StringBuilder};
use datafusion::arrow::datatypes::{DataType, Field, Schema};
use datafusion::catalog::{TableFunctionArgs, TableFunctionImpl, TableProvider};
use datafusion::common::{Result, ScalarValue};
use datafusion::datasource::MemTable;
use datafusion::logical_expr::Expr;
use datafusion::prelude::SessionContext;

use super::Kind;
use super::value::{self, Node, Value};
use crate::sqlstate::{code, coded};

/// Registers the table functions in `ctx`.
pub fn register(ctx: &SessionContext) {
    for kind in [Kind::Json, Kind::Jsonb] {
        for set in [Set::Each, Set::Elements, Set::Keys] {
            for text in [false, true] {
                if set == Set::Keys && text {
                    continue;
                }
                let f = JsonSet { kind, set, text };
                if set != Set::Each {
                    // In a select list: the set as a list, which
                    // `crate::pg_compat::compat` unnests.
                    ctx.register_udf(datafusion::logical_expr::ScalarUDF::new_from_impl(
                        ListOfSet {
                            set: f,
                            name: f.name(),
                            signature: datafusion::logical_expr::Signature::any(
                                1,
                                datafusion::logical_expr::Volatility::Immutable,
                            ),
                        },
                    ));
                }
                ctx.register_udtf(&f.name(), Arc::new(f));
            }
        }
    }
    // In a select list only `jsonb_path_query` (the one unnested there);
    // both in `FROM`.
    ctx.register_udf(datafusion::logical_expr::ScalarUDF::new_from_impl(
        PathQueryList::new("jsonb_path_query"),
    ));
    for name in ["jsonb_path_query", "jsonb_path_query_tz"] {
        ctx.register_udtf(name, Arc::new(PathQuery { name }));
    }
}

/// `jsonb_path_query(…)` in `FROM`: one row an item, in the column named
/// after the function.
#[derive(Debug)]
struct PathQuery {
    name: &'static str,
}

impl TableFunctionImpl for PathQuery {
    fn call_with_args(&self, args: TableFunctionArgs) -> Result<Arc<dyn TableProvider>> {
        let name = self.name;
        let exprs = args.exprs();
        if !(2..=4).contains(&exprs.len()) {
            return Err(coded(
                code::UNDEFINED_FUNCTION,
                format!("function {name} takes two to four arguments"),
            ));
        }
        let mut values = vec![];
        for e in exprs {
            match e {
                Expr::Literal(v, _) => values.push(v.clone()),
                _ => {
                    return Err(coded(
                        code::FEATURE_NOT_SUPPORTED,
                        format!(
                            "{name} in FROM takes constant arguments here, not a column of another table"
                        ),
                    ));
                }
            }
        }
        let text = |v: &ScalarValue| -> Result<Option<String>> {
            match v {
                ScalarValue::Utf8(t) | ScalarValue::LargeUtf8(t) | ScalarValue::Utf8View(t) => {
                    Ok(t.clone())
                }
                ScalarValue::Null => Ok(None),
                other => Err(coded(
                    code::UNDEFINED_FUNCTION,
                    format!(
                        "function {name}(…, {}, …) does not exist",
                        super::pg_type_name(&other.data_type())
                    ),
                )),
            }
        };
        let doc = text(&values[0])?;
        let path = text(&values[1])?;
        let vars = match values.get(2) {
            Some(v) => text(v)?,
            None => Some("{}".to_string()),
        };
        let silent = match values.get(3) {
            Some(ScalarValue::Boolean(b)) => *b,
            Some(ScalarValue::Null) => None,
            Some(other) => {
                return Err(coded(
                    code::UNDEFINED_FUNCTION,
                    format!(
                        "function {name}(jsonb, jsonpath, jsonb, {}) does not exist",
                        super::pg_type_name(&other.data_type())
                    ),
                ));
            }
            None => Some(false),
        };
        let path = path.map(|p| super::path::parse(&p)).transpose()?;
        let items = match (doc, path, vars, silent) {
            (Some(doc), Some(path), Some(vars), Some(silent)) => {
                super::path::path_query(&path, &doc, Some(&vars), silent)?
            }
            _ => vec![],
        };
        let mut out = StringBuilder::new();
        for item in &items {
            out.append_value(item);
        }
        let schema = Arc::new(Schema::new(vec![
            Kind::Jsonb.field(name, true).as_ref().clone(),
        ]));
        let batch = RecordBatch::try_new(schema.clone(), vec![Arc::new(out.finish())])?;
        Ok(Arc::new(MemTable::try_new(schema, vec![vec![batch]])?))
    }
}

/// `jsonb_path_query(…)` in a select list: each row's items as a list,
/// which [`crate::pg_compat::compat`] unnests.
#[derive(Debug, PartialEq, Eq, Hash)]
struct PathQueryList {
    name: &'static str,
    signature: datafusion::logical_expr::Signature,
}

impl PathQueryList {
    fn new(name: &'static str) -> PathQueryList {
        use datafusion::logical_expr::{Signature, TypeSignature, Volatility};
        PathQueryList {
            name,
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

    fn item() -> Field {
        Kind::Jsonb.field("item", true).as_ref().clone()
    }
}

impl datafusion::logical_expr::ScalarUDFImpl for PathQueryList {
    fn name(&self) -> &str {
        self.name
    }
    fn signature(&self) -> &datafusion::logical_expr::Signature {
        &self.signature
    }
    fn return_type(&self, _: &[DataType]) -> Result<DataType> {
        Ok(DataType::List(Arc::new(Self::item())))
    }
    fn return_field_from_args(
        &self,
        args: datafusion::logical_expr::ReturnFieldArgs,
    ) -> Result<datafusion::arrow::datatypes::FieldRef> {
        if !super::functions::path_arguments_fit(&args) {
            return Err(super::no_function(self.name, args.arg_fields));
        }
        Ok(Arc::new(Field::new(
            self.name,
            DataType::List(Arc::new(Self::item())),
            true,
        )))
    }
    fn invoke_with_args(
        &self,
        args: datafusion::logical_expr::ScalarFunctionArgs,
    ) -> Result<datafusion::logical_expr::ColumnarValue> {
        use datafusion::arrow::array::{Array, AsArray, ListBuilder};
        let rows = args.number_rows;
        let docs = super::text_array(&args.args[0], rows)?;
        let paths = super::text_array(&args.args[1], rows)?;
        let vars = match args.args.get(2) {
            Some(v) => Some(super::text_array(v, rows)?),
            None => None,
        };
        let silent = match args.args.get(3) {
            Some(s) => Some(s.to_array(rows)?),
            None => None,
        };
        let mut cache = super::functions::PathCache::new();
        let mut out = ListBuilder::new(StringBuilder::new()).with_field(Arc::new(Self::item()));
        for i in 0..rows {
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
                out.append(false);
                continue;
            };
            for item in super::path::path_query(&path, docs.value(i), Some(vars_text), quiet)? {
                out.values().append_value(item);
            }
            out.append(true);
        }
        Ok(datafusion::logical_expr::ColumnarValue::Array(Arc::new(
            out.finish(),
        )))
    }
}

/// Which set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Set {
    /// An object's members.
    Each,
    /// An array's items.
    Elements,
    /// An object's keys.
    Keys,
}

/// One set-returning function.
#[derive(Debug, Clone, Copy)]
pub struct JsonSet {
    kind: Kind,
    set: Set,
    /// Values as text (`…_text`).
    text: bool,
}

impl JsonSet {
    fn name(&self) -> String {
        let base = match self.set {
            Set::Each => "each",
            Set::Elements => "array_elements",
            Set::Keys => "object_keys",
        };
        format!(
            "{}_{base}{}",
            self.kind.name(),
            if self.text { "_text" } else { "" }
        )
    }

    /// The rows for one document: (key, value) pairs, the value's text
    /// `None` for SQL NULL.
    fn rows(&self, doc: &Node<'_>) -> Result<Vec<(Option<String>, Option<String>)>> {
        let wrong = |what: &str| coded(code::INVALID_PARAMETER_VALUE, what.to_string());
        let write = |n: &Node<'_>| -> Result<Option<String>> {
            if self.text {
                match &n.value {
                    Value::Null => return Ok(None),
                    Value::String(s) => return Ok(Some(value::text_of(s)?.to_string())),
                    _ => {}
                }
            }
            Ok(Some(match self.kind {
                Kind::Json => n.text.to_string(),
                Kind::Jsonb => value::jsonb_text(n)?,
            }))
        };
        match (&doc.value, self.set) {
            (Value::Object(members), Set::Each) => members
                .iter()
                .map(|(k, v)| Ok((Some(value::text_of(k)?.to_string()), write(v)?)))
                .collect(),
            (Value::Object(members), Set::Keys) => members
                .iter()
                .map(|(k, _)| Ok((Some(value::text_of(k)?.to_string()), None)))
                .collect(),
            (Value::Array(items), Set::Elements) => {
                items.iter().map(|v| Ok((None, write(v)?))).collect()
            }
            (Value::Array(_), Set::Each) => Err(wrong("cannot deconstruct an array as an object")),
            (Value::Array(_), Set::Keys) => {
                Err(wrong(&format!("cannot call {} on an array", self.name())))
            }
            (Value::Object(_), Set::Elements) => {
                Err(wrong("cannot extract elements from an object"))
            }
            (_, Set::Elements) => Err(wrong("cannot extract elements from a scalar")),
            (_, Set::Each) => Err(wrong("cannot deconstruct a scalar")),
            (_, Set::Keys) => Err(wrong(&format!("cannot call {} on a scalar", self.name()))),
        }
    }

    fn value_field(&self, name: &str) -> Field {
        if self.text {
            Field::new(name, DataType::Utf8, true)
        } else {
            self.kind.field(name, true).as_ref().clone()
        }
    }
}

impl TableFunctionImpl for JsonSet {
    fn call_with_args(&self, args: TableFunctionArgs) -> Result<Arc<dyn TableProvider>> {
        let name = self.name();
        let text = match args.exprs() {
            [Expr::Literal(v, _)] => match v {
                ScalarValue::Utf8(t) | ScalarValue::LargeUtf8(t) | ScalarValue::Utf8View(t) => {
                    t.clone()
                }
                ScalarValue::Null => None,
                other => {
                    return Err(coded(
                        code::UNDEFINED_FUNCTION,
                        format!(
                            "function {name}({}) does not exist",
                            super::pg_type_name(&other.data_type())
                        ),
                    ));
                }
            },
            [_] => {
                return Err(coded(
                    code::FEATURE_NOT_SUPPORTED,
                    format!(
                        "{name} in FROM takes a constant argument here, not a column of another table"
                    ),
                ));
            }
            _ => {
                return Err(coded(
                    code::UNDEFINED_FUNCTION,
                    format!("function {name} takes one argument"),
                ));
            }
        };
        let rows = match &text {
            Some(t) => {
                let doc = match self.kind {
                    Kind::Json => value::parse(t)?,
                    Kind::Jsonb => value::parse_jsonb(t)?,
                };
                self.rows(&doc)?
            }
            None => vec![],
        };
        let mut keys = StringBuilder::new();
        let mut values = StringBuilder::new();
        for (k, v) in &rows {
            keys.append_option(k.as_deref());
            values.append_option(v.as_deref());
        }
        let (fields, columns): (Vec<Field>, Vec<ArrayRef>) = match self.set {
            Set::Each => (
                vec![
                    Field::new("key", DataType::Utf8, true),
                    self.value_field("value"),
                ],
                vec![Arc::new(keys.finish()), Arc::new(values.finish())],
            ),
            Set::Elements => (
                vec![self.value_field("value")],
                vec![Arc::new(values.finish())],
            ),
            Set::Keys => (
                vec![Field::new(&name, DataType::Utf8, true)],
                vec![Arc::new(keys.finish())],
            ),
        };
        let schema = Arc::new(Schema::new(fields));
        let batch = RecordBatch::try_new(schema.clone(), columns)?;
        Ok(Arc::new(MemTable::try_new(schema, vec![vec![batch]])?))
    }
}

/// A single-column set (`json[b]_array_elements[_text]`,
/// `json[b]_object_keys`) in a select list: each document's set as a list.
#[derive(Debug)]
struct ListOfSet {
    set: JsonSet,
    name: String,
    signature: datafusion::logical_expr::Signature,
}

impl PartialEq for ListOfSet {
    fn eq(&self, other: &Self) -> bool {
        self.name == other.name
    }
}

impl Eq for ListOfSet {}

impl std::hash::Hash for ListOfSet {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.name.hash(state)
    }
}

impl ListOfSet {
    fn item(&self) -> Field {
        match self.set.set {
            Set::Keys => Field::new_list_field(DataType::Utf8, true),
            _ => self.set.value_field("item"),
        }
    }
}

impl datafusion::logical_expr::ScalarUDFImpl for ListOfSet {
    fn name(&self) -> &str {
        &self.name
    }
    fn signature(&self) -> &datafusion::logical_expr::Signature {
        &self.signature
    }
    fn return_type(&self, _: &[DataType]) -> Result<DataType> {
        Ok(DataType::List(Arc::new(self.item())))
    }
    fn invoke_with_args(
        &self,
        args: datafusion::logical_expr::ScalarFunctionArgs,
    ) -> Result<datafusion::logical_expr::ColumnarValue> {
        use datafusion::arrow::array::{Array, AsArray, ListBuilder};
        let docs = args.args[0].to_array(args.number_rows)?;
        let docs = datafusion::arrow::compute::cast(&docs, &DataType::Utf8)?;
        let docs = docs.as_string::<i32>();
        let mut out = ListBuilder::new(StringBuilder::new()).with_field(Arc::new(self.item()));
        for i in 0..docs.len() {
            if docs.is_null(i) {
                out.append(false);
                continue;
            }
            let doc = match self.set.kind {
                Kind::Json => value::parse(docs.value(i))?,
                Kind::Jsonb => value::parse_jsonb(docs.value(i))?,
            };
            for (k, v) in self.set.rows(&doc)? {
                let item = if self.set.set == Set::Keys { k } else { v };
                out.values().append_option(item);
            }
            out.append(true);
        }
        Ok(datafusion::logical_expr::ColumnarValue::Array(Arc::new(
            out.finish(),
        )))
    }
}
