//! `outlier_flag(score, leads [, ratio])`: is a manager an outlier in the
//! report (the window partition)?
//!
//! A row is an outlier when its `score` is below `ratio` × the median of the
//! partition's scores, or its `leads` are below `ratio` × the median of the
//! partition's lead counts (strict `<`). `ratio` is a constant in (0, 1],
//! 0.6 when left out. Medians are the usual ones (mean of the two middle
//! values for an even count).
//!
//! NULL handling: a row with a NULL (or NaN) score is left out of the score
//! median and of the score test; a row with NULL leads is left out of the
//! volume median and the volume test (pass NULLs for the "no manager"
//! bucket to keep it out of both). The result is never NULL: `false` when
//! no test applies. A single row is never an outlier.
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
        args: PartitionEvaluatorArgs,
    ) -> Result<Box<dyn PartitionEvaluator>> {
        let ratio = constant_f64(&args, 2, self.name(), "ratio")?.unwrap_or(DEFAULT_RATIO);
        if !(ratio > 0.0 && ratio <= 1.0) {
            return plan_err!("outlier_flag: ratio must be in (0, 1], got {ratio}");
        }
        Ok(Box::new(OutlierEvaluator { ratio }))
    }

    fn field(&self, field_args: WindowUDFFieldArgs) -> Result<FieldRef> {
        Ok(Arc::new(Field::new(
            field_args.name(),
            DataType::Boolean,
            false,
        )))
    }
}

/// Flags one partition; the default capabilities (no frame, no rank, not
/// bounded) make DataFusion call `evaluate_all` with the whole partition.
#[derive(Debug)]
struct OutlierEvaluator {
    ratio: f64,
}

impl PartitionEvaluator for OutlierEvaluator {
    fn evaluate_all(&mut self, values: &[ArrayRef], _num_rows: usize) -> Result<ArrayRef> {
        let [score, leads, ..] = values else {
            return datafusion::common::internal_err!(
                "outlier_flag got {} arguments after coercion",
                values.len()
            );
        };
        let flags = flags(&f64_values(score)?, &f64_values(leads)?, self.ratio);
        Ok(Arc::new(BooleanArray::from(flags)))
    }
}

