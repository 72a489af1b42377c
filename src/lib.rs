//! OKO: an embedded analytical engine for customer-service quality.
//!
//! Customer contacts ("leads") and ratings live as Delta Lake tables in
//! object storage; DataFusion computes the KPI reports; PostgreSQL clients
//! read them over the wire. Layers, lowest first — a module uses only those
//! above it in this table, never one below:
//!
//! | module | what it is for |
//! |---|---|
//! | [`model`] | the tables: schemas, keys, partitioning — the one place column names live in Rust |
//! | [`auth`] | users, roles, SCRAM-SHA-256 verifiers and the server side of the exchange |
//! | [`config`] | the TOML configuration, `OKO_*` variables |
//! | [`sqlstate`] | SQLSTATE codes, and errors that carry one through DataFusion |
//! | [`durable`] | a local store folder whose writes are fsynced before they are acknowledged |
//! | [`lease`] | one sender among several replicas over one store: a lease kept in the store |
//! | [`store`] | Delta tables under one URL (local folder or S3); writing to them (commit, delete, compact) |
//! | [`ingest`] | loading CSV / JSON lines / Parquet exports: mapping, validation, one commit per load |
//! | [`generate`] | a deterministic, realistic export set for demos, tests and benchmarks |
//! | [`demo`] | the embedded demo dataset |
//! | [`lifecycle`] | compaction, retention, erasure, vacuum |
//! | [`engine`] | a DataFusion session with our functions, the SQL of `sql/`, the report table functions |
//! | [`live`] | tables that follow new Delta commits; `INSERT`/`DELETE` into them |
//! | [`pg_compat`] | the PostgreSQL emulation: catalogs, settings, functions, query rewrites |
//! | [`notify`] | new ratings pushed to subscribed webhooks (Slack-compatible JSON) |
//! | [`deliver`] | a tenant's reports sent on a schedule (CSV, JSON, XLSX) to a webhook or a store folder |
//! | [`cluster`] | scale-out on Apache Ballista: `oko scheduler`, `oko executor`, statements sent to them |
//! | [`server`] | `oko serve`: the PostgreSQL wire protocol, one session per connection |
//! | [`cli`] | the `oko` command line: flags, dispatch, printing |

// A failure is an error for the caller, never a panic of the process.
#![deny(clippy::unwrap_used, clippy::expect_used)]

pub mod auth;
pub mod cli;
pub mod cluster;
pub mod config;
pub mod deliver;
pub mod demo;
pub mod durable;
pub mod engine;
pub mod generate;
pub mod ingest;
pub mod lease;
pub mod lifecycle;
pub mod live;
pub mod model;
pub mod notify;
pub mod pg_compat;
pub mod server;
pub mod sqlstate;
pub mod store;
