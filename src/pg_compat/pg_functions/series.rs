//! `generate_series(int, int [, int])` in a `FROM` clause as PostgreSQL
//! types it: a series of `integer` constants is an `integer` column (of
//! `bigint` constants, or beyond int4, a `bigint` one).
//!
//! The series is DataFusion's table function (`Int64`); this one calls it
//! and, when every argument is an integer constant that fits in int4 (or
//! NULL), casts its column to `Int32` as it is read. (In a select list
//! `generate_series(…)` is DataFusion's scalar function under `unnest`:
//! [`crate::pg_compat::literals`] types its constants and
//! [`crate::pg_compat::result_types`] its answer.)

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
        let exprs = args.exprs();
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
