//! A live table's snapshot as a plain Parquet scan.
//!
//! OKO's tables need nothing Delta's own scan (`DeltaScanExec`) adds: no
//! deletion vectors, no column mapping, partition values in the log. So a
//! live table is read with DataFusion's own Parquet scan over the files its
//! served snapshot lists ([`StoreFiles`], taken from the log once per
//! commit): the same rows, without replaying the log for every scan (about
//! 2 ms of planning per table read, most of a dashboard query answered from
//! report parts), and a plan any DataFusion-based engine can ship (Apache
//! Ballista's codec writes it down as it is; no codec can write a
//! `DeltaScanExec`).
//!
//! Each file carries what the log knows of it — its rows, its bytes, its
//! partition values — so the planner orders joins as with Delta's scan and
//! answers `count(*)` of a whole table without reading a file.
//!
//! The files are named on the store's object store: the local file system,
//! or the S3 bucket, which every cluster executor registers from its
//! `--store` URL.

use std::collections::HashMap;
use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, BooleanArray};
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::catalog::Session;
use datafusion::common::stats::Precision;
use datafusion::common::{
    ColumnStatistics, DFSchema, Result, ScalarValue, Statistics, plan_datafusion_err,
};
use datafusion::datasource::listing::PartitionedFile;
use datafusion::datasource::physical_plan::parquet::CachedParquetFileReaderFactory;
use datafusion::datasource::physical_plan::{FileGroup, FileScanConfigBuilder, ParquetSource};
use datafusion::datasource::source::DataSourceExec;
use datafusion::datasource::table_schema::TableSchema;
use datafusion::execution::object_store::ObjectStoreUrl;
use datafusion::logical_expr::Expr;
use datafusion::logical_expr::utils::conjunction;
use datafusion::physical_plan::ExecutionPlan;
use datafusion::physical_plan::empty::EmptyExec;
use deltalake::DeltaTable;
use object_store::path::Path;
use url::Url;

/// The data files of one served snapshot, named on the store's object
/// store.
#[derive(Debug, Default)]
pub struct StoreFiles {
    /// The object store (`file:///`, `s3://bucket`); `None` for a table
    /// with no commit.
    pub store: Option<ObjectStoreUrl>,
    pub files: Vec<StoreFile>,
}

#[derive(Debug)]
pub struct StoreFile {
    /// The file's location in the object store.
    pub path: Path,
    pub size: u64,
    /// The file's rows, as the log's statistics have them.
    pub rows: Option<usize>,
    /// Partition column → value, as the log has them (`None`: NULL).
    pub partition_values: HashMap<String, Option<String>>,
}

impl StoreFiles {
    /// The files `delta`'s snapshot reads.
    pub fn of(delta: &DeltaTable) -> Result<StoreFiles> {
        let Ok(snapshot) = delta.snapshot() else {
            return Ok(StoreFiles::default());
        };
        let root = delta.log_store().root_url().clone();
        let (store, prefix) = object_store_of(&root)?;
        let files = snapshot
            .log_data()
            .into_iter()
            .map(|f| {
                let relative = f.object_store_path();
                StoreFile {
                    path: join(&prefix, &relative),
                    size: u64::try_from(f.size()).unwrap_or(0),
                    rows: f.num_records(),
                    partition_values: f.partition_values_map(),
                }
            })
            .collect();
        Ok(StoreFiles {
            store: Some(store),
            files,
        })
    }
}

/// The object store a URL lives in (`file:///`, `s3://bucket`) and its
/// path there.
pub fn object_store_of(url: &Url) -> Result<(ObjectStoreUrl, Path)> {
    let store = match url.scheme() {
        "file" => ObjectStoreUrl::local_filesystem(),
        scheme => {
            ObjectStoreUrl::parse(format!("{scheme}://{}", url.host_str().unwrap_or_default()))?
        }
    };
    let path = Path::from_url_path(url.path())
        .map_err(|e| plan_datafusion_err!("the store path {url} is not valid: {e}"))?;
    Ok((store, path))
}

fn join(prefix: &Path, relative: &Path) -> Path {
    prefix.parts().chain(relative.parts()).collect()
}

