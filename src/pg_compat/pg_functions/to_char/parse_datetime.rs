//! `to_timestamp(text, template)` and `to_date(text, template)`: text read
//! by a template as PostgreSQL 15's `DCH_from_char` and `do_to_timestamp`
//! read it.
//!
//! The reading is forgiving in PostgreSQL's particular ways, which users'
//! templates rely on: spaces before a field are skipped, a separator in the
//! template matches one separator or space in the text (or nothing), a
//! number field followed by a non-digit in the template takes as many
//! digits as there are (`FM`, or `YYYY-MM` reading `2026-7`), reading stops
//! at the end of the text (missing fields keep their defaults: January 1st
//! of year 1 BC, midnight), and text left over after the template is
//! ignored. `FX` makes it exact. Then: a 12-hour clock with `AM`/`PM`, `CC`
//! with a two-digit year, two-digit years near 2020, `DDD`, ISO weeks (`IYYY
//! IW ID`), `J`, `W`/`WW`, `BC`, fractions (`MS`, `US`, `FF1`…`FF6`,
//! rounded to the `FF` precision) and `TZH`/`TZM` offsets. `TZ` and `OF`
//! are refused for input (0A000), as in PostgreSQL 15. Errors carry
//! PostgreSQL's codes: 22007 for text that does not fit the template, 22008
//! for a field out of range, 22009 for an offset out of range.

use datafusion::common::Result;

use super::template::{
    DAYS, DAYS_SHORT, Key, Keyword, MONTHS, MONTHS_FULL, Mode, Node, RM_MONTHS, date2j, is_space,
    isoweek2j, j2date,
};
use crate::sqlstate::{code, coded};

/// 22009: a `TZH`/`TZM` offset out of range.
const INVALID_TIME_ZONE_DISPLACEMENT_VALUE: &str = "22009";

/// The fields read from the text.
#[derive(Debug, Default)]
struct Read {
    mode: Option<Mode>,
    hh: i64,
    pm: i64,
    twelve_hour: bool,
    mi: i64,
    ss: i64,
    ssss: i64,
    /// Day of the week, Sunday = 1 (0: not given).
    d: i64,
    dd: i64,
    ddd: i64,
    mm: i64,
    ms: i64,
    year: i64,
    /// How many digits the year was written with (`YY` → 2).
    year_digits: u8,
    bc: i64,
    ww: i64,
    w: i64,
    cc: i64,
    j: i64,
    us: i64,
    ff: u8,
    /// +1 or -1 when `TZH`/`TZM` were read.
    tz_sign: i64,
    tzh: i64,
    tzm: i64,
}

/// A date and time read from text: the wall clock, and the offset the text
/// gave (seconds east of UTC), if it gave one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Parsed {
    /// Julian day number.
    pub julian: i64,
    /// Microseconds since midnight.
    pub micros: i64,
    pub offset: Option<i64>,
}

fn invalid(message: String) -> datafusion::common::DataFusionError {
    coded(code::INVALID_DATETIME_FORMAT, message)
}

fn field_overflow(text: &str) -> datafusion::common::DataFusionError {
    coded(
        code::DATETIME_FIELD_OVERFLOW,
        format!("date/time field value out of range: \"{text}\""),
    )
}

/// Sets a field once; a second, different value is a conflict (22007).
fn set(dest: &mut i64, value: i64, kw: &Keyword) -> Result<()> {
    if *dest != 0 && *dest != value {
        return Err(invalid(format!(
            "conflicting values for \"{}\" field in formatting string",
            kw.name
        )));
    }
    *dest = value;
    Ok(())
}

/// Whether the node after `i` cannot continue a number, so that a number
/// field may take all the digits there are.
fn next_is_separator(nodes: &[Node], i: usize) -> bool {
    if let Some(Node::Keyword { th: Some(_), .. }) = nodes.get(i) {
        return true;
    }
    match nodes.get(i + 1) {
        None => true,
        Some(Node::Keyword { kw, .. }) => !kw.digits,
        Some(Node::Char(c) | Node::Space(c) | Node::Separator(c)) => !c.is_ascii_digit(),
    }
}

