//! JSON text as PostgreSQL 15 reads, compares and writes it.
//!
//! One small parser (the grammar of PostgreSQL's `common/jsonapi.c`) gives
//! a tree in which every node keeps its source text, every number its
//! digits as written and every object all its members in order: `json`
//! operators answer with the source text of a part (`'{"a": [1,  2]}'::json
//! -> 'a'` is `[1,  2]`), `jsonb` is the tree in canonical form
//! ([`canonical`]: keys ordered by length then bytes, the last of duplicate
//! keys kept) written by [`write_jsonb`] with numbers as `numeric` prints
//! them. serde_json is not used here: without its `arbitrary_precision`
//! and `raw_value` features (which would change it for every crate of the
//! build) it reads numbers as `f64` and keeps no source text.

use std::borrow::Cow;
use std::cmp::Ordering;

use datafusion::common::DataFusionError;

use crate::sqlstate::{code, coded};

/// Nesting deeper than this is refused (PostgreSQL refuses deep nesting
/// too, at its stack depth limit); it keeps the recursive parser and
/// writers inside a thread's stack.
pub const MAX_DEPTH: usize = 1000;

/// The largest `numeric` scale (digits after the point), PostgreSQL's
/// `NUMERIC_DSCALE_MAX`.
const MAX_SCALE: i64 = 16383;
/// The most digits before the point a `numeric` holds (weight 32767 in
/// base-10000 digits).
const MAX_INTEGER_DIGITS: i64 = 131_072;

/// Why a JSON text or operation is refused, each with PostgreSQL's
/// SQLSTATE and message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JsonError {
    /// 22P02 `invalid input syntax for type json`.
    Syntax,
    /// 22P05 `unsupported Unicode escape sequence` (`\u0000` as text).
    NulEscape,
    /// 22003 `value overflows numeric format`.
    Overflow,
    /// 22P02 for an exponent PostgreSQL's `numeric` cannot read.
    NumericSyntax,
    /// 54001 `stack depth limit exceeded`.
    TooDeep,
}

impl JsonError {
    /// The error as a DataFusion error carrying its SQLSTATE.
    pub fn into_error(self) -> DataFusionError {
        match self {
            JsonError::Syntax => coded(
                code::INVALID_TEXT_REPRESENTATION,
                "invalid input syntax for type json",
            ),
            JsonError::NulEscape => coded("22P05", "unsupported Unicode escape sequence"),
            JsonError::Overflow => coded(
                code::NUMERIC_VALUE_OUT_OF_RANGE,
                "value overflows numeric format",
            ),
            JsonError::NumericSyntax => coded(
                code::INVALID_TEXT_REPRESENTATION,
                "invalid input syntax for type numeric",
            ),
            JsonError::TooDeep => coded(code::STATEMENT_TOO_COMPLEX, "stack depth limit exceeded"),
        }
    }
}

impl From<JsonError> for DataFusionError {
    fn from(e: JsonError) -> Self {
        e.into_error()
    }
}

