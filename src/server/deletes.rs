//! Which `DELETE` and `UPDATE` statements run: exactly those whose rows OKO
//! can name as PostgreSQL would; every other one is refused before anything
//! is written.
//!
//! DataFusion hands a table's `delete_from` only the plain filters of the
//! statement's plan. A condition with a subquery (`… AND lead_id IN
//! (SELECT …)`, `EXISTS`, `NOT IN`, a scalar subquery) becomes a join when
//! the plan is optimised, and the join was dropped: `DELETE FROM lead_notes
//! WHERE comment LIKE 'x%' AND lead_id IN (SELECT … WHERE false)` deleted
//! every `x%` note. `DELETE … LIMIT 1` deleted every matching row.
//!
//! So a `DELETE` runs only when its `WHERE` is a condition on the table's
//! own columns that the Delta delete evaluates row by row — comparisons,
//! `IN` lists, `LIKE`, `IS NULL`, `CASE`, functions, `AND`/`OR`/`NOT` —
//! which deletes exactly the rows PostgreSQL deletes (`tests/it/deletes.rs`
//! checks that against PostgreSQL 15). Refused, with nothing written:
//! - subqueries of any kind, and `USING` (0A000, "feature not supported";
//!   the hint says what to do instead: a literal `IN` list, or `oko erase`
//!   for everything of a client);
//! - `RETURNING` (0A000);
//! - volatile functions such as `random()` (0A000: the rows would depend on
//!   how often the condition is evaluated);
//! - a condition of more than [`MAX_CONDITION_NODES`] expression nodes
//!   (54001; delete in batches);
//! - `LIMIT` and `ORDER BY`, which PostgreSQL does not accept either
//!   (42601).
//!
//! `UPDATE` (a correction of leads, [`crate::live::update`]) names its rows
//! the same way and is refused for the same reasons — a subquery in its
//! `WHERE` or in a new value, a volatile function, `RETURNING`, too large a
//! condition — and also: `UPDATE … FROM` (0A000), an `UPDATE` without
//! `WHERE` (0A000: say which leads), a table other than `leads` (0A000),
//! and a column [`Table::corrected_by_sql`] does not list — the key
//! `tenant`/`lead_id` and `created_at` with a message saying what to do
//! instead (0A000).

use datafusion::common::tree_node::{TreeNode, TreeNodeRecursion};
use datafusion::logical_expr::{Expr, LogicalPlan, WriteOp};
use datafusion::sql::sqlparser::ast;
use pgwire::error::{PgWireError, PgWireResult};

use super::errors::{self, code};
use crate::model::Table;

/// The most expression nodes a `DELETE`'s condition may have (the Delta
/// delete converts it recursively, like a scan filter).
pub const MAX_CONDITION_NODES: usize = 1_000;

/// Refuses the `DELETE` and `UPDATE` forms PostgreSQL refuses or OKO
/// cannot run exactly, by their syntax.
pub fn check_statement(statement: &ast::Statement) -> PgWireResult<()> {
    if let ast::Statement::Update(update) = statement {
        return check_update_statement(update);
    }
    let ast::Statement::Delete(delete) = statement else {
        return Ok(());
    };
    if delete.limit.is_some() {
        return Err(errors::user_error(
            code::SYNTAX_ERROR,
            "syntax error at or near \"LIMIT\": DELETE takes no LIMIT",
        ));
    }
    if !delete.order_by.is_empty() {
        return Err(errors::user_error(
            code::SYNTAX_ERROR,
            "syntax error at or near \"ORDER\": DELETE takes no ORDER BY",
        ));
    }
    if delete.using.is_some() {
        return Err(refused(
            "DELETE … USING is not supported",
            "name the rows with a condition on the table's own columns (a literal IN list)",
        ));
    }
    if delete.returning.is_some() {
        return Err(refused(
            "DELETE … RETURNING is not supported",
            "select the rows first, then delete them",
        ));
    }
    Ok(())
}

