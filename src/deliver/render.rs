//! A report's rows as the file a client receives: CSV, JSON or XLSX.
//!
//! Values are written as PostgreSQL writes them in text (what `psql` and
//! `oko query --format csv` show): timestamps `2025-03-03 00:00:00`,
//! booleans `t`/`f`, arrays `{most_sociable,fastest}`, NULL as an empty
//! field. JSON keeps numbers, booleans and arrays as JSON values; XLSX
//! keeps numbers, booleans and times as Excel values (times formatted
//! `yyyy-mm-dd hh:mm:ss`), the rest as text.

use anyhow::{Context, Result, bail};
use datafusion::arrow::array::{Array, ArrayRef, AsArray, RecordBatch};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, Float64Type, Int64Type, SchemaRef, TimeUnit};
use datafusion::arrow::util::display::{ArrayFormatter, FormatOptions};

/// A delivery's file format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Csv,
    Json,
    Xlsx,
}

impl Format {
    pub fn parse(text: &str) -> Result<Format> {
        Ok(match text.trim().to_ascii_lowercase().as_str() {
            "csv" => Format::Csv,
            "json" => Format::Json,
            "xlsx" => Format::Xlsx,
            other => bail!("format is csv, json or xlsx, not {other:?}"),
        })
    }

    pub fn extension(self) -> &'static str {
        match self {
            Format::Csv => "csv",
            Format::Json => "json",
            Format::Xlsx => "xlsx",
        }
    }

    /// The `Content-Type` of a post.
    pub fn content_type(self) -> &'static str {
        match self {
            Format::Csv => "text/csv; charset=utf-8",
            Format::Json => "application/json",
            Format::Xlsx => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        }
    }
}

/// What a JSON delivery says about itself besides its rows.
pub struct About<'a> {
    pub delivery: &'a str,
    pub tenant: &'a str,
    pub report: &'a str,
    pub period_start: String,
    pub period_end: String,
}

/// The rows of `batches` (of `schema`) in `format`.
pub fn render(
    format: Format,
    about: &About<'_>,
    schema: &SchemaRef,
    batches: &[RecordBatch],
) -> Result<Vec<u8>> {
    match format {
        Format::Csv => csv(schema, batches),
        Format::Json => json(about, schema, batches),
        Format::Xlsx => xlsx(about, schema, batches),
    }
}

fn names(schema: &SchemaRef) -> Vec<String> {
    schema.fields().iter().map(|f| f.name().clone()).collect()
}

fn csv(schema: &SchemaRef, batches: &[RecordBatch]) -> Result<Vec<u8>> {
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record(names(schema))?;
    for b in batches {
        let columns = b.columns().iter().map(texts).collect::<Result<Vec<_>>>()?;
        for row in 0..b.num_rows() {
            w.write_record(
                columns
                    .iter()
                    .map(|c| c[row].as_deref().unwrap_or_default()),
            )?;
        }
    }
    w.into_inner().context("cannot write the CSV")
}

fn json(about: &About<'_>, schema: &SchemaRef, batches: &[RecordBatch]) -> Result<Vec<u8>> {
    use serde_json::{Value, json};
    let names = names(schema);
    // Rows as objects whose keys keep the columns' order.
    let mut rows = Vec::new();
    for b in batches {
        let columns = b
            .columns()
            .iter()
            .map(json_values)
            .collect::<Result<Vec<_>>>()?;
        for row in 0..b.num_rows() {
            let mut text = String::from("{");
            for (i, (name, column)) in names.iter().zip(&columns).enumerate() {
                if i > 0 {
                    text.push(',');
                }
                text.push_str(&serde_json::to_string(name)?);
                text.push(':');
                text.push_str(&serde_json::to_string(&column[row])?);
            }
            text.push('}');
            rows.push(text);
        }
    }
    let head: Value = json!({
        "delivery": about.delivery,
        "tenant": about.tenant,
        "report": about.report,
        "period_start": about.period_start,
        "period_end": about.period_end,
        "columns": names,
    });
    let mut out = serde_json::to_string(&head)?;
    // `{…}` → `{…,"rows":[…]}`.
    out.pop();
    out.push_str(",\"rows\":[");
    out.push_str(&rows.join(","));
    out.push_str("]}");
    Ok(out.into_bytes())
}

