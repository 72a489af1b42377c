//! The parametrised reports as table functions: `manager_report(from, to,
//! …)` and the others. Arguments are checked and filled into the same
//! templates the views use ([`super::reports`]); the plan is made against
//! the calling session's catalog (so a tenant-bound user's call reads only
//! that tenant's rows), and a `tenant = …` filter on the call's result is
//! pushed into the report's own pre-filter.

use std::sync::{Arc, OnceLock};

use chrono::{NaiveDate, NaiveDateTime};
use datafusion::arrow::datatypes::{Schema, SchemaRef};
use datafusion::catalog::{
    Session, TableFunctionArgs, TableFunctionImpl, TableProvider, view::ViewTable,
};
use datafusion::common::tree_node::TreeNodeRecursion;
use datafusion::common::{DataFusionError, ScalarValue, plan_err};
use datafusion::datasource::memory::MemorySourceConfig;
use datafusion::execution::context::SessionState;
use datafusion::execution::{SendableRecordBatchStream, TaskContext};
use datafusion::logical_expr::{Expr, Operator, TableProviderFilterPushDown, TableType};
use datafusion::physical_expr::PhysicalExpr;
use datafusion::physical_expr::expressions::Column;
use datafusion::physical_plan::coalesce_partitions::CoalescePartitionsExec;
use datafusion::physical_plan::display::DisplayableExecutionPlan;
use datafusion::physical_plan::projection::{ProjectionExec, ProjectionExpr};
use datafusion::physical_plan::{DisplayAs, DisplayFormatType, ExecutionPlan, PlanProperties};
use datafusion::prelude::SessionContext;

use super::PlainScans;
use super::parts::{Grain, lead_prefilter, tenant_condition};
use super::reports::*;
use super::shared::{Claim, Fill, SharedReports};
use crate::config::ReportSettings;

/// Registers the parametrised reports (table functions) in `ctx`; they plan
/// their SQL against whatever session calls them.
pub fn register_functions(ctx: &SessionContext, settings: &ReportSettings) {
    let s = Arc::new(settings.clone());
    for kind in Report::ALL {
        ctx.register_udtf(
            kind.name(),
            Arc::new(ReportFunction {
                kind,
                settings: s.clone(),
                schema: Arc::new(OnceLock::new()),
            }),
        );
    }
}

/// The parametrised reports.
#[derive(Debug, Clone, Copy)]
enum Report {
    Manager,
    Summary,
    Cc,
    CcProfile(Profile),
    CcTags,
    CcTagHours,
    CcManual,
    BubbleProductivity,
    BubbleSpeed,
    SurveyDue,
}

/// The names of the reports whose first two arguments are a period
/// (`from`, `to`): every table function but `survey_due`.
pub fn period_reports() -> impl Iterator<Item = &'static str> {
    Report::ALL
        .into_iter()
        .filter(|r| !matches!(r, Report::SurveyDue))
        .map(Report::name)
}

impl Report {
    const ALL: [Report; 11] = [
        Report::Manager,
        Report::Summary,
        Report::Cc,
        Report::CcProfile(Profile::HourOfDay),
        Report::CcProfile(Profile::DayOfWeek),
        Report::CcTags,
        Report::CcTagHours,
        Report::CcManual,
        Report::BubbleProductivity,
        Report::BubbleSpeed,
        Report::SurveyDue,
    ];