/// A parsed value.
#[derive(Debug, Clone, PartialEq)]
pub enum Value<'a> {
    Null,
    Bool(bool),
    /// The number's text as written (valid JSON number syntax).
    Number(Cow<'a, str>),
    /// The string, unescaped.
    String(Cow<'a, str>),
    Array(Vec<Node<'a>>),
    /// Members in order, duplicates included (until [`canonical`]).
    Object(Vec<(Cow<'a, str>, Node<'a>)>),
}

/// A value and the text it was read from (empty for built values).
#[derive(Debug, Clone, PartialEq)]
pub struct Node<'a> {
    pub value: Value<'a>,
    pub text: &'a str,
}

impl<'a> Node<'a> {
    /// A value with no source text.
    pub fn built(value: Value<'a>) -> Node<'a> {
        Node { value, text: "" }
    }

    /// PostgreSQL's `json_typeof` name of the value.
    pub fn type_name(&self) -> &'static str {
        match self.value {
            Value::Null => "null",
            Value::Bool(_) => "boolean",
            Value::Number(_) => "number",
            Value::String(_) => "string",
            Value::Array(_) => "array",
            Value::Object(_) => "object",
        }
    }

    /// The member `key` of an object: the last one of that name, as
    /// PostgreSQL's `->` answers for `json` with duplicate keys (a
    /// canonical `jsonb` object has one).
    pub fn get(&self, key: &str) -> Option<&Node<'a>> {
        match &self.value {
            Value::Object(members) => members.iter().rev().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    /// Element `index` of an array, counting from the end when negative.
    pub fn at(&self, index: i64) -> Option<&Node<'a>> {
        match &self.value {
            Value::Array(items) => {
                let len = items.len() as i64;
                let i = if index < 0 { len + index } else { index };
                (0..len).contains(&i).then(|| &items[i as usize])
            }
            _ => None,
        }
    }

    /// The node with borrowed parts copied, independent of the text it
    /// was read from.
    pub fn into_owned(self) -> Node<'static> {
        Node {
            text: "",
            value: match self.value {
                Value::Null => Value::Null,
                Value::Bool(b) => Value::Bool(b),
                Value::Number(n) => Value::Number(Cow::Owned(n.into_owned())),
                Value::String(s) => Value::String(Cow::Owned(s.into_owned())),
                Value::Array(items) => {
                    Value::Array(items.into_iter().map(Node::into_owned).collect())
                }
                Value::Object(members) => Value::Object(
                    members
                        .into_iter()
                        .map(|(k, v)| (Cow::Owned(k.into_owned()), v.into_owned()))
                        .collect(),
                ),
            },
        }
    }
}

/// Parses one JSON text (surrounding whitespace allowed), as `json_in`
/// does. `\u0000` is read as the character U+0000, which text cannot hold:
/// writing it as `jsonb` or as text is refused ([`JsonError::NulEscape`]).
pub fn parse(text: &str) -> Result<Node<'_>, JsonError> {
    let mut p = Parser {
        src: text,
        bytes: text.as_bytes(),
        pos: 0,
    };
    p.skip_ws();
    let node = p.value(0)?;
    p.skip_ws();
    if p.pos != p.bytes.len() {
        return Err(JsonError::Syntax);
    }
    Ok(node)
}

/// Parses a `jsonb` text: [`parse`], then [`canonical`].
pub fn parse_jsonb(text: &str) -> Result<Node<'_>, JsonError> {
    parse(text).map(canonical)
}

