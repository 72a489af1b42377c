//! PostgreSQL's ordered-set aggregates DataFusion lacks:
//! `percentile_disc(f) WITHIN GROUP (ORDER BY x)` — the first value whose
//! position in the order reaches the fraction `f` of the rows — and
//! `mode() WITHIN GROUP (ORDER BY x)` — the most frequent value, the first
//! in the order among equally frequent ones. NULLs are ignored, as in
//! PostgreSQL; no rows give NULL. (DataFusion puts the ordered value first
//! among the arguments: `[x, f]`.)

use std::cmp::Ordering;
use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, AsArray};
use datafusion::arrow::datatypes::{DataType, Field, FieldRef};
use datafusion::common::{Result, ScalarValue};
use datafusion::logical_expr::function::{AccumulatorArgs, StateFieldsArgs};
use datafusion::logical_expr::{Accumulator, AggregateUDFImpl, Signature, Volatility};
use datafusion::physical_expr::expressions::Literal;

use crate::sqlstate::{code, coded};

/// Which ordered-set aggregate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    PercentileDisc,
    Mode,
}

/// The aggregate function; see the module documentation.
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct OrderedSet {
    kind: Kind,
    signature: Signature,
}

impl OrderedSet {
    pub fn new(kind: Kind) -> Self {
        let arity = match kind {
            Kind::PercentileDisc => 2,
            Kind::Mode => 1,
        };
        Self {
            kind,
            signature: Signature::any(arity, Volatility::Immutable),
        }
    }
}

impl AggregateUDFImpl for OrderedSet {
    fn name(&self) -> &str {
        match self.kind {
            Kind::PercentileDisc => "percentile_disc",
            Kind::Mode => "mode",
        }
    }
    fn signature(&self) -> &Signature {
        &self.signature
    }
    fn return_type(&self, args: &[DataType]) -> Result<DataType> {
        Ok(args.first().cloned().unwrap_or(DataType::Null))
    }
    fn supports_within_group_clause(&self) -> bool {
        true
    }
    fn state_fields(&self, args: StateFieldsArgs) -> Result<Vec<FieldRef>> {
        let item = Field::new_list_field(args.input_fields[0].data_type().clone(), true);
        Ok(vec![Arc::new(Field::new(
            format!("{}_values", args.name),
            DataType::List(Arc::new(item)),
            true,
        ))])
    }
    fn accumulator(&self, args: AccumulatorArgs) -> Result<Box<dyn Accumulator>> {
        let fraction = match self.kind {
            Kind::Mode => 0.0,
            Kind::PercentileDisc => fraction(&args)?,
        };
        let descending = args.order_bys.first().is_some_and(|s| s.options.descending);
        Ok(Box::new(Values {
            kind: self.kind,
            fraction,
            descending,
            data_type: args.expr_fields[0].data_type().clone(),
            values: Vec::new(),
        }))
    }
}

/// `percentile_disc`'s fraction: a constant between 0 and 1 (22003
/// otherwise, as PostgreSQL).
fn fraction(args: &AccumulatorArgs) -> Result<f64> {
    let value = args
        .exprs
        .get(1)
        .and_then(|e| {
            let any: &dyn std::any::Any = e.as_ref();
            any.downcast_ref::<Literal>()
        })
        .map(|l| l.value().clone())
        .ok_or_else(|| {
            coded(
                code::FEATURE_NOT_SUPPORTED,
                "percentile_disc's fraction must be a constant",
            )
        })?;
    let f = match value.cast_to(&DataType::Float64)? {
        ScalarValue::Float64(Some(f)) => f,
        _ => return Ok(f64::NAN),
    };
    if !(0.0..=1.0).contains(&f) {
        return Err(coded(
            code::NUMERIC_VALUE_OUT_OF_RANGE,
            format!("percentile value {f} is not between 0 and 1"),
        ));
    }
    Ok(f)
}

#[derive(Debug)]
struct Values {
    kind: Kind,
    fraction: f64,
    descending: bool,
    data_type: DataType,
    values: Vec<ScalarValue>,
}

impl Values {
    fn sorted(&self) -> Vec<ScalarValue> {
        let mut v = self.values.clone();
        v.sort_by(|a, b| {
            let o = a.partial_cmp(b).unwrap_or(Ordering::Equal);
            if self.descending { o.reverse() } else { o }
        });
        v
    }
}

impl Accumulator for Values {
    fn update_batch(&mut self, values: &[ArrayRef]) -> Result<()> {
        let Some(array) = values.first() else {
            return Ok(());
        };
        for i in 0..array.len() {
            if !array.is_null(i) {
                self.values.push(ScalarValue::try_from_array(array, i)?);
            }
        }
        Ok(())
    }

    fn merge_batch(&mut self, states: &[ArrayRef]) -> Result<()> {
        let Some(lists) = states.first() else {
            return Ok(());
        };
        let lists = lists.as_list::<i32>();
        for i in 0..lists.len() {
            if !lists.is_null(i) {
                self.update_batch(&[lists.value(i)])?;
            }
        }
        Ok(())
    }

    fn state(&mut self) -> Result<Vec<ScalarValue>> {
        Ok(vec![ScalarValue::List(ScalarValue::new_list_nullable(
            &self.values,
            &self.data_type,
        ))])
    }

    fn evaluate(&mut self) -> Result<ScalarValue> {
        let sorted = self.sorted();
        if sorted.is_empty() || self.fraction.is_nan() {
            return ScalarValue::try_from(&self.data_type);
        }
        Ok(match self.kind {
            Kind::PercentileDisc => {
                // The first row whose cumulative share reaches the fraction.
                let n = sorted.len() as f64;
                let position = (self.fraction * n).ceil().max(1.0) as usize;
                sorted[position.min(sorted.len()) - 1].clone()
            }
            Kind::Mode => {
                let (mut best, mut best_count) = (&sorted[0], 0);
                let mut i = 0;
                while i < sorted.len() {
                    let run = sorted[i..].iter().take_while(|v| **v == sorted[i]).count();
                    if run > best_count {
                        best = &sorted[i];
                        best_count = run;
                    }
                    i += run;
                }
                best.clone()
            }
        })
    }

    fn size(&self) -> usize {
        std::mem::size_of_val(self) + self.values.iter().map(|v| v.size()).sum::<usize>()
    }
}
