//! Errors become PostgreSQL errors here, once, at the edge: every
//! `DataFusionError` (and every parser or protocol error) gets the SQLSTATE a
//! Postgres client expects, so drivers raise the right exception class
//! (`UndefinedTable`, `DivisionByZero`, …) and tools show a useful message.

use datafusion::arrow::error::ArrowError;
use datafusion::common::{DataFusionError, SchemaError};
use datafusion::sql::sqlparser::parser::ParserError;
use pgwire::error::{ErrorInfo, PgWireError};

pub use crate::sqlstate::{Coded, code, coded};

/// A `FATAL` error: the server closes the connection after sending it
/// (failed logins, too many connections).
pub fn fatal(code: &str, message: impl Into<String>) -> PgWireError {
    PgWireError::UserError(Box::new(ErrorInfo::new(
        "FATAL".into(),
        code.into(),
        message.into(),
    )))
}

/// An `ERROR` with a code and a message.
pub fn error(code: &str, message: impl Into<String>) -> ErrorInfo {
    ErrorInfo::new("ERROR".into(), code.into(), message.into())
}

/// The same as a `PgWireError`.
pub fn user_error(code: &str, message: impl Into<String>) -> PgWireError {
    PgWireError::UserError(Box::new(error(code, message)))
}

/// A DataFusion error as a `PgWireError` with its SQLSTATE.
pub fn from_datafusion(e: DataFusionError) -> PgWireError {
    PgWireError::UserError(Box::new(datafusion_info(&e)))
}

/// Gives an error that still carries a generic code its proper SQLSTATE.
/// Errors that already have one (user errors, protocol errors) are left as
/// they are.
pub fn classify(e: &mut PgWireError) {
    let info = match e {
        PgWireError::ApiError(inner) => {
            if let Some(df) = inner.downcast_ref::<DataFusionError>() {
                datafusion_info(df)
            } else if let Some(p) = inner.downcast_ref::<ParserError>() {
                parser_info(p)
            } else if let Some(a) = inner.downcast_ref::<ArrowError>() {
                arrow_info(a)
            } else {
                return;
            }
        }
        _ => return,
    };
    *e = PgWireError::UserError(Box::new(info));
}

