//! Array functions that change or describe an array's shape, as PostgreSQL
//! has them and DataFusion does not (or answers otherwise):
//!
//! | function | answer |
//! |---|---|
//! | `array_dims(a)` | the dimensions as text, `[1:3]`, `[1:2][1:1]`; NULL for an empty array |
//! | `trim_array(a, n)` | `a` without its last `n` elements (2202E when `n` is negative or more than its length) |
//! | `array_fill(v, ARRAY[n])` | `n` copies of `v` (one dimension; more are refused with 0A000) |

use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, AsArray, ListArray, StringBuilder, UInt32Array};
use datafusion::arrow::buffer::OffsetBuffer;
use datafusion::arrow::datatypes::{DataType, Field, Int64Type};
use datafusion::common::{Result, exec_err};
use datafusion::logical_expr::{
    ColumnarValue, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature, Volatility,
};

use crate::sqlstate::{code, coded};

/// The functions of this module.
pub fn functions() -> Vec<ScalarUDF> {
    vec![
        ScalarUDF::new_from_impl(Shape::new(Kind::Dims)),
        ScalarUDF::new_from_impl(Shape::new(Kind::Trim)),
        ScalarUDF::new_from_impl(Shape::new(Kind::Fill)),
    ]
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Kind {
    Dims,
    Trim,
    Fill,
}

#[derive(Debug, PartialEq, Eq, Hash)]
struct Shape {
    kind: Kind,
    signature: Signature,
    /// DataFusion's other names of a function this one replaces: taking
    /// them leaves no copy a rebuilt session state could put back.
    aliases: Vec<String>,
}

impl Shape {
    fn new(kind: Kind) -> Self {
        let arity = match kind {
            Kind::Dims => 1,
            Kind::Trim | Kind::Fill => 2,
        };
        let aliases = match kind {
            Kind::Dims => vec!["list_dims".to_string()],
            Kind::Trim | Kind::Fill => vec![],
        };
        Self {
            kind,
            signature: Signature::any(arity, Volatility::Immutable),
            aliases,
        }
    }
}

/// The list type of `t` (a `List`, or a `LargeList`/`FixedSizeList` read
/// as one); `None` for anything else.
fn item_field(t: &DataType) -> Option<Arc<Field>> {
    match t {
        DataType::List(f) | DataType::LargeList(f) | DataType::FixedSizeList(f, _) => {
            Some(f.clone())
        }
        _ => None,
    }
}

impl ScalarUDFImpl for Shape {
    fn name(&self) -> &str {
        match self.kind {
            Kind::Dims => "array_dims",
            Kind::Trim => "trim_array",
            Kind::Fill => "array_fill",
        }
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn aliases(&self) -> &[String] {
        &self.aliases
    }

    fn return_type(&self, args: &[DataType]) -> Result<DataType> {
        match self.kind {
            Kind::Dims => Ok(DataType::Utf8),
            Kind::Trim => match item_field(&args[0]) {
                Some(f) => Ok(DataType::List(f)),
                None if args[0] == DataType::Null => Ok(DataType::Null),
                None => exec_err!("trim_array needs an array, not {}", args[0]),
            },
            Kind::Fill => Ok(DataType::List(Arc::new(Field::new_list_field(
                args[0].clone(),
                true,
            )))),
        }
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let scalar = super::all_scalar(&args.args);
        let rows = args.number_rows;
        let arrays: Vec<ArrayRef> = args
            .args
            .iter()
            .map(|a| a.to_array(rows))
            .collect::<Result<_>>()?;
        let out = match self.kind {
            Kind::Dims => dims(&arrays[0])?,
            Kind::Trim => trim(&arrays[0], &arrays[1])?,
            Kind::Fill => fill(&arrays[0], &arrays[1])?,
        };
        super::answer(out, scalar)
    }
}

/// `arrays` as a `ListArray` (casting the other list layouts).
fn as_list(array: &ArrayRef) -> Result<ListArray> {
    let field = item_field(array.data_type())
        .unwrap_or_else(|| Arc::new(Field::new_list_field(DataType::Null, true)));
    let cast = datafusion::arrow::compute::cast(array, &DataType::List(field))?;
    Ok(cast.as_list::<i32>().clone())
}

fn dims(array: &ArrayRef) -> Result<ArrayRef> {
    let mut out = StringBuilder::new();
    if array.data_type() == &DataType::Null {
        for _ in 0..array.len() {
            out.append_null();
        }
        return Ok(Arc::new(out.finish()));
    }
    let lists = as_list(array)?;
    for row in 0..lists.len() {
        if lists.is_null(row) {
            out.append_null();
            continue;
        }
        let mut text = String::new();
        let mut value: ArrayRef = lists.value(row);
        loop {
            if value.is_empty() {
                break;
            }
            text.push_str(&format!("[1:{}]", value.len()));
            // (PostgreSQL's arrays are rectangular: the first sub-array's
            // length is every one's.)
            match item_field(value.data_type()) {
                Some(_) => {
                    let inner = as_list(&value)?;
                    if inner.is_null(0) {
                        break;
                    }
                    value = inner.value(0);
                }
                None => break,
            }
        }
        if text.is_empty() {
            out.append_null();
        } else {
            out.append_value(text);
        }
    }
    Ok(Arc::new(out.finish()))
}

/// An integer argument as `i64`s.
fn integers(array: &ArrayRef) -> Result<Vec<Option<i64>>> {
    let cast = datafusion::arrow::compute::cast(array, &DataType::Int64)?;
    Ok(cast.as_primitive::<Int64Type>().iter().collect())
}

fn trim(array: &ArrayRef, n: &ArrayRef) -> Result<ArrayRef> {
    if array.data_type() == &DataType::Null {
        return Ok(array.clone());
    }
    let lists = as_list(array)?;
    let n = integers(n)?;
    let mut offsets = vec![0i32];
    let mut take: Vec<u32> = vec![];
    let mut nulls = vec![];
    for (row, n) in n.iter().enumerate() {
        let valid = !lists.is_null(row) && n.is_some();
        nulls.push(valid);
        if valid {
            let len = lists.value_length(row) as i64;
            let n = n.unwrap_or(0);
            if n < 0 || n > len {
                return Err(coded(
                    code::ARRAY_SUBSCRIPT_ERROR,
                    "number of elements to trim must be between 0 and the array's length",
                ));
            }
            let start = lists.value_offsets()[row] as u32;
            take.extend(start..start + (len - n) as u32);
        }
        offsets.push(take.len() as i32);
    }
    let values =
        datafusion::arrow::compute::take(lists.values().as_ref(), &UInt32Array::from(take), None)?;
    let field = item_field(lists.data_type())
        .unwrap_or_else(|| Arc::new(Field::new_list_field(DataType::Null, true)));
    Ok(Arc::new(ListArray::try_new(
        field,
        OffsetBuffer::new(offsets.into()),
        values,
        Some(nulls.into()),
    )?))
}

fn fill(value: &ArrayRef, dimensions: &ArrayRef) -> Result<ArrayRef> {
    let dims = as_list(dimensions)?;
    let mut offsets = vec![0i32];
    let mut take: Vec<u32> = vec![];
    let mut nulls = vec![];
    for row in 0..dims.len() {
        if dims.is_null(row) {
            return Err(coded(
                code::NULL_VALUE_NOT_ALLOWED,
                "dimension array or low bound array cannot be null",
            ));
        }
        let sizes = integers(&dims.value(row))?;
        let size = match sizes.as_slice() {
            [] => 0,
            [Some(n)] => (*n).max(0),
            [None] => {
                return Err(coded(
                    code::NULL_VALUE_NOT_ALLOWED,
                    "dimension values cannot be null",
                ));
            }
            _ => {
                return Err(coded(
                    code::FEATURE_NOT_SUPPORTED,
                    "multidimensional arrays are not supported",
                ));
            }
        };
        nulls.push(true);
        take.extend(std::iter::repeat_n(row as u32, size as usize));
        offsets.push(take.len() as i32);
    }
    let values = datafusion::arrow::compute::take(value.as_ref(), &UInt32Array::from(take), None)?;
    Ok(Arc::new(ListArray::try_new(
        Arc::new(Field::new_list_field(value.data_type().clone(), true)),
        OffsetBuffer::new(offsets.into()),
        values,
        Some(nulls.into()),
    )?))
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::arrow::array::{Int32Array, Int32Builder, ListBuilder};

    fn ints(rows: &[Option<&[i32]>]) -> ArrayRef {
        let mut b = ListBuilder::new(Int32Builder::new());
        for r in rows {
            match r {
                Some(v) => {
                    for x in *v {
                        b.values().append_value(*x);
                    }
                    b.append(true);
                }
                None => b.append(false),
            }
        }
        Arc::new(b.finish())
    }

    #[test]
    fn shapes_as_postgresql() {
        let a = ints(&[Some(&[1, 2, 3]), Some(&[]), None]);
        let d = dims(&a).unwrap();
        let d = d.as_string::<i32>();
        assert_eq!(d.value(0), "[1:3]");
        assert!(d.is_null(1) && d.is_null(2));

        let t = trim(
            &a.slice(0, 1),
            &(Arc::new(Int32Array::from(vec![1])) as ArrayRef),
        )
        .unwrap();
        let t = t.as_list::<i32>();
        assert_eq!(
            t.value(0)
                .as_primitive::<datafusion::arrow::datatypes::Int32Type>()
                .values(),
            &[1, 2]
        );
        assert!(
            trim(
                &a.slice(0, 1),
                &(Arc::new(Int32Array::from(vec![4])) as ArrayRef)
            )
            .is_err()
        );
        assert!(
            trim(
                &a.slice(0, 1),
                &(Arc::new(Int32Array::from(vec![-1])) as ArrayRef)
            )
            .is_err()
        );

        let f = fill(
            &(Arc::new(Int32Array::from(vec![7])) as ArrayRef),
            &ints(&[Some(&[3])]),
        )
        .unwrap();
        assert_eq!(f.as_list::<i32>().value_length(0), 3);
        assert!(
            fill(
                &(Arc::new(Int32Array::from(vec![7])) as ArrayRef),
                &ints(&[Some(&[2, 2])])
            )
            .is_err()
        );
    }
}