    fn name(self) -> &'static str {
        match self {
            Report::Manager => "manager_report",
            Report::Summary => "summary_report",
            Report::Cc => "cc_report",
            Report::CcProfile(p) => p.name(),
            Report::CcTags => "cc_tags",
            Report::CcTagHours => "cc_tag_hours",
            Report::CcManual => "cc_manual",
            Report::BubbleProductivity => "bubble_productivity",
            Report::BubbleSpeed => "bubble_speed",
            Report::SurveyDue => "survey_due",
        }
    }

    /// Whether the third argument is a grain (the contact-centre series);
    /// the filters (scope, exclude_classes, managers) follow it. The other
    /// reports take the filters right after the period.
    fn grain_first(self) -> bool {
        matches!(self, Report::Cc | Report::CcTags | Report::CcManual)
    }

    fn usage(self) -> &'static str {
        match self {
            Report::Manager
            | Report::BubbleProductivity
            | Report::BubbleSpeed
            | Report::CcProfile(_)
            | Report::CcTagHours => {
                "(from, to [, scope 'calls'|'chats'|'all' [, exclude_classes 'A,B' [, managers 'm1,m2']]]) \
                 with from/to as 'YYYY-MM-DD[ HH:MM[:SS]]' on each tenant's wall clock"
            }
            Report::CcTags | Report::CcManual => {
                "(from, to [, grain 'hour'|'day'|'week'|'month'|'quarter'|'year' [, scope \
                 'calls'|'chats'|'all' [, exclude_classes 'A,B' [, managers 'm1,m2']]]]) with \
                 from/to as 'YYYY-MM-DD[ HH:MM[:SS]]' on each tenant's wall clock; grain \
                 'day' by default"
            }
            Report::Summary => {
                "(from, to [, scope 'calls'|'chats'|'all' [, exclude_classes 'A,B' [, managers 'm1,m2' \
                 [, grain 'day'|'week'|'month'|'quarter'|'year']]]]) with from/to as \
                 'YYYY-MM-DD[ HH:MM[:SS]]' on each tenant's wall clock; without a grain, one row set \
                 for the whole period"
            }
            Report::Cc => {
                "(from, to [, grain 'hour'|'day'|'week'|'month'|'quarter'|'year' [, scope \
                 'calls'|'chats'|'all' [, exclude_classes 'A,B' [, managers 'm1,m2']]]]) with \
                 from/to as 'YYYY-MM-DD[ HH:MM[:SS]]' on each tenant's wall clock; grain 'day' \
                 by default"
            }
            Report::SurveyDue => "(now) with now as a UTC time 'YYYY-MM-DD HH:MM[:SS]'",
        }
    }
}

/// A table function over a template.
#[derive(Debug, Clone)]
struct ReportFunction {
    kind: Report,
    settings: Arc<ReportSettings>,
    /// The columns of this report, the same for every call: planned once
    /// (the SQL is planned again, with the query's tenants, when scanned).
    schema: Arc<OnceLock<SchemaRef>>,
}

/// The session a report's SQL is planned in: the user's, reading `0.5` as
/// the engine's own SQL does (a float), whatever the session's PostgreSQL
/// reading of literals (`numeric`), so a report's types never depend on
/// who calls it.
pub(super) fn report_state(state: &SessionState) -> SessionState {
    // DataFusion's own analyzer rules and expression planners: the
    // PostgreSQL ones of a user's session (constants as `integer`, checked
    // arithmetic, result types) are for the user's SQL, not the reports'.
    let mut state = datafusion::execution::SessionStateBuilder::new_from_existing(state.clone())
        .with_analyzer_rules(datafusion::optimizer::Analyzer::new().rules)
        .with_expr_planners(datafusion::execution::SessionStateDefaults::default_expr_planners())
        .build();
    state
        .config_mut()
        .options_mut()
        .sql_parser
        .parse_float_as_decimal = false;
    state
}

