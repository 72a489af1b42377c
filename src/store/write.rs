//! Writing to a Delta table, the same way for every writer (loads, the
//! server's inserts and deletes, compaction, retention, erasure): Parquet
//! settings, sort order, the commit of streamed files, delete and compact.

use std::num::NonZeroU64;

use anyhow::{Context, Result};
use datafusion::arrow::array::{Array, RecordBatch};
use datafusion::arrow::compute::{SortColumn, lexsort_to_indices, take_record_batch};
use datafusion::logical_expr::Expr;
use deltalake::DeltaTable;
use deltalake::kernel::Action;
use deltalake::kernel::transaction::{CommitBuilder, CommitProperties};
use deltalake::protocol::{DeltaOperation, SaveMode};
use deltalake::writer::{DeltaWriter, RecordBatchWriter};

use crate::model::Table;

/// Finishes the files the writer streamed and commits them, with the
/// load's application transaction, as one Delta version.
pub async fn commit_with(
    writer: &mut RecordBatchWriter,
    table: &mut DeltaTable,
    props: CommitProperties,
) -> Result<i64> {
    let adds: Vec<Action> = writer.flush().await?.into_iter().map(Action::Add).collect();
    let snapshot = table.snapshot()?;
    let partition_by: Vec<String> = snapshot.metadata().partition_columns().to_vec();
    let operation = DeltaOperation::Write {
        mode: SaveMode::Append,
        partition_by: (!partition_by.is_empty()).then_some(partition_by),
        predicate: None,
    };
    let finalized = CommitBuilder::from(props)
        .with_actions(adds)
        .build(Some(snapshot), table.log_store(), operation)
        .await?;
    Ok(finalized.version() as i64)
}

/// Finishes the files the writer streamed and commits them as the version
/// right after `table`'s snapshot — only if no other writer has committed
/// since. Returns the new version, or `None` when another commit came
/// first: nothing was committed and the files are deleted again.
///
/// Delta would rebase a plain append onto a concurrent one (appends never
/// conflict), but the server checked the rows against the snapshot —
/// their keys not stored yet — and another replica's commit may hold the
/// same keys: the caller must check them again against the newer snapshot
/// and write again. `info` is the commit's `commitInfo[key]` (an object);
/// it gets a unique `attempt` id, by which an answer lost on the way back
/// (the commit written but reported as failed) is told from a lost race.
pub async fn commit_if_latest(
    writer: &mut RecordBatchWriter,
    table: &mut DeltaTable,
    key: &str,
    mut info: serde_json::Value,
) -> Result<Option<i64>> {
    let attempt = attempt_id();
    if let Some(info) = info.as_object_mut() {
        info.insert("attempt".into(), attempt.clone().into());
    }
    let props = CommitProperties::default()
        .with_metadata([(key.to_string(), info)])
        .with_max_retries(0);
    let adds = writer.flush().await?;
    let snapshot = table.snapshot()?;
    let read_version = snapshot.version();
    let partition_by: Vec<String> = snapshot.metadata().partition_columns().to_vec();
    let operation = DeltaOperation::Write {
        mode: SaveMode::Append,
        partition_by: (!partition_by.is_empty()).then_some(partition_by),
        predicate: None,
    };
    let committed = CommitBuilder::from(props)
        .with_actions(adds.iter().cloned().map(Action::Add).collect())
        .build(Some(snapshot), table.log_store(), operation)
        .await;
    let error = match committed {
        Ok(done) => return Ok(Some(done.version() as i64)),
        Err(e) => e,
    };
    let lost_race = matches!(
        &error,
        deltalake::DeltaTableError::VersionAlreadyExists(_)
            | deltalake::DeltaTableError::Transaction {
                source: deltalake::kernel::transaction::TransactionError::MaxCommitAttempts(_)
            }
    );
    if !lost_race {
        return Err(error.into());
    }
    // Ours may be among the newer commits when the store wrote it but the
    // answer was lost; otherwise another writer was first.
    let log = table.log_store();
    let latest = log.get_latest_version(read_version).await?;
    for version in read_version + 1..=latest {
        if let Some(commit) = log.read_commit_entry(version).await?
            && commit_attempt(&commit, key).as_deref() == Some(attempt.as_str())
        {
            return Ok(Some(version as i64));
        }
    }
    use object_store::ObjectStoreExt;
    let store = table.object_store();
    for add in adds {
        let path = object_store::path::Path::from_url_path(&add.path)?;
        if let Err(e) = store.delete(&path).await {
            tracing::debug!("cannot delete the uncommitted file {}: {e}", add.path);
        }
    }
    Ok(None)
}

