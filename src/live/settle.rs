//! The checks of one group commit that depend on what is stored: keys not
//! stored yet nor repeated by the group's earlier statements, and each
//! moderation's `previous_score` (the rating's effective score before it).
//! They run when the group commits ([`super::table::LiveTable::append_queued`]),
//! over every tenant's rows (the engine catalog), so each statement of the
//! group still succeeds or fails on its own.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use datafusion::arrow::array::{
    Array, ArrayRef, Int32Array, RecordBatch, StringArray, TimestampMicrosecondArray,
};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::Schema;
use datafusion::arrow::util::display::array_value_to_string;
use datafusion::common::{DataFusionError, Result};
use datafusion::logical_expr::{Expr, col, lit};
use datafusion::prelude::SessionContext;

use crate::model::{Kind, Table, arrow_type};
use crate::sqlstate::{code, coded};

/// The columns of `table` the server fills, not the client: who wrote a row
/// (the session user) and when (the commit's time), so a moderation or a
/// note cannot be forged in another user's name or backdated.
pub(super) fn owned_columns(table: Table) -> (Option<&'static str>, Option<&'static str>) {
    match table {
        Table::RatingModerations => (Some("moderator"), Some("moderated_at")),
        Table::LeadNotes => (Some("author"), Some("created_at")),
        Table::ManualStats => (Some("author"), None),
        _ => (None, None),
    }
}

/// The group checks of one commit, statements in arrival order: a key
/// stored already, or written by an earlier statement of the group, fails
/// its statement (23505); a moderation's `previous_score` is the rating's
/// effective score after the stored moderations and the group's earlier
/// ones (the rating must exist). Each statement gets its rows back, or its
/// own error.
pub(super) async fn settle(
    table: Table,
    engine: &SessionContext,
    batches: Vec<RecordBatch>,
) -> Vec<Result<RecordBatch>> {
    let lookups = async {
        let stored = stored_keys(table, engine, &batches).await?;
        let scores = if table == Table::RatingModerations {
            effective_scores(engine, &batches).await?
        } else {
            HashMap::new()
        };
        Ok::<_, DataFusionError>((stored, scores))
    };
    let (stored, mut scores) = match lookups.await {
        Ok(found) => found,
        Err(e) => {
            let message = e.to_string();
            return batches
                .iter()
                .map(|_| Err(DataFusionError::External(message.clone().into())))
                .collect();
        }
    };
    // Moderations chain in the order they happened (`moderated_at`), as
    // `ratings_effective` reads them; other statements in arrival order.
    let mut order: Vec<usize> = (0..batches.len()).collect();
    if table == Table::RatingModerations {
        order.sort_by_key(|&i| earliest(&batches[i], "moderated_at"));
    }
    let mut slots: Vec<Option<RecordBatch>> = batches.into_iter().map(Some).collect();
    let mut results: Vec<Option<Result<RecordBatch>>> = slots.iter().map(|_| None).collect();
    let mut written = HashSet::new();
    let mut stamp = 0;
    for i in order {
        let Some(mut batch) = slots[i].take() else {
            continue;
        };
        if let (_, Some(when)) = owned_columns(table) {
            batch = match stamp_commit_time(batch, when, &mut stamp) {
                Ok(b) => b,
                Err(e) => {
                    results[i] = Some(Err(e));
                    continue;
                }
            };
        }
        results[i] = Some(settle_one(table, batch, &stored, &mut written, &mut scores));
    }
    results
        .into_iter()
        .map(|r| {
            r.unwrap_or_else(|| {
                Err(DataFusionError::Internal(
                    "a statement was not settled".into(),
                ))
            })
        })
        .collect()
}

/// Stamps a statement's rows with the commit's time in `column`, each row
/// later than the one before (`last`, in microseconds), so the order the
/// group settles moderations in is the order `ratings_effective` reads.
fn stamp_commit_time(batch: RecordBatch, column: &str, last: &mut i64) -> Result<RecordBatch> {
    let schema = batch.schema();
    let at = schema.index_of(column)?;
    let field = schema.field(at);
    let mut stamps = Vec::with_capacity(batch.num_rows());
    for _ in 0..batch.num_rows() {
        *last = chrono::Utc::now().timestamp_micros().max(*last + 1);
        stamps.push(*last);
    }
    let stamped = cast(
        &(Arc::new(TimestampMicrosecondArray::from(stamps)) as ArrayRef),
        field.data_type(),
    )?;
    let mut columns = batch.columns().to_vec();
    columns[at] = stamped;
    Ok(RecordBatch::try_new(schema, columns)?)
}

