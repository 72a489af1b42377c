//! Report parts: the additive figures of the reports per tenant and local
//! day (`report_parts_day`, `sql/parts_day.sql`) or hour
//! (`report_parts_hour`, `sql/parts_hour.sql`; by tag:
//! `report_parts_tags`, `sql/parts_tags.sql`), which every period report
//! sums instead of reading the leads, notes, requests and ratings again.
//!
//! A [`PartsTable`] always answers exactly for the snapshot of the facts the
//! session reads:
//! - from the parts the server keeps ([`Kept`], built and maintained by
//!   [`crate::live::parts`]) when they were built from exactly the fact
//!   versions served now — each kept set carries the versions of the fact
//!   tables it was computed from, and is used only while those are the
//!   versions every session reads;
//! - otherwise from the facts, by the same SQL over the leads the query's
//!   filters reach (its tenants, its days): when the kept parts are behind a
//!   commit still being applied, in `oko query` (no server keeps parts), and
//!   when a session turns them off (`SET oko.report_parts = off`, the raw
//!   path that cross-checks the kept one).

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use chrono::{Duration, NaiveDate, NaiveDateTime};
use datafusion::arrow::array::RecordBatch;
use datafusion::arrow::datatypes::{Schema, SchemaRef};
use datafusion::catalog::{Session, TableProvider};
use datafusion::common::{ScalarValue, plan_err};
use datafusion::datasource::memory::MemorySourceConfig;
use datafusion::execution::context::SessionState;
use datafusion::logical_expr::{Expr, Operator, TableProviderFilterPushDown, TableType};
use datafusion::physical_plan::ExecutionPlan;
use datafusion::prelude::SessionContext;

use super::reports::{fill, period_sources, quote};
use super::sql;
use super::table_functions::{plan_report, query_tenants, report_state};
use crate::config::ReportSettings;

const PARTS_DAY: &str = sql::at("parts_day.sql");
const PARTS_HOUR: &str = sql::at("parts_hour.sql");
const PARTS_TAGS: &str = sql::at("parts_tags.sql");

/// The session setting that turns the kept parts off (`off`): reports are
/// then computed from the facts.
pub const SETTING: &str = "oko.report_parts";

/// The two grains of parts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Grain {
    /// `report_parts_day`: the manager table, summary, bubbles.
    Day,
    /// `report_parts_hour`: the contact-centre metrics.
    Hour,
    /// `report_parts_tags`: the contact-centre counts by tag, per hour.
    Tag,
}

impl Grain {
    pub const ALL: [Grain; 3] = [Grain::Day, Grain::Hour, Grain::Tag];

    pub fn table(self) -> &'static str {
        match self {
            Grain::Day => "report_parts_day",
            Grain::Hour => "report_parts_hour",
            Grain::Tag => "report_parts_tags",
        }
    }

    /// The column with the part's local day or hour.
    pub fn time_column(self) -> &'static str {
        match self {
            Grain::Day => "day",
            Grain::Hour | Grain::Tag => "period_start",
        }
    }

    fn step(self) -> Duration {
        match self {
            Grain::Day => Duration::days(1),
            Grain::Hour | Grain::Tag => Duration::hours(1),
        }
    }

    /// Whether `t` starts a part of this grain (midnight, a full hour): a
    /// period between two such times is a sum of whole parts.
    pub fn aligned(self, t: NaiveDateTime) -> bool {
        use chrono::Timelike;
        t.second() == 0
            && t.nanosecond() == 0
            && t.minute() == 0
            && (self != Grain::Day || t.hour() == 0)
    }

    /// The parts of the leads `lead_prefilter` (on `leads l`) reaches that
    /// pass `filter` (on the leads `f`), as a parenthesised subquery.
    pub fn sql(self, s: &ReportSettings, lead_prefilter: &str, filter: &str) -> String {
        let sources = period_sources(lead_prefilter);
        let sql = match self {
            Grain::Day => fill(
                PARTS_DAY,
                &[("facts", sources.facts.as_str()), ("filter", filter)],
            ),
            Grain::Hour => fill(
                PARTS_HOUR,
                &[
                    ("lead_base", sources.base.as_str()),
                    ("parts_filter", filter),
                    ("short_abandon_s", &format!("{:?}", s.short_abandon_seconds)),
                ],
            ),
            Grain::Tag => fill(
                PARTS_TAGS,
                &[
                    ("lead_base", sources.base.as_str()),
                    ("parts_filter", filter),
                ],
            ),
        };
        format!("({sql})")
    }
}

