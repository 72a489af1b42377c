//! Scheduled delivery: `oko serve` sends a tenant's report on a schedule —
//! every hour, day or week on the tenant's clock — as CSV, JSON or XLSX,
//! to a webhook or as a file under a folder of the store.
//!
//! ```toml
//! [[deliver]]
//! name = "alpha-managers"        # letters, digits, - and _
//! tenant = "alpha"               # the report is made of this tenant's rows only
//! report = "manager_report"      # a report table function or view …
//! args = ["calls"]               # … its arguments after the period
//! schedule = "daily 08:00"       # hourly | hourly :MM | daily HH:MM | weekly <day> HH:MM
//! format = "csv"                 # csv (default) | json | xlsx
//! webhook = "https://example.org/oko"   # POSTed here …
//!
//! [[deliver]]
//! name = "alpha-due-hourly"
//! tenant = "alpha"
//! sql = "SELECT * FROM cc_report('{{period_start}}', '{{period_end}}', 'hour') ORDER BY 2, 3"
//! schedule = "hourly :05"
//! prefix = "deliveries/alpha/"   # … or written under this folder of the store
//! ```
//!
//! **The period.** Each run delivers the schedule's last completed period
//! on the tenant's wall clock (`tenants.timezone`; see [`schedule`] for
//! DST days): `hourly` the previous hour, `daily` yesterday, `weekly` the
//! last ISO week (Monday to Monday). A run is due at its time — `hourly
//! :MM` MM minutes after the hour, `daily HH:MM` at HH:MM the next day,
//! `weekly <day> HH:MM` on that weekday after the week — so late data of
//! the period has that long to arrive.
//!
//! **What runs.** `report` names a report: a table function of a period
//! (`manager_report`, `summary_report`, `cc_report`, `cc_tags`, … — every
//! one but `survey_due`, [`crate::engine::table_functions::period_reports`]) is called as `name('<period_start>', '<period_end>',
//! args…)`; a view with a `period_start` column gives its rows of the
//! period (`manager_report_day` daily); any other view is sent whole
//! (`ratings_to_moderate`). `sql` is one query of your own, in which
//! `{{period_start}}` and `{{period_end}}` become `YYYY-MM-DD HH:MM:SS` on
//! the tenant's clock (`[start, end)`, write the quotes yourself) and
//! `{{tenant}}` the tenant; `args` may use them too. The query runs **as the
//! tenant**: in the catalog a user bound to that tenant gets
//! ([`crate::live::tenant`]), read-only, so no delivery of one tenant can
//! hold another tenant's rows, whatever its SQL.
//!
//! **Targets.** `webhook`: the file is POSTed with its `Content-Type`
//! (`text/csv; charset=utf-8`, `application/json`, the XLSX type) and
//! headers `X-OKO-Delivery`, `X-OKO-Tenant`, `X-OKO-Report`,
//! `X-OKO-Period-Start`, `X-OKO-Period-End` and a `Content-Disposition`
//! file name; any 2xx accepts it. `prefix`: the file is put at
//! `<prefix><tenant>_<report>_<period>.<ext>` in the store (`<report>` is
//! the entry's name for `sql`; `<period>` `2025-03-30T08`, `2025-03-30`
//! or `2025-W13`); an object-store put is atomic, so a reader never sees
//! half a file. A prefix is a relative folder outside the tables (not a
//! table's name, not `_…`).
//!
//! **At least once.** An entry's position — the last period its target
//! accepted — is kept in the store (`_oko/deliver/<name>.json`) and moves
//! only after the target accepted; a crash between the two sends that
//! period again. A failing target (or query) is retried with a growing
//! pause (2 s, 4 s … at most 5 minutes, [`crate::notify::webhook`]) and
//! logged; the periods wait in order, nothing is skipped, the server never
//! stops for it. After a restart the periods that fell due meanwhile are
//! caught up, oldest first, at most [`MAX_CATCH_UP`] (48) per entry: older
//! ones are passed over with a warning. A new entry (or one whose tenant
//! or schedule was changed) starts with the latest due period, not history.
//!
//! The configuration is checked when the server starts: a bad name,
//! schedule, format, target, placeholder or SQL, and a report that is no
//! report, stop it with a message that says which entry and why.

