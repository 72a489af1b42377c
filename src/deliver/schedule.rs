//! Schedules on a tenant's clock: which period a run delivers, and when
//! that run is due.
//!
//! A period is a stretch of the tenant's *wall clock* — an hour, a day, an
//! ISO week (Monday to Monday) — because the reports group leads by their
//! local time (`created_local`) and take `from`/`to` on that clock. So a
//! period is what the report itself would call that hour, day or week:
//!
//! - on a spring-forward day the hour that does not exist on the wall
//!   clock (Europe/Berlin 2025-03-30 02:00–03:00) is no period at all, and
//!   that day's period is 23 real hours long;
//! - on a fall-back day the repeated hour (02:00–03:00 twice) is one period
//!   of two real hours, due once the second one is over, and the day is 25
//!   hours long.
//!
//! A period is due at its run time — `hourly :MM`: MM minutes after the
//! hour ends; `daily HH:MM`: at HH:MM on the day after; `weekly <day>
//! HH:MM`: at HH:MM on the first such weekday from the Monday the week
//! ends on — and never before the period is over on the wall clock (the
//! latest real instant its end names). A run time the clock skips (02:30
//! on a spring-forward day) is the first instant after the gap; one it
//! names twice is the first of the two.

use std::fmt;

use anyhow::{Result, bail};
use chrono::{
    DateTime, Datelike, Duration, LocalResult, NaiveDate, NaiveDateTime, NaiveTime, TimeZone,
    Timelike, Utc, Weekday,
};
use chrono_tz::Tz;

/// Where "now" comes from: the system clock in the server, a hand-moved
/// one in tests (schedules are hours and weeks long).
pub trait Clock: Send + Sync {
    fn now(&self) -> DateTime<Utc>;
}

/// The system's clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

/// How often a report goes out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Every {
    Hour,
    Day,
    /// Each ISO week, run on this weekday.
    Week(Weekday),
}

/// A parsed `schedule`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Schedule {
    pub every: Every,
    /// The run time: on the day (daily, weekly), or `00:MM` past the hour
    /// (hourly).
    pub at: NaiveTime,
}

/// One period on the tenant's wall clock, `[start, end)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Period {
    pub start: NaiveDateTime,
    pub end: NaiveDateTime,
}

impl Period {
    /// Its name in file names: `2025-03-30T08` (an hour), `2025-03-30`
    /// (a day), `2025-W13` (an ISO week).
    pub fn label(&self, every: Every) -> String {
        match every {
            Every::Hour => self.start.format("%Y-%m-%dT%H").to_string(),
            Every::Day => self.start.format("%Y-%m-%d").to_string(),
            Every::Week(_) => {
                let w = self.start.date().iso_week();
                format!("{}-W{:02}", w.year(), w.week())
            }
        }
    }
}

impl fmt::Display for Schedule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.every {
            Every::Hour => write!(f, "hourly :{}", self.at.format("%M")),
            Every::Day => write!(f, "daily {}", self.at.format("%H:%M")),
            Every::Week(d) => write!(f, "weekly {} {}", day_name(d), self.at.format("%H:%M")),
        }
    }
}

fn day_name(d: Weekday) -> &'static str {
    match d {
        Weekday::Mon => "monday",
        Weekday::Tue => "tuesday",
        Weekday::Wed => "wednesday",
        Weekday::Thu => "thursday",
        Weekday::Fri => "friday",
        Weekday::Sat => "saturday",
        Weekday::Sun => "sunday",
    }
}

/// A time `HH:MM` (24 h).
fn clock_time(text: &str) -> Option<NaiveTime> {
    let (h, m) = text.split_once(':')?;
    if h.is_empty() || h.len() > 2 || m.len() != 2 {
        return None;
    }
    NaiveTime::from_hms_opt(h.parse().ok()?, m.parse().ok()?, 0)
}

impl Schedule {
    /// `hourly`, `hourly :MM`, `daily HH:MM`, `weekly <day> HH:MM` (day as
    /// `monday` or `mon`, any case).
    pub fn parse(text: &str) -> Result<Schedule> {
        let lower = text.trim().to_ascii_lowercase();
        let words: Vec<&str> = lower.split_whitespace().collect();
        let usage = "a schedule is `hourly`, `hourly :MM`, `daily HH:MM` or `weekly <day> HH:MM` \
                     (on the tenant's clock)";
        let parsed = match words.as_slice() {
            ["hourly"] => Some((Every::Hour, NaiveTime::MIN)),
            ["hourly", m] => m
                .strip_prefix(':')
                .filter(|m| m.len() == 2)
                .and_then(|m| m.parse::<u32>().ok())
                .and_then(|m| NaiveTime::from_hms_opt(0, m, 0))
                .map(|t| (Every::Hour, t)),
            ["daily", t] => clock_time(t).map(|t| (Every::Day, t)),
            ["weekly", day, t] => match (day.parse::<Weekday>(), clock_time(t)) {
                (Ok(d), Some(t)) => Some((Every::Week(d), t)),
                _ => None,
            },
            _ => None,
        };
        match parsed {
            Some((every, at)) => Ok(Schedule { every, at }),
            None => bail!("{text:?}: {usage}"),
        }
    }

