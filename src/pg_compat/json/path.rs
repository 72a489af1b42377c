//! PostgreSQL 15's SQL/JSON path language (`jsonpath`) for `jsonb`: the
//! parser ([`parse`], the grammar and scanner of PostgreSQL's
//! `jsonpath_gram.y` and `jsonpath_scan.l`) and the evaluator
//! ([`Evaluation`], the rules of `jsonpath_exec.c`), which
//! [`super::functions`], [`super::sets`] and [`super::operators`] call for
//! `jsonb_path_query[_first|_array]`, `jsonb_path_exists`,
//! `jsonb_path_match`, `@?` and `@@`.
//!
//! What PostgreSQL computes and this module reproduces:
//! - lax mode (the default) wraps a non-array where an array is expected,
//!   unwraps an array where an item is expected and ignores structural
//!   errors (a missing key, an index out of bounds); strict mode raises
//!   them with their SQLSTATEs (2203A, 22033, 22039, 2203C, …), unless the
//!   call is `silent` (the operators always are), when they end the
//!   evaluation with what was found so far;
//! - numbers are `numeric`: arithmetic keeps PostgreSQL's scales (`/` at
//!   `select_div_scale`'s, `*` adding scales) and `.double()` of a string
//!   goes through `float8` and back with 15 significant digits;
//! - predicates are three-valued; an error inside a filter is `unknown`;
//! - `.keyvalue()` numbers each object by its byte offset in `jsonb`'s
//!   binary form, computed here from the same layout.
//!
//! Refused with 0A000 rather than answered differently: `.datetime()`, a
//! `like_regex` pattern the `regex` crate reads differently from
//! PostgreSQL's regular expressions (back references, `\b`, …), and
//! `.keyvalue()` of an object inside one that `.keyvalue()` built.

use std::borrow::Cow;
use std::cmp::Ordering;
use std::collections::HashMap;

use datafusion::common::DataFusionError;
use num_bigint::{BigInt, Sign};
use regex::Regex;

use super::value::{self, JsonError, Node, Numeric, Value};
use crate::sqlstate::{code, coded};

type Error = DataFusionError;

// SQLSTATEs of SQL/JSON path evaluation (PostgreSQL's errcodes.txt).
const INVALID_SQL_JSON_SUBSCRIPT: &str = "22033";
const NON_NUMERIC_SQL_JSON_ITEM: &str = "22036";
pub const SINGLETON_SQL_JSON_ITEM_REQUIRED: &str = "22038";
const SQL_JSON_ARRAY_NOT_FOUND: &str = "22039";
const SQL_JSON_MEMBER_NOT_FOUND: &str = "2203A";
const SQL_JSON_NUMBER_NOT_FOUND: &str = "2203B";
const SQL_JSON_OBJECT_NOT_FOUND: &str = "2203C";

/// The most digits `numeric` holds before the point.
const MAX_INTEGER_DIGITS: usize = 131_072;
/// `NUMERIC_DSCALE_MAX`.
const MAX_SCALE: u32 = 16_383;

fn syntax(message: impl Into<String>) -> Error {
    coded(code::SYNTAX_ERROR, message)
}

fn not_supported(message: impl Into<String>) -> Error {
    coded(code::FEATURE_NOT_SUPPORTED, message)
}

// ---------------------------------------------------------------------
// Numbers
// ---------------------------------------------------------------------

/// A `numeric` value: `v / 10^scale`, printed with `scale` digits after
/// the point.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Num {
    v: BigInt,
    scale: u32,
}

fn pow10(n: u32) -> BigInt {
    BigInt::from(10u8).pow(n)
}

fn is_zero(v: &BigInt) -> bool {
    v.sign() == Sign::NoSign
}

fn abs(v: &BigInt) -> BigInt {
    BigInt::from_biguint(Sign::Plus, v.magnitude().clone())
}

/// Why an arithmetic operation has no answer.
enum ArithError {
    DivisionByZero,
    Overflow,
}

impl ArithError {
    fn into_error(self) -> Error {
        match self {
            ArithError::DivisionByZero => coded(code::DIVISION_BY_ZERO, "division by zero"),
            ArithError::Overflow => coded(
                code::NUMERIC_VALUE_OUT_OF_RANGE,
                "value overflows numeric format",
            ),
        }
    }
}

impl Num {
    pub fn int(i: i64) -> Num {
        Num {
            v: BigInt::from(i),
            scale: 0,
        }
    }

    /// A number in JSON syntax, as `numeric_in` reads it.
    pub fn parse(text: &str) -> Result<Num, JsonError> {
        let n = Numeric::parse(text)?;
        let scale = u32::try_from(n.scale).map_err(|_| JsonError::Overflow)?;
        if n.digits.is_empty() {
            return Ok(Num {
                v: BigInt::from(0),
                scale,
            });
        }
        let digits = BigInt::parse_bytes(n.digits.as_bytes(), 10).ok_or(JsonError::Syntax)?;
        // value = 0.DIGITS × 10^point = DIGITS × 10^(point - len).
        let shift = n.point + i64::from(scale) - n.digits.len() as i64;
        let mut v = if shift >= 0 {
            digits * pow10(u32::try_from(shift).map_err(|_| JsonError::Overflow)?)
        } else {
            digits / pow10(u32::try_from(-shift).map_err(|_| JsonError::Overflow)?)
        };
        if n.negative {
            v = -v;
        }
        Ok(Num { v, scale })
    }

    /// `numeric_out`.
    pub fn text(&self) -> String {
        let digits = abs(&self.v).to_string();
        let scale = self.scale as usize;
        let padded = if digits.len() <= scale {
            format!("{}{digits}", "0".repeat(scale + 1 - digits.len()))
        } else {
            digits
        };
        let (int, frac) = padded.split_at(padded.len() - scale);
        let sign = if self.v.sign() == Sign::Minus {
            "-"
        } else {
            ""
        };
        if scale == 0 {
            format!("{sign}{int}")
        } else {
            format!("{sign}{int}.{frac}")
        }
    }

    fn at_scale(&self, scale: u32) -> BigInt {
        &self.v * pow10(scale - self.scale)
    }

    fn cmp_value(&self, other: &Num) -> Ordering {
        let s = self.scale.max(other.scale);
        self.at_scale(s).cmp(&other.at_scale(s))
    }

    fn checked(self) -> Result<Num, ArithError> {
        let digits = abs(&self.v).to_string().len();
        if digits > self.scale as usize + MAX_INTEGER_DIGITS {
            return Err(ArithError::Overflow);
        }
        Ok(self)
    }

    fn add(&self, other: &Num) -> Result<Num, ArithError> {
        let s = self.scale.max(other.scale);
        Num {
            v: self.at_scale(s) + other.at_scale(s),
            scale: s,
        }
        .checked()
    }

    fn sub(&self, other: &Num) -> Result<Num, ArithError> {
        let s = self.scale.max(other.scale);
        Num {
            v: self.at_scale(s) - other.at_scale(s),
            scale: s,
        }
        .checked()
    }

    fn mul(&self, other: &Num) -> Result<Num, ArithError> {
        let n = Num {
            v: &self.v * &other.v,
            scale: self.scale + other.scale,
        };
        if n.scale > MAX_SCALE {
            return Ok(n.round_to(MAX_SCALE));
        }
        n.checked()
    }

    /// Rounded half away from zero to `scale` (not above its own).
    fn round_to(&self, scale: u32) -> Num {
        if scale >= self.scale {
            return self.clone();
        }
        Num {
            v: div_round(&self.v, &pow10(self.scale - scale)),
            scale,
        }
    }

    /// `numeric_div`: the quotient at `select_div_scale`'s scale.
    fn div(&self, other: &Num) -> Result<Num, ArithError> {
        if is_zero(&other.v) {
            return Err(ArithError::DivisionByZero);
        }
        let rscale = select_div_scale(self, other);
        // self/other = (a / 10^s1) / (b / 10^s2); scaled by 10^rscale.
        let exp = i64::from(rscale) + i64::from(other.scale) - i64::from(self.scale);
        let (num, den) = if exp >= 0 {
            (&self.v * pow10(exp as u32), other.v.clone())
        } else {
            (self.v.clone(), &other.v * pow10((-exp) as u32))
        };
        Num {
            v: div_round(&num, &den),
            scale: rscale,
        }
        .checked()
    }

    /// `numeric_mod`: the remainder of the truncated quotient, with the
    /// dividend's sign, at the larger scale.
    fn modulo(&self, other: &Num) -> Result<Num, ArithError> {
        if is_zero(&other.v) {
            return Err(ArithError::DivisionByZero);
        }
        let s = self.scale.max(other.scale);
        Ok(Num {
            v: self.at_scale(s) % other.at_scale(s),
            scale: s,
        })
    }

    fn neg(&self) -> Num {
        Num {
            v: -self.v.clone(),
            scale: self.scale,
        }
    }

    fn abs(&self) -> Num {
        Num {
            v: abs(&self.v),
            scale: self.scale,
        }
    }

    /// `floor` (`ceiling` when `up`), at scale 0.
    fn integral(&self, up: bool) -> Num {
        let d = pow10(self.scale);
        let q = &self.v / &d;
        let exact = is_zero(&(&self.v % &d));
        let q = if exact {
            q
        } else if up && self.v.sign() == Sign::Plus {
            q + 1
        } else if !up && self.v.sign() == Sign::Minus {
            q - 1
        } else {
            q
        };
        Num { v: q, scale: 0 }
    }

    /// The weight (position of the first base-10000 digit) and that digit,
    /// as `numeric` stores the value; (0, 0) for zero.
    fn base_10000(&self) -> (i64, u32) {
        if is_zero(&self.v) {
            return (0, 0);
        }
        let digits = abs(&self.v).to_string();
        // Exponent of the leading decimal digit.
        let e = digits.len() as i64 - 1 - i64::from(self.scale);
        let weight = e.div_euclid(4);
        let lead = (e - 4 * weight + 1) as usize;
        let first = digits[..lead.min(digits.len())].parse::<u32>().unwrap_or(0)
            * 10u32.pow(lead.saturating_sub(digits.len()) as u32);
        (weight, first)
    }

    /// The number of base-10000 digits `numeric` stores (no leading or
    /// trailing zero digits) and its weight.
    fn stored_digits(&self) -> (usize, i64) {
        if is_zero(&self.v) {
            return (0, 0);
        }
        let digits = abs(&self.v).to_string();
        let significant = digits.trim_end_matches('0');
        let e_first = digits.len() as i64 - 1 - i64::from(self.scale);
        let e_last = e_first - (significant.len() as i64 - 1);
        let weight = e_first.div_euclid(4);
        let last = e_last.div_euclid(4);
        ((weight - last + 1) as usize, weight)
    }

    /// The bytes of this number as a `numeric` datum inside `jsonb`: a
    /// 4-byte varlena header, a 2-byte (short form) or 4-byte header and
    /// 2 bytes a base-10000 digit.
    fn datum_size(&self) -> usize {
        let (ndigits, weight) = self.stored_digits();
        let short = self.scale <= 63 && (-64..=63).contains(&weight);
        4 + if short { 2 } else { 4 } + 2 * ndigits
    }
}

/// `num / den` rounded half away from zero.
fn div_round(num: &BigInt, den: &BigInt) -> BigInt {
    let q = num / den;
    let r = num % den;
    if abs(&(r * 2)) >= abs(den) {
        if (num.sign() == Sign::Minus) != (den.sign() == Sign::Minus) {
            q - 1
        } else {
            q + 1
        }
    } else {
        q
    }
}

/// numeric.c's `select_div_scale`: at least 16 significant digits, no
/// fewer than either operand's scale.
fn select_div_scale(a: &Num, b: &Num) -> u32 {
    let (w1, f1) = a.base_10000();
    let (w2, f2) = b.base_10000();
    let mut qweight = w1 - w2;
    if f1 <= f2 {
        qweight -= 1;
    }
    let rscale = 16 - qweight * 4;
    rscale
        .max(i64::from(a.scale))
        .max(i64::from(b.scale))
        .clamp(0, 1000) as u32
}

