//! Turning one export record (raw bytes per field) into one model row, and
//! model rows into Arrow record batches.
//!
//! A [`RowPlan`] is made once per file from its header and the mapping: for
//! every model column it knows where the value comes from. Converting a row
//! either yields every value or one [`RowError`] naming the column and the
//! reason; nothing is appended to the batch for a bad row.

use std::borrow::Cow;
use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use anyhow::{Result, bail};
use datafusion::arrow::array::{
    ArrayBuilder, ArrayRef, BooleanBuilder, Float64Builder, Int32Builder, ListBuilder,
    StringBuilder, TimestampMicrosecondBuilder,
};
use datafusion::arrow::record_batch::RecordBatch;

use super::mapping::Mapping;
use super::values::{TimeRules, parse_bool, parse_float, parse_int, parse_timestamp};
use crate::model::{Kind, Table, arrow_type, month_of_micros};

/// Text encoding of an export.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    Utf8,
    Windows1251,
}

impl std::str::FromStr for Encoding {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.to_ascii_lowercase().replace('_', "-").as_str() {
            "utf-8" | "utf8" => Ok(Encoding::Utf8),
            "windows-1251" | "cp1251" | "win1251" => Ok(Encoding::Windows1251),
            _ => Err(format!("unknown encoding `{s}`: use utf-8 or windows-1251")),
        }
    }
}

/// Why one row was refused.
#[derive(Debug, Clone, PartialEq)]
pub struct RowError {
    /// The export's column (header) the problem is in, if any.
    pub column: String,
    pub reason: String,
}

impl RowError {
    fn new(column: &str, reason: impl Into<String>) -> RowError {
        RowError {
            column: column.to_string(),
            reason: reason.into(),
        }
    }
}

/// Where a model column's value comes from.
#[derive(Debug, Clone)]
enum Origin {
    /// The export's field at this index.
    Field(usize),
    /// A fixed value (mapping `constants` or `--tenant`).
    Constant(String),
    /// Not in the export: empty.
    Absent,
    /// Computed from other columns (`created_month`).
    Derived,
}

/// A typed value of one column of one row.
#[derive(Debug, Clone, PartialEq)]
pub enum Value<'a> {
    Null,
    Text(Cow<'a, str>),
    Int(i32),
    Float(f64),
    Bool(bool),
    Timestamp(i64),
    List(Vec<String>),
}

/// How one file's records become rows of one table.
#[derive(Debug)]
pub struct RowPlan {
    table: Table,
    encoding: Encoding,
    time: TimeRules,
    tags_separator: String,
    origins: Vec<Origin>,
    /// Export header names, for error messages.
    header_names: Vec<String>,
    value_maps: Vec<Option<HashMap<String, String>>>,
    null_when: Vec<Option<(usize, HashSet<String>)>>,
    seconds_after: Vec<Option<(usize, usize)>>,
    /// `--tenant`: fills a missing tenant, and must agree with a present one.
    tenant: Option<String>,
    /// Positions of the columns the per-row rules use, found once.
    at: Positions,
}

/// Positions of named columns in the table's schema (`None`: not in it).
#[derive(Debug, Default)]
struct Positions {
    tenant: Option<usize>,
    created_at: Option<usize>,
    answered_at: Option<usize>,
    ended_at: Option<usize>,
    created_month: Option<usize>,
}

impl Positions {
    fn of(table: Table) -> Positions {
        let idx = |name: &str| table.columns().iter().position(|c| c.name == name);
        Positions {
            tenant: idx("tenant"),
            created_at: idx("created_at"),
            answered_at: idx("answered_at"),
            ended_at: idx("ended_at"),
            created_month: idx("created_month"),
        }
    }
}

