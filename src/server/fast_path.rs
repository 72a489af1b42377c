//! Cheap statements stay cheap: the connection checks drivers and pools
//! send on every checkout are answered without DataFusion.
//!
//! What drivers send to see that a connection is alive: `SELECT 1`
//! (SQLAlchemy's `pool_pre_ping` on psycopg2/psycopg, Grafana's data
//! source check, HikariCP's `connectionTestQuery`, psycopg2 apps), an
//! empty query (pgjdbc's `isValid`, psycopg_pool's check, pgx's `-- ping`),
//! `SELECT version()` / `SELECT current_schema()` (SQLAlchemy and Grafana
//! on connect, DBeaver), `SHOW …`, `SET …`, `BEGIN`/`COMMIT`. The session
//! statements and empty queries were already answered by the session
//! without planning ([`super::session`]); this module answers the
//! `SELECT`s among them from a fixed table, in both protocols:
//! - simple protocol: before the statement is rewritten or parsed;
//! - extended protocol: `Parse` stores a plan that only describes the
//!   columns ([`describe_plan`]), and `Execute` answers from the table.
//!
//! The answers are the same bytes the planned path sends — column names,
//! type OIDs (`integer`, `text`, `name`), values in text and binary — which
//! `tests/it/speed.rs` checks message by message against the planned path
//! (`SET oko.fast_path = off`, which also lets anyone cross-check).
//! Anything not exactly one of these statements (another spacing is fine;
//! comments, quotes, an alias are not) is planned as before, and so is
//! every statement inside a failed transaction block (its `25P02` comes
//! from the session).

use std::sync::Arc;

use datafusion::arrow::array::{ArrayRef, Int32Array, RecordBatch, StringArray};
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use datafusion::common::DFSchema;
use datafusion::logical_expr::{EmptyRelation, LogicalPlan};

use crate::pg_compat::text_types;
use crate::pg_compat::vars::Vars;

/// The session setting that turns the fast path off (`off`).
pub const SETTING: &str = "oko.fast_path";

/// A statement this module answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cheap {
    /// `SELECT 1`
    One,
    /// `SELECT version()`, `SELECT pg_catalog.version()`
    Version,
    /// `SELECT current_schema()`, `SELECT current_schema`
    CurrentSchema,
}

/// Which cheap statement `sql` is, if it is one. Spacing, keyword case
/// and one trailing `;` do not matter; anything else (comments, quotes,
/// aliases, a second statement) is not recognised.
pub fn recognise(sql: &str) -> Option<Cheap> {
    let sql = sql.trim();
    let sql = sql.strip_suffix(';').unwrap_or(sql).trim_end();
    if sql.len() > 40 || sql.contains(['\'', '"', '-', '/', ';', '$']) {
        return None;
    }
    let words: Vec<String> = sql
        .split_ascii_whitespace()
        .map(str::to_ascii_lowercase)
        .collect();
    let [select, what] = words.as_slice() else {
        // `SELECT version ( )` and the like are planned.
        return None;
    };
    if select != "select" {
        return None;
    }
    match what.as_str() {
        "1" => Some(Cheap::One),
        "version()" | "pg_catalog.version()" => Some(Cheap::Version),
        "current_schema()" | "current_schema" | "pg_catalog.current_schema()" => {
            Some(Cheap::CurrentSchema)
        }
        _ => None,
    }
}

/// Whether the session lets the fast path answer.
pub fn enabled(vars: &Vars) -> bool {
    !vars.get(SETTING).is_some_and(|v| {
        matches!(
            v.trim().to_ascii_lowercase().as_str(),
            "off" | "false" | "0" | "no"
        )
    })
}

impl Cheap {
    /// The one column, as the planned statement's result has it.
    fn field(self) -> Field {
        match self {
            Cheap::One => Field::new("?column?", DataType::Int32, false),
            Cheap::Version => Field::new("version", DataType::Utf8, false),
            Cheap::CurrentSchema => {
                text_types::marked(Field::new("current_schema", DataType::Utf8, true), "name")
            }
        }
    }

