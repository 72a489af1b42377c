//! One statement's job on the cluster: submitted to the scheduler, watched
//! until it ends, its result partitions read from the executors — and
//! cancelled on the scheduler when the statement stops waiting for it.
//!
//! Ballista's own client (`execute_physical_plan`) keeps the job id to
//! itself, so a statement cancelled by its client or stopped by
//! `statement_timeout` left its job running: the executors kept computing
//! rows nobody would read, holding their task slots from the statements
//! that came next. Here the job is held by a [`Running`] guard from the
//! moment the scheduler names it until it ends; dropping the guard before
//! that (the statement's future is dropped) cancels the job.

use std::sync::Arc;
use std::time::Duration;

use ballista_core::client::BallistaClient;
use ballista_core::extension::SessionConfigExt;
use ballista_core::serde::protobuf::scheduler_grpc_client::SchedulerGrpcClient;
use ballista_core::serde::protobuf::{
    CancelJobParams, ExecuteQueryParams, GetJobStatusParams, KeyValuePair, PartitionLocation,
    SuccessfulJob, execute_query_params::Query, execute_query_result, job_status,
};
use ballista_core::utils::{GrpcClientConfig, create_grpc_client_endpoint};
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::common::{DataFusionError, Result};
use datafusion::execution::SendableRecordBatchStream;
use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use datafusion::prelude::SessionConfig;
use futures::{StreamExt, TryStreamExt};
use tonic::transport::Channel;

/// How often the job's status is asked for while it runs.
const POLL: Duration = Duration::from_millis(50);

/// What went wrong with a statement on the cluster.
enum Trouble {
    /// The scheduler or an executor could not be reached or answered
    /// nonsense: the cluster is the matter, not the statement.
    Cluster(String),
    /// The job ran and failed (an error in the statement's data, or the
    /// executors gave up): the statement's own error.
    Job(String),
}

impl Trouble {
    fn error(self, scheduler_url: &str) -> DataFusionError {
        DataFusionError::Execution(match self {
            Trouble::Cluster(e) => format!(
                "the cluster (scheduler {scheduler_url}) failed the statement: {e}; check that \
                 the scheduler and its executors are running, or unset [cluster] scheduler to \
                 run here"
            ),
            Trouble::Job(e) => {
                format!("the statement failed on the cluster (scheduler {scheduler_url}): {e}")
            }
        })
    }
}

/// A job the scheduler has accepted and that has not ended yet.
struct Running {
    scheduler: SchedulerGrpcClient<Channel>,
    job_id: String,
    ended: bool,
}

impl Drop for Running {
    fn drop(&mut self) {
        if self.ended {
            return;
        }
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        let mut scheduler = self.scheduler.clone();
        let job_id = std::mem::take(&mut self.job_id);
        runtime.spawn(async move {
            tracing::debug!(%job_id, "the statement stopped waiting: cancelling its job");
            if let Err(e) = scheduler
                .cancel_job(CancelJobParams {
                    job_id: job_id.clone(),
                })
                .await
            {
                tracing::warn!(%job_id, "could not cancel the job on the cluster: {e}");
            }
        });
    }
}

