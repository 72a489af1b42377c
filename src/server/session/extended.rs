//! The extended query protocol: `Parse`, `Bind`, `Describe`, `Execute`.

use std::fmt::Debug;
use std::sync::Arc;

use async_trait::async_trait;
use datafusion::arrow::datatypes::{DataType, Schema};
use datafusion::common::ScalarValue;
use datafusion::common::tree_node::{TreeNode, TreeNodeRecursion};
use datafusion::logical_expr::{Expr, LogicalPlan, LogicalPlanBuilder, lit};
use datafusion::sql::sqlparser::ast::{self};
use futures::{Sink, SinkExt, StreamExt};
use pgwire::api::portal::{Format, Portal, PortalExecutionState};
use pgwire::api::query::ExtendedQueryHandler;
use pgwire::api::results::{
    DescribePortalResponse, DescribeStatementResponse, FieldInfo, Response, Tag,
};
use pgwire::api::stmt::{QueryParser, StoredStatement};
use pgwire::api::store::{Entry, PortalStore};
use pgwire::api::{ClientInfo, ClientPortalStore, DEFAULT_NAME, PgWireConnectionState, Type};
use pgwire::error::{PgWireError, PgWireResult};
use pgwire::messages::PgWireBackendMessage;
use pgwire::messages::extendedquery::Execute;
use pgwire::messages::response::{EmptyQueryResponse, TransactionStatus};

use crate::server::encode;
use crate::server::errors::{self, code, user_error};

use super::*;

/// A plan whose only job is to describe text columns (a `SHOW` in the
/// extended protocol).
pub(super) fn describe_plan(columns: &[String]) -> PgWireResult<LogicalPlan> {
    let exprs: Vec<_> = columns
        .iter()
        .map(|c| lit(ScalarValue::Utf8(None)).alias(c))
        .collect();
    LogicalPlanBuilder::empty(false)
        .project(exprs)
        .and_then(|b| b.build())
        .map_err(errors::from_datafusion)
}

/// The Postgres columns of a plan's output.
pub(super) fn plan_fields(
    plan: &LogicalPlan,
    format: &Format,
) -> PgWireResult<Arc<Vec<FieldInfo>>> {
    if matches!(plan, LogicalPlan::Ddl(_) | LogicalPlan::Dml(_)) {
        return Ok(Arc::new(vec![]));
    }
    if matches!(plan, LogicalPlan::Explain(_) | LogicalPlan::Analyze(_)) {
        return Ok(Arc::new(vec![FieldInfo::new(
            QUERY_PLAN.to_string(),
            None,
            None,
            Type::TEXT,
            format.format_for(0),
        )]));
    }
    let schema: Schema = plan.schema().as_arrow().clone();
    encode::fields(&schema, format, Default::default())
}

/// The plan with the portal's parameter values in place of `$1`, `$2`, ….
pub(super) fn bind(plan: &LogicalPlan, portal: &Portal<Statement>) -> PgWireResult<LogicalPlan> {
    let inferred = parameter_types(plan)?;
    let inferred_refs: Vec<Option<&DataType>> = inferred.iter().map(Option::as_ref).collect();
    let values = datafusion_postgres::arrow_pg::datatypes::df::deserialize_parameters(
        portal,
        &inferred_refs,
    )?;
    // Values bound to parameters carry a mark, so the analyzer's rules for
    // constants written in SQL ([`crate::pg_compat::literals`]) leave them
    // the type they were described with.
    let values = match values {
        datafusion::common::ParamValues::List(list) => datafusion::common::ParamValues::List(
            list.into_iter()
                .map(crate::pg_compat::literals::bound_parameter)
                .collect(),
        ),
        other => other,
    };
    plan.clone()
        .replace_params_with_values(&values)
        .map_err(errors::from_datafusion)
}

