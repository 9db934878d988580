//! The right gain for any activation, and what PyTorch's `calculate_gain` table does.
//!
//! **Variance-preserving gain.** A layer y_l = W·φ(y_{l−1}) + b with Var[w] = g²/n and
//! Var[b] = σ_b² maps a zero-mean Gaussian pre-activation of variance q to one of variance
//! (He et al. 2015, Eq. 7: Var[y_l] = n·Var[w]·E[x_{l−1}²] + Var[b]; the length map of Poole
//! et al. 2016, Eq. 3)
//!   q ↦ g²·E[φ(√q·z)²] + σ_b²,   z ~ N(0, 1).
//! The gain that keeps a chosen variance Q fixed solves g²·E[φ(√Q·z)²] + σ_b² = Q:
//!   g = √((Q − σ_b²)/E[φ(√Q·z)²])                                   ([`preserve_gain`])
//! — He et al.'s Eq. 10 (½·n·Var[w] = 1 for ReLU, where E[φ(√q·z)²] = q/2) applied to φ.
//! It is the *second moment* E[φ²], not Var[φ]: the next layer sums w·φ(y) with zero-mean w, so
//! a non-zero mean of φ (sigmoid, softplus, GELU, SiLU) adds to its variance (He et al. 2015,
//! Eq. 7–8: "E[x²] ≠ Var[x] unless x has zero mean"). With σ_b² = 0 (the default) this is
//! g²·E[φ(√Q·z)²] = Q. For positively homogeneous φ (linear, relu, leaky_relu with slope s)
//! E[φ(√q·z)²] = q·(1 + s²)/2, so g = √(2/(1 + s²)) preserves every q — PyTorch's gain. For
//! every other φ the gain depends on Q.
//!
//! **Is Q a stable fixed point?** The map's slope there (Schoenholz et al. 2017, Eq. 6–7)
//!   dq_l/dq_{l−1} = g²·d/dq E[φ(√q·z)²] at Q           ([`super::gaussian::length_slope`])
//! is < 1 (stable: q returns to Q after a perturbation, ξ_q = −1/ln(slope)), = 1 (marginal:
//! relu, linear, leaky_relu — every q is a fixed point) or > 1 (unstable: a deviation grows by
//! the slope per layer, an e-fold every 1/ln(slope) layers; GELU and SiLU, whose E[φ²]/q rises
//! from ¼ at q → 0 to ½ at q → ∞). Since the map is g²·E(q) with E(Q) = Q/g², the slope is
//! Q·E′(Q)/E(Q): stable exactly where E[φ(√q·z)²]/q falls with q.
//!
//! **Gradients.** Preserving the forward variance does not preserve the backward one: each layer
//! multiplies Var[δ] by χ1 = g²·E[φ′(√Q·z)²] (Poole et al. 2016, Eq. 5 / Schoenholz et al.
//! 2017, Eq. 5), 1 only at the edge of chaos. The edge of chaos at a given σ_b² is the σ_w² where
//! χ1 = 1 at the fixed point ([`edge_of_chaos`]); for ReLU-like φ it is the single point
//! (σ_w², σ_b²) = (2, 0), for smooth φ such as SiLU/GELU a curve that needs σ_b² > 0 (Hayou et
//! al. 2019, "On the impact of the activation function on deep neural network training").
//!
//! **PyTorch's table.** linear 1, relu √2 and leaky_relu √(2/(1 + s²)) are exactly the
//! variance-preserving gains (He et al. 2015). tanh's 5/3, sigmoid's 1 and selu's 3/4 are not:
//! tanh needs ≈ 1.59 at Q = 1; sigmoid, whose mean is ½, needs ≈ 1.85 (a gain from the ratio of
//! standard deviations, ignoring the mean, is far too large); selu needs 1 (Klambauer et al.
//! 2017's fixed point, which PyTorch's documentation recommends via nonlinearity='linear').

