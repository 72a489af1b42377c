//! `UPDATE leads SET … WHERE …`: an admin corrects stored leads.
//!
//! The statement's form was checked before it was planned and after
//! ([`crate::server::deletes`]: a `WHERE` on the table's own columns, no
//! subquery, no `FROM`/`RETURNING`, only the columns of
//! [`Table::corrected_by_sql`]); the role by [`crate::server::access`]
//! (admins; a tenant-bound admin's table is its tenant's rows, see
//! [`super::tenant`]). When the plan executes, [`UpdateSink`]:
//! 1. holds the table (its writer turn and its Delta snapshot, so nothing
//!    changes between reading the leads and committing them);
//! 2. reads the matching leads and the new values, made the stored rows
//!    with the set columns replaced, and checks them by the loader's rules
//!    ([`crate::ingest::correct::rebuild`]: time order, derived columns);
//! 3. commits the leads that changed as **one** Delta commit
//!    ([`crate::store::write::commit_replacing`]) and serves the new
//!    snapshot at once — every session's reports see the correction with
//!    their next query;
//! 4. records each changed column in `lead_corrections` (source `sql`, the
//!    session user, the commit's time), a commit of that table right
//!    after. The leads commit carries the same changes in its
//!    `oko.corrections` metadata, so they are in the log even should that
//!    second commit fail (the statement then fails with a message saying
//!    the leads were corrected).
//!
//! The command tag counts the matching rows, as PostgreSQL's does (a lead
//! set to the value it has is matched, not rewritten, not recorded).

use std::fmt;
use std::sync::Arc;

use datafusion::arrow::array::{RecordBatch, UInt32Array};
use datafusion::arrow::compute::{cast, concat_batches, take_record_batch};
use datafusion::arrow::datatypes::{Schema, SchemaRef};
use datafusion::catalog::TableProvider;
use datafusion::common::{Column, DataFusionError, Result};
use datafusion::datasource::sink::DataSink;
use datafusion::execution::context::SessionState;
use datafusion::execution::{SendableRecordBatchStream, TaskContext};
use datafusion::logical_expr::Expr;
use datafusion::physical_plan::{DisplayAs, DisplayFormatType};
use datafusion::prelude::{SessionConfig, SessionContext};
use deltalake::kernel::transaction::CommitProperties;
use deltalake::writer::RecordBatchWriter;

use super::delete::statement_predicate;
use super::settle::{invalid, refused};
use super::table::LiveTable;
use crate::auth::Principal;
use crate::ingest::correct::{self, Change, Corrector};
use crate::model::{Table, arrow_type};
use crate::sqlstate::{code, coded};

/// Leads one `UPDATE` may match; more belong in a corrected export.
pub const MAX_UPDATE_ROWS: usize = 100_000;

/// Where an `UPDATE` ends.
pub struct UpdateSink {
    live: Arc<LiveTable>,
    principal: Arc<Principal>,
    /// The session: its runtime, and the engine catalog the audit table is
    /// found in.
    state: SessionState,
    /// `(column, new value)`, columns checked against
    /// [`Table::corrected_by_sql`].
    assignments: Vec<(String, Expr)>,
    predicate: Expr,
    schema: SchemaRef,
}

impl UpdateSink {
    /// Checks the statement: a condition ([`statement_predicate`]), and
    /// only columns the table lets SQL correct.
    pub fn new(
        live: Arc<LiveTable>,
        principal: Arc<Principal>,
        state: SessionState,
        assignments: Vec<(String, Expr)>,
        filters: Vec<Expr>,
    ) -> Result<UpdateSink> {
        let table = live.table;
        let allowed = table.corrected_by_sql();
        if allowed.is_empty() {
            return Err(coded(
                code::FEATURE_NOT_SUPPORTED,
                format!("UPDATE {table} is not supported: only leads are corrected with UPDATE"),
            ));
        }
        if let Some((c, _)) = assignments
            .iter()
            .find(|(c, _)| !allowed.contains(&c.as_str()))
        {
            return Err(coded(
                code::FEATURE_NOT_SUPPORTED,
                format!(
                    "UPDATE {table} cannot set {c}; it sets {}",
                    allowed.join(", ")
                ),
            ));
        }
        let predicate = statement_predicate(table, "UPDATE", filters)?;
        let schema = Arc::new(Schema::new(
            live.schema_ref()
                .fields()
                .iter()
                .map(|f| f.as_ref().clone().with_nullable(true))
                .collect::<Vec<_>>(),
        ));
        Ok(UpdateSink {
            live,
            principal,
            state,
            assignments,
            predicate,
            schema,
        })
    }

