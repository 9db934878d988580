//! Pooled moments in f64: two passes (mean, then centred sum of squares), so the variance keeps
//! full precision even when |mean| ≫ std. Non-finite entries are counted; when any is present
//! the moments are those of all entries (inf or NaN), never silently dropped.

use crate::real::Real;

/// Population moments of a block of numbers.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Moments {
    pub mean: f64,
    /// Population variance (divide by the count).
    pub var: f64,
    /// E[x²] = var + mean².
    pub sq_mean: f64,
    /// Entries that are ±inf or NaN.
    pub nonfinite: u64,
}

/// Σ f(xᵢ) with 8 independent f64 accumulators over chunks of 8 (fixed order: deterministic,
/// and the compiler vectorises it).
#[inline(always)]
fn sum8<T: Real>(data: &[T], f: impl Fn(f64) -> f64) -> f64 {
    let mut acc = [0.0f64; 8];
    let chunks = data.chunks_exact(8);
    let rest = chunks.remainder();
    for c in chunks {
        for k in 0..8 {
            acc[k] += f(c[k].f64());
        }
    }
    let mut s = ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]));
    for &x in rest {
        s += f(x.f64());
    }
    s
}

/// Moments of `data` pooled over every entry.
pub fn moments<T: Real>(data: &[T]) -> Moments {
    let n = data.len();
    if n == 0 {
        return Moments {
            mean: f64::NAN,
            var: f64::NAN,
            sq_mean: f64::NAN,
            nonfinite: 0,
        };
    }
    let sum = sum8(data, |x| x);
    // A non-finite entry makes the sum non-finite; only then are they counted.
    let nonfinite = if sum.is_finite() {
        0
    } else {
        data.iter().filter(|x| !x.is_finite()).count() as u64
    };
    let mean = sum / n as f64;
    let var = sum8(data, |x| {
        let d = x - mean;
        d * d
    }) / n as f64;
    Moments {
        mean,
        var,
        sq_mean: var + mean * mean,
        nonfinite,
    }
}

/// Mean, sample standard deviation (ddof = 1; NaN for one value), min and max of `xs`.
pub fn describe(xs: &[f64]) -> (f64, f64, f64, f64) {
    let n = xs.len() as f64;
    let mean = xs.iter().sum::<f64>() / n;
    let std = if xs.len() > 1 {
        (xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0)).sqrt()
    } else {
        f64::NAN
    };
    let min = xs.iter().copied().fold(
        f64::INFINITY,
        |a, b| if b < a || b.is_nan() { b } else { a },
    );
    let max = xs.iter().copied().fold(
        f64::NEG_INFINITY,
        |a, b| if b > a || b.is_nan() { b } else { a },
    );
    (mean, std, min, max)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn two_pass_is_exact_with_large_mean() {
        let data: Vec<f64> = (0..1000).map(|i| 1e8 + (i % 2) as f64).collect();
        let m = moments(&data);
        assert_eq!(m.mean, 1e8 + 0.5);
        assert!((m.var - 0.25).abs() < 1e-12, "{}", m.var);
        assert_eq!(m.nonfinite, 0);
    }

    #[test]
    fn counts_nonfinite() {
        let m = moments(&[1.0f32, f32::INFINITY, f32::NAN, 2.0]);
        assert_eq!(m.nonfinite, 2);
        assert!(m.var.is_nan());
    }

    #[test]
    fn describe_values() {
        let (mean, std, min, max) = describe(&[1.0, 2.0, 3.0, 4.0]);
        assert_eq!((mean, min, max), (2.5, 1.0, 4.0));
        assert!((std - (5.0f64 / 3.0).sqrt()).abs() < 1e-15);
        assert!(describe(&[1.0]).1.is_nan());
    }
}
