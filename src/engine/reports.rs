//! The reports: views and parametrised table functions, all rendered from
//! the SQL in `sql/` ([`super::sql`], compiled into the binary).
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
use datafusion::prelude::SessionContext;

use super::parts::Grain;
use super::sql;
use crate::config::{BestServiceBy, ReportSettings};

// The building blocks and templates the reports render (found while
// compiling, see [`sql::at`]).
const LEAD_BASE: &str = sql::at("02_lead_base.sql");
const LEAD_FACTS: &str = sql::at("02_lead_facts.sql");
const MANAGER_REPORT: &str = sql::at("manager_report.sql");
const SUMMARY_REPORT: &str = sql::at("summary_report.sql");
const CC_REPORT: &str = sql::at("cc_report.sql");
const CC_HOUR_OF_DAY: &str = sql::at("cc_hour_of_day.sql");
const CC_DAY_OF_WEEK: &str = sql::at("cc_day_of_week.sql");
const CC_TAGS: &str = sql::at("cc_tags.sql");
const CC_MANUAL: &str = sql::at("cc_manual.sql");
pub(super) const BUBBLE_PRODUCTIVITY: &str = sql::at("bubble_productivity.sql");
pub(super) const BUBBLE_SPEED: &str = sql::at("bubble_speed.sql");
const SURVEY_DUE: &str = sql::at("survey_due.sql");

/// Period grains of the views, with their SQL `date_trunc` unit.
pub const GRAINS: [(&str, &str); 5] = [
    ("day", "day"),
    ("week", "week"),
    ("month", "month"),
    ("quarter", "quarter"),
    ("year", "year"),
];

/// Contact-centre grains: view name suffix and `date_trunc` unit.
pub(super) const CC_GRAINS: [(&str, &str); 6] = [
    ("hourly", "hour"),
    ("daily", "day"),
    ("weekly", "week"),
    ("monthly", "month"),
    ("quarterly", "quarter"),
    ("yearly", "year"),
];

