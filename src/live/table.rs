//! Tables that follow the store: a [`LiveTable`] is a DataFusion table
//! provider whose Delta snapshot is swapped for a newer one when a load or an
//! insert commits, so views built over it (their plans hold the provider)
//! and every open session see new rows without a restart.

use std::sync::{Arc, RwLock, Weak};
use std::time::Duration;

use anyhow::Context;
use datafusion::arrow::array::RecordBatch;
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::catalog::TableProvider;
use datafusion::common::Result;
use datafusion::logical_expr::Expr;
use deltalake::DeltaTable;
use deltalake::writer::{DeltaWriter, RecordBatchWriter};
use tokio::sync::Mutex;

use super::plain_scan::StoreFiles;
use crate::model::Table;
use datafusion::arrow::compute::concat_batches;
use datafusion::common::DataFusionError;
use datafusion::prelude::SessionContext;
use futures::FutureExt;
use std::sync::atomic::{AtomicBool, Ordering};
use tokio::sync::oneshot;

/// Insert commits between the checkpoints the server writes.
const CHECKPOINT_EVERY: u64 = 10;

/// Times one group commit is checked and written again after another
/// server committed into the table first.
const MAX_COMMIT_ATTEMPTS: u32 = 20;

/// A table provider that always scans the newest snapshot it was given.
#[derive(Debug)]
pub struct LiveTable {
    /// Itself, for the insert sinks it hands out.
    pub(super) me: Weak<LiveTable>,
    pub table: Table,
    /// Fixed at creation: every snapshot of a table has the same columns.
    pub(super) schema: SchemaRef,
    current: RwLock<Arc<dyn TableProvider>>,
    /// The data files of the served snapshot, for a plain scan of it
    /// ([`super::plain_scan`]).
    files: RwLock<Arc<StoreFiles>>,
    /// The Delta table, kept to refresh the snapshot incrementally.
    delta: Mutex<DeltaTable>,
    /// Held by a writer from its checks to its commit.
    writers: Mutex<()>,
    /// Insert commits since the last compaction.
    inserts_since_compaction: std::sync::atomic::AtomicU64,
    /// Statements waiting for the next group commit.
    queue: std::sync::Mutex<Vec<Queued>>,
    /// The bytes of the served snapshot's data files ([`LiveTable::stored_bytes`]).
    bytes: std::sync::atomic::AtomicU64,
    /// A committer task is draining `queue`.
    committing: AtomicBool,
    /// Snapshots served so far: bumped by every swap ([`LiveTable::generation`]).
    generation: std::sync::atomic::AtomicU64,
    /// The Delta version served ([`LiveTable::version`]).
    version: std::sync::atomic::AtomicI64,
}

/// One `INSERT` statement's checked rows, waiting to be committed together
/// with the others queued beside it.
struct Queued {
    batch: RecordBatch,
    user: String,
    /// Every tenant's tables, for the group's checks.
    engine: SessionContext,
    reply: oneshot::Sender<Result<i64>>,
}

impl std::fmt::Debug for Queued {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Queued({} rows by {})", self.batch.num_rows(), self.user)
    }
}

impl LiveTable {
    /// Wraps a loaded Delta table.
    pub async fn new(table: Table, delta: DeltaTable) -> anyhow::Result<Arc<LiveTable>> {
        let provider = delta.table_provider().await?;
        let files = RwLock::new(Arc::new(StoreFiles::of(&delta)?));
        let bytes = data_bytes(&delta).into();
        let version = delta.version().map_or(-1, |v| v as i64).into();
        Ok(Arc::new_cyclic(|me| LiveTable {
            me: me.clone(),
            table,
            schema: provider.schema(),
            current: RwLock::new(provider),
            files,
            delta: Mutex::new(delta),
            writers: Mutex::new(()),
            inserts_since_compaction: Default::default(),
            queue: Default::default(),
            bytes,
            committing: AtomicBool::new(false),
            generation: Default::default(),
            version,
        }))
    }

    pub fn schema_ref(&self) -> &SchemaRef {
        &self.schema
    }

