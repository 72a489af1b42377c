//! `x op ANY (array)` and `x op ALL (array)` with PostgreSQL's three-valued
//! answer, for every comparison operator.
//!
//! DataFusion plans `= ANY (array)` as `array_has`, which is false where
//! PostgreSQL says NULL (`3 = ANY (ARRAY[1, NULL])`: no element is equal,
//! one is unknown), and no other operator. [`crate::pg_compat::compat`]
//! writes each form over an array as a call of `pg_array_any(x, array,
//! 'op')` or `pg_array_all(…)`:
//! - `ANY`: true when a comparison is true; else NULL when one is NULL;
//!   else false (so false for an empty array);
//! - `ALL`: false when a comparison is false; else NULL when one is NULL;
//!   else true (so true for an empty array);
//! - a NULL array is NULL.

use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, AsArray, BooleanArray, Scalar};
use datafusion::arrow::compute::cast;
use datafusion::arrow::compute::kernels::cmp;
use datafusion::arrow::datatypes::DataType;
use datafusion::common::{Result, ScalarValue};
use datafusion::logical_expr::type_coercion::binary::comparison_coercion;
use datafusion::logical_expr::{
    ColumnarValue, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature, TypeSignature,
    Volatility,
};

use crate::sqlstate::{code, coded};

/// The two functions.
pub fn functions() -> Vec<ScalarUDF> {
    vec![
        ScalarUDF::new_from_impl(Quantified::new(false)),
        ScalarUDF::new_from_impl(Quantified::new(true)),
    ]
}

/// `pg_array_any` or (`all`) `pg_array_all`.
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct Quantified {
    all: bool,
    signature: Signature,
}

impl Quantified {
    fn new(all: bool) -> Self {
        Self {
            all,
            signature: Signature::new(TypeSignature::UserDefined, Volatility::Immutable),
        }
    }
}

fn element(t: &DataType) -> Option<&DataType> {
    match t {
        DataType::List(f) | DataType::LargeList(f) | DataType::FixedSizeList(f, _) => {
            Some(f.data_type())
        }
        _ => None,
    }
}

impl ScalarUDFImpl for Quantified {
    fn name(&self) -> &str {
        if self.all {
            "pg_array_all"
        } else {
            "pg_array_any"
        }
    }
    fn signature(&self) -> &Signature {
        &self.signature
    }
    fn coerce_types(&self, args: &[DataType]) -> Result<Vec<DataType>> {
        let [left, array, op] = args else {
            return Err(coded(
                code::UNDEFINED_FUNCTION,
                format!("{} takes a value, an array and an operator", self.name()),
            ));
        };
        let item = match array {
            // (An untyped literal, `= ANY ('{1,5}')`, is an array of the
            // left side's type, read by the text-to-array cast.)
            DataType::Null | DataType::Utf8 | DataType::Utf8View | DataType::LargeUtf8 => {
                left.clone()
            }
            t => element(t).cloned().ok_or_else(|| {
                coded(
                    code::DATATYPE_MISMATCH,
                    "op ANY/ALL (array) requires array on right side",
                )
            })?,
        };
        let common = match (left, &item) {
            (DataType::Null, t) | (t, DataType::Null) => t.clone(),
            (l, r) => comparison_coercion(l, r).ok_or_else(|| {
                coded(
                    code::UNDEFINED_FUNCTION,
                    format!("operator does not exist: {l} = {r}"),
                )
            })?,
        };
        Ok(vec![
            common.clone(),
            DataType::new_list(common, true),
            op.clone(),
        ])
    }
    fn return_type(&self, _: &[DataType]) -> Result<DataType> {
        Ok(DataType::Boolean)
    }
    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let rows = args.number_rows;
        let scalar = args
            .args
            .iter()
            .all(|a| matches!(a, ColumnarValue::Scalar(_)));
        let op = match &args.args[2] {
            ColumnarValue::Scalar(ScalarValue::Utf8(Some(op))) => op.clone(),
            _ => {
                return Err(coded(
                    code::FEATURE_NOT_SUPPORTED,
                    "the operator of ANY/ALL must be written in the statement",
                ));
            }
        };
        let left = args.args[0].to_array(rows)?;
        let arrays = args.args[1].to_array(rows)?;
        let arrays = cast(&arrays, &DataType::new_list(left.data_type().clone(), true))?;
        let arrays = arrays.as_list::<i32>();
        let mut out = Vec::with_capacity(rows);
        for i in 0..rows {
            if arrays.is_null(i) {
                out.push(None);
                continue;
            }
            let items = arrays.value(i);
            let answers = compare(&left.slice(i, 1), &items, &op)?;
            out.push(fold(&answers, self.all));
        }
        let array: ArrayRef = Arc::new(BooleanArray::from(out));
        super::answer(array, scalar)
    }
}

