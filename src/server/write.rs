//! `INSERT` over SQL: rows checked like a load, written as one Delta commit.
//!
//! An `INSERT … VALUES` or `INSERT … SELECT` into a live table ends here
//! ([`InsertSink`]). The statement's rows are gathered (at most
//! [`MAX_INSERT_ROWS`]; larger sets go through `oko load`), then every row:
//! - is converted to the model's types and checked by the loader's own rules
//!   ([`crate::ingest::rows::check_row`]): required values, enums, time
//!   order, scores 1..5, the derived `created_month`;
//! - belongs to the session's tenant when the user is bound to one (a missing
//!   tenant is filled in, another tenant is refused);
//! - has a key not stored yet and not repeated in the statement (SQLSTATE
//!   23505 otherwise).
//!
//! The server fills what a client must not choose ([`owned_columns`]): in
//! `rating_moderations` the moderator is the session user, `moderated_at` is
//! the commit's time and `previous_score` is the rating's effective score
//! before this moderation (the rating must exist); in `lead_notes` the
//! author is the session user and `created_at` the commit's time; in
//! `manual_stats` the author is the session user. A row may name its own
//! writer, never another user, and never its time.
//!
//! One bad row fails the statement and nothing is written. The commit is
//! made before the client hears `INSERT 0 n`, and the table's snapshot is
//! refreshed in the same step, so the next query (on any connection) sees
//! the rows. Statements into one table that arrive while a commit is under
//! way are committed together by the next one (group commit,
//! [`LiveTable::append_queued`]); the checks that depend on what is stored
//! — keys, previous scores — run for the whole group at that point
//! ([`settle`]), so each statement still succeeds or fails on its own.
//! Delta's optimistic commit keeps concurrent loads from other processes.

use std::borrow::Cow;
use std::collections::{HashMap, HashSet};
use std::fmt;
use std::sync::Arc;

use datafusion::arrow::array::{
    Array, ArrayRef, BooleanArray, Float64Array, Int32Array, ListArray, RecordBatch, StringArray,
    TimestampMicrosecondArray,
};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{Field, Schema, SchemaRef};
use datafusion::arrow::util::display::array_value_to_string;
use datafusion::common::{DataFusionError, Result};
use datafusion::datasource::sink::DataSink;
use datafusion::execution::context::SessionState;
use datafusion::execution::{SendableRecordBatchStream, TaskContext};
use datafusion::logical_expr::{Expr, col, lit};
use datafusion::physical_plan::{DisplayAs, DisplayFormatType};
use datafusion::prelude::{SessionConfig, SessionContext};
use futures::StreamExt;

use super::errors::{code, coded};
use super::live::LiveTable;
use crate::auth::Principal;
use crate::ingest::rows::{BatchBuilder, Value, check_row, parse_value};
use crate::ingest::values::TimeRules;
use crate::model::{Kind, Table, arrow_type};

/// Rows one `INSERT` may write; more belong in a load.
pub const MAX_INSERT_ROWS: usize = 100_000;

/// Where the rows of one `INSERT` go.
pub struct InsertSink {
    live: Arc<LiveTable>,
    principal: Arc<Principal>,
    /// The inserting session: its runtime and the engine catalog the
    /// group checks look up in.
    state: SessionState,
    /// The table's columns, all nullable: the server fills some of them.
    schema: SchemaRef,
}

impl InsertSink {
    pub fn new(live: Arc<LiveTable>, principal: Arc<Principal>, state: SessionState) -> Self {
        let fields: Vec<Field> = live
            .schema_ref()
            .fields()
            .iter()
            .map(|f| f.as_ref().clone().with_nullable(true))
            .collect();
        InsertSink {
            live,
            principal,
            state,
            schema: Arc::new(Schema::new(fields)),
        }
    }
}

impl fmt::Debug for InsertSink {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "InsertSink({})", self.live.table)
    }
}

impl DisplayAs for InsertSink {
    fn fmt_as(&self, _t: DisplayFormatType, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "InsertSink: table={}", self.live.table)
    }
}

#[async_trait::async_trait]
impl DataSink for InsertSink {
    fn schema(&self) -> &SchemaRef {
        &self.schema
    }

