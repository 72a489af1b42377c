//! PostgreSQL functions that client catalog queries call and neither
//! DataFusion nor datafusion-pg-catalog provide.
//!
//! | function | who calls it |
//! |---|---|
//! | `format(fmt, …)` | Metabase's field sync |
//! | `json_build_object(k, v, …)` | SQLAlchemy's column reflection (identity and collation details) |
//! | `_pg_expandarray(array)` | pgjdbc's `getPrimaryKeys`/`getIndexInfo` (with [`super::compat`] turning it into a set) |
//! | `generate_subscripts(array, dim)` | SQLAlchemy's constraint reflection (a set, the same way) |
//! | `pg_get_indexdef(…)`, `col_description(…)`, `obj_description(…)` | pgjdbc, Metabase, SQLAlchemy: NULL, as for an object without one |
//! | `pg_collation_is_visible(oid)` | SQLAlchemy: every collation is visible |
//! | `oid_alias(int4, kind)` | [`super::compat`]: `x::regclass`, described as `regclass` |
//! | `oid_array(int4[], kind)` | [`super::compat`]: `x::oid[]`, int4 values described as `oid[]` |
//! | `like_escape(pattern, c)` | [`super::compat`]: a LIKE pattern escaped with `c` → escaped with a backslash |
//!
//! OKO declares no indexes, comments or collations, so the lookups answer
//! what PostgreSQL answers for an object that has none.

use std::sync::Arc;

use datafusion::arrow::array::{
    Array, ArrayRef, AsArray, Int32Array, Int32Builder, ListArray, ListBuilder, StringBuilder,
    StructArray,
};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, Field, Fields, Int64Type};
use datafusion::common::{Result, ScalarValue, exec_err, plan_err};
use datafusion::logical_expr::{
    ColumnarValue, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature, TypeSignature,
    Volatility,
};
use datafusion::prelude::SessionContext;

/// Registers every function of this module in `ctx`.
pub fn register(ctx: &SessionContext) {
    ctx.register_udf(ScalarUDF::new_from_impl(Format::new()));
    ctx.register_udf(ScalarUDF::new_from_impl(JsonBuildObject::new()));
    ctx.register_udf(ScalarUDF::new_from_impl(PgExpandArray::new()));
    ctx.register_udf(ScalarUDF::new_from_impl(GenerateSubscripts::new()));
    ctx.register_udf(ScalarUDF::new_from_impl(LikeEscape::new()));
    ctx.register_udf(ScalarUDF::new_from_impl(OidArray::new()));
    ctx.register_udf(ScalarUDF::new_from_impl(OidAlias::new()));
    ctx.register_udf(null_text("pg_get_indexdef", &[1, 3]));
    ctx.register_udf(null_text("col_description", &[2]));
    ctx.register_udf(null_text("obj_description", &[1, 2]));
    ctx.register_udf(datafusion::logical_expr::create_udf(
        "pg_collation_is_visible",
        vec![DataType::Int32],
        DataType::Boolean,
        Volatility::Stable,
        Arc::new(|_| Ok(ColumnarValue::Scalar(ScalarValue::Boolean(Some(true))))),
    ));
}

/// All arguments scalar: the answer is one value.
fn all_scalar(args: &[ColumnarValue]) -> bool {
    args.iter().all(|a| matches!(a, ColumnarValue::Scalar(_)))
}

/// An answer of one row as a scalar, of many as an array.
fn answer(array: ArrayRef, scalar: bool) -> Result<ColumnarValue> {
    if scalar && array.len() == 1 {
        Ok(ColumnarValue::Scalar(ScalarValue::try_from_array(
            &array, 0,
        )?))
    } else {
        Ok(ColumnarValue::Array(array))
    }
}

/// A text function that is always NULL, taking any arguments of the given
/// counts.
fn null_text(name: &'static str, arities: &[usize]) -> ScalarUDF {
    ScalarUDF::new_from_impl(NullText {
        name,
        signature: Signature::one_of(
            arities.iter().map(|n| TypeSignature::Any(*n)).collect(),
            Volatility::Stable,
        ),
    })
}

#[derive(Debug, PartialEq, Eq, Hash)]
struct NullText {
    name: &'static str,
    signature: Signature,
}

