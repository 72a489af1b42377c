//! Client queries that need a hand before they can be planned.
//!
//! SQLAlchemy writes `LIKE 'pg/_%' ESCAPE '/'`; DataFusion only knows the
//! backslash as escape character, so the pattern is rewritten to escape
//! with a backslash (same matches).
//!
//! pgjdbc and DBeaver compare `pg_type.typinput` (text in the emulated
//! catalog) with literals cast to `regproc` (`'pg_catalog.array_in'::regproc`),
//! which the planner would turn into a number; such a literal is kept as the
//! function's name, which is what the column holds.
//!
//! Grafana's query editor finds the schemas on the `search_path` with a
//! set-returning subquery over `current_setting('search_path')` that
//! DataFusion cannot plan (`generate_series(…) AS i, string_to_array(…) s`).
//! The subquery's answer only depends on the session's settings, so it is
//! replaced by that answer — the list of schemas named on this connection's
//! `search_path`, `"$user"` read as the session user — before parsing.
//! (datafusion-pg-catalog's parser would otherwise replace it with `''` and
//! the table picker would list nothing.)
//!
//! pgjdbc's `getPrimaryKeys`/`getIndexInfo` call the set-returning
//! `information_schema._pg_expandarray(a)` in a select list and read the
//! fields of its records (`(… ).n`); it becomes `unnest(_pg_expandarray(a))`
//! ([`crate::pg_compat::pg_functions`] returns the records as an array) and the field
//! access one DataFusion can plan ([`rewrite_statement`]). SQLAlchemy's
//! `generate_subscripts(a, 1)` goes the same way.
//!
//! Two rewrites match one client's exact text, because general support
//! would be disproportionate: asyncpg's type introspection follows domain
//! base types with a correlated recursive CTE (replaced by the domain's own
//! base type, exact for every domain the catalog has) and aggregates
//! attribute type oids (cast to `oid[]`, see `ASYNCPG_DOMAIN_BASE`).
//!
//! The rest works on the parsed statement ([`rewrite_statement`], after
//! datafusion-pg-catalog's own rules), generally: correlated scalar
//! subqueries DataFusion cannot decorrelate as written (SQLAlchemy's column
//! reflection) are brought into a form it can; `CAST(<computed text> AS
//! regclass)` looks the relation up (Metabase); `x::oid[]` keeps its element
//! type for the description (asyncpg); `ARRAY(subquery)` becomes an
//! aggregate (`{}` when empty) or, over `unnest` of the outer row's array,
//! `array_transform` (psql's `\du` and `\d+`); `x::regclass::text` is the
//! relation's name (`oid_text`).
//!
//! A rewrite never renames a column: [`keep_column_names`] gives the
//! rewritten statement's columns the names PostgreSQL gives the statement
//! as written.

//!
//! **Scope.** Several of datafusion-pg-catalog's rules change what a
//! statement means (a correlated subquery in a select list that DataFusion
//! cannot join becomes NULL ([`projection_subqueries`]), an uncorrelated
//! one gets `LIMIT 1`, unqualified names are qualified with a wildcard's
//! table), acceptable for the catalog queries clients send and
//! wrong for an analyst's. [`StatementParser`] gives them, and our own
//! approximations, only to statements that read the catalog
//! ([`reads_catalog`]); every other statement is parsed as written, with
//! only the rules that keep its meaning ([`meaning_preserving_rules`]).

mod ast;
mod joins;
mod multisets;
mod name_arrays;
mod projection_subqueries;
mod rows;
mod sets;
mod spellings;
mod subqueries;
mod text;

use std::ops::ControlFlow;
use std::sync::Arc;