    async fn write_all(
        &self,
        mut data: SendableRecordBatchStream,
        _context: &Arc<TaskContext>,
    ) -> Result<u64> {
        let table = self.live.table;
        let mut input = Vec::new();
        let mut rows = 0;
        while let Some(batch) = data.next().await {
            let batch = batch?;
            rows += batch.num_rows();
            if rows > MAX_INSERT_ROWS {
                return Err(refused(format!(
                    "an INSERT writes at most {MAX_INSERT_ROWS} rows; load larger sets with `oko load`"
                )));
            }
            input.push(batch);
        }
        if rows == 0 {
            return Ok(0);
        }
        let mut values = to_values(table, &input)?;
        self.fill_server_columns(table, &mut values)?;
        let mut builder = BatchBuilder::new(table);
        for (n, row) in values.iter_mut().enumerate() {
            check_row(table, self.principal.tenant.as_deref(), row).map_err(|e| {
                invalid(format!(
                    "row {} of the INSERT into {table}: column {}: {}",
                    n + 1,
                    e.column,
                    e.reason
                ))
            })?;
            builder.append(row);
        }
        let batch = builder
            .finish()
            .map_err(|e| DataFusionError::External(e.into()))?;
        let mut keys = HashSet::new();
        for k in key_strings(table, &batch)? {
            if !keys.insert(k.clone()) {
                return Err(duplicate(table, &k));
            }
        }
        let written = batch.num_rows() as u64;
        // Stored keys and moderations' previous scores are settled with the
        // statements committed beside this one (`settle`).
        let version = self
            .live
            .append_queued(batch, &self.principal.user, self.engine()?)
            .await?;
        tracing::info!(
            table = %table,
            rows = written,
            version,
            user = %self.principal.user,
            "insert committed"
        );
        Ok(written)
    }
}

impl InsertSink {
    /// A context over every tenant's tables, for the group checks: the
    /// rows carry their tenant already (filled or checked against the
    /// user's), so keys and scores are looked up by tenant.
    fn engine(&self) -> Result<SessionContext> {
        let catalog = self
            .state
            .config()
            .get_extension::<EngineCatalog>()
            .ok_or_else(|| DataFusionError::Internal("the session has no engine catalog".into()))?;
        let ctx = SessionContext::new_with_config_rt(
            SessionConfig::new().with_default_catalog_and_schema(super::CATALOG, "public"),
            self.state.runtime_env().clone(),
        );
        ctx.register_catalog(super::CATALOG, catalog.0.clone());
        Ok(ctx)
    }

