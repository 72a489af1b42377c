//! PostgreSQL's time-zone conversions: `timezone(zone, ts)`, which `ts AT
//! TIME ZONE zone` becomes ([`crate::pg_compat::compat`]); and `age(a[,
//! b])`, the symbolic difference in years, months and days.
//!
//! DataFusion reads `AT TIME ZONE` as a cast that relabels the value's zone
//! (the same instant); PostgreSQL converts between the two timestamp types:
//! - `timestamptz AT TIME ZONE z` → `timestamp`: the wall-clock time at `z`
//!   of that instant;
//! - `timestamp AT TIME ZONE z` → `timestamptz`: the instant when `z`'s
//!   clocks showed that time. A time the clocks skipped (spring forward) is
//!   read with the offset before the change, a time they showed twice (fall
//!   back) as standard time, as PostgreSQL does.
//!
//! A zone is an IANA name (any letter case), `UTC`/`GMT`/`Z`, or a POSIX
//! offset (`'+03'`, `'UTC-5'`, `'-03:30'`), which like PostgreSQL counts
//! hours *west* of Greenwich: `AT TIME ZONE '+03'` is three hours behind UTC.

use std::str::FromStr;
use std::sync::Arc;

use chrono::{DateTime, Duration, FixedOffset, NaiveDateTime, Offset, TimeZone, Utc};
use datafusion::arrow::array::{Array, ArrayRef, AsArray, TimestampMicrosecondArray};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, TimeUnit};
use datafusion::common::Result;
use datafusion::logical_expr::{
    ColumnarValue, ScalarFunctionArgs, ScalarUDFImpl, Signature, Volatility,
};

use crate::sqlstate::{code, coded};

/// A zone as PostgreSQL accepts it in `AT TIME ZONE`.
#[derive(Debug, Clone, Copy)]
pub enum Zone {
    Named(chrono_tz::Tz),
    Fixed(FixedOffset),
}

impl Zone {
    /// Parses a zone, or fails as PostgreSQL does (22023).
    pub fn parse(text: &str) -> Result<Zone> {
        let t = text.trim();
        if ["utc", "gmt", "z", "zulu", "universal"].contains(&t.to_ascii_lowercase().as_str()) {
            return Ok(Zone::Fixed(Utc.fix()));
        }
        if let Ok(tz) = chrono_tz::Tz::from_str(t) {
            return Ok(Zone::Named(tz));
        }
        if let Some(tz) = chrono_tz::TZ_VARIANTS
            .iter()
            .find(|z| z.name().eq_ignore_ascii_case(t))
        {
            return Ok(Zone::Named(*tz));
        }
        posix_offset(t).map(Zone::Fixed).ok_or_else(|| {
            coded(
                code::INVALID_PARAMETER_VALUE,
                format!("time zone \"{text}\" not recognized"),
            )
        })
    }

    /// The zone of an Arrow timestamp type or of the session's
    /// `execution.time_zone` (`+03:00`, `Europe/Moscow`): an offset there
    /// counts hours *east* of Greenwich (ISO 8601), unlike the POSIX
    /// offsets [`Zone::parse`] reads.
    pub fn of_arrow(text: &str) -> Result<Zone> {
        let t = text.trim();
        if t.starts_with(['+', '-'])
            && let Some(west) = posix_offset(t)
        {
            return FixedOffset::east_opt(-west.local_minus_utc())
                .map(Zone::Fixed)
                .ok_or_else(|| {
                    coded(
                        code::INVALID_PARAMETER_VALUE,
                        format!("time zone \"{text}\" not recognized"),
                    )
                });
        }
        Zone::parse(t)
    }

    /// The wall-clock time of an instant.
    pub fn local(&self, instant: DateTime<Utc>) -> NaiveDateTime {
        match self {
            Zone::Named(tz) => instant.with_timezone(tz).naive_local(),
            Zone::Fixed(o) => instant.with_timezone(o).naive_local(),
        }
    }

    /// The instant a wall-clock time names (see the module's rules for
    /// skipped and repeated times).
    pub fn instant(&self, local: NaiveDateTime) -> Option<DateTime<Utc>> {
        match self {
            Zone::Fixed(o) => o
                .from_local_datetime(&local)
                .single()
                .map(|t| t.with_timezone(&Utc)),
            Zone::Named(tz) => {
                use chrono::LocalResult;
                match tz.from_local_datetime(&local) {
                    LocalResult::Single(t) => Some(t.with_timezone(&Utc)),
                    LocalResult::Ambiguous(_, standard) => Some(standard.with_timezone(&Utc)),
                    // Skipped: the offset in force before the change.
                    LocalResult::None => {
                        let before = local - Duration::hours(3);
                        let offset = tz.from_local_datetime(&before).earliest()?.offset().fix();
                        offset
                            .from_local_datetime(&local)
                            .single()
                            .map(|t| t.with_timezone(&Utc))
                    }
                }
            }
        }
    }
}

