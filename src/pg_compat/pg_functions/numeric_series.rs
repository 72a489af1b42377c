//! `generate_series(start, stop [, step])` of `numeric`s, as PostgreSQL's
//! `generate_series_step_numeric`: `start`, `start + step`, … while not
//! past `stop` (none if any argument is NULL; a zero step is 22023). The
//! values have the larger scale of `start` and `step` (`generate_series(
//! 0.5, 2.0, 0.5)` is 0.5, 1.0, 1.5, 2.0); PostgreSQL gives the first value
//! `start`'s own scale, the same unless `step` has more decimals.
//!
//! - In a `FROM` clause ([`table`]): DataFusion's integer series `0 … n-1`
//!   (read lazily) with each `i` read as `start + i·step`.
//! - In a select list (`unnest(generate_series(…))`, see
//!   [`crate::pg_compat::compat`]): DataFusion's list function, with
//!   `numeric` arguments answered here ([`register`]).

use std::sync::Arc;

use async_trait::async_trait;
use datafusion::arrow::array::{Array, ArrayRef, AsArray, Decimal128Array, ListArray};
use datafusion::arrow::buffer::OffsetBuffer;
use datafusion::arrow::datatypes::{DataType, Decimal128Type, Field, Int64Type, Schema, SchemaRef};
use datafusion::catalog::{Session, TableFunctionArgs, TableFunctionImpl, TableProvider};
use datafusion::common::{Result, ScalarValue};
use datafusion::datasource::TableType;
use datafusion::logical_expr::{
    ColumnarValue, Expr, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature, TypeSignature,
    Volatility,
};
use datafusion::physical_expr::PhysicalExpr;
use datafusion::physical_expr::ScalarFunctionExpr;
use datafusion::physical_expr::expressions::{Column, Literal};
use datafusion::physical_plan::ExecutionPlan;
use datafusion::physical_plan::projection::ProjectionExec;
use datafusion::prelude::SessionContext;

use crate::sqlstate::{code, coded};

/// A constant argument: its unscaled value and scale, `None` for NULL.
type Constant = Option<(i128, u32)>;

/// The value of a constant expression (`0.5`, `-0.5`, `1`, `0.5::numeric`,
/// NULL) as a `numeric`, and whether it was a decimal.
fn constant(e: &Expr) -> Option<(Constant, bool)> {
    match e {
        Expr::Literal(v, _) => scalar_constant(v),
        Expr::Negative(inner) => {
            let (v, decimal) = constant(inner)?;
            Some((v.map(|(m, s)| (-m, s)), decimal))
        }
        Expr::Cast(c) => {
            let (v, decimal) = constant(&c.expr)?;
            match c.field.data_type() {
                DataType::Decimal128(_, s) => {
                    let s = u32::from(s.unsigned_abs());
                    let v = match v {
                        Some((m, from)) => Some((rescale(m, from, s)?, s)),
                        None => None,
                    };
                    Some((v, true))
                }
                t if t.is_integer() && !decimal => Some((v, false)),
                _ => None,
            }
        }
        _ => None,
    }
}

fn scalar_constant(v: &ScalarValue) -> Option<(Constant, bool)> {
    match v {
        ScalarValue::Decimal128(v, _, s) => {
            Some((v.map(|m| (m, u32::from(s.unsigned_abs()))), true))
        }
        ScalarValue::Null => Some((None, false)),
        v if v.data_type().is_integer() => {
            let v = v.cast_to(&DataType::Int64).ok()?;
            match v {
                ScalarValue::Int64(v) => Some((v.map(|m| (i128::from(m), 0)), false)),
                _ => None,
            }
        }
        _ => None,
    }
}

/// `m` of scale `from` at scale `to` (not smaller), if it fits.
fn rescale(m: i128, from: u32, to: u32) -> Option<i128> {
    if to < from {
        let value = super::numeric_math::round_to(&num_bigint::BigInt::from(m), from, to);
        return i128::try_from(&value).ok();
    }
    m.checked_mul(10i128.checked_pow(to - from)?)
}

fn step_zero() -> datafusion::common::DataFusionError {
    coded(code::INVALID_PARAMETER_VALUE, "step size cannot equal zero")
}

fn out_of_range() -> datafusion::common::DataFusionError {
    coded(code::NUMERIC_VALUE_OUT_OF_RANGE, "numeric field overflow")
}

/// The series' scale and its `start`, `step` and number of values.
struct Series {
    scale: u32,
    start: i128,
    step: i128,
    count: i128,
}

