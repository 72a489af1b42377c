//! `to_char` of a number by a number template, as PostgreSQL 15's
//! `NUM_processor` writes it (C locale): `9` a digit or a space, `0` a
//! digit or a zero, `.`/`D` the decimal point, `,`/`G` a group separator
//! (a space before the first digit), `S`/`MI`/`PL`/`SG`/`PR` the sign, `L`
//! the currency symbol (a space in the C locale), `FM` no padding, `TH` an
//! ordinal, `V` a power of ten, `EEEE` scientific notation, `RN` Roman
//! numerals; text in double quotes, and other characters, as they are. A
//! number with more integer digits than the template has is written as
//! `#`s. `B`, `C` and `SP` are read and write nothing, as in PostgreSQL.
//! Floats are rounded as C's `printf` rounds them (to 15 significant digits
//! for `double precision`, 6 for `real`), `numeric` half away from zero.

use datafusion::common::Result;

use super::decimal::{Decimal, printf_e, printf_f};
use super::template::{Th, ordinal};
use crate::sqlstate::{code, coded};

/// A number keyword.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum NumKey {
    Comma,
    Dec,
    Zero,
    Nine,
    B,
    C,
    D,
    E,
    Fm,
    G,
    L,
    Mi,
    Pl,
    Pr,
    Rn,
    RnLower,
    Sg,
    Sp,
    S,
    Th,
    ThLower,
    V,
}

/// PostgreSQL's number keyword table, in its order.
const KEYWORDS: &[(&str, NumKey)] = &[
    (",", NumKey::Comma),
    (".", NumKey::Dec),
    ("0", NumKey::Zero),
    ("9", NumKey::Nine),
    ("B", NumKey::B),
    ("C", NumKey::C),
    ("D", NumKey::D),
    ("EEEE", NumKey::E),
    ("FM", NumKey::Fm),
    ("G", NumKey::G),
    ("L", NumKey::L),
    ("MI", NumKey::Mi),
    ("PL", NumKey::Pl),
    ("PR", NumKey::Pr),
    ("RN", NumKey::Rn),
    ("SG", NumKey::Sg),
    ("SP", NumKey::Sp),
    ("S", NumKey::S),
    ("TH", NumKey::Th),
    ("V", NumKey::V),
    ("b", NumKey::B),
    ("c", NumKey::C),
    ("d", NumKey::D),
    ("eeee", NumKey::E),
    ("fm", NumKey::Fm),
    ("g", NumKey::G),
    ("l", NumKey::L),
    ("mi", NumKey::Mi),
    ("pl", NumKey::Pl),
    ("pr", NumKey::Pr),
    ("rn", NumKey::RnLower),
    ("sg", NumKey::Sg),
    ("sp", NumKey::Sp),
    ("s", NumKey::S),
    ("th", NumKey::ThLower),
    ("v", NumKey::V),
];

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum NumNode {
    Key(NumKey),
    Char(char),
}

/// Where a locale sign (`S`) goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) enum LSign {
    #[default]
    None,
    Pre,
    Post,
}

/// What a number template asks for (PostgreSQL's `NUMDesc`).
#[derive(Debug, Clone, Default)]
pub(crate) struct Desc {
    pub(crate) pre: i64,
    pub(crate) post: i64,
    pub(crate) lsign: LSign,
    pub(crate) pre_lsign_num: i64,
    pub(crate) multi: i64,
    pub(crate) zero_start: i64,
    pub(crate) zero_end: i64,
    pub(crate) decimal: bool,
    pub(crate) zero: bool,
    pub(crate) blank: bool,
    pub(crate) fillmode: bool,
    pub(crate) has_lsign: bool,
    pub(crate) bracket: bool,
    pub(crate) minus: bool,
    pub(crate) plus: bool,
    pub(crate) roman: bool,
    pub(crate) has_multi: bool,
    pub(crate) eeee: bool,
}

fn syntax(message: &str) -> datafusion::common::DataFusionError {
    coded(code::SYNTAX_ERROR, message.to_string())
}

