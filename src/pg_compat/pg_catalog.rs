//! `pg_catalog` with PostgreSQL's column types where clients depend on them.
//!
//! datafusion-pg-catalog's emulation stores some columns as text that
//! PostgreSQL types otherwise, and drivers notice:
//! - `"char"` columns (`pg_type.typtype`, `pg_constraint.contype`, …):
//!   asyncpg decodes them as bytes and compares with `b'b'`; they are marked
//!   `"char"` (OID 18) here, which arrow-pg sends as one byte in binary;
//! - `int2vector`/`int2[]` columns (`pg_constraint.conkey`,
//!   `pg_index.indkey`, …): pgjdbc and Metabase subscript them
//!   (`conkey[pos.n]`), compare with `= ANY(conkey)` or expand them
//!   (`_pg_expandarray(indkey)`); they are `int2[]` here.
//!
//! - `aclitem[]` columns (`pg_namespace.nspacl`, `pg_proc.proacl`, …):
//!   psql joins them with `array_to_string(…, E'\n')` (`\dn+`, `\df+`,
//!   `\dp`); they are `text[]` here.
//!
//! - `name` columns (`relname`, `nspname`, …) are text marked `name`
//!   ([`super::text_types`]).
//!
//! Those tables are static (rows exported from a real PostgreSQL), so they
//! are converted once, when the server starts; the tables datafusion-pg-catalog
//! builds from the catalog (`pg_namespace`, `pg_attribute`, `pg_class`)
//! are converted whenever they are read. `pg_settings` is replaced by
//! the connection's own settings ([`super::vars`], found through the session
//! configuration), `pg_class` gets the (NULL) `relacl` and `reloptions` it
//! lacks, `pg_type` and `pg_class` the relations' row types
//! ([`row_types`]), and the role tables are OKO's users ([`super::pg_roles`]).
//! Every other table is datafusion-pg-catalog's. What the catalog
//! functions need to know of the objects listed here is in [`index`].

use std::collections::HashMap;
use std::sync::{Arc, LazyLock, RwLock};

use async_trait::async_trait;
use datafusion::arrow::array::{
    Array, ArrayRef, AsArray, BooleanBuilder, Int16Builder, Int32Builder, ListBuilder, RecordBatch,
    StringArray, StringBuilder,
};
use datafusion::arrow::datatypes::{DataType, Field, Int32Type, Schema, SchemaRef};
use datafusion::catalog::{MemTable, SchemaProvider, Session, TableProvider};
use datafusion::common::Result;
use datafusion::datasource::TableType;
use datafusion::datasource::memory::MemorySourceConfig;
use datafusion::execution::context::SessionContext;
use datafusion::logical_expr::Expr;
use datafusion::physical_plan::ExecutionPlan;

use super::pg_functions::quote_ident;
use super::vars::Vars;

mod index;
mod row_types;

pub use index::{CatalogIndex, FunctionEntry, Kind, Relation, TypeEntry};

/// arrow-pg's marker of a `"char"` column.
const CHAR: &str = "pg.char";

/// How a column is retyped.
#[derive(Clone, Copy, Debug)]
enum Retype {
    /// Text holding one character → `"char"`.
    Char,
    /// `{1,2}`, `[1, 2]` or `1 2` → `int2[]`.
    Int2Array,
    /// `1 2` (an `oidvector`) → `oid[]` (int4 values).
    OidArray,
    /// `{a,b}` (an `aclitem[]`) → `text[]`.
    TextArray,
    /// An oid column datafusion-pg-catalog marks as `regclass` or
    /// `regtype` (`pg_attribute.atttypid`) → `oid`, as in PostgreSQL: a
    /// `regtype` is written as a type's name, and pgjdbc reads these as
    /// numbers.
    Oid,
}

