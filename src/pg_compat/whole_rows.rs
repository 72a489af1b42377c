//! A whole row as a value: `row_to_json(t)`, `to_json(t)`, `json_agg(r
//! ORDER BY r.n)`, `to_jsonb(t)` — PostgreSQL reads a bare table name or
//! alias as the row of that relation (a record of its columns, in order).
//!
//! DataFusion has no such reference. The statement's text
//! ([`super::compat`]) marks one as `oko_row('t')` where it stands as the
//! argument of those functions and names a relation of its `FROM`; this
//! analyzer rule (before type coercion) replaces the mark with the record
//! of `t`'s columns as the node's input has them (`named_struct('tenant',
//! t.tenant, …)`). A column of that name, if the input has one, is what
//! PostgreSQL reads first, and so here.

use datafusion::arrow::datatypes::DataType;
use datafusion::common::config::ConfigOptions;
use datafusion::common::tree_node::Transformed;
use datafusion::common::{Column, DFSchema, Result, ScalarValue};
use datafusion::logical_expr::expr::ScalarFunction;
use datafusion::logical_expr::{
    ColumnarValue, Expr, LogicalPlan, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature,
    Volatility,
};
use datafusion::optimizer::AnalyzerRule;

use crate::sqlstate::{code, coded};

/// The mark's name.
pub const MARK: &str = "oko_row";

/// `oko_row('t')`: the mark of a whole-row reference, replaced before the
/// statement runs (see the module documentation).
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct RowMark {
    signature: Signature,
}

impl RowMark {
    pub fn new() -> Self {
        Self {
            signature: Signature::exact(vec![DataType::Utf8], Volatility::Immutable),
        }
    }
}

impl Default for RowMark {
    fn default() -> Self {
        Self::new()
    }
}

impl ScalarUDFImpl for RowMark {
    fn name(&self) -> &str {
        MARK
    }
    fn signature(&self) -> &Signature {
        &self.signature
    }
    fn return_type(&self, _: &[DataType]) -> Result<DataType> {
        Ok(DataType::Utf8)
    }
    fn invoke_with_args(&self, _: ScalarFunctionArgs) -> Result<ColumnarValue> {
        Err(coded(
            code::FEATURE_NOT_SUPPORTED,
            "a whole-row reference is supported as the argument of row_to_json, to_json, \
             to_jsonb, json_agg and jsonb_agg in the query whose FROM names the relation",
        ))
    }
}

/// The mark as a function, for registering.
pub fn mark() -> ScalarUDF {
    ScalarUDF::new_from_impl(RowMark::new())
}

/// Replaces every mark (see the module documentation).
#[derive(Debug, Default)]
pub struct WholeRows;

impl AnalyzerRule for WholeRows {
    fn analyze(&self, plan: LogicalPlan, _: &ConfigOptions) -> Result<LogicalPlan> {
        super::result_types::rewrite_expressions(plan, record)
    }

    fn name(&self) -> &str {
        "oko_whole_rows"
    }
}

/// The record a mark stands for, from `schema` (the node's input).
fn record(e: Expr, schema: &DFSchema) -> Result<Transformed<Expr>> {
    let Expr::ScalarFunction(ScalarFunction { func, args }) = &e else {
        return Ok(Transformed::no(e));
    };
    if func.name() != MARK {
        return Ok(Transformed::no(e));
    }
    let [Expr::Literal(ScalarValue::Utf8(Some(relation)), _)] = args.as_slice() else {
        return Ok(Transformed::no(e));
    };
    // A column of that name first, as PostgreSQL reads a bare name.
    if let Ok((q, f)) = schema.qualified_field_with_unqualified_name(relation) {
        return Ok(Transformed::yes(Expr::Column(Column::new(
            q.cloned(),
            f.name(),
        ))));
    }
    let mut members = vec![];
    for (q, f) in schema.iter() {
        if q.is_some_and(|q| q.table() == relation.as_str()) {
            members.push(Expr::Literal(
                ScalarValue::Utf8(Some(f.name().clone())),
                None,
            ));
            members.push(Expr::Column(Column::new(q.cloned(), f.name())));
        }
    }
    if members.is_empty() {
        return Err(coded(
            code::UNDEFINED_COLUMN,
            format!("column \"{relation}\" does not exist"),
        ));
    }
    Ok(Transformed::yes(Expr::ScalarFunction(
        ScalarFunction::new_udf(datafusion::functions::core::named_struct(), members),
    )))
}