fn check_update_statement(update: &ast::Update) -> PgWireResult<()> {
    if update.limit.is_some() {
        return Err(errors::user_error(
            code::SYNTAX_ERROR,
            "syntax error at or near \"LIMIT\": UPDATE takes no LIMIT",
        ));
    }
    if !update.order_by.is_empty() {
        return Err(errors::user_error(
            code::SYNTAX_ERROR,
            "syntax error at or near \"ORDER\": UPDATE takes no ORDER BY",
        ));
    }
    if update.from.is_some() {
        return Err(refused(
            "UPDATE … FROM is not supported",
            "set literal values and name the leads with a condition on their own columns \
             (… WHERE lead_id IN ('L1', 'L2')), or load a corrected export",
        ));
    }
    if update.returning.is_some() {
        return Err(refused(
            "UPDATE … RETURNING is not supported",
            "update, then select the leads",
        ));
    }
    if update.selection.is_none() {
        return Err(refused(
            "UPDATE without WHERE is not supported: OKO does not rewrite a whole table by accident",
            "say which leads, e.g. WHERE lead_id = '…' (or WHERE tenant = '…' for all of a tenant's)",
        ));
    }
    Ok(())
}

/// Refuses a planned `DELETE` or `UPDATE` whose condition OKO cannot
/// evaluate row by row on the table itself, and an `UPDATE` of a table or
/// column SQL does not correct.
pub fn check_plan(plan: &LogicalPlan) -> PgWireResult<()> {
    let LogicalPlan::Dml(dml) = plan else {
        return Ok(());
    };
    let verb = match dml.op {
        WriteOp::Delete => "DELETE",
        WriteOp::Update => "UPDATE",
        _ => return Ok(()),
    };
    let mut problem: Option<PgWireError> = None;
    let mut nodes = 0usize;
    let mut input = dml.input.as_ref();
    if dml.op == WriteOp::Update {
        // The new values: a projection of every column over the rows.
        check_assignments(dml.table_name.table(), input)?;
        if let LogicalPlan::Projection(p) = input {
            for e in &p.expr {
                let _ = e.apply(|e| {
                    nodes += 1;
                    if let Some(p) = expression_problem(e, verb) {
                        problem = Some(p);
                        return Ok(TreeNodeRecursion::Stop);
                    }
                    Ok(TreeNodeRecursion::Continue)
                });
            }
            input = p.input.as_ref();
        }
    }
    let _ = input.apply(|node| {
        match node {
            LogicalPlan::Filter(f) => {
                let _ = f.predicate.apply(|e| {
                    nodes += 1;
                    if let Some(p) = expression_problem(e, verb) {
                        problem = Some(p);
                        return Ok(TreeNodeRecursion::Stop);
                    }
                    Ok(TreeNodeRecursion::Continue)
                });
            }
            LogicalPlan::TableScan(_) | LogicalPlan::SubqueryAlias(_) => {}
            other => {
                problem = Some(refused(
                    format!(
                        "this {verb} needs a {} step; only a condition on the table's own \
                         columns is supported",
                        other.display()
                    ),
                    "name the rows with a condition on the table's own columns",
                ));
            }
        }
        Ok(if problem.is_some() {
            TreeNodeRecursion::Stop
        } else {
            TreeNodeRecursion::Continue
        })
    });
    if let Some(p) = problem {
        return Err(p);
    }
    if nodes > MAX_CONDITION_NODES {
        return Err(errors::user_error(
            code::STATEMENT_TOO_COMPLEX,
            format!(
                "the {verb}'s condition has {nodes} parts; the limit is {MAX_CONDITION_NODES} \
                 ({} in batches)",
                verb.to_lowercase()
            ),
        ));
    }
    Ok(())
}