/// The retyped columns of the static tables.
const RETYPED: &[(&str, &[(&str, Retype)])] = &[
    (
        "pg_type",
        &[
            ("typtype", Retype::Char),
            ("typcategory", Retype::Char),
            ("typalign", Retype::Char),
            ("typstorage", Retype::Char),
            ("typdelim", Retype::Char),
            ("typacl", Retype::TextArray),
        ],
    ),
    (
        "pg_proc",
        &[
            ("prokind", Retype::Char),
            ("provolatile", Retype::Char),
            ("proparallel", Retype::Char),
            ("proacl", Retype::TextArray),
        ],
    ),
    ("pg_language", &[("lanacl", Retype::TextArray)]),
    ("pg_tablespace", &[("spcacl", Retype::TextArray)]),
    ("pg_default_acl", &[("defaclacl", Retype::TextArray)]),
    ("pg_foreign_data_wrapper", &[("fdwacl", Retype::TextArray)]),
    ("pg_foreign_server", &[("srvacl", Retype::TextArray)]),
    ("pg_policy", &[("polroles", Retype::OidArray)]),
    (
        "pg_constraint",
        &[
            ("contype", Retype::Char),
            ("confupdtype", Retype::Char),
            ("confdeltype", Retype::Char),
            ("confmatchtype", Retype::Char),
            ("conkey", Retype::Int2Array),
            ("confkey", Retype::Int2Array),
        ],
    ),
    (
        "pg_index",
        &[
            ("indkey", Retype::Int2Array),
            ("indoption", Retype::Int2Array),
            ("indclass", Retype::OidArray),
            ("indcollation", Retype::OidArray),
        ],
    ),
    ("pg_am", &[("amtype", Retype::Char)]),
];

/// The retyped columns of the tables built from the catalog, converted
/// whenever they are read.
/// (An empty `"char"`, PostgreSQL's `\0`, is sent in binary by OKO's
/// encoder, `crate::server::encode`.)
const RETYPED_LIVE: &[(&str, &[(&str, Retype)])] = &[
    ("pg_namespace", &[("nspacl", Retype::TextArray)]),
    (
        "pg_attribute",
        &[
            ("attrelid", Retype::Oid),
            ("atttypid", Retype::Oid),
            ("attalign", Retype::Char),
            ("attstorage", Retype::Char),
            ("attidentity", Retype::Char),
            ("attgenerated", Retype::Char),
            ("attcompression", Retype::Char),
            ("attacl", Retype::TextArray),
        ],
    ),
    (
        "pg_class",
        &[
            ("relnamespace", Retype::Oid),
            ("reltype", Retype::Oid),
            ("relam", Retype::Oid),
            ("reltablespace", Retype::Oid),
            ("reloftype", Retype::Oid),
            ("reltoastrelid", Retype::Oid),
            ("relrewrite", Retype::Oid),
            ("relkind", Retype::Char),
            ("relpersistence", Retype::Char),
            ("relreplident", Retype::Char),
        ],
    ),
];

/// Columns the emulated tables lack, always NULL here (SQLAlchemy reads
/// `pg_class.reloptions` while reflecting a table's indexes).
const MISSING: &[(&str, &[&str])] = &[("pg_class", &["relacl", "reloptions"])];

/// `pg_catalog`: datafusion-pg-catalog's, with the tables above retyped and
/// `pg_settings` per connection.
#[derive(Debug)]
pub struct PgCatalog {
    inner: Arc<dyn SchemaProvider>,
    /// The retyped static tables, by name.
    retyped: HashMap<&'static str, Arc<dyn TableProvider>>,
    /// What the catalog functions know of the objects listed.
    index: Arc<CatalogIndex>,
}

impl PgCatalog {
    /// Wraps datafusion-pg-catalog's `pg_catalog` schema, converting its
    /// static tables with `ctx`.
    /// `roles` are the role tables ([`super::pg_roles`]) this catalog shows.
    pub async fn new(
        inner: Arc<dyn SchemaProvider>,
        ctx: &SessionContext,
        roles: Vec<(&'static str, Arc<dyn TableProvider>)>,
    ) -> Result<PgCatalog> {
        let state = ctx.state();
        let index =
            Arc::new(CatalogIndex::new(inner.as_ref(), &state, state.catalog_list()).await?);
        let mut retyped: HashMap<&'static str, Arc<dyn TableProvider>> =
            roles.into_iter().collect();
        for (name, columns) in RETYPED {
            let Some(table) = inner.table(name).await? else {
                continue;
            };
            let plan = table.scan(&state, None, &[], None).await?;
            let batches = datafusion::physical_plan::collect(plan, ctx.task_ctx()).await?;
            let schema = retyped_schema(&table.schema(), columns);
            let batches = batches
                .iter()
                .map(|b| retype_batch(b, &schema, columns))
                .collect::<Result<Vec<_>>>()?;
            let table: Arc<dyn TableProvider> = if *name == "pg_type" {
                Arc::new(row_types::PgType::new(
                    schema,
                    batches,
                    index.clone(),
                    inner.clone(),
                ))
            } else {
                Arc::new(MemTable::try_new(schema, vec![batches])?)
            };
            retyped.insert(*name, table);
        }
        Ok(PgCatalog {
            inner,
            retyped,
            index,
        })
    }
}

#[async_trait]
impl SchemaProvider for PgCatalog {
    fn table_names(&self) -> Vec<String> {
        let mut names = self.inner.table_names();
        for name in self.retyped.keys() {
            if !names.iter().any(|n| n == name) {
                names.push(name.to_string());
            }
        }
        names
    }

