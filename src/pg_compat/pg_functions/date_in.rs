//! PostgreSQL's free-form date/time input (`date_in`, `timestamp_in`,
//! `timestamptz_in`: `ParseDateTime` and `DecodeDateTime` of PG 15's
//! `utils/adt/datetime.c`), for casts of text to `date`, `timestamp` and
//! `timestamptz` and their typed literals (`DATE 'July 1, 2026'`).
//!
//! The text is cut into fields (numbers, words, `yyyy-mm-dd`-like dates,
//! `hh:mm[:ss]` times, `±hh[:mm]` offsets), then each field is read by what
//! it looks like and by which fields came before it, as PostgreSQL does
//! with `DateStyle = 'ISO, MDY'` (OKO's only date order): `01/07/2026` is
//! January 7, `July 1, 2026`, `1 July 2026`, `2026-Jul-01`, `20260701`,
//! `2026-07-01T10:30:00Z`, `2026.182` (a day of the year), `J2461222` (a
//! Julian day), `10:00 pm`, a two-digit year (1970–2069), `BC`; words
//! `epoch`, `now`, `today`, `tomorrow`, `yesterday`, `allballs`. After the
//! time an offset (`+03`, `-05:30`, `+0530`), an abbreviation (`UTC`, `EST`,
//! `MSK`: [`super::zone_abbrevs`]) or a zone name (`Europe/Moscow`) gives
//! the zone of a `timestamptz`; a `date` or `timestamp` reads and ignores
//! it. Bad text fails with PostgreSQL's SQLSTATE: 22007 (syntax), 22008
//! (a field out of range), 22009 (an offset beyond ±15:59), 22023 (an
//! unknown zone name). Not read: `infinity` (OKO has no infinite times, a
//! 0A000), ISO 8601 unit labels (`y2026m07d01`).

use chrono::{DateTime, Duration, NaiveDate, NaiveDateTime, Utc};
use datafusion::common::Result;

use super::datetime::Zone;
use super::zone_abbrevs::{self, Abbrev};
use crate::sqlstate::{code, coded};

/// The type the text is read as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    Date,
    Timestamp,
    TimestampTz,
}

impl Target {
    fn type_name(self) -> &'static str {
        match self {
            Target::Date => "date",
            Target::Timestamp => "timestamp",
            Target::TimestampTz => "timestamp with time zone",
        }
    }
}

/// Reads `text` as PostgreSQL reads a value of `target`: a `date` as days
/// since 1970-01-01, a `timestamp` as its wall clock in microseconds, a
/// `timestamptz` as UTC microseconds (a time without a zone read in
/// `session`, the session's `TimeZone`).
pub fn read(text: &str, target: Target, session: &Zone) -> Result<i64> {
    let err = |e: DtErr| match e {
        DtErr::BadFormat => coded(
            code::INVALID_DATETIME_FORMAT,
            format!(
                "invalid input syntax for type {}: \"{text}\"",
                target.type_name()
            ),
        ),
        DtErr::FieldOverflow => coded(
            code::DATETIME_FIELD_OVERFLOW,
            format!("date/time field value out of range: \"{text}\""),
        ),
        DtErr::TzDispOverflow => coded(
            "22009",
            format!("time zone displacement out of range: \"{text}\""),
        ),
        DtErr::UnknownZone(zone) => coded(
            code::INVALID_PARAMETER_VALUE,
            format!("time zone \"{zone}\" not recognized"),
        ),
    };
    let fields = parse_fields(text).map_err(err)?;
    let decoded = Decoder::new(session, Utc::now())
        .decode(&fields)
        .map_err(err)?;
    let epoch = DateTime::<Utc>::UNIX_EPOCH.naive_utc();
    let (date, local, zone) = match decoded {
        Decoded::Epoch => (epoch.date(), epoch, Some(0)),
        Decoded::Infinite => {
            return Err(coded(
                code::FEATURE_NOT_SUPPORTED,
                format!("infinite dates and timestamps are not supported: \"{text}\""),
            ));
        }
        Decoded::At { date, local, east } => (date, local, east),
    };
    let out_of_range = || {
        coded(
            code::DATETIME_FIELD_OVERFLOW,
            format!(
                "{} out of range: \"{text}\"",
                if target == Target::Date {
                    "date"
                } else {
                    "timestamp"
                }
            ),
        )
    };
    match target {
        Target::Date => Ok((date - epoch.date()).num_days()),
        Target::Timestamp => Ok(local.and_utc().timestamp_micros()),
        Target::TimestampTz => {
            let instant = match zone {
                Some(east) => Some(local.and_utc() - Duration::seconds(i64::from(east))),
                None => session.instant(local),
            };
            instant
                .map(|t| t.timestamp_micros())
                .ok_or_else(out_of_range)
        }
    }
}

/// PostgreSQL's reasons to refuse date/time text (`DTERR_*`).
#[derive(Debug, PartialEq, Eq)]
enum DtErr {
    BadFormat,
    FieldOverflow,
    TzDispOverflow,
    UnknownZone(String),
}

type Dt<T> = std::result::Result<T, DtErr>;

/// The kinds of field `ParseDateTime` cuts the text into.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Number,
    String,
    Date,
    Time,
    Tz,
    Special,
}

