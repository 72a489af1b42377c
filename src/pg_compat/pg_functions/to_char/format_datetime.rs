//! `to_char` of a timestamp, a `timestamptz` (its wall clock in the
//! session's zone, with that zone's abbreviation and offset) and an
//! interval, by PostgreSQL 15's `DCH_to_char`: every keyword's width, case,
//! padding (`Month` is blank-padded to nine characters unless `FM`),
//! ordinal suffix and the keywords an interval refuses (22007).

use chrono::{Datelike, NaiveDateTime, Timelike};
use datafusion::common::Result;

use super::template::{
    DAYS, DAYS_SHORT, Key, MONTHS, MONTHS_FULL, Node, RM_MONTHS, date2j, iso_week, iso_year_day,
    ordinal,
};
use crate::sqlstate::{code, coded};

/// The broken-down value `to_char` formats: a wall-clock time, or an
/// interval's fields (hours not folded into days, every field signed).
#[derive(Debug, Clone, Default)]
pub struct Fields {
    /// Astronomical year (0 is 1 BC); for an interval, whole years.
    pub year: i64,
    pub mon: i64,
    pub mday: i64,
    pub hour: i64,
    pub min: i64,
    pub sec: i64,
    /// Microseconds.
    pub usec: i64,
    /// Day of the week, Sunday = 0.
    pub wday: i64,
    /// Day of the year, from 1.
    pub yday: i64,
    /// Seconds east of UTC.
    pub gmtoff: i64,
    /// The zone's abbreviation, for a `timestamptz`.
    pub zone: Option<String>,
    pub interval: bool,
}

impl Fields {
    /// A wall-clock time, with the offset and abbreviation of its zone (a
    /// `timestamptz`) or none (a `timestamp`).
    pub fn wall_clock(t: NaiveDateTime, gmtoff: i64, zone: Option<String>) -> Fields {
        Fields {
            year: i64::from(t.year()),
            mon: i64::from(t.month()),
            mday: i64::from(t.day()),
            hour: i64::from(t.hour()),
            min: i64::from(t.minute()),
            sec: i64::from(t.second()),
            usec: i64::from(t.nanosecond() / 1000),
            wday: i64::from(t.weekday().num_days_from_sunday()),
            yday: i64::from(t.ordinal()),
            gmtoff,
            zone,
            interval: false,
        }
    }

    /// An interval of `months`, `days` and `micros`, split as PostgreSQL's
    /// `interval2itm` splits it.
    pub fn interval(months: i64, days: i64, micros: i64) -> Fields {
        let (year, mon) = (months / 12, months % 12);
        let hour = micros / 3_600_000_000;
        let rest = micros % 3_600_000_000;
        Fields {
            year,
            mon,
            mday: days,
            hour,
            min: rest / 60_000_000,
            sec: rest % 60_000_000 / 1_000_000,
            usec: rest % 1_000_000,
            wday: 0,
            // An approximation of the span in days, as PostgreSQL's.
            yday: (year * 12 + mon) * 30 + days,
            gmtoff: 0,
            zone: None,
            interval: true,
        }
    }

    /// The year as written: BC years counted from 1 (not for intervals).
    fn shown_year(&self, year: i64) -> i64 {
        if self.interval || year > 0 {
            year
        } else {
            1 - year
        }
    }
}

/// `value` zero-padded to `width` (the sign counts), or unpadded with `FM`.
fn padded(value: i64, width: usize, fm: bool) -> String {
    if fm {
        value.to_string()
    } else {
        format!("{value:0width$}")
    }
}

/// A two-digit field, three wide when negative (an interval's).
fn two(value: i64, fm: bool) -> String {
    padded(value, if value >= 0 { 2 } else { 3 }, fm)
}

/// A name blank-padded to nine characters unless `FM` (or `TM`).
fn name9(name: String, fm: bool, tm: bool) -> String {
    if fm || tm { name } else { format!("{name:<9}") }
}

fn refuse_for_interval() -> datafusion::common::DataFusionError {
    coded(
        code::INVALID_DATETIME_FORMAT,
        "invalid format specification for an interval value",
    )
}