pub mod position;
pub mod render;
pub mod schedule;

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result, anyhow, bail, ensure};
use chrono::{DateTime, NaiveDateTime, Utc};
use chrono_tz::Tz;
use datafusion::arrow::array::AsArray;
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::DataType;
use datafusion::datasource::TableType;
use datafusion::prelude::{SessionContext, col, lit};
use datafusion::sql::sqlparser::ast::Statement;
use futures::future::BoxFuture;
use object_store::ObjectStore;
use object_store::ObjectStoreExt;

use crate::config::Delivery;
use crate::lease::Lease;
use crate::notify::webhook;

use position::*;
use render::{About, Format};
pub use schedule::{Clock, Every, Period, Schedule, SystemClock};

/// Periods one entry catches up at most after an outage (two days of an
/// hourly report, seven weeks of a daily one); older ones are passed over.
pub const MAX_CATCH_UP: usize = 48;
/// The longest a delivery's query may run.
const QUERY_TIMEOUT: Duration = Duration::from_secs(300);
/// The longest a post may take (a big XLSX to a slow receiver).
const POST_TIMEOUT: Duration = Duration::from_secs(60);
/// How long a tenant's time zone is trusted before it is read again.
const ZONE_TTL: chrono::Duration = chrono::Duration::minutes(10);

/// How a stored position writes a wall-clock time.
const STAMP: &str = "%Y-%m-%dT%H:%M:%S";

/// The report table functions that take a period (`from`, `to`) first,
/// as a list for messages.
fn period_functions() -> String {
    crate::engine::table_functions::period_reports()
        .collect::<Vec<_>>()
        .join(", ")
}

/// Opens a session bound to one tenant, as a read-only user of that tenant
/// sees the catalog (the server gives its own, see
/// `crate::server::serve::delivery_sessions`).
pub type TenantSessions =
    Arc<dyn Fn(String) -> BoxFuture<'static, Result<SessionContext>> + Send + Sync>;

/// Where an entry's file goes.
#[derive(Debug, Clone)]
enum Target {
    Webhook(String),
    /// A folder of the store, ending in `/`.
    Prefix(String),
}

/// What an entry runs.
#[derive(Debug, Clone)]
enum Query {
    /// A table function of a period, with the arguments after it.
    Function(String, Vec<String>),
    /// A view (filtered to the period when it has `period_start`).
    View(String),
    Sql(String),
}

/// One checked `[[deliver]]` entry.
#[derive(Debug, Clone)]
struct Plan {
    name: String,
    tenant: String,
    query: Query,
    schedule: Schedule,
    format: Format,
    target: Target,
}

