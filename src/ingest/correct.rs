//! Corrections of stored rows: what changed, the corrected row, its audit.
//!
//! A stored lead is corrected two ways — a load that brings its key again
//! with other values (a re-export after the CRM filled the lead in), and an
//! admin's `UPDATE leads` over SQL — and both go through here, so they tell
//! a change the same way and record it the same way:
//! - [`changes`]: the columns of a new version that differ from the stored
//!   row, among the columns the new version *carries* (a column an export
//!   lacks, or an `UPDATE` does not set, says nothing and is kept as
//!   stored). Key and derived columns are never compared. A row with no
//!   change is a duplicate (a load) or a no-op (an `UPDATE`).
//! - [`merge`] and [`rebuild`]: the corrected row — carried columns new,
//!   the rest as stored — checked by the loader's own rules
//!   ([`check_row`]: required values, time order) with its derived
//!   columns (`created_month`) computed again.
//! - [`audit`]: the rows of `lead_corrections`, one per changed column,
//!   with the previous and new value as PostgreSQL prints them.

use std::collections::HashSet;

use anyhow::Result;
use datafusion::arrow::array::{
    Array, ArrayRef, ListArray, RecordBatch, TimestampMicrosecondArray,
};
use datafusion::arrow::datatypes::DataType;
use datafusion::arrow::util::display::array_value_to_string;

use super::rows::{BatchBuilder, RowError, Value, batch_values, check_row};
use crate::model::Table;

/// One changed column of one row.
#[derive(Debug, Clone, PartialEq)]
pub struct Change {
    /// The row, in the batches compared.
    pub row: usize,
    pub column: &'static str,
    /// The stored value as text (`None`: it was empty).
    pub previous: Option<String>,
    pub new: Option<String>,
}

/// The columns a correction compares: carried, neither key nor derived.
fn compared(table: Table, carried: &[bool]) -> Vec<usize> {
    table
        .columns()
        .iter()
        .enumerate()
        .filter(|(i, c)| {
            carried.get(*i).copied().unwrap_or(false)
                && !c.derived
                && !table.key().contains(&c.name)
        })
        .map(|(i, _)| i)
        .collect()
}

/// The changes of `incoming` against `stored`, row by row (row `i` of each
/// has the same key), among the columns `carried` marks. Both batches are
/// in `table`'s model columns and types ([`crate::store::write::to_model`]).
pub fn changes(
    table: Table,
    stored: &RecordBatch,
    incoming: &RecordBatch,
    carried: &[bool],
) -> Result<Vec<Change>> {
    let cols = compared(table, carried);
    if cols.is_empty() || incoming.num_rows() == 0 {
        return Ok(Vec::new());
    }
    // Whole rows first (one hash per row, the common case of a re-export
    // is an unchanged lead), then the differing rows column by column.
    let before = super::hash_rows(std::slice::from_ref(stored), &cols)?;
    let after = super::hash_rows(std::slice::from_ref(incoming), &cols)?;
    let mut out = Vec::new();
    for (row, (b, a)) in before.iter().zip(&after).enumerate() {
        if b == a {
            continue;
        }
        for &c in &cols {
            let previous = text_of(stored.column(c), row)?;
            let new = text_of(incoming.column(c), row)?;
            if previous != new {
                out.push(Change {
                    row,
                    column: table.columns()[c].name,
                    previous,
                    new,
                });
            }
        }
    }
    Ok(out)
}

/// The rows of `changes`, each once, in order.
pub fn changed_rows(changes: &[Change]) -> Vec<usize> {
    let mut seen = HashSet::new();
    changes
        .iter()
        .filter(|c| seen.insert(c.row))
        .map(|c| c.row)
        .collect()
}

