//! Text functions whose answers PostgreSQL gives differently from
//! DataFusion's functions of the same names:
//! - `upper`, `lower`: character by character, as PostgreSQL's
//!   (`upper('straße')` is `STRAßE`; a character whose case mapping is
//!   several characters stays as it is);
//! - `length` (`char_length`, `character_length`): characters of a text,
//!   bytes of a `bytea`;
//! - `to_hex`: an `integer` in 32-bit two's complement (`to_hex(-1)` is
//!   `ffffffff`), a `bigint` in 64;
//! - `pg_similar_to_regex(pattern [, escape])`: the POSIX regular
//!   expression of a `SIMILAR TO` pattern (PostgreSQL's `similar_escape`),
//!   which [`crate::pg_compat::compat`] matches with `~` (DataFusion reads
//!   the pattern as a regular expression as it is: `'abc' SIMILAR TO
//!   '%b%'` was false).

use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, AsArray, Int32Array, StringArray, StringBuilder};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, Int32Type, Int64Type};
use datafusion::common::Result;
use datafusion::logical_expr::{ScalarUDF, Volatility};

use super::simple::coercing;
use crate::sqlstate::{code, coded};

/// A text, or a dictionary of texts (OKO stores repeated texts so).
fn is_text(t: &DataType) -> bool {
    match t {
        DataType::Utf8 | DataType::Utf8View | DataType::LargeUtf8 => true,
        DataType::Dictionary(_, value) => is_text(value),
        _ => false,
    }
}

/// One text (PostgreSQL has no `upper(integer)`: 42883, as there).
fn one_text(args: &[DataType]) -> Result<Vec<DataType>> {
    match args {
        [t] if is_text(t) || t.is_null() => Ok(vec![DataType::Utf8]),
        [t] => Err(coded(
            code::UNDEFINED_FUNCTION,
            format!(
                "function does not exist for type {}",
                crate::pg_compat::json::pg_type_name(t)
            ),
        )),
        _ => Err(coded(
            code::UNDEFINED_FUNCTION,
            "the function takes one text",
        )),
    }
}

/// The functions of this module.
pub fn functions() -> Vec<ScalarUDF> {
    vec![
        coercing(
            "upper",
            Volatility::Immutable,
            one_text,
            |_| Ok(DataType::Utf8),
            |args, _| map_text(&args[0], |c| single(c.to_uppercase()).unwrap_or(c)),
        ),
        coercing(
            "lower",
            Volatility::Immutable,
            one_text,
            |_| Ok(DataType::Utf8),
            |args, _| map_text(&args[0], |c| single(c.to_lowercase()).unwrap_or(c)),
        ),
        coercing(
            "length",
            Volatility::Immutable,
            |args| match args {
                [DataType::Binary | DataType::LargeBinary | DataType::BinaryView] => {
                    Ok(vec![DataType::Binary])
                }
                [t] if is_text(t) || t.is_null() => Ok(vec![DataType::Utf8]),
                _ => Err(coded(
                    code::UNDEFINED_FUNCTION,
                    "length takes one text or bytea",
                )),
            },
            |_| Ok(DataType::Int32),
            |args, _| length(&args[0]),
        )
        .with_aliases(["char_length", "character_length"]),
        coercing(
            "to_hex",
            Volatility::Immutable,
            |args| match args {
                [DataType::Int8 | DataType::Int16 | DataType::Int32] => Ok(vec![DataType::Int32]),
                [t] if t.is_integer() || t.is_null() => Ok(vec![DataType::Int64]),
                _ => Err(coded(
                    code::UNDEFINED_FUNCTION,
                    "to_hex takes an integer or a bigint",
                )),
            },
            |_| Ok(DataType::Utf8),
            |args, _| to_hex(&args[0]),
        ),
        coercing(
            "pg_similar_to_regex",
            Volatility::Immutable,
            |args| match args.len() {
                1 | 2 => Ok(vec![DataType::Utf8; args.len()]),
                _ => Err(coded(
                    code::UNDEFINED_FUNCTION,
                    "pg_similar_to_regex takes a pattern and an escape",
                )),
            },
            |_| Ok(DataType::Utf8),
            similar_to_regex,
        ),
    ]
}

/// The one character of a case mapping, if it is one.
fn single(mut mapped: impl Iterator<Item = char>) -> Option<char> {
    let first = mapped.next()?;
    mapped.next().is_none().then_some(first)
}

fn map_text(array: &ArrayRef, f: impl Fn(char) -> char) -> Result<ArrayRef> {
    let text = cast(array, &DataType::Utf8)?;
    let out: StringArray = text
        .as_string::<i32>()
        .iter()
        .map(|v| v.map(|s| s.chars().map(&f).collect::<String>()))
        .collect();
    Ok(Arc::new(out))
}