/// A POSIX zone offset (`+03`, `UTC-5`, `-03:30`): hours west of UTC.
fn posix_offset(text: &str) -> Option<FixedOffset> {
    let rest = text.trim_start_matches(|c: char| c.is_ascii_alphabetic());
    let (sign, digits) = match rest.chars().next()? {
        '+' => (1, &rest[1..]),
        '-' => (-1, &rest[1..]),
        c if c.is_ascii_digit() => (1, rest),
        _ => return None,
    };
    let mut parts = digits.split(':');
    let hours: i32 = parts.next()?.parse().ok()?;
    let minutes: i32 = parts.next().map_or(Some(0), |m| m.parse().ok())?;
    let seconds: i32 = parts.next().map_or(Some(0), |s| s.parse().ok())?;
    if parts.next().is_some() || hours > 15 || minutes > 59 || seconds > 59 {
        return None;
    }
    // West of Greenwich is positive in POSIX, so east is the negation.
    FixedOffset::east_opt(-sign * (hours * 3600 + minutes * 60 + seconds))
}

/// `timezone(zone, timestamp|timestamptz)`; see the module documentation.
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct Timezone {
    signature: Signature,
}

impl Timezone {
    pub fn new() -> Self {
        Self {
            signature: Signature::any(2, Volatility::Immutable),
        }
    }
}

impl Default for Timezone {
    fn default() -> Self {
        Self::new()
    }
}

/// The UTC zone label OKO's `timestamptz` values carry.
const UTC_LABEL: &str = "+00:00";

impl ScalarUDFImpl for Timezone {
    fn name(&self) -> &str {
        "timezone"
    }
    fn signature(&self) -> &Signature {
        &self.signature
    }
    fn return_type(&self, args: &[DataType]) -> Result<DataType> {
        Ok(match args.get(1) {
            Some(DataType::Timestamp(_, Some(_))) => {
                DataType::Timestamp(TimeUnit::Microsecond, None)
            }
            Some(DataType::Timestamp(_, None) | DataType::Date32 | DataType::Date64) => {
                DataType::Timestamp(TimeUnit::Microsecond, Some(UTC_LABEL.into()))
            }
            Some(DataType::Null) => DataType::Timestamp(TimeUnit::Microsecond, None),
            Some(other) => {
                return Err(coded(
                    code::UNDEFINED_FUNCTION,
                    format!("function timezone(unknown, {other}) does not exist"),
                ));
            }
            None => {
                return Err(coded(
                    code::UNDEFINED_FUNCTION,
                    "function timezone() needs a zone and a timestamp",
                ));
            }
        })
    }
    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let [zone, value] = args.args.as_slice() else {
            return Err(coded(
                code::UNDEFINED_FUNCTION,
                "timezone() takes a zone and a timestamp",
            ));
        };
        let rows = args.number_rows;
        let scalar = super::all_scalar(&args.args);
        let zones = zone.to_array(rows)?;
        // A zone given as an interval: its time, hours east of Greenwich.
        let interval_zones = interval_offsets(&zones)?;
        let zones = cast(&zones, &DataType::Utf8)?;
        let zones = zones.as_string::<i32>();
        let values = value.to_array(rows)?;
        let to_local = matches!(values.data_type(), DataType::Timestamp(_, Some(_)));
        let micros = match values.data_type() {
            DataType::Timestamp(_, Some(_)) => cast(
                &values,
                &DataType::Timestamp(TimeUnit::Microsecond, Some(UTC_LABEL.into())),
            )?,
            _ => cast(&values, &DataType::Timestamp(TimeUnit::Microsecond, None))?,
        };
        let micros =
            micros.as_primitive::<datafusion::arrow::datatypes::TimestampMicrosecondType>();
        // One parse per distinct zone text in a batch (usually one).
        let mut last: Option<(String, Zone)> = None;
        let mut out = Vec::with_capacity(micros.len());
        for i in 0..micros.len() {
            if micros.is_null(i) || zones.is_null(i) {
                out.push(None);
                continue;
            }
            let v = micros.value(i);
            if let Some(offsets) = &interval_zones {
                let Some(east) = offsets[i] else {
                    out.push(None);
                    continue;
                };
                let shift = if to_local { east } else { -east };
                out.push(Some(v.checked_add(shift).ok_or_else(|| {
                    coded(code::DATETIME_FIELD_OVERFLOW, "timestamp out of range")
                })?));
                continue;
            }
            let text = zones.value(i);
            let zone = match &last {
                Some((t, z)) if t == text => *z,
                _ => {
                    let z = Zone::parse(text)?;
                    last = Some((text.to_string(), z));
                    z
                }
            };
            let converted = if to_local {
                DateTime::<Utc>::from_timestamp_micros(v)
                    .map(|t| zone.local(t).and_utc().timestamp_micros())
            } else {
                DateTime::<Utc>::from_timestamp_micros(v)
                    .and_then(|t| zone.instant(t.naive_utc()))
                    .map(|t| t.timestamp_micros())
            };
            out.push(Some(
                converted.ok_or_else(|| coded("22008", "timestamp out of range"))?,
            ));
        }
        let array = TimestampMicrosecondArray::from(out);
        let array: ArrayRef = if to_local {
            Arc::new(array)
        } else {
            Arc::new(array.with_timezone(UTC_LABEL))
        };
        super::answer(array, scalar)
    }
}