impl Desc {
    /// Takes in one keyword (PostgreSQL's `NUMDesc_prepare`).
    fn add(&mut self, key: NumKey) -> Result<()> {
        if self.eeee && key != NumKey::E {
            return Err(syntax("\"EEEE\" must be the last pattern used"));
        }
        match key {
            NumKey::Nine => {
                if self.bracket {
                    return Err(syntax("\"9\" must be ahead of \"PR\""));
                }
                if self.has_multi {
                    self.multi += 1;
                } else if self.decimal {
                    self.post += 1;
                } else {
                    self.pre += 1;
                }
            }
            NumKey::Zero => {
                if self.bracket {
                    return Err(syntax("\"0\" must be ahead of \"PR\""));
                }
                if !self.zero && !self.decimal {
                    self.zero = true;
                    self.zero_start = self.pre + 1;
                }
                if self.decimal {
                    self.post += 1;
                } else {
                    self.pre += 1;
                }
                self.zero_end = self.pre + self.post;
            }
            NumKey::B => {
                if self.pre == 0 && self.post == 0 && !self.zero {
                    self.blank = true;
                }
            }
            NumKey::D | NumKey::Dec => {
                if self.decimal {
                    return Err(syntax("multiple decimal points"));
                }
                if self.has_multi {
                    return Err(syntax("cannot use \"V\" and decimal point together"));
                }
                self.decimal = true;
            }
            NumKey::Fm => self.fillmode = true,
            NumKey::S => {
                if self.has_lsign {
                    return Err(syntax("cannot use \"S\" twice"));
                }
                if self.plus || self.minus || self.bracket {
                    return Err(syntax(
                        "cannot use \"S\" and \"PL\"/\"MI\"/\"SG\"/\"PR\" together",
                    ));
                }
                if !self.decimal {
                    self.lsign = LSign::Pre;
                    self.pre_lsign_num = self.pre;
                    self.has_lsign = true;
                } else if self.lsign == LSign::None {
                    self.lsign = LSign::Post;
                    self.has_lsign = true;
                }
            }
            NumKey::Mi => {
                if self.has_lsign {
                    return Err(syntax("cannot use \"S\" and \"MI\" together"));
                }
                self.minus = true;
            }
            NumKey::Pl => {
                if self.has_lsign {
                    return Err(syntax("cannot use \"S\" and \"PL\" together"));
                }
                self.plus = true;
            }
            NumKey::Sg => {
                if self.has_lsign {
                    return Err(syntax("cannot use \"S\" and \"SG\" together"));
                }
                self.minus = true;
                self.plus = true;
            }
            NumKey::Pr => {
                if self.has_lsign || self.plus || self.minus {
                    return Err(syntax(
                        "cannot use \"PR\" and \"S\"/\"PL\"/\"MI\"/\"SG\" together",
                    ));
                }
                self.bracket = true;
            }
            NumKey::Rn | NumKey::RnLower => self.roman = true,
            NumKey::V => {
                if self.decimal {
                    return Err(syntax("cannot use \"V\" and decimal point together"));
                }
                self.has_multi = true;
            }
            NumKey::E => {
                if self.eeee {
                    return Err(syntax("cannot use \"EEEE\" twice"));
                }
                if self.blank
                    || self.fillmode
                    || self.has_lsign
                    || self.bracket
                    || self.minus
                    || self.plus
                    || self.roman
                    || self.has_multi
                {
                    return Err(syntax("\"EEEE\" is incompatible with other formats"));
                }
                self.eeee = true;
            }
            NumKey::C | NumKey::G | NumKey::L | NumKey::Comma | NumKey::Sp => {}
            NumKey::Th | NumKey::ThLower => {}
        }
        Ok(())
    }
}

