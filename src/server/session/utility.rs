//! Statements the session answers itself, without planning: `SET`,
//! `SHOW`, `RESET`, transactions, `LISTEN`/`UNLISTEN`/`DISCARD`; and
//! `COPY … TO STDOUT`, which plans its rows as the user's `SELECT` of them
//! and writes the COPY messages itself.

use std::fmt::Debug;
use std::sync::Arc;

use datafusion::sql::sqlparser::ast::{self, Expr as SqlExpr};
use datafusion_postgres::QueryHook;
use futures::{Sink, SinkExt, StreamExt};
use pgwire::api::portal::Format;
use pgwire::api::results::{DataRowEncoder, FieldFormat, FieldInfo, QueryResponse, Response, Tag};
use pgwire::api::store::PortalStore;
use pgwire::api::{ClientInfo, ClientPortalStore, Type};
use pgwire::error::{PgWireError, PgWireResult};
use pgwire::messages::PgWireBackendMessage;
use pgwire::messages::copy::{CopyData, CopyDone};
use pgwire::messages::response::TransactionStatus;
use pgwire::messages::startup::ParameterStatus;

use crate::server::copy_out;
use crate::server::encode;
use crate::server::errors::{self, code, user_error};

use super::*;

/// Statements answered by the session itself rather than planned.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Utility {
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
    /// `COPY (query) TO STDOUT`, `COPY table_or_view [(columns)] TO STDOUT`.
    CopyOut,
}

