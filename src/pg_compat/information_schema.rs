//! `information_schema` as PostgreSQL shows it, over the live catalog.
//!
//! DataFusion's own information schema names types the Arrow way
//! (`Timestamp(µs, "UTC")`, `Utf8View`); BI tools match PostgreSQL's names
//! (`timestamp with time zone`, `text`) to decide what a column is — Grafana
//! finds its time columns that way, Metabase its field types. So the server
//! turns DataFusion's off and serves this one: `tables`, `columns`,
//! `schemata`, `views`, `table_constraints` and `key_column_usage` (OKO
//! declares no constraints: empty, with PostgreSQL's columns), and
//! `df_settings` (the connection's engine settings).
//! Every table is computed when it is scanned, so it always matches the
//! catalog.

use std::any::Any;
use std::sync::{Arc, Weak};

use async_trait::async_trait;
use datafusion::arrow::array::{ArrayRef, Int32Builder, RecordBatch, StringBuilder};
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use datafusion::catalog::view::ViewTable;
use datafusion::catalog::{CatalogProvider, SchemaProvider, Session, TableProvider};
use datafusion::common::{DataFusionError, Result};
use datafusion::datasource::TableType;
use datafusion::datasource::memory::MemorySourceConfig;
use datafusion::logical_expr::Expr;
use datafusion::physical_plan::ExecutionPlan;

/// The schema's name.
pub const NAME: &str = "information_schema";

/// The tables it has.
const TABLES: [&str; 7] = [
    "tables",
    "columns",
    "schemata",
    "views",
    "table_constraints",
    "key_column_usage",
    "df_settings",
];

/// `information_schema` of one catalog.
#[derive(Debug)]
pub struct InformationSchema {
    catalog_name: String,
    /// The catalog this schema lives in (weak: the catalog holds us).
    catalog: Weak<dyn CatalogProvider>,
}

impl InformationSchema {
    pub fn new(catalog_name: &str, catalog: &Arc<dyn CatalogProvider>) -> InformationSchema {
        InformationSchema {
            catalog_name: catalog_name.to_string(),
            catalog: Arc::downgrade(catalog),
        }
    }
}

#[async_trait]
impl SchemaProvider for InformationSchema {
    fn table_names(&self) -> Vec<String> {
        TABLES.iter().map(|t| t.to_string()).collect()
    }

    async fn table(&self, name: &str) -> Result<Option<Arc<dyn TableProvider>>> {
        let Some(kind) = TABLES.iter().find(|t| **t == name) else {
            return Ok(None);
        };
        Ok(Some(Arc::new(InfoTable {
            kind,
            schema: schema_of(kind),
            catalog_name: self.catalog_name.clone(),
            catalog: self.catalog.clone(),
        })))
    }

    fn table_exist(&self, name: &str) -> bool {
        TABLES.contains(&name)
    }
}

/// One table of the schema.
#[derive(Debug)]
struct InfoTable {
    kind: &'static str,
    schema: SchemaRef,
    catalog_name: String,
    catalog: Weak<dyn CatalogProvider>,
}

/// A text column, typed as PostgreSQL's `information_schema` types it
/// (identifiers `name`, other texts `character varying`).
fn text(name: &str) -> Field {
    super::text_types::marked(
        Field::new(name, DataType::Utf8, true),
        super::text_types::information_schema_type(name),
    )
}

fn int(name: &str) -> Field {
    Field::new(name, DataType::Int32, true)
}

fn schema_of(kind: &str) -> SchemaRef {
    let fields = match kind {
        "tables" => vec![
            text("table_catalog"),
            text("table_schema"),
            text("table_name"),
            text("table_type"),
            text("is_insertable_into"),
            text("is_typed"),
        ],
        "columns" => vec![
            text("table_catalog"),
            text("table_schema"),
            text("table_name"),
            text("column_name"),
            int("ordinal_position"),
            text("column_default"),
            text("is_nullable"),
            text("data_type"),
            int("character_maximum_length"),
            int("numeric_precision"),
            int("numeric_scale"),
            int("datetime_precision"),
            text("udt_catalog"),
            text("udt_schema"),
            text("udt_name"),
            text("is_identity"),
            text("identity_generation"),
            text("is_generated"),
            text("generation_expression"),
            text("is_updatable"),
        ],
        "schemata" => vec![
            text("catalog_name"),
            text("schema_name"),
            text("schema_owner"),
        ],
        "views" => vec![
            text("table_catalog"),
            text("table_schema"),
            text("table_name"),
            text("view_definition"),
            text("check_option"),
            text("is_updatable"),
            text("is_insertable_into"),
        ],
        "table_constraints" => vec![
            text("constraint_catalog"),
            text("constraint_schema"),
            text("constraint_name"),
            text("table_catalog"),
            text("table_schema"),
            text("table_name"),
            text("constraint_type"),
            text("is_deferrable"),
            text("initially_deferred"),
            text("enforced"),
        ],
        "key_column_usage" => vec![
            text("constraint_catalog"),
            text("constraint_schema"),
            text("constraint_name"),
            text("table_catalog"),
            text("table_schema"),
            text("table_name"),
            text("column_name"),
            int("ordinal_position"),
            int("position_in_unique_constraint"),
        ],
        _ => vec![text("name"), text("value"), text("description")],
    };
    Arc::new(Schema::new(fields))
}