/// `ParseDateTime`: the fields of `text` (words lower-cased).
fn parse_fields(text: &str) -> Dt<Vec<(String, Kind)>> {
    let b = text.as_bytes();
    let mut i = 0;
    let mut fields = Vec::new();
    let digit = |i: usize| b.get(i).is_some_and(u8::is_ascii_digit);
    let alpha = |i: usize| b.get(i).is_some_and(u8::is_ascii_alphabetic);
    while i < b.len() {
        let c = b[i];
        let mut field = String::new();
        let kind;
        if c.is_ascii_digit() {
            while digit(i) {
                field.push(b[i] as char);
                i += 1;
            }
            match b.get(i) {
                Some(b':') => {
                    kind = Kind::Time;
                    while i < b.len() && (b[i].is_ascii_digit() || b[i] == b':' || b[i] == b'.') {
                        field.push(b[i] as char);
                        i += 1;
                    }
                }
                Some(&delim @ (b'-' | b'/' | b'.')) => {
                    field.push(delim as char);
                    i += 1;
                    if digit(i) {
                        let mut k = if delim == b'.' {
                            Kind::Number
                        } else {
                            Kind::Date
                        };
                        while digit(i) {
                            field.push(b[i] as char);
                            i += 1;
                        }
                        // Only matching delimiters make a three-part date.
                        if b.get(i) == Some(&delim) {
                            k = Kind::Date;
                            while i < b.len() && (b[i].is_ascii_digit() || b[i] == delim) {
                                field.push(b[i] as char);
                                i += 1;
                            }
                        }
                        kind = k;
                    } else {
                        kind = Kind::Date;
                        while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == delim) {
                            field.push(b[i].to_ascii_lowercase() as char);
                            i += 1;
                        }
                    }
                }
                _ => kind = Kind::Number,
            }
        } else if c == b'.' {
            field.push('.');
            i += 1;
            while digit(i) {
                field.push(b[i] as char);
                i += 1;
            }
            kind = Kind::Number;
        } else if c.is_ascii_alphabetic() {
            while alpha(i) {
                field.push(b[i].to_ascii_lowercase() as char);
                i += 1;
            }
            // A word followed by punctuation may be a date with a text
            // month (`jul-01-2026`) or a zone name (`europe/moscow`,
            // `utc+3`), unless the word is one of the date keywords.
            let is_date = match b.get(i) {
                Some(b'-' | b'/' | b'.') => true,
                Some(&n) if n == b'+' || n.is_ascii_digit() => keyword(&field).is_none(),
                _ => false,
            };
            if is_date {
                kind = Kind::Date;
                while i < b.len()
                    && (b[i].is_ascii_alphanumeric()
                        || matches!(b[i], b'+' | b'-' | b'/' | b'_' | b'.' | b':'))
                {
                    field.push(b[i].to_ascii_lowercase() as char);
                    i += 1;
                }
            } else {
                kind = Kind::String;
            }
        } else if c.is_ascii_whitespace() {
            i += 1;
            continue;
        } else if c == b'+' || c == b'-' {
            field.push(c as char);
            i += 1;
            while i < b.len() && b[i].is_ascii_whitespace() {
                i += 1;
            }
            if digit(i) {
                kind = Kind::Tz;
                while i < b.len() && (b[i].is_ascii_digit() || matches!(b[i], b':' | b'.' | b'-')) {
                    field.push(b[i] as char);
                    i += 1;
                }
            } else if alpha(i) {
                kind = Kind::Special;
                while alpha(i) {
                    field.push(b[i].to_ascii_lowercase() as char);
                    i += 1;
                }
            } else {
                return Err(DtErr::BadFormat);
            }
        } else if c.is_ascii_punctuation() {
            i += 1;
            continue;
        } else {
            return Err(DtErr::BadFormat);
        }
        fields.push((field, kind));
    }
    Ok(fields)
}

/// PostgreSQL's date keywords (`datetktbl`), by what they set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Token {
    Epoch,
    Infinite,
    Now,
    Today,
    Tomorrow,
    Yesterday,
    Zulu,
    Month(i64),
    Ignore,
    Am,
    Pm,
    Ad,
    Bc,
    DayOfWeek,
    /// `dst`: an hour of daylight time on the zone before it.
    DstModifier,
    /// `t` between a date and a time.
    IsoTime,
    /// `j`, `jd`, `julian`: a Julian day follows.
    Julian,
    /// Other unit labels (`y`, `m`, `d`, `h`, …), which OKO does not read.
    Units,
}

/// The keyword `word` (lower case), compared on its first ten letters as
/// PostgreSQL does.
fn keyword(word: &str) -> Option<Token> {
    let key = &word[..word.len().min(10)];
    Some(match key {
        "epoch" => Token::Epoch,
        "infinity" | "-infinity" => Token::Infinite,
        "now" => Token::Now,
        "today" => Token::Today,
        "tomorrow" => Token::Tomorrow,
        "yesterday" => Token::Yesterday,
        "allballs" => Token::Zulu,
        "jan" | "january" => Token::Month(1),
        "feb" | "february" => Token::Month(2),
        "mar" | "march" => Token::Month(3),
        "apr" | "april" => Token::Month(4),
        "may" => Token::Month(5),
        "jun" | "june" => Token::Month(6),
        "jul" | "july" => Token::Month(7),
        "aug" | "august" => Token::Month(8),
        "sep" | "sept" | "september" => Token::Month(9),
        "oct" | "october" => Token::Month(10),
        "nov" | "november" => Token::Month(11),
        "dec" | "december" => Token::Month(12),
        "at" | "on" => Token::Ignore,
        "am" => Token::Am,
        "pm" => Token::Pm,
        "ad" => Token::Ad,
        "bc" => Token::Bc,
        "sun" | "sunday" | "mon" | "monday" | "tue" | "tues" | "tuesday" | "wed" | "weds"
        | "wednesday" | "thu" | "thur" | "thurs" | "thursday" | "fri" | "friday" | "sat"
        | "saturday" => Token::DayOfWeek,
        "dst" => Token::DstModifier,
        "t" => Token::IsoTime,
        "j" | "jd" | "julian" => Token::Julian,
        "d" | "h" | "m" | "mm" | "s" | "y" | "dow" | "doy" | "isodow" | "isoyear" => Token::Units,
        _ => return None,
    })
}

