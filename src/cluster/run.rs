//! Where a statement runs, and running it on the cluster.

use std::collections::HashSet;
use std::sync::Arc;

use ballista_core::extension::SessionConfigExt;
use ballista_core::serde::BallistaPhysicalExtensionCodec;
use datafusion::common::tree_node::{Transformed, TreeNode, TreeNodeRecursion};
use datafusion::common::{DataFusionError, Result};
use datafusion::dataframe::DataFrame;
use datafusion::datasource::physical_plan::FileScanConfig;
use datafusion::datasource::source::DataSourceExec;
use datafusion::execution::SendableRecordBatchStream;
use datafusion::execution::context::SessionState;
use datafusion::logical_expr::LogicalPlan;
use datafusion::physical_expr::ScalarFunctionExpr;
use datafusion::physical_expr::{LexOrdering, PhysicalSortExpr};
use datafusion::physical_plan::ExecutionPlan;
use datafusion::physical_plan::sorts::sort::SortExec;
use datafusion::physical_plan::windows::{BoundedWindowAggExec, WindowAggExec};
use datafusion_proto::physical_plan::AsExecutionPlan;
use datafusion_proto::protobuf::PhysicalPlanNode;
use prost::Message;

use crate::config::ClusterConfig;
use crate::engine::PlainScans;
use crate::engine::table_functions::ReportExec;

/// The cluster a process sends its large statements to.
#[derive(Debug, Clone)]
pub struct Cluster {
    /// `http://HOST:PORT` of the scheduler.
    scheduler: String,
    /// Below this many bytes scanned, a statement runs here.
    min_scan_bytes: u64,
    session_bound: Arc<HashSet<String>>,
}

/// Where a statement runs, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Place {
    /// In this process.
    Here(String),
    /// On the cluster; its scans read this many bytes.
    Cluster { bytes: u64 },
}

impl std::fmt::Display for Place {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Place::Here(why) => write!(f, "ran here: {why}"),
            Place::Cluster { bytes } => write!(
                f,
                "ran on the cluster: its scans read {:.1} MiB",
                *bytes as f64 / (1024.0 * 1024.0)
            ),
        }
    }
}

impl Cluster {
    /// The cluster `[cluster] scheduler` names; `None` when it names none.
    pub fn from_config(config: &ClusterConfig) -> anyhow::Result<Option<Cluster>> {
        let Some(url) = &config.scheduler else {
            return Ok(None);
        };
        Cluster::new(url, config.min_scan_mb).map(Some)
    }

    /// The cluster of the scheduler at `url` (`df://HOST:PORT`).
    pub fn new(url: &str, min_scan_mb: u64) -> anyhow::Result<Cluster> {
        let (host, port) = super::scheduler_address(url)?;
        Ok(Cluster {
            scheduler: format!("http://{host}:{port}"),
            min_scan_bytes: min_scan_mb.saturating_mul(1024 * 1024),
            session_bound: Arc::new(super::session_bound()?),
        })
    }

    /// Where `plan` (planned here, in `state`) runs.
    pub fn place(&self, plan: &Arc<dyn ExecutionPlan>) -> Place {
        let mut bytes = 0u64;
        let mut bound = None;
        visit(plan, &mut |node| {
            bytes = bytes.saturating_add(scanned_bytes(node));
            if bound.is_none() {
                bound = session_function(node, &self.session_bound);
            }
        });
        if let Some(name) = bound {
            return Place::Here(format!("it calls {name}(), which answers from the session"));
        }
        if bytes == 0 {
            return Place::Here("it reads no stored files".into());
        }
        if bytes < self.min_scan_bytes {
            return Place::Here(format!(
                "its scans read {} MiB, under [cluster] min_scan_mb",
                bytes / (1024 * 1024)
            ));
        }
        Place::Cluster { bytes }
    }

    /// Runs `df`: here or on the cluster ([`Cluster::place`]); says where.
    pub async fn stream(&self, df: DataFrame) -> Result<(SendableRecordBatchStream, Place)> {
        let (state, plan) = df.into_parts();
        let local = state.create_physical_plan(&plan).await?;
        let place = self.place(&local);
        tracing::debug!(%place, "where the statement runs");
        let stream = match &place {
            Place::Here(_) => datafusion::physical_plan::execute_stream(local, state.task_ctx())?,
            Place::Cluster { .. } => self.submit(&state, &plan).await?,
        };
        Ok((stream, place))
    }

    /// Plans `plan` for the cluster and runs it there.
    pub async fn submit(
        &self,
        state: &SessionState,
        plan: &LogicalPlan,
    ) -> Result<SendableRecordBatchStream> {
        let (config, physical) = plan_for_cluster(state, plan).await?;
        tracing::trace!(
            plan = %datafusion::physical_plan::displayable(physical.as_ref()).indent(true),
            "the plan sent to the cluster"
        );
        let codec = BallistaPhysicalExtensionCodec::default();
        let plan = PhysicalPlanNode::try_from_physical_plan(physical.clone(), &codec)
            .map_err(|e| {
                DataFusionError::Plan(format!(
                    "this statement cannot run on the cluster (its plan cannot be sent: {e})"
                ))
            })?
            .encode_to_vec();
        super::job::run(&self.scheduler, plan, physical.schema(), &config).await
    }
}