/// The `attempt` of `commitInfo[key]` in a commit's log entry.
fn commit_attempt(commit: &[u8], key: &str) -> Option<String> {
    commit
        .split(|b| *b == b'\n')
        .filter_map(|line| serde_json::from_slice::<serde_json::Value>(line).ok())
        .find_map(|action| {
            action
                .get("commitInfo")?
                .get(key)?
                .get("attempt")?
                .as_str()
                .map(str::to_string)
        })
}

/// An id no other commit attempt has: this process, the time, a counter.
fn attempt_id() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    format!(
        "{}-{nanos}-{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    )
}

/// Parquet settings of every file OKO writes.
pub fn writer_properties() -> deltalake::parquet::file::properties::WriterProperties {
    use deltalake::parquet::basic::Compression;
    use deltalake::parquet::file::properties::WriterProperties;
    use deltalake::parquet::schema::types::ColumnPath;
    let mut props = WriterProperties::builder()
        .set_compression(Compression::SNAPPY)
        .set_max_row_group_row_count(Some(128 * 1024));
    // Ids are (nearly) unique: a dictionary never pays for itself, the
    // encoder only hashes every value before falling back to plain.
    for id in UNIQUE_ID_COLUMNS {
        props = props.set_column_dictionary_enabled(ColumnPath::from(*id), false);
    }
    props.build()
}

/// Columns written without a dictionary (see [`writer_properties`]).
const UNIQUE_ID_COLUMNS: &[&str] = &["lead_id", "request_id", "rating_id", "client_id"];

/// Sorts a batch by the table's sort column when it is not sorted already.
pub fn sort_batch(batch: RecordBatch, table: Table) -> Result<RecordBatch> {
    let Some(col) = table.sort_column() else {
        return Ok(batch);
    };
    let Ok(idx) = batch.schema().index_of(col) else {
        return Ok(batch);
    };
    let array = batch.column(idx);
    let ts = array
        .as_any()
        .downcast_ref::<datafusion::arrow::array::TimestampMicrosecondArray>();
    if let Some(ts) = ts
        && ts.null_count() == 0
        && ts.values().windows(2).all(|w| w[0] <= w[1])
    {
        return Ok(batch);
    }
    let indices = lexsort_to_indices(
        &[SortColumn {
            values: array.clone(),
            options: None,
        }],
        None,
    )?;
    Ok(take_record_batch(&batch, &indices)?)
}

/// Deletes the rows of `delta` (model table `table`) matching `predicate` as one commit that
/// records why and who (`oko.<why>` in the commit's metadata). Returns the
/// table after it, the rows deleted and the files added and removed.
pub async fn delete(
    delta: DeltaTable,
    table: Table,
    predicate: Expr,
    why: &str,
    user: &str,
) -> Result<(DeltaTable, Deleted)> {
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
    let deleted = Deleted {
        rows: metrics.num_deleted_rows.unwrap_or(0) as u64,
        files_added: metrics.num_added_files as u64,
        files_removed: metrics.num_removed_files as u64,
    };
    Ok((after, deleted))
}

/// What one [`delete`] did.
#[derive(Debug, Clone, Copy, Default)]
pub struct Deleted {
    pub rows: u64,
    pub files_added: u64,
    pub files_removed: u64,
}

