//! `to_number(text, template)`: a number read by a PostgreSQL number
//! template, as PostgreSQL 15's `NUM_processor` reads it (C locale), into a
//! `numeric`. The template is parsed as `to_char` parses it
//! ([`super::to_char::number::parse`]), with the same errors. Each template
//! item reads the input in turn:
//!
//! - `9`, `0` a digit (a sign before the first one, and a space is
//!   skipped), `.`/`D` a decimal point or a digit (no more decimals are kept
//!   than the template has);
//! - `,`/`G` a comma if the input has one there (nothing in `FM` mode);
//! - `S` a sign before or after the digits, `MI`/`PL`/`SG` a `-`/`+` where
//!   they stand, `PR` a `<` before the digits; `L` and `TH` skip non-digit
//!   characters (the currency symbol, an ordinal suffix);
//! - `V` multiplies by 10^-n (n the `9`s after it), with PostgreSQL's 16
//!   more decimals; any other character skips one input character.
//!
//! Reading stops where the input or the template ends; the digits read,
//! with their sign, are the value, with as many decimals as were read. No
//! digit at all is 22P02 (`invalid input syntax for type numeric`), more
//! whole digits than the template has room for 22003; `EEEE` and `RN` are
//! 0A000 (not supported for input), an empty template answers NULL.
//!
//! PostgreSQL gives each value the decimals it read; an Arrow column has
//! one scale, the template's decimals (`9G999D99`: 2), and a value that
//! read fewer shows them padded (`to_number('12.5', '99.99')` is `12.50`
//! here, `12.5` in PostgreSQL). A template that is not a constant gives
//! 10 decimals.

use std::sync::Arc;

use datafusion::arrow::array::Decimal128Array;
use datafusion::arrow::datatypes::{DataType, Field, FieldRef};
use datafusion::common::{Result, ScalarValue};
use datafusion::logical_expr::{
    ColumnarValue, ReturnFieldArgs, ScalarFunctionArgs, ScalarUDFImpl, Signature, Volatility,
};

use super::to_char::number::{Desc, LSign, NumKey, NumNode, parse};
use crate::sqlstate::{code, coded};

/// PostgreSQL's scale of `power(10::numeric, -n)`, which `V` multiplies by.
const MULTIPLIER_SCALE: u32 = 16;
/// The scale of a value read by a template that is not a constant.
const UNKNOWN_SCALE: i8 = 10;

/// `to_number`; see the module documentation.
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct ToNumber {
    signature: Signature,
}

impl ToNumber {
    pub fn new() -> Self {
        Self {
            signature: Signature::user_defined(Volatility::Immutable),
        }
    }
}

impl Default for ToNumber {
    fn default() -> Self {
        Self::new()
    }
}

/// The column's scale for a template.
fn template_scale(template: &str) -> i8 {
    match parse(template) {
        Ok((_, desc)) => {
            let multi = if desc.has_multi { MULTIPLIER_SCALE } else { 0 };
            (desc.post.max(0) as u32 + multi).min(38) as i8
        }
        Err(_) => 0,
    }
}

fn constant_text(v: &ScalarValue) -> Option<Option<&str>> {
    match v {
        ScalarValue::Utf8(s) | ScalarValue::LargeUtf8(s) | ScalarValue::Utf8View(s) => {
            Some(s.as_deref())
        }
        ScalarValue::Null => Some(None),
        _ => None,
    }
}

