//! The normal distribution's CDF and quantile in f64, and the truncated normal
//! N(μ, σ²) restricted to [a, b] (PyTorch `trunc_normal_`, absolute bounds).
//!
//! With α = (a − μ)/σ, β = (b − μ)/σ, Z = Φ(β) − Φ(α) (Johnson, Kotz & Balakrishnan, Ch. 13):
//!   E[X]   = μ + σ·(φ(α) − φ(β))/Z
//!   Var[X] = σ²·[1 + (αφ(α) − βφ(β))/Z − ((φ(α) − φ(β))/Z)²]

use rand::Rng;
use rand_distr::{Distribution, StandardNormal};

const INV_SQRT_2PI: f64 = 0.398_942_280_401_432_7;

/// Standard normal density φ(x).
pub fn norm_pdf(x: f64) -> f64 {
    INV_SQRT_2PI * (-0.5 * x * x).exp()
}

/// Standard normal CDF Φ(x) = ½·erfc(−x/√2), accurate in both tails.
pub fn norm_cdf(x: f64) -> f64 {
    0.5 * libm::erfc(-x / std::f64::consts::SQRT_2)
}

/// Standard normal quantile Φ⁻¹(p) for p in (0, 1): Acklam's rational approximation
/// (relative error 1.15e-9) refined by one Halley step on Φ, giving ~1e-15.
pub fn norm_ppf(p: f64) -> f64 {
    if p <= 0.0 {
        return f64::NEG_INFINITY;
    }
    if p >= 1.0 {
        return f64::INFINITY;
    }
    const A: [f64; 6] = [
        -3.969_683_028_665_376e1,
        2.209_460_984_245_205e2,
        -2.759_285_104_469_687e2,
        1.383_577_518_672_69e2,
        -3.066_479_806_614_716e1,
        2.506_628_277_459_239,
    ];
    const B: [f64; 5] = [
        -5.447_609_879_822_406e1,
        1.615_858_368_580_409e2,
        -1.556_989_798_598_866e2,
        6.680_131_188_771_972e1,
        -1.328_068_155_288_572e1,
    ];
    const C: [f64; 6] = [
        -7.784_894_002_430_293e-3,
        -3.223_964_580_411_365e-1,
        -2.400_758_277_161_838,
        -2.549_732_539_343_734,
        4.374_664_141_464_968,
        2.938_163_982_698_783,
    ];
    const D: [f64; 4] = [
        7.784_695_709_041_462e-3,
        3.224_671_290_700_398e-1,
        2.445_134_137_142_996,
        3.754_408_661_907_416,
    ];
    let plow = 0.02425;
    let x = if p < plow {
        let q = (-2.0 * p.ln()).sqrt();
        (((((C[0] * q + C[1]) * q + C[2]) * q + C[3]) * q + C[4]) * q + C[5])
            / ((((D[0] * q + D[1]) * q + D[2]) * q + D[3]) * q + 1.0)
    } else if p <= 1.0 - plow {
        let q = p - 0.5;
        let r = q * q;
        (((((A[0] * r + A[1]) * r + A[2]) * r + A[3]) * r + A[4]) * r + A[5]) * q
            / (((((B[0] * r + B[1]) * r + B[2]) * r + B[3]) * r + B[4]) * r + 1.0)
    } else {
        let q = (-2.0 * (1.0 - p).ln()).sqrt();
        -(((((C[0] * q + C[1]) * q + C[2]) * q + C[3]) * q + C[4]) * q + C[5])
            / ((((D[0] * q + D[1]) * q + D[2]) * q + D[3]) * q + 1.0)
    };
    // Halley step on f(x) = Φ(x) − p.
    let e = norm_cdf(x) - p;
    let u = e / norm_pdf(x);
    x - u / (1.0 + 0.5 * x * u)
}

/// Mills ratio R(x) = (1 − Φ(x))/φ(x) for x ≥ 0: the quotient of the two directly below 30,
/// Laplace's continued fraction R(x) = 1/(x + 1/(x + 2/(x + 3/(x + …)))) above, where both
/// underflow towards 0 but their ratio (≈ 1/x) does not.
pub fn mills_ratio(x: f64) -> f64 {
    if x < 30.0 {
        norm_cdf(-x) / norm_pdf(x)
    } else {
        let mut t = x;
        for k in (1..=40).rev() {
            t = x + k as f64 / t;
        }
        1.0 / t
    }
}