/// C's `strtol` on the start of `s`: leading spaces, a sign, digits; the
/// value (saturated) and the bytes used, 0 when there are no digits.
fn strtol(s: &[u8]) -> (i128, usize) {
    let mut i = 0;
    while i < s.len() && is_space(char::from(s[i])) {
        i += 1;
    }
    let negative = match s.get(i) {
        Some(b'-') => {
            i += 1;
            true
        }
        Some(b'+') => {
            i += 1;
            false
        }
        _ => false,
    };
    let start = i;
    let mut value: i128 = 0;
    while i < s.len() && s[i].is_ascii_digit() {
        value = (value * 10 + i128::from(s[i] - b'0')).min(i128::from(i64::MAX) * 4);
        i += 1;
    }
    if i == start {
        return (0, 0);
    }
    (if negative { -value } else { value }, i)
}

/// The reading state: the text, and where it is.
struct Cursor<'a> {
    text: &'a str,
    pos: usize,
}

impl Cursor<'_> {
    fn rest(&self) -> &[u8] {
        &self.text.as_bytes()[self.pos..]
    }
    fn at_end(&self) -> bool {
        self.pos >= self.text.len()
    }
    fn peek(&self) -> Option<u8> {
        self.rest().first().copied()
    }
    /// Moves over one character (a whole UTF-8 sequence).
    fn skip_char(&mut self) {
        if let Some(c) = self.text[self.pos..].chars().next() {
            self.pos += c.len_utf8();
        }
    }
    fn skip_spaces(&mut self) -> usize {
        let mut n = 0;
        while self.peek().is_some_and(|b| is_space(char::from(b))) {
            self.pos += 1;
            n += 1;
        }
        n
    }

    /// An integer field of `len` characters (or, with `FM` or before a
    /// non-digit, as many digits as there are): PostgreSQL's
    /// `from_char_parse_int_len`. Returns the value and characters used.
    fn int(&mut self, len: usize, greedy: bool, kw: &Keyword) -> Result<(i64, usize)> {
        let init = self.pos;
        self.skip_spaces();
        let copy: Vec<u8> = self.rest().iter().take(len).copied().collect();
        let copy_text = String::from_utf8_lossy(&copy).into_owned();
        let value = if greedy {
            let (value, used) = strtol(&self.text.as_bytes()[init..]);
            self.pos = init + used;
            value
        } else {
            if copy.len() < len {
                return Err(invalid(format!(
                    "source string too short for \"{}\" formatting field",
                    kw.name
                )));
            }
            let (value, used) = strtol(&copy);
            if used > 0 && used < len {
                return Err(invalid(format!(
                    "invalid value \"{copy_text}\" for \"{}\"",
                    kw.name
                )));
            }
            self.pos += used;
            value
        };
        if self.pos == init {
            return Err(invalid(format!(
                "invalid value \"{copy_text}\" for \"{}\"",
                kw.name
            )));
        }
        if value < i128::from(i32::MIN) || value > i128::from(i32::MAX) {
            return Err(coded(
                code::DATETIME_FIELD_OVERFLOW,
                format!("value for \"{}\" in source string is out of range", kw.name),
            ));
        }
        Ok((value as i64, self.pos - init))
    }

    /// One of `words`, in any letter case: its index.
    fn word(&mut self, words: &[&str], kw: &Keyword) -> Result<usize> {
        let rest = self.rest();
        for (i, w) in words.iter().enumerate() {
            let w = w.as_bytes();
            if rest.len() >= w.len() && rest[..w.len()].eq_ignore_ascii_case(w) {
                self.pos += w.len();
                return Ok(i);
            }
        }
        let shown: String = self.text[self.pos..]
            .chars()
            .take_while(|c| !is_space(*c))
            .collect();
        Err(invalid(format!(
            "invalid value \"{shown}\" for \"{}\"",
            kw.name
        )))
    }

    /// Skips an ordinal suffix (`st`, `TH`, …): two characters.
    fn skip_th(&mut self, node: &Node) {
        if let Node::Keyword { th: Some(_), .. } = node {
            self.skip_char();
            self.skip_char();
        }
    }
}