impl RowPlan {
    /// Plans the conversion of records with `header` into rows of `table`.
    /// Fails when a required column has no source.
    pub fn new(
        table: Table,
        header: &[String],
        mapping: &Mapping,
        encoding: Encoding,
        time: TimeRules,
        tenant: Option<String>,
    ) -> Result<RowPlan> {
        let find = |name: &str| header.iter().position(|h| h.trim() == name);
        let mut origins = Vec::new();
        let mut value_maps = Vec::new();
        let mut null_when = Vec::new();
        let mut seconds_after = Vec::new();
        let mut missing = Vec::new();
        for (i, c) in table.columns().iter().enumerate() {
            let wanted = mapping.header_for(c.name);
            let origin = if c.derived {
                Origin::Derived
            } else if let Some(v) = mapping.constants.get(c.name) {
                Origin::Constant(v.clone())
            } else if let Some(idx) = find(wanted) {
                Origin::Field(idx)
            } else if c.name == "tenant" && tenant.is_some() {
                Origin::Constant(tenant.clone().unwrap_or_default())
            } else if mapping.seconds_after.contains_key(c.name) {
                Origin::Absent
            } else if c.name == "score_raw" || c.name == "score" {
                // One of the two is enough: each is derived from the other.
                Origin::Absent
            } else if c.required {
                missing.push(if wanted == c.name {
                    format!("`{}`", c.name)
                } else {
                    format!("`{}` (mapped from header `{wanted}`)", c.name)
                });
                Origin::Absent
            } else {
                Origin::Absent
            };
            origins.push(origin);
            value_maps.push(
                mapping
                    .value_map(c.name)
                    .map(|m| m.iter().map(|(k, v)| (k.clone(), v.clone())).collect()),
            );
            null_when.push(match mapping.null_when.get(c.name) {
                Some(nw) => match find(&nw.column) {
                    Some(idx) => Some((idx, nw.equals.iter().cloned().collect())),
                    None => bail!(
                        "null_when.{}: the export has no column `{}`",
                        c.name,
                        nw.column
                    ),
                },
                None => None,
            });
            seconds_after.push(match mapping.seconds_after.get(c.name) {
                Some((base, secs)) => {
                    let base_idx = table
                        .columns()
                        .iter()
                        .position(|b| b.name == base)
                        .filter(|&b| b < i);
                    let Some(base_idx) = base_idx else {
                        bail!(
                            "seconds_after.{}: `{base}` must be a timestamp column listed before it",
                            c.name
                        );
                    };
                    match find(secs) {
                        Some(idx) => Some((base_idx, idx)),
                        None => bail!(
                            "seconds_after.{}: the export has no column `{secs}`",
                            c.name
                        ),
                    }
                }
                None => None,
            });
        }
        if table.column("score_raw").is_some() {
            let raw = table.columns().iter().position(|c| c.name == "score_raw");
            let score = table.columns().iter().position(|c| c.name == "score");
            if let (Some(r), Some(s)) = (raw, score)
                && matches!(origins[r], Origin::Absent)
                && matches!(origins[s], Origin::Absent)
            {
                missing.push("`score_raw` or `score`".into());
            }
        }
        if !missing.is_empty() {
            bail!(
                "missing required column {} for table {table}; the file's header is: {}. \
                 Rename the header or map it in a mapping file (--mapping)",
                missing.join(", "),
                header.join(", ")
            );
        }
        Ok(RowPlan {
            table,
            encoding,
            time,
            tags_separator: mapping
                .tags_separator
                .clone()
                .unwrap_or_else(|| "|".to_string()),
            origins,
            header_names: header.to_vec(),
            value_maps,
            null_when,
            seconds_after,
            tenant,
            at: Positions::of(table),
        })
    }

    /// The table rows are made for.
    pub fn table(&self) -> Table {
        self.table
    }

    /// For every model column, whether this file gives it a value: a
    /// field of the export, a constant, a column computed from others. A
    /// column the export lacks is empty in every row, which says nothing
    /// about the stored row — a correction leaves it as stored.
    pub fn carried(&self) -> Vec<bool> {
        self.origins
            .iter()
            .zip(&self.seconds_after)
            .map(|(o, secs)| !matches!(o, Origin::Absent) || secs.is_some())
            .collect()
    }