/// The Delta version of each fact table (by name) a set of parts was
/// computed from.
pub type Versions = Vec<(String, i64)>;

/// One kept set of parts: every tenant's rows of every grain, and the fact
/// versions they were computed from.
#[derive(Debug, Default)]
pub struct Kept {
    /// Version of each fact table the parts read (by table name).
    pub versions: Versions,
    /// Rows by grain and tenant, by local day.
    pub rows: HashMap<(Grain, String), Days>,
}

/// One tenant's parts of one grain by the local day of their time column
/// (a part of 09:00 on 3 March is a row of 3 March), each day's rows one
/// batch with buffers of its own: a scan reads the days its filters reach
/// (a month's report, a month of parts, not the year's), a round replaces
/// the days it recomputed, and an operator holding a day's batch counts
/// that day's memory, not a larger batch's it were a slice of. Rows
/// without a time (none today) are kept under [`NaiveDate::MIN`]: no time
/// filter reaches them, as no such filter passes them.
pub type Days = BTreeMap<NaiveDate, RecordBatch>;

impl Kept {
    pub fn row_count(&self, grain: Grain) -> usize {
        self.rows
            .iter()
            .filter(|((g, _), _)| *g == grain)
            .flat_map(|(_, days)| days.values().map(RecordBatch::num_rows))
            .sum()
    }
}

/// `batches` (parts of one grain, of one tenant) by local day; no empty
/// batch.
pub fn by_day(grain: Grain, batches: &[RecordBatch]) -> datafusion::arrow::error::Result<Days> {
    use datafusion::arrow::array::{Array, AsArray, UInt32Array};
    use datafusion::arrow::compute::{cast, concat_batches, take_record_batch};
    use datafusion::arrow::datatypes::{DataType, TimeUnit, TimestampMicrosecondType};
    use datafusion::arrow::error::ArrowError;
    let Some(first) = batches.first() else {
        return Ok(Days::new());
    };
    let all = concat_batches(&first.schema(), batches)?;
    let column = all.column_by_name(grain.time_column()).ok_or_else(|| {
        ArrowError::SchemaError(format!("a part without {}", grain.time_column()))
    })?;
    let times = cast(column, &DataType::Timestamp(TimeUnit::Microsecond, None))?;
    let times = times.as_primitive::<TimestampMicrosecondType>();
    const DAY_MICROS: i64 = 86_400_000_000;
    let mut rows: BTreeMap<Option<i64>, Vec<u32>> = BTreeMap::new();
    for i in 0..times.len() {
        let day = times
            .is_valid(i)
            .then(|| times.value(i).div_euclid(DAY_MICROS));
        let index = u32::try_from(i)
            .map_err(|_| ArrowError::ComputeError("too many parts in one batch".into()))?;
        rows.entry(day).or_default().push(index);
    }
    let mut out = Days::new();
    for (day, indices) in rows {
        let date = day
            .and_then(|d| chrono::DateTime::from_timestamp(d.checked_mul(86_400)?, 0))
            .map_or(NaiveDate::MIN, |t| t.date_naive());
        // `take` copies: the day's batch has buffers of its own.
        let batch = take_record_batch(&all, &UInt32Array::from(indices))?;
        match out.remove(&date) {
            Some(before) => out.insert(date, concat_batches(&all.schema(), [&before, &batch])?),
            None => out.insert(date, batch),
        };
    }
    Ok(out)
}

/// What keeps the parts (the server's [`crate::live::parts::Keeper`]),
/// reached through the session's config.
pub trait KeepsParts: Send + Sync + std::fmt::Debug {
    /// The kept parts, when they match the fact versions served now.
    fn fresh(&self) -> Option<Arc<Kept>>;
}

/// The session-config extension that carries the keeper.
#[derive(Debug, Clone)]
pub struct PartsKeeper(pub Arc<dyn KeepsParts>);

/// Registers `report_parts_day` and `report_parts_hour` in `ctx`: every
/// tenant's parts, or (`tenant`) one tenant's.
pub async fn register(
    ctx: &SessionContext,
    settings: &ReportSettings,
    tenant: Option<&str>,
) -> anyhow::Result<()> {
    let state = report_state(&ctx.state());
    let settings = Arc::new(settings.clone());
    for grain in Grain::ALL {
        let plan = state
            .create_logical_plan(&format!(
                "SELECT * FROM {}",
                grain.sql(&settings, "TRUE", "TRUE")
            ))
            .await?;
        let fields: Vec<_> = plan
            .schema()
            .as_arrow()
            .fields()
            .iter()
            .map(|f| f.as_ref().clone().with_nullable(true))
            .collect();
        ctx.register_table(
            grain.table(),
            Arc::new(PartsTable {
                grain,
                tenant: tenant.map(str::to_string),
                settings: settings.clone(),
                schema: Arc::new(Schema::new(fields)),
            }),
        )?;
    }
    Ok(())
}

