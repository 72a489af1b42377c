//! Limits on what one statement may ask of the server, checked before it is
//! parsed: its length, and how many operators it chains. DataFusion plans
//! expressions recursively, so an expression nested tens of thousands deep
//! (`1+1+1+…`) would exhaust a thread's stack, and planning time grows with
//! the square of the depth (2,000 chained operators plan in about a second
//! in a debug build); an upper bound on operators is an upper bound on that
//! depth. The server's threads have stacks sized well above the limit (see
//! `cli::main`). Dashboards' queries have a few hundred at most; long value
//! lists belong in `IN (…)`, which counts as none.

use datafusion::sql::sqlparser::dialect::PostgreSqlDialect;
use datafusion::sql::sqlparser::keywords::Keyword;
use datafusion::sql::sqlparser::tokenizer::{Token, Tokenizer};
use pgwire::error::PgWireResult;

use super::errors::user_error;

/// Longest statement text accepted.
pub const MAX_QUERY_BYTES: usize = 32 << 20;
/// Most operators (and opening parentheses) in one query text.
pub const MAX_OPERATORS: usize = 2_000;

const PROGRAM_LIMIT_EXCEEDED: &str = "54000";
const STATEMENT_TOO_COMPLEX: &str = "54001";

/// Refuses a query text over the limits, with SQLSTATE 54000 / 54001.
pub fn check(sql: &str) -> PgWireResult<()> {
    if sql.len() > MAX_QUERY_BYTES {
        return Err(user_error(
            PROGRAM_LIMIT_EXCEEDED,
            format!(
                "the statement is {} bytes long; the limit is {MAX_QUERY_BYTES}",
                sql.len()
            ),
        ));
    }
    // Cheap for ordinary queries: only texts with many operator characters
    // are tokenized.
    let rough = sql.bytes().filter(|b| b"+-*/%|=<>(".contains(b)).count() + sql.len() / 4;
    if rough <= MAX_OPERATORS {
        return Ok(());
    }
    let dialect = PostgreSqlDialect {};
    let Ok(tokens) = Tokenizer::new(&dialect, sql).tokenize() else {
        // The parser reports the error.
        return Ok(());
    };
    let operators = tokens.iter().filter(|t| is_operator(t)).count();
    if operators > MAX_OPERATORS {
        return Err(user_error(
            STATEMENT_TOO_COMPLEX,
            format!(
                "the statement has {operators} operators; the limit is {MAX_OPERATORS} \
                 (use IN (…) lists rather than long OR chains)"
            ),
        ));
    }
    Ok(())
}

fn is_operator(t: &Token) -> bool {
    match t {
        Token::Word(w) => matches!(
            w.keyword,
            Keyword::AND | Keyword::OR | Keyword::NOT | Keyword::CASE | Keyword::WHEN
        ),
        Token::LParen
        | Token::Plus
        | Token::Minus
        | Token::Mul
        | Token::Div
        | Token::Mod
        | Token::StringConcat
        | Token::Eq
        | Token::Neq
        | Token::Lt
        | Token::Gt
        | Token::LtEq
        | Token::GtEq
        | Token::DoubleColon
        | Token::Caret => true,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ordinary_and_wide_queries_pass_deep_chains_do_not() {
        assert!(check("SELECT a + 1 FROM t WHERE b = 2 AND c < 3").is_ok());
        let wide = format!(
            "SELECT * FROM t WHERE id IN ({})",
            (0..50_000)
                .map(|i| i.to_string())
                .collect::<Vec<_>>()
                .join(",")
        );
        assert!(check(&wide).is_ok());
        let chain = format!("SELECT 1{}", "+1".repeat(MAX_OPERATORS + 1));
        let Err(pgwire::error::PgWireError::UserError(info)) = check(&chain) else {
            panic!("a deep chain passed");
        };
        assert_eq!(info.code, STATEMENT_TOO_COMPLEX);
        let Err(pgwire::error::PgWireError::UserError(info)) =
            check(&"x".repeat(MAX_QUERY_BYTES + 1))
        else {
            panic!("a huge text passed");
        };
        assert_eq!(info.code, PROGRAM_LIMIT_EXCEEDED);
    }
}
