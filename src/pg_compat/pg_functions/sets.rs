//! Set-returning functions over arrays, returned as arrays that
//! [`crate::pg_compat::compat`] wraps in `unnest`: `_pg_expandarray` (pgjdbc)
//! and `generate_subscripts` (SQLAlchemy).

use std::sync::Arc;

use datafusion::arrow::array::{
    Array, AsArray, Int32Array, Int32Builder, ListArray, ListBuilder, StructArray,
};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, Field, Fields, Int64Type};
use datafusion::common::{Result, plan_err};
use datafusion::logical_expr::{
    ColumnarValue, ScalarFunctionArgs, ScalarUDFImpl, Signature, TypeSignature, Volatility,
};

use super::{all_scalar, answer};

/// `information_schema._pg_expandarray(array)`: PostgreSQL's set of
/// `(x, n)` records, one per element with its position. Here it returns
/// that set as an array of `(x, n)` structs; [`super::compat`] wraps every
/// call in `unnest(…)`, which makes it a set again.
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct PgExpandArray {
    signature: Signature,
}

impl PgExpandArray {
    pub fn new() -> PgExpandArray {
        PgExpandArray {
            signature: Signature::any(1, Volatility::Immutable),
        }
    }

    fn element(arg: &DataType) -> Result<DataType> {
        match arg {
            DataType::List(f) | DataType::LargeList(f) | DataType::FixedSizeList(f, _) => {
                Ok(f.data_type().clone())
            }
            DataType::Null => Ok(DataType::Null),
            other => plan_err!("_pg_expandarray needs an array, not {other}"),
        }
    }

    fn record(element: DataType) -> Fields {
        Fields::from(vec![
            Field::new("x", element, true),
            Field::new("n", DataType::Int32, false),
        ])
    }
}

impl Default for PgExpandArray {
    fn default() -> Self {
        Self::new()
    }
}

impl ScalarUDFImpl for PgExpandArray {
    fn name(&self) -> &str {
        "_pg_expandarray"
    }
    fn signature(&self) -> &Signature {
        &self.signature
    }
    fn return_type(&self, arg_types: &[DataType]) -> Result<DataType> {
        let element = Self::element(&arg_types[0])?;
        Ok(DataType::new_list(
            DataType::Struct(Self::record(element)),
            true,
        ))
    }
    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let scalar = all_scalar(&args.args);
        let input = args.args[0].to_array(args.number_rows)?;
        let element = Self::element(input.data_type())?;
        let list_type = DataType::new_list(element.clone(), true);
        let input = cast(&input, &list_type)?;
        let list = input.as_list::<i32>();
        let values = list.values().clone();
        let offsets = list.value_offsets();
        let mut positions = vec![0i32; values.len()];
        for i in 0..list.len() {
            let (start, end) = (offsets[i] as usize, offsets[i + 1] as usize);
            for (k, p) in positions[start..end].iter_mut().enumerate() {
                *p = k as i32 + 1;
            }
        }
        let fields = Self::record(element);
        let records = StructArray::try_new(
            fields.clone(),
            vec![values, Arc::new(Int32Array::from(positions))],
            None,
        )?;
        let out = ListArray::try_new(
            Arc::new(Field::new_list_field(DataType::Struct(fields), true)),
            list.offsets().clone(),
            Arc::new(records),
            list.nulls().cloned(),
        )?;
        answer(Arc::new(out), scalar)
    }
}

/// `generate_subscripts(array, dim [, reverse])`: the subscripts of a
/// dimension, `1..=n` (OKO's arrays have one dimension: another one has
/// none). Returns them as an array; [`super::compat`] wraps the call in
/// `unnest(…)`, which makes it PostgreSQL's set.
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct GenerateSubscripts {
    signature: Signature,
}

impl GenerateSubscripts {
    pub fn new() -> GenerateSubscripts {
        GenerateSubscripts {
            signature: Signature::one_of(
                vec![TypeSignature::Any(2), TypeSignature::Any(3)],
                Volatility::Immutable,
            ),
        }
    }
}

impl Default for GenerateSubscripts {
    fn default() -> Self {
        Self::new()
    }
}

impl ScalarUDFImpl for GenerateSubscripts {
    fn name(&self) -> &str {
        "generate_subscripts"
    }
    fn signature(&self) -> &Signature {
        &self.signature
    }
    fn return_type(&self, arg_types: &[DataType]) -> Result<DataType> {
        PgExpandArray::element(&arg_types[0])?;
        Ok(DataType::new_list(DataType::Int32, true))
    }
    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let rows = args.number_rows;
        let scalar = all_scalar(&args.args);
        let input = args.args[0].to_array(rows)?;
        let list_type = DataType::new_list(PgExpandArray::element(input.data_type())?, true);
        let input = cast(&input, &list_type)?;
        let list = input.as_list::<i32>();
        let dims = cast(&args.args[1].to_array(rows)?, &DataType::Int64)?;
        let dims = dims.as_primitive::<Int64Type>();
        let reverse = match args.args.get(2) {
            Some(r) => Some(cast(&r.to_array(rows)?, &DataType::Boolean)?),
            None => None,
        };
        let reverse = reverse.as_ref().map(|r| r.as_boolean());
        let mut out = ListBuilder::new(Int32Builder::new());
        for row in 0..rows {
            if list.is_null(row) || dims.is_null(row) {
                out.append(false);
                continue;
            }
            if dims.value(row) == 1 {
                let n = list.value_length(row);
                if reverse.is_some_and(|r| r.is_valid(row) && r.value(row)) {
                    out.values().extend((1..=n).rev().map(Some));
                } else {
                    out.values().extend((1..=n).map(Some));
                }
            }
            out.append(true);
        }
        answer(Arc::new(out.finish()), scalar)
    }
}