    async fn table(&self, name: &str) -> Result<Option<Arc<dyn TableProvider>>> {
        let lower = name.to_ascii_lowercase();
        if lower == "pg_settings" {
            return Ok(Some(Arc::new(PgSettings::new())));
        }
        if let Some(t) = self.retyped.get(lower.as_str()) {
            return Ok(Some(t.clone()));
        }
        let table = self.inner.table(name).await?;
        let missing = MISSING.iter().find(|(t, _)| *t == lower);
        let retyped = RETYPED_LIVE.iter().find(|(t, _)| *t == lower);
        match table {
            Some(table) if missing.is_some() || retyped.is_some() => {
                let mut table = Converted::new(
                    table,
                    retyped.map_or(&[][..], |(_, c)| c),
                    missing.map_or(&[][..], |(_, c)| c),
                );
                if lower == "pg_class" {
                    table.classes =
                        Some((self.inner.table("pg_namespace").await?, self.index.clone()));
                }
                if lower == "pg_attribute" {
                    table.attributes_of = self.inner.table("pg_class").await?;
                }
                Ok(Some(Arc::new(table)))
            }
            // Any other table with `name` columns: marked as it is read.
            Some(table)
                if table
                    .schema()
                    .fields()
                    .iter()
                    .any(|f| super::text_types::name_column(f.name())) =>
            {
                Ok(Some(Arc::new(Converted::new(table, &[], &[]))))
            }
            table => Ok(table),
        }
    }

