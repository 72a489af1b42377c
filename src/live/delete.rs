//! `DELETE` into a live table.

use std::fmt;
use std::sync::Arc;

use datafusion::arrow::datatypes::{Schema, SchemaRef};
use datafusion::common::{DataFusionError, Result};
use datafusion::datasource::sink::DataSink;
use datafusion::execution::{SendableRecordBatchStream, TaskContext};
use datafusion::logical_expr::{Expr, lit};
use datafusion::physical_plan::{DisplayAs, DisplayFormatType};

use super::settle::refused;
use super::table::LiveTable;
use crate::sqlstate::{code, coded};

/// `DELETE FROM <table> WHERE …` (admins): Delta's delete removes the files
/// whose rows all match (a partition-aligned predicate rewrites nothing)
/// and rewrites only files with some matching rows. Runs when the plan
/// executes (so `EXPLAIN DELETE` deletes nothing), as one commit, and the
/// table's snapshot is refreshed at once. The removed files stay in storage
/// until `oko vacuum` (time travel and running queries still read them).
pub struct DeleteSink {
    live: Arc<LiveTable>,
    predicate: Expr,
    user: String,
    schema: SchemaRef,
}

impl DeleteSink {
    /// Checks the statement's filters: at least one, none with a subquery.
    pub fn new(live: Arc<LiveTable>, filters: Vec<Expr>, user: String) -> Result<DeleteSink> {
        let predicate = statement_predicate(live.table, "DELETE FROM", filters)?;
        let schema = Arc::new(Schema::new(
            live.schema_ref()
                .fields()
                .iter()
                .map(|f| f.as_ref().clone().with_nullable(true))
                .collect::<Vec<_>>(),
        ));
        Ok(DeleteSink {
            live,
            predicate,
            user,
            schema,
        })
    }
}

/// The condition of a `DELETE` or `UPDATE` from the filters DataFusion
/// hands the table (`verb`: how the statement starts, for messages): at
/// least one, none with a subquery (the planner would have joined it
/// away, see [`crate::server::deletes`]), columns unqualified for the
/// Delta scan.
pub(super) fn statement_predicate(
    table: crate::model::Table,
    verb: &str,
    filters: Vec<Expr>,
) -> Result<Expr> {
    use datafusion::common::tree_node::{Transformed, TreeNode};
    if filters.is_empty() {
        return Err(refused(format!(
            "{verb} {table} needs a WHERE clause (to name a tenant's rows, say WHERE tenant = '…')"
        )));
    }
    let mut unqualified = Vec::with_capacity(filters.len());
    for f in filters {
        let mut subquery = false;
        let f = f
            .transform(|e| match e {
                Expr::Column(c) => Ok(Transformed::yes(Expr::Column(
                    datafusion::common::Column::new_unqualified(c.name),
                ))),
                Expr::ScalarSubquery(_) | Expr::Exists(_) | Expr::InSubquery(_) => {
                    subquery = true;
                    Ok(Transformed::no(e))
                }
                other => Ok(Transformed::no(other)),
            })?
            .data;
        if subquery {
            return Err(coded(
                code::FEATURE_NOT_SUPPORTED,
                format!(
                    "{verb} {table} … WHERE with a subquery is not supported: list the values \
                     (WHERE lead_id IN ('a', 'b')) or use `oko erase`"
                ),
            ));
        }
        unqualified.push(f);
    }
    Ok(unqualified
        .into_iter()
        .reduce(Expr::and)
        .unwrap_or_else(|| lit(false)))
}

impl fmt::Debug for DeleteSink {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "DeleteSink({} WHERE {})",
            self.live.table, self.predicate
        )
    }
}

impl DisplayAs for DeleteSink {
    fn fmt_as(&self, _t: DisplayFormatType, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "DeleteSink: table={} predicate={}",
            self.live.table, self.predicate
        )
    }
}

#[async_trait::async_trait]
impl DataSink for DeleteSink {
    fn schema(&self) -> &SchemaRef {
        &self.schema
    }

    async fn write_all(
        &self,
        _data: SendableRecordBatchStream,
        _context: &Arc<TaskContext>,
    ) -> Result<u64> {
        let _turn = self.live.writer_turn().await;
        let deleted = self
            .live
            .delete(self.predicate.clone(), &self.user)
            .await
            .map_err(|e| DataFusionError::External(format!("{e:#}").into()))?;
        tracing::info!(
            table = %self.live.table,
            rows = deleted,
            user = %self.user,
            predicate = %self.predicate,
            "delete committed"
        );
        Ok(deleted)
    }
}