// ---------------------------------------------------------------------
// JSON items
// ---------------------------------------------------------------------

/// A `jsonb` value as the evaluator sees it.
#[derive(Debug, Clone, PartialEq)]
pub enum J {
    Null,
    Bool(bool),
    Num(Num),
    Str(String),
    Arr(Vec<J>),
    /// Members in `jsonb` order.
    Obj(Vec<(String, J)>),
}

impl J {
    /// A parsed (canonical) `jsonb` value.
    pub fn from_node(node: &Node<'_>) -> Result<J, JsonError> {
        Ok(match &node.value {
            Value::Null => J::Null,
            Value::Bool(b) => J::Bool(*b),
            Value::Number(n) => J::Num(Num::parse(n)?),
            Value::String(s) => J::Str(s.to_string()),
            Value::Array(items) => {
                J::Arr(items.iter().map(J::from_node).collect::<Result<_, _>>()?)
            }
            Value::Object(members) => J::Obj(
                members
                    .iter()
                    .map(|(k, v)| Ok((k.to_string(), J::from_node(v)?)))
                    .collect::<Result<_, JsonError>>()?,
            ),
        })
    }

    /// As `jsonb` prints it.
    pub fn write(&self, out: &mut String) -> Result<(), JsonError> {
        match self {
            J::Null => out.push_str("null"),
            J::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
            J::Num(n) => out.push_str(&n.text()),
            J::Str(s) => value::write_string(value::text_of(s)?, out),
            J::Arr(items) => {
                out.push('[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push_str(", ");
                    }
                    item.write(out)?;
                }
                out.push(']');
            }
            J::Obj(members) => {
                out.push('{');
                for (i, (k, v)) in members.iter().enumerate() {
                    if i > 0 {
                        out.push_str(", ");
                    }
                    value::write_string(value::text_of(k)?, out);
                    out.push_str(": ");
                    v.write(out)?;
                }
                out.push('}');
            }
        }
        Ok(())
    }

    pub fn text(&self) -> Result<String, JsonError> {
        let mut out = String::new();
        self.write(&mut out)?;
        Ok(out)
    }

    /// `JsonbTypeName`.
    fn type_name(&self) -> &'static str {
        match self {
            J::Null => "null",
            J::Bool(_) => "boolean",
            J::Num(_) => "number",
            J::Str(_) => "string",
            J::Arr(_) => "array",
            J::Obj(_) => "object",
        }
    }

    fn is_container(&self) -> bool {
        matches!(self, J::Arr(_) | J::Obj(_))
    }
}

/// An item of a sequence: part of the document or the variables, or a
/// value the path computed.
type It<'r> = Cow<'r, J>;

fn children<'r>(jb: &It<'r>) -> Vec<It<'r>> {
    match jb {
        Cow::Borrowed(j) => match *j {
            J::Arr(items) => items.iter().map(Cow::Borrowed).collect(),
            J::Obj(members) => members.iter().map(|(_, v)| Cow::Borrowed(v)).collect(),
            _ => vec![],
        },
        Cow::Owned(j) => match j {
            J::Arr(items) => items.iter().cloned().map(Cow::Owned).collect(),
            J::Obj(members) => members.iter().map(|(_, v)| Cow::Owned(v.clone())).collect(),
            _ => vec![],
        },
    }
}

fn member<'r>(jb: &It<'r>, key: &str) -> Option<It<'r>> {
    let find = |j: &J| match j {
        J::Obj(members) => members.iter().position(|(k, _)| k == key),
        _ => None,
    };
    match jb {
        Cow::Borrowed(j) => {
            let i = find(j)?;
            match *j {
                J::Obj(members) => Some(Cow::Borrowed(&members[i].1)),
                _ => None,
            }
        }
        Cow::Owned(j) => {
            let i = find(j)?;
            match j {
                J::Obj(members) => Some(Cow::Owned(members[i].1.clone())),
                _ => None,
            }
        }
    }
}

fn element<'r>(jb: &It<'r>, index: usize) -> Option<It<'r>> {
    match jb {
        Cow::Borrowed(J::Arr(items)) => items.get(index).map(Cow::Borrowed),
        Cow::Owned(J::Arr(items)) => items.get(index).cloned().map(Cow::Owned),
        _ => None,
    }
}

/// The byte offset of every container of `root` in `jsonb`'s binary form
/// (`convertToJsonb`: a container starts 4-aligned with a 4-byte header
/// and a 4-byte entry an element, or two a member; then the keys' bytes,
/// then the values: strings unpadded, numbers 4-aligned `numeric`
/// datums), keyed by the node's address.
fn layout(root: &J) -> HashMap<usize, i64> {
    fn pad(n: usize) -> usize {
        n.div_ceil(4) * 4
    }
    fn walk(j: &J, len: usize, map: &mut HashMap<usize, i64>) -> usize {
        match j {
            J::Null | J::Bool(_) => len,
            J::Str(s) => len + s.len(),
            J::Num(n) => pad(len) + n.datum_size(),
            J::Arr(items) => {
                let start = pad(len);
                map.insert(j as *const J as usize, start as i64);
                let mut l = start + 4 + 4 * items.len();
                for item in items {
                    l = walk(item, l, map);
                }
                l
            }
            J::Obj(members) => {
                let start = pad(len);
                map.insert(j as *const J as usize, start as i64);
                let mut l = start + 4 + 8 * members.len();
                for (k, _) in members {
                    l += k.len();
                }
                for (_, v) in members {
                    l = walk(v, l, map);
                }
                l
            }
        }
    }
    let mut map = HashMap::new();
    walk(root, 0, &mut map);
    map
}

// ---------------------------------------------------------------------
// The path: scanner
// ---------------------------------------------------------------------

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    /// An unquoted name: a key or a keyword.
    Ident(String),
    Str(String),
    Var(String),
    Int(String),
    Numeric(String),
    /// `&&`, `||`, `!`, `**`, `==`, `!=`, `<`, `<=`, `>`, `>=`, or one
    /// special character.
    Sym(&'static str),
    Eof,
}

const SPECIAL: &str = "?%$.[]{}()|&!=<>@#,*:-+/\\\" \t\n\r\x0c";

fn is_other(c: char) -> bool {
    !SPECIAL.contains(c)
}

fn is_blank(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\n' | '\r' | '\x0c')
}

struct Scanner<'s> {
    s: &'s str,
    pos: usize,
}

impl<'s> Scanner<'s> {
    fn rest(&self) -> &'s str {
        &self.s[self.pos..]
    }

    /// The length of the longest number the scanner's rules match at the
    /// start of `rest`, and whether it is a junk or failed one, as flex
    /// chooses: the longest match, and of equal ones the first rule.
    fn number(rest: &str) -> Option<(usize, Tok)> {
        let b = rest.as_bytes();
        let digits = |from: usize| {
            b[from.min(b.len())..]
                .iter()
                .take_while(|c| c.is_ascii_digit())
                .count()
        };
        // integer: 0 | [1-9][0-9]*
        let integer = match b.first() {
            Some(b'0') => Some(1),
            Some(b'1'..=b'9') => Some(1 + digits(1)),
            _ => None,
        };
        // decimal: integer '.' digit* | '.' digit+
        let decimal = match integer {
            Some(n) if b.get(n) == Some(&b'.') => Some(n + 1 + digits(n + 1)),
            None if b.first() == Some(&b'.') && digits(1) > 0 => Some(1 + digits(1)),
            _ => None,
        };
        let mantissa = decimal.or(integer)?;
        // real: mantissa [Ee] [-+]? digit+ ; realfail: mantissa [Ee] [-+]
        let mut real = None;
        let mut realfail = None;
        if matches!(b.get(mantissa), Some(b'e' | b'E')) {
            let mut p = mantissa + 1;
            let signed = matches!(b.get(p), Some(b'+' | b'-'));
            if signed {
                p += 1;
            }
            let d = digits(p);
            if d > 0 {
                real = Some(p + d);
            } else if signed {
                realfail = Some(p);
            }
        }
        let other_at = |n: usize| rest[n..].chars().next().is_some_and(is_other);
        let mut best: Option<(usize, Tok)> = None;
        let mut consider = |len: usize, tok: Tok| {
            if best.as_ref().is_none_or(|(l, _)| len > *l) {
                best = Some((len, tok));
            }
        };
        if let Some(n) = real {
            consider(n, Tok::Numeric(rest[..n].to_string()));
        }
        if let Some(n) = decimal {
            consider(n, Tok::Numeric(rest[..n].to_string()));
        }
        if let Some(n) = integer {
            consider(n, Tok::Int(rest[..n].to_string()));
        }
        if let Some(n) = realfail {
            consider(n, Tok::Sym("realfail"));
        }
        for n in [integer, decimal, real].into_iter().flatten() {
            if other_at(n) {
                let c = rest[n..].chars().next().map_or(1, char::len_utf8);
                consider(n + c, Tok::Sym("junk"));
            }
        }
        best
    }

    /// Reads escapes and plain text of a quoted string or name until
    /// `stop` says the text ends (not consumed).
    fn text(&mut self, quoted: bool) -> Result<String, Error> {
        let mut out = String::new();
        loop {
            let Some(c) = self.rest().chars().next() else {
                if quoted {
                    return Err(syntax(
                        "unexpected end of quoted string at end of jsonpath input",
                    ));
                }
                return Ok(out);
            };
            if c == '\\' {
                self.escape(&mut out)?;
                continue;
            }
            if quoted {
                if c == '"' {
                    self.pos += 1;
                    return Ok(out);
                }
            } else if !is_other(c) || self.rest().starts_with("/*") {
                return Ok(out);
            }
            out.push(c);
            self.pos += c.len_utf8();
        }
    }

    fn escape(&mut self, out: &mut String) -> Result<(), Error> {
        let rest = self.rest();
        let mut chars = rest.chars();
        chars.next();
        let Some(c) = chars.next() else {
            return Err(syntax(
                "unexpected end after backslash at end of jsonpath input",
            ));
        };
        let simple = match c {
            'b' => Some('\u{8}'),
            'f' => Some('\u{c}'),
            'n' => Some('\n'),
            'r' => Some('\r'),
            't' => Some('\t'),
            'v' => Some('\u{b}'),
            _ => None,
        };
        if let Some(s) = simple {
            out.push(s);
            self.pos += 2;
            return Ok(());
        }
        let hex = |s: &str| u32::from_str_radix(s, 16).ok();
        match c {
            'u' => {
                let body = &rest[2..];
                let (code, len) = if let Some(braced) = body.strip_prefix('{') {
                    let n = braced
                        .bytes()
                        .take(6)
                        .take_while(u8::is_ascii_hexdigit)
                        .count();
                    if n == 0 || braced.as_bytes().get(n) != Some(&b'}') {
                        return Err(syntax("invalid Unicode escape sequence"));
                    }
                    (hex(&braced[..n]), n + 2)
                } else {
                    if body.len() < 4 || !body.as_bytes()[..4].iter().all(u8::is_ascii_hexdigit) {
                        return Err(syntax("invalid Unicode escape sequence"));
                    }
                    (hex(&body[..4]), 4)
                };
                let code = code.ok_or_else(|| syntax("invalid Unicode escape sequence"))?;
                self.pos += 2 + len;
                if code == 0 {
                    return Err(coded("22P05", "unsupported Unicode escape sequence"));
                }
                let c = if (0xD800..0xDC00).contains(&code) {
                    // A high surrogate: a low one must follow.
                    let rest = self.rest();
                    let low = rest
                        .strip_prefix("\\u")
                        .and_then(|r| r.get(..4))
                        .and_then(hex)
                        .filter(|l| (0xDC00..0xE000).contains(l))
                        .ok_or_else(|| {
                            coded(
                                code::INVALID_TEXT_REPRESENTATION,
                                "invalid Unicode surrogate pair",
                            )
                        })?;
                    self.pos += 6;
                    0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00)
                } else {
                    code
                };
                out.push(char::from_u32(c).ok_or_else(|| {
                    coded(
                        code::INVALID_TEXT_REPRESENTATION,
                        "invalid Unicode escape value",
                    )
                })?);
            }
            'x' => {
                let body = &rest[2..];
                if body.len() < 2 || !body.as_bytes()[..2].iter().all(u8::is_ascii_hexdigit) {
                    return Err(syntax("invalid hexadecimal character sequence"));
                }
                let code = hex(&body[..2]).unwrap_or(0);
                if code == 0 {
                    return Err(coded("22P05", "unsupported Unicode escape sequence"));
                }
                out.push(char::from_u32(code).unwrap_or('\u{fffd}'));
                self.pos += 4;
            }
            other => {
                out.push(other);
                self.pos += 1 + other.len_utf8();
            }
        }
        Ok(())
    }

    fn next(&mut self) -> Result<(Tok, usize), Error> {
        loop {
            let rest = self.rest();
            let Some(c) = rest.chars().next() else {
                return Ok((Tok::Eof, self.pos));
            };
            if is_blank(c) {
                self.pos += 1;
                continue;
            }
            if let Some(comment) = rest.strip_prefix("/*") {
                match comment.find("*/") {
                    Some(end) => {
                        self.pos += 2 + end + 2;
                        continue;
                    }
                    None => return Err(syntax("unexpected end of comment")),
                }
            }
            break;
        }
        let start = self.pos;
        let rest = self.rest();
        for (sym, len) in [
            ("&&", 2),
            ("||", 2),
            ("**", 2),
            ("<=", 2),
            ("<>", 2),
            ("==", 2),
            ("!=", 2),
            (">=", 2),
        ] {
            if rest.starts_with(sym) {
                self.pos += len;
                let sym = if sym == "<>" { "!=" } else { sym };
                return Ok((Tok::Sym(sym), start));
            }
        }
        let c = rest.chars().next().unwrap_or(' ');
        if c == '$' {
            let name_len: usize = rest[1..]
                .chars()
                .take_while(|c| is_other(*c))
                .map(char::len_utf8)
                .sum();
            if name_len > 0 {
                self.pos += 1 + name_len;
                return Ok((Tok::Var(rest[1..1 + name_len].to_string()), start));
            }
            if rest[1..].starts_with('"') {
                self.pos += 2;
                let name = self.text(true)?;
                return Ok((Tok::Var(name), start));
            }
        }
        let number = Self::number(rest);
        let other_len: usize = rest
            .chars()
            .take_while(|c| is_other(*c))
            .map(char::len_utf8)
            .sum();
        if let Some((len, tok)) = number
            && len >= other_len
            && (len > 1 || c != '.')
        {
            return match tok {
                Tok::Sym("junk") => Err(syntax(format!(
                    "trailing junk after numeric literal at or near \"{}\" of jsonpath input",
                    &rest[..len]
                ))),
                Tok::Sym(_) => Err(syntax(format!(
                    "invalid numeric literal at or near \"{}\" of jsonpath input",
                    &rest[..len]
                ))),
                tok => {
                    self.pos += len;
                    Ok((tok, start))
                }
            };
        }
        if c == '"' {
            self.pos += 1;
            return Ok((Tok::Str(self.text(true)?), start));
        }
        if c == '\\' || other_len > 0 {
            return Ok((Tok::Ident(self.text(false)?), start));
        }
        // One special character.
        const SYMBOLS: [&str; 22] = [
            "?", "%", "$", ".", "[", "]", "{", "}", "(", ")", "|", "&", "!", "=", "<", ">", "@",
            "#", ",", "*", ":", "-",
        ];
        let sym = match c {
            '+' => "+",
            '/' => "/",
            _ => SYMBOLS
                .iter()
                .find(|s| s.starts_with(c))
                .copied()
                .unwrap_or("?"),
        };
        self.pos += c.len_utf8();
        Ok((Tok::Sym(sym), start))
    }
}

