//! Keeping the report parts ([`crate::engine::parts`]) exact as the facts
//! change.
//!
//! The [`Keeper`] holds one set of parts ([`Kept`]) labelled with the Delta
//! version of every fact table it was computed from. A session uses them
//! only while those are the versions served ([`KeepsParts::fresh`]);
//! otherwise the reports are computed from the facts. So no report ever
//! sums parts of other facts than the ones a query of its own would read.
//!
//! After every commit that becomes visible — a load (this process's or
//! another's), an `INSERT` of leads, requests, ratings or moderations, an
//! `UPDATE`, a `DELETE`, retention, erasure — the keeper reads what the
//! commits since its label changed ([`super::changes`]), finds the tenant
//! days those rows belong to (a lead's local day; a request's or rating's
//! lead's day; a moderation's rating's lead's day; a note's lead's day),
//! recomputes exactly
//! those days from the facts with the same SQL, and swaps the new set in
//! with the new label. A change of a tenant's clock or service level
//! (`tenants`) recomputes that tenant. Compaction changes no row and only
//! moves the label. When the changes cannot be read (a vacuum removed a
//! file), everything is recomputed.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use chrono::NaiveDate;
use datafusion::arrow::array::{Array, AsArray, BooleanArray, RecordBatch};
use datafusion::arrow::compute::{cast, concat_batches, filter_record_batch};
use datafusion::arrow::datatypes::{DataType, TimeUnit, TimestampMicrosecondType};
use datafusion::datasource::MemTable;
use datafusion::prelude::SessionContext;

use super::LiveTable;
use crate::config::ReportSettings;
use crate::engine::parts::{Days, Grain, KeepsParts, Kept, Versions, by_day, lead_prefilter};
use crate::model::Table;

/// The fact tables the parts are computed from.
const SOURCES: [Table; 6] = [
    Table::Leads,
    Table::RatingRequests,
    Table::Ratings,
    Table::RatingModerations,
    Table::LeadNotes,
    Table::Tenants,
];

/// The keeper's table of the rows a round's commits changed.
const CHANGED: &str = "keeper_changed";

/// How often the keeper looks for new snapshots.
const POLL: Duration = Duration::from_millis(20);

/// Keeps the report parts of every tenant.
pub struct Keeper {
    sources: Vec<Arc<LiveTable>>,
    /// Where the parts are saved ([`super::parts_store`]); `None`: not
    /// saved.
    store: Option<crate::store::Store>,
    /// The SQL and settings that compute the parts, hashed: saved parts of
    /// another fingerprint are not used.
    fingerprint: String,
    /// The label of the last save and when it was made.
    saved: Mutex<Option<(Versions, Instant)>>,
    /// Every tenant's tables and views, the keeper's own.
    engine: SessionContext,
    settings: ReportSettings,
    state: RwLock<Option<Arc<State>>>,
    stats: Mutex<Stats>,
}

#[derive(Debug)]
struct State {
    kept: Arc<Kept>,
    /// Each tenant's clock and service level the parts were computed with.
    tenants: BTreeMap<String, String>,
}

/// What the keeper has done (the `oko_report_parts` view).
#[derive(Debug, Default, Clone)]
pub struct Stats {
    pub rounds: u64,
    pub full_builds: u64,
    pub days_recomputed: u64,
    pub last_round_ms: u64,
    /// Saves to the store.
    pub saves: u64,
    /// Whether the parts were loaded from the store at start.
    pub loaded: bool,
    pub last_error: Option<String>,
}

impl std::fmt::Debug for Keeper {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Keeper")
            .field("rows", &self.rows())
            .finish()
    }
}

impl KeepsParts for Keeper {
    fn fresh(&self) -> Option<Arc<Kept>> {
        let state = read(&self.state).clone()?;
        (state.kept.versions == self.versions_now()).then(|| state.kept.clone())
    }
}

/// What to recompute for one tenant.
#[derive(Debug)]
enum Affected {
    All,
    Days(BTreeSet<NaiveDate>),
}