impl Plan {
    fn from_config(d: &Delivery) -> Result<Plan> {
        let what = format!("[[deliver]] {:?}", d.name);
        let plan = (|| -> Result<Plan> {
            if d.name.is_empty()
                || !d
                    .name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
            {
                bail!("a name is letters, digits, '-' and '_'");
            }
            ensure!(!d.tenant.trim().is_empty(), "tenant is required");
            let query = match (&d.report, &d.sql) {
                (Some(_), Some(_)) => bail!("give report or sql, not both"),
                (None, None) => bail!("give a report (with its args) or sql"),
                (None, Some(sql)) => {
                    ensure!(d.args.is_empty(), "args go with a report, not with sql");
                    Query::Sql(sql.clone())
                }
                (Some(r), None) => {
                    let r = r.trim().to_ascii_lowercase();
                    if crate::engine::table_functions::period_reports().any(|f| f == r) {
                        Query::Function(r, d.args.clone())
                    } else {
                        ensure!(
                            d.args.is_empty(),
                            "report {r:?} takes no args (only the table functions {} do)",
                            period_functions()
                        );
                        Query::View(r)
                    }
                }
            };
            let schedule = Schedule::parse(&d.schedule)?;
            let format = Format::parse(&d.format)?;
            let target = match (&d.webhook, &d.prefix) {
                (Some(_), Some(_)) => bail!("give webhook or prefix, not both"),
                (None, None) => bail!("give a webhook (http/https) or a prefix (a store folder)"),
                (Some(url), None) => {
                    let u = url::Url::parse(url).with_context(|| format!("webhook {url:?}"))?;
                    ensure!(
                        matches!(u.scheme(), "http" | "https"),
                        "the webhook must be http:// or https://"
                    );
                    Target::Webhook(url.clone())
                }
                (None, Some(prefix)) => Target::Prefix(check_prefix(prefix)?),
            };
            let plan = Plan {
                name: d.name.clone(),
                tenant: d.tenant.trim().to_string(),
                query,
                schedule,
                format,
                target,
            };
            // The statement of a sample period must be one query.
            let sample = plan.schedule.latest_due(Utc::now(), chrono_tz::UTC);
            let filled = plan.sql(sample, None);
            if let Some(at) = filled.find("{{") {
                let name: String = filled[at..].chars().take_while(|c| *c != '}').collect();
                bail!(
                    "unknown placeholder {name}}}}}: there are {{{{period_start}}}}, \
                     {{{{period_end}}}} and {{{{tenant}}}}"
                );
            }
            parse_query(&filled)?;
            Ok(plan)
        })();
        plan.with_context(|| what)
    }

    /// The report's name in files and posts (the entry's for `sql`).
    fn report(&self) -> &str {
        match &self.query {
            Query::Function(r, _) | Query::View(r) => r,
            Query::Sql(_) => &self.name,
        }
    }

    /// The SQL of period `p`. `view_has_period`: whether the view has a
    /// `period_start` column (`None`: not known, no filter).
    fn sql(&self, p: Period, view_has_period: Option<bool>) -> String {
        let (start, end) = (wall(p.start), wall(p.end));
        let fill = |text: &str| {
            text.replace("{{period_start}}", &start)
                .replace("{{period_end}}", &end)
                .replace("{{tenant}}", &self.tenant)
        };
        match &self.query {
            Query::Function(f, args) => {
                let mut all = vec![quote(&start), quote(&end)];
                all.extend(args.iter().map(|a| quote(&fill(a))));
                format!("SELECT * FROM {f}({})", all.join(", "))
            }
            Query::View(v) if view_has_period == Some(true) => format!(
                "SELECT * FROM {v} WHERE period_start >= TIMESTAMP {} AND period_start < TIMESTAMP {}",
                quote(&start),
                quote(&end)
            ),
            Query::View(v) => format!("SELECT * FROM {v}"),
            Query::Sql(sql) => fill(sql),
        }
    }

    /// The file's name under a prefix (and in a post's
    /// `Content-Disposition`).
    fn file_name(&self, p: Period) -> String {
        let safe = |s: &str| -> String {
            s.chars()
                .map(|c| {
                    if c.is_alphanumeric() || c == '-' || c == '_' {
                        c
                    } else {
                        '_'
                    }
                })
                .collect()
        };
        format!(
            "{}_{}_{}.{}",
            safe(&self.tenant),
            safe(self.report()),
            p.label(self.schedule.every),
            self.format.extension()
        )
    }
}

/// `YYYY-MM-DD HH:MM:SS`.
fn wall(t: NaiveDateTime) -> String {
    t.format("%Y-%m-%d %H:%M:%S").to_string()
}

fn quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

