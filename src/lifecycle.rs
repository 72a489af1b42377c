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
//! - `oko retention --tenant T --before DATE` (or `--apply`, the stored
//!   `[tenants.<id>] retention_days`; `oko serve` applies those daily):
//!   deletes the tenant's leads created before the date on the tenant's
//!   clock, with every row that hangs on them by the link columns
//!   ([`Table::client_links`]) whatever its own time — requests, ratings,
//!   moderations of those ratings, notes, corrections. Leads go by time, so
//!   Delta removes files whose rows all match without rewriting them and
//!   rewrites only files that straddle the date; their dependents go by id.
//! - `oko erase --tenant T --client C`: a privacy request — every row about
//!   one client: its leads, the requests sent to it, the ratings, moderations
//!   and notes of its leads.
//! - `oko vacuum`: deletes files no longer referenced by the table and older
//!   than `--retain-hours` (default 168, Delta's own). Until then, deleted
//!   rows stay readable by time travel; after an erasure, vacuum with a short
//!   period to remove them from storage.

use std::collections::{BTreeMap, BTreeSet};
use std::num::NonZeroU64;

use anyhow::{Context, Result, bail};
use datafusion::arrow::array::{Array, StringArray};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::DataType;
use datafusion::logical_expr::{Expr, col, lit};
use datafusion::prelude::SessionContext;

use crate::config::TenantSettings;
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

// ---------------------------------------------------------------------------
// Following the links: which rows hang on which (shared by retention and
// erase, both derived from the columns of the model).

/// The table whose key is `link`: the rows other tables hang on by it
/// (`leads` for `lead_id`, `ratings` for `rating_id`).
fn source_of(link: &str) -> Option<Table> {
    Table::ALL
        .into_iter()
        .find(|t| t.link_source() == Some(link))
}

/// The link a row of `table` hangs on below the client: its deepest link
/// column that is not its own key (`lead_id` for ratings, requests, notes
/// and corrections; `rating_id` for moderations). None for `leads` (the
/// root: it hangs on the client only) and for tables without links.
fn parent_link(table: Table) -> Option<&'static str> {
    table
        .client_links()
        .into_iter()
        .rfind(|l| *l != CLIENT_LINKS[0] && Some(*l) != table.link_source())
}

/// The tables that hold client data, in the order rows are deleted:
/// dependent rows first, the sources of ids last, the deepest source first
/// (moderations before ratings before leads). A deletion stopped half-way
/// leaves every remaining row's parent in place, so running it again finds
/// the rest.
fn deletion_order() -> Vec<Table> {
    let mut tables: Vec<Table> = Table::ALL
        .into_iter()
        .filter(|t| !t.client_links().is_empty())
        .collect();
    tables.sort_by_key(|t| match t.link_source() {
        None => 0,
        Some(l) => CLIENT_LINKS.len() - CLIENT_LINKS.iter().position(|c| *c == l).unwrap_or(0),
    });
    tables
}

// ---------------------------------------------------------------------------
// Retention.

/// Where a retention run cuts: leads created before `date` 00:00 on the
/// tenant's wall clock go, i.e. before `instant`.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Cutoff {
    /// The first local date kept.
    pub date: chrono::NaiveDate,
    /// The tenant's IANA zone (`tenants.timezone`; UTC when the tenant has
    /// no row there, as in the reports).
    pub timezone: String,
    /// The instant `date` begins in that zone (on a day that starts in a
    /// daylight-saving gap: the first instant of the day, as
    /// `utc_from_local` — the reports' period bound — gives it).
    pub instant: chrono::DateTime<chrono::Utc>,
}

/// What one retention run did (or, dry, would do) to one tenant.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Retention {
    pub tenant: String,
    pub cutoff: Cutoff,
    /// Nothing was deleted: `changes` count the rows that would be.
    pub dry_run: bool,
    pub changes: Vec<TableChange>,
}

