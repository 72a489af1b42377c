//! Tables that follow the store: a [`LiveTable`] is a DataFusion table
//! provider whose Delta snapshot is swapped for a newer one when a load or an
//! insert commits, so views built over it (their plans hold the provider)
//! and every open session see new rows without a restart.

use std::sync::{Arc, RwLock};
use std::time::Duration;

use async_trait::async_trait;
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::catalog::{Session, TableProvider};
use datafusion::common::Result;
use datafusion::datasource::TableType;
use datafusion::logical_expr::{Expr, TableProviderFilterPushDown};
use datafusion::physical_plan::ExecutionPlan;
use deltalake::DeltaTable;
use tokio::sync::Mutex;

use crate::model::Table;

/// A table provider that always scans the newest snapshot it was given.
#[derive(Debug)]
pub struct LiveTable {
    pub table: Table,
    /// Fixed at creation: every snapshot of a table has the same columns.
    schema: SchemaRef,
    current: RwLock<Arc<dyn TableProvider>>,
    /// The Delta table, kept to refresh the snapshot incrementally.
    delta: Mutex<DeltaTable>,
}

impl LiveTable {
    /// Wraps a loaded Delta table.
    pub async fn new(table: Table, delta: DeltaTable) -> anyhow::Result<LiveTable> {
        let provider = delta.table_provider().await?;
        Ok(LiveTable {
            table,
            schema: provider.schema(),
            current: RwLock::new(provider),
            delta: Mutex::new(delta),
        })
    }

    fn provider(&self) -> Arc<dyn TableProvider> {
        match self.current.read() {
            Ok(p) => p.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// Loads commits newer than the current snapshot, if any. Returns the
    /// version now served when it changed.
    pub async fn refresh(&self) -> anyhow::Result<Option<u64>> {
        let mut delta = self.delta.lock().await;
        let before = delta.version();
        let latest = delta.get_latest_version().await?;
        if before.is_some_and(|v| v >= latest) {
            return Ok(None);
        }
        delta.update_incremental(None).await?;
        let provider = delta.table_provider().await?;
        match self.current.write() {
            Ok(mut p) => *p = provider,
            Err(poisoned) => *poisoned.into_inner() = provider,
        }
        Ok(delta.version())
    }
}

#[async_trait]
impl TableProvider for LiveTable {
    fn schema(&self) -> SchemaRef {
        self.schema.clone()
    }

    fn table_type(&self) -> TableType {
        TableType::Base
    }

    fn supports_filters_pushdown(
        &self,
        filters: &[&Expr],
    ) -> Result<Vec<TableProviderFilterPushDown>> {
        self.provider().supports_filters_pushdown(filters)
    }

    async fn scan(
        &self,
        state: &dyn Session,
        projection: Option<&Vec<usize>>,
        filters: &[Expr],
        limit: Option<usize>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        self.provider()
            .scan(state, projection, filters, limit)
            .await
    }
}

/// Refreshes every table every `period` until the task is dropped.
pub async fn refresh_forever(tables: Vec<Arc<LiveTable>>, period: Duration) {
    let mut tick = tokio::time::interval(period);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        for t in &tables {
            match t.refresh().await {
                Ok(Some(v)) => tracing::debug!(table = %t.table, version = v, "new snapshot"),
                Ok(None) => {}
                Err(e) => tracing::warn!(table = %t.table, "cannot refresh: {e:#}"),
            }
        }
    }
}
