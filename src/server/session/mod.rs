//! One connection's SQL session: the simple and extended query protocols
//! over a DataFusion context of its own.
//!
//! What happens to a statement, in order:
//! 1. it is parsed with the Postgres-compatible parser of
//!    `datafusion-pg-catalog` (which rewrites `::regclass`, `pg_catalog`
//!    idioms and the like);
//! 2. session statements are answered here: `SET`/`SHOW`/`RESET`
//!    ([`crate::pg_compat::vars`]), `BEGIN`/`COMMIT`/`ROLLBACK`, cursors
//!    (`DECLARE`/`FETCH`/`CLOSE`), `LISTEN`/`UNLISTEN`/`DISCARD`, `COPY … TO
//!    STDOUT` ([`super::copy_out`]);
//! 3. anything else is planned by DataFusion, the plan is checked
//!    ([`Session::check`]: DDL, writes a role may not make, `PREPARE` are
//!    refused), and it
//!    runs under a [`Guard`] that a cancel request or `statement_timeout`
//!    fires while planning, executing or streaming rows;
//! 4. rows are encoded by [`super::encode`]; errors get their SQLSTATE in
//!    [`super::errors`].
//!
//! A simple query with several statements runs them in order and stops at
//! the first error, whose results before it were already sent — as
//! PostgreSQL does.
//!
//! | module | what it is for |
//! |---|---|
//! | [`parser`] | statements parsed (with the client-idiom rewrites) and described |
//! | [`simple`] | the simple query protocol: several statements in one message |
//! | [`extended`] | the extended protocol: parse, bind, describe, execute |
//! | [`utility`] | statements answered here: `SET`/`SHOW`, transactions, `LISTEN`, … |
//! | [`cursors`] | `DECLARE`/`FETCH`/`MOVE`/`CLOSE` |
//! | [`speed`] | checkout pings from the fast path, results from the result cache |

mod cursors;
mod extended;
mod parser;
mod simple;
mod speed;
mod utility;

use std::collections::HashMap;
use std::sync::{Arc, OnceLock};

use datafusion::arrow::datatypes::{DataType, SchemaRef};
use datafusion::common::Column;
use datafusion::common::tree_node::{TreeNode, TreeNodeRecursion};
use datafusion::dataframe::DataFrame;
use datafusion::logical_expr::{Expr, LogicalPlan, WriteOp, cast};
use datafusion::prelude::SessionContext;
use datafusion::sql::sqlparser::ast::{self};
use datafusion_postgres::hooks::transactions::TransactionStatementHook;
use futures::StreamExt;
use pgwire::api::portal::Format;
use pgwire::api::results::{QueryResponse, Response, Tag};
use pgwire::error::{ErrorInfo, PgWireError, PgWireResult};

use super::encode;
use super::errors::{self, code, user_error};
use super::interrupt::{Guard, Interrupt};
use crate::auth::Principal;
use crate::pg_compat::vars::Vars;

use cursors::*;
use extended::*;
pub use parser::Parser;
use simple::*;
use speed::*;
use utility::*;

/// A statement as the extended protocol keeps it: its text and, unless it
/// was empty, the parsed statement with its plan. (The same shape as
/// datafusion-postgres' statements, so its transaction hook can share the
/// portal store.)
pub type Statement = (String, Option<(ast::Statement, LogicalPlan)>);

/// A malformed message the wire guard replaced ([`super::wire::MARKER`]).
fn wire_error(sql: &str) -> Option<PgWireError> {
    let (code, fatal, message) = super::wire::marker_error(sql)?;
    let severity = if fatal { "FATAL" } else { "ERROR" };
    Some(PgWireError::UserError(Box::new(ErrorInfo::new(
        severity.into(),
        code,
        message,
    ))))
}

fn identity_is_fixed() -> PgWireError {
    user_error(
        code::INSUFFICIENT_PRIVILEGE,
        "permission denied: an OKO user's identity and role are fixed at login".to_string(),
    )
}

/// The row count a write plan answers with (one `count` row).
fn written(batches: &[datafusion::arrow::array::RecordBatch]) -> usize {
    use datafusion::arrow::array::{Array, UInt64Array};
    batches
        .iter()
        .filter_map(|b| b.columns().first())
        .filter_map(|c| c.as_any().downcast_ref::<UInt64Array>())
        .flat_map(|a| a.iter().flatten())
        .sum::<u64>() as usize
}