use super::gaussian::{asymptotic_slopes, expect, length_slope, Moment};
use super::meanfield::{
    chi1_at, critical_sigma_w2, depth_scale, fixed_point_c, fixed_point_q, length_map, mean_field,
    MeanField, Params, Phase, CRITICAL_TOL,
};
use crate::activation::Activation;
use crate::init::gain::calculate_gain;

/// E[φ(√q·z)²], z ~ N(0, 1).
pub fn second_moment(act: Activation, q: f64) -> f64 {
    expect(act, Moment::Phi2, 0.0, q.max(0.0).sqrt())
}

/// σ_w² = g² with σ_w²·E[φ(√Q·z)²] + σ_b² = Q: (Q − σ_b²)/E[φ(√Q·z)²]; `None` when σ_b² ≥ Q
/// (the bias alone already reaches Q) or the moment is not positive and finite.
pub fn preserve_sigma_w2(act: Activation, q: f64, sigma_b2: f64) -> Option<f64> {
    let m = second_moment(act, q);
    let s = (q - sigma_b2) / m;
    (s > 0.0 && s.is_finite()).then_some(s)
}

/// The variance-preserving gain g = √((Q − σ_b²)/E[φ(√Q·z)²]) (see the module docs).
pub fn preserve_gain(act: Activation, q: f64, sigma_b2: f64) -> Option<f64> {
    preserve_sigma_w2(act, q, sigma_b2).map(f64::sqrt)
}

/// `torch.nn.init.calculate_gain` for the activation (leaky_relu with its own slope); `None`
/// where PyTorch has no entry (elu, gelu, silu, softplus).
pub fn pytorch_gain(act: Activation) -> Option<f64> {
    let (name, param) = act.torch_gain_name()?;
    calculate_gain(name, param).ok()
}

/// Whether a fixed point attracts: from the slope of the map there.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stability {
    /// slope < 1: q returns to the fixed point.
    Stable,
    /// slope = 1 (within [`CRITICAL_TOL`]): every nearby q stays where it is (homogeneous φ).
    Marginal,
    /// slope > 1: a deviation grows by the slope per layer.
    Unstable,
}

impl Stability {
    pub fn of(slope: f64) -> Stability {
        if (slope - 1.0).abs() <= CRITICAL_TOL {
            Stability::Marginal
        } else if slope < 1.0 {
            Stability::Stable
        } else {
            Stability::Unstable
        }
    }

    /// The `stable:` value printed by `initlab gain`.
    pub fn word(self) -> &'static str {
        match self {
            Stability::Stable => "yes",
            Stability::Marginal => "marginal",
            Stability::Unstable => "no",
        }
    }
}

/// The mean-field picture at the variance-preserving gain: Q is a fixed point of the length map
/// by construction; its stability, χ1 and the depth scales there.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AtPreserve {
    pub gain: f64,
    pub sigma_w2: f64,
    /// dq_l/dq_{l−1} at Q.
    pub q_slope: f64,
    pub stability: Stability,
    /// g²·E[φ′(√Q·z)²]: the per-layer factor of the gradient variance.
    pub chi1: f64,
    pub phase: Phase,
    pub c_star: f64,
    pub chi_c: f64,
    /// −1/ln(q_slope): layers over which a deviation from Q shrinks by e (∞ unless stable).
    pub xi_q: f64,
    /// −1/ln(χ_c): the correlation depth scale at Q (Schoenholz et al. 2017, Eq. 9).
    pub xi_c: f64,
}

/// Everything `initlab gain` prints for one activation.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GainAnalysis {
    pub activation: Activation,
    pub q: f64,
    pub sigma_b2: f64,
    pub pytorch_gain: Option<f64>,
    /// `None` when σ_b² ≥ Q.
    pub preserve: Option<AtPreserve>,
    /// The edge of chaos σ_w² at this σ_b² ([`edge_of_chaos`]).
    pub critical_sigma_w2: Option<f64>,
    /// The mean field under PyTorch's gain, started at q_1 = Q: where q settles (q*) and χ1 there.
    pub under_pytorch: Option<MeanField>,
    /// The same under √2, the ReLU gain users fall back on, for activations PyTorch has no gain for.
    pub under_fallback: Option<MeanField>,
}

