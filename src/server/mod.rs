//! `oko serve`: the PostgreSQL wire protocol in front of the engine.
//!
//! One [`Shared`] state per server: the live tables, the report views built
//! over them, one DataFusion runtime (object stores, memory limit). Every
//! connection gets its **own** `SessionContext` over that shared catalog, so
//! `SET`, prepared statements and portals belong to one connection only.
//! The protocol machinery (pgwire), the `pg_catalog` emulation and the
//! Arrow→Postgres value encoders come from datafusion-postgres' crates; the
//! session layer is ours:
//!
//! | module | what it is for |
//! |---|---|
//! | [`session`] | the simple and extended protocols: parse, answer session statements, plan, check, run |
//! | [`vars`] | per-connection settings: `SET`/`SHOW`/`RESET`, `current_setting()`, `set_config()` |
//! | [`interrupt`] | cancel requests and `statement_timeout`, also while rows stream |
//! | [`errors`] | SQLSTATE codes for every error, at the edge |
//! | [`encode`] | record batches → Postgres rows |
//! | [`information_schema`] | `information_schema` with PostgreSQL type names |
//! | [`pg_catalog`] | `pg_catalog` with PostgreSQL's column types, `pg_settings` per connection |
//! | [`pg_functions`] | PostgreSQL functions client catalog queries call (`format`, `json_build_object`, …) |
//! | [`compat`] | client queries rewritten before and after parsing (Grafana, pgjdbc, SQLAlchemy, asyncpg, Metabase idioms) |
//! | [`time_zone`] | `timestamptz` casts to `timestamp`/`date` in the session's `TimeZone` |
//! | [`live`] | tables that follow new Delta commits |

pub mod compat;
pub mod encode;
pub mod errors;
pub mod information_schema;
pub mod interrupt;
pub mod live;
pub mod pg_catalog;
pub mod pg_functions;
pub mod session;
pub mod time_zone;
pub mod vars;

use std::collections::HashMap;
use std::fmt::Debug;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};
use async_trait::async_trait;
use datafusion::catalog::CatalogProvider;
use datafusion::execution::config::SessionConfig;
use datafusion::execution::runtime_env::{RuntimeEnv, RuntimeEnvBuilder};
use datafusion::prelude::SessionContext;
use datafusion_postgres::auth::AuthManager;
use datafusion_postgres::datafusion_pg_catalog::pg_catalog::setup_pg_catalog;
use futures::{Sink, SinkExt};
use pgwire::api::auth::{
    DefaultServerParameterProvider, ServerParameterProvider, StartupHandler, finish_authentication,
    protocol_negotiation, save_startup_parameters_to_metadata,
};
use pgwire::api::cancel::CancelHandler;
use pgwire::api::query::{ExtendedQueryHandler, SimpleQueryHandler};
use pgwire::api::{
    ClientInfo, ErrorHandler, PgWireServerHandlers, PidSecretKeyGenerator,
    RandomPidSecretKeyGenerator,
};
use pgwire::error::{PgWireError, PgWireResult};
use pgwire::messages::cancel::CancelRequest;
use pgwire::messages::{PgWireBackendMessage, PgWireFrontendMessage};
use tokio::net::TcpListener;

use crate::config::ReportSettings;
use crate::model::Table;
use crate::store::Store;
use interrupt::{Interrupt, Registry};
use live::LiveTable;
use session::Session;
use vars::Vars;

/// The catalog name clients see (`current_database()`).
pub const CATALOG: &str = "oko";

