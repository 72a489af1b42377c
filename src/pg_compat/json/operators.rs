//! PostgreSQL's JSON operators, through DataFusion's extension point for
//! binary operators ([`ExprPlanner::plan_binary_op`]). This planner is
//! registered after DataFusion's own and [`crate::pg_compat::operators`],
//! so an operator reaching it with a JSON operand is ours.
//!
//! | operator | operands | answer |
//! |---|---|---|
//! | `->`, `->>` | `json`/`jsonb` and a key or an index (negative: from the end) | the part; as text for `->>` (JSON `null` → NULL) |
//! | `#>`, `#>>` | `json`/`jsonb` and a `text[]` path | the same, along the path |
//! | `@>`, `<@` | `jsonb`, `jsonb` | containment |
//! | `?`, `?\|`, `?&` | `jsonb` and a key, or `text[]` of keys | whether the key (any, all) is there |
//! | `=`, `<>`, `<`, `<=`, `>`, `>=` | `jsonb`, `jsonb` | PostgreSQL's `jsonb` order (`1 = 1.0`) |
//! | `\|\|` | `jsonb`, `jsonb` | concatenation (objects merged, arrays joined) |
//! | `-`, `#-` | `jsonb` and a key, an index, `text[]` of keys, or a path | the value without them |
//! | `@?`, `@@` | `jsonb` and a `jsonpath` (a quoted literal) | whether the path finds an item; its single boolean ([`super::path`], errors suppressed) |
//!
//! A quoted literal on the other side is read as PostgreSQL reads an
//! `unknown`: as `jsonb` (`j @> '{"a": 1}'`), a key, or a `text[]`
//! (`'{a,b}'`). What PostgreSQL has no operator for is refused as it is
//! there: `json = json`, `text -> 'a'`, `jsonb ? 1` with 42883;
//! `'{"a": 1}' -> 'a'` (both sides untyped) with 42725.

use std::cmp::Ordering;
use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, AsArray, BooleanBuilder, StringBuilder};
use datafusion::arrow::datatypes::{DataType, FieldRef};
use datafusion::common::{DFSchema, Result, ScalarValue};
use datafusion::logical_expr::planner::{ExprPlanner, PlannerResult, RawBinaryExpr};
use datafusion::logical_expr::{
    ColumnarValue, Expr, ExprSchemable, ReturnFieldArgs, ScalarFunctionArgs, ScalarUDF,
    ScalarUDFImpl, Signature, Volatility,
};
use datafusion::sql::sqlparser::ast::BinaryOperator;

use super::value::{self, JsonError, Node, Value};
use super::{Kind, answer, int_array, is_text, pg_type_name, rows_of, text_array};
use crate::sqlstate::{code, coded};

/// The planner; see the module documentation.
#[derive(Debug, Default)]
pub struct JsonOperators;

/// What one operand is, as PostgreSQL's operator resolution sees it.
#[derive(Debug, Clone, PartialEq)]
enum Operand {
    /// `json` or `jsonb`.
    Json(Kind),
    /// A quoted literal: type `unknown` until an operator gives it one.
    Unknown,
    /// The NULL literal.
    Null,
    /// Any integer.
    Integer,
    /// Typed text.
    Text,
    /// An array of text.
    TextArray,
    /// Anything else, with its PostgreSQL name.
    Other(String),
}

impl Operand {
    fn of(expr: &Expr, schema: &DFSchema) -> Operand {
        if let Expr::Literal(v, _) = expr {
            match v {
                ScalarValue::Utf8(Some(_))
                | ScalarValue::LargeUtf8(Some(_))
                | ScalarValue::Utf8View(Some(_)) => return Operand::Unknown,
                v if v.is_null() && v.data_type().is_null() => return Operand::Null,
                _ => {}
            }
        }
        let Ok((_, field)) = expr.to_field(schema) else {
            return Operand::Other("unknown".into());
        };
        if let Some(kind) = Kind::of(&field) {
            return Operand::Json(kind);
        }
        let t = field.data_type();
        match t {
            DataType::Null => Operand::Null,
            t if t.is_integer() => Operand::Integer,
            t if is_text(t) => Operand::Text,
            DataType::List(item) | DataType::LargeList(item) | DataType::FixedSizeList(item, _)
                if is_text(item.data_type()) || item.data_type().is_null() =>
            {
                Operand::TextArray
            }
            other => Operand::Other(pg_type_name(other)),
        }
    }

    fn name(&self) -> String {
        match self {
            Operand::Json(k) => k.name().into(),
            Operand::Unknown | Operand::Null => "unknown".into(),
            Operand::Integer => "integer".into(),
            Operand::Text => "text".into(),
            Operand::TextArray => "text[]".into(),
            Operand::Other(n) => n.clone(),
        }
    }

