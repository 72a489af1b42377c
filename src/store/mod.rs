//! The store: one Delta Lake table per model table under one storage URL
//! (a local folder or `s3://bucket/prefix`).
//!
//! This module turns the URL into table locations, creates missing tables
//! with the model's schema and partitioning, and registers every table in a
//! DataFusion [`SessionContext`]. It does not parse input (see `ingest`) and
//! does not compute reports (see `sql/` and `udfs/`).

pub mod write;

use std::collections::HashMap;
use std::sync::Arc;

use anyhow::{Context, Result, bail};
use datafusion::datasource::MemTable;
use datafusion::prelude::SessionContext;
use deltalake::kernel::StructType;
use deltalake::kernel::engine::arrow_conversion::TryIntoKernel;
use deltalake::protocol::SaveMode;
use deltalake::{DeltaTable, DeltaTableBuilder, DeltaTableError};
use url::Url;

use crate::config::StoreConfig;
use crate::durable::DurableFs;
use crate::model::Table;

/// A handle on the store: its root URL and the options to reach it.
#[derive(Debug, Clone)]
pub struct Store {
    root: Url,
    options: HashMap<String, String>,
}

impl Store {
    /// Opens the store described by the configuration. A local folder is
    /// created if missing; nothing is written to S3 until a table is made.
    pub fn open(config: &StoreConfig) -> Result<Store> {
        let root = root_url(&config.url)?;
        Ok(Store {
            root,
            options: config.storage_options(),
        })
    }

    /// The root URL (always ending in `/`).
    pub fn url(&self) -> &Url {
        &self.root
    }

    /// The object store holding the store's files, rooted at its top (an S3
    /// bucket), with the URL DataFusion names it by (`s3://bucket`), for a
    /// process that reads the files by name: a cluster's executors
    /// ([`crate::cluster`]). `None` for a local folder: DataFusion reads
    /// `file:///` itself.
    pub fn object_store(&self) -> Result<Option<(Url, Arc<dyn object_store::ObjectStore>)>> {
        if self.root.scheme() == "file" {
            return Ok(None);
        }
        let top = Url::parse(&format!(
            "{}://{}/",
            self.root.scheme(),
            self.root.host_str().unwrap_or_default()
        ))
        .with_context(|| format!("cannot name the bucket of {}", self.root))?;
        let store = DeltaTableBuilder::from_url(top.clone())?
            .with_storage_options(self.options.clone())
            .build_storage()
            .with_context(|| format!("cannot reach {top}"))?
            .object_store(None);
        Ok(Some((top, store)))
    }

    /// The URL of one table's folder.
    pub fn table_url(&self, table: Table) -> Result<Url> {
        self.root
            .join(&format!("{}/", table.name()))
            .with_context(|| format!("cannot form the location of table {table}"))
    }

    /// A table OKO derives from the model tables and keeps itself (the
    /// report parts, [`crate::live::parts`]): the folder `name` under the
    /// root, beside the model tables. Loaded when it exists; otherwise a
    /// handle whose first write creates it.
    pub async fn derived(&self, name: &str) -> Result<DeltaTable> {
        let url = self
            .root
            .join(&format!("{name}/"))
            .with_context(|| format!("cannot form the location of {name}"))?;
        if let Ok(path) = url.to_file_path() {
            std::fs::create_dir_all(&path)
                .with_context(|| format!("cannot create the folder {}", path.display()))?;
        }
        self.open_url(&url)
            .await
            .with_context(|| format!("cannot open {name} at {url}"))
    }

    /// Opens a table; `None` when it was never created.
    pub async fn table(&self, table: Table) -> Result<Option<DeltaTable>> {
        let url = self.table_url(table)?;
        if let Ok(path) = url.to_file_path()
            && !path.join("_delta_log").is_dir()
        {
            return Ok(None);
        }
        let t = self
            .open_url(&url)
            .await
            .with_context(|| format!("cannot open table {table} at {url}"))?;
        Ok(t.version().is_some().then_some(t))
    }

    /// The Delta table at `url`, loaded when it exists. A local folder is
    /// reached through [`DurableFs`], so every acknowledged write is on
    /// disk; other stores as deltalake reaches them.
    async fn open_url(&self, url: &Url) -> deltalake::DeltaResult<DeltaTable> {
        let mut builder =
            DeltaTableBuilder::from_url(url.clone())?.with_storage_options(self.options.clone());
        if let Ok(root) = self.root.to_file_path() {
            builder = builder.with_storage_backend(Arc::new(DurableFs::new(root)), url.clone());
        }
        let mut table = builder.build()?;
        match table.load().await {
            // A location without a table yet: the caller may create it.
            Ok(()) | Err(DeltaTableError::NotATable(_)) => Ok(table),
            Err(e) => Err(e),
        }
    }

