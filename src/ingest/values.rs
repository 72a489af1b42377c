//! Parsing one text value from an export into a typed value.
//!
//! Exports write dates as `2019-02-12T11:02:00Z`, `2019-02-12 11:02:00`,
//! `12.02.2019 11:02` or a format named in the mapping file; times without an
//! offset are read on the wall clock of the mapping's (or `--timezone`) zone.

use chrono::{NaiveDate, NaiveDateTime, TimeZone};
use chrono_tz::Tz;

/// How timestamps without an explicit offset are read.
#[derive(Debug, Clone)]
pub struct TimeRules {
    /// Zone of naive timestamps (UTC when the export says nothing).
    pub zone: Tz,
    /// A strftime format that every timestamp follows (optional).
    pub format: Option<String>,
}

impl Default for TimeRules {
    fn default() -> Self {
        TimeRules {
            zone: chrono_tz::UTC,
            format: None,
        }
    }
}

/// Parses a timestamp into microseconds since the epoch (UTC).
pub fn parse_timestamp(s: &str, rules: &TimeRules) -> Result<i64, String> {
    let s = s.trim();
    if let Some(fmt) = &rules.format {
        if let Ok(t) = chrono::DateTime::parse_from_str(s, fmt) {
            return Ok(t.timestamp_micros());
        }
        return match NaiveDateTime::parse_from_str(s, fmt) {
            Ok(n) => local_to_utc(n, rules.zone),
            Err(_) => match NaiveDate::parse_from_str(s, fmt) {
                Ok(d) => local_to_utc(d.and_time(chrono::NaiveTime::MIN), rules.zone),
                Err(e) => Err(format!("`{s}` does not match the date format `{fmt}`: {e}")),
            },
        };
    }
    let b = s.as_bytes();
    if b.len() >= 10 && b[4] == b'-' && b[7] == b'-' {
        return parse_iso(s, rules.zone);
    }
    if b.len() >= 10 && b[2] == b'.' && b[5] == b'.' {
        return parse_dotted(s, rules.zone);
    }
    Err(format!(
        "`{s}` is not a date: expected ISO 8601 (2019-02-12T11:02:00Z) or 12.02.2019 11:02"
    ))
}

/// `YYYY-MM-DD[(T| )HH:MM[:SS[.ffffff]]][Z|±HH[:MM]]`
fn parse_iso(s: &str, zone: Tz) -> Result<i64, String> {
    let bad = || format!("`{s}` is not a valid ISO 8601 date-time");
    let b = s.as_bytes();
    let year = digits(b, 0, 4).ok_or_else(bad)?;
    let month = digits(b, 5, 2).ok_or_else(bad)?;
    let day = digits(b, 8, 2).ok_or_else(bad)?;
    let date = NaiveDate::from_ymd_opt(year as i32, month, day)
        .ok_or_else(|| format!("`{s}` is not a calendar date"))?;
    if b.len() == 10 {
        return local_to_utc(date.and_time(chrono::NaiveTime::MIN), zone);
    }
    if b[10] != b'T' && b[10] != b' ' {
        return Err(bad());
    }
    let (time, rest) = parse_time(&b[11..]).ok_or_else(bad)?;
    let naive = date.and_time(time);
    let rest = std::str::from_utf8(rest).map_err(|_| bad())?.trim();
    if rest.is_empty() {
        return local_to_utc(naive, zone);
    }
    let offset_secs = parse_offset(rest).ok_or_else(bad)?;
    let utc = naive.and_utc().timestamp_micros() - offset_secs as i64 * 1_000_000;
    Ok(utc)
}

/// `DD.MM.YYYY[ HH:MM[:SS]]`, always on the zone's wall clock.
fn parse_dotted(s: &str, zone: Tz) -> Result<i64, String> {
    let bad = || format!("`{s}` is not a valid date like 12.02.2019 11:02");
    let b = s.as_bytes();
    let day = digits(b, 0, 2).ok_or_else(bad)?;
    let month = digits(b, 3, 2).ok_or_else(bad)?;
    let year = digits(b, 6, 4).ok_or_else(bad)?;
    let date = NaiveDate::from_ymd_opt(year as i32, month, day)
        .ok_or_else(|| format!("`{s}` is not a calendar date"))?;
    if b.len() == 10 {
        return local_to_utc(date.and_time(chrono::NaiveTime::MIN), zone);
    }
    if b[10] != b' ' {
        return Err(bad());
    }
    let (time, rest) = parse_time(&b[11..]).ok_or_else(bad)?;
    if !rest.iter().all(|c| c.is_ascii_whitespace()) {
        return Err(bad());
    }
    local_to_utc(date.and_time(time), zone)
}