impl ScalarUDFImpl for NullText {
    fn name(&self) -> &str {
        self.name
    }
    fn signature(&self) -> &Signature {
        &self.signature
    }
    fn return_type(&self, _: &[DataType]) -> Result<DataType> {
        Ok(DataType::Utf8)
    }
    fn invoke_with_args(&self, _: ScalarFunctionArgs) -> Result<ColumnarValue> {
        Ok(ColumnarValue::Scalar(ScalarValue::Utf8(None)))
    }
}

/// `format(fmt, arg, …)`: PostgreSQL's `%s` (text), `%I` (identifier),
/// `%L` (literal) and `%%`, each with an optional position (`%2$s`), `-`
/// flag and width.
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct Format {
    signature: Signature,
}

impl Format {
    pub fn new() -> Format {
        Format {
            signature: Signature::variadic_any(Volatility::Stable),
        }
    }
}

impl Default for Format {
    fn default() -> Self {
        Self::new()
    }
}

impl ScalarUDFImpl for Format {
    fn name(&self) -> &str {
        "format"
    }
    fn signature(&self) -> &Signature {
        &self.signature
    }
    fn return_type(&self, _: &[DataType]) -> Result<DataType> {
        Ok(DataType::Utf8)
    }
    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let rows = args.number_rows;
        let scalar = all_scalar(&args.args);
        let arrays: Vec<ArrayRef> = args
            .args
            .iter()
            .map(|a| a.to_array(rows))
            .collect::<Result<_>>()?;
        let mut out = StringBuilder::new();
        for row in 0..rows {
            let values = arrays
                .iter()
                .map(|a| ScalarValue::try_from_array(a, row).map(|v| text_of(&v)))
                .collect::<Result<Vec<_>>>()?;
            match values.split_first() {
                Some((Some(fmt), rest)) => out.append_value(format_text(fmt, rest)?),
                _ => out.append_null(),
            }
        }
        answer(Arc::new(out.finish()), scalar)
    }
}

/// A value as PostgreSQL writes it in text; NULL is `None`.
fn text_of(v: &ScalarValue) -> Option<String> {
    if v.is_null() {
        return None;
    }
    Some(match v {
        ScalarValue::Utf8(Some(s))
        | ScalarValue::LargeUtf8(Some(s))
        | ScalarValue::Utf8View(Some(s)) => s.clone(),
        other => other.to_string(),
    })
}

fn format_text(fmt: &str, args: &[Option<String>]) -> Result<String> {
    let mut out = String::with_capacity(fmt.len() + 16);
    let mut chars = fmt.chars().peekable();
    let mut next = 0usize;
    while let Some(ch) = chars.next() {
        if ch != '%' {
            out.push(ch);
            continue;
        }
        if chars.peek() == Some(&'%') {
            chars.next();
            out.push('%');
            continue;
        }
        let mut digits = String::new();
        while let Some(d) = chars.peek().filter(|d| d.is_ascii_digit()) {
            digits.push(*d);
            chars.next();
        }
        let mut position = None;
        if !digits.is_empty() && chars.peek() == Some(&'$') {
            chars.next();
            position = digits.parse::<usize>().ok().filter(|p| *p >= 1);
            if position.is_none() {
                return exec_err!("format: argument positions start at 1");
            }
            digits.clear();
        }
        let mut left = false;
        if digits.is_empty() {
            while chars.peek() == Some(&'-') {
                left = true;
                chars.next();
            }
            while let Some(d) = chars.peek().filter(|d| d.is_ascii_digit()) {
                digits.push(*d);
                chars.next();
            }
        }
        let width = digits.parse::<usize>().unwrap_or(0);
        let Some(kind) = chars.next() else {
            return exec_err!("format: unterminated format() type specifier");
        };
        let index = match position {
            Some(p) => p - 1,
            None => next,
        };
        next = index + 1;
        let Some(value) = args.get(index) else {
            return exec_err!("format: too few arguments");
        };
        let piece = match kind {
            's' => value.clone().unwrap_or_default(),
            'I' => match value {
                Some(v) => quote_ident(v),
                None => {
                    return exec_err!(
                        "format: null values cannot be formatted as an SQL identifier"
                    );
                }
            },
            'L' => match value {
                Some(v) => format!("'{}'", v.replace('\'', "''")),
                None => "NULL".to_string(),
            },
            other => return exec_err!("format: unrecognized format() type specifier \"{other}\""),
        };
        let pad = width.saturating_sub(piece.chars().count());
        if left {
            out.push_str(&piece);
            out.extend(std::iter::repeat_n(' ', pad));
        } else {
            out.extend(std::iter::repeat_n(' ', pad));
            out.push_str(&piece);
        }
    }
    Ok(out)
}