/// Runs the encoded physical plan `plan` (of result schema `schema`) on the
/// scheduler at `scheduler_url` (`http://HOST:PORT`) with the settings of
/// `config`. Returns once the scheduler has accepted the job; the stream
/// waits for the job to end, then reads its rows. Every error, here or in
/// the stream, names the scheduler; one of the cluster's own says what to
/// check.
pub async fn run(
    scheduler_url: &str,
    plan: Vec<u8>,
    schema: SchemaRef,
    config: &SessionConfig,
) -> Result<SendableRecordBatchStream> {
    let scheduler_url = scheduler_url.to_string();
    let failed = |e: &dyn std::fmt::Display| Trouble::Cluster(e.to_string()).error(&scheduler_url);
    let ballista = config.ballista_config();
    let grpc = GrpcClientConfig::from(&ballista);
    let channel = create_grpc_client_endpoint(scheduler_url.clone(), Some(&grpc))
        .map_err(|e| failed(&e))?
        .connect()
        .await
        .map_err(|e| failed(&e))?;
    let max_message = ballista.grpc_client_max_message_size();
    let mut scheduler = SchedulerGrpcClient::new(channel)
        .max_encoding_message_size(max_message)
        .max_decoding_message_size(max_message);

    let settings = config
        .options()
        .entries()
        .into_iter()
        .map(|e| KeyValuePair {
            key: e.key,
            value: e.value,
        })
        .collect();
    let mut request = tonic::Request::new(ExecuteQueryParams {
        query: Some(Query::PhysicalPlan(plan)),
        settings,
        session_id: uuid::Uuid::new_v4().to_string(),
        operation_id: uuid::Uuid::new_v4().to_string(),
    });
    ballista_core::version::insert_version_header(request.metadata_mut());
    let response = scheduler
        .execute_query(request)
        .await
        .map_err(|e| failed(&e.message()))?;
    let job_id = match response.into_inner().result {
        Some(execute_query_result::Result::Success(ok)) => ok.job_id,
        Some(execute_query_result::Result::Failure(failure)) => {
            return Err(failed(&format_args!("it refused the job: {failure:?}")));
        }
        None => return Err(failed(&"it answered the job submission with nothing")),
    };
    let job = Running {
        scheduler,
        job_id,
        ended: false,
    };
    let fetch = Arc::new(Fetch {
        max_message,
        use_tls: grpc.use_tls,
        retries: grpc.io_retries_times,
        retry_wait_ms: grpc.io_retry_wait_time_ms,
    });
    // The job is waited for by the stream, not here: a statement stopped
    // while it runs drops the stream (and with it the job, cancelled).
    let rows = async move {
        let locations = job.finished().await?;
        Ok::<_, Trouble>(
            futures::stream::iter(locations)
                .map(move |location| {
                    let fetch = fetch.clone();
                    futures::stream::once(async move { fetch.partition(location).await })
                        .try_flatten()
                        .map_err(|e| Trouble::Cluster(e.to_string()))
                })
                .flatten(),
        )
    };
    Ok(Box::pin(RecordBatchStreamAdapter::new(
        schema,
        futures::stream::once(rows)
            .try_flatten()
            .map_err(move |e| e.error(&scheduler_url)),
    )))
}

impl Running {
    /// Waits for the job to end; the locations of its result partitions
    /// when it succeeded.
    async fn finished(mut self) -> std::result::Result<Vec<PartitionLocation>, Trouble> {
        loop {
            let status = self
                .scheduler
                .get_job_status(GetJobStatusParams {
                    job_id: self.job_id.clone(),
                })
                .await
                .map_err(|e| Trouble::Cluster(e.message().to_string()))?
                .into_inner()
                .status
                .and_then(|s| s.status);
            match status {
                Some(job_status::Status::Successful(SuccessfulJob {
                    partition_location, ..
                })) => {
                    self.ended = true;
                    return Ok(partition_location);
                }
                Some(job_status::Status::Failed(failed)) => {
                    self.ended = true;
                    return Err(Trouble::Job(format!(
                        "job {}: {}",
                        self.job_id, failed.error
                    )));
                }
                None | Some(_) => tokio::time::sleep(POLL).await,
            }
        }
    }
}

/// How result partitions are read from the executors that wrote them.
struct Fetch {
    max_message: usize,
    use_tls: bool,
    retries: u8,
    retry_wait_ms: u64,
}

impl Fetch {
    async fn partition(&self, location: PartitionLocation) -> Result<SendableRecordBatchStream> {
        let layout = location.layout();
        let executor = location.executor_meta.ok_or_else(|| {
            DataFusionError::Internal("the cluster named a result without its executor".into())
        })?;
        let partition = location.partition_id.ok_or_else(|| {
            DataFusionError::Internal("the cluster named a result without its partition".into())
        })?;
        let port = u16::try_from(executor.port).map_err(|_| {
            DataFusionError::Internal(format!("executor port {} is out of range", executor.port))
        })?;
        let mut client = BallistaClient::try_new(
            &executor.host,
            port,
            self.max_message,
            self.use_tls,
            None,
            self.retries,
            self.retry_wait_ms,
            0,
            0,
        )
        .await
        .map_err(|e| e.into_datafusion())?;
        client
            .fetch_partition(
                &executor.id,
                &partition.into(),
                location.file_id,
                layout,
                true,
            )
            .await
            .map_err(|e| e.into_datafusion())
    }
}
