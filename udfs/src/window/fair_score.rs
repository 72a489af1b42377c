//! `fair_score(avg_score, ratings [, prior_weight])`: a ranking score that a
//! small sample cannot win by luck — the Bayesian average of a manager's
//! mean toward the partition's mean.
//!
//! `fair = (avg_score × ratings + prior_weight × C) / (ratings + prior_weight)`
//! where `C = Σ(avg_score × ratings) / Σ ratings` over the partition's rows
//! with a non-NULL `avg_score` and `ratings` > 0 (the tenant's mean rating
//! in the report). `prior_weight` is a constant >= 0, 5 when left out: it
//! counts as that many ratings of the mean; 0 gives the raw mean.
//!
//! NULL handling: the result is NULL when `avg_score` is NULL (or NaN) or
//! `ratings` is NULL or not positive; such rows are also left out of `C`.
//!
//! ```sql
//! SELECT manager, avg_score,
//!        fair_score(avg_score, ratings, 5) OVER (PARTITION BY tenant, period) AS fair
//! FROM per_manager;
//! ```

use std::sync::Arc;

use datafusion::arrow::array::{ArrayRef, Float64Array};
use datafusion::arrow::datatypes::{DataType, Field, FieldRef};
use datafusion::common::{Result, internal_err, plan_err};
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
        args: PartitionEvaluatorArgs,
    ) -> Result<Box<dyn PartitionEvaluator>> {
        let prior =
            constant_f64(&args, 2, self.name(), "prior_weight")?.unwrap_or(DEFAULT_PRIOR_WEIGHT);
        if !(prior >= 0.0 && prior.is_finite()) {
            return plan_err!("fair_score: prior_weight must be a finite number >= 0, got {prior}");
        }
        Ok(Box::new(FairEvaluator { prior }))
    }

    fn field(&self, field_args: WindowUDFFieldArgs) -> Result<FieldRef> {
        Ok(Arc::new(Field::new(
            field_args.name(),
            DataType::Float64,
            true,
        )))
    }
}

/// Scores one partition; the default capabilities (no frame, no rank, not
/// bounded) make DataFusion call `evaluate_all` with the whole partition.
#[derive(Debug)]
struct FairEvaluator {
    prior: f64,
}

impl PartitionEvaluator for FairEvaluator {
    fn evaluate_all(&mut self, values: &[ArrayRef], _num_rows: usize) -> Result<ArrayRef> {
        let [avg, ratings, ..] = values else {
            return internal_err!("fair_score got {} arguments after coercion", values.len());
        };
        let fair = fair(&f64_values(avg)?, &f64_values(ratings)?, self.prior);
        Ok(Arc::new(Float64Array::from(fair)))
    }
}

