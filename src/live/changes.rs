//! What a range of commits changed in a table, row by row, read from the
//! Delta log and the files it names: the report parts ([`super::parts`])
//! recompute exactly the tenant-days these rows belong to.
//!
//! The net change of commits `from+1 ..= to` is the rows of the files they
//! added minus the rows of the files they removed, as multisets: a file
//! added and removed within the range cancels out, and a rewrite (a
//! `DELETE`, an `UPDATE`, a load's correction) that carries a row over
//! unchanged does not count it. Compaction (`dataChange: false`) changes no
//! row and is skipped. Removed files are still in storage until a vacuum;
//! when one is gone, or the log itself was cleaned up, or the change is too
//! large to hold row by row ([`MAX_CHANGED_BYTES`]: a big load), the answer
//! is `None` and the caller recomputes everything.

use std::collections::HashMap;
use std::sync::Arc;

use anyhow::{Context, Result};
use datafusion::arrow::array::{Array, ArrayRef, RecordBatch, StringArray, new_null_array};
use datafusion::arrow::compute::{cast, interleave};
use datafusion::arrow::datatypes::{DataType, Field, Schema};
use datafusion::arrow::row::{RowConverter, SortField};
use datafusion::parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use deltalake::logstore::LogStoreRef;
use object_store::ObjectStoreExt;
use object_store::path::Path;

use crate::model::Table;

/// One data file a commit added or removed.
struct FileAction {
    path: String,
    partition: HashMap<String, Option<String>>,
    /// Its size in bytes, as the log records it (0 when it does not).
    size: u64,
}

/// The most Parquet bytes read to find what a range of commits changed.
/// A bigger change (a large load, a rewrite of many months) is answered
/// `None`, and the caller recomputes everything — in the query memory pool,
/// spilling when it must — instead of holding every changed row here.
pub const MAX_CHANGED_BYTES: u64 = 64 * 1024 * 1024;

/// The rows commits `from+1 ..= to` of `table` changed (added or removed,
/// net), as `columns` (partition columns included), or `None` when the log
/// or a file it names can no longer be read, a commit changed the table's
/// metadata, or the files hold more than [`MAX_CHANGED_BYTES`].
pub async fn changed_rows(
    log: &LogStoreRef,
    table: Table,
    from: i64,
    to: i64,
    columns: &[&str],
) -> Result<Option<RecordBatch>> {
    // Net count per file: +1 added, -1 removed.
    let mut net: HashMap<String, (i64, FileAction)> = HashMap::new();
    for version in (from + 1).max(0)..=to {
        let Some(commit) = log.read_commit_entry(version as u64).await? else {
            tracing::info!(%table, version, "the commit is no longer in the log");
            return Ok(None);
        };
        for line in commit.split(|b| *b == b'\n').filter(|l| !l.is_empty()) {
            let action: serde_json::Value = serde_json::from_slice(line)?;
            if action.get("metaData").is_some() {
                tracing::info!(%table, version, "a commit changed the table's metadata");
                return Ok(None);
            }
            for (kind, sign) in [("add", 1), ("remove", -1)] {
                let Some(a) = action.get(kind) else { continue };
                if a.get("dataChange").and_then(|v| v.as_bool()) == Some(false) {
                    continue;
                }
                let path = a
                    .get("path")
                    .and_then(|v| v.as_str())
                    .context("a file action without a path")?
                    .to_string();
                let Some(values) = a.get("partitionValues").and_then(|v| v.as_object()) else {
                    // An old remove action without its partition: unknown rows.
                    tracing::info!(%table, version, "a file action without its partition");
                    return Ok(None);
                };
                let partition = values
                    .iter()
                    .map(|(k, v)| (k.clone(), v.as_str().map(str::to_string)))
                    .collect();
                let size = a.get("size").and_then(|v| v.as_u64()).unwrap_or(0);
                let entry = net.entry(path.clone()).or_insert((
                    0,
                    FileAction {
                        path,
                        partition,
                        size,
                    },
                ));
                entry.0 += sign;
            }
        }
    }
    let files: Vec<(i64, FileAction)> = net.into_values().filter(|(n, _)| *n != 0).collect();
    if files.is_empty() {
        return Ok(Some(empty(table, columns)));
    }
    let bytes: u64 = files.iter().map(|(_, f)| f.size).sum();
    if bytes > MAX_CHANGED_BYTES {
        tracing::info!(%table, bytes, "a change too large to read row by row");
        return Ok(None);
    }
    let store = log.object_store(None);
    let model = crate::store::write::nullable_schema(table);
    let mut batches: Vec<RecordBatch> = Vec::new();
    let mut signs: Vec<i64> = Vec::new();
    for (sign, file) in &files {
        let location = Path::from_url_path(&file.path)?;
        let bytes = match store.get(&location).await {
            Ok(r) => r.bytes().await?,
            Err(object_store::Error::NotFound { .. }) => {
                tracing::info!(%table, path = file.path, "a changed file is gone");
                return Ok(None);
            }
            Err(e) => return Err(e.into()),
        };
        for b in ParquetRecordBatchReaderBuilder::try_new(bytes)?.build()? {
            batches.push(to_model(&model, &b?, &file.partition)?);
            signs.push(*sign);
        }
    }
    // Net count of each distinct row.
    let converter = RowConverter::new(
        model
            .fields()
            .iter()
            .map(|f| SortField::new(f.data_type().clone()))
            .collect(),
    )?;
    let mut counts: HashMap<Vec<u8>, (i64, usize, usize)> = HashMap::new();
    for (i, (b, sign)) in batches.iter().zip(&signs).enumerate() {
        let rows = converter.convert_columns(b.columns())?;
        for (r, row) in rows.iter().enumerate() {
            let e = counts.entry(row.as_ref().to_vec()).or_insert((0, i, r));
            e.0 += sign;
        }
    }
    let picks: Vec<(usize, usize)> = counts
        .into_values()
        .filter(|(n, _, _)| *n != 0)
        .map(|(_, b, r)| (b, r))
        .collect();
    let mut out: Vec<ArrayRef> = Vec::new();
    let mut fields = Vec::new();
    for name in columns {
        let (at, field) = model
            .column_with_name(name)
            .with_context(|| format!("table {table} has no column {name}"))?;
        let arrays: Vec<&dyn Array> = batches.iter().map(|b| b.column(at).as_ref()).collect();
        out.push(interleave(&arrays, &picks)?);
        fields.push(field.clone());
    }
    Ok(Some(RecordBatch::try_new(
        Arc::new(Schema::new(fields)),
        out,
    )?))
}

