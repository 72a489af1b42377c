//! The kept report parts on the store, beside the facts: the Delta tables
//! `report_parts_day` and `report_parts_hour` under the store's root, each
//! commit labelled (`oko.parts` in its commit info) with the fact versions
//! the parts were computed from, each tenant's clock and service level, and
//! a fingerprint of the SQL and settings that computed them.
//!
//! They save a restart the full build: a server that starts finds the saved
//! parts, checks the fingerprint, and catches up from their label with the
//! changes committed since ([`super::parts`]), exactly as after a commit of
//! its own. The saved parts are never read by a report directly, so a save
//! that is behind (they are written at most every [`SAVE_EVERY`]) or lost
//! costs time at the next start, never a wrong number.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};
use datafusion::arrow::array::{ArrayRef, RecordBatch};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef, TimeUnit};
use datafusion::prelude::SessionContext;
use deltalake::kernel::transaction::CommitProperties;
use deltalake::protocol::SaveMode;
use serde::{Deserialize, Serialize};

use crate::engine::parts::{Grain, Kept};
use crate::store::Store;

/// The least time between two saves.
pub const SAVE_EVERY: Duration = Duration::from_secs(60);

/// The commit-info key of a save's label.
const LABEL: &str = "oko.parts";

/// What a save was computed from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Label {
    pub versions: Vec<(String, i64)>,
    pub tenants: BTreeMap<String, String>,
    pub fingerprint: String,
}

/// Writes both grains of `kept` (replacing what was saved) and deletes the
/// replaced files at once: the saved parts have no history worth keeping.
pub async fn save(store: &Store, kept: &Kept, label: &Label) -> Result<()> {
    for grain in Grain::ALL {
        let batches: Vec<RecordBatch> = kept
            .rows
            .iter()
            .filter(|((g, _), _)| *g == grain)
            .flat_map(|(_, days)| days.values())
            .filter(|b| b.num_rows() > 0)
            .map(to_storage)
            .collect::<Result<_>>()?;
        if batches.is_empty() {
            continue;
        }
        let table = store.derived(grain.table()).await?;
        let props = CommitProperties::default()
            .with_metadata([(LABEL.to_string(), serde_json::to_value(label)?)]);
        let table = table
            .write(batches)
            .with_save_mode(SaveMode::Overwrite)
            .with_schema_mode(deltalake::operations::write::SchemaMode::Overwrite)
            .with_commit_properties(props)
            .await
            .with_context(|| format!("cannot save {}", grain.table()))?;
        table
            .vacuum()
            .with_retention_period(chrono::Duration::zero())
            .with_enforce_retention_duration(false)
            .await
            .with_context(|| format!("cannot vacuum {}", grain.table()))?;
    }
    Ok(())
}

/// The saved parts and their label, when both grains were saved by the
/// same save with `fingerprint`; `None` otherwise (nothing saved yet,
/// another OKO's SQL or settings, a save cut short). `schemas`: the
/// columns of each grain as the keeper computes them.
pub async fn load(
    store: &Store,
    fingerprint: &str,
    schemas: &HashMap<Grain, SchemaRef>,
) -> Result<Option<(Kept, Label)>> {
    let mut label: Option<Label> = None;
    let mut rows = HashMap::new();
    for grain in Grain::ALL {
        let table = store.derived(grain.table()).await?;
        let Some(version) = table.version() else {
            return Ok(None);
        };
        let Some(commit) = table.log_store().read_commit_entry(version).await? else {
            return Ok(None);
        };
        let Some(this) = commit_label(&commit)? else {
            return Ok(None);
        };
        if this.fingerprint != fingerprint || label.as_ref().is_some_and(|l| *l != this) {
            return Ok(None);
        }
        label = Some(this);
        let schema = schemas.get(&grain).context("a grain without columns")?;
        let ctx = SessionContext::new();
        table.update_datafusion_session(&ctx.state())?;
        ctx.register_table("saved", table.table_provider().await?)?;
        for b in ctx.sql("SELECT * FROM saved").await?.collect().await? {
            let b = from_storage(&b, schema)?;
            for (tenant, part) in super::parts::by_tenant(&b)? {
                rows.entry((grain, tenant))
                    .or_insert_with(Vec::new)
                    .push(part);
            }
        }
    }
    let Some(label) = label else { return Ok(None) };
    let rows = rows
        .into_iter()
        .map(|((grain, tenant), parts): (_, Vec<RecordBatch>)| {
            Ok((
                (grain, tenant),
                crate::engine::parts::by_day(grain, &parts)?,
            ))
        })
        .collect::<Result<HashMap<_, _>>>()?;
    Ok(Some((
        Kept {
            versions: label.versions.clone(),
            rows,
        },
        label,
    )))
}

fn commit_label(commit: &[u8]) -> Result<Option<Label>> {
    for line in commit.split(|b| *b == b'\n').filter(|l| !l.is_empty()) {
        let action: serde_json::Value = serde_json::from_slice(line)?;
        if let Some(value) = action.get("commitInfo").and_then(|c| c.get(LABEL)) {
            return Ok(serde_json::from_value(value.clone()).ok());
        }
    }
    Ok(None)
}

/// Delta has no dictionary columns, and a time without a zone would need a
/// table feature: text as text, wall-clock times stored as if UTC.
fn to_storage(batch: &RecordBatch) -> Result<RecordBatch> {
    let mut fields = Vec::new();
    let mut columns: Vec<ArrayRef> = Vec::new();
    for (field, column) in batch.schema().fields().iter().zip(batch.columns()) {
        let stored = match field.data_type() {
            DataType::Dictionary(_, value) => value.as_ref().clone(),
            DataType::Utf8View | DataType::LargeUtf8 => DataType::Utf8,
            DataType::Timestamp(_, None) => {
                DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into()))
            }
            other => other.clone(),
        };
        columns.push(cast(column, &stored)?);
        fields.push(Field::new(field.name(), stored, true));
    }
    Ok(RecordBatch::try_new(
        Arc::new(Schema::new(fields)),
        columns,
    )?)
}

/// A saved batch in the keeper's columns and types.
fn from_storage(batch: &RecordBatch, schema: &SchemaRef) -> Result<RecordBatch> {
    let mut columns: Vec<ArrayRef> = Vec::new();
    for field in schema.fields() {
        let column = batch
            .column_by_name(field.name())
            .with_context(|| format!("the saved parts have no column {}", field.name()))?;
        columns.push(cast(column, field.data_type())?);
    }
    Ok(RecordBatch::try_new(schema.clone(), columns)?)
}
