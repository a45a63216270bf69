//! The few drawing primitives the charts need, written by hand: a linear scale, "nice" round
//! ticks, compact numbers, and path data. Pure and total: empty, single-point, reversed and
//! huge inputs give finite output, never NaN or a panic.

use std::fmt::Write;

/// Maps a domain linearly onto a range (pixels). A reversed domain or range flips it; an empty
/// domain (both ends equal) maps everything to the middle of the range.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Scale {
    d0: f64,
    d1: f64,
    r0: f64,
    r1: f64,
}

fn finite(v: f64) -> f64 {
    if v.is_finite() { v } else { 0.0 }
}

impl Scale {
    /// From `domain` onto `range`; non-finite ends count as 0.
    pub fn new(domain: (f64, f64), range: (f64, f64)) -> Self {
        Self {
            d0: finite(domain.0),
            d1: finite(domain.1),
            r0: finite(range.0),
            r1: finite(range.1),
        }
    }

    /// Where `v` lands; clamped to the range, so a value outside the domain stays on the chart.
    pub fn map(&self, v: f64) -> f64 {
        let span = self.d1 - self.d0;
        if span == 0.0 || !span.is_finite() {
            return (self.r0 + self.r1) / 2.0;
        }
        let t = ((finite(v) - self.d0) / span).clamp(0.0, 1.0);
        let out = self.r0 + t * (self.r1 - self.r0);
        if out.is_finite() { out } else { self.r0 }
    }
}

/// Round tick values covering `[lo, hi]` (either order) in about `count` steps of 1, 2 or 5
/// times a power of ten. Equal ends give one tick; non-finite ends count as 0.
pub fn nice_ticks(lo: f64, hi: f64, count: usize) -> Vec<f64> {
    let (lo, hi) = {
        let (a, b) = (finite(lo), finite(hi));
        if a <= b { (a, b) } else { (b, a) }
    };
    if lo == hi {
        return vec![lo];
    }
    let step = nice_step((hi - lo) / count.max(1) as f64);
    if step <= 0.0 || !step.is_finite() {
        return vec![lo, hi];
    }
    let first = (lo / step).floor() * step;
    let mut ticks = Vec::new();
    // By index, not by adding: at huge magnitudes `t + step` may not move.
    for i in 0..=count.max(1) * 3 {
        let t = first + i as f64 * step;
        if !t.is_finite() {
            break;
        }
        ticks.push(t);
        if t >= hi {
            break;
        }
    }
    ticks
}

/// The step of 1, 2 or 5 times a power of ten nearest above `raw`.
fn nice_step(raw: f64) -> f64 {
    // NaN fails `is_finite`; zero and negatives are no step.
    if !raw.is_finite() || raw <= 0.0 {
        return 0.0;
    }
    // Powers of ten by multiplying, not `log10`/`powf`: no libm in the wasm.
    let mut power = 1.0;
    while power * 10.0 <= raw {
        power *= 10.0;
    }
    while power > raw {
        power /= 10.0;
    }
    let f = raw / power;
    let nice = if f <= 1.0 {
        1.0
    } else if f <= 2.0 {
        2.0
    } else if f <= 5.0 {
        5.0
    } else {
        10.0
    };
    nice * power
}

/// `whole` tenths as `12.3`, or `12` when the tenth is 0. Integers only: formatting floats would
/// add its whole machinery to the wasm.
fn tenths(t: i64) -> String {
    let sign = if t < 0 { "-" } else { "" };
    let a = t.unsigned_abs();
    if a.is_multiple_of(10) {
        format!("{sign}{}", a / 10)
    } else {
        format!("{sign}{}.{}", a / 10, a % 10)
    }
}

/// Rounds to the nearest integer (halves away from zero), saturating.
fn round(v: f64) -> i64 {
    let v = finite(v);
    let r = if v < 0.0 {
        -((-v) + 0.5).floor()
    } else {
        (v + 0.5).floor()
    };
    r as i64
}

/// A count as people read it on an axis: `950`, `1,200`, `12k`, `3.4M`, up to `E` (10^18).
pub fn compact(v: f64) -> String {
    let v = finite(v);
    let a = v.abs();
    let sign = if v < 0.0 { "-" } else { "" };
    for (unit, size) in [
        ("E", 1e18),
        ("P", 1e15),
        ("T", 1e12),
        ("G", 1e9),
        ("M", 1e6),
        ("k", 1e4),
    ] {
        if a >= size {
            let size = if unit == "k" { 1e3 } else { size };
            let t = round(a / size * 10.0);
            return if t < 100 {
                format!("{sign}{}{unit}", tenths_always(t))
            } else {
                format!("{sign}{}{unit}", round(a / size))
            };
        }
    }
    grouped(round(v))
}

/// Tenths with the decimal always shown: `3.0`.
fn tenths_always(t: i64) -> String {
    format!("{}.{}", t / 10, t % 10)
}

/// An integer with thousands separators: `1,234,567`.
pub fn grouped(n: i64) -> String {
    let digits = n.unsigned_abs().to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3 + 1);
    if n < 0 {
        out.push('-');
    }
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// A coordinate with one decimal, the precision a chart needs.
pub fn px(v: f64) -> String {
    tenths(round(finite(v) * 10.0))
}

/// Path data through the points, broken where a point is missing (`None`); an isolated point
/// is drawn as a dot-sized segment so it stays visible.
pub fn line_path(points: &[Option<(f64, f64)>]) -> String {
    let mut d = String::new();
    let mut pen_down = false;
    for (i, p) in points.iter().enumerate() {
        match p {
            None => pen_down = false,
            Some((x, y)) => {
                let alone = !pen_down && points.get(i + 1).is_none_or(|next| next.is_none());
                let cmd = if pen_down { 'L' } else { 'M' };
                write!(d, "{cmd}{} {}", px(*x), px(*y)).ok();
                if alone {
                    d.push_str("h0.1");
                }
                pen_down = true;
            }
        }
    }
    d
}

#[cfg(test)]
mod tests;