/// The mean-field analysis at σ_w² with the length map started at q_1 = Q.
fn from_q(act: Activation, sigma_w2: f64, sigma_b2: f64, q: f64) -> MeanField {
    let p = Params {
        sigma_w2,
        sigma_b2,
        bias_mean: 0.0,
        // first_q = σ_w²·q_in + σ_b² = Q.
        q_in: ((q - sigma_b2) / sigma_w2).max(0.0),
    };
    mean_field(act, &p)
}

/// Stability, χ1, c* and the depth scales at Q for the variance-preserving gain.
pub fn at_preserve(act: Activation, q: f64, sigma_b2: f64) -> Option<AtPreserve> {
    let sigma_w2 = preserve_sigma_w2(act, q, sigma_b2)?;
    let p = Params {
        sigma_w2,
        sigma_b2,
        bias_mean: 0.0,
        q_in: 1.0,
    };
    let q_slope = sigma_w2 * length_slope(act, 0.0, q.sqrt());
    let chi1 = chi1_at(act, &p, q);
    let (c_star, chi_c) = fixed_point_c(act, &p, q, chi1);
    let stability = Stability::of(q_slope);
    Some(AtPreserve {
        gain: sigma_w2.sqrt(),
        sigma_w2,
        q_slope,
        stability,
        chi1,
        phase: Phase::of(chi1),
        c_star,
        chi_c,
        xi_q: if stability == Stability::Stable {
            depth_scale(q_slope)
        } else {
            f64::INFINITY
        },
        xi_c: depth_scale(chi_c),
    })
}

/// A vanishing input second moment: the length map started here climbs to the smallest
/// attracting fixed point (0 itself only when it attracts).
const SMALL_START: f64 = 1e-12;

/// The edge of chaos at this σ_b²: the σ_w² where χ1 = 1 at the length map's fixed point q*,
/// with q_l converging from every start — Hayou et al. 2019's definition (the EOC lies in the
/// domain where q_l converges for every q_0). Found in three steps:
/// 1. bisection on χ1 − 1 ([`critical_sigma_w2`]) with q* reached from a vanishing input, the
///    smallest attracting fixed point (tanh at σ_b² = 0 gives the classic σ_w² = 1);
/// 2. the crossing must be continuous: χ1 may not jump across 1 (it would where q* jumps);
/// 3. large starts must converge too. For φ with asymptotic slopes a± the map grows like
///    A·q, A = σ_w²·(a₊² + a₋²)/2: A > 1 diverges (SiLU and GELU at σ_b² = 0, whose crossing
///    from small inputs is at σ_w² = 4, where A = 2); A = 1 diverges when the map stays above
///    the diagonal (ReLU with σ_b² > 0: q ↦ q + σ_b², so ReLU's edge is the single point (2, 0);
///    softplus at σ_w² = 2, where q ↦ q + O(q^{−1/2})).
///
/// `None` when there is no such point: SiLU/GELU-like activations need σ_b² > 0 (Hayou et al.).
pub fn edge_of_chaos(act: Activation, sigma_b2: f64) -> Option<f64> {
    let small = Params {
        q_in: SMALL_START,
        ..Params::new(1.0, sigma_b2)
    };
    let sw2 = critical_sigma_w2(act, &small)?;
    let at = |s: f64| {
        let pp = Params {
            sigma_w2: s,
            ..small
        };
        chi1_at(act, &pp, fixed_point_q(act, &pp))
    };
    const SIDE: f64 = 1e-6;
    // A smooth crossing moves χ1 by O(SIDE), the slowest continuous one here (softplus at
    // σ_w² = 2, χ1 → 1 like q*^{−1/2}, q* ~ SIDE^{−2/3}) by O(SIDE^{1/3}) ≈ 0.01; a jump by O(1).
    if (at(sw2 * (1.0 + SIDE)) - at(sw2 * (1.0 - SIDE))).abs() > 0.05 {
        return None;
    }
    let (ap, an) = asymptotic_slopes(act);
    let growth = sw2 * 0.5 * (ap * ap + an * an);
    // The bisection leaves σ_w² within ~1e-14 of the crossing: A = 1 up to that is marginal.
    const MARGIN: f64 = 1e-9;
    if growth > 1.0 + MARGIN {
        return None;
    }
    if growth >= 1.0 - MARGIN {
        let p = Params {
            sigma_w2: sw2,
            ..small
        };
        // map(1) − 1 = σ_b² + (A − 1) for homogeneous φ; > 0 for softplus.
        if length_map(act, &p, 1.0) - 1.0 > 1e-12 {
            return None;
        }
    }
    Some(sw2)
}