use datafusion::sql::sqlparser::ast::{
    Expr as SqlExpr, Ident, ObjectName, Select, SelectItem, SetExpr, Statement, VisitMut,
};
use datafusion::sql::sqlparser::dialect::PostgreSqlDialect;
use datafusion::sql::sqlparser::parser::{Parser, ParserError};
use datafusion_postgres::datafusion_pg_catalog::sql::PostgresCompatibilityParser;
use datafusion_postgres::datafusion_pg_catalog::sql::rules::{
    AliasDuplicatedProjectionRewrite, CurrentUserVariableToSessionUserFunctionCall,
    FixArrayLiteral, FixVersionColumnName, PrependUnqualifiedPgTableName,
    ResolveUnqualifiedIdentifier, RewriteArrayAnyAllOperation, RewritePgCatalogOperator,
    RewriteRegCastToSubquery, SqlStatementRewriteRule, StripCallableQualifier, StripCollate,
};

pub use ast::{oid_alias_parts, oid_array_parameters, rewrite_statement};
pub use sets::LIST_SETS;
pub use text::{rewrite_all, with_backslash};

use subqueries::*;

/// Parses a client's SQL (after [`rewrite_all`]) into statements ready to
/// plan, with the rewrites its kind of statement may get (see the module's
/// "Scope").
#[derive(Debug)]
pub struct StatementParser {
    catalog: PostgresCompatibilityParser,
    catalog_rules: Vec<Arc<dyn SqlStatementRewriteRule>>,
    user: Vec<Arc<dyn SqlStatementRewriteRule>>,
}

impl Default for StatementParser {
    fn default() -> Self {
        Self {
            catalog: PostgresCompatibilityParser::new(),
            catalog_rules: catalog_rules(),
            user: meaning_preserving_rules(),
        }
    }
}

/// datafusion-pg-catalog's rules, in its order, with OKO's treatment of
/// select-list subqueries ([`projection_subqueries`]) in place of its
/// `RemoveSubqueryFromProjection` (which makes every correlated one an
/// untyped `NULL`).
fn catalog_rules() -> Vec<Arc<dyn SqlStatementRewriteRule>> {
    vec![
        Arc::new(AliasDuplicatedProjectionRewrite),
        Arc::new(ResolveUnqualifiedIdentifier),
        Arc::new(RewriteArrayAnyAllOperation),
        Arc::new(PrependUnqualifiedPgTableName),
        Arc::new(StripCallableQualifier),
        Arc::new(FixArrayLiteral),
        Arc::new(CurrentUserVariableToSessionUserFunctionCall),
        Arc::new(StripCollate),
        Arc::new(RewritePgCatalogOperator),
        Arc::new(RewriteRegCastToSubquery::new()),
        Arc::new(projection_subqueries::ProjectionSubqueries),
        Arc::new(FixVersionColumnName),
    ]
}

/// datafusion-pg-catalog's rules that only change spelling, never the
/// answer: `pg_catalog.f()` → `f()`, `current_user` → the session user's
/// function, `COLLATE` dropped (the engine compares bytes, as the `C`
/// collation does), `OPERATOR(pg_catalog.~)` → `~`, `'leads'::regclass` →
/// the relation's oid.
fn meaning_preserving_rules() -> Vec<Arc<dyn SqlStatementRewriteRule>> {
    vec![
        Arc::new(StripCallableQualifier),
        Arc::new(CurrentUserVariableToSessionUserFunctionCall),
        Arc::new(StripCollate),
        Arc::new(RewritePgCatalogOperator),
        Arc::new(RewriteRegCastToSubquery::new()),
    ]
}

impl StatementParser {
    /// The statements of `sql`. One that reads the catalog (or that only
    /// datafusion-pg-catalog's parser reads, like `ABORT`) gets every
    /// compatibility rule; any other is parsed as written.
    pub fn parse(&self, sql: &str) -> Result<Vec<Statement>, ParserError> {
        let written = Parser::parse_sql(&PostgreSqlDialect {}, sql);
        if let Ok(statements) = &written {
            for s in statements {
                reserved_table_names(s)?;
            }
        }
        if let Ok(statements) = &written
            && !statements.iter().any(reads_catalog)
        {
            return Ok(statements
                .iter()
                .map(|s| {
                    let mut rewritten = self.user.iter().fold(s.clone(), |s, rule| rule.rewrite(s));
                    rewrite_statement(&mut rewritten, false);
                    keep_column_names(s, &mut rewritten);
                    rewritten
                })
                .collect());
        }
        let mut statements = self.catalog_statements(sql, written.as_ref().ok())?;
        for s in &mut statements {
            name_arrays::name_arrays(s);
            rewrite_statement(s, true);
        }
        if let Ok(written) = &written
            && written.len() == statements.len()
        {
            for (w, s) in written.iter().zip(&mut statements) {
                keep_column_names(w, s);
            }
        }
        Ok(statements)
    }
}

