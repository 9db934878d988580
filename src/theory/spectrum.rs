//! Moments of the Jacobian's squared singular values from free probability (Pennington,
//! Schoenholz & Ganguli 2017, Sec. 2–3). JJᵀ with J = D_L W_L ⋯ D_1 W_1 is, at large width, a
//! product of freely independent factors, so its S-transform is the product of theirs
//! (Eq. 11): S_{JJᵀ} = ∏_l S_{D_l²}·S_{W_lᵀW_l}. A law of mean m and variance v has
//! S(z) = (1/m)·(1 − (v/m²)·z + O(z²)), so the means multiply and the *normalized* variances
//! v/m² add:
//!
//!   E[λ] = ∏_l σ_l²·μ1_l,   Var[λ]/E[λ]² = Σ_l (μ2_l/μ1_l² − 1 − s1_l),
//!
//! with μk_l = E[φ′(y_l)^{2k}] over the layer's Gaussian pre-activation (the mean-field
//! recursion's q_l), σ_l² = n·Var[w], and −s1 the normalized variance of WᵀW/σ²: 1 for i.i.d.
//! entries (Marchenko–Pastur, S = 1/(1 + z)), 0 for orthogonal weights (S = 1). Hence the
//! paper's facts at criticality: linear–Gaussian L, linear–orthogonal 0, ReLU–Gaussian 2L
//! (μ2/μ1² = 2), ReLU–orthogonal L, and tanh–orthogonal bounded where q_l → 0 (φ′² → 1).

use crate::config::{Cell, Experiment};
use crate::init::Scheme;
use crate::theory::quadrature::normal_expect;

/// Predicted mean and variance of the eigenvalues λ = σ² of JJᵀ.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SpectrumPrediction {
    pub mean: f64,
    pub var: f64,
}

/// −s1 of WᵀW: 1 for i.i.d. zero-mean entries, 0 for orthogonal; `None` for other schemes.
fn weight_nvar(s: &Scheme) -> Option<f64> {
    match s {
        Scheme::Orthogonal { .. } => Some(0.0),
        Scheme::Normal { mean, .. } | Scheme::TruncNormal { mean, .. } if *mean == 0.0 => match s {
            Scheme::TruncNormal { a, b, .. } if *a != -*b => None,
            _ => Some(1.0),
        },
        Scheme::Uniform { a, b } if *a == -*b => Some(1.0),
        Scheme::XavierNormal { .. }
        | Scheme::XavierUniform { .. }
        | Scheme::KaimingNormal { .. }
        | Scheme::KaimingUniform { .. }
        | Scheme::VarianceScaling { .. } => Some(1.0),
        _ => None,
    }
}

/// The prediction for a cell of an experiment with `[spectrum]`, or why none applies.
pub fn cell_prediction(exp: &Experiment, cell: &Cell) -> Result<SpectrumPrediction, String> {
    let init = &cell.init.init;
    if init.lsuv.is_some() {
        return Err("LSUV's scales come from the data".into());
    }
    let v_w = weight_nvar(&init.weight).ok_or_else(|| {
        "free-probability moments need i.i.d. zero-mean or orthogonal weights".to_string()
    })?;
    if cell.widths.iter().any(|&n| n != cell.widths[0]) {
        return Err("the free-probability moments here are for square layers".into());
    }
    let net = cell.network();
    let layers =
        crate::theory::recursion::predict(cell.activation, init, &net, exp.input, exp.output_grad)?;
    let act = cell.activation;
    let kinks = crate::theory::gaussian::kinks(act);
    let (mut mean, mut nvar) = (1.0, 0.0);
    for (tap, l) in net.taps().iter().zip(&layers) {
        let var_w = init.weight.moments(&tap.weight_shape)?.var;
        let sigma2 = var_w * tap.fan_in as f64;
        let (m, s) = (l.preact_mean, l.preact_var.max(0.0).sqrt());
        let zk: Vec<f64> = if s > 0.0 {
            kinks.iter().map(|k| (k - m) / s).collect()
        } else {
            Vec::new()
        };
        let mu = |k: i32| normal_expect(&|z| act.df(m + s * z).powi(2 * k), &zk, &[], 0.0);
        let (mu1, mu2) = (mu(1), mu(2));
        mean *= sigma2 * mu1;
        nvar += mu2 / (mu1 * mu1) - 1.0 + v_w;
    }
    Ok(SpectrumPrediction {
        mean,
        var: nvar * mean * mean,
    })
}

/// The law of JJᵀ when every D_l² is a fixed law with a closed S-transform: linear (D = I) or
/// ReLU (D² ~ Bernoulli(½) for any zero-mean symmetric pre-activation, S = (1 + z)/(½ + z)).
/// `gaussian` layers have i.i.d. weights (S = 1/(σ²(1 + z))), the others orthogonal (1/σ²);
/// `scale` = ∏_l 1/σ_l².
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ClosedLaw {
    pub gaussian: usize,
    pub relu: usize,
    pub scale: f64,
}

impl ClosedLaw {
    /// arg χ(z) − arg z for χ(z) = z·S(z)/(1 + z), unwrapped (principal args of 1 + z and
    /// ½ + z lie in (−π, 0) for Im z < 0).
    fn arg_rest(&self, z: (f64, f64)) -> f64 {
        let a1 = z.1.atan2(1.0 + z.0);
        let ah = z.1.atan2(0.5 + z.0);
        let (g, r) = (self.gaussian as f64, self.relu as f64);
        -(g + 1.0 - r) * a1 - r * ah
    }

