//! The result cache: a dashboard that many viewers refresh computes each
//! panel once per commit.
//!
//! An entry is the record batches a statement returned, keyed by
//! - the statement as the parser read it (its canonical text, so spacing,
//!   comments and keyword case do not matter) and, in the extended
//!   protocol, the bound parameter values with their formats and types;
//! - who asked: the user, their role and their tenant (a tenant-bound user
//!   plans over their tenant's catalog, and views may filter on
//!   `current_user`);
//! - every session setting except the few that cannot change a result
//!   ([`NOT_IN_KEY`]): `TimeZone`, `DateStyle`, `IntervalStyle`,
//!   `extra_float_digits`, `search_path`, `bytea_output`, custom settings a
//!   view may read with `current_setting()`, …. (`datafusion.*` settings a
//!   session may change are tuning knobs only,
//!   [`crate::pg_compat::engine_settings`], and are not part of the key.)
//!
//! and it records the generation ([`LiveTable::generation`]) of every live
//! table the statement read. A lookup answers only while each of those
//! tables still serves the same snapshot: a commit to any of them (a load,
//! an `INSERT`, a delete, a compaction, another process's commit) makes the
//! next execution recompute. The generations are read *before* the
//! statement starts, so an entry is never labelled newer than its rows.
//!
//! Only deterministic reads are cached ([`reads`]): plans made of queries
//! (no writes, DDL, `EXPLAIN [ANALYZE]`, transaction or extension nodes)
//! over live tables, tenant tables, views over them and report calls (which
//! read the live tables when they are scanned, so they depend on all of
//! them), with no volatile or time-dependent function (`now()`,
//! `random()`, `current_date`, …; the session-bound ones whose inputs are in
//! the key — `current_user`, `current_setting`, `current_schema`, … — are
//! allowed). Anything else (the `pg_catalog` emulation, `oko_cache_stats`
//! itself, tables of unknown kinds) is computed every time. Cursors are
//! never cached; a result is stored only when its client read it to the
//! end without error.
//!
//! Memory: the entries together stay within `[server] result_cache_mb`
//! (0 turns the cache off), least recently used first out, and are counted
//! in the server's memory pool (a reservation that grows and shrinks with
//! them), so cached results and running queries share one limit. One entry
//! takes at most a quarter of the budget. `SET oko.result_cache = off`
//! bypasses it for one session (the raw path, to cross-check).
//!
//! The whole results of report calls are kept here too, under keys of their
//! own, so panels that call one report share it
//! ([`super::shared_reports`]); `oko_cache_stats` counts them with the
//! statements.

use std::collections::{BTreeMap, HashMap};
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use async_trait::async_trait;
use datafusion::arrow::array::{Int64Array, RecordBatch};
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use datafusion::catalog::{Session, TableProvider};
use datafusion::common::Result;
use datafusion::common::tree_node::{TreeNode, TreeNodeRecursion};
use datafusion::datasource::memory::MemorySourceConfig;
use datafusion::datasource::{TableType, ViewTable, source_as_provider};
use datafusion::execution::memory_pool::{MemoryConsumer, MemoryPool, MemoryReservation};
use datafusion::execution::{RecordBatchStream, SendableRecordBatchStream};
use datafusion::logical_expr::expr::{AggregateFunction, WindowFunction};
use datafusion::logical_expr::{Expr, LogicalPlan, Volatility, WindowFunctionDefinition};
use datafusion::physical_plan::ExecutionPlan;
use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use futures::Stream;

use crate::auth::Principal;
use crate::live::LiveTable;
use crate::live::tenant::TenantTable;
use crate::pg_compat::vars::Vars;

/// The name of the statistics table in the catalog of unbound users.
pub const STATS_TABLE: &str = "oko_cache_stats";

/// The session setting that bypasses the cache (`off`).
pub const SETTING: &str = "oko.result_cache";

/// Settings that cannot change what a statement returns: the session's
/// name, its messages, limits and transaction modes, and the switches of
/// the cache and the fast path themselves.
const NOT_IN_KEY: &[&str] = &[
    "application_name",
    "client_min_messages",
    "statement_timeout",
    "default_transaction_isolation",
    "default_transaction_read_only",
    "transaction_isolation",
    "transaction_read_only",
    "jit",
    "lc_messages",
    SETTING,
    super::fast_path::SETTING,
];

