//! Gaussian expectations of an activation: for y = m + s·z, z ~ N(0, 1),
//! E[φ(y)], E[φ(y)²], E[φ′(y)], E[φ′(y)²], the slope d/dq E[φ(m + √q·z)²], and the
//! two-point expectations E[φ(u₁)φ(u₂)], E[φ′(u₁)φ′(u₂)] of a correlated pair
//! u₁ = m + √q·z₁, u₂ = m + √q·(c·z₁ + √(1 − c²)·z₂) (Poole et al. 2016, Eq. 4–5).
//!
//! **Closed forms** for the activations that are linear on y > 0 and either linear or
//! exponential on y < 0 — `linear`, `relu`, `leaky_relu`, `elu`, `selu` — from the truncated
//! normal moments (a = m/s, N = standard normal density, Φ its CDF):
//!   P(y > 0) = Φ(a), E[y·1{y>0}] = m·Φ(a) + s·N(a), E[y²·1{y>0}] = (m² + s²)·Φ(a) + m·s·N(a),
//!   and the mirror images on y < 0; E[e^{k·y}·1{y<0}] = e^{k·m + k²s²/2}·Φ(−a − k·s)
//!   (evaluated in log space, so e^{k²s²/2} never overflows against a vanishing Φ).
//! For ReLU this gives He et al. 2015's E[x²] = ½·Var[y] (Eq. 8) and E[φ′²] = ½.
//!
//! **Quadrature** ([`super::quadrature`]) for every other activation, and for the outer
//! integral of the two-point expectations (the inner one is a one-point expectation of a
//! Gaussian with mean m + √q·c·z₁ and std √q·√(1 − c²), closed form where available).
//!
//! The slope uses Stein's lemma, d/dq E[g(m + √q·z)] = E[z·g′(m + √q·z)]/(2√q) with g = φ²,
//! i.e. E[z·φ·φ′]/√q — equal to E[φ′² + φ·φ″] (Schoenholz et al. 2017, Eq. 6) but without φ″,
//! which for ELU/SELU/ReLU would hold a delta at the kink (multiplied by φ(0) = 0).

use super::quadrature::{normal_expect, Feature};
use crate::activation::{Activation, SELU_ALPHA, SELU_LAMBDA, SOFTPLUS_THRESHOLD};
use crate::init::trunc::{norm_cdf, norm_pdf};

/// A one-point quantity E[F(y)].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Moment {
    /// E[φ(y)]
    Phi,
    /// E[φ(y)²]
    Phi2,
    /// E[φ′(y)]
    Dphi,
    /// E[φ′(y)²]
    Dphi2,
}

/// The negative branch of a piecewise activation (positive branch: φ(y) = λ·y).
#[derive(Debug, Clone, Copy)]
enum Neg {
    /// φ(y) = λ·a·y.
    Linear(f64),
    /// φ(y) = c·(eʸ − 1), φ′(y) = c·eʸ (c = λα).
    Exp(f64),
}

/// λ and the negative branch, for activations with closed forms.
fn piecewise(act: Activation) -> Option<(f64, Neg)> {
    match act {
        Activation::Linear => Some((1.0, Neg::Linear(1.0))),
        Activation::Relu => Some((1.0, Neg::Linear(0.0))),
        Activation::LeakyRelu { negative_slope } => Some((1.0, Neg::Linear(negative_slope))),
        Activation::Elu { alpha } => Some((1.0, Neg::Exp(alpha))),
        Activation::Selu => Some((SELU_LAMBDA, Neg::Exp(SELU_LAMBDA * SELU_ALPHA))),
        _ => None,
    }
}

/// x-values where φ or φ′ is not smooth.
pub fn kinks(act: Activation) -> Vec<f64> {
    match act {
        Activation::Relu
        | Activation::LeakyRelu { .. }
        | Activation::Elu { .. }
        | Activation::Selu => vec![0.0],
        // PyTorch switches from log1p(e^{βx})/β to x at βx = 20 (a jump of ~1e-9/β).
        Activation::Softplus { beta } => vec![SOFTPLUS_THRESHOLD / beta],
        _ => Vec::new(),
    }
}

