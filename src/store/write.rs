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