impl Keeper {
    /// A keeper over the server's live tables (none kept until the first
    /// round of [`Keeper::keep`]). Its queries run in the server's
    /// `runtime`: their memory counts in the same pool as the clients'.
    pub async fn new(
        tables: &[Arc<LiveTable>],
        settings: &ReportSettings,
        store: Option<crate::store::Store>,
        runtime: Arc<datafusion::execution::runtime_env::RuntimeEnv>,
    ) -> Result<Arc<Keeper>> {
        let engine = SessionContext::new_with_config_rt(
            datafusion::prelude::SessionConfig::new()
                .with_default_catalog_and_schema(crate::engine::CATALOG, "public"),
            runtime,
        );
        oko_udfs::register_all(&engine);
        for live in tables {
            engine.register_table(live.table.name(), live.clone())?;
        }
        crate::engine::reports::register(&engine, settings, None).await?;
        let sources = SOURCES
            .iter()
            .map(|t| {
                tables
                    .iter()
                    .find(|l| l.table == *t)
                    .cloned()
                    .with_context(|| format!("no live table {t}"))
            })
            .collect::<Result<_>>()?;
        Ok(Arc::new(Keeper {
            sources,
            store,
            fingerprint: fingerprint(settings),
            saved: Mutex::new(None),
            engine,
            settings: settings.clone(),
            state: RwLock::new(None),
            stats: Mutex::default(),
        }))
    }

    pub fn stats(&self) -> Stats {
        lock(&self.stats).clone()
    }

    /// The kept rows of each grain, in [`Grain::ALL`]'s order (0 before
    /// the first build).
    pub fn rows(&self) -> Vec<usize> {
        let state = read(&self.state);
        Grain::ALL
            .iter()
            .map(|g| state.as_ref().map_or(0, |s| s.kept.row_count(*g)))
            .collect()
    }

    fn versions_now(&self) -> Vec<(String, i64)> {
        self.sources
            .iter()
            .map(|t| (t.table.name().to_string(), t.version()))
            .collect()
    }

    /// Brings the parts up to the served facts, round after round, until
    /// the task is dropped. A failed round is logged; the parts it could not
    /// bring up to date stay unused (behind the facts) and the next round
    /// tries again. Every replica keeps its parts; only the one holding
    /// `lease` saves them: the saved tables have one writer (a save
    /// overwrites them and vacuums at once, which would delete the files
    /// of another replica's save under way).
    pub async fn keep(self: Arc<Self>, lease: Arc<crate::lease::Lease>) {
        let mut failures = 0u32;
        loop {
            let current = read(&self.state).as_ref().map(|s| s.kept.versions.clone());
            if current.as_ref() == Some(&self.versions_now()) {
                if lease.holding().is_some() {
                    self.save_if_due().await;
                }
                tokio::time::sleep(POLL).await;
                continue;
            }
            let started = Instant::now();
            match self.round().await {
                Ok(()) => {
                    failures = 0;
                    let mut stats = lock(&self.stats);
                    stats.rounds += 1;
                    stats.last_round_ms = started.elapsed().as_millis() as u64;
                    stats.last_error = None;
                }
                Err(e) => {
                    tracing::warn!("cannot bring the report parts up to date: {e:#}");
                    lock(&self.stats).last_error = Some(format!("{e:#}"));
                    failures = failures.saturating_add(1);
                    let wait = Duration::from_millis(200) * failures.min(50);
                    tokio::time::sleep(wait).await;
                }
            }
        }
    }