/// PostgreSQL's `data_type`, `udt_name` and numeric precision of an Arrow
/// type, as the catalog reports them.
pub fn pg_type(t: &DataType) -> (&'static str, &'static str, Option<i32>) {
    match t {
        DataType::Boolean => ("boolean", "bool", None),
        DataType::Int8 | DataType::Int16 | DataType::UInt8 => ("smallint", "int2", Some(16)),
        DataType::Int32 | DataType::UInt16 => ("integer", "int4", Some(32)),
        DataType::Int64 | DataType::UInt32 | DataType::UInt64 => ("bigint", "int8", Some(64)),
        DataType::Float16 | DataType::Float32 => ("real", "float4", Some(24)),
        DataType::Float64 => ("double precision", "float8", Some(53)),
        DataType::Decimal32(p, _)
        | DataType::Decimal64(p, _)
        | DataType::Decimal128(p, _)
        | DataType::Decimal256(p, _) => ("numeric", "numeric", Some(i32::from(*p))),
        DataType::Timestamp(_, Some(_)) => ("timestamp with time zone", "timestamptz", None),
        DataType::Timestamp(_, None) => ("timestamp without time zone", "timestamp", None),
        DataType::Date32 | DataType::Date64 => ("date", "date", None),
        DataType::Time32(_) | DataType::Time64(_) => ("time without time zone", "time", None),
        DataType::Interval(_) | DataType::Duration(_) => ("interval", "interval", None),
        DataType::Binary | DataType::LargeBinary | DataType::BinaryView => ("bytea", "bytea", None),
        DataType::List(f) | DataType::LargeList(f) | DataType::FixedSizeList(f, _) => {
            let udt = match pg_type(f.data_type()).1 {
                "bool" => "_bool",
                "int2" => "_int2",
                "int4" => "_int4",
                "int8" => "_int8",
                "float4" => "_float4",
                "float8" => "_float8",
                "numeric" => "_numeric",
                "timestamptz" => "_timestamptz",
                "timestamp" => "_timestamp",
                "date" => "_date",
                _ => "_text",
            };
            ("ARRAY", udt, None)
        }
        DataType::Dictionary(_, value) => pg_type(value),
        _ => ("text", "text", None),
    }
}

impl InfoTable {
    async fn batch(&self, state: &dyn Session) -> Result<RecordBatch> {
        let catalog = self.catalog.upgrade().ok_or_else(|| {
            DataFusionError::Internal("the catalog of information_schema is gone".into())
        })?;
        let mut cols: Vec<Column> = self.schema.fields().iter().map(|f| Column::of(f)).collect();
        let cat = Some(self.catalog_name.clone());
        let mut schemas = catalog.schema_names();
        schemas.sort();
        match self.kind {
            "schemata" => {
                for s in &schemas {
                    push(
                        &mut cols,
                        [cat.clone(), Some(s.clone()), Some("oko".into())],
                    );
                }
            }
            "tables" | "columns" | "views" => {
                for s in &schemas {
                    let Some(schema) = catalog.schema(s) else {
                        continue;
                    };
                    let mut names = schema.table_names();
                    names.sort();
                    for name in names {
                        let Some(table) = schema.table(&name).await? else {
                            continue;
                        };
                        self.describe(&mut cols, &cat, s, &name, &table);
                    }
                }
            }
            "df_settings" => {
                for entry in state.config_options().entries() {
                    push(
                        &mut cols,
                        [
                            Some(entry.key),
                            entry.value,
                            Some(entry.description.to_string()),
                        ],
                    );
                }
            }
            // OKO declares no constraints.
            _ => {}
        }
        let arrays: Vec<ArrayRef> = cols.into_iter().map(Column::finish).collect();
        Ok(RecordBatch::try_new(self.schema.clone(), arrays)?)
    }

