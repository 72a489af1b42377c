//! `INSERT` over SQL: rows checked like a load, written as one Delta commit.
//!
//! An `INSERT … VALUES` or `INSERT … SELECT` into a live table ends here
//! ([`InsertSink`]). The statement's rows are gathered (at most
//! [`MAX_INSERT_ROWS`]; larger sets go through `oko load`), then every row:
//! - is converted to the model's types and checked by the loader's own rules
//!   ([`crate::ingest::rows::check_row`]): required values, enums, time
//!   order, scores 1..5, the derived `created_month`;
//! - belongs to the session's tenant when the user is bound to one (a missing
//!   tenant is filled in, another tenant is refused);
//! - has a key not stored yet and not repeated in the statement (SQLSTATE
//!   23505 otherwise).
//!
//! The server fills what a client must not choose ([`owned_columns`]): in
//! `rating_moderations` the moderator is the session user, `moderated_at` is
//! the commit's time and `previous_score` is the rating's effective score
//! before this moderation (the rating must exist); in `lead_notes` the
//! author is the session user and `created_at` the commit's time; in
//! `manual_stats` the author is the session user. A row may name its own
//! writer, never another user, and never its time.
//!
//! One bad row fails the statement and nothing is written. The commit is
//! made before the client hears `INSERT 0 n`, and the table's snapshot is
//! refreshed in the same step, so the next query (on any connection) sees
//! the rows. Statements into one table that arrive while a commit is under
//! way are committed together by the next one (group commit,
//! [`LiveTable::append_queued`]); the checks that depend on what is stored
//! — keys, previous scores — run for the whole group at that point
//! ([`settle`]), so each statement still succeeds or fails on its own.
//! Delta's optimistic commit keeps concurrent loads from other processes.

use std::borrow::Cow;
use std::collections::HashSet;
use std::fmt;
use std::sync::Arc;

use datafusion::arrow::array::RecordBatch;
use datafusion::arrow::datatypes::{Field, Schema, SchemaRef};
use datafusion::common::{DataFusionError, Result};
use datafusion::datasource::sink::DataSink;
use datafusion::execution::context::SessionState;
use datafusion::execution::{SendableRecordBatchStream, TaskContext};
use datafusion::physical_plan::{DisplayAs, DisplayFormatType};
use datafusion::prelude::{SessionConfig, SessionContext};
use futures::StreamExt;

use super::settle::{duplicate, invalid, key_strings, owned_columns, refused};
use super::table::LiveTable;
use crate::auth::Principal;
use crate::ingest::rows::{BatchBuilder, Value, batch_values, check_row};
use crate::model::Table;

/// Rows one `INSERT` may write; more belong in a load.
pub const MAX_INSERT_ROWS: usize = 100_000;

/// Where the rows of one `INSERT` go.
pub struct InsertSink {
    live: Arc<LiveTable>,
    principal: Arc<Principal>,
    /// The inserting session: its runtime and the engine catalog the
    /// group checks look up in.
    state: SessionState,
    /// The table's columns, all nullable: the server fills some of them.
    schema: SchemaRef,
}

impl InsertSink {
    pub fn new(live: Arc<LiveTable>, principal: Arc<Principal>, state: SessionState) -> Self {
        let fields: Vec<Field> = live
            .schema_ref()
            .fields()
            .iter()
            .map(|f| f.as_ref().clone().with_nullable(true))
            .collect();
        InsertSink {
            live,
            principal,
            state,
            schema: Arc::new(Schema::new(fields)),
        }
    }
}

impl fmt::Debug for InsertSink {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "InsertSink({})", self.live.table)
    }
}

impl DisplayAs for InsertSink {
    fn fmt_as(&self, _t: DisplayFormatType, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "InsertSink: table={}", self.live.table)
    }
}

#[async_trait::async_trait]
impl DataSink for InsertSink {
    fn schema(&self) -> &SchemaRef {
        &self.schema
    }