/// A plain Parquet scan of `files` with the table's `schema` (its
/// `partitions` last in the files' layout, put back in the schema's order by
/// the projection). Filters on partition columns only are applied here
/// exactly, by leaving out the files they reject (the Delta provider tells
/// DataFusion it applies them exactly, and this scan must keep that
/// promise); every filter also prunes row groups and rows in the files.
pub fn plain(
    state: &dyn Session,
    schema: &SchemaRef,
    partitions: &[&str],
    files: &StoreFiles,
    projection: Option<&Vec<usize>>,
    filters: &[Expr],
    limit: Option<usize>,
) -> Result<Arc<dyn ExecutionPlan>> {
    let projected = match projection {
        Some(p) => Arc::new(schema.project(p)?),
        None => schema.clone(),
    };
    let Some(store) = files.store.clone() else {
        return Ok(Arc::new(EmptyExec::new(projected)));
    };
    let file_fields: Vec<Field> = schema
        .fields()
        .iter()
        .filter(|f| !partitions.contains(&f.name().as_str()))
        .map(|f| f.as_ref().clone())
        .collect();
    let partition_fields: Vec<Arc<Field>> = partitions
        .iter()
        .map(|p| Ok(Arc::new(schema.field_with_name(p)?.clone())))
        .collect::<Result<_>>()?;
    let file_schema = Arc::new(Schema::new(file_fields));

    let (on_partitions, on_rows): (Vec<&Expr>, Vec<&Expr>) = filters.iter().partition(|f| {
        let columns = f.column_refs();
        !columns.is_empty()
            && columns
                .iter()
                .all(|c| partitions.contains(&c.name.as_str()))
    });
    let kept = kept_files(state, &partition_fields, files, &on_partitions)?;
    if kept.is_empty() {
        return Ok(Arc::new(EmptyExec::new(projected)));
    }

    // Files in target_partitions groups of about equal size (DataFusion
    // splits large files further when it repartitions the scan).
    let groups = state.config().target_partitions().clamp(1, kept.len());
    let mut sized: Vec<&StoreFile> = kept;
    sized.sort_by(|a, b| b.size.cmp(&a.size).then_with(|| a.path.cmp(&b.path)));
    let mut file_groups: Vec<(u64, Vec<PartitionedFile>)> = vec![(0, Vec::new()); groups];
    for f in sized {
        let values = partition_fields
            .iter()
            .map(|field| {
                let text = f.partition_values.get(field.name()).cloned().flatten();
                partition_value(text.as_deref(), field.data_type())
            })
            .collect::<Result<Vec<_>>>()?;
        let mut file = PartitionedFile::new(f.path.to_string(), f.size);
        file.statistics = Some(Arc::new(file_statistics(
            f,
            file_schema.fields().len(),
            &values,
        )));
        file.partition_values = values;
        let smallest = file_groups
            .iter_mut()
            .min_by_key(|(bytes, _)| *bytes)
            .ok_or_else(|| plan_datafusion_err!("no file group"))?;
        smallest.0 += f.size;
        smallest.1.push(file);
    }
    let file_groups: Vec<FileGroup> = file_groups
        .into_iter()
        .filter(|(_, files)| !files.is_empty())
        .map(|(_, files)| FileGroup::new(files))
        .collect();
    // The rows of each file, from the log: the planner orders joins by them
    // and answers `count(*)` of a whole table without reading a file.
    let scan_schema = Arc::new(Schema::new(
        file_schema
            .fields()
            .iter()
            .cloned()
            .chain(partition_fields.iter().cloned())
            .collect::<Vec<_>>(),
    ));
    let statistics = Statistics::try_merge_iter(
        file_groups
            .iter()
            .flat_map(|g| g.iter())
            .filter_map(|f| f.statistics.as_deref()),
        &scan_schema,
    )?;

    // The table's column i, in the file-then-partition layout of the scan.
    let layout: Vec<usize> = schema
        .fields()
        .iter()
        .map(|f| match partitions.iter().position(|p| p == f.name()) {
            Some(i) => file_schema.fields().len() + i,
            None => file_schema.index_of(f.name()).unwrap_or(usize::MAX),
        })
        .collect();
    let wanted: Vec<usize> = match projection {
        Some(p) => p.iter().map(|i| layout[*i]).collect(),
        None => layout,
    };

    let table_schema = TableSchema::builder(file_schema.clone())
        .with_table_partition_cols(partition_fields.clone())
        .build();
    // Footers and page indexes are read once per file, then kept in the
    // runtime's metadata cache (bounded by `runtime.metadata_cache_limit`),
    // as DataFusion's own Parquet tables do.
    let runtime = state.runtime_env();
    let reader = CachedParquetFileReaderFactory::new(
        runtime.object_store(&store)?,
        runtime.cache_manager.get_file_metadata_cache(),
    );
    let mut source = ParquetSource::new(table_schema)
        .with_table_parquet_options(state.table_options().parquet.clone())
        .with_parquet_file_reader_factory(Arc::new(reader));
    let every: Vec<Expr> = on_rows.into_iter().chain(on_partitions).cloned().collect();
    if let Some(predicate) = conjunction(every) {
        let df_schema = DFSchema::try_from(scan_schema.as_ref().clone())?;
        source = source.with_predicate(state.create_physical_expr(predicate, &df_schema)?);
    }
    let config = FileScanConfigBuilder::new(store, Arc::new(source))
        .with_file_groups(file_groups)
        .with_statistics(statistics)
        .with_projection_indices(Some(wanted))?
        .with_limit(limit)
        .build();
    Ok(DataSourceExec::from_data_source(config))
}