impl StatementParser {
    /// A catalog statement with the compatibility rules: datafusion-pg-catalog's
    /// answer where it replaced a whole client query with a stand-in of its
    /// own (its blacklist, which only its parser holds: the statement then
    /// differs from the one its rules make of the text as written), else
    /// the statement as written through [`catalog_rules`].
    fn catalog_statements(
        &self,
        sql: &str,
        written: Option<&Vec<Statement>>,
    ) -> Result<Vec<Statement>, ParserError> {
        let crates = self.catalog.parse(sql)?;
        let Some(written) = written.filter(|w| w.len() == crates.len()) else {
            return Ok(crates);
        };
        let replaced = written
            .iter()
            .zip(&crates)
            .any(|(w, c)| self.catalog.rewrite(w.clone()).to_string() != c.to_string());
        if replaced {
            return Ok(crates);
        }
        Ok(written
            .iter()
            .map(|s| {
                self.catalog_rules
                    .iter()
                    .fold(s.clone(), |s, rule| rule.rewrite(s))
            })
            .collect())
    }
}

/// PostgreSQL's reserved keywords, which name no table unless quoted
/// (sqlparser reads `SELECT FROM WHERE` as a table named `where`).
const RESERVED: &[&str] = &[
    "all",
    "analyse",
    "analyze",
    "and",
    "any",
    "array",
    "as",
    "asc",
    "asymmetric",
    "both",
    "case",
    "cast",
    "check",
    "collate",
    "column",
    "constraint",
    "create",
    "current_catalog",
    "current_date",
    "current_role",
    "current_time",
    "current_timestamp",
    "current_user",
    "default",
    "deferrable",
    "desc",
    "distinct",
    "do",
    "else",
    "end",
    "except",
    "false",
    "fetch",
    "for",
    "foreign",
    "from",
    "grant",
    "group",
    "having",
    "in",
    "initially",
    "intersect",
    "into",
    "lateral",
    "leading",
    "limit",
    "localtime",
    "localtimestamp",
    "not",
    "null",
    "offset",
    "on",
    "only",
    "or",
    "order",
    "placing",
    "primary",
    "references",
    "returning",
    "select",
    "session_user",
    "some",
    "symmetric",
    "table",
    "then",
    "to",
    "trailing",
    "true",
    "union",
    "unique",
    "user",
    "using",
    "variadic",
    "when",
    "where",
    "window",
    "with",
];

/// A syntax error, as PostgreSQL gives it, for a reserved keyword written
/// where a table's name stands.
fn reserved_table_names(statement: &Statement) -> Result<(), ParserError> {
    use datafusion::sql::sqlparser::ast::visit_relations;
    let mut found = None;
    let _ = visit_relations(statement, |name| {
        if let [datafusion::sql::sqlparser::ast::ObjectNamePart::Identifier(i)] = name.0.as_slice()
            && i.quote_style.is_none()
            && RESERVED.contains(&i.value.to_lowercase().as_str())
        {
            found = Some(i.value.clone());
            return std::ops::ControlFlow::Break(());
        }
        std::ops::ControlFlow::Continue(())
    });
    match found {
        Some(word) => Err(ParserError::ParserError(format!("at or near \"{word}\""))),
        None => Ok(()),
    }
}