    fn table_exist(&self, name: &str) -> bool {
        self.retyped
            .contains_key(name.to_ascii_lowercase().as_str())
            || self.inner.table_exist(name)
    }
}

fn retyped_schema(schema: &SchemaRef, columns: &[(&str, Retype)]) -> SchemaRef {
    let fields: Vec<Field> = schema
        .fields()
        .iter()
        .map(|f| match columns.iter().find(|(c, _)| c == f.name()) {
            Some((_, Retype::Char)) => f
                .as_ref()
                .clone()
                .with_metadata(HashMap::from([(CHAR.to_string(), "char".to_string())])),
            Some((_, Retype::Int2Array)) => {
                Field::new(f.name(), DataType::new_list(DataType::Int16, true), true)
            }
            Some((_, Retype::OidArray)) => {
                Field::new(f.name(), DataType::new_list(DataType::Int32, true), true)
            }
            Some((_, Retype::TextArray)) => {
                Field::new(f.name(), DataType::new_list(DataType::Utf8, true), true)
            }
            Some((_, Retype::Oid)) => {
                let mut metadata = f.metadata().clone();
                metadata.insert(
                    super::pg_functions::OID_ALIAS.to_string(),
                    "oid".to_string(),
                );
                f.as_ref().clone().with_metadata(metadata)
            }
            None if super::text_types::name_column(f.name())
                && f.data_type() == &DataType::Utf8 =>
            {
                super::text_types::marked(f.as_ref().clone(), "name")
            }
            None => f.as_ref().clone(),
        })
        .collect();
    Arc::new(Schema::new(fields))
}

fn retype_batch(
    batch: &RecordBatch,
    schema: &SchemaRef,
    columns: &[(&str, Retype)],
) -> Result<RecordBatch> {
    Ok(RecordBatch::try_new(
        schema.clone(),
        retyped_columns(batch, schema, columns)?,
    )?)
}

/// The columns of `batch`, those in `columns` converted to their types in
/// `schema` (whose first fields are the batch's).
fn retyped_columns(
    batch: &RecordBatch,
    schema: &SchemaRef,
    columns: &[(&str, Retype)],
) -> Result<Vec<ArrayRef>> {
    batch
        .columns()
        .iter()
        .zip(schema.fields())
        .map(
            |(array, field)| match columns.iter().find(|(c, _)| c == field.name()) {
                Some((_, Retype::Int2Array)) => int2_arrays(array),
                Some((_, Retype::OidArray)) => oid_arrays(array),
                Some((_, Retype::TextArray)) => text_arrays(array),
                _ => Ok(array.clone()),
            },
        )
        .collect()
}

/// Text arrays of small integers (`{1,2}`, `[1, 2]`, `1 2`) → `int2[]`; an
/// empty or unreadable text is NULL.
fn int2_arrays(array: &ArrayRef) -> Result<ArrayRef> {
    let text = datafusion::arrow::compute::cast(array, &DataType::Utf8)?;
    let text = text.as_string::<i32>();
    let mut out = ListBuilder::new(Int16Builder::new());
    for i in 0..text.len() {
        match numbers::<i16>(text, i) {
            Some(ns) => {
                out.values().append_slice(&ns);
                out.append(true);
            }
            None => out.append(false),
        }
    }
    Ok(Arc::new(out.finish()))
}

/// Text `oidvector`s (`1 2`) → `oid[]` (int4 values, as every oid here).
fn oid_arrays(array: &ArrayRef) -> Result<ArrayRef> {
    let text = datafusion::arrow::compute::cast(array, &DataType::Utf8)?;
    let text = text.as_string::<i32>();
    let mut out = ListBuilder::new(Int32Builder::new());
    for i in 0..text.len() {
        match numbers::<i32>(text, i) {
            Some(ns) => {
                out.values().append_slice(&ns);
                out.append(true);
            }
            None => out.append(false),
        }
    }
    Ok(Arc::new(out.finish()))
}

/// Text arrays (`{a,b}`, PostgreSQL's array input) → `text[]`; an
/// unreadable text is NULL.
fn text_arrays(array: &ArrayRef) -> Result<ArrayRef> {
    let text = datafusion::arrow::compute::cast(array, &DataType::Utf8)?;
    let text = text.as_string::<i32>();
    let mut out = ListBuilder::new(StringBuilder::new());
    for value in text.iter() {
        match value.map(super::pg_functions::array_items) {
            Some(Ok(items)) => {
                for item in items {
                    out.values().append_option(item);
                }
                out.append(true);
            }
            _ => out.append(false),
        }
    }
    Ok(Arc::new(out.finish()))
}

/// The numbers of row `i`'s text array, `None` when it is NULL, empty or
/// unreadable.
fn numbers<T: std::str::FromStr>(text: &StringArray, i: usize) -> Option<Vec<T>> {
    (!text.is_null(i))
        .then(|| text.value(i).trim())
        .filter(|s| !s.is_empty())
        .and_then(|s| {
            s.trim_matches(|c| matches!(c, '{' | '}' | '[' | ']'))
                .split(|c: char| c == ',' || c.is_whitespace())
                .filter(|n| !n.is_empty())
                .map(|n| n.parse::<T>().ok())
                .collect()
        })
}

type Table = Arc<dyn TableProvider>;

/// A table built from the catalog, converted as it is read: columns
/// retyped ([`RETYPED_LIVE`]), [`MISSING`] columns (`text[]`, NULL) after
/// its own, and for `pg_class` the relations noted and given their row
/// types ([`row_types`]).
#[derive(Debug)]
struct Converted {
    inner: Arc<dyn TableProvider>,
    schema: SchemaRef,
    retyped: &'static [(&'static str, Retype)],
    /// For `pg_class`: `pg_namespace`, to note the relations' names, and
    /// the index that notes them.
    classes: Option<(Option<Table>, Arc<CatalogIndex>)>,
    /// For `pg_attribute`: `pg_class`, to know which relations are views.
    attributes_of: Option<Table>,
}

impl Converted {
    fn new(
        inner: Arc<dyn TableProvider>,
        retyped: &'static [(&'static str, Retype)],
        missing: &[&str],
    ) -> Converted {
        let base = retyped_schema(&inner.schema(), retyped);
        let fields = base.fields().iter().map(|f| f.as_ref().clone()).chain(
            missing
                .iter()
                .map(|c| Field::new(*c, DataType::new_list(DataType::Utf8, true), true)),
        );
        Converted {
            schema: Arc::new(Schema::new(fields.collect::<Vec<_>>())),
            inner,
            retyped,
            classes: None,
            attributes_of: None,
        }
    }
}