    fn schema(self) -> SchemaRef {
        Arc::new(Schema::new(vec![self.field()]))
    }

    /// The answer in this session; `None` when it depends on a setting the
    /// session changed (then the statement is planned).
    pub fn answer(self, vars: &Vars) -> Option<RecordBatch> {
        let column: ArrayRef = match self {
            Cheap::One => Arc::new(Int32Array::from(vec![1])),
            Cheap::Version => Arc::new(StringArray::from(vec![version()])),
            Cheap::CurrentSchema => {
                // Every user's first schema on the default path is
                // `public` (there are no per-user schemas).
                if vars.get("search_path").as_deref() != Some(DEFAULT_SEARCH_PATH) {
                    return None;
                }
                Arc::new(StringArray::from(vec!["public"]))
            }
        };
        RecordBatch::try_new(self.schema(), vec![column]).ok()
    }

    /// A plan that describes the answer's column (`Parse`/`Describe` in the
    /// extended protocol); it is never run ([`is_described`]).
    ///
    /// `current_schema()` is described as `text` there, as the planned
    /// path describes it (its statement plan has no `name` mark; only the
    /// simple protocol's row description, made from the running plan, has
    /// it). The values are the same bytes either way.
    pub fn describe_plan(self) -> Option<LogicalPlan> {
        let field = match self {
            Cheap::CurrentSchema => Field::new("current_schema", DataType::Utf8, true),
            other => other.field(),
        };
        let schema = DFSchema::try_from(Schema::new(vec![field])).ok()?;
        Some(LogicalPlan::EmptyRelation(EmptyRelation {
            produce_one_row: true,
            schema: Arc::new(schema),
        }))
    }
}

/// Whether `plan` is a [`Cheap::describe_plan`] (a planned statement is
/// never a bare one-row relation with columns).
pub fn is_described(plan: &LogicalPlan) -> bool {
    matches!(plan, LogicalPlan::EmptyRelation(e) if e.produce_one_row && !e.schema.fields().is_empty())
}

const DEFAULT_SEARCH_PATH: &str = "\"$user\", public";

/// What `version()` answers ([`crate::pg_compat::vars::version_udf`]).
fn version() -> String {
    crate::pg_compat::vars::version_text()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_checkout_statements_are_recognised_and_nothing_else() {
        assert_eq!(recognise("SELECT 1"), Some(Cheap::One));
        assert_eq!(recognise("  select   1 ;"), Some(Cheap::One));
        assert_eq!(recognise("SELECT version()"), Some(Cheap::Version));
        assert_eq!(
            recognise("select pg_catalog.version();"),
            Some(Cheap::Version)
        );
        assert_eq!(
            recognise("SELECT current_schema()"),
            Some(Cheap::CurrentSchema)
        );
        assert_eq!(
            recognise("select current_schema"),
            Some(Cheap::CurrentSchema)
        );
        for other in [
            "SELECT 1 AS x",
            "SELECT 1; SELECT 2",
            "SELECT 1 -- ping",
            "/* x */ SELECT 1",
            "SELECT '1'",
            "SELECT 2",
            "SELECT 1, 2",
            "SELECT $1",
            "SELECT version ( )",
            "VALUES (1)",
            "",
        ] {
            assert_eq!(recognise(other), None, "{other}");
        }
    }

    #[test]
    fn current_schema_is_answered_on_the_default_path_only() {
        let vars = Vars::default();
        assert!(Cheap::CurrentSchema.answer(&vars).is_some());
        vars.set("search_path", "reports").unwrap();
        assert!(Cheap::CurrentSchema.answer(&vars).is_none());
        assert!(Cheap::One.answer(&vars).is_some());
    }

    #[test]
    fn the_setting_turns_it_off() {
        let vars = Vars::default();
        assert!(enabled(&vars));
        vars.set(SETTING, "off").unwrap();
        assert!(!enabled(&vars));
    }
}