/// (lim_{x→+∞} φ′(x), lim_{x→−∞} φ′(x)): the asymptotic slopes, which set the growth of
/// E[φ(√q·z)²] ~ q·(a₊² + a₋²)/2 at large q.
pub fn asymptotic_slopes(act: Activation) -> (f64, f64) {
    match act {
        Activation::Linear => (1.0, 1.0),
        Activation::LeakyRelu { negative_slope } => (1.0, negative_slope),
        Activation::Selu => (SELU_LAMBDA, 0.0),
        Activation::Relu
        | Activation::Elu { .. }
        | Activation::Gelu { .. }
        | Activation::Silu
        | Activation::Softplus { .. } => (1.0, 0.0),
        Activation::Tanh | Activation::Sigmoid => (0.0, 0.0),
    }
}

/// ln Φ(t), accurate far in the lower tail (asymptotic series below t = −30).
pub fn ln_norm_cdf(t: f64) -> f64 {
    if t > -30.0 {
        norm_cdf(t).ln()
    } else {
        let u = 1.0 / (t * t);
        let series = 1.0 - u * (1.0 - 3.0 * u * (1.0 - 5.0 * u * (1.0 - 7.0 * u)));
        -0.5 * t * t - (-t).ln() - 0.5 * (2.0 * std::f64::consts::PI).ln() + series.ln()
    }
}

/// E[e^{k·y}·1{y<0}] for y ~ N(m, s²), s > 0: e^{k·m + k²s²/2}·Φ(−m/s − k·s).
fn exp_neg(m: f64, s: f64, k: f64) -> f64 {
    (k * m + 0.5 * k * k * s * s + ln_norm_cdf(-m / s - k * s)).exp()
}

/// Half-line moments of y ~ N(m, s²), s > 0.
struct Halves {
    p_pos: f64,
    p_neg: f64,
    m1_pos: f64,
    m1_neg: f64,
    m2_pos: f64,
    m2_neg: f64,
}

fn halves(m: f64, s: f64) -> Halves {
    let a = m / s;
    let (p_pos, p_neg, pdf) = (norm_cdf(a), norm_cdf(-a), norm_pdf(a));
    Halves {
        p_pos,
        p_neg,
        m1_pos: m * p_pos + s * pdf,
        m1_neg: m * p_neg - s * pdf,
        m2_pos: (m * m + s * s) * p_pos + m * s * pdf,
        m2_neg: (m * m + s * s) * p_neg - m * s * pdf,
    }
}

/// Closed form of E[F(y)] for a piecewise activation, s > 0.
fn closed_form(lam: f64, neg: Neg, what: Moment, m: f64, s: f64) -> f64 {
    let h = halves(m, s);
    match (what, neg) {
        (Moment::Phi, Neg::Linear(a)) => lam * (h.m1_pos + a * h.m1_neg),
        (Moment::Phi, Neg::Exp(c)) => lam * h.m1_pos + c * (exp_neg(m, s, 1.0) - h.p_neg),
        (Moment::Phi2, Neg::Linear(a)) => lam * lam * (h.m2_pos + a * a * h.m2_neg),
        (Moment::Phi2, Neg::Exp(c)) => {
            lam * lam * h.m2_pos + c * c * (exp_neg(m, s, 2.0) - 2.0 * exp_neg(m, s, 1.0) + h.p_neg)
        }
        (Moment::Dphi, Neg::Linear(a)) => lam * (h.p_pos + a * h.p_neg),
        (Moment::Dphi, Neg::Exp(c)) => lam * h.p_pos + c * exp_neg(m, s, 1.0),
        (Moment::Dphi2, Neg::Linear(a)) => lam * lam * (h.p_pos + a * a * h.p_neg),
        (Moment::Dphi2, Neg::Exp(c)) => lam * lam * h.p_pos + c * c * exp_neg(m, s, 2.0),
    }
}

/// The s → 0⁺ limit of E[F(m + s·z)]: F(m), or at a kink the mean of the one-sided limits
/// (half the mass on each side), e.g. E[relu′(√q·z)²] → ½, not PyTorch's relu′(0)² = 0.
fn at_point(act: Activation, what: Moment, m: f64) -> f64 {
    let f = integrand(act, what);
    if kinks(act).contains(&m) {
        let d = if m == 0.0 {
            f64::MIN_POSITIVE
        } else {
            m.abs() * f64::EPSILON
        };
        0.5 * (f(m - d) + f(m + d))
    } else {
        f(m)
    }
}