/// A year written with fewer than four digits, placed nearest 2020.
fn near_2020(year: i64) -> i64 {
    if year < 70 {
        year + 2000
    } else if year < 100 {
        year + 1900
    } else if year < 520 {
        year + 2000
    } else if year < 1000 {
        year + 1000
    } else {
        year
    }
}

/// Reads `text` by the template `nodes` (PostgreSQL's `DCH_from_char`).
fn read(nodes: &[Node], text: &str) -> Result<Read> {
    let mut out = Read::default();
    let mut c = Cursor { text, pos: 0 };
    let mut fx = false;
    let mut extra_skip: i64 = 0;
    for (i, node) in nodes.iter().enumerate() {
        if c.at_end() {
            break;
        }
        let is_fx = matches!(node, Node::Keyword { kw, .. } if kw.key == Key::FX);
        if !fx && !is_fx && (matches!(node, Node::Keyword { .. }) || i == 0) {
            extra_skip += c.skip_spaces() as i64;
        }
        let (kw, fm) = match node {
            Node::Space(_) | Node::Separator(_) => {
                if !fx {
                    extra_skip -= 1;
                    if c.peek()
                        .is_some_and(|b| is_space(char::from(b)) || b.is_ascii_punctuation())
                    {
                        c.pos += 1;
                        extra_skip += 1;
                    }
                } else {
                    c.skip_char();
                }
                continue;
            }
            Node::Char(_) => {
                if !fx && extra_skip > 0 {
                    extra_skip -= 1;
                } else {
                    c.skip_char();
                }
                continue;
            }
            Node::Keyword { kw, fm, .. } => (kw, *fm),
        };
        if kw.mode != Mode::None {
            match out.mode {
                None => out.mode = Some(kw.mode),
                Some(m) if m != kw.mode => {
                    return Err(invalid("invalid combination of date conventions".into()));
                }
                Some(_) => {}
            }
        }
        let greedy = fm || next_is_separator(nodes, i);
        match kw.key {
            Key::FX => fx = true,
            Key::A_M | Key::P_M | Key::a_m | Key::p_m => {
                let v = c.word(&["a.m.", "p.m.", "A.M.", "P.M."], kw)?;
                set(&mut out.pm, (v % 2) as i64, kw)?;
                out.twelve_hour = true;
            }
            Key::AM | Key::PM | Key::am | Key::pm => {
                let v = c.word(&["am", "pm", "AM", "PM"], kw)?;
                set(&mut out.pm, (v % 2) as i64, kw)?;
                out.twelve_hour = true;
            }
            Key::HH | Key::HH12 | Key::HH24 => {
                let (v, _) = c.int(2, greedy, kw)?;
                set(&mut out.hh, v, kw)?;
                if kw.key != Key::HH24 {
                    out.twelve_hour = true;
                }
                c.skip_th(node);
            }
            Key::MI | Key::SS | Key::SSSS | Key::MM | Key::DDD | Key::DD | Key::D => {
                let (v, _) = c.int(kw.name.len(), greedy, kw)?;
                let dest = match kw.key {
                    Key::MI => &mut out.mi,
                    Key::SS => &mut out.ss,
                    Key::SSSS => &mut out.ssss,
                    Key::MM => &mut out.mm,
                    Key::DDD => &mut out.ddd,
                    Key::DD => &mut out.dd,
                    _ => &mut out.d,
                };
                set(dest, v, kw)?;
                c.skip_th(node);
            }
            Key::MS => {
                let (v, len) = c.int(3, greedy, kw)?;
                // `5` is 500 ms and `05` 50 ms, as in a fraction.
                let scale = match len {
                    1 => 100,
                    2 => 10,
                    _ => 1,
                };
                set(&mut out.ms, v * scale, kw)?;
                c.skip_th(node);
            }
            Key::FF(_) | Key::US => {
                let digits = match kw.key {
                    Key::FF(n) => {
                        out.ff = n;
                        usize::from(n)
                    }
                    _ => 6,
                };
                let (v, len) = c.int(digits, greedy, kw)?;
                let scale = if (1..6).contains(&len) {
                    10i64.pow(6 - len as u32)
                } else {
                    1
                };
                set(&mut out.us, v * scale, kw)?;
                c.skip_th(node);
            }
            Key::TZ | Key::tz | Key::OF => {
                return Err(coded(
                    code::FEATURE_NOT_SUPPORTED,
                    format!(
                        "formatting field \"{}\" is only supported in to_char",
                        kw.name
                    ),
                ));
            }
            Key::TZH => {
                // A minus skipped as a separator just before is the sign.
                match c.peek() {
                    Some(b @ (b'+' | b'-' | b' ')) => {
                        out.tz_sign = if b == b'-' { -1 } else { 1 };
                        c.pos += 1;
                    }
                    _ => {
                        let before = c.pos.checked_sub(1).map(|p| text.as_bytes()[p]);
                        out.tz_sign = if extra_skip > 0 && before == Some(b'-') {
                            -1
                        } else {
                            1
                        };
                    }
                }
                let (v, _) = c.int(2, greedy, kw)?;
                set(&mut out.tzh, v, kw)?;
            }
            Key::TZM => {
                if out.tz_sign == 0 {
                    out.tz_sign = 1;
                }
                let (v, _) = c.int(2, greedy, kw)?;
                set(&mut out.tzm, v, kw)?;
            }
            Key::A_D | Key::B_C | Key::a_d | Key::b_c => {
                let v = c.word(&["a.d.", "b.c.", "A.D.", "B.C."], kw)?;
                set(&mut out.bc, (v % 2) as i64, kw)?;
            }
            Key::AD | Key::BC | Key::ad | Key::bc => {
                let v = c.word(&["ad", "bc", "AD", "BC"], kw)?;
                set(&mut out.bc, (v % 2) as i64, kw)?;
            }
            Key::MONTH | Key::Month | Key::month => {
                let v = c.word(&MONTHS_FULL, kw)?;
                set(&mut out.mm, v as i64 + 1, kw)?;
            }
            Key::MON | Key::Mon | Key::mon => {
                let v = c.word(&MONTHS, kw)?;
                set(&mut out.mm, v as i64 + 1, kw)?;
            }
            Key::DAY | Key::Day | Key::day => {
                let v = c.word(&DAYS, kw)?;
                set(&mut out.d, v as i64, kw)?;
                out.d += 1;
            }
            Key::DY | Key::Dy | Key::dy => {
                let v = c.word(&DAYS_SHORT, kw)?;
                set(&mut out.d, v as i64, kw)?;
                out.d += 1;
            }
            Key::IDDD => {
                let (v, _) = c.int(3, greedy, kw)?;
                set(&mut out.ddd, v, kw)?;
                c.skip_th(node);
            }
            Key::ID => {
                let (v, _) = c.int(1, greedy, kw)?;
                set(&mut out.d, v, kw)?;
                // Sunday is 1 here, as in the Gregorian numbering.
                out.d = if out.d + 1 > 7 { 1 } else { out.d + 1 };
                c.skip_th(node);
            }
            Key::WW | Key::IW => {
                let (v, _) = c.int(2, greedy, kw)?;
                set(&mut out.ww, v, kw)?;
                c.skip_th(node);
            }
            Key::Q => {
                // Read and ignored, as in PostgreSQL.
                c.int(1, greedy, kw)?;
                c.skip_th(node);
            }
            Key::CC => {
                let (v, _) = c.int(2, greedy, kw)?;
                set(&mut out.cc, v, kw)?;
                c.skip_th(node);
            }
            Key::Y_YYY => {
                let (millennia, used) = strtol(c.rest());
                let after = &c.rest()[used..];
                let years = if used > 0 && after.first() == Some(&b',') {
                    // `%03d`: at most three characters.
                    let (y, n) = strtol(&after[1..after.len().min(4)]);
                    (n > 0).then_some((y, used + 1 + n))
                } else {
                    None
                };
                let Some((years, consumed)) = years else {
                    return Err(invalid("invalid input string for \"Y,YYY\"".into()));
                };
                let year = millennia * 1000 + years;
                if year.abs() > i128::from(i32::MAX) {
                    return Err(coded(
                        code::DATETIME_FIELD_OVERFLOW,
                        "value for \"Y,YYY\" in source string is out of range",
                    ));
                }
                set(&mut out.year, year as i64, kw)?;
                out.year_digits = 4;
                c.pos += consumed;
                c.skip_th(node);
            }
            Key::YYYY | Key::IYYY => {
                let (v, _) = c.int(4, greedy, kw)?;
                set(&mut out.year, v, kw)?;
                out.year_digits = 4;
                c.skip_th(node);
            }
            Key::YYY | Key::IYY | Key::YY | Key::IY | Key::Y | Key::I => {
                let digits = match kw.key {
                    Key::YYY | Key::IYY => 3,
                    Key::YY | Key::IY => 2,
                    _ => 1,
                };
                let (v, len) = c.int(digits, greedy, kw)?;
                set(&mut out.year, v, kw)?;
                if len < 4 {
                    out.year = near_2020(out.year);
                }
                out.year_digits = digits as u8;
                c.skip_th(node);
            }
            Key::RM | Key::rm => {
                let v = c.word(&RM_MONTHS, kw)?;
                set(&mut out.mm, 12 - v as i64, kw)?;
            }
            Key::W => {
                let (v, _) = c.int(1, greedy, kw)?;
                set(&mut out.w, v, kw)?;
                c.skip_th(node);
            }
            Key::J => {
                let (v, _) = c.int(1, greedy, kw)?;
                set(&mut out.j, v, kw)?;
                c.skip_th(node);
            }
        }
        if !fx {
            extra_skip = c.skip_spaces() as i64;
        }
    }
    Ok(out)
}