/// The output columns of `rewritten` named as those of the statement as it
/// was `written`, where a rewrite changed the name PostgreSQL gives them:
/// clients read columns by name, and psql's `(SELECT pg_get_expr(…) FROM
/// pg_attrdef …)` is `pg_get_expr` whatever it became (datafusion-pg-catalog
/// makes a correlated subquery NULL, and replaces whole statements it cannot
/// run with stand-ins of its own naming). Items are matched by position in
/// the select list that names the columns (a set operation's first); a
/// wildcard keeps its columns' names. The `oid_alias` a `regclass` literal
/// was given before parsing ([`text`]) is not part of the name.
pub fn keep_column_names(written: &Statement, rewritten: &mut Statement) {
    let (Statement::Query(w), Statement::Query(r)) = (written, rewritten) else {
        return;
    };
    let (Some(w), Some(r)) = (naming_select(&w.body), naming_select_mut(&mut r.body)) else {
        return;
    };
    if w.projection.len() != r.projection.len() {
        return;
    }
    for (w, r) in w.projection.iter().zip(r.projection.iter_mut()) {
        let mut w = w.clone();
        let _ = w.visit(&mut EveryExpr(&mut |e: &mut SqlExpr| {
            if let Some(inner) = ast::oid_alias_operand(e) {
                *e = inner;
            }
        }));
        let wanted = crate::pg_compat::column_names::item_name(&w);
        let (Some(wanted), Some(now)) = (wanted, crate::pg_compat::column_names::item_name(r))
        else {
            continue;
        };
        if wanted == now {
            continue;
        }
        let alias = Ident::with_quote('"', wanted);
        *r = match std::mem::replace(r, SelectItem::Wildcard(Default::default())) {
            SelectItem::UnnamedExpr(expr) | SelectItem::ExprWithAlias { expr, .. } => {
                SelectItem::ExprWithAlias { expr, alias }
            }
            other => other,
        };
    }
}

/// The select list that names a query's columns.
fn naming_select(body: &SetExpr) -> Option<&Select> {
    match body {
        SetExpr::Select(s) => Some(s),
        SetExpr::Query(q) => naming_select(&q.body),
        SetExpr::SetOperation { left, .. } => naming_select(left),
        _ => None,
    }
}

fn naming_select_mut(body: &mut SetExpr) -> Option<&mut Select> {
    match body {
        SetExpr::Select(s) => Some(s),
        SetExpr::Query(q) => naming_select_mut(&mut q.body),
        SetExpr::SetOperation { left, .. } => naming_select_mut(left),
        _ => None,
    }
}

/// Whether a statement reads a catalog relation: one in `pg_catalog` or
/// `information_schema`, or named `pg_…` (psql and drivers often leave the
/// schema out). OKO's own tables and views never start with `pg_`.
pub fn reads_catalog(statement: &Statement) -> bool {
    use datafusion::sql::sqlparser::ast::{Visit, Visitor};
    struct Finder;
    impl Visitor for Finder {
        type Break = ();
        fn pre_visit_relation(&mut self, relation: &ObjectName) -> ControlFlow<()> {
            let catalog = relation.0.iter().any(|part| {
                let name = part.to_string().trim_matches('"').to_lowercase();
                name == "pg_catalog" || name == "information_schema" || name.starts_with("pg_")
            });
            if catalog {
                ControlFlow::Break(())
            } else {
                ControlFlow::Continue(())
            }
        }
    }
    statement.visit(&mut Finder).is_break()
}

#[cfg(test)]
mod tests {
    use datafusion::sql::sqlparser::dialect::PostgreSqlDialect;
    use datafusion::sql::sqlparser::parser::Parser;

    use super::ast::*;
    use super::text::*;

    #[test]
    fn grafanas_search_path_subquery_becomes_its_answer() {
        let sql = r#"select quote_ident(table_name) as "table" from information_schema.tables
  where quote_ident(table_schema) not in ('information_schema', 'pg_catalog')
  and quote_ident(table_schema) IN (SELECT CASE WHEN trim(s[i]) = '"$user"' THEN user ELSE trim(s[i]) END
      FROM generate_series(array_lower(string_to_array(current_setting('search_path'),','),1),
                           array_upper(string_to_array(current_setting('search_path'),','),1)) as i,
           string_to_array(current_setting('search_path'),',') s)"#;
        let out = rewrite(sql, "\"$user\", public", "oko");
        assert!(out.contains("IN ('oko', 'public')"), "{out}");
        assert!(out.starts_with("select quote_ident(table_name)"));
        assert_eq!(rewrite("SELECT 1", "public", "oko"), "SELECT 1");
    }

