//! Scale-out on Apache Ballista: `oko scheduler`, `oko executor`, and the
//! statements `oko serve` / `oko query --cluster` send them.
//!
//! Planning stays in OKO: the statement is planned in the user's session,
//! with its views, table functions, tenant scoping and role checks, as if
//! it ran here. Only the physical plan leaves the process, and it holds
//! nothing but DataFusion's own nodes: live tables are read by plain
//! Parquet scans ([`crate::live::plain_scan`]) of the files the session's
//! snapshot lists (a tenant-bound user's plan lists only its tenant's
//! files), report table functions hand over the plan inside them, and
//! report parts are computed from the facts. Ballista splits it into
//! stages at its exchanges, runs the tasks on the executors (again
//! elsewhere when one dies) and streams the result back: [`run`].
//!
//! The executors have every function of an OKO session ([`functions`]) and
//! the store's object store ([`runtime`]), so any report runs there. A
//! statement runs here instead when it is small (its scans read less than
//! `[cluster] min_scan_mb`), reads no table, or uses a function that
//! answers from the session ([`session_bound`]): [`run::place`] decides and
//! says why.

pub mod job;
pub mod processes;
pub mod run;

use std::collections::HashSet;
use std::sync::Arc;

use anyhow::{Context, Result, bail};
use datafusion::execution::SessionStateBuilder;
use datafusion::execution::context::SessionState;
use datafusion::execution::runtime_env::{RuntimeEnv, RuntimeEnvBuilder};
use datafusion::prelude::{SessionConfig, SessionContext};

use crate::pg_compat::vars::Vars;
use crate::store::Store;

pub use run::{Cluster, Place};

/// A session with every function of an OKO session (DataFusion's,
/// PostgreSQL's, OKO's), for the scheduler and the executors to find the
/// plan's functions by name.
pub fn functions(config: SessionConfig) -> Result<SessionState> {
    // PostgreSQL's catalog functions live in OKO's catalog.
    let mut config = config.with_default_catalog_and_schema(crate::engine::CATALOG, "public");
    config
        .options_mut()
        .catalog
        .create_default_catalog_and_schema = true;
    let state = SessionStateBuilder::new()
        .with_config(config)
        .with_default_features()
        .build();
    let ctx = SessionContext::new_with_state(state);
    crate::pg_compat::install(&ctx, &Arc::new(Vars::default()))?;
    oko_udfs::register_all(&ctx);
    Ok(ctx.state())
}

/// The functions that answer from the session that calls them (its user,
/// its settings, its catalog): a statement using one runs in that session.
pub fn session_bound() -> Result<HashSet<String>> {
    let mut state = SessionStateBuilder::new().build();
    crate::pg_compat::install_session_functions(&mut state, &Arc::new(Vars::default()))?;
    Ok(state.scalar_functions().keys().cloned().collect())
}

/// The runtime of an executor: DataFusion's, with the store's object
/// store registered (an S3 bucket; local files DataFusion reads itself).
pub fn runtime(store: &Store) -> Result<Arc<RuntimeEnv>> {
    let runtime = RuntimeEnvBuilder::new()
        .build_arc()
        .context("cannot make a runtime")?;
    if let Some((url, object_store)) = store.object_store()? {
        runtime.register_object_store(&url, object_store);
    }
    Ok(runtime)
}

/// `df://HOST:PORT` (or `HOST:PORT`) as the host and port.
pub fn scheduler_address(url: &str) -> Result<(String, u16)> {
    let rest = url.strip_prefix("df://").unwrap_or(url);
    let rest = rest.trim_end_matches('/');
    let Some((host, port)) = rest.rsplit_once(':') else {
        bail!("the scheduler address {url} has no port: write df://HOST:PORT");
    };
    let port: u16 = port
        .parse()
        .with_context(|| format!("the scheduler address {url} has no valid port"))?;
    if host.is_empty() {
        bail!("the scheduler address {url} has no host: write df://HOST:PORT");
    }
    Ok((host.trim_matches(['[', ']']).to_string(), port))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scheduler_addresses() {
        assert_eq!(
            scheduler_address("df://sched:50050").unwrap(),
            ("sched".to_string(), 50050)
        );
        assert_eq!(
            scheduler_address("127.0.0.1:7").unwrap(),
            ("127.0.0.1".to_string(), 7)
        );
        assert!(scheduler_address("df://sched").is_err());
        assert!(scheduler_address("df://:1").is_err());
        assert!(scheduler_address("df://h:x").is_err());
    }

    #[test]
    fn session_functions_are_known() {
        let bound = session_bound().unwrap();
        assert!(bound.contains("current_setting"), "{bound:?}");
        let all = functions(SessionConfig::new()).unwrap();
        for name in ["local_time", "current_setting", "to_char"] {
            assert!(all.scalar_functions().contains_key(name), "{name}");
        }
    }
}
