//! `pg_array_in(text)`: PostgreSQL's array input, `'{a,"b c",NULL}'`, as a
//! list of texts, for `CAST(text AS T[])` (which then casts the items to
//! `T`). Arrow's own cast would make the whole text one item.

use std::sync::Arc;

use datafusion::arrow::array::{AsArray, ListBuilder, StringBuilder};
use datafusion::arrow::datatypes::{DataType, Field};
use datafusion::common::Result;
use datafusion::logical_expr::{
    ColumnarValue, ScalarFunctionArgs, ScalarUDFImpl, Signature, Volatility,
};

use crate::sqlstate::{code, coded};

/// `pg_array_in(text)`.
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct PgArrayIn {
    signature: Signature,
}

impl PgArrayIn {
    pub fn new() -> Self {
        Self {
            signature: Signature::exact(vec![DataType::Utf8], Volatility::Immutable),
        }
    }
}

impl Default for PgArrayIn {
    fn default() -> Self {
        Self::new()
    }
}

impl ScalarUDFImpl for PgArrayIn {
    fn name(&self) -> &str {
        "pg_array_in"
    }
    fn signature(&self) -> &Signature {
        &self.signature
    }
    fn return_type(&self, _: &[DataType]) -> Result<DataType> {
        Ok(DataType::List(Arc::new(Field::new_list_field(
            DataType::Utf8,
            true,
        ))))
    }
    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let scalar = super::all_scalar(&args.args);
        let array = args.args[0].to_array(args.number_rows)?;
        let texts = array.as_string::<i32>();
        let mut out = ListBuilder::new(StringBuilder::new());
        for text in texts.iter() {
            match text {
                None => out.append_null(),
                Some(text) => {
                    for item in items(text)? {
                        out.values().append_option(item);
                    }
                    out.append(true);
                }
            }
        }
        super::answer(Arc::new(out.finish()), scalar)
    }
}

/// The items of a one-dimensional array literal; `None` for `NULL`.
pub fn items(text: &str) -> Result<Vec<Option<String>>> {
    let malformed = |detail: &str| {
        coded(
            code::INVALID_TEXT_REPRESENTATION,
            format!("malformed array literal: \"{text}\" ({detail})"),
        )
    };
    let body = text.trim();
    let Some(body) = body.strip_prefix('{').and_then(|b| b.strip_suffix('}')) else {
        return Err(malformed(
            "array value must start with \"{\" and end with \"}\"",
        ));
    };
    let mut out = Vec::new();
    if body.trim().is_empty() {
        return Ok(out);
    }
    let mut chars = body.chars().peekable();
    loop {
        while chars.peek().is_some_and(|c| c.is_whitespace()) {
            chars.next();
        }
        let mut item = String::new();
        let mut quoted = false;
        match chars.peek() {
            Some('{') => {
                return Err(coded(
                    code::FEATURE_NOT_SUPPORTED,
                    "multidimensional arrays are not supported",
                ));
            }
            Some('"') => {
                quoted = true;
                chars.next();
                loop {
                    match chars.next() {
                        Some('\\') => match chars.next() {
                            Some(c) => item.push(c),
                            None => return Err(malformed("unexpected end of input")),
                        },
                        Some('"') => break,
                        Some(c) => item.push(c),
                        None => return Err(malformed("unexpected end of input")),
                    }
                }
                while chars.peek().is_some_and(|c| c.is_whitespace()) {
                    chars.next();
                }
            }
            _ => {
                while let Some(&c) = chars.peek() {
                    if c == ',' {
                        break;
                    }
                    if matches!(c, '{' | '}' | '"') {
                        return Err(malformed("unexpected character"));
                    }
                    chars.next();
                    if c == '\\' {
                        match chars.next() {
                            Some(c) => item.push(c),
                            None => return Err(malformed("unexpected end of input")),
                        }
                    } else {
                        item.push(c);
                    }
                }
                let trimmed = item.trim_end().to_string();
                item = trimmed;
                if item.is_empty() {
                    return Err(malformed("unexpected \",\" character"));
                }
            }
        }
        if !quoted && item.eq_ignore_ascii_case("null") {
            out.push(None);
        } else {
            out.push(Some(item));
        }
        match chars.next() {
            None => return Ok(out),
            Some(',') => continue,
            Some(_) => return Err(malformed("unexpected character")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::items;

    fn s(v: &str) -> Option<String> {
        Some(v.to_string())
    }

    #[test]
    fn reads_postgresql_array_literals() {
        assert_eq!(items("{a,b}").unwrap(), vec![s("a"), s("b")]);
        assert_eq!(items("{}").unwrap(), vec![]);
        assert_eq!(
            items(r#"{ "b c" , NULL,"NULL", x\,y ,"q\"t"}"#).unwrap(),
            vec![s("b c"), None, s("NULL"), s("x,y"), s("q\"t")]
        );
        assert_eq!(items(" {1, 2 ,3} ").unwrap(), vec![s("1"), s("2"), s("3")]);
        for bad in ["a,b", "{a,,b}", "{a", "{\"a}", "{a\"b}", "{a,}"] {
            assert!(items(bad).is_err(), "{bad}");
        }
        assert!(items("{{1,2},{3,4}}").is_err());
    }
}
