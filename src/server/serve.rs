//! `oko serve`: everything the server process needs, in order — settings
//! checked, TLS and users, the store (or the demo dataset), the listener,
//! the notifier and the scheduled deliveries — then connections until
//! SIGINT/SIGTERM.

use std::future::Future;
use std::io::Write;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result, bail};

use crate::config::Config;
use crate::model::Table;
use crate::store::Store;

/// How `oko serve` was asked to run, beyond the configuration.
#[derive(Debug, Clone, Default)]
pub struct ServeOptions {
    /// Serve the embedded demo dataset instead of the configured store.
    pub demo: bool,
}

/// Runs the server of `config` until SIGINT or SIGTERM.
pub async fn serve(config: Config, opts: ServeOptions) -> Result<()> {
    // A malformed message can make the protocol decoder panic inside one
    // connection's task: that connection ends, the server goes on. Log it
    // as one line rather than a backtrace per bad packet.
    std::panic::set_hook(Box::new(|info| {
        tracing::error!("a connection ended on an internal error: {info}");
    }));
    let server = Server::bind(config, opts).await?;
    server.announce()?;
    server.run(shutdown_signal()).await?;
    eprintln!("OKO stopped");
    Ok(())
}

/// A server that listens and has its tables open: connect to
/// [`Server::addr`], then [`Server::run`] answers until its shutdown
/// future completes. Tests start one in-process on port 0.
pub struct Server {
    listener: tokio::net::TcpListener,
    shared: Arc<super::Shared>,
    tls: Option<pgwire::tokio::TlsAcceptor>,
    config: Config,
    store: Store,
    demo: bool,
    /// The demo store's folder, removed when the server is dropped.
    _demo_dir: Option<tempfile::TempDir>,
}

impl Server {
    /// Checks the configuration, opens the store (or the demo dataset) and
    /// binds `[server] listen`.
    pub async fn bind(config: Config, opts: ServeOptions) -> Result<Server> {
        crate::engine::reports::check_settings(&config.reports)?;
        crate::notify::check(&config.notify)?;
        crate::deliver::check(&config.deliver)?;
        crate::lifecycle::check_tenant_settings(&config.tenants)?;
        let mut access = super::startup::Access::new(&config.users, &config.server)?;
        if let Some(cert) = &config.server.tls_cert {
            access = access.with_tls_binding(cert)?;
        }
        let tls = match (&config.server.tls_cert, &config.server.tls_key) {
            (Some(cert), Some(key)) => Some(super::startup::tls_acceptor(cert, key)?),
            (None, None) if config.server.require_tls => {
                bail!("[server] require_tls is set but no tls_cert and tls_key are configured")
            }
            (None, None) => None,
            _ => bail!("[server] TLS needs both tls_cert and tls_key"),
        };
        let (store, demo_dir) = if opts.demo {
            let (store, dir) = crate::demo::store().await?;
            (store, Some(dir))
        } else {
            (Store::open(&config.store)?, None)
        };
        let memory = config.server.memory_limit_mb.map(|mb| mb * 1024 * 1024);
        let listener = tokio::net::TcpListener::bind(&config.server.listen)
            .await
            .with_context(|| format!("cannot listen on {}", config.server.listen))?;
        let addr = listener.local_addr()?;
        if access.trusts_everyone() && !addr.ip().is_loopback() {
            bail!(
                "no users are configured, so every connection would be trusted: listen on a \
                 loopback address, or add users with `oko user add NAME --role viewer --config FILE --write`"
            );
        }
        let timeout = (config.server.statement_timeout_s > 0)
            .then(|| Duration::from_secs(config.server.statement_timeout_s));
        let shared = Arc::new(
            super::Shared::open(&store, &config.reports, memory, access)
                .await?
                .with_statement_timeout(timeout)
                .with_result_cache(config.server.result_cache_mb * 1024 * 1024)
                .with_cluster(crate::cluster::Cluster::from_config(&config.cluster)?),
        );
        crate::deliver::check_reports(&config.deliver, &shared.engine_context()).await?;
        Ok(Server {
            listener,
            shared,
            tls,
            config,
            store,
            demo: opts.demo,
            _demo_dir: demo_dir,
        })
    }

    /// The address the server listens on.
    pub fn addr(&self) -> Result<SocketAddr> {
        Ok(self.listener.local_addr()?)
    }

    /// Prints where the server listens and how to connect.
    fn announce(&self) -> Result<()> {
        let addr = self.addr()?;
        let what = if self.demo {
            "the demo dataset"
        } else {
            self.store.url().as_str()
        };
        println!("OKO serves {what} on {addr}");
        if self.shared.trusts_everyone() {
            println!(
                "connect: psql \"postgres://oko@{}:{}/oko\"  (no users configured: every \
                 local connection is a read-only viewer, no password)",
                addr.ip(),
                addr.port()
            );
        } else {
            let tls = if self.tls.is_some() {
                "?sslmode=require"
            } else {
                ""
            };
            println!(
                "connect: psql \"postgres://USER@{}:{}/oko{tls}\"  (SCRAM-SHA-256 password)",
                addr.ip(),
                addr.port(),
            );
        }
        std::io::stdout().flush()?;
        Ok(())
    }

