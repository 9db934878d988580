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
//!
//! **Convolutions** (He et al. 2015, Sec. 2.2: n_l = k²c_l forward, n̂_l = k²d_l backward) use
//! the same recursion with PyTorch's fans. With circular padding every position sees all k^d
//! taps and the recursion is exact as written. With zero padding a position near the border
//! sees only its taps inside the image, so the variance becomes a field over positions:
//!   v_l(p) = σ_w²·Σ_t f_t·E[x_{l−1}²](p + s_t) + σ_b²,   (taps outside the image count 0)
//!   Var[δ_{l−1}](q) = n̂_l·Var[w_l]·Σ_t f_t·Var[δ_l](q − s_t)·E[φ′(y_{l−1}(q))²],
//! with f_t the share of the weight variance at tap t (1/k^d for i.i.d. schemes; all at the
//! centre for `delta_orthogonal`), and the pooled prediction is the mean of the field over
//! positions. At 32×32 with k = 3 the first layer already pools (1 − 2/96)² = 0.959 of the
//! circular value, and the deficit spreads inward by one position per layer (see
//! docs/conv.md for the measured border effect).

use super::gaussian::{expect, Moment};
use crate::arch::layer::{Layer, Padding};
use crate::arch::network::{Network, Tap};
use crate::config::DataDist;
use crate::init::{Init, Scheme};
use crate::sim::kernels::taps::TapTable;

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

/// Why no theory applies to an init, or its [`LayerInit`] for the weighted layer `tap` (its
/// own bias flag: no bias at all when `tap.bias` is false).
///
/// No theory (the columns stay empty) for:
/// - `eye`/`dirac`: deterministic weights, not a random ensemble;
/// - weights with a non-zero mean (`ones`, `constant(val≠0)`, `uniform(a, b)` with a + b ≠ 0,
///   `normal(mean≠0)`, asymmetric `trunc_normal`): the term n·E[w]·Σ_j x_j is then shared by
///   every unit of a sample, so the pre-activations of one sample are no longer independent
///   across units and the i.i.d. mean-field description (He, Glorot, Poole, Schoenholz) does
///   not hold beyond the first layer.
pub fn layer_init(init: &Init, tap: &Tap) -> Result<LayerInit, String> {
    if matches!(init.weight, Scheme::Eye | Scheme::Dirac { .. }) {
        return Err(format!(
            "{}: deterministic (identity) weights; the theory is for random i.i.d. weights",
            init.weight.name()
        ));
    }
    let ws = &tap.weight_shape;
    let w = init.weight.moments(ws)?;
    if w.mean != 0.0 && w.mean.abs() > 1e-12 * w.var.sqrt() {
        return Err(format!(
            "{}: weight mean {} is not zero; a shared mean couples the units of a sample \
             (pre-activation mean n·E[w]·E[x] + E[b] with sample-to-sample fluctuations \
             n·E[w]·Σx), which the i.i.d. Gaussian theory does not describe",
            init.weight.canonical(),
            w.mean
        ));
    }
    let (bias_mean, bias_var) = if tap.bias {
        let b = init.bias.moments(ws)?;
        (b.mean, b.var)
    } else {
        (0.0, 0.0)
    };
    Ok(LayerInit {
        forward_gain: tap.fan_in as f64 * w.var,
        backward_gain: tap.fan_out as f64 * w.var,
        bias_mean,
        bias_var,
    })
}

/// Share of a conv weight's variance at each tap (row-major over the kernel): all at the centre
/// for `delta_orthogonal`, 1/k^d for every other random scheme.
pub fn tap_shares(scheme: &Scheme, taps: usize) -> Vec<f64> {
    match scheme {
        Scheme::DeltaOrthogonal { .. } => {
            let mut f = vec![0.0; taps];
            f[taps / 2] = 1.0;
            f
        }
        _ => vec![1.0 / taps as f64; taps],
    }
}

