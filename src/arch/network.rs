//! The network under study as a list of [`Layer`]s (residual blocks nest their branches), with
//! the facts the sweep, the simulator, the theory and the writers need about it: its **taps**
//! (the weighted layers, one `layers.csv` row each), its **blocks** (the residual blocks, one
//! `blocks.csv` row each), their weight shapes and fans, and its cost in flops and bytes.
//! Builders turn plain sizes into layer lists (like candle's `conv2d(in, out, k, cfg)`); the
//! config's [`crate::config::Cell::network`] is the one place that calls them for a run.
//!
//! A chain `[W_1, φ, W_2, φ, …, W_L, φ]` is the contract's network: layer l maps
//! n_{l−1} → n_l features (channels for conv nets), y_l = W_l(x_{l−1}) + b_l, x_l = φ(y_l),
//! the last layer too; with a norm, `[W_l, N, φ]`. A ResNet is a stem layer and blocks
//! x_{b+1} = s(x_b/β_b) + α·f_b(x_b/β_b), f_b = m × [N, φ, W] (pre-activation order).

use super::layer::{Conv, Dense, Features, Layer, Norm, Padding, Residual, WeightMod};

/// A network: its input's per-sample shape and its layers in order.
#[derive(Debug, Clone, PartialEq)]
pub struct Network {
    pub input: Features,
    pub layers: Vec<Layer>,
}

/// A weighted layer as a `layers.csv` row: its weights, and the activation that consumes it.
#[derive(Debug, Clone, PartialEq)]
pub struct Tap {
    /// 1-based row number (`layer` column); also part of the weight stream's key.
    pub index: usize,
    /// Node id of the weighted layer.
    pub node: usize,
    /// Node id of the activation that consumes its output (after a norm, if any), if one
    /// follows in the same layer list; its output is x_l.
    pub act_node: Option<usize>,
    /// PyTorch layout `[out, in, k...]`.
    pub weight_shape: Vec<usize>,
    pub fan_in: usize,
    pub fan_out: usize,
    pub bias: bool,
    pub wmod: WeightMod,
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

/// A residual block as a `blocks.csv` row.
#[derive(Debug, Clone, PartialEq)]
pub struct Block {
    /// 1-based block number (0 is the stem's output, see [`Network::stem_node`]).
    pub index: usize,
    /// Node id of the residual block.
    pub node: usize,
    /// Node id of the first layer of its branch.
    pub body_node: usize,
    pub input: Features,
    pub output: Features,
}

/// An MLP with the width profile `widths = [n_0, …, n_L]`: L × [Dense(n_{l−1} → n_l), (norm,) φ].
pub fn mlp(widths: &[usize], bias: bool) -> Network {
    mlp_with_norm(widths, bias, None)
}

/// [`mlp`] with a normalization layer between each weighted layer and its activation.
pub fn mlp_with_norm(widths: &[usize], bias: bool, norm: Option<Norm>) -> Network {
    let layers = widths
        .windows(2)
        .flat_map(|w| {
            let mut l = vec![Layer::Dense(Dense {
                inp: w[0],
                out: w[1],
                bias,
                wmod: WeightMod::NONE,
            })];
            l.extend(norm.map(Layer::Norm));
            l.push(Layer::Act);
            l
        })
        .collect();
    Network {
        input: Features::dense(widths[0]),
        layers,
    }
}

/// A conv layer's geometry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConvGeometry {
    pub image: Vec<usize>,
    pub kernel: usize,
    pub padding: Padding,
}

/// A plain conv net with channel profile `widths = [c_0, …, c_L]`:
/// L × [Conv(c_{l−1} → c_l, k, padding), (norm,) φ], stride 1, same size.
pub fn conv(
    widths: &[usize],
    image: &[usize],
    kernel: usize,
    padding: Padding,
    bias: bool,
) -> Network {
    let g = ConvGeometry {
        image: image.to_vec(),
        kernel,
        padding,
    };
    conv_with_norm(widths, &g, bias, None)
}