/// The columns an `UPDATE` sets: those of its projection that are not the
/// column itself. Refused unless the table lets SQL correct every one
/// ([`Table::corrected_by_sql`]).
fn check_assignments(table_name: &str, input: &LogicalPlan) -> PgWireResult<()> {
    let table = Table::from_name(table_name);
    let allowed = table.map(|t| t.corrected_by_sql()).unwrap_or(&[]);
    if allowed.is_empty() {
        return Err(refused(
            format!("UPDATE {table_name} is not supported: only leads are corrected with UPDATE"),
            "a rating is corrected with INSERT INTO rating_moderations; other rows are deleted \
             and inserted again, or loaded from a corrected export",
        ));
    }
    let LogicalPlan::Projection(p) = input else {
        return Ok(());
    };
    for (e, field) in p.expr.iter().zip(p.schema.fields()) {
        let name = field.name().as_str();
        let unchanged = match e {
            Expr::Alias(a) => matches!(a.expr.as_ref(), Expr::Column(c) if c.name == name),
            Expr::Column(c) => c.name == name,
            _ => false,
        };
        if unchanged || allowed.contains(&name) {
            continue;
        }
        let column = table.and_then(|t| t.column(name));
        let (message, hint) = if table.is_some_and(|t| t.key().contains(&name))
            || name == "created_at"
        {
            (
                format!(
                    "UPDATE cannot set {name}: a lead's tenant, lead_id and created_at identify \
                     it and place it in its partition"
                ),
                "delete the lead and insert it again, or load the corrected export (a load \
                 moves a lead whose created_at changed)",
            )
        } else if column.is_some_and(|c| c.derived) {
            (
                format!("UPDATE cannot set {name}: it is computed from created_at"),
                "it follows created_at by itself",
            )
        } else {
            (
                format!(
                    "UPDATE cannot set {name}: an UPDATE of {table_name} sets {}",
                    allowed.join(", ")
                ),
                "other columns are corrected by loading the corrected export",
            )
        };
        return Err(refused(message, hint));
    }
    Ok(())
}

/// Why one part of a condition cannot be evaluated row by row, if so.
fn expression_problem(e: &Expr, verb: &str) -> Option<PgWireError> {
    match e {
        Expr::InSubquery(_)
        | Expr::Exists(_)
        | Expr::ScalarSubquery(_)
        | Expr::SetComparison(_)
        | Expr::OuterReferenceColumn(..) => Some(refused(
            format!("{verb} with a subquery is not supported"),
            "list the keys in the condition (… WHERE lead_id IN ('L1', 'L2')), or use \
             `oko erase` to remove everything of a client",
        )),
        Expr::ScalarFunction(f)
            if f.func.signature().volatility == datafusion::logical_expr::Volatility::Volatile =>
        {
            Some(refused(
                format!(
                    "{verb} with the volatile function {}() is not supported",
                    f.func.name()
                ),
                "name the rows with a condition that gives the same answer every time",
            ))
        }
        _ => None,
    }
}