struct Parser<'a> {
    src: &'a str,
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Parser<'a> {
    /// PostgreSQL's JSON whitespace: space, tab, newline, carriage return.
    fn skip_ws(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.bytes.get(self.pos) {
            self.pos += 1;
        }
    }

    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.pos).copied()
    }

    fn value(&mut self, depth: usize) -> Result<Node<'a>, JsonError> {
        if depth > MAX_DEPTH {
            return Err(JsonError::TooDeep);
        }
        let start = self.pos;
        let value = match self.peek().ok_or(JsonError::Syntax)? {
            b'{' => {
                self.pos += 1;
                let mut members = Vec::new();
                self.skip_ws();
                if self.peek() == Some(b'}') {
                    self.pos += 1;
                } else {
                    loop {
                        self.skip_ws();
                        if self.peek() != Some(b'"') {
                            return Err(JsonError::Syntax);
                        }
                        let key = self.string()?;
                        self.skip_ws();
                        if self.peek() != Some(b':') {
                            return Err(JsonError::Syntax);
                        }
                        self.pos += 1;
                        self.skip_ws();
                        let v = self.value(depth + 1)?;
                        members.push((key, v));
                        self.skip_ws();
                        match self.peek() {
                            Some(b',') => self.pos += 1,
                            Some(b'}') => {
                                self.pos += 1;
                                break;
                            }
                            _ => return Err(JsonError::Syntax),
                        }
                    }
                }
                Value::Object(members)
            }
            b'[' => {
                self.pos += 1;
                let mut items = Vec::new();
                self.skip_ws();
                if self.peek() == Some(b']') {
                    self.pos += 1;
                } else {
                    loop {
                        self.skip_ws();
                        items.push(self.value(depth + 1)?);
                        self.skip_ws();
                        match self.peek() {
                            Some(b',') => self.pos += 1,
                            Some(b']') => {
                                self.pos += 1;
                                break;
                            }
                            _ => return Err(JsonError::Syntax),
                        }
                    }
                }
                Value::Array(items)
            }
            b'"' => Value::String(self.string()?),
            b'-' | b'0'..=b'9' => Value::Number(Cow::Borrowed(self.number()?)),
            _ => {
                // A keyword: the whole alphanumeric token must be one.
                let end = self.bytes[self.pos..]
                    .iter()
                    .position(|b| !(b.is_ascii_alphanumeric() || *b == b'_'))
                    .map_or(self.bytes.len(), |n| self.pos + n);
                let value = match &self.src[self.pos..end] {
                    "true" => Value::Bool(true),
                    "false" => Value::Bool(false),
                    "null" => Value::Null,
                    _ => return Err(JsonError::Syntax),
                };
                self.pos = end;
                value
            }
        };
        Ok(Node {
            value,
            text: &self.src[start..self.pos],
        })
    }

    /// `-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?`, not followed by a
    /// letter or digit.
    fn number(&mut self) -> Result<&'a str, JsonError> {
        let start = self.pos;
        let digits = |p: &mut Parser| {
            let from = p.pos;
            while p.peek().is_some_and(|b| b.is_ascii_digit()) {
                p.pos += 1;
            }
            p.pos - from
        };
        if self.peek() == Some(b'-') {
            self.pos += 1;
        }
        match self.peek() {
            Some(b'0') => self.pos += 1,
            Some(b'1'..=b'9') => {
                digits(self);
            }
            _ => return Err(JsonError::Syntax),
        }
        if self.peek() == Some(b'.') {
            self.pos += 1;
            if digits(self) == 0 {
                return Err(JsonError::Syntax);
            }
        }
        if let Some(b'e' | b'E') = self.peek() {
            self.pos += 1;
            if let Some(b'+' | b'-') = self.peek() {
                self.pos += 1;
            }
            if digits(self) == 0 {
                return Err(JsonError::Syntax);
            }
        }
        if self
            .peek()
            .is_some_and(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'.')
        {
            return Err(JsonError::Syntax);
        }
        Ok(&self.src[start..self.pos])
    }

    /// A string token at `"`; its value unescaped.
    fn string(&mut self) -> Result<Cow<'a, str>, JsonError> {
        self.pos += 1;
        let start = self.pos;
        // The common case: no escapes, borrowed.
        while let Some(b) = self.peek() {
            match b {
                b'"' => {
                    let s = &self.src[start..self.pos];
                    self.pos += 1;
                    return Ok(Cow::Borrowed(s));
                }
                b'\\' => break,
                0..=0x1f => return Err(JsonError::Syntax),
                _ => self.pos += 1,
            }
        }
        let mut out = String::from(&self.src[start..self.pos]);
        loop {
            let b = self.peek().ok_or(JsonError::Syntax)?;
            match b {
                b'"' => {
                    self.pos += 1;
                    return Ok(Cow::Owned(out));
                }
                0..=0x1f => return Err(JsonError::Syntax),
                b'\\' => {
                    self.pos += 1;
                    let e = self.peek().ok_or(JsonError::Syntax)?;
                    self.pos += 1;
                    match e {
                        b'"' => out.push('"'),
                        b'\\' => out.push('\\'),
                        b'/' => out.push('/'),
                        b'b' => out.push('\u{8}'),
                        b'f' => out.push('\u{c}'),
                        b'n' => out.push('\n'),
                        b'r' => out.push('\r'),
                        b't' => out.push('\t'),
                        b'u' => {
                            let first = self.hex4()?;
                            let c = match first {
                                0xD800..=0xDBFF => {
                                    // A high surrogate: a low one must follow.
                                    if self.bytes.get(self.pos..self.pos + 2) != Some(b"\\u") {
                                        return Err(JsonError::Syntax);
                                    }
                                    self.pos += 2;
                                    let low = self.hex4()?;
                                    if !(0xDC00..=0xDFFF).contains(&low) {
                                        return Err(JsonError::Syntax);
                                    }
                                    0x10000 + ((first - 0xD800) << 10) + (low - 0xDC00)
                                }
                                0xDC00..=0xDFFF => return Err(JsonError::Syntax),
                                c => c,
                            };
                            out.push(char::from_u32(c).ok_or(JsonError::Syntax)?);
                        }
                        _ => return Err(JsonError::Syntax),
                    }
                }
                _ => {
                    // Copy up to the next quote, backslash or control byte
                    // (all ASCII, so the slice ends on a char boundary).
                    let from = self.pos;
                    while self
                        .peek()
                        .is_some_and(|b| b != b'"' && b != b'\\' && b >= 0x20)
                    {
                        self.pos += 1;
                    }
                    out.push_str(&self.src[from..self.pos]);
                }
            }
        }
    }

    fn hex4(&mut self) -> Result<u32, JsonError> {
        let hex = self
            .src
            .get(self.pos..self.pos + 4)
            .ok_or(JsonError::Syntax)?;
        if !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(JsonError::Syntax);
        }
        self.pos += 4;
        u32::from_str_radix(hex, 16).map_err(|_| JsonError::Syntax)
    }
}

