//! The session's side of [`crate::server::fast_path`] and
//! [`crate::server::result_cache`]: answering a checkout ping from the
//! fast path's table, and a statement from the cache, with the same row
//! descriptions and rows the planned path sends.

use std::sync::Arc;

use datafusion::arrow::array::RecordBatch;
use datafusion::execution::SendableRecordBatchStream;
use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use pgwire::api::ClientInfo;
use pgwire::api::portal::{Format, Portal};
use pgwire::api::results::{QueryResponse, Response};
use pgwire::error::PgWireResult;
use pgwire::messages::response::TransactionStatus;

use crate::server::fast_path;
use crate::server::result_cache::{Key, ResultCache};

use super::*;

/// Where a statement's result may be looked up and kept.
pub(super) type CacheSlot = Option<(Arc<ResultCache>, Key)>;

impl Session {
    /// A simple query that is exactly one checkout ping, answered without
    /// parsing or planning; `None`: the query takes the usual path (also
    /// in a failed transaction block, which answers `25P02`).
    pub(super) fn fast_simple<C: ClientInfo>(&self, client: &C, query: &str) -> Option<Response> {
        if client.transaction_status() == TransactionStatus::Error
            || !fast_path::enabled(&self.vars)
            || self.ctx().is_err()
        {
            return None;
        }
        let batch = fast_path::recognise(query)?.answer(&self.vars)?;
        self.batch_response(batch, &Format::UnifiedText).ok()
    }

    /// `Execute` of a statement whose `Parse` took the fast path: the
    /// answer, or (when a setting it depends on changed since) the
    /// statement planned and run now.
    pub(super) async fn fast_extended(
        &self,
        text: &str,
        statement: &ast::Statement,
        format: &Format,
    ) -> PgWireResult<Response> {
        if let Some(batch) = fast_path::recognise(text).and_then(|c| c.answer(&self.vars)) {
            return self.batch_response(batch, format);
        }
        let guard = self.interrupt.guard(self.vars.statement_timeout());
        let state = self.ctx()?.state();
        let statement = statement.clone();
        let plan = guard
            .plan(async move {
                crate::pg_compat::column_names::plan(&state, statement)
                    .await
                    .map_err(errors::from_datafusion)
            })
            .await?;
        self.execute(plan, format, &guard, None).await
    }

    /// Where `statement`'s result is cached for this session (with the
    /// extended protocol's bound `parameters`), unless the cache is off
    /// for it.
    pub(super) fn cache_slot(&self, statement: &ast::Statement, parameters: &str) -> CacheSlot {
        let login = self.login.get().ok()?;
        let cache = login
            .ctx
            .state_ref()
            .read()
            .config()
            .get_extension::<ResultCache>()?;
        if !cache.enabled_for(&self.vars) {
            return None;
        }
        let key = ResultCache::key(
            &statement.to_string(),
            parameters,
            &login.principal,
            &self.vars,
        );
        Some((cache, key))
    }

    /// The cached result for `slot`, if there is a valid one.
    pub(super) fn cache_hit(
        &self,
        slot: &CacheSlot,
        format: &Format,
    ) -> PgWireResult<Option<Response>> {
        let Some((cache, key)) = slot else {
            return Ok(None);
        };
        match cache.get(key) {
            Some(hit) => self.stream_response(hit.stream(), format).map(Some),
            None => Ok(None),
        }
    }

    /// One batch as a query's answer.
    fn batch_response(&self, batch: RecordBatch, format: &Format) -> PgWireResult<Response> {
        let stream: SendableRecordBatchStream = Box::pin(RecordBatchStreamAdapter::new(
            batch.schema(),
            futures::stream::iter([Ok(batch)]),
        ));
        self.stream_response(stream, format)
    }

    /// Rows already computed, encoded as the planned path encodes them.
    fn stream_response(
        &self,
        stream: SendableRecordBatchStream,
        format: &Format,
    ) -> PgWireResult<Response> {
        let options = Arc::new(self.vars.format_options());
        let fields = encode::fields(&stream.schema(), format, options)?;
        let rows = encode::rows(stream, fields.clone());
        Ok(Response::Query(QueryResponse::new(fields, rows)))
    }
}

/// The bound values of a portal as part of a cache key: their bytes,
/// formats and declared types.
pub(super) fn bound_parameters(portal: &Portal<Statement>) -> String {
    format!(
        "{:?}|{:?}|{:?}",
        portal.parameters, portal.parameter_format, portal.statement.parameter_types
    )
}