fn integrand(act: Activation, what: Moment) -> impl Fn(f64) -> f64 {
    move |y: f64| match what {
        Moment::Phi => act.f(y),
        Moment::Phi2 => act.f(y).powi(2),
        Moment::Dphi => act.df(y),
        Moment::Dphi2 => act.df(y).powi(2),
    }
}

/// z-locations of the kinks of φ(m + s·z).
fn z_kinks(act: Activation, m: f64, s: f64) -> Vec<f64> {
    kinks(act).into_iter().map(|k| (k - m) / s).collect()
}

/// E[F(m + s·z)] by quadrature only (no closed forms): the reference path, also used for
/// every activation without a closed form.
pub fn expect_numeric(act: Activation, what: Moment, m: f64, s: f64) -> f64 {
    numeric_scaled(act, what, m, s, 0.0)
}

/// [`expect_numeric`] to an absolute accuracy of ~1e-12·`scale` when that is looser than
/// relative accuracy (an inner integral whose value is tiny where the outer weight is tiny).
fn numeric_scaled(act: Activation, what: Moment, m: f64, s: f64, scale: f64) -> f64 {
    let f = integrand(act, what);
    if s == 0.0 {
        return at_point(act, what, m);
    }
    let h = |z: f64| f(m + s * z);
    normal_expect(&h, &z_kinks(act, m, s), &[centre(act, m, s)], scale)
}

/// φ(m + s·z) varies fastest around z = −m/s (every activation here bends at x = 0), on the
/// z-scale ℓ/s with ℓ = [`strip`] (φ's own length scale).
fn centre(act: Activation, m: f64, s: f64) -> Feature {
    Feature {
        at: -m / s,
        width: strip(act) / s,
    }
}

/// φ's own length scale: the half-width d of the strip |Im x| < d around the real axis where φ
/// is analytic (tanh: poles at ±iπ/2; sigmoid, SiLU: ±iπ; softplus: ±iπ/β; GELU is entire but
/// grows like e^{(Im x)²/2}, which costs Gauss–Hermite as much as poles at ~±iπ/2; the
/// piecewise ones bend on the scale ~1 of eˣ). Gauss–Hermite on φ(m + s·z) converges like
/// e^{−c·(d/s)·√n}; with 64 nodes it reaches 1e-12 for d/s ≳ 2 (see
/// [`super::quadrature::GH_MIN_WIDTH`]).
fn strip(act: Activation) -> f64 {
    use std::f64::consts::{FRAC_PI_2, PI};
    match act {
        Activation::Sigmoid | Activation::Silu => PI,
        Activation::Softplus { beta } => PI / beta,
        _ => FRAC_PI_2,
    }
}

/// E[F(y)] for y ~ N(m, s²) (s ≥ 0): closed form where available, else quadrature.
pub fn expect(act: Activation, what: Moment, m: f64, s: f64) -> f64 {
    expect_scaled(act, what, m, s, 0.0)
}

fn expect_scaled(act: Activation, what: Moment, m: f64, s: f64, scale: f64) -> f64 {
    if s == 0.0 {
        return at_point(act, what, m);
    }
    match piecewise(act) {
        Some((lam, neg)) => closed_form(lam, neg, what, m, s),
        None => numeric_scaled(act, what, m, s, scale),
    }
}

/// Below this std the slope is evaluated at it instead (E[z·φ·φ′]/s loses digits as s → 0;
/// the slope is smooth in q, so the error is O(q) = 1e-12 relative).
const SLOPE_MIN_SD: f64 = 1e-6;

/// d/dq E[φ(m + √q·z)²] at q = s²: by Stein's lemma E[z·φ(y)·φ′(y)]/s (= E[φ′² + φφ″]).
/// Closed form for the piecewise activations: E[φ′²] plus, on an exponential branch,
/// c²·E[(e^{2y} − eʸ)·1{y<0}] (φ·φ″ there), the kink contributing nothing since φ(0) = 0.
pub fn length_slope(act: Activation, m: f64, s: f64) -> f64 {
    let s = s.max(SLOPE_MIN_SD);
    match piecewise(act) {
        Some((lam, neg)) => {
            let base = closed_form(lam, neg, Moment::Dphi2, m, s);
            match neg {
                Neg::Linear(_) => base,
                Neg::Exp(c) => base + c * c * (exp_neg(m, s, 2.0) - exp_neg(m, s, 1.0)),
            }
        }
        None => {
            let h = |z: f64| {
                let y = m + s * z;
                z * act.f(y) * act.df(y)
            };
            normal_expect(&h, &z_kinks(act, m, s), &[centre(act, m, s)], 0.0) / s
        }
    }
}