/// [`conv`] with a normalization layer between each conv layer and its activation.
pub fn conv_with_norm(
    widths: &[usize],
    g: &ConvGeometry,
    bias: bool,
    norm: Option<Norm>,
) -> Network {
    let layers = widths
        .windows(2)
        .flat_map(|w| {
            let mut l = vec![conv_layer(w[0], w[1], g, g.kernel, bias, WeightMod::NONE)];
            l.extend(norm.map(Layer::Norm));
            l.push(Layer::Act);
            l
        })
        .collect();
    Network {
        input: Features {
            channels: widths[0],
            image: g.image.clone(),
        },
        layers,
    }
}

fn conv_layer(
    inp: usize,
    out: usize,
    g: &ConvGeometry,
    kernel: usize,
    bias: bool,
    wmod: WeightMod,
) -> Layer {
    Layer::Conv(Conv {
        inp,
        out,
        image: g.image.clone(),
        kernel,
        padding: g.padding,
        bias,
        wmod,
    })
}

/// A residual network's description, as plain sizes.
#[derive(Debug, Clone, PartialEq)]
pub struct ResnetSpec {
    /// Input features (channels) n_0.
    pub input: usize,
    /// The stem's output width (the stream's width entering block 1).
    pub stem_width: usize,
    /// The stream width after each block (stage widths repeated per block).
    pub block_widths: Vec<usize>,
    /// Weighted layers per branch (m).
    pub branch_layers: usize,
    /// Conv geometry of conv blocks; dense blocks when `None`.
    pub conv: Option<ConvGeometry>,
    pub norm: Option<Norm>,
    pub bias: bool,
    /// α per block.
    pub alpha: f64,
    /// β_b per block (1 = none).
    pub betas: Vec<f64>,
    /// The stem's, each branch layer's (per block, per layer) and each projection's weight
    /// modification.
    pub stem_mod: WeightMod,
    pub branch_mods: Vec<Vec<WeightMod>>,
    pub projection_mod: WeightMod,
}

/// A pre-activation ResNet (He et al. 2016, "Identity mappings"): a stem layer n_0 → w_1 (no
/// activation), then blocks x_{b+1} = s(x_b/β_b) + α·f_b(x_b/β_b) with f_b = m × [norm, φ, W]
/// (the first W maps the block's input width to its output width), s the identity or, where
/// the width changes, a projection (1×1 conv or linear).
pub fn resnet(spec: &ResnetSpec) -> Network {
    let weighted = |inp: usize, out: usize, wmod: WeightMod, kernel: Option<usize>| match &spec.conv
    {
        Some(g) => conv_layer(inp, out, g, kernel.unwrap_or(g.kernel), spec.bias, wmod),
        None => Layer::Dense(Dense {
            inp,
            out,
            bias: spec.bias,
            wmod,
        }),
    };
    let first = spec.stem_width;
    let mut layers = vec![weighted(spec.input, first, spec.stem_mod, None)];
    let mut width = first;
    for (b, &out) in spec.block_widths.iter().enumerate() {
        let mut body = Vec::new();
        for j in 0..spec.branch_layers {
            body.extend(spec.norm.map(Layer::Norm));
            body.push(Layer::Act);
            let inp = if j == 0 { width } else { out };
            body.push(weighted(inp, out, spec.branch_mods[b][j], None));
        }
        let shortcut =
            (out != width).then(|| Box::new(weighted(width, out, spec.projection_mod, Some(1))));
        layers.push(Layer::Residual(Residual {
            body,
            shortcut,
            alpha: spec.alpha,
            beta: spec.betas[b],
        }));
        width = out;
    }
    let input = Features {
        channels: spec.input,
        image: spec
            .conv
            .as_ref()
            .map(|g| g.image.clone())
            .unwrap_or_default(),
    };
    Network { input, layers }
}

/// One node met by [`Network::walk`].
pub struct Visit<'a> {
    pub id: usize,
    pub layer: &'a Layer,
    /// The layer list the node is in, and its position there.
    pub siblings: &'a [Layer],
    pub position: usize,
    /// Ids of the siblings (for looking ahead).
    pub sibling_ids: Vec<usize>,
    pub input: Features,
    pub output: Features,
}

/// Ids of a layer list's entries starting at `base`.
pub fn ids(layers: &[Layer], base: usize) -> Vec<usize> {
    let mut id = base;
    layers
        .iter()
        .map(|l| {
            let this = id;
            id += l.node_count();
            this
        })
        .collect()
}

