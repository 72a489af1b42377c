//! `json` and `jsonb` as SQL types.
//!
//! - The type planner ([`JsonTypes`]) maps the names `json`, `jsonb` (and
//!   `pg_catalog.json[b]`) to a text field of that [`Kind`]. A session has
//!   one type planner, and datafusion-pg-catalog's (`regclass`, `oid`,
//!   `pg_catalog.int4`, …) is installed first: ours answers for the JSON
//!   names and asks it for every other.
//! - A cast plans as an Arrow cast, which would take any text. The analyzer
//!   rule [`JsonCasts`] turns each cast to `json`/`jsonb` into the type's
//!   input function ([`JsonIn`]: validated, and canonical for `jsonb`; bad
//!   text fails with 22P02 `invalid input syntax for type json`), and each
//!   cast of a `jsonb` to a number or boolean into PostgreSQL's conversion
//!   ([`JsonbTo`]: `'5.5'::jsonb::int` is 6, a string is refused with
//!   22023). Casting other types to `json` (`1::json`), or `json` to
//!   anything but text, does not exist in PostgreSQL either: 42846.

use std::sync::Arc;

use datafusion::arrow::array::{
    ArrayRef, BooleanBuilder, Float32Builder, Float64Builder, Int16Builder, Int32Builder,
    Int64Builder, StringBuilder,
};
use datafusion::arrow::datatypes::{DataType, FieldRef};
use datafusion::common::config::ConfigOptions;
use datafusion::common::tree_node::{Transformed, TreeNode};
use datafusion::common::{DFSchema, Result};
use datafusion::logical_expr::expr::ScalarFunction;
use datafusion::logical_expr::expr_rewriter::NamePreserver;
use datafusion::logical_expr::planner::TypePlanner;
use datafusion::logical_expr::{
    Cast, ColumnarValue, Expr, ExprSchemable, LogicalPlan, ReturnFieldArgs, ScalarFunctionArgs,
    ScalarUDF, ScalarUDFImpl, Signature, TryCast, Volatility,
};
use datafusion::optimizer::AnalyzerRule;
use datafusion::prelude::SessionContext;
use datafusion::sql::sqlparser::ast::{DataType as SqlType, ObjectNamePart};

use super::value::{self, JsonError, Numeric, Value};
use super::{Kind, answer, is_text, pg_type_name, text_array};
use crate::sqlstate::{code, coded};

/// 42846: no such cast.
const CANNOT_COERCE: &str = "42846";

/// The type planner; see the module documentation.
#[derive(Debug)]
pub struct JsonTypes {
    /// The planner installed before (datafusion-pg-catalog's).
    inner: Option<Arc<dyn TypePlanner>>,
}

impl JsonTypes {
    /// The kind a SQL type name means, if it is one of the two.
    fn kind(sql_type: &SqlType) -> Option<Kind> {
        match sql_type {
            SqlType::JSON => Some(Kind::Json),
            SqlType::JSONB => Some(Kind::Jsonb),
            SqlType::Custom(name, args) if args.is_empty() => {
                let parts: Vec<&str> = name
                    .0
                    .iter()
                    .filter_map(|p| match p {
                        ObjectNamePart::Identifier(i) => Some(i.value.as_str()),
                        _ => None,
                    })
                    .collect();
                let last = match parts.as_slice() {
                    [t] => *t,
                    [s, t] if s.eq_ignore_ascii_case("pg_catalog") => *t,
                    _ => return None,
                };
                match last.to_ascii_lowercase().as_str() {
                    "json" => Some(Kind::Json),
                    "jsonb" => Some(Kind::Jsonb),
                    _ => None,
                }
            }
            _ => None,
        }
    }
}

impl TypePlanner for JsonTypes {
    fn plan_type_field(&self, sql_type: &SqlType) -> Result<Option<FieldRef>> {
        if let Some(kind) = Self::kind(sql_type) {
            return Ok(Some(kind.field("", true)));
        }
        match &self.inner {
            Some(inner) => inner.plan_type_field(sql_type),
            None => Ok(None),
        }
    }
}

