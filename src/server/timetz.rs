//! `time with time zone` on the wire: OKO computes it as its text
//! (`10:11:12.123456+03`, [`crate::pg_compat::pg_functions`]'s `pg_timetz`);
//! in binary PostgreSQL sends the time of day in microseconds and the
//! zone's offset in seconds *west* of UTC.

use std::error::Error;

use bytes::{BufMut, BytesMut};
use pgwire::types::ToSqlText;
use pgwire::types::format::FormatOptions;
use postgres_types::{IsNull, ToSql, Type, to_sql_checked};

/// A `timetz` value read from its text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TimeTz {
    text: String,
    micros: i64,
    /// Seconds east of UTC.
    offset: i32,
}

impl TimeTz {
    /// Reads `HH:MM:SS[.ffffff]±HH[:MM[:SS]]`; `None` for anything else.
    pub fn parse(text: &str) -> Option<TimeTz> {
        let at = text.rfind(['+', '-'])?;
        let (time, zone) = text.split_at(at);
        let mut parts = time.split(':');
        let (h, m, s) = (parts.next()?, parts.next()?, parts.next()?);
        let (whole, fraction) = s.split_once('.').unwrap_or((s, ""));
        let digits = format!("{fraction:0<6}");
        let micros = h.parse::<i64>().ok()? * 3_600_000_000
            + m.parse::<i64>().ok()? * 60_000_000
            + whole.parse::<i64>().ok()? * 1_000_000
            + digits.get(..6)?.parse::<i64>().ok()?;
        let sign = if zone.starts_with('-') { -1 } else { 1 };
        let mut offset = 0;
        for (i, p) in zone[1..].split(':').enumerate() {
            let unit = [3600, 60, 1].get(i)?;
            offset += p.parse::<i32>().ok()? * unit;
        }
        Some(TimeTz {
            text: text.to_string(),
            micros,
            offset: sign * offset,
        })
    }
}

impl ToSql for TimeTz {
    fn to_sql(&self, _: &Type, out: &mut BytesMut) -> Result<IsNull, Box<dyn Error + Sync + Send>> {
        out.put_i64(self.micros);
        out.put_i32(-self.offset);
        Ok(IsNull::No)
    }

    fn accepts(ty: &Type) -> bool {
        *ty == Type::TIMETZ
    }

    to_sql_checked!();
}

impl ToSqlText for TimeTz {
    fn to_sql_text(
        &self,
        _: &Type,
        out: &mut BytesMut,
        _: &FormatOptions,
    ) -> Result<IsNull, Box<dyn Error + Sync + Send>> {
        out.put_slice(self.text.as_bytes());
        Ok(IsNull::No)
    }
}

#[cfg(test)]
mod tests {
    use super::TimeTz;

    #[test]
    fn reads_postgresql_timetz_text() {
        let t = TimeTz::parse("10:11:12.5+03").unwrap();
        assert_eq!(t.micros, (10 * 3600 + 11 * 60 + 12) * 1_000_000 + 500_000);
        assert_eq!(t.offset, 3 * 3600);
        let t = TimeTz::parse("00:00:00-03:30").unwrap();
        assert_eq!((t.micros, t.offset), (0, -(3 * 3600 + 1800)));
        assert!(TimeTz::parse("noon").is_none());
    }
}
