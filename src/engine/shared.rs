//! Report calls shared between statements.
//!
//! A dashboard calls the same report with the same arguments from several
//! panels (the summary for leads, requests, ratings and CSAT; the hourly
//! contact-centre report for four charts), and Grafana sends those panels
//! at once. Each call used to plan and sum the report on its own. A
//! session may carry a [`SharedReports`] (the server's sessions do: the
//! result cache, [`crate::server::result_cache`], behind it): a report call
//! asks it first ([`ShareReports::claim`]) and
//! - gets the rows another statement computed for the same call, while no
//!   table has a newer snapshot ([`Claim::Done`]; no planning at all),
//! - or computes the report and leaves its rows for the others
//!   ([`Claim::Compute`]: the report's plan, `ReportExec`, gathers its whole
//!   result in one partition and hands it to the [`Fill`] on its way up);
//!   a call that arrives meanwhile waits for those rows instead of
//!   computing them again,
//! - or computes it alone ([`Claim::Alone`]).
//!
//! The key is the report's rendered SQL (its arguments and the tenants the
//! query allows) with everything the result cache keys a statement on (the
//! user, role, tenant and settings): a call that could see other rows never
//! gets these. Its projection is not in the key: the whole result is kept
//! and each call takes its columns.

use std::fmt;
use std::sync::Arc;

use async_trait::async_trait;
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::execution::SendableRecordBatchStream;
use datafusion::execution::context::SessionState;

/// A session config extension: where this session's report calls are
/// shared (see the module's documentation).
#[derive(Debug, Clone)]
pub struct SharedReports(pub Arc<dyn ShareReports>);

/// What a report call does, told by [`ShareReports::claim`].
pub enum Claim {
    /// The rows of the whole report, computed by another statement.
    Done(SchemaRef, Vec<RecordBatch>),
    /// Compute it, and hand its rows to this fill.
    Compute(Arc<dyn Fill>),
    /// Compute it, keeping nothing.
    Alone,
}

#[async_trait]
pub trait ShareReports: fmt::Debug + Send + Sync {
    /// What the call of `report` rendered as `sql` does in `state`.
    async fn claim(&self, state: &SessionState, report: &str, sql: &str) -> Claim;
}

/// Keeps a report's rows for other calls.
pub trait Fill: fmt::Debug + Send + Sync {
    /// `stream`, whose rows are kept once it has been read to its end.
    /// Called once; a call that comes after passes its stream on as is.
    fn fill(&self, stream: SendableRecordBatchStream) -> SendableRecordBatchStream;
}