    /// The period whose wall-clock span holds `local`.
    fn period_at(&self, local: NaiveDateTime) -> Period {
        let start = match self.every {
            Every::Hour => {
                local.date().and_time(NaiveTime::MIN) + Duration::hours(i64::from(local.hour()))
            }
            Every::Day => local.date().and_time(NaiveTime::MIN),
            Every::Week(_) => {
                let date = local.date();
                let back = date.weekday().num_days_from_monday() as i64;
                (date - Duration::days(back)).and_time(NaiveTime::MIN)
            }
        };
        self.period_from(start)
    }

    fn period_from(&self, start: NaiveDateTime) -> Period {
        let end = start
            + match self.every {
                Every::Hour => Duration::hours(1),
                Every::Day => Duration::days(1),
                Every::Week(_) => Duration::days(7),
            };
        Period { start, end }
    }

    /// The period starting at `start` (a stored position), if `start` is
    /// where one of this schedule's periods starts.
    pub fn period_starting(&self, start: NaiveDateTime) -> Option<Period> {
        let p = self.period_at(start);
        (p.start == start).then_some(p)
    }

    /// The period after `p` (hours the wall clock skips are no periods).
    pub fn next(&self, p: Period, zone: Tz) -> Period {
        let mut n = self.period_from(p.end);
        while self.every == Every::Hour && skipped(zone, n) {
            n = self.period_from(n.end);
        }
        n
    }

    /// The period before `p`.
    pub fn previous(&self, p: Period, zone: Tz) -> Period {
        let step = p.end - p.start;
        let mut n = self.period_from(p.start - step);
        while self.every == Every::Hour && skipped(zone, n) {
            n = self.period_from(n.start - step);
        }
        n
    }

    /// When `p` is due: its run time, and never before it is over.
    pub fn due(&self, p: Period, zone: Tz) -> DateTime<Utc> {
        let run = match self.every {
            Every::Hour => p.end + (self.at - NaiveTime::MIN),
            Every::Day => p.end.date().and_time(self.at),
            Every::Week(day) => {
                let mut date: NaiveDate = p.end.date();
                while date.weekday() != day {
                    date += Duration::days(1);
                }
                date.and_time(self.at)
            }
        };
        // Over once the clock has passed its last minute for the last time
        // (a repeated hour is over after its second pass).
        let last_minute = p.end - Duration::minutes(1);
        let over = instant(zone, last_minute, true) + Duration::minutes(1);
        instant(zone, run, false).max(over)
    }

    /// The latest period due at `now` (one always is).
    pub fn latest_due(&self, now: DateTime<Utc>, zone: Tz) -> Period {
        let mut p = self.period_at(now.with_timezone(&zone).naive_local());
        // The run time is at most a week after the period ends: a few steps.
        while self.due(p, zone) > now {
            p = self.previous(p, zone);
        }
        p
    }

    /// The periods after `position` (all, when `None`: then only the
    /// latest) that are due at `now`, oldest first, at most `max`; and how
    /// many older ones were passed over to keep to `max`.
    pub fn pending(
        &self,
        position: Option<NaiveDateTime>,
        now: DateTime<Utc>,
        zone: Tz,
        max: usize,
    ) -> (Vec<Period>, usize) {
        let latest = self.latest_due(now, zone);
        let Some(position) = position else {
            return (vec![latest], 0);
        };
        let mut out = Vec::new();
        let mut p = latest;
        while p.start > position && out.len() < max {
            out.push(p);
            p = self.previous(p, zone);
        }
        out.reverse();
        let passed_over = if p.start > position {
            // Counted by walking on; bounded by how far the position is.
            let mut n = 0usize;
            let mut q = p;
            while q.start > position && n < 1_000_000 {
                n += 1;
                q = self.previous(q, zone);
            }
            n
        } else {
            0
        };
        (out, passed_over)
    }
}

