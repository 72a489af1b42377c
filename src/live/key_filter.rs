//! Join filters for a table split by tenant.
//!
//! A hash join builds a filter from the keys it has seen and hands it to the
//! scan on its other side (DataFusion's *dynamic filter*): bounds and a
//! membership test on every join key. OKO joins on `(tenant, key)`, and
//! `tenant` is a partition column: it is not in the Parquet files, so the
//! Delta scan turns the whole filter down and reads every file of the
//! tenant. A list of ratings joined to their leads read all of a tenant's
//! leads for a few hundred rows.
//!
//! [`KeyFilterExec`] sits on top of a partitioned table's scan. It hands the
//! scan, besides the filters from above, each dynamic filter without the
//! parts that name a partition column ([`WithoutColumns`]): what is left
//! (`lead_id` between the smallest and the largest key seen) is a weaker
//! filter that the scan can use to skip files, row groups and rows. Weaker
//! is safe: the join still checks every key, and the filter from above is
//! reported as not pushed down, so it stays where it was.
//!
//! Row groups are coarse: the leads of a month's ratings span whole row
//! groups of other leads. So [`KeyFilterExec`] also applies the dynamic
//! filters from above, whole, to the rows the scan returns (the scan's
//! rows carry the partition columns): a row no filter passes would be
//! dropped by the join anyway, and now it is dropped before the operators
//! between the scan and the join (a view's projections, other joins) work
//! on it. That is what a Parquet scan with row-level filtering does with
//! the same filter. A filter not yet known (the join still building) passes
//! every row.

use std::fmt;
use std::hash::{Hash, Hasher};
use std::sync::{Arc, Mutex};

use datafusion::arrow::compute::filter_record_batch;
use datafusion::arrow::datatypes::{DataType, Schema};
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::common::ScalarValue;
use datafusion::common::cast::as_boolean_array;
use datafusion::common::config::ConfigOptions;
use datafusion::common::tree_node::{Transformed, TreeNode, TreeNodeRecursion};
use datafusion::common::{Result, Statistics};
use datafusion::execution::{SendableRecordBatchStream, TaskContext};
use datafusion::logical_expr::ColumnarValue;
use datafusion::physical_expr::PhysicalExpr;
use datafusion::physical_expr::expressions::{Column, DynamicFilterPhysicalExpr, lit};
use datafusion::physical_expr::utils::{collect_columns, conjunction, split_conjunction};
use datafusion::physical_expr_common::physical_expr::{
    snapshot_generation, snapshot_physical_expr,
};
use datafusion::physical_plan::execution_plan::CardinalityEffect;
use datafusion::physical_plan::filter_pushdown::{
    ChildFilterDescription, ChildPushdownResult, FilterDescription, FilterPushdownPhase,
    FilterPushdownPropagation,
};
use datafusion::physical_plan::metrics::{ExecutionPlanMetricsSet, MetricBuilder, MetricsSet};
use datafusion::physical_plan::statistics::{ChildStats, StatisticsArgs};
use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use datafusion::physical_plan::{DisplayAs, DisplayFormatType, ExecutionPlan, PlanProperties};
use futures::{StreamExt, TryStreamExt};

/// A partitioned table's scan, passing its dynamic filters on without the
/// partition columns and applying them to its rows (see the module's
/// documentation).
#[derive(Debug)]
pub struct KeyFilterExec {
    input: Arc<dyn ExecutionPlan>,
    /// The columns the scan cannot filter on: the table's partition columns.
    partitions: &'static [&'static str],
    /// The dynamic filters from above, applied to the scan's rows.
    row_filters: Vec<Arc<dyn PhysicalExpr>>,
    metrics: ExecutionPlanMetricsSet,
}

impl KeyFilterExec {
    pub fn new(input: Arc<dyn ExecutionPlan>, partitions: &'static [&'static str]) -> Self {
        Self {
            input,
            partitions,
            row_filters: Vec::new(),
            metrics: ExecutionPlanMetricsSet::new(),
        }
    }

    fn wrap(&self, input: Arc<dyn ExecutionPlan>) -> Arc<dyn ExecutionPlan> {
        Arc::new(Self {
            row_filters: self.row_filters.clone(),
            ..Self::new(input, self.partitions)
        })
    }
}