/// Parses a number template (also read by `to_number`).
pub(crate) fn parse(template: &str) -> Result<(Vec<NumNode>, Desc)> {
    let mut nodes = Vec::new();
    let mut desc = Desc::default();
    let mut rest = template;
    while let Some(c) = rest.chars().next() {
        if let Some((name, key)) = KEYWORDS.iter().find(|(name, _)| rest.starts_with(name)) {
            desc.add(*key)?;
            nodes.push(NumNode::Key(*key));
            rest = &rest[name.len()..];
            continue;
        }
        rest = &rest[c.len_utf8()..];
        if c == '"' {
            let mut inner = rest.chars();
            loop {
                match inner.next() {
                    None | Some('"') => break,
                    Some('\\') => match inner.clone().next() {
                        Some(next) => {
                            inner.next();
                            nodes.push(NumNode::Char(next));
                        }
                        None => nodes.push(NumNode::Char('\\')),
                    },
                    Some(other) => nodes.push(NumNode::Char(other)),
                }
            }
            rest = inner.as_str();
        } else if c == '\\' && rest.starts_with('"') {
            nodes.push(NumNode::Char('"'));
            rest = &rest[1..];
        } else {
            nodes.push(NumNode::Char(c));
        }
    }
    Ok((nodes, desc))
}

/// A number to write, of one of PostgreSQL's numeric types.
#[derive(Debug, Clone, PartialEq)]
pub enum Number {
    Int4(i64),
    Int8(i64),
    Float4(f32),
    Float8(f64),
    /// A `numeric` as decimal text (`-12.50`).
    Numeric(String),
}

/// Roman numerals of 1…3999, else fifteen `#`s.
fn roman(n: i64) -> String {
    if !(1..=3999).contains(&n) {
        return "#".repeat(15);
    }
    let table = [
        (1000, "M"),
        (900, "CM"),
        (500, "D"),
        (400, "CD"),
        (100, "C"),
        (90, "XC"),
        (50, "L"),
        (40, "XL"),
        (10, "X"),
        (9, "IX"),
        (5, "V"),
        (4, "IV"),
        (1, "I"),
    ];
    let mut n = n;
    let mut out = String::new();
    for (value, letters) in table {
        while n >= value {
            out.push_str(letters);
            n -= value;
        }
    }
    out
}

/// `#`s for a number too wide for the template.
fn overflow(desc: &Desc) -> String {
    let mut s: Vec<u8> = vec![b'#'; (desc.pre + desc.post + 1).max(0) as usize];
    if let Some(b) = s.get_mut(desc.pre.max(0) as usize) {
        *b = b'.';
    }
    String::from_utf8_lossy(&s).into_owned()
}