/// Installs [`JsonTypes`] in `ctx`'s session, in front of the type planner
/// it has.
pub fn install_type_planner(ctx: &SessionContext) {
    crate::pg_compat::wrap_type_planner(ctx, |inner| Arc::new(JsonTypes { inner }));
}

/// The analyzer rule; see the module documentation.
#[derive(Debug, Default)]
pub struct JsonCasts;

impl AnalyzerRule for JsonCasts {
    fn analyze(&self, plan: LogicalPlan, config: &ConfigOptions) -> Result<LogicalPlan> {
        let zone = config.execution.time_zone.as_deref();
        plan.transform_up_with_subqueries(|node| {
            if node.inputs().is_empty() && !matches!(node, LogicalPlan::Values(_)) {
                return Ok(Transformed::no(node));
            }
            let mut schema = DFSchema::empty();
            for input in node.inputs() {
                schema.merge(input.schema());
            }
            // A changed expression keeps its name: the nodes above refer
            // to it by name.
            let names = NamePreserver::new(&node);
            node.map_expressions(|e| {
                let name = names.save(&e);
                let rewritten = e.transform_up(|e| match e {
                    Expr::AggregateFunction(mut f) => {
                        // The aggregates write `timestamptz` in the session's zone.
                        match super::aggregates::with_session_zone(&f.func, zone) {
                            Some(stamped) => {
                                f.func = Arc::new(stamped);
                                Ok(Transformed::yes(Expr::AggregateFunction(f)))
                            }
                            None => Ok(Transformed::no(Expr::AggregateFunction(f))),
                        }
                    }
                    e => rewrite_cast(e, &schema),
                })?;
                Ok(rewritten.update_data(|e| name.restore(e)))
            })
        })
        .and_then(|t| unnested_json(t.data))
        .map(|t| t.data)
    }

    fn name(&self) -> &str {
        "oko_json_casts"
    }
}

/// [`unnested_json`] again after the optimizer, whose rules rebuild an
/// `unnest`'s schema from its input (dropping the extension name again).
#[derive(Debug)]
pub struct UnnestedJson;

impl datafusion::optimizer::OptimizerRule for UnnestedJson {
    fn name(&self) -> &str {
        "oko_unnested_json"
    }
    fn rewrite(
        &self,
        plan: LogicalPlan,
        _: &dyn datafusion::optimizer::OptimizerConfig,
    ) -> Result<Transformed<LogicalPlan>> {
        unnested_json(plan)
    }
}

/// The plan with each `unnest` of a list of `json`/`jsonb` items (a set
/// function in a select list, `jsonb_path_query(…)`) answering with that
/// type: DataFusion's `unnest` keeps the items' Arrow type but not the
/// field's extension name, which the wire reads the type from. The nodes
/// above a changed one get their schemas anew.
fn unnested_json(plan: LogicalPlan) -> Result<Transformed<LogicalPlan>> {
    let t = plan.map_children(unnested_json)?;
    let changed = t.transformed;
    let plan = if changed {
        t.data.recompute_schema()?
    } else {
        t.data
    };
    let LogicalPlan::Unnest(mut unnest) = plan else {
        return Ok(Transformed::new_transformed(plan, changed));
    };
    let input = unnest.input.schema().clone();
    let mut fields: Vec<(Option<datafusion::common::TableReference>, FieldRef)> = unnest
        .schema
        .iter()
        .map(|(q, f)| (q.cloned(), f.clone()))
        .collect();
    let mut tagged = false;
    for (index, list) in &unnest.list_type_columns {
        let DataType::List(item) = input.field(*index).data_type() else {
            continue;
        };
        let Some(kind) = Kind::of(item) else {
            continue;
        };
        if list.depth != 1 {
            continue;
        }
        let Ok(out) = unnest.schema.index_of_column(&list.output_column) else {
            continue;
        };
        let field = &fields[out].1;
        if Kind::of(field).is_none() && is_text(field.data_type()) {
            fields[out].1 = kind.field(field.name(), field.is_nullable());
            tagged = true;
        }
    }
    if !tagged {
        return Ok(Transformed::new_transformed(
            LogicalPlan::Unnest(unnest),
            changed,
        ));
    }
    let schema = DFSchema::new_with_metadata(fields, unnest.schema.metadata().clone())?
        .with_functional_dependencies(unnest.schema.functional_dependencies().clone())?;
    unnest.schema = Arc::new(schema);
    Ok(Transformed::yes(LogicalPlan::Unnest(unnest)))
}