/// Functions that are not immutable but depend only on what the key
/// holds (the user, the settings, the server): a statement calling them is
/// cached.
const SESSION_FUNCTIONS: &[&str] = &[
    "current_user",
    "session_user",
    "user",
    "current_role",
    "current_setting",
    "current_schema",
    "current_schemas",
    "current_database",
    "current_catalog",
    "version",
    "pg_get_userbyid",
];

/// What identifies a result: statement, parameters, identity, settings.
pub type Key = String;

/// The live tables a statement read and the generations it read them at.
pub type Reads = Vec<(Arc<LiveTable>, u64)>;

/// A cached result.
pub struct Hit {
    pub schema: SchemaRef,
    pub batches: Vec<RecordBatch>,
}

impl Hit {
    /// The rows again, as a stream.
    pub fn stream(self) -> SendableRecordBatchStream {
        Box::pin(RecordBatchStreamAdapter::new(
            self.schema,
            futures::stream::iter(self.batches.into_iter().map(Ok)),
        ))
    }
}

struct Entry {
    schema: SchemaRef,
    batches: Vec<RecordBatch>,
    reads: Reads,
    bytes: usize,
    /// Its place in [`Inner::order`].
    used: u64,
}

#[derive(Default)]
struct Inner {
    entries: HashMap<Key, Entry>,
    /// Least recently used first.
    order: BTreeMap<u64, Key>,
    tick: u64,
    bytes: usize,
    /// The entries' bytes, held in the server's memory pool.
    reservation: Option<MemoryReservation>,
}

impl Inner {
    fn remove(&mut self, key: &str) -> Option<Entry> {
        let entry = self.entries.remove(key)?;
        self.order.remove(&entry.used);
        self.bytes -= entry.bytes;
        if let Some(r) = &mut self.reservation {
            r.shrink(entry.bytes.min(r.size()));
        }
        Some(entry)
    }
}

/// The server's result cache (one per server, shared by every session).
pub struct ResultCache {
    /// Bytes the entries may take together; 0: off.
    budget: AtomicUsize,
    pool: Arc<dyn MemoryPool>,
    /// Every live table: what a report call depends on.
    tables: Vec<Arc<LiveTable>>,
    inner: Mutex<Inner>,
    hits: AtomicU64,
    misses: AtomicU64,
    /// Entries dropped because a table they read has a newer snapshot.
    invalidations: AtomicU64,
    /// Entries dropped to make room.
    evictions: AtomicU64,
}

impl std::fmt::Debug for ResultCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ResultCache({:?})", self.stats())
    }
}

/// The counters `oko_cache_stats` shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Stats {
    pub hits: u64,
    pub misses: u64,
    pub invalidations: u64,
    pub evictions: u64,
    pub entries: u64,
    pub bytes: u64,
    pub budget_bytes: u64,
}

impl ResultCache {
    /// A cache over `tables` whose entries are counted in `pool`; off until
    /// it is given a budget.
    pub fn new(pool: Arc<dyn MemoryPool>, tables: Vec<Arc<LiveTable>>) -> ResultCache {
        ResultCache {
            budget: AtomicUsize::new(0),
            pool,
            tables,
            inner: Mutex::default(),
            hits: AtomicU64::new(0),
            misses: AtomicU64::new(0),
            invalidations: AtomicU64::new(0),
            evictions: AtomicU64::new(0),
        }
    }

    /// Sets the bytes the entries may take (0: off; what is cached beyond
    /// it is dropped).
    pub fn set_budget(&self, bytes: usize) {
        self.budget.store(bytes, Ordering::Relaxed);
        let mut inner = self.lock();
        self.evict_until(&mut inner, bytes);
    }

    fn budget(&self) -> usize {
        self.budget.load(Ordering::Relaxed)
    }

    /// Whether a session with these settings uses the cache.
    pub fn enabled_for(&self, vars: &Vars) -> bool {
        self.budget() > 0
            && !vars.get(SETTING).is_some_and(|v| {
                matches!(
                    v.trim().to_ascii_lowercase().as_str(),
                    "off" | "false" | "0" | "no"
                )
            })
    }