/// The offsets (microseconds east, whole seconds as PostgreSQL keeps
/// them) of zones given as intervals (`AT TIME ZONE INTERVAL '+05:00'`),
/// or `None` when the zones are not intervals. An interval with months or
/// days is refused as PostgreSQL refuses it (22023).
fn interval_offsets(zones: &ArrayRef) -> Result<Option<Vec<Option<i64>>>> {
    if !matches!(zones.data_type(), DataType::Interval(_)) {
        return Ok(None);
    }
    let zones = cast(
        zones,
        &DataType::Interval(datafusion::arrow::datatypes::IntervalUnit::MonthDayNano),
    )?;
    let zones = zones.as_primitive::<datafusion::arrow::datatypes::IntervalMonthDayNanoType>();
    zones
        .iter()
        .map(|z| {
            z.map(|z| {
                if z.months != 0 || z.days != 0 {
                    return Err(coded(
                        code::INVALID_PARAMETER_VALUE,
                        format!(
                            "interval time zone \"{}\" must not include months or days",
                            crate::pg_compat::text_out::interval(z)
                        ),
                    ));
                }
                Ok(z.nanoseconds / 1_000_000_000 * 1_000_000)
            })
            .transpose()
        })
        .collect::<Result<Vec<_>>>()
        .map(Some)
}

/// `age(end, start)` and `age(ts)` (from today's midnight): PostgreSQL's
/// `timestamp_age` — the field-by-field difference of the two wall-clock
/// times (a `timestamptz` read in the session's zone), borrows carried up,
/// a negative day count borrowing the days of the month before; the answer
/// in years and months, days, and a time.
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct Age {
    signature: Signature,
}

impl Age {
    pub fn new() -> Self {
        Self {
            signature: Signature::one_of(
                vec![
                    datafusion::logical_expr::TypeSignature::Any(1),
                    datafusion::logical_expr::TypeSignature::Any(2),
                ],
                Volatility::Stable,
            ),
        }
    }
}

impl Default for Age {
    fn default() -> Self {
        Self::new()
    }
}

/// Days of each month, in a common and in a leap year.
fn days_in_month(year: i32, month: u32) -> i64 {
    chrono::NaiveDate::from_ymd_opt(year, month, 1)
        .and_then(|d| d.checked_add_months(chrono::Months::new(1)))
        .and_then(|next| {
            chrono::NaiveDate::from_ymd_opt(year, month, 1).map(|d| (next - d).num_days())
        })
        .unwrap_or(30)
}