/// The full analysis of `act` at variance Q and bias variance σ_b².
pub fn analyse(act: Activation, q: f64, sigma_b2: f64) -> GainAnalysis {
    let pytorch_gain = pytorch_gain(act);
    let preserve = at_preserve(act, q, sigma_b2);
    let start_ok = q > sigma_b2;
    let under_pytorch = pytorch_gain
        .filter(|_| start_ok)
        .map(|g| from_q(act, g * g, sigma_b2, q));
    let under_fallback =
        (pytorch_gain.is_none() && start_ok).then(|| from_q(act, 2.0, sigma_b2, q));
    GainAnalysis {
        activation: act,
        q,
        sigma_b2,
        pytorch_gain,
        preserve,
        critical_sigma_w2: edge_of_chaos(act, sigma_b2),
        under_pytorch,
        under_fallback,
    }
}

/// Every activation `initlab gain --all` tabulates: each name with its default parameters, and
/// GELU's tanh approximation.
pub fn all_activations() -> Vec<Activation> {
    let mut acts: Vec<Activation> = crate::activation::NAMES
        .iter()
        .map(|n| Activation::parse(n, "gain --all").expect("every name parses"))
        .collect();
    let at = acts
        .iter()
        .position(|a| matches!(a, Activation::Gelu { .. }))
        .map_or(acts.len(), |i| i + 1);
    acts.insert(at, Activation::Gelu { tanh_approx: true });
    acts
}

/// `x` to `sig` significant digits, trailing zeros dropped (for the verdict sentence).
pub fn short(x: f64, sig: usize) -> String {
    if !x.is_finite() {
        return format!("{x}");
    }
    if x == 0.0 {
        return "0".into();
    }
    let mag = x.abs().log10().floor() as i32;
    if !(-4..6).contains(&mag) {
        return format!("{:.*e}", sig.saturating_sub(1), x);
    }
    let decimals = (sig as i32 - 1 - mag).max(0) as usize;
    let s = format!("{x:.decimals$}");
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s
    }
}

/// Where q goes under a gain, in words: "settles at q* = 0.81", "vanishes", "grows without bound".
fn fate(mf: &MeanField, q: f64) -> String {
    // A map that approaches the diagonal from above (softplus under √2: q_l − q_{l−1} ~ 1/√q)
    // has no fixed point, but the root finder stops where that step falls below its rounding
    // floor (~1e-12·q): a q* a million times Q is that floor, not a fixed point.
    if mf.q_star.is_infinite() || mf.q_star > 1e6 * q {
        "grows without bound".into()
    } else if mf.q_star <= 1e-12 * q {
        "vanishes".into()
    } else if (mf.q_star / q - 1.0).abs() <= 1e-6 {
        format!("stays at {}", short(q, 4))
    } else {
        format!("settles at q* = {}", short(mf.q_star, 4))
    }
}

/// A gain in words: √2, 5/3 and 3/4 by name (PyTorch's constants), else four digits.
fn gain_text(g: f64) -> String {
    let named = [
        (std::f64::consts::SQRT_2, "√2"),
        (5.0 / 3.0, "5/3"),
        (0.75, "3/4"),
    ];
    named
        .iter()
        .find(|(v, _)| (g / v - 1.0).abs() <= 1e-15)
        .map_or_else(|| short(g, 4), |(_, t)| t.to_string())
}