/// Rewrites the small files of each partition of `delta` into large ones
/// (about `target` bytes, Delta's default when `None`), in one commit that
/// changes no row. Returns the table after it and the files removed and
/// added.
pub async fn compact(
    delta: DeltaTable,
    table: Table,
    target: Option<NonZeroU64>,
) -> Result<(DeltaTable, (u64, u64))> {
    let mut optimize = delta.optimize().with_writer_properties(writer_properties());
    if let Some(target) = target {
        optimize = optimize.with_target_size(target);
    }
    let (after, metrics) = optimize
        .await
        .with_context(|| format!("cannot compact table {table}"))?;
    Ok((after, (metrics.num_files_removed, metrics.num_files_added)))
}

/// `table`'s model schema with every column nullable (rows read back from
/// the store, rows on their way to be checked).
pub fn nullable_schema(table: Table) -> datafusion::arrow::datatypes::SchemaRef {
    std::sync::Arc::new(datafusion::arrow::datatypes::Schema::new(
        table
            .schema()
            .fields()
            .iter()
            .map(|f| f.as_ref().clone().with_nullable(true))
            .collect::<Vec<_>>(),
    ))
}

/// `batch`'s columns in `table`'s model order and types, every field
/// nullable: stored partition columns come back dictionary-encoded and
/// scans may reorder; rows compared or rewritten must match the model.
pub fn to_model(table: Table, batch: &RecordBatch) -> Result<RecordBatch> {
    use datafusion::arrow::datatypes::{Field, Schema};
    let model = table.schema();
    let mut fields: Vec<Field> = Vec::with_capacity(model.fields().len());
    let mut arrays = Vec::with_capacity(model.fields().len());
    for f in model.fields() {
        let i = batch
            .schema()
            .index_of(f.name())
            .with_context(|| format!("the rows of {table} have no column {}", f.name()))?;
        arrays.push(datafusion::arrow::compute::cast(
            batch.column(i),
            f.data_type(),
        )?);
        fields.push(f.as_ref().clone().with_nullable(true));
    }
    Ok(RecordBatch::try_new(
        std::sync::Arc::new(Schema::new(fields)),
        arrays,
    )?)
}

/// Each row's values of `columns` as one string (values joined by U+001F,
/// NULL as U+0000): a key to match rows by.
pub fn row_keys(batch: &RecordBatch, columns: &[&str]) -> Result<Vec<String>> {
    use datafusion::arrow::util::display::array_value_to_string;
    let idx = columns
        .iter()
        .map(|c| batch.schema().index_of(c))
        .collect::<std::result::Result<Vec<_>, _>>()?;
    (0..batch.num_rows())
        .map(|r| {
            let mut parts = Vec::with_capacity(idx.len());
            for &i in &idx {
                let a = batch.column(i);
                parts.push(if a.is_null(r) {
                    "\u{0}".to_string()
                } else {
                    array_value_to_string(a, r)?
                });
            }
            Ok(parts.join("\u{1f}"))
        })
        .collect()
}

