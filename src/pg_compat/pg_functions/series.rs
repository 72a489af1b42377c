//! `generate_series(int, int [, int])` in a `FROM` clause as PostgreSQL
//! types it: a series of `integer` constants is an `integer` column (of
//! `bigint` constants, or beyond int4, a `bigint` one). With a `numeric`
//! among its arguments (`generate_series(0.5, 2.0, 0.5)`) the series is of
//! `numeric`s, in a `FROM` clause and in a select list
//! ([`super::numeric_series`]).
//!
//! The series is DataFusion's table function (`Int64`); this one calls it
//! and, when every argument is an integer constant that fits in int4 (or
//! NULL), casts its column to `Int32` as it is read. (In a select list
//! `generate_series(…)` is DataFusion's scalar function under `unnest`:
//! [`crate::pg_compat::literals`] types its constants and
//! [`crate::pg_compat::result_types`] its answer.)
//!
//! A series of dates is PostgreSQL's `timestamptz` series, from the first
//! date's midnight in the session's time zone ([`dates_as_instants`]).

use std::sync::Arc;

use async_trait::async_trait;
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use datafusion::catalog::{Session, TableFunctionArgs, TableFunctionImpl, TableProvider};
use datafusion::common::{Result, ScalarValue};
use datafusion::datasource::TableType;
use datafusion::logical_expr::Expr;
use datafusion::physical_expr::PhysicalExpr;
use datafusion::physical_expr::expressions::{CastExpr, Column};
use datafusion::physical_plan::ExecutionPlan;
use datafusion::physical_plan::projection::ProjectionExec;
use datafusion::prelude::SessionContext;

use super::numeric_series;

/// Registers `generate_series` (over DataFusion's) in `ctx`.
pub fn register(ctx: &SessionContext) {
    let Some(inner) = ctx.table_function("generate_series").ok() else {
        return;
    };
    ctx.register_udtf(
        "generate_series",
        Arc::new(IntegerSeries {
            inner: inner.function().clone(),
        }),
    );
    numeric_series::register(ctx);
}

/// The table function; see the module documentation.
#[derive(Debug)]
struct IntegerSeries {
    inner: Arc<dyn TableFunctionImpl>,
}

/// Whether `e` is an integer constant PostgreSQL reads as `integer`.
fn int4_constant(e: &Expr) -> bool {
    match e {
        Expr::Literal(ScalarValue::Int64(Some(v)), _) => i32::try_from(*v).is_ok(),
        Expr::Literal(ScalarValue::Int64(None) | ScalarValue::Null, _) => true,
        _ => false,
    }
}

impl TableFunctionImpl for IntegerSeries {
    fn call_with_args(&self, args: TableFunctionArgs) -> Result<Arc<dyn TableProvider>> {
        if let Some(instants) = dates_as_instants(args.exprs(), args.session())? {
            return self
                .inner
                .call_with_args(TableFunctionArgs::new(&instants, args.session()));
        }
        let exprs = args.exprs();
        if let Some(series) = numeric_series::table(self.inner.as_ref(), &args)? {
            return Ok(series);
        }
        let int4 = !exprs.is_empty()
            && exprs.iter().all(int4_constant)
            && exprs
                .iter()
                .any(|e| matches!(e, Expr::Literal(ScalarValue::Int64(Some(_)), _)));
        let series = self.inner.call_with_args(args)?;
        if !int4 {
            return Ok(series);
        }
        let fields: Vec<Field> = series
            .schema()
            .fields()
            .iter()
            .map(|f| match f.data_type() {
                DataType::Int64 => f.as_ref().clone().with_data_type(DataType::Int32),
                _ => f.as_ref().clone(),
            })
            .collect();
        Ok(Arc::new(Int4Series {
            schema: Arc::new(Schema::new(fields)),
            inner: series,
        }))
    }
}

/// `generate_series(date, date, interval)` as PostgreSQL resolves it, the
/// `timestamptz` series: each date its midnight in the session's time zone
/// (DataFusion's series of dates is of naive timestamps). The steps are
/// DataFusion's in that zone, as PostgreSQL's `timestamptz + interval`
/// (months and days on the wall clock, the time after). `None` when the
/// arguments are not two dates (or NULLs) and an interval.
fn dates_as_instants(exprs: &[Expr], session: &dyn Session) -> Result<Option<Vec<Expr>>> {
    let is_date = |e: &Expr| matches!(e, Expr::Literal(ScalarValue::Date32(_), _));
    let [start, end, step] = exprs else {
        return Ok(None);
    };
    let null = |e: &Expr| matches!(e, Expr::Literal(ScalarValue::Null, _));
    if !(is_date(start) || is_date(end))
        || !(is_date(start) || null(start))
        || !(is_date(end) || null(end))
        || !matches!(
            step,
            Expr::Literal(ScalarValue::IntervalMonthDayNano(_), _)
                | Expr::Literal(ScalarValue::Null, _)
        )
    {
        return Ok(None);
    }
    let label: Arc<str> = session
        .config_options()
        .execution
        .time_zone
        .clone()
        .unwrap_or_else(|| "+00:00".to_string())
        .into();
    let zone = super::Zone::of_arrow(&label)?;
    let instant = |e: &Expr| -> Result<Expr> {
        let nanos = match e {
            Expr::Literal(ScalarValue::Date32(Some(days)), _) => {
                let local = chrono::DateTime::<chrono::Utc>::UNIX_EPOCH.naive_utc()
                    + chrono::Duration::days(i64::from(*days));
                let utc = zone
                    .instant(local)
                    .ok_or_else(|| crate::sqlstate::coded("22008", "timestamp out of range"))?;
                utc.timestamp_nanos_opt()
            }
            _ => None,
        };
        Ok(Expr::Literal(
            ScalarValue::TimestampNanosecond(nanos, Some(label.clone())),
            None,
        ))
    };
    Ok(Some(vec![instant(start)?, instant(end)?, step.clone()]))
}

/// DataFusion's series with its `Int64` columns read as `Int32`.
#[derive(Debug)]
struct Int4Series {
    schema: SchemaRef,
    inner: Arc<dyn TableProvider>,
}

#[async_trait]
impl TableProvider for Int4Series {
    fn schema(&self) -> SchemaRef {
        self.schema.clone()
    }

    fn table_type(&self) -> TableType {
        self.inner.table_type()
    }

    async fn scan(
        &self,
        state: &dyn Session,
        projection: Option<&Vec<usize>>,
        _filters: &[Expr],
        limit: Option<usize>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        let plan = self.inner.scan(state, None, &[], limit).await?;
        let input = plan.schema();
        let columns: Vec<usize> = match projection {
            Some(p) => p.clone(),
            None => (0..self.schema.fields().len()).collect(),
        };
        let exprs = columns
            .into_iter()
            .map(|i| {
                let field = self.schema.field(i);
                let column: Arc<dyn PhysicalExpr> = Arc::new(Column::new(field.name(), i));
                let expr: Arc<dyn PhysicalExpr> = if input.field(i).data_type() == field.data_type()
                {
                    column
                } else {
                    Arc::new(CastExpr::new(column, field.data_type().clone(), None))
                };
                (expr, field.name().clone())
            })
            .collect::<Vec<_>>();
        Ok(Arc::new(ProjectionExec::try_new(exprs, plan)?))
    }
}