/// `jsonb`'s form of a value: every object's keys ordered by length, then
/// bytes, and of duplicate keys only the last kept.
pub fn canonical(node: Node<'_>) -> Node<'_> {
    let value = match node.value {
        Value::Array(items) => Value::Array(items.into_iter().map(canonical).collect()),
        Value::Object(members) => {
            let mut members: Vec<_> = members
                .into_iter()
                .map(|(k, v)| (k, canonical(v)))
                .collect();
            // Stable: equal keys stay in input order, the last one wins.
            members.sort_by(|a, b| key_order(&a.0, &b.0));
            let mut kept: Vec<(Cow<'_, str>, Node<'_>)> = Vec::with_capacity(members.len());
            for (k, v) in members {
                match kept.last_mut() {
                    Some(last) if last.0 == k => last.1 = v,
                    _ => kept.push((k, v)),
                }
            }
            Value::Object(kept)
        }
        other => other,
    };
    Node {
        value,
        text: node.text,
    }
}

/// The order of `jsonb` object keys: shorter first, then by bytes.
pub fn key_order(a: &str, b: &str) -> Ordering {
    a.len()
        .cmp(&b.len())
        .then_with(|| a.as_bytes().cmp(b.as_bytes()))
}

/// Writes `s` as a JSON string literal, escaped as PostgreSQL's
/// `escape_json` does.
pub fn write_string(s: &str, out: &mut String) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
}

/// A string's value as text: refused when it holds U+0000 (`\u0000`).
pub fn text_of(s: &str) -> Result<&str, JsonError> {
    if s.contains('\0') {
        Err(JsonError::NulEscape)
    } else {
        Ok(s)
    }
}

/// Writes a (canonical) value as `jsonb` prints it: `", "` between items,
/// `": "` after keys, numbers as `numeric` prints them.
pub fn write_jsonb(node: &Node<'_>, out: &mut String) -> Result<(), JsonError> {
    match &node.value {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => out.push_str(&numeric_text(n)?),
        Value::String(s) => write_string(text_of(s)?, out),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                write_jsonb(item, out)?;
            }
            out.push(']');
        }
        Value::Object(members) => {
            out.push('{');
            for (i, (k, v)) in members.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                write_string(text_of(k)?, out);
                out.push_str(": ");
                write_jsonb(v, out)?;
            }
            out.push('}');
        }
    }
    Ok(())
}

/// A (canonical) value as `jsonb` text.
pub fn jsonb_text(node: &Node<'_>) -> Result<String, JsonError> {
    let mut out = String::new();
    write_jsonb(node, &mut out)?;
    Ok(out)
}