    /// Read as `jsonb`: `jsonb` itself or an untyped literal.
    fn as_jsonb(&self) -> bool {
        matches!(
            self,
            Operand::Json(Kind::Jsonb) | Operand::Unknown | Operand::Null
        )
    }

    /// Read as a key: text, or an untyped literal.
    fn as_text(&self) -> bool {
        matches!(self, Operand::Text | Operand::Unknown | Operand::Null)
    }

    /// Read as `text[]`: an array of text, or an untyped literal.
    fn as_text_array(&self) -> bool {
        matches!(self, Operand::TextArray | Operand::Unknown | Operand::Null)
    }
}

/// The operator's symbol, for messages.
fn symbol(op: &BinaryOperator) -> String {
    op.to_string()
}

fn no_operator(
    op: &BinaryOperator,
    left: &Operand,
    right: &Operand,
) -> datafusion::common::DataFusionError {
    if *left == Operand::Unknown && *right == Operand::Unknown {
        return coded(
            "42725",
            format!("operator is not unique: unknown {} unknown", symbol(op)),
        );
    }
    coded(
        code::UNDEFINED_FUNCTION,
        format!(
            "operator does not exist: {} {} {}",
            left.name(),
            symbol(op),
            right.name()
        ),
    )
}

/// The operations, each one UDF.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Op {
    /// `->` (`index`: by position), `->>` (`text`).
    Get { index: bool, text: bool },
    /// `#>`, `#>>` (`text`).
    Path { text: bool },
    /// `@>` (`reversed`: `<@`).
    Contains { reversed: bool },
    /// `?`.
    Exists,
    /// `?|` (`all`: `?&`).
    ExistsAny { all: bool },
    /// `=`, `<>`, `<`, `<=`, `>`, `>=`.
    Compare(Cmp),
    /// `||`.
    Concat,
    /// `-` with a key (`Key`), an index, or keys.
    Delete(DeleteBy),
    /// `#-`.
    DeletePath,
    /// `@?` (`matches`: `@@`).
    PathExists { matches: bool },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Cmp {
    Eq,
    NotEq,
    Lt,
    LtEq,
    Gt,
    GtEq,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DeleteBy {
    Key,
    Index,
    Keys,
}

impl ExprPlanner for JsonOperators {
    fn plan_binary_op(
        &self,
        expr: RawBinaryExpr,
        schema: &DFSchema,
    ) -> Result<PlannerResult<RawBinaryExpr>> {
        let left = Operand::of(&expr.left, schema);
        let right = Operand::of(&expr.right, schema);
        let any_json = matches!(left, Operand::Json(_)) || matches!(right, Operand::Json(_));
        let op = &expr.op;
        let planned = |o: Op, kind: Kind, expr: RawBinaryExpr| {
            let udf = ScalarUDF::new_from_impl(JsonOp::new(o, kind));
            Ok(PlannerResult::Planned(
                Arc::new(udf).call(vec![expr.left, expr.right]),
            ))
        };
        match op {
            BinaryOperator::Arrow
            | BinaryOperator::LongArrow
            | BinaryOperator::HashArrow
            | BinaryOperator::HashLongArrow => {
                let Operand::Json(kind) = left else {
                    return Err(no_operator(op, &left, &right));
                };
                let text = matches!(
                    op,
                    BinaryOperator::LongArrow | BinaryOperator::HashLongArrow
                );
                let o = match op {
                    BinaryOperator::Arrow | BinaryOperator::LongArrow => match right {
                        Operand::Integer => Op::Get { index: true, text },
                        ref r if r.as_text() => Op::Get { index: false, text },
                        _ => return Err(no_operator(op, &left, &right)),
                    },
                    _ if right.as_text_array() => Op::Path { text },
                    _ => return Err(no_operator(op, &left, &right)),
                };
                planned(o, kind, expr)
            }
            BinaryOperator::AtArrow | BinaryOperator::ArrowAt if any_json => {
                if !(left.as_jsonb() && right.as_jsonb()) {
                    return Err(no_operator(op, &left, &right));
                }
                let reversed = matches!(op, BinaryOperator::ArrowAt);
                planned(Op::Contains { reversed }, Kind::Jsonb, expr)
            }
            BinaryOperator::Question
            | BinaryOperator::QuestionPipe
            | BinaryOperator::QuestionAnd => {
                let ok = left == Operand::Json(Kind::Jsonb)
                    && match op {
                        BinaryOperator::Question => right.as_text(),
                        _ => right.as_text_array(),
                    };
                if !ok {
                    return Err(no_operator(op, &left, &right));
                }
                let o = match op {
                    BinaryOperator::Question => Op::Exists,
                    BinaryOperator::QuestionPipe => Op::ExistsAny { all: false },
                    _ => Op::ExistsAny { all: true },
                };
                planned(o, Kind::Jsonb, expr)
            }
            BinaryOperator::Eq
            | BinaryOperator::NotEq
            | BinaryOperator::Lt
            | BinaryOperator::LtEq
            | BinaryOperator::Gt
            | BinaryOperator::GtEq
                if any_json =>
            {
                // `json` has no comparison operators at all.
                if !(left.as_jsonb() && right.as_jsonb()) {
                    return Err(no_operator(op, &left, &right));
                }
                let cmp = match op {
                    BinaryOperator::Eq => Cmp::Eq,
                    BinaryOperator::NotEq => Cmp::NotEq,
                    BinaryOperator::Lt => Cmp::Lt,
                    BinaryOperator::LtEq => Cmp::LtEq,
                    BinaryOperator::Gt => Cmp::Gt,
                    _ => Cmp::GtEq,
                };
                planned(Op::Compare(cmp), Kind::Jsonb, expr)
            }
            BinaryOperator::StringConcat if any_json => {
                if left.as_jsonb() && right.as_jsonb() {
                    return planned(Op::Concat, Kind::Jsonb, expr);
                }
                // `json || text` is text concatenation in PostgreSQL too
                // (anynonarray || text); `json || json` does not exist.
                if matches!(left, Operand::Json(_)) && matches!(right, Operand::Json(_)) {
                    return Err(no_operator(op, &left, &right));
                }
                Ok(PlannerResult::Original(expr))
            }
            BinaryOperator::Minus if any_json => {
                let by = match (&left, &right) {
                    (Operand::Json(Kind::Jsonb), Operand::Integer) => DeleteBy::Index,
                    (Operand::Json(Kind::Jsonb), r) if r.as_text() => DeleteBy::Key,
                    (Operand::Json(Kind::Jsonb), Operand::TextArray) => DeleteBy::Keys,
                    _ => return Err(no_operator(op, &left, &right)),
                };
                planned(Op::Delete(by), Kind::Jsonb, expr)
            }
            // Two quoted literals are `jsonb @? jsonpath` in PostgreSQL too
            // (`@@` as well: the other `@@`s are text search's).
            BinaryOperator::AtQuestion | BinaryOperator::AtAt
                if any_json || (left == Operand::Unknown && right == Operand::Unknown) =>
            {
                if !left.as_jsonb() || !matches!(right, Operand::Unknown | Operand::Null) {
                    return Err(no_operator(op, &left, &right));
                }
                let matches = matches!(op, BinaryOperator::AtAt);
                planned(Op::PathExists { matches }, Kind::Jsonb, expr)
            }
            BinaryOperator::HashMinus if any_json => {
                if left != Operand::Json(Kind::Jsonb) || !right.as_text_array() {
                    return Err(no_operator(op, &left, &right));
                }
                planned(Op::DeletePath, Kind::Jsonb, expr)
            }
            _ if any_json => {
                // Arithmetic and the rest on JSON: no such operator.
                if matches!(
                    op,
                    BinaryOperator::Plus
                        | BinaryOperator::Multiply
                        | BinaryOperator::Divide
                        | BinaryOperator::Modulo
                ) {
                    return Err(no_operator(op, &left, &right));
                }
                Ok(PlannerResult::Original(expr))
            }
            _ => Ok(PlannerResult::Original(expr)),
        }
    }
}

/// One JSON operator as a function of its two operands.
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct JsonOp {
    op: Op,
    /// The kind of the left operand (of the answer, for `->`, `#>`).
    kind: Kind,
    signature: Signature,
}

impl JsonOp {
    pub fn new(op: Op, kind: Kind) -> JsonOp {
        JsonOp {
            op,
            kind,
            signature: Signature::any(2, Volatility::Immutable),
        }
    }
}

impl ScalarUDFImpl for JsonOp {
    fn name(&self) -> &str {
        match (self.op, self.kind) {
            (Op::Get { text: false, .. }, Kind::Json) => "json_object_field",
            (Op::Get { text: false, .. }, Kind::Jsonb) => "jsonb_object_field",
            (Op::Get { text: true, .. }, Kind::Json) => "json_object_field_text",
            (Op::Get { text: true, .. }, Kind::Jsonb) => "jsonb_object_field_text",
            (Op::Path { text: false }, Kind::Json) => "json_extract_path",
            (Op::Path { text: false }, Kind::Jsonb) => "jsonb_extract_path",
            (Op::Path { text: true }, Kind::Json) => "json_extract_path_text",
            (Op::Path { text: true }, Kind::Jsonb) => "jsonb_extract_path_text",
            (Op::Contains { reversed: false }, _) => "jsonb_contains",
            (Op::Contains { reversed: true }, _) => "jsonb_contained",
            (Op::Exists, _) => "jsonb_exists",
            (Op::ExistsAny { all: false }, _) => "jsonb_exists_any",
            (Op::ExistsAny { all: true }, _) => "jsonb_exists_all",
            (Op::Compare(_), _) => "jsonb_cmp",
            (Op::Concat, _) => "jsonb_concat",
            (Op::Delete(_), _) => "jsonb_delete",
            (Op::DeletePath, _) => "jsonb_delete_path",
            (Op::PathExists { matches: false }, _) => "jsonb_path_exists_opr",
            (Op::PathExists { matches: true }, _) => "jsonb_path_match_opr",
        }
    }
    fn signature(&self) -> &Signature {
        &self.signature
    }
    fn return_type(&self, _: &[DataType]) -> Result<DataType> {
        Ok(match self.op {
            Op::Contains { .. }
            | Op::Exists
            | Op::ExistsAny { .. }
            | Op::Compare(_)
            | Op::PathExists { .. } => DataType::Boolean,
            _ => DataType::Utf8,
        })
    }
    fn return_field_from_args(&self, _: ReturnFieldArgs) -> Result<FieldRef> {
        let name = self.name();
        Ok(match self.op {
            Op::Get { text: false, .. } | Op::Path { text: false } => self.kind.field(name, true),
            Op::Concat | Op::Delete(_) | Op::DeletePath => Kind::Jsonb.field(name, true),
            Op::Get { text: true, .. } | Op::Path { text: true } => Arc::new(
                datafusion::arrow::datatypes::Field::new(name, DataType::Utf8, true),
            ),
            _ => Arc::new(datafusion::arrow::datatypes::Field::new(
                name,
                DataType::Boolean,
                true,
            )),
        })
    }
    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let rows = rows_of(&args.args, args.number_rows);
        let [left, right] = args.args.as_slice() else {
            return Err(coded(
                code::UNDEFINED_FUNCTION,
                "a JSON operator takes two operands",
            ));
        };
        let lefts = text_array(left, rows)?;
        let array: ArrayRef = match self.op {
            Op::Get { index, text } => {
                let mut out = StringBuilder::new();
                if index {
                    let idx = int_array(right, rows)?;
                    let idx = idx.as_primitive::<datafusion::arrow::datatypes::Int64Type>();
                    for i in 0..rows {
                        if lefts.is_null(i) || idx.is_null(i) {
                            out.append_null();
                            continue;
                        }
                        let doc = self.parse(lefts.value(i))?;
                        let part = element(&doc, idx.value(i), self.kind);
                        out.append_option(self.output(part, text)?);
                    }
                } else {
                    let keys = text_array(right, rows)?;
                    for i in 0..rows {
                        if lefts.is_null(i) || keys.is_null(i) {
                            out.append_null();
                            continue;
                        }
                        let doc = self.parse(lefts.value(i))?;
                        out.append_option(self.output(doc.get(keys.value(i)), text)?);
                    }
                }
                Arc::new(out.finish())
            }
            Op::Path { text } => {
                let paths = text_arrays(right, rows)?;
                let mut out = StringBuilder::new();
                for (i, path) in paths.iter().enumerate() {
                    let (false, Some(path)) = (lefts.is_null(i), path) else {
                        out.append_null();
                        continue;
                    };
                    let doc = self.parse(lefts.value(i))?;
                    out.append_option(self.output(walk(&doc, path, self.kind), text)?);
                }
                Arc::new(out.finish())
            }
            Op::Contains { reversed } => {
                let rights = text_array(right, rows)?;
                let mut out = BooleanBuilder::new();
                for i in 0..rows {
                    if lefts.is_null(i) || rights.is_null(i) {
                        out.append_null();
                        continue;
                    }
                    let a = value::parse_jsonb(lefts.value(i))?;
                    let b = value::parse_jsonb(rights.value(i))?;
                    out.append_value(if reversed {
                        value::contains(&b, &a)
                    } else {
                        value::contains(&a, &b)
                    });
                }
                Arc::new(out.finish())
            }
            Op::Exists => {
                let keys = text_array(right, rows)?;
                let mut out = BooleanBuilder::new();
                for i in 0..rows {
                    if lefts.is_null(i) || keys.is_null(i) {
                        out.append_null();
                        continue;
                    }
                    let a = value::parse_jsonb(lefts.value(i))?;
                    out.append_value(value::exists(&a, keys.value(i)));
                }
                Arc::new(out.finish())
            }
            Op::ExistsAny { all } => {
                let keys = text_arrays(right, rows)?;
                let mut out = BooleanBuilder::new();
                for (i, keys) in keys.iter().enumerate() {
                    let (false, Some(keys)) = (lefts.is_null(i), keys) else {
                        out.append_null();
                        continue;
                    };
                    let a = value::parse_jsonb(lefts.value(i))?;
                    // NULL keys are skipped, as PostgreSQL skips them.
                    let mut present = keys.iter().flatten().map(|k| value::exists(&a, k));
                    out.append_value(if all {
                        present.all(|p| p)
                    } else {
                        present.any(|p| p)
                    });
                }
                Arc::new(out.finish())
            }
            Op::Compare(cmp) => {
                let rights = text_array(right, rows)?;
                let mut out = BooleanBuilder::new();
                for i in 0..rows {
                    if lefts.is_null(i) || rights.is_null(i) {
                        out.append_null();
                        continue;
                    }
                    let a = value::parse_jsonb(lefts.value(i))?;
                    let b = value::parse_jsonb(rights.value(i))?;
                    let o = value::compare(&a, &b);
                    out.append_value(match cmp {
                        Cmp::Eq => o == Ordering::Equal,
                        Cmp::NotEq => o != Ordering::Equal,
                        Cmp::Lt => o == Ordering::Less,
                        Cmp::LtEq => o != Ordering::Greater,
                        Cmp::Gt => o == Ordering::Greater,
                        Cmp::GtEq => o != Ordering::Less,
                    });
                }
                Arc::new(out.finish())
            }
            Op::PathExists { matches } => {
                let paths = text_array(right, rows)?;
                let mut cache = super::functions::PathCache::new();
                let mut out = BooleanBuilder::new();
                for i in 0..rows {
                    // The path is read even for a NULL document, as
                    // PostgreSQL reads the literal while planning.
                    let path = if paths.is_null(i) {
                        None
                    } else {
                        Some(cache.get(paths.value(i))?)
                    };
                    let (Some(path), false) = (path, lefts.is_null(i)) else {
                        out.append_null();
                        continue;
                    };
                    // The operators have no `vars` and are silent.
                    let doc = lefts.value(i);
                    out.append_option(if matches {
                        super::path::path_match(&path, doc, None, true)?
                    } else {
                        super::path::path_exists(&path, doc, None, true)?
                    });
                }
                Arc::new(out.finish())
            }
            Op::Concat => {
                let rights = text_array(right, rows)?;
                let mut out = StringBuilder::new();
                for i in 0..rows {
                    if lefts.is_null(i) || rights.is_null(i) {
                        out.append_null();
                        continue;
                    }
                    let a = value::parse_jsonb(lefts.value(i))?;
                    let b = value::parse_jsonb(rights.value(i))?;
                    out.append_value(value::jsonb_text(&concat(a, b))?);
                }
                Arc::new(out.finish())
            }
            Op::Delete(by) => {
                let mut out = StringBuilder::new();
                match by {
                    DeleteBy::Index => {
                        let idx = int_array(right, rows)?;
                        let idx = idx.as_primitive::<datafusion::arrow::datatypes::Int64Type>();
                        for i in 0..rows {
                            if lefts.is_null(i) || idx.is_null(i) {
                                out.append_null();
                                continue;
                            }
                            let a = value::parse_jsonb(lefts.value(i))?;
                            out.append_value(value::jsonb_text(&delete_index(a, idx.value(i))?)?);
                        }
                    }
                    DeleteBy::Key | DeleteBy::Keys => {
                        let keys = if by == DeleteBy::Key {
                            text_array(right, rows)?
                                .iter()
                                .map(|k| k.map(|k| vec![Some(k.to_string())]))
                                .collect()
                        } else {
                            text_arrays(right, rows)?
                        };
                        for (i, keys) in keys.iter().enumerate() {
                            let (false, Some(keys)) = (lefts.is_null(i), keys) else {
                                out.append_null();
                                continue;
                            };
                            let a = value::parse_jsonb(lefts.value(i))?;
                            out.append_value(value::jsonb_text(&delete_keys(a, keys)?)?);
                        }
                    }
                }
                Arc::new(out.finish())
            }
            Op::DeletePath => {
                let paths = text_arrays(right, rows)?;
                let mut out = StringBuilder::new();
                for (i, path) in paths.iter().enumerate() {
                    let (false, Some(path)) = (lefts.is_null(i), path) else {
                        out.append_null();
                        continue;
                    };
                    let a = value::parse_jsonb(lefts.value(i))?;
                    out.append_value(value::jsonb_text(&delete_path(a, path)?)?);
                }
                Arc::new(out.finish())
            }
        };
        answer(array, &args.args)
    }
}

