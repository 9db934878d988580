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

/// Σ(x − k) and Σ(x − k)² with 8 independent f64 accumulators over chunks of 8 (fixed
/// order: deterministic, and the compiler vectorises it).
fn shifted_sums<T: Real>(data: &[T], k: f64) -> (f64, f64) {
    #[cfg(target_arch = "x86_64")]
    if std::is_x86_feature_detected!("avx2") {
        // SAFETY: the CPU has AVX2.
        return unsafe { shifted_sums_avx2(data, k) };
    }
    shifted_sums_any(data, k)
}

/// [`shifted_sums`] compiled for AVX2: the same operations in the same order, so the same bits.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn shifted_sums_avx2<T: Real>(data: &[T], k: f64) -> (f64, f64) {
    shifted_sums_any(data, k)
}

#[inline(always)]
fn shifted_sums_any<T: Real>(data: &[T], k: f64) -> (f64, f64) {
    let (mut s1, mut s2) = ([0.0f64; 8], [0.0f64; 8]);
    let chunks = data.chunks_exact(8);
    let rest = chunks.remainder();
    for c in chunks {
        for j in 0..8 {
            let d = c[j].f64() - k;
            s1[j] += d;
            s2[j] += d * d;
        }
    }
    let fold = |a: [f64; 8]| ((a[0] + a[1]) + (a[2] + a[3])) + ((a[4] + a[5]) + (a[6] + a[7]));
    let (mut t1, mut t2) = (fold(s1), fold(s2));
    for &x in rest {
        let d = x.f64() - k;
        t1 += d;
        t2 += d * d;
    }
    (t1, t2)
}

/// Entries used for the pilot mean that shifts the one-pass sums.
const PILOT: usize = 256;

/// Moments of `data` pooled over every entry, in one pass of shifted sums (Chan, Golub &
/// LeVeque 1983): with k the mean of the first 256 entries, S₁ = Σ(x−k), S₂ = Σ(x−k)²,
/// mean = k + S₁/n and Var = S₂/n − (S₁/n)². The shift makes the subtraction harmless
/// unless |mean − k| is many standard deviations, which a pilot mean of 256 entries is not.
/// If the result is not finite, or the pilot was far off, a second, centred pass decides.
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
    let nf = n as f64;
    let pilot = &data[..n.min(PILOT)];
    let k = pilot.iter().map(|x| x.f64()).sum::<f64>() / pilot.len() as f64;
    let k = if k.is_finite() { k } else { 0.0 };
    let (s1, s2) = shifted_sums(data, k);
    let mut mean = k + s1 / nf;
    // Rounding can leave a tiny negative; NaN stays NaN.
    let v = s2 / nf - (s1 / nf).powi(2);
    let mut var = if v < 0.0 { 0.0 } else { v };
    let nonfinite = if s1.is_finite() && s2.is_finite() {
        // Far-off pilot (|mean − k| > 1000 σ): redo the variance centred on the mean.
        if (s1 / nf).powi(2) > 1e6 * var {
            let (_, c2) = shifted_sums(data, mean);
            var = c2 / nf;
        }
        0
    } else {
        let bad = data.iter().filter(|x| !x.is_finite()).count() as u64;
        if bad == 0 {
            // Finite entries whose sums overflowed (|x| near f64::MAX): two exact passes.
            let (c1, _) = shifted_sums(data, 0.0);
            mean = c1 / nf;
            var = shifted_sums(data, mean).1 / nf;
        }
        bad
    };
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

