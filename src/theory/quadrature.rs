//! Expectations under the standard normal, E[h(Z)] = ∫ h(z)·N(z) dz with N(z) = e^{−z²/2}/√(2π).
//!
//! Two rules, chosen per integrand:
//!
//! - **Gauss–Hermite** (probabilists' form): E[h(Z)] ≈ Σᵢ wᵢ·h(zᵢ), exact for polynomials of
//!   degree < 2n. Nodes and weights are computed here by Newton's method on the orthonormal
//!   Hermite recurrence (Golub & Welsch 1969 give the same rule as eigenpairs of the Jacobi
//!   matrix; Newton from asymptotic starting points is the classic `gauher` of Press et al.,
//!   *Numerical Recipes* §4.6). Used when h is smooth: [`GH_NODES`] nodes, with the
//!   [`GH_CHECK_NODES`]-node rule as a built-in error estimate.
//! - **Split, adaptive Gauss–Kronrod** (10–21 points, QUADPACK's `qk21`) on
//!   [−[`Z_MAX`], [`Z_MAX`]] when h has kinks (ReLU, leaky ReLU, ELU, SELU at 0; softplus at
//!   PyTorch's threshold) or when Gauss–Hermite's own error estimate fails (a smooth φ seen at a
//!   large scale: tanh(s·z) has poles at z = ±iπ/(2s), so Gauss–Hermite converges only like
//!   e^{−c·√n/s}; 64 nodes give 1e-11 at s = 1 and 1e-5 at s = 2). The interval is split at every
//!   kink and feature point, cut into panels of length ≤ 2, and each panel is bisected until
//!   its error estimate (from the Kronrod–Gauss difference) is below tolerance. Gauss–Hermite restricted to a half-line would be wrong
//!   (its nodes are not a rule for ∫₀^∞), hence Kronrod panels on finite pieces.
//!
//! Truncating at |z| = 10 drops a normal tail mass of 1.5·10⁻²³; the integrands here grow at
//! most like z² (φ² of an asymptotically linear φ), so the dropped part is below 10⁻²⁰ relative.

use std::sync::OnceLock;

/// Nodes of the main Gauss–Hermite rule.
pub const GH_NODES: usize = 64;
/// Nodes of the check rule: when the two disagree by more than [`GH_ACCEPT`] (relative to
/// Σ wᵢ|h(zᵢ)|), the integrand is not resolved and the split Kronrod rule takes over.
pub const GH_CHECK_NODES: usize = 48;
/// Gauss–Hermite is not tried when a feature is narrower than this (in z): its nodes are
/// ~0.4 apart near the centre, so a narrower bump can fall between the nodes of both rules,
/// which then agree on a wrong value. For φ(m + s·z) with φ analytic in a strip of half-width
/// d this is s > d/2, where Gauss–Hermite converges too slowly anyway (tanh at s = 1: 64 nodes
/// err by 3e-9).
pub const GH_MIN_WIDTH: f64 = 2.0;
/// Acceptance threshold of the Gauss–Hermite self-check.
pub const GH_ACCEPT: f64 = 1e-12;
/// Half-width of the integration range in z.
pub const Z_MAX: f64 = 10.0;
/// Relative tolerance of the adaptive Gauss–Kronrod rule (against ∫|h|·N or the given scale).
pub const GK_TOL: f64 = 1e-13;
/// A panel is also accepted at this error relative to its own ∫|h|·N: the accuracy of the
/// integrands themselves (a nested integral is accurate to ~1e-13, and switches between
/// Gauss–Hermite and Kronrod from one outer node to the next), so that refining below their
/// noise is never attempted.
pub const GK_PANEL_REL: f64 = 1e-12;
/// Longest initial Kronrod panel (in z).
const PANEL: f64 = 2.0;
/// Maximum bisection depth of an adaptive panel.
const GK_MAX_DEPTH: u32 = 30;
/// Maximum number of bisections in one integral.
const GK_BUDGET: usize = 4000;