/// An identifier quoted when PostgreSQL would quote it.
pub(crate) fn quote_ident(s: &str) -> String {
    let bare = s
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_lowercase() || c == '_')
        && s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if bare {
        s.to_string()
    } else {
        format!("\"{}\"", s.replace('"', "\"\""))
    }
}

/// `json_build_object(key, value, …)`: a JSON object as text, written the
/// way PostgreSQL writes it (`{"a" : 1, "b" : "x"}`).
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct JsonBuildObject {
    signature: Signature,
}

impl JsonBuildObject {
    pub fn new() -> JsonBuildObject {
        JsonBuildObject {
            signature: Signature::one_of(
                vec![TypeSignature::VariadicAny, TypeSignature::Nullary],
                Volatility::Stable,
            ),
        }
    }
}

impl Default for JsonBuildObject {
    fn default() -> Self {
        Self::new()
    }
}

impl ScalarUDFImpl for JsonBuildObject {
    fn name(&self) -> &str {
        "json_build_object"
    }
    fn signature(&self) -> &Signature {
        &self.signature
    }
    fn return_type(&self, arg_types: &[DataType]) -> Result<DataType> {
        if !arg_types.len().is_multiple_of(2) {
            return plan_err!("json_build_object: argument list must have even number of elements");
        }
        Ok(DataType::Utf8)
    }
    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let rows = args.number_rows;
        let scalar = all_scalar(&args.args);
        let arrays: Vec<ArrayRef> = args
            .args
            .iter()
            .map(|a| a.to_array(rows))
            .collect::<Result<_>>()?;
        let mut out = StringBuilder::new();
        for row in 0..rows {
            let mut text = String::from("{");
            for (i, pair) in arrays.chunks(2).enumerate() {
                let key = ScalarValue::try_from_array(&pair[0], row)?;
                if key.is_null() {
                    return exec_err!("json_build_object: null value not allowed for object key");
                }
                if i > 0 {
                    text.push_str(", ");
                }
                let key = match key {
                    ScalarValue::Utf8(Some(s))
                    | ScalarValue::LargeUtf8(Some(s))
                    | ScalarValue::Utf8View(Some(s)) => s,
                    other => other.to_string(),
                };
                text.push_str(&json_string(&key));
                text.push_str(" : ");
                if let Some(value) = pair.get(1) {
                    text.push_str(&json_value(&ScalarValue::try_from_array(value, row)?)?);
                }
            }
            text.push('}');
            out.append_value(text);
        }
        answer(Arc::new(out.finish()), scalar)
    }
}

fn json_string(s: &str) -> String {
    serde_json::Value::String(s.to_string()).to_string()
}

/// A value as JSON: numbers and booleans bare, arrays as arrays, the rest
/// as strings.
fn json_value(v: &ScalarValue) -> Result<String> {
    if v.is_null() {
        return Ok("null".into());
    }
    Ok(match v {
        ScalarValue::Boolean(Some(b)) => b.to_string(),
        ScalarValue::Int8(_)
        | ScalarValue::Int16(_)
        | ScalarValue::Int32(_)
        | ScalarValue::Int64(_)
        | ScalarValue::UInt8(_)
        | ScalarValue::UInt16(_)
        | ScalarValue::UInt32(_)
        | ScalarValue::UInt64(_)
        | ScalarValue::Decimal128(..) => v.to_string(),
        ScalarValue::Float32(Some(f)) if f.is_finite() => v.to_string(),
        ScalarValue::Float64(Some(f)) if f.is_finite() => v.to_string(),
        ScalarValue::Utf8(Some(s))
        | ScalarValue::LargeUtf8(Some(s))
        | ScalarValue::Utf8View(Some(s)) => json_string(s),
        ScalarValue::List(list) => {
            let values = list.value(0);
            let items = (0..values.len())
                .map(|i| json_value(&ScalarValue::try_from_array(&values, i)?))
                .collect::<Result<Vec<_>>>()?;
            format!("[{}]", items.join(","))
        }
        other => json_string(&other.to_string()),
    })
}

