//! Mean-field signal propagation (Poole et al. 2016; Schoenholz et al. 2017) for any activation.
//!
//! A deep network with i.i.d. weights of variance σ_w²/n and biases of mean μ and variance σ_b²
//! carries, at infinite width, a Gaussian pre-activation whose variance q_l obeys the
//! **length map** (Poole et al. 2016, Eq. 3; Schoenholz et al. 2017, Eq. 3)
//!   q_l = σ_w²·E_z[φ(μ + √q_{l−1}·z)²] + σ_b²,
//! started here from the first layer, q_1 = σ_w²·E[x_0²] + σ_b². Its limit is the fixed point q*.
//! Two inputs with pre-activation correlation c follow the **correlation map** (Eq. 4)
//!   c_l = (σ_w²·E[φ(u₁)φ(u₂)] + σ_b²)/q*,  u₁ = μ + √q*·z₁, u₂ = μ + √q*·(c_{l−1}·z₁ + √(1−c_{l−1}²)·z₂),
//! with fixed point c* (c* = 1 always is one). Its slope at c = 1 is (Eq. 5)
//!   χ1 = σ_w²·E_z[φ′(μ + √q*·z)²],
//! also the mean squared singular value of the layer Jacobian, i.e. the per-layer factor of
//! the backward variance: **ordered** phase χ1 < 1 (c* = 1 stable, gradients vanish),
//! **chaotic** χ1 > 1 (c* < 1, gradients explode), **critical** χ1 = 1.
//! Depth scales (Schoenholz et al. 2017, Eq. 6–9): q_l − q* ~ e^{−l/ξ_q}, c_l − c* ~ e^{−l/ξ_c},
//!   ξ_q⁻¹ = −ln(χ1 + σ_w²·E[φ″·φ]) = −ln(dq_l/dq_{l−1} at q*),
//!   ξ_c⁻¹ = −ln(σ_w²·E[φ′(u₁)φ′(u₂)] at c*)  (= −ln χ1 in the ordered phase),
//! and networks train only while depth ≲ 6·ξ_c (their trainability bound).
//! The **critical line** σ_w²(σ_b²) solves χ1 = 1.
//!
//! When the length map has no finite fixed point (asymptotically linear φ with
//! σ_w²·(a₊² + a₋²)/2 ≥ 1, a± the slopes at ±∞, e.g. ReLU with σ_w² > 2, or = 2 with σ_b > 0),
//! q* = ∞: χ1 is then its q → ∞ limit σ_w²·(a₊² + a₋²)/2, c* = 1 (the normalised correlation map
//! of a positively homogeneous φ has slope exactly 1 at c = 1) and ξ_q = ξ_c = ∞.

use super::gaussian::{asymptotic_slopes, expect, expect_pair, length_slope, Moment, Pair};
use crate::activation::Activation;

/// |χ1 − 1| at or below this is `critical` (quadrature is good to ~1e-12, so this only absorbs
/// rounding in σ_w², e.g. n·(2/n) ≠ 2 exactly).
pub const CRITICAL_TOL: f64 = 1e-8;
/// A fixed point is accepted when |map(q) − q| ≤ this × q.
const Q_TOL: f64 = 1e-12;
/// c* is accepted when |map(c) − c| ≤ this (the two-point quadrature is good to ~1e-13).
const C_TOL: f64 = 1e-12;

/// The order–chaos phase, from χ1.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    Ordered,
    Critical,
    Chaotic,
}

impl Phase {
    pub fn of(chi1: f64) -> Phase {
        if (chi1 - 1.0).abs() <= CRITICAL_TOL {
            Phase::Critical
        } else if chi1 < 1.0 {
            Phase::Ordered
        } else {
            Phase::Chaotic
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Phase::Ordered => "ordered",
            Phase::Critical => "critical",
            Phase::Chaotic => "chaotic",
        }
    }
}

/// The parameters of a mean-field network.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Params {
    /// σ_w² = n·Var[w].
    pub sigma_w2: f64,
    /// σ_b² = Var[b].
    pub sigma_b2: f64,
    /// μ = E[b] (0 in the papers).
    pub bias_mean: f64,
    /// E[x_0²], the input's second moment (starts the length map).
    pub q_in: f64,
}

impl Params {
    /// σ_w², σ_b² with zero-mean bias and unit input.
    pub fn new(sigma_w2: f64, sigma_b2: f64) -> Params {
        Params {
            sigma_w2,
            sigma_b2,
            bias_mean: 0.0,
            q_in: 1.0,
        }
    }
}

/// Everything the mean-field theory says about one (φ, σ_w², σ_b²).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MeanField {
    pub q_star: f64,
    pub c_star: f64,
    pub chi1: f64,
    /// σ_w²·E[φ′(u₁)φ′(u₂)] at c*: the correlation map's slope at its fixed point.
    pub chi_c: f64,
    /// dq_l/dq_{l−1} at q*.
    pub length_slope: f64,
    pub xi_q: f64,
    pub xi_c: f64,
    pub phase: Phase,
}