/// A prefix is a relative folder of the store that is no table's and not
/// OKO's own (`_oko/`); returned ending in `/`.
fn check_prefix(prefix: &str) -> Result<String> {
    let p = prefix.trim();
    let p = if p.ends_with('/') {
        p.to_string()
    } else {
        format!("{p}/")
    };
    let segments: Vec<&str> = p.trim_end_matches('/').split('/').collect();
    ensure!(
        !p.starts_with('/') && !p.contains("://") && !p.contains('\\'),
        "prefix {prefix:?} must be a relative folder of the store, like \"deliveries/alpha/\""
    );
    ensure!(
        segments
            .iter()
            .all(|s| !s.is_empty() && *s != "." && *s != ".."),
        "prefix {prefix:?}: empty, `.` and `..` folders are not allowed"
    );
    let first = segments.first().copied().unwrap_or_default();
    ensure!(
        !first.starts_with('_') && !first.starts_with('.'),
        "prefix {prefix:?}: folders starting with `_` or `.` are OKO's own"
    );
    ensure!(
        crate::model::Table::ALL.iter().all(|t| t.name() != first),
        "prefix {prefix:?} is inside the table {first:?}: choose a folder of its own"
    );
    object_store::path::Path::parse(&p).with_context(|| format!("prefix {prefix:?}"))?;
    Ok(p)
}

/// The one query of `sql`, parsed as a client's would be.
fn parse_query(sql: &str) -> Result<Statement> {
    let mut statements = crate::pg_compat::compat::StatementParser::default()
        .parse(sql)
        .map_err(|e| anyhow!("the SQL does not parse: {e}"))?;
    ensure!(
        statements.len() == 1,
        "the SQL must be one query, not {}",
        statements.len()
    );
    let s = statements.remove(0);
    ensure!(
        matches!(s, Statement::Query(_)),
        "the SQL must be a query (SELECT, WITH, VALUES, TABLE)"
    );
    Ok(s)
}

/// Refuses entries that could never work, before the server starts: names,
/// tenants, schedules, formats, targets, the SQL's form; two file entries
/// that would write the same files.
pub fn check(entries: &[Delivery]) -> Result<()> {
    let mut names = HashSet::new();
    let mut files = HashMap::new();
    for d in entries {
        let plan = Plan::from_config(d)?;
        if !names.insert(plan.name.clone()) {
            bail!("[[deliver]] {:?}: two entries have this name", plan.name);
        }
        if let Target::Prefix(prefix) = &plan.target {
            let key = (
                prefix.clone(),
                plan.file_name(plan.schedule.latest_due(Utc::now(), chrono_tz::UTC)),
            );
            if let Some(other) = files.insert(key, plan.name.clone()) {
                bail!(
                    "[[deliver]] {:?} and {other:?} would write the same files under {prefix:?}",
                    plan.name
                );
            }
        }
    }
    Ok(())
}

/// Refuses a `report` that is neither a period table function nor a view
/// of the catalog (`ctx`: a session over every tenant's views).
pub async fn check_reports(entries: &[Delivery], ctx: &SessionContext) -> Result<()> {
    for d in entries {
        let plan = Plan::from_config(d)?;
        let Query::View(view) = &plan.query else {
            continue;
        };
        let provider = ctx.table_provider(view.as_str()).await.ok();
        if !provider.is_some_and(|p| p.table_type() == TableType::View) {
            bail!(
                "[[deliver]] {:?}: report {view:?} is not a report: give a table function ({}) \
                 or a view (sql/README.md lists them), or write sql",
                plan.name,
                period_functions()
            );
        }
    }
    Ok(())
}

/// One entry and where it is.
struct Cursor {
    plan: Plan,
    /// `None`: not read from the store yet; `Some(None)`: a new entry.
    position: Option<Option<NaiveDateTime>>,
    failures: u32,
    retry_at: DateTime<Utc>,
}

/// What one round did, for logs and tests.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Round {
    /// `(entry, period label)` of every delivery the target accepted.
    pub delivered: Vec<(String, String)>,
    /// Entries that failed this round (retried later).
    pub failed: Vec<String>,
}

