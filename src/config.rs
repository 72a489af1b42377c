//! Configuration: one TOML file with defaults for everything, overridden by
//! `OKO_*` environment variables and then by command-line flags.
//!
//! ```toml
//! [store]
//! url = "s3://oko/prod"          # or a local path; default ./oko-data
//! s3_endpoint = "http://127.0.0.1:9000"
//! s3_region = "us-east-1"
//! s3_access_key_id = "..."
//! s3_secret_access_key = "..."
//! ```

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};

/// The whole configuration file.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    pub store: StoreConfig,
    pub reports: ReportSettings,
    pub server: ServerConfig,
    /// Who may connect (`[[users]]`); see [`crate::auth`].
    pub users: Vec<crate::auth::UserConfig>,
    /// Webhooks new ratings are pushed to (`[[notify]]`); see [`crate::notify`].
    pub notify: Vec<Subscription>,
    /// Reports sent on a schedule (`[[deliver]]`); see [`crate::deliver`].
    pub deliver: Vec<Delivery>,
    /// Settings of one tenant (`[tenants.<id>]`), by tenant id.
    pub tenants: BTreeMap<String, TenantSettings>,
    /// The Apache Ballista cluster (`[cluster]`); see [`crate::cluster`].
    pub cluster: ClusterConfig,
}

/// `[cluster]`: where `oko serve` and `oko query` run large statements, and
/// how `oko scheduler` / `oko executor` run.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ClusterConfig {
    /// The scheduler statements are sent to, `df://HOST:PORT`; none: every
    /// statement runs in the process.
    pub scheduler: Option<String>,
    /// A statement whose scans read less than this many MiB of Parquet
    /// runs in the process: shipping it costs more than it saves.
    pub min_scan_mb: u64,
    /// Seconds without a heartbeat after which the scheduler gives an
    /// executor up (its tasks run again elsewhere).
    pub executor_timeout_s: u64,
    /// Seconds between an executor's heartbeats.
    pub heartbeat_s: u64,
    /// Tasks an executor runs at once (0: one per core).
    pub executor_slots: usize,
    /// Where an executor keeps the intermediate results of its tasks
    /// (default: a temporary folder).
    pub work_dir: Option<std::path::PathBuf>,
    /// The host name other processes reach this scheduler or executor by
    /// (default: the address it listens on).
    pub advertise_host: Option<String>,
}

impl Default for ClusterConfig {
    fn default() -> Self {
        ClusterConfig {
            scheduler: None,
            min_scan_mb: 64,
            executor_timeout_s: 30,
            heartbeat_s: 5,
            executor_slots: 0,
            work_dir: None,
            advertise_host: None,
        }
    }
}

/// `[tenants.<id>]`: what one tenant keeps. Checked by
/// [`crate::lifecycle::check_tenant_settings`].
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TenantSettings {
    /// Days of leads kept before the tenant's local today: `oko retention
    /// --apply` and `oko serve` (at start, then daily) delete the leads
    /// created before local today − `retention_days`, with everything that
    /// hangs on them ([`crate::lifecycle::retention`]). None: kept forever.
    pub retention_days: Option<u32>,
}