fn gradients(chi1: f64) -> String {
    match Phase::of(chi1) {
        Phase::Critical => "critical: gradients keep their variance".into(),
        Phase::Ordered => format!("ordered: gradients shrink ×{} per layer", short(chi1, 3)),
        Phase::Chaotic => format!("chaotic: gradients grow ×{} per layer", short(chi1, 3)),
    }
}

/// True for φ with φ(λx) = λφ(x), λ > 0 (linear, relu, leaky_relu): E[φ(√q·z)²] ∝ q.
fn homogeneous(act: Activation) -> bool {
    matches!(
        act,
        Activation::Linear | Activation::Relu | Activation::LeakyRelu { .. }
    )
}

/// The one-line plain-language verdict of `initlab gain`.
pub fn verdict(a: &GainAnalysis) -> String {
    let name = a.activation.label();
    let q = short(a.q, 4);
    let Some(p) = a.preserve else {
        return format!(
            "{name}: no gain keeps q = {q}: the bias alone adds σ_b² = {} ≥ q",
            short(a.sigma_b2, 4)
        );
    };
    let g = gain_text(p.gain);
    let torch = match (a.pytorch_gain, a.under_pytorch, a.under_fallback) {
        (Some(pg), _, _) if (pg / p.gain - 1.0).abs() <= 1e-12 => {
            "PyTorch's gain is this one".to_string()
        }
        (Some(pg), Some(mf), _) => format!(
            "PyTorch's {}: q {}, χ1 = {}",
            gain_text(pg),
            fate(&mf, a.q),
            short(mf.chi1, 3)
        ),
        (None, _, Some(mf)) => format!(
            "PyTorch has no gain; the ReLU fallback √2: q {}",
            fate(&mf, a.q)
        ),
        _ => "PyTorch has no gain".to_string(),
    };
    if homogeneous(a.activation) && a.sigma_b2 == 0.0 {
        return format!(
            "{name}: {g} preserves the variance at every q, χ1 = {} ({}); {torch}",
            short(p.chi1, 4),
            gradients(p.chi1)
        );
    }
    let fixed = match p.stability {
        Stability::Stable => format!(
            "a stable fixed point (slope {}: deviations decay over ξ_q = {} layers)",
            short(p.q_slope, 3),
            short(p.xi_q, 3)
        ),
        Stability::Marginal => "a marginal fixed point (slope 1)".into(),
        Stability::Unstable => format!(
            "an unstable fixed point (slope {}: a deviation grows e-fold every {} layers)",
            short(p.q_slope, 3),
            short(1.0 / p.q_slope.ln(), 3)
        ),
    };
    format!(
        "{name}: {g} keeps q = {q}, {fixed}; χ1 = {} ({}); {torch}",
        short(p.chi1, 3),
        gradients(p.chi1)
    )
}

#[cfg(test)]
mod tests {
    use super::super::meanfield::correlation_map;
    use super::*;

    /// φ′ jumps at 0.
    fn kinked(act: Activation) -> bool {
        matches!(
            act,
            Activation::Relu | Activation::LeakyRelu { .. } | Activation::Selu
        )
    }

    /// An independent E[f(z)], z ~ N(0, 1): composite Simpson on [−12, 12] with 24 000 panels
    /// (h = 1e-3; error ~ h⁴·max|(f·N)⁗|/180 ≈ 1e-14 for these smooth integrands, plus the
    /// tail beyond 12σ, e^{−72} ≈ 5e-32 times a polynomial).
    fn simpson_normal(f: impl Fn(f64) -> f64) -> f64 {
        let (a, b, n) = (-12.0f64, 12.0f64, 24_000usize);
        let h = (b - a) / n as f64;
        let g = |z: f64| f(z) * (-0.5 * z * z).exp() / (2.0 * std::f64::consts::PI).sqrt();
        let mut s = g(a) + g(b);
        for i in 1..n {
            let z = a + i as f64 * h;
            s += if i % 2 == 1 { 4.0 } else { 2.0 } * g(z);
        }
        s * h / 3.0
    }