    /// Answers connections, keeps the tables fresh and sends notifications
    /// until `shutdown` completes; a notification post under way is
    /// finished first.
    pub async fn run(self, shutdown: impl Future<Output = ()>) -> Result<()> {
        let lease = self.lease()?;
        let leasing = tokio::spawn(lease.clone().run());
        let notifier = if self.config.notify.is_empty() {
            None
        } else {
            let ratings = self.store.table_or_create(Table::Ratings).await?;
            let notifier = crate::notify::Notifier::new(
                self.config.notify.clone(),
                ratings,
                self.shared.engine_context(),
                self.shared.tables(),
            )?
            .with_lease(lease.clone());
            let stop = Arc::new(tokio::sync::Notify::new());
            let task = tokio::spawn(notifier.run(Duration::from_secs(1), stop.clone()));
            Some((task, stop))
        };
        // Stored retention periods: at start, then at each tenant's midnight.
        let retention = (!crate::lifecycle::retention_periods(&self.config.tenants).is_empty())
            .then(|| {
                tokio::spawn(crate::lifecycle::apply_retention_daily(
                    self.store.clone(),
                    self.config.tenants.clone(),
                    lease.clone(),
                ))
            });
        let deliverer = if self.config.deliver.is_empty() {
            None
        } else {
            let deliverer = crate::deliver::Deliverer::new(
                &self.config.deliver,
                delivery_sessions(self.shared.clone()),
                crate::deliver::root_store(self.store.url(), &self.config.store.storage_options())?,
                Arc::new(crate::deliver::SystemClock),
            )?
            .with_lease(lease.clone());
            let stop = Arc::new(tokio::sync::Notify::new());
            let task = tokio::spawn(deliverer.run(Duration::from_secs(1), stop.clone()));
            Some((task, stop))
        };
        super::run(
            self.listener,
            self.shared,
            self.tls,
            Duration::from_millis(self.config.server.refresh_ms.max(50)),
            self.config.server.compact_after_inserts,
            lease.clone(),
            shutdown,
        )
        .await?;
        if let Some((task, stop)) = notifier {
            // Let a post under way record that it was delivered.
            stop.notify_one();
            if tokio::time::timeout(Duration::from_secs(15), task)
                .await
                .is_err()
            {
                tracing::warn!("notifications did not stop in 15 s");
            }
        }
        if let Some(task) = retention {
            // Each delete is one atomic commit and dependents go first, so
            // a retention cut short finishes at the next start.
            task.abort();
        }
        if let Some((task, stop)) = deliverer {
            stop.notify_one();
            if tokio::time::timeout(Duration::from_secs(15), task)
                .await
                .is_err()
            {
                tracing::warn!("scheduled deliveries did not stop in 15 s");
            }
        }
        // Nothing sends any more: another replica may take over at once.
        leasing.abort();
        if let Err(e) = lease.release().await {
            tracing::warn!("cannot release the sender lease: {e:#}");
        }
        Ok(())
    }

    /// Who sends ([`crate::lease`]): the replica holding the store's lease
    /// (`[server] sender`, the default), never (`sender = false`), or —
    /// the demo dataset, a store of this process only — always.
    fn lease(&self) -> Result<Arc<crate::lease::Lease>> {
        use crate::lease::Lease;
        let server = &self.config.server;
        if !server.sender {
            return Ok(Lease::never());
        }
        if self.demo {
            return Ok(Lease::always());
        }
        let replica = match &server.replica {
            Some(name) => name.clone(),
            None => format!("{}:{}", host_name(), self.addr()?.port()),
        };
        let root =
            crate::deliver::root_store(self.store.url(), &self.config.store.storage_options())?;
        Ok(Lease::stored(
            root,
            &replica,
            Duration::from_secs(server.lease_ttl_s.max(1)),
        ))
    }
}

/// This machine's name (a replica's default name is it and its port).
fn host_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "localhost".into())
}

/// Sessions for scheduled deliveries ([`crate::deliver`]): each one what a
/// read-only user bound to the tenant gets (its catalog, its rows only).
pub fn delivery_sessions(shared: Arc<super::Shared>) -> crate::deliver::TenantSessions {
    Arc::new(move |tenant: String| {
        let shared = shared.clone();
        Box::pin(async move {
            let principal = crate::auth::Principal {
                user: "oko_deliver".into(),
                role: crate::auth::Role::Viewer,
                tenant: Some(tenant),
            };
            let vars = Arc::new(crate::pg_compat::vars::Vars::default());
            vars.set_session_user(&principal.user);
            shared.session(&vars, &principal).await
        })
    })
}

/// Completes on SIGINT or SIGTERM.
async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {}
        _ = term => {}
    }
}
