//! `achievements(leads, response_rate, reaction_s, dialog_s, service_score,
//! ratings, is_outlier)`: the achievements each manager wins in a report
//! (the window partition), as a list of names in this order:
//!
//! | name | wins | ties go to |
//! |---|---|---|
//! | `most_sociable` | most `leads` | more `leads` (the same) |
//! | `most_engaging` | highest `response_rate` | more `leads` |
//! | `fastest` | lowest `reaction_s` | more `leads` |
//! | `most_efficient` | lowest `dialog_s` | more `leads` |
//! | `best_service` | highest `service_score` (the mean score, or a fairer score) | more `ratings` |
//!
//! A category is contested by the rows that are not outliers (`is_outlier`
//! is not true: NULL contests) and have a value for it (NULL and NaN are no
//! value; a 0 % response rate is a value). Values are compared exactly. Ties
//! on the value go to the larger sample (a NULL sample counts as 0); rows
//! still tied all share it. The result is never NULL: a row that wins
//! nothing gets an empty list, and a category nobody contests has no winner.
//!
//! ```sql
//! SELECT manager,
//!        achievements(leads, response_rate, mean_reaction_s, mean_dialog_s,
//!                     avg_score, ratings, is_outlier)
//!            OVER (PARTITION BY tenant, period) AS achievements
//! FROM per_manager;
//! -- e.g. [most_sociable, fastest]
//! ```

use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, AsArray, ListBuilder, StringBuilder};
use datafusion::arrow::datatypes::{DataType, Field, FieldRef};
use datafusion::common::{Result, internal_err, plan_err};
use datafusion::logical_expr::function::{PartitionEvaluatorArgs, WindowUDFFieldArgs};
use datafusion::logical_expr::{PartitionEvaluator, Signature, Volatility, WindowUDFImpl};

use super::{coerce_numeric, f64_values};

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
        let mut out = coerce_numeric(self.name(), &arg_types[..6], 6, 6)?;
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
        Ok(Arc::new(Field::new(field_args.name(), list_type(), false)))
    }
}

/// `LIST<UTF8>` with non-null items.
fn list_type() -> DataType {
    DataType::List(item_field())
}

fn item_field() -> FieldRef {
    Arc::new(Field::new("item", DataType::Utf8, false))
}

/// Awards one partition; the default capabilities (no frame, no rank, not
/// bounded) make DataFusion call `evaluate_all` with the whole partition.
#[derive(Debug)]
struct AchievementsEvaluator;

impl PartitionEvaluator for AchievementsEvaluator {
    fn evaluate_all(&mut self, values: &[ArrayRef], num_rows: usize) -> Result<ArrayRef> {
        let [leads, rate, reaction, dialog, service, ratings, outlier] = values else {
            return internal_err!("achievements got {} arguments after coercion", values.len());
        };
        let Some(outlier) = outlier.as_boolean_opt() else {
            return internal_err!("achievements: is_outlier is {}", outlier.data_type());
        };
        let contest: Vec<bool> = (0..num_rows)
            .map(|i| !(outlier.is_valid(i) && outlier.value(i)))
            .collect();
        let leads = f64_values(leads)?;
        let ratings = f64_values(ratings)?;
        let won = [
            winners(&leads, &leads, &contest, Best::Highest),
            winners(&f64_values(rate)?, &leads, &contest, Best::Highest),
            winners(&f64_values(reaction)?, &leads, &contest, Best::Lowest),
            winners(&f64_values(dialog)?, &leads, &contest, Best::Lowest),
            winners(&f64_values(service)?, &ratings, &contest, Best::Highest),
        ];
        let mut b = ListBuilder::new(StringBuilder::new()).with_field(item_field());
        for row in 0..num_rows {
            for (category, w) in CATEGORIES.iter().zip(&won) {
                if w[row] {
                    b.values().append_value(category);
                }
            }
            b.append(true);
        }
        Ok(Arc::new(b.finish()))
    }
}

#[derive(Clone, Copy)]
enum Best {
    Highest,
    Lowest,
}