/// The corrected rows: the `carried` columns (and the derived ones) from
/// `incoming`, the others from `stored`. Run [`rebuild`] on the result:
/// a mix of old and new values must pass the row rules again.
pub fn merge(
    table: Table,
    stored: &RecordBatch,
    incoming: &RecordBatch,
    carried: &[bool],
) -> Result<RecordBatch> {
    let columns: Vec<ArrayRef> = table
        .columns()
        .iter()
        .enumerate()
        .map(|(i, c)| {
            if carried.get(i).copied().unwrap_or(false) || c.derived {
                incoming.column(i).clone()
            } else {
                stored.column(i).clone()
            }
        })
        .collect();
    Ok(RecordBatch::try_new(incoming.schema(), columns)?)
}

/// The outcome of [`rebuild`].
#[derive(Debug)]
pub struct Rebuilt {
    /// The rows that pass, in the table's schema.
    pub batch: RecordBatch,
    /// Their positions in the input.
    pub kept: Vec<usize>,
    /// The positions of the others, and why.
    pub refused: Vec<(usize, RowError)>,
}

/// Every row of `batch` checked as a load checks it (derived columns
/// computed again), rebuilt in the model's schema.
pub fn rebuild(table: Table, tenant: Option<&str>, batch: &RecordBatch) -> Result<Rebuilt> {
    let values = batch_values(table, std::slice::from_ref(batch))
        .map_err(|(row, e)| anyhow::anyhow!("row {}: {}: {}", row + 1, e.column, e.reason))?;
    let mut builder = BatchBuilder::new(table);
    let mut kept = Vec::new();
    let mut refused = Vec::new();
    for (i, mut row) in values.into_iter().enumerate() {
        match check_row(table, tenant, &mut row) {
            Ok(()) => {
                builder.append(&row);
                kept.push(i);
            }
            Err(e) => refused.push((i, e)),
        }
    }
    Ok(Rebuilt {
        batch: builder.finish()?,
        kept,
        refused,
    })
}

/// Who made a correction and how.
#[derive(Debug, Clone)]
pub struct Corrector<'a> {
    /// The session user (`UPDATE`) or the user running the load.
    pub user: &'a str,
    /// The time of the correction (microseconds since the epoch, UTC); one
    /// for every row of a commit.
    pub at: i64,
    /// `load` or `sql` ([`crate::model::CORRECTION_SOURCES`]).
    pub source: &'static str,
}

/// The `lead_corrections` rows of `changes`, whose rows are those of
/// `rows` (a batch of the corrected table with its `tenant` and `lead_id`).
pub fn audit(rows: &RecordBatch, changes: &[Change], by: &Corrector<'_>) -> Result<RecordBatch> {
    let tenant = rows.column(rows.schema().index_of("tenant")?);
    let lead = rows.column(rows.schema().index_of("lead_id")?);
    let mut builder = BatchBuilder::new(Table::LeadCorrections);
    let text = |v: Option<String>| match v {
        Some(t) => Value::Text(t.into()),
        None => Value::Null,
    };
    for c in changes {
        let row = [
            text(text_of(tenant, c.row)?),
            text(text_of(lead, c.row)?),
            Value::Text(c.column.into()),
            text(c.previous.clone()),
            text(c.new.clone()),
            Value::Text(by.user.to_string().into()),
            Value::Timestamp(by.at),
            Value::Text(by.source.into()),
        ];
        builder.append(&row);
    }
    builder.finish()
}