    async fn write_all(
        &self,
        mut data: SendableRecordBatchStream,
        _context: &Arc<TaskContext>,
    ) -> Result<u64> {
        let table = self.live.table;
        let mut input = Vec::new();
        let mut rows = 0;
        while let Some(batch) = data.next().await {
            let batch = batch?;
            rows += batch.num_rows();
            if rows > MAX_INSERT_ROWS {
                return Err(refused(format!(
                    "an INSERT writes at most {MAX_INSERT_ROWS} rows; load larger sets with `oko load`"
                )));
            }
            input.push(batch);
        }
        if rows == 0 {
            return Ok(0);
        }
        let mut values = to_values(table, &input)?;
        self.fill_server_columns(table, &mut values)?;
        let mut builder = BatchBuilder::new(table);
        for (n, row) in values.iter_mut().enumerate() {
            check_row(table, self.principal.tenant.as_deref(), row).map_err(|e| {
                invalid(format!(
                    "row {} of the INSERT into {table}: column {}: {}",
                    n + 1,
                    e.column,
                    e.reason
                ))
            })?;
            builder.append(row);
        }
        let batch = builder
            .finish()
            .map_err(|e| DataFusionError::External(e.into()))?;
        let mut keys = HashSet::new();
        for k in key_strings(table, &batch)? {
            if !keys.insert(k.clone()) {
                return Err(duplicate(table, &k));
            }
        }
        let written = batch.num_rows() as u64;
        // Stored keys and moderations' previous scores are settled with the
        // statements committed beside this one (`settle`).
        let version = self
            .live
            .append_queued(batch, &self.principal.user, self.engine()?)
            .await?;
        tracing::info!(
            table = %table,
            rows = written,
            version,
            user = %self.principal.user,
            "insert committed"
        );
        Ok(written)
    }
}

impl InsertSink {
    /// A context over every tenant's tables, for the group checks: the
    /// rows carry their tenant already (filled or checked against the
    /// user's), so keys and scores are looked up by tenant.
    fn engine(&self) -> Result<SessionContext> {
        let catalog = self
            .state
            .config()
            .get_extension::<crate::engine::EngineCatalog>()
            .ok_or_else(|| DataFusionError::Internal("the session has no engine catalog".into()))?;
        let ctx = SessionContext::new_with_config_rt(
            SessionConfig::new().with_default_catalog_and_schema(crate::engine::CATALOG, "public"),
            self.state.runtime_env().clone(),
        );
        ctx.register_catalog(crate::engine::CATALOG, catalog.0.clone());
        Ok(ctx)
    }

    /// Columns the server owns or defaults.
    fn fill_server_columns(&self, table: Table, rows: &mut [Vec<Value<'static>>]) -> Result<()> {
        let idx = |name: &str| table.columns().iter().position(|c| c.name == name);
        if let (Some(tenant), Some(t)) = (&self.principal.tenant, idx("tenant")) {
            for row in rows.iter_mut() {
                if row[t] == Value::Null {
                    row[t] = Value::Text(Cow::Owned(tenant.clone()));
                }
            }
        }
        self.fill_owned_columns(table, rows)
    }

    /// Who and when ([`owned_columns`]): "who" is the session user (a row
    /// may name that user, no one else); "when" is left for the commit to
    /// stamp (a row may not name it).
    fn fill_owned_columns(&self, table: Table, rows: &mut [Vec<Value<'static>>]) -> Result<()> {
        let (who, when) = owned_columns(table);
        let at = |name: &str| table.columns().iter().position(|c| c.name == name);
        let user = &self.principal.user;
        let now = chrono::Utc::now().timestamp_micros();
        for (n, row) in rows.iter_mut().enumerate() {
            if let Some(i) = when.and_then(at) {
                if row[i] != Value::Null {
                    return Err(refused(format!(
                        "row {}: {} is set by the server (the time of the commit)",
                        n + 1,
                        table.columns()[i].name
                    )));
                }
                // A placeholder: `settle` stamps the commit time.
                row[i] = Value::Timestamp(now);
            }
            if let Some(i) = who.and_then(at) {
                match &row[i] {
                    Value::Null => row[i] = Value::Text(Cow::Owned(user.clone())),
                    Value::Text(m) if m == user => {}
                    Value::Text(m) => {
                        return Err(refused(format!(
                            "row {}: {} is the user who writes the row ({user}), not `{m}`",
                            n + 1,
                            table.columns()[i].name
                        )));
                    }
                    _ => {}
                }
            }
        }
        Ok(())
    }
}

/// The input rows as model values, in the table's column order
/// ([`batch_values`]: the planner resolved the statement's column list).
fn to_values(table: Table, input: &[RecordBatch]) -> Result<Vec<Vec<Value<'static>>>> {
    batch_values(table, input).map_err(|(row, e)| {
        invalid(format!(
            "row {} of the INSERT into {table}: column {}: {}",
            row + 1,
            e.column,
            e.reason
        ))
    })
}