/// Messages whose PostgreSQL code does not depend on the error's kind
/// (DataFusion raises the same condition as a plan, execution, arrow or
/// internal error depending on where it is found).
fn known_message(m: &str) -> Option<ErrorInfo> {
    let lower = m.to_ascii_lowercase();
    let found = |code: &str| Some(error(code, m));
    if lower.contains("scalar subquery returned more than one row") {
        return Some(error(
            code::CARDINALITY_VIOLATION,
            "more than one row returned by a subquery used as an expression",
        ));
    }
    // An ordered-set aggregate over intervals: DataFusion's interpolates
    // floats only.
    if lower.contains("'percentile_cont'") && lower.contains("interval(") {
        let mut info = error(
            code::FEATURE_NOT_SUPPORTED,
            "percentile_cont of intervals is not supported",
        );
        info.hint = Some(
            "take it of the seconds: percentile_cont(0.5) WITHIN GROUP (ORDER BY \
             extract(epoch FROM x)) * interval '1 second'"
                .into(),
        );
        return Some(info);
    }
    if lower.contains("correlated scalar subquery must be aggregated") {
        let mut info = error(
            code::FEATURE_NOT_SUPPORTED,
            "a correlated scalar subquery must be aggregated (it could return more than one row)",
        );
        info.hint = Some("select max(…) or min(…) of the value in the subquery".into());
        return Some(info);
    }
    // A subquery where DataFusion cannot join it in (a LATERAL subquery, a
    // scalar subquery with LIMIT, IN in a select list): said so, not as
    // the planner's internals.
    if lower.contains("physical plan does not support logical expression")
        && [
            "scalarsubquery",
            "exists",
            "insubquery",
            "outerreferencecolumn",
        ]
        .iter()
        .any(|k| lower.contains(k))
    {
        let mut info = error(
            code::FEATURE_NOT_SUPPORTED,
            "this subquery cannot be planned: a subquery that reads the outer row is \
             supported where it matches the outer row's columns with = (in WHERE, or \
             aggregated in a select list); LATERAL joins, LIMIT, other comparisons with the \
             outer row and IN (subquery) in a select list are not",
        );
        info.hint = Some(
            "join the tables, or aggregate in the subquery (max(…), count(…), bool_or(…))".into(),
        );
        return Some(info);
    }
    if lower.contains("must appear in the group by clause")
        || lower.contains("column in select must be in group by")
        || lower.contains("must appear in the gro")
    {
        return found(code::GROUPING_ERROR);
    }
    if lower.contains("cannot take square root of a negative number")
        || lower.contains("zero raised to a negative power")
    {
        return found(code::INVALID_ARGUMENT_FOR_POWER);
    }
    if lower.contains("step can't be 0") || lower.contains("step cannot be zero") {
        return Some(error(
            code::INVALID_PARAMETER_VALUE,
            "step size cannot equal zero",
        ));
    }
    if lower.contains("negative count not allowed") || lower.contains("negative substring length") {
        return Some(error(
            code::INVALID_SUBSTRING_LENGTH,
            "negative substring length not allowed",
        ));
    }
    if lower.contains("unsupported date_trunc granularity")
        || lower.contains("date part") && lower.contains("not supported")
    {
        return found(code::INVALID_PARAMETER_VALUE);
    }
    if lower.contains("cannot coerce arithmetic expression") {
        return found(code::UNDEFINED_FUNCTION);
    }
    if lower.contains("can't cast value") {
        return found(code::NUMERIC_VALUE_OUT_OF_RANGE);
    }
    // One of our coded errors that reached the client as text, inside an
    // error of a layer that only kept its message (a filter evaluated in
    // the Parquet reader).
    if let Some(info) = coded_in_text(m) {
        return Some(info);
    }
    if lower.contains("field position must not be zero") {
        return found(code::INVALID_PARAMETER_VALUE);
    }
    if lower.contains("percentile value must be between") {
        return found(code::NUMERIC_VALUE_OUT_OF_RANGE);
    }
    if lower.contains("ntile requires a positive integer") {
        return Some(error(
            code::INVALID_ARGUMENT_FOR_NTILE,
            "argument of ntile must be greater than zero",
        ));
    }
    if lower.contains("unable to parse date from") {
        return Some(error(
            code::DATETIME_FIELD_OVERFLOW,
            format!("date field value out of range: {m}"),
        ));
    }
    if lower.contains("invalid input syntax for type interval") {
        return found(code::INVALID_DATETIME_FORMAT);
    }
    if lower.contains("invalid timestamp arithmetic operation")
        || lower.contains("cannot infer common argument type for comparison operation")
        || lower.contains("cannot get result type for temporal operation")
    {
        return found(code::UNDEFINED_FUNCTION);
    }
    if lower.contains("cannot create filter with non-boolean predicate") {
        return found(code::DATATYPE_MISMATCH);
    }
    if let Some(info) = cast_from_text(m) {
        return Some(info);
    }
    if let Some(table) = missing_relation(m) {
        return Some(error(
            code::UNDEFINED_TABLE,
            format!("missing FROM-clause entry for table \"{table}\""),
        ));
    }
    None
}

/// `Coded { code: "22007", message: "…" }` in a message: the code and the
/// message it carries.
fn coded_in_text(m: &str) -> Option<ErrorInfo> {
    let rest = m.split("Coded { code: \"").nth(1)?;
    let (code, rest) = rest.split_once('"')?;
    let message = rest.split_once("message: \"")?.1;
    let end = message.rfind("\" }")?;
    let message = message[..end].replace("\\\"", "\"");
    (code.len() == 5).then(|| error(code, message))
}

