//! PostgreSQL's date/time template language, shared by `to_char` and
//! `to_timestamp`/`to_date`: the keywords and their modifiers, how a
//! template splits into keywords and literal text, and the Julian-day and
//! ISO-week arithmetic the keywords are defined by.
//!
//! A template is read left to right; at each position the prefixes `FM`
//! (no padding) and `TM` (translated names, English here), then the first
//! keyword of the table below that starts there (longer keywords come
//! before their prefixes: `HH24` before `HH`), then the suffixes `TH`/`th`
//! (ordinal) and `SP` (accepted and ignored). Anything else is literal
//! text: `"…"` quotes it (a backslash inside quotes takes the next
//! character as it is), and `\"` outside quotes is a double quote. This is
//! PostgreSQL 15's reading, ambiguities included: `FM` before a non-keyword
//! is dropped, `Mon` and `mon` differ, and `dAY` is `d`, a letter `A` and `Y`.

use datafusion::common::Result;

use crate::sqlstate::{code, coded};

/// A date/time keyword.
#[allow(clippy::upper_case_acronyms, non_camel_case_types)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Key {
    A_D,
    A_M,
    AD,
    AM,
    B_C,
    BC,
    CC,
    DAY,
    DDD,
    DD,
    DY,
    Day,
    Dy,
    D,
    /// `FF1`…`FF6`: that many digits of the fraction of a second.
    FF(u8),
    FX,
    HH24,
    HH12,
    HH,
    IDDD,
    ID,
    IW,
    IYYY,
    IYY,
    IY,
    I,
    J,
    MI,
    MM,
    MONTH,
    MON,
    MS,
    Month,
    Mon,
    OF,
    P_M,
    PM,
    Q,
    RM,
    SSSS,
    SS,
    TZH,
    TZM,
    TZ,
    US,
    WW,
    W,
    Y_YYY,
    YYYY,
    YYY,
    YY,
    Y,
    a_d,
    a_m,
    ad,
    am,
    b_c,
    bc,
    day,
    dy,
    month,
    mon,
    p_m,
    pm,
    rm,
    tz,
}

/// Which calendar a keyword reads a date in (`to_timestamp` refuses a
/// template that mixes them).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    None,
    Gregorian,
    IsoWeek,
}

/// A keyword as written: its name (for messages), whether its value is
/// digits, and its calendar.
#[derive(Debug, Clone, Copy)]
pub struct Keyword {
    pub name: &'static str,
    pub key: Key,
    pub digits: bool,
    pub mode: Mode,
}

const fn kw(name: &'static str, key: Key, digits: bool, mode: Mode) -> Keyword {
    Keyword {
        name,
        key,
        digits,
        mode,
    }
}

use Mode::{Gregorian as G, IsoWeek as W, None as N};

