//! What a layer is, as plain data: its kind, sizes, weight shape in PyTorch layout, fans and
//! GEMM cost. No tensors and no random numbers: the simulator's products live in
//! [`crate::sim::layers`], the theory's recursion in [`crate::theory::recursion`], and both
//! match on [`Layer`] without a wildcard arm, so a new kind is listed by the compiler
//! everywhere it must be handled.
//!
//! A sample's features are `channels × image` (image empty for an MLP): the simulator holds a
//! batch as a `[batch·positions, channels]` matrix (channels last), so a dense layer is a conv
//! layer with one position and a 1-tap kernel.
//!
//! Layers nest: a [`Residual`] block holds its branch as a layer list. Every layer, nested or
//! not, has a **node id**: its position in a depth-first, pre-order walk (a residual block, then
//! its branch, then its projection shortcut), which is how the simulator's probe names it.

use crate::init::fans::fans;

/// How a convolution treats positions outside the image.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Padding {
    /// PyTorch's default `padding_mode = "zeros"`: outside is 0.
    Zeros,
    /// `padding_mode = "circular"`: the image wraps around (a torus).
    Circular,
}

impl Padding {
    pub const NAMES: &'static [&'static str] = &["zeros", "circular"];

    pub fn name(self) -> &'static str {
        match self {
            Padding::Zeros => "zeros",
            Padding::Circular => "circular",
        }
    }

    pub fn from_name(name: &str) -> Option<Padding> {
        match name {
            "zeros" => Some(Padding::Zeros),
            "circular" => Some(Padding::Circular),
            _ => None,
        }
    }
}

/// The per-sample shape of a tensor between layers: `channels` at each of ∏`image` positions.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Features {
    pub channels: usize,
    /// Spatial sizes (`[]` for dense features, `[L]` for conv1d, `[H, W]` for conv2d).
    pub image: Vec<usize>,
}

impl Features {
    pub fn dense(channels: usize) -> Features {
        Features {
            channels,
            image: Vec::new(),
        }
    }

    /// Positions per sample: ∏ image (1 for dense features).
    pub fn positions(&self) -> usize {
        self.image.iter().product()
    }

    /// Entries per sample: channels · positions.
    pub fn len(&self) -> usize {
        self.channels * self.positions()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// How a weighted layer's drawn weight is changed before use (init recipes of residual nets).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct WeightMod {
    /// Multiplies the drawn weight (Fixup: L^(−1/(2m−2)) on a branch's layers, 0 on its last).
    pub scale: f64,
    /// Scaled weight standardization with this gain (Brock et al. 2021, Eq. 3; NF-ResNets):
    /// Ŵ_i = γ·(W_i − mean(W_i))/(std(W_i)·√fan_in) per output row i.
    pub ws_gain: Option<f64>,
}

impl WeightMod {
    pub const NONE: WeightMod = WeightMod {
        scale: 1.0,
        ws_gain: None,
    };

    pub fn is_none(&self) -> bool {
        *self == WeightMod::NONE
    }
}

impl Default for WeightMod {
    fn default() -> Self {
        WeightMod::NONE
    }
}

/// A fully connected layer y = x·Wᵀ + b, W of shape `[out, in]`, applied at every position.
#[derive(Debug, Clone, PartialEq)]
pub struct Dense {
    pub inp: usize,
    pub out: usize,
    pub bias: bool,
    pub wmod: WeightMod,
}

/// A convolution with stride 1 and "same" output size: y[p] = Σ_t W_t·x[p + s_t] + b, W of
/// shape `[out, in, k, (k)]` (PyTorch layout), taps t over the k^d kernel positions with offsets
/// s_t ∈ {−(k−1)/2, …, (k−1)/2}^d, outside positions given by `padding`.
#[derive(Debug, Clone, PartialEq)]
pub struct Conv {
    pub inp: usize,
    pub out: usize,
    /// The image the layer works on (its input's and output's spatial sizes).
    pub image: Vec<usize>,
    /// Odd kernel size k (the same along every dimension).
    pub kernel: usize,
    pub padding: Padding,
    pub bias: bool,
    pub wmod: WeightMod,
}

impl Conv {
    /// Kernel positions k^d.
    pub fn taps(&self) -> usize {
        self.kernel.pow(self.image.len() as u32)
    }
}

/// Which statistics a normalization layer uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum NormKind {
    /// BatchNorm in training mode (as at step 0): per channel over batch × positions
    /// (Ioffe & Szegedy 2015).
    Batch,
    /// LayerNorm: per sample over channels × positions (Ba et al. 2016).
    Layer,
}

impl NormKind {
    pub fn name(self) -> &'static str {
        match self {
            NormKind::Batch => "batchnorm",
            NormKind::Layer => "layernorm",
        }
    }
}

/// y = (x − μ)/√(σ² + ε) with the statistics of [`NormKind`], γ = 1, β = 0 (PyTorch's
/// init), ε = 1e-5; the backward pass goes through μ and σ² exactly.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Norm {
    pub kind: NormKind,
    pub eps: f64,
}

/// PyTorch's default ε of BatchNorm and LayerNorm.
pub const NORM_EPS: f64 = 1e-5;

/// A residual block x_{b+1} = s + α·f(x_b/β) with f = `body`; the shortcut s is the identity
/// x_b, or where the width changes a projection (1×1 conv / linear) of the branch's input
/// x_b/β (NF-ResNet transition blocks; with β = 1 it reads x_b).
#[derive(Debug, Clone, PartialEq)]
pub struct Residual {
    pub body: Vec<Layer>,
    pub shortcut: Option<Box<Layer>>,
    /// α, the branch multiplier (SkipInit: 0; NF-ResNets: 0.2).
    pub alpha: f64,
    /// β_b: the block's input is divided by it (1 = none; NF-ResNets: the expected std).
    pub beta: f64,
}