/// The kernel, for one category: the best value among contestants, then
/// the larger sample; rows still tied all win.
fn winners(
    value: &[Option<f64>],
    sample: &[Option<f64>],
    contest: &[bool],
    best: Best,
) -> Vec<bool> {
    // (value oriented so that larger is better, sample), for contestants.
    let key = |i: usize| -> Option<(f64, f64)> {
        let v = value[i].filter(|_| contest[i])?;
        let v = match best {
            Best::Highest => v,
            Best::Lowest => -v,
        };
        Some((v, sample[i].unwrap_or(0.0)))
    };
    let top = (0..value.len()).filter_map(key).reduce(|a, b| {
        if b.0 > a.0 || (b.0 == a.0 && b.1 > a.1) {
            b
        } else {
            a
        }
    });
    (0..value.len())
        .map(|i| top.is_some() && key(i) == top)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::window::testing::{Arg, evaluate};
    use datafusion::arrow::array::{BooleanArray, Float64Array, Int64Array};
    use datafusion::prelude::SessionContext;

    fn v(xs: &[f64]) -> Vec<Option<f64>> {
        xs.iter().map(|x| Some(*x)).collect()
    }

    /// The evaluator's output as lists of names.
    fn names(out: &ArrayRef) -> Vec<Vec<String>> {
        let list = out.as_list::<i32>();
        assert_eq!(list.null_count(), 0, "never NULL");
        (0..list.len())
            .map(|i| {
                let items = list.value(i);
                let items = items.as_string::<i32>();
                assert_eq!(items.null_count(), 0);
                items.iter().flatten().map(str::to_string).collect()
            })
            .collect()
    }

    #[test]
    fn ties_go_to_the_larger_sample_then_are_shared() {
        // Same response rate 0.5; the one with more leads wins.
        let w = winners(
            &v(&[0.5, 0.5, 0.4]),
            &v(&[6.0, 8.0, 9.0]),
            &[true; 3],
            Best::Highest,
        );
        assert_eq!(w, vec![false, true, false]);
        // Same rate and same leads: both share it.
        let w = winners(
            &v(&[0.5, 0.5, 0.4]),
            &v(&[6.0, 6.0, 9.0]),
            &[true; 3],
            Best::Highest,
        );
        assert_eq!(w, vec![true, true, false]);
        // Lowest wins for times; the tie goes to the larger sample too.
        let w = winners(
            &v(&[30.0, 20.0, 20.0]),
            &v(&[9.0, 3.0, 4.0]),
            &[true; 3],
            Best::Lowest,
        );
        assert_eq!(w, vec![false, false, true]);
    }

    #[test]
    fn outliers_and_missing_values_do_not_contest() {
        let w = winners(
            &v(&[1.0, 5.0, 9.0]),
            &v(&[1.0, 1.0, 1.0]),
            &[false, true, true],
            Best::Lowest,
        );
        assert_eq!(
            w,
            vec![false, true, false],
            "the fastest is an outlier; next best wins"
        );
        let w = winners(
            &[None, Some(0.0)],
            &v(&[1.0, 1.0]),
            &[true, true],
            Best::Highest,
        );
        assert_eq!(w, vec![false, true], "a 0 % rate is a value");
        let w = winners(&[None, None], &v(&[1.0, 1.0]), &[true, true], Best::Highest);
        assert_eq!(w, vec![false, false], "nobody contests, nobody wins");
        let w = winners(
            &v(&[1.0, 2.0]),
            &v(&[1.0, 1.0]),
            &[false, false],
            Best::Highest,
        );
        assert_eq!(w, vec![false, false], "only outliers, nobody wins");
    }

    /// Fixture, by hand:
    ///
    /// | row | leads | rate | reaction | dialog | score | ratings | outlier |
    /// |---|---|---|---|---|---|---|---|
    /// | a | 10 | 0.5 | 20 | 100 | 4.5 | 5 | false |
    /// | b | 12 | 0.5 | 10 | NULL | 4.5 | 6 | NULL |
    /// | c | 30 | 0.9 | 5 | 50 | 5.0 | 9 | true |
    /// | d | 12 | 0.0 | 10 | 100 | NULL | 0 | false |
    ///
    /// c is an outlier and wins nothing. most_sociable: b and d (12), tied
    /// on the sample too → both. most_engaging: a and b (0.5) → b (12 leads).
    /// fastest: b and d (10), 12 leads each → both. most_efficient: a and d
    /// (100), d has more leads → d. best_service: a and b (4.5) → b (6 ratings).
    #[test]
    fn evaluator_awards_in_category_order() {
        let f = |xs: Vec<Option<f64>>| Arg::Column(Arc::new(Float64Array::from(xs)));
        let i = |xs: Vec<i64>| Arg::Column(Arc::new(Int64Array::from(xs)));
        let out = evaluate(
            &Achievements::new(),
            vec![
                i(vec![10, 12, 30, 12]),
                f(v(&[0.5, 0.5, 0.9, 0.0])),
                f(v(&[20.0, 10.0, 5.0, 10.0])),
                f(vec![Some(100.0), None, Some(50.0), Some(100.0)]),
                f(vec![Some(4.5), Some(4.5), Some(5.0), None]),
                i(vec![5, 6, 9, 0]),
                Arg::Column(Arc::new(BooleanArray::from(vec![
                    Some(false),
                    None,
                    Some(true),
                    Some(false),
                ]))),
            ],
        )
        .unwrap();
        assert_eq!(out.data_type(), &list_type());
        assert_eq!(
            names(&out),
            vec![
                vec![],
                vec!["most_sociable", "most_engaging", "fastest", "best_service"],
                vec![],
                vec!["most_sociable", "fastest", "most_efficient"],
            ]
        );
    }

    #[test]
    fn zero_response_rate_wins_when_it_is_the_best_there_is() {
        let f = |xs: Vec<Option<f64>>| Arg::Column(Arc::new(Float64Array::from(xs)));
        let out = evaluate(
            &Achievements::new(),
            vec![
                Arg::Column(Arc::new(Int64Array::from(vec![3, 5]))),
                f(vec![Some(0.0), Some(0.0)]),
                f(vec![None, None]),
                f(vec![None, Some(f64::NAN)]),
                f(vec![None, None]),
                Arg::Column(Arc::new(Int64Array::from(vec![0, 0]))),
                Arg::Column(Arc::new(BooleanArray::from(vec![false, false]))),
            ],
        )
        .unwrap();
        // Both have 0 %; the larger sample (5 leads) takes it.
        assert_eq!(
            names(&out),
            vec![vec![], vec!["most_sociable", "most_engaging"]]
        );
    }

    #[tokio::test]
    async fn sql_shared_tie_and_outlier_excluded() {
        let ctx = SessionContext::new();
        crate::register_all(&ctx);
        let batches = ctx
            .sql(
                "SELECT m, array_to_string(achievements(l, r, t, d, s, n, o) OVER (PARTITION BY g), ',') \
                 FROM (VALUES \
                   ('g', 'x', 5, 0.5, 10.0, 100.0, 4.0, 2, false), \
                   ('g', 'y', 5, 0.5, 10.0, 100.0, 4.0, 2, false), \
                   ('g', 'z', 50, 0.9, 1.0, 10.0, 5.0, 20, true), \
                   ('h', 'w', 1, NULL, NULL, NULL, NULL, 0, NULL)) \
                 AS v(g, m, l, r, t, d, s, n, o) ORDER BY m",
            )
            .await
            .unwrap()
            .collect()
            .await
            .unwrap();
        let text = datafusion::arrow::util::pretty::pretty_format_batches(&batches)
            .unwrap()
            .to_string();
        let all = "most_sociable,most_engaging,fastest,most_efficient,best_service";
        let rows: Vec<String> = text
            .lines()
            .skip(3)
            .filter(|l| l.starts_with('|'))
            .map(|l| l.split('|').map(str::trim).collect::<Vec<_>>().join("|"))
            .collect();
        assert_eq!(
            rows,
            vec![
                "|w|most_sociable|".to_string(),
                format!("|x|{all}|"),
                format!("|y|{all}|"),
                "|z||".to_string(),
            ]
        );
    }
}
