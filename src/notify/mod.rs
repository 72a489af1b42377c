//! Rating notifications (SPEC.md §2): a supervisor subscribes, in the
//! config, to new ratings — every one, low scores, or answers that need
//! moderation — and `oko serve` pushes them to a webhook as Slack-compatible
//! JSON.
//!
//! ```toml
//! [[notify]]
//! name = "low-scores"                 # letters, digits, - and _
//! url = "https://hooks.slack.com/services/…"
//! tenant = "okna"                     # default: every tenant
//! max_score = 3                       # valid scores from min_score to max_score
//! invalid = true                      # also answers a moderator must look at
//! scope = "calls"                     # calls, chats or all (default)
//! ```
//!
//! How new ratings are found: every append to `ratings` — an SQL `INSERT`
//! or an `oko load`, from this process or another — is one Delta commit
//! whose `add` actions name the files that hold exactly the new rows. The
//! notifier reads the commit log after the last version it delivered, reads
//! those files, keeps what a subscription wants and posts it. Commits that
//! only rewrite rows (compaction, deletes) announce nothing.
//!
//! Delivery is at least once: a subscription's position is kept in the
//! store (`ratings/_oko/notify/<name>.json`, which vacuum leaves alone) and
//! moves only after the webhook answered 2xx. A webhook that is down, or a
//! server restart, delays notifications and loses none; a failed post is
//! retried with a growing pause (up to 5 minutes). A new subscription starts
//! at the table's current version: history is never announced, and neither
//! is a rating received more than `max_age_hours` (24) before it was
//! committed — a backfill of old exports stays quiet.

mod commits;
mod message;
mod position;
pub mod webhook;

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use chrono::{DateTime, Utc};
use datafusion::prelude::{Expr, SessionContext, col, lit};
use deltalake::DeltaTable;

use serde::Serialize;

use crate::config::Subscription;
use crate::lease::Lease;
use crate::live::LiveTable;

use commits::*;
use message::*;
use position::*;

/// Ratings of one commit round that go into one post, at most; the rest
/// are counted in the post (`omitted`).
const MAX_RATINGS_PER_POST: usize = 500;
/// Lines of the human-readable text; the rest are summed up in one line.
const MAX_TEXT_LINES: usize = 20;
/// Commits read in one round, so a long outage catches up in steps.
const MAX_VERSIONS_PER_ROUND: u64 = 50;
/// Fresh ratings taken from one round's commits; more at once is a bulk
/// load of recent data, logged and not announced one by one.
const MAX_NEW_PER_ROUND: usize = 20_000;
/// How far before a rating its lead is looked for (leads are partitioned
/// by month; a lead older than this is announced without its details).
const LEAD_LOOKBACK_DAYS: i64 = 62;

/// Refuses subscriptions that could never work, before the server starts.
pub fn check(subs: &[Subscription]) -> Result<()> {
    let mut names = HashSet::new();
    for s in subs {
        let what = format!("[[notify]] {:?}", s.name);
        if s.name.is_empty()
            || !s
                .name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        {
            bail!("{what}: a name is letters, digits, '-' and '_'");
        }
        if !names.insert(&s.name) {
            bail!("{what}: two subscriptions have this name");
        }
        let url = url::Url::parse(&s.url).with_context(|| format!("{what}: url {:?}", s.url))?;
        if !matches!(url.scheme(), "http" | "https") {
            bail!("{what}: the url must be http:// or https://");
        }
        if !(1..=5).contains(&s.min_score) || !(1..=5).contains(&s.max_score) {
            bail!("{what}: min_score and max_score are scores from 1 to 5");
        }
        if s.min_score > s.max_score {
            bail!("{what}: min_score is above max_score");
        }
        if s.scope != "all" && !crate::model::SCOPES.contains(&s.scope.as_str()) {
            bail!("{what}: scope is calls, chats or all, not {:?}", s.scope);
        }
        if s.max_age_hours <= 0 {
            bail!("{what}: max_age_hours must be positive");
        }
    }
    Ok(())
}