/// One step of the length map: σ_w²·E[φ(μ + √q·z)²] + σ_b².
pub fn length_map(act: Activation, p: &Params, q: f64) -> f64 {
    p.sigma_w2 * expect(act, Moment::Phi2, p.bias_mean, q.max(0.0).sqrt()) + p.sigma_b2
}

/// q_1 = σ_w²·E[x_0²] + σ_b².
pub fn first_q(p: &Params) -> f64 {
    p.sigma_w2 * p.q_in + p.sigma_b2
}

/// The fixed point q* that the length map reaches from q_1 (∞ when it grows without bound).
///
/// The map is increasing in q, so iterating from q_1 moves monotonically to the nearest fixed
/// point on the side where map(q_1) − q_1 points. We bracket it by geometric steps in that
/// direction (steps of at least a factor 2, or the map's own step when larger) and bisect to
/// 1e-15 relative. q_1 itself is accepted when |map(q_1) − q_1| ≤ 1e-12·q_1 (a map that is
/// the identity up to rounding, e.g. ReLU with n·2/n ≈ 2).
pub fn fixed_point_q(act: Activation, p: &Params) -> f64 {
    let h = |q: f64| length_map(act, p, q) - q;
    let is_root = |q: f64, hq: f64| hq.abs() <= Q_TOL * q;
    let q1 = first_q(p);
    let h1 = h(q1);
    if is_root(q1, h1) || h1 == 0.0 {
        return q1;
    }
    let (mut lo, mut hi);
    if h1 > 0.0 {
        // Grow: find hi with h(hi) ≤ 0.
        lo = q1;
        let mut step = h1;
        loop {
            let next = (2.0 * lo).max(lo + step).max(f64::MIN_POSITIVE);
            if !next.is_finite() || next > 1e250 {
                return f64::INFINITY;
            }
            let hn = h(next);
            if !hn.is_finite() {
                return f64::INFINITY;
            }
            // No tolerance exit here, and h = 0 is not a sign change: a map that stays above
            // the diagonal by a constant (ReLU at σ_w² = 2 with σ_b > 0) would pass both once
            // q·ε exceeds the constant.
            if hn < 0.0 {
                hi = next;
                break;
            }
            lo = next;
            step = hn;
        }
    } else {
        // Shrink: find lo with h(lo) ≥ 0; h(σ_b²) ≥ 0 always.
        hi = q1;
        loop {
            let next = (0.5 * hi).min(hi + h(hi)).max(p.sigma_b2);
            if next < 1e-300 {
                if h(0.0) == 0.0 {
                    return 0.0;
                }
                lo = 0.0;
                break;
            }
            let hn = h(next);
            if hn >= 0.0 {
                lo = next;
                break;
            }
            hi = next;
        }
    }
    for _ in 0..200 {
        let mid = 0.5 * (lo + hi);
        if mid <= lo || mid >= hi || hi - lo <= 1e-15 * hi {
            return mid;
        }
        let hm = h(mid);
        if hm == 0.0 {
            return mid;
        }
        if hm > 0.0 {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    0.5 * (lo + hi)
}

/// χ1 = σ_w²·E[φ′(μ + √q·z)²] at q (its q → ∞ limit σ_w²·(a₊² + a₋²)/2 for q = ∞).
pub fn chi1_at(act: Activation, p: &Params, q: f64) -> f64 {
    if q.is_infinite() {
        let (ap, an) = asymptotic_slopes(act);
        return p.sigma_w2 * 0.5 * (ap * ap + an * an);
    }
    p.sigma_w2 * expect(act, Moment::Dphi2, p.bias_mean, q.max(0.0).sqrt())
}

/// The correlation map c ↦ (σ_w²·E[φ(u₁)φ(u₂)] + σ_b²)/q* and its slope σ_w²·E[φ′(u₁)φ′(u₂)].
pub fn correlation_map(act: Activation, p: &Params, q_star: f64, c: f64) -> (f64, f64) {
    let cc = p.sigma_w2 * expect_pair(act, Pair::PhiPhi, p.bias_mean, q_star, c) + p.sigma_b2;
    let slope = p.sigma_w2 * expect_pair(act, Pair::DphiDphi, p.bias_mean, q_star, c);
    (cc / q_star, slope)
}

/// The stable fixed point c* of the correlation map and the slope there: (1, χ1) unless
/// chaotic; in the chaotic phase the largest root of map(c) = c below 1, bracketed by a scan
/// over c = 1 − 10⁻⁶, ½, 0, −½, −1 + 10⁻⁶ and refined by the Illinois variant of regula falsi
/// (bracketed, superlinear, and needs only the map, not its slope).
pub fn fixed_point_c(act: Activation, p: &Params, q_star: f64, chi1: f64) -> (f64, f64) {
    if !q_star.is_finite() || q_star <= 0.0 || Phase::of(chi1) != Phase::Chaotic {
        let chi_c = if q_star.is_finite() { chi1 } else { 1.0 };
        return (1.0, chi_c);
    }
    let g = |c: f64| {
        let cc = p.sigma_w2 * expect_pair(act, Pair::PhiPhi, p.bias_mean, q_star, c) + p.sigma_b2;
        cc / q_star - c
    };
    let slope = |c: f64| p.sigma_w2 * expect_pair(act, Pair::DphiDphi, p.bias_mean, q_star, c);
    const EDGE: f64 = 1e-6;
    let top = 1.0 - EDGE;
    let g_top = g(top);
    if g_top >= 0.0 {
        // c* lies within 1e-6 of 1.
        return (1.0, slope(top));
    }
    let (mut hi, mut g_hi) = (top, g_top);
    let mut bracket = None;
    for c in [0.5, 0.0, -0.5, -1.0 + EDGE] {
        let gc = g(c);
        if gc >= 0.0 {
            bracket = Some((c, gc));
            break;
        }
        (hi, g_hi) = (c, gc);
    }
    let Some((mut lo, mut g_lo)) = bracket else {
        // map(c) < c down to −1: c* = −1.
        return (-1.0, slope(-1.0));
    };
    // Illinois: g(lo) ≥ 0 > g(hi); halve the weight of an end point kept twice in a row.
    let mut side = 0i8;
    let mut x = lo;
    for _ in 0..200 {
        if g_lo == 0.0 || hi - lo <= 1e-14 {
            break;
        }
        x = (lo * g_hi - hi * g_lo) / (g_hi - g_lo);
        if !(x > lo && x < hi) {
            x = 0.5 * (lo + hi);
        }
        let gx = g(x);
        if gx.abs() <= C_TOL {
            break;
        }
        if gx > 0.0 {
            (lo, g_lo) = (x, gx);
            if side == 1 {
                g_hi *= 0.5;
            }
            side = 1;
        } else {
            (hi, g_hi) = (x, gx);
            if side == -1 {
                g_lo *= 0.5;
            }
            side = -1;
        }
    }
    (x, slope(x))
}

/// −1/ln(slope): the depth over which a deviation shrinks by e; ∞ when |slope| ≥ 1 − tol.
pub fn depth_scale(slope: f64) -> f64 {
    let a = slope.abs();
    if a >= 1.0 - CRITICAL_TOL {
        f64::INFINITY
    } else {
        -1.0 / a.ln()
    }
}

/// The full mean-field description of (φ, σ_w², σ_b², μ, E[x_0²]).
pub fn mean_field(act: Activation, p: &Params) -> MeanField {
    let q_star = fixed_point_q(act, p);
    let chi1 = chi1_at(act, p, q_star);
    let phase = Phase::of(chi1);
    if !q_star.is_finite() {
        return MeanField {
            q_star,
            c_star: 1.0,
            chi1,
            chi_c: 1.0,
            length_slope: chi1,
            xi_q: f64::INFINITY,
            xi_c: f64::INFINITY,
            phase,
        };
    }
    let slope = p.sigma_w2 * length_slope(act, p.bias_mean, q_star.sqrt());
    let (c_star, chi_c) = fixed_point_c(act, p, q_star, chi1);
    MeanField {
        q_star,
        c_star,
        chi1,
        chi_c,
        length_slope: slope,
        xi_q: depth_scale(slope),
        xi_c: depth_scale(chi_c),
        phase,
    }
}

/// The σ_w² on the critical line (χ1 = 1) at σ_b² = `p.sigma_b2` (σ_w² of `p` ignored), found by
/// bisection on ln σ_w² in [10⁻³, 10³]; `None` when χ1 does not cross 1 there.
pub fn critical_sigma_w2(act: Activation, p: &Params) -> Option<f64> {
    let chi = |sw2: f64| {
        let pp = Params {
            sigma_w2: sw2,
            ..*p
        };
        chi1_at(act, &pp, fixed_point_q(act, &pp)) - 1.0
    };
    let (mut lo, mut hi) = (1e-3f64.ln(), 1e3f64.ln());
    let (flo, fhi) = (chi(lo.exp()), chi(hi.exp()));
    if !(flo < 0.0 && fhi > 0.0) {
        return None;
    }
    for _ in 0..200 {
        let mid = 0.5 * (lo + hi);
        let f = chi(mid.exp());
        if f == 0.0 {
            return Some(mid.exp());
        }
        if f < 0.0 {
            lo = mid;
        } else {
            hi = mid;
        }
        if hi - lo <= 1e-14 {
            break;
        }
    }
    Some((0.5 * (lo + hi)).exp())
}