/// `oko serve` settings.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ServerConfig {
    /// Address to listen on.
    pub listen: String,
    /// Memory all running queries may use together, in MiB; a query that
    /// needs more fails with an error and the server stays up.
    pub memory_limit_mb: Option<usize>,
    /// The longest a statement may run, in seconds (0: no limit). It is
    /// every session's `statement_timeout` and the most a session may set
    /// for itself: PostgreSQL has no default limit, but one analyst's
    /// runaway query must not hold a shared server's cores for hours.
    pub statement_timeout_s: u64,
    /// How often the server looks for new commits, in milliseconds: with
    /// several replicas over one store, a row committed on one is served by
    /// the others within this (plus the time to read the new commit).
    pub refresh_ms: u64,
    /// Connections served at once; one more gets SQLSTATE 53300.
    pub max_connections: usize,
    /// TLS certificate chain (PEM). With `tls_key`, clients may use TLS.
    pub tls_cert: Option<std::path::PathBuf>,
    /// TLS private key (PEM: PKCS#8, RSA or EC).
    pub tls_key: Option<std::path::PathBuf>,
    /// Refuse connections that do not use TLS.
    pub require_tls: bool,
    /// Of `max_connections`, how many only admins may use: clients that
    /// have not logged in yet, and other users, take the rest.
    pub reserved_admin_connections: usize,
    /// Failed logins one user name may make from one client address per
    /// minute; after that its logins from there are refused until the
    /// minute has passed (other users at that address are not affected).
    pub max_failed_logins: u32,
    /// Seconds a client has to start up and log in; then its socket is
    /// closed and its place freed.
    pub authentication_timeout_s: u64,
    /// Compact a table after this many insert commits into it (each leaves
    /// a small file per partition; one commit may carry many statements);
    /// 0 turns automatic compaction off.
    pub compact_after_inserts: u64,
    /// Memory the result cache may hold, in MiB (counted in
    /// `memory_limit_mb`); 0 turns it off. A statement's result is kept
    /// until a table it read has a new commit ([`crate::server::result_cache`]).
    pub result_cache_mb: usize,
    /// Whether this replica takes part in the sender lease
    /// ([`crate::lease`]): of the replicas over one store, the one holding
    /// it sends notifications and scheduled deliveries and saves the report
    /// parts. `false`: this replica never does (it serves only).
    pub sender: bool,
    /// This replica's name in the lease (default: the host name and the
    /// listening port). A replica restarted under its name takes its lease
    /// back at once; two live replicas must not share one.
    pub replica: Option<String>,
    /// How long a lease term lasts, in seconds: a replica that dies stops
    /// sending, and another takes over, within this (and a third of it).
    pub lease_ttl_s: u64,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            listen: "127.0.0.1:5433".into(),
            memory_limit_mb: Some(4096),
            statement_timeout_s: 300,
            refresh_ms: 500,
            max_connections: 100,
            tls_cert: None,
            tls_key: None,
            require_tls: false,
            reserved_admin_connections: 3,
            max_failed_logins: 5,
            authentication_timeout_s: 30,
            compact_after_inserts: 200,
            result_cache_mb: 256,
            sender: true,
            replica: None,
            lease_ttl_s: 15,
        }
    }
}

/// Settings of the reports (SPEC.md §2–3): the seed's rules by default.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ReportSettings {
    /// A manager is an outlier below this share of the medians.
    pub outlier_ratio: f64,
    /// Classes left out of every period report (exact match).
    pub exclude_classes: Vec<String>,
    /// What ranks "best service": the raw mean (the seed's rule) or the
    /// Bayesian `fair_score`.
    pub best_service_by: BestServiceBy,
    /// Prior weight (in ratings) of `fair_score`.
    pub fair_prior_weight: f64,
    /// Ratings a manager needs to contest "best service".
    pub min_ratings: i64,
    /// A missed contact shorter than this is a short abandon.
    pub short_abandon_seconds: f64,
    /// How far back a lead's end may be to be due a rating request.
    pub survey_lookback_hours: i64,
    /// A folder of extra `*.sql` view files (each tenant's custom reports).
    pub views_dir: Option<std::path::PathBuf>,
    /// Supervisor figures (`manual_stats.metric`) that are a level at a
    /// moment (staff on shift): a period shows the value of its latest
    /// hour. Every other metric is a count over its hour, summed.
    pub manual_last_value_metrics: Vec<String>,
}

/// How "best service" is ranked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BestServiceBy {
    Mean,
    Fair,
}

impl Default for ReportSettings {
    fn default() -> Self {
        ReportSettings {
            outlier_ratio: 0.6,
            exclude_classes: vec!["Спам".into()],
            best_service_by: BestServiceBy::Mean,
            fair_prior_weight: 5.0,
            min_ratings: 1,
            short_abandon_seconds: 5.0,
            survey_lookback_hours: 24,
            views_dir: None,
            manual_last_value_metrics: vec![
                "staff_on_shift".into(),
                "agents_logged_in".into(),
                "queue_length".into(),
            ],
        }
    }
}