    /// Waits for this table's writers before this one to finish.
    pub async fn writer_turn(&self) -> tokio::sync::MutexGuard<'_, ()> {
        self.writers.lock().await
    }

    /// Commits one statement's rows (in the model's schema, checked on
    /// their own) and returns the new version once they are committed.
    ///
    /// Group commit: statements that arrive while a commit is under way
    /// queue up and the next commit takes them all — one Delta commit for
    /// many statements, so a table's writers do not wait in line one commit
    /// each. The group's checks ([`super::settle::settle`]: stored and
    /// repeated keys, moderations' previous scores) run on the whole group
    /// in order (arrival; `moderated_at` for moderations); a statement that
    /// fails them gets its own error and nothing of it is written, the
    /// others commit. The commit runs in its own task, so a statement
    /// cancelled while it waits does not stop the group: its rows may still
    /// be committed, as when a cancel reaches PostgreSQL during COMMIT.
    pub async fn append_queued(
        &self,
        batch: RecordBatch,
        user: &str,
        engine: SessionContext,
    ) -> Result<i64> {
        let (reply, answer) = oneshot::channel();
        lock(&self.queue).push(Queued {
            batch,
            user: user.to_string(),
            engine,
            reply,
        });
        if !self.committing.swap(true, Ordering::AcqRel) {
            let me = self
                .me
                .upgrade()
                .ok_or_else(|| DataFusionError::Internal("the table is closing".into()))?;
            tokio::spawn(me.commit_queued());
        }
        answer.await.map_err(|_| {
            DataFusionError::External(
                format!(
                    "the commit into table {} stopped before it answered; the rows may not be written",
                    self.table
                )
                .into(),
            )
        })?
    }

    /// Commits queued groups until the queue is empty.
    async fn commit_queued(self: Arc<Self>) {
        loop {
            let group = std::mem::take(&mut *lock(&self.queue));
            if group.is_empty() {
                self.committing.store(false, Ordering::Release);
                // A statement queued between the take and the store saw a
                // committer at work and left it to us: look again.
                if lock(&self.queue).is_empty() || self.committing.swap(true, Ordering::AcqRel) {
                    return;
                }
                continue;
            }
            // A panic in the checks must not leave the table without a
            // committer: its statements get an error (their answers drop),
            // the next group goes on.
            if std::panic::AssertUnwindSafe(self.commit_group(group))
                .catch_unwind()
                .await
                .is_err()
            {
                tracing::error!(table = %self.table, "a group commit failed internally");
            }
        }
    }

    async fn commit_group(&self, group: Vec<Queued>) {
        let _turn = self.writer_turn().await;
        let engine = group[0].engine.clone();
        // Each statement's rows as it sent them, its user and its answer.
        let mut pending: Vec<(RecordBatch, String, oneshot::Sender<Result<i64>>)> = group
            .into_iter()
            .map(|q| (q.batch, q.user, q.reply))
            .collect();
        let mut attempt = 1;
        loop {
            // Held from the check to the commit: no refresh serves a newer
            // snapshot in between, so the rows are checked against the
            // snapshot the commit follows (a replica's commit that came
            // meanwhile makes the commit fail, and the check run again).
            let mut delta = self.delta_held().await;
            let batches = pending.iter().map(|(b, _, _)| b.clone()).collect();
            let settled = super::settle::settle(self.table, &engine, batches).await;
            let mut accepted = Vec::new();
            let mut still = Vec::new();
            for (result, member) in settled.into_iter().zip(pending) {
                match result {
                    Ok(batch) => {
                        accepted.push(batch);
                        still.push(member);
                    }
                    Err(e) => {
                        let _ = member.2.send(Err(e));
                    }
                }
            }
            pending = still;
            if accepted.is_empty() {
                return;
            }
            let users: Vec<String> = pending.iter().map(|(_, u, _)| u.clone()).collect();
            let statements = accepted.len();
            let appended = self.append(&mut delta, accepted, &users).await;
            drop(delta);
            let outcome = match appended {
                Ok(Some(version)) => Ok(version),
                // Another replica committed since the snapshot the group
                // was checked against: check it again against theirs.
                Ok(None) if attempt < MAX_COMMIT_ATTEMPTS => {
                    tracing::debug!(table = %self.table, attempt, "another writer committed first; checking again");
                    attempt += 1;
                    match self.refresh().await {
                        Ok(_) => continue,
                        Err(e) => Err(e),
                    }
                }
                Ok(None) => Err(anyhow::anyhow!(
                    "table {} is being written by other servers: {MAX_COMMIT_ATTEMPTS} commits \
                     in a row lost the race; nothing was written, run it again",
                    self.table
                )),
                Err(e) => Err(e),
            };
            match outcome {
                Ok(version) => {
                    tracing::debug!(table = %self.table, statements, version, "group committed");
                    for (_, _, reply) in pending {
                        let _ = reply.send(Ok(version));
                    }
                }
                Err(e) => {
                    let message = format!("{e:#}");
                    for (_, _, reply) in pending {
                        let _ = reply.send(Err(DataFusionError::External(message.clone().into())));
                    }
                }
            }
            return;
        }
    }

    /// Appends the statements' rows as one commit and serves the new
    /// snapshot at once. Returns the new version, or `None` when another
    /// writer (another server over the same store) committed since the
    /// snapshot the rows were checked against: nothing is written then.
    async fn append(
        &self,
        delta: &mut DeltaTable,
        batches: Vec<RecordBatch>,
        users: &[String],
    ) -> anyhow::Result<Option<i64>> {
        let table = self.table;
        let batch = concat_batches(&table.schema(), &batches)?;
        let batch = crate::store::write::sort_batch(batch, table)?;
        let rows = batch.num_rows();
        let mut writer = RecordBatchWriter::for_table(delta)
            .with_context(|| format!("cannot write to table {table}"))?
            .with_writer_properties(crate::store::write::writer_properties());
        writer.write(batch).await?;
        let info = serde_json::json!({ "users": users, "rows": rows, "statements": batches.len() });
        let Some(version) =
            crate::store::write::commit_if_latest(&mut writer, delta, "oko.insert", info)
                .await
                .with_context(|| format!("cannot commit the insert into table {table}"))?
        else {
            return Ok(None);
        };
        self.inserts_since_compaction
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        delta.update_incremental(None).await?;
        // An incrementally updated snapshot replays every commit since the
        // one it was loaded from, so each insert cost more than the last
        // (10M store: 7 → 25 ms to commit, 2 → 20 ms to update, over
        // Delta's checkpoint interval of 100). Every CHECKPOINT_EVERY
        // commits: a checkpoint, and a snapshot loaded fresh from it.
        if version > 0 && (version as u64).is_multiple_of(CHECKPOINT_EVERY) {
            match deltalake::checkpoints::create_checkpoint(delta, None).await {
                Ok(()) => load_fresh(delta).await?,
                Err(e) => tracing::warn!(table = %table, version, "cannot write a checkpoint: {e}"),
            }
        }
        self.serve(delta).await?;
        Ok(Some(version))
    }

    /// The Delta table, held: a writer that reads stored rows and commits
    /// a change made from them ([`super::update`]) holds it from the read
    /// to the commit, so no refresh swaps the snapshot in between.
    pub(super) async fn delta_held(&self) -> tokio::sync::MutexGuard<'_, DeltaTable> {
        self.delta.lock().await
    }

    /// Serves `delta`'s snapshot to the next scan.
    pub(super) async fn serve(&self, delta: &DeltaTable) -> anyhow::Result<()> {
        let provider = delta.table_provider().await?;
        let files = Arc::new(StoreFiles::of(delta)?);
        self.bytes.store(data_bytes(delta), Ordering::Relaxed);
        match self.current.write() {
            Ok(mut p) => *p = provider,
            Err(poisoned) => *poisoned.into_inner() = provider,
        }
        match self.files.write() {
            Ok(mut f) => *f = files,
            Err(poisoned) => *poisoned.into_inner() = files,
        }
        self.version
            .store(delta.version().map_or(-1, |v| v as i64), Ordering::Release);
        self.generation.fetch_add(1, Ordering::Release);
        Ok(())
    }

    /// How many snapshots this table has served since it was opened: it
    /// changes with every commit that becomes visible (loads, inserts,
    /// deletes, compactions, another process's commits), never goes back,
    /// and is bumped only after the new snapshot is in place. The result
    /// cache ([`crate::server::result_cache`]) keys on it: a result computed
    /// when it read `n` is valid while it still reads `n`.
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    /// The Delta version of the served snapshot (-1: the table has no
    /// commit). Set before [`LiveTable::generation`] is bumped: a reader
    /// that sees a generation sees at least its version. The report parts
    /// ([`super::parts`]) are labelled with the versions they were built
    /// from.
    pub fn version(&self) -> i64 {
        self.version.load(Ordering::Acquire)
    }

    /// The Delta log of the table (to read what a range of commits did).
    pub async fn log_store(&self) -> deltalake::logstore::LogStoreRef {
        self.delta.lock().await.log_store()
    }

    /// The bytes of the data files the served snapshot reads, as its Delta
    /// log lists them: the table's size for PostgreSQL's `pg_table_size`.
    pub fn stored_bytes(&self) -> u64 {
        self.bytes.load(Ordering::Relaxed)
    }

    /// The data files of the served snapshot. Swapped a moment after the
    /// provider: a scan may read the newer or the older of two snapshots,
    /// each whole.
    pub(super) fn files(&self) -> Arc<StoreFiles> {
        match self.files.read() {
            Ok(f) => f.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    pub(super) fn provider(&self) -> Arc<dyn TableProvider> {
        match self.current.read() {
            Ok(p) => p.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// Deletes the rows matching `predicate` as one commit and serves the
    /// new snapshot at once. Returns the number of rows deleted.
    pub async fn delete(&self, predicate: Expr, user: &str) -> anyhow::Result<u64> {
        let mut delta = self.delta.lock().await;
        let (table, deleted) =
            crate::store::write::delete(delta.clone(), self.table, predicate, "delete", user)
                .await?;
        *delta = table;
        self.serve(&delta).await?;
        Ok(deleted.rows)
    }

    /// Compacts the table when `after` insert commits (each a small file per
    /// partition) have been committed since the last time: Delta's
    /// bin-packing rewrites each partition's small files into large ones, in
    /// one commit that changes no row. Writers wait meanwhile. Returns the
    /// files removed and added, when it ran.
    pub async fn compact_if_due(&self, after: u64) -> anyhow::Result<Option<(u64, u64)>> {
        use std::sync::atomic::Ordering;
        if after == 0 || self.inserts_since_compaction.load(Ordering::Relaxed) < after {
            return Ok(None);
        }
        let _turn = self.writer_turn().await;
        let mut delta = self.delta.lock().await;
        delta.update_incremental(None).await?;
        let (compacted, (removed, added)) =
            crate::store::write::compact(delta.clone(), self.table, None).await?;
        *delta = compacted;
        self.serve(&delta).await?;
        self.inserts_since_compaction.store(0, Ordering::Relaxed);
        Ok(Some((removed, added)))
    }

    /// Loads commits newer than the current snapshot, if any. Returns the
    /// version now served when it changed.
    pub async fn refresh(&self) -> anyhow::Result<Option<u64>> {
        let mut delta = self.delta.lock().await;
        let before = delta.version();
        let latest = delta.get_latest_version().await?;
        if before.is_some_and(|v| v >= latest) {
            return Ok(None);
        }
        // Commits of other processes (loads): from their checkpoint, not
        // replayed onto a snapshot that grows with every one of them.
        load_fresh(&mut delta).await?;
        self.serve(&delta).await?;
        Ok(delta.version())
    }
}

/// The bytes of the data files of `delta`'s snapshot (0 before its first
/// commit).
fn data_bytes(delta: &DeltaTable) -> u64 {
    delta.snapshot().map_or(0, |s| {
        s.log_data()
            .into_iter()
            .map(|f| u64::try_from(f.size()).unwrap_or(0))
            .sum()
    })
}

/// Refreshes every table every `period` until the task is dropped.
/// How often freed memory is handed back to the system.
const TRIM_EVERY: Duration = Duration::from_secs(5);

/// glibc keeps memory freed by finished queries in per-thread arenas; under
/// mixed reads and writes the server's resident size grew with it
/// (`benches/README.md`, section C). `malloc_trim` hands the free pages of
/// every arena back. A no-op with other C libraries.
fn return_free_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        unsafe extern "C" {
            fn malloc_trim(pad: usize) -> i32;
        }
        // SAFETY: malloc_trim only releases free memory of the allocator
        // this process already uses; it takes no pointers.
        unsafe {
            malloc_trim(0);
        }
    }
}

/// Refreshes every table every `period` until the task is dropped, and
/// compacts a table after `compact_after` SQL inserts (0: never).
pub async fn refresh_forever(tables: Vec<Arc<LiveTable>>, period: Duration, compact_after: u64) {
    let mut tick = tokio::time::interval(period);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut last_trim = std::time::Instant::now();
    loop {
        tick.tick().await;
        if last_trim.elapsed() >= TRIM_EVERY {
            return_free_memory();
            last_trim = std::time::Instant::now();
        }
        for t in &tables {
            match t.refresh().await {
                Ok(Some(v)) => tracing::debug!(table = %t.table, version = v, "new snapshot"),
                Ok(None) => {}
                Err(e) => tracing::warn!(table = %t.table, "cannot refresh: {e:#}"),
            }
            match t.compact_if_due(compact_after).await {
                Ok(Some((removed, added))) => {
                    tracing::info!(table = %t.table, removed, added, "compacted")
                }
                Ok(None) => {}
                Err(e) => tracing::warn!(table = %t.table, "cannot compact: {e:#}"),
            }
        }
    }
}

/// Replaces `delta`'s snapshot with one loaded from the latest checkpoint
/// and the commits after it (an incremental update replays every commit
/// since the snapshot it started from).
async fn load_fresh(delta: &mut DeltaTable) -> deltalake::DeltaResult<()> {
    let mut fresh = DeltaTable::new(delta.log_store());
    fresh.load().await?;
    *delta = fresh;
    Ok(())
}

/// A std mutex's data, also after a panic elsewhere poisoned it.
fn lock<T>(m: &std::sync::Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}