impl JsonOp {
    /// The left operand as a tree (canonical for `jsonb`).
    fn parse<'a>(&self, text: &'a str) -> Result<Node<'a>, JsonError> {
        match self.kind {
            Kind::Json => value::parse(text),
            Kind::Jsonb => value::parse_jsonb(text),
        }
    }

    /// A part as the answer: `json` as its source text, `jsonb` canonical;
    /// as text (`->>`), a string unquoted and JSON `null` as NULL.
    fn output(&self, part: Option<&Node<'_>>, text: bool) -> Result<Option<String>> {
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
        Ok(Some(match self.kind {
            Kind::Json => part.text.to_string(),
            Kind::Jsonb => value::jsonb_text(part)?,
        }))
    }
}

/// Element `index` of an array; a top-level `jsonb` scalar is a one-item
/// array (`'1'::jsonb -> 0` is `1`).
fn element<'n, 'a>(doc: &'n Node<'a>, index: i64, kind: Kind) -> Option<&'n Node<'a>> {
    match &doc.value {
        Value::Array(_) => doc.at(index),
        Value::Object(_) => None,
        _ if kind == Kind::Jsonb && (index == 0 || index == -1) => Some(doc),
        _ => None,
    }
}

/// Follows a `text[]` path: keys into objects, integers (as PostgreSQL's
/// `strtol` reads them: leading blanks, leading zeros, a sign) into arrays.
/// A NULL step, a missing step, or a step into a scalar gives nothing.
pub fn walk<'n, 'a>(
    doc: &'n Node<'a>,
    path: &[Option<String>],
    _kind: Kind,
) -> Option<&'n Node<'a>> {
    let mut at = doc;
    for step in path {
        let step = step.as_deref()?;
        at = match &at.value {
            Value::Object(_) => at.get(step)?,
            Value::Array(_) => at.at(path_index(step)?)?,
            _ => return None,
        };
    }
    Some(at)
}