/// Registers every view and table function in `ctx`, and the report parts
/// they read ([`super::parts`]; `tenant`: the catalog is one tenant's).
pub async fn register(
    ctx: &SessionContext,
    settings: &ReportSettings,
    tenant: Option<&str>,
) -> Result<()> {
    let s = Arc::new(settings.clone());
    let mut parts = false;
    for (name, sql) in sql::views() {
        // The parts read the views before the first that reads them.
        if !parts && sql.contains("report_parts_") {
            super::parts::register(ctx, settings, tenant).await?;
            parts = true;
        }
        let sql = fill(sql, &base_params(&s));
        run_keeping_views(ctx, &sql)
            .await
            .with_context(|| format!("cannot create the view in sql/{name}"))?;
    }
    if !parts {
        super::parts::register(ctx, settings, tenant).await?;
    }
    for (grain, unit) in GRAINS {
        let period = format!("date_trunc('{unit}', f.day)");
        let filter = class_filter(&s.exclude_classes);
        let parts = Grain::Day.table();
        create_view(
            ctx,
            &format!("manager_report_{grain}"),
            &manager_report_sql(&s, parts, &period, &filter),
        )
        .await?;
        create_view(
            ctx,
            &format!("summary_{grain}"),
            &summary_sql(parts, &period, "TRUE", &filter, Scope::All),
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
        create_view(
            ctx,
            &format!("cc_manual_{suffix}"),
            &cc_manual_sql(&s, "cc_hourly_parts", unit, "TRUE"),
        )
        .await?;
    }
    for profile in [Profile::HourOfDay, Profile::DayOfWeek] {
        create_view(
            ctx,
            profile.name(),
            &cc_profile_sql(profile, "cc_hourly_parts", "TRUE"),
        )
        .await?;
    }
    let default_classes = class_filter(&s.exclude_classes);
    for key in [TagKey::Day, TagKey::HourOfDay] {
        create_view(
            ctx,
            key.view(),
            &tags_sql(Grain::Tag.table(), &default_classes, key),
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

    super::table_functions::register_functions(ctx, settings);
    if let Some(dir) = &settings.views_dir {
        register_user_views(ctx, dir).await?;
    }
    Ok(())
}

/// The views of one tenant's own reports (SPEC.md §7: per-tenant reports):
/// the `*.sql` files of `views_dir/<tenant>/`, run after the shared ones,
/// in a tenant's catalog only — over its rows, invisible to every other
/// tenant and to users bound to none. A tenant without a folder has only
/// the shared views. A name a shared or built-in view already has is an
/// error (a tenant's report is its own, not a silent replacement).
pub async fn register_tenant_views(
    ctx: &SessionContext,
    settings: &ReportSettings,
    tenant: &str,
) -> Result<()> {
    let Some(dir) = &settings.views_dir else {
        return Ok(());
    };
    // A tenant id is a name, never a path: `..` or `a/b` has no folder.
    let plain =
        !tenant.is_empty() && tenant != "." && tenant != ".." && !tenant.contains(['/', '\\']);
    let folder = dir.join(tenant);
    if plain && folder.is_dir() {
        register_user_views(ctx, &folder).await?;
    }
    Ok(())
}

/// The tenants with a folder of their own in `views_dir`.
pub fn tenants_with_views(settings: &ReportSettings) -> Result<Vec<String>> {
    let Some(dir) = &settings.views_dir else {
        return Ok(Vec::new());
    };
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir)
        .with_context(|| format!("cannot read the views folder {}", dir.display()))?
    {
        let path = entry?.path();
        if path.is_dir()
            && let Some(name) = path.file_name().and_then(|n| n.to_str())
        {
            out.push(name.to_string());
        }
    }
    out.sort();
    Ok(out)
}

/// Runs every `*.sql` file of a user folder (in name order; subfolders are
/// tenants' own, see [`register_tenant_views`]): each holds `CREATE VIEW`
/// statements over the built-in tables and views.
async fn register_user_views(ctx: &SessionContext, dir: &std::path::Path) -> Result<()> {
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .with_context(|| format!("cannot read the views folder {}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_file() && p.extension().is_some_and(|e| e == "sql"))
        .collect();
    files.sort();
    for path in files {
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("cannot read {}", path.display()))?;
        for statement in sql::split_statements(&text) {
            run_keeping_views(ctx, &statement)
                .await
                .with_context(|| format!("the view file {} is not valid", path.display()))?;
        }
    }
    Ok(())
}

async fn create_view(ctx: &SessionContext, name: &str, select: &str) -> Result<()> {
    run_keeping_views(ctx, &format!("CREATE VIEW {name} AS {select}"))
        .await
        .with_context(|| format!("cannot create the view {name}"))?;
    Ok(())
}

/// Runs a statement; a `CREATE VIEW` keeps its text as written as the
/// view's definition (DataFusion keeps its own one-line rendering), so
/// `pg_get_viewdef` (psql's `\d+ view`) shows the SQL of `sql/` and of the
/// views folder with its layout and comments.
async fn run_keeping_views(ctx: &SessionContext, statement: &str) -> Result<()> {
    use datafusion::catalog::view::ViewTable;
    use datafusion::sql::sqlparser::{ast::Statement, dialect::PostgreSqlDialect, parser::Parser};
    ctx.sql(statement).await?;
    let Ok(parsed) = Parser::parse_sql(&PostgreSqlDialect {}, statement) else {
        return Ok(());
    };
    let [Statement::CreateView(view)] = parsed.as_slice() else {
        return Ok(());
    };
    let name = datafusion::sql::planner::object_name_to_table_reference(view.name.clone(), true)?;
    let table = ctx.table_provider(name.clone()).await?;
    let any: &dyn std::any::Any = table.as_ref();
    if let Some(made) = any.downcast_ref::<ViewTable>() {
        let kept = ViewTable::new(made.logical_plan().clone(), Some(statement.to_string()));
        ctx.deregister_table(name.clone())?;
        ctx.register_table(name, Arc::new(kept))?;
    }
    Ok(())
}

/// Settings every SQL file may use, and the placeholders of the building
/// blocks as the views fill them (every lead, nothing restricted).
pub(super) fn base_params(s: &ReportSettings) -> Vec<(&'static str, String)> {
    vec![
        ("short_abandon_s", format!("{:?}", s.short_abandon_seconds)),
        ("parts_filter", class_filter(&s.exclude_classes)),
        ("lead_filter", "TRUE".into()),
        ("lead_base", "lead_base".into()),
        ("lead_keys", "TRUE".into()),
    ]
}

/// The SELECT of a `CREATE VIEW name AS SELECT …` file (its header comment
/// and the `CREATE VIEW` line dropped), to inline it as a subquery.
pub(super) fn view_body<'a>(sql: &'a str, name: &str) -> &'a str {
    let head = format!("CREATE VIEW {name} AS");
    match sql.find(&head) {
        Some(at) => &sql[at + head.len()..],
        // The unit tests check every file this is called with.
        None => sql,
    }
}

/// The building blocks restricted to the leads of one period, for the table
/// functions, as parenthesised subqueries over `lead_base` with a
/// pre-filter on `leads l`. The pre-filter only narrows what is read (the
/// report's own filter decides), so the rows are those of the views.
pub struct PeriodSources {
    /// `lead_base` of the period's leads.
    pub base: String,
    /// `lead_facts` of the period's leads (manager report, summary,
    /// bubbles).
    pub facts: String,
}

pub fn period_sources(lead_filter: &str) -> PeriodSources {
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
    PeriodSources {
        base,
        facts: format!("({facts})"),
    }
}

/// Replaces `{{key}}` with values.
pub(super) fn fill<K: AsRef<str>, V: AsRef<str>>(template: &str, params: &[(K, V)]) -> String {
    let mut out = template.to_string();
    for (k, v) in params {
        out = out.replace(&format!("{{{{{}}}}}", k.as_ref()), v.as_ref());
    }
    out
}

pub(super) fn manager_report_sql(
    s: &ReportSettings,
    parts: &str,
    period: &str,
    filter: &str,
) -> String {
    let service = match s.best_service_by {
        BestServiceBy::Mean => "avg_score",
        BestServiceBy::Fair => "fair_score",
    };
    fill(
        MANAGER_REPORT,
        &[
            ("parts", parts.to_string()),
            ("period_start", period.to_string()),
            ("filter", filter.to_string()),
            ("ratio", format!("{:?}", s.outlier_ratio)),
            ("prior", format!("{:?}", s.fair_prior_weight)),
            ("service_score", service.to_string()),
            ("min_ratings", s.min_ratings.to_string()),
        ],
    )
}

pub(super) fn summary_sql(
    parts: &str,
    period: &str,
    scope_filter: &str,
    filter: &str,
    scope: Scope,
) -> String {
    let channels: Vec<String> = scope
        .channels()
        .iter()
        .map(|c| format!("({})", quote(c)))
        .collect();
    fill(
        SUMMARY_REPORT,
        &[
            ("parts", parts),
            ("period_start", period),
            ("scope_filter", scope_filter),
            ("filter", filter),
            ("channels", &channels.join(", ")),
        ],
    )
}

/// A channel scope of the reports (SPEC.md §1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Scope {
    Calls,
    Chats,
    All,
}