/// The series of these constants (`None` when one is NULL: no values).
fn series(args: &[Constant], scale: u32) -> Result<Option<Series>> {
    let (start, stop, step) = match args {
        [Some(a), Some(b)] => (*a, *b, (1, 0)),
        [Some(a), Some(b), Some(c)] => (*a, *b, *c),
        _ => return Ok(None),
    };
    // Compared at a scale that holds `stop` exactly.
    let common = scale.max(stop.1);
    let at = |(m, s): (i128, u32), to: u32| rescale(m, s, to).ok_or_else(out_of_range);
    let (a, b, c) = (at(start, common)?, at(stop, common)?, at(step, common)?);
    if c == 0 {
        return Err(step_zero());
    }
    let count = if (c > 0 && a > b) || (c < 0 && a < b) {
        0
    } else {
        (b - a) / c + 1
    };
    Ok(Some(Series {
        scale,
        start: at(start, scale)?,
        step: at(step, scale)?,
        count,
    }))
}

/// The series' scale: the larger of `start`'s and `step`'s.
fn series_scale(scales: &[u32]) -> u32 {
    scales
        .iter()
        .enumerate()
        .filter(|(i, _)| *i != 1)
        .map(|(_, s)| *s)
        .max()
        .unwrap_or(0)
}

/// `generate_series(…)` in a `FROM` clause, if a `numeric` is among its
/// (constant) arguments; `inner` is DataFusion's integer series.
pub fn table(
    inner: &dyn TableFunctionImpl,
    args: &TableFunctionArgs,
) -> Result<Option<Arc<dyn TableProvider>>> {
    let exprs = args.exprs();
    if !(2..=3).contains(&exprs.len()) {
        return Ok(None);
    }
    let Some(constants) = exprs.iter().map(constant).collect::<Option<Vec<_>>>() else {
        return Ok(None);
    };
    if !constants.iter().any(|(_, decimal)| *decimal) {
        return Ok(None);
    }
    let values: Vec<Constant> = constants.iter().map(|(v, _)| *v).collect();
    let scale = series_scale(
        &values
            .iter()
            .map(|v| v.map_or(0, |v| v.1))
            .collect::<Vec<_>>(),
    );
    if scale > 38 {
        return Err(out_of_range());
    }
    let (series, count) = match series(&values, scale)? {
        Some(s) => {
            let count = s.count;
            (s, count)
        }
        None => (
            Series {
                scale,
                start: 0,
                step: 0,
                count: 0,
            },
            0,
        ),
    };
    let last = i64::try_from(count - 1).map_err(|_| out_of_range())?;
    let lit = |v: i64| Expr::Literal(ScalarValue::Int64(Some(v)), None);
    let positions =
        inner.call_with_args(TableFunctionArgs::new(&[lit(0), lit(last)], args.session()))?;
    let field = positions
        .schema()
        .field(0)
        .as_ref()
        .clone()
        .with_data_type(DataType::Decimal128(38, series.scale as i8));
    Ok(Some(Arc::new(NumericSeriesTable {
        schema: Arc::new(Schema::new(vec![field])),
        positions,
        start: series.start,
        step: series.step,
    })))
}

/// The positions `0 … n-1` read as `start + i·step`.
#[derive(Debug)]
struct NumericSeriesTable {
    schema: SchemaRef,
    positions: Arc<dyn TableProvider>,
    start: i128,
    step: i128,
}

#[async_trait]
impl TableProvider for NumericSeriesTable {
    fn schema(&self) -> SchemaRef {
        self.schema.clone()
    }
    fn table_type(&self) -> TableType {
        TableType::Base
    }
    async fn scan(
        &self,
        state: &dyn Session,
        projection: Option<&Vec<usize>>,
        _filters: &[Expr],
        limit: Option<usize>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        let plan = self.positions.scan(state, None, &[], limit).await?;
        let field = Arc::new(self.schema.field(0).clone());
        let DataType::Decimal128(_, scale) = field.data_type() else {
            return datafusion::common::internal_err!("a numeric series is of decimals");
        };
        let decimal = |v: i128| -> Arc<dyn PhysicalExpr> {
            Arc::new(Literal::new(ScalarValue::Decimal128(Some(v), 38, *scale)))
        };
        let value: Arc<dyn PhysicalExpr> = Arc::new(ScalarFunctionExpr::new(
            "pg_numeric_series_value",
            Arc::new(ScalarUDF::new_from_impl(SeriesValue {
                signature: Signature::any(3, Volatility::Immutable),
            })),
            vec![
                Arc::new(Column::new(plan.schema().field(0).name(), 0)),
                decimal(self.start),
                decimal(self.step),
            ],
            field.clone(),
            Arc::new(state.config_options().clone()),
        ));
        // The one column, unless none is read (`count(*)`).
        let columns = match projection {
            Some(p) if p.is_empty() => vec![],
            _ => vec![(value, field.name().clone())],
        };
        Ok(Arc::new(ProjectionExec::try_new(columns, plan)?))
    }
}