// Field masks (PostgreSQL's DTK_M bits).
const RESERV: u32 = 1 << 0;
const MONTH: u32 = 1 << 1;
const YEAR: u32 = 1 << 2;
const DAY: u32 = 1 << 3;
const TZ: u32 = 1 << 5;
const DTZ: u32 = 1 << 6;
const DTZMOD: u32 = 1 << 7;
const AMPM: u32 = 1 << 9;
const HOUR: u32 = 1 << 10;
const MINUTE: u32 = 1 << 11;
const SECOND: u32 = 1 << 12;
const DOY: u32 = 1 << 15;
const DOW: u32 = 1 << 16;
const ADBC: u32 = 1 << 18;
const DATE_M: u32 = YEAR | MONTH | DAY;
const TIME_M: u32 = HOUR | MINUTE | SECOND;

const USECS_PER_DAY: i64 = 86_400_000_000;
/// The Julian day of 1970-01-01.
const UNIX_JULIAN: i64 = 2_440_588;

/// The fields read so far (`struct pg_tm` and `fsec`).
#[derive(Debug, Default, Clone, Copy)]
struct Tm {
    year: i64,
    mon: i64,
    mday: i64,
    hour: i64,
    min: i64,
    sec: i64,
    fsec: i64,
    yday: i64,
}

/// What the text names.
#[derive(Debug, PartialEq, Eq)]
enum Decoded {
    /// A wall-clock time and the offset written with it (seconds east).
    At {
        /// The date as written (a `date` ignores the time, even `24:00`).
        date: NaiveDate,
        local: NaiveDateTime,
        east: Option<i32>,
    },
    Epoch,
    Infinite,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Meridian {
    Hr24,
    Am,
    Pm,
}

/// `DecodeDateTime`'s state.
struct Decoder<'a> {
    session: &'a Zone,
    now: DateTime<Utc>,
    tm: Tm,
    fmask: u32,
    is2digits: bool,
    have_text_month: bool,
    bc: bool,
    julian: bool,
    meridian: Meridian,
    /// An offset written with the time (seconds east).
    east: Option<i32>,
    /// A zone named with the time, resolved once the date is known.
    named: Option<Zone>,
    special: Option<Decoded>,
}

/// `strtol`: an optional sign and the digits at the start of `s` (0 if none),
/// and the rest; `None` when the number does not fit.
fn leading_int(s: &str) -> Option<(i64, bool, &str)> {
    let (negative, body) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    let end = body
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(body.len());
    if end == 0 {
        return Some((0, false, s));
    }
    let v: i64 = body[..end]
        .parse()
        .ok()
        .filter(|v| *v <= i64::from(i32::MAX))?;
    Some((if negative { -v } else { v }, true, &body[end..]))
}

/// `ParseFractionalSecond`: `.digits` as microseconds, rounded.
fn fraction(s: &str) -> Dt<i64> {
    let digits = s.strip_prefix('.').ok_or(DtErr::BadFormat)?;
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(DtErr::BadFormat);
    }
    let f: f64 = format!("0.{digits}")
        .parse()
        .map_err(|_| DtErr::BadFormat)?;
    Ok((f * 1_000_000.0).round_ties_even() as i64)
}

impl<'a> Decoder<'a> {
    fn new(session: &'a Zone, now: DateTime<Utc>) -> Self {
        Decoder {
            session,
            now,
            tm: Tm::default(),
            fmask: 0,
            is2digits: false,
            have_text_month: false,
            bc: false,
            julian: false,
            meridian: Meridian::Hr24,
            east: None,
            named: None,
            special: None,
        }
    }

    fn set_date(&mut self, d: NaiveDate) {
        use chrono::Datelike;
        self.tm.year = i64::from(d.year());
        self.tm.mon = i64::from(d.month());
        self.tm.mday = i64::from(d.day());
    }

    /// The session's offset (seconds east) at `instant`.
    fn session_offset(&self, instant: DateTime<Utc>) -> i32 {
        (self.session.local(instant) - instant.naive_utc()).num_seconds() as i32
    }

