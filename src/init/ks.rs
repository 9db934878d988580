//! Test support: the one-sample Kolmogorov–Smirnov test, as scipy's `stats.kstest` is used by
//! PyTorch's TestNNInit (`p > 1e-4` to pass).
//!
//! D_n = sup_x |F_n(x) − F(x)| over the sorted sample, and the p-value from the Kolmogorov
//! distribution with Stephens' finite-n correction (Stephens 1970; Numerical Recipes §14.3.3):
//! p = Q_KS((√n + 0.12 + 0.11/√n)·D_n), where
//!   Q_KS(λ) = 2 Σ_{j≥1} (−1)^{j−1} e^{−2j²λ²}                       (λ ≥ 1.18)
//!           = 1 − (√(2π)/λ) Σ_{j≥1} e^{−(2j−1)²π²/(8λ²)}             (λ < 1.18, same function,
//!             Jacobi theta transformation, fast where the first series converges slowly).
//!
//! Shared by the unit tests (`init::parity_tests`, which also test this module) and the CLI
//! tests (`tests/cli_weights.rs`, which include this file by path), so it depends on nothing
//! but `std` and `libm`.
#![allow(dead_code)]

use std::f64::consts::PI;

/// The Kolmogorov–Smirnov statistic D_n of `xs` against the continuous CDF `cdf`.
pub fn ks_statistic(xs: &[f64], cdf: impl Fn(f64) -> f64) -> f64 {
    let mut v = xs.to_vec();
    v.sort_by(|a, b| a.total_cmp(b));
    let n = v.len() as f64;
    let mut d: f64 = 0.0;
    for (i, &x) in v.iter().enumerate() {
        let f = cdf(x);
        d = d.max(f - i as f64 / n).max((i + 1) as f64 / n - f);
    }
    d
}

/// Survival function of the Kolmogorov distribution, Q_KS(λ) = P(K > λ).
pub fn kolmogorov_q(lambda: f64) -> f64 {
    if lambda <= 0.0 {
        return 1.0;
    }
    if lambda < 1.18 {
        let y = -PI * PI / (8.0 * lambda * lambda);
        let mut s = 0.0;
        for j in 1..=20 {
            let k = (2 * j - 1) as f64;
            let t = (k * k * y).exp();
            s += t;
            if t < 1e-17 * s {
                break;
            }
        }
        (1.0 - (2.0 * PI).sqrt() / lambda * s).clamp(0.0, 1.0)
    } else {
        let mut s = 0.0;
        let mut sign = 1.0;
        for j in 1..=100 {
            let jf = j as f64;
            let t = (-2.0 * jf * jf * lambda * lambda).exp();
            s += sign * t;
            sign = -sign;
            if t < 1e-17 {
                break;
            }
        }
        (2.0 * s).clamp(0.0, 1.0)
    }
}

/// (D_n, p-value) of `xs` against `cdf`.
pub fn ks_test(xs: &[f64], cdf: impl Fn(f64) -> f64) -> (f64, f64) {
    let d = ks_statistic(xs, cdf);
    let sn = (xs.len() as f64).sqrt();
    (d, kolmogorov_q((sn + 0.12 + 0.11 / sn) * d))
}

/// Standard normal CDF Φ(x) = ½·erfc(−x/√2).
pub fn std_normal_cdf(x: f64) -> f64 {
    0.5 * libm::erfc(-x / std::f64::consts::SQRT_2)
}

/// CDF of U(a, b).
pub fn uniform_cdf(a: f64, b: f64) -> impl Fn(f64) -> f64 {
    move |x| ((x - a) / (b - a)).clamp(0.0, 1.0)
}

/// CDF of N(mean, std²).
pub fn normal_cdf(mean: f64, std: f64) -> impl Fn(f64) -> f64 {
    move |x| std_normal_cdf((x - mean) / std)
}

/// CDF of N(mean, std²) truncated to [a, b], computed on the lower-tail side for accuracy.
pub fn trunc_normal_cdf(mean: f64, std: f64, a: f64, b: f64) -> impl Fn(f64) -> f64 {
    let (al, be) = ((a - mean) / std, (b - mean) / std);
    move |x| {
        let z = ((x - mean) / std).clamp(al, be);
        if al > 0.0 {
            // Upper tail: use survival functions, Φ(−t), which are small and exact.
            let (sa, sb, sz) = (std_normal_cdf(-al), std_normal_cdf(-be), std_normal_cdf(-z));
            ((sa - sz) / (sa - sb)).clamp(0.0, 1.0)
        } else {
            let (ca, cb, cz) = (std_normal_cdf(al), std_normal_cdf(be), std_normal_cdf(z));
            ((cz - ca) / (cb - ca)).clamp(0.0, 1.0)
        }
    }
}
