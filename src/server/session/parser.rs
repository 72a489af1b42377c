//! Statements as the session parses them: the client-idiom rewrites of
//! [`crate::pg_compat::compat`] before and after parsing, the session's
//! time zone for literals, and the parameter and result types the extended
//! protocol describes.

use std::sync::Arc;

use async_trait::async_trait;
use datafusion::sql::sqlparser::ast::{self};
use pgwire::api::portal::Format;
use pgwire::api::results::FieldInfo;
use pgwire::api::stmt::QueryParser;
use pgwire::api::{ClientInfo, Type};
use pgwire::error::PgWireResult;

use crate::pg_compat::vars::Vars;
use crate::server::errors::{self, code, user_error};
use crate::server::interrupt::Interrupt;

use super::*;

/// Parses and plans statements for the extended protocol.
pub struct Parser {
    pub(super) login: Arc<LoginSlot>,
    pub(super) sql: crate::pg_compat::compat::StatementParser,
    /// For the rewrites that depend on session settings.
    pub(super) vars: Arc<Vars>,
    /// Planning a prepared statement can be cancelled or time out too.
    pub(super) interrupt: Arc<Interrupt>,
}

impl Parser {
    /// The statements of `sql`, with the compatibility rewrites their kind
    /// of statement may get ([`crate::pg_compat::compat::StatementParser`]).
    pub(super) fn parse(
        &self,
        sql: &str,
    ) -> Result<Vec<ast::Statement>, datafusion::sql::sqlparser::parser::ParserError> {
        self.sql.parse(sql)
    }

    /// The query as the parser should see it ([`crate::pg_compat::compat`]), with the
    /// engine following the session's `TimeZone` first.
    /// Queries over the server's limits ([`super::limits`]) are refused here.
    pub(super) fn rewrite<'a>(&self, sql: &'a str) -> PgWireResult<std::borrow::Cow<'a, str>> {
        crate::server::limits::check(sql)?;
        self.follow_time_zone();
        let path = self.vars.get("search_path").unwrap_or_default();
        Ok(crate::pg_compat::compat::rewrite_all(
            sql,
            &path,
            &self.vars.session_user(),
        ))
    }
}

impl Parser {
    /// The engine reads `TIMESTAMP WITH TIME ZONE` literals and shows
    /// `timestamptz` values in the session's time zone, as PostgreSQL does
    /// (a driver's startup `TimeZone`, `SET TIME ZONE`).
    pub(super) fn follow_time_zone(&self) {
        let zone = match self.vars.get("timezone") {
            Some(z) if !z.eq_ignore_ascii_case("local") && !z.eq_ignore_ascii_case("default") => z,
            _ => "UTC".to_string(),
        };
        let zone = engine_zone(&zone);
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

/// A `TimeZone` setting as the engine's zone: an IANA name as it is; a
/// number as hours east of UTC (`SET TIME ZONE 3`, `'+03'`: PostgreSQL
/// reads a whole number so); any other offset (`'UTC+3'`, `'-03:30'`) by
/// PostgreSQL's POSIX rule, hours *west* of Greenwich, written as the
/// engine's east offset (`-03:00`, `+03:30`).
fn engine_zone(setting: &str) -> String {
    use crate::pg_compat::pg_functions::Zone;
    let t = setting.trim();
    if let Ok(h) = t.parse::<i32>() {
        return format!("{}{:02}:00", if h < 0 { '-' } else { '+' }, h.abs());
    }
    match Zone::parse(t) {
        Ok(Zone::Fixed(o))
            if !["utc", "gmt", "z", "zulu", "universal"]
                .contains(&t.to_ascii_lowercase().as_str()) =>
        {
            let east = o.local_minus_utc();
            let (sign, abs) = if east < 0 { ('-', -east) } else { ('+', east) };
            format!("{sign}{:02}:{:02}", abs / 3600, abs / 60 % 60)
        }
        _ => t.to_string(),
    }
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
        // A checkout ping: described now, answered at `Execute`
        // ([`crate::server::fast_path`]).
        if crate::server::fast_path::enabled(&self.vars)
            && let Some(plan) =
                crate::server::fast_path::recognise(sql).and_then(|c| c.describe_plan())
            && let Ok(mut statements) = self.parse(sql)
            && statements.len() == 1
        {
            return Ok(Some((sql.to_string(), Some((statements.remove(0), plan)))));
        }
        let sql = &*self.rewrite(sql)?;
        let mut statements = match self.parse(sql) {
            Ok(s) => s,
            Err(e) => match housekeeping(sql) {
                // Planned as an empty statement; answered at execution.
                Some(_) => return Ok(Some((sql.to_string(), None))),
                None => return Err(parse_error(&e)),
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
                        let plan = crate::pg_compat::column_names::plan(&state, statement)
                            .await
                            .map_err(errors::from_datafusion)?;
                        Ok(crate::pg_compat::column_names::settle_types(&state, plan))
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
        for (i, kind) in crate::pg_compat::compat::oid_array_parameters(sql) {
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

#[cfg(test)]
mod zone_tests {
    use super::engine_zone;

    #[test]
    fn time_zone_settings_become_the_engines_east_offsets_as_postgresql_reads_them() {
        assert_eq!(engine_zone("3"), "+03:00");
        assert_eq!(engine_zone("+03"), "+03:00");
        assert_eq!(engine_zone("-5"), "-05:00");
        assert_eq!(engine_zone("UTC+3"), "-03:00");
        assert_eq!(engine_zone("-03:30"), "+03:30");
        assert_eq!(engine_zone("Europe/Moscow"), "Europe/Moscow");
        assert_eq!(engine_zone("UTC"), "UTC");
    }
}