impl std::fmt::Display for Retention {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let c = &self.cutoff;
        write!(
            f,
            "tenant {}: before {} on its clock ({}, {}){}",
            self.tenant,
            c.date,
            c.timezone,
            c.instant.format("%Y-%m-%dT%H:%M:%SZ"),
            if self.dry_run {
                " — dry run, rows that would be deleted:"
            } else {
                ""
            }
        )?;
        for change in &self.changes {
            write!(f, "\n  {change}")?;
        }
        Ok(())
    }
}

/// Ids per delete commit of a dependent table. A first run over years of
/// data deletes the dependents of many leads; one `IN` list of all of them
/// would make a commit (its predicate is recorded in the Delta log) of
/// megabytes. The ids are taken in the order of their rows' time, so one
/// chunk's rows lie in the same few time-sorted files.
const IDS_PER_COMMIT: usize = 10_000;

/// Checks `[tenants.<id>]`: a tenant id, and a retention period of at
/// least one day (0 would delete every lead before today, surely a
/// mistake).
pub fn check_tenant_settings(tenants: &BTreeMap<String, TenantSettings>) -> Result<()> {
    for (tenant, settings) in tenants {
        anyhow::ensure!(
            !tenant.trim().is_empty(),
            "[tenants] has an empty tenant id"
        );
        if settings.retention_days == Some(0) {
            bail!(
                "[tenants.{tenant}] retention_days = 0 would delete every lead before today; \
                 say 1 or more, or leave it out to keep the tenant's data"
            );
        }
    }
    Ok(())
}

/// The tenants with a stored retention period, and its days.
pub fn retention_periods(tenants: &BTreeMap<String, TenantSettings>) -> Vec<(String, u32)> {
    tenants
        .iter()
        .filter_map(|(t, s)| s.retention_days.map(|d| (t.clone(), d)))
        .collect()
}

/// Deletes `tenant`'s leads created before `before` 00:00 on the tenant's
/// wall clock, with everything that hangs on them (SPEC §7: requests,
/// ratings, moderations of those ratings, notes, corrections — every
/// table with a link column, [`Table::client_links`]), and the tenant's
/// rows that hang on no lead (`manual_stats`) by their own time before the
/// same instant. Dependent rows go first, `leads` last, so a run stopped
/// half-way finishes when run again.
///
/// Rows already orphaned (their lead, or their rating, is not stored —
/// left by an earlier retention that deleted each table by its own time,
/// or by a `DELETE`) are swept too when their earliest row is before the
/// cutoff: their lead, had it been stored, was created before that row, so
/// it would go now and they with it. Rows of a lead not stored yet but
/// newer (a ratings export loaded before its leads) stay.
///
/// With `dry_run`, counts the rows that would go and deletes nothing.
pub async fn retention(
    store: &Store,
    tenant: &str,
    before: chrono::NaiveDate,
    user: &str,
    dry_run: bool,
) -> Result<Retention> {
    let ctx = snapshot(store).await?;
    let cutoff = cutoff(&ctx, tenant, before).await?;
    let instant = cutoff
        .instant
        .format("'%Y-%m-%dT%H:%M:%S%.6fZ'")
        .to_string();
    let plan = Plan {
        tenant: sql_text(tenant),
        cutoff: instant,
    };
    let mut tables = deletion_order();
    // Tables that hang on no lead but are the tenant's facts in time.
    tables.splice(
        0..0,
        Table::ALL
            .into_iter()
            .filter(|t| t.client_links().is_empty() && t.sort_column().is_some()),
    );
    let mut changes = Vec::new();
    for table in tables {
        let Some(condition) = plan.doomed(table, "a0", &mut 1) else {
            continue;
        };
        let change = if dry_run {
            let n = count(
                &ctx,
                &format!(
                    "SELECT count(*) FROM {table} a0 WHERE a0.tenant = {} AND {condition}",
                    plan.tenant
                ),
            )
            .await?;
            TableChange {
                table: table.name().into(),
                rows_deleted: n,
                ..Default::default()
            }
        } else if let Some(link) = parent_link(table)
            && let Some(time) = table.sort_column()
        {
            // By ids: the ones whose rows go, oldest rows first.
            let ids = column_values(
                &ctx,
                &format!(
                    "SELECT a0.{link} AS id, min(a0.{time}) AS first FROM {table} a0 \
                     WHERE a0.tenant = {} AND {condition} GROUP BY a0.{link} ORDER BY first, id",
                    plan.tenant
                ),
            )
            .await?;
            let mut total = TableChange {
                table: table.name().into(),
                ..Default::default()
            };
            for chunk in ids.chunks(IDS_PER_COMMIT) {
                let predicate = col("tenant")
                    .eq(lit(tenant))
                    .and(col(link).in_list(chunk.iter().map(|v| lit(v.clone())).collect(), false));
                let c = delete(store, table, predicate, "retention", user).await?;
                total.rows_deleted += c.rows_deleted;
                total.files_added += c.files_added;
                total.files_removed += c.files_removed;
                total.version = c.version.or(total.version);
            }
            total
        } else if let Some(time) = table.sort_column() {
            // By time (leads, manual_stats): whole files of old rows are
            // removed without rewriting them.
            let predicate = col("tenant").eq(lit(tenant)).and(col(time).lt(lit(
                datafusion::common::ScalarValue::TimestampMicrosecond(
                    Some(cutoff.instant.timestamp_micros()),
                    Some("UTC".into()),
                ),
            )));
            delete(store, table, predicate, "retention", user).await?
        } else {
            continue;
        };
        changes.push(change);
    }
    Ok(Retention {
        tenant: tenant.to_string(),
        cutoff,
        dry_run,
        changes,
    })
}