/// `jsonb_pretty`: four spaces a level, one item a line.
pub fn write_pretty(node: &Node<'_>, level: usize, out: &mut String) -> Result<(), JsonError> {
    let indent = |out: &mut String, level: usize| {
        for _ in 0..level {
            out.push_str("    ");
        }
    };
    match &node.value {
        Value::Array(items) if !items.is_empty() => {
            out.push_str("[\n");
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(",\n");
                }
                indent(out, level + 1);
                write_pretty(item, level + 1, out)?;
            }
            out.push('\n');
            indent(out, level);
            out.push(']');
        }
        Value::Object(members) if !members.is_empty() => {
            out.push_str("{\n");
            for (i, (k, v)) in members.iter().enumerate() {
                if i > 0 {
                    out.push_str(",\n");
                }
                indent(out, level + 1);
                write_string(text_of(k)?, out);
                out.push_str(": ");
                write_pretty(v, level + 1, out)?;
            }
            out.push('\n');
            indent(out, level);
            out.push('}');
        }
        // An empty container opens and closes on two lines.
        Value::Array(_) => {
            out.push_str("[\n");
            indent(out, level);
            out.push(']');
        }
        Value::Object(_) => {
            out.push_str("{\n");
            indent(out, level);
            out.push('}');
        }
        _ => write_jsonb(node, out)?,
    }
    Ok(())
}

/// A JSON number read as PostgreSQL's `numeric`: sign, significant digits
/// (no leading or trailing zeros; none for zero), and the position of the
/// point from the first of them (`12.5` is `125` with point 2, `0.05` is
/// `5` with point -1), plus the scale it prints with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Numeric {
    pub negative: bool,
    pub digits: String,
    pub point: i64,
    pub scale: i64,
}

impl Numeric {
    /// Reads a number in JSON syntax, within `numeric`'s limits.
    pub fn parse(text: &str) -> Result<Numeric, JsonError> {
        let (negative, rest) = match text.strip_prefix('-') {
            Some(r) => (true, r),
            None => (false, text),
        };
        let (mantissa, exponent) = match rest.find(['e', 'E']) {
            Some(i) => (&rest[..i], &rest[i + 1..]),
            None => (rest, "0"),
        };
        // numeric_in refuses exponents beyond ±INT_MAX / 2.
        let exponent: i64 = exponent
            .parse::<i64>()
            .ok()
            .filter(|e| e.abs() < i64::from(i32::MAX / 2))
            .ok_or(JsonError::NumericSyntax)?;
        let (int, frac) = mantissa.split_once('.').unwrap_or((mantissa, ""));
        if int.is_empty() || !int.bytes().chain(frac.bytes()).all(|b| b.is_ascii_digit()) {
            return Err(JsonError::Syntax);
        }
        let scale = (frac.len() as i64 - exponent).max(0);
        if scale > MAX_SCALE {
            return Err(JsonError::Overflow);
        }
        let all = format!("{int}{frac}");
        let lead = all.bytes().take_while(|b| *b == b'0').count();
        let significant = all[lead..].trim_end_matches('0');
        if significant.is_empty() {
            return Ok(Numeric {
                negative: false,
                digits: String::new(),
                point: 0,
                scale,
            });
        }
        let point = int.len() as i64 + exponent - lead as i64;
        if point > MAX_INTEGER_DIGITS {
            return Err(JsonError::Overflow);
        }
        Ok(Numeric {
            negative,
            digits: significant.to_string(),
            point,
            scale,
        })
    }

    /// `numeric_out`: plain digits, `scale` of them after the point.
    pub fn text(&self) -> String {
        let mut out = String::new();
        if self.negative {
            out.push('-');
        }
        let digit = |i: i64| -> char {
            usize::try_from(i)
                .ok()
                .and_then(|i| self.digits.as_bytes().get(i))
                .map_or('0', |b| *b as char)
        };
        if self.point <= 0 {
            out.push('0');
        } else {
            for i in 0..self.point {
                out.push(digit(i));
            }
        }
        if self.scale > 0 {
            out.push('.');
            for i in 0..self.scale {
                out.push(digit(self.point + i));
            }
        }
        out
    }

    /// Numeric order (scale aside: `1` equals `1.0`).
    pub fn cmp_value(&self, other: &Numeric) -> Ordering {
        let sign = |n: &Numeric| {
            if n.digits.is_empty() {
                0
            } else if n.negative {
                -1
            } else {
                1
            }
        };
        let (a, b) = (sign(self), sign(other));
        if a != b || a == 0 {
            return a.cmp(&b);
        }
        let magnitude = self
            .point
            .cmp(&other.point)
            .then_with(|| self.digits.cmp(&other.digits));
        if a < 0 {
            magnitude.reverse()
        } else {
            magnitude
        }
    }
}