    /// Opens a table, creating it (empty, with the model's schema and
    /// partitioning) when it does not exist yet.
    pub async fn table_or_create(&self, table: Table) -> Result<DeltaTable> {
        if let Some(t) = self.table(table).await? {
            let t = self.upgrade(table, t).await?;
            check_schema(table, &t)?;
            return Ok(t);
        }
        let url = self.table_url(table)?;
        if let Ok(path) = url.to_file_path() {
            std::fs::create_dir_all(&path)
                .with_context(|| format!("cannot create the folder {}", path.display()))?;
        }
        let t = self
            .open_url(&url)
            .await
            .with_context(|| format!("cannot open table {table} at {url}"))?;
        let schema: StructType = table
            .schema()
            .as_ref()
            .try_into_kernel()
            .with_context(|| format!("the model schema of {table} is not a Delta schema"))?;
        let created = t
            .create()
            .with_table_name(table.name())
            .with_columns(schema.fields().cloned())
            .with_partition_columns(table.partition_columns().iter().map(|c| c.to_string()))
            .with_save_mode(SaveMode::Ignore)
            .await;
        match created {
            Ok(t) => Ok(t),
            // Another writer may have created it at the same moment.
            Err(e) => match self.table(table).await? {
                Some(t) => Ok(t),
                None => Err(e).with_context(|| format!("cannot create table {table} at {url}")),
            },
        }
    }

    /// Registers every model table in `ctx`: the newest snapshot of each
    /// stored table, or an empty table with the model's schema where none
    /// was created yet (so queries over a fresh store work).
    pub async fn register_all(&self, ctx: &SessionContext) -> Result<()> {
        for table in Table::ALL {
            self.register(ctx, table).await?;
        }
        Ok(())
    }

    /// One table brought up to this version's model; `None` when it was
    /// never created.
    pub async fn table_current(&self, table: Table) -> Result<Option<DeltaTable>> {
        match self.table(table).await? {
            Some(t) => Ok(Some(self.upgrade(table, t).await?)),
            None => Ok(None),
        }
    }

    /// Registers (or replaces) one table in `ctx`.
    pub async fn register(&self, ctx: &SessionContext, table: Table) -> Result<()> {
        let stored = self.table_current(table).await?;
        let provider: Arc<dyn datafusion::catalog::TableProvider> = match stored {
            Some(t) => {
                t.update_datafusion_session(&ctx.state())
                    .with_context(|| format!("cannot reach the storage of table {table}"))?;
                t.table_provider()
                    .await
                    .with_context(|| format!("cannot read table {table}"))?
            }
            None => Arc::new(MemTable::try_new(table.schema(), vec![vec![]])?),
        };
        ctx.deregister_table(table.name())?;
        ctx.register_table(table.name(), provider)?;
        Ok(())
    }
}

impl Store {
    /// Brings a stored table up to this version's model. A newer model may
    /// add optional columns at the end of a table (the tenants' survey
    /// intervals per scope were added so): they are added to the stored
    /// table by one metadata-only commit — no data file is rewritten, rows
    /// written before read them as NULL. Anything else (a column removed,
    /// renamed, reordered or required) is left to [`check_schema`] to
    /// refuse. Two processes upgrading at once: the loser's commit fails,
    /// and the table it reloads has the columns.
    async fn upgrade(&self, table: Table, t: DeltaTable) -> Result<DeltaTable> {
        let stored: Vec<String> = t
            .snapshot()?
            .schema()
            .fields()
            .map(|f| f.name().to_string())
            .collect();
        let model = table.columns();
        let is_prefix = stored.len() < model.len()
            && stored.iter().zip(model).all(|(s, c)| s.as_str() == c.name);
        let added = &model[stored.len().min(model.len())..];
        if !is_prefix || added.iter().any(|c| c.required) {
            return Ok(t);
        }
        let schema: StructType = table
            .schema()
            .as_ref()
            .try_into_kernel()
            .with_context(|| format!("the model schema of {table} is not a Delta schema"))?;
        let fields: Vec<_> = schema
            .fields()
            .filter(|f| added.iter().any(|c| c.name == f.name()))
            .cloned()
            .collect();
        let names: Vec<&str> = added.iter().map(|c| c.name).collect();
        match t.add_columns().with_fields(fields).await {
            Ok(t) => {
                tracing::info!(%table, columns = ?names, "table upgraded: columns added");
                Ok(t)
            }
            Err(e) => match self.table(table).await? {
                Some(t) if check_schema(table, &t).is_ok() => Ok(t),
                _ => Err(e).with_context(|| {
                    format!("cannot add the columns {names:?} to the stored table {table}")
                }),
            },
        }
    }
}

/// Refuses a stored table whose columns differ from the model: writing into
/// it would fail later with a less helpful message.
fn check_schema(table: Table, t: &DeltaTable) -> Result<()> {
    let snapshot = t.snapshot()?;
    let stored: Vec<String> = snapshot
        .schema()
        .fields()
        .map(|f| f.name().to_string())
        .collect();
    let expected: Vec<String> = table.columns().iter().map(|c| c.name.to_string()).collect();
    if stored != expected {
        bail!(
            "table {table} in the store has columns ({}) but this version of oko expects ({}); \
             use a new store or migrate the table",
            stored.join(", "),
            expected.join(", ")
        );
    }
    Ok(())
}