/// `information_schema._pg_expandarray(array)`: PostgreSQL's set of
/// `(x, n)` records, one per element with its position. Here it returns
/// that set as an array of `(x, n)` structs; [`super::compat`] wraps every
/// call in `unnest(…)`, which makes it a set again.
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct PgExpandArray {
    signature: Signature,
}

impl PgExpandArray {
    pub fn new() -> PgExpandArray {
        PgExpandArray {
            signature: Signature::any(1, Volatility::Immutable),
        }
    }

    fn element(arg: &DataType) -> Result<DataType> {
        match arg {
            DataType::List(f) | DataType::LargeList(f) | DataType::FixedSizeList(f, _) => {
                Ok(f.data_type().clone())
            }
            DataType::Null => Ok(DataType::Null),
            other => plan_err!("_pg_expandarray needs an array, not {other}"),
        }
    }

    fn record(element: DataType) -> Fields {
        Fields::from(vec![
            Field::new("x", element, true),
            Field::new("n", DataType::Int32, false),
        ])
    }
}

impl Default for PgExpandArray {
    fn default() -> Self {
        Self::new()
    }
}

impl ScalarUDFImpl for PgExpandArray {
    fn name(&self) -> &str {
        "_pg_expandarray"
    }
    fn signature(&self) -> &Signature {
        &self.signature
    }
    fn return_type(&self, arg_types: &[DataType]) -> Result<DataType> {
        let element = Self::element(&arg_types[0])?;
        Ok(DataType::new_list(
            DataType::Struct(Self::record(element)),
            true,
        ))
    }
    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let scalar = all_scalar(&args.args);
        let input = args.args[0].to_array(args.number_rows)?;
        let element = Self::element(input.data_type())?;
        let list_type = DataType::new_list(element.clone(), true);
        let input = cast(&input, &list_type)?;
        let list = input.as_list::<i32>();
        let values = list.values().clone();
        let offsets = list.value_offsets();
        let mut positions = vec![0i32; values.len()];
        for i in 0..list.len() {
            let (start, end) = (offsets[i] as usize, offsets[i + 1] as usize);
            for (k, p) in positions[start..end].iter_mut().enumerate() {
                *p = k as i32 + 1;
            }
        }
        let fields = Self::record(element);
        let records = StructArray::try_new(
            fields.clone(),
            vec![values, Arc::new(Int32Array::from(positions))],
            None,
        )?;
        let out = ListArray::try_new(
            Arc::new(Field::new_list_field(DataType::Struct(fields), true)),
            list.offsets().clone(),
            Arc::new(records),
            list.nulls().cloned(),
        )?;
        answer(Arc::new(out), scalar)
    }
}

/// `generate_subscripts(array, dim [, reverse])`: the subscripts of a
/// dimension, `1..=n` (OKO's arrays have one dimension: another one has
/// none). Returns them as an array; [`super::compat`] wraps the call in
/// `unnest(…)`, which makes it PostgreSQL's set.
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct GenerateSubscripts {
    signature: Signature,
}

impl GenerateSubscripts {
    pub fn new() -> GenerateSubscripts {
        GenerateSubscripts {
            signature: Signature::one_of(
                vec![TypeSignature::Any(2), TypeSignature::Any(3)],
                Volatility::Immutable,
            ),
        }
    }
}

impl Default for GenerateSubscripts {
    fn default() -> Self {
        Self::new()
    }
}

