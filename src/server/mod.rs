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
//! | [`wire`] | the client's socket: TLS, every message checked before pgwire decodes it |
//! | [`startup`] | TLS policy, connection limit, SCRAM-SHA-256 login, the user's session |
//! | [`session`] | the simple and extended protocols: parse, answer session statements, plan, check, run |
//! | [`access`] | roles, checked on every statement's plan |
//! | [`deletes`] | which `DELETE`s run (a condition on the table's own rows), the rest refused |
//! | [`interrupt`] | cancel requests and `statement_timeout`, also while rows stream |
//! | [`limits`] | statement length and complexity limits, checked before parsing |
//! | [`value_limits`] | functions that build big strings/arrays: capped per call, counted in the pool |
//! | [`errors`] | SQLSTATE codes for every error, at the edge |
//! | [`encode`] | record batches → Postgres rows |
//! | [`copy_out`] | `COPY … TO STDOUT`: its options and its text, CSV and binary formats |
//! | [`fast_path`] | `SELECT 1` and the other checkout pings, answered without planning |
//! | [`result_cache`] | results kept per statement, identity, settings and table snapshots |
//!
//! Below it: [`crate::pg_compat`] (the PostgreSQL emulation: catalogs,
//! settings, functions, query rewrites) and [`crate::live`] (tables that
//! follow the store, and the writes into them).

pub mod access;
pub mod copy_out;
pub mod deletes;
pub mod encode;
pub mod errors;
pub mod fast_path;
pub mod interrupt;
pub mod limits;
pub mod numeric;
pub mod result_cache;
pub mod serve;
pub mod session;
pub mod shared_reports;
pub mod startup;
pub mod timetz;
pub mod value_limits;
pub mod wire;

use std::collections::HashMap;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};
use async_trait::async_trait;
use datafusion::catalog::{CatalogProvider, TableProvider};
use datafusion::execution::SessionState;
use datafusion::execution::config::SessionConfig;
use datafusion::execution::runtime_env::{RuntimeEnv, RuntimeEnvBuilder};
use datafusion::prelude::SessionContext;
use pgwire::api::auth::{DefaultServerParameterProvider, ServerParameterProvider, StartupHandler};
use pgwire::api::cancel::CancelHandler;
use pgwire::api::query::{ExtendedQueryHandler, SimpleQueryHandler};
use pgwire::api::{ClientInfo, ErrorHandler, PgWireServerHandlers, RandomPidSecretKeyGenerator};
use pgwire::error::PgWireError;
use pgwire::messages::cancel::CancelRequest;
use tokio::net::TcpListener;

use crate::auth::Principal;
use crate::config::ReportSettings;
use crate::live::LiveTable;
use crate::live::{table as live, tenant};
use crate::model::Table;
use crate::pg_compat::vars::Vars;
use crate::pg_compat::{self, pg_roles, vars};
use crate::store::Store;
use interrupt::{Interrupt, Registry};
use session::Session;
use startup::Startup;

pub use crate::engine::CATALOG;

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
    /// Users, TLS policy, connection limit, failed logins.
    access: startup::Access,
    /// The catalog of each tenant a bound user logged in to, built once.
    tenant_catalogs: tokio::sync::Mutex<HashMap<String, Arc<dyn CatalogProvider>>>,
    /// `[server] statement_timeout_s`: every session's default and ceiling.
    statement_timeout: Option<Duration>,
    /// Statement results kept across sessions (`[server] result_cache_mb`).
    cache: Arc<result_cache::ResultCache>,
    /// Report calls shared between statements, kept in `cache`.
    reports: crate::engine::shared::SharedReports,
    /// A session built once per catalog (`None`: every tenant's) that every
    /// connection's session is cloned from ([`Shared::session`]).
    templates: std::sync::Mutex<HashMap<Option<String>, SessionState>>,
    /// The report parts, kept exact as the facts change
    /// ([`crate::live::parts`]).
    parts: Arc<crate::live::parts::Keeper>,
    /// Where large statements run (`[cluster] scheduler`), if anywhere but
    /// here: every session carries it ([`crate::cluster::run::execute_stream`]).
    cluster: Option<Arc<crate::cluster::Cluster>>,
}