impl ScalarUDFImpl for ToNumber {
    fn name(&self) -> &str {
        "to_number"
    }
    fn signature(&self) -> &Signature {
        &self.signature
    }
    fn coerce_types(&self, args: &[DataType]) -> Result<Vec<DataType>> {
        let text = |t: &DataType| {
            matches!(
                t,
                DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View | DataType::Null
            )
        };
        match args {
            [a, b] if text(a) && text(b) => Ok(vec![DataType::Utf8, DataType::Utf8]),
            _ => Err(coded(
                code::UNDEFINED_FUNCTION,
                format!(
                    "function to_number({}) does not exist",
                    args.iter()
                        .map(|t| t.to_string())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            )),
        }
    }
    fn return_type(&self, _: &[DataType]) -> Result<DataType> {
        Ok(DataType::Decimal128(38, UNKNOWN_SCALE))
    }
    fn return_field_from_args(&self, args: ReturnFieldArgs) -> Result<FieldRef> {
        let scale = match args.scalar_arguments.get(1).copied().flatten() {
            Some(v) => match constant_text(v) {
                Some(Some(template)) => template_scale(template),
                Some(None) => UNKNOWN_SCALE,
                None => UNKNOWN_SCALE,
            },
            None => UNKNOWN_SCALE,
        };
        Ok(Arc::new(Field::new(
            self.name(),
            DataType::Decimal128(38, scale),
            true,
        )))
    }
    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let DataType::Decimal128(_, scale) = args.return_field.data_type() else {
            return datafusion::common::internal_err!("to_number answers a decimal");
        };
        let scale = *scale;
        let scalar = super::all_scalar(&args.args);
        let rows = args.number_rows;
        let texts = |i: usize| -> Result<Vec<Option<String>>> {
            let array =
                datafusion::arrow::compute::cast(&args.args[i].to_array(rows)?, &DataType::Utf8)?;
            use datafusion::arrow::array::AsArray;
            Ok(array
                .as_string::<i32>()
                .iter()
                .map(|s| s.map(str::to_string))
                .collect())
        };
        let (values, templates) = (texts(0)?, texts(1)?);
        let out = values
            .iter()
            .zip(&templates)
            .map(|(v, t)| match (v, t) {
                (Some(v), Some(t)) => match to_number(v, t)? {
                    Some((m, s)) => Ok(Some(at_scale(m, s, u32::from(scale.unsigned_abs()))?)),
                    None => Ok(None),
                },
                _ => Ok(None),
            })
            .collect::<Result<Vec<_>>>()?;
        let array = Decimal128Array::from(out).with_precision_and_scale(38, scale)?;
        super::answer(Arc::new(array), scalar)
    }
}

/// `m` of scale `s` at scale `to`, rounded half away from zero.
fn at_scale(m: i128, s: u32, to: u32) -> Result<i128> {
    let value = super::numeric_math::round_to(&num_bigint::BigInt::from(m), s, to);
    i128::try_from(&value)
        .ok()
        .filter(|v| v.unsigned_abs() < 10u128.pow(38))
        .ok_or_else(field_overflow)
}

fn field_overflow() -> datafusion::common::DataFusionError {
    coded(code::NUMERIC_VALUE_OUT_OF_RANGE, "numeric field overflow")
}

/// PostgreSQL's locale strings in the C locale.
const NEGATIVE: u8 = b'-';
const POSITIVE: u8 = b'+';

/// The reading state (PostgreSQL's `NUMProc`, read direction).
struct Reader<'a> {
    desc: &'a Desc,
    input: &'a [u8],
    p: usize,
    /// The sign (`' '`, `-`, `+`) and then the digits and point read.
    number: Vec<u8>,
    read_pre: i64,
    read_post: i64,
    read_dec: bool,
}