    /// Columns the server owns or defaults.
    fn fill_server_columns(&self, table: Table, rows: &mut [Vec<Value<'static>>]) -> Result<()> {
        let idx = |name: &str| table.columns().iter().position(|c| c.name == name);
        if let (Some(tenant), Some(t)) = (&self.principal.tenant, idx("tenant")) {
            for row in rows.iter_mut() {
                if row[t] == Value::Null {
                    row[t] = Value::Text(Cow::Owned(tenant.clone()));
                }
            }
        }
        self.fill_owned_columns(table, rows)
    }

    /// Who and when ([`owned_columns`]): "who" is the session user (a row
    /// may name that user, no one else); "when" is left for the commit to
    /// stamp (a row may not name it).
    fn fill_owned_columns(&self, table: Table, rows: &mut [Vec<Value<'static>>]) -> Result<()> {
        let (who, when) = owned_columns(table);
        let at = |name: &str| table.columns().iter().position(|c| c.name == name);
        let user = &self.principal.user;
        let now = chrono::Utc::now().timestamp_micros();
        for (n, row) in rows.iter_mut().enumerate() {
            if let Some(i) = when.and_then(at) {
                if row[i] != Value::Null {
                    return Err(refused(format!(
                        "row {}: {} is set by the server (the time of the commit)",
                        n + 1,
                        table.columns()[i].name
                    )));
                }
                // A placeholder: `settle` stamps the commit time.
                row[i] = Value::Timestamp(now);
            }
            if let Some(i) = who.and_then(at) {
                match &row[i] {
                    Value::Null => row[i] = Value::Text(Cow::Owned(user.clone())),
                    Value::Text(m) if m == user => {}
                    Value::Text(m) => {
                        return Err(refused(format!(
                            "row {}: {} is the user who writes the row ({user}), not `{m}`",
                            n + 1,
                            table.columns()[i].name
                        )));
                    }
                    _ => {}
                }
            }
        }
        Ok(())
    }
}

/// The columns of `table` the server fills, not the client: who wrote a row
/// (the session user) and when (the commit's time), so a moderation or a
/// note cannot be forged in another user's name or backdated.
fn owned_columns(table: Table) -> (Option<&'static str>, Option<&'static str>) {
    match table {
        Table::RatingModerations => (Some("moderator"), Some("moderated_at")),
        Table::LeadNotes => (Some("author"), Some("created_at")),
        Table::ManualStats => (Some("author"), None),
        _ => (None, None),
    }
}

/// The session's view of every tenant's tables (a config extension set by
/// the server): the group checks of [`settle`] look keys and scores up in
/// it, whichever user's statement leads the group.
pub struct EngineCatalog(pub Arc<dyn datafusion::catalog::CatalogProvider>);

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
fn key_strings(table: Table, batch: &RecordBatch) -> Result<Vec<String>> {
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

/// The input rows as model values, in the table's column order. Input
/// columns are matched by name (the statement's column list was resolved
/// by the planner); empty text is no value, as in a load.
fn to_values(table: Table, input: &[RecordBatch]) -> Result<Vec<Vec<Value<'static>>>> {
    let time = TimeRules::default();
    let mut out = Vec::new();
    for batch in input {
        let mut columns: Vec<Option<ArrayRef>> = Vec::new();
        for c in table.columns() {
            columns.push(match batch.schema().index_of(c.name) {
                Ok(i) => Some(cast(batch.column(i), &arrow_type(c.kind))?),
                Err(_) => None,
            });
        }
        for r in 0..batch.num_rows() {
            let mut row = Vec::with_capacity(columns.len());
            for (c, array) in table.columns().iter().zip(&columns) {
                let Some(a) = array.as_ref().filter(|a| a.is_valid(r)) else {
                    row.push(Value::Null);
                    continue;
                };
                let value = value_at(c.kind, a, r, &time).map_err(|why| {
                    invalid(format!(
                        "row {} of the INSERT into {table}: column {}: {why}",
                        out.len() + 1,
                        c.name
                    ))
                })?;
                row.push(value);
            }
            out.push(row);
        }
    }
    Ok(out)
}

fn value_at(
    kind: Kind,
    a: &ArrayRef,
    r: usize,
    time: &TimeRules,
) -> std::result::Result<Value<'static>, String> {
    let wrong = || format!("unexpected type {}", a.data_type());
    Ok(match kind {
        Kind::Text | Kind::Enum(_) => {
            let s = a.as_any().downcast_ref::<StringArray>().ok_or_else(wrong)?;
            let text = s.value(r);
            if text.trim().is_empty() {
                return Ok(Value::Null);
            }
            match parse_value(kind, Cow::Borrowed(text), time, "|")? {
                Value::Text(t) => Value::Text(Cow::Owned(t.into_owned())),
                _ => return Err(wrong()),
            }
        }
        Kind::Int => Value::Int(
            a.as_any()
                .downcast_ref::<Int32Array>()
                .ok_or_else(wrong)?
                .value(r),
        ),
        Kind::Float => {
            let v = a
                .as_any()
                .downcast_ref::<Float64Array>()
                .ok_or_else(wrong)?
                .value(r);
            if !v.is_finite() {
                return Err(format!("{v} is not a finite number"));
            }
            Value::Float(v)
        }
        Kind::Bool => Value::Bool(
            a.as_any()
                .downcast_ref::<BooleanArray>()
                .ok_or_else(wrong)?
                .value(r),
        ),
        Kind::Timestamp => Value::Timestamp(
            a.as_any()
                .downcast_ref::<TimestampMicrosecondArray>()
                .ok_or_else(wrong)?
                .value(r),
        ),
        Kind::TextList => {
            let list = a.as_any().downcast_ref::<ListArray>().ok_or_else(wrong)?;
            let items = list.value(r);
            let items = items
                .as_any()
                .downcast_ref::<StringArray>()
                .ok_or_else(wrong)?;
            let mut tags: Vec<String> = Vec::new();
            for t in items.iter().flatten() {
                let t = t.trim();
                if !t.is_empty() && !tags.iter().any(|x| x == t) {
                    tags.push(t.to_string());
                }
            }
            Value::List(tags)
        }
    })
}

/// A row that breaks the model's rules: SQLSTATE 22023 (invalid value).
fn invalid(message: String) -> DataFusionError {
    coded(code::INVALID_PARAMETER_VALUE, message)
}

/// Something the user may not write: SQLSTATE 42501.
fn refused(message: String) -> DataFusionError {
    coded(code::INSUFFICIENT_PRIVILEGE, message)
}

/// A key stored already: SQLSTATE 23505.
fn duplicate(table: Table, key: &str) -> DataFusionError {
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

/// `DELETE FROM <table> WHERE …` (admins): Delta's delete removes the files
/// whose rows all match (a partition-aligned predicate rewrites nothing)
/// and rewrites only files with some matching rows. Runs when the plan
/// executes (so `EXPLAIN DELETE` deletes nothing), as one commit, and the
/// table's snapshot is refreshed at once. The removed files stay in storage
/// until `oko vacuum` (time travel and running queries still read them).
pub struct DeleteSink {
    live: Arc<LiveTable>,
    predicate: Expr,
    user: String,
    schema: SchemaRef,
}

impl DeleteSink {
    /// Checks the statement's filters: at least one, none with a subquery.
    pub fn new(live: Arc<LiveTable>, filters: Vec<Expr>, user: String) -> Result<DeleteSink> {
        use datafusion::common::tree_node::{Transformed, TreeNode};
        if filters.is_empty() {
            return Err(refused(format!(
                "DELETE FROM {} needs a WHERE clause (to empty a tenant, say WHERE tenant = '…')",
                live.table
            )));
        }
        let mut unqualified = Vec::with_capacity(filters.len());
        for f in filters {
            let mut subquery = false;
            let f = f
                .transform(|e| match e {
                    Expr::Column(c) => Ok(Transformed::yes(Expr::Column(
                        datafusion::common::Column::new_unqualified(c.name),
                    ))),
                    Expr::ScalarSubquery(_) | Expr::Exists(_) | Expr::InSubquery(_) => {
                        subquery = true;
                        Ok(Transformed::no(e))
                    }
                    other => Ok(Transformed::no(other)),
                })?
                .data;
            if subquery {
                return Err(coded(
                    code::FEATURE_NOT_SUPPORTED,
                    "DELETE … WHERE with a subquery is not supported: list the values \
                     (WHERE lead_id IN ('a', 'b')) or use `oko erase`",
                ));
            }
            unqualified.push(f);
        }
        let predicate = unqualified
            .into_iter()
            .reduce(Expr::and)
            .unwrap_or_else(|| lit(false));
        let schema = Arc::new(Schema::new(
            live.schema_ref()
                .fields()
                .iter()
                .map(|f| f.as_ref().clone().with_nullable(true))
                .collect::<Vec<_>>(),
        ));
        Ok(DeleteSink {
            live,
            predicate,
            user,
            schema,
        })
    }
}

impl fmt::Debug for DeleteSink {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "DeleteSink({} WHERE {})",
            self.live.table, self.predicate
        )
    }
}

impl DisplayAs for DeleteSink {
    fn fmt_as(&self, _t: DisplayFormatType, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "DeleteSink: table={} predicate={}",
            self.live.table, self.predicate
        )
    }
}

#[async_trait::async_trait]
impl DataSink for DeleteSink {
    fn schema(&self) -> &SchemaRef {
        &self.schema
    }

    async fn write_all(
        &self,
        _data: SendableRecordBatchStream,
        _context: &Arc<TaskContext>,
    ) -> Result<u64> {
        let _turn = self.live.writer_turn().await;
        let deleted = self
            .live
            .delete(self.predicate.clone(), &self.user)
            .await
            .map_err(|e| DataFusionError::External(format!("{e:#}").into()))?;
        tracing::info!(
            table = %self.live.table,
            rows = deleted,
            user = %self.user,
            predicate = %self.predicate,
            "delete committed"
        );
        Ok(deleted)
    }
}
