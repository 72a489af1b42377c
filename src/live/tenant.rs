//! Tenant isolation: a user bound to a tenant gets a catalog of its own in
//! which every table *is* that tenant's rows.
//!
//! Each table of a tenant catalog is a [`TenantTable`]: the live table under
//! a `WHERE tenant = '<tenant>'` filter that is part of the table itself (a
//! logical plan, so it is pushed into the Delta scan and prunes the other
//! tenants' partitions). The report views of the catalog are created over
//! these tables, the report functions plan against them, and `pg_catalog` /
//! `information_schema` are built over the same catalog. The unfiltered
//! tables are not reachable under any name from such a session: no query —
//! by table name, catalog, function, join or table-function argument — can
//! reach another tenant's rows.
//!
//! A tenant catalog is built once per tenant (on its first login) and shared
//! by every connection of that tenant, so a connection costs the same as an
//! unbound one.

use std::borrow::Cow;
use std::sync::Arc;

use async_trait::async_trait;
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::catalog::{Session, TableProvider};
use datafusion::common::Result;
use datafusion::datasource::{TableType, ViewTable, provider_as_source};
use datafusion::logical_expr::dml::InsertOp;
use datafusion::logical_expr::{
    Expr, LogicalPlan, LogicalPlanBuilder, TableProviderFilterPushDown, col, lit,
};
use datafusion::physical_plan::ExecutionPlan;

use super::table::LiveTable;

/// One tenant's rows of a live table.
#[derive(Debug)]
pub struct TenantTable {
    live: Arc<LiveTable>,
    tenant: String,
    /// `SELECT * FROM <live> WHERE tenant = '<tenant>'`.
    view: ViewTable,
}

impl TenantTable {
    pub fn new(live: Arc<LiveTable>, tenant: &str) -> Result<TenantTable> {
        let plan =
            LogicalPlanBuilder::scan(live.table.name(), provider_as_source(live.clone()), None)?
                .filter(col("tenant").eq(lit(tenant.to_string())))?
                .build()?;
        Ok(TenantTable {
            live,
            tenant: tenant.to_string(),
            view: ViewTable::new(plan, None),
        })
    }

    /// The live table under the tenant filter (the result cache reads its
    /// generation).
    pub fn live(&self) -> &Arc<LiveTable> {
        &self.live
    }
}

#[async_trait]
impl TableProvider for TenantTable {
    fn schema(&self) -> SchemaRef {
        self.live.schema_ref().clone()
    }

    fn table_type(&self) -> TableType {
        TableType::Base
    }

    /// The filtered plan: queries inline it, so the tenant filter meets the
    /// query's own filters in one optimised plan.
    fn get_logical_plan(&self) -> Option<Cow<'_, LogicalPlan>> {
        self.view.get_logical_plan()
    }

    fn supports_filters_pushdown(
        &self,
        filters: &[&Expr],
    ) -> Result<Vec<TableProviderFilterPushDown>> {
        self.view.supports_filters_pushdown(filters)
    }

    async fn scan(
        &self,
        state: &dyn Session,
        projection: Option<&Vec<usize>>,
        filters: &[Expr],
        limit: Option<usize>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        self.view.scan(state, projection, filters, limit).await
    }

    /// Only this tenant's rows: the tenant is added to the statement's
    /// filters.
    async fn delete_from(
        &self,
        state: &dyn Session,
        mut filters: Vec<Expr>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        if filters.is_empty() {
            // Refused by the sink with a clear message.
            return self.live.delete_from(state, filters).await;
        }
        filters.push(col("tenant").eq(lit(self.tenant.clone())));
        self.live.delete_from(state, filters).await
    }

    /// Only this tenant's rows, as for a delete: the tenant is added to the
    /// statement's filters (the update sink refuses a statement without a
    /// condition of its own).
    async fn update(
        &self,
        state: &dyn Session,
        assignments: Vec<(String, Expr)>,
        mut filters: Vec<Expr>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        if filters.is_empty() {
            return self.live.update(state, assignments, filters).await;
        }
        filters.push(col("tenant").eq(lit(self.tenant.clone())));
        self.live.update(state, assignments, filters).await
    }

    /// Rows are checked against the session's tenant by the insert sink
    /// (the session carries the tenant-bound user).
    async fn insert_into(
        &self,
        state: &dyn Session,
        input: Arc<dyn ExecutionPlan>,
        op: InsertOp,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        self.live.insert_into(state, input, op).await
    }
}