fn xlsx(about: &About<'_>, schema: &SchemaRef, batches: &[RecordBatch]) -> Result<Vec<u8>> {
    use rust_xlsxwriter::{ExcelDateTime, Format as Look, Workbook};
    let mut book = Workbook::new();
    let sheet = book.add_worksheet();
    // Excel's sheet names: at most 31 characters, none of []:*?/\.
    let title: String = about
        .report
        .chars()
        .filter(|c| !"[]:*?/\\".contains(*c))
        .take(31)
        .collect();
    if !title.is_empty() {
        sheet.set_name(title)?;
    }
    let bold = Look::new().set_bold();
    let when = Look::new().set_num_format("yyyy-mm-dd hh:mm:ss");
    for (c, name) in names(schema).iter().enumerate() {
        sheet.write_string_with_format(0, col(c)?, name, &bold)?;
    }
    let mut row: u32 = 1;
    for b in batches {
        for (c, array) in b.columns().iter().enumerate() {
            let c = col(c)?;
            let t = array.data_type();
            if t.is_numeric() {
                let f = cast(array, &DataType::Float64)?;
                let f = f.as_primitive::<Float64Type>();
                for i in 0..f.len() {
                    if f.is_valid(i) && f.value(i).is_finite() {
                        sheet.write_number(row + i as u32, c, f.value(i))?;
                    }
                }
            } else if let DataType::Boolean = t {
                let v = array.as_boolean();
                for i in 0..v.len() {
                    if v.is_valid(i) {
                        sheet.write_boolean(row + i as u32, c, v.value(i))?;
                    }
                }
            } else if let Some(seconds) = unix_seconds(array)? {
                for (i, s) in seconds.iter().enumerate() {
                    // Times Excel cannot show (before 1900) stay empty.
                    if let Some(d) = s.and_then(|s| ExcelDateTime::from_timestamp(s).ok()) {
                        sheet.write_datetime_with_format(row + i as u32, c, &d, &when)?;
                    }
                }
            } else {
                for (i, v) in texts(array)?.iter().enumerate() {
                    if let Some(v) = v {
                        sheet.write_string(row + i as u32, c, v)?;
                    }
                }
            }
        }
        row += u32::try_from(b.num_rows()).context("too many rows for one sheet")?;
    }
    sheet.set_freeze_panes(1, 0)?;
    Ok(book.save_to_buffer()?)
}

fn col(c: usize) -> Result<u16> {
    u16::try_from(c).context("too many columns for one sheet")
}

/// Timestamps and dates as seconds since 1970 on their own clock (a
/// wall-clock time stays that wall-clock time; a zoned one is UTC).
fn unix_seconds(array: &ArrayRef) -> Result<Option<Vec<Option<i64>>>> {
    let seconds = match array.data_type() {
        DataType::Timestamp(_, _) => {
            let s = cast(array, &DataType::Timestamp(TimeUnit::Second, None))?;
            cast(&s, &DataType::Int64)?
        }
        DataType::Date32 | DataType::Date64 => {
            let s = cast(array, &DataType::Timestamp(TimeUnit::Second, None))?;
            cast(&s, &DataType::Int64)?
        }
        _ => return Ok(None),
    };
    let s = seconds.as_primitive::<Int64Type>();
    Ok(Some(
        (0..s.len())
            .map(|i| s.is_valid(i).then(|| s.value(i)))
            .collect(),
    ))
}