    /// One round: from the kept label to the versions served now.
    pub async fn round(&self) -> Result<()> {
        let now = self.versions_now();
        let previous = read(&self.state).clone();
        let tenants = self.tenant_settings().await?;
        let Some(previous) = previous else {
            // At start: the saved parts, caught up from their label by the
            // next rounds; everything from the facts when there are none.
            match self.load().await {
                Ok(Some(state)) => {
                    *write(&self.state) = Some(Arc::new(state));
                    lock(&self.stats).loaded = true;
                    return Ok(());
                }
                Ok(None) => {}
                Err(e) => tracing::warn!("the saved report parts are not used: {e:#}"),
            }
            let kept = self.build_all(now).await?;
            *write(&self.state) = Some(Arc::new(State {
                kept: Arc::new(kept),
                tenants,
            }));
            lock(&self.stats).full_builds += 1;
            return Ok(());
        };
        let mut affected: HashMap<String, Affected> = HashMap::new();
        // A tenant whose clock or service level changed: all its days.
        let names: BTreeSet<&String> = tenants.keys().chain(previous.tenants.keys()).collect();
        for name in names {
            if tenants.get(name) != previous.tenants.get(name) {
                affected.insert(name.clone(), Affected::All);
            }
        }
        let label: HashMap<&str, i64> = previous
            .kept
            .versions
            .iter()
            .map(|(t, v)| (t.as_str(), *v))
            .collect();
        for (live, (_, to)) in self.sources.iter().zip(&now) {
            let from = label.get(live.table.name()).copied().unwrap_or(-1);
            if from == *to || live.table == Table::Tenants {
                continue;
            }
            let days = match self.changed_days(live, from, *to).await? {
                Some(days) => days,
                None => {
                    // The changes cannot be read: everything again.
                    let kept = self.build_all(now).await?;
                    *write(&self.state) = Some(Arc::new(State {
                        kept: Arc::new(kept),
                        tenants,
                    }));
                    lock(&self.stats).full_builds += 1;
                    return Ok(());
                }
            };
            for (tenant, day) in days {
                match affected
                    .entry(tenant)
                    .or_insert_with(|| Affected::Days(BTreeSet::new()))
                {
                    Affected::All => {}
                    Affected::Days(set) => {
                        set.insert(day);
                    }
                }
            }
        }
        let mut rows = previous.kept.rows.clone();
        let mut recomputed = 0u64;
        for (tenant, what) in &affected {
            let (prefilter, filter, days) = match what {
                Affected::All => (
                    lead_prefilter(None, None, Some(std::slice::from_ref(tenant))),
                    "TRUE".to_string(),
                    None,
                ),
                Affected::Days(days) => {
                    recomputed += days.len() as u64;
                    (day_prefilter(tenant, days), day_filter(days), Some(days))
                }
            };
            for grain in Grain::ALL {
                let fresh = by_day(grain, &self.compute(grain, &prefilter, &filter).await?)?;
                let key = (grain, tenant.clone());
                // The tenant's other days stay as they are.
                let mut kept = match days {
                    Some(days) => {
                        let mut kept = rows.remove(&key).unwrap_or_default();
                        for day in days {
                            kept.remove(day);
                        }
                        kept
                    }
                    None => Days::new(),
                };
                for (day, batch) in fresh {
                    // Only the recomputed days come back; were another
                    // day's row among them, it would join that day's.
                    let batch = match kept.remove(&day) {
                        Some(before) => concat_batches(&batch.schema(), [&before, &batch])?,
                        None => batch,
                    };
                    kept.insert(day, batch);
                }
                if kept.is_empty() {
                    rows.remove(&key);
                } else {
                    rows.insert(key, kept);
                }
            }
        }
        *write(&self.state) = Some(Arc::new(State {
            kept: Arc::new(Kept {
                versions: now,
                rows,
            }),
            tenants,
        }));
        lock(&self.stats).days_recomputed += recomputed;
        Ok(())
    }

    /// The saved parts, when they fit the facts served (their label no
    /// newer than the versions served now).
    async fn load(&self) -> Result<Option<State>> {
        let Some(store) = &self.store else {
            return Ok(None);
        };
        let mut schemas = HashMap::new();
        for grain in Grain::ALL {
            let sql = format!(
                "SELECT * FROM {}",
                grain.sql(&self.settings, "FALSE", "TRUE")
            );
            let frame = self.engine.sql(&sql).await?;
            schemas.insert(grain, Arc::new(frame.schema().as_arrow().clone()));
        }
        let Some((kept, label)) =
            super::parts_store::load(store, &self.fingerprint, &schemas).await?
        else {
            return Ok(None);
        };
        let now: HashMap<String, i64> = self.versions_now().into_iter().collect();
        let fits = kept.versions.len() == now.len()
            && kept
                .versions
                .iter()
                .all(|(t, v)| now.get(t).is_some_and(|n| v <= n));
        if !fits {
            return Ok(None);
        }
        *lock(&self.saved) = Some((kept.versions.clone(), Instant::now()));
        Ok(Some(State {
            kept: Arc::new(kept),
            tenants: label.tenants,
        }))
    }