/// `start + i·step` of a position `i` (`Int64`) and two decimals.
#[derive(Debug, PartialEq, Eq, Hash)]
struct SeriesValue {
    signature: Signature,
}

impl ScalarUDFImpl for SeriesValue {
    fn name(&self) -> &str {
        "pg_numeric_series_value"
    }
    fn signature(&self) -> &Signature {
        &self.signature
    }
    fn return_type(&self, args: &[DataType]) -> Result<DataType> {
        Ok(args.get(1).cloned().unwrap_or(DataType::Decimal128(38, 0)))
    }
    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let DataType::Decimal128(_, scale) = args.return_field.data_type() else {
            return datafusion::common::internal_err!("a numeric series is of decimals");
        };
        let scalar = |i: usize| match &args.args[i] {
            ColumnarValue::Scalar(ScalarValue::Decimal128(Some(v), _, _)) => Ok(*v),
            _ => datafusion::common::internal_err!("a series' start and step are constants"),
        };
        let (start, step) = (scalar(1)?, scalar(2)?);
        let positions = args.args[0].to_array(args.number_rows)?;
        let values = positions
            .as_primitive::<Int64Type>()
            .iter()
            .map(|i| {
                i.map(|i| {
                    step.checked_mul(i128::from(i))
                        .and_then(|v| v.checked_add(start))
                        .ok_or_else(out_of_range)
                })
                .transpose()
            })
            .collect::<Result<Decimal128Array>>()?;
        Ok(ColumnarValue::Array(Arc::new(
            values.with_precision_and_scale(38, *scale)?,
        )))
    }
}

/// Wraps DataFusion's `generate_series` list function with its `numeric`
/// form.
pub fn register(ctx: &SessionContext) {
    let state = ctx.state();
    if let Some(inner) = state.scalar_functions().get("generate_series") {
        ctx.register_udf(ScalarUDF::new_from_impl(NumericSeriesList {
            inner: inner.clone(),
            signature: Signature::new(TypeSignature::UserDefined, Volatility::Immutable),
        }));
    }
}

/// `generate_series(…)` as a list; see the module documentation.
#[derive(Debug, PartialEq, Eq, Hash)]
struct NumericSeriesList {
    inner: Arc<ScalarUDF>,
    signature: Signature,
}

fn numeric(types: &[DataType]) -> bool {
    (2..=3).contains(&types.len())
        && types.iter().any(|t| matches!(t, DataType::Decimal128(..)))
        && types
            .iter()
            .all(|t| matches!(t, DataType::Decimal128(..) | DataType::Null) || t.is_integer())
}

fn list_scale(types: &[DataType]) -> u32 {
    series_scale(
        &types
            .iter()
            .map(|t| match t {
                DataType::Decimal128(_, s) => u32::from(s.unsigned_abs()),
                _ => 0,
            })
            .collect::<Vec<_>>(),
    )
}

fn list_type(scale: u32) -> DataType {
    DataType::List(Arc::new(Field::new_list_field(
        DataType::Decimal128(38, scale.min(38) as i8),
        true,
    )))
}

