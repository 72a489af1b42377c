//! PostgreSQL's text functions that DataFusion lacks or reads differently:
//! `quote_literal`, `quote_nullable`, `convert_from(bytea, 'UTF8')`,
//! `substring(text FROM pattern)` (the first match of a POSIX pattern, or
//! its first group), and the sets `string_to_table`,
//! `regexp_split_to_table` and `regexp_matches`, which are lists here and
//! become rows where PostgreSQL allows them ([`crate::pg_compat::compat`]
//! puts `unnest` around them in a select list).

use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, AsArray, ListBuilder, StringBuilder};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, Field};
use datafusion::common::Result;
use datafusion::logical_expr::{
    ColumnarValue, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature, TypeSignature,
    Volatility,
};
use regex::Regex;

use super::simple::{coercing, function};
use crate::sqlstate::{code, coded};

fn text_list() -> DataType {
    DataType::List(Arc::new(Field::new_list_field(DataType::Utf8, true)))
}

/// One text argument.
fn one_text(args: &[DataType]) -> Result<Vec<DataType>> {
    texts(args, 1..=1)
}

/// A text and a pattern or delimiter, and maybe flags.
fn two_or_three_texts(args: &[DataType]) -> Result<Vec<DataType>> {
    texts(args, 2..=3)
}

/// The arguments, `count` of them, as texts.
fn texts(args: &[DataType], count: std::ops::RangeInclusive<usize>) -> Result<Vec<DataType>> {
    if !count.contains(&args.len()) {
        return Err(coded(
            code::UNDEFINED_FUNCTION,
            "the function does not take this many arguments",
        ));
    }
    Ok(vec![DataType::Utf8; args.len()])
}

/// The functions of this module.
pub fn functions() -> Vec<ScalarUDF> {
    vec![
        coercing(
            "quote_literal",
            Volatility::Immutable,
            one_text,
            |_| Ok(DataType::Utf8),
            |args, _| quote(&args[0], false),
        ),
        coercing(
            "quote_nullable",
            Volatility::Immutable,
            one_text,
            |_| Ok(DataType::Utf8),
            |args, _| quote(&args[0], true),
        ),
        function(
            "convert_from",
            Signature::any(2, Volatility::Immutable),
            |_| Ok(DataType::Utf8),
            convert_from,
        ),
        coercing(
            "string_to_table",
            Volatility::Immutable,
            two_or_three_texts,
            |_| Ok(text_list()),
            string_to_table,
        ),
        coercing(
            "regexp_split_to_table",
            Volatility::Immutable,
            two_or_three_texts,
            |_| Ok(text_list()),
            |args, _| per_pattern(args, split),
        ),
        coercing(
            "regexp_matches",
            Volatility::Immutable,
            two_or_three_texts,
            |_| {
                Ok(DataType::List(Arc::new(Field::new_list_field(
                    text_list(),
                    true,
                ))))
            },
            regexp_matches,
        ),
    ]
}

/// `pg_bytea_in(text)`: PostgreSQL's `bytea` input, for `CAST(text AS
/// bytea)` — `\x616263` (hex) or the escape format (`a\\b\101`); Arrow's
/// cast takes the text's own bytes.
pub fn bytea_in() -> ScalarUDF {
    function(
        "pg_bytea_in",
        Signature::exact(vec![DataType::Utf8], Volatility::Immutable),
        |_| Ok(DataType::Binary),
        |args, _| {
            let mut out = datafusion::arrow::array::BinaryBuilder::new();
            for v in args[0].as_string::<i32>().iter() {
                match v {
                    None => out.append_null(),
                    Some(v) => out.append_value(bytea(v)?),
                }
            }
            Ok(Arc::new(out.finish()))
        },
    )
}

