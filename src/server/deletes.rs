//! Which `DELETE` statements run: exactly those whose rows OKO can name as
//! PostgreSQL would; every other one is refused before anything is written.
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

use datafusion::common::tree_node::{TreeNode, TreeNodeRecursion};
use datafusion::logical_expr::{Expr, LogicalPlan, WriteOp};
use datafusion::sql::sqlparser::ast;
use pgwire::error::{PgWireError, PgWireResult};

use super::errors::{self, code};

/// The most expression nodes a `DELETE`'s condition may have (the Delta
/// delete converts it recursively, like a scan filter).
pub const MAX_CONDITION_NODES: usize = 1_000;

/// Refuses the `DELETE` forms PostgreSQL refuses or OKO cannot run exactly,
/// by their syntax.
pub fn check_statement(statement: &ast::Statement) -> PgWireResult<()> {
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

/// Refuses a planned `DELETE` whose condition OKO cannot evaluate row by
/// row on the table itself.
pub fn check_plan(plan: &LogicalPlan) -> PgWireResult<()> {
    let LogicalPlan::Dml(dml) = plan else {
        return Ok(());
    };
    if dml.op != WriteOp::Delete {
        return Ok(());
    }
    let mut problem: Option<PgWireError> = None;
    let mut nodes = 0usize;
    let _ = dml.input.apply(|node| {
        match node {
            LogicalPlan::Filter(f) => {
                let _ = f.predicate.apply(|e| {
                    nodes += 1;
                    if let Some(p) = expression_problem(e) {
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
                        "this DELETE needs a {} step; only a condition on the table's own \
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
                "the DELETE's condition has {nodes} parts; the limit is {MAX_CONDITION_NODES} \
                 (delete in batches)"
            ),
        ));
    }
    Ok(())
}

/// Why one part of a condition cannot be evaluated row by row, if so.
fn expression_problem(e: &Expr) -> Option<PgWireError> {
    match e {
        Expr::InSubquery(_)
        | Expr::Exists(_)
        | Expr::ScalarSubquery(_)
        | Expr::SetComparison(_)
        | Expr::OuterReferenceColumn(..) => Some(refused(
            "DELETE with a subquery in its condition is not supported",
            "list the keys in the condition (… WHERE lead_id IN ('L1', 'L2')), or use \
             `oko erase` to remove everything of a client",
        )),
        Expr::ScalarFunction(f)
            if f.func.signature().volatility == datafusion::logical_expr::Volatility::Volatile =>
        {
            Some(refused(
                format!(
                    "DELETE with the volatile function {}() in its condition is not supported",
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
}