    /// `DecodeDateTime`.
    fn decode(mut self, fields: &[(String, Kind)]) -> Dt<Decoded> {
        // The label a field gave the next one (`t`, `j`).
        let mut ptype: Option<Token> = None;
        for (i, (field, kind)) in fields.iter().enumerate() {
            let field = field.as_str();
            let mut tmask: u32;
            match kind {
                Kind::Date => {
                    if ptype.is_some() || self.fmask & (MONTH | DAY) == MONTH | DAY {
                        // A zone: `hhmmss-zz` after `t`, or a zone name.
                        if field.starts_with(|c: char| c.is_ascii_digit()) || ptype.is_some() {
                            if ptype.is_some_and(|p| p != Token::IsoTime) {
                                return Err(DtErr::BadFormat);
                            }
                            ptype = None;
                            if self.fmask & TIME_M == TIME_M {
                                return Err(DtErr::BadFormat);
                            }
                            let cut = field.find('-').ok_or(DtErr::BadFormat)?;
                            self.east = Some(decode_timezone(&field[cut..])?);
                            tmask = self.number_field(&field[..cut], self.fmask)?;
                            tmask |= TZ;
                        } else {
                            self.named = Some(
                                Zone::parse(field)
                                    .map_err(|_| DtErr::UnknownZone(field.to_string()))?,
                            );
                            tmask = TZ;
                        }
                    } else {
                        tmask = self.decode_date(field)?;
                    }
                }
                Kind::Time => {
                    if let Some(p) = ptype.take()
                        && p != Token::IsoTime
                    {
                        return Err(DtErr::BadFormat);
                    }
                    tmask = self.decode_time(field)?;
                    let t = &self.tm;
                    let overflows = t.hour < 0
                        || t.hour > 24
                        || t.min < 0
                        || t.min >= 60
                        || t.sec < 0
                        || t.sec > 60
                        || t.fsec < 0
                        || t.fsec > 1_000_000
                        || ((t.hour * 60 + t.min) * 60 + t.sec) * 1_000_000 + t.fsec
                            > USECS_PER_DAY;
                    if overflows {
                        return Err(DtErr::FieldOverflow);
                    }
                }
                Kind::Tz => {
                    self.east = Some(decode_timezone(field)?);
                    tmask = TZ;
                }
                Kind::Number => {
                    if let Some(p) = ptype.take() {
                        tmask = self.labelled_number(field, p)?;
                    } else {
                        let point = field.find('.');
                        let flen = field.len();
                        if point.is_some() && self.fmask & DATE_M == 0 {
                            tmask = self.decode_date(field)?;
                        } else if point.is_some_and(|p| p > 2)
                            || (flen >= 6 && (self.fmask & DATE_M == 0 || self.fmask & TIME_M == 0))
                        {
                            tmask = self.number_field(field, self.fmask)?;
                        } else {
                            tmask = self.decode_number(field, self.have_text_month, self.fmask)?;
                        }
                    }
                }
                Kind::String | Kind::Special => {
                    // Zone abbreviations first, then the keywords.
                    if let Some(abbrev) = zone_abbrevs::lookup(field) {
                        match abbrev {
                            Abbrev::Fixed(east, dst) => {
                                self.east = Some(east);
                                tmask = if dst { TZ | DTZ } else { TZ };
                            }
                            Abbrev::Zone(name) => {
                                self.named = Some(
                                    Zone::parse(name)
                                        .map_err(|_| DtErr::UnknownZone(name.to_string()))?,
                                );
                                tmask = TZ;
                            }
                        }
                    } else {
                        match keyword(field) {
                            Some(Token::Ignore) => continue,
                            Some(token) => {
                                tmask = self.token(token, i, fields, &mut ptype)?;
                            }
                            None => {
                                // An all-letter zone name (`utc`, `zulu`).
                                if *kind == Kind::Special {
                                    return Err(DtErr::BadFormat);
                                }
                                self.named =
                                    Some(Zone::parse(field).map_err(|_| DtErr::BadFormat)?);
                                tmask = TZ;
                            }
                        }
                    }
                }
            }
            if tmask & self.fmask != 0 {
                return Err(DtErr::BadFormat);
            }
            self.fmask |= tmask;
        }
        if ptype.is_some() {
            return Err(DtErr::BadFormat);
        }
        self.validate_date()?;
        if self.meridian != Meridian::Hr24 && self.tm.hour > 12 {
            return Err(DtErr::FieldOverflow);
        }
        match self.meridian {
            Meridian::Am if self.tm.hour == 12 => self.tm.hour = 0,
            Meridian::Pm if self.tm.hour != 12 => self.tm.hour += 12,
            _ => {}
        }
        if let Some(special) = self.special {
            return Ok(special);
        }
        if self.fmask & DATE_M != DATE_M {
            return Err(DtErr::BadFormat);
        }
        let t = self.tm;
        let date = i32::try_from(t.year)
            .ok()
            .and_then(|y| NaiveDate::from_ymd_opt(y, t.mon as u32, t.mday as u32))
            .ok_or(DtErr::FieldOverflow)?;
        let micros = ((t.hour * 60 + t.min) * 60 + t.sec) * 1_000_000 + t.fsec;
        let local = date
            .and_time(chrono::NaiveTime::MIN)
            .checked_add_signed(Duration::microseconds(micros))
            .ok_or(DtErr::FieldOverflow)?;
        let mut east = self.east;
        if let Some(zone) = self.named {
            if self.fmask & DTZMOD != 0 {
                return Err(DtErr::BadFormat);
            }
            let instant = zone.instant(local).ok_or(DtErr::FieldOverflow)?;
            east = Some((local - instant.naive_utc()).num_seconds() as i32);
        }
        if self.fmask & DTZMOD != 0 && self.fmask & TZ == 0 {
            return Err(DtErr::BadFormat);
        }
        Ok(Decoded::At { date, local, east })
    }