/// One value as PostgreSQL prints it (`None`: NULL): a `timestamptz` in
/// UTC (`2026-06-01 09:30:00+00`), a `text[]` as `{a,"b c"}`.
pub fn text_of(array: &ArrayRef, row: usize) -> Result<Option<String>> {
    if array.is_null(row) {
        return Ok(None);
    }
    match array.data_type() {
        DataType::Timestamp(_, _) => {
            let micros = datafusion::arrow::compute::cast(
                array,
                &DataType::Timestamp(datafusion::arrow::datatypes::TimeUnit::Microsecond, None),
            )?;
            let micros = micros
                .as_any()
                .downcast_ref::<TimestampMicrosecondArray>()
                .map(|a| a.value(row))
                .ok_or_else(|| anyhow::anyhow!("not a timestamp"))?;
            let t = chrono::DateTime::from_timestamp_micros(micros)
                .ok_or_else(|| anyhow::anyhow!("timestamp out of range: {micros}"))?;
            Ok(Some(format!("{}+00", t.format("%Y-%m-%d %H:%M:%S%.f"))))
        }
        DataType::List(_) => {
            let list = array
                .as_any()
                .downcast_ref::<ListArray>()
                .ok_or_else(|| anyhow::anyhow!("not a list"))?;
            let items = list.value(row);
            let mut parts = Vec::with_capacity(items.len());
            for i in 0..items.len() {
                parts.push(match text_of(&items, i)? {
                    None => "NULL".to_string(),
                    Some(t) => array_item(&t),
                });
            }
            Ok(Some(format!("{{{}}}", parts.join(","))))
        }
        _ => Ok(Some(array_value_to_string(array, row)?)),
    }
}