/// Per-layer predictions for `net` under `init`, with the given input and output-gradient
/// distributions (both zero-mean; only their variance std² enters). The network must be a chain
/// in which every weighted layer is followed by the activation (the contract's network).
pub fn predict(
    act: crate::activation::Activation,
    init: &Init,
    net: &Network,
    input: DataDist,
    output_grad: DataDist,
) -> Result<Vec<LayerPrediction>, String> {
    let taps = net.taps();
    let chain = net.layers.len() == 2 * taps.len()
        && taps
            .iter()
            .enumerate()
            .all(|(i, t)| t.node == 2 * i && t.act_node == Some(2 * i + 1));
    if !chain {
        return Err(
            "the layer recursion covers chains of weighted layers each followed by the activation"
                .into(),
        );
    }
    let layers = taps
        .iter()
        .map(|t| layer_init(init, t))
        .collect::<Result<Vec<_>, _>>()?;
    let (q_in, g_var) = (input.std * input.std, output_grad.std * output_grad.std);
    // Forward and transposed tap tables of the zero-padded convolutions.
    let zero_padded: Vec<Option<(TapTable, TapTable)>> = taps
        .iter()
        .map(|t| match &net.layers[t.node] {
            Layer::Conv(c) if c.padding == Padding::Zeros && c.taps() > 1 => Some((
                TapTable::new(&c.image, c.kernel, c.padding, false),
                TapTable::new(&c.image, c.kernel, c.padding, true),
            )),
            _ => None,
        })
        .collect();
    if zero_padded.iter().all(|z| z.is_none()) {
        return Ok(propagate(act, &layers, q_in, g_var));
    }
    Ok(propagate_field(
        act,
        init,
        &taps,
        &layers,
        &zero_padded,
        q_in,
        g_var,
    ))
}

/// [`propagate`] over a field of positions for zero-padded convolutions (module docs): every
/// position's variance from its taps inside the image; pooled predictions are position means.
fn propagate_field(
    act: crate::activation::Activation,
    init: &Init,
    taps: &[Tap],
    layers: &[LayerInit],
    tables: &[Option<(TapTable, TapTable)>],
    input_sq_mean: f64,
    output_grad_var: f64,
) -> Vec<LayerPrediction> {
    let positions = taps[0].input.positions();
    let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len() as f64;
    // Gaussian moments by variance: interior positions share one value, so cache them.
    let mut memo: std::collections::HashMap<(u64, u64), (f64, f64)> = Default::default();
    let mut moments = |mu: f64, var: f64| {
        *memo
            .entry((mu.to_bits(), var.to_bits()))
            .or_insert_with(|| {
                let s = var.max(0.0).sqrt();
                (
                    expect(act, Moment::Phi2, mu, s),
                    expect(act, Moment::Dphi2, mu, s),
                )
            })
    };
    let mut x2 = vec![input_sq_mean; positions];
    let mut dphi2: Vec<Vec<f64>> = Vec::with_capacity(layers.len());
    let mut out = Vec::with_capacity(layers.len());
    for (i, l) in layers.iter().enumerate() {
        let v: Vec<f64> = match &tables[i] {
            Some((t, _)) => {
                let f = tap_shares(&init.weight, t.taps);
                (0..positions)
                    .map(|q| {
                        let s: f64 = (0..t.taps)
                            .filter_map(|k| t.source(q, k).map(|p| f[k] * x2[p]))
                            .sum();
                        l.forward_gain * s + l.bias_var
                    })
                    .collect()
            }
            None => x2
                .iter()
                .map(|&e| l.forward_gain * e + l.bias_var)
                .collect(),
        };
        let (e2, d2): (Vec<f64>, Vec<f64>) = v.iter().map(|&v| moments(l.bias_mean, v)).unzip();
        out.push(LayerPrediction {
            layer: i + 1,
            preact_mean: l.bias_mean,
            preact_var: mean(&v),
            act_sq_mean: mean(&e2),
            dphi_sq_mean: mean(&d2),
            grad_var: f64::NAN,
        });
        x2 = e2;
        dphi2.push(d2);
    }
    // Backward: d_L(q) = Var[g]·E[φ′(y_L(q))²]; through layer i + 1's transposed convolution.
    let last = layers.len() - 1;
    let mut d: Vec<f64> = dphi2[last].iter().map(|&e| output_grad_var * e).collect();
    out[last].grad_var = mean(&d);
    for i in (0..last).rev() {
        let gain = layers[i + 1].backward_gain;
        let back: Vec<f64> = match &tables[i + 1] {
            // The transposed convolution reads q − s_t: the negated table.
            Some((_, neg)) => {
                let f = tap_shares(&init.weight, neg.taps);
                (0..positions)
                    .map(|q| {
                        (0..neg.taps)
                            .filter_map(|k| neg.source(q, k).map(|p| f[k] * d[p]))
                            .sum::<f64>()
                    })
                    .collect()
            }
            None => d.clone(),
        };
        d = back
            .iter()
            .zip(&dphi2[i])
            .map(|(&b, &e)| gain * b * e)
            .collect();
        out[i].grad_var = mean(&d);
    }
    out
}
