//! Residual networks at initialization: the second-moment recursion per block,
//!   E[x_{b+1}²] = E[s(x_b)²] + α²·E[f_b²],
//! the branch being uncorrelated with the stream at init (its last weights are independent of
//! everything before), with the branch's E[f_b²] from the layer recursion (He et al. 2015,
//! Eq. 7–8) on its input x_b/β_b. The recipes' closed forms follow (ReLU, He init, 2-layer
//! branches, stem output variance q_0):
//! - unnormalized: the branch preserves its input's second moment, E[f_b²] = E[x_b²], so
//!   E[x_b²] = 2^b·q_0;
//! - a BatchNorm (or LayerNorm) before each φ: E[f_b²] = 2·E[relu(z)²] = 1, so E[x_b²] = q_0 + b;
//! - NF-ResNet (α = 0.2, β_b = expected std, scaled weight standardization with
//!   γ = 1/√Var[φ(z)]): E[f_b²] = γ²·Var[φ(z)] = 1, so + α² = 0.04 per block, and
//!   1 + α² after each transition (a projection on x_b/β_b with γ = 1);
//! - Fixup (last branch layer 0) and SkipInit (α = 0): f_b = 0, E[x_b²] = q_0 exactly.
//!
//! **Channel mean and channel variance** (Brock et al. 2021's SPP panels). The second moment
//! splits as E[x²] = avg_c μ_c² + avg_c σ_c² (channel squared mean + channel variance). A
//! branch layer W·φ(z) + b with zero-mean weights and per-channel statistics z ~ N(0, v) gives
//! each output channel the mean m₁·Σ_j w_cj + b_c (m₁ = E[φ(z)]) and the variance
//! Σ_j w_cj²·Var[φ(z)], so on average
//!   channel squared mean = σ_w²·m₁² + E[b²],   channel variance = σ_w²·(m₂ − m₁²):
//! under ReLU a BatchNorm branch adds 2·(1/(2π)) = 1/π ≈ 0.318 to the squared mean and
//! 1 − 1/π ≈ 0.682 to the channel variance per block. Standardized weights sum to 0 per row,
//! so an NF branch adds only variance. The split is predicted when every branch sees
//! normalized inputs (a norm, or weight standardization) or is exactly 0; an unnormalized
//! branch sees the stream itself, whose channel means make its input non-Gaussian per
//! channel, so only E[x²] is predicted there (and the 2^b law is the zero-mean approximation).

use super::gaussian::{expect, Moment};
use crate::activation::Activation;
use crate::arch::layer::Layer;
use crate::arch::network::Network;
use crate::init::Init;

/// The predicted statistics of the stream after one block (block 0: the stem's output).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BlockPrediction {
    pub block: usize,
    /// E[x²] (= channel squared mean + channel variance).
    pub second_moment: f64,
    /// The split, where predicted (see the module docs).
    pub avg_channel_sq_mean: Option<f64>,
    pub avg_channel_var: Option<f64>,
    /// The branch output's average channel variance (not for block 0).
    pub branch_avg_channel_var: Option<f64>,
}

/// Mean and variance of one weight entry and of its bias, with the layer's modification.
struct WeightStats {
    /// fan_in·Var[w]·scale² (γ² under weight standardization).
    gain: f64,
    /// Rows sum to zero (weight standardization).
    centred: bool,
    /// E[b²].
    bias_sq: f64,
}

fn weight_stats(init: &Init, layer: &Layer) -> Result<WeightStats, String> {
    let shape = layer.weight_shape().ok_or("not a weighted layer")?;
    let (fan_in, _) = layer.fans().ok_or("no fans")?;
    let wm = layer.wmod();
    let bias_sq = if layer.has_bias() {
        let b = init.bias.moments(&shape)?;
        b.var + b.mean * b.mean
    } else {
        0.0
    };
    if let Some(g) = wm.ws_gain {
        return Ok(WeightStats {
            gain: g * g * wm.scale * wm.scale,
            centred: true,
            bias_sq,
        });
    }
    let w = init.weight.moments(&shape)?;
    if w.mean.abs() > 1e-12 * w.var.sqrt() {
        return Err(format!(
            "{}: weight mean {} is not zero",
            init.weight.canonical(),
            w.mean
        ));
    }
    Ok(WeightStats {
        gain: fan_in as f64 * w.var * wm.scale * wm.scale,
        centred: false,
        bias_sq,
    })
}

/// (squared-mean part, variance part) of a tensor's second moment.
#[derive(Debug, Clone, Copy)]
struct Split {
    sq: f64,
    var: f64,
}