/// Sends the configured reports when they fall due; see the module docs.
pub struct Deliverer {
    cursors: Vec<Cursor>,
    sessions: TenantSessions,
    /// The store's root: positions and file targets.
    store: Arc<dyn ObjectStore>,
    clock: Arc<dyn Clock>,
    http: reqwest::Client,
    /// Each tenant's time zone and when it was read.
    zones: HashMap<String, (Tz, DateTime<Utc>)>,
    /// Only the replica holding it delivers ([`crate::lease`]).
    lease: Arc<Lease>,
    /// The lease's epoch the positions were read under.
    epoch: Option<u64>,
}

impl Deliverer {
    /// `store` is the store's root (see [`root_store`]); entries are
    /// checked again ([`check`]).
    pub fn new(
        entries: &[Delivery],
        sessions: TenantSessions,
        store: Arc<dyn ObjectStore>,
        clock: Arc<dyn Clock>,
    ) -> Result<Deliverer> {
        check(entries)?;
        let now = clock.now();
        let cursors = entries
            .iter()
            .map(|d| {
                Ok(Cursor {
                    plan: Plan::from_config(d)?,
                    position: None,
                    failures: 0,
                    retry_at: now,
                })
            })
            .collect::<Result<_>>()?;
        Ok(Deliverer {
            cursors,
            sessions,
            store,
            clock,
            http: webhook::client(POST_TIMEOUT)?,
            zones: HashMap::new(),
            lease: Lease::always(),
            epoch: None,
        })
    }

    /// Delivers only while `lease` is held (by default: always). Each time
    /// this replica takes the lease, the positions are read again from the
    /// store: another replica may have delivered meanwhile.
    pub fn with_lease(mut self, lease: Arc<Lease>) -> Deliverer {
        self.lease = lease;
        self
    }