/// Whether the wall clock skips every minute of `p` (a spring-forward hour).
fn skipped(zone: Tz, p: Period) -> bool {
    matches!(zone.from_local_datetime(&p.start), LocalResult::None)
        && matches!(
            zone.from_local_datetime(&(p.end - Duration::minutes(1))),
            LocalResult::None
        )
}

/// The instant the wall clock shows `local`: the first (or, `latest`, the
/// last) of two, or — inside a gap — the first instant after it.
fn instant(zone: Tz, local: NaiveDateTime, latest: bool) -> DateTime<Utc> {
    let mut t = local;
    // Gaps are at most a few hours (a day where a zone skipped one).
    for _ in 0..(26 * 60) {
        match zone.from_local_datetime(&t) {
            LocalResult::Single(x) => return x.with_timezone(&Utc),
            LocalResult::Ambiguous(a, b) => {
                return if latest { b } else { a }.with_timezone(&Utc);
            }
            LocalResult::None => t += Duration::minutes(1),
        }
    }
    // Unreachable for real zones: read the wall clock as UTC.
    local.and_utc()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> NaiveDateTime {
        NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M").unwrap()
    }

    fn utc(s: &str) -> DateTime<Utc> {
        at(s).and_utc()
    }

    const BERLIN: Tz = chrono_tz::Europe::Berlin;

    #[test]
    fn schedules_parse_and_bad_ones_say_how_to_write_them() {
        let s = Schedule::parse("daily 08:00").unwrap();
        assert_eq!(s.every, Every::Day);
        assert_eq!(s.to_string(), "daily 08:00");
        assert_eq!(
            Schedule::parse("Weekly MON 7:30").unwrap().to_string(),
            "weekly monday 07:30"
        );
        assert_eq!(Schedule::parse("hourly").unwrap().to_string(), "hourly :00");
        assert_eq!(
            Schedule::parse("hourly :15").unwrap().to_string(),
            "hourly :15"
        );
        for bad in [
            "",
            "daily",
            "daily 25:00",
            "daily 8",
            "weekly funday 08:00",
            "weekly 08:00",
            "hourly 15",
            "hourly :75",
            "monthly 08:00",
        ] {
            let e = Schedule::parse(bad).unwrap_err().to_string();
            assert!(e.contains("a schedule is"), "{bad}: {e}");
        }
    }

    #[test]
    fn daily_delivers_yesterday_at_the_local_time() {
        let s = Schedule::parse("daily 08:00").unwrap();
        let moscow: Tz = chrono_tz::Europe::Moscow;
        // 04:59 UTC is 07:59 in Moscow: the day before yesterday's is the last due.
        let p = s.latest_due(utc("2025-03-04 04:59"), moscow);
        assert_eq!(p.start, at("2025-03-02 00:00"));
        let p = s.latest_due(utc("2025-03-04 05:00"), moscow);
        assert_eq!(p.start, at("2025-03-03 00:00"));
        assert_eq!(p.end, at("2025-03-04 00:00"));
        assert_eq!(s.due(p, moscow), utc("2025-03-04 05:00"));
        assert_eq!(p.label(s.every), "2025-03-03");
    }

    #[test]
    fn a_spring_forward_day_in_berlin() {
        // 2025-03-30: 02:00 CET becomes 03:00 CEST (01:00 UTC).
        let hourly = Schedule::parse("hourly").unwrap();
        let one = hourly.period_starting(at("2025-03-30 01:00")).unwrap();
        let next = hourly.next(one, BERLIN);
        assert_eq!(next.start, at("2025-03-30 03:00"), "02:00 does not exist");
        assert_eq!(hourly.previous(next, BERLIN), one);
        // 01:00–02:00 is over when the clock jumps, at 01:00 UTC.
        assert_eq!(hourly.due(one, BERLIN), utc("2025-03-30 01:00"));
        assert_eq!(hourly.due(next, BERLIN), utc("2025-03-30 02:00"));
        // From 00:30 UTC (01:30 CET) to 02:30 UTC (04:30 CEST): two periods.
        let (p, skipped) = hourly.pending(
            Some(at("2025-03-30 00:00")),
            utc("2025-03-30 02:30"),
            BERLIN,
            48,
        );
        let starts: Vec<_> = p.iter().map(|p| p.start).collect();
        assert_eq!(starts, [at("2025-03-30 01:00"), at("2025-03-30 03:00")]);
        assert_eq!(skipped, 0);

        // The day is 23 real hours; a run at 02:30 (skipped) is at 03:00 CEST.
        let daily = Schedule::parse("daily 02:30").unwrap();
        let saturday = daily.period_starting(at("2025-03-29 00:00")).unwrap();
        assert_eq!(daily.due(saturday, BERLIN), utc("2025-03-30 01:00"));
        let sunday = daily.next(saturday, BERLIN);
        assert_eq!(daily.due(sunday, BERLIN), utc("2025-03-31 00:30"));
        assert_eq!(
            daily.latest_due(utc("2025-03-30 00:59"), BERLIN).start,
            at("2025-03-28 00:00")
        );
        assert_eq!(daily.latest_due(utc("2025-03-30 01:00"), BERLIN), saturday);
    }

    #[test]
    fn a_fall_back_hour_is_one_period_due_after_its_second_pass() {
        // 2025-10-26: 03:00 CEST becomes 02:00 CET (01:00 UTC).
        let hourly = Schedule::parse("hourly").unwrap();
        let two = hourly.period_starting(at("2025-10-26 02:00")).unwrap();
        assert_eq!(hourly.due(two, BERLIN), utc("2025-10-26 02:00"));
        // 00:30 UTC is 02:30 CEST, 01:30 UTC is 02:30 CET: 01:00–02:00 is the last over.
        for now in ["2025-10-26 00:30", "2025-10-26 01:30"] {
            assert_eq!(
                hourly.latest_due(utc(now), BERLIN).start,
                at("2025-10-26 01:00"),
                "{now}"
            );
        }
        assert_eq!(hourly.latest_due(utc("2025-10-26 02:00"), BERLIN), two);
        // A daily run at 02:30 that day is the first 02:30 (CEST).
        let daily = Schedule::parse("daily 02:30").unwrap();
        let saturday = daily.period_starting(at("2025-10-25 00:00")).unwrap();
        assert_eq!(daily.due(saturday, BERLIN), utc("2025-10-26 00:30"));
    }

    #[test]
    fn weekly_delivers_the_last_iso_week_on_its_day() {
        let s = Schedule::parse("weekly wednesday 09:00").unwrap();
        // Wednesday 2025-03-12 09:00 Berlin (CET) = 08:00 UTC.
        let p = s.latest_due(utc("2025-03-12 08:00"), BERLIN);
        assert_eq!(p.start, at("2025-03-03 00:00"), "Monday of ISO week 10");
        assert_eq!(p.end, at("2025-03-10 00:00"));
        assert_eq!(p.label(s.every), "2025-W10");
        // A minute before, the week before is the last due.
        let before = s.latest_due(utc("2025-03-12 07:59"), BERLIN);
        assert_eq!(before.start, at("2025-02-24 00:00"));
        assert_eq!(s.next(before, BERLIN), p);
        // On Monday at 00:00 the week is over: a Monday run that day.
        let monday = Schedule::parse("weekly monday 00:00").unwrap();
        assert_eq!(monday.due(p, BERLIN), utc("2025-03-09 23:00"));
        // The week of the spring-forward Sunday: due at Monday's local time.
        let w13 = s.period_starting(at("2025-03-24 00:00")).unwrap();
        assert_eq!(w13.label(s.every), "2025-W13");
        assert_eq!(s.due(w13, BERLIN), utc("2025-04-02 07:00"));
        assert!(s.period_starting(at("2025-03-25 00:00")).is_none());
    }

    #[test]
    fn catch_up_is_bounded_and_says_what_it_passed_over() {
        let hourly = Schedule::parse("hourly :05").unwrap();
        let zone: Tz = chrono_tz::UTC;
        let now = utc("2025-03-10 12:04");
        // Due: up to 10:00–11:00 (11:00–12:00 is due at 12:05).
        let (p, skipped) = hourly.pending(Some(at("2025-03-10 07:00")), now, zone, 48);
        let starts: Vec<_> = p.iter().map(|p| p.start).collect();
        assert_eq!(
            starts,
            [
                at("2025-03-10 08:00"),
                at("2025-03-10 09:00"),
                at("2025-03-10 10:00")
            ]
        );
        assert_eq!(skipped, 0);
        let (p, skipped) = hourly.pending(Some(at("2025-03-08 10:00")), now, zone, 24);
        assert_eq!(p.len(), 24);
        assert_eq!(p[0].start, at("2025-03-09 11:00"));
        assert_eq!(skipped, 24);
        // Nothing new.
        let (p, _) = hourly.pending(Some(at("2025-03-10 10:00")), now, zone, 48);
        assert!(p.is_empty());
        // A new entry: the latest due only.
        let (p, _) = hourly.pending(None, now, zone, 48);
        assert_eq!(p.len(), 1);
        assert_eq!(p[0].start, at("2025-03-10 10:00"));
    }
}
