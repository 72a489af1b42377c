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
//! NULLs in the data are never an error: a NULL argument gives NULL (the
//! scalars and `fair_score`) or keeps the row out of a median or a contest
//! (`outlier_flag` and `achievements`, which never return NULL). Errors are
//! for the caller's mistakes: an unknown zone name, a `ratio` or
//! `prior_weight` that is not a constant number in range, wrong types.
//!
//! ```
//! # #[tokio::main]
//! # async fn main() -> datafusion::error::Result<()> {
//! use datafusion::arrow::array::AsArray;
//!
//! let ctx = datafusion::prelude::SessionContext::new();
//! oko_udfs::register_all(&ctx);
//! // Scores 5, 2, 4.5 → median 4.5; 2 < 0.6 × 4.5 = 2.7, so b is an outlier.
//! let batches = ctx
//!     .sql("SELECT m, outlier_flag(s, l) OVER () AS outlier \
//!           FROM (VALUES ('a', 5.0, 10), ('b', 2.0, 10), ('c', 4.5, 9)) AS t(m, s, l) \
//!           ORDER BY m")
//!     .await?
//!     .collect()
//!     .await?;
//! let outlier = batches[0].column(1).as_boolean();
//! assert_eq!(outlier.iter().collect::<Vec<_>>(), [Some(false), Some(true), Some(false)]);
//! assert_eq!(oko_udfs::parse_score("5 спасибо"), Some(5));
//! # Ok(())
//! # }
//! ```

// A failure is an error for the caller, never a panic of the process.
#![deny(clippy::unwrap_used, clippy::expect_used)]

pub mod scalar;
pub mod window;

use std::sync::Arc;

use datafusion::logical_expr::{ScalarUDF, WindowUDF};
use datafusion::prelude::SessionContext;

pub use scalar::parse_score::parse_score;

/// Registers every OKO function in a session (replacing any function of the
/// same name).
pub fn register_all(ctx: &SessionContext) {
    for f in scalar_functions() {
        ctx.register_udf(f.as_ref().clone());
    }
    for f in window_functions() {
        ctx.register_udwf(f.as_ref().clone());
    }
}

/// The scalar functions: `local_time`, `utc_from_local`, `parse_score`.
pub fn scalar_functions() -> Vec<Arc<ScalarUDF>> {
    scalar::functions()
}

/// The window functions: `outlier_flag`, `achievements`, `fair_score`.
pub fn window_functions() -> Vec<Arc<WindowUDF>> {
    window::functions()
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
    use super::*;

    #[test]
    fn median_odd_even_single_empty() {
        assert_eq!(median(&mut [3.0, 1.0, 2.0]), Some(2.0));
        assert_eq!(median(&mut [4.0, 1.0, 2.0, 3.0]), Some(2.5));
        assert_eq!(median(&mut [7.0]), Some(7.0));
        assert_eq!(median(&mut []), None);
    }

    #[test]
    fn register_all_registers_every_function_by_name() {
        let ctx = SessionContext::new();
        register_all(&ctx);
        let state = ctx.state();
        for name in ["local_time", "utc_from_local", "parse_score"] {
            assert!(state.scalar_functions().contains_key(name), "{name}");
        }
        for name in ["outlier_flag", "achievements", "fair_score"] {
            assert!(state.window_functions().contains_key(name), "{name}");
        }
        assert_eq!(scalar_functions().len() + window_functions().len(), 6);
    }
}