    /// The key of `statement` (its canonical text), with `parameters` (the
    /// extended protocol's bound values, `""` otherwise), for this user and
    /// these settings.
    pub fn key(statement: &str, parameters: &str, principal: &Principal, vars: &Vars) -> Key {
        let mut key = String::with_capacity(statement.len() + parameters.len() + 256);
        key.push_str(statement);
        key.push('\0');
        key.push_str(parameters);
        key.push('\0');
        key.push_str(&format!(
            "{}\0{:?}\0{}\0",
            principal.user,
            principal.role,
            principal.tenant.as_deref().unwrap_or("\u{1}all")
        ));
        for (name, value) in vars.all() {
            if !NOT_IN_KEY.contains(&name.as_str()) {
                key.push_str(&name);
                key.push('=');
                key.push_str(&value);
                key.push('\0');
            }
        }
        key
    }

    /// The result stored under `key`, if every table it read still serves
    /// the snapshot it was read at.
    pub fn get(&self, key: &str) -> Option<Hit> {
        let mut inner = self.lock();
        let entry = inner.entries.get(key)?;
        if entry.reads.iter().any(|(t, g)| t.generation() != *g) {
            inner.remove(key);
            self.invalidations.fetch_add(1, Ordering::Relaxed);
            return None;
        }
        inner.tick += 1;
        let tick = inner.tick;
        let entry = inner.entries.get_mut(key)?;
        let old = std::mem::replace(&mut entry.used, tick);
        let hit = Hit {
            schema: entry.schema.clone(),
            batches: entry.batches.clone(),
        };
        inner.order.remove(&old);
        inner.order.insert(tick, key.to_string());
        self.hits.fetch_add(1, Ordering::Relaxed);
        Some(hit)
    }

    /// What `plan` reads, with the generations now, when its result may be
    /// cached ([`reads`]); counts a miss then.
    pub fn cacheable(&self, plan: &LogicalPlan) -> Option<Reads> {
        let tables = reads(plan, &self.tables)?;
        self.misses.fetch_add(1, Ordering::Relaxed);
        Some(tables)
    }

    /// Every live table with its generation now, for a result that may
    /// depend on any of them (a report call, [`super::shared_reports`]);
    /// counts a miss.
    pub fn reads_now(&self) -> Reads {
        self.misses.fetch_add(1, Ordering::Relaxed);
        self.tables
            .iter()
            .map(|t| (t.clone(), t.generation()))
            .collect()
    }

    /// `stream`, whose batches are stored under `key` once it has been read
    /// to its end.
    pub fn fill(
        self: &Arc<Self>,
        key: Key,
        reads: Reads,
        stream: SendableRecordBatchStream,
    ) -> SendableRecordBatchStream {
        Box::pin(Filling {
            cache: self.clone(),
            key: Some(key),
            reads,
            schema: stream.schema(),
            inner: stream,
            batches: Vec::new(),
            bytes: 0,
            limit: self.budget() / 4,
        })
    }

    fn insert(&self, key: Key, schema: SchemaRef, batches: Vec<RecordBatch>, reads: Reads) {
        let bytes = key.len()
            + batches
                .iter()
                .map(RecordBatch::get_array_memory_size)
                .sum::<usize>();
        let budget = self.budget();
        if bytes > budget / 4 {
            return;
        }
        let mut inner = self.lock();
        inner.remove(&key);
        self.evict_until(&mut inner, budget.saturating_sub(bytes));
        let reservation = inner
            .reservation
            .get_or_insert_with(|| MemoryConsumer::new("oko result cache").register(&self.pool));
        // The pool is full of running queries: they come first.
        if reservation.try_grow(bytes).is_err() {
            return;
        }
        inner.tick += 1;
        let used = inner.tick;
        inner.order.insert(used, key.clone());
        inner.bytes += bytes;
        inner.entries.insert(
            key,
            Entry {
                schema,
                batches,
                reads,
                bytes,
                used,
            },
        );
    }

    /// Drops the least recently used entries until at most `bytes` are held.
    fn evict_until(&self, inner: &mut Inner, bytes: usize) {
        while inner.bytes > bytes {
            let Some((_, key)) = inner.order.pop_first() else {
                break;
            };
            if let Some(entry) = inner.entries.remove(&key) {
                inner.bytes -= entry.bytes;
                if let Some(r) = &mut inner.reservation {
                    r.shrink(entry.bytes.min(r.size()));
                }
                self.evictions.fetch_add(1, Ordering::Relaxed);
            }
        }
    }