impl Shared {
    /// Opens (creating when missing) every table of the store and builds the
    /// views over them.
    pub async fn open(
        store: &Store,
        settings: &ReportSettings,
        memory_limit: Option<usize>,
        access: startup::Access,
    ) -> Result<Shared> {
        let mut runtime = RuntimeEnvBuilder::new();
        if let Some(bytes) = memory_limit {
            runtime = runtime.with_memory_limit(bytes, 1.0);
        }
        let runtime = runtime
            .build_arc()
            .context("cannot set up the query runtime")?;
        let probe = SessionContext::new_with_config_rt(session_config(), runtime.clone());
        let mut tables = Vec::new();
        for table in Table::ALL {
            let delta = store.table_or_create(table).await?;
            delta
                .update_datafusion_session(&probe.state())
                .with_context(|| format!("cannot reach the storage of table {table}"))?;
            tables.push(LiveTable::new(table, delta).await?);
        }
        let users = access.role_entries();
        let cache = Arc::new(result_cache::ResultCache::new(
            runtime.memory_pool.clone(),
            tables.clone(),
        ));
        let parts = crate::live::parts::Keeper::new(
            &tables,
            settings,
            Some(store.clone()),
            runtime.clone(),
        )
        .await?;
        let catalog = build_catalog(
            &runtime,
            settings,
            |live| Ok(live.clone()),
            None,
            &tables,
            &users,
            Some((&cache, &parts)),
        )
        .await?;
        let shared = Shared {
            catalog,
            runtime,
            settings: settings.clone(),
            registry: Arc::default(),
            keys: Arc::default(),
            tables,
            access,
            tenant_catalogs: tokio::sync::Mutex::default(),
            statement_timeout: None,
            reports: crate::engine::shared::SharedReports(Arc::new(
                shared_reports::ReportShare::new(cache.clone()),
            )),
            cache,
            parts,
            templates: std::sync::Mutex::default(),
            cluster: None,
        };
        // A tenant's own views are checked at start (a bad file stops the
        // server with its name, not a tenant's login later).
        for tenant in crate::engine::reports::tenants_with_views(settings)? {
            shared.tenant_catalog(&tenant).await?;
        }
        Ok(shared)
    }

    /// Whether no users are configured (every local connection is a
    /// read-only viewer).
    pub fn trusts_everyone(&self) -> bool {
        self.access.trusts_everyone()
    }

    /// Sets the bytes the result cache may hold (`[server] result_cache_mb`;
    /// 0 turns it off).
    pub fn with_result_cache(self, bytes: usize) -> Shared {
        self.cache.set_budget(bytes);
        self
    }

    /// Sends the large statements of every session to `cluster`.
    pub fn with_cluster(mut self, cluster: Option<crate::cluster::Cluster>) -> Shared {
        self.cluster = cluster.map(Arc::new);
        self
    }

    /// The server's result cache.
    pub fn result_cache(&self) -> &Arc<result_cache::ResultCache> {
        &self.cache
    }

    /// Sets the server's statement time limit (`None`: none).
    pub fn with_statement_timeout(mut self, limit: Option<Duration>) -> Shared {
        self.statement_timeout = limit;
        self
    }

    /// The catalog `principal` sees: every tenant's rows, or (for a user
    /// bound to a tenant) a catalog of that tenant's rows only.
    async fn catalog_for(&self, principal: &Principal) -> Result<Arc<dyn CatalogProvider>> {
        match &principal.tenant {
            None => Ok(self.catalog.clone()),
            Some(tenant) => self.tenant_catalog(tenant).await,
        }
    }

