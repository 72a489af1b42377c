//! Stopping a running statement: Postgres cancel requests and
//! `statement_timeout`, in every phase — planning, execution and while rows
//! stream to the client.
//!
//! A cancel request arrives on a *new* connection carrying the target's
//! process id and secret key; the [`Registry`] maps those to the target's
//! [`Interrupt`]. A statement takes a [`Guard`] when it starts: the guard's
//! future completes when the connection is interrupted after that moment or
//! when the statement's deadline passes. Wrapping the row stream with the
//! guard drops the DataFusion stream at once, which stops its tasks.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, Weak};
use std::task::{Context, Poll};
use std::time::Duration;

use futures::Stream;
use pgwire::api::results::SendableRowStream;
use pgwire::error::{ErrorInfo, PgWireError, PgWireResult};
use pgwire::messages::data::DataRow;
use pgwire::messages::startup::SecretKey;
use tokio::sync::watch;
use tokio::time::Instant;

/// The cancel switch of one connection.
#[derive(Debug)]
pub struct Interrupt {
    /// Bumped by every cancel request; a guard remembers the value it saw.
    generation: watch::Sender<u64>,
}

impl Default for Interrupt {
    fn default() -> Self {
        Interrupt {
            generation: watch::channel(0).0,
        }
    }
}

impl Interrupt {
    /// Stops whatever statement of this connection is running now.
    pub fn cancel(&self) {
        self.generation.send_modify(|g| *g = g.wrapping_add(1));
    }

    /// A guard for a statement starting now, with an optional time limit.
    pub fn guard(&self, timeout: Option<Duration>) -> Guard {
        Guard {
            cancelled: self.generation.subscribe(),
            deadline: timeout.map(|t| Instant::now() + t),
        }
    }
}

/// How many statements may plan at the same time.
pub const PLANNING_THREADS: usize = 8;

static PLANNING: std::sync::LazyLock<Arc<tokio::sync::Semaphore>> =
    std::sync::LazyLock::new(|| Arc::new(tokio::sync::Semaphore::new(PLANNING_THREADS)));

fn internal(message: &str) -> PgWireError {
    PgWireError::UserError(Box::new(ErrorInfo::new(
        "ERROR".into(),
        "XX000".into(),
        message.into(),
    )))
}

/// Why a statement was stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stop {
    Cancelled,
    TimedOut,
}

impl Stop {
    /// The error PostgreSQL sends in this case (SQLSTATE 57014).
    pub fn error(self) -> PgWireError {
        let message = match self {
            Stop::Cancelled => "canceling statement due to user request",
            Stop::TimedOut => "canceling statement due to statement timeout",
        };
        PgWireError::UserError(Box::new(ErrorInfo::new(
            "ERROR".into(),
            "57014".into(),
            message.into(),
        )))
    }
}

/// Watches one statement for a cancel request or its deadline.
#[derive(Debug, Clone)]
pub struct Guard {
    cancelled: watch::Receiver<u64>,
    deadline: Option<Instant>,
}

impl Guard {
    /// Completes when the statement must stop.
    pub fn stopped(&self) -> impl Future<Output = Stop> + Send + 'static {
        let mut cancelled = self.cancelled.clone();
        let deadline = self.deadline;
        async move {
            let timeout = async {
                match deadline {
                    Some(d) => tokio::time::sleep_until(d).await,
                    None => std::future::pending().await,
                }
            };
            let cancel = async {
                // The sender lives as long as the connection; if it is gone
                // nobody can cancel any more.
                if cancelled.changed().await.is_err() {
                    std::future::pending::<()>().await;
                }
            };
            tokio::select! {
                _ = cancel => Stop::Cancelled,
                _ = timeout => Stop::TimedOut,
            }
        }
    }

    /// Runs `work` unless the statement is stopped first.
    pub async fn run<T>(&self, work: impl Future<Output = PgWireResult<T>>) -> PgWireResult<T> {
        tokio::select! {
            result = work => result,
            stop = self.stopped() => Err(stop.error()),
        }
    }

    /// Runs CPU-bound statement work (planning, optimising) on a thread of
    /// its own, unless the statement is stopped first. The runtime's worker
    /// threads stay free for every other session meanwhile; a stopped
    /// statement is answered at once, its abandoned planning finishes in
    /// the background (bounded by [`super::limits`]). At most
    /// [`PLANNING_THREADS`] statements plan at once; the others wait, still
    /// under their guard.
    pub async fn plan<T: Send + 'static>(
        &self,
        work: impl Future<Output = PgWireResult<T>> + Send + 'static,
    ) -> PgWireResult<T> {
        self.run(async move {
            let permit = PLANNING
                .clone()
                .acquire_owned()
                .await
                .map_err(|_| internal("the planning threads are gone"))?;
            let runtime = tokio::runtime::Handle::current();
            tokio::task::spawn_blocking(move || {
                let _permit = permit;
                runtime.block_on(work)
            })
            .await
            .map_err(|e| internal(&format!("planning failed: {e}")))?
        })
        .await
    }

    /// The rows of `rows` until the statement is stopped; then one error
    /// and the end (the inner stream is dropped, which stops its work).
    pub fn rows(&self, rows: SendableRowStream) -> SendableRowStream {
        Box::pin(GuardedRows {
            rows: Some(rows),
            stopped: Box::pin(self.stopped()),
        })
    }
}

struct GuardedRows {
    rows: Option<SendableRowStream>,
    stopped: Pin<Box<dyn Future<Output = Stop> + Send>>,
}