/// A row of text values (`SHOW`).
type TextRow = Vec<Option<String>>;

/// What a connection has once its user logged in: the user and the
/// DataFusion session built for them (their tenant's tables).
pub struct Login {
    pub ctx: Arc<SessionContext>,
    pub principal: Principal,
}

/// Filled once, by the startup handler, when the login succeeds. The
/// protocol answers no query before that.
#[derive(Default)]
pub struct LoginSlot(OnceLock<Login>);

impl LoginSlot {
    pub fn set(&self, login: Login) {
        let _ = self.0.set(login);
    }

    /// Has the user logged in?
    pub fn is_set(&self) -> bool {
        self.0.get().is_some()
    }

    fn get(&self) -> PgWireResult<&Login> {
        self.0
            .get()
            .ok_or_else(|| user_error(code::INSUFFICIENT_PRIVILEGE, "not logged in".to_string()))
    }

    fn ctx(&self) -> PgWireResult<&Arc<SessionContext>> {
        Ok(&self.get()?.ctx)
    }
}

/// The SQL side of one connection.
pub struct Session {
    login: Arc<LoginSlot>,
    vars: Arc<Vars>,
    interrupt: Arc<Interrupt>,
    parser: Arc<Parser>,
    transactions: TransactionStatementHook,
    /// The open cursors' columns, by name: each `FETCH` encodes its rows as
    /// it asks (text or binary).
    cursors: std::sync::Mutex<HashMap<String, Cursor>>,
}

/// A cursor's result columns and the encoding its rows are read with.
#[derive(Clone)]
struct Cursor {
    schema: SchemaRef,
    fields: encode::CursorFields,
}

impl Session {
    pub fn new(login: Arc<LoginSlot>, vars: Arc<Vars>, interrupt: Arc<Interrupt>) -> Session {
        Session {
            parser: Arc::new(Parser {
                login: login.clone(),
                sql: Default::default(),
                vars: vars.clone(),
                interrupt: interrupt.clone(),
            }),
            login,
            vars,
            interrupt,
            transactions: TransactionStatementHook,
            cursors: Default::default(),
        }
    }

    /// Refuses what the logged-in user may not do ([`super::access`]).
    pub fn check(&self, plan: &LogicalPlan) -> PgWireResult<()> {
        super::access::check(plan, &self.login.get()?.principal)
    }

    fn ctx(&self) -> PgWireResult<&Arc<SessionContext>> {
        self.login.ctx()
    }

    /// Plans, checks and starts a statement; the rows stream later. A
    /// query whose result may be cached ([`super::result_cache::reads`]) is
    /// kept in `cache` once its rows have all been sent.
    async fn execute(
        &self,
        plan: LogicalPlan,
        format: &Format,
        guard: &Guard,
        cache: CacheSlot,
    ) -> PgWireResult<Response> {
        self.check(&plan)?;
        super::deletes::check_plan(&plan)?;
        if let Some(what) = writes(&plan)
            && let Some(e) = self.vars.write_refusal(what)
        {
            return Err(user_error(e.code, e.message));
        }
        if self.login.get()?.principal.tenant.is_some() {
            match &plan {
                LogicalPlan::Explain(e) => {
                    let json =
                        e.explain_format == datafusion::common::format::ExplainFormat::PostgresJSON;
                    return self
                        .tenant_explain(e.plan.as_ref().clone(), false, json, guard)
                        .await;
                }
                LogicalPlan::Analyze(a) => {
                    return self
                        .tenant_explain(a.input.as_ref().clone(), true, false, guard)
                        .await;
                }
                _ => {}
            }
        }
        if matches!(plan, LogicalPlan::Explain(_) | LogicalPlan::Analyze(_)) {
            let batches = guard.run(collect(self.ctx()?.clone(), plan)).await?;
            return Ok(Response::Query(text_response(
                &[QUERY_PLAN.to_string()],
                query_plan_lines(&batches),
            )?));
        }
        if let LogicalPlan::Dml(dml) = &plan {
            let tag = match dml.op {
                WriteOp::Delete => Tag::new("DELETE"),
                WriteOp::Update => Tag::new("UPDATE"),
                _ => Tag::new("INSERT").with_oid(0),
            };
            let batches = guard.run(collect(self.ctx()?.clone(), plan)).await?;
            return Ok(Response::Execution(tag.with_rows(written(&batches))));
        }
        // The tables' generations are read before the statement starts.
        let fill = cache.and_then(|(c, key)| c.cacheable(&plan).map(|reads| (c, key, reads)));
        let ctx = self.ctx()?.clone();
        let df = guard
            .run(async move {
                ctx.execute_logical_plan(plan)
                    .await
                    .map_err(errors::from_datafusion)
            })
            .await?;
        let df = self.in_session_zone(df)?;
        let options = Arc::new(self.vars.format_options());
        let stream = guard
            .plan(async move {
                crate::cluster::run::execute_stream(df)
                    .await
                    .map_err(errors::from_datafusion)
            })
            .await?;
        let stream = match fill {
            Some((c, key, reads)) => c.fill(key, reads, stream),
            None => stream,
        };
        // The columns as they run: the analyzer may retype an output column
        // the plan declared otherwise (`SELECT 1` runs as `integer`).
        let fields = encode::fields(&stream.schema(), format, options)?;
        let rows = guard.rows(encode::rows(stream, fields.clone()));
        Ok(Response::Query(QueryResponse::new(fields, rows)))
    }