/// Formats `f` by the template `nodes`.
pub fn format(nodes: &[Node], f: &Fields) -> Result<String> {
    let mut out = String::new();
    for node in nodes {
        let (kw, fm, tm, th) = match node {
            Node::Keyword { kw, fm, tm, th } => (kw, *fm, *tm, *th),
            Node::Char(c) | Node::Space(c) | Node::Separator(c) => {
                out.push(*c);
                continue;
            }
        };
        let date_only = matches!(
            kw.key,
            Key::TZ
                | Key::tz
                | Key::TZH
                | Key::TZM
                | Key::OF
                | Key::A_D
                | Key::B_C
                | Key::AD
                | Key::BC
                | Key::a_d
                | Key::b_c
                | Key::ad
                | Key::bc
                | Key::MONTH
                | Key::Month
                | Key::month
                | Key::MON
                | Key::Mon
                | Key::mon
                | Key::DAY
                | Key::Day
                | Key::day
                | Key::DY
                | Key::Dy
                | Key::dy
                | Key::D
                | Key::ID
        );
        if date_only && f.interval {
            return Err(refuse_for_interval());
        }
        let pm = f.hour % 24 >= 12;
        let month = usize::try_from(f.mon - 1).ok().filter(|m| *m < 12);
        let wday = usize::try_from(f.wday).unwrap_or(0) % 7;
        // A number, then its ordinal suffix if asked for.
        let number: Option<String> = match kw.key {
            Key::HH | Key::HH12 => {
                let h = if f.hour % 12 == 0 { 12 } else { f.hour % 12 };
                Some(padded(h, if f.hour >= 0 { 2 } else { 3 }, fm))
            }
            Key::HH24 => Some(two(f.hour, fm)),
            Key::MI => Some(two(f.min, fm)),
            Key::SS => Some(two(f.sec, fm)),
            Key::FF(n) => {
                let digits = usize::from(n);
                let scaled = f.usec / 10i64.pow(6 - u32::from(n));
                Some(format!("{scaled:0digits$}"))
            }
            Key::MS => Some(format!("{:03}", f.usec / 1000)),
            Key::US => Some(format!("{:06}", f.usec)),
            Key::SSSS => Some((f.hour * 3600 + f.min * 60 + f.sec).to_string()),
            Key::MM => Some(two(f.mon, fm)),
            Key::DDD => Some(padded(f.yday, 3, fm)),
            Key::IDDD => Some(padded(iso_year_day(f.year, f.mon, f.mday), 3, fm)),
            Key::DD => Some(padded(f.mday, 2, fm)),
            Key::D => Some((f.wday + 1).to_string()),
            Key::ID => Some((if f.wday == 0 { 7 } else { f.wday }).to_string()),
            Key::WW => Some(padded((f.yday - 1) / 7 + 1, 2, fm)),
            Key::IW => Some(padded(iso_week(f.year, f.mon, f.mday).0, 2, fm)),
            Key::Q if f.mon == 0 => None,
            Key::Q => Some(((f.mon - 1) / 3 + 1).to_string()),
            Key::CC => {
                let c = if f.interval {
                    f.year / 100
                } else if f.year > 0 {
                    (f.year - 1) / 100 + 1
                } else {
                    f.year / 100 - 1
                };
                Some(if (-99..=99).contains(&c) {
                    two(c, fm)
                } else {
                    c.to_string()
                })
            }
            Key::Y_YYY => {
                let y = f.shown_year(f.year);
                Some(format!("{},{:03}", y / 1000, y - y / 1000 * 1000))
            }
            Key::YYYY | Key::IYYY | Key::YYY | Key::IYY | Key::YY | Key::IY | Key::Y | Key::I => {
                let iso = matches!(kw.key, Key::IYYY | Key::IYY | Key::IY | Key::I);
                let year = if iso {
                    iso_week(f.year, f.mon, f.mday).1
                } else {
                    f.year
                };
                let y = f.shown_year(year);
                let (modulus, width) = match kw.key {
                    Key::YYYY | Key::IYYY => (None, 4),
                    Key::YYY | Key::IYY => (Some(1000), 3),
                    Key::YY | Key::IY => (Some(100), 2),
                    _ => (Some(10), 1),
                };
                let v = modulus.map_or(y, |m| y % m);
                // The width follows the calendar year's sign, as in PostgreSQL.
                let width = if f.shown_year(f.year) >= 0 {
                    width
                } else {
                    width + 1
                };
                Some(if width == 1 {
                    v.to_string()
                } else {
                    padded(v, width, fm)
                })
            }
            Key::W => Some(((f.mday - 1) / 7 + 1).to_string()),
            Key::J => Some(date2j(f.year, f.mon, f.mday).to_string()),
            _ => None,
        };
        if let Some(n) = number {
            if let Some(th) = th {
                let suffix = ordinal(&n, th)?;
                out.push_str(&n);
                out.push_str(suffix);
            } else {
                out.push_str(&n);
            }
            continue;
        }
        let bc = f.year <= 0;
        match kw.key {
            Key::A_M | Key::P_M => out.push_str(if pm { "P.M." } else { "A.M." }),
            Key::AM | Key::PM => out.push_str(if pm { "PM" } else { "AM" }),
            Key::a_m | Key::p_m => out.push_str(if pm { "p.m." } else { "a.m." }),
            Key::am | Key::pm => out.push_str(if pm { "pm" } else { "am" }),
            Key::A_D | Key::B_C => out.push_str(if bc { "B.C." } else { "A.D." }),
            Key::AD | Key::BC => out.push_str(if bc { "BC" } else { "AD" }),
            Key::a_d | Key::b_c => out.push_str(if bc { "b.c." } else { "a.d." }),
            Key::ad | Key::bc => out.push_str(if bc { "bc" } else { "ad" }),
            Key::TZ => out.push_str(f.zone.as_deref().unwrap_or("")),
            Key::tz => out.push_str(&f.zone.as_deref().unwrap_or("").to_ascii_lowercase()),
            Key::TZH => {
                let sign = if f.gmtoff >= 0 { '+' } else { '-' };
                out.push_str(&format!("{sign}{:02}", f.gmtoff.abs() / 3600));
            }
            Key::TZM => out.push_str(&format!("{:02}", f.gmtoff.abs() % 3600 / 60)),
            Key::OF => {
                let sign = if f.gmtoff >= 0 { '+' } else { '-' };
                out.push(sign);
                out.push_str(&padded(f.gmtoff.abs() / 3600, 2, fm));
                if f.gmtoff.abs() % 3600 != 0 {
                    out.push_str(&format!(":{:02}", f.gmtoff.abs() % 3600 / 60));
                }
            }
            Key::MONTH | Key::Month | Key::month => {
                if let Some(m) = month {
                    let name = cased(MONTHS_FULL[m], kw.key, Key::MONTH, Key::month);
                    out.push_str(&name9(name, fm, tm));
                }
            }
            Key::MON | Key::Mon | Key::mon => {
                if let Some(m) = month {
                    out.push_str(&cased(MONTHS[m], kw.key, Key::MON, Key::mon));
                }
            }
            Key::DAY | Key::Day | Key::day => {
                let name = cased(DAYS[wday], kw.key, Key::DAY, Key::day);
                out.push_str(&name9(name, fm, tm));
            }
            Key::DY | Key::Dy | Key::dy => {
                out.push_str(&cased(DAYS_SHORT[wday], kw.key, Key::DY, Key::dy));
            }
            Key::RM | Key::rm => {
                if f.mon == 0 && f.year == 0 {
                    continue;
                }
                let index = if f.mon == 0 {
                    if f.year >= 0 { 0 } else { 11 }
                } else if f.mon < 0 {
                    -(f.mon + 1)
                } else {
                    12 - f.mon
                };
                let roman = usize::try_from(index)
                    .ok()
                    .and_then(|i| RM_MONTHS.get(i))
                    .copied()
                    .unwrap_or("");
                let roman = if kw.key == Key::rm {
                    roman.to_ascii_lowercase()
                } else {
                    roman.to_string()
                };
                out.push_str(&if fm { roman } else { format!("{roman:<4}") });
            }
            // FX, and Q of an interval without months, write nothing.
            _ => {}
        }
    }
    Ok(out)
}

