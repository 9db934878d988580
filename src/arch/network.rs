//! The network under study as a list of [`Layer`]s, with the facts the sweep, the simulator,
//! the theory and the writers need about it: its **taps** (the weighted layers, one
//! `layers.csv` row each), their weight shapes and fans, and its cost in flops and bytes.
//! Builders turn plain sizes into layer lists (like candle's `conv2d(in, out, k, cfg)`); the
//! config's [`crate::config::Cell::network`] is the one place that calls them for a run.
//!
//! A chain `[W_1, φ, W_2, φ, …, W_L, φ]` is the contract's network: layer l maps
//! n_{l−1} → n_l features (channels for conv nets), y_l = W_l(x_{l−1}) + b_l, x_l = φ(y_l),
//! the last layer too.

use super::layer::{Conv, Dense, Features, Layer, Padding};

/// A network: its input's per-sample shape and its layers in order.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Network {
    pub input: Features,
    pub layers: Vec<Layer>,
}

/// A weighted layer as a `layers.csv` row: its weights, and the activation that follows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tap {
    /// 1-based row number (`layer` column); also part of the weight stream's key.
    pub index: usize,
    /// Position of the weighted layer in [`Network::layers`].
    pub node: usize,
    /// Position of the activation right after it, if any (its output is x_l).
    pub act_node: Option<usize>,
    /// PyTorch layout `[out, in, k...]`.
    pub weight_shape: Vec<usize>,
    pub fan_in: usize,
    pub fan_out: usize,
    pub bias: bool,
    /// Per-sample shapes of the layer's input and output.
    pub input: Features,
    pub output: Features,
}

impl Tap {
    /// Entries of the weight tensor.
    pub fn weight_len(&self) -> usize {
        self.weight_shape.iter().product()
    }
}

/// An MLP with the width profile `widths = [n_0, …, n_L]`: L × [Dense(n_{l−1} → n_l), φ].
pub fn mlp(widths: &[usize], bias: bool) -> Network {
    let layers = widths
        .windows(2)
        .flat_map(|w| {
            [
                Layer::Dense(Dense {
                    inp: w[0],
                    out: w[1],
                    bias,
                }),
                Layer::Act,
            ]
        })
        .collect();
    Network {
        input: Features::dense(widths[0]),
        layers,
    }
}

/// A plain conv net with channel profile `widths = [c_0, …, c_L]` on `image` (1-D or 2-D):
/// L × [Conv(c_{l−1} → c_l, k, padding), φ], stride 1, same size.
pub fn conv(
    widths: &[usize],
    image: &[usize],
    kernel: usize,
    padding: Padding,
    bias: bool,
) -> Network {
    let layers = widths
        .windows(2)
        .flat_map(|w| {
            [
                Layer::Conv(Conv {
                    inp: w[0],
                    out: w[1],
                    image: image.to_vec(),
                    kernel,
                    padding,
                    bias,
                }),
                Layer::Act,
            ]
        })
        .collect();
    Network {
        input: Features {
            channels: widths[0],
            image: image.to_vec(),
        },
        layers,
    }
}

impl Network {
    /// The per-sample shape after each layer (`shapes[i]` is layer i's output), or the first
    /// layer that does not fit its input.
    pub fn shapes(&self) -> Result<Vec<Features>, String> {
        let mut x = self.input.clone();
        let mut out = Vec::with_capacity(self.layers.len());
        for (i, l) in self.layers.iter().enumerate() {
            x = l
                .out_features(&x)
                .map_err(|e| format!("layer {}: {e}", i + 1))?;
            out.push(x.clone());
        }
        Ok(out)
    }

    /// Per-sample input shape of layer i.
    fn input_of(&self, shapes: &[Features], i: usize) -> Features {
        if i == 0 {
            self.input.clone()
        } else {
            shapes[i - 1].clone()
        }
    }

    /// The weighted layers in order, 1-based.
    pub fn taps(&self) -> Vec<Tap> {
        let shapes = self.shapes().expect("network built from validated sizes");
        let mut taps = Vec::new();
        for (node, l) in self.layers.iter().enumerate() {
            let (Some(weight_shape), Some((fan_in, fan_out))) = (l.weight_shape(), l.fans()) else {
                continue;
            };
            let act_node =
                matches!(self.layers.get(node + 1), Some(Layer::Act)).then_some(node + 1);
            taps.push(Tap {
                index: taps.len() + 1,
                node,
                act_node,
                weight_shape,
                fan_in,
                fan_out,
                bias: l.has_bias(),
                input: self.input_of(&shapes, node),
                output: shapes[node].clone(),
            });
        }
        taps
    }

