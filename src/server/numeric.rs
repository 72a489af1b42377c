//! `numeric` values on the wire, all 38 digits of an Arrow decimal.
//!
//! arrow-pg sends a `Decimal128` through `rust_decimal`, which holds 28
//! digits: a quotient with 20 decimals and 9 whole digits (`extract(epoch
//! …) / 3600`) failed with 22003. [`Numeric`] writes PostgreSQL's text
//! (`-12.3400`, the column's scale) and binary form (base-10000 digits,
//! weight, sign and display scale) from the 128-bit value itself.

use std::error::Error;

use bytes::{BufMut, BytesMut};
use pgwire::types::ToSqlText;
use pgwire::types::format::FormatOptions;
use postgres_types::{IsNull, ToSql, Type, to_sql_checked};

/// A decimal value and its scale.
#[derive(Debug, Clone, Copy)]
pub struct Numeric {
    pub value: i128,
    pub scale: u32,
}

impl Numeric {
    /// The text PostgreSQL writes: every decimal of the scale.
    pub fn text(&self) -> String {
        let digits = self.value.unsigned_abs().to_string();
        let scale = self.scale as usize;
        let padded = if digits.len() <= scale {
            format!("{}{digits}", "0".repeat(scale - digits.len() + 1))
        } else {
            digits
        };
        let (whole, fraction) = padded.split_at(padded.len() - scale);
        let sign = if self.value < 0 { "-" } else { "" };
        if scale == 0 {
            format!("{sign}{whole}")
        } else {
            format!("{sign}{whole}.{fraction}")
        }
    }

    /// PostgreSQL's binary form: `ndigits`, `weight`, `sign`, `dscale`,
    /// then the base-10000 digits from the most significant, without
    /// leading or trailing zero digits.
    fn binary(&self, out: &mut BytesMut) {
        let scale = self.scale as usize;
        let digits = self.value.unsigned_abs().to_string();
        // Whole and fraction parts, the fraction padded to whole groups.
        let (whole, fraction) = if digits.len() > scale {
            let (w, f) = digits.split_at(digits.len() - scale);
            (w.to_string(), f.to_string())
        } else {
            (
                String::new(),
                format!("{}{digits}", "0".repeat(scale - digits.len())),
            )
        };
        let whole_pad = (4 - whole.len() % 4) % 4;
        let whole = format!("{}{whole}", "0".repeat(whole_pad));
        let frac_pad = (4 - fraction.len() % 4) % 4;
        let fraction = format!("{fraction}{}", "0".repeat(frac_pad));
        let group = |s: &str| -> Vec<i16> {
            s.as_bytes()
                .chunks(4)
                .map(|c| {
                    std::str::from_utf8(c)
                        .ok()
                        .and_then(|c| c.parse().ok())
                        .unwrap_or(0)
                })
                .collect()
        };
        let mut groups = group(&whole);
        let whole_groups = groups.len() as i32;
        groups.extend(group(&fraction));
        let mut weight = whole_groups - 1;
        // Drop leading zero groups (each lowers the weight) and trailing ones.
        let leading = groups.iter().take_while(|g| **g == 0).count();
        groups.drain(..leading);
        weight -= leading as i32;
        while groups.last() == Some(&0) {
            groups.pop();
        }
        if groups.is_empty() {
            weight = 0;
        }
        out.put_i16(groups.len() as i16);
        out.put_i16(weight as i16);
        out.put_u16(if self.value < 0 { 0x4000 } else { 0x0000 });
        out.put_i16(self.scale as i16);
        for g in groups {
            out.put_i16(g);
        }
    }
}

impl ToSql for Numeric {
    fn to_sql(&self, _: &Type, out: &mut BytesMut) -> Result<IsNull, Box<dyn Error + Sync + Send>> {
        self.binary(out);
        Ok(IsNull::No)
    }

    fn accepts(ty: &Type) -> bool {
        *ty == Type::NUMERIC
    }

    to_sql_checked!();
}

impl ToSqlText for Numeric {
    fn to_sql_text(
        &self,
        _: &Type,
        out: &mut BytesMut,
        _: &FormatOptions,
    ) -> Result<IsNull, Box<dyn Error + Sync + Send>> {
        out.put_slice(self.text().as_bytes());
        Ok(IsNull::No)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn n(value: i128, scale: u32) -> Numeric {
        Numeric { value, scale }
    }

    #[test]
    fn text_keeps_the_scale_and_the_sign() {
        assert_eq!(n(1234, 2).text(), "12.34");
        assert_eq!(n(-5, 3).text(), "-0.005");
        assert_eq!(n(0, 2).text(), "0.00");
        assert_eq!(n(42, 0).text(), "42");
        let big = 49_452_028_041_666_666_666_666_666_666_666_667_i128;
        assert_eq!(n(big, 20).text(), "494520280416666.66666666666666666667");
    }

    fn binary(value: i128, scale: u32) -> Vec<i16> {
        let mut out = BytesMut::new();
        n(value, scale).binary(&mut out);
        out.chunks(2)
            .map(|c| i16::from_be_bytes([c[0], c[1]]))
            .collect()
    }

    #[test]
    fn binary_is_base_10000_with_weight_sign_and_scale() {
        // 12.34: digits 12, 3400; weight 0.
        assert_eq!(binary(1234, 2), vec![2, 0, 0, 2, 12, 3400]);
        // -0.005: digit 50 (0.0050); weight -1.
        assert_eq!(binary(-5, 3), vec![1, -1, 0x4000, 3, 50]);
        // 10000: digit 1 at weight 1.
        assert_eq!(binary(10000, 0), vec![1, 1, 0, 0, 1]);
        // 0.00: no digits.
        assert_eq!(binary(0, 2), vec![0, 0, 0, 2]);
        // 123456789.5: 1, 2345, 6789, 5000; weight 2.
        assert_eq!(
            binary(1_234_567_895, 1),
            vec![4, 2, 0, 1, 1, 2345, 6789, 5000]
        );
    }
}