/// PostgreSQL 15's keyword table, in its order: at a position the first
/// keyword (among those with the same first letter) that the template
/// continues with is the one read.
#[rustfmt::skip]
const KEYWORDS: &[Keyword] = &[
    kw("A.D.", Key::A_D, false, N), kw("A.M.", Key::A_M, false, N),
    kw("AD", Key::AD, false, N), kw("AM", Key::AM, false, N),
    kw("B.C.", Key::B_C, false, N), kw("BC", Key::BC, false, N),
    kw("CC", Key::CC, true, N),
    kw("DAY", Key::DAY, false, N), kw("DDD", Key::DDD, true, G), kw("DD", Key::DD, true, G),
    kw("DY", Key::DY, false, N), kw("Day", Key::Day, false, N), kw("Dy", Key::Dy, false, N),
    kw("D", Key::D, true, G),
    kw("FF1", Key::FF(1), true, N), kw("FF2", Key::FF(2), true, N), kw("FF3", Key::FF(3), true, N),
    kw("FF4", Key::FF(4), true, N), kw("FF5", Key::FF(5), true, N), kw("FF6", Key::FF(6), true, N),
    kw("FX", Key::FX, false, N),
    kw("HH24", Key::HH24, true, N), kw("HH12", Key::HH12, true, N), kw("HH", Key::HH, true, N),
    kw("IDDD", Key::IDDD, true, W), kw("ID", Key::ID, true, W), kw("IW", Key::IW, true, W),
    kw("IYYY", Key::IYYY, true, W), kw("IYY", Key::IYY, true, W), kw("IY", Key::IY, true, W),
    kw("I", Key::I, true, W),
    kw("J", Key::J, true, N),
    kw("MI", Key::MI, true, N), kw("MM", Key::MM, true, G), kw("MONTH", Key::MONTH, false, G),
    kw("MON", Key::MON, false, G), kw("MS", Key::MS, true, N), kw("Month", Key::Month, false, G),
    kw("Mon", Key::Mon, false, G),
    kw("OF", Key::OF, false, N),
    kw("P.M.", Key::P_M, false, N), kw("PM", Key::PM, false, N),
    kw("Q", Key::Q, true, N),
    kw("RM", Key::RM, false, G),
    kw("SSSSS", Key::SSSS, true, N), kw("SSSS", Key::SSSS, true, N), kw("SS", Key::SS, true, N),
    kw("TZH", Key::TZH, false, N), kw("TZM", Key::TZM, true, N), kw("TZ", Key::TZ, false, N),
    kw("US", Key::US, true, N),
    kw("WW", Key::WW, true, G), kw("W", Key::W, true, G),
    kw("Y,YYY", Key::Y_YYY, true, G), kw("YYYY", Key::YYYY, true, G), kw("YYY", Key::YYY, true, G),
    kw("YY", Key::YY, true, G), kw("Y", Key::Y, true, G),
    kw("a.d.", Key::a_d, false, N), kw("a.m.", Key::a_m, false, N),
    kw("ad", Key::ad, false, N), kw("am", Key::am, false, N),
    kw("b.c.", Key::b_c, false, N), kw("bc", Key::bc, false, N),
    kw("cc", Key::CC, true, N),
    kw("day", Key::day, false, N), kw("ddd", Key::DDD, true, G), kw("dd", Key::DD, true, G),
    kw("dy", Key::dy, false, N), kw("d", Key::D, true, G),
    kw("ff1", Key::FF(1), true, N), kw("ff2", Key::FF(2), true, N), kw("ff3", Key::FF(3), true, N),
    kw("ff4", Key::FF(4), true, N), kw("ff5", Key::FF(5), true, N), kw("ff6", Key::FF(6), true, N),
    kw("fx", Key::FX, false, N),
    kw("hh24", Key::HH24, true, N), kw("hh12", Key::HH12, true, N), kw("hh", Key::HH, true, N),
    kw("iddd", Key::IDDD, true, W), kw("id", Key::ID, true, W), kw("iw", Key::IW, true, W),
    kw("iyyy", Key::IYYY, true, W), kw("iyy", Key::IYY, true, W), kw("iy", Key::IY, true, W),
    kw("i", Key::I, true, W),
    kw("j", Key::J, true, N),
    kw("mi", Key::MI, true, N), kw("mm", Key::MM, true, G), kw("month", Key::month, false, G),
    kw("mon", Key::mon, false, G), kw("ms", Key::MS, true, N),
    kw("of", Key::OF, false, N),
    kw("p.m.", Key::p_m, false, N), kw("pm", Key::pm, false, N),
    kw("q", Key::Q, true, N),
    kw("rm", Key::rm, false, G),
    kw("sssss", Key::SSSS, true, N), kw("ssss", Key::SSSS, true, N), kw("ss", Key::SS, true, N),
    kw("tzh", Key::TZH, false, N), kw("tzm", Key::TZM, true, N), kw("tz", Key::tz, false, N),
    kw("us", Key::US, true, N),
    kw("ww", Key::WW, true, G), kw("w", Key::W, true, G),
    kw("y,yyy", Key::Y_YYY, true, G), kw("yyyy", Key::YYYY, true, G), kw("yyy", Key::YYY, true, G),
    kw("yy", Key::YY, true, G), kw("y", Key::Y, true, G),
];

/// An ordinal suffix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Th {
    Upper,
    Lower,
}

/// One piece of a parsed template.
#[derive(Debug, Clone, PartialEq)]
pub enum Node {
    Keyword {
        kw: Keyword,
        /// `FM`: no padding (and, when reading, no fixed width).
        fm: bool,
        /// `TM`: translated names, which are not blank-padded.
        tm: bool,
        th: Option<Th>,
    },
    /// Literal text (a quoted character, or a letter or digit outside quotes).
    Char(char),
    /// An unquoted space.
    Space(char),
    /// An unquoted ASCII punctuation character.
    Separator(char),
}

impl PartialEq for Keyword {
    fn eq(&self, other: &Self) -> bool {
        self.name == other.name
    }
}

