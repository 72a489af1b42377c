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
    Expr as SqlExpr, FunctionArg, FunctionArgExpr, FunctionArguments, GroupByExpr, Ident, Query,
    SelectItem, SetExpr, TableAlias, TableAliasColumnDef, TableFactor, TableWithJoins, VisitMut,
    VisitorMut,
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
    "jsonb_path_query",
];

/// Functions in `FROM` that return one column of single values.
const SCALAR_SETS: &[&str] = &["generate_series", "unnest", "jsonb_path_query"];

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

/// `SELECT lead_id, unnest(tags) AS tag FROM leads ORDER BY tenant` — a set
/// in a select list that reads the row — → the same set joined to the row
/// in `FROM` (`FROM leads, UNNEST(tags) AS oko_srf(c1)`, the item reading
/// `oko_srf.c1` under its own name): PostgreSQL's meaning (each row
/// repeated per element, none for a NULL or empty array, several sets side
/// by side), which DataFusion's select-list `unnest` gives only while the
/// statement orders by what it selects. Statements that group, or use
/// window functions, keep DataFusion's plan.
pub(super) fn select_list_lateral(query: &mut Query) {
    let SetExpr::Select(select) = query.body.as_mut() else {
        return;
    };
    let grouped = !matches!(&select.group_by, GroupByExpr::Expressions(e, _) if e.is_empty());
    if select.from.is_empty() || grouped || select.having.is_some() {
        return;
    }
    let mut windows = false;
    for item in &select.projection {
        let _ = datafusion::sql::sqlparser::ast::visit_expressions(item, |e| {
            if matches!(e, SqlExpr::Function(f) if f.over.is_some()) {
                windows = true;
                return ControlFlow::Break(());
            }
            ControlFlow::Continue(())
        });
    }
    if windows {
        return;
    }
    let mut sets = RowSets {
        depth: 0,
        arrays: vec![],
    };
    for item in &mut select.projection {
        let (expr, named) = match item {
            SelectItem::UnnamedExpr(e) => (e, false),
            SelectItem::ExprWithAlias { expr, .. } => (expr, true),
            _ => continue,
        };
        let whole = !named && is_row_set(expr);
        let _ = expr.visit(&mut sets);
        if whole {
            let expr = expr.clone();
            *item = SelectItem::ExprWithAlias {
                expr,
                alias: Ident::new("unnest"),
            };
        }
    }
    if sets.arrays.is_empty() {
        return;
    }
    let columns = (1..=sets.arrays.len())
        .map(|i| column(Ident::new(format!("c{i}"))))
        .collect();
    select.from.push(TableWithJoins {
        relation: TableFactor::UNNEST {
            alias: Some(TableAlias {
                explicit: true,
                name: Ident::new(ROW_SETS),
                columns,
                at: None,
            }),
            array_exprs: sets.arrays,
            with_offset: false,
            with_offset_alias: None,
            with_ordinality: false,
        },
        joins: vec![],
    });
}

/// The alias of the sets a select list's `unnest`s became.
const ROW_SETS: &str = "oko_srf";

/// `unnest(x)` of one array that reads a column.
fn is_row_set(expr: &SqlExpr) -> bool {
    row_set_argument(expr).is_some()
}

fn row_set_argument(expr: &SqlExpr) -> Option<&SqlExpr> {
    let SqlExpr::Function(f) = expr else {
        return None;
    };
    if f.over.is_some() || f.name.to_string().to_lowercase() != "unnest" {
        return None;
    }
    let FunctionArguments::List(list) = &f.args else {
        return None;
    };
    match list.args.as_slice() {
        [FunctionArg::Unnamed(FunctionArgExpr::Expr(a))] if reads_columns(a) => Some(a),
        _ => None,
    }
}

/// Replaces a select list's `unnest(x)` (not in its subqueries) by the
/// column of the lateral set it becomes, collecting the arrays.
struct RowSets {
    depth: usize,
    arrays: Vec<SqlExpr>,
}

impl VisitorMut for RowSets {
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
            && let Some(array) = row_set_argument(expr)
        {
            // (The same array twice runs side by side with itself: one set.)
            let position = match self.arrays.iter().position(|a| a == array) {
                Some(i) => i + 1,
                None => {
                    self.arrays.push(array.clone());
                    self.arrays.len()
                }
            };
            *expr = SqlExpr::CompoundIdentifier(vec![
                Ident::new(ROW_SETS),
                Ident::new(format!("c{position}")),
            ]);
        }
        ControlFlow::Continue(())
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
        } if array_exprs.len() == 1 => return numbered_unnest(&array_exprs[0], alias.as_ref()),
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
    if let Some(unnest) = lateral_set(factor) {
        *factor = unnest;
    }
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