impl TableFunctionImpl for ReportFunction {
    fn call_with_args(
        &self,
        args: TableFunctionArgs,
    ) -> datafusion::common::Result<Arc<dyn TableProvider>> {
        let texts = literal_args(self.kind, args.exprs())?;
        // Rendering checks the arguments.
        let sql = self.render(&texts, None)?;
        let Some(state) = args.session().as_any().downcast_ref::<SessionState>() else {
            return plan_err!("{} needs an OKO session", self.kind.name());
        };
        if let Report::SurveyDue = self.kind {
            let state = &report_state(state);
            let plan = futures::executor::block_on(state.create_logical_plan(&sql))?;
            return Ok(Arc::new(ViewTable::new(plan, Some(sql))));
        }
        let schema = match self.schema.get() {
            Some(schema) => schema.clone(),
            None => {
                // The report's columns, planned once (a state to plan it in
                // is not free to make).
                let state = &report_state(state);
                let plan = futures::executor::block_on(state.create_logical_plan(&sql))?;
                // Declared nullable throughout: the plan made at scan time may
                // derive a column's nullability less tightly (`coalesce`),
                // and DataFusion refuses a scan that is "more nullable" than
                // its table.
                let fields: Vec<_> = plan
                    .schema()
                    .as_arrow()
                    .fields()
                    .iter()
                    .map(|f| f.as_ref().clone().with_nullable(true))
                    .collect();
                let schema: SchemaRef = Arc::new(Schema::new(fields));
                self.schema.get_or_init(|| schema).clone()
            }
        };
        Ok(Arc::new(ReportTable {
            function: self.clone(),
            args: texts,
            schema,
        }))
    }
}

/// Whether `provider` is a call of a period report (it reads the live
/// tables of the session's catalog when it is scanned; the result cache
/// keys such a statement on all of them).
pub fn is_report_call(provider: &dyn TableProvider) -> bool {
    provider.is::<ReportTable>()
}

/// A call of a period report. Unlike a view it is planned when it is
/// scanned, so the query's `tenant = …` / `tenant IN (…)` filters reach the
/// template: the leads read (and the requests and ratings joined to them)
/// are those of the period *and* of these tenants. The filters are also
/// applied on the result (`Inexact`), so the rows are the same either way.
#[derive(Debug)]
struct ReportTable {
    function: ReportFunction,
    args: Vec<Option<String>>,
    schema: SchemaRef,
}

/// Report plans join one period of one tenant's leads (small) to larger
/// tables. With the build side collected once (instead of hash-partitioned)
/// DataFusion pushes its key bounds into the probe-side scans as one
/// dynamic filter, which skips the row groups of other leads; partitioned,
/// the filter is a per-partition CASE that no row-group statistic can use.
const REPORT_JOIN_COLLECT_ROWS: usize = 4_000_000;
const REPORT_JOIN_COLLECT_BYTES: usize = 256 * 1024 * 1024;

#[async_trait::async_trait]
impl TableProvider for ReportTable {
    fn schema(&self) -> SchemaRef {
        self.schema.clone()
    }

    fn table_type(&self) -> TableType {
        TableType::View
    }

    fn supports_filters_pushdown(
        &self,
        filters: &[&Expr],
    ) -> datafusion::common::Result<Vec<TableProviderFilterPushDown>> {
        Ok(filters
            .iter()
            .map(|f| match tenant_values(f) {
                Some(_) => TableProviderFilterPushDown::Inexact,
                None => TableProviderFilterPushDown::Unsupported,
            })
            .collect())
    }