/// A two-point quantity E[F(u₁)·F(u₂)].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pair {
    /// E[φ(u₁)φ(u₂)]
    PhiPhi,
    /// E[φ′(u₁)φ′(u₂)]
    DphiDphi,
}

/// E[F(u₁)F(u₂)] with u₁ = m + √q·z₁, u₂ = m + √q·(c·z₁ + √(1 − c²)·z₂), c ∈ [−1, 1]:
/// an outer quadrature over z₁ of F(u₁)·E_{z₂}[F(u₂)], the inner expectation in closed form
/// where available.
pub fn expect_pair(act: Activation, what: Pair, m: f64, q: f64, c: f64) -> f64 {
    let c = c.clamp(-1.0, 1.0);
    let one = match what {
        Pair::PhiPhi => Moment::Phi,
        Pair::DphiDphi => Moment::Dphi,
    };
    let f = integrand(act, one);
    let s = q.max(0.0).sqrt();
    if s == 0.0 {
        if kinks(act).contains(&m) {
            // The q → 0⁺ limit at a kink: the pair at a vanishing (but non-zero) scale.
            return expect_pair(act, what, m, 1e-200, c);
        }
        return f(m).powi(2);
    }
    let s_in = s * (1.0 - c * c).max(0.0).sqrt();
    // |E[F(u₁)F(u₂)]| ≤ E[F(u₁)²] (Cauchy–Schwarz; u₁, u₂ have the same law): the scale of
    // the result when it is small by cancellation (e.g. near c = 0 for a zero-mean φ), and
    // its square root the scale of the inner expectation.
    let bound = expect(
        act,
        if one == Moment::Phi {
            Moment::Phi2
        } else {
            Moment::Dphi2
        },
        m,
        s,
    );
    let h = |z1: f64| {
        let outer = f(m + s * z1);
        if outer == 0.0 {
            return 0.0;
        }
        outer * expect_scaled(act, one, m + s * c * z1, s_in, bound.sqrt())
    };
    let mut zk = z_kinks(act, m, s);
    let mut features = vec![centre(act, m, s)];
    if c != 0.0 {
        // E_{z₂}[F(u₂)] is F smoothed by s_in and bends where its mean m + s·c·z₁ crosses
        // φ's centre or a kink: around z₁ = (x − m)/(s·c), on the scale (ℓ or s_in)/(s·|c|).
        let sc = s * c.abs();
        let ell = strip(act);
        features.push(Feature {
            at: -m / (s * c),
            width: (ell * ell + s_in * s_in).sqrt() / sc,
        });
        for &k in &kinks(act) {
            let at = (k - m) / (s * c);
            if s_in == 0.0 {
                zk.push(at);
            } else {
                features.push(Feature {
                    at,
                    width: s_in / sc,
                });
            }
        }
    }
    normal_expect(&h, &zk, &features, bound)
}

#[cfg(test)]
mod tests {
    use super::*;

    const PIECEWISE: [Activation; 6] = [
        Activation::Linear,
        Activation::Relu,
        Activation::LeakyRelu {
            negative_slope: 0.2,
        },
        Activation::Elu { alpha: 1.0 },
        Activation::Elu { alpha: 1.7 },
        Activation::Selu,
    ];