/// Where the tables live and how to reach the object store.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct StoreConfig {
    /// A local path or `s3://bucket/prefix`.
    pub url: String,
    /// S3-compatible endpoint, e.g. `http://127.0.0.1:9000` (empty: AWS).
    pub s3_endpoint: Option<String>,
    pub s3_region: Option<String>,
    pub s3_access_key_id: Option<String>,
    pub s3_secret_access_key: Option<String>,
    /// Allow `http://` endpoints (on by default when the endpoint is http).
    pub s3_allow_http: Option<bool>,
}

impl Default for StoreConfig {
    fn default() -> Self {
        StoreConfig {
            url: "./oko-data".into(),
            s3_endpoint: None,
            s3_region: None,
            s3_access_key_id: None,
            s3_secret_access_key: None,
            s3_allow_http: None,
        }
    }
}

impl Config {
    /// Reads the file if given, then applies `OKO_*` environment variables.
    pub fn load(path: Option<&Path>) -> Result<Config> {
        let mut config = match path {
            Some(path) => {
                let text = std::fs::read_to_string(path)
                    .with_context(|| format!("cannot read the config file {}", path.display()))?;
                toml::from_str(&text).with_context(|| {
                    format!(
                        "the config file {} is not valid; see the README's configuration section",
                        path.display()
                    )
                })?
            }
            None => Config::default(),
        };
        config.apply_env(|k| std::env::var(k).ok())?;
        Ok(config)
    }

    fn apply_env(&mut self, var: impl Fn(&str) -> Option<String>) -> Result<()> {
        if let Some(v) = var("OKO_LISTEN") {
            self.server.listen = v;
        }
        let server = &mut self.server;
        for (key, slot) in [
            ("OKO_REFRESH_MS", &mut server.refresh_ms),
            ("OKO_LEASE_TTL_S", &mut server.lease_ttl_s),
        ] {
            if let Some(v) = var(key) {
                *slot = v
                    .trim()
                    .parse()
                    .with_context(|| format!("{key} must be a whole number, not {v:?}"))?;
            }
        }
        if let Some(v) = var("OKO_SENDER") {
            server.sender = matches!(v.as_str(), "1" | "true" | "yes");
        }
        if let Some(v) = var("OKO_REPLICA") {
            server.replica = Some(v);
        }
        if let Some(v) = var("OKO_CLUSTER_SCHEDULER") {
            self.cluster.scheduler = (!v.is_empty()).then_some(v);
        }
        if let Some(v) = var("OKO_CLUSTER_ADVERTISE_HOST") {
            self.cluster.advertise_host = (!v.is_empty()).then_some(v);
        }
        let s = &mut self.store;
        if let Some(v) = var("OKO_STORE") {
            s.url = v;
        }
        for (key, slot) in [
            ("OKO_S3_ENDPOINT", &mut s.s3_endpoint),
            ("OKO_S3_REGION", &mut s.s3_region),
            ("OKO_S3_ACCESS_KEY_ID", &mut s.s3_access_key_id),
            ("OKO_S3_SECRET_ACCESS_KEY", &mut s.s3_secret_access_key),
        ] {
            if let Some(v) = var(key) {
                *slot = Some(v);
            }
        }
        if let Some(v) = var("OKO_S3_ALLOW_HTTP") {
            s.s3_allow_http = Some(matches!(v.as_str(), "1" | "true" | "yes"));
        }
        Ok(())
    }
}

impl StoreConfig {
    /// The options handed to the object store (deltalake's `AWS_*` keys).
    pub fn storage_options(&self) -> HashMap<String, String> {
        let mut o = HashMap::new();
        if let Some(e) = &self.s3_endpoint {
            o.insert("AWS_ENDPOINT_URL".into(), e.clone());
            let http = self.s3_allow_http.unwrap_or(e.starts_with("http://"));
            if http {
                o.insert("AWS_ALLOW_HTTP".into(), "true".into());
            }
            // S3-compatible servers on a single host are addressed by path.
            o.insert("AWS_VIRTUAL_HOSTED_STYLE_REQUEST".into(), "false".into());
        }
        if let Some(r) = &self.s3_region {
            o.insert("AWS_REGION".into(), r.clone());
        }
        if let Some(k) = &self.s3_access_key_id {
            o.insert("AWS_ACCESS_KEY_ID".into(), k.clone());
        }
        if let Some(k) = &self.s3_secret_access_key {
            o.insert("AWS_SECRET_ACCESS_KEY".into(), k.clone());
        }
        o
    }
}

