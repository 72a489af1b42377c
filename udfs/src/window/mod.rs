//! Window functions: they see a whole partition (one report: a tenant, a
//! period, a scope) and answer for each row. None uses the window frame: an
//! `ORDER BY` or a frame in the `OVER` clause changes nothing, every row
//! sees its whole partition.
//!
//! Besides the functions, this module keeps what they share: reading an
//! argument as numbers, reading a constant argument, argument coercion.

pub mod achievements;
pub mod fair_score;
pub mod outlier_flag;

use std::sync::{Arc, LazyLock};

use datafusion::arrow::array::{ArrayRef, AsArray, RecordBatch, RecordBatchOptions};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, Float64Type, Schema};
use datafusion::common::{Result, ScalarValue, plan_err};
use datafusion::logical_expr::WindowUDF;
use datafusion::logical_expr::function::PartitionEvaluatorArgs;
use datafusion::physical_expr::utils::collect_columns;

/// Every window function of the crate.
pub fn functions() -> Vec<Arc<WindowUDF>> {
    vec![
        OUTLIER_FLAG.clone(),
        ACHIEVEMENTS.clone(),
        FAIR_SCORE.clone(),
    ]
}

static OUTLIER_FLAG: LazyLock<Arc<WindowUDF>> =
    LazyLock::new(|| Arc::new(WindowUDF::new_from_impl(outlier_flag::OutlierFlag::new())));
static ACHIEVEMENTS: LazyLock<Arc<WindowUDF>> =
    LazyLock::new(|| Arc::new(WindowUDF::new_from_impl(achievements::Achievements::new())));
static FAIR_SCORE: LazyLock<Arc<WindowUDF>> =
    LazyLock::new(|| Arc::new(WindowUDF::new_from_impl(fair_score::FairScore::new())));

/// An argument as `Option<f64>` per row (NULL and NaN → `None`).
pub(crate) fn f64_values(array: &ArrayRef) -> Result<Vec<Option<f64>>> {
    let a = cast(array, &DataType::Float64)?;
    let a = a.as_primitive::<Float64Type>();
    Ok(a.iter()
        .map(|v| v.filter(|v| !v.is_nan()))
        .collect::<Vec<_>>())
}

/// A constant argument (a literal, or an expression without columns such as
/// `CAST(1 AS DOUBLE)`), read once when the evaluator is made; `None` when
/// the call leaves it out. A column, NULL or NaN is the user's mistake.
pub(crate) fn constant_f64(
    args: &PartitionEvaluatorArgs,
    index: usize,
    function: &str,
    argument: &str,
) -> Result<Option<f64>> {
    let Some(expr) = args.input_exprs().get(index) else {
        return Ok(None);
    };
    if !collect_columns(expr).is_empty() {
        return plan_err!("{function}: {argument} must be a constant, not a column");
    }
    let one_row = RecordBatch::try_new_with_options(
        Arc::new(Schema::empty()),
        vec![],
        &RecordBatchOptions::new().with_row_count(Some(1)),
    )?;
    let value = expr.evaluate(&one_row)?.to_array(1)?;
    let value = ScalarValue::try_from_array(&cast(&value, &DataType::Float64)?, 0)?;
    match value {
        ScalarValue::Float64(Some(v)) if !v.is_nan() => Ok(Some(v)),
        other => plan_err!("{function}: {argument} must be a number, got {other}"),
    }
}

/// Numeric arguments are read as DOUBLE.
pub(crate) fn coerce_numeric(
    name: &str,
    arg_types: &[DataType],
    min: usize,
    max: usize,
) -> Result<Vec<DataType>> {
    if arg_types.len() < min || arg_types.len() > max {
        return plan_err!(
            "{name} takes {min} to {max} arguments, got {}",
            arg_types.len()
        );
    }
    arg_types
        .iter()
        .map(|t| {
            if t.is_numeric() || t.is_null() {
                Ok(DataType::Float64)
            } else {
                plan_err!("{name} takes numbers, got {t}")
            }
        })
        .collect()
}

/// Test helpers: run a window function's evaluator on arrays, as DataFusion
/// does for one partition.
#[cfg(test)]
pub(crate) mod testing {
    use std::sync::Arc;

    use datafusion::arrow::array::{Array, ArrayRef};
    use datafusion::arrow::datatypes::{Field, FieldRef};
    use datafusion::common::{Result, ScalarValue};
    use datafusion::logical_expr::WindowUDFImpl;
    use datafusion::logical_expr::function::PartitionEvaluatorArgs;
    use datafusion::physical_expr::PhysicalExpr;
    use datafusion::physical_expr::expressions::{Column, Literal};

    /// An argument: a column of the partition or a literal.
    pub enum Arg {
        Column(ArrayRef),
        Literal(ScalarValue),
    }

    /// Makes the evaluator with these argument expressions and runs
    /// `evaluate_all` over the partition.
    pub fn evaluate(f: &dyn WindowUDFImpl, args: Vec<Arg>) -> Result<ArrayRef> {
        let rows = args
            .iter()
            .find_map(|a| match a {
                Arg::Column(c) => Some(c.len()),
                Arg::Literal(_) => None,
            })
            .unwrap_or(1);
        let mut exprs: Vec<Arc<dyn PhysicalExpr>> = vec![];
        let mut fields: Vec<FieldRef> = vec![];
        let mut values: Vec<ArrayRef> = vec![];
        for (i, a) in args.into_iter().enumerate() {
            match a {
                Arg::Column(c) => {
                    exprs.push(Arc::new(Column::new(&format!("c{i}"), i)));
                    fields.push(Arc::new(Field::new(
                        format!("c{i}"),
                        c.data_type().clone(),
                        true,
                    )));
                    values.push(c);
                }
                Arg::Literal(v) => {
                    fields.push(Arc::new(Field::new(format!("c{i}"), v.data_type(), true)));
                    values.push(v.to_array_of_size(rows)?);
                    exprs.push(Arc::new(Literal::new(v)));
                }
            }
        }
        let mut evaluator =
            f.partition_evaluator(PartitionEvaluatorArgs::new(&exprs, &fields, false, false))?;
        assert!(!evaluator.uses_window_frame() && !evaluator.include_rank());
        evaluator.evaluate_all(&values, rows)
    }
}