/// `$1`, `$2`, … with the types DataFusion inferred, in order; a
/// parameter it could not place takes the type it is cast to
/// (`$1::timestamptz`), as PostgreSQL does.
pub(super) fn parameter_types(plan: &LogicalPlan) -> PgWireResult<Vec<Option<DataType>>> {
    let mut types = plan
        .get_parameter_types()
        .map_err(errors::from_datafusion)?;
    if types.values().any(Option::is_none) {
        let mut casts: std::collections::HashMap<String, DataType> = Default::default();
        let _ = plan.apply_with_subqueries(|node| {
            node.apply_expressions(|e| {
                e.apply(|e| {
                    if let Expr::Cast(c) = e
                        && let Expr::Placeholder(p) = c.expr.as_ref()
                    {
                        casts
                            .entry(p.id.clone())
                            .or_insert(c.field.data_type().clone());
                    }
                    Ok(TreeNodeRecursion::Continue)
                })
            })
        });
        for (id, t) in types.iter_mut() {
            if t.is_none() {
                *t = casts.get(id).cloned();
            }
        }
    }
    let mut ordered: Vec<(usize, Option<DataType>)> = types
        .into_iter()
        .filter_map(|(id, t)| {
            id.trim_start_matches('$')
                .parse::<usize>()
                .ok()
                .map(|n| (n, t))
        })
        .collect();
    ordered.sort_by_key(|(n, _)| *n);
    let count = ordered.last().map(|(n, _)| *n).unwrap_or(0);
    let mut out = vec![None; count];
    for (n, t) in ordered {
        if n >= 1 {
            out[n - 1] = t;
        }
    }
    Ok(out)
}

#[async_trait]
impl ExtendedQueryHandler for Session {
    type Statement = Statement;
    type QueryParser = Parser;

    fn query_parser(&self) -> Arc<Parser> {
        self.parser.clone()
    }