/// A rating as committed, described by the report views: its score as
/// `ratings_effective` has it, its lead as `lead_base` has it — the rules
/// (which scores are valid, which channels make a scope, how a lead
/// without a manager is named) are theirs, not repeated here.
#[derive(Debug, Clone, Serialize)]
struct NewRating {
    /// The commit that added it.
    #[serde(skip)]
    version: u64,
    tenant: String,
    rating_id: String,
    lead_id: String,
    score_raw: Option<String>,
    /// The effective score (`ratings_effective.effective_score`): none
    /// while the answer waits for a moderator.
    score: Option<i64>,
    received_at: DateTime<Utc>,
    /// Whether `ratings_effective` holds it (it was not deleted since).
    #[serde(skip)]
    in_view: bool,
    /// Whether the lead was found (`lead_base` row).
    #[serde(skip)]
    lead_found: bool,
    /// `lead_base.scope`: calls, chats, or none (email, form).
    scope: Option<String>,
    channel: Option<String>,
    manager_id: Option<String>,
    /// The manager's name (`managers.name`).
    manager: Option<String>,
    /// `lead_base.manager`: the manager id, or the label of a lead nobody
    /// accepted.
    #[serde(skip)]
    manager_label: Option<String>,
    client_id: Option<String>,
}

impl Subscription {
    fn wants(&self, r: &NewRating, now: DateTime<Utc>) -> bool {
        if self.tenant.as_ref().is_some_and(|t| *t != r.tenant) {
            return false;
        }
        if now - r.received_at > chrono::Duration::hours(self.max_age_hours) {
            return false;
        }
        let in_scope = match (r.lead_found, r.scope.as_deref()) {
            // A lead not found: only a subscription to every channel knows
            // it wants it.
            (false, _) => self.scope == "all",
            (true, Some(scope)) => self.scope == "all" || self.scope == scope,
            // Email and forms belong to no scope.
            (true, None) => false,
        };
        in_scope
            && match r.score {
                Some(s) => (self.min_score..=self.max_score).contains(&s),
                None => self.invalid,
            }
    }
}

/// Where a subscription is, and when it may try again.
struct Cursor {
    sub: Subscription,
    /// The last version delivered (None: not read from the store yet).
    position: Option<u64>,
    failures: u32,
    retry_at: Instant,
}

/// Pushes new ratings to the subscribed webhooks; see the module docs.
pub struct Notifier {
    cursors: Vec<Cursor>,
    /// Our own handle on `ratings`: its log is read, never its snapshot.
    ratings: DeltaTable,
    /// The report views, for the scores, leads, managers and tenants of the
    /// new ratings.
    ctx: SessionContext,
    /// The live tables the views read.
    tables: Vec<Arc<LiveTable>>,
    http: reqwest::Client,
    /// Only the replica holding it posts ([`crate::lease`]).
    lease: Arc<Lease>,
    /// The lease's epoch the positions were read under.
    epoch: Option<u64>,
}

impl Notifier {
    /// `ctx` is a session over the engine's tables and views, `tables` the
    /// live tables under it (brought up to date before new ratings are
    /// described, so a rating another process committed is found).
    pub fn new(
        subs: Vec<Subscription>,
        ratings: DeltaTable,
        ctx: SessionContext,
        tables: Vec<Arc<LiveTable>>,
    ) -> Result<Self> {
        let http = webhook::client(Duration::from_secs(10))?;
        let now = Instant::now();
        Ok(Notifier {
            cursors: subs
                .into_iter()
                .map(|sub| Cursor {
                    sub,
                    position: None,
                    failures: 0,
                    retry_at: now,
                })
                .collect(),
            ratings,
            ctx,
            tables,
            http,
            lease: Lease::always(),
            epoch: None,
        })
    }

    /// Posts only while `lease` is held (by default: always). Each time
    /// this replica takes the lease, the positions are read again from the
    /// store: another replica may have posted meanwhile.
    pub fn with_lease(mut self, lease: Arc<Lease>) -> Notifier {
        self.lease = lease;
        self
    }