impl Scope {
    pub(super) fn parse(text: &str) -> Option<Scope> {
        match text {
            "calls" => Some(Scope::Calls),
            "chats" => Some(Scope::Chats),
            "all" => Some(Scope::All),
            _ => None,
        }
    }

    pub(super) fn name(self) -> &'static str {
        match self {
            Scope::Calls => "calls",
            Scope::Chats => "chats",
            Scope::All => "all",
        }
    }

    /// The channels of the scope — the same split as `lead_base.scope`
    /// (`sql/02_lead_base.sql`; a unit test keeps the two together).
    pub(super) fn channels(self) -> &'static [&'static str] {
        match self {
            Scope::Calls => &["call", "callback"],
            Scope::Chats => &["chat", "social", "messenger"],
            Scope::All => &["call", "callback", "chat", "social", "messenger"],
        }
    }

    /// The scope's condition on the leads `f` (of `lead_base`/`lead_facts`).
    pub(super) fn lead_filter(self) -> String {
        match self {
            Scope::All => "TRUE".into(),
            scope => format!("f.scope = '{}'", scope.name()),
        }
    }
}

/// The profiles of contacts over a cycle: hour of day, day of week.
#[derive(Debug, Clone, Copy)]
pub(super) enum Profile {
    HourOfDay,
    DayOfWeek,
}

impl Profile {
    pub(super) fn name(self) -> &'static str {
        match self {
            Profile::HourOfDay => "cc_hour_of_day",
            Profile::DayOfWeek => "cc_day_of_week",
        }
    }
}

pub(super) fn cc_profile_sql(profile: Profile, parts: &str, filter: &str) -> String {
    let template = match profile {
        Profile::HourOfDay => CC_HOUR_OF_DAY,
        Profile::DayOfWeek => CC_DAY_OF_WEEK,
    };
    fill(template, &[("parts", parts), ("filter", filter)])
}

/// What the tag counts are keyed by: a period (grain) or the hour of day.
#[derive(Debug, Clone, Copy)]
pub(super) enum TagKey {
    /// Periods of a `date_trunc` unit; the views use days.
    Day,
    Period(&'static str),
    HourOfDay,
}

impl TagKey {
    pub(super) fn view(self) -> &'static str {
        match self {
            TagKey::Day | TagKey::Period(_) => "cc_tags",
            TagKey::HourOfDay => "cc_tag_hours",
        }
    }
}