/// Whether `provider` is a parts table (the result cache keys a statement
/// over it on every live table).
pub fn is_parts(provider: &dyn TableProvider) -> bool {
    provider.is::<PartsTable>()
}

/// `report_parts_day` / `report_parts_hour` of one catalog.
#[derive(Debug)]
pub struct PartsTable {
    grain: Grain,
    /// The catalog's tenant (a tenant-bound user's): only its rows.
    tenant: Option<String>,
    settings: Arc<ReportSettings>,
    schema: SchemaRef,
}

#[async_trait::async_trait]
impl TableProvider for PartsTable {
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
        // Used to narrow what is read or computed; applied again on top.
        Ok(vec![TableProviderFilterPushDown::Inexact; filters.len()])
    }

    async fn scan(
        &self,
        state: &dyn Session,
        projection: Option<&Vec<usize>>,
        filters: &[Expr],
        limit: Option<usize>,
    ) -> datafusion::common::Result<Arc<dyn ExecutionPlan>> {
        let Some(state) = state.as_any().downcast_ref::<SessionState>() else {
            return plan_err!("{} needs an OKO session", self.grain.table());
        };
        // Tenants every filter allows (and the catalog's own).
        let tenants = query_tenants(self.tenant.clone().map(|t| vec![t]), filters);
        if let Some(kept) = kept_parts(state) {
            // The days the time filters reach, of the tenants they allow.
            let range = day_range(self.grain, filters);
            let batches: Vec<RecordBatch> = kept
                .rows
                .iter()
                .filter(|((g, t), _)| {
                    *g == self.grain && tenants.as_ref().is_none_or(|list| list.contains(t))
                })
                .flat_map(|(_, days)| days_within(days, range))
                .map(|b| RecordBatch::try_new(self.schema.clone(), b.columns().to_vec()))
                .collect::<Result<_, _>>()?;
            return Ok(MemorySourceConfig::try_new_exec(
                &[batches],
                self.schema.clone(),
                projection.cloned(),
            )?);
        }
        // From the facts: the leads of the days the filters reach.
        let (from, to) = time_bounds(self.grain, filters);
        let prefilter = lead_prefilter(from, to, tenants.as_deref());
        let sql = format!(
            "SELECT * FROM {}",
            self.grain.sql(&self.settings, &prefilter, "TRUE")
        );
        plan_report(
            self.grain.table(),
            state,
            sql,
            None,
            projection,
            filters,
            limit,
        )
        .await
    }
}

/// The kept parts, when the session may use them and they are fresh.
/// A session planning for a cluster reads none: its executors do not
/// have them, they compute from the facts.
fn kept_parts(state: &SessionState) -> Option<Arc<Kept>> {
    let keeper = state.config().get_extension::<PartsKeeper>()?;
    let plain = state
        .config()
        .get_extension::<super::PlainScans>()
        .is_some();
    if plain || !enabled(state) {
        return None;
    }
    keeper.0.fresh()
}

/// Kept part rows per partition of a report's plan.
const KEPT_ROWS_PER_PARTITION: usize = 250_000;

/// How many partitions a report over the local times `[from, to)` of
/// `tenants` (None: all) should be planned with when the session reads
/// kept parts: one per [`KEPT_ROWS_PER_PARTITION`] rows those days hold
/// (of every grain), at least one; `None` when it computes from the facts.
/// A month of one tenant's parts (tens of thousands of rows) is summed
/// faster in one partition than split, merged and handed between threads;
/// and the other cores serve the other panels of the dashboard.
pub(super) fn kept_partitions(
    state: &SessionState,
    tenants: Option<&[String]>,
    from: NaiveDateTime,
    to: NaiveDateTime,
) -> Option<usize> {
    // A period that is not whole hours is computed from the facts.
    if !(Grain::Hour.aligned(from) && Grain::Hour.aligned(to)) {
        return None;
    }
    let kept = kept_parts(state)?;
    let range = (Some(from.date()), Some(to.date()));
    let rows: usize = kept
        .rows
        .iter()
        .filter(|((_, t), _)| tenants.is_none_or(|list| list.contains(t)))
        .flat_map(|(_, days)| days_within(days, range))
        .map(RecordBatch::num_rows)
        .sum();
    Some(rows.div_ceil(KEPT_ROWS_PER_PARTITION).max(1))
}