/// A keyword: matched without case, except `null`, `true`, `false`.
fn keyword(tok: &Tok, word: &str) -> bool {
    match tok {
        Tok::Ident(s) => {
            if matches!(word, "null" | "true" | "false") {
                s == word
            } else {
                s.eq_ignore_ascii_case(word)
            }
        }
        _ => false,
    }
}

const METHODS: [&str; 8] = [
    "abs", "size", "type", "floor", "double", "ceiling", "keyvalue", "datetime",
];

// ---------------------------------------------------------------------
// The path: syntax tree and parser
// ---------------------------------------------------------------------

/// A chain of items: the first is a primary (a literal, `$`, `@`, a
/// variable, `last`) or an operation; each next one applies to its
/// results (an accessor, a filter, a method).
pub type Chain = Vec<Op>;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Arith {
    Add,
    Sub,
    Mul,
    Div,
    Mod,
}

impl Arith {
    fn symbol(self) -> &'static str {
        match self {
            Arith::Add => "+",
            Arith::Sub => "-",
            Arith::Mul => "*",
            Arith::Div => "/",
            Arith::Mod => "%",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CmpOp {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    Abs,
    Size,
    Type,
    Floor,
    Double,
    Ceiling,
    KeyValue,
    Datetime,
}

impl Method {
    fn name(self) -> &'static str {
        match self {
            Method::Abs => "abs",
            Method::Size => "size",
            Method::Type => "type",
            Method::Floor => "floor",
            Method::Double => "double",
            Method::Ceiling => "ceiling",
            Method::KeyValue => "keyvalue",
            Method::Datetime => "datetime",
        }
    }
}

/// A `like_regex` predicate's pattern.
#[derive(Debug, Clone)]
pub struct LikeRegex {
    pub pattern: String,
    pub flags: String,
    regex: Regex,
}

#[derive(Debug, Clone)]
pub enum Op {
    Null,
    Bool(bool),
    Num(Num),
    Str(String),
    Var(String),
    Root,
    Current,
    Last,
    Arith(Arith, Box<Chain>, Box<Chain>),
    /// Unary `-` (`true`) or `+`.
    Unary(bool, Box<Chain>),
    Cmp(CmpOp, Box<Chain>, Box<Chain>),
    And(Box<Chain>, Box<Chain>),
    Or(Box<Chain>, Box<Chain>),
    Not(Box<Chain>),
    IsUnknown(Box<Chain>),
    Exists(Box<Chain>),
    StartsWith(Box<Chain>, Box<Chain>),
    LikeRegex(Box<Chain>, Box<LikeRegex>),
    Key(String),
    AnyKey,
    AnyArray,
    /// Subscripts: `[a, b to c]`.
    Index(Vec<(Chain, Option<Chain>)>),
    /// `.**{first to last}` (`u32::MAX` for `last`).
    Any(u32, u32),
    Filter(Box<Chain>),
    Method(Method),
}

impl Op {
    fn is_predicate(&self) -> bool {
        matches!(
            self,
            Op::Cmp(..)
                | Op::And(..)
                | Op::Or(..)
                | Op::Not(_)
                | Op::IsUnknown(_)
                | Op::Exists(_)
                | Op::StartsWith(..)
                | Op::LikeRegex(..)
        )
    }
}

/// A parsed path.
#[derive(Debug, Clone)]
pub struct JsonPath {
    pub lax: bool,
    pub expr: Chain,
}

/// A parsed part: a chain, and whether it is a predicate (which the
/// grammar allows in other places than an expression).
struct Part {
    chain: Chain,
    predicate: bool,
}

impl Part {
    fn expr(chain: Chain) -> Part {
        Part {
            chain,
            predicate: false,
        }
    }
    fn pred(op: Op) -> Part {
        Part {
            chain: vec![op],
            predicate: true,
        }
    }
}

struct Parser<'s> {
    scanner: Scanner<'s>,
    tok: Tok,
    at: usize,
    /// Tokens read so far: a path of more than [`MAX_PATH_TOKENS`] is
    /// refused, which bounds the chains the evaluator recurses through
    /// (`1 + 1 + …`).
    tokens: usize,
    /// How deep the parser is in nested expressions (`((…))`, `- - 1`,
    /// filters): at most [`MAX_PATH_NESTING`].
    depth: usize,
}

/// The deepest nesting a path may have.
const MAX_PATH_NESTING: usize = 32;

/// The most tokens a path may have (PostgreSQL's paths in queries are a
/// few dozen; its own limit is the server's stack depth).
const MAX_PATH_TOKENS: usize = 256;

/// Parses a path as `jsonpath_in` does: a syntax error is 42601, an empty
/// path 22P02.
pub fn parse(text: &str) -> Result<JsonPath, Error> {
    let mut p = Parser {
        scanner: Scanner { s: text, pos: 0 },
        tok: Tok::Eof,
        at: 0,
        tokens: 0,
        depth: 0,
    };
    p.advance()?;
    if p.tok == Tok::Eof {
        return Err(coded(
            code::INVALID_TEXT_REPRESENTATION,
            format!("invalid input syntax for type jsonpath: \"{text}\""),
        ));
    }
    let mut lax = true;
    if keyword(&p.tok, "strict") {
        lax = false;
        p.advance()?;
    } else if keyword(&p.tok, "lax") {
        p.advance()?;
    }
    let part = p.or()?;
    if p.tok != Tok::Eof {
        return Err(p.unexpected());
    }
    check(&part.chain, 0, false)?;
    Ok(JsonPath {
        lax,
        expr: part.chain,
    })
}

/// `@` only inside a filter, `last` only inside a subscript
/// (`flattenJsonPathParseItem`).
fn check(chain: &[Op], filters: usize, subscript: bool) -> Result<(), Error> {
    for op in chain {
        match op {
            Op::Current if filters == 0 => {
                return Err(syntax("@ is not allowed in root expressions"));
            }
            Op::Last if !subscript => {
                return Err(syntax("LAST is allowed only in array subscripts"));
            }
            Op::Arith(_, a, b)
            | Op::Cmp(_, a, b)
            | Op::And(a, b)
            | Op::Or(a, b)
            | Op::StartsWith(a, b) => {
                check(a, filters, subscript)?;
                check(b, filters, subscript)?;
            }
            Op::Unary(_, a) | Op::Not(a) | Op::IsUnknown(a) | Op::Exists(a) => {
                check(a, filters, subscript)?
            }
            Op::LikeRegex(a, _) => check(a, filters, subscript)?,
            Op::Filter(a) => check(a, filters + 1, subscript)?,
            Op::Index(subs) => {
                for (from, to) in subs {
                    check(from, filters, true)?;
                    if let Some(to) = to {
                        check(to, filters, true)?;
                    }
                }
            }
            _ => {}
        }
    }
    Ok(())
}

impl<'s> Parser<'s> {
    fn advance(&mut self) -> Result<(), Error> {
        self.tokens += 1;
        if self.tokens > MAX_PATH_TOKENS {
            return Err(coded(
                code::STATEMENT_TOO_COMPLEX,
                format!(
                    "the jsonpath is too complex: more than {MAX_PATH_TOKENS} elements; \
                     split it into several paths or steps"
                ),
            ));
        }
        let (tok, at) = self.scanner.next()?;
        self.tok = tok;
        self.at = at;
        Ok(())
    }

    fn unexpected(&self) -> Error {
        if self.tok == Tok::Eof {
            return syntax("syntax error at end of jsonpath input");
        }
        let len = self.scanner.pos - self.at;
        let text = &self.scanner.s[self.at..self.at + len];
        syntax(format!(
            "syntax error at or near \"{text}\" of jsonpath input"
        ))
    }

    fn is_sym(&self, s: &str) -> bool {
        matches!(&self.tok, Tok::Sym(t) if *t == s)
    }

    fn expect(&mut self, s: &str) -> Result<(), Error> {
        if !self.is_sym(s) {
            return Err(self.unexpected());
        }
        self.advance()
    }

    fn expr_of(&self, part: Part) -> Result<Chain, Error> {
        if part.predicate {
            return Err(self.unexpected());
        }
        Ok(part.chain)
    }

    fn pred_of(&self, part: Part) -> Result<Chain, Error> {
        if !part.predicate {
            return Err(self.unexpected());
        }
        Ok(part.chain)
    }