/// `left` (one value) compared by `op` with each of `items`.
fn compare(left: &ArrayRef, items: &ArrayRef, op: &str) -> Result<BooleanArray> {
    let left = Scalar::new(left.clone());
    Ok(match op {
        "=" => cmp::eq(&left, items)?,
        "<>" | "!=" => cmp::neq(&left, items)?,
        "<" => cmp::lt(&left, items)?,
        "<=" => cmp::lt_eq(&left, items)?,
        ">" => cmp::gt(&left, items)?,
        ">=" => cmp::gt_eq(&left, items)?,
        other => {
            return Err(coded(
                code::UNDEFINED_FUNCTION,
                format!("operator does not exist: {other} for ANY/ALL (array)"),
            ));
        }
    })
}

/// `ANY` (or `ALL`) of the comparisons, three-valued.
fn fold(answers: &BooleanArray, all: bool) -> Option<bool> {
    let mut unknown = false;
    for i in 0..answers.len() {
        if answers.is_null(i) {
            unknown = true;
        } else if answers.value(i) != all {
            // ANY: a true decides; ALL: a false decides.
            return Some(!all);
        }
    }
    if unknown { None } else { Some(all) }
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::arrow::array::Int32Array;
    use datafusion::arrow::datatypes::Field;

    fn list_of(values: Vec<Option<i32>>) -> ArrayRef {
        use datafusion::arrow::array::ListArray;
        use datafusion::arrow::buffer::OffsetBuffer;
        let n = values.len();
        Arc::new(ListArray::new(
            Arc::new(Field::new_list_field(DataType::Int32, true)),
            OffsetBuffer::from_lengths([n]),
            Arc::new(Int32Array::from(values)),
            None,
        ))
    }

    fn answer(x: Option<i32>, items: Vec<Option<i32>>, op: &str, all: bool) -> Option<bool> {
        let left: ArrayRef = Arc::new(Int32Array::from(vec![x]));
        let list = list_of(items);
        let items = list.as_list::<i32>().value(0);
        fold(&compare(&left, &items, op).unwrap(), all)
    }

    #[test]
    fn any_and_all_are_three_valued_as_in_postgresql() {
        assert_eq!(
            answer(Some(3), vec![Some(1), Some(2), Some(3)], "=", false),
            Some(true)
        );
        assert_eq!(answer(Some(3), vec![Some(1), None], "=", false), None);
        assert_eq!(answer(Some(1), vec![Some(1), None], "=", false), Some(true));
        assert_eq!(answer(None, vec![Some(1), Some(2)], "=", false), None);
        assert_eq!(answer(None, vec![], "=", false), Some(false));
        assert_eq!(
            answer(Some(5), vec![Some(1), Some(2)], ">", true),
            Some(true)
        );
        assert_eq!(
            answer(Some(2), vec![Some(2), Some(2)], "=", true),
            Some(true)
        );
        assert_eq!(answer(Some(2), vec![Some(2), None], "=", true), None);
        assert_eq!(answer(Some(2), vec![Some(3), None], "=", true), Some(false));
        assert_eq!(answer(Some(2), vec![], "<", true), Some(true));
        assert_eq!(
            answer(Some(2), vec![Some(1), Some(2)], "<>", true),
            Some(false)
        );
    }
}