fn bytea(text: &str) -> Result<Vec<u8>> {
    let invalid = || {
        coded(
            code::INVALID_TEXT_REPRESENTATION,
            "invalid input syntax for type bytea",
        )
    };
    if let Some(hex) = text
        .strip_prefix("\\x")
        .or_else(|| text.strip_prefix("\\X"))
    {
        let digits: String = hex.chars().filter(|c| !c.is_whitespace()).collect();
        return hex::decode(digits).map_err(|_| invalid());
    }
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] != b'\\' {
            out.push(bytes[i]);
            i += 1;
        } else if bytes.get(i + 1) == Some(&b'\\') {
            out.push(b'\\');
            i += 2;
        } else {
            let octal = bytes.get(i + 1..i + 4).ok_or_else(invalid)?;
            if !octal.iter().all(|b| (b'0'..=b'7').contains(b)) || octal[0] > b'3' {
                return Err(invalid());
            }
            out.push(octal.iter().fold(0u8, |n, d| n * 8 + (d - b'0')));
            i += 4;
        }
    }
    Ok(out)
}

/// `quote_literal`: the text as an SQL string constant (`E'…'` when it
/// holds a backslash); `quote_nullable` writes NULL as `NULL`.
fn quote(array: &ArrayRef, nullable: bool) -> Result<ArrayRef> {
    let mut out = StringBuilder::new();
    for v in array.as_string::<i32>().iter() {
        match v {
            None if nullable => out.append_value("NULL"),
            None => out.append_null(),
            Some(v) => {
                let body = v.replace('\'', "''");
                if v.contains('\\') {
                    out.append_value(format!("E'{}'", body.replace('\\', "\\\\")));
                } else {
                    out.append_value(format!("'{body}'"));
                }
            }
        }
    }
    Ok(Arc::new(out.finish()))
}

fn convert_from(args: &[ArrayRef], _: &DataType) -> Result<ArrayRef> {
    let bytes = cast(&args[0], &DataType::Binary)?;
    let encodings = cast(&args[1], &DataType::Utf8)?;
    let encodings = encodings.as_string::<i32>();
    let mut out = StringBuilder::new();
    for (row, b) in bytes.as_binary::<i32>().iter().enumerate() {
        let Some(b) = b else {
            out.append_null();
            continue;
        };
        let name = encodings
            .value(row)
            .to_ascii_uppercase()
            .replace(['-', '_'], "");
        let encoding = match name.as_str() {
            "UTF8" | "UNICODE" | "SQLASCII" => encoding_rs::UTF_8,
            "WIN1251" | "WINDOWS1251" => encoding_rs::WINDOWS_1251,
            "KOI8R" => encoding_rs::KOI8_R,
            "LATIN1" => encoding_rs::WINDOWS_1252,
            _ => {
                return Err(coded(
                    code::INVALID_PARAMETER_VALUE,
                    format!("invalid source encoding name \"{}\"", encodings.value(row)),
                ));
            }
        };
        let (text, _, bad) = encoding.decode(b);
        if bad {
            return Err(coded(
                code::CHARACTER_NOT_IN_REPERTOIRE,
                format!("invalid byte sequence for encoding \"{name}\""),
            ));
        }
        out.append_value(text);
    }
    Ok(Arc::new(out.finish()))
}

fn string_to_table(args: &[ArrayRef], _: &DataType) -> Result<ArrayRef> {
    let text = args[0].as_string::<i32>();
    let delimiter = args[1].as_string::<i32>();
    let null = args.get(2).map(|a| a.as_string::<i32>());
    let mut out = ListBuilder::new(StringBuilder::new());
    for row in 0..text.len() {
        if text.is_null(row) {
            out.append_null();
            continue;
        }
        let t = text.value(row);
        // A NULL delimiter splits into characters, an empty one not at all.
        let items: Vec<&str> = if t.is_empty() {
            vec![]
        } else if delimiter.is_null(row) {
            t.char_indices()
                .map(|(i, c)| &t[i..i + c.len_utf8()])
                .collect()
        } else if delimiter.value(row).is_empty() {
            vec![t]
        } else {
            t.split(delimiter.value(row)).collect()
        };
        for item in items {
            let is_null = null.is_some_and(|n| !n.is_null(row) && n.value(row) == item);
            out.values().append_option((!is_null).then_some(item));
        }
        out.append(true);
    }
    Ok(Arc::new(out.finish()))
}