    /// One level deeper, or 54001 past [`MAX_PATH_NESTING`].
    fn deeper(&mut self) -> Result<(), Error> {
        self.depth += 1;
        if self.depth > MAX_PATH_NESTING {
            return Err(coded(
                code::STATEMENT_TOO_COMPLEX,
                format!(
                    "the jsonpath nests too deeply: more than {MAX_PATH_NESTING} levels; \
                     split it into several paths or steps"
                ),
            ));
        }
        Ok(())
    }

    fn or(&mut self) -> Result<Part, Error> {
        self.deeper()?;
        let part = self.or_chain();
        self.depth -= 1;
        part
    }

    fn or_chain(&mut self) -> Result<Part, Error> {
        let mut left = self.and()?;
        while self.is_sym("||") {
            let l = self.pred_of(left)?;
            self.advance()?;
            let right = self.and()?;
            let r = self.pred_of(right)?;
            left = Part::pred(Op::Or(Box::new(l), Box::new(r)));
        }
        Ok(left)
    }

    fn and(&mut self) -> Result<Part, Error> {
        let mut left = self.not()?;
        while self.is_sym("&&") {
            let l = self.pred_of(left)?;
            self.advance()?;
            let right = self.not()?;
            let r = self.pred_of(right)?;
            left = Part::pred(Op::And(Box::new(l), Box::new(r)));
        }
        Ok(left)
    }

    fn not(&mut self) -> Result<Part, Error> {
        if !self.is_sym("!") {
            return self.comparison();
        }
        self.advance()?;
        // `!` takes a parenthesized predicate or `exists (…)`.
        let inner = if self.is_sym("(") {
            self.advance()?;
            let p = self.or()?;
            let p = self.pred_of(p)?;
            self.expect(")")?;
            p
        } else if keyword(&self.tok, "exists") {
            self.exists()?
        } else {
            return Err(self.unexpected());
        };
        Ok(Part::pred(Op::Not(Box::new(inner))))
    }

    fn exists(&mut self) -> Result<Chain, Error> {
        self.advance()?;
        self.expect("(")?;
        let e = self.or()?;
        let e = self.expr_of(e)?;
        self.expect(")")?;
        Ok(vec![Op::Exists(Box::new(e))])
    }

    fn comparison(&mut self) -> Result<Part, Error> {
        let left = self.additive()?;
        let cmp = match &self.tok {
            Tok::Sym("==") => Some(CmpOp::Eq),
            Tok::Sym("!=") => Some(CmpOp::Ne),
            Tok::Sym("<") => Some(CmpOp::Lt),
            Tok::Sym("<=") => Some(CmpOp::Le),
            Tok::Sym(">") => Some(CmpOp::Gt),
            Tok::Sym(">=") => Some(CmpOp::Ge),
            _ => None,
        };
        if let Some(cmp) = cmp {
            let l = self.expr_of(left)?;
            self.advance()?;
            let right = self.additive()?;
            let r = self.expr_of(right)?;
            return Ok(Part::pred(Op::Cmp(cmp, Box::new(l), Box::new(r))));
        }
        if keyword(&self.tok, "starts") {
            let l = self.expr_of(left)?;
            self.advance()?;
            if !keyword(&self.tok, "with") {
                return Err(self.unexpected());
            }
            self.advance()?;
            let initial = match &self.tok {
                Tok::Str(s) => Op::Str(s.clone()),
                Tok::Var(v) => Op::Var(v.clone()),
                _ => return Err(self.unexpected()),
            };
            self.advance()?;
            return Ok(Part::pred(Op::StartsWith(
                Box::new(l),
                Box::new(vec![initial]),
            )));
        }
        if keyword(&self.tok, "like_regex") {
            let l = self.expr_of(left)?;
            self.advance()?;
            let Tok::Str(pattern) = self.tok.clone() else {
                return Err(self.unexpected());
            };
            self.advance()?;
            let mut flags = String::new();
            if keyword(&self.tok, "flag") {
                self.advance()?;
                let Tok::Str(f) = self.tok.clone() else {
                    return Err(self.unexpected());
                };
                self.advance()?;
                flags = f;
            }
            let regex = compile_regex(&pattern, &flags)?;
            return Ok(Part::pred(Op::LikeRegex(
                Box::new(l),
                Box::new(LikeRegex {
                    pattern,
                    flags,
                    regex,
                }),
            )));
        }
        Ok(left)
    }

    fn additive(&mut self) -> Result<Part, Error> {
        let mut left = self.multiplicative()?;
        loop {
            let op = if self.is_sym("+") {
                Arith::Add
            } else if self.is_sym("-") {
                Arith::Sub
            } else {
                return Ok(left);
            };
            let l = self.expr_of(left)?;
            self.advance()?;
            let right = self.multiplicative()?;
            let r = self.expr_of(right)?;
            left = Part::expr(vec![Op::Arith(op, Box::new(l), Box::new(r))]);
        }
    }

    fn multiplicative(&mut self) -> Result<Part, Error> {
        let mut left = self.unary()?;
        loop {
            let op = if self.is_sym("*") {
                Arith::Mul
            } else if self.is_sym("/") {
                Arith::Div
            } else if self.is_sym("%") {
                Arith::Mod
            } else {
                return Ok(left);
            };
            let l = self.expr_of(left)?;
            self.advance()?;
            let right = self.unary()?;
            let r = self.expr_of(right)?;
            left = Part::expr(vec![Op::Arith(op, Box::new(l), Box::new(r))]);
        }
    }

    fn unary(&mut self) -> Result<Part, Error> {
        let minus = if self.is_sym("-") {
            true
        } else if self.is_sym("+") {
            false
        } else {
            return self.accessor_expr();
        };
        self.advance()?;
        self.deeper()?;
        let operand = self.unary();
        self.depth -= 1;
        let chain = self.expr_of(operand?)?;
        // A sign on a number literal is part of it (`makeItemUnary`).
        if let [Op::Num(n)] = chain.as_slice() {
            return Ok(Part::expr(vec![Op::Num(if minus {
                n.neg()
            } else {
                n.clone()
            })]));
        }
        Ok(Part::expr(vec![Op::Unary(minus, Box::new(chain))]))
    }

    fn accessor_expr(&mut self) -> Result<Part, Error> {
        let tok = self.tok.clone();
        if tok == Tok::Sym("(") {
            self.advance()?;
            let inner = self.or()?;
            self.expect(")")?;
            if inner.predicate && keyword(&self.tok, "is") {
                self.advance()?;
                if !keyword(&self.tok, "unknown") {
                    return Err(self.unexpected());
                }
                self.advance()?;
                return Ok(Part::pred(Op::IsUnknown(Box::new(inner.chain))));
            }
            return self.accessors(inner);
        }
        if keyword(&tok, "exists") {
            let chain = self.exists()?;
            return Ok(Part {
                chain,
                predicate: true,
            });
        }
        let primary = match tok {
            Tok::Sym("$") => Op::Root,
            Tok::Sym("@") => Op::Current,
            Tok::Var(v) => Op::Var(v),
            Tok::Str(s) => Op::Str(s),
            Tok::Int(n) | Tok::Numeric(n) => Op::Num(number_literal(&n)?),
            ref t if keyword(t, "null") => Op::Null,
            ref t if keyword(t, "true") => Op::Bool(true),
            ref t if keyword(t, "false") => Op::Bool(false),
            ref t if keyword(t, "last") => Op::Last,
            _ => return Err(self.unexpected()),
        };
        self.advance()?;
        self.accessors(Part::expr(vec![primary]))
    }

    /// The accessors, filters and methods after a primary.
    fn accessors(&mut self, mut part: Part) -> Result<Part, Error> {
        loop {
            let op = if self.is_sym(".") {
                self.advance()?;
                self.after_dot()?
            } else if self.is_sym("[") {
                self.advance()?;
                self.subscripts()?
            } else if self.is_sym("?") {
                self.advance()?;
                self.expect("(")?;
                let p = self.or()?;
                let p = self.pred_of(p)?;
                self.expect(")")?;
                Op::Filter(Box::new(p))
            } else {
                return Ok(part);
            };
            // An accessor makes a parenthesized predicate an expression.
            part.predicate = false;
            part.chain.push(op);
        }
    }

    /// After `.`: a key, `*`, `**{…}` or a method.
    fn after_dot(&mut self) -> Result<Op, Error> {
        let tok = self.tok.clone();
        match tok {
            Tok::Sym("*") => {
                self.advance()?;
                Ok(Op::AnyKey)
            }
            Tok::Sym("**") => {
                self.advance()?;
                if !self.is_sym("{") {
                    return Ok(Op::Any(0, u32::MAX));
                }
                self.advance()?;
                let first = self.level()?;
                let last = if keyword(&self.tok, "to") {
                    self.advance()?;
                    self.level()?
                } else {
                    first
                };
                self.expect("}")?;
                Ok(Op::Any(first, last))
            }
            Tok::Str(key) => {
                self.advance()?;
                Ok(Op::Key(key))
            }
            Tok::Ident(name) => {
                self.advance()?;
                let method = METHODS
                    .iter()
                    .find(|m| name.eq_ignore_ascii_case(m))
                    .copied();
                match method {
                    Some(m) if self.is_sym("(") => {
                        self.advance()?;
                        let method = match m {
                            "abs" => Method::Abs,
                            "size" => Method::Size,
                            "type" => Method::Type,
                            "floor" => Method::Floor,
                            "double" => Method::Double,
                            "ceiling" => Method::Ceiling,
                            "keyvalue" => Method::KeyValue,
                            _ => {
                                // `.datetime([template])`.
                                if let Tok::Str(_) = self.tok {
                                    self.advance()?;
                                }
                                Method::Datetime
                            }
                        };
                        self.expect(")")?;
                        Ok(Op::Method(method))
                    }
                    _ => Ok(Op::Key(name)),
                }
            }
            _ => Err(self.unexpected()),
        }
    }

    /// A level of `.**{…}`: an integer or `last`.
    fn level(&mut self) -> Result<u32, Error> {
        let level = match &self.tok {
            Tok::Int(n) => n.parse::<i32>().map_err(|_| {
                coded(
                    code::NUMERIC_VALUE_OUT_OF_RANGE,
                    format!("value \"{n}\" is out of range for type integer"),
                )
            })? as u32,
            t if keyword(t, "last") => u32::MAX,
            _ => return Err(self.unexpected()),
        };
        self.advance()?;
        Ok(level)
    }

    /// After `[`: `*]` or subscripts `a, b to c]`.
    fn subscripts(&mut self) -> Result<Op, Error> {
        if self.is_sym("*") {
            self.advance()?;
            self.expect("]")?;
            return Ok(Op::AnyArray);
        }
        let mut subs = vec![];
        loop {
            let from = self.additive()?;
            let from = self.expr_of(from)?;
            let to = if keyword(&self.tok, "to") {
                self.advance()?;
                let to = self.additive()?;
                Some(self.expr_of(to)?)
            } else {
                None
            };
            subs.push((from, to));
            if self.is_sym(",") {
                self.advance()?;
                continue;
            }
            self.expect("]")?;
            return Ok(Op::Index(subs));
        }
    }
}

fn number_literal(text: &str) -> Result<Num, Error> {
    // The scanner's numbers may start with a point or end with one
    // (`.5`, `1.`); JSON's syntax wants a digit on both sides.
    let mut t = text.to_string();
    if t.starts_with('.') {
        t.insert(0, '0');
    }
    if let Some(i) = t.find('.') {
        let after = t.as_bytes().get(i + 1);
        if !after.is_some_and(u8::is_ascii_digit) {
            t.remove(i);
        }
    }
    Num::parse(&t).map_err(JsonError::into_error)
}