/// Each value as PostgreSQL's text (NULL: `None`).
fn texts(array: &ArrayRef) -> Result<Vec<Option<String>>> {
    match array.data_type() {
        DataType::Boolean => {
            let b = array.as_boolean();
            return Ok((0..b.len())
                .map(|i| {
                    b.is_valid(i)
                        .then(|| if b.value(i) { "t" } else { "f" }.into())
                })
                .collect());
        }
        DataType::List(_) => {
            let list = array.as_list::<i32>();
            let items = texts(list.values())?;
            let offsets: Vec<usize> = list.offsets().iter().map(|o| *o as usize).collect();
            return Ok(pg_arrays(list, &items, &offsets));
        }
        DataType::LargeList(_) => {
            let list = array.as_list::<i64>();
            let items = texts(list.values())?;
            let offsets: Vec<usize> = list.offsets().iter().map(|o| *o as usize).collect();
            return Ok(pg_arrays(list, &items, &offsets));
        }
        _ => {}
    }
    let options = FormatOptions::new()
        .with_null("")
        .with_date_format(Some("%Y-%m-%d"))
        .with_datetime_format(Some("%Y-%m-%d %H:%M:%S%.f"))
        .with_timestamp_format(Some("%Y-%m-%d %H:%M:%S%.f"))
        .with_timestamp_tz_format(Some("%Y-%m-%d %H:%M:%S%.f%:z"));
    let f = ArrayFormatter::try_new(array.as_ref(), &options)?;
    Ok((0..array.len())
        .map(|i| array.is_valid(i).then(|| f.value(i).to_string()))
        .collect())
}

/// `{a,b}` of each list, elements quoted as PostgreSQL quotes them.
fn pg_arrays(list: &dyn Array, items: &[Option<String>], offsets: &[usize]) -> Vec<Option<String>> {
    (0..list.len())
        .map(|i| {
            list.is_valid(i).then(|| {
                let inner: Vec<String> = items[offsets[i]..offsets[i + 1]]
                    .iter()
                    .map(|v| match v {
                        None => "NULL".to_string(),
                        Some(v) => pg_array_item(v),
                    })
                    .collect();
                format!("{{{}}}", inner.join(","))
            })
        })
        .collect()
}

fn pg_array_item(v: &str) -> String {
    let plain = !v.is_empty()
        && !v.eq_ignore_ascii_case("null")
        && !v
            .chars()
            .any(|c| matches!(c, '{' | '}' | ',' | '"' | '\\') || c.is_whitespace());
    if plain {
        v.to_string()
    } else {
        format!("\"{}\"", v.replace('\\', "\\\\").replace('"', "\\\""))
    }
}