/// Splits a template into keywords and literal text.
pub fn parse(template: &str) -> Vec<Node> {
    let mut nodes = Vec::new();
    let mut rest = template;
    while !rest.is_empty() {
        let (mut fm, mut tm) = (false, false);
        for (prefix, is_fm) in [("FM", true), ("fm", true), ("TM", false), ("tm", false)] {
            if let Some(r) = rest.strip_prefix(prefix) {
                if is_fm {
                    fm = true;
                } else {
                    tm = true;
                }
                rest = r;
                break;
            }
        }
        if rest.is_empty() {
            break;
        }
        let first = rest.as_bytes()[0];
        if let Some(k) = KEYWORDS
            .iter()
            .filter(|k| k.name.as_bytes()[0] == first)
            .find(|k| rest.starts_with(k.name))
        {
            rest = &rest[k.name.len()..];
            let th = if let Some(r) = rest.strip_prefix("TH") {
                rest = r;
                Some(Th::Upper)
            } else if let Some(r) = rest.strip_prefix("th") {
                rest = r;
                Some(Th::Lower)
            } else {
                if let Some(r) = rest.strip_prefix("SP") {
                    rest = r;
                }
                None
            };
            nodes.push(Node::Keyword { kw: *k, fm, tm, th });
            continue;
        }
        let mut chars = rest.chars();
        let Some(c) = chars.next() else { break };
        if c == '"' {
            // A quoted literal, to the closing quote or the end.
            let mut inner = chars.as_str().chars();
            loop {
                match inner.next() {
                    None => break,
                    Some('"') => break,
                    Some('\\') => {
                        let after = inner.as_str();
                        match after.chars().next() {
                            Some(next) => {
                                nodes.push(Node::Char(next));
                                inner = after[next.len_utf8()..].chars();
                            }
                            None => nodes.push(Node::Char('\\')),
                        }
                    }
                    Some(other) => nodes.push(Node::Char(other)),
                }
            }
            rest = inner.as_str();
            continue;
        }
        let (c, r) = if c == '\\' && chars.as_str().starts_with('"') {
            ('"', &chars.as_str()[1..])
        } else {
            (c, chars.as_str())
        };
        rest = r;
        nodes.push(if c.is_ascii_punctuation() {
            Node::Separator(c)
        } else if is_space(c) {
            Node::Space(c)
        } else {
            Node::Char(c)
        });
    }
    nodes
}

/// C's `isspace` in the C locale.
pub fn is_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\n' | '\r' | '\x0b' | '\x0c')
}

pub const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];
pub const MONTHS_FULL: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];
pub const DAYS: [&str; 7] = [
    "Sunday",
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
];
pub const DAYS_SHORT: [&str; 7] = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
/// Roman-numeral months, December first (as PostgreSQL searches them).
pub const RM_MONTHS: [&str; 12] = [
    "XII", "XI", "X", "IX", "VIII", "VII", "VI", "V", "IV", "III", "II", "I",
];

/// The ordinal suffix of a number written as `digits` (`1st`, `12th`,
/// `22nd`); 22P02 when it does not end in a digit.
pub fn ordinal(digits: &str, th: Th) -> Result<&'static str> {
    let bytes = digits.as_bytes();
    let Some(&last) = bytes.last().filter(|b| b.is_ascii_digit()) else {
        return Err(coded(
            code::INVALID_TEXT_REPRESENTATION,
            format!("\"{digits}\" is not a number"),
        ));
    };
    let teen = bytes.len() > 1 && bytes[bytes.len() - 2] == b'1';
    let suffix = match (teen, last) {
        (false, b'1') => ["ST", "st"],
        (false, b'2') => ["ND", "nd"],
        (false, b'3') => ["RD", "rd"],
        _ => ["TH", "th"],
    };
    Ok(suffix[usize::from(th == Th::Lower)])
}

/// Julian day number of a (proleptic Gregorian, astronomical-year) date,
/// by PostgreSQL's `date2j`, which also accepts out-of-range fields (an
/// interval's months and days) the way PostgreSQL does.
pub fn date2j(year: i64, month: i64, day: i64) -> i64 {
    let (y, m) = if month > 2 {
        (year + 4800, month + 1)
    } else {
        (year + 4799, month + 13)
    };
    let century = y / 100;
    let mut julian = y * 365 - 32167;
    julian += y / 4 - century + century / 4;
    julian + 7834 * m / 256 + day
}