/// A path step as an array index, or `None` when it is not an integer.
pub fn path_index(step: &str) -> Option<i64> {
    let s = step.trim_start_matches([' ', '\t', '\n', '\r', '\u{b}', '\u{c}']);
    let (neg, digits) = match s.strip_prefix('-') {
        Some(d) => (true, d),
        None => (false, s.strip_prefix('+').unwrap_or(s)),
    };
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let v: i64 = digits.parse().ok()?;
    let v = if neg { -v } else { v };
    i32::try_from(v).ok().map(i64::from)
}

/// `jsonb || jsonb`: two objects merged (the right's keys win); otherwise
/// both as arrays (a scalar as a one-item array) joined.
pub fn concat<'a>(a: Node<'a>, b: Node<'a>) -> Node<'a> {
    match (a.value, b.value) {
        (Value::Object(mut x), Value::Object(y)) => {
            x.extend(y);
            value::canonical(Node::built(Value::Object(x)))
        }
        (x, y) => {
            let items = |v: Value<'a>| match v {
                Value::Array(items) => items,
                other => vec![Node::built(other)],
            };
            let mut all = items(x);
            all.extend(items(y));
            Node::built(Value::Array(all))
        }
    }
}

fn cannot_delete(what: &str) -> datafusion::common::DataFusionError {
    coded(code::INVALID_PARAMETER_VALUE, what.to_string())
}

