//! Cursors: `DECLARE … CURSOR FOR`, `FETCH`, `MOVE`, `CLOSE`. A cursor
//! keeps its query's unencoded rows, so each `FETCH` is encoded in the
//! format it asks for.

use std::collections::HashMap;
use std::fmt::Debug;
use std::sync::Arc;

use datafusion::arrow::datatypes::SchemaRef;
use datafusion::logical_expr::LogicalPlan;
use datafusion::sql::sqlparser::ast::{self, FetchDirection};
use futures::{Sink, StreamExt};
use pgwire::api::portal::{Format, Portal};
use pgwire::api::results::{QueryResponse, Response, Tag};
use pgwire::api::stmt::StoredStatement;
use pgwire::api::store::{Entry, MemPortalStore, PortalStore};
use pgwire::api::{ClientInfo, ClientPortalStore};
use pgwire::error::{PgWireError, PgWireResult};
use pgwire::messages::PgWireBackendMessage;

use crate::server::encode;
use crate::server::errors::{self, code, user_error};
use crate::server::interrupt::Guard;

use super::*;

impl Session {
    /// `DECLARE name CURSOR FOR query`: plans and starts the query; `FETCH`
    /// reads it in slices.
    pub(super) async fn declare<C>(
        &self,
        client: &mut C,
        statement: &ast::Statement,
        portal: Option<&Portal<Statement>>,
    ) -> PgWireResult<Response>
    where
        C: ClientInfo + ClientPortalStore + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::PortalStore: PortalStore,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        let ast::Statement::Declare { stmts } = statement else {
            return Err(user_error(code::SYNTAX_ERROR, "not a DECLARE statement"));
        };
        for declare in stmts {
            if declare.declare_type != Some(ast::DeclareType::Cursor) {
                return Err(user_error(
                    code::FEATURE_NOT_SUPPORTED,
                    "only DECLARE … CURSOR FOR <query> is supported",
                ));
            }
            let (Some(name), Some(query)) = (declare.names.first(), &declare.for_query) else {
                return Err(user_error(
                    code::SYNTAX_ERROR,
                    "DECLARE needs a cursor name and a FOR query",
                ));
            };
            let query_statement = ast::Statement::Query(query.clone());
            let plan =
                crate::pg_compat::column_names::plan(&self.ctx()?.state(), query_statement.clone())
                    .await
                    .map_err(errors::from_datafusion)?;
            // Parameters of `DECLARE … FOR <query with $1>` (extended protocol).
            let plan = match portal {
                Some(portal) if portal.parameter_len() > 0 => bind(&plan, portal)?,
                _ => plan,
            };
            // A cursor outlives its statement: no deadline, but a cancel
            // request still stops a FETCH in progress.
            let guard = self.interrupt.guard(None);
            let (cursor, rows) = self.cursor_rows(plan.clone(), &guard).await?;
            let stored = Arc::new(StoredStatement::new(
                name.value.clone(),
                (query.to_string(), Some((query_statement, plan))),
                vec![],
            ));
            let portal = Portal::new_cursor(name.value.clone(), stored);
            portal.start(rows).await;
            self.cursors().insert(name.value.clone(), cursor);
            portals(client)?.put_portal(Arc::new(portal));
        }
        Ok(Response::Execution(Tag::new("DECLARE CURSOR")))
    }

    /// The open cursors.
    pub(super) fn cursors(&self) -> std::sync::MutexGuard<'_, HashMap<String, Cursor>> {
        match self.cursors.lock() {
            Ok(g) => g,
            Err(poisoned) => poisoned.into_inner(),
        }
    }

    /// Checks and starts a cursor's query; its rows are encoded as each
    /// `FETCH` asks ([`encode::cursor_rows`]), text until then.
    pub(super) async fn cursor_rows(
        &self,
        plan: LogicalPlan,
        guard: &Guard,
    ) -> PgWireResult<(Cursor, QueryResponse)> {
        self.check(&plan)?;
        let ctx = self.ctx()?.clone();
        let df = guard
            .run(async move {
                ctx.execute_logical_plan(plan)
                    .await
                    .map_err(errors::from_datafusion)
            })
            .await?;
        let df = self.in_session_zone(df)?;
        let schema: SchemaRef = Arc::new(df.schema().as_arrow().clone());
        let options = Arc::new(self.vars.format_options());
        let text = encode::fields(&schema, &Format::UnifiedText, options)?;
        let fields: encode::CursorFields = Arc::new(std::sync::Mutex::new(text.clone()));
        let stream = guard
            .plan(async move {
                crate::cluster::run::execute_stream(df)
                    .await
                    .map_err(errors::from_datafusion)
            })
            .await?;
        let rows = guard.rows(encode::cursor_rows(stream, fields.clone()));
        Ok((Cursor { schema, fields }, QueryResponse::new(text, rows)))
    }

    /// `FETCH [n] FROM cursor`, its rows in `format`.
    pub(super) async fn fetch<C>(
        &self,
        client: &mut C,
        statement: &ast::Statement,
        format: &Format,
    ) -> PgWireResult<Response>
    where
        C: ClientInfo + ClientPortalStore + Unpin + Send + Sync,
        C::PortalStore: PortalStore,
    {
        let cursor = match statement {
            ast::Statement::Fetch { name, .. } => self.cursors().get(&name.value).cloned(),
            _ => None,
        };
        let fields = match &cursor {
            Some(c) => {
                let options = Arc::new(self.vars.format_options());
                let fields = encode::fields(&c.schema, format, options)?;
                match c.fields.lock() {
                    Ok(mut f) => *f = fields.clone(),
                    Err(poisoned) => *poisoned.into_inner() = fields.clone(),
                }
                Some(fields)
            }
            None => None,
        };
        let mut response = fetch(client, statement).await?;
        if let (Response::Query(q), Some(fields)) = (&mut response, fields) {
            q.row_schema = fields;
        }
        Ok(response)
    }
}

