//! The reports: views and parametrised table functions, all rendered from
//! the SQL in `sql/` (compiled into the binary).
//!
//! Two kinds of files live there:
//! - `NN_name.sql`: a `CREATE VIEW` run as it is (after settings are filled
//!   in), in file-name order;
//! - `name.sql` without a number: a *template*, a SELECT with
//!   `{{placeholders}}`. Each template is rendered twice over: into views
//!   (one per period grain, default filters) and into a table function
//!   whose arguments fill the same placeholders. A view and a call with the
//!   same filter therefore run the same SQL and cannot disagree.
//!
//! Rust here only fills placeholders and checks arguments; every number is
//! computed by the SQL and the functions of `oko-udfs`.

use std::sync::{Arc, OnceLock};

use anyhow::{Context, Result, bail};
use chrono::{NaiveDate, NaiveDateTime};
use datafusion::arrow::datatypes::{Schema, SchemaRef};
use datafusion::catalog::{
    Session, TableFunctionArgs, TableFunctionImpl, TableProvider, view::ViewTable,
};
use datafusion::common::tree_node::TreeNodeRecursion;
use datafusion::common::{DataFusionError, ScalarValue, plan_err};
use datafusion::execution::context::SessionState;
use datafusion::execution::{SendableRecordBatchStream, TaskContext};
use datafusion::logical_expr::{Expr, Operator, TableProviderFilterPushDown, TableType};
use datafusion::physical_expr::PhysicalExpr;
use datafusion::physical_plan::display::DisplayableExecutionPlan;
use datafusion::physical_plan::{DisplayAs, DisplayFormatType, ExecutionPlan, PlanProperties};
use datafusion::prelude::SessionContext;

use crate::config::{BestServiceBy, ReportSettings};

/// The SQL files of `sql/`, compiled in.
pub const SQL_FILES: &[(&str, &str)] = &[
    (
        "01_ratings_effective.sql",
        include_str!("../../sql/01_ratings_effective.sql"),
    ),
    (
        "02_lead_base.sql",
        include_str!("../../sql/02_lead_base.sql"),
    ),
    (
        "02_lead_facts.sql",
        include_str!("../../sql/02_lead_facts.sql"),
    ),
    (
        "03_cc_hourly_parts.sql",
        include_str!("../../sql/03_cc_hourly_parts.sql"),
    ),
    (
        "10_ratings_to_moderate.sql",
        include_str!("../../sql/10_ratings_to_moderate.sql"),
    ),
    (
        "11_moderation_history.sql",
        include_str!("../../sql/11_moderation_history.sql"),
    ),
    ("12_cc_tags.sql", include_str!("../../sql/12_cc_tags.sql")),
    (
        "13_cc_hour_of_day.sql",
        include_str!("../../sql/13_cc_hour_of_day.sql"),
    ),
    (
        "14_cc_day_of_week.sql",
        include_str!("../../sql/14_cc_day_of_week.sql"),
    ),
    (
        "15_cc_manual_beside_auto.sql",
        include_str!("../../sql/15_cc_manual_beside_auto.sql"),
    ),
];

const LEAD_BASE: &str = include_str!("../../sql/02_lead_base.sql");
const LEAD_FACTS: &str = include_str!("../../sql/02_lead_facts.sql");
const CC_HOURLY_PARTS: &str = include_str!("../../sql/03_cc_hourly_parts.sql");
const MANAGER_REPORT: &str = include_str!("../../sql/manager_report.sql");
const SUMMARY_REPORT: &str = include_str!("../../sql/summary_report.sql");
const CC_REPORT: &str = include_str!("../../sql/cc_report.sql");
const BUBBLE_PRODUCTIVITY: &str = include_str!("../../sql/bubble_productivity.sql");
const BUBBLE_SPEED: &str = include_str!("../../sql/bubble_speed.sql");
const SURVEY_DUE: &str = include_str!("../../sql/survey_due.sql");

/// Period grains of the views, with their SQL `date_trunc` unit.
pub const GRAINS: [(&str, &str); 5] = [
    ("day", "day"),
    ("week", "week"),
    ("month", "month"),
    ("quarter", "quarter"),
    ("year", "year"),
];

