//! Roles, checked on what a statement would do: its logical plan, with
//! every subquery, `EXPLAIN ANALYZE` input and CTE — not its first keyword.
//!
//! | role | may |
//! |---|---|
//! | `viewer` | read every table and report (of its tenant, when bound to one), also with `COPY … TO STDOUT` |
//! | `moderator` | also `INSERT INTO rating_moderations` and `INSERT INTO lead_notes` |
//! | `admin` | also `INSERT` into every fact table, `DELETE` (retention, erasure) and `UPDATE leads` (corrections) |
//!
//! Refused for everyone: DDL (the tables are OKO's model, views come from
//! `sql/` and the views folder), `TRUNCATE`/`MERGE`/`INSERT OVERWRITE`
//! (facts are append-only; a lead is corrected with `UPDATE`, a rating with
//! a moderation), any write into `lead_corrections` (OKO's own record of
//! the corrections), `COPY … TO 'file'` (it writes files on the
//! server; `COPY … TO STDOUT` is a read, checked as the `SELECT` of its rows
//! in [`super::session`]), and SQL-level `PREPARE`/`EXECUTE`/`SET` planned
//! by the engine (drivers prepare through the protocol; settings go through
//! the session).

use datafusion::common::tree_node::TreeNodeRecursion;
use datafusion::logical_expr::dml::InsertOp;
use datafusion::logical_expr::{LogicalPlan, WriteOp};
use pgwire::error::{PgWireError, PgWireResult};

use super::errors::{self, code};
use crate::auth::{Principal, Role};
use crate::model::Table;

/// Refuses `plan` unless `who` may run everything in it.
pub fn check(plan: &LogicalPlan, who: &Principal) -> PgWireResult<()> {
    let mut refusal = None;
    let walked = plan.apply_with_subqueries(|node| {
        if let Some(why) = refused(node, who) {
            refusal = Some(why);
            return Ok(TreeNodeRecursion::Stop);
        }
        Ok(TreeNodeRecursion::Continue)
    });
    if let Err(e) = walked {
        return Err(errors::from_datafusion(e));
    }
    match refusal {
        None => Ok(()),
        Some((why, hint)) => {
            let mut info = errors::error(code::INSUFFICIENT_PRIVILEGE, why);
            info.hint = hint;
            Err(PgWireError::UserError(Box::new(info)))
        }
    }
}

/// Why one plan node is refused to `who` (and a hint), or `None`.
fn refused(node: &LogicalPlan, who: &Principal) -> Option<(String, Option<String>)> {
    match node {
        LogicalPlan::Ddl(ddl) => Some((
            format!(
                "{} is not available: OKO's tables and views are fixed by its model",
                ddl.name()
            ),
            Some(
                "custom reports are views in the server's views folder (reports.views_dir)".into(),
            ),
        )),
        LogicalPlan::Copy(_) => Some((
            "COPY … TO a file is not available: it would write files on the server".into(),
            Some("COPY … TO STDOUT sends the rows to you (psql: \\copy … to 'file')".into()),
        )),
        LogicalPlan::Statement(s) => Some((
            format!("{} is not available as SQL here", s.name()),
            Some(
                "prepared statements: use your driver's parameters (the protocol's Parse/Bind)"
                    .into(),
            ),
        )),
        LogicalPlan::Dml(dml) if matches!(dml.op, WriteOp::Delete) && !has_where(&dml.input) => {
            Some((
                format!(
                    "DELETE FROM {} needs a WHERE clause: OKO does not empty a table by accident",
                    dml.table_name
                ),
                Some("say which rows, e.g. WHERE tenant = '…' AND created_at < '…'".into()),
            ))
        }
        LogicalPlan::Dml(dml) => {
            let table = Table::from_name(dml.table_name.table());
            write_refused(table, &dml.op, dml.table_name.table(), who)
        }
        _ => None,
    }
}

/// Does a DELETE's input start with its own WHERE? (A tenant-bound table
/// brings a filter of its own, further down: that one does not count.)
fn has_where(input: &LogicalPlan) -> bool {
    match input {
        LogicalPlan::Filter(_) => true,
        LogicalPlan::Limit(l) => has_where(&l.input),
        _ => false,
    }
}

fn write_refused(
    table: Option<Table>,
    op: &WriteOp,
    name: &str,
    who: &Principal,
) -> Option<(String, Option<String>)> {
    // The roles that may: a moderator's and a supervisor's own tables
    // (Role::may_insert), else an admin — facts, and new rows of the
    // dimension tables (a stored key gets 23505; changing a stored row is
    // a load's upsert); deletes only an admin.
    let allowed: Vec<Role> = match (op, table) {
        (_, Some(t)) if !t.is_exported() => {
            return Some((
                format!("{name} cannot be written: it is OKO's record of the corrections of leads"),
                Some("correct a lead with UPDATE leads SET … WHERE …; the record follows".into()),
            ));
        }
        (WriteOp::Insert(InsertOp::Append), Some(t)) => Role::inserting(t.name()),
        // Which tables and columns an UPDATE may set is the statement
        // check's (`super::deletes`); the role is checked here.
        (WriteOp::Delete | WriteOp::Update, Some(_)) => vec![Role::Admin],
        (_, None) => {
            return Some((
                format!("{name} cannot be written: it is not a table of OKO's model"),
                None,
            ));
        }
        (op, Some(_)) => {
            return Some((
                format!("{op} is not available: facts are append-only"),
                Some(
                    "correct a lead with UPDATE leads, a rating with INSERT INTO \
                     rating_moderations; remove rows with DELETE"
                        .into(),
                ),
            ));
        }
    };
    if allowed.contains(&who.role) {
        return None;
    }
    let needs: Vec<&str> = allowed.iter().map(|r| r.name()).collect();
    Some((
        format!(
            "permission denied: {} on {name} needs the {} role; user {} is a {}",
            op_name(op),
            needs.join(" or "),
            who.user,
            who.role
        ),
        None,
    ))
}