/// One cast, rewritten when it is to or from a JSON type.
fn rewrite_cast(e: Expr, schema: &DFSchema) -> Result<Transformed<Expr>> {
    let (expr, field, try_cast) = match e {
        Expr::Cast(Cast { expr, field }) => (expr, field, false),
        Expr::TryCast(TryCast { expr, field }) => (expr, field, true),
        other => return Ok(Transformed::no(other)),
    };
    let rebuild = |expr: Box<Expr>, field: FieldRef| {
        if try_cast {
            Expr::TryCast(TryCast { expr, field })
        } else {
            Expr::Cast(Cast { expr, field })
        }
    };
    // (An expression not typed against these inputs, an outer reference,
    // stays as it is.)
    let Ok((_, source)) = expr.to_field(schema) else {
        return Ok(Transformed::no(rebuild(expr, field)));
    };
    let from = Kind::of(&source);
    if let Some(to) = Kind::of(&field) {
        let t = source.data_type();
        if !(is_text(t) || t.is_null()) {
            return Err(coded(
                CANNOT_COERCE,
                format!("cannot cast type {} to {}", pg_type_name(t), to.name()),
            ));
        }
        let nullable = source.is_nullable() || try_cast;
        let udf = ScalarUDF::new_from_impl(JsonIn::new(to, nullable));
        return Ok(Transformed::yes(Expr::ScalarFunction(
            ScalarFunction::new_udf(Arc::new(udf), vec![*expr]),
        )));
    }
    match from {
        Some(kind) if !is_text(field.data_type()) => {
            let target = field.data_type().clone();
            if kind == Kind::Json || !JsonbTo::converts_to(&target) {
                return Err(coded(
                    CANNOT_COERCE,
                    format!(
                        "cannot cast type {} to {}",
                        kind.name(),
                        pg_type_name(&target)
                    ),
                ));
            }
            let udf = ScalarUDF::new_from_impl(JsonbTo::new(target));
            Ok(Transformed::yes(Expr::ScalarFunction(
                ScalarFunction::new_udf(Arc::new(udf), vec![*expr]),
            )))
        }
        _ => Ok(Transformed::no(rebuild(expr, field))),
    }
}

/// `json_in`/`jsonb_in`: text read as the type (what a cast does).
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct JsonIn {
    kind: Kind,
    /// The cast's nullability, which the plan's schema already holds.
    nullable: bool,
    signature: Signature,
}

impl JsonIn {
    pub fn new(kind: Kind, nullable: bool) -> JsonIn {
        JsonIn {
            kind,
            nullable,
            signature: Signature::any(1, Volatility::Immutable),
        }
    }
}

/// Text read as `kind`: validated, and canonical for `jsonb`.
pub fn read(kind: Kind, text: &str) -> Result<String, JsonError> {
    match kind {
        Kind::Json => value::parse(text).map(|_| text.to_string()),
        Kind::Jsonb => value::jsonb_text(&value::parse_jsonb(text)?),
    }
}

impl ScalarUDFImpl for JsonIn {
    fn name(&self) -> &str {
        match self.kind {
            Kind::Json => "json_in",
            Kind::Jsonb => "jsonb_in",
        }
    }
    fn signature(&self) -> &Signature {
        &self.signature
    }
    fn return_type(&self, _: &[DataType]) -> Result<DataType> {
        Ok(DataType::Utf8)
    }
    fn return_field_from_args(&self, _: ReturnFieldArgs) -> Result<FieldRef> {
        Ok(self.kind.field(self.name(), self.nullable))
    }
    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let rows = super::rows_of(&args.args, args.number_rows);
        let Some(arg) = args.args.first() else {
            return Err(coded(
                code::UNDEFINED_FUNCTION,
                "json_in takes one argument",
            ));
        };
        let texts = text_array(arg, rows)?;
        let mut out = StringBuilder::new();
        for t in texts.iter() {
            match t {
                Some(t) => out.append_value(read(self.kind, t)?),
                None => out.append_null(),
            }
        }
        answer(Arc::new(out.finish()), &args.args)
    }
}