/// A POSIX pattern with PostgreSQL's flags (`i`, `g` is the caller's).
fn pattern(p: &str, flags: &str) -> Result<Regex> {
    let mut builder = regex::RegexBuilder::new(p);
    for f in flags.chars() {
        match f {
            'i' => {
                builder.case_insensitive(true);
            }
            'c' | 'g' => {}
            'n' | 'm' => {
                builder.multi_line(true);
            }
            's' => {
                builder.dot_matches_new_line(true);
            }
            'x' => {
                builder.ignore_whitespace(true);
            }
            other => {
                return Err(coded(
                    code::INVALID_PARAMETER_VALUE,
                    format!("invalid regular expression option: \"{other}\""),
                ));
            }
        }
    }
    builder.build().map_err(|e| {
        coded(
            code::INVALID_REGULAR_EXPRESSION,
            format!("invalid regular expression: {e}"),
        )
    })
}

fn split(re: &Regex, text: &str, out: &mut ListBuilder<StringBuilder>) {
    // PostgreSQL ignores empty matches at the start and end and splits
    // between characters on an empty match.
    let mut start = 0;
    for m in re.find_iter(text) {
        if m.start() == m.end() && (m.start() == 0 || m.start() >= text.len()) {
            continue;
        }
        out.values().append_value(&text[start..m.start()]);
        start = m.end();
    }
    out.values().append_value(&text[start..]);
}

/// Runs `each` per row with the row's compiled pattern (compiled once when
/// the pattern and flags are constants).
fn per_pattern(
    args: &[ArrayRef],
    each: fn(&Regex, &str, &mut ListBuilder<StringBuilder>),
) -> Result<ArrayRef> {
    let text = args[0].as_string::<i32>();
    let patterns = args[1].as_string::<i32>();
    let flags = args.get(2).map(|a| a.as_string::<i32>());
    let mut out = ListBuilder::new(StringBuilder::new());
    let mut compiled: Option<(String, String, Regex)> = None;
    for row in 0..text.len() {
        let flag = flags.map_or(Some(""), |f| (!f.is_null(row)).then(|| f.value(row)));
        let (false, false, Some(flag)) = (text.is_null(row), patterns.is_null(row), flag) else {
            out.append_null();
            continue;
        };
        let p = patterns.value(row);
        if compiled
            .as_ref()
            .is_none_or(|(cp, cf, _)| cp != p || cf != flag)
        {
            compiled = Some((p.to_string(), flag.to_string(), pattern(p, flag)?));
        }
        if let Some((_, _, re)) = &compiled {
            each(re, text.value(row), &mut out);
        }
        out.append(true);
    }
    Ok(Arc::new(out.finish()))
}

/// `regexp_matches(text, pattern[, flags])`: each match (every one with
/// `g`, else the first) as the list of its groups (or of the whole match).
fn regexp_matches(args: &[ArrayRef], _: &DataType) -> Result<ArrayRef> {
    let text = args[0].as_string::<i32>();
    let patterns = args[1].as_string::<i32>();
    let flags = args.get(2).map(|a| a.as_string::<i32>());
    let mut out = ListBuilder::new(ListBuilder::new(StringBuilder::new()));
    for row in 0..text.len() {
        let flag = flags.map_or(Some(""), |f| (!f.is_null(row)).then(|| f.value(row)));
        let (false, false, Some(flag)) = (text.is_null(row), patterns.is_null(row), flag) else {
            out.append_null();
            continue;
        };
        let re = pattern(patterns.value(row), flag)?;
        let t = text.value(row);
        for captures in re.captures_iter(t) {
            let groups = out.values();
            if captures.len() == 1 {
                groups
                    .values()
                    .append_option(captures.get(0).map(|m| m.as_str()));
            } else {
                for g in captures.iter().skip(1) {
                    groups.values().append_option(g.map(|m| m.as_str()));
                }
            }
            groups.append(true);
            if !flag.contains('g') {
                break;
            }
        }
        out.append(true);
    }
    Ok(Arc::new(out.finish()))
}