/// PostgreSQL's `timestamp_age` of two wall-clock times, as (months, days,
/// microseconds).
pub fn age(t1: NaiveDateTime, t2: NaiveDateTime) -> (i32, i32, i64) {
    use chrono::{Datelike, Timelike};
    let negative = t1 < t2;
    let sign = if negative { -1 } else { 1 };
    let mut usec = sign * (i64::from(t1.nanosecond() / 1000) - i64::from(t2.nanosecond() / 1000));
    let mut sec = sign * (i64::from(t1.second()) - i64::from(t2.second()));
    let mut min = sign * (i64::from(t1.minute()) - i64::from(t2.minute()));
    let mut hour = sign * (i64::from(t1.hour()) - i64::from(t2.hour()));
    let mut mday = sign * (i64::from(t1.day()) - i64::from(t2.day()));
    let mut mon = sign * (i64::from(t1.month()) - i64::from(t2.month()));
    let mut year = sign * (i64::from(t1.year()) - i64::from(t2.year()));
    while usec < 0 {
        usec += 1_000_000;
        sec -= 1;
    }
    while sec < 0 {
        sec += 60;
        min -= 1;
    }
    while min < 0 {
        min += 60;
        hour -= 1;
    }
    while hour < 0 {
        hour += 24;
        mday -= 1;
    }
    while mday < 0 {
        let from = if negative { t1 } else { t2 };
        mday += days_in_month(from.year(), from.month());
        mon -= 1;
    }
    while mon < 0 {
        mon += 12;
        year -= 1;
    }
    let months = sign * (year * 12 + mon);
    let days = sign * mday;
    let micros = sign * (((hour * 60 + min) * 60 + sec) * 1_000_000 + usec);
    (months as i32, days as i32, micros)
}

impl ScalarUDFImpl for Age {
    fn name(&self) -> &str {
        "age"
    }
    fn signature(&self) -> &Signature {
        &self.signature
    }
    fn return_type(&self, _: &[DataType]) -> Result<DataType> {
        Ok(DataType::Interval(
            datafusion::arrow::datatypes::IntervalUnit::MonthDayNano,
        ))
    }
    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let rows = args.number_rows;
        let scalar = super::all_scalar(&args.args);
        let session_zone = args
            .config_options
            .execution
            .time_zone
            .as_deref()
            .map(Zone::of_arrow)
            .transpose()?
            .unwrap_or(Zone::Fixed(Utc.fix()));
        // Each argument as wall-clock times (a timestamptz in the session's zone).
        let wall = |v: &ColumnarValue| -> Result<Vec<Option<NaiveDateTime>>> {
            let a = v.to_array(rows)?;
            let aware = matches!(a.data_type(), DataType::Timestamp(_, Some(_)));
            let target = if aware {
                DataType::Timestamp(TimeUnit::Microsecond, Some(UTC_LABEL.into()))
            } else {
                DataType::Timestamp(TimeUnit::Microsecond, None)
            };
            let a = cast(&a, &target)?;
            let a = a.as_primitive::<datafusion::arrow::datatypes::TimestampMicrosecondType>();
            Ok((0..a.len())
                .map(|i| {
                    (!a.is_null(i))
                        .then(|| DateTime::<Utc>::from_timestamp_micros(a.value(i)))
                        .flatten()
                        .map(|t| {
                            if aware {
                                session_zone.local(t)
                            } else {
                                t.naive_utc()
                            }
                        })
                })
                .collect())
        };
        let (ends, starts) = match args.args.as_slice() {
            [start] => {
                let today = session_zone.local(Utc::now()).date().and_hms_opt(0, 0, 0);
                (vec![today; rows.max(1)], wall(start)?)
            }
            [end, start] => (wall(end)?, wall(start)?),
            _ => {
                return Err(coded(
                    code::UNDEFINED_FUNCTION,
                    "age takes one or two timestamps",
                ));
            }
        };
        let out: Vec<Option<datafusion::arrow::datatypes::IntervalMonthDayNano>> = ends
            .iter()
            .zip(&starts)
            .map(|(e, s)| {
                let (e, s) = ((*e)?, (*s)?);
                let (m, d, us) = age(e, s);
                Some(datafusion::arrow::datatypes::IntervalMonthDayNano::new(
                    m,
                    d,
                    us * 1000,
                ))
            })
            .collect();
        let array: ArrayRef = Arc::new(datafusion::arrow::array::IntervalMonthDayNanoArray::from(
            out,
        ));
        super::answer(array, scalar)
    }
}

/// PostgreSQL's `timestamp`/`timestamptz` input ([`super::date_in`]):
/// microseconds, UTC for an instant, the wall clock otherwise; a time
/// without an offset read in `session_zone` for an instant.
pub fn timestamp_in(text: &str, instant: bool, session_zone: &Zone) -> Result<i64> {
    let target = if instant {
        super::date_in::Target::TimestampTz
    } else {
        super::date_in::Target::Timestamp
    };
    super::date_in::read(text, target, session_zone)
}