/// A `like_regex` pattern with its XQuery flags, as PostgreSQL reads it
/// (`jspConvertRegexFlags`): `i` case-insensitive, `m` newline-sensitive
/// (`^`, `$` at lines, `.` not matching a newline), `s` the default
/// (`.` matches a newline), `q` the pattern as literal text; `x` is not
/// implemented in PostgreSQL either.
fn compile_regex(pattern: &str, flags: &str) -> Result<Regex, Error> {
    let (mut icase, mut multiline, mut quote) = (false, false, false);
    for f in flags.chars() {
        match f {
            'i' => icase = true,
            'm' => multiline = true,
            's' => {}
            'q' => quote = true,
            'x' => {
                return Err(not_supported(
                    "XQuery \"x\" flag (expanded regular expressions) is not implemented",
                ));
            }
            other => {
                return Err(syntax(format!(
                    "invalid input syntax for type jsonpath: unrecognized flag character \"{other}\" in LIKE_REGEX predicate"
                )));
            }
        }
    }
    let source = if quote {
        regex::escape(pattern)
    } else {
        // What PostgreSQL's regular expressions read otherwise than the
        // regex crate: `\b` is a backspace there, a word boundary here;
        // back references, lookaround and PostgreSQL's own escapes
        // (`\y`, `\m`, `\Z`, …) are not read here.
        let mut chars = pattern.chars();
        while let Some(c) = chars.next() {
            if c == '\\'
                && let Some(e) = chars.next()
                && !matches!(
                    e,
                    'd' | 'D' | 's' | 'S' | 'w' | 'W' | 'n' | 't' | 'r' | 'f' | 'v'
                )
                && (e.is_ascii_alphanumeric())
            {
                return Err(not_supported(format!(
                    "like_regex escape \"\\{e}\" is not supported here"
                )));
            }
        }
        if pattern.contains("(?=")
            || pattern.contains("(?!")
            || pattern.contains("(?<")
            || (multiline && pattern.contains("[^"))
        {
            return Err(not_supported(
                "this like_regex pattern is not supported here",
            ));
        }
        pattern.to_string()
    };
    regex::RegexBuilder::new(&source)
        .case_insensitive(icase)
        .multi_line(multiline)
        .dot_matches_new_line(!multiline)
        .build()
        .map_err(|e| {
            not_supported(format!(
                "like_regex pattern \"{pattern}\" is not supported here: {e}"
            ))
        })
}

// ---------------------------------------------------------------------
// Evaluation
// ---------------------------------------------------------------------

/// How an evaluation step ended (`JsonPathExecResult`): an error raised
/// while errors are not thrown (inside a filter, or a silent call) is a
/// result, [`Res::Error`]; a thrown one is the `Err` of the step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Res {
    Ok,
    NotFound,
    Error,
}

/// A predicate's three-valued answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tri {
    True,
    False,
    Unknown,
}

type R = Result<Res, Error>;
type Found<'f, 'r> = Option<&'f mut Vec<It<'r>>>;

/// Returns an error result at once, as `jperIsError(res)` does.
macro_rules! tri {
    ($e:expr) => {{
        let r = $e?;
        if r == Res::Error {
            return Ok(Res::Error);
        }
        r
    }};
}

/// The object whose binary form `.keyvalue()` numbers an object by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Base {
    Root,
    Vars,
    /// An object `.keyvalue()` built, by its number.
    Generated(i64),
}

/// One evaluation of a path on a document.
pub struct Evaluation<'r> {
    root: &'r J,
    /// The `vars` object; `None` for the operators, which have none (a
    /// variable is then `null`).
    vars: Option<&'r J>,
    lax: bool,
    ignore_structural: bool,
    throw: bool,
    current: Option<It<'r>>,
    innermost_array_size: i64,
    base: Base,
    last_generated: i64,
    root_layout: Option<HashMap<usize, i64>>,
    vars_layout: Option<HashMap<usize, i64>>,
}

