//! One connection's SQL session: the simple and extended query protocols
//! over a DataFusion context of its own.
//!
//! What happens to a statement, in order:
//! 1. it is parsed with the Postgres-compatible parser of
//!    `datafusion-pg-catalog` (which rewrites `::regclass`, `pg_catalog`
//!    idioms and the like);
//! 2. session statements are answered here: `SET`/`SHOW`/`RESET`
//!    ([`super::vars`]), `BEGIN`/`COMMIT`/`ROLLBACK`, cursors
//!    (`DECLARE`/`FETCH`/`CLOSE`), `LISTEN`/`UNLISTEN`/`DISCARD`;
//! 3. anything else is planned by DataFusion, the plan is checked
//!    ([`Session::check`]: DDL, writes, `COPY`, `PREPARE` are refused), and it
//!    runs under a [`Guard`] that a cancel request or `statement_timeout`
//!    fires while planning, executing or streaming rows;
//! 4. rows are encoded by [`super::encode`]; errors get their SQLSTATE in
//!    [`super::errors`].
//!
//! A simple query with several statements runs them in order and stops at
//! the first error, whose results before it were already sent — as
//! PostgreSQL does.

use std::collections::HashMap;
use std::fmt::Debug;
use std::sync::{Arc, OnceLock};

use async_trait::async_trait;
use datafusion::arrow::datatypes::{DataType, Schema, SchemaRef};
use datafusion::common::Column;
use datafusion::common::ScalarValue;
use datafusion::common::tree_node::{TreeNode, TreeNodeRecursion};
use datafusion::dataframe::DataFrame;
use datafusion::logical_expr::{Expr, LogicalPlan, LogicalPlanBuilder, WriteOp, cast, lit};
use datafusion::prelude::SessionContext;
use datafusion::sql::parser::Statement as DfStatement;
use datafusion::sql::sqlparser::ast::{self, Expr as SqlExpr, FetchDirection};
use datafusion_postgres::QueryHook;
use datafusion_postgres::datafusion_pg_catalog::sql::PostgresCompatibilityParser;
use datafusion_postgres::hooks::transactions::TransactionStatementHook;
use futures::{Sink, SinkExt, StreamExt};
use pgwire::api::portal::{Format, Portal, PortalExecutionState};
use pgwire::api::query::{ExtendedQueryHandler, SimpleQueryHandler};
use pgwire::api::results::{
    DataRowEncoder, DescribePortalResponse, DescribeStatementResponse, FieldFormat, FieldInfo,
    QueryResponse, Response, Tag,
};
use pgwire::api::stmt::{QueryParser, StoredStatement};
use pgwire::api::store::{Entry, MemPortalStore, PortalStore};
use pgwire::api::{ClientInfo, ClientPortalStore, DEFAULT_NAME, PgWireConnectionState, Type};
use pgwire::error::{ErrorInfo, PgWireError, PgWireResult};
use pgwire::messages::PgWireBackendMessage;
use pgwire::messages::extendedquery::Execute;
use pgwire::messages::response::{EmptyQueryResponse, ReadyForQuery, TransactionStatus};
use pgwire::messages::simplequery::Query;
use pgwire::messages::startup::ParameterStatus;

use super::encode;
use super::errors::{self, code, user_error};
use super::interrupt::{Guard, Interrupt};
use super::vars::Vars;
use crate::auth::Principal;

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

impl Parser {
    /// The engine reads `TIMESTAMP WITH TIME ZONE` literals and shows
    /// `timestamptz` values in the session's time zone, as PostgreSQL does
    /// (a driver's startup `TimeZone`, `SET TIME ZONE`).
    fn follow_time_zone(&self) {
        let zone = match self.vars.get("timezone") {
            Some(z) if !z.eq_ignore_ascii_case("local") && !z.eq_ignore_ascii_case("default") => z,
            _ => "UTC".to_string(),
        };
        let zone = match zone.parse::<i32>() {
            // A bare number is hours east of UTC here (PostgreSQL's POSIX
            // sign rule applies only to zone strings like 'UTC+3').
            Ok(h) => format!("{}{:02}:00", if h < 0 { '-' } else { '+' }, h.abs()),
            Err(_) => zone,
        };
        let Ok(ctx) = self.login.ctx() else {
            return;
        };
        let state = ctx.state_ref();
        let mut state = state.write();
        let current = &mut state.config_mut().options_mut().execution.time_zone;
        if current.as_deref() != Some(zone.as_str()) {
            *current = Some(zone);
        }
    }
}

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

