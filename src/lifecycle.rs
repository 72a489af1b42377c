//! Keeping a store in shape: compaction, retention, erasure, vacuum
//! (SPEC.md §4, §5). Each is one `oko` command and one Delta commit per
//! table touched, safe to run beside a serving `oko serve` (readers keep
//! their snapshot; concurrent appends commit around it).
//!
//! - `oko compact`: SQL inserts and small loads leave small files; compaction
//!   rewrites each partition's small files into files of about
//!   `--target-mb` (default 128). The server compacts a table by itself
//!   after `[server] compact_after_inserts` SQL inserts; after many small
//!   loads, run this (or daily from cron). Queries read the same rows
//!   before and after.
//! - `oko retention --tenant T --before DATE`: deletes the tenant's facts older
//!   than the date, each table by its own time column. Delta removes files
//!   whose rows all match without rewriting them (a whole month of `leads` is
//!   one partition), and rewrites only files that straddle the date.
//! - `oko erase --tenant T --client C`: a privacy request — every row about
//!   one client: its leads, the requests sent to it, the ratings, moderations
//!   and notes of its leads.
//! - `oko vacuum`: deletes files no longer referenced by the table and older
//!   than `--retain-hours` (default 168, Delta's own). Until then, deleted
//!   rows stay readable by time travel; after an erasure, vacuum with a short
//!   period to remove them from storage.

use std::collections::BTreeSet;
use std::num::NonZeroU64;

use anyhow::{Context, Result};
use datafusion::arrow::array::{Array, StringArray};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::DataType;
use datafusion::logical_expr::{Expr, col, lit};
use datafusion::prelude::SessionContext;
use deltalake::kernel::transaction::CommitProperties;

use crate::model::Table;
use crate::store::Store;

/// What one command did to one table.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct TableChange {
    pub table: String,
    /// Rows deleted (retention, erase).
    pub rows_deleted: u64,
    pub files_added: u64,
    pub files_removed: u64,
    pub version: Option<u64>,
}

impl std::fmt::Display for TableChange {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{:<18} rows deleted {:>9}  files +{} -{}",
            self.table, self.rows_deleted, self.files_added, self.files_removed
        )?;
        if let Some(v) = self.version {
            write!(f, "  version {v}")?;
        }
        Ok(())
    }
}

/// Rewrites small files into files of about `target_mb` MiB.
pub async fn compact(store: &Store, tables: &[Table], target_mb: u64) -> Result<Vec<TableChange>> {
    let target = NonZeroU64::new(target_mb.max(1) * 1024 * 1024).unwrap_or(NonZeroU64::MIN);
    let mut out = Vec::new();
    for &table in tables {
        let Some(delta) = store.table(table).await? else {
            continue;
        };
        let (after, metrics) = delta
            .optimize()
            .with_target_size(target)
            .with_writer_properties(crate::ingest::writer_properties())
            .await
            .with_context(|| format!("cannot compact table {table}"))?;
        out.push(TableChange {
            table: table.name().into(),
            files_added: metrics.num_files_added,
            files_removed: metrics.num_files_removed,
            version: after.version(),
            ..Default::default()
        });
    }
    Ok(out)
}

/// Deletes files the tables no longer reference, older than `retain_hours`.
pub async fn vacuum(
    store: &Store,
    tables: &[Table],
    retain_hours: u64,
    dry_run: bool,
) -> Result<Vec<TableChange>> {
    let mut out = Vec::new();
    for &table in tables {
        let Some(delta) = store.table(table).await? else {
            continue;
        };
        let (after, metrics) = delta
            .vacuum()
            .with_retention_period(chrono::Duration::hours(retain_hours as i64))
            .with_enforce_retention_duration(false)
            .with_dry_run(dry_run)
            .await
            .with_context(|| format!("cannot vacuum table {table}"))?;
        out.push(TableChange {
            table: table.name().into(),
            files_removed: metrics.files_deleted.len() as u64,
            version: after.version(),
            ..Default::default()
        });
    }
    Ok(out)
}

