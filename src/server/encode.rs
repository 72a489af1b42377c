//! Arrow record batches → Postgres rows, text or binary per column.
//!
//! The value encoders are arrow-pg's; this module drives them batch by
//! batch and fixes what they get wrong for us: a NULL `interval` is sent as
//! NULL (arrow-pg 0.16 sends it as a zero interval).

use std::borrow::Cow;
use std::sync::Arc;

use datafusion::arrow::array::{Array, AsArray};
use datafusion::arrow::datatypes::{DataType, Field, Int32Type, IntervalUnit, Schema};
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::physical_plan::SendableRecordBatchStream;
use futures::StreamExt;
use pgwire::api::Type;
use pgwire::api::portal::Format;
use pgwire::api::results::{DataRowEncoder, FieldFormat, FieldInfo, SendableRowStream};
use pgwire::error::PgWireResult;
use pgwire::messages::data::DataRow;
use pgwire::types::format::FormatOptions;

use super::errors;

/// The Postgres description of `schema`'s columns in the requested formats.
pub fn fields(
    schema: &Schema,
    format: &Format,
    options: Arc<FormatOptions>,
) -> PgWireResult<Arc<Vec<FieldInfo>>> {
    // An array of arrays has no PostgreSQL type here (PostgreSQL's
    // multidimensional arrays are not arrays of arrays).
    if schema.fields().iter().any(|f| {
        matches!(f.data_type(), DataType::List(item) | DataType::LargeList(item)
            if matches!(item.data_type(), DataType::List(_) | DataType::LargeList(_)))
    }) {
        return Err(pgwire::error::PgWireError::UserError(Box::new(
            pgwire::error::ErrorInfo::new(
                "ERROR".into(),
                crate::sqlstate::code::FEATURE_NOT_SUPPORTED.into(),
                "multidimensional arrays are not supported".into(),
            ),
        )));
    }
    let named = crate::pg_compat::column_names::described(schema);
    let schema = without_stale_types(named.as_ref().unwrap_or(schema));
    let mut fields = datafusion_postgres::arrow_pg::datatypes::arrow_schema_to_pg_fields(
        &schema,
        format,
        Some(options.clone()),
    )?;
    // Arrays of oids (arrow-pg knows oid-alias columns, not arrays of them).
    for (info, field) in fields.iter_mut().zip(schema.fields()) {
        if let Some(t) = oid_array_type(field.data_type())
            .or_else(|| json_type(field))
            .or_else(|| crate::pg_compat::text_types::wire_type(field))
            // An untyped NULL column (`SELECT NULL`) is `text`, as
            // PostgreSQL resolves an unknown output column.
            .or_else(|| (field.data_type() == &DataType::Null).then_some(Type::TEXT))
        {
            *info = FieldInfo::new(
                info.name().to_string(),
                info.table_id(),
                info.column_id(),
                t,
                info.format(),
            )
            .with_format_options(options.clone());
        }
    }
    Ok(Arc::new(fields))
}

pub use crate::pg_compat::pg_functions::OID_ALIAS;

/// `json` or `jsonb` for text marked as one ([`crate::pg_compat::json`]).
fn json_type(field: &Field) -> Option<Type> {
    Some(match crate::pg_compat::json::Kind::of(field)? {
        crate::pg_compat::json::Kind::Json => Type::JSON,
        crate::pg_compat::json::Kind::Jsonb => Type::JSONB,
    })
}

/// `oid[]` (or `regtype[]`, …) for a list whose elements are marked as an
/// oid alias ([`crate::pg_compat::pg_functions::OidArray`]).
pub fn oid_array_type(t: &DataType) -> Option<Type> {
    let DataType::List(item) = t else {
        return None;
    };
    Some(match item.metadata().get(OID_ALIAS)?.as_str() {
        "regclass" => Type::REGCLASS_ARRAY,
        "regtype" => Type::REGTYPE_ARRAY,
        "regproc" => Type::REGPROC_ARRAY,
        "regnamespace" => Type::REGNAMESPACE_ARRAY,
        _ => Type::OID_ARRAY,
    })
}

/// The type a parameter is described with: [`oid_array_type`] for an
/// `oid_array` kind, arrow-pg's mapping otherwise.
pub fn oid_array_kind_type(kind: &str) -> Type {
    oid_array_type(&crate::pg_compat::pg_functions::OidArray::list_type(kind))
        .unwrap_or(Type::OID_ARRAY)
}
/// arrow-pg's marker of a `"char"` column.
const CHAR: &str = "pg.char";