/// One statement of the group: its keys against the stored ones and the
/// group's earlier statements, its moderations' previous scores.
fn settle_one(
    table: Table,
    batch: RecordBatch,
    stored: &HashSet<String>,
    written: &mut HashSet<String>,
    scores: &mut HashMap<(String, String), Option<i32>>,
) -> Result<RecordBatch> {
    let keys = key_strings(table, &batch)?;
    if let Some(k) = keys
        .iter()
        .find(|k| stored.contains(*k) || written.contains(*k))
    {
        return Err(duplicate(table, k));
    }
    let batch = if table == Table::RatingModerations {
        settle_moderation(batch, scores)?
    } else {
        batch
    };
    written.extend(keys);
    Ok(batch)
}

/// The smallest value of a timestamp column (for ordering statements).
fn earliest(batch: &RecordBatch, name: &str) -> Option<i64> {
    let c = batch.column(batch.schema().index_of(name).ok()?);
    let t = c.as_any().downcast_ref::<TimestampMicrosecondArray>()?;
    t.iter().flatten().min()
}

/// Each row's key as one string (columns joined by U+001F, NULL as U+0000).
pub(super) fn key_strings(table: Table, batch: &RecordBatch) -> Result<Vec<String>> {
    let schema = batch.schema();
    let cols: Vec<usize> = table
        .key()
        .iter()
        .filter_map(|k| schema.index_of(k).ok())
        .collect();
    (0..batch.num_rows())
        .map(|i| {
            let mut parts = Vec::with_capacity(cols.len());
            for &c in &cols {
                let a = batch.column(c);
                parts.push(if a.is_null(i) {
                    "\u{0}".to_string()
                } else {
                    array_value_to_string(a, i)?
                });
            }
            Ok(parts.join("\u{1f}"))
        })
        .collect()
}

/// The keys of `batches` that are stored already: one scan, pruned by the
/// tenants and the first other key column of all the group's rows.
async fn stored_keys(
    table: Table,
    engine: &SessionContext,
    batches: &[RecordBatch],
) -> Result<HashSet<String>> {
    let names = table.key();
    let mut filter: Option<Expr> = None;
    for name in names.iter().take(2) {
        let mut distinct = HashSet::new();
        let mut values: Vec<Expr> = Vec::new();
        for b in batches {
            let Ok(i) = b.schema().index_of(name) else {
                continue;
            };
            for r in 0..b.num_rows() {
                if b.column(i).is_valid(r)
                    && let Ok(v) = datafusion::common::ScalarValue::try_from_array(b.column(i), r)
                    && distinct.insert(v.to_string())
                {
                    values.push(lit(v));
                }
            }
        }
        if values.is_empty() {
            continue;
        }
        let e = col(*name).in_list(values, false);
        filter = Some(match filter {
            Some(f) => f.and(e),
            None => e,
        });
    }
    let mut df = engine.table(table.name()).await?;
    if let Some(f) = filter {
        df = df.filter(f)?;
    }
    let found = df
        .select(names.iter().map(|n| col(*n)).collect::<Vec<_>>())?
        .collect()
        .await?;
    let model = table.schema();
    let mut stored = HashSet::new();
    for b in &found {
        // Stored columns may come back dictionary-encoded: compare in the
        // model's types.
        let fields = names
            .iter()
            .map(|n| {
                model
                    .field_with_name(n)
                    .map(|f| f.clone().with_nullable(true))
            })
            .collect::<std::result::Result<Vec<_>, _>>()?;
        let arrays = fields
            .iter()
            .enumerate()
            .map(|(i, f)| Ok(cast(b.column(i), f.data_type())?))
            .collect::<Result<Vec<ArrayRef>>>()?;
        let typed = RecordBatch::try_new(Arc::new(Schema::new(fields)), arrays)?;
        stored.extend(key_strings(table, &typed)?);
    }
    Ok(stored)
}