    /// `EXPLAIN [ANALYZE]` for a user bound to a tenant: the optimised
    /// logical plan (as text, or `json` in PostgreSQL's JSON form), and
    /// with `ANALYZE` the statement's row count and time.
    ///
    /// The physical plan is not shown to such a user: it names store files,
    /// and its statistics (`Min=… Max=…` of a file several tenants share)
    /// and per-operator row counts (rows a scan read before the tenant
    /// filter) tell about other tenants' rows — `EXPLAIN ANALYZE … WHERE
    /// name < 'X'` was a range oracle over their names. The logical plan
    /// and the totals only show what the user's own query returns.
    async fn tenant_explain(
        &self,
        inner: LogicalPlan,
        analyze: bool,
        json: bool,
        guard: &Guard,
    ) -> PgWireResult<Response> {
        let ctx = self.ctx()?.clone();
        let state = ctx.state();
        let for_plan = inner.clone();
        let optimized = guard
            .plan(async move { state.optimize(&for_plan).map_err(errors::from_datafusion) })
            .await?;
        let mut rows: Vec<Vec<Option<String>>> = if json {
            vec![vec![Some(optimized.display_pg_json().to_string())]]
        } else {
            optimized
                .display_indent()
                .to_string()
                .lines()
                .map(|l| vec![Some(l.to_string())])
                .collect()
        };
        if analyze {
            let started = std::time::Instant::now();
            let batches = guard.run(collect(ctx, inner)).await?;
            let count: usize = batches.iter().map(|b| b.num_rows()).sum();
            rows.push(vec![Some(format!(
                "Execution: rows={count}, elapsed={:.3} ms",
                started.elapsed().as_secs_f64() * 1000.0
            ))]);
        }
        Ok(Response::Query(text_response(
            &[QUERY_PLAN.to_string()],
            rows,
        )?))
    }

    /// `timestamptz` columns shown in the session's time zone (the same
    /// instants; only the offset they are written with changes).
    fn in_session_zone(&self, df: DataFrame) -> PgWireResult<DataFrame> {
        let zone = self
            .ctx()?
            .state()
            .config()
            .options()
            .execution
            .time_zone
            .clone();
        let Some(zone) = zone else {
            return Ok(df);
        };
        let other_zone =
            |t: &DataType| matches!(t, DataType::Timestamp(_, Some(z)) if **z != *zone);
        if !df
            .schema()
            .fields()
            .iter()
            .any(|f| other_zone(f.data_type()))
        {
            return Ok(df);
        }
        let exprs: Vec<Expr> = df
            .schema()
            .iter()
            .map(|(qualifier, field)| {
                let column = Expr::Column(Column::new(qualifier.cloned(), field.name()));
                match field.data_type() {
                    // (The field's metadata, its PostgreSQL name among it,
                    // stays.)
                    DataType::Timestamp(unit, Some(_)) => cast(
                        column,
                        DataType::Timestamp(*unit, Some(zone.as_str().into())),
                    )
                    .alias_qualified_with_metadata(
                        qualifier.cloned(),
                        field.name(),
                        Some(field.as_ref().into()),
                    ),
                    _ => column,
                }
            })
            .collect();
        df.select(exprs).map_err(errors::from_datafusion)
    }
}

