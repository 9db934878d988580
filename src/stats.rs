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

/// Sum with 8 independent f64 accumulators (fixed order: deterministic, vectorisable).
fn sum8(it: impl Iterator<Item = f64>) -> f64 {
    let mut acc = [0.0f64; 8];
    for (i, x) in it.enumerate() {
        acc[i & 7] += x;
    }
    ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]))
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
    let nonfinite = data.iter().filter(|x| !x.is_finite()).count() as u64;
    let mean = sum8(data.iter().map(|x| x.f64())) / n as f64;
    let var = sum8(data.iter().map(|x| {
        let d = x.f64() - mean;
        d * d
    })) / n as f64;
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