fn op_name(op: &WriteOp) -> &'static str {
    match op {
        WriteOp::Insert(_) => "INSERT",
        WriteOp::Delete => "DELETE",
        WriteOp::Update => "UPDATE",
        WriteOp::Ctas => "CREATE TABLE AS",
        WriteOp::Truncate => "TRUNCATE",
        WriteOp::MergeInto(_) => "MERGE",
        _ => "this write",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::prelude::SessionContext;

    fn who(role: Role) -> Principal {
        Principal {
            user: "u".into(),
            role,
            tenant: None,
        }
    }

    async fn ctx() -> SessionContext {
        let ctx = SessionContext::new();
        for t in Table::ALL {
            ctx.register_table(
                t.name(),
                std::sync::Arc::new(datafusion::datasource::empty::EmptyTable::new(t.schema())),
            )
            .unwrap();
        }
        ctx
    }

    fn code_of(r: PgWireResult<()>) -> Option<String> {
        match r {
            Ok(()) => None,
            Err(PgWireError::UserError(info)) => Some(info.code),
            Err(e) => panic!("not a user error: {e}"),
        }
    }

    #[tokio::test]
    async fn each_role_may_do_its_writes_only() {
        let ctx = ctx().await;
        let denied = Some(code::INSUFFICIENT_PRIVILEGE.to_string());
        // Allowed for: viewer, supervisor, moderator, admin.
        let cases: &[(&str, [bool; 4])] = &[
            ("SELECT * FROM leads", [true, true, true, true]),
            (
                "INSERT INTO rating_moderations (tenant, rating_id, moderated_at, moderator) \
                 VALUES ('t', 'r', now(), 'm')",
                [false, false, true, true],
            ),
            (
                "INSERT INTO lead_notes (tenant, lead_id, created_at) VALUES ('t', 'l', now())",
                [false, true, true, true],
            ),
            (
                "INSERT INTO manual_stats (tenant, hour, metric, value) VALUES ('t', now(), 'm', 1.0)",
                [false, true, false, true],
            ),
            (
                "INSERT INTO leads (tenant, lead_id, channel, direction, created_at, created_month) \
                 VALUES ('t', 'l', 'call', 'in', now(), '2025-01')",
                [false, false, false, true],
            ),
            (
                "DELETE FROM ratings WHERE tenant = 't'",
                [false, false, false, true],
            ),
            (
                "DELETE FROM manual_stats WHERE tenant = 't'",
                [false, false, false, true],
            ),
            (
                "DELETE FROM lead_notes WHERE tenant = 't'",
                [false, false, false, true],
            ),
            // A write hidden in EXPLAIN ANALYZE or a CTE is still a write.
            (
                "EXPLAIN ANALYZE INSERT INTO manual_stats (tenant, hour, metric, value) \
                 VALUES ('t', now(), 'm', 1.0)",
                [false, true, false, true],
            ),
            (
                "EXPLAIN ANALYZE INSERT INTO ratings (tenant, rating_id, lead_id, score_raw, received_at) \
                 VALUES ('t', 'r', 'l', '5', now())",
                [false, false, false, true],
            ),
            // Corrections of leads: admins only (the columns and the
            // condition are checked by `deletes`).
            (
                "UPDATE leads SET class = 'x' WHERE lead_id = 'l'",
                [false, false, false, true],
            ),
            (
                "EXPLAIN ANALYZE UPDATE leads SET manager_id = 'm' WHERE lead_id = 'l'",
                [false, false, false, true],
            ),
            // OKO's record of the corrections: never written over SQL.
            (
                "INSERT INTO lead_corrections (tenant, lead_id, column_name, corrected_by, corrected_at, source) \
                 VALUES ('t', 'l', 'class', 'u', now(), 'sql')",
                [false, false, false, false],
            ),
            (
                "DELETE FROM lead_corrections WHERE tenant = 't'",
                [false, false, false, false],
            ),
            // Never, for anyone.
            (
                "INSERT INTO tenants (tenant, timezone) VALUES ('t', 'UTC')",
                [false, false, false, true],
            ),
            ("CREATE TABLE t AS SELECT 1", [false, false, false, false]),
            ("CREATE VIEW v AS SELECT 1", [false, false, false, false]),
            ("DROP TABLE leads", [false, false, false, false]),
            (
                "COPY (SELECT 1) TO '/tmp/x.csv'",
                [false, false, false, false],
            ),
            ("PREPARE p AS SELECT 1", [false, false, false, false]),
            (
                "SET datafusion.execution.batch_size = 1",
                [false, false, false, false],
            ),
        ];
        for (sql, allowed) in cases {
            let plan = match ctx.state().create_logical_plan(sql).await {
                Ok(p) => p,
                Err(e) => panic!("{sql}: {e}"),
            };
            for (role, ok) in [Role::Viewer, Role::Supervisor, Role::Moderator, Role::Admin]
                .into_iter()
                .zip(allowed)
            {
                let got = code_of(check(&plan, &who(role)));
                assert_eq!(got.is_none(), *ok, "{sql} as {role}: {got:?}");
                if !ok {
                    assert_eq!(got, denied, "{sql} as {role}");
                }
            }
        }
    }
}