/// What every connection shares.
pub struct Shared {
    /// `oko.public`: live tables and the report views over them.
    catalog: Arc<dyn CatalogProvider>,
    /// Object stores and the memory pool of every query.
    runtime: Arc<RuntimeEnv>,
    settings: ReportSettings,
    /// Cancel switches by process id: cancel requests arrive on a new
    /// connection.
    registry: Arc<Registry>,
    /// Process ids and secret keys for new connections.
    keys: Arc<RandomPidSecretKeyGenerator>,
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
        // One pg_catalog for every connection, so object ids are the same
        // whichever connection asks (DBeaver reads ids on one connection and
        // uses them on another).
        setup_pg_catalog(&template, CATALOG, Arc::new(AuthManager::default()))
            .map_err(|e| anyhow::anyhow!("cannot set up pg_catalog: {e}"))?;
        let catalog = template
            .catalog(CATALOG)
            .context("the session has no default catalog")?;
        let emulated = catalog
            .schema("pg_catalog")
            .context("pg_catalog is missing")?;
        catalog.register_schema(
            "pg_catalog",
            Arc::new(pg_catalog::PgCatalog::new(emulated, &template).await?),
        )?;
        catalog.register_schema(
            information_schema::NAME,
            Arc::new(information_schema::InformationSchema::new(
                CATALOG, &catalog,
            )),
        )?;
        Ok(Shared {
            catalog,
            runtime,
            settings: settings.clone(),
            registry: Arc::default(),
            keys: Arc::default(),
            tables,
        })
    }

    /// A fresh DataFusion session for one connection, over the shared
    /// catalog, with the connection's own settings functions.
    pub fn session(&self, vars: &Arc<Vars>) -> Result<SessionContext> {
        // The settings ride along in the configuration for `pg_settings`.
        let config = session_config().with_extension(vars.clone());
        let ctx = SessionContext::new_with_config_rt(config, self.runtime.clone());
        // The Postgres functions and type names of pg_catalog, into this
        // session; its (throwaway) pg_catalog schema lands in the session's
        // own default catalog, which the shared one then replaces.
        setup_pg_catalog(&ctx, CATALOG, Arc::new(AuthManager::default()))
            .map_err(|e| anyhow::anyhow!("cannot set up pg_catalog: {e}"))?;
        ctx.register_catalog(CATALOG, self.catalog.clone());
        oko_udfs::register_all(&ctx);
        crate::engine::reports::register_functions(&ctx, &self.settings);
        ctx.register_udf(vars::session_user_udf(vars.clone()));
        ctx.register_udf(vars::CurrentSetting::udf(vars.clone()));
        ctx.register_udf(vars::SetConfig::udf(vars.clone()));
        ctx.register_udf(vars::version_udf());
        ctx.register_udf(vars::advisory_unlock_all_udf());
        ctx.register_udf(vars::serial_sequence_udf());
        ctx.register_udf(vars::to_regtype_udf());
        pg_functions::register(&ctx);
        ctx.add_analyzer_rule(Arc::new(time_zone::SessionZoneCasts));
        Ok(ctx)
    }

    /// The live tables (for the refresher).
    pub fn tables(&self) -> Vec<Arc<LiveTable>> {
        self.tables.clone()
    }
}

/// DataFusion's own information schema stays off: ours
/// ([`information_schema`]) names types the PostgreSQL way.
fn session_config() -> SessionConfig {
    SessionConfig::new()
        .with_information_schema(false)
        .with_default_catalog_and_schema(CATALOG, "public")
}

/// The handlers of one connection.
struct Handlers {
    session: Arc<Session>,
    startup: Arc<Startup>,
    cancel: Arc<Cancel>,
}

/// Startup of one connection: protocol version, process id and secret key
/// (registered for cancel requests), the client's startup settings, and the
/// server parameters drivers read (`server_version` decides their dialect).
struct Startup {
    registry: Arc<Registry>,
    keys: Arc<RandomPidSecretKeyGenerator>,
    interrupt: Arc<Interrupt>,
    vars: Arc<Vars>,
}

#[async_trait]
impl StartupHandler for Startup {
    async fn on_startup<C>(
        &self,
        client: &mut C,
        message: PgWireFrontendMessage,
    ) -> PgWireResult<()>
    where
        C: ClientInfo + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        let PgWireFrontendMessage::Startup(startup) = message else {
            return Ok(());
        };
        protocol_negotiation(client, &startup).await?;
        save_startup_parameters_to_metadata(client, &startup);
        let (pid, key) = self.keys.generate(&*client);
        self.registry.register(pid, &key, &self.interrupt);
        client.set_pid_and_secret_key(pid, key);
        if let Some(user) = startup.parameters.get("user") {
            self.vars.set_session_user(user);
        }
        for (name, value) in &startup.parameters {
            if !matches!(
                name.as_str(),
                "user" | "database" | "options" | "replication"
            ) {
                // A bad startup value (an unknown time zone) keeps the
                // default rather than refusing the connection.
                let _ = self.vars.set(name, value);
            }
        }
        finish_authentication(client, &Parameters(self.vars.clone())).await?;
        client.flush().await?;
        Ok(())
    }
}