    /// The counters now.
    pub fn stats(&self) -> Stats {
        let inner = self.lock();
        Stats {
            hits: self.hits.load(Ordering::Relaxed),
            misses: self.misses.load(Ordering::Relaxed),
            invalidations: self.invalidations.load(Ordering::Relaxed),
            evictions: self.evictions.load(Ordering::Relaxed),
            entries: inner.entries.len() as u64,
            bytes: inner.bytes as u64,
            budget_bytes: self.budget() as u64,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        match self.inner.lock() {
            Ok(g) => g,
            Err(poisoned) => poisoned.into_inner(),
        }
    }
}

/// A statement's rows on their way to the client, kept for the cache.
struct Filling {
    cache: Arc<ResultCache>,
    /// Taken when the entry is stored (or given up).
    key: Option<Key>,
    reads: Reads,
    schema: SchemaRef,
    inner: SendableRecordBatchStream,
    batches: Vec<RecordBatch>,
    bytes: usize,
    /// Past this the result is too big to keep.
    limit: usize,
}

impl Stream for Filling {
    type Item = Result<RecordBatch>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = &mut *self;
        let next = this.inner.as_mut().poll_next(cx);
        match &next {
            Poll::Ready(Some(Ok(batch))) if this.key.is_some() => {
                this.bytes += batch.get_array_memory_size();
                if this.bytes > this.limit {
                    this.key = None;
                    this.batches = Vec::new();
                } else {
                    this.batches.push(batch.clone());
                }
            }
            Poll::Ready(Some(Err(_))) => {
                this.key = None;
                this.batches = Vec::new();
            }
            Poll::Ready(None) => {
                if let Some(key) = this.key.take() {
                    let batches = std::mem::take(&mut this.batches);
                    let reads = std::mem::take(&mut this.reads);
                    this.cache.insert(key, this.schema.clone(), batches, reads);
                }
            }
            _ => {}
        }
        next
    }
}

impl RecordBatchStream for Filling {
    fn schema(&self) -> SchemaRef {
        self.schema.clone()
    }
}

/// The live tables `plan` reads (with their generations now), when its
/// result depends on nothing else: see the module's documentation.
pub fn reads(plan: &LogicalPlan, all: &[Arc<LiveTable>]) -> Option<Reads> {
    let mut tables: Vec<Arc<LiveTable>> = Vec::new();
    if !collect(plan, all, &mut tables, 0) {
        return None;
    }
    let mut reads: Reads = Vec::new();
    for t in tables {
        if !reads.iter().any(|(r, _)| Arc::ptr_eq(r, &t)) {
            let generation = t.generation();
            reads.push((t, generation));
        }
    }
    Some(reads)
}

/// Views nest; a view deeper than this is not cached.
const MAX_VIEW_DEPTH: usize = 16;

fn collect(
    plan: &LogicalPlan,
    all: &[Arc<LiveTable>],
    tables: &mut Vec<Arc<LiveTable>>,
    depth: usize,
) -> bool {
    if depth > MAX_VIEW_DEPTH {
        return false;
    }
    let mut ok = true;
    let _ = plan.apply_with_subqueries(|node| {
        let node_ok = match node {
            LogicalPlan::TableScan(scan) => match source_as_provider(&scan.source) {
                Ok(provider) => provider_reads(provider.as_ref(), all, tables, depth),
                Err(_) => false,
            },
            LogicalPlan::Projection(_)
            | LogicalPlan::Filter(_)
            | LogicalPlan::Window(_)
            | LogicalPlan::Aggregate(_)
            | LogicalPlan::Sort(_)
            | LogicalPlan::Join(_)
            | LogicalPlan::Repartition(_)
            | LogicalPlan::Union(_)
            | LogicalPlan::EmptyRelation(_)
            | LogicalPlan::Subquery(_)
            | LogicalPlan::SubqueryAlias(_)
            | LogicalPlan::Limit(_)
            | LogicalPlan::Values(_)
            | LogicalPlan::Distinct(_)
            | LogicalPlan::Unnest(_)
            | LogicalPlan::RecursiveQuery(_) => true,
            _ => false,
        };
        let node_ok = node_ok
            && node
                .apply_expressions(|e| {
                    e.apply(|e| {
                        if deterministic(e) {
                            Ok(TreeNodeRecursion::Continue)
                        } else {
                            ok = false;
                            Ok(TreeNodeRecursion::Stop)
                        }
                    })
                })
                .is_ok()
            && ok;
        if node_ok {
            Ok(TreeNodeRecursion::Continue)
        } else {
            ok = false;
            Ok(TreeNodeRecursion::Stop)
        }
    });
    ok
}