/// Contact-centre grains: view name suffix and `date_trunc` unit.
const CC_GRAINS: [(&str, &str); 6] = [
    ("hourly", "hour"),
    ("daily", "day"),
    ("weekly", "week"),
    ("monthly", "month"),
    ("quarterly", "quarter"),
    ("yearly", "year"),
];

/// Registers every view and table function in `ctx`.
pub async fn register(ctx: &SessionContext, settings: &ReportSettings) -> Result<()> {
    let s = Arc::new(settings.clone());
    for (name, sql) in SQL_FILES {
        let sql = fill(sql, &base_params(&s));
        ctx.sql(&sql)
            .await
            .with_context(|| format!("cannot create the view in sql/{name}"))?;
    }
    for (grain, unit) in GRAINS {
        let period = format!("date_trunc('{unit}', f.created_local)");
        let filter = class_filter(&s.exclude_classes);
        create_view(
            ctx,
            &format!("manager_report_{grain}"),
            &manager_report_sql(&s, "lead_facts", &period, &filter),
        )
        .await?;
        create_view(
            ctx,
            &format!("summary_{grain}"),
            &summary_sql("lead_facts", &period, "TRUE", &filter),
        )
        .await?;
    }
    for (suffix, unit) in CC_GRAINS {
        let bucket = format!("date_trunc('{unit}', period_start)");
        create_view(
            ctx,
            &format!("cc_{suffix}"),
            &cc_sql("cc_hourly_parts", &bucket, "TRUE"),
        )
        .await?;
    }
    create_view(
        ctx,
        "bubble_productivity_month",
        &fill(
            BUBBLE_PRODUCTIVITY,
            &[("source", "SELECT * FROM manager_report_month")],
        ),
    )
    .await?;
    create_view(
        ctx,
        "bubble_speed_month",
        &fill(
            BUBBLE_SPEED,
            &[("source", "SELECT * FROM manager_report_month")],
        ),
    )
    .await?;
    create_view(ctx, "survey_due_now", &survey_sql(&s, "now()")).await?;

    register_functions(ctx, settings);
    if let Some(dir) = &settings.views_dir {
        register_user_views(ctx, dir).await?;
    }
    Ok(())
}