/// A `jsonb` number or boolean as a SQL number or boolean (PostgreSQL's
/// `jsonb_int4`, `jsonb_float8`, `jsonb_numeric`, `jsonb_bool`, …).
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct JsonbTo {
    target: DataType,
    signature: Signature,
}

impl JsonbTo {
    pub fn new(target: DataType) -> JsonbTo {
        JsonbTo {
            target,
            signature: Signature::any(1, Volatility::Immutable),
        }
    }

    /// The types PostgreSQL casts a `jsonb` to.
    pub fn converts_to(t: &DataType) -> bool {
        matches!(
            t,
            DataType::Int16
                | DataType::Int32
                | DataType::Int64
                | DataType::Float32
                | DataType::Float64
                | DataType::Decimal128(..)
                | DataType::Boolean
        )
    }

    /// The `jsonb` scalar a conversion reads, or PostgreSQL's refusal
    /// (`cannot cast jsonb string to type integer`).
    fn scalar<'a>(&self, node: &'a value::Node<'a>) -> Result<&'a Value<'a>> {
        let wanted_bool = self.target == DataType::Boolean;
        match &node.value {
            Value::Number(_) if !wanted_bool => Ok(&node.value),
            Value::Bool(_) if wanted_bool => Ok(&node.value),
            other => {
                let what = match other {
                    Value::Null => "null",
                    Value::Bool(_) => "boolean",
                    Value::Number(_) => "numeric",
                    Value::String(_) => "string",
                    Value::Array(_) => "array",
                    Value::Object(_) => "object",
                };
                Err(coded(
                    code::INVALID_PARAMETER_VALUE,
                    format!(
                        "cannot cast jsonb {what} to type {}",
                        sql_type_word(&self.target)
                    ),
                ))
            }
        }
    }
}

/// The type as PostgreSQL's casting messages spell it.
fn sql_type_word(t: &DataType) -> &'static str {
    match t {
        DataType::Int16 => "smallint",
        DataType::Int32 => "integer",
        DataType::Int64 => "bigint",
        DataType::Float32 => "real",
        DataType::Float64 => "double precision",
        DataType::Boolean => "boolean",
        _ => "numeric",
    }
}

/// A `numeric` rounded to an integer (half away from zero, as
/// PostgreSQL's `numeric_int4`), or `None` beyond `i64`.
fn round_to_i64(n: &Numeric) -> Option<i64> {
    if n.digits.is_empty() {
        return Some(0);
    }
    if n.point > 19 {
        return None;
    }
    let int_len = n.point.max(0) as usize;
    let mut int_digits: String = n.digits.chars().take(int_len).collect();
    while int_digits.len() < int_len {
        int_digits.push('0');
    }
    let first_frac = if n.point < 0 {
        '0'
    } else {
        n.digits.chars().nth(int_len).unwrap_or('0')
    };
    let mut v: i128 = if int_digits.is_empty() {
        0
    } else {
        int_digits.parse().ok()?
    };
    if first_frac >= '5' {
        v += 1;
    }
    if n.negative {
        v = -v;
    }
    i64::try_from(v).ok()
}