    /// The rows of one table in `tables`, `columns` or `views`.
    fn describe(
        &self,
        cols: &mut [Column],
        cat: &Option<String>,
        schema: &str,
        name: &str,
        table: &Arc<dyn TableProvider>,
    ) {
        let s = Some(schema.to_string());
        let n = Some(name.to_string());
        let is_view = table.table_type() == TableType::View;
        match self.kind {
            "tables" => {
                let kind = if is_view { "VIEW" } else { "BASE TABLE" };
                push(
                    cols,
                    [
                        cat.clone(),
                        s,
                        n,
                        Some(kind.into()),
                        Some("NO".into()),
                        Some("NO".into()),
                    ],
                );
            }
            "views" if is_view => {
                let any: &dyn Any = table.as_ref();
                let definition = any.downcast_ref::<ViewTable>().and_then(|v| {
                    v.definition()
                        .map(|d| super::pg_functions::view_definition(d))
                });
                push(
                    cols,
                    [
                        cat.clone(),
                        s,
                        n,
                        definition,
                        Some("NONE".into()),
                        Some("NO".into()),
                        Some("NO".into()),
                    ],
                );
            }
            "columns" => {
                for (i, field) in table.schema().fields().iter().enumerate() {
                    let (data_type, udt, precision) = pg_type(field.data_type());
                    let nullable = if field.is_nullable() { "YES" } else { "NO" };
                    let row = [
                        Value::Text(cat.clone()),
                        Value::Text(s.clone()),
                        Value::Text(n.clone()),
                        Value::Text(Some(field.name().clone())),
                        Value::Int(Some(i as i32 + 1)),
                        Value::Text(None),
                        Value::Text(Some(nullable.into())),
                        Value::Text(Some(data_type.into())),
                        Value::Int(None),
                        Value::Int(precision),
                        Value::Int(precision.map(|_| 0)),
                        Value::Int(None),
                        Value::Text(cat.clone()),
                        Value::Text(Some("pg_catalog".into())),
                        Value::Text(Some(udt.into())),
                        Value::Text(Some("NO".into())),
                        Value::Text(None),
                        Value::Text(Some("NEVER".into())),
                        Value::Text(None),
                        Value::Text(Some("NO".into())),
                    ];
                    for (col, v) in cols.iter_mut().zip(row) {
                        col.append(v);
                    }
                }
            }
            _ => {}
        }
    }
}

/// A value of one cell.
enum Value {
    Text(Option<String>),
    Int(Option<i32>),
}

/// A column being built.
enum Column {
    Text(StringBuilder),
    Int(Int32Builder),
}

impl Column {
    fn of(field: &Field) -> Column {
        match field.data_type() {
            DataType::Int32 => Column::Int(Int32Builder::new()),
            _ => Column::Text(StringBuilder::new()),
        }
    }

    fn append(&mut self, v: Value) {
        match (self, v) {
            (Column::Text(b), Value::Text(t)) => b.append_option(t),
            (Column::Int(b), Value::Int(i)) => b.append_option(i),
            (Column::Text(b), Value::Int(i)) => b.append_option(i.map(|i| i.to_string())),
            (Column::Int(b), Value::Text(_)) => b.append_null(),
        }
    }

    fn finish(self) -> ArrayRef {
        match self {
            Column::Text(mut b) => Arc::new(b.finish()),
            Column::Int(mut b) => Arc::new(b.finish()),
        }
    }
}

/// Appends a row of text cells.
fn push<const N: usize>(cols: &mut [Column], row: [Option<String>; N]) {
    for (col, v) in cols.iter_mut().zip(row) {
        col.append(Value::Text(v));
    }
}

#[async_trait]
impl TableProvider for InfoTable {
    fn schema(&self) -> SchemaRef {
        self.schema.clone()
    }

    fn table_type(&self) -> TableType {
        TableType::View
    }

    async fn scan(
        &self,
        state: &dyn Session,
        projection: Option<&Vec<usize>>,
        _filters: &[Expr],
        _limit: Option<usize>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        let batch = self.batch(state).await?;
        Ok(MemorySourceConfig::try_new_exec(
            &[vec![batch]],
            self.schema.clone(),
            projection.cloned(),
        )?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arrow_types_get_postgres_names() {
        use datafusion::arrow::datatypes::TimeUnit;
        let tz = DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into()));
        assert_eq!(pg_type(&tz).0, "timestamp with time zone");
        assert_eq!(pg_type(&DataType::Utf8View), ("text", "text", None));
        let dict = DataType::Dictionary(Box::new(DataType::UInt16), Box::new(DataType::Utf8));
        assert_eq!(pg_type(&dict).0, "text");
        let list = DataType::List(Arc::new(Field::new("item", DataType::Utf8, true)));
        assert_eq!(pg_type(&list), ("ARRAY", "_text", None));
        assert_eq!(pg_type(&DataType::Float64).0, "double precision");
    }
}