impl DisplayAs for KeyFilterExec {
    fn fmt_as(&self, _t: DisplayFormatType, f: &mut fmt::Formatter) -> fmt::Result {
        write!(
            f,
            "KeyFilterExec: partitions=[{}]",
            self.partitions.join(", ")
        )?;
        if !self.row_filters.is_empty() {
            write!(f, ", row filters={}", self.row_filters.len())?;
        }
        Ok(())
    }
}

/// The rows of `batch` every filter passes (NULL does not pass).
fn passing(filters: &[Arc<dyn PhysicalExpr>], mut batch: RecordBatch) -> Result<RecordBatch> {
    for filter in filters {
        if batch.num_rows() == 0 {
            break;
        }
        let mask = match filter.evaluate(&batch)? {
            ColumnarValue::Scalar(ScalarValue::Boolean(Some(true))) => continue,
            ColumnarValue::Scalar(_) => return Ok(batch.slice(0, 0)),
            ColumnarValue::Array(mask) => mask,
        };
        let mask = as_boolean_array(&mask)?;
        if mask.true_count() == batch.num_rows() {
            continue;
        }
        batch = filter_record_batch(&batch, mask)?;
    }
    Ok(batch)
}

impl ExecutionPlan for KeyFilterExec {
    fn name(&self) -> &'static str {
        "KeyFilterExec"
    }

    fn properties(&self) -> &Arc<PlanProperties> {
        self.input.properties()
    }

    fn children(&self) -> Vec<&Arc<dyn ExecutionPlan>> {
        vec![&self.input]
    }

    fn with_new_children(
        self: Arc<Self>,
        mut children: Vec<Arc<dyn ExecutionPlan>>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        Ok(self.wrap(children.swap_remove(0)))
    }

    /// It has no expressions of its own.
    fn apply_expressions(
        &self,
        _f: &mut dyn FnMut(&Arc<dyn PhysicalExpr>) -> Result<TreeNodeRecursion>,
    ) -> Result<TreeNodeRecursion> {
        Ok(TreeNodeRecursion::Continue)
    }

    fn maintains_input_order(&self) -> Vec<bool> {
        vec![true]
    }

    fn benefits_from_input_partitioning(&self) -> Vec<bool> {
        vec![false]
    }

    fn repartitioned(
        &self,
        target_partitions: usize,
        config: &ConfigOptions,
    ) -> Result<Option<Arc<dyn ExecutionPlan>>> {
        Ok(self
            .input
            .repartitioned(target_partitions, config)?
            .map(|input| self.wrap(input)))
    }

    fn execute(
        &self,
        partition: usize,
        context: Arc<TaskContext>,
    ) -> Result<SendableRecordBatchStream> {
        let input = self.input.execute(partition, context)?;
        if self.row_filters.is_empty() {
            return Ok(input);
        }
        let filters = self.row_filters.clone();
        let dropped = MetricBuilder::new(&self.metrics).counter("rows_dropped", partition);
        let schema = input.schema();
        let rows = input
            .map(move |batch| {
                let batch = batch?;
                let before = batch.num_rows();
                let kept = passing(&filters, batch)?;
                dropped.add(before - kept.num_rows());
                Ok(kept)
            })
            .try_filter(|b| futures::future::ready(b.num_rows() > 0));
        Ok(Box::pin(RecordBatchStreamAdapter::new(schema, rows)))
    }

    fn metrics(&self) -> Option<MetricsSet> {
        Some(self.metrics.clone_inner())
    }

    fn child_stats_requests(&self, partition: Option<usize>) -> Vec<ChildStats> {
        vec![ChildStats::At(partition)]
    }

    fn statistics_from_inputs(
        &self,
        input_stats: &[Arc<Statistics>],
        _args: &StatisticsArgs,
    ) -> Result<Arc<Statistics>> {
        Ok(match input_stats.first() {
            Some(stats) => stats.clone(),
            None => Arc::new(Statistics::new_unknown(&self.schema())),
        })
    }

    fn supports_limit_pushdown(&self) -> bool {
        self.input.supports_limit_pushdown()
    }

    fn with_fetch(&self, limit: Option<usize>) -> Option<Arc<dyn ExecutionPlan>> {
        self.input.with_fetch(limit).map(|input| self.wrap(input))
    }

    fn fetch(&self) -> Option<usize> {
        self.input.fetch()
    }

    fn cardinality_effect(&self) -> CardinalityEffect {
        CardinalityEffect::Equal
    }

    /// The filters from above go to the scan as they are; each dynamic
    /// one that names a partition column also goes without it.
    fn gather_filters_for_pushdown(
        &self,
        _phase: FilterPushdownPhase,
        parent_filters: Vec<Arc<dyn PhysicalExpr>>,
        _config: &ConfigOptions,
    ) -> Result<FilterDescription> {
        let weakened: Vec<Arc<dyn PhysicalExpr>> = parent_filters
            .iter()
            .filter(|f| snapshot_generation(f) != 0)
            .filter_map(|f| WithoutColumns::new(f.clone(), self.partitions))
            .map(|f| Arc::new(f) as Arc<dyn PhysicalExpr>)
            .collect();
        let child = ChildFilterDescription::from_child(&parent_filters, &self.input)?
            .with_self_filters(weakened);
        Ok(FilterDescription::new().with_child(child))
    }

    /// Keeps the dynamic filters from above, to apply to the rows.
    fn handle_child_pushdown_result(
        &self,
        _phase: FilterPushdownPhase,
        child_pushdown_result: ChildPushdownResult,
        _config: &ConfigOptions,
    ) -> Result<FilterPushdownPropagation<Arc<dyn ExecutionPlan>>> {
        let dynamic: Vec<Arc<dyn PhysicalExpr>> = child_pushdown_result
            .parent_filters
            .iter()
            .map(|f| f.filter.clone())
            .filter(|f| snapshot_generation(f) != 0)
            .filter(|f| {
                !self
                    .row_filters
                    .iter()
                    .any(|kept| kept.as_ref() == f.as_ref())
            })
            .collect();
        let propagation = FilterPushdownPropagation::if_all(child_pushdown_result);
        if dynamic.is_empty() {
            return Ok(propagation);
        }
        let mut row_filters = self.row_filters.clone();
        row_filters.extend(dynamic);
        let updated = Arc::new(Self {
            row_filters,
            ..Self::new(self.input.clone(), self.partitions)
        });
        Ok(propagation.with_updated_node(updated))
    }
}

