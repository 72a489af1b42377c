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

use std::sync::Arc;

use anyhow::{Context, Result, bail};
use chrono::{NaiveDate, NaiveDateTime};
use datafusion::catalog::{TableFunctionArgs, TableFunctionImpl, TableProvider, view::ViewTable};
use datafusion::common::{DataFusionError, ScalarValue, plan_err};
use datafusion::execution::context::SessionState;
use datafusion::logical_expr::Expr;
use datafusion::prelude::SessionContext;

use crate::config::{BestServiceBy, ReportSettings};

/// The SQL files of `sql/`, compiled in.
pub const SQL_FILES: &[(&str, &str)] = &[
    (
        "01_ratings_effective.sql",
        include_str!("../../sql/01_ratings_effective.sql"),
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
            &manager_report_sql(&s, &period, &filter),
        )
        .await?;
        create_view(
            ctx,
            &format!("summary_{grain}"),
            &summary_sql(&period, "TRUE", &filter),
        )
        .await?;
    }
    for (suffix, unit) in CC_GRAINS {
        let bucket = format!("date_trunc('{unit}', period_start)");
        create_view(ctx, &format!("cc_{suffix}"), &cc_sql(&bucket, "TRUE")).await?;
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

/// Settings every SQL file may use.
fn base_params(s: &ReportSettings) -> Vec<(&'static str, String)> {
    vec![
        ("short_abandon_s", format!("{:?}", s.short_abandon_seconds)),
        ("class_filter", class_filter(&s.exclude_classes)),
    ]
}

/// Replaces `{{key}}` with values.
fn fill<K: AsRef<str>, V: AsRef<str>>(template: &str, params: &[(K, V)]) -> String {
    let mut out = template.to_string();
    for (k, v) in params {
        out = out.replace(&format!("{{{{{}}}}}", k.as_ref()), v.as_ref());
    }
    out
}

fn manager_report_sql(s: &ReportSettings, period: &str, filter: &str) -> String {
    let service = match s.best_service_by {
        BestServiceBy::Mean => "avg_score",
        BestServiceBy::Fair => "fair_score",
    };
    fill(
        MANAGER_REPORT,
        &[
            ("period_start", period.to_string()),
            ("filter", filter.to_string()),
            ("ratio", format!("{:?}", s.outlier_ratio)),
            ("prior", format!("{:?}", s.fair_prior_weight)),
            ("service_score", service.to_string()),
            ("min_ratings", s.min_ratings.to_string()),
        ],
    )
}

fn summary_sql(period: &str, scope_filter: &str, filter: &str) -> String {
    fill(
        SUMMARY_REPORT,
        &[
            ("period_start", period),
            ("scope_filter", scope_filter),
            ("filter", filter),
        ],
    )
}

fn cc_sql(bucket: &str, filter: &str) -> String {
    fill(CC_REPORT, &[("bucket", bucket), ("filter", filter)])
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
#[derive(Debug)]
struct ReportFunction {
    kind: Report,
    settings: Arc<ReportSettings>,
}

impl TableFunctionImpl for ReportFunction {
    fn call_with_args(
        &self,
        args: TableFunctionArgs,
    ) -> datafusion::common::Result<Arc<dyn TableProvider>> {
        let texts = literal_args(self.kind, args.exprs())?;
        let sql = self.render(&texts)?;
        let Some(state) = args.session().as_any().downcast_ref::<SessionState>() else {
            return plan_err!("{} needs an OKO session", self.kind.name());
        };
        let plan = futures::executor::block_on(state.create_logical_plan(&sql))?;
        Ok(Arc::new(ViewTable::new(plan, Some(sql))))
    }
}

impl ReportFunction {
    fn render(&self, args: &[Option<String>]) -> datafusion::common::Result<String> {
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
            return Ok(cc_sql(&bucket, &filter));
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
        // Local bounds; the UTC pre-filter (±15 h covers every zone) and the
        // month partitions let the scan skip everything else.
        let margin = chrono::Duration::hours(15);
        let utc_from = from - margin;
        let utc_to = to + margin;
        let mut filter = vec![
            format!("f.created_local >= {from_lit}"),
            format!("f.created_local < {to_lit}"),
            format!(
                "f.created_at >= {}",
                quote(&format!("{}Z", utc_from.format("%Y-%m-%dT%H:%M:%S")))
            ),
            format!(
                "f.created_at < {}",
                quote(&format!("{}Z", utc_to.format("%Y-%m-%dT%H:%M:%S")))
            ),
            format!(
                "f.created_month >= {}",
                quote(&utc_from.format("%Y-%m").to_string())
            ),
            format!(
                "f.created_month <= {}",
                quote(&utc_to.format("%Y-%m").to_string())
            ),
            class_filter(&classes),
        ];
        if !managers.is_empty() {
            let list: Vec<String> = managers.iter().map(|m| quote(m)).collect();
            filter.push(format!("f.manager IN ({})", list.join(", ")));
        }
        let filter = filter.join(" AND ");
        // The manager template computes every scope; the call keeps one.
        let manager = || {
            manager_report_sql(s, &from_lit, &filter)
                + &format!("\nWHERE scope = {}", quote(&scope))
        };
        Ok(match kind {
            Report::Manager => manager(),
            Report::Summary => summary_sql(&from_lit, &scope_filter, &filter),
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
    fn times_parse() {
        assert!(parse_time("2025-03-01").is_ok());
        assert!(parse_time("2025-03-01 09:30").is_ok());
        assert!(parse_time("01.03.2025").is_err());
    }
}