impl Session {
    /// Answers a session statement.
    pub(super) async fn utility<C>(
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
            Utility::CopyOut => self.copy_out(client, statement).await,
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
    pub(super) async fn accepted<C>(
        &self,
        client: &mut C,
        tag: &'static str,
    ) -> PgWireResult<Response>
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

    /// `COPY … TO STDOUT`: the rows a `SELECT` of the same query (or of
    /// the table's or view's columns) would give this user — its tenant's
    /// only, refused as that `SELECT` would be — written in COPY's text,
    /// CSV or binary format ([`crate::server::copy_out`]), batch by batch.
    ///
    /// The messages are sent here rather than through pgwire's COPY
    /// response: an error while rows stream must end the COPY with an
    /// ErrorResponse, as PostgreSQL's does (pgwire would send a CopyFail,
    /// which no client expects from a server), and the command tag counts
    /// rows, not messages (a header is one more message).
    pub(super) async fn copy_out<C>(
        &self,
        client: &mut C,
        statement: &ast::Statement,
    ) -> PgWireResult<Response>
    where
        C: Sink<PgWireBackendMessage> + Unpin + Send,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        let ast::Statement::Copy {
            source,
            options,
            legacy_options,
            ..
        } = statement
        else {
            return Err(user_error(code::INTERNAL_ERROR, "not a COPY statement"));
        };
        let options = copy_out::Options::parse(options, legacy_options)?;
        let query = match source {
            ast::CopySource::Query(q) => ast::Statement::Query(q.clone()),
            ast::CopySource::Table {
                table_name,
                columns,
            } => self.table_query(table_name, columns)?,
        };
        self.parser.follow_time_zone();
        let guard = self.interrupt.guard(self.vars.statement_timeout());
        let state = self.ctx()?.state();
        let plan = guard
            .plan(async move {
                crate::pg_compat::column_names::plan(&state, query)
                    .await
                    .map_err(errors::from_datafusion)
            })
            .await?;
        self.check(&plan)?;
        if let Some(what) = writes(&plan) {
            return Err(user_error(
                code::FEATURE_NOT_SUPPORTED,
                format!("COPY ({what} …) TO STDOUT is not supported: COPY here only reads"),
            ));
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
        let format = if options.is_binary() {
            Format::UnifiedBinary
        } else {
            Format::UnifiedText
        };
        let fields = encode::fields(
            df.schema().as_arrow(),
            &format,
            Arc::new(self.vars.format_options()),
        )?;
        let names: Vec<String> = fields.iter().map(|f| f.name().to_string()).collect();
        let mut writer = copy_out::Writer::new(options, &names)?;
        let mut batches = guard
            .plan(async move {
                crate::cluster::run::execute_stream(df)
                    .await
                    .map_err(errors::from_datafusion)
            })
            .await?;
        client
            .send(PgWireBackendMessage::CopyOutResponse(writer.response()))
            .await?;
        if let Some(header) = writer.header() {
            client
                .feed(PgWireBackendMessage::CopyData(CopyData::new(header)))
                .await?;
        }
        let mut rows = 0;
        while let Some(batch) = guard.run(async { Ok(batches.next().await) }).await? {
            let batch = batch.map_err(errors::from_datafusion)?;
            for row in encode::encode_batch(&batch, &fields) {
                let data = writer.row(&row?);
                client
                    .feed(PgWireBackendMessage::CopyData(CopyData::new(data)))
                    .await?;
                rows += 1;
            }
            client.flush().await?;
        }
        if let Some(trailer) = writer.finish() {
            client
                .feed(PgWireBackendMessage::CopyData(CopyData::new(trailer)))
                .await?;
        }
        client
            .send(PgWireBackendMessage::CopyDone(CopyDone::new()))
            .await?;
        Ok(Response::Execution(Tag::new("COPY").with_rows(rows)))
    }

    /// `SELECT columns FROM table` for `COPY table [(columns)] TO STDOUT`
    /// (a view too: PostgreSQL asks for `COPY (SELECT …)` there, which
    /// gives the same rows).
    fn table_query(
        &self,
        table: &ast::ObjectName,
        columns: &[ast::Ident],
    ) -> PgWireResult<ast::Statement> {
        let mut seen = std::collections::HashSet::new();
        for c in columns {
            if !seen.insert(c.value.clone()) {
                return Err(user_error(
                    "42701",
                    format!("column \"{}\" specified more than once", c.value),
                ));
            }
        }
        let list = if columns.is_empty() {
            "*".to_string()
        } else {
            columns
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        };
        let sql = format!("SELECT {list} FROM {table}");
        let mut parsed = self.parser.parse(&sql).map_err(syntax_error)?;
        match parsed.pop() {
            Some(statement) if parsed.is_empty() => Ok(statement),
            _ => Err(syntax_error(sql)),
        }
    }

    pub(super) async fn set<C>(
        &self,
        client: &mut C,
        statement: &ast::Statement,
    ) -> PgWireResult<Response>
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
                crate::pg_compat::engine_settings::normalized_name(variable),
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
            let value = crate::pg_compat::engine_settings::check(&name, &value)
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

    pub(super) async fn show(&self, name: &str) -> PgWireResult<Response> {
        let (columns, rows) = self.show_rows(name)?;
        Ok(Response::Query(text_response(&columns, rows)?))
    }

    /// The columns and rows of `SHOW name`.
    pub(super) fn show_rows(&self, name: &str) -> PgWireResult<(Vec<String>, Vec<TextRow>)> {
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
        // The parser hands `SHOW a.b` over as the words `a b`, like `SHOW
        // TRANSACTION ISOLATION LEVEL`: a dotted name is the one that exists.
        let dotted = name.replace(' ', ".");
        let name = if self.vars.get(name).is_none()
            && (self.vars.get(&dotted).is_some() || dotted.starts_with("datafusion."))
        {
            dotted.as_str()
        } else {
            name
        };
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
}

/// `ROLLBACK TO [SAVEPOINT] name`, which leaves a failed transaction block.
pub(super) fn is_rollback_to_savepoint(text: &str) -> bool {
    let words: Vec<String> = crate::engine::sql::code_start(text)
        .split_whitespace()
        .take(2)
        .map(|w| w.to_ascii_uppercase())
        .collect();
    words.len() == 2 && words[0] == "ROLLBACK" && words[1] == "TO"
}

/// Tells the client about changed settings.
pub(super) async fn report<C>(
    client: &mut C,
    changes: Vec<(&'static str, String)>,
) -> PgWireResult<()>
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
pub(super) fn transaction_modes(modes: &[ast::TransactionMode]) -> (Option<bool>, Option<String>) {
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
pub(super) fn check_not_aborted<C: ClientInfo>(
    client: &C,
    statement: &ast::Statement,
) -> PgWireResult<()> {
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

/// Statements refused by their form: the `COPY`s other than `TO STDOUT`
/// ([`copy_refusal`]) and the `DELETE` forms of
/// [`crate::server::deletes::check_statement`].
pub(super) fn refuse_copy(statement: &ast::Statement) -> PgWireResult<()> {
    crate::server::deletes::check_statement(statement)?;
    match copy_refusal(statement) {
        Some(e) => Err(e),
        None => Ok(()),
    }
}

/// Why a `COPY` other than `TO STDOUT` is refused: server files and
/// programs with PostgreSQL's own 42501 (no OKO user has the
/// `pg_write_server_files`/`pg_read_server_files`/`pg_execute_server_program`
/// roles: the server's files are not the users'), `FROM STDIN` with 0A000
/// (rows are added with `INSERT`, exports with `oko load`).
fn copy_refusal(statement: &ast::Statement) -> Option<PgWireError> {
    use ast::CopyTarget as T;
    let (message, hint) = match statement {
        ast::Statement::Copy { to, target, .. } => match (to, target) {
            (true, T::Stdout | T::Stdin) => return None,
            (true, T::File { .. }) => (
                "must be superuser or have privileges of the pg_write_server_files role to COPY to a file",
                COPY_TO_STDOUT_HINT,
            ),
            (false, T::File { .. }) => (
                "must be superuser or have privileges of the pg_read_server_files role to COPY from a file",
                "load an export with `oko load`, or add rows with INSERT",
            ),
            (to, T::Program { .. }) => (
                "must be superuser or have privileges of the pg_execute_server_program role to COPY to or from an external program",
                if *to {
                    COPY_TO_STDOUT_HINT
                } else {
                    "load an export with `oko load`, or add rows with INSERT"
                },
            ),
            (false, T::Stdin | T::Stdout) => {
                let mut info = errors::error(
                    code::FEATURE_NOT_SUPPORTED,
                    "COPY FROM STDIN is not supported",
                );
                info.hint = Some("add rows with INSERT, or load an export with `oko load`".into());
                return Some(PgWireError::UserError(Box::new(info)));
            }
        },
        ast::Statement::CopyIntoSnowflake { .. } => {
            return Some(user_error(
                code::SYNTAX_ERROR,
                "syntax error at or near \"INTO\": COPY INTO is not PostgreSQL's",
            ));
        }
        _ => return None,
    };
    let mut info = errors::error(code::INSUFFICIENT_PRIVILEGE, message);
    info.hint = Some(hint.into());
    Some(PgWireError::UserError(Box::new(info)))
}

const COPY_TO_STDOUT_HINT: &str = "COPY … TO STDOUT sends the rows to you, for anyone who may read them; \
     psql's \\copy … to 'file' writes them into a file on your side";

/// `COPY … TO STDOUT` after another statement of the same simple query:
/// its messages would overtake the earlier statements' answers, which are
/// sent when the whole message has run.
pub(super) fn is_copy_out(statement: &ast::Statement) -> bool {
    utility(statement) == Some(Utility::CopyOut)
}

/// The error for a `COPY … TO STDOUT` that [`is_copy_out`] finds after
/// other statements of one query message.
pub(super) fn copy_out_not_first() -> PgWireError {
    let mut info = errors::error(
        code::FEATURE_NOT_SUPPORTED,
        "COPY … TO STDOUT must be the first statement of a query message here",
    );
    info.hint = Some("send it on its own, as psql's \\copy does".into());
    PgWireError::UserError(Box::new(info))
}

/// Which statements the session answers itself.
pub(super) fn utility(statement: &ast::Statement) -> Option<Utility> {
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
        // PostgreSQL reads `TO STDIN` as `TO STDOUT` (both are "the client").
        S::Copy {
            to: true,
            target: ast::CopyTarget::Stdout | ast::CopyTarget::Stdin,
            ..
        } => Utility::CopyOut,
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

/// The text of `SET name = a, b` values: quotes removed.
pub(super) fn values_text(values: &[SqlExpr]) -> String {
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
pub(super) fn show_column(name: &str) -> String {
    match name {
        "timezone" | "time zone" => "TimeZone".into(),
        "datestyle" => "DateStyle".into(),
        "intervalstyle" => "IntervalStyle".into(),
        "transaction isolation level" => "transaction_isolation".into(),
        other => other.into(),
    }
}

/// A one-off result of text columns.
pub(super) fn text_response(
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    pub(super) fn set_values_lose_their_quotes() {
        let parser = crate::pg_compat::compat::StatementParser::default();
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