    /// One tenant's catalog, built on first use and shared.
    async fn tenant_catalog(&self, tenant: &str) -> Result<Arc<dyn CatalogProvider>> {
        let mut catalogs = self.tenant_catalogs.lock().await;
        if let Some(c) = catalogs.get(tenant) {
            return Ok(c.clone());
        }
        let started = std::time::Instant::now();
        let catalog = build_catalog(
            &self.runtime,
            &self.settings,
            |live| Ok(Arc::new(tenant::TenantTable::new(live.clone(), tenant)?)),
            Some(tenant),
            &self.tables,
            &self.access.role_entries_of(tenant),
            None,
        )
        .await
        .with_context(|| format!("cannot build the catalog of tenant {tenant}"))?;
        tracing::info!(
            tenant,
            ms = started.elapsed().as_millis() as u64,
            "tenant catalog built"
        );
        catalogs.insert(tenant.to_string(), catalog.clone());
        Ok(catalog)
    }

    /// A fresh DataFusion session for one connection of `principal`, over
    /// the catalog that user may see, with the connection's own settings
    /// functions. The session carries the principal (writes read it).
    ///
    /// The function registries, rules and `pg_catalog` setup are the same
    /// for every connection of a catalog: they are built once
    /// ([`Shared::template`]) and the connection gets a copy (maps of
    /// `Arc`s) with what is its own put in: its principal and settings
    /// (config extensions), the functions that read its settings
    /// (`current_setting`, `set_config`, `session_user`), and a catalog
    /// list of its own. Settings a session changes (`SET`, its engine
    /// options, its time zone) change its copy of the config only.
    pub async fn session(&self, vars: &Arc<Vars>, principal: &Principal) -> Result<SessionContext> {
        let catalog = self.catalog_for(principal).await?;
        let mut state = self.template(principal.tenant.clone(), catalog)?;
        let catalogs = datafusion::catalog::MemoryCatalogProviderList::new();
        for name in state.catalog_list().catalog_names() {
            if let Some(c) = state.catalog_list().catalog(&name) {
                datafusion::catalog::CatalogProviderList::register_catalog(&catalogs, name, c);
            }
        }
        state.register_catalog_list(Arc::new(catalogs));
        let config = state.config_mut();
        config.set_extension(Arc::new(principal.clone()));
        config.set_extension(vars.clone());
        pg_compat::install_session_functions(&mut state, vars)?;
        Ok(SessionContext::new_with_state(state))
    }

    /// The session state every connection over `catalog` starts from,
    /// built on first use.
    fn template(
        &self,
        tenant: Option<String>,
        catalog: Arc<dyn CatalogProvider>,
    ) -> Result<SessionState> {
        let mut templates = match self.templates.lock() {
            Ok(t) => t,
            Err(poisoned) => poisoned.into_inner(),
        };
        if let Some(state) = templates.get(&tenant) {
            return Ok(state.clone());
        }
        let started = std::time::Instant::now();
        // Placeholders: each connection puts in its own.
        let vars = Arc::new(Vars::default());
        let mut config = session_config()
            .with_extension(vars.clone())
            .with_extension(Arc::new(crate::engine::EngineCatalog(self.catalog.clone())))
            .with_extension(self.cache.clone())
            .with_extension(Arc::new(self.reports.clone()))
            .with_extension(self.parts_extension());
        if let Some(cluster) = &self.cluster {
            config = config.with_extension(cluster.clone());
        }
        let state = datafusion::execution::SessionStateBuilder::new()
            .with_config(config)
            .with_runtime_env(self.runtime.clone())
            .with_default_features()
            .with_physical_optimizer_rule(Arc::new(interrupt::YieldPoints))
            .with_analyzer_rules(pg_compat::analyzer_rules())
            .with_expr_planners(pg_compat::expr_planners())
            .build();
        let ctx = SessionContext::new_with_state(state);
        // PostgreSQL's functions into this session; their (throwaway)
        // pg_catalog schema lands in the session's own default catalog,
        // which the user's catalog then replaces.
        pg_compat::install(&ctx, &vars)?;
        ctx.register_catalog(CATALOG, catalog);
        oko_udfs::register_all(&ctx);
        crate::engine::table_functions::register_functions(&ctx, &self.settings);
        ctx.add_analyzer_rule(Arc::new(value_limits::BoundedValues::new(
            self.runtime.memory_pool.clone(),
        )));
        let state = ctx.state();
        tracing::debug!(
            tenant,
            ms = started.elapsed().as_millis() as u64,
            "session template built"
        );
        templates.insert(tenant, state.clone());
        Ok(state)
    }

