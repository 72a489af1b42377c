//! `outlier_flag(score, leads [, ratio])`: is a manager an outlier in the
//! report (the window partition)?
//!
//! A row is an outlier when its `score` is below `ratio` × the median of the
//! partition's scores, or its `leads` are below `ratio` × the median of the
//! partition's lead counts (strict `<`; `ratio` defaults to 0.6). Medians
//! are the usual ones (mean of the two middle values for an even count).
//! NULL handling: a row with a NULL score is left out of the score median
//! and of the score test; a row with NULL leads is left out of the volume
//! median and the volume test (pass NULLs for the "no manager" bucket to
//! keep it out of both). The result is never NULL.
//!
//! ```sql
//! SELECT manager,
//!        outlier_flag(avg_score, leads, 0.6) OVER (PARTITION BY tenant, period) AS is_outlier
//! FROM per_manager;
//! ```

use std::sync::Arc;

use datafusion::arrow::array::{ArrayRef, BooleanArray};
use datafusion::arrow::datatypes::{DataType, Field, FieldRef};
use datafusion::common::{Result, plan_err};
use datafusion::logical_expr::function::{PartitionEvaluatorArgs, WindowUDFFieldArgs};
use datafusion::logical_expr::{PartitionEvaluator, Signature, Volatility, WindowUDFImpl};

use super::{coerce_numeric, constant_f64, f64_values};
use crate::median;

/// The default share of the median below which a manager is an outlier.
pub const DEFAULT_RATIO: f64 = 0.6;

#[derive(Debug, PartialEq, Eq, Hash)]
pub struct OutlierFlag {
    signature: Signature,
}

impl OutlierFlag {
    pub fn new() -> Self {
        OutlierFlag {
            signature: Signature::user_defined(Volatility::Immutable),
        }
    }
}

impl Default for OutlierFlag {
    fn default() -> Self {
        Self::new()
    }
}

impl WindowUDFImpl for OutlierFlag {
    fn name(&self) -> &str {
        "outlier_flag"
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
        Ok(Box::new(OutlierEvaluator))
    }

    fn field(&self, field_args: WindowUDFFieldArgs) -> Result<FieldRef> {
        Ok(Arc::new(Field::new(
            field_args.name(),
            DataType::Boolean,
            false,
        )))
    }
}

#[derive(Debug)]
struct OutlierEvaluator;

impl PartitionEvaluator for OutlierEvaluator {
    fn evaluate_all(&mut self, values: &[ArrayRef], num_rows: usize) -> Result<ArrayRef> {
        let scores = f64_values(&values[0])?;
        let leads = f64_values(&values[1])?;
        let ratio = constant_f64(values, 2, DEFAULT_RATIO)?;
        if !(ratio > 0.0 && ratio <= 1.0) {
            return plan_err!("outlier_flag: ratio must be in (0, 1], got {ratio}");
        }
        Ok(Arc::new(BooleanArray::from(
            flags(&scores, &leads, ratio)[..num_rows].to_vec(),
        )))
    }
}

/// The kernel: one flag per row.
fn flags(scores: &[Option<f64>], leads: &[Option<f64>], ratio: f64) -> Vec<bool> {
    let mut s: Vec<f64> = scores.iter().flatten().copied().collect();
    let mut l: Vec<f64> = leads.iter().flatten().copied().collect();
    let score_median = median(&mut s);
    let leads_median = median(&mut l);
    scores
        .iter()
        .zip(leads)
        .map(|(score, lead)| {
            let low_score = matches!((score, score_median), (Some(v), Some(m)) if *v < ratio * m);
            let low_volume = matches!((lead, leads_median), (Some(v), Some(m)) if *v < ratio * m);
            low_score || low_volume
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn score_and_volume_tests() {
        // scores 5, 4.67, 2, 4 → median 4.33, threshold 2.6: the 2.0 is out.
        // leads 6, 6, 5, 2 → median 5.5, threshold 3.3: the 2 is out.
        let scores = [Some(5.0), Some(14.0 / 3.0), Some(2.0), Some(4.0)];
        let leads = [Some(6.0), Some(6.0), Some(5.0), Some(2.0)];
        assert_eq!(flags(&scores, &leads, 0.6), vec![false, false, true, true]);
    }

    #[test]
    fn no_score_means_no_score_test() {
        let scores = [None, Some(5.0), Some(1.0)];
        let leads = [Some(10.0), Some(10.0), Some(10.0)];
        // median of (5, 1) = 3 → 1 < 1.8 is out; the unrated row is not.
        assert_eq!(flags(&scores, &leads, 0.6), vec![false, false, true]);
    }

    #[test]
    fn one_manager_is_never_an_outlier_and_nulls_never_are() {
        assert_eq!(flags(&[Some(1.0)], &[Some(1.0)], 0.6), vec![false]);
        assert_eq!(flags(&[None, None], &[None, None], 0.6), vec![false, false]);
    }

    #[test]
    fn below_is_strict() {
        // leads 6, 10 → median 8, threshold 4.8; scores 3, 5 → median 4, threshold 2.4
        assert_eq!(
            flags(&[Some(3.0), Some(5.0)], &[Some(6.0), Some(10.0)], 0.6),
            vec![false, false]
        );
        // exactly at the threshold: 0.5 × median 4 = 2 and score 2 → not below
        assert_eq!(
            flags(&[Some(2.0), Some(6.0)], &[Some(1.0), Some(1.0)], 0.5),
            vec![false, false]
        );
    }
}