/// `schema` without type markers its values no longer fit: DataFusion
/// carries a column's metadata through a CAST, so `CAST(relnamespace AS
/// BIGINT)` would still say `regnamespace`. An oid alias only describes
/// int4 values, `"char"` only text.
fn without_stale_types(schema: &Schema) -> Cow<'_, Schema> {
    let is_text =
        |t: &DataType| matches!(t, DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View);
    // The marks a field has that its Arrow type no longer fits.
    let stale = |f: &Field| -> Vec<&'static str> {
        let mut keys = Vec::new();
        if f.metadata().contains_key(OID_ALIAS) && f.data_type() != &DataType::Int32 {
            keys.push(OID_ALIAS);
        }
        if f.metadata().contains_key(CHAR) && !is_text(f.data_type()) {
            keys.push(CHAR);
        }
        if crate::pg_compat::text_types::is_stale(f) {
            keys.push(crate::pg_compat::text_types::PG_TYPE);
        }
        keys
    };
    if schema.fields().iter().all(|f| stale(f).is_empty()) {
        return Cow::Borrowed(schema);
    }
    let fields: Vec<Field> = schema
        .fields()
        .iter()
        .map(|f| {
            let mut metadata = f.metadata().clone();
            for key in stale(f) {
                metadata.remove(key);
            }
            f.as_ref().clone().with_metadata(metadata)
        })
        .collect();
    Cow::Owned(Schema::new_with_metadata(fields, schema.metadata().clone()))
}

/// The rows of a DataFusion stream, encoded as `fields` says.
pub fn rows(batches: SendableRecordBatchStream, fields: Arc<Vec<FieldInfo>>) -> SendableRowStream {
    let rows = batches.flat_map(move |batch| {
        let encoded: Vec<PgWireResult<DataRow>> = match batch {
            Ok(batch) => encode_batch(&batch, &fields),
            Err(e) => vec![Err(errors::from_datafusion(e))],
        };
        futures::stream::iter(encoded)
    });
    Box::pin(rows)
}

/// Encodes every row of one batch.
pub fn encode_batch(
    batch: &RecordBatch,
    fields: &Arc<Vec<FieldInfo>>,
) -> Vec<PgWireResult<DataRow>> {
    let mut encoder = DataRowEncoder::new(fields.clone());
    let mut out = Vec::with_capacity(batch.num_rows());
    for row in 0..batch.num_rows() {
        match encode_row(&mut encoder, batch, row, fields) {
            Ok(()) => out.push(Ok(encoder.take_row())),
            Err(e) => {
                out.push(Err(e));
                break;
            }
        }
    }
    out
}

