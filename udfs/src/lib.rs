//! `oko-udfs`: OKO's DataFusion functions. DataFusion only — no I/O, no
//! server, no async runtime — so any DataFusion host (a Ballista executor
//! too) can register them.
//!
//! | function | kind | what it answers |
//! |---|---|---|
//! | [`outlier_flag(score, leads [, ratio])`](window::outlier_flag) | window | is this manager below `ratio` × the partition's median score or volume? |
//! | [`achievements(leads, response_rate, reaction_s, dialog_s, service_score, ratings, is_outlier)`](window::achievements) | window | which of the five achievements does this manager win? |
//! | [`fair_score(avg_score, ratings [, prior_weight])`](window::fair_score) | window | a Bayesian average toward the partition's mean |
//! | [`local_time(ts, zone)`](scalar::local_time) | scalar | the wall-clock time of an instant in an IANA zone |
//! | [`utc_from_local(local, zone)`](scalar::utc_from_local) | scalar | the instant of a wall-clock time in an IANA zone |
//! | [`parse_score(text)`](scalar::parse_score) | scalar | the leading integer of a client's answer |
//!
//! ```
//! # async fn example() -> datafusion::error::Result<()> {
//! let ctx = datafusion::prelude::SessionContext::new();
//! oko_udfs::register_all(&ctx);
//! let df = ctx
//!     .sql("SELECT m, outlier_flag(s, l) OVER () AS outlier \
//!           FROM (VALUES ('a', 5.0, 10), ('b', 2.0, 10), ('c', 4.5, 9)) AS t(m, s, l)")
//!     .await?;
//! # Ok(()) }
//! ```

pub mod scalar;
pub mod window;

use datafusion::prelude::SessionContext;

pub use scalar::parse_score::parse_score;

/// Registers every OKO function in a session.
pub fn register_all(ctx: &SessionContext) {
    for f in scalar::functions() {
        ctx.register_udf(f.as_ref().clone());
    }
    for f in window::functions() {
        ctx.register_udwf(f.as_ref().clone());
    }
}

/// The usual median: the middle value, or the mean of the two middle values
/// for an even count. `None` for no values. NaN values must be removed first.
pub(crate) fn median(values: &mut [f64]) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    values.sort_by(|a, b| a.total_cmp(b));
    let n = values.len();
    Some(if n % 2 == 1 {
        values[n / 2]
    } else {
        (values[n / 2 - 1] + values[n / 2]) / 2.0
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn median_odd_even_empty() {
        assert_eq!(super::median(&mut [3.0, 1.0, 2.0]), Some(2.0));
        assert_eq!(super::median(&mut [4.0, 1.0, 2.0, 3.0]), Some(2.5));
        assert_eq!(super::median(&mut []), None);
    }
}