impl ScalarUDFImpl for NumericSeriesList {
    fn name(&self) -> &str {
        self.inner.name()
    }
    fn aliases(&self) -> &[String] {
        self.inner.aliases()
    }
    fn signature(&self) -> &Signature {
        &self.signature
    }
    fn coerce_types(&self, args: &[DataType]) -> Result<Vec<DataType>> {
        if numeric(args) {
            return Ok(args.to_vec());
        }
        let fields = args
            .iter()
            .map(|t| Arc::new(Field::new("a", t.clone(), true)))
            .collect::<Vec<_>>();
        let coerced = datafusion::logical_expr::type_coercion::functions::fields_with_udf(
            &fields,
            self.inner.as_ref(),
        )?;
        Ok(coerced.iter().map(|f| f.data_type().clone()).collect())
    }
    fn return_type(&self, args: &[DataType]) -> Result<DataType> {
        if numeric(args) {
            return Ok(list_type(list_scale(args)));
        }
        self.inner.return_type(args)
    }
    fn return_field_from_args(
        &self,
        args: datafusion::logical_expr::ReturnFieldArgs,
    ) -> Result<datafusion::arrow::datatypes::FieldRef> {
        let types: Vec<DataType> = args
            .arg_fields
            .iter()
            .map(|f| f.data_type().clone())
            .collect();
        if numeric(&types) {
            return Ok(Arc::new(Field::new(
                self.name(),
                list_type(list_scale(&types)),
                true,
            )));
        }
        self.inner.return_field_from_args(args)
    }
    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let types: Vec<DataType> = args
            .arg_fields
            .iter()
            .map(|f| f.data_type().clone())
            .collect();
        if !numeric(&types) {
            return self.inner.invoke_with_args(args);
        }
        let scale = list_scale(&types);
        if scale > 38 {
            return Err(out_of_range());
        }
        let scalar = super::all_scalar(&args.args);
        let rows = args.number_rows;
        let columns = args
            .args
            .iter()
            .map(|a| {
                let array = a.to_array(rows)?;
                let s = match array.data_type() {
                    DataType::Decimal128(_, s) => u32::from(s.unsigned_abs()),
                    _ => 0,
                };
                let array: ArrayRef = match array.data_type() {
                    DataType::Decimal128(..) => array,
                    _ => datafusion::arrow::compute::cast(&array, &DataType::Decimal128(38, 0))?,
                };
                Ok(array
                    .as_primitive::<Decimal128Type>()
                    .iter()
                    .map(|v| v.map(|v| (v, s)))
                    .collect::<Vec<_>>())
            })
            .collect::<Result<Vec<_>>>()?;
        let mut values: Vec<i128> = Vec::new();
        let mut offsets = vec![0usize];
        let mut nulls = Vec::with_capacity(rows);
        for row in 0..rows {
            let row_args: Vec<Constant> = columns.iter().map(|c| c[row]).collect();
            match series(&row_args, scale)? {
                Some(s) => {
                    let mut v = s.start;
                    for _ in 0..s.count {
                        values.push(v);
                        v = v.checked_add(s.step).ok_or_else(out_of_range)?;
                    }
                    nulls.push(true);
                }
                None => nulls.push(false),
            }
            offsets.push(values.len());
        }
        let item = Field::new_list_field(DataType::Decimal128(38, scale as i8), true);
        let values = Decimal128Array::from(values).with_precision_and_scale(38, scale as i8)?;
        let list = ListArray::try_new(
            Arc::new(item),
            OffsetBuffer::from_lengths(offsets.windows(2).map(|w| w[1] - w[0])),
            Arc::new(values),
            Some(nulls.into()),
        )?;
        let list: ArrayRef = Arc::new(list);
        super::answer(list, scalar)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values(args: &[Constant]) -> Vec<i128> {
        let scale = series_scale(
            &args
                .iter()
                .map(|v| v.map_or(0, |v| v.1))
                .collect::<Vec<_>>(),
        );
        let s = series(args, scale).unwrap().unwrap();
        (0..s.count).map(|i| s.start + i * s.step).collect()
    }

    #[test]
    fn numeric_series_as_postgresql() {
        // generate_series(0.5, 2.0, 0.5): 0.5, 1.0, 1.5, 2.0 (scale 1).
        assert_eq!(
            values(&[Some((5, 1)), Some((20, 1)), Some((5, 1))]),
            vec![5, 10, 15, 20]
        );
        // generate_series(3.0, 1, -0.5)
        assert_eq!(
            values(&[Some((30, 1)), Some((1, 0)), Some((-5, 1))]),
            vec![30, 25, 20, 15, 10]
        );
        // generate_series(1.5, 3): 1.5, 2.5.
        assert_eq!(values(&[Some((15, 1)), Some((3, 0))]), vec![15, 25]);
        // generate_series(2.0, 1.0): none.
        assert!(values(&[Some((20, 1)), Some((10, 1))]).is_empty());
        assert!(
            series(&[Some((1, 0)), None, Some((5, 1))], 1)
                .unwrap()
                .is_none()
        );
        assert!(series(&[Some((10, 1)), Some((20, 1)), Some((0, 0))], 1).is_err());
    }
}