/// Whether the session uses kept parts (`oko.report_parts`, on unless
/// turned off).
fn enabled(state: &SessionState) -> bool {
    let Some(vars) = state
        .config()
        .get_extension::<crate::pg_compat::vars::Vars>()
    else {
        return true;
    };
    !vars.get(SETTING).is_some_and(|v| {
        matches!(
            v.trim().to_ascii_lowercase().as_str(),
            "off" | "false" | "0" | "no"
        )
    })
}

/// The comparisons of the grain's time column with a constant among the
/// filters, as `column <op> time`.
fn time_limits(grain: Grain, filters: &[Expr]) -> Vec<(Operator, NaiveDateTime)> {
    let mut limits = Vec::new();
    for f in filters {
        if let Expr::Between(between) = f {
            if !between.negated && column_name(&between.expr) == Some(grain.time_column()) {
                if let Some(low) = timestamp(&between.low) {
                    limits.push((Operator::GtEq, low));
                }
                if let Some(high) = timestamp(&between.high) {
                    limits.push((Operator::LtEq, high));
                }
            }
            continue;
        }
        let Expr::BinaryExpr(b) = f else { continue };
        let (op, value) = match (column_name(&b.left), column_name(&b.right)) {
            (Some(c), None) if c == grain.time_column() => (b.op, timestamp(&b.right)),
            (None, Some(c)) if c == grain.time_column() => match b.op.swap() {
                Some(op) => (op, timestamp(&b.left)),
                None => continue,
            },
            _ => continue,
        };
        if let Some(t) = value {
            limits.push((op, t));
        }
    }
    limits
}

/// The range of local times the filters allow on the grain's time column,
/// widened to whole parts: `(from, to)` with `to` exclusive.
fn time_bounds(grain: Grain, filters: &[Expr]) -> (Option<NaiveDateTime>, Option<NaiveDateTime>) {
    let mut from: Option<NaiveDateTime> = None;
    let mut to: Option<NaiveDateTime> = None;
    for (op, t) in time_limits(grain, filters) {
        match op {
            Operator::Gt | Operator::GtEq => {
                // A part starts at its day/hour: the one containing `t`.
                let start = t - grain.step();
                from = Some(from.map_or(start, |f| f.max(start)));
            }
            Operator::Lt | Operator::LtEq => {
                let end = t + grain.step();
                to = Some(to.map_or(end, |e| e.min(end)));
            }
            Operator::Eq => {
                from = Some(from.map_or(t, |f| f.max(t)));
                let end = t + grain.step();
                to = Some(to.map_or(end, |e| e.min(end)));
            }
            _ => {}
        }
    }
    (from, to)
}

/// The kept days ([`Days`]) whose rows can pass the filters on the grain's
/// time column: `(first, last)`, both included (either side open). A row
/// of time `v` passes `column >= t` or `column > t` only if its day is not
/// before `t`'s, `column <= t` or `column < t` only if it is not after.
fn day_range(grain: Grain, filters: &[Expr]) -> (Option<NaiveDate>, Option<NaiveDate>) {
    let mut first: Option<NaiveDate> = None;
    let mut last: Option<NaiveDate> = None;
    for (op, t) in time_limits(grain, filters) {
        let day = t.date();
        if matches!(op, Operator::Gt | Operator::GtEq | Operator::Eq) {
            first = Some(first.map_or(day, |f| f.max(day)));
        }
        if matches!(op, Operator::Lt | Operator::LtEq | Operator::Eq) {
            last = Some(last.map_or(day, |l| l.min(day)));
        }
    }
    (first, last)
}

/// The batches of `days` within `(first, last)` (both included).
fn days_within(
    days: &Days,
    (first, last): (Option<NaiveDate>, Option<NaiveDate>),
) -> impl Iterator<Item = &RecordBatch> {
    use std::ops::Bound;
    let empty = matches!((first, last), (Some(f), Some(l)) if f > l);
    let lower = first.map_or(Bound::Unbounded, Bound::Included);
    let upper = last.map_or(Bound::Unbounded, Bound::Included);
    (!empty)
        .then(|| days.range((lower, upper)).map(|(_, b)| b))
        .into_iter()
        .flatten()
}