impl<'r> Evaluation<'r> {
    /// `vars` must be an object (22023 otherwise, as PostgreSQL checks
    /// before evaluating); `throw`: raise errors (not `silent`).
    pub fn new(
        path: &JsonPath,
        root: &'r J,
        vars: Option<&'r J>,
        throw: bool,
    ) -> Result<Evaluation<'r>, Error> {
        if vars.is_some_and(|v| !matches!(v, J::Obj(_))) {
            return Err(coded(
                code::INVALID_PARAMETER_VALUE,
                "\"vars\" argument is not an object",
            ));
        }
        Ok(Evaluation {
            root,
            vars,
            lax: path.lax,
            ignore_structural: path.lax,
            throw,
            current: None,
            innermost_array_size: -1,
            base: Base::Root,
            last_generated: if vars.is_some() { 2 } else { 1 },
            root_layout: None,
            vars_layout: None,
        })
    }

    /// Every item the path yields, and how the evaluation ended (on a
    /// non-thrown error: what was found before it).
    pub fn query(&mut self, path: &JsonPath) -> Result<(Res, Vec<It<'r>>), Error> {
        let mut found = vec![];
        let res = self.exec(
            &path.expr,
            0,
            Cow::Borrowed(self.root),
            Some(&mut found),
            self.lax,
        )?;
        Ok((res, found))
    }

    /// Whether the path yields anything (`Res::Ok`): lax mode stops at the
    /// first item; strict mode evaluates everything, so that an error
    /// anywhere counts.
    pub fn exists(&mut self, path: &JsonPath) -> R {
        if !self.lax {
            let mut found = vec![];
            let res = tri!(self.exec(
                &path.expr,
                0,
                Cow::Borrowed(self.root),
                Some(&mut found),
                false
            ));
            let _ = res;
            return Ok(if found.is_empty() {
                Res::NotFound
            } else {
                Res::Ok
            });
        }
        self.exec(&path.expr, 0, Cow::Borrowed(self.root), None, true)
    }

    /// A thrown or a returned error, as `RETURN_ERROR` chooses.
    fn fail(&self, code: &'static str, message: impl Into<String>) -> R {
        if self.throw {
            Err(coded(code, message))
        } else {
            Ok(Res::Error)
        }
    }

    /// `executeNextItem`: item `i`'s result `v` to the rest of the chain,
    /// or to `found` at its end.
    fn next(&mut self, ch: &[Op], i: usize, v: It<'r>, found: Found<'_, 'r>) -> R {
        if i + 1 < ch.len() {
            return self.exec(ch, i + 1, v, found, self.lax);
        }
        if let Some(f) = found {
            f.push(v);
        }
        Ok(Res::Ok)
    }

    /// A whole chain on `jb` (`executeItem`).
    fn chain(&mut self, ch: &[Op], jb: It<'r>, found: Found<'_, 'r>) -> R {
        self.exec(ch, 0, jb, found, self.lax)
    }

    /// `executeItemOptUnwrapTarget`: item `i` of `ch` on `jb`.
    fn exec(
        &mut self,
        ch: &[Op],
        i: usize,
        jb: It<'r>,
        mut found: Found<'_, 'r>,
        unwrap: bool,
    ) -> R {
        let has_next = i + 1 < ch.len();
        match &ch[i] {
            op if op.is_predicate() => {
                let st = self.bool_item(op, &jb)?;
                if !has_next && found.is_none() {
                    return Ok(Res::Ok);
                }
                let v = match st {
                    Tri::Unknown => J::Null,
                    t => J::Bool(t == Tri::True),
                };
                self.next(ch, i, Cow::Owned(v), found)
            }
            Op::Arith(op, l, r) => self.binary_arith(ch, i, *op, l, r, &jb, found),
            Op::Unary(minus, a) => self.unary_arith(ch, i, *minus, a, &jb, found),
            Op::Key(key) => match &*jb {
                J::Obj(_) => match member(&jb, key) {
                    Some(v) => self.next(ch, i, v, found),
                    None if !self.ignore_structural => self.fail(
                        SQL_JSON_MEMBER_NOT_FOUND,
                        format!("JSON object does not contain key \"{key}\""),
                    ),
                    None => Ok(Res::NotFound),
                },
                J::Arr(_) if unwrap => {
                    self.any_item(ch, Some(i), &jb, found, 1, 1, 1, false, false)
                }
                _ if !self.ignore_structural => self.fail(
                    SQL_JSON_MEMBER_NOT_FOUND,
                    "jsonpath member accessor can only be applied to an object",
                ),
                _ => Ok(Res::NotFound),
            },
            Op::Root => {
                let saved = self.base;
                self.base = Base::Root;
                let r = self.next(ch, i, Cow::Borrowed(self.root), found);
                self.base = saved;
                r
            }
            Op::Current => {
                let current = self.current.clone().unwrap_or(jb);
                self.next(ch, i, current, found)
            }
            Op::AnyArray => match &*jb {
                J::Arr(_) => {
                    let next = has_next.then_some(i + 1);
                    self.any_item(ch, next, &jb, found, 1, 1, 1, false, self.lax)
                }
                _ if self.lax => self.next(ch, i, jb, found),
                _ if !self.ignore_structural => self.fail(
                    SQL_JSON_ARRAY_NOT_FOUND,
                    "jsonpath wildcard array accessor can only be applied to an array",
                ),
                _ => Ok(Res::NotFound),
            },
            Op::Index(subs) => {
                if !matches!(*jb, J::Arr(_)) && !self.lax {
                    if self.ignore_structural {
                        return Ok(Res::NotFound);
                    }
                    return self.fail(
                        SQL_JSON_ARRAY_NOT_FOUND,
                        "jsonpath array accessor can only be applied to an array",
                    );
                }
                let saved = self.innermost_array_size;
                let r = self.subscripts(ch, i, subs, &jb, found);
                self.innermost_array_size = saved;
                r
            }
            Op::Last => {
                if self.innermost_array_size < 0 {
                    return Err(coded(
                        code::INTERNAL_ERROR,
                        "evaluating jsonpath LAST outside of array subscript",
                    ));
                }
                if !has_next && found.is_none() {
                    return Ok(Res::Ok);
                }
                let last = J::Num(Num::int(self.innermost_array_size - 1));
                self.next(ch, i, Cow::Owned(last), found)
            }
            Op::AnyKey => match &*jb {
                J::Obj(_) => {
                    let next = has_next.then_some(i + 1);
                    self.any_item(ch, next, &jb, found, 1, 1, 1, false, self.lax)
                }
                J::Arr(_) if unwrap => {
                    self.any_item(ch, Some(i), &jb, found, 1, 1, 1, false, false)
                }
                _ if !self.ignore_structural => self.fail(
                    SQL_JSON_OBJECT_NOT_FOUND,
                    "jsonpath wildcard member accessor can only be applied to an object",
                ),
                _ => Ok(Res::NotFound),
            },
            Op::Any(first, last) => {
                let mut res = Res::NotFound;
                if *first == 0 {
                    let saved = self.ignore_structural;
                    self.ignore_structural = true;
                    let r = self.next(ch, i, jb.clone(), found.as_deref_mut());
                    self.ignore_structural = saved;
                    res = r?;
                    if res == Res::Ok && found.is_none() {
                        return Ok(res);
                    }
                }
                if jb.is_container() {
                    let next = has_next.then_some(i + 1);
                    res = self.any_item(ch, next, &jb, found, 1, *first, *last, true, self.lax)?;
                }
                Ok(res)
            }
            Op::Null | Op::Bool(_) | Op::Num(_) | Op::Str(_) | Op::Var(_) => {
                if !has_next && found.is_none() && !matches!(ch[i], Op::Var(_)) {
                    return Ok(Res::Ok);
                }
                let saved = self.base;
                let v = match &ch[i] {
                    Op::Null => Cow::Owned(J::Null),
                    Op::Bool(b) => Cow::Owned(J::Bool(*b)),
                    Op::Num(n) => Cow::Owned(J::Num(n.clone())),
                    Op::Str(s) => Cow::Owned(J::Str(s.clone())),
                    Op::Var(name) => self.variable(name)?,
                    _ => return Err(coded(code::INTERNAL_ERROR, "not a literal")),
                };
                let r = self.next(ch, i, v, found);
                self.base = saved;
                r
            }
            Op::Filter(pred) => {
                if unwrap && matches!(*jb, J::Arr(_)) {
                    return self.any_item(ch, Some(i), &jb, found, 1, 1, 1, false, false);
                }
                let saved = self.current.replace(jb.clone());
                let st = self.bool_chain(pred, &jb);
                self.current = saved;
                if st? != Tri::True {
                    return Ok(Res::NotFound);
                }
                self.next(ch, i, jb, found)
            }
            Op::Method(m) => self.method(ch, i, *m, jb, found, unwrap),
            _ => Err(coded(code::INTERNAL_ERROR, "unknown jsonpath item")),
        }
    }

    fn variable(&mut self, name: &str) -> Result<It<'r>, Error> {
        let Some(vars) = self.vars else {
            return Ok(Cow::Owned(J::Null));
        };
        let J::Obj(members) = vars else {
            return Ok(Cow::Owned(J::Null));
        };
        match members.iter().find(|(k, _)| k == name) {
            Some((_, v)) => {
                self.base = Base::Vars;
                Ok(Cow::Borrowed(v))
            }
            None => Err(coded(
                code::UNDEFINED_OBJECT,
                format!("could not find jsonpath variable \"{name}\""),
            )),
        }
    }

    /// `executeAnyItem`: the items of container `jb` (and their items,
    /// down to level `last`), from level `first`, each to item `i` of
    /// `ch` (or to `found`).
    #[allow(clippy::too_many_arguments)]
    fn any_item(
        &mut self,
        ch: &[Op],
        i: Option<usize>,
        jb: &It<'r>,
        mut found: Found<'_, 'r>,
        level: u32,
        first: u32,
        last: u32,
        ignore_structural: bool,
        unwrap_next: bool,
    ) -> R {
        let mut res = Res::NotFound;
        if level > last {
            return Ok(res);
        }
        for v in children(jb) {
            let container = v.is_container();
            if level >= first || (first == u32::MAX && last == u32::MAX && !container) {
                if let Some(i) = i {
                    let saved = self.ignore_structural;
                    if ignore_structural {
                        self.ignore_structural = true;
                    }
                    let r = self.exec(ch, i, v.clone(), found.as_deref_mut(), unwrap_next);
                    self.ignore_structural = saved;
                    res = r?;
                    if res == Res::Error || (res == Res::Ok && found.is_none()) {
                        return Ok(res);
                    }
                } else if let Some(f) = found.as_deref_mut() {
                    f.push(v.clone());
                } else {
                    return Ok(Res::Ok);
                }
            }
            if level < last && container {
                res = self.any_item(
                    ch,
                    i,
                    &v,
                    found.as_deref_mut(),
                    level + 1,
                    first,
                    last,
                    ignore_structural,
                    unwrap_next,
                )?;
                if res == Res::Error || (res == Res::Ok && found.is_none()) {
                    return Ok(res);
                }
            }
        }
        Ok(res)
    }

    fn subscripts(
        &mut self,
        ch: &[Op],
        i: usize,
        subs: &[(Chain, Option<Chain>)],
        jb: &It<'r>,
        mut found: Found<'_, 'r>,
    ) -> R {
        let has_next = i + 1 < ch.len();
        let (singleton, size) = match &**jb {
            J::Arr(items) => (false, items.len() as i64),
            _ => (true, 1),
        };
        self.innermost_array_size = size;
        let mut res = Res::NotFound;
        for (from, to) in subs {
            let index_from = match self.array_index(from, jb)? {
                Ok(i) => i,
                Err(r) => return Ok(r),
            };
            let index_to = match to {
                Some(to) => match self.array_index(to, jb)? {
                    Ok(i) => i,
                    Err(r) => return Ok(r),
                },
                None => index_from,
            };
            if !self.ignore_structural
                && (index_from < 0 || index_from > index_to || index_to >= size)
            {
                return self.fail(
                    INVALID_SQL_JSON_SUBSCRIPT,
                    "jsonpath array subscript is out of bounds",
                );
            }
            let from = index_from.max(0);
            let to = index_to.min(size - 1);
            res = Res::NotFound;
            for index in from..=to {
                let v = if singleton {
                    jb.clone()
                } else {
                    match element(jb, index as usize) {
                        Some(v) => v,
                        None => continue,
                    }
                };
                if !has_next && found.is_none() {
                    return Ok(Res::Ok);
                }
                res = tri!(self.next(ch, i, v, found.as_deref_mut()));
                if res == Res::Ok && found.is_none() {
                    break;
                }
            }
            if res == Res::Ok && found.is_none() {
                break;
            }
        }
        Ok(res)
    }

    /// `getArrayIndex`: a subscript as an integer (truncated), or the
    /// result that ends the evaluation.
    fn array_index(&mut self, sub: &[Op], jb: &It<'r>) -> Result<Result<i64, Res>, Error> {
        let mut found = vec![];
        if self.chain(sub, jb.clone(), Some(&mut found))? == Res::Error {
            return Ok(Err(Res::Error));
        }
        let single = match found.as_slice() {
            [v] => match &**v {
                J::Num(n) => Some(n.clone()),
                _ => None,
            },
            _ => None,
        };
        let Some(n) = single else {
            return self
                .fail(
                    INVALID_SQL_JSON_SUBSCRIPT,
                    "jsonpath array subscript is not a single numeric value",
                )
                .map(Err);
        };
        let t = n.integral(n.v.sign() == Sign::Minus);
        match i32::try_from(&t.v) {
            Ok(i) => Ok(Ok(i64::from(i))),
            Err(_) => self
                .fail(
                    INVALID_SQL_JSON_SUBSCRIPT,
                    "jsonpath array subscript is out of integer range",
                )
                .map(Err),
        }
    }

    /// `executeItemOptUnwrapResult`: a chain's items, arrays among them
    /// unwrapped in lax mode when `unwrap`.
    fn unwrapped(&mut self, ch: &[Op], jb: &It<'r>, unwrap: bool, out: &mut Vec<It<'r>>) -> R {
        if unwrap && self.lax {
            let mut seq = vec![];
            tri!(self.chain(ch, jb.clone(), Some(&mut seq)));
            for item in seq {
                if matches!(*item, J::Arr(_)) {
                    out.extend(children(&item));
                } else {
                    out.push(item);
                }
            }
            return Ok(Res::Ok);
        }
        self.chain(ch, jb.clone(), Some(out))
    }

    /// [`Self::unwrapped`] with errors returned, not thrown.
    fn unwrapped_no_throw(
        &mut self,
        ch: &[Op],
        jb: &It<'r>,
        unwrap: bool,
        out: &mut Vec<It<'r>>,
    ) -> R {
        let saved = self.throw;
        self.throw = false;
        let r = self.unwrapped(ch, jb, unwrap, out);
        self.throw = saved;
        r
    }

    #[allow(clippy::too_many_arguments)]
    fn binary_arith(
        &mut self,
        ch: &[Op],
        i: usize,
        op: Arith,
        l: &[Op],
        r: &[Op],
        jb: &It<'r>,
        found: Found<'_, 'r>,
    ) -> R {
        let mut lseq = vec![];
        tri!(self.unwrapped(l, jb, true, &mut lseq));
        let mut rseq = vec![];
        tri!(self.unwrapped(r, jb, true, &mut rseq));
        let single = |seq: &[It<'r>]| match seq {
            [v] => match &**v {
                J::Num(n) => Some(n.clone()),
                _ => None,
            },
            _ => None,
        };
        let Some(a) = single(&lseq) else {
            return self.fail(
                SINGLETON_SQL_JSON_ITEM_REQUIRED,
                format!(
                    "left operand of jsonpath operator {} is not a single numeric value",
                    op.symbol()
                ),
            );
        };
        let Some(b) = single(&rseq) else {
            return self.fail(
                SINGLETON_SQL_JSON_ITEM_REQUIRED,
                format!(
                    "right operand of jsonpath operator {} is not a single numeric value",
                    op.symbol()
                ),
            );
        };
        let result = match op {
            Arith::Add => a.add(&b),
            Arith::Sub => a.sub(&b),
            Arith::Mul => a.mul(&b),
            Arith::Div => a.div(&b),
            Arith::Mod => a.modulo(&b),
        };
        let n = match result {
            Ok(n) => n,
            Err(e) if self.throw => return Err(e.into_error()),
            Err(_) => return Ok(Res::Error),
        };
        if i + 1 >= ch.len() && found.is_none() {
            return Ok(Res::Ok);
        }
        self.next(ch, i, Cow::Owned(J::Num(n)), found)
    }

    fn unary_arith(
        &mut self,
        ch: &[Op],
        i: usize,
        minus: bool,
        a: &[Op],
        jb: &It<'r>,
        mut found: Found<'_, 'r>,
    ) -> R {
        let mut seq = vec![];
        tri!(self.unwrapped(a, jb, true, &mut seq));
        let has_next = i + 1 < ch.len();
        let mut res = Res::NotFound;
        for v in seq {
            let J::Num(n) = &*v else {
                if found.is_none() && !has_next {
                    continue;
                }
                return self.fail(
                    SQL_JSON_NUMBER_NOT_FOUND,
                    format!(
                        "operand of unary jsonpath operator {} is not a numeric value",
                        if minus { "-" } else { "+" }
                    ),
                );
            };
            if found.is_none() && !has_next {
                return Ok(Res::Ok);
            }
            let n = if minus { n.neg() } else { n.clone() };
            let r = tri!(self.next(ch, i, Cow::Owned(J::Num(n)), found.as_deref_mut()));
            if r == Res::Ok {
                if found.is_none() {
                    return Ok(Res::Ok);
                }
                res = Res::Ok;
            }
        }
        Ok(res)
    }

    fn method(
        &mut self,
        ch: &[Op],
        i: usize,
        m: Method,
        jb: It<'r>,
        found: Found<'_, 'r>,
        unwrap: bool,
    ) -> R {
        let name = m.name();
        match m {
            Method::Type => {
                let t = J::Str(jb.type_name().to_string());
                self.next(ch, i, Cow::Owned(t), found)
            }
            Method::Size => {
                let size = match &*jb {
                    J::Arr(items) => items.len() as i64,
                    _ if !self.lax => {
                        if !self.ignore_structural {
                            return self.fail(
                                SQL_JSON_ARRAY_NOT_FOUND,
                                format!(
                                    "jsonpath item method .{name}() can only be applied to an array"
                                ),
                            );
                        }
                        return Ok(Res::NotFound);
                    }
                    _ => 1,
                };
                self.next(ch, i, Cow::Owned(J::Num(Num::int(size))), found)
            }
            Method::Abs | Method::Floor | Method::Ceiling => {
                if unwrap && matches!(*jb, J::Arr(_)) {
                    return self.any_item(ch, Some(i), &jb, found, 1, 1, 1, false, false);
                }
                let J::Num(n) = &*jb else {
                    return self.fail(
                        NON_NUMERIC_SQL_JSON_ITEM,
                        format!(
                            "jsonpath item method .{name}() can only be applied to a numeric value"
                        ),
                    );
                };
                let n = match m {
                    Method::Abs => n.abs(),
                    Method::Floor => n.integral(false),
                    _ => n.integral(true),
                };
                if i + 1 >= ch.len() && found.is_none() {
                    return Ok(Res::Ok);
                }
                self.next(ch, i, Cow::Owned(J::Num(n)), found)
            }
            Method::Double => {
                if unwrap && matches!(*jb, J::Arr(_)) {
                    return self.any_item(ch, Some(i), &jb, found, 1, 1, 1, false, false);
                }
                match &*jb {
                    J::Num(n) => {
                        if float8(&n.text()).is_none() {
                            return self.fail(
                                NON_NUMERIC_SQL_JSON_ITEM,
                                format!("numeric argument of jsonpath item method .{name}() is out of range for type double precision"),
                            );
                        }
                        self.next(ch, i, jb, found)
                    }
                    J::Str(s) => match float8(s) {
                        Some(f) => {
                            let n = float8_numeric(f)?;
                            self.next(ch, i, Cow::Owned(J::Num(n)), found)
                        }
                        None => self.fail(
                            NON_NUMERIC_SQL_JSON_ITEM,
                            format!("string argument of jsonpath item method .{name}() is not a valid representation of a double precision number"),
                        ),
                    },
                    _ => self.fail(
                        NON_NUMERIC_SQL_JSON_ITEM,
                        format!("jsonpath item method .{name}() can only be applied to a string or numeric value"),
                    ),
                }
            }
            Method::KeyValue => self.keyvalue(ch, i, jb, found, unwrap),
            Method::Datetime => Err(not_supported(
                "jsonpath item method .datetime() is not supported here",
            )),
        }
    }

    /// `executeKeyValueMethod`: each member as `{"id": …, "key": …,
    /// "value": …}`, the id numbering the object within its base object.
    fn keyvalue(
        &mut self,
        ch: &[Op],
        i: usize,
        jb: It<'r>,
        mut found: Found<'_, 'r>,
        unwrap: bool,
    ) -> R {
        if unwrap && matches!(*jb, J::Arr(_)) {
            return self.any_item(ch, Some(i), &jb, found, 1, 1, 1, false, false);
        }
        let J::Obj(members) = &*jb else {
            return self.fail(
                SQL_JSON_OBJECT_NOT_FOUND,
                "jsonpath item method .keyvalue() can only be applied to an object",
            );
        };
        if members.is_empty() {
            return Ok(Res::NotFound);
        }
        let has_next = i + 1 < ch.len();
        if !has_next && found.is_none() {
            return Ok(Res::Ok);
        }
        let id = self.object_id(&jb)?;
        let mut res = Res::NotFound;
        for (k, v) in members {
            let obj = J::Obj(vec![
                ("id".into(), J::Num(Num::int(id))),
                ("key".into(), J::Str(k.clone())),
                ("value".into(), v.clone()),
            ]);
            let saved = self.base;
            self.base = Base::Generated(self.last_generated);
            self.last_generated += 1;
            let r = self.next(ch, i, Cow::Owned(obj), found.as_deref_mut());
            self.base = saved;
            res = tri!(r);
            if res == Res::Ok && found.is_none() {
                break;
            }
        }
        Ok(res)
    }

    /// The id `.keyvalue()` gives object `jb`: its byte offset in its base
    /// object's binary form, plus the base's number times 10^10.
    fn object_id(&mut self, jb: &It<'r>) -> Result<i64, Error> {
        const SCALE: i64 = 10_000_000_000;
        let refuse = || {
            not_supported(
                "jsonpath item method .keyvalue() of an object inside one .keyvalue() built is not supported here",
            )
        };
        let address = match jb {
            Cow::Borrowed(j) => *j as *const J as usize,
            Cow::Owned(_) => match self.base {
                // The generated object itself is its base object.
                Base::Generated(n) => return Ok(n * SCALE),
                _ => return Err(refuse()),
            },
        };
        let (layout, base) = match self.base {
            Base::Root => (self.root_layout.get_or_insert_with(|| layout(self.root)), 0),
            Base::Vars => match self.vars {
                Some(vars) => (self.vars_layout.get_or_insert_with(|| layout(vars)), 1),
                None => return Err(refuse()),
            },
            Base::Generated(_) => return Err(refuse()),
        };
        match layout.get(&address) {
            Some(offset) => Ok(offset + base * SCALE),
            None => Err(refuse()),
        }
    }

    /// `executeBoolItem` of a predicate chain (one item).
    fn bool_chain(&mut self, ch: &[Op], jb: &It<'r>) -> Result<Tri, Error> {
        match ch.first() {
            Some(op) if op.is_predicate() => self.bool_item(op, jb),
            _ => Err(coded(code::INTERNAL_ERROR, "invalid boolean jsonpath item")),
        }
    }

    fn bool_item(&mut self, op: &Op, jb: &It<'r>) -> Result<Tri, Error> {
        Ok(match op {
            Op::And(a, b) => {
                let x = self.bool_chain(a, jb)?;
                if x == Tri::False {
                    return Ok(Tri::False);
                }
                let y = self.bool_chain(b, jb)?;
                if y == Tri::True { x } else { y }
            }
            Op::Or(a, b) => {
                let x = self.bool_chain(a, jb)?;
                if x == Tri::True {
                    return Ok(Tri::True);
                }
                let y = self.bool_chain(b, jb)?;
                if y == Tri::False { x } else { y }
            }
            Op::Not(a) => match self.bool_chain(a, jb)? {
                Tri::True => Tri::False,
                Tri::False => Tri::True,
                Tri::Unknown => Tri::Unknown,
            },
            Op::IsUnknown(a) => {
                if self.bool_chain(a, jb)? == Tri::Unknown {
                    Tri::True
                } else {
                    Tri::False
                }
            }
            Op::Cmp(cmp, l, r) => {
                let cmp = *cmp;
                self.predicate(l, Some(r), jb, true, |a, b| compare(cmp, a, b))?
            }
            Op::StartsWith(l, r) => self.predicate(l, Some(r), jb, false, |a, b| match (a, b) {
                (J::Str(whole), Some(J::Str(initial))) => {
                    if whole.as_bytes().starts_with(initial.as_bytes()) {
                        Tri::True
                    } else {
                        Tri::False
                    }
                }
                _ => Tri::Unknown,
            })?,
            Op::LikeRegex(l, re) => self.predicate(l, None, jb, false, |a, _| match a {
                J::Str(s) => {
                    if re.regex.is_match(s) {
                        Tri::True
                    } else {
                        Tri::False
                    }
                }
                _ => Tri::Unknown,
            })?,
            Op::Exists(a) => {
                let mut vals = vec![];
                if !self.lax {
                    if self.unwrapped_no_throw(a, jb, false, &mut vals)? == Res::Error {
                        return Ok(Tri::Unknown);
                    }
                    if vals.is_empty() {
                        Tri::False
                    } else {
                        Tri::True
                    }
                } else {
                    let saved = self.throw;
                    self.throw = false;
                    let r = self.chain(a, jb.clone(), None);
                    self.throw = saved;
                    match r? {
                        Res::Error => Tri::Unknown,
                        Res::Ok => Tri::True,
                        Res::NotFound => Tri::False,
                    }
                }
            }
            _ => return Err(coded(code::INTERNAL_ERROR, "invalid boolean jsonpath item")),
        })
    }

    /// `executePredicate`: the predicate on every pair of the left and
    /// right items; lax mode answers at the first true, strict mode at the
    /// first unknown.
    fn predicate(
        &mut self,
        l: &[Op],
        r: Option<&Chain>,
        jb: &It<'r>,
        unwrap_right: bool,
        test: impl Fn(&J, Option<&J>) -> Tri,
    ) -> Result<Tri, Error> {
        let mut lseq = vec![];
        if self.unwrapped_no_throw(l, jb, true, &mut lseq)? == Res::Error {
            return Ok(Tri::Unknown);
        }
        let mut rseq = vec![];
        if let Some(r) = r
            && self.unwrapped_no_throw(r, jb, unwrap_right, &mut rseq)? == Res::Error
        {
            return Ok(Tri::Unknown);
        }
        let (mut error, mut found) = (false, false);
        for lv in &lseq {
            let rights: Vec<Option<&J>> = if r.is_some() {
                rseq.iter().map(|v| Some(&**v)).collect()
            } else {
                vec![None]
            };
            for rv in rights {
                match test(lv, rv) {
                    Tri::Unknown => {
                        if !self.lax {
                            return Ok(Tri::Unknown);
                        }
                        error = true;
                    }
                    Tri::True => {
                        if self.lax {
                            return Ok(Tri::True);
                        }
                        found = true;
                    }
                    Tri::False => {}
                }
            }
        }
        Ok(if found {
            Tri::True
        } else if error {
            Tri::Unknown
        } else {
            Tri::False
        })
    }
}