/// A dynamic filter without its conjuncts on some columns: every row the
/// filter passes, this passes too. It follows the filter as it is updated.
/// Its children are the columns it keeps, so that a scan can rebind them to
/// its files' schema, and then its trackers ([`trackers`]).
#[derive(Debug)]
struct WithoutColumns {
    filter: Arc<dyn PhysicalExpr>,
    /// The filter's columns that are kept, as the filter names them.
    kept: Vec<Column>,
    /// What each kept column is now (the scan's rebinding of it), then the
    /// trackers.
    children: Vec<Arc<dyn PhysicalExpr>>,
    /// The filter's generation and this filter at that generation.
    current: Mutex<Option<(u64, Arc<dyn PhysicalExpr>)>>,
}

impl WithoutColumns {
    /// `None` when every column of `filter` is dropped.
    fn new(filter: Arc<dyn PhysicalExpr>, dropped: &[&str]) -> Option<Self> {
        let mut kept: Vec<Column> = collect_columns(&filter)
            .into_iter()
            .filter(|c| !dropped.contains(&c.name()))
            .collect();
        if kept.is_empty() {
            return None;
        }
        kept.sort_by(|a, b| (a.index(), a.name()).cmp(&(b.index(), b.name())));
        let mut children: Vec<Arc<dyn PhysicalExpr>> = kept
            .iter()
            .map(|c| Arc::new(c.clone()) as Arc<dyn PhysicalExpr>)
            .collect();
        children.extend(trackers(&filter, dropped));
        Some(Self {
            filter,
            kept,
            children,
            current: Mutex::new(None),
        })
    }