#[async_trait]
impl TableProvider for Converted {
    fn schema(&self) -> SchemaRef {
        self.schema.clone()
    }

    fn table_type(&self) -> TableType {
        self.inner.table_type()
    }

    async fn scan(
        &self,
        state: &dyn Session,
        projection: Option<&Vec<usize>>,
        _filters: &[Expr],
        _limit: Option<usize>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        // Catalog tables are small: read the inner one whole.
        let plan = self.inner.scan(state, None, &[], None).await?;
        let mut batches = datafusion::physical_plan::collect(plan, state.task_ctx()).await?;
        if let Some((namespaces, index)) = &self.classes {
            let spaces = match namespaces {
                Some(namespaces) => {
                    let plan = namespaces.scan(state, None, &[], None).await?;
                    datafusion::physical_plan::collect(plan, state.task_ctx()).await?
                }
                None => vec![],
            };
            note_relation_names(&batches, &spaces)?;
            index.note(&batches, &spaces).await?;
            batches = batches
                .iter()
                .map(|b| row_types::patch_pg_class(b, index).and_then(|b| heap_tables(&b)))
                .collect::<Result<Vec<_>>>()?;
        }
        if let Some(classes) = &self.attributes_of {
            let plan = classes.scan(state, None, &[], None).await?;
            let classes = datafusion::physical_plan::collect(plan, state.task_ctx()).await?;
            let views = view_oids(&classes)?;
            batches = batches
                .iter()
                .map(|b| attributes_as_postgresql(b, &views))
                .collect::<Result<Vec<_>>>()?;
        }
        let batches = batches
            .into_iter()
            .map(|b| {
                let rows = b.num_rows();
                let mut columns = retyped_columns(&b, &self.schema, self.retyped)?;
                for field in &self.schema.fields()[columns.len()..] {
                    columns.push(datafusion::arrow::array::new_null_array(
                        field.data_type(),
                        rows,
                    ));
                }
                Ok(RecordBatch::try_new(self.schema.clone(), columns)?)
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(MemorySourceConfig::try_new_exec(
            &[batches],
            self.schema.clone(),
            projection.cloned(),
        )?)
    }
}

/// `pg_class` with `relam` and `relhasrules` as PostgreSQL has them: a
/// table's access method is `heap` (oid 2; psql's `\dt+` shows it), other
/// relations have none; a view has its rule and no replica identity.
fn heap_tables(b: &RecordBatch) -> Result<RecordBatch> {
    const HEAP: i32 = 2;
    let schema = b.schema();
    let (Ok(am), Some(kind)) = (
        schema.index_of("relam"),
        column_as(b, "relkind", &DataType::Utf8)?,
    ) else {
        return Ok(b.clone());
    };
    let kind = kind.as_string::<i32>();
    let current = datafusion::arrow::compute::cast(b.column(am), &DataType::Int32)?;
    let current = current.as_primitive::<Int32Type>();
    let relam: datafusion::arrow::array::Int32Array = (0..b.num_rows())
        .map(|i| match kind.is_valid(i).then(|| kind.value(i)) {
            Some("r" | "m" | "t") => Some(HEAP),
            _ => current.is_valid(i).then(|| current.value(i)),
        })
        .collect();
    let relam = datafusion::arrow::compute::cast(&relam, schema.field(am).data_type())?;
    let mut columns = b.columns().to_vec();
    columns[am] = relam;
    // A view is a rule in PostgreSQL (`relhasrules`, which psql reads).
    if let Ok(rules) = schema.index_of("relhasrules")
        && schema.field(rules).data_type() == &DataType::Boolean
    {
        let current = b.column(rules).as_boolean();
        let has: datafusion::arrow::array::BooleanArray = (0..b.num_rows())
            .map(|i| match kind.is_valid(i).then(|| kind.value(i)) {
                Some("v") => Some(true),
                _ => current.is_valid(i).then(|| current.value(i)),
            })
            .collect();
        columns[rules] = Arc::new(has);
    }
    // A view has no replica identity (`n`), a table its default (`d`).
    if let Ok(identity) = schema.index_of("relreplident")
        && let Some(current) = b.column(identity).as_string_opt::<i32>()
    {
        let replident: StringArray = (0..b.num_rows())
            .map(|i| match kind.is_valid(i).then(|| kind.value(i)) {
                Some("v") => Some("n"),
                _ => current.is_valid(i).then(|| current.value(i)),
            })
            .collect();
        columns[identity] = Arc::new(replident);
    }
    Ok(RecordBatch::try_new(schema, columns)?)
}

/// The oids of the views among `classes` (`pg_class` rows).
fn view_oids(classes: &[RecordBatch]) -> Result<std::collections::HashSet<i32>> {
    let mut views = std::collections::HashSet::new();
    for b in classes {
        let (Some(oid), Some(kind)) = (
            column_as(b, "oid", &DataType::Int32)?,
            column_as(b, "relkind", &DataType::Utf8)?,
        ) else {
            continue;
        };
        let (oid, kind) = (oid.as_primitive::<Int32Type>(), kind.as_string::<i32>());
        for i in 0..b.num_rows() {
            if oid.is_valid(i) && kind.is_valid(i) && kind.value(i) == "v" {
                views.insert(oid.value(i));
            }
        }
    }
    Ok(views)
}

/// `pg_attribute` as PostgreSQL has it: a view's columns are never `NOT
/// NULL` (DataFusion infers some from the tables they read), and
/// `attcompression` is `\0` (an empty `"char"`), not NULL.
fn attributes_as_postgresql(
    b: &RecordBatch,
    views: &std::collections::HashSet<i32>,
) -> Result<RecordBatch> {
    let schema = b.schema();
    let mut columns = b.columns().to_vec();
    if let (Ok(notnull), Some(relid)) = (
        schema.index_of("attnotnull"),
        column_as(b, "attrelid", &DataType::Int32)?,
    ) && let Some(current) = b.column(notnull).as_boolean_opt()
    {
        let relid = relid.as_primitive::<Int32Type>();
        let fixed: datafusion::arrow::array::BooleanArray = (0..b.num_rows())
            .map(|i| {
                let of_view = relid.is_valid(i) && views.contains(&relid.value(i));
                match (of_view, current.is_valid(i)) {
                    (true, _) => Some(false),
                    (false, true) => Some(current.value(i)),
                    (false, false) => None,
                }
            })
            .collect();
        columns[notnull] = Arc::new(fixed);
    }
    if let Ok(compression) = schema.index_of("attcompression")
        && let Some(current) = b.column(compression).as_string_opt::<i32>()
    {
        let fixed: StringArray = current.iter().map(|v| Some(v.unwrap_or(""))).collect();
        columns[compression] = Arc::new(fixed);
    }
    Ok(RecordBatch::try_new(schema, columns)?)
}

/// Relation names by oid, as a `regclass` is written: noted whenever
/// `pg_class` is read (a client holds no relation oid it did not read
/// there). Oids are the same for every connection of a server.
static RELATION_NAMES: LazyLock<RwLock<HashMap<i32, String>>> = LazyLock::new(Default::default);

/// The name a `regclass` of `oid` is written as: bare for a relation in
/// `public` or `pg_catalog` (on every search path here), else qualified.
pub fn relation_name(oid: i32) -> Option<String> {
    let names = match RELATION_NAMES.read() {
        Ok(n) => n,
        Err(poisoned) => poisoned.into_inner(),
    };
    names.get(&oid).cloned()
}

/// Column `name` of `b` cast to `t`, if it has one.
fn column_as(b: &RecordBatch, name: &str, t: &DataType) -> Result<Option<ArrayRef>> {
    b.column_by_name(name)
        .map(|c| datafusion::arrow::compute::cast(c, t))
        .transpose()
        .map_err(Into::into)
}

fn note_relation_names(classes: &[RecordBatch], spaces: &[RecordBatch]) -> Result<()> {
    let mut schemas: HashMap<i32, String> = HashMap::new();
    for b in spaces {
        let (Some(oid), Some(name)) = (
            column_as(b, "oid", &DataType::Int32)?,
            column_as(b, "nspname", &DataType::Utf8)?,
        ) else {
            continue;
        };
        let (oid, name) = (oid.as_primitive::<Int32Type>(), name.as_string::<i32>());
        for i in 0..b.num_rows() {
            if oid.is_valid(i) && name.is_valid(i) {
                schemas.insert(oid.value(i), name.value(i).to_string());
            }
        }
    }
    let mut noted = Vec::new();
    for b in classes {
        let (Some(oid), Some(name), Some(space)) = (
            column_as(b, "oid", &DataType::Int32)?,
            column_as(b, "relname", &DataType::Utf8)?,
            column_as(b, "relnamespace", &DataType::Int32)?,
        ) else {
            continue;
        };
        let (oid, name, space) = (
            oid.as_primitive::<Int32Type>(),
            name.as_string::<i32>(),
            space.as_primitive::<Int32Type>(),
        );
        for i in 0..b.num_rows() {
            if !oid.is_valid(i) || !name.is_valid(i) {
                continue;
            }
            let relation = quote_ident(name.value(i));
            let text = match schemas.get(&space.value(i)).map(String::as_str) {
                None | Some("public") | Some("pg_catalog") => relation,
                Some(schema) => format!("{}.{relation}", quote_ident(schema)),
            };
            noted.push((oid.value(i), text));
        }
    }
    let mut names = match RELATION_NAMES.write() {
        Ok(n) => n,
        Err(poisoned) => poisoned.into_inner(),
    };
    names.extend(noted);
    Ok(())
}

/// `pg_settings`: the settings of the connection that reads it.
#[derive(Debug)]
struct PgSettings {
    schema: SchemaRef,
}

impl PgSettings {
    fn new() -> PgSettings {
        let text = |n: &str| Field::new(n, DataType::Utf8, true);
        PgSettings {
            schema: Arc::new(Schema::new(vec![
                text("name"),
                text("setting"),
                text("unit"),
                text("category"),
                text("short_desc"),
                text("extra_desc"),
                text("context"),
                text("vartype"),
                text("source"),
                text("min_val"),
                text("max_val"),
                text("enumvals"),
                text("boot_val"),
                text("reset_val"),
                text("sourcefile"),
                Field::new("sourceline", DataType::Int32, true),
                Field::new("pending_restart", DataType::Boolean, true),
            ])),
        }
    }

    fn batch(&self, vars: &Vars) -> Result<RecordBatch> {
        let all = vars.all();
        let n = all.len();
        let mut names = StringBuilder::new();
        let mut settings = StringBuilder::new();
        let mut sources = StringBuilder::new();
        let mut defaults = StringBuilder::new();
        for (name, value) in &all {
            let default = Vars::default().get(name);
            names.append_value(super::vars::display_name(name));
            settings.append_value(value);
            sources.append_value(if default.as_deref() == Some(value.as_str()) {
                "default"
            } else {
                "session"
            });
            defaults.append_option(default);
        }
        let nulls = |n: usize| {
            let mut b = StringBuilder::new();
            (0..n).for_each(|_| b.append_null());
            Arc::new(b.finish()) as ArrayRef
        };
        let mut sourceline = Int32Builder::new();
        let mut pending = BooleanBuilder::new();
        (0..n).for_each(|_| {
            sourceline.append_null();
            pending.append_value(false);
        });
        let arrays: Vec<ArrayRef> = vec![
            Arc::new(names.finish()),
            Arc::new(settings.finish()),
            nulls(n),
            nulls(n),
            nulls(n),
            nulls(n),
            nulls(n),
            nulls(n),
            Arc::new(sources.finish()),
            nulls(n),
            nulls(n),
            nulls(n),
            nulls(n),
            Arc::new(defaults.finish()),
            nulls(n),
            Arc::new(sourceline.finish()),
            Arc::new(pending.finish()),
        ];
        Ok(RecordBatch::try_new(self.schema.clone(), arrays)?)
    }
}

#[async_trait]
impl TableProvider for PgSettings {
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
        let vars = state.config().get_extension::<Vars>().unwrap_or_default();
        let batch = self.batch(&vars)?;
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
    fn int2_vectors_and_arrays_become_int2_arrays() {
        let text: ArrayRef = Arc::new(datafusion::arrow::array::StringArray::from(vec![
            Some("[1, 2]"),
            Some("{3}"),
            Some("1 2 3"),
            Some(""),
            None,
        ]));
        let out = int2_arrays(&text).unwrap();
        let list = out.as_list::<i32>();
        assert_eq!(
            list.value(0)
                .as_primitive::<datafusion::arrow::datatypes::Int16Type>()
                .values(),
            &[1, 2]
        );
        assert_eq!(list.value(2).len(), 3);
        assert!(list.is_null(3) && list.is_null(4));
    }
}