    /// Looks for due periods every `period` until `stop` is notified; a
    /// delivery under way (a post and the position it moves) is finished
    /// first.
    pub async fn run(mut self, period: Duration, stop: Arc<tokio::sync::Notify>) {
        let mut tick = tokio::time::interval(period);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = stop.notified() => return,
                _ = tick.tick() => {}
            }
            self.round().await;
        }
    }

    /// One pass: each entry whose pause is over delivers its due periods,
    /// oldest first, until one fails.
    pub async fn round(&mut self) -> Round {
        let mut round = Round::default();
        let now = self.clock.now();
        let Some(epoch) = self.lease.holding() else {
            return round;
        };
        if self.epoch != Some(epoch) {
            for c in &mut self.cursors {
                c.position = None;
                c.failures = 0;
                c.retry_at = now;
            }
            self.epoch = Some(epoch);
        }
        for i in 0..self.cursors.len() {
            if self.cursors[i].retry_at > now {
                continue;
            }
            match self.catch_up(i, now, &mut round).await {
                Ok(()) => self.cursors[i].failures = 0,
                Err(e) => {
                    let c = &mut self.cursors[i];
                    c.failures += 1;
                    let pause = webhook::backoff(c.failures);
                    c.retry_at =
                        now + chrono::Duration::from_std(pause).unwrap_or(chrono::Duration::MAX);
                    round.failed.push(c.plan.name.clone());
                    tracing::warn!(
                        delivery = c.plan.name,
                        tenant = c.plan.tenant,
                        failures = c.failures,
                        retry_in_s = pause.as_secs(),
                        "cannot deliver: {e:#}"
                    );
                }
            }
        }
        round
    }

    /// Delivers entry `i`'s due periods in order; the first failure ends it.
    async fn catch_up(&mut self, i: usize, now: DateTime<Utc>, round: &mut Round) -> Result<()> {
        let tenant = self.cursors[i].plan.tenant.clone();
        let zone = self.zone(&tenant, now).await?;
        if self.cursors[i].position.is_none() {
            let plan = &self.cursors[i].plan;
            let stored = load_position(&self.store, &plan.name).await?;
            let schedule = plan.schedule.to_string();
            let position = match stored {
                Some(p)
                    if p.tenant == plan.tenant
                        && p.schedule == schedule
                        && let Ok(start) =
                            NaiveDateTime::parse_from_str(&p.period_start, STAMP)
                        && plan.schedule.period_starting(start).is_some() =>
                {
                    Some(start)
                }
                Some(p) => {
                    tracing::info!(
                        delivery = plan.name,
                        "the entry's tenant or schedule changed ({} {:?} before): it starts afresh",
                        p.tenant,
                        p.schedule
                    );
                    None
                }
                None => None,
            };
            self.cursors[i].position = Some(position);
        }
        let c = &self.cursors[i];
        let position = c.position.flatten();
        let (pending, passed_over) = c.plan.schedule.pending(position, now, zone, MAX_CATCH_UP);
        if passed_over > 0 {
            tracing::warn!(
                delivery = c.plan.name,
                passed_over,
                "more periods fell due than are caught up ({MAX_CATCH_UP}): the oldest are not sent"
            );
        }
        for p in pending {
            if self.lease.holding() != self.epoch {
                // Another replica may be taking over: it delivers the rest.
                return Ok(());
            }
            let plan = self.cursors[i].plan.clone();
            let started = std::time::Instant::now();
            let (rows, bytes) = self.deliver(&plan, p).await.with_context(|| {
                format!(
                    "period {} of {}",
                    p.label(plan.schedule.every),
                    plan.report()
                )
            })?;
            let position = Position {
                tenant: plan.tenant.clone(),
                schedule: plan.schedule.to_string(),
                period_start: p.start.format(STAMP).to_string(),
                period_end: p.end.format(STAMP).to_string(),
                delivered_at: self.clock.now().to_rfc3339(),
            };
            save_position(&self.store, &plan.name, &position).await?;
            self.cursors[i].position = Some(Some(p.start));
            let label = p.label(plan.schedule.every);
            tracing::info!(
                delivery = plan.name,
                tenant = plan.tenant,
                period = label,
                rows,
                bytes,
                ms = started.elapsed().as_millis() as u64,
                "delivered"
            );
            round.delivered.push((plan.name.clone(), label));
        }
        Ok(())
    }

    /// The tenant's time zone (`tenants.timezone`), read as the tenant.
    async fn zone(&mut self, tenant: &str, now: DateTime<Utc>) -> Result<Tz> {
        if let Some((zone, read)) = self.zones.get(tenant)
            && now - *read < ZONE_TTL
        {
            return Ok(*zone);
        }
        let ctx = (self.sessions)(tenant.to_string()).await?;
        let batches = ctx
            .table("tenants")
            .await?
            .filter(col("tenant").eq(lit(tenant)))?
            .select_columns(&["timezone"])?
            .collect()
            .await
            .context("cannot read the tenant's time zone")?;
        let mut zones = Vec::new();
        for b in &batches {
            let z = cast(b.column(0), &DataType::Utf8)?;
            zones.extend(z.as_string::<i32>().iter().flatten().map(str::to_string));
        }
        let Some(name) = zones.first() else {
            bail!("tenant {tenant:?} has no row in tenants (its time zone is needed)");
        };
        let zone: Tz = name
            .parse()
            .map_err(|e| anyhow!("tenant {tenant:?}: time zone {name:?}: {e}"))?;
        self.zones.insert(tenant.to_string(), (zone, now));
        Ok(zone)
    }

    /// Runs the report of `p` as the tenant and hands it to the target:
    /// `(rows, bytes)` once the target accepted it.
    async fn deliver(&self, plan: &Plan, p: Period) -> Result<(usize, usize)> {
        let ctx = (self.sessions)(plan.tenant.clone()).await?;
        let has_period = match &plan.query {
            Query::View(v) => Some(
                ctx.table(v.as_str())
                    .await
                    .with_context(|| format!("report {v:?}"))?
                    .schema()
                    .has_column_with_unqualified_name("period_start"),
            ),
            _ => None,
        };
        let statement = parse_query(&plan.sql(p, has_period))?;
        let run = async {
            let plan = crate::pg_compat::column_names::plan(&ctx.state(), statement).await?;
            let df = ctx.execute_logical_plan(plan).await?;
            let schema = Arc::new(df.schema().as_arrow().clone());
            let batches = df.collect().await?;
            Ok::<_, datafusion::error::DataFusionError>((schema, batches))
        };
        let (schema, batches) = tokio::time::timeout(QUERY_TIMEOUT, run)
            .await
            .map_err(|_| anyhow!("the query ran longer than {} s", QUERY_TIMEOUT.as_secs()))?
            .context("the report's query failed")?;
        let rows = batches.iter().map(|b| b.num_rows()).sum();
        let about = About {
            delivery: &plan.name,
            tenant: &plan.tenant,
            report: plan.report(),
            period_start: wall(p.start),
            period_end: wall(p.end),
        };
        let body = render::render(plan.format, &about, &schema, &batches)?;
        let bytes = body.len();
        let file = plan.file_name(p);
        match &plan.target {
            Target::Webhook(url) => {
                let headers = [
                    ("X-OKO-Delivery", plan.name.clone()),
                    ("X-OKO-Tenant", plan.tenant.clone()),
                    ("X-OKO-Report", plan.report().to_string()),
                    ("X-OKO-Period-Start", about.period_start.clone()),
                    ("X-OKO-Period-End", about.period_end.clone()),
                    (
                        "Content-Disposition",
                        format!("attachment; filename=\"{file}\""),
                    ),
                ];
                webhook::post(&self.http, url, plan.format.content_type(), &headers, body).await?;
            }
            Target::Prefix(prefix) => {
                let path = object_store::path::Path::parse(format!("{prefix}{file}"))?;
                self.store
                    .put(&path, body.into())
                    .await
                    .with_context(|| format!("cannot write {path}"))?;
            }
        }
        Ok((rows, bytes))
    }
}