/// `pg_timestamp_in(text, like, zone)`: text read as PostgreSQL reads a
/// date or timestamp ([`super::date_in`]), answered as `like`'s type (a
/// `date`, a `timestamp`, or a `timestamptz`), a time without an offset
/// read in `zone` (the session's). The session zone's casts rule
/// ([`crate::pg_compat::time_zone`]) puts it in place of text-to-timestamp
/// casts.
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct TimestampIn {
    signature: Signature,
}

impl TimestampIn {
    pub fn new() -> Self {
        Self {
            signature: Signature::any(3, Volatility::Immutable),
        }
    }
}

impl Default for TimestampIn {
    fn default() -> Self {
        Self::new()
    }
}

impl ScalarUDFImpl for TimestampIn {
    fn name(&self) -> &str {
        "pg_timestamp_in"
    }
    fn signature(&self) -> &Signature {
        &self.signature
    }
    fn return_type(&self, args: &[DataType]) -> Result<DataType> {
        Ok(args
            .get(1)
            .cloned()
            .unwrap_or(DataType::Timestamp(TimeUnit::Microsecond, None)))
    }
    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let rows = args.number_rows;
        let scalar = super::all_scalar(&args.args);
        let target = args.return_field.data_type().clone();
        let zone = match args.args.get(2) {
            // (The session's zone, as the engine writes it.)
            Some(ColumnarValue::Scalar(z)) if !z.is_null() => Zone::of_arrow(&z.to_string())?,
            _ => Zone::Fixed(Utc.fix()),
        };
        if matches!(target, DataType::Date32 | DataType::Date64) {
            let texts = cast(&args.args[0].to_array(rows)?, &DataType::Utf8)?;
            let texts = texts.as_string::<i32>();
            let mut out = Vec::with_capacity(texts.len());
            for i in 0..texts.len() {
                out.push(if texts.is_null(i) {
                    None
                } else {
                    let days =
                        super::date_in::read(texts.value(i), super::date_in::Target::Date, &zone)?;
                    Some(i32::try_from(days).map_err(|_| {
                        coded(
                            code::DATETIME_FIELD_OVERFLOW,
                            format!("date out of range: \"{}\"", texts.value(i)),
                        )
                    })?)
                });
            }
            let days: ArrayRef = Arc::new(datafusion::arrow::array::Date32Array::from(out));
            return super::answer(cast(&days, &target)?, scalar);
        }
        let DataType::Timestamp(_, label) = &target else {
            return Err(coded(
                code::DATATYPE_MISMATCH,
                "pg_timestamp_in answers dates and timestamps",
            ));
        };
        let texts = cast(&args.args[0].to_array(rows)?, &DataType::Utf8)?;
        let texts = texts.as_string::<i32>();
        let mut out = Vec::with_capacity(texts.len());
        for i in 0..texts.len() {
            out.push(if texts.is_null(i) {
                None
            } else {
                Some(timestamp_in(texts.value(i), label.is_some(), &zone)?)
            });
        }
        let micros = TimestampMicrosecondArray::from(out);
        let micros: ArrayRef = match label {
            Some(l) => Arc::new(micros.with_timezone(l.clone())),
            None => Arc::new(micros),
        };
        super::answer(cast(&micros, &target)?, scalar)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::logical_expr::ScalarUDF;
    use datafusion::prelude::SessionContext;

    async fn one(sql: &str) -> String {
        // `TIMESTAMP WITH TIME ZONE` is zoned only with a session zone.
        let mut config = datafusion::prelude::SessionConfig::new();
        config.options_mut().execution.time_zone = Some("+00:00".into());
        let ctx = SessionContext::new_with_config(config);
        ctx.register_udf(ScalarUDF::new_from_impl(Timezone::new()));
        let batches = ctx.sql(sql).await.unwrap().collect().await.unwrap();
        datafusion::arrow::util::pretty::pretty_format_batches(&batches)
            .unwrap()
            .to_string()
    }

    #[tokio::test]
    async fn timestamptz_at_a_zone_is_its_wall_clock_there() {
        // PostgreSQL 15: SELECT '2026-06-01 21:30+00'::timestamptz AT TIME ZONE 'Europe/Moscow'
        //   → 2026-06-02 00:30:00
        let out = one("SELECT timezone('europe/moscow', \
             CAST('2026-06-01T21:30:00+00:00' AS TIMESTAMP WITH TIME ZONE)) AS t")
        .await;
        assert!(out.contains("2026-06-02T00:30:00"), "{out}");
        // '+03' is POSIX: three hours west.
        let out = one(
            "SELECT timezone('+03', CAST('2026-06-01T21:30:00+00:00' AS TIMESTAMP WITH TIME ZONE)) AS t",
        )
        .await;
        assert!(out.contains("2026-06-01T18:30:00"), "{out}");
    }