/// Standardised (mean, variance) of N(0, 1) truncated to [α, β] with 0 ≤ α < β ≤ ∞, written with
/// Mills ratios so that windows far in the tail (where Φ(β) − Φ(α) underflows) stay exact:
/// with e = φ(β)/φ(α) = exp(−(β − α)(β + α)/2) and D = R(α) − e·R(β) = Z/φ(α),
/// E = (1 − e)/D and Var = 1 + (α − β·e)/D − E².
fn upper_window_moments(al: f64, be: f64) -> (f64, f64) {
    let (e, r_be, be_e) = if be.is_finite() {
        let e = (-(be - al) * (be + al) / 2.0).exp();
        (e, mills_ratio(be), be * e)
    } else {
        (0.0, 0.0, 0.0)
    };
    let d = mills_ratio(al) - e * r_be;
    let m = (1.0 - e) / d;
    let v = 1.0 + (al - be_e) / d - m * m;
    (m, v.max(0.0))
}

/// (mean, variance) of N(μ, σ²) truncated to [a, b] (a ≤ b; a = b or σ = 0 give a point mass).
pub fn trunc_normal_moments(mean: f64, std: f64, a: f64, b: f64) -> (f64, f64) {
    if std == 0.0 || a == b {
        let m = if a == b { a } else { mean.clamp(a, b) };
        return (m, 0.0);
    }
    let (al, be) = ((a - mean) / std, (b - mean) / std);
    if al >= 0.0 {
        let (m, v) = upper_window_moments(al, be);
        return (mean + std * m, std * std * v);
    }
    if be <= 0.0 {
        // Mirror image of the window [−β, −α].
        let (m, v) = upper_window_moments(-be, -al);
        return (mean - std * m, std * std * v);
    }
    // The window holds 0: Z ≥ the mass of [0, min(|α|, β)], no cancellation worth worrying about.
    let z = norm_cdf(be) - norm_cdf(al);
    let (pa, pb) = (norm_pdf(al), norm_pdf(be));
    let r = (pa - pb) / z;
    let m = mean + std * r;
    let v = std * std * (1.0 + (al * pa - be * pb) / z - r * r);
    (m, v.max(0.0))
}

/// How [`TruncNormal`] draws its standardised value.
#[derive(Debug, Clone, Copy)]
enum Method {
    /// σ = 0 or a = b: a point mass.
    Point,
    /// Rejection from N(0, 1): the window holds at least a quarter of the mass.
    Reject,
    /// Inverse CDF on the side where Φ is a small number (never 1 − tiny).
    InverseCdf,
    /// The window lies beyond 30σ, where Φ underflows: Robert's (1995) rejection sampler for
    /// the tail [α, β] (exponential proposal, or uniform for windows narrow against 1/α).
    Tail {
        al: f64,
        be: f64,
        lambda: f64,
        uniform: bool,
    },
}

/// One draw of N(μ, σ²) truncated to [a, b] (PyTorch's `trunc_normal_`, absolute bounds):
/// values never leave [a, b] and nothing is piled on the bounds, however far in the tail the
/// window lies.
#[derive(Debug, Clone)]
pub struct TruncNormal {
    mean: f64,
    std: f64,
    a: f64,
    b: f64,
    /// Standardised window, mirrored so it lies mostly at negative values.
    lo: f64,
    hi: f64,
    flip: bool,
    method: Method,
}