    #[test]
    fn like_escapes_become_backslashes() {
        let out = like_escapes("SELECT 1 WHERE n NOT LIKE 'pg/_%' ESCAPE '/'");
        assert_eq!(out, "SELECT 1 WHERE n NOT LIKE 'pg\\_%' ESCAPE '\\'");
        assert_eq!(like_escapes("SELECT 'ESCAPE'"), "SELECT 'ESCAPE'");
        let out = like_escapes("SELECT 1 WHERE n NOT LIKE 'pg/_' || '%' ESCAPE '/'");
        assert_eq!(out, "SELECT 1 WHERE n NOT LIKE 'pg\\_' || '%' ESCAPE '\\'");
    }

    fn rewritten(sql: &str) -> String {
        let mut s = Parser::parse_sql(&PostgreSqlDialect {}, sql)
            .unwrap()
            .remove(0);
        rewrite_statement(&mut s, true);
        s.to_string()
    }

    #[test]
    fn correlated_scalar_subqueries_are_aggregated() {
        let out = rewritten(
            "SELECT CASE WHEN a.atthasdef THEN (SELECT pg_get_expr(d.adbin, d.adrelid) \
             FROM pg_attrdef d WHERE a.atthasdef AND d.adrelid = a.attrelid) END AS x, \
             (SELECT max(t.oid) FROM pg_type t WHERE t.oid = a.atttypid) AS y, \
             (SELECT t.typname FROM pg_type t WHERE t.oid = 23) AS z FROM pg_attribute a",
        );
        assert!(
            out.contains(
                "CASE WHEN a.atthasdef THEN CASE WHEN (a.atthasdef) THEN \
                 (SELECT first_value(pg_get_expr(d.adbin, d.adrelid)) FROM pg_attrdef d \
                 WHERE d.adrelid = a.attrelid) END END"
            ),
            "{out}"
        );
        assert!(out.contains("(SELECT max(t.oid) FROM"), "{out}");
        assert!(
            out.contains("(SELECT t.typname FROM pg_type t WHERE t.oid = 23)"),
            "{out}"
        );
        let out = rewritten(
            "SELECT CASE WHEN a.attidentity != '' THEN (SELECT json_build_object('always', \
             a.attidentity = 'a', 'start', s.seqstart) FROM pg_sequence s \
             WHERE a.attidentity != '' AND s.seqrelid = a.attrelid) END FROM pg_attribute a",
        );
        for part in [
            "first_value(json_build_object('always', oko_outer_0.v = 'a', 'start', s.seqstart))",
            "(SELECT DISTINCT oko_outer_0_t.attidentity AS v FROM pg_attribute AS oko_outer_0_t) \
             AS oko_outer_0",
            "WHERE s.seqrelid = a.attrelid AND oko_outer_0.v = a.attidentity",
        ] {
            assert!(out.contains(part), "{part} in {out}");
        }
        let out = rewritten(
            "SELECT col_description(CAST(CAST(format('%I.%I', c.s, c.t) AS TEXT) AS REGCLASS), 1), \
             CAST(c.oid AS regclass), (SELECT CAST(concat(x.a) AS regclass) FROM x) FROM c",
        );
        assert!(
            out.contains(
                "col_description((SELECT first_value(oko_regclass.oid) FROM (SELECT r.oid AS oid, \
                 quote_ident(n.nspname) || '.' || quote_ident(r.relname) AS name"
            ),
            "{out}"
        );
        assert!(
            out.contains("WHERE oko_regclass.name = CAST(format('%I.%I', c.s, c.t) AS TEXT)), 1)"),
            "{out}"
        );
        assert!(
            out.contains("oid_alias(CAST(c.oid AS REGCLASS), 'regclass')"),
            "{out}"
        );
        assert!(
            out.contains("(SELECT oid_alias(CAST(concat(x.a) AS REGCLASS), 'regclass') FROM x)"),
            "{out}"
        );
        let out = rewritten("SELECT c.relnamespace::oid FROM pg_class c");
        assert!(
            out.contains("oid_alias(c.relnamespace::oid, 'oid')"),
            "{out}"
        );
        let out = rewritten("SELECT t.oid FROM pg_type t WHERE t.oid = any($2::oid[])");
        assert!(
            out.contains("pg_array_any(t.oid, oid_array(CAST($2 AS INT[]), 'oid'), '=')"),
            "{out}"
        );
        let statement = Parser::parse_sql(&PostgreSqlDialect {}, &out)
            .unwrap()
            .remove(0);
        assert_eq!(
            oid_array_parameters(&statement),
            vec![(1, "oid".to_string())]
        );
        let out = rewritten("SELECT (r.keys).x, (unnest(k)).n, r.a[1] FROM r");
        assert!(out.contains("(r.keys).'x'"), "{out}");
        assert!(out.contains("r.a[1]"), "{out}");
    }