/// Arrow's `Cannot cast string 'x' to value of Int32 type`: out of range
/// (22003) when `x` is a number of the type's syntax, otherwise invalid
/// input (22P02); for dates and times, a value of date syntax with a field
/// out of range (22008) or else invalid input (22007). Types are named as
/// PostgreSQL names them.
fn cast_from_text(m: &str) -> Option<ErrorInfo> {
    let rest = m.split("Cannot cast string '").nth(1)?;
    let (value, rest) = rest.split_once("' to value of ")?;
    let target = rest.split_whitespace().next().unwrap_or("");
    let temporal = target.starts_with("Date") || target.starts_with("Time");
    let integer = target.starts_with("Int") || target.starts_with("UInt");
    let v = value.trim();
    let number = if integer {
        v.parse::<i128>().is_ok()
    } else {
        v.parse::<f64>().is_ok()
    };
    let name = pg_type_name(target);
    Some(if temporal {
        let date_shaped = v
            .split(['-', ' ', ':', '.', 'T'])
            .all(|part| !part.is_empty() && part.chars().all(|c| c.is_ascii_digit()));
        if date_shaped {
            error(
                code::DATETIME_FIELD_OVERFLOW,
                format!("date/time field value out of range: \"{value}\""),
            )
        } else {
            error(
                code::INVALID_DATETIME_FORMAT,
                format!("invalid input syntax for type {name}: \"{value}\""),
            )
        }
    } else if number {
        error(
            code::NUMERIC_VALUE_OUT_OF_RANGE,
            format!("value \"{value}\" is out of range for type {name}"),
        )
    } else {
        error(
            code::INVALID_TEXT_REPRESENTATION,
            format!("invalid input syntax for type {name}: \"{value}\""),
        )
    })
}

/// An Arrow type's name (as Arrow's messages write it) as PostgreSQL's.
fn pg_type_name(arrow: &str) -> &str {
    match arrow {
        "Int16" => "smallint",
        "Int32" => "integer",
        "Int64" => "bigint",
        "Float32" => "real",
        "Float64" => "double precision",
        "Boolean" => "boolean",
        "Date32" | "Date64" => "date",
        t if t.starts_with("Decimal") => "numeric",
        t if t.starts_with("Time64") || t.starts_with("Time32") => "time without time zone",
        t if t.starts_with("Timestamp") => "timestamp",
        other => other,
    }
}

/// DataFusion's `No field named x.col. … Valid fields are …` where no valid
/// field is qualified by `x`: PostgreSQL's missing FROM entry for `x`.
fn missing_relation(m: &str) -> Option<String> {
    let rest = m.split("No field named ").nth(1)?;
    // `x.tenant.` ends the sentence: the name is `x.tenant`.
    let name = rest.split_whitespace().next()?.trim_end_matches('.');
    let (qualifier, _) = name.split_once('.')?;
    if qualifier.is_empty() {
        return None;
    }
    let valid = m.split("Valid fields are ").nth(1).unwrap_or("");
    let prefix = format!("{qualifier}.");
    (!valid
        .split(", ")
        .any(|f| f.trim().trim_matches('"').starts_with(&prefix)))
    .then(|| qualifier.trim_matches('"').to_string())
}

/// The Postgres error for a DataFusion error.
pub fn datafusion_info(e: &DataFusionError) -> ErrorInfo {
    let root = e.find_root();
    if !matches!(root, DataFusionError::External(inner) if inner.downcast_ref::<Coded>().is_some())
        && let Some(info) = known_message(&root.to_string())
    {
        return info;
    }
    match root {
        DataFusionError::SQL(p, _) => parser_info(p),
        DataFusionError::ArrowError(a, _) => arrow_info(a),
        DataFusionError::SchemaError(s, _) => schema_info(s),
        DataFusionError::NotImplemented(m) => error(code::FEATURE_NOT_SUPPORTED, m.clone()),
        DataFusionError::ResourcesExhausted(m) => {
            let mut info = error(code::OUT_OF_MEMORY, format!("out of memory: {m}"));
            info.hint = Some(
                "the query needs more memory than [server] memory_limit_mb allows; \
                 narrow the period or the columns"
                    .into(),
            );
            info
        }
        DataFusionError::IoError(io) => error(code::IO_ERROR, format!("storage error: {io}")),
        DataFusionError::ObjectStore(os) => error(code::IO_ERROR, format!("storage error: {os}")),
        DataFusionError::Configuration(m) => error(code::UNDEFINED_OBJECT, m.clone()),
        DataFusionError::Plan(m) => plan_info(m),
        DataFusionError::Execution(m) => execution_info(m),
        DataFusionError::External(inner) => {
            if let Some(a) = inner.downcast_ref::<ArrowError>() {
                arrow_info(a)
            } else if let Some(c) = inner.downcast_ref::<Coded>() {
                error(c.code, c.message.clone())
            } else if is_regex_error(&inner.to_string()) {
                error(code::INVALID_REGULAR_EXPRESSION, inner.to_string())
            } else {
                error(code::INTERNAL_ERROR, root.to_string())
            }
        }
        other => error(code::INTERNAL_ERROR, other.to_string()),
    }
}