impl Reader<'_> {
    fn done(&self) -> bool {
        self.p >= self.input.len()
    }

    fn at(&self, i: usize) -> u8 {
        self.input.get(i).copied().unwrap_or(0)
    }

    /// `NUM_numpart_from_char`: a digit, a decimal point, or a sign.
    fn numpart(&mut self, key: NumKey) {
        if self.done() {
            return;
        }
        if self.at(self.p) == b' ' {
            self.p += 1;
        }
        if self.done() {
            return;
        }
        let digit_key = matches!(key, NumKey::Zero | NumKey::Nine);
        if self.number[0] == b' ' && digit_key && self.read_pre + self.read_post == 0 {
            let c = self.at(self.p);
            if self.desc.has_lsign && self.desc.lsign == LSign::Pre {
                if c == NEGATIVE {
                    self.p += 1;
                    self.number[0] = b'-';
                } else if c == POSITIVE {
                    self.p += 1;
                    self.number[0] = b'+';
                }
            } else if c == b'-' || (self.desc.bracket && c == b'<') {
                self.number[0] = b'-';
                self.p += 1;
            } else if c == b'+' {
                self.number[0] = b'+';
                self.p += 1;
            }
        }
        if self.done() {
            return;
        }
        let mut read = false;
        let c = self.at(self.p);
        if c.is_ascii_digit() {
            if self.read_dec && self.read_post == self.desc.post {
                return;
            }
            self.number.push(c);
            if self.read_dec {
                self.read_post += 1;
            } else {
                self.read_pre += 1;
            }
            read = true;
        } else if self.desc.decimal && !self.read_dec && c == b'.' {
            self.number.push(b'.');
            self.read_dec = true;
            read = true;
        }
        if self.done() {
            return;
        }
        // A sign after the last digit.
        if self.number[0] == b' ' && self.read_pre + self.read_post > 0 {
            if self.desc.has_lsign
                && read
                && self.p + 1 < self.input.len()
                && !self.at(self.p + 1).is_ascii_digit()
            {
                let next = self.at(self.p + 1);
                if next == NEGATIVE {
                    self.p += 1;
                    self.number[0] = b'-';
                } else if next == POSITIVE {
                    self.p += 1;
                    self.number[0] = b'+';
                }
            } else if !read
                && !self.desc.has_lsign
                && (self.desc.plus || self.desc.minus)
                && matches!(c, b'-' | b'+')
            {
                self.number[0] = c;
            }
        }
    }

    /// `NUM_eat_non_data_chars`: skips up to `n` characters that are not
    /// digits, points, commas or signs.
    fn eat_non_data(&mut self, n: usize) {
        for _ in 0..n {
            if self.done() || b"0123456789.,+-".contains(&self.at(self.p)) {
                break;
            }
            self.skip_char();
        }
    }

    /// Skips one (UTF-8) character.
    fn skip_char(&mut self) {
        let lead = self.at(self.p);
        self.p += match lead {
            0xF0..=0xFF => 4,
            0xE0..=0xEF => 3,
            0xC0..=0xDF => 2,
            _ => 1,
        };
    }
}

