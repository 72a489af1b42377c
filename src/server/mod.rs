//! `oko serve`: the PostgreSQL wire protocol in front of the engine.
//!
//! One [`Shared`] state per server: the live tables, the report views built
//! over them, one DataFusion runtime (object stores, memory limit). Every
//! connection gets its **own** `SessionContext` over that shared catalog, so
//! `SET`, prepared statements and portals belong to one connection only.
//! The protocol machinery (pgwire), the `pg_catalog` emulation and the
//! Arrow→Postgres encoders come from datafusion-postgres; the session layer
//! is ours.

pub mod live;

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};
use async_trait::async_trait;
use datafusion::catalog::CatalogProvider;
use datafusion::execution::config::SessionConfig;
use datafusion::execution::runtime_env::{RuntimeEnv, RuntimeEnvBuilder};
use datafusion::prelude::SessionContext;
use datafusion_postgres::DfSessionService;
use datafusion_postgres::auth::AuthManager;
use datafusion_postgres::datafusion_pg_catalog::pg_catalog::setup_pg_catalog;
use pgwire::api::auth::noop::NoopStartupHandler;
use pgwire::api::cancel::DefaultCancelHandler;
use pgwire::api::query::{ExtendedQueryHandler, SimpleQueryHandler};
use pgwire::api::{ConnectionManager, ErrorHandler, PgWireServerHandlers};
use tokio::net::TcpListener;

use crate::config::ReportSettings;
use crate::model::Table;
use crate::store::Store;
use live::LiveTable;

/// The catalog name clients see (`current_database()`).
pub const CATALOG: &str = "oko";

/// What every connection shares.
pub struct Shared {
    /// `oko.public`: live tables and the report views over them.
    catalog: Arc<dyn CatalogProvider>,
    /// Object stores and the memory pool of every query.
    runtime: Arc<RuntimeEnv>,
    settings: ReportSettings,
    /// For cancel requests, which arrive on a new connection.
    connections: Arc<ConnectionManager>,
    tables: Vec<Arc<LiveTable>>,
}

impl Shared {
    /// Opens (creating when missing) every table of the store and builds the
    /// views over them.
    pub async fn open(
        store: &Store,
        settings: &ReportSettings,
        memory_limit: Option<usize>,
    ) -> Result<Shared> {
        let mut runtime = RuntimeEnvBuilder::new();
        if let Some(bytes) = memory_limit {
            runtime = runtime.with_memory_limit(bytes, 1.0);
        }
        let runtime = runtime
            .build_arc()
            .context("cannot set up the query runtime")?;
        let template = SessionContext::new_with_config_rt(session_config(), runtime.clone());
        oko_udfs::register_all(&template);
        let mut tables = Vec::new();
        for table in Table::ALL {
            let delta = store.table_or_create(table).await?;
            delta
                .update_datafusion_session(&template.state())
                .with_context(|| format!("cannot reach the storage of table {table}"))?;
            let live = Arc::new(LiveTable::new(table, delta).await?);
            template.register_table(table.name(), live.clone())?;
            tables.push(live);
        }
        crate::engine::reports::register(&template, settings).await?;
        let catalog = template
            .catalog(CATALOG)
            .context("the session has no default catalog")?;
        Ok(Shared {
            catalog,
            runtime,
            settings: settings.clone(),
            connections: Arc::new(ConnectionManager::new()),
            tables,
        })
    }

    /// A fresh session for one connection, over the shared catalog.
    pub fn session(&self) -> Result<SessionContext> {
        let ctx = SessionContext::new_with_config_rt(session_config(), self.runtime.clone());
        ctx.register_catalog(CATALOG, self.catalog.clone());
        oko_udfs::register_all(&ctx);
        crate::engine::reports::register_functions(&ctx, &self.settings);
        setup_pg_catalog(&ctx, CATALOG, Arc::new(AuthManager::default()))
            .map_err(|e| anyhow::anyhow!("cannot set up pg_catalog: {e}"))?;
        Ok(ctx)
    }

    /// The live tables (for the refresher).
    pub fn tables(&self) -> Vec<Arc<LiveTable>> {
        self.tables.clone()
    }
}

fn session_config() -> SessionConfig {
    SessionConfig::new()
        .with_information_schema(true)
        .with_default_catalog_and_schema(CATALOG, "public")
}

/// The handlers of one connection.
struct Handlers {
    service: Arc<DfSessionService>,
    startup: Arc<Startup>,
    cancel: Arc<DefaultCancelHandler>,
}

struct Startup {
    connections: Arc<ConnectionManager>,
}

#[async_trait]
impl NoopStartupHandler for Startup {
    fn connection_manager(&self) -> Option<Arc<ConnectionManager>> {
        Some(self.connections.clone())
    }
}

struct LogErrors;

impl ErrorHandler for LogErrors {
    fn on_error<C>(&self, _client: &C, error: &mut pgwire::error::PgWireError)
    where
        C: pgwire::api::ClientInfo,
    {
        tracing::debug!("sending error: {error}");
    }
}

impl PgWireServerHandlers for Handlers {
    fn simple_query_handler(&self) -> Arc<impl SimpleQueryHandler> {
        self.service.clone()
    }

    fn extended_query_handler(&self) -> Arc<impl ExtendedQueryHandler> {
        self.service.clone()
    }

    fn startup_handler(&self) -> Arc<impl pgwire::api::auth::StartupHandler> {
        self.startup.clone()
    }

    fn error_handler(&self) -> Arc<impl ErrorHandler> {
        Arc::new(LogErrors)
    }

    fn cancel_handler(&self) -> Arc<impl pgwire::api::cancel::CancelHandler> {
        self.cancel.clone()
    }
}

/// Serves connections from `listener` until `shutdown` completes; new
/// commits are picked up every `refresh`.
pub async fn run(
    listener: TcpListener,
    shared: Arc<Shared>,
    refresh: Duration,
    shutdown: impl Future<Output = ()>,
) -> Result<()> {
    let refresher = tokio::spawn(live::refresh_forever(shared.tables(), refresh));
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            _ = &mut shutdown => break,
            accepted = listener.accept() => {
                let (socket, addr) = match accepted {
                    Ok(a) => a,
                    Err(e) => {
                        tracing::warn!("cannot accept a connection: {e}");
                        continue;
                    }
                };
                let shared = shared.clone();
                tokio::spawn(async move {
                    let ctx = match shared.session() {
                        Ok(ctx) => ctx,
                        Err(e) => {
                            tracing::error!("cannot open a session for {addr}: {e:#}");
                            return;
                        }
                    };
                    let handlers = Arc::new(Handlers {
                        service: Arc::new(DfSessionService::new(Arc::new(ctx))),
                        startup: Arc::new(Startup { connections: shared.connections.clone() }),
                        cancel: Arc::new(DefaultCancelHandler::new(shared.connections.clone())),
                    });
                    if let Err(e) = pgwire::tokio::process_socket(socket, None, handlers).await {
                        tracing::debug!("connection from {addr} ended: {e}");
                    }
                });
            }
        }
    }
    refresher.abort();
    Ok(())
}
