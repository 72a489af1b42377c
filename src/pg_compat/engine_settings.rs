//! Which DataFusion settings (`SET datafusion.…`) a session may change, and
//! within which bounds.
//!
//! DataFusion's settings were written for one trusted user of an embedded
//! engine: `batch_size = 4000000000` makes the next sort allocate 32 GB and
//! abort the process, `target_partitions = 10000` takes tens of gigabytes,
//! `runtime.memory_limit` gives a session a pool of its own,
//! `runtime.temp_directory` makes the server write where it is told, and
//! `explain.show_statistics` shows the minimum and maximum of files other
//! tenants share. A shared server therefore lets sessions change only the
//! harmless tuning knobs below, each checked against its bounds; every
//! other `datafusion.*` name is refused with 42501.
//!
//! The name is matched after identifier normalisation (`datafusion."runtime"
//! .memory_limit` is `datafusion.runtime.memory_limit`), so quoting cannot
//! slip past the list.

use datafusion::sql::sqlparser::ast::ObjectName;

use crate::sqlstate::{Coded, code};

/// What values a setting takes.
#[derive(Debug, Clone, Copy)]
enum Kind {
    /// `true`/`false` (`on`/`off` too).
    Bool,
    /// A whole number within the bounds.
    Count { min: u64, max: u64 },
    /// One of the words.
    Word(&'static [&'static str]),
}

/// The settings a session may change (without the `datafusion.` prefix).
const ALLOWED: &[(&str, Kind)] = &[
    (
        "execution.batch_size",
        Kind::Count {
            min: 1,
            max: 65_536,
        },
    ),
    (
        "execution.target_partitions",
        Kind::Count { min: 1, max: 32 },
    ),
    ("execution.collect_statistics", Kind::Bool),
    ("execution.coalesce_batches", Kind::Bool),
    ("execution.parquet.pushdown_filters", Kind::Bool),
    ("execution.parquet.reorder_filters", Kind::Bool),
    ("execution.parquet.pruning", Kind::Bool),
    ("execution.parquet.enable_page_index", Kind::Bool),
    ("execution.parquet.bloom_filter_on_read", Kind::Bool),
    ("optimizer.prefer_hash_join", Kind::Bool),
    ("optimizer.repartition_joins", Kind::Bool),
    ("optimizer.repartition_aggregations", Kind::Bool),
    ("optimizer.repartition_sorts", Kind::Bool),
    ("optimizer.repartition_windows", Kind::Bool),
    ("optimizer.repartition_file_scans", Kind::Bool),
    ("optimizer.enable_round_robin_repartition", Kind::Bool),
    ("optimizer.enable_join_dynamic_filter_pushdown", Kind::Bool),
    ("explain.logical_plan_only", Kind::Bool),
    ("explain.physical_plan_only", Kind::Bool),
    ("explain.show_schema", Kind::Bool),
    ("explain.format", Kind::Word(&["indent", "tree"])),
];

/// A setting's name as DataFusion spells it: every part lower case, quotes
/// gone, joined with dots.
pub fn normalized_name(name: &ObjectName) -> String {
    name.0
        .iter()
        .map(|part| match part.as_ident() {
            Some(ident) => ident.value.to_lowercase(),
            None => part.to_string().to_lowercase(),
        })
        .collect::<Vec<_>>()
        .join(".")
}

/// Checks `SET name = value` for a `datafusion.*` name (already
/// normalised); returns the value to hand to DataFusion.
pub fn check(name: &str, value: &str) -> Result<String, Coded> {
    let short = name.strip_prefix("datafusion.").unwrap_or(name);
    let Some((_, kind)) = ALLOWED.iter().find(|(n, _)| *n == short) else {
        let allowed: Vec<String> = ALLOWED
            .iter()
            .map(|(n, _)| format!("datafusion.{n}"))
            .collect();
        return Err(Coded {
            code: code::INSUFFICIENT_PRIVILEGE,
            message: format!(
                "{name} cannot be set from a session on a shared server \
                 (sessions may set: {})",
                allowed.join(", ")
            ),
        });
    };
    let value = value.trim();
    let invalid = |why: String| Coded {
        code: code::INVALID_PARAMETER_VALUE,
        message: format!("invalid value for parameter \"{name}\": \"{value}\" ({why})"),
    };
    match kind {
        Kind::Bool => match value.to_ascii_lowercase().as_str() {
            "true" | "on" | "1" | "yes" => Ok("true".into()),
            "false" | "off" | "0" | "no" => Ok("false".into()),
            _ => Err(invalid("use true or false".into())),
        },
        Kind::Count { min, max } => match value.parse::<u64>() {
            Ok(n) if (*min..=*max).contains(&n) => Ok(n.to_string()),
            _ => Err(invalid(format!("use a whole number from {min} to {max}"))),
        },
        Kind::Word(words) => {
            let lower = value.to_ascii_lowercase();
            if words.contains(&lower.as_str()) {
                Ok(lower)
            } else {
                Err(invalid(format!("use one of {}", words.join(", "))))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::sql::sqlparser::dialect::PostgreSqlDialect;
    use datafusion::sql::sqlparser::parser::Parser;

    fn name_of(sql: &str) -> String {
        let statements = Parser::parse_sql(&PostgreSqlDialect {}, sql).unwrap();
        match &statements[0] {
            datafusion::sql::sqlparser::ast::Statement::Set(
                datafusion::sql::sqlparser::ast::Set::SingleAssignment { variable, .. },
            ) => normalized_name(variable),
            other => panic!("not a SET: {other}"),
        }
    }

    #[test]
    fn quoting_does_not_hide_a_name() {
        assert_eq!(
            name_of("SET datafusion.\"runtime\".memory_limit = '64G'"),
            "datafusion.runtime.memory_limit"
        );
        assert_eq!(
            name_of("SET \"DataFusion\".Execution.\"batch_size\" = 1"),
            "datafusion.execution.batch_size"
        );
    }

    #[test]
    fn only_bounded_tuning_knobs_pass() {
        assert_eq!(
            check("datafusion.execution.batch_size", "1234").unwrap(),
            "1234"
        );
        for (name, value, code) in [
            ("datafusion.execution.batch_size", "4000000000", "22023"),
            ("datafusion.execution.batch_size", "0", "22023"),
            ("datafusion.execution.target_partitions", "10000", "22023"),
            ("datafusion.runtime.memory_limit", "64G", "42501"),
            ("datafusion.runtime.temp_directory", "/tmp/x", "42501"),
            ("datafusion.explain.show_statistics", "true", "42501"),
            ("datafusion.explain.format", "graphviz", "22023"),
        ] {
            assert_eq!(check(name, value).unwrap_err().code, code, "{name}={value}");
        }
        assert_eq!(
            check("datafusion.optimizer.prefer_hash_join", "off").unwrap(),
            "false"
        );
    }
}
