//! What a layer is, as plain data: its kind, sizes, weight shape in PyTorch layout, fans and
//! GEMM cost. No tensors and no random numbers: the simulator's products live in
//! [`crate::sim::layers`], the theory's recursion in [`crate::theory::recursion`], and both
//! match on [`Layer`] without a wildcard arm, so a new kind is listed by the compiler
//! everywhere it must be handled.
//!
//! A sample's features are `channels × image` (image empty for an MLP): the simulator holds a
//! batch as a `[batch·positions, channels]` matrix (channels last), so a dense layer is a conv
//! layer with one position and a 1-tap kernel.

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

/// A fully connected layer y = x·Wᵀ + b, W of shape `[out, in]`, applied at every position.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Dense {
    pub inp: usize,
    pub out: usize,
    pub bias: bool,
}

/// A convolution with stride 1 and "same" output size: y[p] = Σ_t W_t·x[p + s_t] + b, W of
/// shape `[out, in, k, (k)]` (PyTorch layout), taps t over the k^d kernel positions with offsets
/// s_t ∈ {−(k−1)/2, …, (k−1)/2}^d, outside positions given by `padding`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Conv {
    pub inp: usize,
    pub out: usize,
    /// The image the layer works on (its input's and output's spatial sizes).
    pub image: Vec<usize>,
    /// Odd kernel size k (the same along every dimension).
    pub kernel: usize,
    pub padding: Padding,
    pub bias: bool,
}

impl Conv {
    /// Kernel positions k^d.
    pub fn taps(&self) -> usize {
        self.kernel.pow(self.image.len() as u32)
    }
}

/// One layer of a network.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Layer {
    Dense(Dense),
    Conv(Conv),
    /// The cell's activation φ, elementwise.
    Act,
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
            Layer::Act => None,
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
            Layer::Act => false,
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
            Layer::Act => Ok(x.clone()),
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
                    Layer::Act => 0,
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