    /// A session over every tenant's live tables and views, for the
    /// server's own queries (not a client's: no settings, no principal).
    pub fn engine_context(&self) -> SessionContext {
        let ctx = SessionContext::new_with_config_rt(
            session_config().with_extension(self.parts_extension()),
            self.runtime.clone(),
        );
        ctx.register_catalog(CATALOG, self.catalog.clone());
        oko_udfs::register_all(&ctx);
        ctx
    }

    /// The keeper of the report parts (its task runs beside the
    /// refresher's).
    pub fn parts(&self) -> Arc<crate::live::parts::Keeper> {
        self.parts.clone()
    }

    /// The session-config extension through which reports find the kept
    /// parts.
    fn parts_extension(&self) -> Arc<crate::engine::parts::PartsKeeper> {
        Arc::new(crate::engine::parts::PartsKeeper(self.parts.clone()))
    }

    /// The live tables (for the refresher).
    pub fn tables(&self) -> Vec<Arc<LiveTable>> {
        self.tables.clone()
    }
}

/// DataFusion's own information schema stays off: ours
/// ([`crate::pg_compat::information_schema`]) names types the PostgreSQL way.
fn session_config() -> SessionConfig {
    SessionConfig::new()
        .with_information_schema(false)
        .with_default_catalog_and_schema(CATALOG, "public")
}

/// The catalog clients see as `oko`: the given tables (live, or one
/// tenant's), the report views over them (and a tenant's own views), `pg_catalog` (one per catalog, so
/// object ids are the same whichever connection asks — DBeaver reads ids on
/// one connection and uses them on another) and `information_schema`.
async fn build_catalog(
    runtime: &Arc<RuntimeEnv>,
    settings: &ReportSettings,
    provider: impl Fn(&Arc<LiveTable>) -> datafusion::common::Result<Arc<dyn TableProvider>>,
    tenant: Option<&str>,
    tables: &[Arc<LiveTable>],
    users: &[pg_roles::RoleEntry],
    stats: Option<(
        &Arc<result_cache::ResultCache>,
        &Arc<crate::live::parts::Keeper>,
    )>,
) -> Result<Arc<dyn CatalogProvider>> {
    let template = SessionContext::new_with_config_rt(session_config(), runtime.clone());
    oko_udfs::register_all(&template);
    for live in tables {
        template.register_table(live.table.name(), provider(live)?)?;
    }
    // The cache's counters, for users who see every tenant.
    if let Some((cache, parts)) = stats {
        template.register_table(
            result_cache::STATS_TABLE,
            Arc::new(result_cache::StatsTable::new(cache.clone())),
        )?;
        template.register_table(
            crate::live::parts::STATS_TABLE,
            Arc::new(crate::live::parts::StatsTable::new(parts.clone())),
        )?;
    }
    crate::engine::reports::register(&template, settings, tenant).await?;
    if let Some(tenant) = tenant {
        crate::engine::reports::register_tenant_views(&template, settings, tenant).await?;
    }
    pg_compat::add_catalogs(&template, CATALOG, users).await
}

/// The handlers of one connection.
struct Handlers {
    session: Arc<Session>,
    startup: Arc<Startup>,
    cancel: Arc<Cancel>,
}