/// The `ParameterStatus` messages sent after authentication.
struct Parameters(Arc<Vars>);

impl ServerParameterProvider for Parameters {
    fn server_parameters<C>(&self, client: &C) -> Option<HashMap<String, String>>
    where
        C: ClientInfo,
    {
        let mut defaults = DefaultServerParameterProvider::default();
        defaults.server_version = vars::SERVER_VERSION.to_string();
        let mut params = defaults.server_parameters(client).unwrap_or_default();
        for (name, key) in [
            ("application_name", "application_name"),
            ("DateStyle", "datestyle"),
            ("IntervalStyle", "intervalstyle"),
            ("TimeZone", "timezone"),
            ("client_encoding", "client_encoding"),
            ("search_path", "search_path"),
        ] {
            if let Some(v) = self.0.get(key) {
                params.insert(name.to_string(), v);
            }
        }
        Some(params)
    }
}

/// Cancel requests: a new connection names a process id and its key.
struct Cancel(Arc<Registry>);

#[async_trait]
impl CancelHandler for Cancel {
    async fn on_cancel_request(&self, request: CancelRequest) {
        if self.0.cancel(request.pid, &request.secret_key) {
            tracing::info!(pid = request.pid, "statement cancelled on request");
        }
    }
}

/// Gives every error its SQLSTATE before it is sent.
struct Errors;

impl ErrorHandler for Errors {
    fn on_error<C>(&self, _client: &C, error: &mut PgWireError)
    where
        C: ClientInfo,
    {
        errors::classify(error);
        tracing::debug!("sending error: {error}");
    }
}

impl PgWireServerHandlers for Handlers {
    fn simple_query_handler(&self) -> Arc<impl SimpleQueryHandler> {
        self.session.clone()
    }

    fn extended_query_handler(&self) -> Arc<impl ExtendedQueryHandler> {
        self.session.clone()
    }

    fn startup_handler(&self) -> Arc<impl StartupHandler> {
        self.startup.clone()
    }

    fn error_handler(&self) -> Arc<impl ErrorHandler> {
        Arc::new(Errors)
    }

    fn cancel_handler(&self) -> Arc<impl CancelHandler> {
        self.cancel.clone()
    }
}

/// Serves one connection until it ends.
async fn serve_connection(shared: Arc<Shared>, socket: tokio::net::TcpStream) {
    let addr = socket.peer_addr().ok();
    let vars = Arc::new(Vars::default());
    let interrupt = Arc::new(Interrupt::default());
    let ctx = match shared.session(&vars) {
        Ok(ctx) => Arc::new(ctx),
        Err(e) => {
            tracing::error!("cannot open a session for {addr:?}: {e:#}");
            return;
        }
    };
    let handlers = Arc::new(Handlers {
        session: Arc::new(Session::new(ctx, vars.clone(), interrupt.clone())),
        startup: Arc::new(Startup {
            registry: shared.registry.clone(),
            keys: shared.keys.clone(),
            interrupt,
            vars,
        }),
        cancel: Arc::new(Cancel(shared.registry.clone())),
    });
    if let Err(e) = pgwire::tokio::process_socket(socket, None, handlers).await {
        tracing::debug!("connection from {addr:?} ended: {e}");
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
                match accepted {
                    Ok((socket, _)) => {
                        let _ = socket.set_nodelay(true);
                        tokio::spawn(serve_connection(shared.clone(), socket));
                    }
                    Err(e) => tracing::warn!("cannot accept a connection: {e}"),
                }
            }
        }
    }
    refresher.abort();
    Ok(())
}