/// A JSON number as `numeric` prints it (`1.0e1` is `10`, `1E-2` is
/// `0.01`, `-0` is `0`).
pub fn numeric_text(text: &str) -> Result<String, JsonError> {
    Numeric::parse(text).map(|n| n.text())
}

/// The order of `jsonb` values (PostgreSQL's `compareJsonbContainers`):
/// by type (null < string < number < boolean < array < object), arrays
/// by length then items, objects by size then keys and values in
/// storage order; numbers by value, strings by bytes. A top-level
/// scalar is a one-item "raw scalar" array, which sorts before a real
/// array of one item (so `[] < null` at the top).
pub fn compare(a: &Node<'_>, b: &Node<'_>) -> Ordering {
    let a_raw = !matches!(a.value, Value::Array(_) | Value::Object(_));
    let b_raw = !matches!(b.value, Value::Array(_) | Value::Object(_));
    match (&a.value, &b.value) {
        (_, Value::Array(items)) if a_raw => {
            // Pseudo array [a] against a real array.
            let by_kind = Ordering::Less;
            match 1.cmp(&items.len()) {
                Ordering::Equal => by_kind,
                other => other,
            }
        }
        (Value::Array(items), _) if b_raw => match items.len().cmp(&1) {
            Ordering::Equal => Ordering::Greater,
            other => other,
        },
        _ => compare_values(a, b),
    }
}

fn rank(v: &Value<'_>) -> u8 {
    match v {
        Value::Null => 0,
        Value::String(_) => 1,
        Value::Number(_) => 2,
        Value::Bool(_) => 3,
        Value::Array(_) => 4,
        Value::Object(_) => 5,
    }
}

fn compare_values(a: &Node<'_>, b: &Node<'_>) -> Ordering {
    match (&a.value, &b.value) {
        (Value::Null, Value::Null) => Ordering::Equal,
        (Value::String(x), Value::String(y)) => x.as_bytes().cmp(y.as_bytes()),
        (Value::Number(x), Value::Number(y)) => match (Numeric::parse(x), Numeric::parse(y)) {
            (Ok(x), Ok(y)) => x.cmp_value(&y),
            _ => x.cmp(y),
        },
        (Value::Bool(x), Value::Bool(y)) => x.cmp(y),
        (Value::Array(x), Value::Array(y)) => x.len().cmp(&y.len()).then_with(|| {
            x.iter()
                .zip(y)
                .map(|(p, q)| compare_values(p, q))
                .find(|o| o.is_ne())
                .unwrap_or(Ordering::Equal)
        }),
        (Value::Object(x), Value::Object(y)) => x.len().cmp(&y.len()).then_with(|| {
            x.iter()
                .zip(y)
                .map(|((kx, vx), (ky, vy))| {
                    kx.as_bytes()
                        .cmp(ky.as_bytes())
                        .then_with(|| compare_values(vx, vy))
                })
                .find(|o| o.is_ne())
                .unwrap_or(Ordering::Equal)
        }),
        (x, y) => rank(x).cmp(&rank(y)),
    }
}

/// Two scalars equal as `jsonb` compares them (numbers by value).
fn scalar_equal(a: &Value<'_>, b: &Value<'_>) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => match (Numeric::parse(x), Numeric::parse(y)) {
            (Ok(x), Ok(y)) => x.cmp_value(&y).is_eq(),
            _ => x == y,
        },
        (Value::Null, Value::Null) => true,
        (Value::Bool(x), Value::Bool(y)) => x == y,
        (Value::String(x), Value::String(y)) => x == y,
        _ => false,
    }
}

fn is_container(v: &Value<'_>) -> bool {
    matches!(v, Value::Array(_) | Value::Object(_))
}