/// `jsonb - integer`.
fn delete_index(a: Node<'_>, index: i64) -> Result<Node<'_>> {
    match a.value {
        Value::Array(mut items) => {
            let len = items.len() as i64;
            let i = if index < 0 { len + index } else { index };
            if (0..len).contains(&i) {
                items.remove(i as usize);
            }
            Ok(Node::built(Value::Array(items)))
        }
        Value::Object(_) => Err(cannot_delete(
            "cannot delete from object using integer index",
        )),
        _ => Err(cannot_delete("cannot delete from scalar")),
    }
}

/// `jsonb - text`, `jsonb - text[]`: object keys, or an array's string
/// items.
fn delete_keys<'a>(a: Node<'a>, keys: &[Option<String>]) -> Result<Node<'a>> {
    let gone = |k: &str| keys.iter().flatten().any(|x| x == k);
    match a.value {
        Value::Object(members) => Ok(Node::built(Value::Object(
            members.into_iter().filter(|(k, _)| !gone(k)).collect(),
        ))),
        Value::Array(items) => Ok(Node::built(Value::Array(
            items
                .into_iter()
                .filter(|i| !matches!(&i.value, Value::String(s) if gone(s)))
                .collect(),
        ))),
        _ => Err(cannot_delete("cannot delete from scalar")),
    }
}