/// One layer of a network.
#[derive(Debug, Clone, PartialEq)]
pub enum Layer {
    Dense(Dense),
    Conv(Conv),
    /// The cell's activation φ, elementwise.
    Act,
    Norm(Norm),
    Residual(Residual),
}

impl Layer {
    /// The weight tensor's shape in PyTorch layout `[out, in, k...]`; `None` when the layer
    /// has no weights.
    pub fn weight_shape(&self) -> Option<Vec<usize>> {
        match self {
            Layer::Dense(d) => Some(vec![d.out, d.inp]),
            Layer::Conv(c) => {
                let mut s = vec![c.out, c.inp];
                s.extend(std::iter::repeat_n(c.kernel, c.image.len()));
                Some(s)
            }
            Layer::Act | Layer::Norm(_) | Layer::Residual(_) => None,
        }
    }

    /// The weight modification of a weighted layer.
    pub fn wmod(&self) -> WeightMod {
        match self {
            Layer::Dense(d) => d.wmod,
            Layer::Conv(c) => c.wmod,
            _ => WeightMod::NONE,
        }
    }

    /// Nodes in this layer's subtree (itself, its branch and its shortcut).
    pub fn node_count(&self) -> usize {
        match self {
            Layer::Residual(r) => {
                1 + r.body.iter().map(Layer::node_count).sum::<usize>()
                    + r.shortcut.as_ref().map_or(0, |s| s.node_count())
            }
            _ => 1,
        }
    }

    /// PyTorch's (fan_in, fan_out) of the weight: (in·k^d, out·k^d).
    pub fn fans(&self) -> Option<(usize, usize)> {
        self.weight_shape().and_then(|s| fans(&s).ok())
    }

    /// Whether the layer adds a bias vector (length `out`).
    pub fn has_bias(&self) -> bool {
        match self {
            Layer::Dense(d) => d.bias,
            Layer::Conv(c) => c.bias,
            Layer::Act | Layer::Norm(_) | Layer::Residual(_) => false,
        }
    }

    /// The per-sample output shape for input `x`, or why the layer does not fit it.
    pub fn out_features(&self, x: &Features) -> Result<Features, String> {
        match self {
            Layer::Dense(d) => {
                if x.channels != d.inp {
                    return Err(format!(
                        "dense layer expects {} input features, found {}",
                        d.inp, x.channels
                    ));
                }
                Ok(Features {
                    channels: d.out,
                    image: x.image.clone(),
                })
            }
            Layer::Conv(c) => {
                if x.channels != c.inp || x.image != c.image {
                    return Err(format!(
                        "conv layer expects {} channels × {:?}, found {} × {:?}",
                        c.inp, c.image, x.channels, x.image
                    ));
                }
                Ok(Features {
                    channels: c.out,
                    image: c.image.clone(),
                })
            }
            Layer::Act | Layer::Norm(_) => Ok(x.clone()),
            Layer::Residual(r) => {
                let mut f = x.clone();
                for (i, l) in r.body.iter().enumerate() {
                    f = l
                        .out_features(&f)
                        .map_err(|e| format!("branch layer {}: {e}", i + 1))?;
                }
                let s = match &r.shortcut {
                    Some(s) => s.out_features(x).map_err(|e| format!("shortcut: {e}"))?,
                    None => x.clone(),
                };
                if s != f {
                    return Err(format!(
                        "the branch gives {} × {:?} but the shortcut {} × {:?}",
                        f.channels, f.image, s.channels, s.image
                    ));
                }
                Ok(f)
            }
        }
    }

    /// Flops of the layer's three GEMMs for a batch (forward, input gradient, weight
    /// gradient, 2·rows·fan_in·out each; 0 without weights).
    pub fn gemm_flops(&self, batch: usize, x: &Features) -> f64 {
        match self.fans() {
            Some((fan_in, fan_out)) => {
                let rows = (batch * x.positions()) as f64;
                let out = match self {
                    Layer::Dense(d) => d.out,
                    Layer::Conv(c) => c.out,
                    _ => 0,
                };
                debug_assert!(fan_out >= out);
                3.0 * 2.0 * rows * fan_in as f64 * out as f64
            }
            None => 0.0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes_and_fans_follow_pytorch() {
        let d = Layer::Dense(Dense {
            inp: 256,
            out: 128,
            bias: true,
            wmod: WeightMod::NONE,
        });
        assert_eq!(d.weight_shape().unwrap(), vec![128, 256]);
        assert_eq!(d.fans().unwrap(), (256, 128));
        let c2 = Layer::Conv(Conv {
            inp: 32,
            out: 64,
            image: vec![8, 6],
            kernel: 3,
            padding: Padding::Zeros,
            bias: false,
            wmod: WeightMod::NONE,
        });
        assert_eq!(c2.weight_shape().unwrap(), vec![64, 32, 3, 3]);
        assert_eq!(c2.fans().unwrap(), (32 * 9, 64 * 9));
        let c1 = Layer::Conv(Conv {
            inp: 4,
            out: 5,
            image: vec![10],
            kernel: 5,
            padding: Padding::Circular,
            bias: true,
            wmod: WeightMod::NONE,
        });
        assert_eq!(c1.weight_shape().unwrap(), vec![5, 4, 5]);
        assert_eq!(c1.fans().unwrap(), (20, 25));
        assert!(Layer::Act.fans().is_none());
        let x = Features {
            channels: 32,
            image: vec![8, 6],
        };
        assert_eq!(c2.out_features(&x).unwrap().len(), 64 * 48);
        assert!(c1.out_features(&x).is_err());
        assert_eq!(c2.gemm_flops(2, &x), 6.0 * 96.0 * 288.0 * 64.0);
    }
}