fn column_name(e: &Expr) -> Option<&str> {
    match e {
        Expr::Column(c) => Some(&c.name),
        Expr::Cast(c) => column_name(&c.expr),
        _ => None,
    }
}

fn timestamp(e: &Expr) -> Option<NaiveDateTime> {
    let micros = match e {
        Expr::Literal(v, _) => match v {
            ScalarValue::TimestampSecond(Some(s), None) => s.checked_mul(1_000_000)?,
            ScalarValue::TimestampMillisecond(Some(ms), None) => ms.checked_mul(1000)?,
            ScalarValue::TimestampMicrosecond(Some(us), None) => *us,
            ScalarValue::TimestampNanosecond(Some(ns), None) => ns / 1000,
            _ => return None,
        },
        Expr::Cast(c) => return timestamp(&c.expr),
        _ => return None,
    };
    chrono::DateTime::from_timestamp_micros(micros).map(|t| t.naive_utc())
}

/// The pre-filter on `leads l` for local times in `[from, to)` (either side
/// open) and the tenants: the UTC window widened by 15 h (every zone is
/// within it) and its month partitions.
pub fn lead_prefilter(
    from: Option<NaiveDateTime>,
    to: Option<NaiveDateTime>,
    tenants: Option<&[String]>,
) -> String {
    let margin = Duration::hours(15);
    let mut filter = Vec::new();
    if let Some(from) = from {
        let utc = from - margin;
        filter.push(format!(
            "l.created_at >= {}",
            quote(&format!("{}Z", utc.format("%Y-%m-%dT%H:%M:%S")))
        ));
        filter.push(format!(
            "l.created_month >= {}",
            quote(&utc.format("%Y-%m").to_string())
        ));
    }
    if let Some(to) = to {
        let utc = to + margin;
        filter.push(format!(
            "l.created_at < {}",
            quote(&format!("{}Z", utc.format("%Y-%m-%dT%H:%M:%S")))
        ));
        filter.push(format!(
            "l.created_month <= {}",
            quote(&utc.format("%Y-%m").to_string())
        ));
    }
    if tenants.is_some() {
        filter.push(tenant_condition("l", tenants));
    }
    if filter.is_empty() {
        "TRUE".to_string()
    } else {
        filter.join(" AND ")
    }
}