/// `a @> b` on canonical `jsonb` values (PostgreSQL's
/// `JsonbDeepContains`): an object contains an object whose every key it
/// has with a contained value; an array contains an array (or, at the top,
/// a scalar) whose every item equals or is contained in one of its items;
/// a scalar contains an equal scalar.
pub fn contains(a: &Node<'_>, b: &Node<'_>) -> bool {
    let a_object = matches!(a.value, Value::Object(_));
    let b_object = matches!(b.value, Value::Object(_));
    if a_object != b_object {
        return false;
    }
    match (&a.value, &b.value) {
        (Value::Array(_), Value::Array(_)) | (Value::Object(_), Value::Object(_)) => {
            deep_contains(a, b)
        }
        // A top-level scalar is a one-item array: an array contains it
        // when it has it among its scalars; a scalar cannot contain an
        // array.
        (Value::Array(items), y) => items
            .iter()
            .any(|i| !is_container(&i.value) && scalar_equal(&i.value, y)),
        (_, Value::Array(_)) => false,
        (x, y) => scalar_equal(x, y),
    }
}

fn deep_contains(a: &Node<'_>, b: &Node<'_>) -> bool {
    match (&a.value, &b.value) {
        (Value::Object(have), Value::Object(want)) => {
            want.len() <= have.len()
                && want.iter().all(|(k, w)| match a.get(k) {
                    Some(h) => match (&h.value, &w.value) {
                        (Value::Object(_), Value::Object(_))
                        | (Value::Array(_), Value::Array(_)) => deep_contains(h, w),
                        (x, y) if !is_container(x) && !is_container(y) => scalar_equal(x, y),
                        _ => false,
                    },
                    None => false,
                })
        }
        (Value::Array(have), Value::Array(want)) => want.iter().all(|w| {
            if is_container(&w.value) {
                have.iter().any(|h| {
                    std::mem::discriminant(&h.value) == std::mem::discriminant(&w.value)
                        && deep_contains(h, w)
                })
            } else {
                have.iter()
                    .any(|h| !is_container(&h.value) && scalar_equal(&h.value, &w.value))
            }
        }),
        (x, y) => scalar_equal(x, y),
    }
}