fn provider_reads(
    provider: &dyn TableProvider,
    all: &[Arc<LiveTable>],
    tables: &mut Vec<Arc<LiveTable>>,
    depth: usize,
) -> bool {
    if let Some(live) = provider.downcast_ref::<LiveTable>() {
        // The catalog holds the same `Arc`s the server keeps.
        match all.iter().find(|t| std::ptr::eq(t.as_ref(), live)) {
            Some(t) => {
                tables.push(t.clone());
                true
            }
            None => false,
        }
    } else if let Some(tenant) = provider.downcast_ref::<TenantTable>() {
        tables.push(tenant.live().clone());
        true
    } else if let Some(view) = provider.downcast_ref::<ViewTable>() {
        collect(view.logical_plan(), all, tables, depth + 1)
    } else if crate::engine::table_functions::is_report_call(provider)
        || crate::engine::parts::is_parts(provider)
    {
        tables.extend(all.iter().cloned());
        true
    } else {
        false
    }
}

/// Whether an expression gives the same value for the same key and rows.
fn deterministic(e: &Expr) -> bool {
    let (name, volatility) = match e {
        Expr::ScalarFunction(f) => (f.func.name(), f.func.signature().volatility),
        Expr::AggregateFunction(AggregateFunction { func, .. }) => {
            (func.name(), func.signature().volatility)
        }
        Expr::WindowFunction(w) => {
            let WindowFunction { fun, .. } = w.as_ref();
            match fun {
                WindowFunctionDefinition::AggregateUDF(f) => (f.name(), f.signature().volatility),
                WindowFunctionDefinition::WindowUDF(f) => (f.name(), f.signature().volatility),
            }
        }
        // A parameter left unbound: the plan is not a statement's result.
        Expr::Placeholder(_) => return false,
        _ => return true,
    };
    match volatility {
        Volatility::Immutable => true,
        Volatility::Stable => SESSION_FUNCTIONS.contains(&name),
        Volatility::Volatile => false,
    }
}

/// `oko_cache_stats`: one row of the cache's counters.
#[derive(Debug)]
pub struct StatsTable {
    cache: Arc<ResultCache>,
    schema: SchemaRef,
}

impl StatsTable {
    pub fn new(cache: Arc<ResultCache>) -> StatsTable {
        let schema = Arc::new(Schema::new(
            [
                "hits",
                "misses",
                "invalidations",
                "evictions",
                "entries",
                "bytes",
                "budget_bytes",
            ]
            .iter()
            .map(|n| Field::new(*n, DataType::Int64, false))
            .collect::<Vec<_>>(),
        ));
        StatsTable { cache, schema }
    }
}

#[async_trait]
impl TableProvider for StatsTable {
    fn schema(&self) -> SchemaRef {
        self.schema.clone()
    }

    fn table_type(&self) -> TableType {
        TableType::View
    }