    #[test]
    fn array_subqueries_are_aggregated_or_mapped() {
        // psql's `\du`: each role's groups, `{}` for none.
        let out = rewritten(
            "SELECT ARRAY(SELECT b.rolname FROM pg_auth_members m JOIN pg_roles b \
             ON (m.roleid = b.oid) WHERE m.member = r.oid ORDER BY 1) as memberof FROM pg_roles r",
        );
        assert!(
            out.contains(
                "(SELECT coalesce(array_agg(b.rolname ORDER BY b.rolname), make_array()) AS \"array\" \
                 FROM pg_auth_members m JOIN pg_roles b ON (m.roleid = b.oid) \
                 WHERE m.member = r.oid) AS memberof"
            ),
            "{out}"
        );
        let out = rewritten("SELECT ARRAY(SELECT x AS y FROM t ORDER BY y DESC, 2)");
        assert!(out.contains("array_agg(x ORDER BY x DESC, 2)"), "{out}");
        // psql's `\d+`: the TOAST table's options, prefixed, of the outer row.
        let out = rewritten(
            "SELECT pg_catalog.array_to_string(c.reloptions || array(select 'toast.' || x \
             from pg_catalog.unnest(tc.reloptions) x), ', ') FROM pg_class c \
             LEFT JOIN pg_class tc ON (c.reltoastrelid = tc.oid)",
        );
        assert!(
            out.contains(
                "c.reloptions || array_transform(coalesce(tc.reloptions, make_array()), \
                 x -> 'toast.' || x)"
            ),
            "{out}"
        );
        let out = rewritten("SELECT ARRAY(SELECT u.v * 2 FROM unnest(t.a) AS u(v)) FROM t");
        assert!(
            out.contains("array_transform(coalesce(t.a, make_array()), v -> v * 2)"),
            "{out}"
        );
        // An item reading more than the element is aggregated instead.
        let out = rewritten("SELECT ARRAY(SELECT x + t.b FROM unnest(t.a) x) FROM t");
        assert!(
            out.contains("coalesce(array_agg(x + ") && !out.contains("array_transform"),
            "{out}"
        );
        // What the aggregate cannot say stays (and is refused by the planner).
        for sql in [
            "SELECT ARRAY(SELECT DISTINCT x FROM t)",
            "SELECT ARRAY(SELECT x FROM t LIMIT 2)",
            "SELECT ARRAY(SELECT x FROM t UNION SELECT 1)",
        ] {
            assert_eq!(rewritten(sql), sql);
        }
    }