/// Runs `df` on the cluster its session carries (a server's sessions carry
/// `[cluster] scheduler`'s), or here when it carries none.
pub async fn execute_stream(df: DataFrame) -> Result<SendableRecordBatchStream> {
    let cluster = df.task_ctx().session_config().get_extension::<Cluster>();
    match cluster {
        Some(cluster) => Ok(cluster.stream(df).await?.0),
        None => df.execute_stream().await,
    }
}

/// The physical plan of `plan` as the cluster runs it: planned in `state`
/// with plain scans ([`PlainScans`]), report table functions opened up.
/// Also the session config sent with it.
pub async fn plan_for_cluster(
    state: &SessionState,
    plan: &LogicalPlan,
) -> Result<(datafusion::prelude::SessionConfig, Arc<dyn ExecutionPlan>)> {
    let config = state
        .config()
        .clone()
        .with_extension(Arc::new(PlainScans))
        .upgrade_for_ballista();
    // The same state (catalogs, functions, planners) with the new config;
    // a builder would make the default catalog anew, empty.
    let mut cluster_state = state.clone();
    *cluster_state.config_mut() = config.clone();
    let physical = cluster_state.create_physical_plan(plan).await?;
    let physical = physical
        .transform_down(|node| {
            Ok(match node.downcast_ref::<ReportExec>() {
                Some(report) => Transformed::yes(report.input().clone()),
                None => Transformed::no(node),
            })
        })?
        .data
        .transform_up(sort_window_input)?
        .data;
    Ok((config, physical))
}

/// A window over rows sorted by its partition columns, sorted in its own
/// stage. Here a window may rely on an order its input has from further
/// down (with the columns a filter made constant left out of it); on the
/// cluster its input is read from another stage's shuffle, which keeps
/// neither the order nor the constants, and the window refuses to run. A
/// sort right under it (per partition, of rows already partitioned by
/// those columns) gives it the order wherever it runs.
fn sort_window_input(node: Arc<dyn ExecutionPlan>) -> Result<Transformed<Arc<dyn ExecutionPlan>>> {
    let (exprs, input) = if let Some(w) = node.downcast_ref::<BoundedWindowAggExec>() {
        (w.window_expr(), w.input())
    } else if let Some(w) = node.downcast_ref::<WindowAggExec>() {
        (w.window_expr(), w.input())
    } else {
        return Ok(Transformed::no(node));
    };
    let Some(first) = exprs.first() else {
        return Ok(Transformed::no(node));
    };
    let mut wanted: Vec<PhysicalSortExpr> = first
        .partition_by()
        .iter()
        .map(|e| PhysicalSortExpr::new_default(e.clone()))
        .collect();
    wanted.extend(first.order_by().iter().cloned());
    let input = input.clone();
    // Only a sort right under it is sure to be in its stage.
    let sorted = input.downcast_ref::<SortExec>().is_some_and(|sort| {
        let have = sort.expr();
        have.len() >= wanted.len() && have.iter().zip(&wanted).all(|(a, b)| a == b)
    });
    let Some(ordering) = LexOrdering::new(wanted) else {
        return Ok(Transformed::no(node));
    };
    if sorted {
        return Ok(Transformed::no(node));
    }
    let sort = SortExec::new(ordering, input).with_preserve_partitioning(true);
    #[allow(deprecated)]
    let node = node.with_new_children(vec![Arc::new(sort)])?;
    Ok(Transformed::yes(node))
}

/// Calls `f` on every node of `plan`, inside report table functions too.
fn visit(plan: &Arc<dyn ExecutionPlan>, f: &mut dyn FnMut(&Arc<dyn ExecutionPlan>)) {
    f(plan);
    if let Some(report) = plan.downcast_ref::<ReportExec>() {
        visit(report.input(), f);
    }
    for child in plan.children() {
        visit(child, f);
    }
}

/// The bytes of Parquet a scan node reads (0 for any other node).
fn scanned_bytes(node: &Arc<dyn ExecutionPlan>) -> u64 {
    let Some(source) = node.downcast_ref::<DataSourceExec>() else {
        return 0;
    };
    let Some(config) = source.data_source().downcast_ref::<FileScanConfig>() else {
        return 0;
    };
    config
        .file_groups
        .iter()
        .flat_map(|g| g.iter())
        .map(|f| match &f.range {
            Some(r) => u64::try_from(r.end - r.start).unwrap_or(0),
            None => f.object_meta.size,
        })
        .sum()
}

/// The first function of `bound` that `node` calls.
fn session_function(node: &Arc<dyn ExecutionPlan>, bound: &HashSet<String>) -> Option<String> {
    let mut found = None;
    let _ = node.apply_expressions(&mut |expr| {
        let _ = expr.apply(|e| {
            if let Some(f) = e.downcast_ref::<ScalarFunctionExpr>()
                && bound.contains(f.name())
            {
                found = Some(f.name().to_string());
                return Ok(TreeNodeRecursion::Stop);
            }
            Ok(TreeNodeRecursion::Continue)
        });
        Ok(if found.is_some() {
            TreeNodeRecursion::Stop
        } else {
            TreeNodeRecursion::Continue
        })
    });
    found
}