impl TruncNormal {
    pub fn new(mean: f64, std: f64, a: f64, b: f64) -> TruncNormal {
        let (al, be) = if std > 0.0 {
            ((a - mean) / std, (b - mean) / std)
        } else {
            (f64::NEG_INFINITY, f64::INFINITY)
        };
        let flip = al > 0.0;
        let (lo, hi) = if flip { (-be, -al) } else { (al, be) };
        let method = if std == 0.0 || a == b {
            Method::Point
        } else if hi < -30.0 {
            let (al, be) = (-hi, -lo);
            Method::Tail {
                al,
                be,
                lambda: (al + (al * al + 4.0).sqrt()) / 2.0,
                uniform: (be - al) * al < 1.0,
            }
        } else if norm_cdf(hi) - norm_cdf(lo) >= 0.25 {
            Method::Reject
        } else {
            Method::InverseCdf
        };
        TruncNormal {
            mean,
            std,
            a,
            b,
            lo,
            hi,
            flip,
            method,
        }
    }

    pub fn sample<R: Rng + ?Sized>(&self, rng: &mut R) -> f64 {
        let z = match self.method {
            Method::Point => {
                return if self.a == self.b {
                    self.a
                } else {
                    self.mean.clamp(self.a, self.b)
                };
            }
            Method::Reject => loop {
                let z: f64 = StandardNormal.sample(rng);
                if z >= self.lo && z <= self.hi {
                    break z;
                }
            },
            Method::InverseCdf => {
                let (clo, chi) = (norm_cdf(self.lo), norm_cdf(self.hi));
                let u: f64 = rng.random();
                norm_ppf(clo + u * (chi - clo)).clamp(self.lo, self.hi)
            }
            Method::Tail {
                al,
                be,
                lambda,
                uniform,
            } => {
                let x = loop {
                    let (x, log_accept) = if uniform {
                        let x = al + (be - al) * rng.random::<f64>();
                        (x, -(x - al) * (x + al) / 2.0)
                    } else {
                        let e = -(1.0 - rng.random::<f64>()).ln();
                        let x = al + e / lambda;
                        if x > be {
                            continue;
                        }
                        (x, -(x - lambda) * (x - lambda) / 2.0)
                    };
                    let v: f64 = rng.random();
                    if v.ln() <= log_accept {
                        break x;
                    }
                };
                // The window was mirrored to [α, β] = [−hi, −lo].
                -x
            }
        };
        let z = if self.flip { -z } else { z };
        (self.mean + self.std * z).clamp(self.a, self.b)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn ppf_inverts_cdf() {
        for &p in &[
            1e-300,
            1e-12,
            1e-6,
            0.01,
            0.02425,
            0.3,
            0.5,
            0.77,
            0.975,
            1.0 - 1e-9,
        ] {
            let x = norm_ppf(p);
            let back = norm_cdf(x);
            assert!(((back - p) / p).abs() < 1e-12, "p {p}: x {x}, cdf {back}");
        }
        assert!((norm_ppf(0.975) - 1.959_963_984_540_054).abs() < 1e-13);
    }

    /// The Keras constant: std of N(0,1) truncated to [−2, 2] is 0.87962566103423978.
    #[test]
    fn keras_truncation_constant() {
        let (m, v) = trunc_normal_moments(0.0, 1.0, -2.0, 2.0);
        assert!(m.abs() < 1e-15);
        assert!(
            (v.sqrt() - crate::init::scheme::KERAS_TRUNC_STD).abs() < 1e-14,
            "{}",
            v.sqrt()
        );
    }

    /// Far-tail window: inverse CDF path, samples stay inside, sample mean matches the formula
    /// within 5 standard errors.
    #[test]
    fn tail_window_samples() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
        for &(a, b) in &[(3.0, 4.0), (-9.0, -8.0), (-2.0, 2.0), (0.5, 50.0)] {
            let t = TruncNormal::new(0.0, 1.0, a, b);
            let n = 200_000;
            let xs: Vec<f64> = (0..n).map(|_| t.sample(&mut rng)).collect();
            assert!(xs.iter().all(|&x| x >= a && x <= b));
            let (m, v) = trunc_normal_moments(0.0, 1.0, a, b);
            let mean = xs.iter().sum::<f64>() / n as f64;
            let se = (v / n as f64).sqrt();
            assert!(
                (mean - m).abs() < 5.0 * se,
                "[{a},{b}] mean {mean} vs {m} (se {se})"
            );
            let at_bound = xs.iter().filter(|&&x| x == a || x == b).count();
            assert!(at_bound <= 2, "{at_bound} values piled on the bounds");
        }
    }
}