/// `compareItems`: items of different types are unknown (but `null`
/// equals only `null`), containers are unknown, strings compare by bytes.
fn compare(op: CmpOp, a: &J, b: Option<&J>) -> Tri {
    let Some(b) = b else {
        return Tri::Unknown;
    };
    let order = match (a, b) {
        (J::Null, J::Null) => Ordering::Equal,
        (J::Null, _) | (_, J::Null) => {
            return if op == CmpOp::Ne {
                Tri::True
            } else {
                Tri::False
            };
        }
        (J::Bool(x), J::Bool(y)) => x.cmp(y),
        (J::Num(x), J::Num(y)) => x.cmp_value(y),
        (J::Str(x), J::Str(y)) => x.as_bytes().cmp(y.as_bytes()),
        _ => return Tri::Unknown,
    };
    let yes = match op {
        CmpOp::Eq => order.is_eq(),
        CmpOp::Ne => order.is_ne(),
        CmpOp::Lt => order.is_lt(),
        CmpOp::Le => order.is_le(),
        CmpOp::Gt => order.is_gt(),
        CmpOp::Ge => order.is_ge(),
    };
    if yes { Tri::True } else { Tri::False }
}

/// `float8in`: a finite `double precision` from text (blanks around it
/// allowed), or `None` for what PostgreSQL refuses or reads as infinite
/// or NaN (which `.double()` refuses too).
fn float8(text: &str) -> Option<f64> {
    let t = text.trim_matches(|c: char| c.is_ascii_whitespace());
    if t.is_empty()
        || !t
            .bytes()
            .all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'e' | b'E' | b'+' | b'-'))
    {
        return None;
    }
    let f: f64 = t.parse().ok()?;
    if !f.is_finite() {
        return None;
    }
    // Underflow to zero of a nonzero number is out of range there.
    let mantissa = t.split(['e', 'E']).next().unwrap_or("");
    if f == 0.0 && mantissa.bytes().any(|b| (b'1'..=b'9').contains(&b)) {
        return None;
    }
    Some(f)
}

