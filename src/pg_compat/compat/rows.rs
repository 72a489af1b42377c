//! Whole-row references marked for [`crate::pg_compat::whole_rows`]:
//! `row_to_json(t)` → `to_json(oko_row('t'))`, `json_agg(r ORDER BY …)` →
//! `json_agg(oko_row('r') ORDER BY …)`, where `t`/`r` is a bare name of a
//! relation in the query's own `FROM` (its alias, or its table's name).

use std::ops::ControlFlow;

use datafusion::sql::sqlparser::ast::{
    Expr as SqlExpr, FunctionArg, FunctionArgExpr, FunctionArguments, Ident, ObjectName,
    ObjectNamePart, Query, SetExpr, TableFactor, Value, VisitMut, VisitorMut,
};

/// The functions that take a whole row.
const ROW_FUNCTIONS: &[&str] = &[
    "row_to_json",
    "to_json",
    "to_jsonb",
    "json_agg",
    "jsonb_agg",
];

/// Marks `query`'s own whole-row references (not its subqueries', which
/// are marked when the statement's visit reaches them).
pub(super) fn whole_rows(query: &mut Query) {
    let SetExpr::Select(select) = query.body.as_mut() else {
        return;
    };
    let mut relations = vec![];
    for from in &select.from {
        for factor in std::iter::once(&from.relation).chain(from.joins.iter().map(|j| &j.relation))
        {
            let name = match factor {
                TableFactor::Table { alias: Some(a), .. }
                | TableFactor::Derived { alias: Some(a), .. } => Some(&a.name),
                TableFactor::Table {
                    name, args: None, ..
                } => name.0.last().and_then(ObjectNamePart::as_ident),
                _ => None,
            };
            relations.extend(name.map(normalized));
        }
    }
    if relations.is_empty() {
        return;
    }
    let mut marks = Marks {
        relations,
        depth: 0,
    };
    for item in &mut select.projection {
        let _ = item.visit(&mut marks);
    }
    if let Some(having) = &mut select.having {
        let _ = having.visit(&mut marks);
    }
}

/// A name as the planner stores it: unquoted names lower-cased.
fn normalized(i: &Ident) -> String {
    match i.quote_style {
        Some(_) => i.value.clone(),
        None => i.value.to_lowercase(),
    }
}

struct Marks {
    relations: Vec<String>,
    depth: usize,
}

impl VisitorMut for Marks {
    type Break = ();

    fn pre_visit_query(&mut self, _: &mut Query) -> ControlFlow<()> {
        self.depth += 1;
        ControlFlow::Continue(())
    }

    fn post_visit_query(&mut self, _: &mut Query) -> ControlFlow<()> {
        self.depth -= 1;
        ControlFlow::Continue(())
    }

    fn pre_visit_expr(&mut self, expr: &mut SqlExpr) -> ControlFlow<()> {
        if self.depth > 0 {
            return ControlFlow::Continue(());
        }
        let SqlExpr::Function(f) = expr else {
            return ControlFlow::Continue(());
        };
        let name = f.name.to_string().to_lowercase();
        if !ROW_FUNCTIONS.contains(&name.as_str()) {
            return ControlFlow::Continue(());
        }
        let FunctionArguments::List(list) = &mut f.args else {
            return ControlFlow::Continue(());
        };
        let Some(FunctionArg::Unnamed(FunctionArgExpr::Expr(SqlExpr::Identifier(i)))) =
            list.args.first_mut()
        else {
            return ControlFlow::Continue(());
        };
        let relation = normalized(i);
        if !self.relations.contains(&relation) {
            return ControlFlow::Continue(());
        }
        list.args[0] = FunctionArg::Unnamed(FunctionArgExpr::Expr(SqlExpr::Function(
            datafusion::sql::sqlparser::ast::Function {
                name: ObjectName::from(vec![Ident::new(crate::pg_compat::whole_rows::MARK)]),
                uses_odbc_syntax: false,
                parameters: FunctionArguments::None,
                args: FunctionArguments::List(
                    datafusion::sql::sqlparser::ast::FunctionArgumentList {
                        duplicate_treatment: None,
                        args: vec![FunctionArg::Unnamed(FunctionArgExpr::Expr(SqlExpr::Value(
                            Value::SingleQuotedString(relation).into(),
                        )))],
                        clauses: vec![],
                    },
                ),
                filter: None,
                null_treatment: None,
                over: None,
                within_group: vec![],
            },
        )));
        // `row_to_json(record [, pretty])` is `to_json` of the record.
        if name == "row_to_json" {
            list.args.truncate(1);
            f.name = ObjectName::from(vec![Ident::new("to_json")]);
        }
        ControlFlow::Continue(())
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn marks_whole_rows_of_the_querys_relations() {
        let p = super::super::StatementParser::default();
        let s = p
            .parse("SELECT row_to_json(t) FROM tenants t ORDER BY tenant")
            .unwrap();
        assert!(
            s[0].to_string().contains("to_json(oko_row('t'))"),
            "{}",
            s[0]
        );
        let s = p
            .parse("SELECT json_agg(r ORDER BY r.n), to_json(x) FROM (SELECT 1 AS n) r")
            .unwrap();
        let s = s[0].to_string();
        assert!(s.contains("json_agg(oko_row('r') ORDER BY r.n)"), "{s}");
        assert!(s.contains("to_json(x)"), "{s}");
    }
}