    /// The closed forms against the split quadrature, at several means and scales.
    #[test]
    fn theory_closed_forms_match_quadrature() {
        for act in PIECEWISE {
            for (m, s) in [
                (0.0, 1.0),
                (0.0, 0.1),
                (0.3, 2.0),
                (-1.5, 0.7),
                (2.0, 30.0),
                (-0.2, 1e-3),
            ] {
                for what in [Moment::Phi, Moment::Phi2, Moment::Dphi, Moment::Dphi2] {
                    let a = expect(act, what, m, s);
                    let b = expect_numeric(act, what, m, s);
                    let scale = expect_numeric(act, Moment::Phi2, m, s).sqrt().max(1.0);
                    assert!(
                        (a - b).abs()
                            <= 1e-12 * scale.powi(if matches!(what, Moment::Phi2) { 2 } else { 1 }),
                        "{act:?} {what:?} m={m} s={s}: closed {a} vs quadrature {b}"
                    );
                }
            }
        }
    }

    /// The slope d/dq E[φ²] against a central difference in q of the closed form.
    #[test]
    fn theory_length_slope_is_the_derivative() {
        let acts = [
            Activation::Relu,
            Activation::Elu { alpha: 1.7 },
            Activation::Selu,
            Activation::Tanh,
            Activation::Gelu { tanh_approx: false },
            Activation::Silu,
            Activation::Sigmoid,
            Activation::Softplus { beta: 1.0 },
        ];
        for act in acts {
            for (m, q) in [(0.0, 1.0), (0.4, 0.3), (-0.7, 3.0)] {
                let h = 1e-4 * q;
                let e = |q: f64| expect(act, Moment::Phi2, m, q.sqrt());
                let fd = (e(q + h) - e(q - h)) / (2.0 * h);
                let an = length_slope(act, m, q.sqrt());
                assert!(
                    (fd - an).abs() < 1e-7 * (1.0 + an.abs()),
                    "{act:?} m={m} q={q}: fd {fd} vs {an}"
                );
            }
        }
    }

    /// ReLU's arc-cosine kernel (Cho & Saul 2009): E[φ(u₁)φ(u₂)] = q/(2π)·(√(1−c²) + (π − θ)c)
    /// and E[φ′(u₁)φ′(u₂)] = (π − θ)/(2π), θ = arccos c.
    #[test]
    fn theory_pair_matches_arc_cosine_kernel() {
        let pi = std::f64::consts::PI;
        for q in [0.5, 2.0] {
            for c in [-1.0, -0.6, 0.0, 0.3, 0.9, 0.999, 1.0] {
                let th = f64::acos(c);
                let k1 = q / (2.0 * pi) * ((1.0 - c * c).sqrt() + (pi - th) * c);
                let k0 = (pi - th) / (2.0 * pi);
                let a = expect_pair(Activation::Relu, Pair::PhiPhi, 0.0, q, c);
                let b = expect_pair(Activation::Relu, Pair::DphiDphi, 0.0, q, c);
                assert!((a - k1).abs() < 1e-12, "q={q} c={c}: {a} vs {k1}");
                assert!((b - k0).abs() < 1e-12, "q={q} c={c}: {b} vs {k0}");
            }
        }
    }

    /// At c = 1 the pair collapses to the one-point moments; at c = 0 it factorises.
    #[test]
    fn theory_pair_limits() {
        for act in [
            Activation::Tanh,
            Activation::Selu,
            Activation::Gelu { tanh_approx: true },
            Activation::Sigmoid,
        ] {
            for (m, q) in [(0.0, 1.0), (0.3, 2.5)] {
                let s = f64::sqrt(q);
                let one = expect_pair(act, Pair::PhiPhi, m, q, 1.0);
                assert!(
                    (one - expect(act, Moment::Phi2, m, s)).abs() < 1e-11,
                    "{act:?}"
                );
                let one = expect_pair(act, Pair::DphiDphi, m, q, 1.0);
                assert!(
                    (one - expect(act, Moment::Dphi2, m, s)).abs() < 1e-11,
                    "{act:?}"
                );
                let zero = expect_pair(act, Pair::PhiPhi, m, q, 0.0);
                assert!(
                    (zero - expect(act, Moment::Phi, m, s).powi(2)).abs() < 1e-11,
                    "{act:?}"
                );
            }
        }
    }

    #[test]
    fn theory_ln_norm_cdf_tail() {
        for t in [-29.9, -30.1, -37.0] {
            let direct = norm_cdf(t).ln();
            assert!((ln_norm_cdf(t) - direct).abs() < 1e-9 * direct.abs(), "{t}");
        }
        assert!(ln_norm_cdf(-1000.0).is_finite());
    }
}