/// One element of a PostgreSQL array literal, quoted when it must be.
fn array_item(t: &str) -> String {
    let plain = !t.is_empty()
        && !t.eq_ignore_ascii_case("null")
        && !t
            .chars()
            .any(|c| matches!(c, ',' | '{' | '}' | '"' | '\\') || c.is_whitespace());
    if plain {
        t.to_string()
    } else {
        format!("\"{}\"", t.replace('\\', "\\\\").replace('"', "\\\""))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::borrow::Cow;

    /// A lead as a load makes it: tenant, id, class, manager, created, tags.
    fn lead(
        id: &str,
        class: Option<&str>,
        manager: Option<&str>,
        tags: &[&str],
    ) -> Vec<Value<'static>> {
        let text = |v: Option<&str>| match v {
            Some(t) => Value::Text(Cow::Owned(t.to_string())),
            None => Value::Null,
        };
        let mut row: Vec<Value<'static>> = Table::Leads
            .columns()
            .iter()
            .map(|c| match c.name {
                "tenant" => text(Some("t1")),
                "lead_id" => text(Some(id)),
                "channel" => text(Some("call")),
                "direction" => text(Some("in")),
                "class" => text(class),
                "manager_id" => text(manager),
                "created_at" => Value::Timestamp(1_780_000_000_000_000),
                "tags" => Value::List(tags.iter().map(|t| t.to_string()).collect()),
                _ => Value::Null,
            })
            .collect();
        check_row(Table::Leads, None, &mut row).unwrap();
        row
    }

    fn batch(rows: &[Vec<Value<'static>>]) -> RecordBatch {
        let mut b = BatchBuilder::new(Table::Leads);
        for r in rows {
            b.append(r);
        }
        b.finish().unwrap()
    }

    fn all() -> Vec<bool> {
        vec![true; Table::Leads.columns().len()]
    }

    #[test]
    fn identical_rows_are_no_change() {
        let stored = batch(&[lead("a", Some("Целевой"), Some("m1"), &["x"])]);
        let again = batch(&[lead("a", Some("Целевой"), Some("m1"), &["x"])]);
        assert!(
            changes(Table::Leads, &stored, &again, &all())
                .unwrap()
                .is_empty()
        );
    }

    #[test]
    fn a_manager_filled_in_and_a_reclassification_are_changes() {
        let stored = batch(&[
            lead("a", Some("Целевой"), None, &[]),
            lead("b", Some("Целевой"), Some("m1"), &["x"]),
            lead("c", Some("Целевой"), Some("m1"), &[]),
        ]);
        let again = batch(&[
            lead("a", Some("Целевой"), Some("m2"), &[]),
            lead("b", Some("Спам"), Some("m1"), &["x", "y z"]),
            lead("c", Some("Целевой"), Some("m1"), &[]),
        ]);
        let found = changes(Table::Leads, &stored, &again, &all()).unwrap();
        assert_eq!(
            found,
            vec![
                Change {
                    row: 0,
                    column: "manager_id",
                    previous: None,
                    new: Some("m2".into())
                },
                Change {
                    row: 1,
                    column: "class",
                    previous: Some("Целевой".into()),
                    new: Some("Спам".into())
                },
                Change {
                    row: 1,
                    column: "tags",
                    previous: Some("{x}".into()),
                    new: Some("{x,\"y z\"}".into())
                },
            ]
        );
        assert_eq!(changed_rows(&found), vec![0, 1]);
    }

    #[test]
    fn a_column_the_export_lacks_is_kept_as_stored() {
        let stored = batch(&[lead("a", Some("Целевой"), Some("m1"), &["x"])]);
        // An export without manager and tags columns: empty there.
        let again = batch(&[lead("a", Some("Спам"), None, &[])]);
        let mut carried = all();
        for (i, c) in Table::Leads.columns().iter().enumerate() {
            if matches!(c.name, "manager_id" | "tags") {
                carried[i] = false;
            }
        }
        let found = changes(Table::Leads, &stored, &again, &carried).unwrap();
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].column, "class");
        let merged = merge(Table::Leads, &stored, &again, &carried).unwrap();
        let Rebuilt {
            batch: rebuilt,
            kept,
            refused,
        } = rebuild(Table::Leads, None, &merged).unwrap();
        assert!(refused.is_empty());
        assert_eq!(kept, vec![0]);
        let col = |name: &str| {
            let i = rebuilt.schema().index_of(name).unwrap();
            text_of(rebuilt.column(i), 0).unwrap()
        };
        assert_eq!(col("manager_id").as_deref(), Some("m1"));
        assert_eq!(col("tags").as_deref(), Some("{x}"));
        assert_eq!(col("class").as_deref(), Some("Спам"));
        assert_eq!(col("created_month").as_deref(), Some("2026-05"));
    }

    #[test]
    fn a_corrected_row_must_pass_the_row_rules() {
        let mut stored_row = lead("a", None, None, &[]);
        // Stored: answered an hour after creation.
        let answered = Table::Leads
            .columns()
            .iter()
            .position(|c| c.name == "answered_at")
            .unwrap();
        stored_row[answered] = Value::Timestamp(1_780_003_600_000_000);
        let stored = batch(&[stored_row]);
        // The re-export moves creation two hours later and has no answered_at.
        let mut again_row = lead("a", None, None, &[]);
        let created = Table::Leads
            .columns()
            .iter()
            .position(|c| c.name == "created_at")
            .unwrap();
        again_row[created] = Value::Timestamp(1_780_007_200_000_000);
        let again = batch(&[again_row]);
        let mut carried = all();
        carried[answered] = false;
        let merged = merge(Table::Leads, &stored, &again, &carried).unwrap();
        let Rebuilt { kept, refused, .. } = rebuild(Table::Leads, None, &merged).unwrap();
        assert!(kept.is_empty());
        assert_eq!(refused[0].1.column, "answered_at");
    }

    #[test]
    fn audit_rows_name_the_lead_the_column_and_both_values() {
        let rows = batch(&[lead("a", Some("Спам"), None, &[])]);
        let change = Change {
            row: 0,
            column: "class",
            previous: Some("Целевой".into()),
            new: Some("Спам".into()),
        };
        let by = Corrector {
            user: "admin",
            at: 1_780_000_000_000_000,
            source: "sql",
        };
        let a = audit(&rows, &[change], &by).unwrap();
        assert_eq!(a.num_rows(), 1);
        let texts: Vec<Option<String>> = (0..a.num_columns())
            .map(|i| text_of(a.column(i), 0).unwrap())
            .collect();
        assert_eq!(
            texts,
            [
                Some("t1"),
                Some("a"),
                Some("class"),
                Some("Целевой"),
                Some("Спам"),
                Some("admin"),
                Some("2026-05-28 20:26:40+00"),
                Some("sql")
            ]
            .map(|v| v.map(str::to_string))
        );
    }
}
