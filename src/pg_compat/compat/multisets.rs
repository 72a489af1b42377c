//! `EXCEPT ALL` and `INTERSECT ALL` with PostgreSQL's meaning.
//!
//! PostgreSQL's `EXCEPT ALL` is a difference of multisets (a row `m` times
//! on the left and `n` times on the right is `max(m - n, 0)` times in the
//! answer), `INTERSECT ALL` their intersection (`min(m, n)` times).
//! DataFusion plans both as semi/anti joins without counting: `EXCEPT ALL`
//! drops every copy of a row the right side has once, `INTERSECT ALL`
//! keeps every left copy. So each becomes the plain (distinct) operation
//! over the rows numbered among their equals:
//!
//! ```sql
//! SELECT c1 AS "source" FROM (
//!   SELECT c1, row_number() OVER (PARTITION BY c1) AS n FROM (left) AS l(c1)
//!   EXCEPT
//!   SELECT c1, row_number() OVER (PARTITION BY c1) AS n FROM (right) AS r(c1)
//! ) AS d
//! ```
//!
//! (the `k`-th copy of a row survives `EXCEPT` exactly when the right side
//! has fewer than `k` copies, and `INTERSECT` when it has at least `k`).
//! An operand whose columns cannot be counted from its select list
//! (`SELECT *`) is left as written.

use datafusion::sql::sqlparser::ast::{SelectItem, SetExpr, SetOperator, SetQuantifier, Statement};
use datafusion::sql::sqlparser::dialect::PostgreSqlDialect;
use datafusion::sql::sqlparser::parser::Parser;

/// Every `EXCEPT ALL`/`INTERSECT ALL` in `body` (a query's), rewritten.
pub fn counted_set_operations(body: &mut SetExpr) {
    match body {
        SetExpr::SetOperation { left, right, .. } => {
            counted_set_operations(left);
            counted_set_operations(right);
        }
        SetExpr::Query(q) => counted_set_operations(&mut q.body),
        _ => return,
    }
    if let Some(rewritten) = counted(body) {
        *body = rewritten;
    }
}

/// The select list that names a set operation's columns (its leftmost).
fn naming_items(body: &SetExpr) -> Option<&[SelectItem]> {
    match body {
        SetExpr::Select(s) => Some(&s.projection),
        SetExpr::Query(q) => naming_items(&q.body),
        SetExpr::SetOperation { left, .. } => naming_items(left),
        _ => None,
    }
}

fn counted(body: &SetExpr) -> Option<SetExpr> {
    let SetExpr::SetOperation {
        op: op @ (SetOperator::Except | SetOperator::Intersect),
        set_quantifier: SetQuantifier::All,
        left,
        right,
    } = body
    else {
        return None;
    };
    let names: Vec<String> = naming_items(left)?
        .iter()
        .map(crate::pg_compat::column_names::item_name)
        .collect::<Option<_>>()?;
    let columns: Vec<String> = (1..=names.len()).map(|i| format!("oko_c{i}")).collect();
    let columns = columns.join(", ");
    let numbered = |side: &SetExpr, alias: &str| {
        format!(
            "SELECT {columns}, row_number() OVER (PARTITION BY {columns}) AS oko_copy \
             FROM ({side}) AS {alias}({columns})"
        )
    };
    let outer: Vec<String> = names
        .iter()
        .enumerate()
        .map(|(i, n)| format!("oko_c{} AS \"{}\"", i + 1, n.replace('"', "\"\"")))
        .collect();
    let op = match op {
        SetOperator::Except => "EXCEPT",
        _ => "INTERSECT",
    };
    let sql = format!(
        "SELECT {} FROM ({} {op} {}) AS oko_counted",
        outer.join(", "),
        numbered(left, "oko_left"),
        numbered(right, "oko_right"),
    );
    match Parser::parse_sql(&PostgreSqlDialect {}, &sql).ok()?.pop()? {
        Statement::Query(q) => Some(*q.body),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rewritten(sql: &str) -> String {
        let Statement::Query(mut q) = Parser::parse_sql(&PostgreSqlDialect {}, sql)
            .unwrap()
            .remove(0)
        else {
            panic!("not a query")
        };
        counted_set_operations(&mut q.body);
        q.to_string()
    }

    #[test]
    fn all_operations_count_copies_and_keep_the_left_names() {
        let out = rewritten("SELECT source FROM leads EXCEPT ALL SELECT source FROM x ORDER BY 1");
        assert!(
            out.contains("row_number() OVER (PARTITION BY oko_c1)"),
            "{out}"
        );
        assert!(out.contains("EXCEPT SELECT"), "{out}");
        assert!(out.starts_with("SELECT oko_c1 AS \"source\" FROM"), "{out}");
        assert!(out.ends_with("ORDER BY 1"), "{out}");
        let out = rewritten("SELECT a, 1 FROM t INTERSECT ALL SELECT b, c FROM u");
        assert!(out.contains("INTERSECT SELECT"), "{out}");
        assert!(out.contains("oko_c2 AS \"?column?\""), "{out}");
    }

    #[test]
    fn distinct_operations_and_stars_stay() {
        let sql = "SELECT a FROM t EXCEPT SELECT a FROM u";
        assert_eq!(rewritten(sql), sql);
        let sql = "SELECT * FROM t EXCEPT ALL SELECT * FROM u";
        assert_eq!(rewritten(sql), sql);
        let sql = "SELECT a FROM t UNION ALL SELECT a FROM u";
        assert_eq!(rewritten(sql), sql);
    }
}