/// The digits (and point) to write, how many leading positions stay blank,
/// and the sign: PostgreSQL's type-specific halves of `*_to_char`.
fn prepare(n: &Number, desc: &mut Desc) -> Result<(String, i64, u8)> {
    if desc.roman {
        let value = match n {
            Number::Int4(v) | Number::Int8(v) => {
                if i32::try_from(*v).is_err() {
                    return Err(coded(
                        code::NUMERIC_VALUE_OUT_OF_RANGE,
                        "integer out of range",
                    ));
                }
                *v
            }
            Number::Float4(v) => rint_i32(f64::from(*v)),
            Number::Float8(v) => rint_i32(*v),
            Number::Numeric(t) => {
                let d = decimal(t)?;
                match d.to_i64().filter(|v| i32::try_from(*v).is_ok()) {
                    Some(v) => v,
                    None => {
                        return Err(coded(
                            code::NUMERIC_VALUE_OUT_OF_RANGE,
                            "integer out of range",
                        ));
                    }
                }
            }
        };
        return Ok((roman(value), 0, 0));
    }
    let post = desc.post.max(0) as usize;
    if desc.eeee {
        let text = match n {
            Number::Int4(v) => printf_e(*v as f64, post),
            Number::Float4(v) if v.is_finite() => printf_e(f64::from(*v), post),
            Number::Float8(v) if v.is_finite() => printf_e(*v, post),
            Number::Float4(_) | Number::Float8(_) => {
                let mut s: Vec<u8> = vec![b'#'; (desc.pre + desc.post + 6) as usize];
                s[0] = b' ';
                if let Some(b) = s.get_mut((desc.pre + 1) as usize) {
                    *b = b'.';
                }
                String::from_utf8_lossy(&s).into_owned()
            }
            Number::Int8(v) => sci_with_space(&decimal(&v.to_string())?, desc.post),
            Number::Numeric(t) => sci_with_space(&decimal(t)?, desc.post),
        };
        return Ok((text, 0, 0));
    }
    let multi = if desc.has_multi { desc.multi } else { 0 };
    desc.pre += multi;
    let orgnum = match n {
        Number::Int4(v) | Number::Int8(v) => {
            let v = i128::from(*v) * 10i128.pow(multi as u32);
            let text = v.to_string();
            if desc.post > 0 {
                format!("{text}.{}", "0".repeat(post))
            } else {
                text
            }
        }
        Number::Float4(v) => float_digits(f64::from(*v) * 10f64.powi(multi as i32), desc, 6),
        Number::Float8(v) => float_digits(*v * 10f64.powi(multi as i32), desc, 15),
        Number::Numeric(t) => decimal(t)?.shifted(multi).out_rounded(desc.post),
    };
    let (sign, digits) = match orgnum.strip_prefix('-') {
        Some(rest) => (b'-', rest.to_string()),
        None => (b'+', orgnum),
    };
    let int_len = digits.find('.').unwrap_or(digits.len()) as i64;
    if int_len < desc.pre {
        Ok((digits, desc.pre - int_len, sign))
    } else if int_len > desc.pre {
        Ok((overflow(desc), 0, sign))
    } else {
        Ok((digits, 0, sign))
    }
}

fn decimal(text: &str) -> Result<Decimal> {
    Decimal::parse(text).ok_or_else(|| {
        coded(
            code::INVALID_TEXT_REPRESENTATION,
            format!("invalid input syntax for type numeric: \"{text}\""),
        )
    })
}

fn sci_with_space(d: &Decimal, post: i64) -> String {
    let s = d.out_sci(post.max(0));
    if s.starts_with('-') {
        s
    } else {
        format!(" {s}")
    }
}

/// A float rounded to an integer as `int4`, `i32::MAX` when it does not fit.
fn rint_i32(v: f64) -> i64 {
    let r = v.round_ties_even();
    if r.is_finite() && r >= f64::from(i32::MIN) && r <= f64::from(i32::MAX) {
        r as i64
    } else {
        i64::from(i32::MAX)
    }
}

/// A float's digits for a template with `desc.post` fraction digits, at
/// most `precision` significant digits (`DBL_DIG`/`FLT_DIG`).
fn float_digits(v: f64, desc: &mut Desc, precision: i64) -> String {
    let int_len = printf_f(v.abs(), 0).len() as i64;
    if int_len >= precision {
        desc.post = 0;
    } else if int_len + desc.post > precision {
        desc.post = precision - int_len;
    }
    printf_f(v, desc.post.max(0) as usize)
}

/// Writes a number by a template; `None` for an empty template.
pub fn to_char(n: &Number, template: &str) -> Result<Option<String>> {
    if template.is_empty() {
        return Ok(None);
    }
    let (nodes, mut desc) = parse(template)?;
    let (number, out_pre_spaces, sign) = prepare(n, &mut desc)?;
    if desc.eeee {
        return Ok(Some(number));
    }
    Writer::new(&mut desc, number.into_bytes(), out_pre_spaces, sign).run(&nodes)
}

/// PostgreSQL's `NUM_processor` writing a number.
struct Writer<'a> {
    desc: &'a mut Desc,
    number: Vec<u8>,
    /// Position in `number`.
    at: usize,
    out: Vec<u8>,
    sign: u8,
    sign_wrote: bool,
    num_count: i64,
    num_in: bool,
    num_curr: i64,
    out_pre_spaces: i64,
    last_relevant: Option<usize>,
}