    async fn scan(
        &self,
        state: &dyn Session,
        projection: Option<&Vec<usize>>,
        filters: &[Expr],
        limit: Option<usize>,
    ) -> datafusion::common::Result<Arc<dyn ExecutionPlan>> {
        let tenants = query_tenants(None, filters);
        let sql = self.function.render(&self.args, tenants.as_deref())?;
        let Some(state) = state.as_any().downcast_ref::<SessionState>() else {
            return plan_err!("{} needs an OKO session", self.function.kind.name());
        };
        // Over kept parts: as many partitions as the parts it sums need.
        let period = match (self.args.first(), self.args.get(1)) {
            (Some(Some(from)), Some(Some(to))) => parse_time(from).ok().zip(parse_time(to).ok()),
            _ => None,
        };
        let partitions = period.and_then(|(from, to)| {
            super::parts::kept_partitions(state, tenants.as_deref(), from, to)
        });
        let name = self.function.kind.name();
        let claim = match state.config().get_extension::<SharedReports>() {
            // A cluster's plan holds only DataFusion's nodes; a limit makes
            // the result a part of the report.
            Some(shared)
                if state.config().get_extension::<PlainScans>().is_none() && limit.is_none() =>
            {
                shared.0.claim(state, name, &sql).await
            }
            _ => Claim::Alone,
        };
        match claim {
            Claim::Alone => {
                plan_report(name, state, sql, partitions, projection, filters, limit).await
            }
            Claim::Done(schema, batches) => Ok(MemorySourceConfig::try_new_exec(
                &[batches],
                schema,
                projection.cloned(),
            )?),
            Claim::Compute(fill) => {
                let report = plan_report(name, state, sql, partitions, None, filters, None).await?;
                let report = report
                    .downcast_ref::<ReportExec>()
                    .map(|r| r.with_fill(fill))
                    .ok_or_else(|| {
                        DataFusionError::Internal("a report plans as ReportExec".into())
                    })?;
                let report: Arc<dyn ExecutionPlan> = Arc::new(report);
                Ok(match projection {
                    None => report,
                    Some(columns) => {
                        let schema = report.schema();
                        let exprs = columns
                            .iter()
                            .map(|&i| {
                                let name = schema.field(i).name().clone();
                                let column: Arc<dyn PhysicalExpr> = Arc::new(Column::new(&name, i));
                                ProjectionExpr::new(column, name)
                            })
                            .collect::<Vec<_>>();
                        Arc::new(ProjectionExec::try_new(exprs, report)?)
                    }
                })
            }
        }
    }
}

/// The tenants `base` (None: any) and every `tenant = …` / `tenant IN (…)`
/// filter allow (filters are ANDed); `None`: no restriction.
pub(super) fn query_tenants(base: Option<Vec<String>>, filters: &[Expr]) -> Option<Vec<String>> {
    let mut tenants = base;
    for values in filters.iter().filter_map(tenant_values) {
        tenants = Some(match tenants {
            None => values,
            Some(t) => t.into_iter().filter(|v| values.contains(v)).collect(),
        });
    }
    tenants
}

/// The physical plan of a report's SQL in the calling session (read the
/// engine's way, [`report_state`]; its joins' build sides collected once;
/// at most `partitions` partitions), wrapped in a [`ReportExec`] named
/// `name`.
pub(super) async fn plan_report(
    name: &'static str,
    state: &SessionState,
    sql: String,
    partitions: Option<usize>,
    projection: Option<&Vec<usize>>,
    filters: &[Expr],
    limit: Option<usize>,
) -> datafusion::common::Result<Arc<dyn ExecutionPlan>> {
    let mut state = report_state(state);
    if let Some(partitions) = partitions {
        let execution = &mut state.config_mut().options_mut().execution;
        execution.target_partitions = execution.target_partitions.min(partitions.max(1));
    }
    let optimizer = &mut state.config_mut().options_mut().optimizer;
    optimizer.hash_join_single_partition_threshold_rows = optimizer
        .hash_join_single_partition_threshold_rows
        .max(REPORT_JOIN_COLLECT_ROWS);
    optimizer.hash_join_single_partition_threshold = optimizer
        .hash_join_single_partition_threshold
        .max(REPORT_JOIN_COLLECT_BYTES);
    let plan = state.create_logical_plan(&sql).await?;
    let input = ViewTable::new(plan, Some(sql))
        .scan(&state, projection, filters, limit)
        .await?;
    Ok(Arc::new(ReportExec::new(name, input)))
}

/// The physical plan of a report call, already optimised. It shows the
/// query's optimiser no children: a second pass of the physical optimiser
/// over a plan whose joins carry dynamic filters would try to reorder them
/// (DataFusion refuses that with an internal error). EXPLAIN [ANALYZE]
/// prints the plan inside.
#[derive(Debug)]
pub struct ReportExec {
    name: &'static str,
    input: Arc<dyn ExecutionPlan>,
    properties: Arc<PlanProperties>,
    /// Where the whole result is kept for other calls ([`super::shared`]).
    fill: Option<Arc<dyn Fill>>,
}