impl Stream for GuardedRows {
    type Item = PgWireResult<DataRow>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let Some(rows) = self.rows.as_mut() else {
            return Poll::Ready(None);
        };
        let polled = rows.as_mut().poll_next(cx);
        if let Poll::Ready(None) = polled {
            self.rows = None;
            return Poll::Ready(None);
        }
        if let Poll::Ready(stop) = self.stopped.as_mut().poll(cx) {
            self.rows = None;
            return Poll::Ready(Some(Err(stop.error())));
        }
        polled
    }
}

/// A physical optimizer rule that gives every operator of a client's plan
/// a yield point (DataFusion's `CooperativeExec`: a unit of the task's
/// budget per batch).
///
/// A stopped statement drops its stream, which aborts the tasks computing
/// it — but a task only notices at its next yield. Operators that make
/// batches from memory (a cross or nested-loop join over collected inputs)
/// never yielded: a `SELECT count(*) FROM leads a, leads b, leads c` kept
/// both cores busy for hours after its client got 57014. With a yield
/// point above every operator, an aborted task ends within a batch.
#[derive(Debug, Default)]
pub struct YieldPoints;

impl datafusion::physical_optimizer::PhysicalOptimizerRule for YieldPoints {
    fn optimize(
        &self,
        plan: Arc<dyn datafusion::physical_plan::ExecutionPlan>,
        _config: &datafusion::common::config::ConfigOptions,
    ) -> datafusion::common::Result<Arc<dyn datafusion::physical_plan::ExecutionPlan>> {
        use datafusion::common::tree_node::{Transformed, TreeNode};
        use datafusion::physical_plan::coop::CooperativeExec;
        plan.transform_up(|node| {
            // Leaves that read files yield already.
            let leaf = node.children().is_empty();
            if leaf || node.is::<CooperativeExec>() {
                return Ok(Transformed::no(node));
            }
            Ok(Transformed::yes(Arc::new(CooperativeExec::new(node))))
        })
        .map(|t| t.data)
    }

    fn name(&self) -> &str {
        "oko_yield_points"
    }

    fn schema_check(&self) -> bool {
        true
    }
}

/// A connection's secret key and its cancel switch.
type Entry = (Vec<u8>, Weak<Interrupt>);

/// Every live connection's cancel switch, by process id.
#[derive(Debug, Default)]
pub struct Registry {
    connections: Mutex<HashMap<i32, Entry>>,
}

impl Registry {
    /// Records a connection's process id and secret key.
    pub fn register(&self, pid: i32, key: &SecretKey, interrupt: &Arc<Interrupt>) {
        let mut map = match self.connections.lock() {
            Ok(m) => m,
            Err(poisoned) => poisoned.into_inner(),
        };
        map.retain(|_, (_, w)| w.strong_count() > 0);
        map.insert(pid, (key.to_bytes().to_vec(), Arc::downgrade(interrupt)));
    }

    /// Handles a cancel request; a wrong key is ignored, as PostgreSQL does.
    pub fn cancel(&self, pid: i32, key: &SecretKey) -> bool {
        let target = {
            let map = match self.connections.lock() {
                Ok(m) => m,
                Err(poisoned) => poisoned.into_inner(),
            };
            map.get(&pid)
                .filter(|(k, _)| k.as_slice() == key.to_bytes().as_ref())
                .and_then(|(_, w)| w.upgrade())
        };
        match target {
            Some(interrupt) => {
                interrupt.cancel();
                true
            }
            None => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures::StreamExt;

    #[tokio::test]
    async fn a_cancel_stops_a_stream_that_never_ends() {
        let interrupt = Arc::new(Interrupt::default());
        let guard = interrupt.guard(None);
        let endless: SendableRowStream = Box::pin(futures::stream::pending());
        let mut rows = guard.rows(endless);
        let canceller = interrupt.clone();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(20)).await;
            canceller.cancel();
        });
        let first = rows.next().await.expect("an error row");
        let PgWireError::UserError(info) = first.unwrap_err() else {
            panic!("not a user error");
        };
        assert_eq!(info.code, "57014");
        assert!(rows.next().await.is_none());
    }

    #[tokio::test]
    async fn a_deadline_stops_work() {
        let interrupt = Interrupt::default();
        let guard = interrupt.guard(Some(Duration::from_millis(10)));
        let result: PgWireResult<()> = guard.run(std::future::pending()).await;
        let PgWireError::UserError(info) = result.unwrap_err() else {
            panic!("not a user error");
        };
        assert!(info.message.contains("statement timeout"));
    }

    #[tokio::test]
    async fn planning_that_never_yields_is_still_stopped() {
        let interrupt = Interrupt::default();
        let guard = interrupt.guard(Some(Duration::from_millis(50)));
        let started = std::time::Instant::now();
        // Busy for a second without awaiting anything, like a planner
        // working through a huge expression.
        let result: PgWireResult<()> = guard
            .plan(async {
                let until = std::time::Instant::now() + Duration::from_secs(1);
                while std::time::Instant::now() < until {
                    std::hint::spin_loop();
                }
                Ok(())
            })
            .await;
        assert!(result.is_err());
        assert!(started.elapsed() < Duration::from_millis(900));
    }

    #[tokio::test]
    async fn an_earlier_cancel_does_not_stop_a_later_statement() {
        let interrupt = Interrupt::default();
        interrupt.cancel();
        let guard = interrupt.guard(None);
        let result = guard.run(async { Ok(5) }).await;
        assert_eq!(result.unwrap(), 5);
    }

    #[test]
    fn a_wrong_key_cancels_nothing() {
        let registry = Registry::default();
        let interrupt = Arc::new(Interrupt::default());
        registry.register(7, &SecretKey::I32(42), &interrupt);
        assert!(!registry.cancel(7, &SecretKey::I32(41)));
        assert!(registry.cancel(7, &SecretKey::I32(42)));
        drop(interrupt);
        assert!(!registry.cancel(7, &SecretKey::I32(42)));
    }
}