/// `HH:MM[:SS[.f+]]`, returning the time and what follows it.
fn parse_time(b: &[u8]) -> Option<(chrono::NaiveTime, &[u8])> {
    let h = digits(b, 0, 2)?;
    if b.get(2) != Some(&b':') {
        return None;
    }
    let m = digits(b, 3, 2)?;
    let mut i = 5;
    let mut sec = 0;
    let mut micros = 0;
    if b.get(5) == Some(&b':') {
        sec = digits(b, 6, 2)?;
        i = 8;
        if b.get(8) == Some(&b'.') || b.get(8) == Some(&b',') {
            i = 9;
            let mut scale = 100_000;
            while let Some(d) = b.get(i).filter(|c| c.is_ascii_digit()) {
                micros += (d - b'0') as u32 * scale;
                scale /= 10;
                i += 1;
            }
            if i == 9 {
                return None;
            }
        }
    }
    let t = chrono::NaiveTime::from_hms_micro_opt(h, m, sec, micros)?;
    Some((t, &b[i..]))
}

/// `Z`, `+03`, `+03:00`, `+0300`, `-05:30`.
fn parse_offset(s: &str) -> Option<i32> {
    if s == "Z" || s == "z" {
        return Some(0);
    }
    let b = s.as_bytes();
    let sign = match b.first()? {
        b'+' => 1,
        b'-' => -1,
        _ => return None,
    };
    let h = digits(b, 1, 2)? as i32;
    let m = match b.len() {
        3 => 0,
        5 => digits(b, 3, 2)? as i32,
        6 if b[3] == b':' => digits(b, 4, 2)? as i32,
        _ => return None,
    };
    if h > 18 || m > 59 {
        return None;
    }
    Some(sign * (h * 3600 + m * 60))
}

fn digits(b: &[u8], at: usize, n: usize) -> Option<u32> {
    let slice = b.get(at..at + n)?;
    let mut v = 0u32;
    for &c in slice {
        if !c.is_ascii_digit() {
            return None;
        }
        v = v * 10 + (c - b'0') as u32;
    }
    Some(v)
}

/// A wall-clock time in `zone` to UTC microseconds. An ambiguous time (the
/// repeated hour of a fall-back day) is the earlier instant; a time in a
/// spring-forward gap is moved forward by the gap, as PostgreSQL does.
pub fn local_to_utc(naive: NaiveDateTime, zone: Tz) -> Result<i64, String> {
    if zone == chrono_tz::UTC {
        return Ok(naive.and_utc().timestamp_micros());
    }
    match zone.from_local_datetime(&naive).earliest() {
        Some(t) => Ok(t.timestamp_micros()),
        None => zone
            .from_local_datetime(&(naive + chrono::Duration::hours(1)))
            .earliest()
            .map(|t| t.timestamp_micros())
            .ok_or_else(|| format!("{naive} does not exist in time zone {zone}")),
    }
}

/// Parses a boolean: true/false, t/f, 1/0, yes/no, y/n, да/нет.
pub fn parse_bool(s: &str) -> Result<bool, String> {
    match s.trim().to_lowercase().as_str() {
        "true" | "t" | "1" | "yes" | "y" | "да" => Ok(true),
        "false" | "f" | "0" | "no" | "n" | "нет" => Ok(false),
        _ => Err(format!("`{s}` is not a boolean (true/false, 1/0, yes/no)")),
    }
}

/// Parses an integer that fits in 32 bits.
pub fn parse_int(s: &str) -> Result<i32, String> {
    s.trim()
        .parse::<i32>()
        .map_err(|_| format!("`{s}` is not an integer"))
}