/// `a ? key` on a `jsonb` value: an object's key, an array's string item,
/// or the string itself at the top.
pub fn exists(a: &Node<'_>, key: &str) -> bool {
    match &a.value {
        Value::Object(_) => a.get(key).is_some(),
        Value::Array(items) => items
            .iter()
            .any(|i| matches!(&i.value, Value::String(s) if s == key)),
        Value::String(s) => s == key,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn jsonb(text: &str) -> Result<String, JsonError> {
        jsonb_text(&parse_jsonb(text)?)
    }

    #[test]
    fn jsonb_is_written_as_postgresql_writes_it() {
        // Expected texts: PostgreSQL 15.18, `SELECT '<input>'::jsonb`.
        for (input, expected) in [
            (
                r#"{"b":1, "aa": [1,2, {"c":1.50e1}], "a": 2, "a": 3, "b": -0, "c": 1E-2, "d": 1.0e1, "e": 12345678901234567890123.456}"#,
                r#"{"a": 3, "b": 0, "c": 0.01, "d": 10, "e": 12345678901234567890123.456, "aa": [1, 2, {"c": 15.0}]}"#,
            ),
            (r#""\ud83d\ude00 \u00e9 \u001f \/""#, "\"😀 é \\u001f /\""),
            (r#""\uD83D\uDE00""#, "\"😀\""),
            ("  1.0e1 ", "10"),
            ("-0", "0"),
            ("-0.0", "0.0"),
            ("1E+2", "100"),
            ("0.000", "0.000"),
            ("1.5E-3", "0.0015"),
            ("100e-2", "1.00"),
            ("-1.23e5", "-123000"),
            ("0e5", "0"),
            ("0.00e1", "0.0"),
            ("-0e-3", "0.000"),
            (
                "100000000000000000000000000000e-30",
                "0.100000000000000000000000000000",
            ),
            ("0.0001e2", "0.01"),
            ("-12.3400e1", "-123.400"),
            (" [ ] ", "[]"),
            ("{}", "{}"),
            (r#"{"a":"x\ny"}"#, r#"{"a": "x\ny"}"#),
            ("[true,false,null]", "[true, false, null]"),
        ] {
            assert_eq!(jsonb(input).as_deref(), Ok(expected), "{input}");
        }
        assert_eq!(jsonb("1e131071").map(|s| s.len()), Ok(131_072));
        assert_eq!(jsonb("1e-16383").map(|s| s.len()), Ok(16_385));
    }

    #[test]
    fn refusals_are_postgresqls() {
        // PostgreSQL 15.18: 22P02 for each of these.
        for input in [
            r#"{"a": 1"#,
            "x",
            "-",
            "1.",
            ".5",
            "1e",
            "+1",
            "tru",
            "true false",
            "[1,]",
            r#"{"a" 1}"#,
            "\"a\nb\"",
            r#""\x""#,
            "",
            r#"{"a":1}}"#,
            "[1,2",
            "NaN",
            "01",
            r#""\ud83d""#,
            r#""\ude00""#,
            r#""\u12""#,
            "true1",
            "1x",
            "[1 2]",
            r#"{"a":1,}"#,
            r#"{1:2}"#,
        ] {
            assert_eq!(parse(input).err(), Some(JsonError::Syntax), "{input}");
        }
        // 22P05 as jsonb, accepted as json.
        assert!(parse(r#""\u0000""#).is_ok());
        assert_eq!(jsonb(r#""\u0000""#), Err(JsonError::NulEscape));
        // 22003.
        for input in ["1e131072", "1e-16384", "0e-16384", "1.5e-16383"] {
            assert_eq!(jsonb(input), Err(JsonError::Overflow), "{input}");
        }
        let deep = format!("{}{}", "[".repeat(MAX_DEPTH + 5), "]".repeat(MAX_DEPTH + 5));
        assert_eq!(parse(&deep).err(), Some(JsonError::TooDeep));
    }

    #[test]
    fn json_parts_keep_their_text() {
        let doc = parse(r#"{"b":1,   "a":[1,  2], "a" : 2}"#).unwrap();
        assert_eq!(doc.get("a").map(|n| n.text), Some("2"));
        let doc = parse(r#"{"b":1,   "a":[1,  2]}"#).unwrap();
        assert_eq!(doc.get("a").map(|n| n.text), Some("[1,  2]"));
        let arr = parse("[1, 2 , 3 ]").unwrap();
        assert_eq!(arr.at(-1).map(|n| n.text), Some("3"));
        assert_eq!(arr.at(-4), None);
        assert_eq!(arr.at(3), None);
    }

    #[test]
    fn jsonb_order_and_containment_are_postgresqls() {
        fn v(t: &str) -> Node<'_> {
            parse_jsonb(t).unwrap()
        }
        // PostgreSQL 15: all true.
        assert!(compare(&v(r#"{"a":1}"#), &v(r#"{"a":2}"#)).is_lt());
        assert!(compare(&v("10"), &v("9")).is_gt());
        assert!(compare(&v("[]"), &v("null")).is_lt());
        assert!(compare(&v("{}"), &v("[]")).is_gt());
        assert!(compare(&v(r#"{"a": 1}"#), &v(r#"{"a": 1.0}"#)).is_eq());
        assert!(compare(&v("[1, 2]"), &v("[2, 1]")).is_ne());
        assert!(compare(&v("[1]"), &v("5")).is_gt());
        assert!(contains(&v("[1,2]"), &v("1")));
        assert!(!contains(&v("1"), &v("[1]")));
        assert!(contains(
            &v(r#"{"a":[1,2,{"b":1}]}"#),
            &v(r#"{"a":[{"b":1.0}]}"#)
        ));
        assert!(!contains(&v("[[1]]"), &v("[1]")));
        assert!(contains(&v(r#"{"a":1, "b":2}"#), &v(r#"{"a":1}"#)));
        assert!(contains(&v(r#"{"a":1}"#), &v("{}")));
        assert!(!contains(&v(r#"{"a":1}"#), &v("[]")));
        assert!(exists(&v(r#"["a", 1]"#), "a"));
        assert!(exists(&v(r#""a""#), "a"));
        assert!(!exists(&v(r#"{"a":{"b":1}}"#), "b"));
    }

    #[test]
    fn pretty_is_postgresqls() {
        let mut out = String::new();
        write_pretty(
            &parse_jsonb(r#"{"a": [1, 2], "b": {}, "c": []}"#).unwrap(),
            0,
            &mut out,
        )
        .unwrap();
        assert_eq!(
            out,
            "{\n    \"a\": [\n        1,\n        2\n    ],\n    \"b\": {\n    },\n    \"c\": [\n    ]\n}"
        );
    }
}
