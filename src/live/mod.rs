//! Live tables: the store's Delta tables as the server serves them. A
//! [`LiveTable`] always scans the newest snapshot; `INSERT`, `UPDATE` and `DELETE`
//! end in its sinks and commit before the client hears back; a refresher
//! picks up other processes' commits (loads) within a second.
//!
//! | module | what it is for |
//! |---|---|
//! | [`table`] | the snapshot served, the commit queue (group commits), refresh, compaction |
//! | [`provider`] | the table as DataFusion sees it: scans, `INSERT`/`DELETE` plans |
//! | [`insert`] | `INSERT`: rows checked like a load, the columns the server fills |
//! | [`settle`] | the group commit's checks against stored rows: keys, previous scores |
//! | [`delete`] | `DELETE … WHERE` as one Delta commit |
//! | [`update`] | `UPDATE leads SET … WHERE …`: a correction, one Delta commit, audited |
//! | [`parts`] | keeping the report parts exact: what commits changed ([`changes`]), which tenant-days to recompute |
//! | [`parts_store`] | the kept parts saved beside the facts, read at start |
//! | [`tenant`] | a tenant-bound user's view of a live table: that tenant's rows only |
//!
//! How an `INSERT` commits: [`provider`] plans an [`insert::InsertSink`];
//! the sink checks the rows and queues them on the [`LiveTable`]
//! ([`LiveTable::append_queued`]); the first statement in the queue commits
//! every queued statement as one Delta commit after [`settle`] has checked
//! them against what is stored ([`crate::store::write::commit_with`]), then
//! serves the new snapshot and answers each statement.

pub mod changes;
pub mod delete;
pub mod insert;
pub mod key_filter;
pub mod parts;
pub mod parts_store;
pub mod plain_scan;
pub mod provider;
pub mod settle;
pub mod table;
pub mod tenant;
pub mod update;

pub use table::{LiveTable, refresh_forever};
pub use tenant::TenantTable;

/// A session like [`crate::engine::session`] whose tables are live tables,
/// each at the store's newest snapshot (not following it): what
/// `oko query --cluster` plans with, since a live table can also be read
/// by a plain scan ([`plain_scan`]) that a cluster can run.
pub async fn session(
    store: &crate::store::Store,
    settings: &crate::config::ReportSettings,
) -> anyhow::Result<datafusion::prelude::SessionContext> {
    use anyhow::Context;
    let ctx = crate::engine::bare_session();
    for table in crate::model::Table::ALL {
        let provider: std::sync::Arc<dyn datafusion::catalog::TableProvider> =
            match store.table_current(table).await? {
                Some(delta) => {
                    delta
                        .update_datafusion_session(&ctx.state())
                        .with_context(|| format!("cannot reach the storage of table {table}"))?;
                    table::LiveTable::new(table, delta).await?
                }
                None => std::sync::Arc::new(datafusion::datasource::MemTable::try_new(
                    table.schema(),
                    vec![vec![]],
                )?),
            };
        ctx.register_table(table.name(), provider)?;
    }
    crate::engine::reports::register(&ctx, settings, None).await?;
    Ok(ctx)
}