    /// Looks for new ratings every `period` until `stop` is notified; a
    /// round under way (a post and the position it moves) is finished
    /// first, so a graceful shutdown repeats nothing.
    pub async fn run(mut self, period: Duration, stop: Arc<tokio::sync::Notify>) {
        let mut tick = tokio::time::interval(period);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = stop.notified() => return,
                _ = tick.tick() => {}
            }
            if let Err(e) = self.round().await {
                tracing::warn!("notifications: {e:#}");
            }
        }
    }

    /// One pass: read the commits no ready subscription has delivered yet
    /// (a bounded number), and post to each what it wants.
    async fn round(&mut self) -> Result<()> {
        let Some(epoch) = self.lease.holding() else {
            return Ok(());
        };
        if self.epoch != Some(epoch) {
            let now = Instant::now();
            for c in &mut self.cursors {
                c.position = None;
                c.failures = 0;
                c.retry_at = now;
            }
            self.epoch = Some(epoch);
        }
        let store = self.ratings.object_store();
        let log = self.ratings.log_store();
        let known = self.cursors.iter().filter_map(|c| c.position).min();
        let latest = log
            .get_latest_version(known.unwrap_or(0))
            .await
            .context("cannot read the ratings log")?;
        for c in self.cursors.iter_mut().filter(|c| c.position.is_none()) {
            c.position = Some(match load_position(&store, &c.sub.name).await? {
                Some(p) => p,
                None => {
                    save_position(&store, &c.sub.name, latest).await?;
                    tracing::info!(
                        subscription = c.sub.name,
                        version = latest,
                        "notifications start"
                    );
                    latest
                }
            });
        }
        let now = Instant::now();
        let ready = |c: &Cursor| c.retry_at <= now && c.position.is_some_and(|p| p < latest);
        let waiting = self
            .cursors
            .iter()
            .filter(|c| ready(c))
            .filter_map(|c| c.position);
        let Some((from, to)) = next_range(waiting, latest) else {
            return Ok(());
        };
        // Older ratings would be a backfill for every subscription.
        let longest = self
            .cursors
            .iter()
            .map(|c| c.sub.max_age_hours)
            .max()
            .unwrap_or(0);
        let since = Utc::now() - chrono::Duration::hours(longest);
        let mut new = self.read_commits(from + 1..=to, since).await?;
        // A cursor ahead of the slowest one may already be past `to`.
        let behind = |c: &Cursor| ready(c) && c.position.is_some_and(|p| p < to);
        if new.is_empty() {
            for c in self.cursors.iter_mut().filter(|c| behind(c)) {
                c.position = Some(to);
                save_position(&store, &c.sub.name, to).await?;
            }
            return Ok(());
        }
        self.describe(&mut new).await?;
        // A rating the views no longer hold was deleted (an erasure) after
        // it was appended: it is not announced.
        new.retain(|r| r.in_view);
        let tenants = self.tenant_zones(&new).await?;
        let wall = Utc::now();
        for c in self.cursors.iter_mut().filter(|c| behind(c)) {
            let Some(position) = c.position else { continue };
            let mine: Vec<&NewRating> = new
                .iter()
                .filter(|r| r.version > position && r.version <= to && c.sub.wants(r, wall))
                .collect();
            if !mine.is_empty() {
                if self.lease.holding() != Some(epoch) {
                    // Another replica may be taking over: it posts these.
                    return Ok(());
                }
                let body = message(&c.sub, &mine, &tenants);
                let posted = webhook::post(
                    &self.http,
                    &c.sub.url,
                    "application/json",
                    &[],
                    serde_json::to_vec(&body)?,
                )
                .await;
                if let Err(e) = posted {
                    c.failures += 1;
                    let pause = webhook::backoff(c.failures);
                    c.retry_at = Instant::now() + pause;
                    tracing::warn!(
                        subscription = c.sub.name,
                        ratings = mine.len(),
                        retry_in_s = pause.as_secs(),
                        "cannot deliver notifications: {e:#}"
                    );
                    continue;
                }
                tracing::info!(subscription = c.sub.name, ratings = mine.len(), "notified");
            }
            c.failures = 0;
            c.position = Some(to);
            save_position(&store, &c.sub.name, to).await?;
        }
        Ok(())
    }

    /// The rows appended by the commits in `versions` and received at
    /// `since` or later (at most [`MAX_NEW_PER_ROUND`]).
    async fn read_commits(
        &self,
        versions: std::ops::RangeInclusive<u64>,
        since: DateTime<Utc>,
    ) -> Result<Vec<NewRating>> {
        let log = self.ratings.log_store();
        let store = self.ratings.object_store();
        let mut out = Fresh {
            since,
            ratings: Vec::new(),
            over: 0,
        };
        let range = format!("{}..={}", versions.start(), versions.end());
        for version in versions {
            let Some(bytes) = log.read_commit_entry(version).await? else {
                tracing::warn!(
                    version,
                    "notifications: commit {version} of ratings is gone (log cleaned up); skipped"
                );
                continue;
            };
            for (path, tenant) in appended_files(&bytes)
                .with_context(|| format!("cannot read commit {version} of ratings"))?
            {
                match read_file(&store, &path, &tenant, version, &mut out).await {
                    Ok(()) => {}
                    // Compacted and vacuumed away before it was announced:
                    // waiting would not bring it back.
                    Err(e)
                        if e.downcast_ref::<object_store::Error>()
                            .is_some_and(|e| matches!(e, object_store::Error::NotFound { .. })) =>
                    {
                        tracing::warn!(
                            version,
                            path,
                            "notifications: a file of ratings is gone; its ratings are skipped"
                        );
                    }
                    Err(e) => {
                        return Err(e).with_context(|| {
                            format!("cannot read {path} (commit {version} of ratings)")
                        });
                    }
                }
            }
        }
        if out.over > 0 {
            tracing::warn!(
                versions = range,
                announced = out.ratings.len(),
                not_announced = out.over,
                "notifications: more fresh ratings at once than {MAX_NEW_PER_ROUND} (a bulk load); the rest are not announced one by one"
            );
        }
        Ok(out.ratings)
    }

    /// Fills in each rating's effective score (`ratings_effective`), its
    /// lead (`lead_base`: scope, channel, manager, client) and the manager's
    /// name, through the engine's views.
    async fn describe(&self, ratings: &mut [NewRating]) -> Result<()> {
        for t in &self.tables {
            t.refresh()
                .await
                .with_context(|| format!("cannot refresh table {}", t.table))?;
        }
        let mut by_tenant: BTreeMap<String, Vec<usize>> = BTreeMap::new();
        for (i, r) in ratings.iter().enumerate() {
            by_tenant.entry(r.tenant.clone()).or_default().push(i);
        }
        for (tenant, mine) in by_tenant {
            let texts_of_mine = |f: fn(&NewRating) -> &str| -> Vec<Expr> {
                let set: BTreeSet<&str> = mine.iter().map(|&i| f(&ratings[i])).collect();
                set.into_iter().map(lit).collect()
            };
            let rating_ids = texts_of_mine(|r| &r.rating_id);
            let lead_ids = texts_of_mine(|r| &r.lead_id);
            let earliest = mine
                .iter()
                .map(|&i| ratings[i].received_at)
                .min()
                .unwrap_or_else(Utc::now);
            let since = earliest - chrono::Duration::days(LEAD_LOOKBACK_DAYS);
            let month = crate::model::month_of_micros(since.timestamp_micros()).unwrap_or_default();
            let scores = self
                .rows::<2>(
                    "ratings_effective",
                    col("tenant")
                        .eq(lit(tenant.as_str()))
                        .and(col("rating_id").in_list(rating_ids, false)),
                    &["rating_id", "score_raw", "effective_score"],
                )
                .await?;
            let leads = self
                .rows::<5>(
                    "lead_base",
                    col("tenant")
                        .eq(lit(tenant.as_str()))
                        .and(col("created_month").gt_eq(lit(month)))
                        .and(col("lead_id").in_list(lead_ids, false)),
                    &[
                        "lead_id",
                        "scope",
                        "channel",
                        "manager_id",
                        "manager",
                        "client_id",
                    ],
                )
                .await?;
            let manager_ids: BTreeSet<&str> =
                leads.values().filter_map(|l| l[2].as_deref()).collect();
            let names = if manager_ids.is_empty() {
                HashMap::new()
            } else {
                self.rows::<1>(
                    "managers",
                    col("tenant").eq(lit(tenant.as_str())).and(
                        col("manager_id")
                            .in_list(manager_ids.into_iter().map(lit).collect(), false),
                    ),
                    &["manager_id", "name"],
                )
                .await?
            };
            for &i in &mine {
                let r = &mut ratings[i];
                if let Some([score_raw, score]) = scores.get(&r.rating_id).map(|v| [&v[0], &v[1]]) {
                    r.in_view = true;
                    r.score_raw = score_raw.clone();
                    r.score = score.as_deref().and_then(|s| s.parse().ok());
                }
                if let Some(lead) = leads.get(&r.lead_id) {
                    r.lead_found = true;
                    [
                        r.scope,
                        r.channel,
                        r.manager_id,
                        r.manager_label,
                        r.client_id,
                    ] = lead.clone();
                    r.manager = r
                        .manager_id
                        .as_ref()
                        .and_then(|m| names.get(m))
                        .and_then(|n| n[0].clone());
                }
            }
        }
        Ok(())
    }

    /// The rows of `table` (a table or view of the engine) matching
    /// `filter`, by their first column's value: the other `columns` as text.
    async fn rows<const N: usize>(
        &self,
        table: &str,
        filter: Expr,
        columns: &[&str],
    ) -> Result<HashMap<String, [Option<String>; N]>> {
        let batches = self
            .ctx
            .table(table)
            .await?
            .filter(filter)?
            .select_columns(columns)?
            .collect()
            .await
            .with_context(|| format!("cannot read {table} for notifications"))?;
        let mut out = HashMap::new();
        for b in &batches {
            let mut texts = Vec::with_capacity(columns.len());
            for name in columns {
                texts.push(text_column(b, name)?);
            }
            let Some((keys, rest)) = texts.split_first() else {
                continue;
            };
            anyhow::ensure!(
                rest.len() == N,
                "{N} columns after the key were asked of {table}"
            );
            for (row, key) in keys.iter().enumerate() {
                let Some(key) = key.clone() else { continue };
                let values: [Option<String>; N] = std::array::from_fn(|c| rest[c][row].clone());
                out.insert(key, values);
            }
        }
        Ok(out)
    }

    /// Each tenant's display name and time zone, for the text.
    async fn tenant_zones(
        &self,
        ratings: &[NewRating],
    ) -> Result<HashMap<String, (String, chrono_tz::Tz)>> {
        let wanted: BTreeSet<&str> = ratings.iter().map(|r| r.tenant.as_str()).collect();
        let rows = self
            .rows::<2>(
                "tenants",
                col("tenant").in_list(wanted.into_iter().map(lit).collect(), false),
                &["tenant", "name", "timezone"],
            )
            .await?;
        let mut out = HashMap::new();
        for (t, [name, zone]) in rows {
            let zone = zone
                .as_deref()
                .and_then(|z| z.parse().ok())
                .unwrap_or(chrono_tz::UTC);
            out.insert(t.clone(), (name.unwrap_or(t), zone));
        }
        Ok(out)
    }
}