/// The SQL that names the rows retention deletes, table by table.
struct Plan {
    /// The tenant as an SQL string literal.
    tenant: String,
    /// The cutoff instant as an SQL string literal.
    cutoff: String,
}

impl Plan {
    /// A condition on the row `alias` of `table` (within the tenant): true
    /// for the rows retention deletes. `leads` (and tables on no link) by
    /// their time; every other table by its parent link — all rows of a
    /// parent that goes, and of a parent that is gone already when one of
    /// its rows is older than the cutoff. Decided per parent id, never per
    /// row, so a parent's rows go together. `next` numbers the aliases of
    /// the subqueries (a table may appear at several depths).
    fn doomed(&self, table: Table, alias: &str, next: &mut usize) -> Option<String> {
        let time = table.sort_column()?;
        let Some((link, source)) = parent_link(table).and_then(|l| Some((l, source_of(l)?))) else {
            return Some(format!("{alias}.{time} < {}", self.cutoff));
        };
        let t = &self.tenant;
        let mut fresh = || {
            *next += 1;
            format!("a{next}")
        };
        let (parent, stored, same) = (fresh(), fresh(), fresh());
        let parent_doomed = self.doomed(source, &parent, next)?;
        Some(format!(
            "({alias}.{link} IN (SELECT {parent}.{link} FROM {source} {parent} \
               WHERE {parent}.tenant = {t} AND {parent_doomed}) \
             OR {alias}.{link} IN (SELECT {same}.{link} FROM {table} {same} \
               WHERE {same}.tenant = {t} AND {same}.{time} < {} \
               AND {same}.{link} NOT IN (SELECT {stored}.{link} FROM {source} {stored} \
                 WHERE {stored}.tenant = {t})))",
            self.cutoff
        ))
    }
}

