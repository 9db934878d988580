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