/// `jsonb #- text[]`.
fn delete_path<'a>(a: Node<'a>, path: &[Option<String>]) -> Result<Node<'a>> {
    if !matches!(a.value, Value::Array(_) | Value::Object(_)) {
        return Err(cannot_delete("cannot delete path in scalar"));
    }
    let Some((first, rest)) = path.split_first() else {
        return Ok(a);
    };
    let Some(step) = first else {
        return Err(coded(
            code::INVALID_PARAMETER_VALUE,
            "path element at position 1 is null",
        ));
    };
    Ok(match a.value {
        Value::Object(members) => Node::built(Value::Object(
            members
                .into_iter()
                .filter_map(|(k, v)| {
                    if k != step.as_str() {
                        Some(Ok((k, v)))
                    } else if rest.is_empty() {
                        None
                    } else if matches!(v.value, Value::Array(_) | Value::Object(_)) {
                        Some(delete_path(v, rest).map(|v| (k, v)))
                    } else {
                        Some(Ok((k, v)))
                    }
                })
                .collect::<Result<_>>()?,
        )),
        Value::Array(mut items) => {
            let Some(index) = path_index(step) else {
                return Err(coded(
                    code::INVALID_TEXT_REPRESENTATION,
                    format!("path element at position 1 is not an integer: \"{step}\""),
                ));
            };
            let len = items.len() as i64;
            let i = if index < 0 { len + index } else { index };
            if (0..len).contains(&i) {
                let i = i as usize;
                if rest.is_empty() {
                    items.remove(i);
                } else if matches!(items[i].value, Value::Array(_) | Value::Object(_)) {
                    let item = items.remove(i);
                    items.insert(i, delete_path(item, rest)?);
                }
            }
            Node::built(Value::Array(items))
        }
        other => Node::built(other),
    })
}

