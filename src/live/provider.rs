//! A live table as DataFusion sees it: Parquet scans of the served
//! snapshot's files ([`plain`], with the filters that are small enough
//! pushed into the scan, and a join's keys passed on past the partition
//! columns: [`KeyFilterExec`]), and
//! `INSERT`/`UPDATE`/`DELETE` plans that end in the table's sinks.

use std::sync::Arc;

use async_trait::async_trait;
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::catalog::{Session, TableProvider};
use datafusion::common::Result;
use datafusion::common::{not_impl_err, plan_err};
use datafusion::datasource::TableType;
use datafusion::datasource::sink::DataSinkExec;
use datafusion::execution::context::SessionState;
use datafusion::logical_expr::dml::InsertOp;
use datafusion::logical_expr::{Expr, TableProviderFilterPushDown};
use datafusion::physical_plan::ExecutionPlan;

use super::delete::DeleteSink;
use super::insert::InsertSink;
use super::key_filter::KeyFilterExec;
use super::plain_scan::plain;
use super::table::LiveTable;
use super::update::UpdateSink;
use crate::auth::Principal;
use crate::engine::PlainScans;
use datafusion::datasource::sink::DataSink;

#[async_trait]
impl TableProvider for LiveTable {
    fn schema(&self) -> SchemaRef {
        self.schema.clone()
    }

    fn table_type(&self) -> TableType {
        TableType::Base
    }

    /// Filters too big for the scan ([`pushable`]) stay above it; the others
    /// are answered as Delta's provider answers them (exact on partition
    /// columns, which the scan keeps by leaving out files).
    fn supports_filters_pushdown(
        &self,
        filters: &[&Expr],
    ) -> Result<Vec<TableProviderFilterPushDown>> {
        let small: Vec<&Expr> = filters.iter().copied().filter(|f| pushable(f)).collect();
        let mut answers = self
            .provider()
            .supports_filters_pushdown(&small)?
            .into_iter();
        Ok(filters
            .iter()
            .map(|f| match pushable(f) {
                true => answers
                    .next()
                    .unwrap_or(TableProviderFilterPushDown::Unsupported),
                false => TableProviderFilterPushDown::Unsupported,
            })
            .collect())
    }

    /// `DELETE … WHERE`: runs as a [`DeleteSink`] when the plan executes.
    async fn delete_from(
        &self,
        state: &dyn Session,
        filters: Vec<Expr>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        let Some(principal) = state.config().get_extension::<Principal>() else {
            return plan_err!("DELETE needs a logged-in user");
        };
        let me = self
            .me
            .upgrade()
            .ok_or_else(|| datafusion::common::DataFusionError::Internal("table gone".into()))?;
        let sink = DeleteSink::new(me, filters, principal.user.clone())?;
        let empty = Arc::new(datafusion::physical_plan::empty::EmptyExec::new(
            sink.schema().clone(),
        ));
        Ok(Arc::new(DataSinkExec::new(empty, Arc::new(sink), None)))
    }

    /// `UPDATE … SET … WHERE`: runs as an [`UpdateSink`] when the plan
    /// executes (the assignments and filters DataFusion found in the plan).
    async fn update(
        &self,
        state: &dyn Session,
        assignments: Vec<(String, Expr)>,
        filters: Vec<Expr>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        let Some(state) = state.as_any().downcast_ref::<SessionState>() else {
            return plan_err!("UPDATE needs an OKO session");
        };
        let Some(principal) = state.config().get_extension::<Principal>() else {
            return plan_err!("UPDATE needs a logged-in user");
        };
        let me = self
            .me
            .upgrade()
            .ok_or_else(|| datafusion::common::DataFusionError::Internal("table gone".into()))?;
        let sink = UpdateSink::new(me, principal, state.clone(), assignments, filters)?;
        let empty = Arc::new(datafusion::physical_plan::empty::EmptyExec::new(
            sink.schema().clone(),
        ));
        Ok(Arc::new(DataSinkExec::new(empty, Arc::new(sink), None)))
    }

    /// `INSERT`: rows checked and committed by [`InsertSink`]. The session
    /// must carry its logged-in user.
    async fn insert_into(
        &self,
        state: &dyn Session,
        input: Arc<dyn ExecutionPlan>,
        op: InsertOp,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        if op != InsertOp::Append {
            return not_impl_err!("INSERT {op} is not supported: facts are append-only");
        }
        let Some(state) = state.as_any().downcast_ref::<SessionState>() else {
            return plan_err!("INSERT needs an OKO session");
        };
        let Some(principal) = state.config().get_extension::<Principal>() else {
            return plan_err!("INSERT needs a logged-in user");
        };
        let me = self
            .me
            .upgrade()
            .ok_or_else(|| datafusion::common::DataFusionError::Internal("table gone".into()))?;
        let sink = InsertSink::new(me, principal, state.clone());
        Ok(Arc::new(DataSinkExec::new(input, Arc::new(sink), None)))
    }

    async fn scan(
        &self,
        state: &dyn Session,
        projection: Option<&Vec<usize>>,
        filters: &[Expr],
        limit: Option<usize>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        let small: Vec<Expr> = filters.iter().filter(|f| pushable(f)).cloned().collect();
        let partitions = self.table.partition_columns();
        let scan = plain(
            state,
            &self.schema,
            partitions,
            &self.files(),
            projection,
            &small,
            limit,
        )?;
        // A cluster ships the plan as it is; DataFusion's own scan there
        // takes the parts of a join's filter it can use.
        if state.config().get_extension::<PlainScans>().is_some() || partitions.is_empty() {
            return Ok(scan);
        }
        Ok(Arc::new(KeyFilterExec::new(scan, partitions)))
    }
}

/// The most expression nodes a filter handed to the scan may have. Row
/// group pruning rewrites a filter recursively (an `IN` list of 200,000
/// values became a chain that overflowed the stack when it was dropped); a
/// bigger filter is applied by DataFusion above the scan instead (a hash
/// set for `IN` lists), with the same rows as the result.
const MAX_PUSHED_NODES: usize = 1_000;

/// Whether `filter` is small enough to hand to the scan.
fn pushable(filter: &Expr) -> bool {
    use datafusion::common::tree_node::{TreeNode, TreeNodeRecursion};
    let mut nodes = 0usize;
    let _ = filter.apply(|_| {
        nodes += 1;
        Ok(if nodes > MAX_PUSHED_NODES {
            TreeNodeRecursion::Stop
        } else {
            TreeNodeRecursion::Continue
        })
    });
    nodes <= MAX_PUSHED_NODES
}
