//! SQLSTATE codes, and an error that carries its code from where it is
//! decided (a refused write, a value over a limit) through DataFusion to the
//! wire, where `server::errors` turns every error into a PostgreSQL one.
//! It sits low so that the live tables and the PostgreSQL emulation can
//! decide codes without depending on the server.

use datafusion::common::DataFusionError;

/// SQLSTATE codes we send (see the PostgreSQL errcodes appendix).
pub mod code {
    pub const SYNTAX_ERROR: &str = "42601";
    pub const UNDEFINED_TABLE: &str = "42P01";
    pub const UNDEFINED_COLUMN: &str = "42703";
    pub const UNDEFINED_FUNCTION: &str = "42883";
    pub const UNDEFINED_OBJECT: &str = "42704";
    pub const AMBIGUOUS_COLUMN: &str = "42702";
    pub const DUPLICATE_OBJECT: &str = "42710";
    pub const DATATYPE_MISMATCH: &str = "42804";
    pub const INSUFFICIENT_PRIVILEGE: &str = "42501";
    pub const DIVISION_BY_ZERO: &str = "22012";
    pub const INVALID_TEXT_REPRESENTATION: &str = "22P02";
    pub const INVALID_DATETIME_FORMAT: &str = "22007";
    pub const NUMERIC_VALUE_OUT_OF_RANGE: &str = "22003";
    pub const INVALID_PARAMETER_VALUE: &str = "22023";
    pub const FEATURE_NOT_SUPPORTED: &str = "0A000";
    pub const OUT_OF_MEMORY: &str = "53200";
    pub const IO_ERROR: &str = "58030";
    pub const INTERNAL_ERROR: &str = "XX000";
    pub const PROTOCOL_VIOLATION: &str = "08P01";
    pub const UNIQUE_VIOLATION: &str = "23505";
    pub const TOO_MANY_CONNECTIONS: &str = "53300";
    pub const INVALID_AUTHORIZATION: &str = "28000";
    pub const INVALID_PASSWORD: &str = "28P01";
    pub const CANT_CHANGE_RUNTIME_PARAM: &str = "55P02";
    pub const READ_ONLY_SQL_TRANSACTION: &str = "25006";
    pub const PROGRAM_LIMIT_EXCEEDED: &str = "54000";
    pub const STATEMENT_TOO_COMPLEX: &str = "54001";
    pub const INVALID_REGULAR_EXPRESSION: &str = "2201B";
    pub const INVALID_ARGUMENT_FOR_POWER: &str = "2201F";
    pub const INVALID_ARGUMENT_FOR_LOG: &str = "2201E";
    pub const INVALID_ARGUMENT_FOR_NTILE: &str = "22014";
    pub const CHARACTER_NOT_IN_REPERTOIRE: &str = "22021";
    pub const INVALID_ARGUMENT_FOR_WIDTH_BUCKET: &str = "2201G";
    pub const INVALID_SUBSTRING_LENGTH: &str = "22011";
    pub const INVALID_ESCAPE_SEQUENCE: &str = "22025";
    pub const DATETIME_FIELD_OVERFLOW: &str = "22008";
    pub const CARDINALITY_VIOLATION: &str = "21000";
    pub const GROUPING_ERROR: &str = "42803";
    pub const ARRAY_SUBSCRIPT_ERROR: &str = "2202E";
    pub const NULL_VALUE_NOT_ALLOWED: &str = "22004";
}

/// An error whose SQLSTATE is decided where it happens (a refused or
/// invalid write), carried through DataFusion as an external error.
#[derive(Debug)]
pub struct Coded {
    pub code: &'static str,
    pub message: String,
}

impl std::fmt::Display for Coded {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Coded {}

/// A [`Coded`] error as a DataFusion error.
pub fn coded(code: &'static str, message: impl Into<String>) -> DataFusionError {
    DataFusionError::External(Box::new(Coded {
        code,
        message: message.into(),
    }))
}
