//! Layer-by-layer variance propagation at initialization (He et al. 2015; Glorot & Bengio 2010),
//! for any activation and the per-layer weight and bias statistics of any random init.
//!
//! Network (DESIGN contract): y_l = x_{l−1}·W_lᵀ + b_l, x_l = φ(y_l) for l = 1..L (the last
//! layer too); loss = Σ x_L ⊙ g; δ_l = ∂loss/∂y_l.
//!
//! **Forward** (He et al. 2015, Eq. 7; Glorot & Bengio 2010, Eq. 5 in the linear regime):
//!   Var[y_l] = n_l·Var[w_l]·E[x_{l−1}²] + Var[b_l],   E[y_l] = n_l·E[w_l]·E[x_{l−1}] + E[b_l],
//! with n_l = fan_in. Only zero-mean weights are treated (see [`layer_init`]), so
//! E[y_l] = E[b_l] =: μ_l. E[x_0²] is the input's second moment (input std², zero mean), and for
//! l ≥ 1, with y_l Gaussian by the central limit theorem over the fan-in,
//!   E[x_l²] = E_z[φ(μ_l + √Var[y_l]·z)²]
//! (ReLU, μ = 0: ½·Var[y_l], He et al. 2015, Eq. 8, so Var[y_L] = Var[y_1]·Π_{l≥2} ½·n_l·Var[w_l], Eq. 9).
//!
//! **Backward** (He et al. 2015, Eq. 11–13; Glorot & Bengio 2010, Eq. 6):
//!   Var[δ_L] = Var[g]·E[φ′(y_L)²],
//!   Var[δ_{l−1}] = n̂_l·Var[w_l]·E[φ′(y_{l−1})²]·Var[δ_l],
//! with n̂_l = fan_out of W_l (the number of units of layer l that x_{l−1} feeds) and the
//! Gaussian expectation at layer l−1's predicted mean and variance. δ has mean zero because g
//! does. As in the papers, the backward weights are treated as independent of the forward
//! activations (exact at infinite width).
//!
//! Assumptions, stated once: weights i.i.d. per entry with mean zero (orthogonal rows are not
//! independent but preserve the same second moment exactly, gain²/max(rows, cols) per entry);
//! the pre-activation is Gaussian (CLT over the fan-in; the bias adds its own distribution, a
//! small term for every built-in bias rule, treated as Gaussian of the same mean and variance);
//! infinite width (corrections are O(1/n) per layer).

use super::gaussian::{expect, Moment};
use crate::config::DataDist;
use crate::init::{Init, Scheme};
use crate::arch::network::LayerShape;

/// What the recursion needs to know about one layer's init.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LayerInit {
    /// n_l·Var[w_l] (fan_in side): σ_w² in mean-field notation.
    pub forward_gain: f64,
    /// n̂_l·Var[w_l] (fan_out side).
    pub backward_gain: f64,
    /// E[b_l] (= E[y_l] with zero-mean weights).
    pub bias_mean: f64,
    /// Var[b_l]: σ_b².
    pub bias_var: f64,
}

impl LayerInit {
    /// A layer given directly by mean-field parameters σ_w², σ_b² (fan_in = fan_out).
    pub fn mean_field(sigma_w2: f64, sigma_b2: f64) -> LayerInit {
        LayerInit {
            forward_gain: sigma_w2,
            backward_gain: sigma_w2,
            bias_mean: 0.0,
            bias_var: sigma_b2,
        }
    }
}

/// The predicted statistics of one layer.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LayerPrediction {
    /// 1-based layer index.
    pub layer: usize,
    /// E[y_l].
    pub preact_mean: f64,
    /// Var[y_l] (`theory_preact_var`).
    pub preact_var: f64,
    /// E[x_l²].
    pub act_sq_mean: f64,
    /// E[φ′(y_l)²].
    pub dphi_sq_mean: f64,
    /// Var[δ_l] (`theory_grad_var`).
    pub grad_var: f64,
}