impl ScalarUDFImpl for GenerateSubscripts {
    fn name(&self) -> &str {
        "generate_subscripts"
    }
    fn signature(&self) -> &Signature {
        &self.signature
    }
    fn return_type(&self, arg_types: &[DataType]) -> Result<DataType> {
        PgExpandArray::element(&arg_types[0])?;
        Ok(DataType::new_list(DataType::Int32, true))
    }
    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let rows = args.number_rows;
        let scalar = all_scalar(&args.args);
        let input = args.args[0].to_array(rows)?;
        let list_type = DataType::new_list(PgExpandArray::element(input.data_type())?, true);
        let input = cast(&input, &list_type)?;
        let list = input.as_list::<i32>();
        let dims = cast(&args.args[1].to_array(rows)?, &DataType::Int64)?;
        let dims = dims.as_primitive::<Int64Type>();
        let reverse = match args.args.get(2) {
            Some(r) => Some(cast(&r.to_array(rows)?, &DataType::Boolean)?),
            None => None,
        };
        let reverse = reverse.as_ref().map(|r| r.as_boolean());
        let mut out = ListBuilder::new(Int32Builder::new());
        for row in 0..rows {
            if list.is_null(row) || dims.is_null(row) {
                out.append(false);
                continue;
            }
            if dims.value(row) == 1 {
                let n = list.value_length(row);
                if reverse.is_some_and(|r| r.is_valid(row) && r.value(row)) {
                    out.values().extend((1..=n).rev().map(Some));
                } else {
                    out.values().extend((1..=n).map(Some));
                }
            }
            out.append(true);
        }
        answer(Arc::new(out.finish()), scalar)
    }
}

/// `oid_alias(int4, 'kind')`: the same value, marked as the oid alias
/// `kind` (arrow-pg's `pg.oid_alias`), so the column is described as, say,
/// `regclass` (and a `regclass` is written as its relation's name, see
/// [`super::encode`]).
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct OidAlias {
    signature: Signature,
}

impl OidAlias {
    pub fn new() -> OidAlias {
        OidAlias {
            signature: Signature::any(2, Volatility::Immutable),
        }
    }
}

impl Default for OidAlias {
    fn default() -> Self {
        Self::new()
    }
}

impl ScalarUDFImpl for OidAlias {
    fn name(&self) -> &str {
        "oid_alias"
    }
    fn signature(&self) -> &Signature {
        &self.signature
    }
    fn return_type(&self, _: &[DataType]) -> Result<DataType> {
        Ok(DataType::Int32)
    }
    fn return_field_from_args(
        &self,
        args: datafusion::logical_expr::ReturnFieldArgs,
    ) -> Result<datafusion::arrow::datatypes::FieldRef> {
        let kind = match args.scalar_arguments.get(1) {
            Some(Some(ScalarValue::Utf8(Some(k)))) => k.clone(),
            _ => "oid".to_string(),
        };
        Ok(Arc::new(
            Field::new(self.name(), DataType::Int32, true).with_metadata(
                std::collections::HashMap::from([(super::encode::OID_ALIAS.to_string(), kind)]),
            ),
        ))
    }
    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        match &args.args[0] {
            ColumnarValue::Scalar(v) => Ok(ColumnarValue::Scalar(v.cast_to(&DataType::Int32)?)),
            ColumnarValue::Array(a) => Ok(ColumnarValue::Array(cast(a, &DataType::Int32)?)),
        }
    }
}

/// `oid_array(int4[], 'kind')`: the same array, its elements marked as the
/// oid alias `kind` (arrow-pg's `pg.oid_alias`), so the column is described
/// as `oid[]` (see [`super::encode`]).
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct OidArray {
    signature: Signature,
}

impl OidArray {
    pub fn new() -> OidArray {
        OidArray {
            signature: Signature::any(2, Volatility::Immutable),
        }
    }

    pub fn list_type(kind: &str) -> DataType {
        DataType::List(Arc::new(
            Field::new_list_field(DataType::Int32, true).with_metadata(
                std::collections::HashMap::from([(
                    super::encode::OID_ALIAS.to_string(),
                    kind.to_string(),
                )]),
            ),
        ))
    }
}

impl Default for OidArray {
    fn default() -> Self {
        Self::new()
    }
}

impl ScalarUDFImpl for OidArray {
    fn name(&self) -> &str {
        "oid_array"
    }
    fn signature(&self) -> &Signature {
        &self.signature
    }
    fn return_type(&self, _: &[DataType]) -> Result<DataType> {
        Ok(Self::list_type("oid"))
    }
    fn return_field_from_args(
        &self,
        args: datafusion::logical_expr::ReturnFieldArgs,
    ) -> Result<datafusion::arrow::datatypes::FieldRef> {
        let kind = match args.scalar_arguments.get(1) {
            Some(Some(ScalarValue::Utf8(Some(k)))) => k.clone(),
            _ => "oid".to_string(),
        };
        Ok(Arc::new(Field::new(
            self.name(),
            Self::list_type(&kind),
            true,
        )))
    }
    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let scalar = all_scalar(&args.args);
        let input = args.args[0].to_array(args.number_rows)?;
        let out = cast(&input, args.return_field.data_type())?;
        answer(out, scalar)
    }
}