    /// Decodes the text of one field.
    fn text<'a>(&self, raw: &'a [u8], column: &str) -> Result<Cow<'a, str>, RowError> {
        match self.encoding {
            Encoding::Utf8 => std::str::from_utf8(raw).map(Cow::Borrowed).map_err(|e| {
                RowError::new(
                    column,
                    format!(
                        "invalid UTF-8 (byte {} of the field); if the file is a Windows-1251 export, \
                         pass --encoding windows-1251",
                        e.valid_up_to() + 1
                    ),
                )
            }),
            Encoding::Windows1251 => {
                let (text, _) = encoding_rs::WINDOWS_1251.decode_without_bom_handling(raw);
                Ok(text)
            }
        }
    }

    /// Converts one record into `out` (one value per model column).
    pub fn convert<'a>(
        &self,
        record: &'a csv::ByteRecord,
        out: &mut Vec<Value<'a>>,
    ) -> Result<(), RowError> {
        out.clear();
        // A UTF-8 record is checked once as a whole; its fields are then
        // slices of it. Anything else (another encoding, a broken byte, a
        // field boundary inside a character) goes field by field, which
        // names the column at fault.
        let whole = match self.encoding {
            Encoding::Utf8 => std::str::from_utf8(record.as_slice()).ok(),
            Encoding::Windows1251 => None,
        };
        for (i, c) in self.table.columns().iter().enumerate() {
            let (column_label, raw): (&str, Option<Cow<'a, str>>) = match &self.origins[i] {
                Origin::Field(idx) => {
                    let label = self.header_names[*idx].as_str();
                    let sliced = whole.and_then(|w| match record.range(*idx) {
                        Some(r) => w.get(r),
                        None => Some(""),
                    });
                    let text = match sliced {
                        Some(t) => Cow::Borrowed(t),
                        None => self.text(record.get(*idx).unwrap_or_default(), label)?,
                    };
                    (label, Some(text))
                }
                Origin::Constant(v) => (c.name, Some(Cow::Owned(v.clone()))),
                Origin::Absent | Origin::Derived => (c.name, None),
            };
            let mut raw = raw.filter(|t| !t.trim().is_empty());
            let mut forced_null = false;
            if let Some((idx, values)) = &self.null_when[i] {
                let cell = self.text(record.get(*idx).unwrap_or_default(), c.name)?;
                if values.contains(cell.trim()) {
                    raw = None;
                    forced_null = true;
                }
            }
            if let (Some(map), Some(t)) = (&self.value_maps[i], &raw)
                && let Some(v) = map.get(t.trim())
            {
                raw = Some(Cow::Owned(v.clone()));
            }
            let value = match raw {
                None => Value::Null,
                Some(t) => parse_value(c.kind, t, &self.time, &self.tags_separator)
                    .map_err(|reason| RowError::new(column_label, reason))?,
            };
            let value = match (&value, &self.seconds_after[i]) {
                (Value::Null, Some((base, secs_idx))) if !forced_null => {
                    let label = self.header_names[*secs_idx].as_str();
                    let secs_text = self.text(record.get(*secs_idx).unwrap_or_default(), label)?;
                    match (&out[*base], secs_text.trim()) {
                        (Value::Timestamp(b), s) if !s.is_empty() => {
                            let secs =
                                parse_float(s).ok().filter(|v| *v >= 0.0).ok_or_else(|| {
                                    RowError::new(
                                        label,
                                        format!("`{s}` is not a number of seconds"),
                                    )
                                })?;
                            Value::Timestamp(b + (secs * 1e6).round() as i64)
                        }
                        _ => Value::Null,
                    }
                }
                _ => value,
            };
            out.push(value);
        }
        self.finish_row(out)
    }

    /// Derived columns and rules that involve more than one column.
    fn finish_row(&self, row: &mut [Value<'_>]) -> Result<(), RowError> {
        finish_row(self.table, &self.at, self.tenant.as_deref(), row)
    }
}