/// Registers the parametrised reports (table functions) in `ctx`; they plan
/// their SQL against whatever session calls them.
pub fn register_functions(ctx: &SessionContext, settings: &ReportSettings) {
    let s = Arc::new(settings.clone());
    for kind in [
        Report::Manager,
        Report::Summary,
        Report::Cc,
        Report::BubbleProductivity,
        Report::BubbleSpeed,
        Report::SurveyDue,
    ] {
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

/// Runs every `*.sql` file of a user folder (in name order): each holds
/// `CREATE VIEW` statements over the built-in tables and views.
async fn register_user_views(ctx: &SessionContext, dir: &std::path::Path) -> Result<()> {
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .with_context(|| format!("cannot read the views folder {}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "sql"))
        .collect();
    files.sort();
    for path in files {
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("cannot read {}", path.display()))?;
        for statement in crate::cli::split_statements(&text) {
            ctx.sql(&statement)
                .await
                .with_context(|| format!("the view file {} is not valid", path.display()))?;
        }
    }
    Ok(())
}

async fn create_view(ctx: &SessionContext, name: &str, select: &str) -> Result<()> {
    ctx.sql(&format!("CREATE VIEW {name} AS {select}"))
        .await
        .with_context(|| format!("cannot create the view {name}"))?;
    Ok(())
}

/// Settings every SQL file may use, and the placeholders of the building
/// blocks as the views fill them (every lead, nothing restricted).
fn base_params(s: &ReportSettings) -> Vec<(&'static str, String)> {
    vec![
        ("short_abandon_s", format!("{:?}", s.short_abandon_seconds)),
        ("class_filter", class_filter(&s.exclude_classes)),
        ("lead_filter", "TRUE".into()),
        ("lead_base", "lead_base".into()),
        ("lead_keys", "TRUE".into()),
    ]
}

/// The SELECT of a `CREATE VIEW name AS SELECT …` file (its header comment
/// and the `CREATE VIEW` line dropped), to inline it as a subquery.
fn view_body<'a>(sql: &'a str, name: &str) -> &'a str {
    let head = format!("CREATE VIEW {name} AS");
    match sql.find(&head) {
        Some(at) => &sql[at + head.len()..],
        // The unit tests check every file this is called with.
        None => sql,
    }
}

/// The building blocks restricted to the leads of one period, for the table
/// functions, as parenthesised subqueries: `lead_facts` (manager report,
/// summary, bubbles) and `cc_hourly_parts` (cc_report), both over
/// `lead_base` with a pre-filter on `leads l`. The pre-filter only narrows
/// what is read (the report's own filter decides), so the rows are those of
/// the views.
struct PeriodSources {
    facts: String,
    parts: String,
}

fn period_sources(s: &ReportSettings, lead_filter: &str) -> PeriodSources {
    let base = format!(
        "({})",
        fill(
            view_body(LEAD_BASE, "lead_base"),
            &[("lead_filter", lead_filter)]
        )
    );
    let facts = fill(
        view_body(LEAD_FACTS, "lead_facts"),
        &[
            ("lead_base", base.as_str()),
            // The requests and ratings of these leads only: a semi-join whose
            // keys DataFusion also pushes into the scans as a dynamic filter.
            ("lead_keys", "lead_id IN (SELECT lead_id FROM b)"),
        ],
    );
    let parts = fill(
        &fill(
            view_body(CC_HOURLY_PARTS, "cc_hourly_parts"),
            &[("lead_base", base.as_str())],
        ),
        &base_params(s),
    );
    PeriodSources {
        facts: format!("({facts})"),
        parts: format!("({parts})"),
    }
}

/// The pre-filter on `leads l` for a period `[from, to)` on the tenants'
/// wall clocks: the UTC window widened by 15 h (every zone is within it),
/// the month partitions of that window and, when the query names them,
/// the tenants.
fn lead_prefilter(from: NaiveDateTime, to: NaiveDateTime, tenants: Option<&[String]>) -> String {
    let margin = chrono::Duration::hours(15);
    let utc_from = from - margin;
    let utc_to = to + margin;
    let mut filter = vec![
        format!(
            "l.created_at >= {}",
            quote(&format!("{}Z", utc_from.format("%Y-%m-%dT%H:%M:%S")))
        ),
        format!(
            "l.created_at < {}",
            quote(&format!("{}Z", utc_to.format("%Y-%m-%dT%H:%M:%S")))
        ),
        format!(
            "l.created_month >= {}",
            quote(&utc_from.format("%Y-%m").to_string())
        ),
        format!(
            "l.created_month <= {}",
            quote(&utc_to.format("%Y-%m").to_string())
        ),
    ];
    if let Some(tenants) = tenants {
        let list: Vec<String> = tenants.iter().map(|t| quote(t)).collect();
        filter.push(if list.is_empty() {
            "FALSE".to_string()
        } else {
            format!("l.tenant IN ({})", list.join(", "))
        });
    }
    filter.join(" AND ")
}

/// Replaces `{{key}}` with values.
fn fill<K: AsRef<str>, V: AsRef<str>>(template: &str, params: &[(K, V)]) -> String {
    let mut out = template.to_string();
    for (k, v) in params {
        out = out.replace(&format!("{{{{{}}}}}", k.as_ref()), v.as_ref());
    }
    out
}

fn manager_report_sql(s: &ReportSettings, facts: &str, period: &str, filter: &str) -> String {
    let service = match s.best_service_by {
        BestServiceBy::Mean => "avg_score",
        BestServiceBy::Fair => "fair_score",
    };
    fill(
        MANAGER_REPORT,
        &[
            ("facts", facts.to_string()),
            ("period_start", period.to_string()),
            ("filter", filter.to_string()),
            ("ratio", format!("{:?}", s.outlier_ratio)),
            ("prior", format!("{:?}", s.fair_prior_weight)),
            ("service_score", service.to_string()),
            ("min_ratings", s.min_ratings.to_string()),
        ],
    )
}

fn summary_sql(facts: &str, period: &str, scope_filter: &str, filter: &str) -> String {
    fill(
        SUMMARY_REPORT,
        &[
            ("facts", facts),
            ("period_start", period),
            ("scope_filter", scope_filter),
            ("filter", filter),
        ],
    )
}

fn cc_sql(parts: &str, bucket: &str, filter: &str) -> String {
    fill(
        CC_REPORT,
        &[("parts", parts), ("bucket", bucket), ("filter", filter)],
    )
}

fn survey_sql(s: &ReportSettings, now: &str) -> String {
    fill(
        SURVEY_DUE,
        &[
            ("now", now.to_string()),
            ("now_us", format!("(to_unixtime({now}) * 1000000)")),
            ("lookback_hours", s.survey_lookback_hours.to_string()),
        ],
    )
}

/// `(f.class IS NULL OR f.class NOT IN (...))`: exact match; a lead with no
/// class is never excluded.
fn class_filter(classes: &[String]) -> String {
    if classes.is_empty() {
        return "TRUE".into();
    }
    let list: Vec<String> = classes.iter().map(|c| quote(c)).collect();
    format!("(f.class IS NULL OR f.class NOT IN ({}))", list.join(", "))
}

/// A SQL string literal.
fn quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

/// The parametrised reports.
#[derive(Debug, Clone, Copy)]
enum Report {
    Manager,
    Summary,
    Cc,
    BubbleProductivity,
    BubbleSpeed,
    SurveyDue,
}

impl Report {
    fn name(self) -> &'static str {
        match self {
            Report::Manager => "manager_report",
            Report::Summary => "summary_report",
            Report::Cc => "cc_report",
            Report::BubbleProductivity => "bubble_productivity",
            Report::BubbleSpeed => "bubble_speed",
            Report::SurveyDue => "survey_due",
        }
    }

    fn usage(self) -> &'static str {
        match self {
            Report::Manager
            | Report::Summary
            | Report::BubbleProductivity
            | Report::BubbleSpeed => {
                "(from, to [, scope 'calls'|'chats'|'all' [, exclude_classes 'A,B' [, managers 'm1,m2']]]) \
                 with from/to as 'YYYY-MM-DD[ HH:MM[:SS]]' on each tenant's wall clock"
            }
            Report::Cc => {
                "(from, to [, grain 'hour'|'day'|'week'|'month'|'quarter'|'year']) \
                 with from/to as 'YYYY-MM-DD[ HH:MM[:SS]]' on each tenant's wall clock"
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
            let plan = futures::executor::block_on(state.create_logical_plan(&sql))?;
            return Ok(Arc::new(ViewTable::new(plan, Some(sql))));
        }
        let schema = match self.schema.get() {
            Some(schema) => schema.clone(),
            None => {
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
        // Tenants every filter allows (filters are ANDed).
        let mut tenants: Option<Vec<String>> = None;
        for values in filters.iter().filter_map(tenant_values) {
            tenants = Some(match tenants {
                None => values,
                Some(t) => t.into_iter().filter(|v| values.contains(v)).collect(),
            });
        }
        let sql = self.function.render(&self.args, tenants.as_deref())?;
        let Some(state) = state.as_any().downcast_ref::<SessionState>() else {
            return plan_err!("{} needs an OKO session", self.function.kind.name());
        };
        let mut state = state.clone();
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
        Ok(Arc::new(ReportExec {
            name: self.function.kind.name(),
            properties: input.properties().clone(),
            input,
        }))
    }
}

/// The physical plan of a report call, already optimised. It shows the
/// query's optimiser no children: a second pass of the physical optimiser
/// over a plan whose joins carry dynamic filters would try to reorder them
/// (DataFusion refuses that with an internal error). EXPLAIN [ANALYZE]
/// prints the plan inside.
#[derive(Debug)]
struct ReportExec {
    name: &'static str,
    input: Arc<dyn ExecutionPlan>,
    properties: Arc<PlanProperties>,
}

impl DisplayAs for ReportExec {
    fn fmt_as(&self, t: DisplayFormatType, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        write!(f, "ReportExec: {}, planned separately:", self.name)?;
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
        self.input.execute(partition, context)
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
        if let Report::Cc = kind {
            let unit = match arg(2).as_deref().unwrap_or("day") {
                g @ ("hour" | "day" | "week" | "month" | "quarter" | "year") => g.to_string(),
                other => {
                    return Err(plan(format!("unknown grain `{other}`; usage: {}", usage())));
                }
            };
            let bucket = format!("date_trunc('{unit}', period_start)");
            let filter = format!("period_start >= {from_lit} AND period_start < {to_lit}");
            let sources = period_sources(s, &lead_prefilter(from, to, tenants));
            return Ok(cc_sql(&sources.parts, &bucket, &filter));
        }
        let scope = arg(2).unwrap_or_else(|| "all".into());
        let scope_filter = match scope.as_str() {
            "all" => "TRUE".to_string(),
            "calls" | "chats" => format!("f.scope = '{scope}'"),
            other => {
                return Err(plan(format!(
                    "unknown scope `{other}`: use calls, chats or all"
                )));
            }
        };
        let classes = match arg(3) {
            Some(list) => split_list(&list),
            None => s.exclude_classes.clone(),
        };
        let managers = arg(4).map(|l| split_list(&l)).unwrap_or_default();
        // Local bounds; the leads read are pre-filtered in the sources (the
        // UTC window ±15 h, which covers every zone, its month partitions,
        // the tenants of the query).
        let mut filter = vec![
            format!("f.created_local >= {from_lit}"),
            format!("f.created_local < {to_lit}"),
            class_filter(&classes),
        ];
        if !managers.is_empty() {
            let list: Vec<String> = managers.iter().map(|m| quote(m)).collect();
            filter.push(format!("f.manager IN ({})", list.join(", ")));
        }
        let filter = filter.join(" AND ");
        let sources = period_sources(s, &lead_prefilter(from, to, tenants));
        // The manager template computes every scope; the call keeps one.
        let manager = || {
            manager_report_sql(s, &sources.facts, &from_lit, &filter)
                + &format!("\nWHERE scope = {}", quote(&scope))
        };
        Ok(match kind {
            Report::Manager => manager(),
            Report::Summary => summary_sql(&sources.facts, &from_lit, &scope_filter, &filter),
            Report::BubbleProductivity => fill(BUBBLE_PRODUCTIVITY, &[("source", manager())]),
            Report::BubbleSpeed => fill(BUBBLE_SPEED, &[("source", manager())]),
            Report::Cc | Report::SurveyDue => unreachable_report(kind)?,
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

/// Checks the settings before anything is registered.
pub fn check_settings(s: &ReportSettings) -> Result<()> {
    if !(s.outlier_ratio > 0.0 && s.outlier_ratio <= 1.0) {
        bail!(
            "reports.outlier_ratio must be in (0, 1], got {}",
            s.outlier_ratio
        );
    }
    if s.fair_prior_weight < 0.0 {
        bail!("reports.fair_prior_weight must not be negative");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_are_filled() {
        assert_eq!(fill("a {{x}} b {{x}}", &[("x", "1")]), "a 1 b 1");
    }

    #[test]
    fn classes_are_quoted() {
        assert_eq!(
            class_filter(&["Спам".into(), "it's".into()]),
            "(f.class IS NULL OR f.class NOT IN ('Спам', 'it''s'))"
        );
        assert_eq!(class_filter(&[]), "TRUE");
    }

    #[test]
    fn inlined_views_have_their_header() {
        for (sql, name) in [
            (LEAD_BASE, "lead_base"),
            (LEAD_FACTS, "lead_facts"),
            (CC_HOURLY_PARTS, "cc_hourly_parts"),
        ] {
            let body = view_body(sql, name);
            assert!(
                body.len() < sql.len() && !body.contains("CREATE VIEW"),
                "{name}"
            );
        }
    }

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