const INV_SQRT_2PI: f64 = 0.398_942_280_401_432_7;

/// A quadrature rule: nodes and weights.
#[derive(Debug, Clone)]
pub struct Rule {
    pub nodes: Vec<f64>,
    pub weights: Vec<f64>,
}

/// The n-point Gauss–Hermite rule for E[h(Z)], Z ~ N(0, 1): Σ wᵢ = 1, Σ wᵢ zᵢ² = 1, and the rule
/// is exact for polynomials of degree ≤ 2n − 1.
///
/// Newton's method on the orthonormal Hermite functions h̃ₙ (recurrence
/// h̃ⱼ = x·√(2/j)·h̃ⱼ₋₁ − √((j−1)/j)·h̃ⱼ₋₂, no overflow for any n) gives the roots xᵢ of Hₙ and the
/// weights 2/h̃′ₙ(xᵢ)² of ∫e^{−x²}f(x)dx; the change of variable z = √2·x, weight/√π gives the
/// probabilists' rule.
pub fn gauss_hermite(n: usize) -> Rule {
    assert!(n >= 1);
    let pim4 = std::f64::consts::PI.powf(-0.25);
    let nf = n as f64;
    let m = n.div_ceil(2);
    let mut x = vec![0.0; n];
    let mut w = vec![0.0; n];
    let mut z = 0.0f64;
    for i in 0..m {
        z = match i {
            0 => (2.0 * nf + 1.0).sqrt() - 1.855_75 * (2.0 * nf + 1.0).powf(-0.166_67),
            1 => z - 1.14 * nf.powf(0.426) / z,
            2 => 1.86 * z - 0.86 * x[0],
            3 => 1.91 * z - 0.91 * x[1],
            _ => 2.0 * z - x[i - 2],
        };
        let mut pp = 0.0;
        for _ in 0..100 {
            let (mut p1, mut p2) = (pim4, 0.0f64);
            for j in 1..=n {
                let p3 = p2;
                p2 = p1;
                let jf = j as f64;
                p1 = z * (2.0 / jf).sqrt() * p2 - ((jf - 1.0) / jf).sqrt() * p3;
            }
            pp = (2.0 * nf).sqrt() * p2;
            let z1 = z;
            z = z1 - p1 / pp;
            if (z - z1).abs() <= 1e-15 * z.abs().max(1.0) {
                break;
            }
        }
        x[i] = z;
        x[n - 1 - i] = -z;
        w[i] = 2.0 / (pp * pp);
        w[n - 1 - i] = w[i];
    }
    if n % 2 == 1 {
        x[m - 1] = 0.0;
    }
    let inv_sqrt_pi = 1.0 / std::f64::consts::PI.sqrt();
    Rule {
        nodes: x.iter().map(|v| std::f64::consts::SQRT_2 * v).collect(),
        weights: w.iter().map(|v| v * inv_sqrt_pi).collect(),
    }
}

fn gh_main() -> &'static Rule {
    static R: OnceLock<Rule> = OnceLock::new();
    R.get_or_init(|| gauss_hermite(GH_NODES))
}

fn gh_check() -> &'static Rule {
    static R: OnceLock<Rule> = OnceLock::new();
    R.get_or_init(|| gauss_hermite(GH_CHECK_NODES))
}

/// Σ wᵢ·h(zᵢ) and Σ wᵢ·|h(zᵢ)| with a Gauss–Hermite rule, over the nodes with |zᵢ| ≤ Z_MAX
/// (the others carry weights below 1e-21: skipping them keeps both rules on the same range
/// and never evaluates h where it may be costly or inaccurate and irrelevant).
fn apply_gh(rule: &Rule, h: &dyn Fn(f64) -> f64) -> (f64, f64) {
    let (mut s, mut a) = (0.0, 0.0);
    for (&z, &w) in rule.nodes.iter().zip(&rule.weights) {
        if z.abs() > Z_MAX {
            continue;
        }
        let v = w * h(z);
        s += v;
        a += v.abs();
    }
    (s, a)
}

