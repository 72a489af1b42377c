//! `(start1, end1) OVERLAPS (start2, end2)`: PostgreSQL's
//! `overlaps_timestamp` (PG 15, utils/adt/timestamp.c).
//!
//! sqlparser 0.62 parses the predicate as a binary `OVERLAPS` of two
//! tuples, which DataFusion cannot plan; [`rewrite`] turns it into a call
//! of `overlaps(s1, e1, s2, e2)`, PostgreSQL's function of that name (which
//! an analyst may also call). Each pair is a start and an end or a start
//! and an interval (the end is `start + interval`, added as PostgreSQL adds
//! it: months and days on the wall clock, a `timestamptz`'s in the
//! session's zone). The ends of a pair may come in either order. The NULL
//! rules are PostgreSQL's: a pair with both ends NULL is unknown; with one
//! NULL the other stands for the start, and the answer is NULL only where
//! the missing end would decide it. `date`s are read as their midnights;
//! a `timestamp` with a `timestamptz` as the `timestamptz` of its wall clock
//! in the session's zone.

use std::sync::Arc;

use chrono::{DateTime, Duration, Months, NaiveDateTime, Utc};
use datafusion::arrow::array::{Array, ArrayRef, AsArray, BooleanArray};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{
    DataType, IntervalMonthDayNanoType, IntervalUnit, TimeUnit, TimestampMicrosecondType,
};
use datafusion::common::Result;
use datafusion::logical_expr::{
    ColumnarValue, ScalarFunctionArgs, ScalarUDFImpl, Signature, Volatility,
};
use datafusion::sql::sqlparser::ast::{BinaryOperator, Expr as SqlExpr};

use super::Zone;
use crate::sqlstate::{code, coded};

/// `(a, b) OVERLAPS (c, d)` → `overlaps(a, b, c, d)`.
pub fn rewrite(expr: &SqlExpr) -> Option<SqlExpr> {
    let SqlExpr::BinaryOp {
        left,
        op: BinaryOperator::Overlaps,
        right,
    } = expr
    else {
        return None;
    };
    let (SqlExpr::Tuple(l), SqlExpr::Tuple(r)) = (left.as_ref(), right.as_ref()) else {
        return None;
    };
    let ([a, b], [c, d]) = (l.as_slice(), r.as_slice()) else {
        return None;
    };
    let sql = format!("overlaps({a}, {b}, {c}, {d})");
    datafusion::sql::sqlparser::parser::Parser::new(
        &datafusion::sql::sqlparser::dialect::PostgreSqlDialect {},
    )
    .try_with_sql(&sql)
    .and_then(|mut p| p.parse_expr())
    .ok()
}

/// The `overlaps` function; see the module documentation.
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct Overlaps {
    signature: Signature,
}

impl Overlaps {
    pub fn new() -> Self {
        Self {
            signature: Signature::any(4, Volatility::Stable),
        }
    }
}

impl Default for Overlaps {
    fn default() -> Self {
        Self::new()
    }
}

impl ScalarUDFImpl for Overlaps {
    fn name(&self) -> &str {
        "overlaps"
    }
    fn signature(&self) -> &Signature {
        &self.signature
    }
    fn return_type(&self, args: &[DataType]) -> Result<DataType> {
        let time = |t: &DataType| {
            matches!(
                t,
                DataType::Timestamp(..) | DataType::Date32 | DataType::Date64 | DataType::Null
            )
        };
        let end = |t: &DataType| time(t) || matches!(t, DataType::Interval(_));
        match args {
            [a, b, c, d] if time(a) && end(b) && time(c) && end(d) => Ok(DataType::Boolean),
            _ => Err(coded(
                code::UNDEFINED_FUNCTION,
                format!(
                    "function overlaps({}) does not exist",
                    args.iter()
                        .map(|t| t.to_string())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            )),
        }
    }
    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let rows = args.number_rows;
        let scalar = super::all_scalar(&args.args);
        let session = args
            .config_options
            .execution
            .time_zone
            .as_deref()
            .map(Zone::of_arrow)
            .transpose()?
            .unwrap_or(Zone::Fixed(Utc.fix()));
        let arrays = args
            .args
            .iter()
            .map(|a| a.to_array(rows))
            .collect::<Result<Vec<_>>>()?;
        let aware = arrays
            .iter()
            .any(|a| matches!(a.data_type(), DataType::Timestamp(_, Some(_))));
        let times = |a: &ArrayRef| instants(a, aware, &session);
        let (s1, s2) = (times(&arrays[0])?, times(&arrays[2])?);
        let e1 = end(&s1, &arrays[1], aware, &session)?;
        let e2 = end(&s2, &arrays[3], aware, &session)?;
        let out: BooleanArray = (0..rows.max(s1.len()))
            .map(|i| overlaps(s1[i], e1[i], s2[i], e2[i]))
            .collect();
        super::answer(Arc::new(out), scalar)
    }
}

use chrono::Offset;