/// Deletes `tenant`'s facts older than `before` (UTC).
pub async fn retention(
    store: &Store,
    tenant: &str,
    before: chrono::DateTime<chrono::Utc>,
    user: &str,
) -> Result<Vec<TableChange>> {
    let cutoff = lit(datafusion::common::ScalarValue::TimestampMicrosecond(
        Some(before.timestamp_micros()),
        Some("UTC".into()),
    ));
    let mut out = Vec::new();
    for table in Table::ALL {
        // Fact tables are sorted by their time column; dimensions have none.
        let Some(column) = table.sort_column() else {
            continue;
        };
        let predicate = col("tenant")
            .eq(lit(tenant))
            .and(col(column).lt(cutoff.clone()));
        out.push(delete(store, table, predicate, "retention", user).await?);
    }
    Ok(out)
}

/// Deletes every row about one client of `tenant`.
pub async fn erase(
    store: &Store,
    tenant: &str,
    client: &str,
    user: &str,
) -> Result<Vec<TableChange>> {
    let leads = ids(
        store,
        Table::Leads,
        "lead_id",
        col("tenant")
            .eq(lit(tenant))
            .and(col("client_id").eq(lit(client))),
    )
    .await?;
    let of_leads = |c: &str| in_list(c, &leads);
    let ratings = ids(
        store,
        Table::Ratings,
        "rating_id",
        col("tenant").eq(lit(tenant)).and(of_leads("lead_id")),
    )
    .await?;
    let plan: [(Table, Expr); 5] = [
        (Table::RatingModerations, in_list("rating_id", &ratings)),
        (Table::Ratings, of_leads("lead_id")),
        (
            Table::RatingRequests,
            col("client_id").eq(lit(client)).or(of_leads("lead_id")),
        ),
        (Table::LeadNotes, of_leads("lead_id")),
        (Table::Leads, col("client_id").eq(lit(client))),
    ];
    let mut out = Vec::new();
    for (table, which) in plan {
        let predicate = col("tenant").eq(lit(tenant)).and(which);
        out.push(delete(store, table, predicate, "erase", user).await?);
    }
    Ok(out)
}

fn in_list(column: &str, values: &BTreeSet<String>) -> Expr {
    if values.is_empty() {
        return lit(false);
    }
    col(column).in_list(values.iter().map(|v| lit(v.clone())).collect(), false)
}

/// The distinct values of `column` in the rows matching `filter`.
async fn ids(store: &Store, table: Table, column: &str, filter: Expr) -> Result<BTreeSet<String>> {
    let Some(delta) = store.table(table).await? else {
        return Ok(BTreeSet::new());
    };
    let ctx = SessionContext::new();
    delta.update_datafusion_session(&ctx.state())?;
    ctx.register_table("t", delta.table_provider().await?)?;
    let batches = ctx
        .table("t")
        .await?
        .filter(filter)?
        .select(vec![col(column)])?
        .collect()
        .await?;
    let mut out = BTreeSet::new();
    for b in batches {
        let a = cast(b.column(0), &DataType::Utf8)?;
        if let Some(s) = a.as_any().downcast_ref::<StringArray>() {
            out.extend(s.iter().flatten().map(str::to_string));
        }
    }
    Ok(out)
}

async fn delete(
    store: &Store,
    table: Table,
    predicate: Expr,
    why: &str,
    user: &str,
) -> Result<TableChange> {
    let mut change = TableChange {
        table: table.name().into(),
        ..Default::default()
    };
    let Some(delta) = store.table(table).await? else {
        return Ok(change);
    };
    let props = CommitProperties::default().with_metadata([(
        format!("oko.{why}"),
        serde_json::json!({ "user": user, "predicate": predicate.to_string() }),
    )]);
    let (after, metrics) = delta
        .delete()
        .with_predicate(predicate)
        .with_commit_properties(props)
        .await
        .with_context(|| format!("cannot delete from table {table}"))?;
    change.rows_deleted = metrics.num_deleted_rows.unwrap_or(0) as u64;
    change.files_added = metrics.num_added_files as u64;
    change.files_removed = metrics.num_removed_files as u64;
    change.version = after.version();
    Ok(change)
}