/// Gauss–Kronrod 10–21 abscissae on [−1, 1] (QUADPACK `qk21`, Piessens et al. 1983): the
/// non-negative half; odd indices are the 10-point Gauss nodes.
const XGK: [f64; 11] = [
    0.995_657_163_025_808_1,
    0.973_906_528_517_171_7,
    0.930_157_491_355_708_2,
    0.865_063_366_688_984_5,
    0.780_817_726_586_416_9,
    0.679_409_568_299_024_4,
    0.562_757_134_668_604_7,
    0.433_395_394_129_247_2,
    0.294_392_862_701_460_2,
    0.148_874_338_981_631_22,
    0.0,
];
/// Kronrod weights for [`XGK`].
const WGK: [f64; 11] = [
    0.011_694_638_867_371_874,
    0.032_558_162_307_964_725,
    0.054_755_896_574_351_995,
    0.075_039_674_810_919_96,
    0.093_125_454_583_697_6,
    0.109_387_158_802_297_64,
    0.123_491_976_262_065_84,
    0.134_709_217_311_473_34,
    0.142_775_938_577_060_09,
    0.147_739_104_901_338_49,
    0.149_445_554_002_916_9,
];
/// 10-point Gauss weights for XGK[1], XGK[3], …, XGK[9].
const WG: [f64; 5] = [
    0.066_671_344_308_688_14,
    0.149_451_349_150_580_6,
    0.219_086_362_515_982_04,
    0.269_266_719_309_996_35,
    0.295_524_224_714_752_87,
];

/// ∫ₐᵇ h(z)·N(z) dz by the 21-point Kronrod rule, the 10-point Gauss rule on the same nodes
/// (their difference is the error estimate), and ∫ₐᵇ |h(z)|·N(z) dz.
fn kronrod(h: &dyn Fn(f64) -> f64, a: f64, b: f64) -> (f64, f64, f64) {
    let (c, d) = (0.5 * (a + b), 0.5 * (b - a));
    let g = |z: f64| h(z) * INV_SQRT_2PI * (-0.5 * z * z).exp();
    let fc = g(c);
    let (mut k, mut gs, mut abs) = (WGK[10] * fc, 0.0, WGK[10] * fc.abs());
    for j in 0..10 {
        let x = d * XGK[j];
        let (f1, f2) = (g(c - x), g(c + x));
        k += WGK[j] * (f1 + f2);
        abs += WGK[j] * (f1.abs() + f2.abs());
        if j % 2 == 1 {
            gs += WG[j / 2] * (f1 + f2);
        }
    }
    (k * d, gs * d, abs * d)
}

/// Accept the panel [a, b] with its Kronrod result `first` = (K21, G10, ∫|h|·N) when the error
/// estimate is below `tol` or below [`GK_PANEL_REL`]·∫|h|·N on the panel, whichever is larger;
/// otherwise bisect. `budget` caps the number of bisections of one integral (a guard against
/// pathological integrands).
fn adapt(
    h: &dyn Fn(f64) -> f64,
    a: f64,
    b: f64,
    first: (f64, f64, f64),
    tol: f64,
    depth: u32,
    budget: &mut usize,
) -> f64 {
    let (k, g, abs) = first;
    // QUADPACK's estimate of the Kronrod result's error from |K21 − G10| (which is G10's error).
    let err = if abs > 0.0 {
        abs * (200.0 * (k - g).abs() / abs).powf(1.5).min(1.0)
    } else {
        0.0
    };
    let floor = GK_PANEL_REL * abs;
    if depth == 0 || *budget == 0 || err <= tol.max(floor) || !k.is_finite() {
        return k;
    }
    *budget -= 1;
    let m = 0.5 * (a + b);
    let (l, r) = (kronrod(h, a, m), kronrod(h, m, b));
    adapt(h, a, m, l, 0.5 * tol, depth - 1, budget)
        + adapt(h, m, b, r, 0.5 * tol, depth - 1, budget)
}