/// The tag counts: the tag parts (the kept table, or a period's), the
/// filter on them, and the key.
pub(super) fn tags_sql(parts: &str, filter: &str, key: TagKey) -> String {
    let (key, key_name) = match key {
        TagKey::Day => (
            "date_trunc('day', f.period_start)".to_string(),
            "period_start",
        ),
        TagKey::Period(unit) => (
            format!("date_trunc('{unit}', f.period_start)"),
            "period_start",
        ),
        TagKey::HourOfDay => (
            "CAST(date_part('hour', f.period_start) AS INT)".to_string(),
            "hour_of_day",
        ),
    };
    fill(
        CC_TAGS,
        &[
            ("parts", parts),
            ("filter", filter),
            ("key", &key),
            ("key_name", key_name),
        ],
    )
}

/// The supervisors' figures rolled up to periods of `unit` beside the
/// automatic figures of `parts`; `manual_filter` on `hour_local`.
pub(super) fn cc_manual_sql(
    s: &ReportSettings,
    parts: &str,
    unit: &str,
    manual_filter: &str,
) -> String {
    let levels: Vec<String> = s
        .manual_last_value_metrics
        .iter()
        .map(|m| quote(m))
        .collect();
    // `IN ()` is not SQL: no level metrics is a list no metric matches.
    let levels = if levels.is_empty() {
        "NULL".to_string()
    } else {
        levels.join(", ")
    };
    fill(
        CC_MANUAL,
        &[
            ("unit", unit),
            ("parts", parts),
            ("manual_filter", manual_filter),
            ("last_metrics", &levels),
        ],
    )
}

pub(super) fn cc_sql(parts: &str, bucket: &str, filter: &str) -> String {
    fill(
        CC_REPORT,
        &[("parts", parts), ("bucket", bucket), ("filter", filter)],
    )
}

pub(super) fn survey_sql(s: &ReportSettings, now: &str) -> String {
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
pub(super) fn class_filter(classes: &[String]) -> String {
    if classes.is_empty() {
        return "TRUE".into();
    }
    let list: Vec<String> = classes.iter().map(|c| quote(c)).collect();
    format!("(f.class IS NULL OR f.class NOT IN ({}))", list.join(", "))
}

/// A SQL string literal.
pub(super) fn quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
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

    /// A tenant id never walks out of the views folder.
    #[tokio::test]
    async fn a_tenant_id_is_not_a_path() {
        let dir = tempfile::tempdir().unwrap();
        let views = dir.path().join("views");
        std::fs::create_dir_all(views.join("okna")).unwrap();
        // The parent holds a file that would fail if it were run.
        std::fs::write(
            dir.path().join("evil.sql"),
            "CREATE VIEW x AS SELECT * FROM nowhere;",
        )
        .unwrap();
        std::fs::write(
            views.join("okna").join("mine.sql"),
            "CREATE VIEW mine AS SELECT 1 AS one;",
        )
        .unwrap();
        let settings = ReportSettings {
            views_dir: Some(views),
            ..Default::default()
        };
        let ctx = SessionContext::new();
        for tenant in ["..", ".", "../views/okna", ""] {
            register_tenant_views(&ctx, &settings, tenant)
                .await
                .unwrap();
        }
        assert!(ctx.table_provider("mine").await.is_err());
        register_tenant_views(&ctx, &settings, "okna")
            .await
            .unwrap();
        assert!(ctx.table_provider("mine").await.is_ok());
    }

    #[test]
    fn scopes_have_the_channels_of_lead_base() {
        for scope in [Scope::Calls, Scope::Chats] {
            let list: Vec<String> = scope.channels().iter().map(|c| quote(c)).collect();
            let case = format!("l.channel IN ({}) THEN '{}'", list.join(", "), scope.name());
            assert!(LEAD_BASE.contains(&case), "{case}");
        }
        let mut both = Scope::Calls.channels().to_vec();
        both.extend(Scope::Chats.channels());
        assert_eq!(both, Scope::All.channels());
    }

    #[test]
    fn inlined_views_have_their_header() {
        for (sql, name) in [(LEAD_BASE, "lead_base"), (LEAD_FACTS, "lead_facts")] {
            let body = view_body(sql, name);
            assert!(
                body.len() < sql.len() && !body.contains("CREATE VIEW"),
                "{name}"
            );
        }
    }
}