    #[test]
    fn closed_forms() {
        let r2 = std::f64::consts::SQRT_2;
        for q in [0.01, 1.0, 7.5] {
            let g = preserve_gain(Activation::Relu, q, 0.0).unwrap();
            assert!((g - r2).abs() <= 4e-16 * r2, "relu q={q}: {g}");
            let g = preserve_gain(Activation::Linear, q, 0.0).unwrap();
            assert!((g - 1.0).abs() <= 4e-16, "linear q={q}: {g}");
            for s in [0.01f64, 0.2, 1.0, 3.0] {
                let want = (2.0 / (1.0 + s * s)).sqrt();
                let g = preserve_gain(Activation::LeakyRelu { negative_slope: s }, q, 0.0).unwrap();
                assert!(
                    (g - want).abs() <= 1e-15 * want,
                    "leaky {s} q={q}: {g} vs {want}"
                );
            }
        }
        // With a bias: σ_w²·q/2 + σ_b² = q for ReLU.
        let g = preserve_gain(Activation::Relu, 2.0, 0.5).unwrap();
        assert!((g * g - 1.5).abs() < 1e-15, "{g}");
        assert_eq!(preserve_gain(Activation::Tanh, 1.0, 1.0), None);
    }

    /// Smooth φ: the gain from the library's quadrature against Simpson written here.
    #[test]
    fn quadrature_agrees_with_simpson() {
        let acts = [
            Activation::Tanh,
            Activation::Sigmoid,
            Activation::Gelu { tanh_approx: false },
            Activation::Gelu { tanh_approx: true },
            Activation::Silu,
            Activation::Softplus { beta: 1.0 },
            Activation::Elu { alpha: 1.0 },
            Activation::Selu,
        ];
        for act in acts {
            for q in [0.25f64, 1.0, 4.0] {
                let s = q.sqrt();
                let m = simpson_normal(|z| act.f(s * z).powi(2));
                let want = (q / m).sqrt();
                let g = preserve_gain(act, q, 0.0).unwrap();
                assert!(
                    (g - want).abs() <= 1e-10 * want,
                    "{act:?} q={q}: {g} vs Simpson {want}"
                );
                // And g²·E[φ²] = q exactly as asked.
                assert!((g * g * m / q - 1.0).abs() < 1e-10);
            }
        }
        // SELU's constants make E[selu(z)²] = 1 (Klambauer et al. 2017): gain 1 at Q = 1.
        let g = preserve_gain(Activation::Selu, 1.0, 0.0).unwrap();
        assert!((g - 1.0).abs() < 1e-6, "selu {g}");
    }