fn length(array: &ArrayRef) -> Result<ArrayRef> {
    let count = |n: usize| i32::try_from(n).unwrap_or(i32::MAX);
    let out: Int32Array = if is_text(array.data_type()) {
        let text = cast(array, &DataType::Utf8)?;
        text.as_string::<i32>()
            .iter()
            .map(|v| v.map(|s| count(s.chars().count())))
            .collect()
    } else {
        let bytes = cast(array, &DataType::Binary)?;
        bytes
            .as_binary::<i32>()
            .iter()
            .map(|v| v.map(|b| count(b.len())))
            .collect()
    };
    Ok(Arc::new(out))
}

fn to_hex(array: &ArrayRef) -> Result<ArrayRef> {
    let out: StringArray = match array.data_type() {
        DataType::Int32 => array
            .as_primitive::<Int32Type>()
            .iter()
            .map(|v| v.map(|v| format!("{:x}", v as u32)))
            .collect(),
        _ => cast(array, &DataType::Int64)?
            .as_primitive::<Int64Type>()
            .iter()
            .map(|v| v.map(|v| format!("{:x}", v as u64)))
            .collect(),
    };
    Ok(Arc::new(out))
}

fn similar_to_regex(args: &[ArrayRef], _: &DataType) -> Result<ArrayRef> {
    let patterns = cast(&args[0], &DataType::Utf8)?;
    let patterns = patterns.as_string::<i32>();
    let escapes = args.get(1).map(|a| cast(a, &DataType::Utf8)).transpose()?;
    let mut out = StringBuilder::new();
    for i in 0..patterns.len() {
        let escape = match &escapes {
            None => Some(Some('\\')),
            Some(e) if e.is_null(i) => None,
            Some(e) => {
                let e = e.as_string::<i32>().value(i);
                let mut chars = e.chars();
                match (chars.next(), chars.next()) {
                    (None, _) => Some(None),
                    (Some(c), None) => Some(Some(c)),
                    _ => {
                        return Err(coded(
                            code::INVALID_ESCAPE_SEQUENCE,
                            "invalid escape string",
                        ));
                    }
                }
            }
        };
        match (patterns.is_null(i), escape) {
            (false, Some(escape)) => out.append_value(similar_escape(patterns.value(i), escape)),
            _ => out.append_null(),
        }
    }
    Ok(Arc::new(out.finish()))
}

/// PostgreSQL's `similar_escape`: the whole text must match; `%` is any
/// text, `_` any character, the escape makes the next character literal,
/// `.`, `^`, `$` are literal; the rest (`|`, `*`, `+`, `?`, `{m,n}`, `( )`,
/// bracket expressions) is regular expression syntax already.
fn similar_escape(pattern: &str, escape: Option<char>) -> String {
    let mut out = String::from("^(?:");
    let mut in_brackets = false;
    let mut chars = pattern.chars().peekable();
    while let Some(c) = chars.next() {
        if Some(c) == escape {
            match chars.next() {
                Some(next) => push_literal(&mut out, next),
                None => push_literal(&mut out, c),
            }
            continue;
        }
        if in_brackets {
            if c == ']' {
                in_brackets = false;
            }
            out.push(c);
            continue;
        }
        match c {
            '%' => out.push_str(".*"),
            '_' => out.push('.'),
            '[' => {
                in_brackets = true;
                out.push(c);
                // (A `]` or `^]` right after the bracket is a member.)
                if chars.peek() == Some(&'^') {
                    out.push('^');
                    chars.next();
                }
                if chars.peek() == Some(&']') {
                    out.push(']');
                    chars.next();
                }
            }
            '.' | '^' | '$' => {
                out.push('\\');
                out.push(c);
            }
            _ => out.push(c),
        }
    }
    out.push_str(")$");
    out
}

fn push_literal(out: &mut String, c: char) {
    if c.is_ascii_punctuation() {
        out.push('\\');
    }
    out.push(c);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn similar_to_patterns_become_anchored_regular_expressions() {
        assert_eq!(similar_escape("%b%", Some('\\')), "^(?:.*b.*)$");
        assert_eq!(similar_escape("a_c", Some('\\')), "^(?:a.c)$");
        assert_eq!(similar_escape("a.c", Some('\\')), "^(?:a\\.c)$");
        assert_eq!(similar_escape("(a|b)%", Some('\\')), "^(?:(a|b).*)$");
        assert_eq!(similar_escape("100\\%", Some('\\')), "^(?:100\\%)$");
        assert_eq!(similar_escape("a#_b", Some('#')), "^(?:a\\_b)$");
        assert_eq!(similar_escape("[%_]x", Some('\\')), "^(?:[%_]x)$");
    }

    #[test]
    fn case_maps_character_by_character() {
        let upper = |s: &str| {
            s.chars()
                .map(|c| single(c.to_uppercase()).unwrap_or(c))
                .collect::<String>()
        };
        assert_eq!(upper("straße"), "STRAßE");
        assert_eq!(upper("ёлка"), "ЁЛКА");
    }
}
