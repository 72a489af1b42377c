//! Report calls shared between statements, kept in the result cache
//! ([`crate::engine::shared`] says what a call does).
//!
//! A report call's result is an entry of the result cache under a key of
//! its own: the report's rendered SQL, with the user, role, tenant and
//! settings the cache keys a statement on. It is labelled, like a
//! statement's, with the generation of every live table read *before* the
//! report is planned (a report may read any of them), so a commit to any
//! table makes the next call compute again; it takes the cache's memory and
//! obeys its switch (`SET oko.result_cache = off` computes every call).
//!
//! While a call computes, the same call from another statement waits for
//! its rows ([`WAIT`] at most) instead of computing them twice: the panels
//! of a dashboard arrive together. A statement that is computing a report
//! never waits for another statement, and never for itself (a query may
//! call a report twice), so no two statements wait for each other.

use std::collections::HashMap;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use async_trait::async_trait;
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::common::Result;
use datafusion::execution::context::SessionState;
use datafusion::execution::{RecordBatchStream, SendableRecordBatchStream};
use futures::Stream;
use tokio::sync::watch;

use super::result_cache::{Key, Reads, ResultCache};
use crate::auth::Principal;
use crate::engine::shared::{Claim, Fill, ShareReports};
use crate::pg_compat::vars::Vars;

/// The longest a call waits for the same call in another statement before
/// it computes the report itself.
pub const WAIT: Duration = Duration::from_secs(2);

/// The server's shared report calls.
#[derive(Debug)]
pub struct ReportShare {
    cache: Arc<ResultCache>,
    flights: Arc<Mutex<HashMap<Key, Flight>>>,
}

/// A call being computed.
#[derive(Debug)]
struct Flight {
    /// The connection computing it ([`connection`]).
    session: usize,
    /// Changes (its sender is dropped) when the call's rows are kept or
    /// given up.
    done: watch::Receiver<()>,
}

impl ReportShare {
    pub fn new(cache: Arc<ResultCache>) -> ReportShare {
        ReportShare {
            cache,
            flights: Arc::default(),
        }
    }
}

/// A connection's identity while it lives: its settings, which are its
/// own (sessions are copies of one template, with one DataFusion session
/// id between them).
fn connection(vars: &Arc<Vars>) -> usize {
    Arc::as_ptr(vars) as usize
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    match m.lock() {
        Ok(g) => g,
        Err(poisoned) => poisoned.into_inner(),
    }
}

#[async_trait]
impl ShareReports for ReportShare {
    async fn claim(&self, state: &SessionState, report: &str, sql: &str) -> Claim {
        let config = state.config();
        let (Some(principal), Some(vars)) = (
            config.get_extension::<Principal>(),
            config.get_extension::<Vars>(),
        ) else {
            return Claim::Alone;
        };
        if !self.cache.enabled_for(&vars) {
            return Claim::Alone;
        }
        let key = ResultCache::key(
            &format!("\u{1}report {report}\0{sql}"),
            "",
            &principal,
            &vars,
        );
        if let Some(hit) = self.cache.get(&key) {
            return Claim::Done(hit.schema, hit.batches);
        }
        let session = connection(&vars);
        let mut done = {
            let mut flights = lock(&self.flights);
            match flights.get(&key) {
                None => {
                    let (sender, done) = watch::channel(());
                    flights.insert(key.clone(), Flight { session, done });
                    let guard = FlightGuard {
                        flights: self.flights.clone(),
                        key: key.clone(),
                        _sender: sender,
                    };
                    return Claim::Compute(Arc::new(ReportFill {
                        cache: self.cache.clone(),
                        key,
                        reads: self.cache.reads_now(),
                        guard: Mutex::new(Some(guard)),
                    }));
                }
                Some(flight)
                    if flight.session != session
                        && !flights.values().any(|f| f.session == session) =>
                {
                    flight.done.clone()
                }
                Some(_) => return Claim::Alone,
            }
        };
        let _ = tokio::time::timeout(WAIT, done.changed()).await;
        match self.cache.get(&key) {
            Some(hit) => Claim::Done(hit.schema, hit.batches),
            None => Claim::Alone,
        }
    }
}

/// Ends a flight when dropped: its entry leaves the map and its waiters
/// wake.
#[derive(Debug)]
struct FlightGuard {
    flights: Arc<Mutex<HashMap<Key, Flight>>>,
    key: Key,
    _sender: watch::Sender<()>,
}

impl Drop for FlightGuard {
    fn drop(&mut self) {
        lock(&self.flights).remove(&self.key);
    }
}

/// Keeps one call's rows in the cache; its flight ends when they are kept,
/// when the stream fails or is dropped, or when the plan is dropped
/// without running.
#[derive(Debug)]
struct ReportFill {
    cache: Arc<ResultCache>,
    key: Key,
    /// The generations before the report was planned.
    reads: Reads,
    guard: Mutex<Option<FlightGuard>>,
}

impl Fill for ReportFill {
    fn fill(&self, stream: SendableRecordBatchStream) -> SendableRecordBatchStream {
        let Some(guard) = lock(&self.guard).take() else {
            return stream;
        };
        let filling = self
            .cache
            .fill(self.key.clone(), self.reads.clone(), stream);
        Box::pin(Flying {
            schema: filling.schema(),
            inner: filling,
            guard: Some(guard),
        })
    }
}

/// A call's rows on their way up; ends the flight with the stream.
struct Flying {
    schema: SchemaRef,
    inner: SendableRecordBatchStream,
    guard: Option<FlightGuard>,
}

impl Stream for Flying {
    type Item = Result<RecordBatch>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let next = self.inner.as_mut().poll_next(cx);
        if matches!(next, Poll::Ready(None) | Poll::Ready(Some(Err(_)))) {
            self.guard = None;
        }
        next
    }
}

impl RecordBatchStream for Flying {
    fn schema(&self) -> SchemaRef {
        self.schema.clone()
    }
}