    /// A context over every tenant's tables (the audit table is found
    /// there, and its group commit checks keys in it).
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

    /// The stored rows matching the condition (the model's columns) and,
    /// for each, the same row with the new values set.
    async fn matching(&self, delta: &deltalake::DeltaTable) -> Result<(RecordBatch, RecordBatch)> {
        let table = self.live.table;
        let ctx = SessionContext::new_with_config_rt(
            SessionConfig::new(),
            self.state.runtime_env().clone(),
        );
        let provider: Arc<dyn TableProvider> = delta
            .table_provider()
            .await
            .map_err(|e| DataFusionError::External(e.into()))?;
        let column = |name: &str| Expr::Column(Column::new_unqualified(name));
        let mut select: Vec<Expr> = table.columns().iter().map(|c| column(c.name)).collect();
        for (i, (_, value)) in self.assignments.iter().enumerate() {
            select.push(value.clone().alias(format!("__oko_new_{i}")));
        }
        let found = ctx
            .read_table(provider)?
            .filter(self.predicate.clone())?
            .select(select)?
            .collect()
            .await?;
        let rows: usize = found.iter().map(|b| b.num_rows()).sum();
        if rows > MAX_UPDATE_ROWS {
            return Err(coded(
                code::PROGRAM_LIMIT_EXCEEDED,
                format!(
                    "this UPDATE matches {rows} leads; one UPDATE corrects at most \
                     {MAX_UPDATE_ROWS} (narrow the condition, or load a corrected export)"
                ),
            ));
        }
        let width = table.columns().len();
        let mut stored = Vec::with_capacity(found.len());
        let mut updated = Vec::with_capacity(found.len());
        for b in &found {
            let old =
                crate::store::write::to_model(table, &b.project(&(0..width).collect::<Vec<_>>())?)
                    .map_err(|e| DataFusionError::External(e.into()))?;
            let mut columns = old.columns().to_vec();
            for (i, (name, _)) in self.assignments.iter().enumerate() {
                let at = old.schema().index_of(name)?;
                let kind = table.columns()[at].kind;
                columns[at] = cast(b.column(width + i), &arrow_type(kind))?;
            }
            updated.push(RecordBatch::try_new(old.schema(), columns)?);
            stored.push(old);
        }
        let schema = crate::store::write::nullable_schema(table);
        Ok((
            concat_batches(&schema, &stored)?,
            concat_batches(&schema, &updated)?,
        ))
    }

