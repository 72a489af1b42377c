//! Row types. PostgreSQL gives every table and view a composite type of
//! its name (`pg_type.typtype = 'c'`, `typrelid` the relation,
//! `pg_class.reltype` pointing back) and an array type of that (`_leads`);
//! drivers follow `reltype`, and `\dT`, SQLAlchemy and pgjdbc tell a
//! relation's row type from other composite types by `typrelid`.
//! datafusion-pg-catalog's `pg_type` only has the types exported from a
//! real PostgreSQL (with `pg_catalog`'s own row types, whose `typrelid`s
//! are that installation's), and its `pg_class.reltype` is 0.
//!
//! Here `pg_type` is those types, `pg_catalog`'s row types pointing at the
//! relations of this catalog, plus a row type and its array type for every
//! other relation [`CatalogIndex`] knows (oids: [`super::index::ROW_TYPE_OFFSET`]);
//! `pg_class` gets `reltype` (and `reloftype` 0, not NULL: no relation
//! here is of a composite type), and `pg_catalog`'s relations the `relkind`
//! they have in PostgreSQL.

use std::collections::HashMap;
use std::sync::Arc;

use async_trait::async_trait;
use datafusion::arrow::array::{Array, ArrayRef, AsArray, Int32Array, RecordBatch};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, Int32Type, SchemaRef};
use datafusion::catalog::{SchemaProvider, Session, TableProvider};
use datafusion::common::{Result, ScalarValue};
use datafusion::datasource::TableType;
use datafusion::datasource::memory::MemorySourceConfig;
use datafusion::logical_expr::Expr;
use datafusion::physical_plan::ExecutionPlan;

use super::index::{CatalogIndex, ROW_TYPE_OFFSET, Relation};

/// `pg_type`: the static types and the relations' row types.
#[derive(Debug)]
pub struct PgType {
    schema: SchemaRef,
    /// The static types (with PostgreSQL's column types, see `RETYPED`).
    types: Vec<RecordBatch>,
    index: Arc<CatalogIndex>,
    /// datafusion-pg-catalog's `pg_catalog`, to list the relations.
    inner: Arc<dyn SchemaProvider>,
}

impl PgType {
    pub fn new(
        schema: SchemaRef,
        types: Vec<RecordBatch>,
        index: Arc<CatalogIndex>,
        inner: Arc<dyn SchemaProvider>,
    ) -> PgType {
        PgType {
            schema,
            types,
            index,
            inner,
        }
    }

    fn batches(&self) -> Result<Vec<RecordBatch>> {
        let relations = self.index.relations();
        // `pg_catalog`'s own row types, by oid → the relation here.
        let linked: HashMap<i32, i32> = relations
            .iter()
            .filter(|r| r.row_type < ROW_TYPE_OFFSET)
            .map(|r| (r.row_type, r.oid))
            .collect();
        let mut out = Vec::with_capacity(self.types.len() + 1);
        for b in &self.types {
            out.push(link_row_types(b, &linked)?);
        }
        let made: Vec<(&Relation, bool)> = relations
            .iter()
            .filter(|r| r.row_type >= ROW_TYPE_OFFSET)
            .flat_map(|r| [(r, false), (r, true)])
            .collect();
        if !made.is_empty() {
            let columns = self
                .schema
                .fields()
                .iter()
                .map(|f| {
                    let values = made.iter().map(|(r, array)| value(f.name(), r, *array));
                    let array = ScalarValue::iter_to_array(values)?;
                    Ok(cast(&array, f.data_type())?)
                })
                .collect::<Result<Vec<ArrayRef>>>()?;
            out.push(RecordBatch::try_new(self.schema.clone(), columns)?);
        }
        Ok(out)
    }
}

#[async_trait]
impl TableProvider for PgType {
    fn schema(&self) -> SchemaRef {
        self.schema.clone()
    }

    fn table_type(&self) -> TableType {
        TableType::Base
    }

    async fn scan(
        &self,
        state: &dyn Session,
        projection: Option<&Vec<usize>>,
        _filters: &[Expr],
        _limit: Option<usize>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        self.index.refresh(self.inner.as_ref(), state).await?;
        Ok(MemorySourceConfig::try_new_exec(
            &[self.batches()?],
            self.schema.clone(),
            projection.cloned(),
        )?)
    }
}