fn refused(message: impl Into<String>, hint: &str) -> PgWireError {
    let mut info = errors::error(code::FEATURE_NOT_SUPPORTED, message);
    info.hint = Some(hint.into());
    PgWireError::UserError(Box::new(info))
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::arrow::datatypes::{DataType, Field, Schema};
    use datafusion::catalog::MemTable;
    use datafusion::prelude::SessionContext;
    use std::sync::Arc;

    /// The SQLSTATE `sql` is refused with in `ctx` (by its syntax, then by
    /// its plan), or None when it may run.
    async fn code_in(ctx: &SessionContext, sql: &str) -> Option<String> {
        let statements = datafusion::sql::sqlparser::parser::Parser::parse_sql(
            &datafusion::sql::sqlparser::dialect::PostgreSqlDialect {},
            sql,
        )
        .unwrap();
        let code = |r: PgWireResult<()>| match r {
            Err(PgWireError::UserError(info)) => Some(info.code),
            _ => None,
        };
        if let Some(c) = code(check_statement(&statements[0])) {
            return Some(c);
        }
        let plan = ctx.state().create_logical_plan(sql).await.unwrap();
        code(check_plan(&plan))
    }

    async fn code_of(sql: &str) -> Option<String> {
        let ctx = SessionContext::new();
        let schema = Arc::new(Schema::new(vec![
            Field::new("id", DataType::Utf8, false),
            Field::new("n", DataType::Int64, true),
        ]));
        for t in ["t", "u"] {
            ctx.register_table(
                t,
                Arc::new(MemTable::try_new(schema.clone(), vec![vec![]]).unwrap()),
            )
            .unwrap();
        }
        code_in(&ctx, sql).await
    }

    #[tokio::test]
    async fn only_conditions_on_the_tables_own_rows_pass() {
        for sql in [
            "DELETE FROM t WHERE id = 'a'",
            "DELETE FROM t WHERE id IN ('a', 'b') AND n > 3 OR n IS NULL",
            "DELETE FROM t WHERE id LIKE 'x%' AND CASE WHEN n > 1 THEN true ELSE false END",
            "DELETE FROM t WHERE lower(id) = 'a'",
        ] {
            assert_eq!(code_of(sql).await, None, "{sql}");
        }
        for (sql, expected) in [
            ("DELETE FROM t WHERE id IN (SELECT id FROM u)", "0A000"),
            (
                "DELETE FROM t WHERE n > 1 AND id NOT IN (SELECT id FROM u)",
                "0A000",
            ),
            (
                "DELETE FROM t WHERE EXISTS (SELECT 1 FROM u WHERE u.id = t.id)",
                "0A000",
            ),
            ("DELETE FROM t WHERE n = (SELECT max(n) FROM u)", "0A000"),
            ("DELETE FROM t WHERE random() < 0.5", "0A000"),
            ("DELETE FROM t WHERE id = 'a' RETURNING id", "0A000"),
            ("DELETE FROM t WHERE id = 'a' LIMIT 1", "42601"),
        ] {
            assert_eq!(code_of(sql).await.as_deref(), Some(expected), "{sql}");
        }
    }

    /// `UPDATE` over the model's `leads` and `ratings` (empty).
    async fn update_code(sql: &str) -> Option<String> {
        let ctx = SessionContext::new();
        for t in [Table::Leads, Table::Ratings] {
            ctx.register_table(
                t.name(),
                Arc::new(MemTable::try_new(t.schema(), vec![vec![]]).unwrap()),
            )
            .unwrap();
        }
        code_in(&ctx, sql).await
    }

    #[tokio::test]
    async fn updates_set_correctable_columns_of_named_leads_only() {
        for sql in [
            "UPDATE leads SET class = 'Спам' WHERE lead_id = 'L1'",
            "UPDATE leads SET manager_id = 'm2', class = NULL WHERE tenant = 't' AND lead_id IN ('a', 'b')",
            "UPDATE leads SET class = upper(class) WHERE class LIKE 'x%'",
            "UPDATE leads l SET ended_at = l.answered_at WHERE l.lead_id = 'a'",
        ] {
            assert_eq!(update_code(sql).await, None, "{sql}");
        }
        for (sql, expected) in [
            ("UPDATE leads SET class = 'x'", "0A000"),
            (
                "UPDATE leads SET lead_id = 'x' WHERE lead_id = 'a'",
                "0A000",
            ),
            ("UPDATE leads SET tenant = 'x' WHERE lead_id = 'a'", "0A000"),
            (
                "UPDATE leads SET created_at = now() WHERE lead_id = 'a'",
                "0A000",
            ),
            (
                "UPDATE leads SET created_month = '2020-01' WHERE lead_id = 'a'",
                "0A000",
            ),
            (
                "UPDATE leads SET client_id = 'c' WHERE lead_id = 'a'",
                "0A000",
            ),
            (
                "UPDATE ratings SET score = 5 WHERE rating_id = 'r'",
                "0A000",
            ),
            (
                "UPDATE leads SET class = 'x' WHERE lead_id IN (SELECT rating_id FROM ratings)",
                "0A000",
            ),
            (
                "UPDATE leads SET class = (SELECT max(rating_id) FROM ratings) WHERE lead_id = 'a'",
                "0A000",
            ),
            ("UPDATE leads SET class = 'x' WHERE random() < 0.5", "0A000"),
            (
                "UPDATE leads SET class = 'x' WHERE lead_id = 'a' RETURNING lead_id",
                "0A000",
            ),
            (
                "UPDATE leads SET class = r.score_raw FROM ratings r WHERE r.lead_id = leads.lead_id",
                "0A000",
            ),
        ] {
            assert_eq!(update_code(sql).await.as_deref(), Some(expected), "{sql}");
        }
    }
}