/// A statement the parser refused, as the client is told.
pub fn parse_error(p: &ParserError) -> PgWireError {
    PgWireError::UserError(Box::new(parser_info(p)))
}

/// A statement the parser refused: a syntax error, or PostgreSQL syntax
/// OKO does not offer, said so (0A000).
fn parser_info(p: &ParserError) -> ErrorInfo {
    let message = parser_message(p);
    // A window frame's `EXCLUDE CURRENT ROW | GROUP | TIES` (sqlparser
    // stops at the keyword): DataFusion's frames have no exclusion.
    if message.contains("found: EXCLUDE") {
        let mut info = error(
            code::FEATURE_NOT_SUPPORTED,
            "window frame exclusion (EXCLUDE CURRENT ROW, EXCLUDE GROUP, EXCLUDE TIES) \
             is not supported",
        );
        info.hint =
            Some("subtract the excluded rows: sum(x) OVER (…) - x for EXCLUDE CURRENT ROW".into());
        return info;
    }
    error(code::SYNTAX_ERROR, message)
}

fn parser_message(p: &ParserError) -> String {
    let text = match p {
        ParserError::ParserError(m) | ParserError::TokenizerError(m) => m.clone(),
        ParserError::RecursionLimitExceeded => {
            "the statement is nested too deeply (recursion limit exceeded)".into()
        }
    };
    format!("syntax error: {text}")
}

fn schema_info(s: &SchemaError) -> ErrorInfo {
    let message = s.to_string();
    match s {
        SchemaError::FieldNotFound { .. } => error(code::UNDEFINED_COLUMN, message),
        SchemaError::AmbiguousReference { .. } => error(code::AMBIGUOUS_COLUMN, message),
        SchemaError::DuplicateQualifiedField { .. }
        | SchemaError::DuplicateUnqualifiedField { .. } => error(code::DUPLICATE_OBJECT, message),
    }
}

fn arrow_info(a: &ArrowError) -> ErrorInfo {
    if is_regex_error(&a.to_string()) {
        return error(code::INVALID_REGULAR_EXPRESSION, a.to_string());
    }
    match a {
        ArrowError::DivideByZero => error(code::DIVISION_BY_ZERO, "division by zero"),
        ArrowError::CastError(m) | ArrowError::ParseError(m) => {
            error(code::INVALID_TEXT_REPRESENTATION, m.clone())
        }
        ArrowError::ArithmeticOverflow(m) => error(code::NUMERIC_VALUE_OUT_OF_RANGE, m.clone()),
        ArrowError::ComputeError(m) if m.contains("Overflow") || m.contains("overflow") => {
            error(code::NUMERIC_VALUE_OUT_OF_RANGE, m.clone())
        }
        ArrowError::MemoryError(m) => error(code::OUT_OF_MEMORY, m.clone()),
        ArrowError::IoError(m, _) => error(code::IO_ERROR, m.clone()),
        other => error(code::INTERNAL_ERROR, other.to_string()),
    }
}

/// Planning errors carry their kind in the message only.
fn plan_info(m: &str) -> ErrorInfo {
    let lower = m.to_ascii_lowercase();
    let code = if is_regex_error(m) {
        code::INVALID_REGULAR_EXPRESSION
    } else if lower.contains("table '") && lower.contains("not found")
        || lower.contains("no table named")
    {
        code::UNDEFINED_TABLE
    } else if lower.contains("invalid function")
        || lower.contains("function") && lower.contains("not found")
        || lower.contains("no function matches")
    {
        code::UNDEFINED_FUNCTION
    } else if lower.contains("no field named") {
        code::UNDEFINED_COLUMN
    } else if lower.contains("cannot infer common")
        || lower.contains("coerce")
        || lower.contains("does not support")
        || lower.contains("mismatch")
    {
        code::DATATYPE_MISMATCH
    } else if lower.contains("unsupported") || lower.contains("not supported") {
        code::FEATURE_NOT_SUPPORTED
    } else {
        code::SYNTAX_ERROR
    };
    error(code, m)
}

