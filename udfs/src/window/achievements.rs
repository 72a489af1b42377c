//! `achievements(leads, response_rate, reaction_s, dialog_s, service_score,
//! ratings, is_outlier)`: the achievements each manager wins in a report
//! (the window partition), as a list of names in this order:
//!
//! | name | wins |
//! |---|---|
//! | `most_sociable` | most `leads` |
//! | `most_engaging` | highest `response_rate` |
//! | `fastest` | lowest `reaction_s` |
//! | `most_efficient` | lowest `dialog_s` |
//! | `best_service` | highest `service_score` (the mean score, or a fairer score) |
//!
//! A category is contested by the rows that are not outliers (`is_outlier`
//! is not true) and have a value for it (NULL and NaN are no value; a 0 %
//! response rate is a value). Ties on the value go to the larger sample —
//! more `leads`, or more `ratings` for best service; rows still tied all
//! share it. A row that wins nothing gets an empty list.
//!
//! ```sql
//! SELECT manager,
//!        achievements(leads, response_rate, mean_reaction_s, mean_dialog_s,
//!                     avg_score, ratings, is_outlier)
//!            OVER (PARTITION BY tenant, period) AS achievements
//! FROM per_manager;
//! ```

use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, AsArray, ListBuilder, StringBuilder};
use datafusion::arrow::datatypes::{DataType, Field, FieldRef};
use datafusion::common::{Result, plan_err};
use datafusion::logical_expr::function::{PartitionEvaluatorArgs, WindowUDFFieldArgs};
use datafusion::logical_expr::{PartitionEvaluator, Signature, Volatility, WindowUDFImpl};

use super::f64_values;

/// The categories, in output order.
pub const CATEGORIES: [&str; 5] = [
    "most_sociable",
    "most_engaging",
    "fastest",
    "most_efficient",
    "best_service",
];

#[derive(Debug, PartialEq, Eq, Hash)]
pub struct Achievements {
    signature: Signature,
}

impl Achievements {
    pub fn new() -> Self {
        Achievements {
            signature: Signature::user_defined(Volatility::Immutable),
        }
    }
}

impl Default for Achievements {
    fn default() -> Self {
        Self::new()
    }
}

impl WindowUDFImpl for Achievements {
    fn name(&self) -> &str {
        "achievements"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn coerce_types(&self, arg_types: &[DataType]) -> Result<Vec<DataType>> {
        if arg_types.len() != 7 {
            return plan_err!(
                "achievements takes 7 arguments (leads, response_rate, reaction_s, dialog_s, \
                 service_score, ratings, is_outlier), got {}",
                arg_types.len()
            );
        }
        let mut out = super::coerce_numeric(self.name(), &arg_types[..6], 6, 6)?;
        match &arg_types[6] {
            DataType::Boolean | DataType::Null => out.push(DataType::Boolean),
            other => return plan_err!("achievements: is_outlier must be a boolean, got {other}"),
        }
        Ok(out)
    }

    fn partition_evaluator(
        &self,
        _args: PartitionEvaluatorArgs,
    ) -> Result<Box<dyn PartitionEvaluator>> {
        Ok(Box::new(AchievementsEvaluator))
    }

    fn field(&self, field_args: WindowUDFFieldArgs) -> Result<FieldRef> {
        Ok(Arc::new(Field::new(
            field_args.name(),
            DataType::List(Arc::new(Field::new("item", DataType::Utf8, true))),
            false,
        )))
    }
}

#[derive(Debug)]
struct AchievementsEvaluator;

impl PartitionEvaluator for AchievementsEvaluator {
    fn evaluate_all(&mut self, values: &[ArrayRef], num_rows: usize) -> Result<ArrayRef> {
        let leads = f64_values(&values[0])?;
        let rate = f64_values(&values[1])?;
        let reaction = f64_values(&values[2])?;
        let dialog = f64_values(&values[3])?;
        let service = f64_values(&values[4])?;
        let ratings = f64_values(&values[5])?;
        let outlier = values[6].as_boolean();
        let contest: Vec<bool> = (0..num_rows)
            .map(|i| !(outlier.is_valid(i) && outlier.value(i)))
            .collect();
        let won = [
            winners(&leads, &leads, &contest, true),
            winners(&rate, &leads, &contest, true),
            winners(&reaction, &leads, &contest, false),
            winners(&dialog, &leads, &contest, false),
            winners(&service, &ratings, &contest, true),
        ];
        let mut b = ListBuilder::new(StringBuilder::new());
        for row in 0..num_rows {
            for (c, w) in won.iter().enumerate() {
                if w[row] {
                    b.values().append_value(CATEGORIES[c]);
                }
            }
            b.append(true);
        }
        Ok(Arc::new(b.finish()))
    }
}

/// Who wins one category: the best value among contestants (highest or
/// lowest), then the larger sample; remaining ties all win.
fn winners(
    value: &[Option<f64>],
    sample: &[Option<f64>],
    contest: &[bool],
    highest: bool,
) -> Vec<bool> {
    let key = |i: usize| -> Option<(f64, f64)> {
        let v = value[i]?;
        contest[i].then_some((if highest { v } else { -v }, sample[i].unwrap_or(0.0)))
    };
    let best =
        (0..value.len())
            .filter_map(key)
            .fold(None, |best: Option<(f64, f64)>, k| match best {
                None => Some(k),
                Some(b) if k.0 > b.0 || (k.0 == b.0 && k.1 > b.1) => Some(k),
                Some(b) => Some(b),
            });
    (0..value.len())
        .map(|i| best.is_some() && key(i) == best)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(xs: &[f64]) -> Vec<Option<f64>> {
        xs.iter().map(|x| Some(*x)).collect()
    }

    #[test]
    fn ties_go_to_the_larger_sample_then_are_shared() {
        // Same response rate 0.5; the one with more leads wins.
        let w = winners(&v(&[0.5, 0.5, 0.4]), &v(&[6.0, 8.0, 9.0]), &[true; 3], true);
        assert_eq!(w, vec![false, true, false]);
        // Same rate and same leads: both share it.
        let w = winners(&v(&[0.5, 0.5, 0.4]), &v(&[6.0, 6.0, 9.0]), &[true; 3], true);
        assert_eq!(w, vec![true, true, false]);
    }

    #[test]
    fn outliers_and_missing_values_do_not_contest() {
        let w = winners(
            &v(&[1.0, 5.0, 9.0]),
            &v(&[1.0, 1.0, 1.0]),
            &[false, true, true],
            false,
        );
        assert_eq!(
            w,
            vec![false, true, false],
            "the fastest is an outlier; next best wins"
        );
        let w = winners(&[None, Some(0.0)], &v(&[1.0, 1.0]), &[true, true], true);
        assert_eq!(w, vec![false, true], "a 0 % rate is a value");
        let w = winners(&[None, None], &v(&[1.0, 1.0]), &[true, true], true);
        assert_eq!(w, vec![false, false]);
    }
}
