//! Scalar functions: one value in, one value out, row by row.

pub mod local_time;
pub mod parse_score;
pub mod utc_from_local;

use std::collections::HashMap;
use std::sync::{Arc, LazyLock};

use chrono::{Offset, TimeZone};
use chrono_tz::Tz;
use datafusion::common::{Result, exec_err};
use datafusion::logical_expr::ScalarUDF;

/// Every scalar function of the crate.
pub fn functions() -> Vec<Arc<ScalarUDF>> {
    vec![
        LOCAL_TIME.clone(),
        UTC_FROM_LOCAL.clone(),
        PARSE_SCORE.clone(),
    ]
}

static LOCAL_TIME: LazyLock<Arc<ScalarUDF>> =
    LazyLock::new(|| Arc::new(ScalarUDF::new_from_impl(local_time::LocalTime::new())));
static UTC_FROM_LOCAL: LazyLock<Arc<ScalarUDF>> =
    LazyLock::new(|| Arc::new(ScalarUDF::new_from_impl(utc_from_local::UtcFromLocal::new())));
static PARSE_SCORE: LazyLock<Arc<ScalarUDF>> =
    LazyLock::new(|| Arc::new(ScalarUDF::new_from_impl(parse_score::ParseScore::new())));

/// Parsed time zones of one batch, so a repeated zone column is parsed once.
#[derive(Default)]
pub(crate) struct Zones {
    parsed: HashMap<String, Tz>,
    /// The last (zone, 15-minute bucket) looked up and its UTC offset in µs:
    /// offsets only change on 15-minute boundaries, and rows come in time order.
    last: Option<(Tz, i64, i64)>,
}

impl Zones {
    pub(crate) fn get(&mut self, name: &str) -> Result<Tz> {
        if let Some(tz) = self.parsed.get(name) {
            return Ok(*tz);
        }
        match name.parse::<Tz>() {
            Ok(tz) => {
                self.parsed.insert(name.to_string(), tz);
                Ok(tz)
            }
            Err(_) => exec_err!("unknown time zone `{name}`: use an IANA name like Europe/Moscow"),
        }
    }

    /// The zone's offset from UTC (µs) at a UTC instant (µs).
    pub(crate) fn offset_at(&mut self, tz: Tz, utc_micros: i64) -> Result<i64> {
        const BUCKET: i64 = 900 * 1_000_000;
        let bucket = utc_micros.div_euclid(BUCKET);
        if let Some((t, b, off)) = self.last
            && t == tz
            && b == bucket
        {
            return Ok(off);
        }
        let Some(at) = chrono::DateTime::from_timestamp_micros(utc_micros) else {
            return exec_err!("timestamp {utc_micros} µs is out of range");
        };
        let off = tz
            .offset_from_utc_datetime(&at.naive_utc())
            .fix()
            .local_minus_utc() as i64
            * 1_000_000;
        self.last = Some((tz, bucket, off));
        Ok(off)
    }
}