/// The object store at the store's root (`url`, with the store's options):
/// positions and file targets live beside the tables. A local folder is
/// reached through [`crate::durable::DurableFs`], so a delivered file and
/// its position are on disk before they count.
pub fn root_store(
    url: &url::Url,
    options: &HashMap<String, String>,
) -> Result<Arc<dyn ObjectStore>> {
    let mut builder =
        deltalake::DeltaTableBuilder::from_url(url.clone())?.with_storage_options(options.clone());
    if let Ok(root) = url.to_file_path() {
        builder = builder
            .with_storage_backend(Arc::new(crate::durable::DurableFs::new(root)), url.clone());
    }
    let table = builder
        .build()
        .with_context(|| format!("cannot reach the store at {url}"))?;
    Ok(table.object_store())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(extra: &str) -> Delivery {
        toml::from_str(&format!(
            "name = \"d\"\ntenant = \"alpha\"\nschedule = \"daily 08:00\"\n{extra}"
        ))
        .unwrap()
    }

    fn plan(extra: &str) -> Plan {
        Plan::from_config(&entry(extra)).unwrap()
    }

    fn day() -> Period {
        let start = NaiveDateTime::parse_from_str("2025-03-03 00:00", "%Y-%m-%d %H:%M").unwrap();
        Period {
            start,
            end: start + chrono::Duration::days(1),
        }
    }

    #[test]
    fn a_report_is_called_with_the_period_and_its_args() {
        let p =
            plan("report = \"manager_report\"\nargs = [\"calls\", \"\"]\nwebhook = \"http://x/\"");
        assert_eq!(
            p.sql(day(), None),
            "SELECT * FROM manager_report('2025-03-03 00:00:00', '2025-03-04 00:00:00', 'calls', '')"
        );
        let v = plan("report = \"manager_report_day\"\nprefix = \"out\"");
        assert_eq!(
            v.sql(day(), Some(true)),
            "SELECT * FROM manager_report_day WHERE period_start >= TIMESTAMP '2025-03-03 00:00:00' \
             AND period_start < TIMESTAMP '2025-03-04 00:00:00'"
        );
        assert_eq!(
            v.sql(day(), Some(false)),
            "SELECT * FROM manager_report_day"
        );
        assert_eq!(
            v.file_name(day()),
            "alpha_manager_report_day_2025-03-03.csv"
        );
        let s = plan(
            "sql = \"SELECT '{{tenant}}' AS t, '{{period_start}}' AS s WHERE '{{period_end}}' > ''\"\nformat = \"json\"\nprefix = \"out/\"",
        );
        assert_eq!(
            s.sql(day(), None),
            "SELECT 'alpha' AS t, '2025-03-03 00:00:00' AS s WHERE '2025-03-04 00:00:00' > ''"
        );
        assert_eq!(s.file_name(day()), "alpha_d_2025-03-03.json");
    }

    #[test]
    fn bad_entries_are_refused_with_a_reason() {
        for (extra, says) in [
            ("report = \"manager_report\"", "webhook"),
            ("webhook = \"http://x/\"", "report"),
            (
                "report = \"a\"\nsql = \"SELECT 1\"\nwebhook = \"http://x/\"",
                "not both",
            ),
            ("sql = \"SELECT 1\"\nwebhook = \"ftp://x/\"", "http"),
            (
                "sql = \"SELECT 1\"\nwebhook = \"http://x/\"\nprefix = \"a/\"",
                "not both",
            ),
            (
                "sql = \"SELECT 1\"\nformat = \"pdf\"\nprefix = \"a/\"",
                "csv, json or xlsx",
            ),
            (
                "sql = \"DELETE FROM leads\"\nprefix = \"a/\"",
                "must be a query",
            ),
            ("sql = \"SELECT 1; SELECT 2\"\nprefix = \"a/\"", "one query"),
            ("sql = \"SELEC 1\"\nprefix = \"a/\"", "does not parse"),
            (
                "sql = \"SELECT '{{period}}'\"\nprefix = \"a/\"",
                "unknown placeholder {{period}}",
            ),
            ("sql = \"SELECT 1\"\nprefix = \"/abs/\"", "relative"),
            ("sql = \"SELECT 1\"\nprefix = \"a/../b\"", ".."),
            ("sql = \"SELECT 1\"\nprefix = \"_oko/x\"", "OKO's own"),
            (
                "sql = \"SELECT 1\"\nprefix = \"leads/x\"",
                "inside the table",
            ),
            (
                "report = \"ratings_to_moderate\"\nargs = [\"x\"]\nprefix = \"a/\"",
                "takes no args",
            ),
            (
                "sql = \"SELECT 1\"\nargs = [\"x\"]\nprefix = \"a/\"",
                "args go with a report",
            ),
        ] {
            let e = format!("{:#}", check(&[entry(extra)]).unwrap_err());
            assert!(e.contains(says), "{extra}: {e}");
            assert!(e.contains("[[deliver]] \"d\""), "{e}");
        }
        let mut bad = entry("sql = \"SELECT 1\"\nprefix = \"a/\"");
        bad.schedule = "every hour".into();
        assert!(format!("{:#}", check(&[bad]).unwrap_err()).contains("a schedule is"));
        let one = entry("sql = \"SELECT 1\"\nprefix = \"a/\"");
        assert!(
            check(&[one.clone(), one.clone()])
                .unwrap_err()
                .to_string()
                .contains("two")
        );
        let mut other = one.clone();
        other.name = "e".into();
        other.sql = None;
        other.report = Some("d".into());
        assert!(
            check(&[one, other])
                .unwrap_err()
                .to_string()
                .contains("the same files")
        );
    }
}