impl<'a> Writer<'a> {
    fn new(desc: &'a mut Desc, number: Vec<u8>, out_pre_spaces: i64, sign: u8) -> Writer<'a> {
        if desc.zero_start > 0 {
            desc.zero_start -= 1;
        }
        if desc.roman {
            let fillmode = desc.fillmode;
            *desc = Desc {
                fillmode,
                roman: true,
                ..Desc::default()
            };
        }
        let mut w = Writer {
            desc,
            number,
            at: 0,
            out: Vec::new(),
            sign,
            sign_wrote: false,
            num_count: 0,
            num_in: false,
            num_curr: 0,
            out_pre_spaces,
            last_relevant: None,
        };
        if w.desc.roman {
            w.sign = 0;
            w.out_pre_spaces = 0;
        }
        if w.desc.plus || w.desc.minus {
            // `PL` alone still needs the sign written; `MI` and `SG` write it.
            w.sign_wrote = !w.desc.plus || w.desc.minus;
        } else {
            if w.sign != b'-' && w.desc.fillmode {
                w.desc.bracket = false;
            }
            w.sign_wrote = w.sign == b'+' && w.desc.fillmode && !w.desc.has_lsign;
            if w.desc.lsign == LSign::Pre && w.desc.pre == w.desc.pre_lsign_num {
                w.desc.lsign = LSign::Post;
            }
        }
        w.num_count = w.desc.post + w.desc.pre - 1;
        if w.desc.fillmode && w.desc.decimal {
            w.last_relevant = last_relevant(&w.number);
            if let Some(lr) = w.last_relevant
                && w.desc.zero_end > w.out_pre_spaces
            {
                let last_zero = (w.number.len() as i64 - 1).min(w.desc.zero_end - w.out_pre_spaces);
                if (lr as i64) < last_zero {
                    w.last_relevant = Some(last_zero as usize);
                }
            }
        }
        if !w.sign_wrote && w.out_pre_spaces == 0 {
            w.num_count += 1;
        }
        w
    }

    fn cur(&self) -> u8 {
        self.number.get(self.at).copied().unwrap_or(0)
    }

    fn last_relevant_is_point(&self) -> bool {
        self.last_relevant
            .is_some_and(|i| self.number.get(i) == Some(&b'.'))
    }

    /// `0.1` by `9.9` is ` .1`: the zero before the point is a space.
    fn predec_space(&self) -> bool {
        !self.desc.zero && self.at == 0 && self.number.first() == Some(&b'0') && self.desc.post != 0
    }

    fn digit(&mut self, key: NumKey) {
        if self.desc.roman {
            return;
        }
        self.num_in = false;
        if !self.sign_wrote
            && (self.num_curr >= self.out_pre_spaces
                || (self.desc.zero && self.desc.zero_start == self.num_curr))
            && (!self.predec_space() || self.last_relevant_is_point())
        {
            if self.desc.has_lsign {
                if self.desc.lsign == LSign::Pre {
                    self.out.push(if self.sign == b'-' { b'-' } else { b'+' });
                    self.sign_wrote = true;
                }
            } else if self.desc.bracket {
                self.out.push(if self.sign == b'+' { b' ' } else { b'<' });
                self.sign_wrote = true;
            } else if self.sign == b'+' {
                if !self.desc.fillmode {
                    self.out.push(b' ');
                }
                self.sign_wrote = true;
            } else if self.sign == b'-' {
                self.out.push(b'-');
                self.sign_wrote = true;
            }
        }
        if self.num_curr < self.out_pre_spaces
            && (self.desc.zero_start > self.num_curr || !self.desc.zero)
        {
            if !self.desc.fillmode {
                self.out.push(b' ');
            }
        } else if self.desc.zero
            && self.num_curr < self.out_pre_spaces
            && self.desc.zero_start <= self.num_curr
        {
            self.out.push(b'0');
            self.num_in = true;
        } else {
            if self.cur() == b'.' {
                if !self.last_relevant_is_point() || self.desc.fillmode {
                    self.out.push(b'.');
                }
            } else if self
                .last_relevant
                .is_some_and(|lr| self.at > lr && key != NumKey::Zero)
            {
            } else if self.predec_space() {
                if !self.desc.fillmode {
                    self.out.push(b' ');
                } else if self.last_relevant_is_point() {
                    self.out.push(b'0');
                }
            } else {
                // At the end of the digits this is C's terminating NUL,
                // which ends the text there, as in PostgreSQL.
                self.out.push(self.cur());
                self.num_in = true;
            }
            if self.at < self.number.len() {
                self.at += 1;
            }
        }
        let mut end =
            self.num_count + i64::from(self.out_pre_spaces > 0) + i64::from(self.desc.decimal);
        if self.last_relevant == Some(self.at) {
            end = self.num_curr;
        }
        if self.num_curr + 1 == end {
            if self.sign_wrote && self.desc.bracket {
                self.out.push(if self.sign == b'+' { b' ' } else { b'>' });
            } else if self.desc.has_lsign && self.desc.lsign == LSign::Post {
                self.out.push(if self.sign == b'-' { b'-' } else { b'+' });
            }
        }
        self.num_curr += 1;
    }

    fn run(mut self, nodes: &[NumNode]) -> Result<Option<String>> {
        for node in nodes {
            let key = match node {
                NumNode::Char(c) => {
                    let mut buf = [0u8; 4];
                    self.out
                        .extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
                    continue;
                }
                NumNode::Key(k) => *k,
            };
            match key {
                NumKey::Nine | NumKey::Zero | NumKey::Dec | NumKey::D => self.digit(key),
                NumKey::Comma | NumKey::G => {
                    if self.num_in {
                        self.out.push(b',');
                    } else if !self.desc.fillmode {
                        self.out.push(b' ');
                    }
                }
                NumKey::L => self.out.push(b' '),
                NumKey::Rn | NumKey::RnLower => {
                    let rest =
                        String::from_utf8_lossy(&self.number[self.at.min(self.number.len())..])
                            .into_owned();
                    let rest = if key == NumKey::RnLower {
                        rest.to_ascii_lowercase()
                    } else {
                        rest
                    };
                    let text = if self.desc.fillmode {
                        rest
                    } else {
                        format!("{rest:>15}")
                    };
                    self.out.extend_from_slice(text.as_bytes());
                }
                NumKey::Th | NumKey::ThLower => {
                    if self.desc.roman
                        || self.number.first() == Some(&b'#')
                        || self.sign == b'-'
                        || self.desc.decimal
                    {
                        continue;
                    }
                    let digits = String::from_utf8_lossy(&self.number).into_owned();
                    let th = if key == NumKey::Th {
                        Th::Upper
                    } else {
                        Th::Lower
                    };
                    self.out.extend_from_slice(ordinal(&digits, th)?.as_bytes());
                }
                NumKey::Mi => {
                    if self.sign == b'-' {
                        self.out.push(b'-');
                    } else if !self.desc.fillmode {
                        self.out.push(b' ');
                    }
                }
                NumKey::Pl => {
                    if self.sign == b'+' {
                        self.out.push(b'+');
                    } else if !self.desc.fillmode {
                        self.out.push(b' ');
                    }
                }
                NumKey::Sg => self.out.push(self.sign),
                NumKey::B
                | NumKey::C
                | NumKey::E
                | NumKey::Fm
                | NumKey::Pr
                | NumKey::Sp
                | NumKey::S
                | NumKey::V => {}
            }
        }
        // The text ends at the first NUL, as C's does.
        if let Some(end) = self.out.iter().position(|b| *b == 0) {
            self.out.truncate(end);
        }
        Ok(Some(String::from_utf8_lossy(&self.out).into_owned()))
    }
}

/// The position of the last non-zero digit after the point (or of the
/// point), `None` without a point.
fn last_relevant(number: &[u8]) -> Option<usize> {
    let point = number.iter().position(|b| *b == b'.')?;
    let mut result = point;
    for (i, b) in number.iter().enumerate().skip(point + 1) {
        if *b != b'0' {
            result = i;
        }
    }
    Some(result)
}