/// The commits one round reads, `(from, to]`: from the slowest waiting
/// subscription, at most [`MAX_VERSIONS_PER_ROUND`]. A subscription takes
/// part when its position is below `to` (others are ahead already).
fn next_range(positions: impl Iterator<Item = u64>, latest: u64) -> Option<(u64, u64)> {
    let from = positions.filter(|p| *p < latest).min()?;
    Some((from, latest.min(from + MAX_VERSIONS_PER_ROUND)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sub(toml_text: &str) -> Subscription {
        toml::from_str(&format!(
            "name = \"s\"\nurl = \"http://127.0.0.1:9/\"\n{toml_text}"
        ))
        .unwrap()
    }

    /// A rating of a lead in `scope` (`Some("")`: a lead of no scope;
    /// `None`: a lead not found).
    fn rating(score: Option<i64>, scope: Option<&str>, hours_ago: i64) -> NewRating {
        NewRating {
            version: 1,
            tenant: "okna".into(),
            rating_id: "r".into(),
            lead_id: "l".into(),
            score_raw: score.map(|s| s.to_string()),
            score,
            received_at: Utc::now() - chrono::Duration::hours(hours_ago),
            in_view: true,
            lead_found: scope.is_some(),
            scope: scope.filter(|s| !s.is_empty()).map(str::to_string),
            channel: None,
            manager_id: None,
            manager: None,
            manager_label: None,
            client_id: None,
        }
    }

    #[test]
    fn a_subscription_takes_its_scores_scope_tenant_and_age() {
        let now = Utc::now();
        let low = sub("max_score = 3\ninvalid = true\nscope = \"calls\"\ntenant = \"okna\"");
        assert!(low.wants(&rating(Some(2), Some("calls"), 1), now));
        assert!(low.wants(&rating(None, Some("calls"), 1), now));
        assert!(!low.wants(&rating(Some(4), Some("calls"), 1), now));
        assert!(!low.wants(&rating(Some(1), Some("chats"), 1), now));
        assert!(
            !low.wants(&rating(Some(1), Some("calls"), 25), now),
            "a backfill"
        );
        assert!(
            !low.wants(&rating(Some(1), None, 1), now),
            "unknown channel, scope calls"
        );
        let mut other = rating(Some(1), Some("calls"), 1);
        other.tenant = "klinika".into();
        assert!(!low.wants(&other, now));
        let every = sub("");
        assert!(every.wants(&rating(Some(5), None, 1), now));
        assert!(
            !every.wants(&rating(None, Some("chats"), 1), now),
            "invalid is opt-in"
        );
        assert!(
            !every.wants(&rating(Some(5), Some(""), 1), now),
            "email and forms are in no scope"
        );
    }

    #[test]
    fn bad_subscriptions_are_refused_with_a_reason() {
        for (extra, says) in [
            ("min_score = 0", "scores from 1 to 5"),
            ("min_score = 4\nmax_score = 2", "above max_score"),
            ("scope = \"phones\"", "scope is calls, chats or all"),
            ("max_age_hours = 0", "positive"),
        ] {
            let e = check(&[sub(extra)]).unwrap_err().to_string();
            assert!(e.contains(says), "{extra}: {e}");
        }
        let mut ftp = sub("");
        ftp.url = "ftp://x/".into();
        assert!(check(&[ftp]).unwrap_err().to_string().contains("http"));
        let mut bad = sub("");
        bad.name = "a/b".into();
        assert!(check(&[bad]).is_err());
        assert!(
            check(&[sub(""), sub("")])
                .unwrap_err()
                .to_string()
                .contains("two")
        );
    }

    #[test]
    fn only_appends_announce_rows() {
        let write = br#"{"commitInfo":{"operation":"WRITE"}}
{"add":{"path":"tenant=okna/part-1.parquet","partitionValues":{"tenant":"okna"},"dataChange":true}}"#;
        assert_eq!(
            appended_files(write).unwrap(),
            vec![("tenant=okna/part-1.parquet".to_string(), "okna".to_string())]
        );
        let optimize = br#"{"commitInfo":{"operation":"OPTIMIZE"}}
{"add":{"path":"tenant=okna/part-2.parquet","partitionValues":{"tenant":"okna"},"dataChange":false}}"#;
        assert!(appended_files(optimize).unwrap().is_empty());
        let delete = br#"{"commitInfo":{"operation":"DELETE"}}
{"add":{"path":"tenant=okna/part-3.parquet","partitionValues":{"tenant":"okna"},"dataChange":true}}"#;
        assert!(appended_files(delete).unwrap().is_empty());
    }

    #[test]
    fn a_round_starts_at_the_slowest_and_leaves_the_others_where_they_are() {
        assert_eq!(next_range([130, 130].into_iter(), 130), None);
        assert_eq!(next_range([7, 129].into_iter(), 130), Some((7, 57)));
        // The cursor at 120 is past `to` (57): it must not move back.
        let (_, to) = next_range([7, 120].into_iter(), 130).unwrap();
        assert!(120 >= to);
        assert_eq!(next_range([125].into_iter(), 130), Some((125, 130)));
    }

    #[test]
    fn the_text_counts_in_russian() {
        assert_eq!(count_ru(1), "1 новая оценка");
        assert_eq!(count_ru(3), "3 новые оценки");
        assert_eq!(count_ru(11), "11 новых оценок");
        assert_eq!(count_ru(21), "21 новая оценка");
        assert_eq!(count_ru(25), "25 новых оценок");
    }
}
