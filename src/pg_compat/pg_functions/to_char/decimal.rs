//! The decimal arithmetic `to_char` needs, on text: C's `printf` of a
//! float as PostgreSQL's own `snprintf` writes it, and `numeric` rounding
//! (half away from zero) and scientific notation as PostgreSQL's
//! `numeric_round`, `numeric_out` and `numeric_out_sci` write them.

/// C's `printf("%.*f")` as PostgreSQL's own `snprintf` writes it
/// (`NaN`, `Infinity`).
pub fn printf_f(v: f64, digits: usize) -> String {
    if v.is_nan() {
        "NaN".into()
    } else if v.is_infinite() {
        if v > 0.0 { "Infinity" } else { "-Infinity" }.into()
    } else {
        format!("{v:.digits$}")
    }
}

/// C's `printf("%+.*e")` with the leading `+` written as a space.
pub fn printf_e(v: f64, digits: usize) -> String {
    let s = format!("{:+.digits$e}", v);
    let (mantissa, exp) = s.split_once('e').unwrap_or((&s, "0"));
    let exp: i64 = exp.parse().unwrap_or(0);
    let mantissa = mantissa.replacen('+', " ", 1);
    format!("{mantissa}e{exp:+03}")
}

/// A decimal as its sign, digits and where the point is: `digits` read as
/// `0.d1d2…` × 10^`point`.
#[derive(Debug, Clone)]
pub struct Decimal {
    negative: bool,
    digits: Vec<u8>,
    point: i64,
}

impl Decimal {
    pub fn parse(text: &str) -> Option<Decimal> {
        let t = text.trim();
        let (negative, t) = match t.strip_prefix('-') {
            Some(r) => (true, r),
            None => (false, t.strip_prefix('+').unwrap_or(t)),
        };
        let (int, frac) = t.split_once('.').unwrap_or((t, ""));
        if !(int.bytes().chain(frac.bytes()).all(|b| b.is_ascii_digit()))
            || int.len() + frac.len() == 0
        {
            return None;
        }
        let mut digits: Vec<u8> = int.bytes().chain(frac.bytes()).map(|b| b - b'0').collect();
        let mut point = int.len() as i64;
        while digits.first() == Some(&0) {
            digits.remove(0);
            point -= 1;
        }
        while digits.last() == Some(&0) {
            digits.pop();
        }
        if digits.is_empty() {
            point = 0;
        }
        Some(Decimal {
            negative: negative && !digits.is_empty(),
            digits,
            point,
        })
    }

    pub fn shifted(mut self, places: i64) -> Decimal {
        if !self.digits.is_empty() {
            self.point += places;
        }
        self
    }

    /// Rounded (half away from zero) to `scale` fraction digits: the digits
    /// from 10^(point-1) down to 10^-scale, and whether it is negative.
    pub fn rounded(&self, scale: i64) -> (bool, Vec<u8>, i64) {
        // The digits kept: those above 10^-scale.
        let keep = self.point + scale;
        let mut kept: Vec<u8> = (0..keep.max(0))
            .map(|i| self.digits.get(i as usize).copied().unwrap_or(0))
            .collect();
        let mut point = self.point;
        let next = if keep >= 0 {
            self.digits.get(keep as usize).copied().unwrap_or(0)
        } else {
            0
        };
        if next >= 5 {
            let mut i = kept.len();
            loop {
                if i == 0 {
                    kept.insert(0, 1);
                    point += 1;
                    break;
                }
                i -= 1;
                if kept[i] == 9 {
                    kept[i] = 0;
                } else {
                    kept[i] += 1;
                    break;
                }
            }
        }
        let negative = self.negative && kept.iter().any(|d| *d != 0);
        (negative, kept, point)
    }

    /// `numeric_out(round(x, scale))`: `-12.50`.
    pub fn out_rounded(&self, scale: i64) -> String {
        let (negative, kept, point) = self.rounded(scale);
        let mut s = String::new();
        if negative {
            s.push('-');
        }
        let at = |i: i64| -> char {
            let d = if i >= 0 {
                kept.get(i as usize).copied().unwrap_or(0)
            } else {
                0
            };
            char::from(b'0' + d)
        };
        if point <= 0 {
            s.push('0');
        } else {
            (0..point).for_each(|i| s.push(at(i)));
        }
        if scale > 0 {
            s.push('.');
            (point..point + scale).for_each(|i| s.push(at(i)));
        }
        s
    }

    /// PostgreSQL's `numeric_out_sci`: `d.ddde±XX` (the significand rounded
    /// after the exponent is taken, so `9.999` to two places is `10.00e+00`).
    pub fn out_sci(&self, scale: i64) -> String {
        let exponent = if self.digits.is_empty() {
            0
        } else {
            self.point - 1
        };
        let significand = Decimal {
            negative: self.negative,
            digits: self.digits.clone(),
            point: if self.digits.is_empty() { 0 } else { 1 },
        };
        format!("{}e{exponent:+03}", significand.out_rounded(scale))
    }

    pub fn to_i64(&self) -> Option<i64> {
        let (negative, kept, point) = self.rounded(0);
        if point > 19 {
            return None;
        }
        let mut v: i128 = 0;
        for i in 0..point.max(0) {
            v = v * 10 + i128::from(kept.get(i as usize).copied().unwrap_or(0));
        }
        i64::try_from(if negative { -v } else { v }).ok()
    }
}