/// Brock et al. 2021's Signal Propagation Plot statistics of a channels-last tensor
/// (`[rows, c]`, rows = batch × positions): with μ_c and σ²_c the mean and population variance of
/// channel c over its rows, the **average channel squared mean** mean_c μ_c² and the **average
/// channel variance** mean_c σ²_c; their sum is the pooled second moment E[x²]. Two passes per
/// channel in f64 (mean, then centred squares), rows in order.
pub fn channel_moments<T: Real>(data: &[T], c: usize) -> ChannelMoments {
    let rows = data.len() / c.max(1);
    let mut s1 = vec![0.0f64; c];
    let mut nonfinite = 0u64;
    for row in data.chunks_exact(c) {
        for (a, v) in s1.iter_mut().zip(row) {
            let v = v.f64();
            if !v.is_finite() {
                nonfinite += 1;
            }
            *a += v;
        }
    }
    let mean: Vec<f64> = s1.iter().map(|s| s / rows as f64).collect();
    let mut s2 = vec![0.0f64; c];
    for row in data.chunks_exact(c) {
        for ((a, v), m) in s2.iter_mut().zip(row).zip(&mean) {
            let d = v.f64() - m;
            *a += d * d;
        }
    }
    ChannelMoments {
        avg_sq_mean: mean.iter().map(|m| m * m).sum::<f64>() / c as f64,
        avg_var: s2.iter().map(|s| s / rows as f64).sum::<f64>() / c as f64,
        nonfinite,
    }
}

/// See [`channel_moments`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ChannelMoments {
    pub avg_sq_mean: f64,
    pub avg_var: f64,
    pub nonfinite: u64,
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

    /// One-pass moments against an exact two-pass reference in the hard cases: a large mean
    /// with a tiny spread, a pilot that is unrepresentative, and values spanning many decades.
    #[test]
    fn one_pass_matches_two_pass() {
        let exact = |v: &[f64]| {
            let m = v.iter().sum::<f64>() / v.len() as f64;
            (
                m,
                v.iter().map(|x| (x - m).powi(2)).sum::<f64>() / v.len() as f64,
            )
        };
        let cases: Vec<Vec<f64>> = vec![
            (0..10_000)
                .map(|i| 0.5 + 1e-9 * ((i * 7919) % 101) as f64)
                .collect(),
            (0..10_000)
                .map(|i| if i < 300 { 1e6 } else { (i % 13) as f64 })
                .collect(),
            (0..10_000)
                .map(|i| 10f64.powi((i % 61) - 30) * if i % 2 == 0 { 1.0 } else { -1.0 })
                .collect(),
            vec![3.0; 17],
        ];
        for v in cases {
            let m = moments(&v);
            let (mean, var) = exact(&v);
            assert!(
                (m.mean - mean).abs() <= 1e-12 * mean.abs().max(var.sqrt()),
                "mean {} vs {mean}",
                m.mean
            );
            assert!(
                (m.var - var).abs() <= 1e-9 * var + 1e-300,
                "var {} vs {var}",
                m.var
            );
        }
        let huge = vec![1e308, -1e308, 1e308, -1e308];
        let m = moments(&huge);
        assert_eq!(m.nonfinite, 0);
        assert_eq!(m.mean, 0.0);
    }

    #[test]
    fn counts_nonfinite() {
        let m = moments(&[1.0f32, f32::INFINITY, f32::NAN, 2.0]);
        assert_eq!(m.nonfinite, 2);
        assert!(m.var.is_nan());
    }

    /// Channel squared mean + channel variance = pooled E[x²]; a constant per channel has
    /// zero channel variance.
    #[test]
    fn channel_moments_split_the_second_moment() {
        let data: Vec<f64> = (0..60)
            .map(|i| (i % 3) as f64 * 2.0 + ((i * 7) % 5) as f64)
            .collect();
        let cm = channel_moments(&data, 3);
        let pooled = moments(&data);
        assert!((cm.avg_sq_mean + cm.avg_var - pooled.sq_mean).abs() < 1e-12);
        let constant: Vec<f64> = (0..40).map(|i| (i % 4) as f64).collect();
        let cm = channel_moments(&constant, 4);
        assert_eq!(cm.avg_var, 0.0);
        assert!((cm.avg_sq_mean - (0.0 + 1.0 + 4.0 + 9.0) / 4.0).abs() < 1e-15);
    }

    #[test]
    fn describe_values() {
        let (mean, std, min, max) = describe(&[1.0, 2.0, 3.0, 4.0]);
        assert_eq!((mean, min, max), (2.5, 1.0, 4.0));
        assert!((std - (5.0f64 / 3.0).sqrt()).abs() < 1e-15);
        assert!(describe(&[1.0]).1.is_nan());
    }
}
