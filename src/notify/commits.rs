//! New ratings from the commit log: the files an append added, read
//! straight from storage (compaction and deletes announce nothing).

use std::sync::Arc;

use anyhow::{Context, Result};
use chrono::{DateTime, Utc};
use datafusion::arrow::array::{Array, AsArray, RecordBatch};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, TimeUnit, TimestampMicrosecondType};
use datafusion::parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use object_store::path::Path;
use object_store::{ObjectStore, ObjectStoreExt};

use super::*;

/// The files a commit appended (path, tenant), when it is an append:
/// compaction and deletes rewrite rows that were announced before.
pub(super) fn appended_files(commit: &[u8]) -> Result<Vec<(String, String)>> {
    let mut operation = None;
    let mut adds = Vec::new();
    for line in commit.split(|b| *b == b'\n').filter(|l| !l.is_empty()) {
        let action: serde_json::Value = serde_json::from_slice(line)?;
        if let Some(op) = action
            .pointer("/commitInfo/operation")
            .and_then(|v| v.as_str())
        {
            operation = Some(op.to_string());
        }
        if let Some(add) = action.get("add") {
            if add.get("dataChange").and_then(|v| v.as_bool()) == Some(false) {
                continue;
            }
            let path = add
                .get("path")
                .and_then(|v| v.as_str())
                .context("an add action without a path")?;
            let tenant = add
                .pointer("/partitionValues/tenant")
                .and_then(|v| v.as_str())
                .unwrap_or_default();
            adds.push((path.to_string(), tenant.to_string()));
        }
    }
    Ok(if operation.as_deref() == Some("WRITE") {
        adds
    } else {
        Vec::new()
    })
}

/// Ratings read from a round's commits.
pub(super) struct Fresh {
    /// Ratings received before this are skipped (backfills).
    pub(super) since: DateTime<Utc>,
    pub(super) ratings: Vec<NewRating>,
    /// Fresh ratings beyond [`MAX_NEW_PER_ROUND`].
    pub(super) over: usize,
}

/// Reads one appended Parquet file of `ratings` into `out`.
pub(super) async fn read_file(
    store: &Arc<dyn ObjectStore>,
    path: &str,
    tenant: &str,
    version: u64,
    out: &mut Fresh,
) -> Result<()> {
    // Appended files are small (an insert) or bounded by the writer's
    // file size (a load): read whole, then decoded.
    let bytes = store
        .get(&Path::from_url_path(path)?)
        .await?
        .bytes()
        .await?;
    for b in ParquetRecordBatchReaderBuilder::try_new(bytes)?.build()? {
        let b = b?;
        let rating_id = text_column(&b, "rating_id")?;
        let lead_id = text_column(&b, "lead_id")?;
        let received = column(
            &b,
            "received_at",
            &DataType::Timestamp(TimeUnit::Microsecond, None),
        )?;
        let received = received.as_primitive::<TimestampMicrosecondType>();
        for i in 0..b.num_rows() {
            let (Some(rating_id), Some(lead_id)) = (rating_id[i].clone(), lead_id[i].clone())
            else {
                continue;
            };
            let received_at = if received.is_null(i) {
                continue;
            } else {
                DateTime::from_timestamp_micros(received.value(i)).unwrap_or_default()
            };
            if received_at < out.since {
                continue;
            }
            if out.ratings.len() >= MAX_NEW_PER_ROUND {
                out.over += 1;
                continue;
            }
            out.ratings.push(NewRating {
                version,
                tenant: tenant.to_string(),
                rating_id,
                lead_id,
                score_raw: None,
                score: None,
                received_at,
                in_view: false,
                lead_found: false,
                scope: None,
                channel: None,
                manager_id: None,
                manager: None,
                manager_label: None,
                client_id: None,
            });
        }
    }
    Ok(())
}

pub(super) fn column(b: &RecordBatch, name: &str, to: &DataType) -> Result<Arc<dyn Array>> {
    let c = b
        .column_by_name(name)
        .with_context(|| format!("the file has no column {name}"))?;
    Ok(cast(c, to)?)
}

/// A column as optional strings.
pub(super) fn text_column(b: &RecordBatch, name: &str) -> Result<Vec<Option<String>>> {
    let c = column(b, name, &DataType::Utf8)?;
    Ok(c.as_string::<i32>()
        .iter()
        .map(|v| v.map(str::to_string))
        .collect())
}