/// `substring`: PostgreSQL's `substring(text FROM pattern)` (a text second
/// argument; [`crate::pg_compat::compat`] writes the SQL form as this call)
/// is the first match of the POSIX pattern, or of its first parenthesized
/// group; positions and lengths are DataFusion's `substr`.
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct PgSubstr {
    inner: Arc<ScalarUDF>,
    signature: Signature,
    /// DataFusion's `substr` is also registered as `substring`: taking its
    /// name too leaves no copy of it that a rebuilt session state could
    /// put back under `substring`.
    aliases: Vec<String>,
}

impl PgSubstr {
    pub fn new() -> Self {
        Self {
            inner: datafusion::functions::unicode::substr(),
            signature: Signature::new(TypeSignature::UserDefined, Volatility::Immutable),
            aliases: vec!["substr".to_string()],
        }
    }
}

impl Default for PgSubstr {
    fn default() -> Self {
        Self::new()
    }
}

fn is_text(t: &DataType) -> bool {
    matches!(t, DataType::Utf8 | DataType::Utf8View | DataType::LargeUtf8)
}

impl ScalarUDFImpl for PgSubstr {
    fn name(&self) -> &str {
        "substring"
    }
    fn aliases(&self) -> &[String] {
        &self.aliases
    }
    fn signature(&self) -> &Signature {
        &self.signature
    }
    fn coerce_types(&self, args: &[DataType]) -> Result<Vec<DataType>> {
        if let [_, p] = args
            && is_text(p)
        {
            return Ok(vec![DataType::Utf8, DataType::Utf8]);
        }
        let fields: Vec<_> = args
            .iter()
            .map(|t| Arc::new(Field::new("a", t.clone(), true)))
            .collect();
        let coerced = datafusion::logical_expr::type_coercion::functions::fields_with_udf(
            &fields,
            self.inner.as_ref(),
        )?;
        Ok(coerced.iter().map(|f| f.data_type().clone()).collect())
    }
    fn return_type(&self, args: &[DataType]) -> Result<DataType> {
        if let [_, p] = args
            && is_text(p)
        {
            return Ok(DataType::Utf8);
        }
        self.inner.return_type(args)
    }
    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        if let [_, p] = args.arg_fields.as_slice()
            && is_text(p.data_type())
        {
            let scalar = super::all_scalar(&args.args);
            let arrays = args
                .args
                .iter()
                .map(|a| a.to_array(args.number_rows))
                .collect::<Result<Vec<_>>>()?;
            let matches = per_pattern(&arrays, first_match)?;
            let list = matches.as_list::<i32>();
            let mut out = StringBuilder::new();
            for row in 0..list.len() {
                if list.is_null(row) || list.value(row).is_empty() {
                    out.append_null();
                } else {
                    let items = list.value(row);
                    let items = items.as_string::<i32>();
                    out.append_option((!items.is_null(0)).then(|| items.value(0)));
                }
            }
            return super::answer(Arc::new(out.finish()), scalar);
        }
        self.inner.invoke_with_args(args)
    }
}

/// The first match (or its first group) as a one-item list; empty without
/// a match.
fn first_match(re: &Regex, text: &str, out: &mut ListBuilder<StringBuilder>) {
    if let Some(c) = re.captures(text) {
        let m = if c.len() > 1 { c.get(1) } else { c.get(0) };
        out.values().append_option(m.map(|m| m.as_str()));
    }
}