impl Split {
    fn total(self) -> f64 {
        self.sq + self.var
    }
    fn scaled(self, k: f64) -> Split {
        Split {
            sq: self.sq * k,
            var: self.var * k,
        }
    }
}

/// Per-block predictions for a residual network, or why none apply (not a ResNet, identity
/// or mean-shifted weights).
pub fn predict_blocks(
    act: Activation,
    init: &Init,
    net: &Network,
    input_sq_mean: f64,
) -> Result<Vec<BlockPrediction>, String> {
    if !net.layers.iter().any(|l| matches!(l, Layer::Residual(_))) {
        return Err("not a residual network".into());
    }
    if matches!(
        init.weight,
        crate::init::Scheme::Eye | crate::init::Scheme::Dirac { .. }
    ) {
        return Err("deterministic (identity) weights".into());
    }
    let mut out = Vec::new();
    let mut stream: Option<Split> = None;
    let mut split_ok = true;
    for layer in &net.layers {
        match layer {
            Layer::Dense(_) | Layer::Conv(_) => {
                // The stem, on the zero-mean input: the biases are each channel's mean.
                let w = weight_stats(init, layer)?;
                let s = Split {
                    sq: w.bias_sq,
                    var: w.gain * input_sq_mean,
                };
                stream = Some(s);
                out.push(BlockPrediction {
                    block: 0,
                    second_moment: s.total(),
                    avg_channel_sq_mean: Some(s.sq),
                    avg_channel_var: Some(s.var),
                    branch_avg_channel_var: None,
                });
            }
            Layer::Residual(r) => {
                let x = stream.ok_or("a residual block before the stem")?;
                let xin = x.scaled(1.0 / (r.beta * r.beta));
                // The branch: [norm?, φ, W] × m.
                let mut pre: Option<f64> = None; // variance of the next φ's input
                let mut normalized = false;
                let mut f = Split { sq: 0.0, var: 0.0 };
                let mut first = true;
                let mut branch_ok = true;
                let mut zero = false;
                for l in &r.body {
                    match l {
                        Layer::Norm(_) => {
                            pre = Some(1.0);
                            normalized = true;
                        }
                        Layer::Act => {
                            if pre.is_none() {
                                pre = Some(if first { xin.total() } else { f.total() });
                                if first {
                                    // φ of the stream itself: its channel means are not a
                                    // Gaussian per channel.
                                    normalized = false;
                                }
                            }
                        }
                        Layer::Dense(_) | Layer::Conv(_) => {
                            let w = weight_stats(init, l)?;
                            let v = pre.take().unwrap_or(f.total());
                            let s = v.max(0.0).sqrt();
                            let (m1, m2) = (
                                expect(act, Moment::Phi, 0.0, s),
                                expect(act, Moment::Phi2, 0.0, s),
                            );
                            if w.gain == 0.0 {
                                zero = true;
                            }
                            f = if w.centred {
                                Split {
                                    sq: w.bias_sq,
                                    var: w.gain * (m2 - m1 * m1),
                                }
                            } else {
                                Split {
                                    sq: w.gain * m1 * m1 + w.bias_sq,
                                    var: w.gain * (m2 - m1 * m1),
                                }
                            };
                            if !(normalized || w.centred) {
                                branch_ok = false;
                            }
                            normalized = false;
                            first = false;
                        }
                        Layer::Residual(_) => return Err("nested residual blocks".into()),
                    }
                }
                let shortcut = match &r.shortcut {
                    None => x,
                    Some(p) => {
                        let w = weight_stats(init, p)?;
                        Split {
                            sq: w.gain * xin.sq + w.bias_sq,
                            var: w.gain * xin.var,
                        }
                    }
                };
                let a2 = r.alpha * r.alpha;
                if !(branch_ok || zero || r.alpha == 0.0) {
                    split_ok = false;
                }
                let f_eff = if zero { Split { sq: 0.0, var: 0.0 } } else { f };
                let next = Split {
                    sq: shortcut.sq + a2 * f_eff.sq,
                    var: shortcut.var + a2 * f_eff.var,
                };
                stream = Some(next);
                out.push(BlockPrediction {
                    block: out.len(),
                    second_moment: next.total(),
                    avg_channel_sq_mean: split_ok.then_some(next.sq),
                    avg_channel_var: split_ok.then_some(next.var),
                    branch_avg_channel_var: (branch_ok || zero).then_some(f_eff.var),
                });
            }
            Layer::Act | Layer::Norm(_) => {
                return Err("an activation or norm outside the residual blocks".into())
            }
        }
    }
    Ok(out)
}