/// A file's rows in the model's columns and types: partition columns from
/// the log, a column the file lacks (written before the model had it) as
/// NULL.
fn to_model(
    model: &Schema,
    batch: &RecordBatch,
    partition: &HashMap<String, Option<String>>,
) -> Result<RecordBatch> {
    let n = batch.num_rows();
    let mut columns: Vec<ArrayRef> = Vec::with_capacity(model.fields().len());
    for field in model.fields() {
        let column = match partition.get(field.name()) {
            Some(value) => {
                let text: ArrayRef = Arc::new(StringArray::from(vec![value.clone(); n]));
                cast(&text, field.data_type())?
            }
            None => match batch.column_by_name(field.name()) {
                Some(c) if c.data_type() == field.data_type() => c.clone(),
                Some(c) => cast(c, field.data_type())?,
                None => new_null_array(field.data_type(), n),
            },
        };
        columns.push(column);
    }
    Ok(RecordBatch::try_new(Arc::new(model.clone()), columns)?)
}

fn empty(table: Table, columns: &[&str]) -> RecordBatch {
    let model = crate::store::write::nullable_schema(table);
    let fields: Vec<Field> = columns
        .iter()
        .map(|c| {
            model
                .field_with_name(c)
                .cloned()
                .unwrap_or_else(|_| Field::new(*c, DataType::Utf8, true))
        })
        .collect();
    RecordBatch::new_empty(Arc::new(Schema::new(fields)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::StoreConfig;
    use crate::store::Store;
    use datafusion::arrow::array::{Int32Array, StringArray, TimestampMicrosecondArray};
    use datafusion::prelude::{col, lit};

    fn ratings(ids: &[&str], scores: &[i32]) -> RecordBatch {
        let n = ids.len();
        let model = Table::Ratings.schema();
        RecordBatch::try_new(
            model.clone(),
            vec![
                Arc::new(StringArray::from(vec!["t"; n])),
                Arc::new(StringArray::from(ids.to_vec())),
                Arc::new(StringArray::from(
                    ids.iter().map(|i| format!("L{i}")).collect::<Vec<_>>(),
                )),
                Arc::new(StringArray::from(vec![None::<&str>; n])),
                Arc::new(Int32Array::from(scores.to_vec())),
                Arc::new(
                    TimestampMicrosecondArray::from(vec![1_700_000_000_000_000i64; n])
                        .with_timezone("UTC"),
                ),
            ],
        )
        .unwrap()
    }

    fn ids(batch: &RecordBatch) -> Vec<String> {
        let c = cast(batch.column(1), &DataType::Utf8).unwrap();
        let mut v: Vec<String> = c
            .as_any()
            .downcast_ref::<StringArray>()
            .unwrap()
            .iter()
            .map(|s| s.unwrap().to_string())
            .collect();
        v.sort();
        v
    }

    #[tokio::test]
    async fn a_rewrite_counts_only_the_rows_it_changed() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&StoreConfig {
            url: dir.path().display().to_string(),
            ..Default::default()
        })
        .unwrap();
        let delta = store.table_or_create(Table::Ratings).await.unwrap();
        let start = delta.version().unwrap() as i64;
        let delta = delta
            .write(vec![ratings(&["a", "b", "c", "d"], &[5, 4, 3, 2])])
            .await
            .unwrap();
        let log = delta.log_store();
        let columns = ["tenant", "rating_id"];
        let v1 = delta.version().unwrap() as i64;
        let added = changed_rows(&log, Table::Ratings, start, v1, &columns)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(ids(&added), ["a", "b", "c", "d"]);
        // A delete rewrites the file: b and c carried over, not changed.
        let (delta, _) = crate::store::write::delete(
            delta,
            Table::Ratings,
            col("rating_id").in_list(vec![lit("a"), lit("d")], false),
            "test",
            "test",
        )
        .await
        .unwrap();
        let v2 = delta.version().unwrap() as i64;
        let deleted = changed_rows(&log, Table::Ratings, v1, v2, &columns)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(ids(&deleted), ["a", "d"]);
        // Over both commits: a and d were added and removed (no net
        // change), b and c were added.
        let net = changed_rows(&log, Table::Ratings, start, v2, &columns)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(ids(&net), ["b", "c"]);
        // A vacuum removes the deleted file: the changes are unreadable.
        delta
            .vacuum()
            .with_retention_period(chrono::Duration::zero())
            .with_enforce_retention_duration(false)
            .await
            .unwrap();
        assert!(
            changed_rows(&log, Table::Ratings, v1, v2, &columns)
                .await
                .unwrap()
                .is_none()
        );
    }
}