    /// Streams a portal's rows as they are computed when the client reads
    /// it to the end (pgwire would collect every row first); row-limited
    /// reads and session statements take pgwire's path.
    async fn on_execute<C>(&self, client: &mut C, message: Execute) -> PgWireResult<()>
    where
        C: ClientInfo + ClientPortalStore + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::PortalStore: PortalStore<Statement = Statement>,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        let name = message.name.as_deref().unwrap_or(DEFAULT_NAME);
        let portal = match client.portal_store().get_portal(name) {
            Some(Entry::Value(p)) => p,
            _ => return self._on_execute(client, message).await,
        };
        if is_rollback_to_savepoint(&portal.statement.statement.0)
            && client.transaction_status() != TransactionStatus::Idle
        {
            client
                .send(PgWireBackendMessage::CommandComplete(
                    Tag::new("ROLLBACK").into(),
                ))
                .await?;
            client.set_transaction_status(TransactionStatus::Transaction);
            return Ok(());
        }
        let plain_query =
            matches!(&portal.statement.statement.1, Some((s, _)) if utility(s).is_none());
        let fresh = matches!(*portal.state().lock().await, PortalExecutionState::Initial);
        if message.max_rows != 0
            || !plain_query
            || !fresh
            || !matches!(client.state(), PgWireConnectionState::ReadyForQuery)
        {
            return self._on_execute(client, message).await;
        }
        client.set_state(PgWireConnectionState::QueryInProgress);
        match ExtendedQueryHandler::do_query(self, client, &portal, 0).await? {
            Response::Query(mut results) => {
                let mut count = 0;
                while let Some(row) = results.data_rows.next().await {
                    client.feed(PgWireBackendMessage::DataRow(row?)).await?;
                    count += 1;
                }
                let tag = Tag::new(&results.command_tag).with_rows(count);
                client
                    .send(PgWireBackendMessage::CommandComplete(tag.into()))
                    .await?;
            }
            Response::Execution(tag) => {
                client
                    .send(PgWireBackendMessage::CommandComplete(tag.into()))
                    .await?;
            }
            Response::EmptyQuery => {
                client
                    .send(PgWireBackendMessage::EmptyQueryResponse(
                        EmptyQueryResponse::new(),
                    ))
                    .await?;
            }
            other => {
                return Err(user_error(
                    code::INTERNAL_ERROR,
                    format!("unexpected response to a query: {other:?}"),
                ));
            }
        }
        *portal.state().lock().await = PortalExecutionState::Finished;
        client.set_state(PgWireConnectionState::ReadyForQuery);
        Ok(())
    }

    async fn do_describe_statement<C>(
        &self,
        client: &mut C,
        target: &StoredStatement<Statement>,
    ) -> PgWireResult<DescribeStatementResponse>
    where
        C: ClientInfo + ClientPortalStore + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::PortalStore: PortalStore<Statement = Statement>,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        let parameters = self.parser.get_parameter_types(&target.statement)?;
        let parameters = (0..parameters.len().max(target.parameter_types.len()))
            .map(|i| {
                target
                    .parameter_types
                    .get(i)
                    .cloned()
                    .flatten()
                    .or_else(|| parameters.get(i).cloned())
                    .unwrap_or(Type::UNKNOWN)
            })
            .collect();
        let fields = self.describe_fields(client, &target.statement, &Format::UnifiedText)?;
        Ok(DescribeStatementResponse::new(parameters, fields))
    }

    async fn do_describe_portal<C>(
        &self,
        client: &mut C,
        portal: &Portal<Statement>,
    ) -> PgWireResult<DescribePortalResponse>
    where
        C: ClientInfo + ClientPortalStore + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::PortalStore: PortalStore<Statement = Statement>,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        let fields = self.describe_fields(
            client,
            &portal.statement.statement,
            &portal.result_column_format,
        )?;
        Ok(DescribePortalResponse::new(fields))
    }

    async fn do_query<C>(
        &self,
        client: &mut C,
        portal: &Portal<Statement>,
        _max_rows: usize,
    ) -> PgWireResult<Response>
    where
        C: ClientInfo + ClientPortalStore + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::PortalStore: PortalStore<Statement = Statement>,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        let (text, parsed) = &portal.statement.statement;
        let Some((statement, plan)) = parsed else {
            return match housekeeping(text) {
                Some("MOVE") => move_cursor(client, text).await,
                Some(tag) => Ok(Response::Execution(Tag::new(tag))),
                None => Ok(Response::EmptyQuery),
            };
        };
        check_not_aborted(client, statement)?;
        if let Some(Utility::Declare) = utility(statement) {
            return self.declare(client, statement, Some(portal)).await;
        }
        if let Some(Utility::Fetch) = utility(statement) {
            return self
                .fetch(client, statement, &portal.result_column_format)
                .await;
        }
        if let Some(kind) = utility(statement) {
            return self.utility(client, kind, statement).await;
        }
        refuse_copy(statement)?;
        if crate::server::fast_path::is_described(plan) {
            return self
                .fast_extended(text, statement, &portal.result_column_format)
                .await;
        }
        let cache = self.cache_slot(statement, &bound_parameters(portal));
        if let Some(hit) = self.cache_hit(&cache, &portal.result_column_format)? {
            return Ok(hit);
        }
        let guard = self.interrupt.guard(self.vars.statement_timeout());
        let plan = bind(plan, portal)?;
        self.execute(plan, &portal.result_column_format, &guard, cache)
            .await
    }
}

impl Session {
    /// The columns a statement will return; a `FETCH` returns its cursor's.
    pub(super) fn describe_fields<C>(
        &self,
        client: &C,
        statement: &Statement,
        format: &Format,
    ) -> PgWireResult<Vec<FieldInfo>>
    where
        C: ClientPortalStore,
        C::PortalStore: PortalStore<Statement = Statement>,
    {
        if let Some((ast::Statement::Fetch { name, .. }, _)) = &statement.1 {
            if let Some(cursor) = self.cursors().get(&name.value).cloned() {
                let options = Arc::new(self.vars.format_options());
                return Ok(encode::fields(&cursor.schema, format, options)?
                    .as_ref()
                    .clone());
            }
            if let Some(Entry::Value(cursor)) = client.portal_store().get_portal(&name.value)
                && let Some((_, plan)) = &cursor.statement.statement.1
            {
                return Ok(plan_fields(plan, format)?.as_ref().clone());
            }
        }
        self.parser.get_result_schema(statement, Some(format))
    }
}