impl ReportExec {
    /// The report's plan (the cluster runs it as it is,
    /// [`crate::cluster`]).
    pub fn input(&self) -> &Arc<dyn ExecutionPlan> {
        &self.input
    }

    pub(super) fn new(name: &'static str, input: Arc<dyn ExecutionPlan>) -> ReportExec {
        ReportExec {
            name,
            properties: input.properties().clone(),
            input,
            fill: None,
        }
    }

    /// The report with its whole result gathered in one partition and
    /// handed to `fill` on its way up.
    fn with_fill(&self, fill: Arc<dyn Fill>) -> ReportExec {
        let input: Arc<dyn ExecutionPlan> = match self.properties.partitioning.partition_count() {
            1 => self.input.clone(),
            _ => Arc::new(CoalescePartitionsExec::new(self.input.clone())),
        };
        ReportExec {
            fill: Some(fill),
            ..ReportExec::new(self.name, input)
        }
    }
}

impl DisplayAs for ReportExec {
    fn fmt_as(&self, t: DisplayFormatType, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        write!(f, "ReportExec: {}, planned separately:", self.name)?;
        if self.fill.is_some() {
            write!(
                f,
                " (its rows kept for the same call from other statements)"
            )?;
        }
        let verbose = matches!(t, DisplayFormatType::Verbose);
        let inner = DisplayableExecutionPlan::with_metrics(self.input.as_ref())
            .indent(verbose)
            .to_string();
        for line in inner.lines() {
            write!(f, "\n  | {line}")?;
        }
        Ok(())
    }
}

impl ExecutionPlan for ReportExec {
    fn name(&self) -> &str {
        "ReportExec"
    }

    fn properties(&self) -> &Arc<PlanProperties> {
        &self.properties
    }

    fn children(&self) -> Vec<&Arc<dyn ExecutionPlan>> {
        vec![]
    }

    fn apply_expressions(
        &self,
        _f: &mut dyn FnMut(&Arc<dyn PhysicalExpr>) -> datafusion::common::Result<TreeNodeRecursion>,
    ) -> datafusion::common::Result<TreeNodeRecursion> {
        Ok(TreeNodeRecursion::Continue)
    }

    fn with_new_children(
        self: Arc<Self>,
        children: Vec<Arc<dyn ExecutionPlan>>,
    ) -> datafusion::common::Result<Arc<dyn ExecutionPlan>> {
        if children.is_empty() {
            Ok(self)
        } else {
            plan_err!("ReportExec has no children")
        }
    }

    fn execute(
        &self,
        partition: usize,
        context: Arc<TaskContext>,
    ) -> datafusion::common::Result<SendableRecordBatchStream> {
        let stream = self.input.execute(partition, context)?;
        Ok(match &self.fill {
            Some(fill) => fill.fill(stream),
            None => stream,
        })
    }
}

/// The tenants a filter keeps, when it is `tenant = 'x'` (either way round)
/// or `tenant IN ('x', …)`; `None` for any other filter.
fn tenant_values(expr: &Expr) -> Option<Vec<String>> {
    fn is_tenant(e: &Expr) -> bool {
        match e {
            Expr::Column(c) => c.name == "tenant",
            Expr::Cast(c) => is_tenant(&c.expr),
            _ => false,
        }
    }
    fn scalar_text(v: &ScalarValue) -> Option<String> {
        match v {
            ScalarValue::Utf8(Some(s))
            | ScalarValue::LargeUtf8(Some(s))
            | ScalarValue::Utf8View(Some(s)) => Some(s.clone()),
            // `tenant` is a partition column: dictionary-encoded.
            ScalarValue::Dictionary(_, v) => scalar_text(v),
            _ => None,
        }
    }
    fn text(e: &Expr) -> Option<String> {
        match e {
            Expr::Literal(v, _) => scalar_text(v),
            Expr::Cast(c) => text(&c.expr),
            _ => None,
        }
    }
    match expr {
        Expr::BinaryExpr(b) if b.op == Operator::Eq => {
            if is_tenant(&b.left) {
                text(&b.right).map(|v| vec![v])
            } else if is_tenant(&b.right) {
                text(&b.left).map(|v| vec![v])
            } else {
                None
            }
        }
        Expr::InList(l) if !l.negated && is_tenant(&l.expr) => l.list.iter().map(text).collect(),
        _ => None,
    }
}