/// Every moderated rating's effective score now, by (tenant, rating_id):
/// `None` inside means voided or not valid; a rating missing from the map
/// does not exist.
async fn effective_scores(
    engine: &SessionContext,
    batches: &[RecordBatch],
) -> Result<HashMap<(String, String), Option<i32>>> {
    let mut ids = HashSet::new();
    for b in batches {
        let ratings = text_column(b, "rating_id")?;
        ids.extend(ratings.into_iter().flatten().map(str::to_string));
    }
    let mut current = HashMap::new();
    if ids.is_empty() {
        return Ok(current);
    }
    let found = engine
        .table("ratings_effective")
        .await?
        .filter(col("rating_id").in_list(ids.into_iter().map(lit).collect(), false))?
        .select(vec![
            col("tenant"),
            col("rating_id"),
            col("effective_score"),
        ])?
        .collect()
        .await?;
    for b in &found {
        let score = cast(b.column(2), &arrow_type(Kind::Int))?;
        let score = score
            .as_any()
            .downcast_ref::<Int32Array>()
            .ok_or_else(|| DataFusionError::Internal("score is not int".into()))?;
        for i in 0..b.num_rows() {
            let key = (
                array_value_to_string(b.column(0), i)?,
                array_value_to_string(b.column(1), i)?,
            );
            current.insert(key, score.is_valid(i).then(|| score.value(i)));
        }
    }
    Ok(current)
}

/// Fills `previous_score` of one statement's moderations from `scores`
/// (each row sees the rows and statements before it), or fails the
/// statement; `scores` moves on only when the statement is accepted.
fn settle_moderation(
    batch: RecordBatch,
    scores: &mut HashMap<(String, String), Option<i32>>,
) -> Result<RecordBatch> {
    let tenants = text_column(&batch, "tenant")?;
    let ratings = text_column(&batch, "rating_id")?;
    let schema = batch.schema();
    let int = |name: &str| -> Result<Int32Array> {
        let c = cast(batch.column(schema.index_of(name)?), &arrow_type(Kind::Int))?;
        c.as_any()
            .downcast_ref::<Int32Array>()
            .cloned()
            .ok_or_else(|| DataFusionError::Internal(format!("{name} is not int")))
    };
    let (new_scores, given) = (int("new_score")?, int("previous_score")?);
    let mut mine: HashMap<(String, String), Option<i32>> = HashMap::new();
    let mut previous = Vec::with_capacity(batch.num_rows());
    for n in 0..batch.num_rows() {
        let (Some(tenant), Some(rating)) = (tenants[n], ratings[n]) else {
            return Err(invalid(format!(
                "row {}: a moderation needs a tenant and a rating_id",
                n + 1
            )));
        };
        let key = (tenant.to_string(), rating.to_string());
        let Some(score) = mine.get(&key).or_else(|| scores.get(&key)).copied() else {
            return Err(invalid(format!(
                "row {}: tenant {} has no rating `{}` to moderate",
                n + 1,
                key.0,
                key.1
            )));
        };
        if given.is_valid(n) && Some(given.value(n)) != score {
            return Err(invalid(format!(
                "row {}: previous_score is filled by the server (the rating's score now is {})",
                n + 1,
                score
                    .map(|s| s.to_string())
                    .unwrap_or_else(|| "none".into())
            )));
        }
        previous.push(score);
        mine.insert(key, new_scores.is_valid(n).then(|| new_scores.value(n)));
    }
    scores.extend(mine);
    let mut columns = batch.columns().to_vec();
    columns[schema.index_of("previous_score")?] = Arc::new(Int32Array::from(previous));
    Ok(RecordBatch::try_new(schema, columns)?)
}

/// A text column of a batch, value by value.
fn text_column<'a>(batch: &'a RecordBatch, name: &str) -> Result<Vec<Option<&'a str>>> {
    let c = batch.column(batch.schema().index_of(name)?);
    let strings = c
        .as_any()
        .downcast_ref::<StringArray>()
        .ok_or_else(|| DataFusionError::Internal(format!("{name} is not text")))?;
    Ok(strings.iter().collect())
}

/// A key stored already: SQLSTATE 23505.
pub(super) fn duplicate(table: Table, key: &str) -> DataFusionError {
    let shown = key.replace('\u{1f}', ", ").replace('\u{0}', "NULL");
    let hint = if table.is_dimension() {
        format!(
            " (to change a stored row of {table}, load it with `oko load`: a load upserts by key)"
        )
    } else {
        String::new()
    };
    coded(
        code::UNIQUE_VIOLATION,
        format!(
            "duplicate key in {table}: ({}) = ({shown}) is already stored or repeated{hint}",
            table.key().join(", ")
        ),
    )
}

/// A row that breaks the model's rules: SQLSTATE 22023 (invalid value).
pub(super) fn invalid(message: String) -> DataFusionError {
    coded(code::INVALID_PARAMETER_VALUE, message)
}

/// Something the user may not write: SQLSTATE 42501.
pub(super) fn refused(message: String) -> DataFusionError {
    coded(code::INSUFFICIENT_PRIVILEGE, message)
}