    /// Reads, checks and commits the correction; returns the matched rows.
    async fn correct(&self) -> Result<u64> {
        let table = self.live.table;
        let user = &self.principal.user;
        let _turn = self.live.writer_turn().await;
        let mut delta = self.live.delta_held().await;
        let (stored, updated) = self.matching(&delta).await?;
        let matched = stored.num_rows() as u64;
        let correct::Rebuilt {
            batch: rebuilt,
            refused,
            ..
        } = correct::rebuild(table, self.principal.tenant.as_deref(), &updated)
            .map_err(|e| invalid(format!("{e:#}")))?;
        if let Some((row, e)) = refused.first() {
            let key = crate::store::write::row_keys(&stored, table.key())
                .map_err(|e| DataFusionError::External(e.into()))?;
            return Err(invalid(format!(
                "the UPDATE would make lead ({}) invalid: column {}: {}",
                key.get(*row)
                    .map(|k| k.replace('\u{1f}', ", "))
                    .unwrap_or_default(),
                e.column,
                e.reason
            )));
        }
        let set: Vec<bool> = table
            .columns()
            .iter()
            .map(|c| self.assignments.iter().any(|(n, _)| n == c.name))
            .collect();
        let changes = correct::changes(table, &stored, &rebuilt, &set).map_err(external)?;
        let rows = correct::changed_rows(&changes);
        if rows.is_empty() {
            return Ok(matched);
        }
        let pick = UInt32Array::from(rows.iter().map(|&r| r as u32).collect::<Vec<_>>());
        let before = take_record_batch(&stored, &pick)?;
        let after = take_record_batch(&rebuilt, &pick)?;
        let changes: Vec<Change> = changes
            .into_iter()
            .filter_map(|c| {
                rows.iter()
                    .position(|&r| r == c.row)
                    .map(|p| Change { row: p, ..c })
            })
            .collect();
        let by = Corrector {
            user,
            at: chrono::Utc::now().timestamp_micros(),
            source: "sql",
        };
        let audit = correct::audit(&after, &changes, &by).map_err(external)?;
        let listed: Vec<serde_json::Value> = changes
            .iter()
            .take(10_000)
            .map(|c| serde_json::json!([c.row, c.column, c.previous, c.new]))
            .collect();
        let props = CommitProperties::default().with_metadata([
            (
                "oko.update".to_string(),
                serde_json::json!({
                    "user": user,
                    "predicate": self.predicate.to_string(),
                    "rows": rows.len(),
                }),
            ),
            (
                "oko.corrections".to_string(),
                serde_json::json!({ "changes": changes.len(), "listed": listed }),
            ),
        ]);
        let mut writer = RecordBatchWriter::for_table(&delta)
            .map_err(|e| DataFusionError::External(e.into()))?
            .with_writer_properties(crate::store::write::writer_properties());
        let version = crate::store::write::commit_replacing(
            &mut writer,
            &mut delta,
            table,
            &before,
            after,
            props,
        )
        .await
        .map_err(|e| DataFusionError::External(format!("cannot correct {table}: {e:#}").into()))?;
        delta
            .update_incremental(None)
            .await
            .map_err(|e| DataFusionError::External(e.into()))?;
        self.live.serve(&delta).await.map_err(external)?;
        drop(delta);
        tracing::info!(
            table = %table,
            rows = rows.len(),
            changes = changes.len(),
            version,
            user = %user,
            predicate = %self.predicate,
            "update committed"
        );
        self.record(audit, version).await?;
        Ok(matched)
    }

    /// Appends the audit rows to `lead_corrections` (its own group commit).
    async fn record(&self, audit: RecordBatch, version: i64) -> Result<()> {
        let table = self.live.table;
        let engine = self.engine()?;
        let provider = engine.table_provider(Table::LeadCorrections.name()).await?;
        let Some(log) = provider.downcast_ref::<LiveTable>() else {
            return Err(DataFusionError::Internal(
                "lead_corrections is not a live table".into(),
            ));
        };
        log.append_queued(audit, &self.principal.user, engine.clone())
            .await
            .map_err(|e| {
                DataFusionError::External(
                    format!(
                        "{table} was corrected (version {version}), but the record of the \
                         corrections could not be written to lead_corrections: {e}; the changes \
                         are in that version's commit metadata (oko.corrections)"
                    )
                    .into(),
                )
            })?;
        Ok(())
    }
}

fn external(e: anyhow::Error) -> DataFusionError {
    DataFusionError::External(format!("{e:#}").into())
}

impl fmt::Debug for UpdateSink {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "UpdateSink({} WHERE {})",
            self.live.table, self.predicate
        )
    }
}

impl DisplayAs for UpdateSink {
    fn fmt_as(&self, _t: DisplayFormatType, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let set: Vec<String> = self
            .assignments
            .iter()
            .map(|(c, v)| format!("{c} = {v}"))
            .collect();
        write!(
            f,
            "UpdateSink: table={} set={} predicate={}",
            self.live.table,
            set.join(", "),
            self.predicate
        )
    }
}

#[async_trait::async_trait]
impl DataSink for UpdateSink {
    fn schema(&self) -> &SchemaRef {
        &self.schema
    }

    async fn write_all(
        &self,
        _data: SendableRecordBatchStream,
        _context: &Arc<TaskContext>,
    ) -> Result<u64> {
        if self.principal.role != crate::auth::Role::Admin {
            return Err(refused(format!(
                "permission denied: UPDATE needs the admin role; user {} is a {}",
                self.principal.user, self.principal.role
            )));
        }
        self.correct().await
    }
}
