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
    let rough = sql
        .bytes()
        .filter(|b| !b.is_ascii_alphanumeric() && !b" \t\r\n,.;)]}'\"_$".contains(b))
        .count()
        + sql.len() / 4;
    if rough <= MAX_OPERATORS {
        return Ok(());
    }
    let dialect = PostgreSqlDialect {};
    let Ok(tokens) = Tokenizer::new(&dialect, sql).tokenize() else {
        // The parser reports the error.
        return Ok(());
    };
    // A sign right after `(` or `,` (`IN (-1, -2, …)`) adds one level to
    // its value only, not to the tree: it is not counted.
    let mut operators = 0;
    let mut previous = &Token::EOF;
    for t in tokens.iter().filter(|t| !matches!(t, Token::Whitespace(_))) {
        let sign = matches!(t, Token::Minus | Token::Plus)
            && matches!(previous, Token::Comma | Token::LParen);
        if is_operator(t) && !sign {
            operators += 1;
        }
        previous = t;
    }
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

/// Whether a token adds to the depth of the expression tree: every
/// operator symbol (arithmetic, bitwise, comparison, regex, JSON, array,
/// casts, whatever the tokenizer knows or does not), every opening bracket,
/// and the keywords that build expressions. Identifiers, literals,
/// separators and closing brackets do not.
fn is_operator(t: &Token) -> bool {
    match t {
        Token::Word(w) => matches!(
            w.keyword,
            Keyword::AND
                | Keyword::OR
                | Keyword::XOR
                | Keyword::NOT
                | Keyword::CASE
                | Keyword::WHEN
                | Keyword::IS
                | Keyword::BETWEEN
                | Keyword::LIKE
                | Keyword::ILIKE
                | Keyword::SIMILAR
                | Keyword::IN
                | Keyword::AT
                | Keyword::COLLATE
                | Keyword::OVERLAPS
                | Keyword::ANY
                | Keyword::ALL
                | Keyword::SOME
                | Keyword::EXISTS
                | Keyword::OPERATOR
                | Keyword::DIV
                | Keyword::MOD
        ),
        Token::EOF
        | Token::Number(..)
        | Token::SingleQuotedString(_)
        | Token::DoubleQuotedString(_)
        | Token::TripleSingleQuotedString(_)
        | Token::TripleDoubleQuotedString(_)
        | Token::DollarQuotedString(_)
        | Token::SingleQuotedByteStringLiteral(_)
        | Token::DoubleQuotedByteStringLiteral(_)
        | Token::TripleSingleQuotedByteStringLiteral(_)
        | Token::TripleDoubleQuotedByteStringLiteral(_)
        | Token::SingleQuotedRawStringLiteral(_)
        | Token::DoubleQuotedRawStringLiteral(_)
        | Token::TripleSingleQuotedRawStringLiteral(_)
        | Token::TripleDoubleQuotedRawStringLiteral(_)
        | Token::NationalStringLiteral(_)
        | Token::QuoteDelimitedStringLiteral(_)
        | Token::NationalQuoteDelimitedStringLiteral(_)
        | Token::EscapedStringLiteral(_)
        | Token::UnicodeStringLiteral(_)
        | Token::HexStringLiteral(_)
        | Token::Placeholder(_)
        | Token::Comma
        | Token::Whitespace(_)
        | Token::RParen
        | Token::RBracket
        | Token::RBrace
        | Token::Period
        | Token::SemiColon => false,
        _ => true,
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
        for op in [
            "+", "&", "|", "#", "<<", ">>", "||", "->", "->>", "~", " AND ", " OR ", " IS ",
            "::int::", "@>", "^", "!~",
        ] {
            let chain = format!("SELECT 1{}", format!("{op}1").repeat(MAX_OPERATORS + 1));
            let Err(pgwire::error::PgWireError::UserError(info)) = check(&chain) else {
                panic!("a deep chain of {op} passed");
            };
            assert_eq!(info.code, STATEMENT_TOO_COMPLEX, "{op}");
        }
        let nested = format!("SELECT {}1{}", "abs(".repeat(2_001), ")".repeat(2_001));
        assert!(check(&nested).is_err(), "nested calls");
        let strings = format!(
            "SELECT * FROM t WHERE s IN ({})",
            (0..50_000)
                .map(|i| format!("'x{i}'"))
                .collect::<Vec<_>>()
                .join(",")
        );
        assert!(check(&strings).is_ok(), "a long list of strings");
        let negative = format!(
            "SELECT * FROM t WHERE n IN ({})",
            (0..50_000)
                .map(|i| format!("-{i}"))
                .collect::<Vec<_>>()
                .join(", ")
        );
        assert!(check(&negative).is_ok(), "a long list of negative numbers");
        let unary = format!("SELECT {}1", "- ".repeat(MAX_OPERATORS + 1));
        assert!(check(&unary).is_err(), "a chain of signs");
        let Err(pgwire::error::PgWireError::UserError(info)) =
            check(&"x".repeat(MAX_QUERY_BYTES + 1))
        else {
            panic!("a huge text passed");
        };
        assert_eq!(info.code, PROGRAM_LIMIT_EXCEEDED);
    }
}