/// `<alias>.tenant IN (…)` for a list of tenants (`FALSE` for none), `TRUE`
/// without a list.
pub fn tenant_condition(alias: &str, tenants: Option<&[String]>) -> String {
    match tenants {
        None => "TRUE".to_string(),
        Some([]) => "FALSE".to_string(),
        Some(list) => {
            let list: Vec<String> = list.iter().map(|t| quote(t)).collect();
            format!("{alias}.tenant IN ({})", list.join(", "))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::prelude::{col, lit};

    fn at(text: &str) -> NaiveDateTime {
        NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M").unwrap()
    }

    fn ts(text: &str) -> Expr {
        lit(ScalarValue::TimestampMicrosecond(
            Some(at(text).and_utc().timestamp_micros()),
            None,
        ))
    }

    #[test]
    fn time_filters_widen_to_whole_parts() {
        let filters = [
            col("day").gt_eq(ts("2026-03-01 00:00")),
            ts("2026-04-01 00:00").gt(col("day")),
            col("tenant").eq(lit("a")),
        ];
        let (from, to) = time_bounds(Grain::Day, &filters);
        assert_eq!(from, Some(at("2026-02-28 00:00")));
        assert_eq!(to, Some(at("2026-04-02 00:00")));
        let (from, to) = time_bounds(Grain::Hour, &filters);
        assert_eq!((from, to), (None, None), "another column's filter");
    }

    #[test]
    fn time_filters_pick_the_days_of_kept_parts() {
        let day = |t: &str| Some(at(t).date());
        let filters = [
            col("day").gt_eq(ts("2026-03-01 00:00")),
            ts("2026-04-01 00:00").gt(col("day")),
            col("tenant").eq(lit("a")),
        ];
        assert_eq!(
            day_range(Grain::Day, &filters),
            (day("2026-03-01 00:00"), day("2026-04-01 00:00"))
        );
        // An hour's part belongs to its day; `>` a time within a day keeps
        // that day.
        let filters = [
            col("period_start").gt(ts("2026-03-01 09:30")),
            col("period_start").lt_eq(ts("2026-03-03 00:00")),
        ];
        assert_eq!(
            day_range(Grain::Hour, &filters),
            (day("2026-03-01 00:00"), day("2026-03-03 00:00"))
        );
        let between = [col("day").between(ts("2026-03-05 00:00"), ts("2026-03-07 00:00"))];
        assert_eq!(
            day_range(Grain::Day, &between),
            (day("2026-03-05 00:00"), day("2026-03-07 00:00"))
        );
        let negated = [col("day").not_between(ts("2026-03-05 00:00"), ts("2026-03-07 00:00"))];
        assert_eq!(day_range(Grain::Day, &negated), (None, None));
        let equal = [col("day").eq(ts("2026-03-05 00:00"))];
        assert_eq!(
            day_range(Grain::Day, &equal),
            (day("2026-03-05 00:00"), day("2026-03-05 00:00"))
        );
    }

    fn day_parts(times: &[Option<&str>]) -> RecordBatch {
        use datafusion::arrow::array::{Int64Array, TimestampMicrosecondArray};
        use datafusion::arrow::datatypes::{DataType, Field, TimeUnit};
        let schema = Arc::new(Schema::new(vec![
            Field::new(
                "day",
                DataType::Timestamp(TimeUnit::Microsecond, None),
                true,
            ),
            Field::new("leads", DataType::Int64, false),
        ]));
        let days: TimestampMicrosecondArray = times
            .iter()
            .map(|t| t.map(|t| at(t).and_utc().timestamp_micros()))
            .collect();
        let leads = Int64Array::from_iter_values(0..times.len() as i64);
        RecordBatch::try_new(schema, vec![Arc::new(days), Arc::new(leads)]).unwrap()
    }

    #[test]
    fn kept_parts_split_by_day_and_a_range_reads_only_its_days() {
        use datafusion::arrow::array::AsArray;
        use datafusion::arrow::datatypes::Int64Type;
        let batches = [
            day_parts(&[Some("2026-03-02 00:00"), Some("2026-03-01 00:00"), None]),
            day_parts(&[Some("2026-03-02 00:00"), Some("2026-03-04 00:00")]),
        ];
        let days = by_day(Grain::Day, &batches).unwrap();
        let keys: Vec<_> = days.keys().copied().collect();
        let d = |t: &str| at(t).date();
        assert_eq!(
            keys,
            vec![
                NaiveDate::MIN,
                d("2026-03-01 00:00"),
                d("2026-03-02 00:00"),
                d("2026-03-04 00:00")
            ]
        );
        let leads = |b: &RecordBatch| -> Vec<i64> {
            b.column(1).as_primitive::<Int64Type>().values().to_vec()
        };
        // Each row once, in its day, in the order it came.
        assert_eq!(leads(&days[&d("2026-03-02 00:00")]), vec![0, 0]);
        assert_eq!(days.values().map(RecordBatch::num_rows).sum::<usize>(), 5);
        // A day's batch owns its buffers (not a slice of all the rows).
        let one = days[&d("2026-03-04 00:00")].column(1);
        assert_eq!(one.to_data().buffers()[0].len(), 8);
        let within = |first: Option<&str>, last: Option<&str>| -> usize {
            days_within(&days, (first.map(d), last.map(d)))
                .map(RecordBatch::num_rows)
                .sum()
        };
        assert_eq!(
            within(Some("2026-03-02 00:00"), Some("2026-03-03 00:00")),
            2
        );
        assert_eq!(within(Some("2026-03-02 00:00"), None), 3);
        assert_eq!(
            within(None, Some("2026-03-01 00:00")),
            2,
            "with the rows without a time"
        );
        assert_eq!(
            within(Some("2026-03-05 00:00"), Some("2026-03-01 00:00")),
            0
        );
        assert_eq!(within(None, None), 5);
    }

    #[test]
    fn alignment() {
        assert!(Grain::Day.aligned(at("2026-03-01 00:00")));
        assert!(!Grain::Day.aligned(at("2026-03-01 09:00")));
        assert!(Grain::Hour.aligned(at("2026-03-01 09:00")));
        assert!(!Grain::Hour.aligned(at("2026-03-01 09:30")));
    }

    #[test]
    fn prefilter_without_bounds_reads_every_lead_of_the_tenants() {
        assert_eq!(lead_prefilter(None, None, None), "TRUE");
        assert_eq!(
            lead_prefilter(None, None, Some(&["a".to_string()])),
            "l.tenant IN ('a')"
        );
        assert_eq!(lead_prefilter(None, None, Some(&[])), "FALSE");
    }
}