/// Commits, as **one** Delta version, the files `writer` streamed (a
/// load's new rows, or none) together with a replacement of stored rows:
/// the rows of `replaced` (stored rows, by key) are taken out and
/// `replacements` (their new versions, possibly in other partitions) go
/// in. Readers see the table before or after, never a lead missing or
/// twice.
///
/// Delta rewrites files, not rows: every file of a partition that holds a
/// replaced row is removed, and the partition's other rows are written
/// again with the replacements (after `oko compact` a partition is one
/// file, so this is the file Delta's own update would rewrite). The commit
/// is checked against commits made since `delta`'s snapshot: a concurrent
/// delete or compaction of the same files fails it, and nothing is
/// written. Returns the new version.
pub async fn commit_replacing(
    writer: &mut RecordBatchWriter,
    delta: &mut DeltaTable,
    table: Table,
    replaced: &RecordBatch,
    replacements: RecordBatch,
    props: CommitProperties,
) -> Result<i64> {
    use std::collections::{BTreeSet, HashSet};
    let partition_columns = table.partition_columns();
    // The partitions holding replaced rows, as their column values.
    let partitions: BTreeSet<String> = row_keys(replaced, partition_columns)?.into_iter().collect();
    let replaced_keys: HashSet<String> = row_keys(replaced, table.key())?.into_iter().collect();

    // The other rows of those partitions, to be written again.
    let ctx = datafusion::prelude::SessionContext::new();
    delta.update_datafusion_session(&ctx.state())?;
    ctx.register_table("t", delta.table_provider().await?)?;
    let condition = partition_condition(partition_columns, &partitions);
    let columns: Vec<String> = table
        .columns()
        .iter()
        .map(|c| format!("\"{}\"", c.name))
        .collect();
    let kept = ctx
        .sql(&format!(
            "SELECT {} FROM t WHERE {condition}",
            columns.join(", ")
        ))
        .await?
        .collect()
        .await?;
    let mut taken = 0usize;
    for b in kept {
        let b = to_model(table, &b)?;
        let keep: datafusion::arrow::array::BooleanArray = row_keys(&b, table.key())?
            .iter()
            .map(|k| Some(!replaced_keys.contains(k)))
            .collect();
        taken += keep.false_count();
        let b = datafusion::arrow::compute::filter_record_batch(&b, &keep)?;
        if b.num_rows() > 0 {
            writer
                .write(model_batch(table, sort_batch(b, table)?)?)
                .await?;
        }
    }
    if taken != replaced_keys.len() {
        anyhow::bail!(
            "table {table} changed while its rows were corrected ({} of {} rows found); \
             nothing was written, run it again",
            taken,
            replaced_keys.len()
        );
    }
    if replacements.num_rows() > 0 {
        writer
            .write(model_batch(table, sort_batch(replacements, table)?)?)
            .await?;
    }

    let snapshot = delta.snapshot()?;
    let mut actions: Vec<Action> = writer.flush().await?.into_iter().map(Action::Add).collect();
    for file in snapshot.log_data() {
        let values = file.partition_values_map();
        let key: Vec<String> = partition_columns
            .iter()
            .map(|c| match values.get(*c) {
                Some(Some(v)) => v.clone(),
                _ => "\u{0}".to_string(),
            })
            .collect();
        if partitions.contains(&key.join("\u{1f}")) {
            actions.push(Action::Remove(file.remove_action(true)));
        }
    }
    let operation = DeltaOperation::Update {
        predicate: Some(condition),
    };
    let finalized = CommitBuilder::from(props)
        .with_actions(actions)
        .build(Some(snapshot), delta.log_store(), operation)
        .await?;
    Ok(finalized.version() as i64)
}

/// A batch in the table's own schema (required columns not nullable), as
/// the Delta writer checks it against the table's.
fn model_batch(table: Table, batch: RecordBatch) -> Result<RecordBatch> {
    Ok(RecordBatch::try_new(
        table.schema(),
        batch.columns().to_vec(),
    )?)
}

/// `(a = 'x' AND b = 'y') OR …`: the rows of the given partitions (each the
/// values of `columns` joined as by [`row_keys`]), as SQL.
fn partition_condition(
    columns: &[&str],
    partitions: &std::collections::BTreeSet<String>,
) -> String {
    let quote = |v: &str| format!("'{}'", v.replace('\'', "''"));
    let parts: Vec<String> = partitions
        .iter()
        .map(|p| {
            let terms: Vec<String> = columns
                .iter()
                .zip(p.split('\u{1f}'))
                .map(|(c, v)| {
                    if v == "\u{0}" {
                        format!("\"{c}\" IS NULL")
                    } else {
                        format!("\"{c}\" = {}", quote(v))
                    }
                })
                .collect();
            format!("({})", terms.join(" AND "))
        })
        .collect();
    if parts.is_empty() {
        "false".to_string()
    } else {
        parts.join(" OR ")
    }
}