/// Turns `./oko-data`, `/abs/path`, `file:///x` or `s3://b/p` into a root URL
/// ending in `/`. Local folders are created.
fn root_url(location: &str) -> Result<Url> {
    let mut url = if location.contains("://") {
        Url::parse(location).with_context(|| format!("`{location}` is not a valid store URL"))?
    } else {
        std::fs::create_dir_all(location)
            .with_context(|| format!("cannot create the store folder {location}"))?;
        let abs = std::fs::canonicalize(location)
            .with_context(|| format!("cannot resolve the store folder {location}"))?;
        Url::from_directory_path(&abs)
            .map_err(|_| anyhow::anyhow!("cannot turn {} into a URL", abs.display()))?
    };
    match url.scheme() {
        "file" => {
            let path = url
                .to_file_path()
                .map_err(|_| anyhow::anyhow!("`{location}` is not a local path"))?;
            std::fs::create_dir_all(&path)
                .with_context(|| format!("cannot create the store folder {}", path.display()))?;
        }
        "s3" | "s3a" | "memory" => {}
        other => bail!(
            "store scheme `{other}` is not supported: use a local path, file:// or s3://bucket/prefix"
        ),
    }
    if !url.path().ends_with('/') {
        let p = format!("{}/", url.path());
        url.set_path(&p);
    }
    Ok(url)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_end_with_a_slash() {
        assert_eq!(root_url("s3://b/p").unwrap().as_str(), "s3://b/p/");
        assert!(root_url("ftp://x").is_err());
    }

    /// A table stored before the model added optional columns at its end
    /// gains them on open; its rows read NULL there and later writes work.
    #[tokio::test]
    async fn a_stored_table_gains_the_models_new_columns() {
        use datafusion::arrow::array::{Array, Int32Array, RecordBatch, StringArray};
        use datafusion::arrow::datatypes::Schema;
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&StoreConfig {
            url: dir.path().display().to_string(),
            ..Default::default()
        })
        .unwrap();
        // The tenants table as an older oko wrote it: without the last two.
        let full = Table::Tenants.schema();
        let old = Arc::new(Schema::new(full.fields()[..5].to_vec()));
        let url = store.table_url(Table::Tenants).unwrap();
        std::fs::create_dir_all(url.to_file_path().unwrap()).unwrap();
        let old_kernel: StructType = old.as_ref().try_into_kernel().unwrap();
        let t = store.open_url(&url).await.unwrap();
        let t = t
            .create()
            .with_columns(old_kernel.fields().cloned())
            .await
            .unwrap();
        let batch = RecordBatch::try_new(
            old.clone(),
            vec![
                Arc::new(StringArray::from(vec!["alpha"])),
                Arc::new(StringArray::from(vec!["Alpha"])),
                Arc::new(StringArray::from(vec!["Europe/Moscow"])),
                Arc::new(Int32Array::from(vec![7])),
                Arc::new(Int32Array::from(vec![20])),
            ],
        )
        .unwrap();
        t.write(vec![batch]).await.unwrap();

        let upgraded = store.table_or_create(Table::Tenants).await.unwrap();
        check_schema(Table::Tenants, &upgraded).unwrap();
        let ctx = SessionContext::new();
        store.register(&ctx, Table::Tenants).await.unwrap();
        let rows = ctx
            .sql("SELECT survey_interval_days, survey_interval_calls_days FROM tenants")
            .await
            .unwrap()
            .collect()
            .await
            .unwrap();
        assert_eq!(rows[0].num_rows(), 1);
        assert!(rows[0].column(1).is_null(0));
        // Opening again changes nothing (no second commit).
        let version = upgraded.version();
        let again = store.table_or_create(Table::Tenants).await.unwrap();
        assert_eq!(again.version(), version);
    }

    /// A difference that is not "new optional columns at the end" is still
    /// refused, with both column lists.
    #[tokio::test]
    async fn other_schema_differences_are_refused() {
        use datafusion::arrow::datatypes::Schema;
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&StoreConfig {
            url: dir.path().display().to_string(),
            ..Default::default()
        })
        .unwrap();
        let full = Table::Tenants.schema();
        // The first two columns swapped.
        let swapped = Arc::new(Schema::new(vec![
            full.field(1).clone(),
            full.field(0).clone(),
        ]));
        let url = store.table_url(Table::Tenants).unwrap();
        std::fs::create_dir_all(url.to_file_path().unwrap()).unwrap();
        let kernel: StructType = swapped.as_ref().try_into_kernel().unwrap();
        let t = store.open_url(&url).await.unwrap();
        t.create()
            .with_columns(kernel.fields().cloned())
            .await
            .unwrap();
        let e = store.table_or_create(Table::Tenants).await.unwrap_err();
        assert!(format!("{e:#}").contains("expects"), "{e:#}");
    }
}
