//! The simple query protocol: a query message with any number of
//! statements, run in order until the first error.

use std::fmt::Debug;

use async_trait::async_trait;
use datafusion::sql::sqlparser::ast::{self};
use futures::{Sink, SinkExt};
use pgwire::api::portal::Format;
use pgwire::api::query::SimpleQueryHandler;
use pgwire::api::results::{Response, Tag};
use pgwire::api::store::PortalStore;
use pgwire::api::{ClientInfo, ClientPortalStore, PgWireConnectionState};
use pgwire::error::{ErrorInfo, PgWireError, PgWireResult};
use pgwire::messages::PgWireBackendMessage;
use pgwire::messages::response::{ReadyForQuery, TransactionStatus};
use pgwire::messages::simplequery::Query;

use crate::server::errors::{self};

use super::*;

impl Session {
    /// Runs one statement of a simple query.
    pub(super) async fn simple<C>(
        &self,
        client: &mut C,
        statement: ast::Statement,
    ) -> PgWireResult<Response>
    where
        C: ClientInfo + ClientPortalStore + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::PortalStore: PortalStore,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        check_not_aborted(client, &statement)?;
        if let Some(kind) = utility(&statement) {
            return self.utility(client, kind, &statement).await;
        }
        refuse_copy(&statement)?;
        // A `SET TIME ZONE` earlier in the same message applies here.
        self.parser.follow_time_zone();
        let cache = self.cache_slot(&statement, "");
        if let Some(hit) = self.cache_hit(&cache, &Format::UnifiedText)? {
            return Ok(hit);
        }
        let guard = self.interrupt.guard(self.vars.statement_timeout());
        let state = self.ctx()?.state();
        let plan = guard
            .plan(async move {
                crate::pg_compat::column_names::plan(&state, statement)
                    .await
                    .map_err(errors::from_datafusion)
            })
            .await?;
        self.execute(plan, &Format::UnifiedText, &guard, cache)
            .await
    }
}

#[async_trait]
impl SimpleQueryHandler for Session {
    /// `ROLLBACK TO SAVEPOINT` in a failed block returns it to a working
    /// one, which pgwire's status bookkeeping cannot express; the rest is
    /// pgwire's.
    async fn on_query<C>(&self, client: &mut C, query: Query) -> PgWireResult<()>
    where
        C: ClientInfo + ClientPortalStore + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::PortalStore: PortalStore,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        if !is_rollback_to_savepoint(&query.query)
            || client.transaction_status() == TransactionStatus::Idle
            || !matches!(client.state(), PgWireConnectionState::ReadyForQuery)
        {
            return self._on_query(client, query).await;
        }
        client
            .feed(PgWireBackendMessage::CommandComplete(
                Tag::new("ROLLBACK").into(),
            ))
            .await?;
        client.set_transaction_status(TransactionStatus::Transaction);
        client
            .send(PgWireBackendMessage::ReadyForQuery(ReadyForQuery::new(
                TransactionStatus::Transaction,
            )))
            .await?;
        Ok(())
    }

    async fn do_query<C>(&self, client: &mut C, query: &str) -> PgWireResult<Vec<Response>>
    where
        C: ClientInfo + ClientPortalStore + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::PortalStore: PortalStore,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        // Parse the whole text at once; if that fails, statement by
        // statement, so housekeeping the parser does not know still runs
        // and the error points at the statement that is wrong.
        if let Some(e) = wire_error(query) {
            return Err(e);
        }
        if let Some(answer) = self.fast_simple(client, query) {
            return Ok(vec![answer]);
        }
        let query = &*self.parser.rewrite(query)?;
        let pieces: Vec<Result<ast::Statement, (String, PgWireError)>> =
            match self.parser.parse(query) {
                Ok(statements) => statements.into_iter().map(Ok).collect(),
                Err(_) => crate::engine::sql::split_statements(query)
                    .into_iter()
                    .flat_map(|text| match self.parser.parse(&text) {
                        Ok(s) => s.into_iter().map(Ok).collect::<Vec<_>>(),
                        Err(e) => vec![Err((text, parse_error(&e)))],
                    })
                    .collect(),
            };
        if pieces.is_empty() {
            return Ok(vec![Response::EmptyQuery]);
        }
        let mut responses = Vec::with_capacity(pieces.len());
        let last = pieces.len() - 1;
        for (i, piece) in pieces.into_iter().enumerate() {
            let result = match piece {
                Ok(statement) if i > 0 && is_copy_out(&statement) => Err(copy_out_not_first()),
                Ok(statement) => self.simple(client, statement).await,
                Err((text, e)) => match housekeeping(&text) {
                    Some("MOVE") => move_cursor(client, &text).await,
                    Some(tag) => self.accepted(client, tag).await,
                    None => Err(e),
                },
            };
            // A statement's rows are computed before the next statement
            // runs, so an error stops the batch where PostgreSQL would; the
            // last statement streams.
            let result = match result {
                Ok(Response::Query(q)) if i < last => materialize(q).await.map(Response::Query),
                other => other,
            };
            match result {
                Ok(r) => responses.push(r),
                Err(mut e) => {
                    errors::classify(&mut e);
                    tracing::debug!("statement failed: {e}");
                    responses.push(Response::Error(Box::new(ErrorInfo::from(e))));
                    break;
                }
            }
        }
        Ok(responses)
    }
}

/// Statements sqlparser cannot read that clients send as housekeeping
/// (asyncpg's pool reset sends `UNLISTEN *`).
pub(super) fn housekeeping(text: &str) -> Option<&'static str> {
    let words: Vec<String> = crate::engine::sql::code_start(text)
        .split_whitespace()
        .map(|w| w.trim_end_matches(';').to_ascii_uppercase())
        .collect();
    match words.first().map(String::as_str) {
        Some("UNLISTEN") => Some("UNLISTEN"),
        Some("LISTEN") => Some("LISTEN"),
        Some("DISCARD") if words.get(1).map(String::as_str) == Some("ALL") => Some("DISCARD ALL"),
        Some("DISCARD") => Some("DISCARD"),
        Some("MOVE") => Some("MOVE"),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    pub(super) fn housekeeping_the_parser_does_not_know_is_recognised() {
        assert_eq!(housekeeping("UNLISTEN *"), Some("UNLISTEN"));
        assert_eq!(housekeeping("discard all;"), Some("DISCARD ALL"));
        assert_eq!(housekeeping("SELECT 1"), None);
    }
}