    #[test]
    fn rewritten_columns_keep_postgresqls_names() {
        use datafusion::sql::sqlparser::ast::{SetExpr, Statement};
        let statement = super::StatementParser::default()
            .parse(
                "SELECT c.oid::regclass::text, 'leads'::regclass, \
                 (SELECT pg_get_expr(d.adbin, d.adrelid) FROM pg_attrdef d \
                 WHERE d.adrelid = a.attrelid), ARRAY(SELECT 1) \
                 FROM pg_attribute a, pg_class c",
            )
            .unwrap()
            .remove(0);
        let Statement::Query(q) = &statement else {
            panic!("{statement}")
        };
        let SetExpr::Select(select) = q.body.as_ref() else {
            panic!("{statement}")
        };
        let names: Vec<_> = select
            .projection
            .iter()
            .map(|i| crate::pg_compat::column_names::item_name(i).unwrap())
            .collect();
        assert_eq!(
            names,
            ["oid", "regclass", "pg_get_expr", "array"],
            "{statement}"
        );
        let text = statement.to_string();
        assert!(
            text.contains("oid_text(c.oid::REGCLASS, 'regclass')"),
            "{text}"
        );
    }

    #[test]
    fn asyncpgs_domain_base_lookup_is_the_base_type() {
        let intro = format!(
            "SELECT t.oid, (CASE WHEN t.typtype = 'd' THEN {ASYNCPG_DOMAIN_BASE} ELSE NULL END) \
             AS basetype FROM pg_type t"
        );
        let out = asyncpg_domain_bases(&intro);
        assert_eq!(
            out,
            "SELECT t.oid, (CASE WHEN t.typtype = 'd' THEN t.typbasetype ELSE NULL END) \
             AS basetype FROM pg_type t"
        );
    }

    #[test]
    fn pg_expandarray_becomes_a_set() {
        let sql = "SELECT (information_schema._pg_expandarray(i.indkey)).n AS KEY_SEQ, \
                   information_schema._pg_expandarray(i.indkey) AS KEYS FROM pg_index i";
        let out = expand_arrays(sql);
        assert_eq!(
            out,
            "SELECT (unnest(_pg_expandarray(i.indkey))).n AS KEY_SEQ, \
             unnest(_pg_expandarray(i.indkey)) AS KEYS FROM pg_index i"
        );
        assert_eq!(expand_arrays("SELECT 1"), "SELECT 1");
        let out =
            expand_arrays("SELECT unnest(i.indkey) AS a, generate_subscripts(i.indkey, 1) AS o");
        assert_eq!(
            out,
            "SELECT unnest(i.indkey) AS a, unnest(generate_subscripts(i.indkey, 1)) AS o"
        );
    }

    #[test]
    fn a_bound_like_pattern_is_converted_when_it_has_its_value() {
        let sql = "SELECT nspname FROM pg_namespace \
                   WHERE (nspname NOT LIKE $1::VARCHAR || '%' ESCAPE '/') ORDER BY 1";
        let out = like_escapes(sql);
        assert!(
            out.contains("NOT LIKE like_escape($1::VARCHAR || '%', '/') ESCAPE '\\') ORDER BY 1"),
            "{out}"
        );
    }

    #[test]
    fn regclass_literals_are_described_as_regclass() {
        let out = typed_regclass_literals(
            "SELECT CAST('leads' AS regclass) AS r, 'pg_class'::pg_catalog.regclass, \
             CAST(x AS regclass) FROM t",
        );
        assert_eq!(
            out,
            "SELECT oid_alias(CAST('leads' AS regclass), 'regclass') AS r, \
             oid_alias('pg_class'::pg_catalog.regclass, 'regclass'), CAST(x AS regclass) FROM t"
        );
        assert_eq!(typed_regclass_literals("SELECT 1"), "SELECT 1");
    }

    #[test]
    fn regproc_literals_become_function_names() {
        let sql = "SELECT typinput='pg_catalog.array_in'::regproc AS is_array, \
                   typoutput = 'record_out'::pg_catalog.regproc FROM pg_type";
        let out = regproc_literals(sql);
        assert!(out.contains("typinput='array_in' AS is_array"), "{out}");
        assert!(out.contains("typoutput = 'record_out' FROM"), "{out}");
        assert_eq!(regproc_literals("SELECT 'x'::text"), "SELECT 'x'::text");
    }
}