    /// Saves the kept parts when they changed since the last save and that
    /// was at least [`super::parts_store::SAVE_EVERY`] ago (the first build
    /// at once). A failed save is logged and tried again later.
    async fn save_if_due(&self) {
        let Some(store) = &self.store else { return };
        let Some(state) = read(&self.state).clone() else {
            return;
        };
        let due = match &*lock(&self.saved) {
            None => true,
            Some((versions, at)) => {
                *versions != state.kept.versions && at.elapsed() >= super::parts_store::SAVE_EVERY
            }
        };
        if !due {
            return;
        }
        let label = super::parts_store::Label {
            versions: state.kept.versions.clone(),
            tenants: state.tenants.clone(),
            fingerprint: self.fingerprint.clone(),
        };
        match super::parts_store::save(store, &state.kept, &label).await {
            Ok(()) => lock(&self.stats).saves += 1,
            Err(e) => tracing::warn!("cannot save the report parts: {e:#}"),
        }
        *lock(&self.saved) = Some((state.kept.versions.clone(), Instant::now()));
    }

    /// Every tenant's parts from the facts.
    async fn build_all(&self, versions: Vec<(String, i64)>) -> Result<Kept> {
        let mut rows = HashMap::new();
        for grain in Grain::ALL {
            let batches = self.compute(grain, "TRUE", "TRUE").await?;
            for b in batches {
                for (tenant, part) in by_tenant(&b)? {
                    rows.entry((grain, tenant))
                        .or_insert_with(Vec::new)
                        .push(part);
                }
            }
        }
        let rows = rows
            .into_iter()
            .map(|((grain, tenant), parts): (_, Vec<RecordBatch>)| {
                Ok(((grain, tenant), by_day(grain, &parts)?))
            })
            .collect::<Result<HashMap<_, _>>>()?;
        Ok(Kept { versions, rows })
    }

    /// The parts of a grain over the leads `prefilter` reaches that pass
    /// `filter`.
    async fn compute(
        &self,
        grain: Grain,
        prefilter: &str,
        filter: &str,
    ) -> Result<Vec<RecordBatch>> {
        let sql = format!(
            "SELECT * FROM {}",
            grain.sql(&self.settings, prefilter, filter)
        );
        Ok(self.engine.sql(&sql).await?.collect().await?)
    }

    /// Each tenant's clock and service level, as the parts use them.
    async fn tenant_settings(&self) -> Result<BTreeMap<String, String>> {
        let batches = self
            .engine
            .sql(
                "SELECT CAST(tenant AS VARCHAR), \
                 coalesce(timezone, 'UTC') || '|' || coalesce(CAST(service_level_seconds AS VARCHAR), '') \
                 FROM tenants",
            )
            .await?
            .collect()
            .await?;
        let mut out = BTreeMap::new();
        for b in batches {
            let names = cast(b.column(0), &DataType::Utf8)?;
            let values = cast(b.column(1), &DataType::Utf8)?;
            let (names, values) = (names.as_string::<i32>(), values.as_string::<i32>());
            for i in 0..b.num_rows() {
                out.insert(names.value(i).to_string(), values.value(i).to_string());
            }
        }
        Ok(out)
    }

