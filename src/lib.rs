//! OKO: an embedded analytical engine for customer-service quality.
//!
//! Customer contacts ("leads") and ratings live as Delta Lake tables in
//! object storage; DataFusion computes the KPI reports.
//!
//! | module | what it is for |
//! |---|---|
//! | [`model`] | the tables: schemas, keys, partitioning — the one place column names live in Rust |
//! | [`auth`] | users, roles, SCRAM-SHA-256 verifiers and the server side of the exchange |
//! | [`config`] | the TOML configuration, `OKO_*` variables |
//! | [`durable`] | a local store folder whose writes are fsynced before they are acknowledged |
//! | [`store`] | Delta tables under one URL (local folder or S3), registered in a session |
//! | [`ingest`] | loading CSV / JSON lines / Parquet exports: mapping, validation, one commit per load |
//! | [`generate`] | a deterministic, realistic export set for demos, tests and benchmarks |
//! | [`lifecycle`] | compaction, retention, erasure, vacuum |
//! | [`engine`] | a DataFusion session with our functions and tables |
//! | [`notify`] | new ratings pushed to subscribed webhooks (Slack-compatible JSON) |
//! | [`server`] | `oko serve`: the PostgreSQL wire protocol, one session per connection, live tables |
//! | [`cli`] | the `oko` command line |

pub mod auth;
pub mod cli;
pub mod config;
pub mod demo;
pub mod durable;
pub mod engine;
pub mod generate;
pub mod ingest;
pub mod lifecycle;
pub mod model;
pub mod notify;
pub mod server;
pub mod store;