/// Parses and plans statements for the extended protocol.
pub struct Parser {
    login: Arc<LoginSlot>,
    sql: PostgresCompatibilityParser,
    /// For the rewrites that depend on session settings.
    vars: Arc<Vars>,
    /// Planning a prepared statement can be cancelled or time out too.
    interrupt: Arc<Interrupt>,
}

impl Parser {
    /// The statements of `sql`, parsed by datafusion-pg-catalog's parser
    /// (with its rewrites) and then ours ([`super::compat::rewrite_statement`]).
    fn parse(
        &self,
        sql: &str,
    ) -> Result<Vec<ast::Statement>, datafusion::sql::sqlparser::parser::ParserError> {
        let mut statements = self.sql.parse(sql)?;
        statements
            .iter_mut()
            .for_each(super::compat::rewrite_statement);
        Ok(statements)
    }

    /// The query as the parser should see it ([`super::compat`]), with the
    /// engine following the session's `TimeZone` first.
    /// Queries over the server's limits ([`super::limits`]) are refused here.
    fn rewrite<'a>(&self, sql: &'a str) -> PgWireResult<std::borrow::Cow<'a, str>> {
        super::limits::check(sql)?;
        self.follow_time_zone();
        let path = self.vars.get("search_path").unwrap_or_default();
        Ok(super::compat::rewrite_all(
            sql,
            &path,
            &self.vars.session_user(),
        ))
    }
}

/// Statements answered by the session itself rather than planned.
#[derive(Debug, Clone, PartialEq)]
enum Utility {
    Set,
    /// `SHOW name` (lower case, words joined by a space) or `SHOW ALL`.
    Show(String),
    Reset,
    Transaction,
    Declare,
    Fetch,
    Close,
    /// `LISTEN`, `UNLISTEN`, `NOTIFY`, `DISCARD`, `SAVEPOINT`, `RELEASE`:
    /// accepted, nothing to do, with this command tag.
    Accepted(&'static str),
    /// `ROLLBACK TO SAVEPOINT`: the transaction block goes on (and leaves
    /// the failed state).
    RollbackToSavepoint,
}

impl Session {
    pub fn new(login: Arc<LoginSlot>, vars: Arc<Vars>, interrupt: Arc<Interrupt>) -> Session {
        Session {
            parser: Arc::new(Parser {
                login: login.clone(),
                sql: PostgresCompatibilityParser::new(),
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

    /// Plans, checks and starts a statement; the rows stream later.
    async fn execute(
        &self,
        plan: LogicalPlan,
        format: &Format,
        guard: &Guard,
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
                    return self
                        .tenant_explain(e.plan.as_ref().clone(), false, guard)
                        .await;
                }
                LogicalPlan::Analyze(a) => {
                    return self
                        .tenant_explain(a.input.as_ref().clone(), true, guard)
                        .await;
                }
                _ => {}
            }
        }
        if let LogicalPlan::Dml(dml) = &plan {
            let tag = match dml.op {
                WriteOp::Delete => Tag::new("DELETE"),
                _ => Tag::new("INSERT").with_oid(0),
            };
            let batches = guard.run(collect(self.ctx()?.clone(), plan)).await?;
            return Ok(Response::Execution(tag.with_rows(written(&batches))));
        }
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
        let fields = encode::fields(df.schema().as_arrow(), format, options)?;
        let stream = guard
            .plan(async move { df.execute_stream().await.map_err(errors::from_datafusion) })
            .await?;
        let rows = guard.rows(encode::rows(stream, fields.clone()));
        Ok(Response::Query(QueryResponse::new(fields, rows)))
    }

    /// `EXPLAIN [ANALYZE]` for a user bound to a tenant: the optimised
    /// logical plan, and with `ANALYZE` the statement's row count and time.
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
        guard: &Guard,
    ) -> PgWireResult<Response> {
        let ctx = self.ctx()?.clone();
        let state = ctx.state();
        let for_plan = inner.clone();
        let optimized = guard
            .plan(async move { state.optimize(&for_plan).map_err(errors::from_datafusion) })
            .await?;
        let mut rows = vec![vec![
            Some("logical_plan".to_string()),
            Some(optimized.display_indent().to_string()),
        ]];
        if analyze {
            let started = std::time::Instant::now();
            let batches = guard.run(collect(ctx, inner)).await?;
            let count: usize = batches.iter().map(|b| b.num_rows()).sum();
            rows.push(vec![
                Some("totals".to_string()),
                Some(format!(
                    "rows={count}, elapsed={:.3} ms",
                    started.elapsed().as_secs_f64() * 1000.0
                )),
            ]);
        }
        Ok(Response::Query(text_response(
            &["plan_type".to_string(), "plan".to_string()],
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
                    DataType::Timestamp(unit, Some(_)) => cast(
                        column,
                        DataType::Timestamp(*unit, Some(zone.as_str().into())),
                    )
                    .alias_qualified(qualifier.cloned(), field.name()),
                    _ => column,
                }
            })
            .collect();
        df.select(exprs).map_err(errors::from_datafusion)
    }

