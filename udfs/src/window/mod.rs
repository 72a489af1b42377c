//! Window functions: they see a whole partition (one report: a tenant, a
//! period, a scope) and answer for each row. None uses the window frame.

pub mod achievements;
pub mod fair_score;
pub mod outlier_flag;

use std::sync::{Arc, LazyLock};

use datafusion::arrow::array::{Array, ArrayRef, AsArray};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, Float64Type};
use datafusion::common::Result;
use datafusion::logical_expr::WindowUDF;

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

/// An argument as `Option<f64>` per row (NULL and NaN → None).
pub(crate) fn f64_values(array: &ArrayRef) -> Result<Vec<Option<f64>>> {
    let a = cast(array, &DataType::Float64)?;
    let a = a.as_primitive::<Float64Type>();
    Ok((0..a.len())
        .map(|i| {
            if a.is_null(i) || a.value(i).is_nan() {
                None
            } else {
                Some(a.value(i))
            }
        })
        .collect())
}

/// A constant argument (a literal repeated over the partition), or a default.
pub(crate) fn constant_f64(values: &[ArrayRef], index: usize, default: f64) -> Result<f64> {
    match values.get(index) {
        None => Ok(default),
        Some(a) => Ok(f64_values(a)?
            .into_iter()
            .flatten()
            .next()
            .unwrap_or(default)),
    }
}

/// Numeric arguments are read as DOUBLE; the last may be a BOOLEAN.
pub(crate) fn coerce_numeric(
    name: &str,
    arg_types: &[DataType],
    min: usize,
    max: usize,
) -> Result<Vec<DataType>> {
    if arg_types.len() < min || arg_types.len() > max {
        return datafusion::common::plan_err!(
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
                datafusion::common::plan_err!("{name} takes numbers, got {t}")
            }
        })
        .collect()
}