    /// q_slope and χ1 against finite differences of the map itself: the slope is
    /// (map(Q + h) − map(Q − h))/2h, and χ1 is the same derivative of the correlation map at c = 1,
    /// (1 − c_map(1 − h))/h (one-sided: c ≤ 1).
    #[test]
    fn stability_and_chi1_are_derivatives_of_the_maps() {
        for act in all_activations() {
            for (q, sb2) in [(1.0f64, 0.0), (0.3, 0.0), (2.0, 0.4)] {
                let p = at_preserve(act, q, sb2).unwrap();
                let map = |x: f64| p.sigma_w2 * second_moment(act, x) + sb2;
                assert!((map(q) / q - 1.0).abs() < 1e-12, "{act:?}: Q not fixed");
                let h = 1e-4 * q;
                let fd = (map(q + h) - map(q - h)) / (2.0 * h);
                assert!(
                    (fd - p.q_slope).abs() < 1e-6 * (1.0 + fd.abs()),
                    "{act:?} q={q}: slope {} vs fd {fd}",
                    p.q_slope
                );
                assert_eq!(p.stability, Stability::of(fd), "{act:?} q={q}");
                // χ1 = d c_{l}/d c_{l−1} at c = 1: c-map with the pair quadrature, independent
                // of E[φ′²]. The step must be small against the curvature (∝ h) and large
                // against the pair quadrature's error (~1e-13).
                let mp = Params {
                    sigma_w2: p.sigma_w2,
                    sigma_b2: sb2,
                    bias_mean: 0.0,
                    q_in: 1.0,
                };
                let cmap = |c: f64| correlation_map(act, &mp, q, c).0;
                // φ′ with a jump (relu, leaky_relu, selu) puts a (1 − c)^{3/2} term in the c-map,
                // so the one-sided difference is off by ~(2/3)·√(2h)/π ≈ 1e-4 at h = 1e-7 (the
                // pair quadrature's 1e-12 costs 1e-5 there); smooth φ: Richardson on h = 1e-4.
                let (fd, tol) = if kinked(act) {
                    let hc = 1e-7;
                    ((cmap(1.0) - cmap(1.0 - hc)) / hc, 5e-4)
                } else {
                    let hc = 1e-4;
                    let fd1 = (cmap(1.0) - cmap(1.0 - hc)) / hc;
                    let fd2 = (cmap(1.0) - cmap(1.0 - 2.0 * hc)) / (2.0 * hc);
                    (2.0 * fd1 - fd2, 1e-5)
                };
                assert!(
                    (fd - p.chi1).abs() < tol * (1.0 + p.chi1),
                    "{act:?} q={q}: χ1 {} vs fd {fd}",
                    p.chi1
                );
            }
        }
    }

    #[test]
    fn known_stability() {
        let st = |a| at_preserve(a, 1.0, 0.0).unwrap().stability;
        assert_eq!(st(Activation::Relu), Stability::Marginal);
        assert_eq!(st(Activation::Linear), Stability::Marginal);
        assert_eq!(st(Activation::Tanh), Stability::Stable);
        assert_eq!(st(Activation::Silu), Stability::Unstable);
        assert_eq!(
            st(Activation::Gelu { tanh_approx: false }),
            Stability::Unstable
        );
    }

    #[test]
    fn edge_of_chaos_points() {
        let relu = edge_of_chaos(Activation::Relu, 0.0).unwrap();
        assert!((relu - 2.0).abs() < 1e-9, "{relu}");
        let tanh = edge_of_chaos(Activation::Tanh, 0.0).unwrap();
        assert!((tanh - 1.0).abs() < 1e-6, "{tanh}");
        assert_eq!(edge_of_chaos(Activation::Silu, 0.0), None);
        assert_eq!(
            edge_of_chaos(Activation::Gelu { tanh_approx: false }, 0.0),
            None
        );
        assert_eq!(edge_of_chaos(Activation::Relu, 0.1), None);
        // With enough bias SiLU and GELU have an edge (Hayou et al. 2019): χ1 = 1 there, at a
        // finite q* reached from small and large inputs alike.
        for (act, sb2) in [
            (Activation::Silu, 1.0),
            (Activation::Gelu { tanh_approx: false }, 0.5),
            (Activation::Tanh, 0.3),
        ] {
            let s = edge_of_chaos(act, sb2).expect("an edge with σ_b² > 0");
            for q_in in [SMALL_START, 1.0, 1e4] {
                let p = Params {
                    q_in,
                    ..Params::new(s, sb2)
                };
                let q = fixed_point_q(act, &p);
                let chi = chi1_at(act, &p, q);
                assert!(
                    q.is_finite() && (chi - 1.0).abs() < 1e-6,
                    "{act:?} {s}: q* {q}, χ1 = {chi}"
                );
            }
        }
    }

    #[test]
    fn short_numbers() {
        assert_eq!(short(1.23456789, 4), "1.235");
        assert_eq!(short(2.0, 4), "2");
        assert_eq!(short(0.012345, 3), "0.0123");
        assert_eq!(short(123456.0, 3), "123456");
        assert_eq!(short(1.5e-7, 2), "1.5e-7");
    }
}