/// `like_escape(pattern, c)`: a LIKE pattern that escapes with `c`,
/// rewritten to escape with a backslash — the only escape character
/// DataFusion's LIKE knows. [`super::compat`] applies it to patterns that
/// are not literals (a bound parameter).
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct LikeEscape {
    signature: Signature,
}

impl LikeEscape {
    pub fn new() -> LikeEscape {
        LikeEscape {
            signature: Signature::exact(
                vec![DataType::Utf8, DataType::Utf8],
                Volatility::Immutable,
            ),
        }
    }
}

impl Default for LikeEscape {
    fn default() -> Self {
        Self::new()
    }
}

impl ScalarUDFImpl for LikeEscape {
    fn name(&self) -> &str {
        "like_escape"
    }
    fn signature(&self) -> &Signature {
        &self.signature
    }
    fn return_type(&self, _: &[DataType]) -> Result<DataType> {
        Ok(DataType::Utf8)
    }
    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let rows = args.number_rows;
        let scalar = all_scalar(&args.args);
        let patterns = args.args[0].to_array(rows)?;
        let escapes = args.args[1].to_array(rows)?;
        let (patterns, escapes) = (patterns.as_string::<i32>(), escapes.as_string::<i32>());
        let mut out = StringBuilder::new();
        for row in 0..rows {
            if patterns.is_null(row) {
                out.append_null();
                continue;
            }
            let mut esc = if escapes.is_null(row) {
                "".chars()
            } else {
                escapes.value(row).chars()
            };
            let pattern = patterns.value(row);
            match (esc.next(), esc.next()) {
                (Some(c), None) => out.append_value(super::compat::with_backslash(pattern, c)),
                // ESCAPE '': no escape character at all.
                (None, _) => out.append_value(pattern.replace('\\', "\\\\")),
                _ => return exec_err!("invalid escape string: it must be one character"),
            }
        }
        answer(Arc::new(out.finish()), scalar)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn one(sql: &str) -> String {
        let ctx = SessionContext::new();
        register(&ctx);
        let batches = ctx.sql(sql).await.unwrap().collect().await.unwrap();
        datafusion::arrow::util::pretty::pretty_format_batches(&batches)
            .unwrap()
            .to_string()
    }

    #[tokio::test]
    async fn json_build_object_writes_postgres_json() {
        let out =
            one("SELECT json_build_object('a', 1, 'b', 'x\"y', 'c', true, 'd', NULL) AS j").await;
        assert!(
            out.contains(r#"{"a" : 1, "b" : "x\"y", "c" : true, "d" : null}"#),
            "{out}"
        );
    }

    #[tokio::test]
    async fn pg_expandarray_numbers_the_elements() {
        let out = one(
            // (What `(unnest(…)).x` becomes, see compat::rewrite_statement.)
            "SELECT get_field(unnest(_pg_expandarray(make_array(7, 8))), 'x') AS x, \
                    get_field(unnest(_pg_expandarray(make_array(7, 8))), 'n') AS n",
        )
        .await;
        assert!(
            out.contains("| 7 | 1 |") && out.contains("| 8 | 2 |"),
            "{out}"
        );
    }

    #[tokio::test]
    async fn generate_subscripts_numbers_the_positions() {
        let out = one("SELECT unnest(make_array(7, 8, 9)) AS v, \
                    unnest(generate_subscripts(make_array(7, 8, 9), 1)) AS i")
        .await;
        assert!(
            out.contains("| 7 | 1 |") && out.contains("| 9 | 3 |"),
            "{out}"
        );
    }

    #[tokio::test]
    async fn format_and_like_escape() {
        let out = one("SELECT format('%I.%s|%2$L|%-3s|', 'Leads', 'x''y', 7) AS f").await;
        assert!(out.contains("\"Leads\".x'y|'x''y'|7  |"), "{out}");
        let out = one("SELECT 'pg_toast' LIKE like_escape('pg/_%', '/') ESCAPE '\\' AS m").await;
        assert!(out.contains("true"), "{out}");
    }
}
