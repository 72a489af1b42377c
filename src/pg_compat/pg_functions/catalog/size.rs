//! `pg_size_pretty`, as PostgreSQL writes a size.

use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, AsArray, StringBuilder};
use datafusion::arrow::datatypes::{DataType, Decimal128Type, Int64Type};
use datafusion::common::{Result, ScalarValue};

use crate::sqlstate::{code, coded};

/// `pg_size_pretty`: PostgreSQL's units and rounding (`dbsize.c`): bytes
/// below 10 kB, then kB, MB, GB, TB and PB below 20 480 of them, halves
/// rounded away from zero.
pub(super) fn size_pretty(array: &ArrayRef) -> Result<ArrayRef> {
    let mut out = StringBuilder::new();
    match array.data_type() {
        DataType::Null => (0..array.len()).for_each(|_| out.append_null()),
        DataType::Decimal128(_, scale) => {
            let scale = u32::try_from(*scale).unwrap_or(0);
            let values = array.as_primitive::<Decimal128Type>();
            for v in values.iter() {
                out.append_option(v.map(|v| pretty(v, scale)));
            }
        }
        t if t.is_integer() => {
            let values = datafusion::arrow::compute::cast(array, &DataType::Int64)?;
            for v in values.as_primitive::<Int64Type>().iter() {
                out.append_option(v.map(|v| pretty(i128::from(v), 0)));
            }
        }
        t => {
            return Err(coded(
                code::UNDEFINED_FUNCTION,
                format!("function pg_size_pretty({t}) does not exist"),
            ));
        }
    }
    Ok(Arc::new(out.finish()))
}

/// `value / 10^scale` bytes, written as PostgreSQL writes a size.
fn pretty(value: i128, scale: u32) -> String {
    // (unit, limit, half rounded, bits)
    const UNITS: [(&str, i128, bool, u32); 6] = [
        ("bytes", 10 * 1024, false, 0),
        ("kB", 20 * 1024 - 1, true, 10),
        ("MB", 20 * 1024 - 1, true, 20),
        ("GB", 20 * 1024 - 1, true, 30),
        ("TB", 20 * 1024 - 1, true, 40),
        ("PB", 20 * 1024 - 1, true, 50),
    ];
    let unit_scale = 10i128.checked_pow(scale).unwrap_or(i128::MAX);
    // The value, still scaled while it is in bytes.
    let mut size = value;
    let mut scaled = true;
    for (n, (name, limit, round, bits)) in UNITS.iter().enumerate() {
        let whole = if scaled { size / unit_scale } else { size };
        let below = if scaled {
            size.unsigned_abs() < limit.saturating_mul(unit_scale).unsigned_abs()
        } else {
            size.unsigned_abs() < limit.unsigned_abs()
        };
        if n + 1 == UNITS.len() || below {
            if *round {
                let half = (whole + if whole < 0 { -1 } else { 1 }) / 2;
                return format!("{half} {name}");
            }
            if scaled && scale > 0 {
                return format!("{} {name}", decimal_text(size, scale));
            }
            return format!("{whole} {name}");
        }
        let (next_bits, next_round) = (UNITS[n + 1].3, UNITS[n + 1].2);
        let shift = next_bits - bits - u32::from(next_round) + u32::from(*round);
        // Truncating division, as PostgreSQL's (for negative sizes too).
        size = if scaled {
            size / unit_scale.saturating_mul(1i128 << shift)
        } else {
            size / (1i128 << shift)
        };
        scaled = false;
    }
    String::new()
}

/// A decimal's text, without trailing zeros after the point.
fn decimal_text(value: i128, scale: u32) -> String {
    let text =
        ScalarValue::Decimal128(Some(value), 38, i8::try_from(scale).unwrap_or(0)).to_string();
    if text.contains('.') {
        text.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_are_written_as_postgresql_writes_them() {
        // Checked against PostgreSQL 15.
        for (bytes, text) in [
            (0, "0 bytes"),
            (10239, "10239 bytes"),
            (10240, "10 kB"),
            (-10240, "-10 kB"),
            (10752, "11 kB"),
            (-10752, "-11 kB"),
            (1234567, "1206 kB"),
            (20971519, "20 MB"),
            (20971520, "20 MB"),
            (i128::from(i64::MAX), "8192 PB"),
        ] {
            assert_eq!(pretty(bytes, 0), text, "{bytes}");
        }
        assert_eq!(pretty(55, 1), "5.5 bytes");
        assert_eq!(pretty(102_397, 1), "10239.7 bytes");
        assert_eq!(pretty(1_234_567_899, 1), "118 MB");
        assert_eq!(pretty(50_000_000_000, 10), "5 bytes");
    }
}