/// `b` with the `typrelid` of the row types in `linked` (type oid →
/// relation oid) set to their relations here.
fn link_row_types(b: &RecordBatch, linked: &HashMap<i32, i32>) -> Result<RecordBatch> {
    let (Some(oid), Some(at)) = (
        b.column_by_name("oid"),
        b.schema().index_of("typrelid").ok(),
    ) else {
        return Ok(b.clone());
    };
    let oid = cast(oid, &DataType::Int32)?;
    let oid = oid.as_primitive::<Int32Type>();
    let relid = cast(b.column(at), &DataType::Int32)?;
    let relid = relid.as_primitive::<Int32Type>();
    let patched: Int32Array = (0..b.num_rows())
        .map(|i| {
            let own = relid.is_valid(i).then(|| relid.value(i));
            match oid.is_valid(i).then(|| linked.get(&oid.value(i))).flatten() {
                Some(relation) => Some(*relation),
                None => own,
            }
        })
        .collect();
    let mut columns = b.columns().to_vec();
    columns[at] = cast(&(Arc::new(patched) as ArrayRef), b.column(at).data_type())?;
    Ok(RecordBatch::try_new(b.schema(), columns)?)
}

/// Column `column` of the row type of `r` (`array`: of its array type),
/// as PostgreSQL fills it for a table's row type.
fn value(column: &str, r: &Relation, array: bool) -> ScalarValue {
    let text = |s: &str| ScalarValue::Utf8(Some(s.to_string()));
    let int = |v: i32| ScalarValue::Int32(Some(v));
    let array_oid = r.oid.saturating_add(2 * ROW_TYPE_OFFSET);
    let either = |row: &str, arr: &str| text(if array { arr } else { row });
    match column {
        "oid" => int(if array { array_oid } else { r.row_type }),
        "typname" if array => text(&format!("_{}", r.name)),
        "typname" => text(&r.name),
        "typnamespace" => int(r.namespace),
        "typowner" => int(10),
        "typlen" => int(-1),
        "typbyval" | "typispreferred" | "typnotnull" => ScalarValue::Boolean(Some(false)),
        "typisdefined" => ScalarValue::Boolean(Some(true)),
        "typtype" => either("c", "b"),
        "typcategory" => either("C", "A"),
        "typdelim" => text(","),
        "typrelid" => int(if array { 0 } else { r.oid }),
        "typsubscript" => either("-", "array_subscript_handler"),
        "typelem" => int(if array { r.row_type } else { 0 }),
        "typarray" => int(if array { 0 } else { array_oid }),
        "typinput" => either("record_in", "array_in"),
        "typoutput" => either("record_out", "array_out"),
        "typreceive" => either("record_recv", "array_recv"),
        "typsend" => either("record_send", "array_send"),
        "typmodin" | "typmodout" => text("-"),
        "typanalyze" => either("-", "array_typanalyze"),
        "typalign" => text("d"),
        "typstorage" => text("x"),
        "typbasetype" | "typndims" | "typcollation" => int(0),
        "typtypmod" => int(-1),
        _ => ScalarValue::Null,
    }
}

/// `pg_class` rows with `reltype` the relations' row types and
/// `reloftype` 0.
pub fn patch_pg_class(b: &RecordBatch, index: &CatalogIndex) -> Result<RecordBatch> {
    let Some(oid) = b.column_by_name("oid") else {
        return Ok(b.clone());
    };
    let oid = cast(oid, &DataType::Int32)?;
    let oid = oid.as_primitive::<Int32Type>();
    let mut columns = b.columns().to_vec();
    if let Ok(at) = b.schema().index_of("reltype") {
        let types: Int32Array = (0..b.num_rows())
            .map(|i| {
                oid.is_valid(i)
                    .then(|| index.relation(oid.value(i)))
                    .flatten()
                    .map(|r| r.row_type)
                    .or(Some(0))
            })
            .collect();
        columns[at] = cast(&(Arc::new(types) as ArrayRef), b.column(at).data_type())?;
    }
    if let Ok(at) = b.schema().index_of("relkind") {
        let own = cast(b.column(at), &DataType::Utf8)?;
        let own = own.as_string::<i32>();
        let kinds: datafusion::arrow::array::StringArray = (0..b.num_rows())
            .map(|i| {
                let relation = oid
                    .is_valid(i)
                    .then(|| index.relation(oid.value(i)))
                    .flatten();
                match relation {
                    Some(r) if !r.kind.is_empty() => Some(r.kind),
                    _ => own.is_valid(i).then(|| own.value(i).to_string()),
                }
            })
            .collect();
        columns[at] = Arc::new(kinds);
    }
    if let Ok(at) = b.schema().index_of("reloftype") {
        let column = cast(b.column(at), &DataType::Int32)?;
        let zeroed: Int32Array = column
            .as_primitive::<Int32Type>()
            .iter()
            .map(|v| Some(v.unwrap_or(0)))
            .collect();
        columns[at] = cast(&(Arc::new(zeroed) as ArrayRef), b.column(at).data_type())?;
    }
    Ok(RecordBatch::try_new(b.schema(), columns)?)
}