/// `FETCH [n] FROM cursor`.
pub(super) async fn fetch<C>(client: &mut C, statement: &ast::Statement) -> PgWireResult<Response>
where
    C: ClientInfo + ClientPortalStore + Unpin + Send + Sync,
    C::PortalStore: PortalStore,
{
    let ast::Statement::Fetch {
        name, direction, ..
    } = statement
    else {
        return Err(user_error(code::SYNTAX_ERROR, "not a FETCH statement"));
    };
    let count = |v: &ast::Value| match v {
        ast::Value::Number(n, _) => n.parse::<usize>().ok(),
        _ => None,
    };
    let max_rows = match direction {
        FetchDirection::Next | FetchDirection::Forward { limit: None } => 1,
        FetchDirection::Forward { limit: Some(v) } | FetchDirection::Count { limit: v } => {
            count(v).ok_or_else(|| user_error(code::SYNTAX_ERROR, "FETCH needs a row count"))?
        }
        // 0 = every remaining row.
        FetchDirection::ForwardAll | FetchDirection::All => 0,
        _ => {
            return Err(user_error(
                code::FEATURE_NOT_SUPPORTED,
                "cursor can only scan forward",
            ));
        }
    };
    let portal = match portals(client)?.get_portal(&name.value) {
        Some(Entry::Value(p)) => p,
        _ => {
            return Err(user_error(
                "34000",
                format!("cursor \"{}\" does not exist", name.value),
            ));
        }
    };
    let mut fetched = portal.fetch(max_rows).await?;
    // A finished cursor answers with no rows but keeps its columns.
    if fetched.response.row_schema.is_empty()
        && let Some((_, plan)) = &portal.statement.statement.1
    {
        fetched.response.row_schema = plan_fields(plan, &Format::UnifiedText)?;
    }
    Ok(Response::Query(fetched.response))
}

/// The connection's statements and portals, whichever protocol asks.
pub(super) fn portals<C>(client: &C) -> PgWireResult<&MemPortalStore<Statement>>
where
    C: ClientPortalStore,
    C::PortalStore: PortalStore,
{
    client
        .portal_store()
        .as_any()
        .downcast_ref::<MemPortalStore<Statement>>()
        .ok_or_else(|| user_error(code::INTERNAL_ERROR, "the connection has no portal store"))
}

/// `MOVE [FORWARD] [n | ALL] [FROM | IN] cursor`: skips rows of a cursor
/// (sqlparser cannot read MOVE; asyncpg's `Cursor.forward` sends it).
pub(super) async fn move_cursor<C>(client: &mut C, text: &str) -> PgWireResult<Response>
where
    C: ClientInfo + ClientPortalStore + Unpin + Send + Sync,
    C::PortalStore: PortalStore,
{
    let words: Vec<&str> = text
        .trim()
        .trim_end_matches(';')
        .split_whitespace()
        .collect();
    let Some(name) = words.last().filter(|_| words.len() >= 2) else {
        return Err(user_error(code::SYNTAX_ERROR, "MOVE needs a cursor name"));
    };
    let name = name.trim_matches('"');
    let all = words.iter().any(|w| w.eq_ignore_ascii_case("all"));
    let count = words[1..words.len() - 1]
        .iter()
        .find_map(|w| w.parse::<usize>().ok())
        .unwrap_or(1);
    let portal = match portals(client)?.get_portal(name) {
        Some(Entry::Value(p)) => p,
        _ => {
            return Err(user_error(
                "34000",
                format!("cursor \"{name}\" does not exist"),
            ));
        }
    };
    let mut skipped = portal.fetch(if all { 0 } else { count }).await?;
    let mut moved = 0;
    while let Some(row) = skipped.response.data_rows.next().await {
        row?;
        moved += 1;
    }
    Ok(Response::Execution(Tag::new("MOVE").with_rows(moved)))
}