impl Network {
    /// Every node, depth-first in pre-order (a residual block before its branch, the branch
    /// before the shortcut), with its input and output shapes.
    pub fn walk(&self) -> Vec<Visit<'_>> {
        fn go<'a>(
            layers: &'a [Layer],
            base: usize,
            input: &Features,
            out: &mut Vec<Visit<'a>>,
        ) -> Features {
            let ids = ids(layers, base);
            let mut x = input.clone();
            for (i, l) in layers.iter().enumerate() {
                let y = l
                    .out_features(&x)
                    .expect("network built from validated sizes");
                out.push(Visit {
                    id: ids[i],
                    layer: l,
                    siblings: layers,
                    position: i,
                    sibling_ids: ids.clone(),
                    input: x.clone(),
                    output: y.clone(),
                });
                if let Layer::Residual(r) = l {
                    let body_base = ids[i] + 1;
                    let scaled = x.clone();
                    go(&r.body, body_base, &scaled, out);
                    if let Some(s) = &r.shortcut {
                        let sid = body_base + r.body.iter().map(Layer::node_count).sum::<usize>();
                        out.push(Visit {
                            id: sid,
                            layer: s,
                            siblings: std::slice::from_ref(s.as_ref()),
                            position: 0,
                            sibling_ids: vec![sid],
                            input: x.clone(),
                            output: y.clone(),
                        });
                    }
                }
                x = y;
            }
            x
        }
        let mut out = Vec::new();
        go(&self.layers, 0, &self.input, &mut out);
        out.sort_by_key(|v| v.id);
        out
    }

    /// Every layer fits its input (checked once when the config is loaded).
    pub fn check(&self) -> Result<(), String> {
        let mut x = self.input.clone();
        for (i, l) in self.layers.iter().enumerate() {
            x = l
                .out_features(&x)
                .map_err(|e| format!("layer {}: {e}", i + 1))?;
        }
        Ok(())
    }

    /// Nodes in the whole network.
    pub fn node_count(&self) -> usize {
        self.layers.iter().map(Layer::node_count).sum()
    }

    /// The weighted layers in walk order, 1-based.
    pub fn taps(&self) -> Vec<Tap> {
        let mut taps = Vec::new();
        for v in self.walk() {
            let (Some(weight_shape), Some((fan_in, fan_out))) =
                (v.layer.weight_shape(), v.layer.fans())
            else {
                continue;
            };
            // The consumer: the next activation in the same list, past any norm layers.
            let mut act_node = None;
            for (j, l) in v.siblings.iter().enumerate().skip(v.position + 1) {
                match l {
                    Layer::Norm(_) => continue,
                    Layer::Act => act_node = Some(v.sibling_ids[j]),
                    _ => {}
                }
                break;
            }
            taps.push(Tap {
                index: taps.len() + 1,
                node: v.id,
                act_node,
                weight_shape,
                fan_in,
                fan_out,
                bias: v.layer.has_bias(),
                wmod: v.layer.wmod(),
                input: v.input,
                output: v.output,
            });
        }
        taps
    }

    /// The residual blocks, 1-based, in order.
    pub fn blocks(&self) -> Vec<Block> {
        self.walk()
            .into_iter()
            .filter(|v| matches!(v.layer, Layer::Residual(_)))
            .enumerate()
            .map(|(b, v)| Block {
                index: b + 1,
                node: v.id,
                body_node: v.id + 1,
                input: v.input,
                output: v.output,
            })
            .collect()
    }

    /// The top-level node whose output enters the first residual block (the stem), if any:
    /// block 0 of `blocks.csv`.
    pub fn stem_node(&self) -> Option<usize> {
        let ids = ids(&self.layers, 0);
        let first = self
            .layers
            .iter()
            .position(|l| matches!(l, Layer::Residual(_)))?;
        (first > 0).then(|| ids[first - 1])
    }

    /// Number of weighted layers (the `depth` column of plain nets).
    pub fn depth(&self) -> usize {
        self.taps().len()
    }

    /// Per-sample shape of the network's output (where the output gradient g is injected).
    pub fn output(&self) -> Features {
        let mut x = self.input.clone();
        for l in &self.layers {
            x = l.out_features(&x).expect("validated");
        }
        x
    }

    /// GEMM flops of one forward + backward pass over `batch` samples.
    pub fn flops(&self, batch: usize) -> f64 {
        self.walk()
            .iter()
            .map(|v| v.layer.gemm_flops(batch, &v.input))
            .sum()
    }

    /// Entries of all weight tensors.
    pub fn weight_entries(&self) -> u128 {
        self.taps().iter().map(|t| t.weight_len() as u128).sum()
    }

    /// The largest per-sample tensor between layers (input included).
    pub fn max_features(&self) -> usize {
        self.walk()
            .iter()
            .map(|v| v.output.len().max(v.input.len()))
            .max()
            .unwrap_or(self.input.len())
    }

    /// Entries the simulator keeps from the forward to the backward pass for `batch` samples:
    /// the input and every node's output except an activation's (recomputed from its input).
    pub fn stored_entries(&self, batch: usize) -> u128 {
        let outputs: u128 = self
            .walk()
            .iter()
            .filter(|v| !matches!(v.layer, Layer::Act))
            .map(|v| v.output.len() as u128)
            .sum();
        batch as u128 * (outputs + self.input.len() as u128)
    }

    /// Bytes one simulation job holds at its peak: the stored tensors, five tensors of the
    /// largest size (the output gradient g, and in the backward pass the running gradient, the
    /// input gradient, φ and φ′ of the recomputed activation; two more in a residual net: a
    /// block's scaled input and its branch gradient), the weights when `keep_weights` (else
    /// three of the largest: the layer, its GEMM operand and its gradient).
    pub fn job_bytes(&self, batch: usize, elem_bytes: usize, keep_weights: bool) -> u128 {
        let b = elem_bytes as u128;
        let taps = self.taps();
        let largest_weight = taps.iter().map(|t| t.weight_len()).max().unwrap_or(0) as u128;
        let weights = if keep_weights {
            self.weight_entries() + 2 * largest_weight
        } else {
            3 * largest_weight
        };
        let residual = self.layers.iter().any(|l| matches!(l, Layer::Residual(_)));
        let work = if residual { 7 } else { 5 };
        let buffers = work * batch as u128 * self.max_features() as u128;
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
    use crate::arch::layer::{NormKind, NORM_EPS};

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

        // A norm between layer and activation: the consumer skips it.
        let norm = Norm {
            kind: NormKind::Batch,
            eps: NORM_EPS,
        };
        let n = mlp_with_norm(&[4, 4, 4], true, Some(norm));
        let t = n.taps();
        assert_eq!((t[0].node, t[0].act_node), (0, Some(2)));
        assert_eq!((t[1].node, t[1].act_node), (3, Some(5)));
    }

    #[test]
    fn resnet_nodes_taps_and_blocks() {
        let spec = ResnetSpec {
            input: 3,
            stem_width: 4,
            block_widths: vec![4, 4, 6],
            branch_layers: 2,
            conv: None,
            norm: None,
            bias: false,
            alpha: 1.0,
            betas: vec![1.0; 3],
            stem_mod: WeightMod::NONE,
            branch_mods: vec![vec![WeightMod::NONE; 2]; 3],
            projection_mod: WeightMod::NONE,
        };
        let net = resnet(&spec);
        net.check().unwrap();
        // Stem, then 3 blocks of [φ, W, φ, W] (+ a projection in the last).
        assert_eq!(net.node_count(), 1 + 5 + 5 + 6);
        let taps = net.taps();
        assert_eq!(taps.len(), 1 + 2 + 2 + 3);
        assert_eq!(taps[0].weight_shape, vec![4, 3]);
        // Block 3's first branch layer widens 4 → 6; its projection is 6 × 4.
        assert_eq!(taps[5].weight_shape, vec![6, 4]);
        assert_eq!(taps[7].weight_shape, vec![6, 4]);
        // Inside a branch, the first W is consumed by the second φ; the last W by nothing.
        assert_eq!(taps[1].act_node, Some(taps[1].node + 1));
        assert_eq!(taps[2].act_node, None);
        let blocks = net.blocks();
        assert_eq!(blocks.len(), 3);
        assert_eq!((blocks[0].node, blocks[1].node, blocks[2].node), (1, 6, 11));
        assert_eq!(blocks[2].output, Features::dense(6));
        assert_eq!(net.stem_node(), Some(0));
        assert_eq!(net.output(), Features::dense(6));
    }
}