    /// Runs one statement of a simple query.
    async fn simple<C>(&self, client: &mut C, statement: ast::Statement) -> PgWireResult<Response>
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
        let guard = self.interrupt.guard(self.vars.statement_timeout());
        let state = self.ctx()?.state();
        let plan = guard
            .plan(async move {
                state
                    .statement_to_plan(DfStatement::Statement(Box::new(statement)))
                    .await
                    .map_err(errors::from_datafusion)
            })
            .await?;
        self.execute(plan, &Format::UnifiedText, &guard).await
    }

    /// Answers a session statement.
    async fn utility<C>(
        &self,
        client: &mut C,
        kind: Utility,
        statement: &ast::Statement,
    ) -> PgWireResult<Response>
    where
        C: ClientInfo + ClientPortalStore + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::PortalStore: PortalStore,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        match kind {
            Utility::Set => self.set(client, statement).await,
            Utility::Show(name) => self.show(&name).await,
            Utility::Reset => {
                let changes = match statement {
                    ast::Statement::Reset(r) => match &r.reset {
                        ast::Reset::ALL => self.vars.reset_all(),
                        ast::Reset::ConfigurationParameter(name) => {
                            self.vars.reset(&name.to_string()).into_iter().collect()
                        }
                    },
                    _ => vec![],
                };
                report(client, changes).await?;
                Ok(Response::Execution(Tag::new("RESET")))
            }
            Utility::Accepted(tag) => self.accepted(client, tag).await,
            Utility::RollbackToSavepoint => Ok(Response::TransactionStart(Tag::new("ROLLBACK"))),
            Utility::Transaction => {
                match statement {
                    ast::Statement::StartTransaction { modes, .. } => {
                        let (read_only, isolation) = transaction_modes(modes);
                        self.vars.begin(read_only, isolation);
                    }
                    _ => self.vars.end(),
                }
                match self
                    .transactions
                    .handle_simple_query(statement, self.ctx()?, client)
                    .await
                {
                    Some(r) => r,
                    None => Ok(Response::Execution(Tag::new("SET"))),
                }
            }
            Utility::Declare => self.declare(client, statement, None).await,
            Utility::Fetch => self.fetch(client, statement, &Format::UnifiedText).await,
            Utility::Close => {
                if let ast::Statement::Close { cursor } = statement {
                    match cursor {
                        ast::CloseCursor::All => {
                            self.cursors().clear();
                            portals(client)?.clear_portals()
                        }
                        ast::CloseCursor::Specific { name } => {
                            self.cursors().remove(&name.value);
                            portals(client)?.rm_portal(&name.value)
                        }
                    }
                }
                Ok(Response::Execution(Tag::new("CLOSE CURSOR")))
            }
        }
    }

    /// `LISTEN`, `UNLISTEN`, `NOTIFY`, `DISCARD`.
    async fn accepted<C>(&self, client: &mut C, tag: &'static str) -> PgWireResult<Response>
    where
        C: ClientInfo + ClientPortalStore + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::PortalStore: PortalStore,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        if tag == "DISCARD ALL" {
            let changes = self.vars.reset_all();
            report(client, changes).await?;
            portals(client)?.clear_portals();
            self.cursors().clear();
        }
        Ok(Response::Execution(Tag::new(tag)))
    }

    async fn set<C>(&self, client: &mut C, statement: &ast::Statement) -> PgWireResult<Response>
    where
        C: ClientInfo + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        let ast::Statement::Set(set) = statement else {
            return Ok(Response::Execution(Tag::new("SET")));
        };
        let assignment = match set {
            ast::Set::SingleAssignment {
                variable, values, ..
            } => Some((
                super::engine_settings::normalized_name(variable),
                values_text(values),
            )),
            ast::Set::SetTimeZone { value, .. } => Some((
                "timezone".to_string(),
                values_text(std::slice::from_ref(value)),
            )),
            ast::Set::SetNames { charset_name, .. } => {
                Some(("client_encoding".to_string(), charset_name.value.clone()))
            }
            ast::Set::SetTransaction { modes, session, .. } => {
                let (read_only, isolation) = transaction_modes(modes);
                if *session {
                    self.vars.set_defaults(read_only, isolation);
                } else {
                    self.vars.set_transaction(read_only, isolation);
                }
                None
            }
            // A user's identity and role are fixed at login.
            ast::Set::SetRole {
                role_name: Some(_), ..
            }
            | ast::Set::SetSessionAuthorization(_) => {
                return Err(identity_is_fixed());
            }
            // SET ROLE NONE: back to the login role, which it already is.
            _ => None,
        };
        let Some((name, value)) = assignment else {
            return Ok(Response::Execution(Tag::new("SET")));
        };
        if name.starts_with("datafusion.") {
            let value = super::engine_settings::check(&name, &value)
                .map_err(|e| user_error(e.code, e.message))?;
            self.ctx()?
                .state_ref()
                .write()
                .config_mut()
                .options_mut()
                .set(&name, &value)
                .map_err(errors::from_datafusion)?;
            return Ok(Response::Execution(Tag::new("SET")));
        }
        match self.vars.set(&name, &value) {
            Ok(changed) => {
                report(client, changed.into_iter().collect()).await?;
                Ok(Response::Execution(Tag::new("SET")))
            }
            Err(e) => Err(user_error(e.code, e.message)),
        }
    }

    async fn show(&self, name: &str) -> PgWireResult<Response> {
        let (columns, rows) = self.show_rows(name)?;
        Ok(Response::Query(text_response(&columns, rows)?))
    }

    /// The columns and rows of `SHOW name`.
    fn show_rows(&self, name: &str) -> PgWireResult<(Vec<String>, Vec<TextRow>)> {
        if name == "all" {
            let rows = self
                .vars
                .all()
                .into_iter()
                .map(|(k, v)| vec![Some(k), Some(v), None])
                .collect();
            return Ok((
                vec!["name".into(), "setting".into(), "description".into()],
                rows,
            ));
        }
        if name.starts_with("datafusion.") {
            let entry = self
                .ctx()?
                .state()
                .config_options()
                .entries()
                .into_iter()
                .find(|e| e.key == name);
            return match entry {
                Some(e) => Ok((
                    vec!["name".into(), "value".into()],
                    vec![vec![Some(e.key), e.value]],
                )),
                None => Err(user_error(
                    code::UNDEFINED_OBJECT,
                    format!("unrecognized configuration parameter \"{name}\""),
                )),
            };
        }
        let column = show_column(name);
        match self.vars.get(name) {
            Some(v) => Ok((vec![column], vec![vec![Some(v)]])),
            None => Err(user_error(
                code::UNDEFINED_OBJECT,
                format!("unrecognized configuration parameter \"{name}\""),
            )),
        }
    }

    /// `DECLARE name CURSOR FOR query`: plans and starts the query; `FETCH`
    /// reads it in slices.
    async fn declare<C>(
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
            let plan = self
                .ctx()?
                .state()
                .statement_to_plan(DfStatement::Statement(Box::new(query_statement.clone())))
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
}