/// A point near which h varies on the length scale `width` (both in z): e.g. φ(m + s·z) near
/// z = −m/s with width ℓ/s, ℓ the activation's own scale.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Feature {
    pub at: f64,
    pub width: f64,
}

impl Feature {
    /// Breaks graded geometrically around the feature — at its centre and at ±width·{½, 2, 8, 32}
    /// — so that the panels next to it are no wider than the feature itself and a narrow
    /// feature cannot fall between the nodes of a wide panel.
    fn breaks(&self) -> impl Iterator<Item = f64> + '_ {
        std::iter::once(self.at).chain(
            [0.5, 2.0, 8.0, 32.0]
                .into_iter()
                .flat_map(move |k| [self.at - k * self.width, self.at + k * self.width]),
        )
    }
}

/// E[h(Z)] by the split adaptive Gauss–Kronrod rule: [−Z_MAX, Z_MAX] is cut at the `kinks`,
/// around the `features` and into panels of length ≤ [`PANEL`], and each panel is bisected until
/// converged to [`GK_TOL`] relative to `scale` (a known bound on the size of the terms, e.g.
/// E[φ²] for E[φ(u₁)φ(u₂)]) or to ∫|h|·N, whichever is larger.
pub fn split_expect(
    h: &dyn Fn(f64) -> f64,
    kinks: &[f64],
    features: &[Feature],
    scale: f64,
) -> f64 {
    let mut cuts: Vec<f64> = vec![-Z_MAX, Z_MAX];
    cuts.extend(kinks.iter().copied());
    cuts.extend(
        features
            .iter()
            .filter(|f| f.width > 0.0)
            .flat_map(|f| f.breaks()),
    );
    cuts.retain(|b| b.is_finite() && b.abs() <= Z_MAX);
    cuts.sort_by(|a, b| a.total_cmp(b));
    cuts.dedup_by(|a, b| (*a - *b).abs() <= 4.0 * f64::EPSILON * a.abs().max(b.abs()));
    let mut panels = Vec::new();
    for pair in cuts.windows(2) {
        let (a, b) = (pair[0], pair[1]);
        let k = (((b - a) / PANEL).ceil() as usize).max(1);
        for j in 0..k {
            let lo = a + (b - a) * j as f64 / k as f64;
            let hi = if j + 1 == k {
                b
            } else {
                a + (b - a) * (j + 1) as f64 / k as f64
            };
            panels.push((lo, hi));
        }
    }
    let first: Vec<(f64, f64, f64)> = panels.iter().map(|&(a, b)| kronrod(h, a, b)).collect();
    let abs: f64 = first.iter().map(|f| f.2).sum();
    let tol = GK_TOL * abs.max(scale) + f64::MIN_POSITIVE;
    let total_len = 2.0 * Z_MAX;
    let mut budget = GK_BUDGET;
    panels
        .iter()
        .zip(first)
        .map(|(&(a, b), f)| {
            adapt(
                h,
                a,
                b,
                f,
                tol * (b - a) / total_len,
                GK_MAX_DEPTH,
                &mut budget,
            )
        })
        .sum()
}