/// One `[[notify]]` entry of the config (checked by [`crate::notify::check`]).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Subscription {
    /// Names the subscription in posts, logs and its stored position.
    pub name: String,
    /// The webhook (http or https) the ratings are posted to.
    pub url: String,
    /// Only this tenant's ratings (default: every tenant's).
    #[serde(default)]
    pub tenant: Option<String>,
    /// Valid scores from `min_score` to `max_score` are announced.
    #[serde(default = "lowest_score")]
    pub min_score: i64,
    #[serde(default = "highest_score")]
    pub max_score: i64,
    /// Also announce answers without a valid score (7, 0, text), which
    /// wait for a moderator.
    #[serde(default)]
    pub invalid: bool,
    /// `calls`, `chats` or `all`: the channel scope of the rated lead.
    #[serde(default = "all_scope")]
    pub scope: String,
    /// A rating received longer ago than this when it is committed (a
    /// backfill) is not announced.
    #[serde(default = "one_day")]
    pub max_age_hours: i64,
}

/// One `[[deliver]]` entry of the config (checked by
/// [`crate::deliver::check`]): a report of one tenant, sent on a schedule.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Delivery {
    /// Names the entry in logs, in its stored position and in posts.
    pub name: String,
    /// The tenant whose rows (and only those) the report is made of.
    pub tenant: String,
    /// A report (table function or view) by name; or `sql`.
    #[serde(default)]
    pub report: Option<String>,
    /// A table function's arguments after the period (`from`, `to`).
    #[serde(default)]
    pub args: Vec<String>,
    /// One query, with `{{period_start}}`, `{{period_end}}`, `{{tenant}}`.
    #[serde(default)]
    pub sql: Option<String>,
    /// `hourly`, `hourly :MM`, `daily HH:MM` or `weekly <day> HH:MM`, on
    /// the tenant's clock.
    pub schedule: String,
    /// `csv`, `json` or `xlsx`.
    #[serde(default = "csv_format")]
    pub format: String,
    /// The report is posted here (http or https); or `prefix`.
    #[serde(default)]
    pub webhook: Option<String>,
    /// A folder of the store the report is written to as a file.
    #[serde(default)]
    pub prefix: Option<String>,
}

fn csv_format() -> String {
    "csv".into()
}

fn lowest_score() -> i64 {
    1
}
fn highest_score() -> i64 {
    5
}
fn all_scope() -> String {
    "all".into()
}
fn one_day() -> i64 {
    24
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn env_overrides_file_defaults() {
        let mut c: Config = toml::from_str("[store]\nurl = \"/data\"\n").unwrap();
        c.apply_env(|k| match k {
            "OKO_STORE" => Some("s3://b/p".into()),
            "OKO_S3_ENDPOINT" => Some("http://127.0.0.1:5000".into()),
            "OKO_REFRESH_MS" => Some("200".into()),
            "OKO_SENDER" => Some("false".into()),
            "OKO_REPLICA" => Some("oko-2".into()),
            _ => None,
        })
        .unwrap();
        assert_eq!(c.server.refresh_ms, 200);
        assert!(!c.server.sender);
        assert_eq!(c.server.replica.as_deref(), Some("oko-2"));
        assert_eq!(c.server.lease_ttl_s, 15);
        assert_eq!(c.store.url, "s3://b/p");
        let o = c.store.storage_options();
        assert_eq!(o["AWS_ALLOW_HTTP"], "true");
        assert_eq!(o["AWS_ENDPOINT_URL"], "http://127.0.0.1:5000");
    }

    #[test]
    fn unknown_keys_are_refused() {
        assert!(toml::from_str::<Config>("[store]\nurll = \"x\"\n").is_err());
    }
}