    /// A keyword's effect; its mask.
    fn token(
        &mut self,
        token: Token,
        i: usize,
        fields: &[(String, Kind)],
        ptype: &mut Option<Token>,
    ) -> Dt<u32> {
        Ok(match token {
            Token::Epoch => {
                self.special = Some(Decoded::Epoch);
                RESERV
            }
            Token::Infinite => {
                self.special = Some(Decoded::Infinite);
                RESERV
            }
            Token::Now => {
                let local = self.session.local(self.now);
                self.set_date(local.date());
                self.set_time(local);
                self.east = Some(self.session_offset(self.now));
                DATE_M | TIME_M | TZ
            }
            Token::Today | Token::Tomorrow | Token::Yesterday => {
                let today = self.session.local(self.now).date();
                let day = match token {
                    Token::Tomorrow => today.succ_opt(),
                    Token::Yesterday => today.pred_opt(),
                    _ => Some(today),
                };
                self.set_date(day.ok_or(DtErr::FieldOverflow)?);
                DATE_M
            }
            Token::Zulu => {
                self.tm.hour = 0;
                self.tm.min = 0;
                self.tm.sec = 0;
                self.tm.fsec = 0;
                self.east = Some(0);
                TIME_M | TZ
            }
            Token::Month(m) => {
                let mut mask = MONTH;
                // A number read as the month before a month name was the day.
                if self.fmask & MONTH != 0
                    && !self.have_text_month
                    && self.fmask & DAY == 0
                    && (1..=31).contains(&self.tm.mon)
                {
                    self.tm.mday = self.tm.mon;
                    mask = DAY;
                }
                self.have_text_month = true;
                self.tm.mon = m;
                mask
            }
            Token::Am | Token::Pm => {
                self.meridian = if token == Token::Am {
                    Meridian::Am
                } else {
                    Meridian::Pm
                };
                AMPM
            }
            Token::Ad | Token::Bc => {
                self.bc = token == Token::Bc;
                ADBC
            }
            Token::DayOfWeek => DOW,
            Token::DstModifier => {
                let east = self.east.ok_or(DtErr::BadFormat)?;
                self.east = Some(east + 3600);
                DTZMOD | DTZ
            }
            Token::IsoTime => {
                if self.fmask & DATE_M != DATE_M {
                    return Err(DtErr::BadFormat);
                }
                let next = fields.get(i + 1).map(|f| f.1);
                if !matches!(next, Some(Kind::Number | Kind::Time | Kind::Date)) {
                    return Err(DtErr::BadFormat);
                }
                *ptype = Some(Token::IsoTime);
                0
            }
            Token::Julian => {
                *ptype = Some(Token::Julian);
                0
            }
            Token::Units | Token::Ignore => return Err(DtErr::BadFormat),
        })
    }

    fn set_time(&mut self, local: NaiveDateTime) {
        use chrono::Timelike;
        self.tm.hour = i64::from(local.hour());
        self.tm.min = i64::from(local.minute());
        self.tm.sec = i64::from(local.second());
        self.tm.fsec = i64::from(local.nanosecond() / 1000);
    }

    /// A number after a label (`t103000`, `j2461222`).
    fn labelled_number(&mut self, field: &str, label: Token) -> Dt<u32> {
        let (value, _, rest) = leading_int(field).ok_or(DtErr::FieldOverflow)?;
        if !rest.is_empty() && !rest.starts_with('.') {
            return Err(DtErr::BadFormat);
        }
        match label {
            Token::Julian => {
                if value < 0 {
                    return Err(DtErr::FieldOverflow);
                }
                let day = DateTime::<Utc>::UNIX_EPOCH
                    .date_naive()
                    .checked_add_signed(Duration::days(value - UNIX_JULIAN))
                    .ok_or(DtErr::FieldOverflow)?;
                self.set_date(day);
                self.julian = true;
                let mut mask = DATE_M;
                if rest.starts_with('.') {
                    let f: f64 = format!("0{rest}").parse().map_err(|_| DtErr::BadFormat)?;
                    let micros = (f * USECS_PER_DAY as f64).round_ties_even() as i64;
                    self.tm.hour = micros / 3_600_000_000;
                    self.tm.min = micros / 60_000_000 % 60;
                    self.tm.sec = micros / 1_000_000 % 60;
                    self.tm.fsec = micros % 1_000_000;
                    mask |= TIME_M;
                }
                Ok(mask)
            }
            Token::IsoTime => {
                let mask = self.number_field(field, self.fmask | DATE_M)?;
                if mask != TIME_M {
                    return Err(DtErr::BadFormat);
                }
                Ok(mask)
            }
            _ => Err(DtErr::BadFormat),
        }
    }

