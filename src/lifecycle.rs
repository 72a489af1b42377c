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

use std::collections::{BTreeMap, BTreeSet};
use std::num::NonZeroU64;

use anyhow::{Context, Result};
use datafusion::arrow::array::{Array, StringArray};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::DataType;
use datafusion::logical_expr::{Expr, col, lit};
use datafusion::prelude::SessionContext;

use crate::model::{CLIENT_LINKS, Table};
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
        let (after, (removed, added)) =
            crate::store::write::compact(delta, table, Some(target)).await?;
        out.push(TableChange {
            table: table.name().into(),
            files_added: added,
            files_removed: removed,
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

/// Deletes every row about one client of `tenant`: every table with a
/// link column ([`Table::client_links`]) loses the rows that name the
/// client, hang on one of its leads, or on a rating of one of them. The ids
/// are collected first (leads of the client, then their ratings); tables
/// are deleted from the most dependent up, the ids' own tables last, so an
/// erasure stopped half-way finds the rest when run again.
pub async fn erase(
    store: &Store,
    tenant: &str,
    client: &str,
    user: &str,
) -> Result<Vec<TableChange>> {
    let mut ids: BTreeMap<&str, BTreeSet<String>> = BTreeMap::new();
    ids.insert("client_id", BTreeSet::from([client.to_string()]));
    // Follow the links down: the client's leads, then their ratings.
    for link in &CLIENT_LINKS[1..] {
        let Some(source) = Table::ALL
            .into_iter()
            .find(|t| t.link_source() == Some(link))
        else {
            continue;
        };
        let filter = col("tenant").eq(lit(tenant)).and(of_client(source, &ids));
        let found = self::ids(store, source, link, filter).await?;
        ids.insert(link, found);
    }
    let mut tables: Vec<Table> = Table::ALL
        .into_iter()
        .filter(|t| !t.client_links().is_empty())
        .collect();
    // Dependent rows first, the sources of ids (ratings, then leads) last.
    tables.sort_by_key(|t| match t.link_source() {
        None => 0,
        Some(l) => CLIENT_LINKS.len() - CLIENT_LINKS.iter().position(|c| *c == l).unwrap_or(0),
    });
    let mut out = Vec::new();
    for table in tables {
        let predicate = col("tenant").eq(lit(tenant)).and(of_client(table, &ids));
        out.push(delete(store, table, predicate, "erase", user).await?);
    }
    Ok(out)
}

/// The rows of `table` tied to the client by any of its link columns.
fn of_client(table: Table, ids: &BTreeMap<&str, BTreeSet<String>>) -> Expr {
    table
        .client_links()
        .into_iter()
        .filter_map(|link| ids.get(link).map(|values| in_list(link, values)))
        .reduce(Expr::or)
        .unwrap_or(lit(false))
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
    let (after, deleted) = crate::store::write::delete(delta, table, predicate, why, user).await?;
    change.rows_deleted = deleted.rows;
    change.files_added = deleted.files_added;
    change.files_removed = deleted.files_removed;
    change.version = after.version();
    Ok(change)
}