/// The date of a Julian day number, PostgreSQL's `j2date`.
pub fn j2date(jd: i64) -> (i64, i64, i64) {
    let mut julian = jd + 32044;
    let mut quad = julian / 146_097;
    let extra = (julian - quad * 146_097) * 4 + 3;
    julian += 60 + quad * 3 + extra / 146_097;
    quad = julian / 1461;
    julian -= quad * 1461;
    let mut y = julian * 4 / 1461;
    julian = if y != 0 {
        (julian + 305) % 365
    } else {
        (julian + 306) % 366
    } + 123;
    y += quad * 4;
    let year = y - 4800;
    let q = julian * 2141 / 65536;
    let day = julian - 7834 * q / 256;
    let month = (q + 10) % 12 + 1;
    (year, month, day)
}

/// Day of the week of a Julian day, Sunday = 0.
pub fn j2day(jd: i64) -> i64 {
    (jd + 1).rem_euclid(7)
}

/// Julian day of the Monday of ISO week `week` of ISO year `year`.
pub fn isoweek2j(year: i64, week: i64) -> i64 {
    let day4 = date2j(year, 1, 4);
    let day0 = j2day(day4 - 1);
    (week - 1) * 7 + (day4 - day0)
}

/// ISO week number and ISO year of a date.
pub fn iso_week(year: i64, mon: i64, mday: i64) -> (i64, i64) {
    let dayn = date2j(year, mon, mday);
    let mut iso_year = year;
    let mut day4 = date2j(year, 1, 4);
    let mut day0 = j2day(day4 - 1);
    if dayn < day4 - day0 {
        day4 = date2j(year - 1, 1, 4);
        day0 = j2day(day4 - 1);
        iso_year -= 1;
    }
    let mut week = (dayn - (day4 - day0)) / 7 + 1;
    if week >= 52 {
        let next4 = date2j(year + 1, 1, 4);
        let next0 = j2day(next4 - 1);
        if dayn >= next4 - next0 {
            week = (dayn - (next4 - next0)) / 7 + 1;
            iso_year += 1;
        }
    }
    (week, iso_year)
}

/// Day of the ISO year (1…371).
pub fn iso_year_day(year: i64, mon: i64, mday: i64) -> i64 {
    let (_, iso_year) = iso_week(year, mon, mday);
    date2j(year, mon, mday) - isoweek2j(iso_year, 1) + 1
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(template: &str) -> Vec<String> {
        parse(template)
            .into_iter()
            .map(|n| match n {
                Node::Keyword { kw, fm, th, .. } => {
                    format!(
                        "{}{}{}",
                        if fm { "FM" } else { "" },
                        kw.name,
                        match th {
                            Some(Th::Upper) => "TH",
                            Some(Th::Lower) => "th",
                            None => "",
                        }
                    )
                }
                Node::Char(c) => format!("'{c}'"),
                Node::Space(_) => "_".into(),
                Node::Separator(c) => c.to_string(),
            })
            .collect()
    }

    #[test]
    fn templates_split_as_postgresql_reads_them() {
        assert_eq!(
            names("YYYY-MM-DD HH24"),
            ["YYYY", "-", "MM", "-", "DD", "_", "HH24"]
        );
        assert_eq!(
            names("FMDDth \"of\" Month"),
            ["FMDDth", "_", "'o'", "'f'", "_", "Month"]
        );
        assert_eq!(names("HH12MI"), ["HH12", "MI"]);
        assert_eq!(names("dAY"), ["d", "'A'", "Y"]);
        assert_eq!(
            names("\"a\\\"b\"\\\"x"),
            ["'a'", "'\"'", "'b'", "\"", "'x'"]
        );
        assert_eq!(names("Y,YYY SSSSS"), ["Y,YYY", "_", "SSSSS"]);
        assert_eq!(names("FMx"), ["'x'"]);
    }

    #[test]
    fn julian_days_and_iso_weeks() {
        // PostgreSQL 15: to_char(date '2026-07-01', 'J IW IYYY IDDD') = 2461223 27 2026 185
        assert_eq!(date2j(2026, 7, 1), 2461223);
        assert_eq!(j2date(2461223), (2026, 7, 1));
        assert_eq!(iso_week(2026, 7, 1), (27, 2026));
        assert_eq!(iso_year_day(2026, 7, 1), 185);
        // 2027-01-01 is in ISO week 53 of 2026; 2024-12-30 in week 1 of 2025.
        assert_eq!(iso_week(2027, 1, 1), (53, 2026));
        assert_eq!(iso_week(2024, 12, 30), (1, 2025));
        assert_eq!(ordinal("22", Th::Lower).unwrap(), "nd");
        assert_eq!(ordinal("112", Th::Upper).unwrap(), "TH");
        assert!(ordinal("x", Th::Upper).is_err());
    }
}