    /// ln |χ(z)|.
    fn ln_abs_chi(&self, z: (f64, f64)) -> f64 {
        let ln_abs = |a: f64, b: f64| 0.5 * (a * a + b * b).ln();
        let (g, r) = (self.gaussian as f64, self.relu as f64);
        ln_abs(z.0, z.1) + self.scale.ln()
            - (g + 1.0 - r) * ln_abs(1.0 + z.0, z.1)
            - r * ln_abs(0.5 + z.0, z.1)
    }

    /// The density of log10 λ of the continuous part of JJᵀ's spectrum, as (log10 λ, density)
    /// pairs, by the ray method: on each ray z = r·e^{iθ}, θ ∈ (−π, 0), the point where χ(z) is
    /// real and positive (bisection on ln r of arg χ = 0) gives ψ(1/λ) = z at λ = 1/χ(z), and
    /// ρ(λ) = −Im ψ/(πλ) (from G(λ) = (1 + ψ(1/λ))/λ), i.e. a density −ln 10·Im z/π of log10 λ.
    pub fn log10_density(&self, rays: usize) -> Vec<(f64, f64)> {
        let mut out = Vec::new();
        for k in 1..rays {
            let theta = -std::f64::consts::PI * k as f64 / rays as f64;
            let at = |lr: f64| {
                let r = lr.exp();
                (r * theta.cos(), r * theta.sin())
            };
            let f = |lr: f64| theta + self.arg_rest(at(lr));
            let (mut lo, mut hi) = (-40.0, 40.0);
            if f(lo).signum() == f(hi).signum() {
                continue;
            }
            for _ in 0..200 {
                let mid = 0.5 * (lo + hi);
                if f(mid).signum() == f(lo).signum() {
                    lo = mid;
                } else {
                    hi = mid;
                }
            }
            // A root at the end of the bracket is arg χ's round-off of 0 as r → ∞, not a point.
            if hi > 39.0 {
                continue;
            }
            let z = at(0.5 * (lo + hi));
            let log10_lambda = -self.ln_abs_chi(z) / std::f64::consts::LN_10;
            let density = -std::f64::consts::LN_10 * z.1 / std::f64::consts::PI;
            if log10_lambda.is_finite() && density > 0.0 {
                out.push((log10_lambda, density));
            }
        }
        out.sort_by(|a, b| a.0.total_cmp(&b.0));
        out
    }
}

/// The closed law of a cell (linear or ReLU φ, i.i.d. or orthogonal square layers), if any.
pub fn closed_law(cell: &Cell) -> Option<ClosedLaw> {
    let init = &cell.init.init;
    let relu = match cell.activation {
        crate::activation::Activation::Linear => false,
        crate::activation::Activation::Relu => true,
        _ => return None,
    };
    if init.lsuv.is_some() || cell.widths.iter().any(|&n| n != cell.widths[0]) {
        return None;
    }
    let v_w = weight_nvar(&init.weight)?;
    let mut scale = 1.0;
    for tap in cell.network().taps() {
        let var_w = init.weight.moments(&tap.weight_shape).ok()?.var;
        scale /= var_w * tap.fan_in as f64;
    }
    let l = cell.depth;
    if v_w == 0.0 && !relu {
        // Linear orthogonal: J is orthogonal up to scale, a point mass with no density.
        return None;
    }
    Some(ClosedLaw {
        gaussian: if v_w > 0.0 { l } else { 0 },
        relu: if relu { l } else { 0 },
        scale,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One Gaussian linear layer: Marchenko–Pastur with ratio 1, ρ(λ) = √(λ(4 − λ))/(2πλ) on
    /// (0, 4); and for deeper products the density integrates to the continuous mass (1 for
    /// linear, ½ for ReLU) with mean E[λ] = ∏σ²μ1 (1 here) — a check of the branch and scale.
    #[test]
    fn ray_method_density() {
        let mp = ClosedLaw {
            gaussian: 1,
            relu: 0,
            scale: 1.0,
        };
        for (x, d) in mp.log10_density(400) {
            let l = 10f64.powf(x);
            let want = (l * (4.0 - l)).sqrt() / (2.0 * std::f64::consts::PI * l)
                * l
                * std::f64::consts::LN_10;
            assert!(
                (d - want).abs() < 1e-6 * (1.0 + want),
                "λ = {l}: {d} vs {want}"
            );
        }
        for (law, mass) in [
            (
                ClosedLaw {
                    gaussian: 4,
                    relu: 0,
                    scale: 1.0,
                },
                1.0,
            ),
            (
                ClosedLaw {
                    gaussian: 6,
                    relu: 6,
                    scale: 2f64.powi(-6),
                },
                0.5,
            ),
            (
                ClosedLaw {
                    gaussian: 0,
                    relu: 5,
                    scale: 2f64.powi(-5),
                },
                0.5,
            ),
        ] {
            let pts = law.log10_density(20000);
            let (mut m0, mut m1) = (0.0, 0.0);
            for w in pts.windows(2) {
                let dx = w[1].0 - w[0].0;
                let f = |p: (f64, f64)| p.1;
                m0 += 0.5 * (f(w[0]) + f(w[1])) * dx;
                let g = |p: (f64, f64)| p.1 * 10f64.powf(p.0);
                m1 += 0.5 * (g(w[0]) + g(w[1])) * dx;
            }
            assert!((m0 - mass).abs() < 0.01, "{law:?}: mass {m0}");
            assert!((m1 - 1.0).abs() < 0.02, "{law:?}: mean {m1}");
        }
    }
}