/// Parses a decimal number; a decimal comma is accepted (`1,5`).
pub fn parse_float(s: &str) -> Result<f64, String> {
    let t = s.trim();
    let v = if t.contains(',') && !t.contains('.') {
        t.replace(',', ".").parse::<f64>()
    } else {
        t.parse::<f64>()
    };
    match v {
        Ok(v) if v.is_finite() => Ok(v),
        _ => Err(format!("`{s}` is not a number")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ts(s: &str) -> String {
        let r = TimeRules::default();
        let micros = parse_timestamp(s, &r).unwrap();
        chrono::DateTime::from_timestamp_micros(micros)
            .unwrap()
            .to_rfc3339()
    }

    #[test]
    fn iso_forms() {
        assert_eq!(ts("2019-02-12T11:02:00Z"), "2019-02-12T11:02:00+00:00");
        assert_eq!(ts("2019-02-12 11:02"), "2019-02-12T11:02:00+00:00");
        assert_eq!(ts("2019-02-12T14:02:00+03:00"), "2019-02-12T11:02:00+00:00");
        assert_eq!(ts("2019-02-12T14:02:00+0300"), "2019-02-12T11:02:00+00:00");
        assert_eq!(
            ts("2019-02-12T11:02:00.5Z"),
            "2019-02-12T11:02:00.500+00:00"
        );
        assert_eq!(ts("2019-02-12"), "2019-02-12T00:00:00+00:00");
    }

    #[test]
    fn dotted_dates_are_local() {
        let r = TimeRules {
            zone: chrono_tz::Europe::Moscow,
            format: None,
        };
        let micros = parse_timestamp("12.02.2019 11:02", &r).unwrap();
        let t = chrono::DateTime::from_timestamp_micros(micros).unwrap();
        assert_eq!(t.to_rfc3339(), "2019-02-12T08:02:00+00:00");
    }

    #[test]
    fn bad_dates_say_why() {
        let r = TimeRules::default();
        assert!(
            parse_timestamp("31.02.2019 10:00", &r)
                .unwrap_err()
                .contains("calendar")
        );
        assert!(
            parse_timestamp("yesterday", &r)
                .unwrap_err()
                .contains("not a date")
        );
        assert!(parse_timestamp("2019-02-12T25:00", &r).is_err());
        assert!(parse_timestamp("2019-02-12T10:00:00+3", &r).is_err());
    }

    #[test]
    fn explicit_format() {
        let r = TimeRules {
            zone: chrono_tz::UTC,
            format: Some("%m/%d/%Y %H:%M".into()),
        };
        assert_eq!(
            parse_timestamp("02/12/2019 11:02", &r).unwrap(),
            parse_timestamp("2019-02-12T11:02:00Z", &TimeRules::default()).unwrap()
        );
    }

    #[test]
    fn dst_gap_moves_forward_and_overlap_takes_earlier() {
        let ny = chrono_tz::America::New_York;
        let gap = NaiveDate::from_ymd_opt(2024, 3, 10)
            .unwrap()
            .and_hms_opt(2, 30, 0)
            .unwrap();
        let got = local_to_utc(gap, ny).unwrap();
        // 03:30 EDT = 07:30 UTC
        assert_eq!(
            chrono::DateTime::from_timestamp_micros(got)
                .unwrap()
                .to_rfc3339(),
            "2024-03-10T07:30:00+00:00"
        );
        let overlap = NaiveDate::from_ymd_opt(2024, 11, 3)
            .unwrap()
            .and_hms_opt(1, 30, 0)
            .unwrap();
        let got = local_to_utc(overlap, ny).unwrap();
        // the first 01:30 is EDT = 05:30 UTC
        assert_eq!(
            chrono::DateTime::from_timestamp_micros(got)
                .unwrap()
                .to_rfc3339(),
            "2024-11-03T05:30:00+00:00"
        );
    }

    #[test]
    fn numbers_and_booleans() {
        assert_eq!(parse_float("1,5").unwrap(), 1.5);
        assert!(parse_float("NaN").is_err());
        assert!(parse_int("7a").is_err());
        assert!(parse_bool("да").unwrap());
    }
}