impl ReportFunction {
    /// The SQL of a call; `tenants` (from the query's filters) narrows the
    /// leads read, never the result.
    fn render(
        &self,
        args: &[Option<String>],
        tenants: Option<&[String]>,
    ) -> datafusion::common::Result<String> {
        let s = &self.settings;
        let kind = self.kind;
        let arg = |i: usize| args.get(i).cloned().flatten();
        let usage = || format!("{}{}", kind.name(), kind.usage());
        if let Report::SurveyDue = kind {
            let now = match arg(0) {
                Some(t) => parse_time(&t).map_err(|e| plan(format!("{e}; usage: {}", usage())))?,
                None => return Ok(survey_sql(s, "now()")),
            };
            let lit = format!(
                "CAST({} AS TIMESTAMP WITH TIME ZONE)",
                quote(&format!("{}Z", now.format("%Y-%m-%dT%H:%M:%S")))
            );
            return Ok(survey_sql(s, &lit));
        }
        let (Some(from), Some(to)) = (arg(0), arg(1)) else {
            return Err(plan(format!(
                "{} needs a period; usage: {}",
                kind.name(),
                usage()
            )));
        };
        let from = parse_time(&from).map_err(|e| plan(format!("{e}; usage: {}", usage())))?;
        let to = parse_time(&to).map_err(|e| plan(format!("{e}; usage: {}", usage())))?;
        if to <= from {
            return Err(plan(format!(
                "the period is empty: `to` ({to}) must be after `from` ({from})"
            )));
        }
        let from_lit = ts_literal(from);
        let to_lit = ts_literal(to);
        // The filters every period report takes (SPEC.md §2, §7).
        let at = if kind.grain_first() { 3 } else { 2 };
        let scope_text = arg(at).unwrap_or_else(|| "all".into());
        let Some(scope) = Scope::parse(&scope_text) else {
            return Err(plan(format!(
                "unknown scope `{scope_text}`: use calls, chats or all"
            )));
        };
        let classes = match arg(at + 1) {
            Some(list) => split_list(&list),
            None => s.exclude_classes.clone(),
        };
        let managers = arg(at + 2).map(|l| split_list(&l)).unwrap_or_default();
        let mut leads = vec![class_filter(&classes)];
        if !managers.is_empty() {
            let list: Vec<String> = managers.iter().map(|m| quote(m)).collect();
            leads.push(format!("f.manager IN ({})", list.join(", ")));
        }
        let prefilter = lead_prefilter(Some(from), Some(to), tenants);
        // The query's tenants, on the kept parts.
        let tenant_filter = tenant_condition("f", tenants);
        if kind.grain_first() || matches!(kind, Report::CcProfile(_) | Report::CcTagHours) {
            let unit = match arg(2).as_deref() {
                _ if !kind.grain_first() => "day",
                None | Some("") => "day",
                Some(g) => match CC_GRAINS.iter().find(|(_, unit)| *unit == g) {
                    Some((_, unit)) => unit,
                    None => {
                        return Err(plan(format!("unknown grain `{g}`; usage: {}", usage())));
                    }
                },
            };
            leads.push(scope.lead_filter());
            // The contacts of the period on each tenant's clock.
            let hours = format!("period_start >= {from_lit} AND period_start < {to_lit}");
            let created = format!("f.created_local >= {from_lit} AND f.created_local < {to_lit}");
            // The hourly parts: kept ones for whole hours of any scope and
            // classes (managers are not one of their dimensions), or the
            // same SQL over the period's leads.
            let parts = |leads: &[String]| {
                if managers.is_empty() && Grain::Hour.aligned(from) && Grain::Hour.aligned(to) {
                    format!(
                        "(SELECT * FROM {} f WHERE {} AND {} AND {} \
                         AND f.period_start >= {from_lit} AND f.period_start < {to_lit})",
                        Grain::Hour.table(),
                        class_filter(&classes),
                        scope.lead_filter(),
                        tenant_filter,
                    )
                } else {
                    Grain::Hour.sql(s, &prefilter, &leads.join(" AND "))
                }
            };
            return Ok(match kind {
                Report::Cc => cc_sql(
                    &parts(&leads),
                    &format!("date_trunc('{unit}', period_start)"),
                    &hours,
                ),
                Report::CcProfile(profile) => cc_profile_sql(profile, &parts(&leads), &hours),
                Report::CcTags | Report::CcTagHours => {
                    let key = match kind {
                        Report::CcTags => TagKey::Period(unit),
                        _ => TagKey::HourOfDay,
                    };
                    if managers.is_empty() && Grain::Tag.aligned(from) && Grain::Tag.aligned(to) {
                        let filter = format!(
                            "{} AND {} AND {} AND f.period_start >= {from_lit} \
                             AND f.period_start < {to_lit}",
                            class_filter(&classes),
                            scope.lead_filter(),
                            tenant_filter,
                        );
                        tags_sql(Grain::Tag.table(), &filter, key)
                    } else {
                        leads.push(created);
                        tags_sql(
                            &Grain::Tag.sql(s, &prefilter, &leads.join(" AND ")),
                            "TRUE",
                            key,
                        )
                    }
                }
                Report::CcManual => {
                    leads.push(created);
                    cc_manual_sql(
                        s,
                        &parts(&leads),
                        unit,
                        &format!("hour_local >= {from_lit} AND hour_local < {to_lit}"),
                    )
                }
                _ => unreachable_report(kind)?,
            });
        }
        // The daily parts: kept ones for a period of whole days (the period
        // and the lead filters on the parts' own columns), or the same SQL
        // over the period's leads with every filter inside (the pre-filter
        // reads the UTC window ±15 h, which covers every zone, its month
        // partitions, the tenants of the query).
        let (parts, filter) = if Grain::Day.aligned(from) && Grain::Day.aligned(to) {
            leads.push(format!("f.day >= {from_lit}"));
            leads.push(format!("f.day < {to_lit}"));
            leads.push(tenant_filter);
            (Grain::Day.table().to_string(), leads.join(" AND "))
        } else {
            leads.push(format!("f.created_local >= {from_lit}"));
            leads.push(format!("f.created_local < {to_lit}"));
            (
                Grain::Day.sql(s, &prefilter, &leads.join(" AND ")),
                "TRUE".to_string(),
            )
        };
        // The manager template computes every scope; the call keeps one.
        let manager = || {
            manager_report_sql(s, &parts, &from_lit, &filter)
                + &format!("\nWHERE scope = {}", quote(scope.name()))
        };
        Ok(match kind {
            Report::Manager => manager(),
            Report::Summary => {
                // One period, or one per `grain` within it (a weekly series
                // under the same filters as the period's pies).
                let period = match arg(5).as_deref() {
                    None | Some("") => from_lit.clone(),
                    Some(g @ ("day" | "week" | "month" | "quarter" | "year")) => {
                        format!("date_trunc('{g}', f.day)")
                    }
                    Some(other) => {
                        return Err(plan(format!("unknown grain `{other}`; usage: {}", usage())));
                    }
                };
                summary_sql(&parts, &period, &scope.lead_filter(), &filter, scope)
            }
            Report::BubbleProductivity => fill(BUBBLE_PRODUCTIVITY, &[("source", manager())]),
            Report::BubbleSpeed => fill(BUBBLE_SPEED, &[("source", manager())]),
            _ => unreachable_report(kind)?,
        })
    }
}