/// The values of `a` as microseconds: UTC instants when `aware`, wall
/// clocks otherwise.
fn instants(a: &ArrayRef, aware: bool, session: &Zone) -> Result<Vec<Option<i64>>> {
    if a.data_type() == &DataType::Null {
        return Ok(vec![None; a.len()]);
    }
    let zoned = matches!(a.data_type(), DataType::Timestamp(_, Some(_)));
    let target = if zoned {
        DataType::Timestamp(TimeUnit::Microsecond, Some("+00:00".into()))
    } else {
        DataType::Timestamp(TimeUnit::Microsecond, None)
    };
    let micros = cast(a, &target)?;
    let micros = micros.as_primitive::<TimestampMicrosecondType>();
    micros
        .iter()
        .map(|m| {
            let Some(m) = m else { return Ok(None) };
            if zoned || !aware {
                return Ok(Some(m));
            }
            let wall = DateTime::<Utc>::from_timestamp_micros(m)
                .map(|t| t.naive_utc())
                .ok_or_else(out_of_range)?;
            Ok(Some(
                session
                    .instant(wall)
                    .ok_or_else(out_of_range)?
                    .timestamp_micros(),
            ))
        })
        .collect()
}

fn out_of_range() -> datafusion::common::DataFusionError {
    coded(code::DATETIME_FIELD_OVERFLOW, "timestamp out of range")
}

/// The ends of the pairs: times, or `start + interval`.
fn end(
    starts: &[Option<i64>],
    a: &ArrayRef,
    aware: bool,
    session: &Zone,
) -> Result<Vec<Option<i64>>> {
    if !matches!(a.data_type(), DataType::Interval(_)) {
        return instants(a, aware, session);
    }
    let spans = cast(a, &DataType::Interval(IntervalUnit::MonthDayNano))?;
    let spans = spans.as_primitive::<IntervalMonthDayNanoType>();
    starts
        .iter()
        .zip(spans.iter())
        .map(|(s, span)| {
            let (Some(s), Some(span)) = (s, span) else {
                return Ok(None);
            };
            let at = DateTime::<Utc>::from_timestamp_micros(*s).ok_or_else(out_of_range)?;
            let wall: NaiveDateTime = if aware {
                session.local(at)
            } else {
                at.naive_utc()
            };
            let moved = add_months_days(wall, span.months, span.days).ok_or_else(out_of_range)?;
            let base = if aware {
                session.instant(moved).ok_or_else(out_of_range)?
            } else {
                moved.and_utc()
            };
            Ok(Some(
                (base + Duration::microseconds(span.nanoseconds / 1000)).timestamp_micros(),
            ))
        })
        .collect()
}

/// A wall clock moved by months (the day kept, or the month's last) and days.
fn add_months_days(t: NaiveDateTime, months: i32, days: i32) -> Option<NaiveDateTime> {
    let t = if months >= 0 {
        t.checked_add_months(Months::new(months.unsigned_abs()))?
    } else {
        t.checked_sub_months(Months::new(months.unsigned_abs()))?
    };
    t.checked_add_signed(Duration::days(i64::from(days)))
}

/// PostgreSQL's `overlaps_timestamp` of one row.
fn overlaps(
    mut ts1: Option<i64>,
    mut te1: Option<i64>,
    mut ts2: Option<i64>,
    mut te2: Option<i64>,
) -> Option<bool> {
    // With one end NULL the other stands first; otherwise the earlier first.
    let order = |s: &mut Option<i64>, e: &mut Option<i64>| -> Option<()> {
        match (*s, *e) {
            (None, None) => return None,
            (None, Some(_)) => {
                *s = e.take();
            }
            (Some(a), Some(b)) if a > b => {
                *s = Some(b);
                *e = Some(a);
            }
            _ => {}
        }
        Some(())
    };
    order(&mut ts1, &mut te1)?;
    order(&mut ts2, &mut te2)?;
    let (s1, s2) = (ts1?, ts2?);
    if s1 > s2 {
        if s1 < te2? {
            return Some(true);
        }
        te1?;
        Some(false)
    } else if s1 < s2 {
        if s2 < te1? {
            return Some(true);
        }
        te2?;
        Some(false)
    } else {
        te1?;
        te2?;
        Some(true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn null_rules_are_postgresqls() {
        // PostgreSQL 15 answers, hours as numbers.
        let f = overlaps;
        assert_eq!(f(Some(10), Some(12), Some(11), Some(13)), Some(true));
        assert_eq!(f(Some(12), Some(10), Some(13), Some(11)), Some(true));
        assert_eq!(f(Some(10), Some(11), Some(11), Some(13)), Some(false));
        assert_eq!(f(Some(10), Some(10), Some(10), Some(10)), Some(true));
        assert_eq!(f(None, None, Some(1), Some(2)), None);
        // (10, NULL) OVERLAPS (11, 13): NULL; (10, NULL) OVERLAPS (9, 13): true.
        assert_eq!(f(Some(10), None, Some(11), Some(13)), None);
        assert_eq!(f(Some(10), None, Some(9), Some(13)), Some(true));
        assert_eq!(f(Some(10), None, Some(9), Some(10)), None);
        assert_eq!(f(Some(10), Some(11), Some(12), None), None);
        assert_eq!(f(Some(10), Some(11), Some(12), Some(13)), Some(false));
        assert_eq!(f(None, Some(10), Some(10), None), None);
        assert_eq!(f(Some(10), Some(12), Some(10), None), None);
    }

    #[test]
    fn the_predicate_becomes_a_call() {
        let e = datafusion::sql::sqlparser::parser::Parser::new(
            &datafusion::sql::sqlparser::dialect::PostgreSqlDialect {},
        )
        .try_with_sql("(a, b) OVERLAPS (c, interval '1 day')")
        .unwrap()
        .parse_expr()
        .unwrap();
        assert_eq!(
            rewrite(&e).unwrap().to_string(),
            "overlaps(a, b, c, INTERVAL '1 day')"
        );
    }
}
