//! `oko scheduler` and `oko executor`: Ballista's scheduler and executor
//! with OKO's functions and the store's object store.

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::{Context, Result};
use ballista_core::config::TaskSchedulingPolicy;
use ballista_core::extension::SessionConfigExt;
use ballista_core::registry::BallistaFunctionRegistry;
use ballista_executor::executor_process::{ExecutorProcessConfig, start_executor_process};
use ballista_scheduler::cluster::BallistaCluster;
use ballista_scheduler::config::SchedulerConfig;
use ballista_scheduler::scheduler_process::start_server;
use datafusion::execution::SessionStateBuilder;
use datafusion::prelude::SessionConfig;

use crate::config::ClusterConfig;
use crate::store::Store;

/// Executors ask the scheduler for work, saying how many task slots they
/// have free (Ballista's pull-staged scheduling), instead of the scheduler
/// keeping the count and pushing tasks. In Ballista 55 the scheduler's count
/// leaks when an executor dies: the tasks of a stage rolled back to
/// "unresolved" that were running on the executors left are aborted, and
/// their slots are never given back (the abort's status update is ignored
/// for a stage in that state). With two slots per executor, one death could
/// leave the cluster with none, every following job queued for good. An
/// executor's own count cannot leak; a stage waits at most one poll (50 ms
/// when idle) to be picked up, which large statements do not notice.
const SCHEDULING: TaskSchedulingPolicy = TaskSchedulingPolicy::PullStaged;

/// Runs a scheduler on `listen` until the process is stopped. The plans
/// it receives read `store`'s files: it decodes them with the store's
/// object store (an S3 bucket) registered.
pub async fn scheduler(listen: SocketAddr, store: &Store, cluster: &ClusterConfig) -> Result<()> {
    // The plans it receives name OKO's functions: it decodes them with a
    // session that has them all.
    super::functions(SessionConfig::new())?;
    let runtime = super::runtime(store)?;
    let config = SchedulerConfig {
        bind_host: listen.ip().to_string(),
        bind_port: listen.port(),
        external_host: cluster
            .advertise_host
            .clone()
            .unwrap_or_else(|| listen.ip().to_string()),
        executor_timeout_seconds: cluster.executor_timeout_s.max(1),
        expire_dead_executor_interval_seconds: (cluster.executor_timeout_s / 3).clamp(1, 15),
        no_executors_grace_period_seconds: cluster.executor_timeout_s.max(1),
        scheduling_policy: SCHEDULING,
        override_session_builder: Some(Arc::new(move |config: SessionConfig| {
            let state = super::functions(config).map_err(|e| {
                datafusion::common::DataFusionError::Configuration(format!(
                    "cannot make a session: {e:#}"
                ))
            })?;
            Ok(SessionStateBuilder::new_from_existing(state)
                .with_runtime_env(runtime.clone())
                .build())
        })),
        ..SchedulerConfig::default()
    };
    let state = BallistaCluster::new_from_config(&config)
        .await
        .context("cannot set up the scheduler's state")?;
    tracing::info!(%listen, "OKO scheduler listening");
    start_server(state, listen, Arc::new(config))
        .await
        .with_context(|| format!("the scheduler on {listen} stopped"))
}

/// Where an executor listens: Arrow Flight (results, shuffles) on
/// `listen`, its task service on `grpc_port`.
#[derive(Debug, Clone)]
pub struct ExecutorAddress {
    pub listen: SocketAddr,
    pub grpc_port: u16,
}

/// Runs an executor that registers with `scheduler` (`df://HOST:PORT`) and
/// reads `store`, until the process is stopped.
pub async fn executor(
    scheduler: &str,
    address: ExecutorAddress,
    store: &Store,
    cluster: &ClusterConfig,
) -> Result<()> {
    let (scheduler_host, scheduler_port) = super::scheduler_address(scheduler)?;
    let functions = super::functions(SessionConfig::new().upgrade_for_ballista())?;
    let runtime = super::runtime(store)?;
    let mut config = ExecutorProcessConfig {
        bind_host: address.listen.ip().to_string(),
        port: address.listen.port(),
        grpc_port: address.grpc_port,
        external_host: Some(
            cluster
                .advertise_host
                .clone()
                .unwrap_or_else(|| address.listen.ip().to_string()),
        ),
        scheduler_host,
        scheduler_port,
        scheduler_connect_timeout_seconds: 30,
        work_dir: cluster.work_dir.as_ref().map(|d| d.display().to_string()),
        executor_heartbeat_interval_seconds: cluster.heartbeat_s.max(1),
        task_scheduling_policy: SCHEDULING,
        print_thread_info: false,
        override_function_registry: Some(Arc::new(BallistaFunctionRegistry::from(&functions))),
        override_runtime_producer: Some(Arc::new(move |_config: &SessionConfig| {
            Ok(runtime.clone())
        })),
        ..ExecutorProcessConfig::default()
    };
    if cluster.executor_slots > 0 {
        config.vcores = cluster.executor_slots;
    }
    if let Some(dir) = &cluster.work_dir {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("cannot create the work folder {}", dir.display()))?;
    }
    tracing::info!(listen = %address.listen, grpc_port = address.grpc_port, scheduler, "OKO executor starting");
    start_executor_process(Arc::new(config))
        .await
        .context("the executor stopped")
}