fn unreachable_report(kind: Report) -> datafusion::common::Result<String> {
    Err(DataFusionError::Internal(format!(
        "{} is rendered elsewhere",
        kind.name()
    )))
}

fn plan(msg: String) -> DataFusionError {
    DataFusionError::Plan(msg)
}

/// The arguments as text (NULL → None); only literals are accepted.
fn literal_args(kind: Report, exprs: &[Expr]) -> datafusion::common::Result<Vec<Option<String>>> {
    exprs
        .iter()
        .map(|e| match e {
            Expr::Literal(v, _) => Ok(match v {
                ScalarValue::Utf8(s) | ScalarValue::LargeUtf8(s) | ScalarValue::Utf8View(s) => {
                    s.clone()
                }
                v if v.is_null() => None,
                v => Some(v.to_string()),
            }),
            other => Err(plan(format!(
                "{} takes literal arguments, got `{other}`; usage: {}{}",
                kind.name(),
                kind.name(),
                kind.usage()
            ))),
        })
        .collect()
}

/// `YYYY-MM-DD`, `YYYY-MM-DD HH:MM[:SS]` or with a `T`.
fn parse_time(text: &str) -> std::result::Result<NaiveDateTime, String> {
    let t = text.trim();
    if let Ok(d) = NaiveDate::parse_from_str(t, "%Y-%m-%d") {
        return Ok(d.and_time(chrono::NaiveTime::MIN));
    }
    for fmt in [
        "%Y-%m-%d %H:%M:%S",
        "%Y-%m-%d %H:%M",
        "%Y-%m-%dT%H:%M:%S",
        "%Y-%m-%dT%H:%M",
    ] {
        if let Ok(v) = NaiveDateTime::parse_from_str(t, fmt) {
            return Ok(v);
        }
    }
    Err(format!(
        "`{t}` is not a date like 2025-03-01 or 2025-03-01 09:00"
    ))
}