    #[tokio::test]
    async fn timestamp_at_a_zone_is_the_instant_its_clocks_showed_it() {
        let out =
            one("SELECT timezone('Europe/Moscow', CAST('2026-06-02 00:30:00' AS TIMESTAMP)) AS t")
                .await;
        assert!(out.contains("2026-06-01T21:30:00Z"), "{out}");
        // New York skipped 02:30 on 2024-03-10: read with EST (-05).
        let out = one(
            "SELECT timezone('America/New_York', CAST('2024-03-10 02:30:00' AS TIMESTAMP)) AS t",
        )
        .await;
        assert!(out.contains("2024-03-10T07:30:00Z"), "{out}");
        // 01:30 on 2024-11-03 happened twice: standard time (EST).
        let out = one(
            "SELECT timezone('America/New_York', CAST('2024-11-03 01:30:00' AS TIMESTAMP)) AS t",
        )
        .await;
        assert!(out.contains("2024-11-03T06:30:00Z"), "{out}");
    }

    #[test]
    fn age_is_the_symbolic_difference() {
        let t = |s: &str| NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S").unwrap();
        // PostgreSQL 15: age('2001-04-10', '1957-06-13') = 43 years 9 mons 27 days
        assert_eq!(
            age(t("2001-04-10 00:00:00"), t("1957-06-13 00:00:00")),
            (43 * 12 + 9, 27, 0)
        );
        // age('2026-03-01', '2026-01-31') = 1 mon 1 day
        assert_eq!(
            age(t("2026-03-01 00:00:00"), t("2026-01-31 00:00:00")),
            (1, 1, 0)
        );
        // age('2026-01-31', '2026-03-01 12:00') = -1 mons -1 days -12:00:00
        assert_eq!(
            age(t("2026-01-31 00:00:00"), t("2026-03-01 12:00:00")),
            (-1, -1, -12 * 3_600_000_000)
        );
    }

    #[test]
    fn timestamps_are_read_as_postgresql_reads_them() {
        let msk = Zone::parse("Europe/Moscow").unwrap();
        let utc = |s: &str| {
            DateTime::parse_from_rfc3339(s)
                .unwrap()
                .with_timezone(&Utc)
                .timestamp_micros()
        };
        for (text, instant, expected) in [
            ("2026-07-01 00:00+03", true, "2026-06-30T21:00:00Z"),
            ("2026-07-01 00:00", true, "2026-06-30T21:00:00Z"),
            ("2026-07-01T10:30:15.5Z", true, "2026-07-01T10:30:15.5Z"),
            ("2026-07-01 10:30:00 UTC", true, "2026-07-01T10:30:00Z"),
            ("2026-07-01 10:30:00-0530", true, "2026-07-01T16:00:00Z"),
            ("2026-07-01", true, "2026-06-30T21:00:00Z"),
            ("2026-07-01 10:30+03", false, "2026-07-01T10:30:00Z"),
            ("2026-07-01 24:00", false, "2026-07-02T00:00:00Z"),
        ] {
            assert_eq!(
                timestamp_in(text, instant, &msk).unwrap(),
                utc(expected),
                "{text}"
            );
        }
        for bad in ["2026-13-01", "2026-02-30 10:00", "x", "2026-07-01 10:61"] {
            assert!(timestamp_in(bad, true, &msk).is_err(), "{bad}");
        }
    }

    #[test]
    fn unknown_zones_are_refused() {
        assert!(Zone::parse("Mars/Olympus").is_err());
        assert!(Zone::parse("UTC+3").is_ok());
        // An engine zone's offset is east, a POSIX one west.
        let east = |z: Zone| match z {
            Zone::Fixed(o) => o.local_minus_utc(),
            Zone::Named(_) => 0,
        };
        assert_eq!(east(Zone::of_arrow("+03:00").unwrap()), 3 * 3600);
        assert_eq!(east(Zone::parse("+03").unwrap()), -3 * 3600);
        assert_eq!(east(Zone::of_arrow("-05:30").unwrap()), -(5 * 3600 + 1800));
    }
}