impl ScalarUDFImpl for JsonbTo {
    fn name(&self) -> &str {
        "jsonb_to"
    }
    fn signature(&self) -> &Signature {
        &self.signature
    }
    fn return_type(&self, _: &[DataType]) -> Result<DataType> {
        Ok(self.target.clone())
    }
    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let rows = super::rows_of(&args.args, args.number_rows);
        let Some(arg) = args.args.first() else {
            return Err(coded(
                code::UNDEFINED_FUNCTION,
                "jsonb_to takes one argument",
            ));
        };
        let texts = text_array(arg, rows)?;
        let out_of_range = |what: &str| {
            coded(
                code::NUMERIC_VALUE_OUT_OF_RANGE,
                format!("{what} out of range"),
            )
        };
        // Each value as the target's text or number, then built.
        let mut numbers: Vec<Option<Numeric>> = Vec::with_capacity(rows);
        let mut bools: Vec<Option<bool>> = Vec::with_capacity(rows);
        for t in texts.iter() {
            let Some(t) = t else {
                numbers.push(None);
                bools.push(None);
                continue;
            };
            let node = value::parse_jsonb(t)?;
            match self.scalar(&node)? {
                Value::Number(n) => {
                    numbers.push(Some(Numeric::parse(n)?));
                    bools.push(None);
                }
                Value::Bool(b) => {
                    numbers.push(None);
                    bools.push(Some(*b));
                }
                _ => {
                    numbers.push(None);
                    bools.push(None);
                }
            }
        }
        let array: ArrayRef = match &self.target {
            DataType::Boolean => {
                let mut b = BooleanBuilder::new();
                bools.iter().for_each(|v| b.append_option(*v));
                Arc::new(b.finish())
            }
            DataType::Int16 => {
                let mut b = Int16Builder::new();
                for n in &numbers {
                    match n {
                        Some(n) => b.append_value(
                            round_to_i64(n)
                                .and_then(|v| i16::try_from(v).ok())
                                .ok_or_else(|| out_of_range("smallint"))?,
                        ),
                        None => b.append_null(),
                    }
                }
                Arc::new(b.finish())
            }
            DataType::Int32 => {
                let mut b = Int32Builder::new();
                for n in &numbers {
                    match n {
                        Some(n) => b.append_value(
                            round_to_i64(n)
                                .and_then(|v| i32::try_from(v).ok())
                                .ok_or_else(|| out_of_range("integer"))?,
                        ),
                        None => b.append_null(),
                    }
                }
                Arc::new(b.finish())
            }
            DataType::Int64 => {
                let mut b = Int64Builder::new();
                for n in &numbers {
                    match n {
                        Some(n) => {
                            b.append_value(round_to_i64(n).ok_or_else(|| out_of_range("bigint"))?)
                        }
                        None => b.append_null(),
                    }
                }
                Arc::new(b.finish())
            }
            DataType::Float32 => {
                let mut b = Float32Builder::new();
                for n in &numbers {
                    b.append_option(n.as_ref().and_then(|n| n.text().parse::<f32>().ok()));
                }
                Arc::new(b.finish())
            }
            DataType::Float64 => {
                let mut b = Float64Builder::new();
                for n in &numbers {
                    b.append_option(n.as_ref().and_then(|n| n.text().parse::<f64>().ok()));
                }
                Arc::new(b.finish())
            }
            DataType::Decimal128(p, s) => {
                // Through text: Arrow's cast rounds to the scale and
                // refuses what does not fit the precision.
                let mut b = StringBuilder::new();
                for n in &numbers {
                    b.append_option(n.as_ref().map(Numeric::text));
                }
                let text: ArrayRef = Arc::new(b.finish());
                datafusion::arrow::compute::cast(&text, &DataType::Decimal128(*p, *s))?
            }
            other => {
                return Err(coded(
                    CANNOT_COERCE,
                    format!("cannot cast type jsonb to {}", pg_type_name(other)),
                ));
            }
        };
        answer(array, &args.args)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numeric_rounds_half_away_from_zero() {
        let r = |t: &str| round_to_i64(&Numeric::parse(t).unwrap());
        // PostgreSQL 15: '5.5'::jsonb::int = 6, '-5.5' → -6, '0.4' → 0.
        assert_eq!(r("5.5"), Some(6));
        assert_eq!(r("-5.5"), Some(-6));
        assert_eq!(r("0.4"), Some(0));
        assert_eq!(r("0.05"), Some(0));
        assert_eq!(r("12e2"), Some(1200));
        assert_eq!(r("1e30"), None);
    }
}
