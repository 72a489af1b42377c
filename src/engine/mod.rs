//! The query engine: a DataFusion session with OKO's functions, every table
//! of the store, and the report views and table functions of `sql/`.

pub mod parts;
pub mod reports;
pub mod shared;
pub mod sql;
pub mod table_functions;

use anyhow::Result;
use datafusion::execution::config::SessionConfig;
use datafusion::prelude::SessionContext;

use crate::config::ReportSettings;
use crate::store::Store;

/// The catalog name clients see (`current_database()`): the engine's
/// tables and views live in `oko.public`.
pub const CATALOG: &str = "oko";

/// The view of every tenant's tables (a session config extension the server
/// sets): checks that must see all stored rows — a key written before, a
/// rating's effective score — read it whichever user's statement runs them.
pub struct EngineCatalog(pub std::sync::Arc<dyn datafusion::catalog::CatalogProvider>);

/// A session config extension: this session plans for a cluster, so its
/// plans hold only DataFusion's own nodes — live tables are read by bare
/// Parquet scans ([`crate::live::plain_scan`], without the
/// [`crate::live::key_filter::KeyFilterExec`] a local plan puts on top),
/// report parts are computed from the facts. Set by [`crate::cluster`]'s
/// planner only.
#[derive(Debug, Default)]
pub struct PlainScans;

/// A session over the newest snapshot of every table of the store, with the
/// reports registered.
pub async fn session(store: &Store, settings: &ReportSettings) -> Result<SessionContext> {
    let ctx = bare_session();
    store.register_all(&ctx).await?;
    reports::register(&ctx, settings, None).await?;
    Ok(ctx)
}

/// A session with OKO's functions and no tables yet: register them, then
/// the reports ([`reports::register`]).
pub fn bare_session() -> SessionContext {
    let config = SessionConfig::new()
        .with_information_schema(true)
        .with_default_catalog_and_schema(CATALOG, "public");
    let ctx = SessionContext::new_with_config(config);
    oko_udfs::register_all(&ctx);
    ctx
}