    /// `DecodeTime`: `hh:mm[:ss[.fff]]`, or `mm:ss.fff`.
    fn decode_time(&mut self, s: &str) -> Dt<u32> {
        let (hour, _, rest) = leading_int(s).ok_or(DtErr::FieldOverflow)?;
        let rest = rest.strip_prefix(':').ok_or(DtErr::BadFormat)?;
        let (min, _, rest) = leading_int(rest).ok_or(DtErr::FieldOverflow)?;
        let (mut h, mut m, mut sec, mut fsec) = (hour, min, 0, 0);
        if rest.is_empty() {
        } else if rest.starts_with('.') {
            fsec = fraction(rest)?;
            sec = m;
            m = h;
            h = 0;
        } else if let Some(r) = rest.strip_prefix(':') {
            let (s2, _, r) = leading_int(r).ok_or(DtErr::FieldOverflow)?;
            sec = s2;
            if r.starts_with('.') {
                fsec = fraction(r)?;
            } else if !r.is_empty() {
                return Err(DtErr::BadFormat);
            }
        } else {
            return Err(DtErr::BadFormat);
        }
        if h < 0
            || !(0..=59).contains(&m)
            || !(0..=60).contains(&sec)
            || !(0..=1_000_000).contains(&fsec)
        {
            return Err(DtErr::FieldOverflow);
        }
        self.tm.hour = h;
        self.tm.min = m;
        self.tm.sec = sec;
        self.tm.fsec = fsec;
        Ok(TIME_M)
    }

    /// `DecodeNumberField`: run-together digits, `yyyymmdd`, `yymmdd`,
    /// `hhmmss`, `hhmm`, with an optional fraction of a second.
    fn number_field(&mut self, s: &str, fmask: u32) -> Dt<u32> {
        let mut s = s;
        let has_point = if let Some(p) = s.find('.') {
            let f: f64 = format!("0{}", &s[p..]).parse().unwrap_or(0.0);
            self.tm.fsec = (f * 1_000_000.0).round_ties_even() as i64;
            s = &s[..p];
            true
        } else {
            false
        };
        let len = s.len();
        let num = |r: std::ops::Range<usize>| -> i64 {
            s.get(r)
                .and_then(|d| leading_int(d))
                .map_or(0, |(v, _, _)| v)
        };
        if !has_point && fmask & DATE_M != DATE_M && len >= 6 {
            self.tm.mday = num(len - 2..len);
            self.tm.mon = num(len - 4..len - 2);
            self.tm.year = num(0..len - 4);
            if len - 4 == 2 {
                self.is2digits = true;
            }
            return Ok(DATE_M);
        }
        if fmask & TIME_M != TIME_M {
            if len == 6 {
                self.tm.sec = num(4..6);
                self.tm.min = num(2..4);
                self.tm.hour = num(0..2);
                return Ok(TIME_M);
            } else if len == 4 {
                self.tm.sec = 0;
                self.tm.min = num(2..4);
                self.tm.hour = num(0..2);
                return Ok(TIME_M);
            }
        }
        Err(DtErr::BadFormat)
    }

    /// `DecodeNumber`: one number, placed by the fields before it.
    fn decode_number(&mut self, s: &str, have_text_month: bool, fmask: u32) -> Dt<u32> {
        let flen = s.len();
        let (val, found, rest) = leading_int(s).ok_or(DtErr::FieldOverflow)?;
        if !found {
            return Err(DtErr::BadFormat);
        }
        if rest.starts_with('.') {
            // More than two digits before the point: a date or time run together.
            if flen - rest.len() > 2 {
                return self.number_field(s, fmask | DATE_M);
            }
            self.tm.fsec = fraction(rest)?;
        } else if !rest.is_empty() {
            return Err(DtErr::BadFormat);
        }
        if flen == 3 && fmask & DATE_M == YEAR && (1..=366).contains(&val) {
            self.tm.yday = val;
            return Ok(DOY | MONTH | DAY);
        }
        let tmask = match fmask & DATE_M {
            0 => {
                // ISO (a long year first) or MDY.
                if flen >= 3 {
                    self.tm.year = val;
                    YEAR
                } else {
                    self.tm.mon = val;
                    MONTH
                }
            }
            YEAR => {
                self.tm.mon = val;
                MONTH
            }
            MONTH => {
                if have_text_month && flen >= 3 {
                    self.tm.year = val;
                    YEAR
                } else {
                    self.tm.mday = val;
                    DAY
                }
            }
            m if m == YEAR | MONTH => {
                if have_text_month && flen >= 3 && self.is2digits {
                    // The first number was the day after all (`01-Jul-2026`).
                    self.tm.mday = self.tm.year;
                    self.tm.year = val;
                    self.is2digits = false;
                } else {
                    self.tm.mday = val;
                }
                DAY
            }
            DAY => {
                self.tm.mon = val;
                MONTH
            }
            m if m == MONTH | DAY => {
                self.tm.year = val;
                YEAR
            }
            DATE_M => return self.number_field(s, fmask),
            _ => return Err(DtErr::BadFormat),
        };
        if tmask == YEAR {
            self.is2digits = flen <= 2;
        }
        Ok(tmask)
    }