/// The kernel: one flag per row.
fn flags(scores: &[Option<f64>], leads: &[Option<f64>], ratio: f64) -> Vec<bool> {
    let below = |values: &[Option<f64>]| -> Vec<bool> {
        let mut present: Vec<f64> = values.iter().flatten().copied().collect();
        match median(&mut present) {
            None => vec![false; values.len()],
            Some(m) => values
                .iter()
                .map(|v| v.is_some_and(|v| v < ratio * m))
                .collect(),
        }
    };
    below(scores)
        .into_iter()
        .zip(below(leads))
        .map(|(low_score, low_volume)| low_score || low_volume)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::window::testing::{Arg, evaluate};
    use datafusion::arrow::array::{Array, AsArray, Float64Array, Int64Array};
    use datafusion::common::ScalarValue;
    use datafusion::prelude::SessionContext;

    fn run(scores: Vec<Option<f64>>, leads: Vec<Option<i64>>, ratio: Option<f64>) -> Vec<bool> {
        let mut args = vec![
            Arg::Column(Arc::new(Float64Array::from(scores))),
            Arg::Column(Arc::new(Int64Array::from(leads))),
        ];
        if let Some(r) = ratio {
            args.push(Arg::Literal(ScalarValue::Float64(Some(r))));
        }
        let out = evaluate(&OutlierFlag::new(), args).unwrap();
        let out = out.as_boolean();
        assert_eq!(out.null_count(), 0, "never NULL");
        out.values().iter().collect()
    }

    #[test]
    fn odd_count_median() {
        // scores 5, 4, 2 → median 4, threshold 2.4: the 2 is out.
        // leads 10, 9, 10 → median 10, threshold 6: nobody.
        assert_eq!(
            run(
                vec![Some(5.0), Some(4.0), Some(2.0)],
                vec![Some(10), Some(9), Some(10)],
                None
            ),
            vec![false, false, true]
        );
    }

    #[test]
    fn even_count_median_is_the_mean_of_the_middle_two() {
        // scores 5, 4.67, 2, 4 → median (4 + 4.67) / 2 = 4.33, threshold 2.6: the 2.0 is out.
        // leads 6, 6, 5, 2 → median 5.5, threshold 3.3: the 2 is out.
        assert_eq!(
            run(
                vec![Some(5.0), Some(14.0 / 3.0), Some(2.0), Some(4.0)],
                vec![Some(6), Some(6), Some(5), Some(2)],
                None
            ),
            vec![false, false, true, true]
        );
        // leads 1, 9 → median 5 (the mean, not 1 or 9), threshold 3: the 1 is out.
        assert_eq!(
            run(vec![None, None], vec![Some(1), Some(9)], None),
            vec![true, false]
        );
    }

    #[test]
    fn no_score_means_no_score_test() {
        // median of (5, 1) = 3 → 1 < 1.8 is out; the unrated row is not
        // (with it counted as 0 the median would be 1 and nobody would be).
        assert_eq!(
            run(
                vec![None, Some(5.0), Some(1.0)],
                vec![Some(10), Some(10), Some(10)],
                None
            ),
            vec![false, false, true]
        );
    }

    #[test]
    fn all_scores_null_leaves_only_the_volume_test() {
        assert_eq!(
            run(
                vec![None, None, None],
                vec![Some(10), Some(2), Some(10)],
                None
            ),
            vec![false, true, false]
        );
        assert_eq!(
            run(vec![None, None], vec![None, None], None),
            vec![false, false]
        );
    }

    #[test]
    fn one_row_is_never_an_outlier() {
        assert_eq!(run(vec![Some(1.0)], vec![Some(1)], None), vec![false]);
        assert_eq!(run(vec![Some(0.0)], vec![Some(0)], None), vec![false]);
    }

    #[test]
    fn below_is_strict_and_ratio_is_used() {
        // scores 2, 6 → median 4; × 0.5 = 2 and the score 2 is not below it.
        assert_eq!(
            run(
                vec![Some(2.0), Some(6.0)],
                vec![Some(1), Some(1)],
                Some(0.5)
            ),
            vec![false, false]
        );
        // The same with ratio 0.6: threshold 2.4, the 2 is out.
        assert_eq!(
            run(
                vec![Some(2.0), Some(6.0)],
                vec![Some(1), Some(1)],
                Some(0.6)
            ),
            vec![true, false]
        );
    }

    #[test]
    fn ratio_outside_zero_one_is_refused() {
        for bad in [0.0, -0.1, 1.5, f64::INFINITY] {
            let args = vec![
                Arg::Column(Arc::new(Float64Array::from(vec![1.0]))),
                Arg::Column(Arc::new(Int64Array::from(vec![1]))),
                Arg::Literal(ScalarValue::Float64(Some(bad))),
            ];
            let err = evaluate(&OutlierFlag::new(), args).unwrap_err().to_string();
            assert!(err.contains("ratio must be in (0, 1]"), "{err}");
        }
        let args = vec![
            Arg::Column(Arc::new(Float64Array::from(vec![1.0]))),
            Arg::Column(Arc::new(Int64Array::from(vec![1]))),
            Arg::Literal(ScalarValue::Float64(None)),
        ];
        let err = evaluate(&OutlierFlag::new(), args).unwrap_err().to_string();
        assert!(err.contains("ratio must be a number"), "{err}");
    }

    async fn sql(query: &str) -> Vec<(String, bool)> {
        let ctx = SessionContext::new();
        crate::register_all(&ctx);
        let batches = ctx.sql(query).await.unwrap().collect().await.unwrap();
        let mut rows = vec![];
        for b in &batches {
            let m = datafusion::arrow::compute::cast(b.column(0), &DataType::Utf8).unwrap();
            for i in 0..b.num_rows() {
                let m = m.as_string::<i32>().value(i).to_string();
                rows.push((m, b.column(1).as_boolean().value(i)));
            }
        }
        rows.sort();
        rows
    }

    #[tokio::test]
    async fn sql_partitions_are_separate_reports() {
        // Tenant a: scores 5, 4, 1 → median 4, threshold 2.4: a3 is out.
        // Tenant b: leads 10, 10, 2, 9 → median 9.5, threshold 5.7: b3 is out;
        // b4 has no score and stays out of the score test.
        let rows = sql(
            "SELECT m, outlier_flag(s, l) OVER (PARTITION BY t ORDER BY m) FROM (VALUES \
             ('a', 'a1', 5.0, 10), ('a', 'a2', 4.0, 10), ('a', 'a3', 1.0, 10), \
             ('b', 'b1', 4.0, 10), ('b', 'b2', 4.0, 10), ('b', 'b3', 4.0, 2), \
             ('b', 'b4', NULL, 9)) AS v(t, m, s, l)",
        )
        .await;
        let out: Vec<&str> = rows
            .iter()
            .filter(|(_, f)| *f)
            .map(|(m, _)| m.as_str())
            .collect();
        assert_eq!(out, vec!["a3", "b3"]);
        assert_eq!(rows.len(), 7);
    }

    #[tokio::test]
    async fn sql_integer_ratio_and_column_ratio() {
        // ratio 1 (an integer literal, cast by coercion): below the median itself.
        let rows = sql("SELECT m, outlier_flag(s, l, 1) OVER () FROM (VALUES \
             ('x', 3.0, 5), ('y', 4.0, 5), ('z', 5.0, 5)) AS v(m, s, l)")
        .await;
        assert_eq!(
            rows,
            vec![
                ("x".to_string(), true),
                ("y".to_string(), false),
                ("z".to_string(), false)
            ]
        );
        let ctx = SessionContext::new();
        crate::register_all(&ctx);
        let err = ctx
            .sql("SELECT outlier_flag(s, l, s) OVER () FROM (VALUES (3.0, 5)) AS v(s, l)")
            .await
            .unwrap()
            .collect()
            .await
            .unwrap_err()
            .to_string();
        assert!(err.contains("ratio must be a constant"), "{err}");
    }
}