/// Days in each month, common and leap years.
fn month_days(year: i64, month: i64) -> i64 {
    let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
    match month {
        2 if leap => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Reads `text` by the template `nodes` into a date, a time and the offset
/// the text gave (PostgreSQL's `do_to_timestamp`); `fprec` rounding is the
/// caller's ([`Parsed`] keeps full microseconds, [`fraction_digits`] says
/// to how many digits `FF` asked).
pub fn parse(nodes: &[Node], text: &str) -> Result<(Parsed, u8)> {
    let r = read(nodes, text)?;
    let overflow = || field_overflow(text);
    let (mut year, mut mon, mut mday) = (0i64, 1i64, 1i64);
    let (mut hour, mut min, mut sec) = (0i64, 0i64, 0i64);
    let (mut has_year, mut has_month, mut has_day) = (false, false, false);
    if r.ssss != 0 {
        hour = r.ssss / 3600;
        min = r.ssss % 3600 / 60;
        sec = r.ssss % 60;
    }
    if r.ss != 0 {
        sec = r.ss;
    }
    if r.mi != 0 {
        min = r.mi;
    }
    if r.hh != 0 {
        hour = r.hh;
    }
    if r.twelve_hour {
        if !(1..=12).contains(&hour) {
            return Err(invalid(format!(
                "hour \"{hour}\" is invalid for the 12-hour clock"
            )));
        }
        if r.pm != 0 && hour < 12 {
            hour += 12;
        } else if r.pm == 0 && hour == 12 {
            hour = 0;
        }
    }
    let mut cc = r.cc;
    if r.year != 0 {
        if cc != 0 && r.year_digits <= 2 {
            if r.bc != 0 {
                cc = -cc;
            }
            year = r.year % 100;
            if year != 0 {
                year = if cc >= 0 {
                    (cc - 1) * 100 + year
                } else {
                    (cc + 1) * 100 - year + 1
                };
            } else {
                year = cc * 100 + if cc >= 0 { 0 } else { 1 };
            }
        } else {
            year = if r.bc != 0 { -r.year } else { r.year };
            if year < 0 {
                year += 1;
            }
        }
        has_year = true;
    } else if cc != 0 {
        if r.bc != 0 {
            cc = -cc;
        }
        year = if cc >= 0 {
            (cc - 1) * 100 + 1
        } else {
            cc * 100 + 1
        };
        has_year = true;
    }
    if r.j != 0 {
        (year, mon, mday) = j2date(r.j);
        (has_year, has_month, has_day) = (true, true, true);
    }
    let iso = r.mode == Some(Mode::IsoWeek);
    let mut ddd = r.ddd;
    if r.ww != 0 {
        if iso {
            let monday = isoweek2j(year, r.ww);
            let jd = if r.d == 0 {
                monday
            } else if r.d > 1 {
                monday + r.d - 2
            } else {
                monday + 6
            };
            (year, mon, mday) = j2date(jd);
            (has_year, has_month, has_day) = (true, true, true);
        } else {
            ddd = (r.ww - 1) * 7 + 1;
        }
    }
    let mut dd = r.dd;
    if r.w != 0 {
        dd = (r.w - 1) * 7 + 1;
    }
    if dd != 0 {
        mday = dd;
        has_day = true;
    }
    if r.mm != 0 {
        mon = r.mm;
        has_month = true;
    }
    if ddd != 0 && (mon <= 1 || mday <= 1) {
        if year == 0 && r.bc == 0 {
            return Err(invalid(
                "cannot calculate day of year without year information".into(),
            ));
        }
        if iso {
            let j0 = isoweek2j(year, 1) - 1;
            (year, mon, mday) = j2date(j0 + ddd);
            (has_year, has_month, has_day) = (true, true, true);
        } else {
            let mut month = 1;
            let mut before = 0;
            while month < 12 && ddd > before + month_days(year, month) {
                before += month_days(year, month);
                month += 1;
            }
            if mon <= 1 {
                mon = month;
            }
            if mday <= 1 {
                mday = ddd - before;
            }
            (has_month, has_day) = (true, true);
        }
    }
    let usec = r.ms * 1000 + r.us;
    // PostgreSQL's `ValidateDate` with the fields given.
    if has_month && !(1..=12).contains(&mon) {
        return Err(overflow());
    }
    if has_day && !(1..=31).contains(&mday) {
        return Err(overflow());
    }
    if has_year && has_month && has_day && mday > month_days(year, mon) {
        return Err(overflow());
    }
    if !(0..24).contains(&hour)
        || !(0..60).contains(&min)
        || !(0..60).contains(&sec)
        || !(0..1_000_000).contains(&usec)
    {
        return Err(overflow());
    }
    let offset = if r.tz_sign != 0 {
        if !(0..=15).contains(&r.tzh) || !(0..60).contains(&r.tzm) {
            return Err(coded(
                INVALID_TIME_ZONE_DISPLACEMENT_VALUE,
                format!("time zone displacement out of range: \"{text}\""),
            ));
        }
        Some(r.tz_sign * (r.tzh * 3600 + r.tzm * 60))
    } else {
        None
    };
    Ok((
        Parsed {
            julian: date2j(year, mon, mday),
            micros: ((hour * 60 + min) * 60 + sec) * 1_000_000 + usec,
            offset,
        },
        r.ff,
    ))
}

/// Microseconds rounded to `digits` fraction digits, half away from zero
/// (PostgreSQL's `AdjustTimestampForTypmod`); 0 digits means unrounded.
pub fn round_fraction(micros: i64, digits: u8) -> i64 {
    if digits == 0 || digits >= 6 {
        return micros;
    }
    let scale = 10i64.pow(6 - u32::from(digits));
    let half = scale / 2;
    if micros >= 0 {
        (micros + half) / scale * scale
    } else {
        -((-micros + half) / scale * scale)
    }
}