    /// `DecodeDate`: a date written with separators (`2026-07-01`,
    /// `01/07/2026`, `2026-jul-01`, `2026.182`).
    fn decode_date(&mut self, s: &str) -> Dt<u32> {
        let b = s.as_bytes();
        let mut parts: Vec<&str> = Vec::new();
        let mut i = 0;
        while i < b.len() {
            while i < b.len() && !b[i].is_ascii_alphanumeric() {
                i += 1;
            }
            if i == b.len() {
                return Err(DtErr::BadFormat);
            }
            let start = i;
            if b[i].is_ascii_digit() {
                while i < b.len() && b[i].is_ascii_digit() {
                    i += 1;
                }
            } else {
                while i < b.len() && b[i].is_ascii_alphabetic() {
                    i += 1;
                }
            }
            parts.push(&s[start..i]);
            // The character after a part is dropped, whatever it is.
            i += 1;
        }
        let mut fmask = self.fmask;
        let mut tmask = 0;
        let mut have_text_month = false;
        let mut numbers = Vec::new();
        for part in parts {
            if part.starts_with(|c: char| c.is_ascii_alphabetic()) {
                let dmask = match keyword(part) {
                    Some(Token::Ignore) => continue,
                    Some(Token::Month(m)) => {
                        self.tm.mon = m;
                        have_text_month = true;
                        MONTH
                    }
                    _ => return Err(DtErr::BadFormat),
                };
                if fmask & dmask != 0 {
                    return Err(DtErr::BadFormat);
                }
                fmask |= dmask;
                tmask |= dmask;
            } else {
                numbers.push(part);
            }
        }
        for part in numbers {
            let dmask = self.decode_number(part, have_text_month, fmask)?;
            if fmask & dmask != 0 {
                return Err(DtErr::BadFormat);
            }
            fmask |= dmask;
            tmask |= dmask;
        }
        if fmask & !(DOY | TZ) != DATE_M {
            return Err(DtErr::BadFormat);
        }
        Ok(tmask)
    }

    /// `ValidateDate`: the year's era and two digits, the day of the year,
    /// the month and day in range.
    fn validate_date(&mut self) -> Dt<()> {
        let t = &mut self.tm;
        if self.fmask & DATE_M != 0 {
            if self.julian {
            } else if self.bc {
                if t.year <= 0 {
                    return Err(DtErr::FieldOverflow);
                }
                t.year = -(t.year - 1);
            } else if self.is2digits {
                if t.year < 0 {
                    return Err(DtErr::FieldOverflow);
                }
                if t.year < 70 {
                    t.year += 2000;
                } else if t.year < 100 {
                    t.year += 1900;
                }
            } else if t.year <= 0 {
                return Err(DtErr::FieldOverflow);
            }
        }
        if self.fmask & DOY != 0 {
            let day = i32::try_from(t.year)
                .ok()
                .and_then(|y| NaiveDate::from_ymd_opt(y, 1, 1))
                .and_then(|d| d.checked_add_signed(Duration::days(t.yday - 1)))
                .ok_or(DtErr::FieldOverflow)?;
            self.set_date(day);
        }
        let t = &self.tm;
        if self.fmask & MONTH != 0 && !(1..=12).contains(&t.mon) {
            return Err(DtErr::FieldOverflow);
        }
        if self.fmask & DAY != 0 && !(1..=31).contains(&t.mday) {
            return Err(DtErr::FieldOverflow);
        }
        if self.fmask & DATE_M == DATE_M {
            let valid = i32::try_from(t.year)
                .ok()
                .and_then(|y| NaiveDate::from_ymd_opt(y, t.mon as u32, t.mday as u32))
                .is_some();
            if !valid {
                return Err(DtErr::FieldOverflow);
            }
        }
        Ok(())
    }
}