/// `float8_numeric`: the value printed with 15 significant digits (`%.15g`)
/// and read as `numeric`.
fn float8_numeric(f: f64) -> Result<Num, Error> {
    let sci = format!("{:.14e}", f);
    let (mantissa, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let mantissa = if mantissa.contains('.') {
        mantissa.trim_end_matches('0').trim_end_matches('.')
    } else {
        mantissa
    };
    let text = if (-4..15).contains(&exp) {
        // Fixed notation with the significant digits kept.
        let negative = mantissa.starts_with('-');
        let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
        let point = exp + 1;
        let body = if point <= 0 {
            format!("0.{}{digits}", "0".repeat((-point) as usize))
        } else if point as usize >= digits.len() {
            format!("{digits}{}", "0".repeat(point as usize - digits.len()))
        } else {
            format!(
                "{}.{}",
                &digits[..point as usize],
                &digits[point as usize..]
            )
        };
        format!("{}{body}", if negative { "-" } else { "" })
    } else {
        format!("{mantissa}e{exp}")
    };
    Num::parse(&text).map_err(JsonError::into_error)
}

// ---------------------------------------------------------------------
// The SQL functions' evaluations
// ---------------------------------------------------------------------

/// A document (and the `vars` object) as the evaluator reads them.
fn read(text: &str) -> Result<J, Error> {
    Ok(J::from_node(&value::parse_jsonb(text)?)?)
}

/// `jsonb_path_exists` (and `@?`, which has no `vars`: `None`): NULL when
/// a silent evaluation failed.
pub fn path_exists(
    path: &JsonPath,
    doc: &str,
    vars: Option<&str>,
    silent: bool,
) -> Result<Option<bool>, Error> {
    let doc = read(doc)?;
    let vars = vars.map(read).transpose()?;
    let mut ev = Evaluation::new(path, &doc, vars.as_ref(), !silent)?;
    Ok(match ev.exists(path)? {
        Res::Error => None,
        r => Some(r == Res::Ok),
    })
}

/// `jsonb_path_match` (and `@@`): the single boolean the path yields,
/// NULL for a single `null`; anything else is 22038 unless silent (NULL).
pub fn path_match(
    path: &JsonPath,
    doc: &str,
    vars: Option<&str>,
    silent: bool,
) -> Result<Option<bool>, Error> {
    let doc = read(doc)?;
    let vars = vars.map(read).transpose()?;
    let mut ev = Evaluation::new(path, &doc, vars.as_ref(), !silent)?;
    let (_, found) = ev.query(path)?;
    if let [v] = found.as_slice() {
        match &**v {
            J::Bool(b) => return Ok(Some(*b)),
            J::Null => return Ok(None),
            _ => {}
        }
    }
    if silent {
        return Ok(None);
    }
    Err(coded(
        SINGLETON_SQL_JSON_ITEM_REQUIRED,
        "single boolean result is expected",
    ))
}

/// `jsonb_path_query`: every item as `jsonb` text (a silent evaluation
/// that failed keeps what it found before).
pub fn path_query(
    path: &JsonPath,
    doc: &str,
    vars: Option<&str>,
    silent: bool,
) -> Result<Vec<String>, Error> {
    let doc = read(doc)?;
    let vars = vars.map(read).transpose()?;
    let mut ev = Evaluation::new(path, &doc, vars.as_ref(), !silent)?;
    let (_, found) = ev.query(path)?;
    found
        .iter()
        .map(|v| v.text().map_err(JsonError::into_error))
        .collect()
}

/// `jsonb_path_query_array`: the items as one array.
pub fn path_query_array(
    path: &JsonPath,
    doc: &str,
    vars: Option<&str>,
    silent: bool,
) -> Result<String, Error> {
    let items = path_query(path, doc, vars, silent)?;
    Ok(format!("[{}]", items.join(", ")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state_of(e: &Error) -> Option<&'static str> {
        match e {
            DataFusionError::External(inner) => inner
                .downcast_ref::<crate::sqlstate::Coded>()
                .map(|c| c.code),
            _ => None,
        }
    }

    /// The items as `jsonb_path_query` gives them, joined by ` | `; or the
    /// SQLSTATE.
    fn query(doc: &str, path: &str) -> String {
        query_with(doc, path, "{}", false)
    }

    fn query_with(doc: &str, path: &str, vars: &str, silent: bool) -> String {
        let state = |e: Error| state_of(&e).unwrap_or("?").to_string();
        match parse(path).and_then(|p| path_query(&p, doc, Some(vars), silent)) {
            Ok(items) => items.join(" | "),
            Err(e) => state(e),
        }
    }

    fn exists(doc: &str, path: &str, silent: bool) -> Option<bool> {
        parse(path)
            .and_then(|p| path_exists(&p, doc, Some("{}"), silent))
            .ok()
            .flatten()
    }

    /// A path as deep as the limit allows parses and runs on a worker's
    /// stack (a test thread's 2 MiB, as tokio's); a longer one is refused
    /// with 54001, never a stack overflow that takes the server down.
    #[test]
    fn deep_paths_are_bounded() {
        let nested = format!("{}1{}", "(".repeat(31), ")".repeat(31));
        assert_eq!(query("{}", &nested), "1");
        let chain = format!("1{}", " + 1".repeat(127));
        assert_eq!(query("{}", &chain), "128");
        let signs = format!("{}1", "- ".repeat(30));
        assert_eq!(query("{}", &signs), "1");
        let filters = format!("$.a{}", " ? (@ > 0)".repeat(30));
        assert_eq!(query(r#"{"a": 1}"#, &filters), "1");
        for deeper in [
            format!("{}1{}", "(".repeat(20_000), ")".repeat(20_000)),
            format!("1{}", " + 1".repeat(50_000)),
            format!("{}1", "- ".repeat(100_000)),
            format!("$.a{}", " ? (@ > 0)".repeat(1_000)),
        ] {
            assert_eq!(query("{}", &deeper), "54001");
        }
    }

    #[test]
    fn accessors_are_postgresqls() {
        // Expected: PostgreSQL 15.18.
        let doc = r#"{"a": [1, 2, 3], "b": {"c": "x", "d": [{"e": 1}, {"e": 2}]}, "f g": true}"#;
        assert_eq!(query(r#"{"a": [1, 2, 3]}"#, "$.a[1]"), "2");
        assert_eq!(query(doc, "$.a[last]"), "3");
        assert_eq!(query(doc, "$.a[0 to 1, last]"), "1 | 2 | 3");
        assert_eq!(query(doc, "$.a[last - 1 to last]"), "2 | 3");
        assert_eq!(query(doc, "$.\"f g\""), "true");
        assert_eq!(query(doc, "$.b.*"), r#""x" | [{"e": 1}, {"e": 2}]"#);
        assert_eq!(query(doc, "$.b.d.e"), "1 | 2");
        assert_eq!(query(doc, "$.b.d[*].e"), "1 | 2");
        assert_eq!(query(doc, "$.zz"), "");
        assert_eq!(query(doc, "strict $.zz"), "2203A");
        assert_eq!(query(doc, "strict $.a.x"), "2203A");
        assert_eq!(query(doc, "strict $.a[5]"), "22033");
        assert_eq!(query(doc, "$.a[5]"), "");
        assert_eq!(query(doc, "strict $.b[0]"), "22039");
        assert_eq!(query(doc, "$.b[0].c"), r#""x""#);
        assert_eq!(query(doc, "strict $.a.*"), "2203C");
        assert_eq!(
            query("[1, [2, [3]]]", "$.**"),
            "[1, [2, [3]]] | 1 | [2, [3]] | 2 | [3] | 3"
        );
        assert_eq!(query("[1, [2, [3]]]", "$.**{2}"), "2 | [3]");
        assert_eq!(query("[1, [2, [3]]]", "lax $.**{last}"), "1 | 2 | 3");
        assert_eq!(query("1", "$.**"), "1");
        assert_eq!(query(doc, "$.a.size()"), "3");
        assert_eq!(query(doc, "$.b.type()"), r#""object""#);
        assert_eq!(query(doc, "strict $.b.size()"), "22039");
        assert_eq!(query("[[1, 2]]", "$[*].size()"), "2");
    }

    #[test]
    fn filters_and_predicates_are_postgresqls() {
        let doc = r#"[{"x": "a", "n": 1}, {"x": "b", "n": 2}, {"x": "ab", "n": 3}, {"n": "s"}]"#;
        assert_eq!(
            query(doc, "$[*] ? (@.n > 1 && @.x starts with \"a\").n"),
            "3"
        );
        assert_eq!(
            query(doc, "$[*] ? (@.n == 1 || !(@.x like_regex \"^a\")).x"),
            r#""a" | "b""#
        );
        assert_eq!(query(doc, "$[*] ? (exists(@.x)).n"), "1 | 2 | 3");
        assert_eq!(query(doc, "$[*] ? ((@.n > 1) is unknown).n"), r#""s""#);
        assert_eq!(query(doc, "$[*].n ? (@ >= $min)"), "42704");
        assert_eq!(
            query_with(doc, "$[*].n ? (@ >= $min)", r#"{"min": 2}"#, false),
            "2 | 3"
        );
        assert_eq!(query(doc, "$.a == 1"), "false");
        assert_eq!(query("1", "$ == 1"), "true");
        assert_eq!(query("[1, 2]", "$ == 2"), "true");
        assert_eq!(query("[1, 2]", "strict $[*] == 2"), "true");
        assert_eq!(query("[1, \"a\"]", "strict $[*] == 1"), "null");
        assert_eq!(query("null", "$ != 1"), "true");
        assert_eq!(query(r#""aBc""#, "$ like_regex \"b\" flag \"i\""), "true");
        assert_eq!(query(r#""a.c""#, "$ like_regex \"a.c\" flag \"q\""), "true");
        assert_eq!(
            query(r#""abc""#, "$ like_regex \"a.c\" flag \"q\""),
            "false"
        );
        assert_eq!(exists(r#"{"a": 1}"#, "$.a ? (@ > 0)", false), Some(true));
        assert_eq!(exists(r#"{"a": 1}"#, "strict $.b", true), None);
        assert_eq!(exists(r#"{"a": 1}"#, "strict $.b", false), None);
        assert_eq!(exists(r#"{}"#, "$.a == 1", false), Some(true));
    }

    #[test]
    fn arithmetic_and_methods_are_postgresqls() {
        assert_eq!(query("1", "10 / 3"), "3.3333333333333333");
        assert_eq!(query("1", "1 / 3.000"), "0.33333333333333333333");
        assert_eq!(query("1", "-7 % 3"), "-1");
        assert_eq!(query("1", "7.5 % -2"), "1.5");
        assert_eq!(query("1", "1.10 * 2.5"), "2.750");
        assert_eq!(query("1", "$ / 0"), "22012");
        assert_eq!(query("[1, [2, 3]]", "$[*] + 1"), "22038");
        assert_eq!(query("[1, 2]", "-$[*]"), "-1 | -2");
        assert_eq!(query(r#"["a"]"#, "-$[*]"), "2203B");
        assert_eq!(query("[-1.5, 2.5]", "$[*].abs()"), "1.5 | 2.5");
        assert_eq!(query("[-1.5, 2.5]", "$[*].floor()"), "-2 | 2");
        assert_eq!(query("[-1.5, 2.5]", "$[*].ceiling()"), "-1 | 3");
        assert_eq!(query(r#""x""#, "$.abs()"), "22036");
        assert_eq!(query(r#""1e20""#, "$.double()"), "100000000000000000000");
        assert_eq!(query(r#""1.5e-5""#, "$.double()"), "0.000015");
        assert_eq!(query(r#"" 12 ""#, "$.double()"), "12");
        assert_eq!(query(r#""0.1""#, "$.double()"), "0.1");
        assert_eq!(query(r#""x""#, "$.double()"), "22036");
        assert_eq!(
            query("1.2345678901234567", "$.double()"),
            "1.2345678901234567"
        );
        assert_eq!(
            query_with("[1, \"a\", 3]", "strict $[*].abs()", "{}", true),
            "1"
        );
    }

    #[test]
    fn keyvalue_ids_are_postgresqls() {
        // PostgreSQL 15.18.
        assert_eq!(
            query(r#"{"a": 1, "b": [1]}"#, "$.keyvalue()"),
            r#"{"id": 0, "key": "a", "value": 1} | {"id": 0, "key": "b", "value": [1]}"#
        );
        assert_eq!(
            query_with(r#"{"a": 1}"#, "$x.keyvalue()", r#"{"x": {"q": 1}}"#, false),
            r#"{"id": 10000000016, "key": "q", "value": 1}"#
        );
        assert_eq!(
            query(r#"{"a": 1}"#, "$.keyvalue().keyvalue()"),
            r#"{"id": 20000000000, "key": "id", "value": 0} | {"id": 20000000000, "key": "key", "value": "a"} | {"id": 20000000000, "key": "value", "value": 1}"#
        );
        assert_eq!(query("[1]", "$.keyvalue()"), "2203C");
        assert_eq!(query("[]", "$.keyvalue()"), "");
        assert_eq!(query("1", "$.keyvalue()"), "2203C");
    }

    #[test]
    fn syntax_is_postgresqls() {
        for bad in [
            "$ ? (@ == True)",
            "$.1",
            "1.type()",
            "$ ? (@.a)",
            "1 == 1 == 1",
            "$ == 1 && true",
            "$ ? (1 < 2 < 3)",
            "$.a.b.c()",
            "@",
            "last",
            "00",
            "$ ? (@ like_regex \"a\" flag \"z\")",
            "$.",
            "$[",
            "strict",
        ] {
            let e = parse(bad).err();
            assert_eq!(e.as_ref().and_then(state_of), Some("42601"), "{bad}");
        }
        assert!(parse("").is_err());
        for good in [
            "$.a.b[1 to last, 2].**{2 to last}.\"x y\".*[*] ? (exists(@.a) && !(@ starts with \"x\") || @ like_regex \"a.b\" flag \"iq\")",
            "-1.5 + 2 * $.a % 3 / -($.b)",
            "$.a.size().type().double().abs().floor().ceiling().keyvalue()",
            "STRICT $.A.SIZE()",
            "$.a.size",
            ".5 + 1. + 1e3 + 1.5e-2 + 0.0",
            "$a.b",
            "$\"a b\"",
            "$.a /* c */ .b",
            "($.a > 1).type()",
            "$ ? ((@ > 1) is unknown)",
            "$.null.true.is",
            "$ ? (@ < 1) ? (@ > 0)",
        ] {
            assert!(parse(good).is_ok(), "{good}");
        }
    }
}