/// A `text[]` argument, one list per row: an array of text, or text in
/// PostgreSQL's array syntax (`'{a,b}'`).
pub fn text_arrays(value: &ColumnarValue, rows: usize) -> Result<Vec<Option<Vec<Option<String>>>>> {
    let array = value.to_array(rows)?;
    let mut out = Vec::with_capacity(rows);
    match array.data_type() {
        DataType::List(_) | DataType::LargeList(_) | DataType::FixedSizeList(..) => {
            for i in 0..array.len() {
                if array.is_null(i) {
                    out.push(None);
                    continue;
                }
                let items: ArrayRef = match array.data_type() {
                    DataType::List(_) => array.as_list::<i32>().value(i),
                    DataType::LargeList(_) => array.as_list::<i64>().value(i),
                    _ => array.as_fixed_size_list().value(i),
                };
                let items = datafusion::arrow::compute::cast(&items, &DataType::Utf8)?;
                let items = items.as_string::<i32>();
                out.push(Some(items.iter().map(|s| s.map(str::to_string)).collect()));
            }
        }
        DataType::Null => out.resize(array.len(), None),
        _ => {
            let texts = text_array(&ColumnarValue::Array(array), rows)?;
            for t in texts.iter() {
                out.push(t.map(parse_text_array).transpose()?);
            }
        }
    }
    Ok(out)
}