/// Forward and backward recursion through `layers` for input second moment `input_sq_mean`
/// (E[x_0²]) and output-gradient variance `output_grad_var` (Var[g]).
pub fn propagate(
    act: crate::activation::Activation,
    layers: &[LayerInit],
    input_sq_mean: f64,
    output_grad_var: f64,
) -> Vec<LayerPrediction> {
    let mut out = Vec::with_capacity(layers.len());
    let mut x_sq = input_sq_mean;
    for (i, l) in layers.iter().enumerate() {
        let var = l.forward_gain * x_sq + l.bias_var;
        let s = var.max(0.0).sqrt();
        x_sq = expect(act, Moment::Phi2, l.bias_mean, s);
        out.push(LayerPrediction {
            layer: i + 1,
            preact_mean: l.bias_mean,
            preact_var: var,
            act_sq_mean: x_sq,
            dphi_sq_mean: expect(act, Moment::Dphi2, l.bias_mean, s),
            grad_var: f64::NAN,
        });
    }
    let mut d = output_grad_var;
    for i in (0..out.len()).rev() {
        // δ_l = (δ_{l+1}·W_{l+1}) ⊙ φ′(y_l); for l = L the upstream is g.
        if i + 1 < out.len() {
            d *= layers[i + 1].backward_gain;
        }
        d *= out[i].dphi_sq_mean;
        out[i].grad_var = d;
    }
    out
}

/// Why no theory applies to an init, or its [`LayerInit`] for a layer of `shape`.
/// `bias = false` (the experiment's `network.bias`) means no bias at all.
///
/// No theory (the columns stay empty) for:
/// - `eye`/`dirac`: deterministic weights, not a random ensemble;
/// - weights with a non-zero mean (`ones`, `constant(val≠0)`, `uniform(a, b)` with a + b ≠ 0,
///   `normal(mean≠0)`, asymmetric `trunc_normal`): the term n·E[w]·Σ_j x_j is then shared by
///   every unit of a sample, so the pre-activations of one sample are no longer independent
///   across units and the i.i.d. mean-field description (He, Glorot, Poole, Schoenholz) does
///   not hold beyond the first layer.
pub fn layer_init(init: &Init, shape: &LayerShape, bias: bool) -> Result<LayerInit, String> {
    if matches!(init.weight, Scheme::Eye | Scheme::Dirac { .. }) {
        return Err(format!(
            "{}: deterministic (identity) weights; the theory is for random i.i.d. weights",
            init.weight.name()
        ));
    }
    let ws = shape.weight_shape();
    let w = init.weight.moments(&ws)?;
    if w.mean != 0.0 && w.mean.abs() > 1e-12 * w.var.sqrt() {
        return Err(format!(
            "{}: weight mean {} is not zero; a shared mean couples the units of a sample \
             (pre-activation mean n·E[w]·E[x] + E[b] with sample-to-sample fluctuations \
             n·E[w]·Σx), which the i.i.d. Gaussian theory does not describe",
            init.weight.canonical(),
            w.mean
        ));
    }
    let (bias_mean, bias_var) = if bias {
        let b = init.bias.moments(&ws)?;
        (b.mean, b.var)
    } else {
        (0.0, 0.0)
    };
    Ok(LayerInit {
        forward_gain: shape.fan_in as f64 * w.var,
        backward_gain: shape.fan_out as f64 * w.var,
        bias_mean,
        bias_var,
    })
}

/// Per-layer predictions for `shapes` under `init`, with the given input and output-gradient
/// distributions (both zero-mean; only their variance std² enters).
pub fn predict(
    act: crate::activation::Activation,
    init: &Init,
    shapes: &[LayerShape],
    bias: bool,
    input: DataDist,
    output_grad: DataDist,
) -> Result<Vec<LayerPrediction>, String> {
    let layers = shapes
        .iter()
        .map(|s| layer_init(init, s, bias))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(propagate(
        act,
        &layers,
        input.std * input.std,
        output_grad.std * output_grad.std,
    ))
}