/// A regular expression that does not parse or is too big to compile
/// (the regex crate's messages, however DataFusion wraps them).
fn is_regex_error(m: &str) -> bool {
    let lower = m.to_ascii_lowercase();
    lower.contains("regex parse error")
        || lower.contains("regular expression did not compile")
        || lower.contains("compiled regex exceeds size limit")
        || lower.contains("regular expression") && lower.contains("invalid")
        || lower.contains("regex") && lower.contains("size limit")
}

fn execution_info(m: &str) -> ErrorInfo {
    let lower = m.to_ascii_lowercase();
    let code = if is_regex_error(m) {
        code::INVALID_REGULAR_EXPRESSION
    } else if lower.contains("divide by zero") || lower.contains("division by zero") {
        code::DIVISION_BY_ZERO
    } else if lower.contains("invalid input syntax for type interval") {
        code::INVALID_DATETIME_FORMAT
    } else if lower.contains("cannot cast") || lower.contains("invalid input syntax") {
        code::INVALID_TEXT_REPRESENTATION
    } else if lower.contains("overflow") {
        code::NUMERIC_VALUE_OUT_OF_RANGE
    } else if lower.contains("not a date")
        || lower.contains("error parsing timestamp")
        || lower.contains("invalid timezone")
    {
        code::INVALID_DATETIME_FORMAT
    } else {
        code::INTERNAL_ERROR
    };
    error(code, m)
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::prelude::SessionContext;

    async fn code_of(sql: &str) -> String {
        let ctx = SessionContext::new();
        let e = match ctx.sql(sql).await {
            Err(e) => e,
            Ok(df) => df.collect().await.expect_err("the query fails"),
        };
        datafusion_info(&e).code
    }

    #[tokio::test]
    async fn common_mistakes_get_their_postgres_codes() {
        assert_eq!(code_of("SELECT * FROM nope").await, code::UNDEFINED_TABLE);
        assert_eq!(code_of("SELEC 1").await, code::SYNTAX_ERROR);
        assert_eq!(
            code_of("SELECT nope FROM (SELECT 1 AS a)").await,
            code::UNDEFINED_COLUMN
        );
        assert_eq!(code_of("SELECT nope(1)").await, code::UNDEFINED_FUNCTION);
        assert_eq!(code_of("SELECT 1 / 0").await, code::DIVISION_BY_ZERO);
        assert_eq!(
            code_of("SELECT CAST('abc' AS INT)").await,
            code::INVALID_TEXT_REPRESENTATION
        );
        assert_eq!(
            code_of("SELECT regexp_like('abc', '(')").await,
            code::INVALID_REGULAR_EXPRESSION
        );
        assert_eq!(
            code_of("SELECT 'abc' ~ repeat('(a{1000}){1000}', 3)").await,
            code::INVALID_REGULAR_EXPRESSION
        );
        // The codes PostgreSQL 15 gives these (the differential corpus).
        for (sql, expected) in [
            (
                "SELECT CAST('99999999999' AS INT)",
                code::NUMERIC_VALUE_OUT_OF_RANGE,
            ),
            (
                "SELECT (SELECT 1 UNION SELECT 2)",
                code::CARDINALITY_VIOLATION,
            ),
            ("SELECT sqrt(-1)", code::INVALID_ARGUMENT_FOR_POWER),
            ("SELECT x.a FROM (SELECT 1 AS a) l", code::UNDEFINED_TABLE),
            (
                "SELECT a, count(*) FROM (SELECT 1 AS a)",
                code::GROUPING_ERROR,
            ),
            ("SELECT 'a' + 1", code::UNDEFINED_FUNCTION),
        ] {
            assert_eq!(code_of(sql).await, expected, "{sql}");
        }
    }
}