    /// Number of weighted layers (the `depth` column).
    pub fn depth(&self) -> usize {
        self.layers
            .iter()
            .filter(|l| l.weight_shape().is_some())
            .count()
    }

    /// Per-sample shape of the network's output (where the output gradient g is injected).
    pub fn output(&self) -> Features {
        self.shapes()
            .expect("validated")
            .last()
            .cloned()
            .unwrap_or_else(|| self.input.clone())
    }

    /// GEMM flops of one forward + backward pass over `batch` samples.
    pub fn flops(&self, batch: usize) -> f64 {
        let shapes = self.shapes().expect("validated");
        self.layers
            .iter()
            .enumerate()
            .map(|(i, l)| l.gemm_flops(batch, &self.input_of(&shapes, i)))
            .sum()
    }

    /// Entries of all weight tensors.
    pub fn weight_entries(&self) -> u128 {
        self.taps().iter().map(|t| t.weight_len() as u128).sum()
    }

    /// The largest per-sample tensor between layers (input included).
    pub fn max_features(&self) -> usize {
        self.shapes()
            .expect("validated")
            .iter()
            .map(|f| f.len())
            .chain([self.input.len()])
            .max()
            .unwrap_or(0)
    }

    /// Entries the simulator keeps from the forward to the backward pass for `batch` samples:
    /// the input and every layer output except an activation's (recomputed from its input).
    pub fn stored_entries(&self, batch: usize) -> u128 {
        let shapes = self.shapes().expect("validated");
        let outputs: u128 = self
            .layers
            .iter()
            .zip(&shapes)
            .filter(|(l, _)| !matches!(l, Layer::Act))
            .map(|(_, f)| f.len() as u128)
            .sum();
        batch as u128 * (outputs + self.input.len() as u128)
    }

    /// Bytes one simulation job holds at its peak: the stored tensors, five tensors of the
    /// largest size (the output gradient g, and in the backward pass the running gradient, the
    /// input gradient, φ and φ′ of the recomputed activation), the weights when
    /// `keep_weights` (else three of the largest: the layer, its GEMM operand and its gradient).
    pub fn job_bytes(&self, batch: usize, elem_bytes: usize, keep_weights: bool) -> u128 {
        let b = elem_bytes as u128;
        let taps = self.taps();
        let largest_weight = taps.iter().map(|t| t.weight_len()).max().unwrap_or(0) as u128;
        let weights = if keep_weights {
            self.weight_entries() + 2 * largest_weight
        } else {
            3 * largest_weight
        };
        let buffers = 5 * batch as u128 * self.max_features() as u128;
        (self.stored_entries(batch) + weights + buffers) * b
    }
}

/// The profile as the `widths` column writes it: `64-128-256`.
pub fn profile_label(widths: &[usize]) -> String {
    widths
        .iter()
        .map(|w| w.to_string())
        .collect::<Vec<_>>()
        .join("-")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn taps_fans_and_costs() {
        let net = mlp(&[8, 16, 4], true);
        let taps = net.taps();
        assert_eq!(taps.len(), 2);
        assert_eq!(net.depth(), 2);
        assert_eq!(
            (taps[0].index, taps[0].node, taps[0].act_node),
            (1, 0, Some(1))
        );
        assert_eq!(taps[1].weight_shape, vec![4, 16]);
        assert_eq!((taps[1].fan_in, taps[1].fan_out), (16, 4));
        assert_eq!(net.output(), Features::dense(4));
        assert_eq!(net.flops(2), 6.0 * 2.0 * (8.0 * 16.0 + 16.0 * 4.0));
        assert_eq!(net.stored_entries(2), 2 * (8 + 16 + 4));

        let c = conv(&[3, 8, 8], &[5, 4], 3, Padding::Zeros, false);
        let taps = c.taps();
        assert_eq!(taps[0].weight_shape, vec![8, 3, 3, 3]);
        assert_eq!((taps[0].fan_in, taps[0].fan_out), (27, 72));
        assert!(!taps[0].bias);
        assert_eq!(c.output().len(), 8 * 20);
        assert_eq!(c.flops(1), 6.0 * 20.0 * (27.0 * 8.0 + 72.0 * 8.0));
        assert_eq!(profile_label(&[64, 128, 256]), "64-128-256");
    }
}