/// Encodes row `row` of `batch` into `encoder`.
fn encode_row(
    encoder: &mut DataRowEncoder,
    batch: &RecordBatch,
    row: usize,
    fields: &[FieldInfo],
) -> PgWireResult<()> {
    let schema = batch.schema();
    for (col, array) in batch.columns().iter().enumerate() {
        let field = schema.field(col);
        let pg_field = &fields[col];
        if *pg_field.datatype() == Type::REGCLASS
            && pg_field.format() == FieldFormat::Text
            && let Some(oids) = array.as_primitive_opt::<Int32Type>()
        {
            // A regclass is written as its relation's name (as PostgreSQL
            // does; the number when no relation has that oid).
            let text = (!oids.is_null(row)).then(|| {
                let oid = oids.value(row);
                crate::pg_compat::pg_catalog::relation_name(oid).unwrap_or_else(|| oid.to_string())
            });
            encoder.encode_field_with_type_and_format(
                &text,
                pg_field.datatype(),
                pg_field.format(),
                pg_field.format_options(),
            )?;
        } else if *pg_field.datatype() == Type::REGTYPE
            && pg_field.format() == FieldFormat::Text
            && let Some(oids) = array.as_primitive_opt::<Int32Type>()
        {
            // A regtype is written as its type's SQL name.
            let text = (!oids.is_null(row)).then(|| {
                let oid = oids.value(row);
                crate::pg_compat::pg_functions::type_name(oid as u32)
                    .map_or_else(|| oid.to_string(), str::to_string)
            });
            encoder.encode_field_with_type_and_format(
                &text,
                pg_field.datatype(),
                pg_field.format(),
                pg_field.format_options(),
            )?;
        } else if pg_field.format() == FieldFormat::Text
            && let DataType::Interval(IntervalUnit::MonthDayNano) = field.data_type()
            && !array.is_null(row)
        {
            // An interval in the session's `IntervalStyle`.
            let value = array
                .as_primitive::<datafusion::arrow::datatypes::IntervalMonthDayNanoType>()
                .value(row);
            let text = Some(crate::pg_compat::text_out::interval_in_style(
                value,
                &pg_field.format_options().interval_style,
            ));
            encoder.encode_field_with_type_and_format(
                &text,
                pg_field.datatype(),
                pg_field.format(),
                pg_field.format_options(),
            )?;
        } else if pg_field.format() == FieldFormat::Text
            && let Some(text) = crate::pg_compat::text_out::array_value(array.as_ref(), row)
        {
            // Timestamps, intervals, floats as PostgreSQL writes them.
            encoder.encode_field_with_type_and_format(
                &text,
                pg_field.datatype(),
                pg_field.format(),
                pg_field.format_options(),
            )?;
        } else if *pg_field.datatype() == Type::TIMETZ
            && let Some(texts) = array.as_string_opt::<i32>()
        {
            // A `timetz` is computed as its text (`pg_timetz`); binary
            // sends its parts.
            let value = (!texts.is_null(row))
                .then(|| super::timetz::TimeTz::parse(texts.value(row)))
                .flatten();
            encoder.encode_field_with_type_and_format(
                &value,
                pg_field.datatype(),
                pg_field.format(),
                pg_field.format_options(),
            )?;
        } else if *pg_field.datatype() == Type::CHAR
            && pg_field.format() == FieldFormat::Binary
            && let Some(texts) = array.as_string_opt::<i32>()
        {
            // A `"char"` is one byte in binary, `\0` for an empty one
            // (arrow-pg cannot send that).
            let value =
                (!texts.is_null(row)).then(|| texts.value(row).bytes().next().unwrap_or(0) as i8);
            encoder.encode_field_with_type_and_format(
                &value,
                pg_field.datatype(),
                pg_field.format(),
                pg_field.format_options(),
            )?;
        } else if pg_field.format() == FieldFormat::Text
            && let Some(text) = crate::pg_compat::text_out::list_value(array.as_ref(), row)
        {
            // Arrays of those, as PostgreSQL writes them (`{3,4.5}`,
            // `{"2026-07-01 10:00:00+00"}`).
            encoder.encode_field_with_type_and_format(
                &text,
                pg_field.datatype(),
                pg_field.format(),
                pg_field.format_options(),
            )?;
        } else if let DataType::Decimal128(_, scale) = field.data_type()
            && *pg_field.datatype() == Type::NUMERIC
        {
            // All 38 digits (arrow-pg's encoder holds 28).
            let value = array
                .as_primitive_opt::<datafusion::arrow::datatypes::Decimal128Type>()
                .filter(|a| !a.is_null(row))
                .map(|a| super::numeric::Numeric {
                    value: a.value(row),
                    scale: (*scale).max(0) as u32,
                });
            encoder.encode_field_with_type_and_format(
                &value,
                pg_field.datatype(),
                pg_field.format(),
                pg_field.format_options(),
            )?;
        } else if matches!(field.data_type(), DataType::Interval(_)) && array.is_null(row) {
            encoder.encode_field_with_type_and_format(
                &None::<i64>,
                pg_field.datatype(),
                pg_field.format(),
                pg_field.format_options(),
            )?;
        } else {
            datafusion_postgres::arrow_pg::encoder::encode_value(
                encoder, array, row, field, pg_field,
            )?;
        }
    }
    Ok(())
}

/// The columns a cursor's rows are encoded with: set by each `FETCH` (text
/// or binary, as that `FETCH` asks).
pub type CursorFields = Arc<std::sync::Mutex<Arc<Vec<FieldInfo>>>>;

/// The rows of a cursor's stream, each encoded when it is read, with the
/// columns `fields` holds at that moment.
pub fn cursor_rows(batches: SendableRecordBatchStream, fields: CursorFields) -> SendableRowStream {
    let rows = batches
        .flat_map(|batch| {
            let rows: Vec<PgWireResult<(RecordBatch, usize)>> = match batch {
                Ok(b) => (0..b.num_rows()).map(|i| Ok((b.clone(), i))).collect(),
                Err(e) => vec![Err(errors::from_datafusion(e))],
            };
            futures::stream::iter(rows)
        })
        .map(move |row| {
            let (batch, i) = row?;
            let fields = match fields.lock() {
                Ok(f) => f.clone(),
                Err(poisoned) => poisoned.into_inner().clone(),
            };
            let mut encoder = DataRowEncoder::new(fields.clone());
            encode_row(&mut encoder, &batch, i, &fields)?;
            Ok(encoder.take_row())
        });
    Box::pin(rows)
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::prelude::SessionContext;

    #[tokio::test]
    async fn a_null_interval_is_null_and_a_zero_interval_is_not() {
        let ctx = SessionContext::new();
        let batches = ctx
            .sql("SELECT CAST(NULL AS INTERVAL) AS a, INTERVAL '0 seconds' AS b")
            .await
            .unwrap()
            .collect()
            .await
            .unwrap();
        let fields = fields(
            &batches[0].schema(),
            &Format::UnifiedText,
            Arc::new(FormatOptions::default()),
        )
        .unwrap();
        let rows = encode_batch(&batches[0], &fields);
        let row = rows[0].as_ref().unwrap();
        // Field a: length -1 (NULL); field b: a text value.
        let bytes = &row.data[..];
        assert_eq!(&bytes[0..4], &(-1i32).to_be_bytes());
        assert!(i32::from_be_bytes([bytes[4], bytes[5], bytes[6], bytes[7]]) > 0);
    }
}