    async fn scan(
        &self,
        _state: &dyn Session,
        projection: Option<&Vec<usize>>,
        _filters: &[Expr],
        _limit: Option<usize>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        let s = self.cache.stats();
        let columns = [
            s.hits,
            s.misses,
            s.invalidations,
            s.evictions,
            s.entries,
            s.bytes,
            s.budget_bytes,
        ]
        .iter()
        .map(|v| Arc::new(Int64Array::from(vec![*v as i64])) as _)
        .collect();
        let batch = RecordBatch::try_new(self.schema.clone(), columns)?;
        let exec: Arc<dyn ExecutionPlan> = MemorySourceConfig::try_new_exec(
            &[vec![batch]],
            self.schema.clone(),
            projection.cloned(),
        )?;
        Ok(exec)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::arrow::array::StringArray;
    use datafusion::execution::memory_pool::GreedyMemoryPool;

    fn batch(text: &str) -> (SchemaRef, Vec<RecordBatch>) {
        let schema = Arc::new(Schema::new(vec![Field::new("t", DataType::Utf8, false)]));
        let b = RecordBatch::try_new(
            schema.clone(),
            vec![Arc::new(StringArray::from(vec![text])) as _],
        )
        .unwrap();
        (schema, vec![b])
    }

    fn principal(tenant: Option<&str>) -> Principal {
        Principal {
            user: "u".into(),
            role: crate::auth::Role::Viewer,
            tenant: tenant.map(str::to_string),
        }
    }

    #[test]
    fn entries_stay_within_the_budget_least_recently_used_out_and_are_counted_in_the_pool() {
        let pool: Arc<dyn MemoryPool> = Arc::new(GreedyMemoryPool::new(1 << 30));
        let cache = ResultCache::new(pool.clone(), vec![]);
        let (schema, batches) = batch(&"x".repeat(100));
        let one = batches[0].get_array_memory_size() + 2;
        cache.set_budget(one * 4 + 3);
        for k in ["k0", "k1", "k2", "k3"] {
            cache.insert(k.into(), schema.clone(), batches.clone(), vec![]);
        }
        assert_eq!(cache.stats().entries, 4);
        assert_eq!(pool.reserved(), cache.stats().bytes as usize);
        // k0 is used, so k1 is the least recently used one.
        assert!(cache.get("k0").is_some());
        cache.insert("k4".into(), schema.clone(), batches.clone(), vec![]);
        let s = cache.stats();
        assert_eq!((s.entries, s.evictions, s.hits), (4, 1, 1));
        assert!(cache.get("k1").is_none());
        assert!(cache.get("k0").is_some() && cache.get("k4").is_some());
        assert!(s.bytes <= s.budget_bytes);
        assert_eq!(pool.reserved(), s.bytes as usize);
        // A result bigger than a quarter of the budget is not kept.
        let (schema, big) = batch(&"y".repeat(10_000));
        cache.insert("big".into(), schema, big, vec![]);
        assert!(cache.get("big").is_none());
        // Off: everything is handed back to the pool.
        cache.set_budget(0);
        assert_eq!((cache.stats().entries, pool.reserved()), (0, 0));
    }

    #[test]
    fn a_full_pool_keeps_nothing() {
        let pool: Arc<dyn MemoryPool> = Arc::new(GreedyMemoryPool::new(10));
        let cache = ResultCache::new(pool.clone(), vec![]);
        cache.set_budget(1 << 20);
        let (schema, batches) = batch("x");
        cache.insert("k".into(), schema, batches, vec![]);
        assert!(cache.get("k").is_none());
        assert_eq!(pool.reserved(), 0);
    }

    #[test]
    fn the_key_holds_identity_and_the_settings_that_change_results() {
        let vars = Vars::default();
        let base = ResultCache::key("SELECT 1", "", &principal(None), &vars);
        assert_ne!(
            base,
            ResultCache::key("SELECT 1", "", &principal(Some("okna")), &vars)
        );
        assert_ne!(
            base,
            ResultCache::key("SELECT 1", "[1]", &principal(None), &vars)
        );
        vars.set("application_name", "grafana").unwrap();
        vars.set("statement_timeout", "5s").unwrap();
        assert_eq!(
            base,
            ResultCache::key("SELECT 1", "", &principal(None), &vars)
        );
        for (name, value) in [
            ("timezone", "Asia/Tokyo"),
            ("datestyle", "German"),
            ("intervalstyle", "iso_8601"),
            ("extra_float_digits", "3"),
            ("search_path", "pg_catalog"),
            ("bytea_output", "escape"),
            ("myapp.flag", "on"),
        ] {
            let vars = Vars::default();
            vars.set(name, value).unwrap();
            assert_ne!(
                base,
                ResultCache::key("SELECT 1", "", &principal(None), &vars),
                "{name}"
            );
        }
    }

    #[tokio::test]
    async fn only_deterministic_queries_are_cacheable() {
        let ctx = datafusion::prelude::SessionContext::new();
        let plan = |sql: &'static str| {
            let ctx = ctx.clone();
            async move { ctx.sql(sql).await.unwrap().into_unoptimized_plan() }
        };
        assert!(reads(&plan("SELECT abs(-1) AS a").await, &[]).is_some());
        for sql in [
            "SELECT now()",
            "SELECT random()",
            "SELECT current_date",
            "EXPLAIN SELECT 1",
            "SELECT * FROM (VALUES (1)) v WHERE v.column1 < random()",
        ] {
            assert!(reads(&plan(sql).await, &[]).is_none(), "{sql}");
        }
        // A table of a kind the cache does not know (here: in memory).
        ctx.register_batch("m", batch("x").1.remove(0)).unwrap();
        assert!(reads(&plan("SELECT * FROM m").await, &[]).is_none());
    }
}