    /// The filter as it is now: its conjuncts on kept columns only, with
    /// those columns rebound.
    fn current(&self) -> Result<Arc<dyn PhysicalExpr>> {
        let generation = snapshot_generation(&self.filter);
        let mut current = self.current.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((at, expr)) = current.as_ref()
            && *at == generation
        {
            return Ok(expr.clone());
        }
        let snapshot = snapshot_physical_expr(self.filter.clone())?;
        let kept = split_conjunction(&snapshot)
            .into_iter()
            .filter(|c| collect_columns(c).iter().all(|col| self.kept.contains(col)))
            .cloned();
        let expr = conjunction(kept)
            .transform_down(|e| {
                let Some(col) = e.downcast_ref::<Column>() else {
                    return Ok(Transformed::no(e));
                };
                Ok(match self.kept.iter().position(|k| k == col) {
                    Some(i) => Transformed::yes(self.children[i].clone()),
                    None => Transformed::no(e),
                })
            })?
            .data;
        *current = Some((generation, expr.clone()));
        Ok(expr)
    }
}

impl fmt::Display for WithoutColumns {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.current() {
            Ok(expr) => write!(f, "KeyFilter [ {expr} ]"),
            Err(_) => write!(f, "KeyFilter [ {} ]", self.filter),
        }
    }
}

impl PartialEq for WithoutColumns {
    fn eq(&self, other: &Self) -> bool {
        self.filter.as_ref() == other.filter.as_ref()
            && self.kept == other.kept
            && self.children == other.children
    }
}

impl Eq for WithoutColumns {}

impl Hash for WithoutColumns {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.filter.hash(state);
        self.kept.hash(state);
        self.children.hash(state);
    }
}

impl PhysicalExpr for WithoutColumns {
    fn data_type(&self, _input_schema: &Schema) -> Result<DataType> {
        Ok(DataType::Boolean)
    }

    fn nullable(&self, _input_schema: &Schema) -> Result<bool> {
        Ok(true)
    }

    fn evaluate(&self, batch: &RecordBatch) -> Result<ColumnarValue> {
        self.current()?.evaluate(batch)
    }

    fn children(&self) -> Vec<&Arc<dyn PhysicalExpr>> {
        self.children.iter().collect()
    }

    fn with_new_children(
        self: Arc<Self>,
        children: Vec<Arc<dyn PhysicalExpr>>,
    ) -> Result<Arc<dyn PhysicalExpr>> {
        Ok(Arc::new(Self {
            filter: self.filter.clone(),
            kept: self.kept.clone(),
            children,
            current: Mutex::new(None),
        }))
    }

    fn fmt_sql(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }

    fn snapshot(&self) -> Result<Option<Arc<dyn PhysicalExpr>>> {
        Ok(Some(self.current()?))
    }

    fn snapshot_generation(&self) -> u64 {
        snapshot_generation(&self.filter)
    }
}

/// The dynamic filters inside `filter`, each with its dropped columns
/// replaced by NULL. They are never evaluated: a Parquet scan looks for
/// dynamic filters among a predicate's nodes to learn that the predicate
/// changes (its filter may be updated after a file was opened, and then it
/// prunes the file's remaining row groups), and these share their
/// originals' state.
fn trackers(filter: &Arc<dyn PhysicalExpr>, dropped: &[&str]) -> Vec<Arc<dyn PhysicalExpr>> {
    let mut found = Vec::new();
    let _ = filter.apply(|e| {
        if e.downcast_ref::<DynamicFilterPhysicalExpr>().is_some() {
            found.push(e.clone());
        }
        Ok(TreeNodeRecursion::Continue)
    });
    found
        .into_iter()
        .filter_map(|f| {
            let children = f
                .children()
                .into_iter()
                .map(|c| {
                    match collect_columns(c)
                        .iter()
                        .any(|col| dropped.contains(&col.name()))
                    {
                        true => lit(ScalarValue::Null),
                        false => c.clone(),
                    }
                })
                .collect();
            f.with_new_children(children).ok()
        })
        .collect()
}