/// Checks one row of `table` (values in schema order) as a load does —
/// required values, the tenant a load or a session is bound to, the rules
/// that involve more than one column — and fills the derived columns.
/// SQL `INSERT` goes through here too.
pub fn check_row(
    table: Table,
    tenant: Option<&str>,
    row: &mut [Value<'_>],
) -> Result<(), RowError> {
    finish_row(table, &Positions::of(table), tenant, row)
}

fn finish_row(
    table: Table,
    at: &Positions,
    tenant: Option<&str>,
    row: &mut [Value<'_>],
) -> Result<(), RowError> {
    let cols = table.columns();
    let idx = |name: &str| cols.iter().position(|c| c.name == name);
    if let (Some(t), Some(want)) = (at.tenant, tenant)
        && let Value::Text(have) = &row[t]
        && have.trim() != want
    {
        return Err(RowError::new(
            "tenant",
            format!("the row belongs to tenant `{have}`, not to `{want}`"),
        ));
    }
    for (i, c) in cols.iter().enumerate() {
        if c.required && !c.derived && row[i] == Value::Null {
            return Err(RowError::new(c.name, "a value is required"));
        }
    }
    match table {
        Table::Leads => {
            let created = at.created_at.and_then(|i| ts(&row[i]));
            let answered = at.answered_at.and_then(|i| ts(&row[i]));
            let ended = at.ended_at.and_then(|i| ts(&row[i]));
            if let (Some(c), Some(a)) = (created, answered)
                && a < c
            {
                return Err(RowError::new(
                    "answered_at",
                    "answered before it was created",
                ));
            }
            if let (Some(start), Some(e)) = (answered.or(created), ended)
                && e < start
            {
                return Err(RowError::new("ended_at", "ended before it was answered"));
            }
            if let (Some(m), Some(c)) = (at.created_month, created) {
                let month = month_of_micros(c).ok_or_else(|| {
                    RowError::new("created_at", "the date is out of the supported range")
                })?;
                row[m] = Value::Text(Cow::Owned(month));
            }
        }
        Table::Ratings => {
            let (Some(r), Some(s)) = (idx("score_raw"), idx("score")) else {
                return Ok(());
            };
            match (&row[r], &row[s]) {
                (Value::Text(raw), Value::Null) => {
                    row[s] = match oko_udfs::parse_score(raw) {
                        Some(v) => Value::Int(v),
                        None => Value::Null,
                    };
                }
                (Value::Null, Value::Int(v)) => row[r] = Value::Text(Cow::Owned(v.to_string())),
                (Value::Null, Value::Null) => {
                    return Err(RowError::new("score_raw", "the rating has no score"));
                }
                _ => {}
            }
        }
        Table::RatingModerations => {
            for name in ["new_score", "previous_score"] {
                if let Some(i) = idx(name)
                    && let Value::Int(v) = row[i]
                    && !(1..=5).contains(&v)
                {
                    return Err(RowError::new(
                        name,
                        format!("{v} is not a score 1..5 (leave it empty to void the rating)"),
                    ));
                }
            }
        }
        Table::Tenants => {
            if let Some(i) = idx("timezone")
                && let Value::Text(tz) = &row[i]
                && tz.trim().parse::<chrono_tz::Tz>().is_err()
            {
                return Err(RowError::new(
                    "timezone",
                    format!("`{tz}` is not an IANA time zone (e.g. Europe/Moscow)"),
                ));
            }
            for name in [
                "survey_interval_days",
                "service_level_seconds",
                "survey_interval_calls_days",
                "survey_interval_chats_days",
            ] {
                if let Some(i) = idx(name)
                    && let Value::Int(v) = row[i]
                    && v < 0
                {
                    return Err(RowError::new(name, format!("{v} must not be negative")));
                }
            }
        }
        _ => {}
    }
    Ok(())
}

fn ts(v: &Value<'_>) -> Option<i64> {
    match v {
        Value::Timestamp(t) => Some(*t),
        _ => None,
    }
}

/// Parses the text of one field as a column kind.
pub fn parse_value<'a>(
    kind: Kind,
    text: Cow<'a, str>,
    time: &TimeRules,
    tags_separator: &str,
) -> Result<Value<'a>, String> {
    Ok(match kind {
        Kind::Text => Value::Text(trimmed(text)),
        Kind::Enum(allowed) => {
            let t = text.trim();
            if allowed.contains(&t) {
                Value::Text(trimmed(text))
            } else {
                let lower = t.to_lowercase();
                match allowed.iter().find(|a| **a == lower) {
                    Some(a) => Value::Text(Cow::Owned(a.to_string())),
                    None => {
                        return Err(format!(
                            "`{t}` is not one of {} (map export values in the mapping's [values] section)",
                            allowed.join(", ")
                        ));
                    }
                }
            }
        }
        Kind::Int => Value::Int(parse_int(&text)?),
        Kind::Float => Value::Float(parse_float(&text)?),
        Kind::Bool => Value::Bool(parse_bool(&text)?),
        Kind::Timestamp => Value::Timestamp(parse_timestamp(&text, time)?),
        Kind::TextList => {
            let mut tags: Vec<String> = Vec::new();
            for t in text.split(tags_separator) {
                let t = t.trim();
                if !t.is_empty() && !tags.iter().any(|x| x == t) {
                    tags.push(t.to_string());
                }
            }
            Value::List(tags)
        }
    })
}

