//! Set-returning functions where PostgreSQL allows them and DataFusion
//! reads them differently.
//!
//! - In a select list, `generate_series(1, 3)` is a set in PostgreSQL (three
//!   rows) and a list in DataFusion (one row holding `[1, 2, 3]`): it
//!   becomes `unnest(generate_series(1, 3))`. Several sets in one list run
//!   side by side, the shorter padded with NULLs, in both.
//! - In `FROM`, a function returning single values names its one column
//!   after the alias (`generate_series(1, 3) AS g` → column `g`), or after
//!   the function without one; DataFusion calls it `value`: the alias gets
//!   that column name (`AS g(g)`); `WITH ORDINALITY` numbers its rows
//!   (`row_number()`), with PostgreSQL's column `ordinality`.

use std::ops::ControlFlow;

use datafusion::sql::sqlparser::ast::{
    Expr as SqlExpr, Ident, Query, SelectItem, SetExpr, TableAlias, TableAliasColumnDef,
    TableFactor, VisitMut, VisitorMut,
};

/// Functions that are sets in PostgreSQL and lists in DataFusion's select
/// lists.
pub const LIST_SETS: &[&str] = &[
    "generate_series",
    "string_to_table",
    "regexp_split_to_table",
    "regexp_matches",
    "json_array_elements",
    "json_array_elements_text",
    "jsonb_array_elements",
    "jsonb_array_elements_text",
    "json_object_keys",
    "jsonb_object_keys",
];

/// Functions in `FROM` that return one column of single values.
const SCALAR_SETS: &[&str] = &["generate_series", "unnest"];

/// `generate_series(…)` in `query`'s own select list(s) → `unnest(…)` of it.
pub(super) fn select_list_sets(query: &mut Query) {
    let mut body = query.body.as_mut();
    // Each branch of a set operation has its own list.
    let mut pending = vec![];
    loop {
        match body {
            SetExpr::Select(select) => {
                for item in &mut select.projection {
                    if let SelectItem::UnnamedExpr(e) | SelectItem::ExprWithAlias { expr: e, .. } =
                        item
                    {
                        let _ = e.visit(&mut ListSets { depth: 0 });
                    }
                }
            }
            SetExpr::SetOperation { left, right, .. } => {
                pending.push(right.as_mut());
                body = left.as_mut();
                continue;
            }
            _ => {}
        }
        match pending.pop() {
            Some(next) => body = next,
            None => break,
        }
    }
}

/// Subqueries have their own select lists (rewritten when the statement's
/// visit reaches them), so only depth 0 is this list's.
struct ListSets {
    depth: usize,
}

impl VisitorMut for ListSets {
    type Break = ();

    fn pre_visit_query(&mut self, _: &mut Query) -> ControlFlow<()> {
        self.depth += 1;
        ControlFlow::Continue(())
    }

    fn post_visit_query(&mut self, _: &mut Query) -> ControlFlow<()> {
        self.depth -= 1;
        ControlFlow::Continue(())
    }

    fn post_visit_expr(&mut self, expr: &mut SqlExpr) -> ControlFlow<()> {
        if self.depth == 0
            && let SqlExpr::Function(f) = expr
            && f.over.is_none()
            && f.name.0.len() == 1
            && LIST_SETS.contains(&f.name.to_string().to_lowercase().as_str())
            && let Some(set) = super::parse_expr(&format!("unnest({expr})"))
        {
            *expr = set;
        }
        ControlFlow::Continue(())
    }
}

/// `FROM f(…) WITH ORDINALITY [AS a(v, n)]` with `f` a set of single values
/// (`generate_series`, `unnest` of one array) → the set numbered by
/// `row_number()`, as a derived table with PostgreSQL's names (`a(v, n)`,
/// else `f(f, ordinality)`). DataFusion drops `WITH ORDINALITY` of a table
/// function and refuses it for `unnest`.
fn numbered_set(factor: &TableFactor) -> Option<TableFactor> {
    let (function, call, alias) = match factor {
        TableFactor::Table {
            name,
            args: Some(args),
            alias,
            with_ordinality: true,
            ..
        } => {
            let f = name.to_string().to_lowercase();
            let args: Vec<String> = args.args.iter().map(|a| a.to_string()).collect();
            (f.clone(), format!("{f}({})", args.join(", ")), alias)
        }
        TableFactor::UNNEST {
            alias,
            array_exprs,
            with_offset: false,
            with_ordinality: true,
            ..
        } if array_exprs.len() == 1 => (
            "unnest".to_string(),
            format!("unnest({})", array_exprs[0]),
            alias,
        ),
        _ => return None,
    };
    if !SCALAR_SETS.contains(&function.as_str()) {
        return None;
    }
    let name = alias
        .as_ref()
        .map_or(function.clone(), |a| a.name.value.clone());
    let (value, number) = match alias.as_ref().map(|a| a.columns.as_slice()) {
        Some([v, n]) => (v.name.value.clone(), n.name.value.clone()),
        Some([v]) => (v.name.value.clone(), "ordinality".to_string()),
        _ => (name.clone(), "ordinality".to_string()),
    };
    let quoted = |s: &str| format!("\"{}\"", s.replace('"', "\"\""));
    let sql = format!(
        "SELECT * FROM (SELECT oko_v AS {}, CAST(row_number() OVER () AS BIGINT) AS {} \
         FROM {call} AS oko_set(oko_v)) AS {}",
        quoted(&value),
        quoted(&number),
        quoted(&name)
    );
    let statement = datafusion::sql::sqlparser::parser::Parser::parse_sql(
        &datafusion::sql::sqlparser::dialect::PostgreSqlDialect {},
        &sql,
    )
    .ok()?
    .pop()?;
    let datafusion::sql::sqlparser::ast::Statement::Query(q) = statement else {
        return None;
    };
    let SetExpr::Select(select) = *q.body else {
        return None;
    };
    select.from.into_iter().next().map(|t| t.relation)
}

/// `FROM f(…) [AS a]` with `f` a set of single values → `AS a(a)` (or
/// `AS f(f)`), PostgreSQL's name for its column.
pub(super) fn name_function_column(factor: &mut TableFactor) {
    if let Some(numbered) = numbered_set(factor) {
        *factor = numbered;
        return;
    }
    let (function, alias) = match factor {
        TableFactor::Table {
            name,
            args: Some(_),
            alias,
            ..
        } => (name.to_string().to_lowercase(), alias),
        TableFactor::UNNEST {
            alias,
            array_exprs,
            with_offset: false,
            with_ordinality: false,
            ..
        } if array_exprs.len() == 1 => ("unnest".to_string(), alias),
        _ => return,
    };
    if !SCALAR_SETS.contains(&function.as_str()) {
        return;
    }
    match alias {
        Some(a) if a.columns.is_empty() => a.columns = vec![column(a.name.clone())],
        Some(_) => {}
        None => {
            *alias = Some(TableAlias {
                explicit: true,
                name: Ident::new(&function),
                columns: vec![column(Ident::new(&function))],
                at: None,
            })
        }
    }
}

fn column(name: Ident) -> TableAliasColumnDef {
    TableAliasColumnDef {
        name,
        data_type: None,
    }
}