/// What the log tells of `file`: its rows and bytes, and each partition
/// column's value (after `file_columns` columns of unknown statistics).
fn file_statistics(file: &StoreFile, file_columns: usize, values: &[ScalarValue]) -> Statistics {
    let rows = file.rows.map_or(Precision::Absent, Precision::Exact);
    let mut column_statistics = vec![ColumnStatistics::new_unknown(); file_columns];
    column_statistics.extend(values.iter().map(|value| match value.is_null() {
        true => ColumnStatistics {
            null_count: rows,
            ..ColumnStatistics::new_unknown()
        },
        false => ColumnStatistics {
            null_count: Precision::Exact(0),
            min_value: Precision::Exact(value.clone()),
            max_value: Precision::Exact(value.clone()),
            distinct_count: Precision::Exact(1),
            ..ColumnStatistics::new_unknown()
        },
    }));
    Statistics {
        num_rows: rows,
        total_byte_size: Precision::Inexact(usize::try_from(file.size).unwrap_or(usize::MAX)),
        column_statistics,
    }
}

/// The files whose partition values pass every filter in `filters`.
fn kept_files<'a>(
    state: &dyn Session,
    partition_fields: &[Arc<Field>],
    files: &'a StoreFiles,
    filters: &[&Expr],
) -> Result<Vec<&'a StoreFile>> {
    let Some(filter) = conjunction(filters.iter().map(|f| (*f).clone())) else {
        return Ok(files.files.iter().collect());
    };
    let schema = Arc::new(Schema::new(
        partition_fields
            .iter()
            .map(|f| f.as_ref().clone())
            .collect::<Vec<_>>(),
    ));
    let columns = partition_fields
        .iter()
        .map(|field| {
            let values = files
                .files
                .iter()
                .map(|f| {
                    let text = f.partition_values.get(field.name()).cloned().flatten();
                    partition_value(text.as_deref(), field.data_type())
                })
                .collect::<Result<Vec<_>>>()?;
            if values.is_empty() {
                return Ok(datafusion::arrow::array::new_empty_array(field.data_type()));
            }
            ScalarValue::iter_to_array(values)
        })
        .collect::<Result<Vec<ArrayRef>>>()?;
    let batch = RecordBatch::try_new(schema.clone(), columns)?;
    let df_schema = DFSchema::try_from(schema.as_ref().clone())?;
    let expr = state.create_physical_expr(filter, &df_schema)?;
    let passed = expr.evaluate(&batch)?.into_array(batch.num_rows())?;
    let passed = passed
        .as_any()
        .downcast_ref::<BooleanArray>()
        .ok_or_else(|| plan_datafusion_err!("a partition filter is not a condition"))?;
    Ok(files
        .files
        .iter()
        .enumerate()
        .filter(|(i, _)| passed.is_valid(*i) && passed.value(*i))
        .map(|(_, f)| f)
        .collect())
}

/// A partition value of the log as a value of the column's type.
fn partition_value(text: Option<&str>, data_type: &DataType) -> Result<ScalarValue> {
    match text {
        None => ScalarValue::try_from(data_type),
        Some(text) => match data_type {
            DataType::Dictionary(key, inner) => Ok(ScalarValue::Dictionary(
                key.clone(),
                Box::new(partition_value(Some(text), inner)?),
            )),
            _ => ScalarValue::try_from_string(text.to_string(), data_type),
        },
    }
}
