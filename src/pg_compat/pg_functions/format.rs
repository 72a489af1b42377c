//! `format(fmt, …)` (Metabase) and `quote_ident`.

use std::sync::Arc;

use datafusion::arrow::array::{ArrayRef, StringBuilder};
use datafusion::arrow::datatypes::DataType;
use datafusion::common::{Result, ScalarValue, exec_err};
use datafusion::logical_expr::{
    ColumnarValue, ScalarFunctionArgs, ScalarUDFImpl, Signature, Volatility,
};

use super::{all_scalar, answer};

/// `format(fmt, arg, …)`: PostgreSQL's `%s` (text), `%I` (identifier),
/// `%L` (literal) and `%%`, each with an optional position (`%2$s`), `-`
/// flag and width.
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct Format {
    signature: Signature,
}

impl Format {
    pub fn new() -> Format {
        Format {
            signature: Signature::variadic_any(Volatility::Stable),
        }
    }
}

impl Default for Format {
    fn default() -> Self {
        Self::new()
    }
}

impl ScalarUDFImpl for Format {
    fn name(&self) -> &str {
        "format"
    }
    fn signature(&self) -> &Signature {
        &self.signature
    }
    fn return_type(&self, _: &[DataType]) -> Result<DataType> {
        Ok(DataType::Utf8)
    }
    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let rows = args.number_rows;
        let scalar = all_scalar(&args.args);
        let arrays: Vec<ArrayRef> = args
            .args
            .iter()
            .map(|a| a.to_array(rows))
            .collect::<Result<_>>()?;
        let mut out = StringBuilder::new();
        for row in 0..rows {
            let values = arrays
                .iter()
                .map(|a| ScalarValue::try_from_array(a, row).map(|v| text_of(&v)))
                .collect::<Result<Vec<_>>>()?;
            match values.split_first() {
                Some((Some(fmt), rest)) => out.append_value(format_text(fmt, rest)?),
                _ => out.append_null(),
            }
        }
        answer(Arc::new(out.finish()), scalar)
    }
}

/// A value as PostgreSQL writes it in text; NULL is `None`.
pub(super) fn text_of(v: &ScalarValue) -> Option<String> {
    if v.is_null() {
        return None;
    }
    Some(match v {
        ScalarValue::Utf8(Some(s))
        | ScalarValue::LargeUtf8(Some(s))
        | ScalarValue::Utf8View(Some(s)) => s.clone(),
        other => other.to_string(),
    })
}

pub(super) fn format_text(fmt: &str, args: &[Option<String>]) -> Result<String> {
    let mut out = String::with_capacity(fmt.len() + 16);
    let mut chars = fmt.chars().peekable();
    let mut next = 0usize;
    while let Some(ch) = chars.next() {
        if ch != '%' {
            out.push(ch);
            continue;
        }
        if chars.peek() == Some(&'%') {
            chars.next();
            out.push('%');
            continue;
        }
        let mut digits = String::new();
        while let Some(d) = chars.peek().filter(|d| d.is_ascii_digit()) {
            digits.push(*d);
            chars.next();
        }
        let mut position = None;
        if !digits.is_empty() && chars.peek() == Some(&'$') {
            chars.next();
            position = digits.parse::<usize>().ok().filter(|p| *p >= 1);
            if position.is_none() {
                return exec_err!("format: argument positions start at 1");
            }
            digits.clear();
        }
        let mut left = false;
        if digits.is_empty() {
            while chars.peek() == Some(&'-') {
                left = true;
                chars.next();
            }
            while let Some(d) = chars.peek().filter(|d| d.is_ascii_digit()) {
                digits.push(*d);
                chars.next();
            }
        }
        let width = digits.parse::<usize>().unwrap_or(0);
        let Some(kind) = chars.next() else {
            return exec_err!("format: unterminated format() type specifier");
        };
        let index = match position {
            Some(p) => p - 1,
            None => next,
        };
        next = index + 1;
        let Some(value) = args.get(index) else {
            return exec_err!("format: too few arguments");
        };
        let piece = match kind {
            's' => value.clone().unwrap_or_default(),
            'I' => match value {
                Some(v) => quote_ident(v),
                None => {
                    return exec_err!(
                        "format: null values cannot be formatted as an SQL identifier"
                    );
                }
            },
            'L' => match value {
                Some(v) => format!("'{}'", v.replace('\'', "''")),
                None => "NULL".to_string(),
            },
            other => return exec_err!("format: unrecognized format() type specifier \"{other}\""),
        };
        let pad = width.saturating_sub(piece.chars().count());
        if left {
            out.push_str(&piece);
            out.extend(std::iter::repeat_n(' ', pad));
        } else {
            out.extend(std::iter::repeat_n(' ', pad));
            out.push_str(&piece);
        }
    }
    Ok(out)
}

/// An identifier quoted when PostgreSQL would quote it.
pub fn quote_ident(s: &str) -> String {
    let bare = s
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_lowercase() || c == '_')
        && s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if bare {
        s.to_string()
    } else {
        format!("\"{}\"", s.replace('"', "\"\""))
    }
}