/// E[h(Z)], Z ~ N(0, 1), for h smooth except at the z-values `kinks` (where h or h′ jumps),
/// and varying fastest around `features`. Without kinks in range and features no narrower than
/// [`GH_MIN_WIDTH`], Gauss–Hermite with its self-check; otherwise, or when the check fails, the
/// split adaptive Kronrod rule. `scale` (≥ 0) is a known bound on the size of h's terms that
/// sets the absolute accuracy when h itself is small through cancellation (0: use ∫|h|·N alone).
pub fn normal_expect(
    h: &dyn Fn(f64) -> f64,
    kinks: &[f64],
    features: &[Feature],
    scale: f64,
) -> f64 {
    let kinked = kinks.iter().any(|k| k.is_finite() && k.abs() < Z_MAX);
    let narrow = features
        .iter()
        .any(|f| f.width < GH_MIN_WIDTH && f.at.abs() < Z_MAX);
    if !kinked && !narrow {
        let (fine, abs) = apply_gh(gh_main(), h);
        let (coarse, _) = apply_gh(gh_check(), h);
        if (fine - coarse).abs() <= GH_ACCEPT * abs.max(scale) && fine.is_finite() {
            return fine;
        }
    }
    split_expect(h, kinks, features, scale)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// E[Z^{2k}] = (2k − 1)!!: Gauss–Hermite with n nodes is exact up to degree 2n − 1.
    #[test]
    fn theory_gauss_hermite_moments_exact() {
        for n in [1, 2, 5, 20, GH_CHECK_NODES, GH_NODES] {
            let r = gauss_hermite(n);
            let mut dfact = 1.0;
            for k in 0..n.min(30) {
                if k > 0 {
                    dfact *= (2 * k - 1) as f64;
                }
                if 2 * k > 2 * n - 1 {
                    break;
                }
                let m: f64 = r
                    .nodes
                    .iter()
                    .zip(&r.weights)
                    .map(|(z, w)| w * z.powi(2 * k as i32))
                    .sum();
                assert!(
                    (m - dfact).abs() <= 1e-12 * dfact,
                    "n={n} k={k}: {m} vs {dfact}"
                );
                let odd: f64 = r
                    .nodes
                    .iter()
                    .zip(&r.weights)
                    .map(|(z, w)| w * z.powi(2 * k as i32 + 1))
                    .sum();
                assert!(odd.abs() <= 1e-12 * dfact.max(1.0), "n={n} odd {k}: {odd}");
            }
        }
    }

    /// The Kronrod rule is exact to degree 31 and its Gauss subset to degree 19 (checked on
    /// the weight-free rule: Σ w·x^k = ∫₋₁¹ x^k dx).
    #[test]
    fn theory_gauss_kronrod_exact() {
        let rule = |k: usize, gauss: bool| -> f64 {
            let mut s = if gauss {
                0.0
            } else {
                WGK[10] * if k == 0 { 1.0 } else { 0.0 }
            };
            for j in 0..10 {
                if gauss && j % 2 == 0 {
                    continue;
                }
                let w = if gauss { WG[j / 2] } else { WGK[j] };
                s += w * (XGK[j].powi(k as i32) + (-XGK[j]).powi(k as i32));
            }
            s
        };
        for k in 0..=31 {
            let want = if k % 2 == 0 {
                2.0 / (k as f64 + 1.0)
            } else {
                0.0
            };
            assert!(
                (rule(k, false) - want).abs() < 1e-15,
                "K21 degree {k}: {}",
                rule(k, false) - want
            );
            if k <= 19 {
                assert!(
                    (rule(k, true) - want).abs() < 1e-15,
                    "G10 degree {k}: {}",
                    rule(k, true) - want
                );
            }
        }
    }

    /// E[1{Z > a}] = Φ(−a) and E[|Z|] = √(2/π): the split rule handles the step and the kink.
    #[test]
    fn theory_split_rule_kinks() {
        use crate::init::trunc::norm_cdf;
        for a in [-3.0, -0.3, 0.0, 1.7] {
            let p = normal_expect(&|z| if z > a { 1.0 } else { 0.0 }, &[a], &[], 0.0);
            assert!((p - norm_cdf(-a)).abs() < 1e-14, "{a}: {p}");
        }
        let m = normal_expect(&|z: f64| z.abs(), &[0.0], &[], 0.0);
        assert!(
            (m - (2.0 / std::f64::consts::PI).sqrt()).abs() < 1e-14,
            "{m}"
        );
    }
}
