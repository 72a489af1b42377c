//! `fair_score(avg_score, ratings [, prior_weight])`: a ranking score that a
//! small sample cannot win by luck — the Bayesian average of a manager's
//! mean toward the partition's mean.
//!
//! `fair = (avg_score × ratings + prior_weight × C) / (ratings + prior_weight)`
//! where `C = Σ(avg_score × ratings) / Σ ratings` over the partition's rows
//! with a score (the tenant's mean rating in the report). `prior_weight`
//! (default 5) counts as that many ratings of the mean; 0 gives the raw
//! mean. NULL when `avg_score` is NULL or `ratings` is NULL or 0.
//!
//! ```sql
//! SELECT manager, avg_score,
//!        fair_score(avg_score, ratings, 5) OVER (PARTITION BY tenant, period) AS fair
//! FROM per_manager;
//! ```

use std::sync::Arc;

use datafusion::arrow::array::{ArrayRef, Float64Array};
use datafusion::arrow::datatypes::{DataType, Field, FieldRef};
use datafusion::common::{Result, plan_err};
use datafusion::logical_expr::function::{PartitionEvaluatorArgs, WindowUDFFieldArgs};
use datafusion::logical_expr::{PartitionEvaluator, Signature, Volatility, WindowUDFImpl};

use super::{coerce_numeric, constant_f64, f64_values};

/// The default prior weight, in ratings.
pub const DEFAULT_PRIOR_WEIGHT: f64 = 5.0;

#[derive(Debug, PartialEq, Eq, Hash)]
pub struct FairScore {
    signature: Signature,
}

impl FairScore {
    pub fn new() -> Self {
        FairScore {
            signature: Signature::user_defined(Volatility::Immutable),
        }
    }
}

impl Default for FairScore {
    fn default() -> Self {
        Self::new()
    }
}

impl WindowUDFImpl for FairScore {
    fn name(&self) -> &str {
        "fair_score"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn coerce_types(&self, arg_types: &[DataType]) -> Result<Vec<DataType>> {
        coerce_numeric(self.name(), arg_types, 2, 3)
    }

    fn partition_evaluator(
        &self,
        _args: PartitionEvaluatorArgs,
    ) -> Result<Box<dyn PartitionEvaluator>> {
        Ok(Box::new(FairEvaluator))
    }

    fn field(&self, field_args: WindowUDFFieldArgs) -> Result<FieldRef> {
        Ok(Arc::new(Field::new(
            field_args.name(),
            DataType::Float64,
            true,
        )))
    }
}

#[derive(Debug)]
struct FairEvaluator;

impl PartitionEvaluator for FairEvaluator {
    fn evaluate_all(&mut self, values: &[ArrayRef], _num_rows: usize) -> Result<ArrayRef> {
        let avg = f64_values(&values[0])?;
        let n = f64_values(&values[1])?;
        let prior = constant_f64(values, 2, DEFAULT_PRIOR_WEIGHT)?;
        if prior < 0.0 {
            return plan_err!("fair_score: prior_weight must not be negative, got {prior}");
        }
        Ok(Arc::new(Float64Array::from(fair(&avg, &n, prior))))
    }
}

fn fair(avg: &[Option<f64>], n: &[Option<f64>], prior: f64) -> Vec<Option<f64>> {
    let rated = || {
        avg.iter().zip(n).filter_map(|(a, n)| match (a, n) {
            (Some(a), Some(n)) if *n > 0.0 => Some((*a, *n)),
            _ => None,
        })
    };
    let total: f64 = rated().map(|(_, n)| n).sum();
    let mean = if total > 0.0 {
        rated().map(|(a, n)| a * n).sum::<f64>() / total
    } else {
        0.0
    };
    avg.iter()
        .zip(n)
        .map(|(a, n)| match (a, n) {
            (Some(a), Some(n)) if *n > 0.0 => Some((a * n + prior * mean) / (n + prior)),
            _ => None,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_samples_are_pulled_to_the_mean() {
        // Two 5s, forty ratings averaging 4.8, sixty averaging 4.0:
        // C = (10 + 192 + 240) / 102 ≈ 4.33.
        let f = fair(
            &[Some(5.0), Some(4.8), Some(4.0)],
            &[Some(2.0), Some(40.0), Some(60.0)],
            5.0,
        );
        let c = (10.0 + 192.0 + 240.0) / 102.0;
        assert!((f[0].unwrap() - (10.0 + 5.0 * c) / 7.0).abs() < 1e-12);
        assert!(
            f[1].unwrap() > f[0].unwrap(),
            "the larger sample ranks first"
        );
    }

    #[test]
    fn zero_prior_is_the_raw_mean_and_unrated_is_null() {
        let f = fair(
            &[Some(4.0), None, Some(3.0)],
            &[Some(3.0), Some(0.0), Some(0.0)],
            0.0,
        );
        assert_eq!(f, vec![Some(4.0), None, None]);
    }
}