/// PostgreSQL's `array_in` for a one-dimensional `text[]`: `{a,"b c",NULL}`.
pub fn parse_text_array(text: &str) -> Result<Vec<Option<String>>> {
    let malformed = || {
        coded(
            code::INVALID_TEXT_REPRESENTATION,
            format!("malformed array literal: \"{text}\""),
        )
    };
    let blank = |c: char| matches!(c, ' ' | '\t' | '\n' | '\r' | '\u{b}' | '\u{c}');
    let inner = text
        .trim_matches(blank)
        .strip_prefix('{')
        .and_then(|t| t.strip_suffix('}'))
        .ok_or_else(malformed)?;
    let mut items = Vec::new();
    if inner.trim_matches(blank).is_empty() {
        return Ok(items);
    }
    let mut chars = inner.chars().peekable();
    loop {
        while chars.peek().is_some_and(|c| blank(*c)) {
            chars.next();
        }
        let mut item = String::new();
        let mut quoted = false;
        let mut trailing_blanks = 0;
        loop {
            match chars.peek().copied() {
                None | Some(',') => break,
                Some('{') | Some('}') => return Err(malformed()),
                Some('"') => {
                    chars.next();
                    quoted = true;
                    loop {
                        match chars.next().ok_or_else(malformed)? {
                            '"' => break,
                            '\\' => item.push(chars.next().ok_or_else(malformed)?),
                            c => item.push(c),
                        }
                    }
                    trailing_blanks = 0;
                }
                Some('\\') => {
                    chars.next();
                    item.push(chars.next().ok_or_else(malformed)?);
                    trailing_blanks = 0;
                }
                Some(c) => {
                    chars.next();
                    item.push(c);
                    trailing_blanks = if blank(c) { trailing_blanks + 1 } else { 0 };
                }
            }
        }
        item.truncate(item.len() - trailing_blanks);
        if item.is_empty() && !quoted {
            return Err(malformed());
        }
        items.push(if !quoted && item.eq_ignore_ascii_case("null") {
            None
        } else {
            Some(item)
        });
        if chars.next().is_none() {
            break;
        }
    }
    Ok(items)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_array_literals_read_as_postgresql_reads_them() {
        let s = |v: &[Option<&str>]| v.iter().map(|x| x.map(str::to_string)).collect::<Vec<_>>();
        assert_eq!(
            parse_text_array("{a,b}").unwrap(),
            s(&[Some("a"), Some("b")])
        );
        assert_eq!(parse_text_array("{}").unwrap(), s(&[]));
        assert_eq!(
            parse_text_array(r#"{ a , "b c",NULL,"NULL", d\,e }"#).unwrap(),
            s(&[Some("a"), Some("b c"), None, Some("NULL"), Some("d,e")])
        );
        assert!(parse_text_array("a,b").is_err());
        assert!(parse_text_array("{a,,b}").is_err());
    }

    #[test]
    fn paths_and_edits_are_postgresqls() {
        let doc = value::parse_jsonb(r#"{"a":{"b":[1,2,3]}}"#).unwrap();
        let p = |v: &[&str]| v.iter().map(|x| Some(x.to_string())).collect::<Vec<_>>();
        let text = |n: Option<&Node>| n.map(|n| value::jsonb_text(n).unwrap());
        // PostgreSQL 15: #> '{a,b}' = [1, 2, 3]; '{a,b,-1}' = 3; '{a, x}' NULL;
        // ' 1' and '01' are index 1.
        assert_eq!(
            text(walk(&doc, &p(&["a", "b"]), Kind::Jsonb)).as_deref(),
            Some("[1, 2, 3]")
        );
        assert_eq!(
            text(walk(&doc, &p(&["a", "b", "-1"]), Kind::Jsonb)).as_deref(),
            Some("3")
        );
        assert_eq!(text(walk(&doc, &p(&["a", "x"]), Kind::Jsonb)), None);
        assert_eq!(
            text(walk(&doc, &p(&["a", "b", " 1"]), Kind::Jsonb)).as_deref(),
            Some("2")
        );
        assert_eq!(
            text(walk(&doc, &p(&["a", "b", "01"]), Kind::Jsonb)).as_deref(),
            Some("2")
        );
        assert_eq!(
            text(walk(&doc, &p(&[]), Kind::Jsonb)).as_deref(),
            Some(r#"{"a": {"b": [1, 2, 3]}}"#)
        );
        fn j(t: &str) -> Node<'_> {
            value::parse_jsonb(t).unwrap()
        }
        let out = |n: Result<Node>| value::jsonb_text(&n.unwrap()).unwrap();
        // '{"a":1}' || '{"b":2}', '[1]' || '2', '1' || '[2]', '{"a":1}' || '[2]'.
        assert_eq!(
            value::jsonb_text(&concat(j(r#"{"a":1}"#), j(r#"{"b":2}"#))).unwrap(),
            r#"{"a": 1, "b": 2}"#
        );
        assert_eq!(
            value::jsonb_text(&concat(j("[1]"), j("2"))).unwrap(),
            "[1, 2]"
        );
        assert_eq!(
            value::jsonb_text(&concat(j("1"), j("[2]"))).unwrap(),
            "[1, 2]"
        );
        assert_eq!(
            value::jsonb_text(&concat(j(r#"{"a":1}"#), j("[2]"))).unwrap(),
            r#"[{"a": 1}, 2]"#
        );
        assert_eq!(out(delete_index(j("[1,2,3]"), -1)), "[1, 2]");
        assert_eq!(out(delete_index(j("[1,2,3]"), 5)), "[1, 2, 3]");
        assert_eq!(out(delete_keys(j(r#"["a","b"]"#), &p(&["a"]))), r#"["b"]"#);
        assert_eq!(
            out(delete_path(j(r#"{"a":{"b":1,"c":2}}"#), &p(&["a", "b"]))),
            r#"{"a": {"c": 2}}"#
        );
        assert_eq!(
            out(delete_path(j("[1,[2,3]]"), &p(&["1", "0"]))),
            "[1, [3]]"
        );
        assert!(delete_index(j(r#"{"a":1}"#), 0).is_err());
    }
}