/// `to_number(value, template)`: the unscaled value and its scale, or
/// `None` for an empty template.
pub fn to_number(value: &str, template: &str) -> Result<Option<(i128, u32)>> {
    if template.is_empty() {
        return Ok(None);
    }
    let (nodes, desc) = parse(template)?;
    if desc.eeee {
        return Err(coded(
            code::FEATURE_NOT_SUPPORTED,
            "\"EEEE\" not supported for input",
        ));
    }
    if desc.roman {
        return Err(coded(
            code::FEATURE_NOT_SUPPORTED,
            "\"RN\" not supported for input",
        ));
    }
    let mut r = Reader {
        desc: &desc,
        input: value.as_bytes(),
        p: 0,
        number: vec![b' '],
        read_pre: 0,
        read_post: 0,
        read_dec: false,
    };
    for node in &nodes {
        if r.done() {
            break;
        }
        match node {
            NumNode::Key(key) => match key {
                NumKey::Nine | NumKey::Zero | NumKey::Dec | NumKey::D => {
                    r.numpart(*key);
                    r.p += 1;
                }
                NumKey::Comma => {
                    if desc.fillmode || r.at(r.p) != b',' {
                        continue;
                    }
                    r.p += 1;
                }
                NumKey::G => {
                    if desc.fillmode || r.at(r.p) != b',' {
                        continue;
                    }
                    r.p += 1;
                }
                NumKey::L => r.eat_non_data(1),
                NumKey::Th | NumKey::ThLower if !desc.decimal => r.eat_non_data(2),
                NumKey::Mi | NumKey::Pl | NumKey::Sg => {
                    let c = r.at(r.p);
                    let takes = match key {
                        NumKey::Mi => c == b'-',
                        NumKey::Pl => c == b'+',
                        _ => c == b'-' || c == b'+',
                    };
                    if takes {
                        r.number[0] = c;
                        r.p += 1;
                    } else {
                        r.eat_non_data(1);
                    }
                }
                _ => {}
            },
            NumNode::Char(_) => r.skip_char(),
        }
    }
    if r.number.len() > 1 && r.number.last() == Some(&b'.') {
        r.number.pop();
    }
    let text = String::from_utf8_lossy(&r.number).to_string();
    let digits: String = r.number[1..]
        .iter()
        .filter(|c| c.is_ascii_digit())
        .map(|c| *c as char)
        .collect();
    if digits.is_empty() {
        return Err(coded(
            code::INVALID_TEXT_REPRESENTATION,
            format!("invalid input syntax for type numeric: \"{text}\""),
        ));
    }
    // numeric_in with typmod (pre + multi + read_post, read_post).
    let whole = r.number[1..]
        .iter()
        .take_while(|c| **c != b'.')
        .map(|c| *c as char)
        .collect::<String>();
    let significant = whole.trim_start_matches('0').len() as i64;
    let multi = if desc.has_multi { desc.multi } else { 0 };
    if significant > desc.pre + multi {
        return Err(field_overflow());
    }
    let digits = digits.trim_start_matches('0');
    if digits.len() > 38 {
        return Err(field_overflow());
    }
    let mut m: i128 = if digits.is_empty() {
        0
    } else {
        digits.parse().map_err(|_| field_overflow())?
    };
    if r.number[0] == b'-' {
        m = -m;
    }
    let mut scale = r.read_post as u32;
    if desc.has_multi {
        // × power(10, -multi), of 16 decimals (0 beyond them).
        let shift = MULTIPLIER_SCALE as i64 - multi;
        m = if shift >= 0 {
            m.checked_mul(10i128.pow(shift as u32))
                .ok_or_else(field_overflow)?
        } else {
            0
        };
        scale += MULTIPLIER_SCALE;
    }
    Ok(Some((m, scale)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(value: &str, template: &str) -> String {
        match to_number(value, template).unwrap() {
            Some((m, s)) => crate::server::numeric::Numeric { value: m, scale: s }.text(),
            None => "NULL".to_string(),
        }
    }

    #[test]
    fn reads_as_postgresql_15() {
        // Each answer as PostgreSQL 15 gives it.
        let cases = [
            ("1,234.50", "9G999D99", "1234.50"),
            ("-12.5", "S99.9", "-12.5"),
            ("  42", "999", "42"),
            (" 42", "999", "42"),
            ("12,454.8-", "99G999D9S", "-12454.8"),
            ("-34,338,492", "99G999G999", "-34338492"),
            (
                "-34,338,492.654,878",
                "99G999G999D999G999",
                "-34338492.654878",
            ),
            ("<564646.654564>", "999999.999999PR", "-564646.654564"),
            ("0.00001-", "9.999999S", "-0.00001"),
            ("5.01-", "FM9.999999S", "-5.01"),
            ("5.01-", "FM9.999999MI", "-5.01"),
            ("5 4 4 4 4 8 . 7 8", "9 9 9 9 9 9 . 9 9", "544448.78"),
            (".01", "FM9.99", "0.01"),
            (".0", "99999999.99999999", "0.0"),
            ("0", "99.99", "0"),
            (".-01", "S99.99", "-0.01"),
            (".01-", "99.99S", "-0.01"),
            (" . 0 1-", " 9 9 . 9 9 S", "-0.01"),
            ("34,50", "999,99", "3450"),
            ("123,000", "999G", "123"),
            ("123456", "999G999", "123456"),
            ("$1234.56", "L9,999.99", "1234.56"),
            ("$1,234.56", "L99,999.99", "1234.56"),
            ("1,234.56", "L99,999.99", "1234.56"),
            ("42nd", "99th", "42"),
            ("123456", "99999V99", "1234.5600000000000000"),
            ("1234.5678", "9999.99", "1234.56"),
            ("+12.5", "S99.9", "12.5"),
            ("12.5", "PL99.9", "12.5"),
            ("-12", "SG99", "-12"),
            ("123", "0000", "123"),
            ("1 2", "9 9", "12"),
            ("12345", "99", "12"),
            ("1.234,5", "9G999D9", "1.2"),
            ("12", "", "NULL"),
        ];
        for (value, template, want) in cases {
            assert_eq!(
                read(value, template),
                want,
                "to_number('{value}', '{template}')"
            );
        }
    }

    #[test]
    fn errors_as_postgresql_15() {
        let code_of = |v: &str, t: &str| match to_number(v, t).unwrap_err() {
            datafusion::common::DataFusionError::External(e) => e
                .downcast_ref::<crate::sqlstate::Coded>()
                .map(|c| c.code)
                .unwrap(),
            other => panic!("{other}"),
        };
        assert_eq!(code_of("abc", "999"), "22P02");
        assert_eq!(code_of("-", "9"), "22P02");
        assert_eq!(code_of("1.2e3", "9.9EEEE"), "0A000");
    }

    #[test]
    fn the_column_scale_is_the_template_decimals() {
        assert_eq!(template_scale("9G999D99"), 2);
        assert_eq!(template_scale("999"), 0);
        assert_eq!(template_scale("99V99"), 16);
    }
}
