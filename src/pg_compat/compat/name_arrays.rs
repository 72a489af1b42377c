//! `ARRAY(SELECT <name column> …)` in a catalog statement is `name[]`, as
//! in PostgreSQL (psql's `\du` lists each role's groups as
//! `ARRAY(SELECT b.rolname …)`).
//!
//! The subquery becomes an `array_agg` ([`super::subqueries`]), whose list
//! DataFusion types from the values alone: the `name` mark of the column
//! ([`crate::pg_compat::text_types`]) does not reach it. A cast to `name[]`
//! marks the list (the values are the same text).

use std::ops::ControlFlow;

use datafusion::sql::sqlparser::ast::{
    ArrayElemTypeDef, CastKind, DataType, Expr, FunctionArguments, Ident, ObjectName, SelectItem,
    SetExpr, Statement, VisitMut, VisitorMut,
};

use crate::pg_compat::text_types;

/// `statement` with each `ARRAY(SELECT <name column> …)` cast to `name[]`.
pub fn name_arrays(statement: &mut Statement) {
    let _ = statement.visit(&mut Arrays);
}

struct Arrays;

impl VisitorMut for Arrays {
    type Break = ();

    fn post_visit_expr(&mut self, e: &mut Expr) -> ControlFlow<()> {
        if of_names(e) {
            let array =
                std::mem::replace(e, Expr::value(datafusion::sql::sqlparser::ast::Value::Null));
            *e = Expr::Cast {
                kind: CastKind::Cast,
                expr: Box::new(array),
                data_type: DataType::Array(ArrayElemTypeDef::SquareBracket(
                    Box::new(DataType::Custom(
                        ObjectName::from(vec![Ident::new("name")]),
                        vec![],
                    )),
                    None,
                )),
                array: false,
                format: None,
            };
        }
        ControlFlow::Continue(())
    }
}

/// Whether `e` is `ARRAY(SELECT x …)` of a catalog `name` column `x`.
fn of_names(e: &Expr) -> bool {
    let Expr::Function(f) = e else {
        return false;
    };
    let FunctionArguments::Subquery(query) = &f.args else {
        return false;
    };
    if !f.name.to_string().eq_ignore_ascii_case("array") {
        return false;
    }
    let SetExpr::Select(select) = query.body.as_ref() else {
        return false;
    };
    let [SelectItem::UnnamedExpr(item) | SelectItem::ExprWithAlias { expr: item, .. }] =
        select.projection.as_slice()
    else {
        return false;
    };
    let column = match item {
        Expr::Identifier(i) => i,
        Expr::CompoundIdentifier(parts) => match parts.last() {
            Some(i) => i,
            None => return false,
        },
        _ => return false,
    };
    text_types::name_column(&column.value)
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::sql::sqlparser::dialect::PostgreSqlDialect;
    use datafusion::sql::sqlparser::parser::Parser;

    fn rewritten(sql: &str) -> String {
        let mut s = Parser::parse_sql(&PostgreSqlDialect {}, sql)
            .unwrap()
            .remove(0);
        name_arrays(&mut s);
        s.to_string()
    }

    #[test]
    fn arrays_of_names_are_name_arrays() {
        let out = rewritten(
            "SELECT ARRAY(SELECT b.rolname FROM pg_roles b WHERE b.oid = r.oid) AS memberof, \
             ARRAY(SELECT b.oid FROM pg_roles b) AS oids FROM pg_roles r",
        );
        assert!(
            out.contains(
                "CAST(ARRAY(SELECT b.rolname FROM pg_roles b WHERE b.oid = r.oid) AS name[]) \
                 AS memberof"
            ),
            "{out}"
        );
        assert!(
            out.contains(", ARRAY(SELECT b.oid FROM pg_roles b) AS oids"),
            "{out}"
        );
    }
}