    /// The tenant-days whose parts the commits `from+1 ..= to` of `live`
    /// changed, or `None` when the changes cannot be read.
    async fn changed_days(
        &self,
        live: &LiveTable,
        from: i64,
        to: i64,
    ) -> Result<Option<Vec<(String, NaiveDate)>>> {
        let columns: &[&str] = match live.table {
            Table::Leads => &["tenant", "created_at"],
            Table::RatingRequests | Table::Ratings | Table::LeadNotes => &["tenant", "lead_id"],
            Table::RatingModerations => &["tenant", "rating_id"],
            _ => return Ok(Some(Vec::new())),
        };
        let log = live.log_store().await;
        let Some(changed) =
            super::changes::changed_rows(&log, live.table, from, to, columns).await?
        else {
            return Ok(None);
        };
        if changed.num_rows() == 0 {
            return Ok(Some(Vec::new()));
        }
        // The tenants of the changed rows, to read only their leads.
        let tenants: BTreeSet<String> = {
            let t = cast(changed.column(0), &DataType::Utf8)?;
            let t = t.as_string::<i32>();
            (0..t.len())
                .filter(|i| t.is_valid(*i))
                .map(|i| t.value(i).to_string())
                .collect()
        };
        let base = crate::engine::reports::period_sources(&lead_prefilter(
            None,
            None,
            Some(&tenants.into_iter().collect::<Vec<_>>()),
        ))
        .base;
        let changed_table = MemTable::try_new(changed.schema(), vec![vec![changed]])?;
        let sql = match live.table {
            // The lead's local day on its tenant's clock, as lead_base
            // computes it (the lead may be gone: its old row is here).
            Table::Leads => "SELECT DISTINCT c.tenant, date_trunc('day', \
                             local_time(c.created_at, coalesce(t.timezone, 'UTC'))) AS day \
                             FROM keeper_changed c LEFT JOIN tenants t ON t.tenant = c.tenant"
                .to_string(),
            Table::RatingRequests | Table::Ratings | Table::LeadNotes => format!(
                "SELECT DISTINCT b.tenant, date_trunc('day', b.created_local) AS day \
                 FROM {base} b JOIN keeper_changed c ON c.tenant = b.tenant AND c.lead_id = b.lead_id"
            ),
            _ => format!(
                "SELECT DISTINCT b.tenant, date_trunc('day', b.created_local) AS day \
                 FROM keeper_changed c \
                 JOIN ratings r ON r.tenant = c.tenant AND r.rating_id = c.rating_id \
                 JOIN {base} b ON b.tenant = r.tenant AND b.lead_id = r.lead_id"
            ),
        };
        // The keeper's own catalog (no user sees it); rounds run one at a
        // time.
        self.engine
            .register_table(CHANGED, Arc::new(changed_table))?;
        let batches = self.engine.sql(&sql).await?.collect().await;
        self.engine.deregister_table(CHANGED)?;
        let batches = batches?;
        let mut out = Vec::new();
        for b in batches {
            let tenant = cast(b.column(0), &DataType::Utf8)?;
            let tenant = tenant.as_string::<i32>();
            let day = cast(
                b.column(1),
                &DataType::Timestamp(TimeUnit::Microsecond, None),
            )?;
            let day = day.as_primitive::<TimestampMicrosecondType>();
            for i in 0..b.num_rows() {
                if tenant.is_null(i) || day.is_null(i) {
                    continue;
                }
                if let Some(t) = chrono::DateTime::from_timestamp_micros(day.value(i)) {
                    out.push((tenant.value(i).to_string(), t.date_naive()));
                }
            }
        }
        Ok(Some(out))
    }
}

/// The leads of `days` of one tenant: their UTC windows ±15 h and month
/// partitions (runs of consecutive days as one window).
fn day_prefilter(tenant: &str, days: &BTreeSet<NaiveDate>) -> String {
    let mut runs: Vec<(NaiveDate, NaiveDate)> = Vec::new();
    for d in days {
        match runs.last_mut() {
            Some((_, end)) if *end + chrono::Duration::days(1) == *d => *end = *d,
            _ => runs.push((*d, *d)),
        }
    }
    let windows: Vec<String> = runs
        .iter()
        .map(|(a, b)| {
            let from = a.and_time(chrono::NaiveTime::MIN);
            let to = (*b + chrono::Duration::days(1)).and_time(chrono::NaiveTime::MIN);
            format!("({})", lead_prefilter(Some(from), Some(to), None))
        })
        .collect();
    format!(
        "{} AND ({})",
        lead_prefilter(None, None, Some(&[tenant.to_string()])),
        windows.join(" OR ")
    )
}

/// The leads whose local day is one of `days`.
fn day_filter(days: &BTreeSet<NaiveDate>) -> String {
    let list: Vec<String> = days
        .iter()
        .map(|d| format!("CAST('{}T00:00:00' AS TIMESTAMP)", d.format("%Y-%m-%d")))
        .collect();
    format!(
        "date_trunc('day', f.created_local) IN ({})",
        list.join(", ")
    )
}

/// The SQL files and the settings that compute the parts, hashed.
fn fingerprint(settings: &ReportSettings) -> String {
    let mut text = format!("parts 1|{:?}|", settings.short_abandon_seconds);
    for (name, sql) in crate::engine::sql::FILES {
        text.push_str(name);
        text.push_str(sql);
    }
    format!("{:016x}", twox_hash::XxHash64::oneshot(0, text.as_bytes()))
}