/// `DecodeTimezone`: `±hh[:mm[:ss]]` or `±hhmm`, seconds east.
fn decode_timezone(s: &str) -> Dt<i32> {
    let negative = match s.as_bytes().first() {
        Some(b'-') => true,
        Some(b'+') => false,
        _ => return Err(DtErr::BadFormat),
    };
    let body = &s[1..];
    let (mut hr, _, mut rest) = leading_int(body).ok_or(DtErr::TzDispOverflow)?;
    let (mut min, mut sec) = (0, 0);
    if let Some(r) = rest.strip_prefix(':') {
        let (m, _, r) = leading_int(r).ok_or(DtErr::TzDispOverflow)?;
        min = m;
        rest = r;
        if let Some(r) = rest.strip_prefix(':') {
            let (s2, _, r) = leading_int(r).ok_or(DtErr::TzDispOverflow)?;
            sec = s2;
            rest = r;
        }
    } else if rest.is_empty() && s.len() > 3 {
        min = hr % 100;
        hr /= 100;
    }
    if !(0..=15).contains(&hr) || !(0..60).contains(&min) || !(0..60).contains(&sec) {
        return Err(DtErr::TzDispOverflow);
    }
    if !rest.is_empty() {
        return Err(DtErr::BadFormat);
    }
    let east = ((hr * 60 + min) * 60 + sec) as i32;
    Ok(if negative { -east } else { east })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc() -> Zone {
        Zone::parse("UTC").unwrap()
    }

    fn date(text: &str) -> String {
        let days = read(text, Target::Date, &utc()).unwrap();
        (DateTime::<Utc>::UNIX_EPOCH.date_naive() + Duration::days(days)).to_string()
    }

    fn ts(text: &str, target: Target, zone: &Zone) -> String {
        let micros = read(text, target, zone).unwrap();
        DateTime::<Utc>::from_timestamp_micros(micros)
            .unwrap()
            .naive_utc()
            .to_string()
    }

    fn state(text: &str, target: Target) -> String {
        match read(text, target, &utc()) {
            Ok(v) => format!("ok {v}"),
            Err(datafusion::common::DataFusionError::External(e)) => e
                .downcast_ref::<crate::sqlstate::Coded>()
                .map_or("?".to_string(), |c| c.code.to_string()),
            Err(e) => format!("{e}"),
        }
    }

    #[test]
    fn dates_in_postgresql_formats() {
        // Each answer as PostgreSQL 15 (DateStyle ISO, MDY) gives it.
        for (text, expected) in [
            ("July 1, 2026", "2026-07-01"),
            ("01/07/2026", "2026-01-07"),
            ("2026-07-01", "2026-07-01"),
            ("1 July 2026", "2026-07-01"),
            ("Jul 1 2026", "2026-07-01"),
            ("20260701", "2026-07-01"),
            ("2026.07.01", "2026-07-01"),
            ("2026-Jul-01", "2026-07-01"),
            ("01-Jul-2026", "2026-07-01"),
            ("01/07/26", "2026-01-07"),
            ("01/07/70", "1970-01-07"),
            ("2026.182", "2026-07-01"),
            ("J2461222", "2026-06-30"),
            ("July 2026 1", "2026-07-01"),
            ("2026 July 1", "2026-07-01"),
            ("Wed Jul 01 10:00:00 2026 UTC", "2026-07-01"),
            ("2026-07-01 23:30-05", "2026-07-01"),
            ("  2026-07-01  ", "2026-07-01"),
            ("2026-07-01 24:00", "2026-07-01"),
            ("epoch", "1970-01-01"),
        ] {
            assert_eq!(date(text), expected, "{text}");
        }
    }

    #[test]
    fn timestamps_and_zones() {
        let msk = Zone::parse("Europe/Moscow").unwrap();
        let tz = Target::TimestampTz;
        let plain = Target::Timestamp;
        for (text, target, expected) in [
            ("2026-07-01 10:00 pm", plain, "2026-07-01 22:00:00"),
            ("2026-07-01 12:00 am", plain, "2026-07-01 00:00:00"),
            ("July 1, 2026 10:00", plain, "2026-07-01 10:00:00"),
            ("2026-07-01 10:30.5", plain, "2026-07-01 00:10:30.500"),
            ("2026-07-01 10:00:60", plain, "2026-07-01 10:01:00"),
            ("2026-07-01 24:00", plain, "2026-07-02 00:00:00"),
            ("2026-07-01 103000", plain, "2026-07-01 10:30:00"),
            ("2026-07-01T103000", plain, "2026-07-01 10:30:00"),
            ("2026-07-01 at 10:00", plain, "2026-07-01 10:00:00"),
            ("2026-07-01 allballs", plain, "2026-07-01 00:00:00"),
            ("2026-07-01 10:00+03", plain, "2026-07-01 10:00:00"),
            ("20260701T103000Z", tz, "2026-07-01 10:30:00"),
            ("2026-07-01 10:00", tz, "2026-07-01 07:00:00"),
            ("2026-07-01 10:00 MSK", tz, "2026-07-01 07:00:00"),
            ("2026-07-01 10:00 EST", tz, "2026-07-01 15:00:00"),
            ("2026-07-01 10:00 Europe/Moscow", tz, "2026-07-01 07:00:00"),
            (
                "2026-07-01 10:00 America/New_York",
                tz,
                "2026-07-01 14:00:00",
            ),
            ("2026-07-01T10:00:00+0530", tz, "2026-07-01 04:30:00"),
            ("2026-07-01 10:00 utc+3", tz, "2026-07-01 13:00:00"),
            ("2026-07-01 10:00 MET DST", tz, "2026-07-01 08:00:00"),
            (
                "2026-07-01 10:00:00.1234565Z",
                tz,
                "2026-07-01 10:00:00.123456",
            ),
            // New York skipped 02:30 on 2024-03-10: EST, as before the change.
            (
                "2024-03-10 02:30 America/New_York",
                tz,
                "2024-03-10 07:30:00",
            ),
            (
                "2024-11-03 01:30 America/New_York",
                tz,
                "2024-11-03 06:30:00",
            ),
        ] {
            assert_eq!(ts(text, target, &msk), expected, "{text}");
        }
    }

    #[test]
    fn bad_input_fails_as_postgresql() {
        let tz = Target::TimestampTz;
        for (text, target, expected) in [
            ("10:00 2026-07-01", tz, "22007"),
            ("2026-07-01 13:00 pm", tz, "22008"),
            ("2026-02-30", Target::Date, "22008"),
            ("2026-13-01", Target::Date, "22008"),
            ("13/01/2026", Target::Date, "22008"),
            ("0000-01-01", Target::Date, "22008"),
            ("2026182", Target::Date, "22008"),
            ("2026-07-01 10:00 +16", tz, "22009"),
            ("2026-07-01 10:00 Mars/Olympus", tz, "22023"),
            ("2026-07-01 10:00 foo", tz, "22007"),
            ("allballs", tz, "22007"),
            ("12 2026 July", tz, "22007"),
            ("2026-07-01 24:00:01", tz, "22008"),
            ("2026-07-01 10:61", tz, "22008"),
            ("", Target::Date, "22007"),
            ("x", Target::Date, "22007"),
            ("10:00", Target::Date, "22007"),
            ("infinity", Target::Date, "0A000"),
            ("2026-07-01 10:00:00.5.5", tz, "22007"),
            ("2026-07-01 2026-07-02", Target::Date, "22007"),
        ] {
            assert_eq!(state(text, target), expected, "{text}");
        }
    }
}