/// The kernel: one fair score per row.
fn fair(avg: &[Option<f64>], ratings: &[Option<f64>], prior: f64) -> Vec<Option<f64>> {
    // The rows that have a score: (mean, number of ratings).
    let rated: Vec<Option<(f64, f64)>> = avg
        .iter()
        .zip(ratings)
        .map(|(a, n)| match (a, n) {
            (Some(a), Some(n)) if *n > 0.0 => Some((*a, *n)),
            _ => None,
        })
        .collect();
    let total: f64 = rated.iter().flatten().map(|(_, n)| n).sum();
    let sum: f64 = rated.iter().flatten().map(|(a, n)| a * n).sum();
    // Only read when some row is rated, so `total` > 0.
    let mean = sum / total;
    rated
        .into_iter()
        .map(|r| r.map(|(a, n)| (a * n + prior * mean) / (n + prior)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::window::testing::{Arg, evaluate};
    use datafusion::arrow::array::{AsArray, Int64Array};
    use datafusion::arrow::datatypes::Float64Type;
    use datafusion::common::ScalarValue;
    use datafusion::prelude::SessionContext;

    fn run(
        avg: Vec<Option<f64>>,
        ratings: Vec<Option<i64>>,
        prior: Option<ScalarValue>,
    ) -> Result<Vec<Option<f64>>> {
        let mut args = vec![
            Arg::Column(Arc::new(Float64Array::from(avg))),
            Arg::Column(Arc::new(Int64Array::from(ratings))),
        ];
        args.extend(prior.map(Arg::Literal));
        let out = evaluate(&FairScore::new(), args)?;
        Ok(out.as_primitive::<Float64Type>().iter().collect())
    }

    #[test]
    fn small_samples_are_pulled_to_the_mean() {
        // Two 5s, forty ratings averaging 4.8, sixty averaging 4.0:
        // C = (10 + 192 + 240) / 102 ≈ 4.33; the two 5s become
        // (10 + 5 × 4.33) / 7 ≈ 4.52, below the forty's ≈ 4.74.
        let f = run(
            vec![Some(5.0), Some(4.8), Some(4.0)],
            vec![Some(2), Some(40), Some(60)],
            None,
        )
        .unwrap();
        let c = (10.0 + 192.0 + 240.0) / 102.0;
        assert!((f[0].unwrap() - (10.0 + 5.0 * c) / 7.0).abs() < 1e-12);
        assert!((f[1].unwrap() - (192.0 + 5.0 * c) / 45.0).abs() < 1e-12);
        assert!(
            f[1].unwrap() > f[0].unwrap(),
            "the larger sample ranks first"
        );
    }

    #[test]
    fn zero_prior_is_the_raw_mean_and_unrated_is_null() {
        let f = run(
            vec![Some(4.0), None, Some(3.0), Some(2.0)],
            vec![Some(3), Some(0), Some(0), None],
            Some(ScalarValue::Float64(Some(0.0))),
        )
        .unwrap();
        assert_eq!(f, vec![Some(4.0), None, None, None]);
    }

    #[test]
    fn unrated_rows_stay_out_of_the_mean() {
        // C over (4.0 × 2, 2.0 × 2) = 3.0; the 1.0 with 0 ratings and the
        // NULL score with 10 ratings do not move it. With prior 2:
        // (8 + 6) / 4 = 3.5 and (4 + 6) / 4 = 2.5.
        let f = run(
            vec![Some(4.0), Some(2.0), Some(1.0), None],
            vec![Some(2), Some(2), Some(0), Some(10)],
            Some(ScalarValue::Int64(Some(2))),
        )
        .unwrap();
        assert_eq!(f, vec![Some(3.5), Some(2.5), None, None]);
        let f = run(vec![None, None], vec![None, Some(3)], None).unwrap();
        assert_eq!(f, vec![None, None], "nobody rated: all NULL");
    }

    #[test]
    fn negative_or_null_prior_is_refused() {
        let err = run(
            vec![Some(4.0)],
            vec![Some(1)],
            Some(ScalarValue::Float64(Some(-1.0))),
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("prior_weight must be"), "{err}");
        let err = run(
            vec![Some(4.0)],
            vec![Some(1)],
            Some(ScalarValue::Float64(None)),
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("prior_weight must be a number"), "{err}");
    }

    #[tokio::test]
    async fn sql_per_partition_mean() {
        // Tenant a: C = (5 × 1 + 3 × 3) / 4 = 3.5; with prior 1:
        // (5 + 3.5) / 2 = 4.25 and (9 + 3.5) / 4 = 3.125. Tenant b alone: its own mean.
        let ctx = SessionContext::new();
        crate::register_all(&ctx);
        let batches = ctx
            .sql(
                "SELECT fair_score(s, n, 1) OVER (PARTITION BY t) AS f FROM (VALUES \
                 ('a', 'a1', 5.0, 1), ('a', 'a2', 3.0, 3), ('a', 'a3', NULL, 0), \
                 ('b', 'b1', 2.0, 4)) AS v(t, m, s, n) ORDER BY m",
            )
            .await
            .unwrap()
            .collect()
            .await
            .unwrap();
        let f: Vec<Option<f64>> = batches
            .iter()
            .flat_map(|b| {
                b.column(0)
                    .as_primitive::<Float64Type>()
                    .iter()
                    .collect::<Vec<_>>()
            })
            .collect();
        assert_eq!(f, vec![Some(4.25), Some(3.125), None, Some(2.0)]);
    }
}