/// The `ParameterStatus` messages sent after authentication.
pub(crate) struct Parameters(pub(crate) Arc<Vars>);

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

/// Serves one connection until it ends: [`wire`] owns the client's socket
/// (TLS, message checks) and hands well-formed messages to pgwire over a
/// local socket pair; the session is built when its user has logged in
/// ([`startup`]).
async fn serve_connection(
    shared: Arc<Shared>,
    socket: tokio::net::TcpStream,
    tls: Option<pgwire::tokio::TlsAcceptor>,
) {
    let addr = socket.peer_addr().ok();
    let login = Arc::new(session::LoginSlot::default());
    let login_by = tokio::time::Instant::now() + shared.access.authentication_timeout;
    let accepted = tokio::time::timeout_at(login_by, wire::accept(socket, tls.as_ref())).await;
    let (client, peer, startup) = match accepted {
        Ok(Ok(a)) => a,
        Ok(Err(e)) => {
            tracing::debug!("connection from {addr:?} failed before startup: {e}");
            return;
        }
        Err(_) => {
            tracing::debug!("connection from {addr:?} sent no startup packet in time");
            return;
        }
    };
    let (ours, theirs) = match tokio::net::UnixStream::pair() {
        Ok(pair) => pair,
        Err(e) => {
            tracing::error!("cannot open a local socket pair: {e}");
            return;
        }
    };
    let vars = Arc::new(Vars::default());
    vars.set_timeout_ceiling(shared.statement_timeout);
    let interrupt = Arc::new(Interrupt::default());
    let permit = shared.access.admit();
    let handlers = Arc::new(Handlers {
        session: Arc::new(Session::new(login.clone(), vars.clone(), interrupt.clone())),
        startup: Arc::new(Startup::new(
            shared.clone(),
            interrupt,
            vars,
            login.clone(),
            permit,
            peer,
        )),
        cancel: Arc::new(Cancel(shared.registry.clone())),
    });
    let handler = tokio::spawn(pgwire::tokio::process_socket_unix(theirs, handlers));
    // A client that has not logged in by the deadline is cut off, and its
    // place freed.
    let logged_in = login.clone();
    let deadline = async move {
        tokio::time::sleep_until(login_by).await;
        if logged_in.is_set() {
            std::future::pending::<()>().await;
        }
    };
    tokio::select! {
        _ = wire::relay(client, startup, ours) => {}
        _ = deadline => {
            tracing::info!("connection from {addr:?} did not log in in time; closed");
            handler.abort();
            return;
        }
    }
    if let Ok(Err(e)) = handler.await {
        tracing::debug!("connection from {addr:?} ended: {e}");
    }
}

/// Serves connections from `listener` until `shutdown` completes; new
/// commits are picked up every `refresh`; the report parts are saved while
/// `lease` is held ([`crate::lease`]).
pub async fn run(
    listener: TcpListener,
    shared: Arc<Shared>,
    tls: Option<pgwire::tokio::TlsAcceptor>,
    refresh: Duration,
    compact_after_inserts: u64,
    lease: Arc<crate::lease::Lease>,
    shutdown: impl Future<Output = ()>,
) -> Result<()> {
    let refresher = tokio::spawn(live::refresh_forever(
        shared.tables(),
        refresh,
        compact_after_inserts,
    ));
    let keeper = tokio::spawn(shared.parts().keep(lease));
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            _ = &mut shutdown => break,
            accepted = listener.accept() => {
                match accepted {
                    Ok((socket, _)) => {
                        let _ = socket.set_nodelay(true);
                        tokio::spawn(serve_connection(shared.clone(), socket, tls.clone()));
                    }
                    Err(e) => tracing::warn!("cannot accept a connection: {e}"),
                }
            }
        }
    }
    refresher.abort();
    keeper.abort();
    Ok(())
}