/// Each value as JSON: numbers, booleans, text and lists as such, other
/// values as their PostgreSQL text.
fn json_values(array: &ArrayRef) -> Result<Vec<serde_json::Value>> {
    use serde_json::Value;
    let t = array.data_type();
    let nulls = |v: Vec<Value>| -> Vec<Value> {
        v.into_iter()
            .enumerate()
            .map(|(i, v)| if array.is_valid(i) { v } else { Value::Null })
            .collect()
    };
    Ok(match t {
        DataType::Boolean => {
            let b = array.as_boolean();
            nulls((0..b.len()).map(|i| Value::Bool(b.value(i))).collect())
        }
        DataType::Int8
        | DataType::Int16
        | DataType::Int32
        | DataType::Int64
        | DataType::UInt8
        | DataType::UInt16
        | DataType::UInt32 => {
            let n = cast(array, &DataType::Int64)?;
            let n = n.as_primitive::<Int64Type>();
            nulls((0..n.len()).map(|i| Value::from(n.value(i))).collect())
        }
        DataType::UInt64
        | DataType::Float16
        | DataType::Float32
        | DataType::Float64
        | DataType::Decimal128(_, _)
        | DataType::Decimal256(_, _) => {
            let n = cast(array, &DataType::Float64)?;
            let n = n.as_primitive::<Float64Type>();
            nulls(
                (0..n.len())
                    .map(|i| {
                        serde_json::Number::from_f64(n.value(i))
                            .map(Value::Number)
                            .unwrap_or(Value::Null)
                    })
                    .collect(),
            )
        }
        DataType::List(_) | DataType::LargeList(_) => {
            let (items, offsets): (Vec<Value>, Vec<usize>) = match t {
                DataType::List(_) => {
                    let l = array.as_list::<i32>();
                    (
                        json_values(l.values())?,
                        l.offsets().iter().map(|o| *o as usize).collect(),
                    )
                }
                _ => {
                    let l = array.as_list::<i64>();
                    (
                        json_values(l.values())?,
                        l.offsets().iter().map(|o| *o as usize).collect(),
                    )
                }
            };
            nulls(
                (0..array.len())
                    .map(|i| Value::Array(items[offsets[i]..offsets[i + 1]].to_vec()))
                    .collect(),
            )
        }
        _ => texts(array)?
            .into_iter()
            .map(|v| v.map(Value::String).unwrap_or(Value::Null))
            .collect(),
    })
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use datafusion::arrow::array::{
        BooleanArray, Float64Array, Int64Array, ListBuilder, StringArray, StringBuilder,
        TimestampMicrosecondArray,
    };
    use datafusion::arrow::datatypes::{Field, Schema};

    use super::*;

    fn batch() -> (SchemaRef, RecordBatch) {
        let mut tags = ListBuilder::new(StringBuilder::new());
        tags.values().append_value("fastest");
        tags.values().append_value("best service");
        tags.append(true);
        tags.append(false);
        let columns: Vec<ArrayRef> = vec![
            Arc::new(StringArray::from(vec![Some("Anna"), None])),
            Arc::new(Int64Array::from(vec![Some(3), Some(0)])),
            Arc::new(Float64Array::from(vec![Some(4.5), None])),
            Arc::new(BooleanArray::from(vec![Some(true), Some(false)])),
            Arc::new(TimestampMicrosecondArray::from(vec![
                Some(1_740_960_000_000_000),
                None,
            ])),
            Arc::new(tags.finish()),
        ];
        let schema = Arc::new(Schema::new(
            [
                "manager",
                "leads",
                "avg_score",
                "is_outlier",
                "period_start",
                "achievements",
            ]
            .iter()
            .zip(&columns)
            .map(|(n, c)| Field::new(*n, c.data_type().clone(), true))
            .collect::<Vec<_>>(),
        ));
        let b = RecordBatch::try_new(schema.clone(), columns).unwrap();
        (schema, b)
    }

    fn about() -> About<'static> {
        About {
            delivery: "d",
            tenant: "alpha",
            report: "manager_report",
            period_start: "2025-03-03 00:00:00".into(),
            period_end: "2025-03-04 00:00:00".into(),
        }
    }

    #[test]
    fn csv_writes_postgres_text() {
        let (schema, b) = batch();
        let text =
            String::from_utf8(render(Format::Csv, &about(), &schema, &[b]).unwrap()).unwrap();
        assert_eq!(
            text,
            "manager,leads,avg_score,is_outlier,period_start,achievements\n\
             Anna,3,4.5,t,2025-03-03 00:00:00,\"{fastest,\"\"best service\"\"}\"\n\
             ,0,,f,,\n"
        );
    }

    #[test]
    fn json_keeps_numbers_booleans_and_lists() {
        let (schema, b) = batch();
        let body = render(Format::Json, &about(), &schema, &[b]).unwrap();
        let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(v["tenant"], "alpha");
        assert_eq!(v["columns"][0], "manager");
        assert_eq!(
            v["rows"][0],
            serde_json::json!({"manager": "Anna", "leads": 3, "avg_score": 4.5, "is_outlier": true,
                "period_start": "2025-03-03 00:00:00", "achievements": ["fastest", "best service"]})
        );
        assert_eq!(v["rows"][1]["achievements"], serde_json::Value::Null);
        // Keys in the columns' order.
        let text = String::from_utf8(body).unwrap();
        assert!(
            text.contains("{\"manager\":\"Anna\",\"leads\":3,"),
            "{text}"
        );
    }

    #[test]
    fn xlsx_is_a_workbook() {
        let (schema, b) = batch();
        let body = render(Format::Xlsx, &about(), &schema, &[b]).unwrap();
        assert_eq!(&body[..2], b"PK", "a zip container");
        assert!(body.len() > 1000);
        assert!(Format::parse("XLSX").is_ok());
        assert!(
            Format::parse("pdf")
                .unwrap_err()
                .to_string()
                .contains("csv, json or xlsx")
        );
    }
}