/// `batch` split by its `tenant` column.
pub(super) fn by_tenant(batch: &RecordBatch) -> Result<Vec<(String, RecordBatch)>> {
    let tenants = cast(
        batch
            .column_by_name("tenant")
            .context("a part without its tenant")?,
        &DataType::Utf8,
    )?;
    let tenants = tenants.as_string::<i32>();
    let names: BTreeSet<&str> = (0..tenants.len())
        .filter(|i| tenants.is_valid(*i))
        .map(|i| tenants.value(i))
        .collect();
    names
        .into_iter()
        .map(|name| {
            let mask: BooleanArray = (0..tenants.len())
                .map(|i| Some(tenants.is_valid(i) && tenants.value(i) == name))
                .collect();
            Ok((name.to_string(), filter_record_batch(batch, &mask)?))
        })
        .collect()
}

fn read<T>(l: &RwLock<T>) -> std::sync::RwLockReadGuard<'_, T> {
    l.read().unwrap_or_else(|p| p.into_inner())
}

fn write<T>(l: &RwLock<T>) -> std::sync::RwLockWriteGuard<'_, T> {
    l.write().unwrap_or_else(|p| p.into_inner())
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// The view `oko_report_parts`: one row on the kept parts (for users who
/// see every tenant).
pub const STATS_TABLE: &str = "oko_report_parts";

/// [`STATS_TABLE`]: whether the kept parts match the facts served now, how
/// many rows of each grain are kept, and what the keeper has done.
#[derive(Debug)]
pub struct StatsTable {
    keeper: Arc<Keeper>,
    schema: datafusion::arrow::datatypes::SchemaRef,
}

impl StatsTable {
    pub fn new(keeper: Arc<Keeper>) -> StatsTable {
        use datafusion::arrow::datatypes::{Field, Schema};
        let mut fields = vec![Field::new("fresh", DataType::Boolean, false)];
        for name in [
            "day_rows",
            "hour_rows",
            "tag_rows",
            "rounds",
            "full_builds",
            "days_recomputed",
            "last_round_ms",
            "saves",
        ] {
            fields.push(Field::new(name, DataType::Int64, false));
        }
        fields.push(Field::new("loaded", DataType::Boolean, false));
        fields.push(Field::new("last_error", DataType::Utf8, true));
        StatsTable {
            keeper,
            schema: Arc::new(Schema::new(fields)),
        }
    }
}

#[async_trait::async_trait]
impl datafusion::catalog::TableProvider for StatsTable {
    fn schema(&self) -> datafusion::arrow::datatypes::SchemaRef {
        self.schema.clone()
    }

    fn table_type(&self) -> datafusion::logical_expr::TableType {
        datafusion::logical_expr::TableType::View
    }

    async fn scan(
        &self,
        _state: &dyn datafusion::catalog::Session,
        projection: Option<&Vec<usize>>,
        _filters: &[datafusion::logical_expr::Expr],
        _limit: Option<usize>,
    ) -> datafusion::common::Result<Arc<dyn datafusion::physical_plan::ExecutionPlan>> {
        use datafusion::arrow::array::{ArrayRef, BooleanArray, Int64Array, StringArray};
        let s = self.keeper.stats();
        let rows = self.keeper.rows();
        let mut columns: Vec<ArrayRef> = vec![Arc::new(BooleanArray::from(vec![
            self.keeper.fresh().is_some(),
        ]))];
        let row = |i: usize| rows.get(i).copied().unwrap_or(0) as u64;
        for v in [
            row(0),
            row(1),
            row(2),
            s.rounds,
            s.full_builds,
            s.days_recomputed,
            s.last_round_ms,
            s.saves,
        ] {
            columns.push(Arc::new(Int64Array::from(vec![v as i64])));
        }
        columns.push(Arc::new(BooleanArray::from(vec![s.loaded])));
        columns.push(Arc::new(StringArray::from(vec![s.last_error])));
        let batch = RecordBatch::try_new(self.schema.clone(), columns)?;
        Ok(
            datafusion::datasource::memory::MemorySourceConfig::try_new_exec(
                &[vec![batch]],
                self.schema.clone(),
                projection.cloned(),
            )?,
        )
    }
}