/// `text` as an SQL string literal.
fn sql_text(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

/// Every table of the store as it is now, by its SQL name (a table not
/// created yet as an empty one), with OKO's functions.
async fn snapshot(store: &Store) -> Result<SessionContext> {
    let ctx = SessionContext::new();
    oko_udfs::register_all(&ctx);
    for table in Table::ALL {
        let provider: std::sync::Arc<dyn datafusion::catalog::TableProvider> =
            match store.table(table).await? {
                Some(delta) => {
                    delta.update_datafusion_session(&ctx.state())?;
                    delta.table_provider().await?
                }
                None => std::sync::Arc::new(datafusion::datasource::MemTable::try_new(
                    table.schema(),
                    vec![vec![]],
                )?),
            };
        ctx.register_table(table.name(), provider)?;
    }
    Ok(ctx)
}

/// The tenant's zone and the instant `date` begins there.
async fn cutoff(ctx: &SessionContext, tenant: &str, date: chrono::NaiveDate) -> Result<Cutoff> {
    let zones = column_values(
        ctx,
        &format!(
            "SELECT timezone FROM tenants WHERE tenant = {}",
            sql_text(tenant)
        ),
    )
    .await?;
    let timezone = zones.into_iter().next().unwrap_or_else(|| "UTC".into());
    // The reports' own conversion (`utc_from_local`), so a retention date
    // and a report period bound are the same instant.
    let batches = ctx
        .sql(&format!(
            "SELECT utc_from_local(DATE '{date}', {})",
            sql_text(&timezone)
        ))
        .await?
        .collect()
        .await
        .with_context(|| format!("tenant {tenant}: cannot read its time zone `{timezone}`"))?;
    let micros = batches
        .first()
        .filter(|b| b.num_rows() == 1)
        .and_then(|b| {
            b.column(0)
                .as_any()
                .downcast_ref::<datafusion::arrow::array::TimestampMicrosecondArray>()
                .filter(|a| a.is_valid(0))
                .map(|a| a.value(0))
        })
        .with_context(|| format!("no instant for {date} in the zone {timezone}"))?;
    let instant = chrono::DateTime::from_timestamp_micros(micros)
        .with_context(|| format!("{date} in {timezone} is out of range"))?;
    Ok(Cutoff {
        date,
        timezone,
        instant,
    })
}

/// The tenant's local date at `now` (UTC when it has no `tenants` row).
pub async fn local_today(
    store: &Store,
    tenant: &str,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<chrono::NaiveDate> {
    let ctx = SessionContext::new();
    let zone = match store.table(Table::Tenants).await? {
        Some(delta) => {
            delta.update_datafusion_session(&ctx.state())?;
            ctx.register_table("tenants", delta.table_provider().await?)?;
            column_values(
                &ctx,
                &format!(
                    "SELECT timezone FROM tenants WHERE tenant = {}",
                    sql_text(tenant)
                ),
            )
            .await?
            .into_iter()
            .next()
        }
        None => None,
    }
    .unwrap_or_else(|| "UTC".into());
    let tz: chrono_tz::Tz = zone
        .parse()
        .map_err(|_| anyhow::anyhow!("tenant {tenant}: unknown time zone `{zone}`"))?;
    Ok(now.with_timezone(&tz).date_naive())
}

/// The first date a stored period of `days` keeps on `today`: a lead of
/// `today − days` stays, one of the day before goes.
pub fn kept_from(today: chrono::NaiveDate, days: u32) -> chrono::NaiveDate {
    today - chrono::Days::new(u64::from(days))
}

/// Applies the stored retention periods (`[tenants.<id>] retention_days`)
/// at `now`: each configured tenant (only `only`, when given) loses what is
/// older than its local today − its days. One tenant's failure does not
/// stop the others: each gets its own result.
pub async fn apply_retention_periods(
    store: &Store,
    tenants: &BTreeMap<String, TenantSettings>,
    only: Option<&str>,
    now: chrono::DateTime<chrono::Utc>,
    user: &str,
    dry_run: bool,
) -> Vec<(String, Result<Retention>)> {
    let mut out = Vec::new();
    for (tenant, days) in retention_periods(tenants) {
        if only.is_some_and(|o| o != tenant) {
            continue;
        }
        let result = async {
            let today = local_today(store, &tenant, now).await?;
            retention(store, &tenant, kept_from(today, days), user, dry_run).await
        }
        .await;
        out.push((tenant, result));
    }
    out
}

/// How long a tenant whose retention failed waits for the next attempt.
const RETRY_AFTER: std::time::Duration = std::time::Duration::from_secs(3600);

/// `oko serve`'s retention: applies the stored periods at once, then again
/// whenever a tenant's local date has moved on (checked every minute), so
/// each tenant's cutoff follows its own midnight. A failure is logged and
/// tried again an hour later; it never stops the server. Of several
/// replicas over one store, only the one holding `lease` applies it (from
/// the moment it takes the lease). The server's
/// tables see the deletions at their next refresh, as they see any commit
/// of another process.
pub async fn apply_retention_daily(
    store: Store,
    tenants: BTreeMap<String, TenantSettings>,
    lease: std::sync::Arc<crate::lease::Lease>,
) {
    const USER: &str = "oko serve";
    let mut kept_from_date: BTreeMap<String, chrono::NaiveDate> = BTreeMap::new();
    // Each tenant's zone as its last run found it, so the minute's check
    // reads no table; a run reads the zone afresh.
    let mut zones: BTreeMap<String, chrono_tz::Tz> = BTreeMap::new();
    let mut retry_at: BTreeMap<String, tokio::time::Instant> = BTreeMap::new();
    let mut tick = tokio::time::interval(std::time::Duration::from_secs(60));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        // Of several replicas over the store, the one holding the lease
        // applies retention ([`crate::lease`]).
        if lease.holding().is_none() {
            tick.reset_after(std::time::Duration::from_secs(1));
            continue;
        }
        let now = chrono::Utc::now();
        for (tenant, days) in retention_periods(&tenants) {
            if retry_at
                .get(&tenant)
                .is_some_and(|t| *t > tokio::time::Instant::now())
            {
                continue;
            }
            let result = async {
                let today = match zones.get(&tenant) {
                    Some(zone) => now.with_timezone(zone).date_naive(),
                    None => local_today(&store, &tenant, now).await?,
                };
                let date = kept_from(today, days);
                if kept_from_date.get(&tenant) == Some(&date) {
                    return Ok(None);
                }
                retention(&store, &tenant, date, USER, false)
                    .await
                    .map(Some)
            }
            .await;
            match result {
                Ok(None) => {}
                Ok(Some(done)) => {
                    let deleted: Vec<String> = done
                        .changes
                        .iter()
                        .filter(|c| c.rows_deleted > 0)
                        .map(|c| format!("{} {}", c.table, c.rows_deleted))
                        .collect();
                    tracing::info!(
                        tenant = %tenant,
                        retention_days = days,
                        before = %done.cutoff.date,
                        timezone = %done.cutoff.timezone,
                        "retention applied; rows deleted: {}",
                        if deleted.is_empty() { "none".into() } else { deleted.join(", ") }
                    );
                    kept_from_date.insert(tenant.clone(), done.cutoff.date);
                    if let Ok(zone) = done.cutoff.timezone.parse() {
                        zones.insert(tenant.clone(), zone);
                    }
                    retry_at.remove(&tenant);
                }
                Err(e) => {
                    tracing::warn!(
                        tenant = %tenant,
                        "retention failed, trying again in an hour: {e:#}"
                    );
                    retry_at.insert(tenant.clone(), tokio::time::Instant::now() + RETRY_AFTER);
                }
            }
        }
    }
}

/// The first column of a query's rows, as text (NULLs left out).
async fn column_values(ctx: &SessionContext, sql: &str) -> Result<Vec<String>> {
    let batches = ctx
        .sql(sql)
        .await
        .with_context(|| format!("cannot plan {sql}"))?
        .collect()
        .await?;
    let mut out = Vec::new();
    for b in batches {
        let a = cast(b.column(0), &DataType::Utf8)?;
        if let Some(s) = a.as_any().downcast_ref::<StringArray>() {
            out.extend(s.iter().flatten().map(str::to_string));
        }
    }
    Ok(out)
}

/// A `count(*)` query's number.
async fn count(ctx: &SessionContext, sql: &str) -> Result<u64> {
    let n = column_values(ctx, sql).await?;
    n.first()
        .and_then(|v| v.parse().ok())
        .with_context(|| format!("no count from {sql}"))
}

/// Deletes every row about one client of `tenant`: every table with a
/// link column ([`Table::client_links`]) loses the rows that name the
/// client, hang on one of its leads, or on a rating of one of them. The ids
/// are collected first (leads of the client, then their ratings); tables
/// are deleted in [`deletion_order`] (dependent rows first, the ids' own
/// tables last), so an erasure stopped half-way finds the rest when run
/// again.
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
        let Some(source) = source_of(link) else {
            continue;
        };
        let filter = col("tenant").eq(lit(tenant)).and(of_client(source, &ids));
        let found = self::ids(store, source, link, filter).await?;
        ids.insert(link, found);
    }
    let mut out = Vec::new();
    for table in deletion_order() {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retention_follows_the_links_of_the_model() {
        assert_eq!(parent_link(Table::Leads), None);
        assert_eq!(parent_link(Table::Ratings), Some("lead_id"));
        assert_eq!(parent_link(Table::RatingRequests), Some("lead_id"));
        assert_eq!(parent_link(Table::LeadNotes), Some("lead_id"));
        assert_eq!(parent_link(Table::RatingModerations), Some("rating_id"));
        assert_eq!(parent_link(Table::ManualStats), None);
        assert_eq!(source_of("lead_id"), Some(Table::Leads));
        assert_eq!(source_of("rating_id"), Some(Table::Ratings));
        // Every table that hangs on a link has a source to follow it to.
        for t in Table::ALL {
            if let Some(link) = parent_link(t) {
                assert!(source_of(link).is_some(), "{t}");
            }
        }
        // Dependents before their sources, moderations before ratings
        // before leads.
        let order = deletion_order();
        let at = |t: Table| order.iter().position(|x| *x == t).unwrap();
        assert!(at(Table::RatingModerations) < at(Table::Ratings));
        assert!(at(Table::RatingRequests) < at(Table::Leads));
        assert!(at(Table::LeadNotes) < at(Table::Leads));
        assert!(at(Table::Ratings) < at(Table::Leads));
        assert_eq!(order.last(), Some(&Table::Leads));
    }

    #[test]
    fn a_stored_period_keeps_today_and_its_days() {
        let today = chrono::NaiveDate::from_ymd_opt(2025, 3, 31).unwrap();
        assert_eq!(
            kept_from(today, 30),
            chrono::NaiveDate::from_ymd_opt(2025, 3, 1).unwrap()
        );
    }

    #[test]
    fn tenant_settings_are_checked() {
        let config: crate::config::Config =
            toml::from_str("[tenants.okna]\nretention_days = 365\n\n[tenants.dom]\n").unwrap();
        assert_eq!(
            retention_periods(&config.tenants),
            [("okna".to_string(), 365)]
        );
        assert!(check_tenant_settings(&config.tenants).is_ok());
        let zero: crate::config::Config =
            toml::from_str("[tenants.okna]\nretention_days = 0\n").unwrap();
        assert!(check_tenant_settings(&zero.tenants).is_err());
        assert!(toml::from_str::<crate::config::Config>("[tenants.okna]\ndays = 3\n").is_err());
    }

    #[test]
    fn tenant_text_is_quoted() {
        assert_eq!(sql_text("o'k"), "'o''k'");
    }
}