fn ts_literal(t: NaiveDateTime) -> String {
    format!(
        "CAST({} AS TIMESTAMP)",
        quote(&t.format("%Y-%m-%dT%H:%M:%S").to_string())
    )
}

fn split_list(text: &str) -> Vec<String> {
    text.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tenant_filters_are_recognised() {
        use datafusion::prelude::{col, lit};
        assert_eq!(
            tenant_values(&col("tenant").eq(lit("okna"))),
            Some(vec!["okna".to_string()])
        );
        assert_eq!(
            tenant_values(&lit("okna").eq(col("tenant"))),
            Some(vec!["okna".to_string()])
        );
        assert_eq!(
            tenant_values(&col("tenant").in_list(vec![lit("a"), lit("b")], false)),
            Some(vec!["a".to_string(), "b".to_string()])
        );
        assert_eq!(
            tenant_values(&col("tenant").in_list(vec![lit("a")], true)),
            None
        );
        let dict = ScalarValue::Dictionary(
            Box::new(datafusion::arrow::datatypes::DataType::UInt16),
            Box::new(ScalarValue::from("okna")),
        );
        assert_eq!(
            tenant_values(&col("tenant").eq(lit(dict))),
            Some(vec!["okna".to_string()])
        );
        assert_eq!(tenant_values(&col("manager").eq(lit("okna"))), None);
        assert_eq!(tenant_values(&col("tenant").not_eq(lit("okna"))), None);
    }

    #[test]
    fn times_parse() {
        assert!(parse_time("2025-03-01").is_ok());
        assert!(parse_time("2025-03-01 09:30").is_ok());
        assert!(parse_time("01.03.2025").is_err());
    }
}