/// `unnest(a) WITH ORDINALITY [AS u(v, n)]` → `unnest(a, range(1,
/// cardinality(a) + 1)) AS u(v, n)`: the array zipped with its positions,
/// so each element is numbered within its own array — also when `a` reads
/// the row of a table before it (`FROM leads, unnest(tags) WITH
/// ORDINALITY`), where numbering the whole set would count across rows.
/// Without an alias the names are PostgreSQL's: `unnest(unnest,
/// ordinality)`.
fn numbered_unnest(array: &SqlExpr, alias: Option<&TableAlias>) -> Option<TableFactor> {
    let name = alias.map_or(Ident::new("unnest"), |a| a.name.clone());
    let (value, number) = match alias.map(|a| a.columns.as_slice()) {
        Some([v, n, ..]) => (v.name.clone(), n.name.clone()),
        Some([v]) => (v.name.clone(), Ident::new("ordinality")),
        _ => (name.clone(), Ident::new("ordinality")),
    };
    let positions = super::parse_expr(&format!(
        "range(1, CAST(cardinality({array}) AS BIGINT) + 1)"
    ))?;
    Some(TableFactor::UNNEST {
        alias: Some(TableAlias {
            explicit: true,
            name,
            columns: vec![column(value), column(number)],
            at: None,
        }),
        array_exprs: vec![array.clone(), positions],
        with_offset: false,
        with_offset_alias: None,
        with_ordinality: false,
    })
}

/// A set in `FROM` that reads the row of a table before it — `LATERAL
/// unnest(l.tags)` (parsed as a table function), `generate_series(1,
/// t.days)` — → `UNNEST(…)`, which DataFusion plans with outer references
/// (`super::super::lateral` then joins it to the row it reads):
/// `generate_series` as the `unnest` of its list.
fn lateral_set(factor: &TableFactor) -> Option<TableFactor> {
    let (name, args, with_ordinality, alias) = match factor {
        TableFactor::Function {
            name,
            args,
            with_ordinality,
            alias,
            ..
        } => (name, args.as_slice(), *with_ordinality, alias),
        TableFactor::Table {
            name,
            args: Some(args),
            with_ordinality,
            alias,
            ..
        } => (name, args.args.as_slice(), *with_ordinality, alias),
        _ => return None,
    };
    let function = name.to_string().to_lowercase();
    let function = function.trim_start_matches("pg_catalog.");
    let args: Vec<&SqlExpr> = args
        .iter()
        .map(|a| match a {
            FunctionArg::Unnamed(FunctionArgExpr::Expr(e)) => Some(e),
            _ => None,
        })
        .collect::<Option<_>>()?;
    let array = match function {
        "unnest" if args.len() == 1 => args[0].clone(),
        "generate_series" if args.iter().any(|a| reads_columns(a)) => {
            let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
            super::parse_expr(&format!("generate_series({})", args.join(", ")))?
        }
        _ => return None,
    };
    let alias = alias.clone().or_else(|| {
        Some(TableAlias {
            explicit: true,
            name: Ident::new(function),
            columns: vec![],
            at: None,
        })
    });
    let alias = alias.map(|mut a| {
        if a.columns.is_empty() {
            a.columns = vec![column(a.name.clone())];
        }
        a
    });
    Some(TableFactor::UNNEST {
        alias,
        array_exprs: vec![array],
        with_offset: false,
        with_offset_alias: None,
        with_ordinality,
    })
}

/// Whether an argument reads a column.
fn reads_columns(expr: &SqlExpr) -> bool {
    let mut found = false;
    let _ = datafusion::sql::sqlparser::ast::visit_expressions(expr, |e| {
        if matches!(e, SqlExpr::Identifier(_) | SqlExpr::CompoundIdentifier(_)) {
            found = true;
            return ControlFlow::Break(());
        }
        ControlFlow::Continue(())
    });
    found
}

fn column(name: Ident) -> TableAliasColumnDef {
    TableAliasColumnDef {
        name,
        data_type: None,
    }
}