fn trimmed(text: Cow<'_, str>) -> Cow<'_, str> {
    match text {
        Cow::Borrowed(s) => Cow::Borrowed(s.trim()),
        Cow::Owned(s) if s.trim().len() == s.len() => Cow::Owned(s),
        Cow::Owned(s) => Cow::Owned(s.trim().to_string()),
    }
}

/// The rows of `input` as model values of `table`, in its column order:
/// the way back from Arrow that SQL `INSERT` and `UPDATE` and a load's
/// corrections take, so their rows meet [`check_row`] as a load's do.
/// Input columns are matched by name and cast to the model's types; a
/// column missing from the input is empty; empty text is no value, as in a
/// load. An error names the row (from 0) and the column.
pub fn batch_values(
    table: Table,
    input: &[RecordBatch],
) -> Result<Vec<Vec<Value<'static>>>, (usize, RowError)> {
    use datafusion::arrow::array::Array;
    let time = TimeRules::default();
    let mut out = Vec::new();
    for batch in input {
        let mut columns: Vec<Option<ArrayRef>> = Vec::new();
        for c in table.columns() {
            columns.push(match batch.schema().index_of(c.name) {
                Ok(i) => Some(
                    datafusion::arrow::compute::cast(batch.column(i), &arrow_type(c.kind))
                        .map_err(|e| (out.len(), RowError::new(c.name, e.to_string())))?,
                ),
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
                let value = value_at(c.kind, a, r, &time)
                    .map_err(|why| (out.len(), RowError::new(c.name, why)))?;
                row.push(value);
            }
            out.push(row);
        }
    }
    Ok(out)
}

/// One value of an Arrow array of the model type of `kind`.
fn value_at(
    kind: Kind,
    a: &ArrayRef,
    r: usize,
    time: &TimeRules,
) -> std::result::Result<Value<'static>, String> {
    use datafusion::arrow::array::{
        BooleanArray, Float64Array, Int32Array, ListArray, StringArray, TimestampMicrosecondArray,
    };
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

/// Accumulates rows of one table into an Arrow record batch.
pub struct BatchBuilder {
    table: Table,
    columns: Vec<Builder>,
    rows: usize,
}

enum Builder {
    Text(StringBuilder),
    Int(Int32Builder),
    Float(Float64Builder),
    Bool(BooleanBuilder),
    Timestamp(TimestampMicrosecondBuilder),
    List(ListBuilder<StringBuilder>),
}

impl BatchBuilder {
    pub fn new(table: Table) -> BatchBuilder {
        let columns = table
            .columns()
            .iter()
            .map(|c| match c.kind {
                Kind::Text | Kind::Enum(_) => Builder::Text(StringBuilder::new()),
                Kind::Int => Builder::Int(Int32Builder::new()),
                Kind::Float => Builder::Float(Float64Builder::new()),
                Kind::Bool => Builder::Bool(BooleanBuilder::new()),
                Kind::Timestamp => {
                    Builder::Timestamp(TimestampMicrosecondBuilder::new().with_timezone("UTC"))
                }
                Kind::TextList => Builder::List(ListBuilder::new(StringBuilder::new())),
            })
            .collect();
        BatchBuilder {
            table,
            columns,
            rows: 0,
        }
    }

    /// Rows appended since the last [`finish`](Self::finish).
    pub fn len(&self) -> usize {
        self.rows
    }

    pub fn is_empty(&self) -> bool {
        self.rows == 0
    }

    /// Appends one converted row (values in schema order).
    pub fn append(&mut self, row: &[Value<'_>]) {
        for (b, v) in self.columns.iter_mut().zip(row) {
            match (b, v) {
                (Builder::Text(b), Value::Text(t)) => b.append_value(t),
                (Builder::Int(b), Value::Int(i)) => b.append_value(*i),
                (Builder::Float(b), Value::Float(f)) => b.append_value(*f),
                (Builder::Bool(b), Value::Bool(x)) => b.append_value(*x),
                (Builder::Timestamp(b), Value::Timestamp(t)) => b.append_value(*t),
                (Builder::List(b), Value::List(items)) => {
                    for i in items {
                        b.values().append_value(i);
                    }
                    b.append(true);
                }
                (Builder::Text(b), _) => b.append_null(),
                (Builder::Int(b), _) => b.append_null(),
                (Builder::Float(b), _) => b.append_null(),
                (Builder::Bool(b), _) => b.append_null(),
                (Builder::Timestamp(b), _) => b.append_null(),
                (Builder::List(b), _) => b.append(false),
            }
        }
        self.rows += 1;
    }

    /// Takes the rows appended so far as a record batch.
    pub fn finish(&mut self) -> Result<RecordBatch> {
        let arrays: Vec<ArrayRef> = self
            .columns
            .iter_mut()
            .map(|b| match b {
                Builder::Text(b) => Arc::new(b.finish()) as ArrayRef,
                Builder::Int(b) => Arc::new(b.finish()),
                Builder::Float(b) => Arc::new(b.finish()),
                Builder::Bool(b) => Arc::new(b.finish()),
                Builder::Timestamp(b) => Arc::new(b.finish()),
                Builder::List(b) => Arc::new(b.finish()),
            })
            .collect();
        self.rows = 0;
        Ok(RecordBatch::try_new(self.table.schema(), arrays)?)
    }

    /// Bytes buffered so far (roughly), to bound batch sizes.
    pub fn approx_len(&self) -> usize {
        self.columns
            .iter()
            .map(|b| match b {
                Builder::Text(b) => b.len(),
                Builder::Int(b) => b.len(),
                Builder::Float(b) => b.len(),
                Builder::Bool(b) => b.len(),
                Builder::Timestamp(b) => b.len(),
                Builder::List(b) => b.len(),
            })
            .sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan(table: Table, header: &[&str], mapping: &str) -> Result<RowPlan> {
        let m: Mapping = toml::from_str(mapping).unwrap();
        let header: Vec<String> = header.iter().map(|s| s.to_string()).collect();
        RowPlan::new(
            table,
            &header,
            &m,
            Encoding::Utf8,
            TimeRules::default(),
            None,
        )
    }

    #[test]
    fn a_missing_required_column_is_named() {
        let err = plan(Table::Leads, &["tenant", "lead_id"], "")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("`channel`") && err.contains("`created_at`"),
            "{err}"
        );
    }

    #[test]
    fn score_is_parsed_from_the_raw_text() {
        let p = plan(
            Table::Ratings,
            &["tenant", "rating_id", "lead_id", "score_raw", "received_at"],
            "",
        )
        .unwrap();
        let rec = csv::ByteRecord::from(vec!["t", "r1", "l1", "5 спасибо", "2024-01-01T00:00:00Z"]);
        let mut row = Vec::new();
        p.convert(&rec, &mut row).unwrap();
        assert_eq!(row[4], Value::Int(5));
    }

    #[test]
    fn broken_utf8_is_found_per_field() {
        let p = plan(
            Table::Leads,
            &["tenant", "lead_id", "channel", "direction", "created_at"],
            "",
        )
        .unwrap();
        let mut row = Vec::new();
        // "П" split across two fields: the whole record is valid UTF-8, the
        // fields are not.
        let rec = csv::ByteRecord::from(vec![
            b"t".to_vec(),
            vec![b'1', 0xD0],
            vec![0x9F],
            b"in".to_vec(),
            b"2024-01-01T00:00:00Z".to_vec(),
        ]);
        let e = p.convert(&rec, &mut row).unwrap_err();
        assert_eq!(e.column, "lead_id");
        assert!(e.reason.contains("invalid UTF-8"), "{}", e.reason);
    }

    #[test]
    fn bad_values_name_their_column() {
        let p = plan(
            Table::Leads,
            &["tenant", "lead_id", "channel", "direction", "created_at"],
            "",
        )
        .unwrap();
        let mut row = Vec::new();
        let rec = csv::ByteRecord::from(vec!["t", "1", "fax", "in", "2024-01-01T00:00:00Z"]);
        let e = p.convert(&rec, &mut row).unwrap_err();
        assert_eq!(e.column, "channel");
        assert!(e.reason.contains("`fax`"));
        let rec = csv::ByteRecord::from(vec!["t", "1", "Call", "in", "2024-01-01T00:00:00Z"]);
        p.convert(&rec, &mut row).unwrap();
        assert_eq!(row[2], Value::Text("call".into()));
        assert_eq!(row[12], Value::Text("2024-01".into()));
    }
}