impl Session {
    /// The open cursors.
    fn cursors(&self) -> std::sync::MutexGuard<'_, HashMap<String, Cursor>> {
        match self.cursors.lock() {
            Ok(g) => g,
            Err(poisoned) => poisoned.into_inner(),
        }
    }

    /// Checks and starts a cursor's query; its rows are encoded as each
    /// `FETCH` asks ([`encode::cursor_rows`]), text until then.
    async fn cursor_rows(
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
            .plan(async move { df.execute_stream().await.map_err(errors::from_datafusion) })
            .await?;
        let rows = guard.rows(encode::cursor_rows(stream, fields.clone()));
        Ok((Cursor { schema, fields }, QueryResponse::new(text, rows)))
    }

    /// `FETCH [n] FROM cursor`, its rows in `format`.
    async fn fetch<C>(
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
async fn fetch<C>(client: &mut C, statement: &ast::Statement) -> PgWireResult<Response>
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
fn portals<C>(client: &C) -> PgWireResult<&MemPortalStore<Statement>>
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
async fn move_cursor<C>(client: &mut C, text: &str) -> PgWireResult<Response>
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

/// `ROLLBACK TO [SAVEPOINT] name`, which leaves a failed transaction block.
fn is_rollback_to_savepoint(text: &str) -> bool {
    let words: Vec<String> = text
        .split_whitespace()
        .take(2)
        .map(|w| w.to_ascii_uppercase())
        .collect();
    words.len() == 2 && words[0] == "ROLLBACK" && words[1] == "TO"
}

/// Tells the client about changed settings.
async fn report<C>(client: &mut C, changes: Vec<(&'static str, String)>) -> PgWireResult<()>
where
    C: Sink<PgWireBackendMessage> + Unpin + Send,
    C::Error: Debug,
    PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
{
    for (name, value) in changes {
        client
            .feed(PgWireBackendMessage::ParameterStatus(ParameterStatus::new(
                name.to_string(),
                value,
            )))
            .await?;
    }
    Ok(())
}

/// `READ ONLY` / `READ WRITE` and the isolation level of a transaction.
fn transaction_modes(modes: &[ast::TransactionMode]) -> (Option<bool>, Option<String>) {
    let mut read_only = None;
    let mut isolation = None;
    for m in modes {
        match m {
            ast::TransactionMode::AccessMode(ast::TransactionAccessMode::ReadOnly) => {
                read_only = Some(true)
            }
            ast::TransactionMode::AccessMode(ast::TransactionAccessMode::ReadWrite) => {
                read_only = Some(false)
            }
            ast::TransactionMode::IsolationLevel(level) => {
                isolation = Some(level.to_string().to_ascii_lowercase())
            }
        }
    }
    (read_only, isolation)
}

/// In a failed transaction block only its end is accepted (25P02).
fn check_not_aborted<C: ClientInfo>(client: &C, statement: &ast::Statement) -> PgWireResult<()> {
    let ends = matches!(
        statement,
        ast::Statement::Rollback { .. } | ast::Statement::Commit { .. }
    );
    if client.transaction_status() == TransactionStatus::Error && !ends {
        return Err(user_error(
            "25P02",
            "current transaction is aborted, commands ignored until end of transaction block",
        ));
    }
    Ok(())
}

/// Statements refused by their form: `COPY` (it reads or writes files on
/// the server: never over the wire) and the `DELETE` forms of
/// [`super::deletes::check_statement`].
fn refuse_copy(statement: &ast::Statement) -> PgWireResult<()> {
    super::deletes::check_statement(statement)?;
    if matches!(
        statement,
        ast::Statement::Copy { .. } | ast::Statement::CopyIntoSnowflake { .. }
    ) {
        let mut info = errors::error(
            code::INSUFFICIENT_PRIVILEGE,
            "COPY is not allowed: it would read or write files on the server",
        );
        info.hint = Some("run the query and save its rows in your client (psql: \\copy)".into());
        return Err(PgWireError::UserError(Box::new(info)));
    }
    Ok(())
}

/// Which statements the session answers itself.
fn utility(statement: &ast::Statement) -> Option<Utility> {
    use ast::Statement as S;
    Some(match statement {
        S::Set(_) => Utility::Set,
        S::ShowVariable { variable } => Utility::Show(
            variable
                .iter()
                .map(|i| i.value.to_ascii_lowercase())
                .collect::<Vec<_>>()
                .join(" "),
        ),
        S::Reset(_) => Utility::Reset,
        // Every query reads one snapshot and nothing is written in a
        // transaction: savepoints have nothing to keep.
        S::Savepoint { .. } => Utility::Accepted("SAVEPOINT"),
        S::ReleaseSavepoint { .. } => Utility::Accepted("RELEASE"),
        S::Rollback {
            savepoint: Some(_), ..
        } => Utility::RollbackToSavepoint,
        S::StartTransaction { .. } | S::Commit { .. } | S::Rollback { .. } => Utility::Transaction,
        S::Declare { .. } => Utility::Declare,
        S::Fetch { .. } => Utility::Fetch,
        S::Close { .. } => Utility::Close,
        S::LISTEN { .. } => Utility::Accepted("LISTEN"),
        S::UNLISTEN { .. } => Utility::Accepted("UNLISTEN"),
        S::NOTIFY { .. } => Utility::Accepted("NOTIFY"),
        S::Discard { object_type } => match object_type {
            ast::DiscardObject::ALL => Utility::Accepted("DISCARD ALL"),
            _ => Utility::Accepted("DISCARD"),
        },
        _ => return None,
    })
}

/// Statements sqlparser cannot read that clients send as housekeeping
/// (asyncpg's pool reset sends `UNLISTEN *`).
fn housekeeping(text: &str) -> Option<&'static str> {
    let words: Vec<String> = text
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

/// The text of `SET name = a, b` values: quotes removed.
fn values_text(values: &[SqlExpr]) -> String {
    values
        .iter()
        .map(|v| match v {
            SqlExpr::Value(v) => match &v.value {
                ast::Value::SingleQuotedString(s) | ast::Value::DoubleQuotedString(s) => s.clone(),
                other => other.to_string(),
            },
            SqlExpr::Identifier(i) => i.value.clone(),
            other => other.to_string(),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// PostgreSQL's column name for `SHOW name`.
fn show_column(name: &str) -> String {
    match name {
        "timezone" | "time zone" => "TimeZone".into(),
        "datestyle" => "DateStyle".into(),
        "intervalstyle" => "IntervalStyle".into(),
        "transaction isolation level" => "transaction_isolation".into(),
        other => other.into(),
    }
}

/// A one-off result of text columns.
fn text_response(
    columns: &[String],
    rows: Vec<Vec<Option<String>>>,
) -> PgWireResult<QueryResponse> {
    let fields: Arc<Vec<FieldInfo>> = Arc::new(
        columns
            .iter()
            .map(|c| FieldInfo::new(c.clone(), None, None, Type::TEXT, FieldFormat::Text))
            .collect(),
    );
    let mut encoder = DataRowEncoder::new(fields.clone());
    let mut out = Vec::with_capacity(rows.len());
    for row in rows {
        for value in row {
            encoder.encode_field(&value)?;
        }
        out.push(Ok(encoder.take_row()));
    }
    Ok(QueryResponse::new(fields, futures::stream::iter(out)))
}

/// A plan whose only job is to describe text columns (a `SHOW` in the
/// extended protocol).
fn describe_plan(columns: &[String]) -> PgWireResult<LogicalPlan> {
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
fn plan_fields(plan: &LogicalPlan, format: &Format) -> PgWireResult<Arc<Vec<FieldInfo>>> {
    if matches!(plan, LogicalPlan::Ddl(_) | LogicalPlan::Dml(_)) {
        return Ok(Arc::new(vec![]));
    }
    let schema: Schema = plan.schema().as_arrow().clone();
    encode::fields(&schema, format, Default::default())
}

/// The plan with the portal's parameter values in place of `$1`, `$2`, ….
fn bind(plan: &LogicalPlan, portal: &Portal<Statement>) -> PgWireResult<LogicalPlan> {
    let inferred = parameter_types(plan)?;
    let inferred_refs: Vec<Option<&DataType>> = inferred.iter().map(Option::as_ref).collect();
    let values = datafusion_postgres::arrow_pg::datatypes::df::deserialize_parameters(
        portal,
        &inferred_refs,
    )?;
    plan.clone()
        .replace_params_with_values(&values)
        .map_err(errors::from_datafusion)
}

/// `$1`, `$2`, … with the types DataFusion inferred, in order; a
/// parameter it could not place takes the type it is cast to
/// (`$1::timestamptz`), as PostgreSQL does.
fn parameter_types(plan: &LogicalPlan) -> PgWireResult<Vec<Option<DataType>>> {
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
        let query = &*self.parser.rewrite(query)?;
        let pieces: Vec<Result<ast::Statement, (String, PgWireError)>> =
            match self.parser.parse(query) {
                Ok(statements) => statements.into_iter().map(Ok).collect(),
                Err(_) => crate::cli::split_statements(query)
                    .into_iter()
                    .flat_map(|text| match self.parser.parse(&text) {
                        Ok(s) => s.into_iter().map(Ok).collect::<Vec<_>>(),
                        Err(e) => vec![Err((text, syntax_error(e)))],
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

#[async_trait]
impl QueryParser for Parser {
    type Statement = Statement;

    async fn parse_sql<C>(
        &self,
        _client: &C,
        sql: &str,
        _types: &[Option<Type>],
    ) -> PgWireResult<Option<Statement>>
    where
        C: ClientInfo + Unpin + Send + Sync,
    {
        if let Some(e) = wire_error(sql) {
            return Err(e);
        }
        let sql = &*self.rewrite(sql)?;
        let mut statements = match self.parse(sql) {
            Ok(s) => s,
            Err(e) => match housekeeping(sql) {
                // Planned as an empty statement; answered at execution.
                Some(_) => return Ok(Some((sql.to_string(), None))),
                None => return Err(syntax_error(e)),
            },
        };
        if statements.is_empty() {
            return Ok(None);
        }
        if statements.len() > 1 {
            return Err(user_error(
                code::SYNTAX_ERROR,
                "cannot insert multiple commands into a prepared statement",
            ));
        }
        let statement = statements.remove(0);
        let plan = match utility(&statement) {
            Some(Utility::Show(name)) => {
                let columns = if name == "all" {
                    vec!["name".into(), "setting".into(), "description".into()]
                } else if name.starts_with("datafusion.") {
                    vec!["name".into(), "value".into()]
                } else {
                    vec![show_column(&name)]
                };
                describe_plan(&columns)?
            }
            Some(_) => describe_plan(&[])?,
            None if refuse_copy(&statement).is_err() => describe_plan(&[])?,
            None => {
                let state = self.login.ctx()?.state();
                let statement = statement.clone();
                self.interrupt
                    .guard(self.vars.statement_timeout())
                    .plan(async move {
                        state
                            .statement_to_plan(DfStatement::Statement(Box::new(statement)))
                            .await
                            .map_err(errors::from_datafusion)
                    })
                    .await?
            }
        };
        Ok(Some((sql.to_string(), Some((statement, plan)))))
    }

    fn get_parameter_types(&self, statement: &Statement) -> PgWireResult<Vec<Type>> {
        let Some((sql, plan)) = &statement.1 else {
            return Ok(vec![]);
        };
        let mut types = parameter_types(plan)?
            .into_iter()
            .map(|t| match t {
                Some(t) => datafusion_postgres::arrow_pg::datatypes::into_pg_type(&t),
                None => Ok(Type::UNKNOWN),
            })
            .collect::<PgWireResult<Vec<_>>>()?;
        // `$1::oid[]`: int4 values, described as `oid[]` (asyncpg).
        for (i, kind) in super::compat::oid_array_parameters(sql) {
            if let Some(t) = types.get_mut(i) {
                *t = super::encode::oid_array_kind_type(&kind);
            }
        }
        Ok(types)
    }

    fn get_result_schema(
        &self,
        statement: &Statement,
        format: Option<&Format>,
    ) -> PgWireResult<Vec<FieldInfo>> {
        match &statement.1 {
            Some((_, plan)) => Ok(plan_fields(plan, format.unwrap_or(&Format::UnifiedText))?
                .as_ref()
                .clone()),
            None => Ok(vec![]),
        }
    }
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
        let guard = self.interrupt.guard(self.vars.statement_timeout());
        let plan = bind(plan, portal)?;
        self.execute(plan, &portal.result_column_format, &guard)
            .await
    }
}

impl Session {
    /// The columns a statement will return; a `FETCH` returns its cursor's.
    fn describe_fields<C>(
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn housekeeping_the_parser_does_not_know_is_recognised() {
        assert_eq!(housekeeping("UNLISTEN *"), Some("UNLISTEN"));
        assert_eq!(housekeeping("discard all;"), Some("DISCARD ALL"));
        assert_eq!(housekeeping("SELECT 1"), None);
    }

    #[test]
    fn set_values_lose_their_quotes() {
        let parser = PostgresCompatibilityParser::new();
        let s = parser
            .parse("SET search_path TO public, \"$user\"")
            .unwrap()
            .remove(0);
        let ast::Statement::Set(ast::Set::SingleAssignment { values, .. }) = s else {
            panic!("not a SET: {s:?}");
        };
        assert_eq!(values_text(&values), "public, $user");
    }
}