/// A name in the case its keyword is written in (`MON`, `Mon`, `mon`).
fn cased(name: &str, key: Key, upper: Key, lower: Key) -> String {
    if key == upper {
        name.to_ascii_uppercase()
    } else if key == lower {
        name.to_ascii_lowercase()
    } else {
        name.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::super::template::parse;
    use super::*;

    fn ts(text: &str, template: &str) -> String {
        let t = NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S%.f").unwrap();
        format(&parse(template), &Fields::wall_clock(t, 0, None)).unwrap()
    }

    fn iv(months: i64, days: i64, micros: i64, template: &str) -> Result<String> {
        format(&parse(template), &Fields::interval(months, days, micros))
    }

    // Expected values as PostgreSQL 15 prints them (`SELECT to_char(timestamp '…', '…')`).
    #[test]
    fn timestamps() {
        let t = "2026-07-01 09:05:03.123456";
        for (template, expected) in [
            ("YYYY-MM-DD HH24:MI:SS", "2026-07-01 09:05:03"),
            ("YYYY-MM-DD HH24", "2026-07-01 09"),
            ("DD.MM.YYYY HH12:MI AM", "01.07.2026 09:05 AM"),
            ("Mon DD, YYYY", "Jul 01, 2026"),
            (
                "Month|MONTH|month|FMMonth|TMMonth",
                "July     |JULY     |july     |July|July",
            ),
            (
                "Day|DAY|day|Dy|DY|dy|FMDay",
                "Wednesday|WEDNESDAY|wednesday|Wed|WED|wed|Wednesday",
            ),
            (
                "IYYY-IW|YYYY\"Q\"Q|WW|DDD|D|ID|J",
                "2026-27|2026Q3|26|182|4|3|2461223",
            ),
            (
                "HH24:MI:SS.US|MS|FF1 FF2 FF3 FF4 FF5 FF6",
                "09:05:03.123456|123|1 12 123 1234 12345 123456",
            ),
            (
                "FMDD.FMMM.YYYY|DDth|DDTH|FMDDth|Y,YYY|YYY YY Y",
                "1.7.2026|01st|01ST|1st|2,026|026 26 6",
            ),
            (
                "yyyy-mm-dd hh24:mi|CC|cc|SSSS|SSSSS",
                "2026-07-01 09:05|21|21|32703|32703",
            ),
            (
                "A.M.|a.m.|PM|pm|AD|B.C.|ad|a.d.",
                "A.M.|a.m.|AM|am|AD|A.D.|ad|a.d.",
            ),
            (
                "RM|rm|FMRM.|W|Q|TZ|tz|OF|TZH:TZM",
                "VII |vii |VII.|1|3|||+00|+00:00",
            ),
            (
                "\"YYYY\" \\\"YYYY\\\"|FXYYYY|HHth",
                "YYYY \"2026\"|2026|09th",
            ),
        ] {
            assert_eq!(ts(t, template), expected, "{template}");
        }
        assert_eq!(ts("2026-07-01 00:00:00", "HH12 am HH"), "12 am 12");
        assert_eq!(ts("2026-07-01 12:00:00", "HH12 PM"), "12 PM");
        assert_eq!(ts("2026-07-01 13:07:00", "HH:MI|FMHH12"), "01:07|1");
        assert_eq!(
            ts("2026-12-31 00:00:00", "DDD IDDD IW IYYY WW"),
            "365 368 53 2026 53"
        );
        assert_eq!(ts("0001-03-01 00:00:00", "YYYY CC"), "0001 01");
        assert_eq!(
            ts("0000-03-01 00:00:00", "YYYY BC CC Y,YYY"),
            "0001 BC -01 0,001"
        );
    }

    #[test]
    fn intervals() {
        let hour = 3_600_000_000;
        assert_eq!(
            iv(0, 1, 3 * hour + 4 * 60_000_000 + 5_000_000, "HH24:MI:SS").unwrap(),
            "03:04:05"
        );
        assert_eq!(
            iv(0, 0, 26 * hour + 5 * 60_000_000, "HH24:MI").unwrap(),
            "26:05"
        );
        // PostgreSQL 15: to_char(interval '-1 day -5 hours -3 min', 'HH HH12 HH24 MI SS AM DD MM YYYY CC J IW W WW Q DDD IDDD')
        assert_eq!(
            iv(
                0,
                -1,
                -(5 * hour + 3 * 60_000_000),
                "HH HH12 HH24 MI SS AM DD MM YYYY CC J IW W WW Q DDD IDDD"
            )
            .unwrap(),
            "-05 -05 -05 -03 00 AM -1 00 0000 00 1721027 48 1 01  -01 330"
        );
        // to_char(interval '1 year 2 months 3 days', 'YYYY MM DD DDD RM') = 0001 02 03 423 II
        assert_eq!(
            iv(14, 3, 0, "YYYY MM DD DDD RM").unwrap(),
            "0001 02 03 423 II  "
        );
        for template in ["Mon", "Day", "TZ", "AD", "D", "OF"] {
            assert!(iv(1, 0, 0, template).is_err(), "{template}");
        }
    }
}