/// The one column PostgreSQL's `EXPLAIN` answers with.
pub(super) const QUERY_PLAN: &str = "QUERY PLAN";

/// DataFusion's `EXPLAIN` rows (`plan_type`, `plan`) as PostgreSQL shows a
/// plan: a row per line of the plan that runs — the physical plan (with its
/// metrics after `ANALYZE`), else the logical one; `VERBOSE` shows every
/// stage, each under its name.
fn query_plan_lines(batches: &[datafusion::arrow::array::RecordBatch]) -> Vec<Vec<Option<String>>> {
    use datafusion::arrow::array::{Array, AsArray};
    let mut plans: Vec<(String, String)> = Vec::new();
    for batch in batches {
        if batch.num_columns() < 2 {
            continue;
        }
        let (Some(kinds), Some(texts)) = (
            batch.column(0).as_string_opt::<i32>(),
            batch.column(1).as_string_opt::<i32>(),
        ) else {
            continue;
        };
        for i in 0..batch.num_rows() {
            if !kinds.is_null(i) && !texts.is_null(i) {
                plans.push((kinds.value(i).to_string(), texts.value(i).to_string()));
            }
        }
    }
    let chosen = ["Plan with Metrics", "physical_plan", "logical_plan"]
        .iter()
        .find_map(|kind| plans.iter().find(|(k, _)| k == kind));
    let text = match chosen {
        Some((_, text)) if plans.len() <= 2 => text.clone(),
        _ => plans
            .iter()
            .map(|(k, t)| format!("{k}:\n{t}"))
            .collect::<Vec<_>>()
            .join("\n"),
    };
    // A plan in JSON (`EXPLAIN (FORMAT JSON)`) is one value, as PostgreSQL
    // sends it; a text plan is a row per line.
    if text.trim_start().starts_with('[') {
        return vec![vec![Some(text)]];
    }
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| vec![Some(l.to_string())])
        .collect()
}

/// The command a plan writes with (`INSERT`, `DELETE`, …), anywhere in it
/// (`EXPLAIN ANALYZE INSERT` writes too).
fn writes(plan: &LogicalPlan) -> Option<&'static str> {
    let mut found = None;
    let _ = plan.apply(|node| {
        if let LogicalPlan::Dml(dml) = node {
            found = Some(match dml.op {
                WriteOp::Delete => "DELETE",
                WriteOp::Update => "UPDATE",
                _ => "INSERT",
            });
            return Ok(TreeNodeRecursion::Stop);
        }
        Ok(TreeNodeRecursion::Continue)
    });
    found
}

/// Runs a plan to its end, keeping its batches.
async fn collect(
    ctx: Arc<SessionContext>,
    plan: LogicalPlan,
) -> PgWireResult<Vec<datafusion::arrow::array::RecordBatch>> {
    ctx.execute_logical_plan(plan)
        .await
        .map_err(errors::from_datafusion)?
        .collect()
        .await
        .map_err(errors::from_datafusion)
}

/// Runs a query to its end, keeping its rows.
async fn materialize(mut q: QueryResponse) -> PgWireResult<QueryResponse> {
    let mut rows = Vec::new();
    while let Some(row) = q.data_rows.next().await {
        rows.push(Ok(row?));
    }
    q.data_rows = Box::pin(futures::stream::iter(rows));
    Ok(q)
}

fn syntax_error(e: impl std::fmt::Display) -> PgWireError {
    user_error(code::SYNTAX_ERROR, format!("syntax error: {e}"))
}

/// A statement the parser refused (see [`crate::server::errors::parse_error`]).
fn parse_error(e: &datafusion::sql::sqlparser::parser::ParserError) -> PgWireError {
    crate::server::errors::parse_error(e)
}
