//! The query engine: a DataFusion session with OKO's functions, every table
//! of the store, and the report views and table functions of `sql/`.

pub mod reports;

use anyhow::Result;
use datafusion::execution::config::SessionConfig;
use datafusion::prelude::SessionContext;

use crate::config::ReportSettings;
use crate::store::Store;

/// A session over the newest snapshot of every table of the store, with the
/// reports registered.
pub async fn session(store: &Store, settings: &ReportSettings) -> Result<SessionContext> {
    let config = SessionConfig::new()
        .with_information_schema(true)
        .with_default_catalog_and_schema("oko", "public");
    let ctx = SessionContext::new_with_config(config);
    oko_udfs::register_all(&ctx);
    store.register_all(&ctx).await?;
    reports::register(&ctx, settings).await?;
    Ok(ctx)
}
