//! Forward and backward simulation of one cell-trial, returning per-tap statistics.
//! Pure computation: no I/O.
//!
//! Semantics (DESIGN contract): a [`Network`] of taps l = 1..L, y_l = W_l(x_{l−1}) + b_l,
//! x_l = φ(y_l) (dense: x·Wᵀ; conv: the stride-1 same-size convolution); loss = Σ x_L ⊙ g
//! with g drawn from `output_grad`; δ_l = ∂loss/∂y_l, so δ_L = g ⊙ φ′(y_L) and
//! δ_{l−1} = W_lᵀ(δ_l) ⊙ φ′(y_{l−1}); weight gradient G_l = ∂loss/∂W_l. Every statistic is
//! pooled over all batch × channel × position entries (G_l: all entries of the weight).
//!
//! - [`exec`] walks the layers and reports to a probe; [`layers`] holds each kind's products;
//! - [`params`] draws weights from content-keyed streams and caches them; [`data`] draws the
//!   trial's input and output gradient; [`stats`] pools moments in f64;
//! - [`kernels`] holds the GEMM and im2col; [`bench`] measures them.

pub mod bench;
pub mod data;
pub mod exec;
pub mod fluct;
pub mod kernels;
pub mod layers;
pub mod lsuv;
pub mod params;
pub mod spectrum;
pub mod stats;

pub use data::{input_batch, output_gradient};
pub use exec::apply_activation;
pub use params::{keeps_weights, layer_params, Params, WeightCache, WEIGHT_CACHE_BYTES};

use crate::activation::Activation;
use crate::arch::network::{Network, Tap};
use crate::config::DataDist;
use crate::init::Init;
use crate::real::Real;
use exec::Probe;
use ndarray::Array2;
use stats::moments;
use std::rc::Rc;

/// Everything that determines one cell-trial's numbers.
#[derive(Debug, Clone)]
pub struct TrialSpec<'a> {
    pub seed: u64,
    pub activation: Activation,
    pub init: &'a Init,
    pub network: &'a Network,
    pub batch: usize,
    pub input: DataDist,
    pub output_grad: DataDist,
    pub trial: usize,
    /// Taps (1-based) whose activations and gradients are returned whole (for histograms).
    pub capture: &'a [usize],
    /// `[spectrum]` (issue 13): Jacobians at the first rows of the batch.
    pub spectrum: Option<crate::config::spectrum::Spectrum>,
}

/// Per-tap statistics (the `layers.csv` row, less the cell columns).
#[derive(Debug, Clone, PartialEq)]
pub struct LayerStats {
    pub layer: usize,
    pub fan_in: usize,
    pub fan_out: usize,
    pub preact_mean: f64,
    pub preact_var: f64,
    pub act_mean: f64,
    pub act_sq_mean: f64,
    pub grad_var: f64,
    pub weight_grad_var: f64,
    pub nonfinite: u64,
}

/// Raw activations x_l and gradients δ_l of one tap, for histograms.
#[derive(Debug, Clone, PartialEq)]
pub struct Capture {
    pub layer: usize,
    pub act: Vec<f64>,
    pub grad: Vec<f64>,
}

/// Per-block statistics of a residual net (the `blocks.csv` row, less the cell columns):
/// block 0 is the stem's output, block b ≥ 1 the stream after block b. Brock et al. 2021's
/// Signal Propagation Plot quantities ([`stats::channel_moments`]) of the stream, of the
/// block's branch output f_b (before α; NaN for block 0), and the variance of ∂loss/∂stream.
#[derive(Debug, Clone, PartialEq)]
pub struct BlockStats {
    pub block: usize,
    pub avg_channel_sq_mean: f64,
    pub avg_channel_var: f64,
    pub branch_avg_channel_var: f64,
    pub grad_var: f64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct TrialResult {
    pub layers: Vec<LayerStats>,
    /// Empty unless the network has residual blocks.
    pub blocks: Vec<BlockStats>,
    pub captures: Vec<Capture>,
    /// `train.csv` rows of this trial (every learning rate; empty without `[train]`).
    pub train: Vec<crate::train::TrainRow>,
    // ---- issue 13: fluctuations, LSUV, Jacobian spectra ----
    /// Statistics of r = q_L/q_0 over this trial's input rows ([`fluct`]).
    pub fluct: fluct::Fluct,
    /// Per tap, what LSUV did (empty unless the init is LSUV).
    pub lsuv: Vec<lsuv::LsuvLayer>,
    /// Why the trial could not run (LSUV met a layer of output variance 0); the sweep stops
    /// with this as bad input.
    pub failure: Option<String>,
    /// Squared singular values of the Jacobians at all `[spectrum] inputs` rows, pooled.
    pub jac: fluct::Acc,
    /// Per Jacobian, Var[λ]/E[λ]² of its own λ = σ² (free of the scale's fluctuation between
    /// inputs and draws), over all `[spectrum] inputs` rows.
    pub jac_nvar: fluct::Acc,
    /// Singular values (largest first) of the Jacobians at the first `saved_inputs` rows.
    pub spectrum: Vec<Vec<f64>>,
}

/// The probe of a trial: pooled moments of y_l (the weighted layer's output), x_l (the
/// activation after it; y_l itself when none follows), δ_l and G_l, and the captures.
struct TapStats<'a> {
    /// By node: the tap whose y (weighted node) or x (activation node) it is.
    weighted: Vec<Option<usize>>,
    activation: Vec<Option<usize>>,
    /// By node: the block row (index into `blocks`) whose stream it outputs.
    block: Vec<Option<usize>>,
    stats: Vec<LayerStats>,
    blocks: Vec<BlockStats>,
    capture: &'a [usize],
    captures: Vec<Capture>,
    /// The last tap's weighted node and its per-sample entries; q_L per input row of y_L.
    last: Option<(usize, usize)>,
    q_last: Vec<f64>,
}

impl<'a> TapStats<'a> {
    fn new(net: &Network, taps: &[Tap], capture: &'a [usize]) -> TapStats<'a> {
        let n = net.node_count();
        let (mut weighted, mut activation) = (vec![None; n], vec![None; n]);
        let mut block = vec![None; n];
        let mut blocks = Vec::new();
        let net_blocks = net.blocks();
        if !net_blocks.is_empty() {
            let nan = f64::NAN;
            let row = |b| BlockStats {
                block: b,
                avg_channel_sq_mean: nan,
                avg_channel_var: nan,
                branch_avg_channel_var: nan,
                grad_var: nan,
            };
            if let Some(stem) = net.stem_node() {
                block[stem] = Some(blocks.len());
                blocks.push(row(0));
            }
            for b in &net_blocks {
                block[b.node] = Some(blocks.len());
                blocks.push(row(b.index));
            }
        }
        for (t, tap) in taps.iter().enumerate() {
            weighted[tap.node] = Some(t);
            if let Some(a) = tap.act_node {
                activation[a] = Some(t);
            }
        }
        let stats = taps
            .iter()
            .map(|s| LayerStats {
                layer: s.index,
                fan_in: s.fan_in,
                fan_out: s.fan_out,
                preact_mean: f64::NAN,
                preact_var: f64::NAN,
                act_mean: f64::NAN,
                act_sq_mean: f64::NAN,
                grad_var: f64::NAN,
                weight_grad_var: f64::NAN,
                nonfinite: 0,
            })
            .collect();
        let captures = Vec::new();
        let mut s = TapStats {
            weighted,
            activation,
            block,
            stats,
            blocks,
            capture,
            captures,
            last: taps
                .last()
                .map(|t| (t.node, t.output.channels * t.output.positions())),
            q_last: Vec::new(),
        };
        // A tap with no activation after it: x_l = y_l.
        for (t, tap) in taps.iter().enumerate() {
            if tap.act_node.is_none() {
                s.activation[tap.node] = Some(t);
            }
        }
        s
    }
}

fn to_f64<T: Real>(a: &Array2<T>) -> Vec<f64> {
    a.iter().map(|x| x.f64()).collect()
}

impl<T: Real> Probe<T> for TapStats<'_> {
    fn output(&mut self, node: usize, out: &Array2<T>) {
        let data = exec::slice(out);
        if let Some(b) = self.block[node] {
            let cm = stats::channel_moments(data, out.ncols());
            let r = &mut self.blocks[b];
            r.avg_channel_sq_mean = cm.avg_sq_mean;
            r.avg_channel_var = cm.avg_var;
        }
        if let Some((last, per_sample)) = self.last {
            if node == last {
                self.q_last = fluct::row_sq_means(data.iter().map(|v| v.f64()), per_sample);
            }
        }
        if let Some(t) = self.weighted[node] {
            let m = moments(data);
            let s = &mut self.stats[t];
            s.preact_mean = m.mean;
            s.preact_var = m.var;
            s.nonfinite += m.nonfinite;
        }
        if let Some(t) = self.activation[node] {
            let m = moments(data);
            let s = &mut self.stats[t];
            s.act_mean = m.mean;
            s.act_sq_mean = m.sq_mean;
            s.nonfinite += m.nonfinite;
            let layer = s.layer;
            if self.capture.contains(&layer) {
                self.captures.push(Capture {
                    layer,
                    act: to_f64(out),
                    grad: Vec::new(),
                });
            }
        }
    }

    fn branch(&mut self, node: usize, f: &Array2<T>) {
        if let Some(b) = self.block[node] {
            let cm = stats::channel_moments(exec::slice(f), f.ncols());
            self.blocks[b].branch_avg_channel_var = cm.avg_var;
        }
    }

    fn grad(&mut self, node: usize, grad: &Array2<T>) {
        if let Some(b) = self.block[node] {
            self.blocks[b].grad_var = moments(exec::slice(grad)).var;
        }
        if let Some(t) = self.weighted[node] {
            let m = moments(exec::slice(grad));
            let s = &mut self.stats[t];
            s.grad_var = m.var;
            s.nonfinite += m.nonfinite;
            let layer = s.layer;
            if let Some(c) = self.captures.iter_mut().find(|c| c.layer == layer) {
                c.grad = to_f64(grad);
            }
        }
    }

    fn weight_grad(&mut self, node: usize, gw: &Array2<T>) {
        if let Some(t) = self.weighted[node] {
            let m = moments(exec::slice(gw));
            let s = &mut self.stats[t];
            s.weight_grad_var = m.var;
            s.nonfinite += m.nonfinite;
        }
    }
}

/// Simulate one cell-trial in element type `T`.
pub fn simulate<T: Real>(spec: &TrialSpec) -> TrialResult {
    let mut cache = WeightCache::new(
        spec.seed,
        spec.init,
        spec.trial,
        spec.network.depth(),
        spec.network.weight_entries(),
    );
    simulate_with::<T>(spec, &mut cache, true)
}

/// Cell-trials that share their weights (same seed, init and trial, networks whose taps agree
/// on every index they share — see [`crate::sweep::jobs::weight_groups`]), simulated one after
/// another on one cache: each layer's weights are drawn once for all of them when they fit
/// ([`keeps_weights`] for the largest), otherwise per cell as in [`simulate`]. Every cell's
/// numbers are exactly those of [`simulate`]. Returns, per spec, the result, its seconds and
/// the seconds it spent drawing weights.
pub fn simulate_group_timed<T: Real>(specs: &[TrialSpec]) -> Vec<(TrialResult, f64, f64)> {
    let Some(first) = specs.first() else {
        return Vec::new();
    };
    debug_assert!(specs.iter().all(|s| s.seed == first.seed
        && s.init.canonical() == first.init.canonical()
        && s.trial == first.trial));
    let deepest = specs.iter().map(|s| s.network.depth()).max().unwrap_or(0);
    let entries = specs
        .iter()
        .map(|s| s.network.weight_entries())
        .max()
        .unwrap_or(0);
    let mut weights = WeightCache::new(first.seed, first.init, first.trial, deepest, entries);
    specs
        .iter()
        .enumerate()
        .map(|(i, spec)| {
            let start = std::time::Instant::now();
            let drawn = weights.seconds;
            let r = simulate_with::<T>(spec, &mut weights, i + 1 == specs.len());
            (r, start.elapsed().as_secs_f64(), weights.seconds - drawn)
        })
        .collect()
}

/// One cell-trial on `weights`; `last` marks the last user of the cache (its backward pass
/// releases each layer after use).
fn simulate_with<T: Real>(
    spec: &TrialSpec,
    weights: &mut WeightCache<T>,
    last: bool,
) -> TrialResult {
    let net = spec.network;
    let taps = net.taps();
    let mut tap_of_node = vec![usize::MAX; net.node_count()];
    for (t, tap) in taps.iter().enumerate() {
        tap_of_node[tap.node] = t;
    }
    let x0 = input_batch::<T>(spec.seed, spec.input, spec.batch, &net.input, spec.trial);
    let g = output_gradient::<T>(
        spec.seed,
        spec.output_grad,
        spec.batch,
        &net.output(),
        spec.trial,
    );
    let mut probe = TapStats::new(net, &taps, spec.capture);
    // ---- issue 13: LSUV scales the base weights, per tap, on this trial's input ----
    let mut lsuv_rows = Vec::new();
    if let Some(cfg) = &spec.init.lsuv {
        let mut base = |tap: usize| weights.get(&taps[tap - 1], false);
        match lsuv::lsuv(net, spec.activation, &x0, &mut base, cfg) {
            Ok(rows) => lsuv_rows = rows,
            Err(e) => {
                return TrialResult {
                    layers: probe.stats,
                    blocks: probe.blocks,
                    captures: Vec::new(),
                    train: Vec::new(),
                    fluct: fluct::Fluct::default(),
                    lsuv: Vec::new(),
                    failure: Some(e),
                    jac: fluct::Acc::default(),
                    jac_nvar: fluct::Acc::default(),
                    spectrum: Vec::new(),
                }
            }
        }
    }
    let scales: Vec<f64> = lsuv_rows.iter().map(|r| r.scale).collect();
    let get = |w: &mut WeightCache<T>, node: usize, release: bool| {
        let t = tap_of_node[node];
        let p = w.get(&taps[t], release);
        match scales.get(t) {
            Some(&s) => Rc::new(lsuv::scaled(&p, s)),
            None => p,
        }
    };
    let tape = {
        let mut gen = |node: usize| get(weights, node, false);
        exec::forward(net, spec.activation, &x0, &mut gen, &mut probe)
    };
    // ---- issue 13: Jacobian spectra at the first rows of the batch ----
    let (mut jac, mut spectra) = (fluct::Acc::default(), Vec::new());
    let mut nvars = Vec::new();
    if let Some(sp) = &spec.spectrum {
        let mut gen = |node: usize| get(weights, node, false);
        for a in 0..sp.inputs {
            let row: Vec<f64> = x0.row(a).iter().map(|v| v.f64()).collect();
            let j = spectrum::jacobian(net, spec.activation, &row, &mut gen);
            let sv = spectrum::singular_values(&j);
            let sq: Vec<f64> = sv.iter().map(|s| s * s).collect();
            let one = fluct::Acc::of(&sq);
            nvars.push(one.var() / (one.mean * one.mean));
            jac = jac.merge(one);
            if a < sp.saved_inputs {
                spectra.push(sv);
            }
        }
    }
    let mut gen = |node: usize| get(weights, node, last);
    exec::backward(net, spec.activation, &x0, tape, &g, &mut gen, &mut probe);
    let q0 = fluct::row_sq_means(
        x0.iter().map(|v| v.f64()),
        net.input.channels * net.input.positions(),
    );
    TrialResult {
        layers: probe.stats,
        blocks: probe.blocks,
        captures: probe.captures,
        train: Vec::new(),
        fluct: fluct::Fluct::of(&q0, &probe.q_last),
        lsuv: lsuv_rows,
        failure: None,
        jac,
        jac_nvar: fluct::Acc::of(&nvars),
        spectrum: spectra,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::arch::layer::Padding;
    use crate::arch::network::{conv, mlp};
    use rand::SeedableRng;
    use rand_distr::{Distribution, StandardNormal};
    use std::rc::Rc;

    /// A group of cells sharing weights (different activations and depths, with drawn biases)
    /// gives every cell exactly the numbers it gets alone, in f32 and f64, and reports the
    /// weight drawing once: the later cells reuse the first one's layers.
    #[test]
    fn shared_weights_change_no_number() {
        let init = Init::preset("pytorch_default", "test").unwrap();
        let nets = [
            mlp(&[24; 6], true),
            mlp(&[24; 4], true),
            mlp(&[24; 8], true),
        ];
        let spec = |activation, network| TrialSpec {
            seed: 9,
            activation,
            init: &init,
            network,
            batch: 16,
            input: DataDist::STANDARD,
            output_grad: DataDist::STANDARD,
            trial: 1,
            capture: &[2],
            spectrum: None,
        };
        let specs = [
            spec(Activation::Relu, &nets[0]),
            spec(Activation::Tanh, &nets[1]),
            spec(Activation::Gelu { tanh_approx: false }, &nets[2]),
        ];
        let group = simulate_group_timed::<f32>(&specs);
        for (s, (r, _, _)) in specs.iter().zip(&group) {
            assert_eq!(format!("{r:?}"), format!("{:?}", simulate::<f32>(s)));
        }
        let group64 = simulate_group_timed::<f64>(&specs);
        for (s, (r, _, _)) in specs.iter().zip(&group64) {
            assert_eq!(format!("{r:?}"), format!("{:?}", simulate::<f64>(s)));
        }
        // Layers 1–5 are drawn by the first cell, 6–7 by the third; the second draws nothing.
        assert_eq!(group[1].2, 0.0, "the second cell drew weights");
    }

    /// The whole backward pass against central finite differences of loss = Σ x_L ⊙ g on tiny
    /// f64 nets (an MLP with a width profile, a 1-D and a 2-D conv net with both paddings), for
    /// every weight entry and every bias entry, for smooth and kinked φ. δ_l is checked through
    /// the bias: ∂loss/∂b_l[o] = Σ δ_l[·, o].
    #[test]
    fn backward_matches_finite_differences() {
        use crate::arch::layer::{Norm, NormKind, WeightMod, NORM_EPS};
        use crate::arch::network::{
            conv_with_norm, mlp_with_norm, resnet, ConvGeometry, ResnetSpec,
        };
        let bn = Norm {
            kind: NormKind::Batch,
            eps: NORM_EPS,
        };
        let ln = Norm {
            kind: NormKind::Layer,
            eps: NORM_EPS,
        };
        let g1 = ConvGeometry {
            image: vec![4],
            kernel: 3,
            padding: Padding::Zeros,
        };
        // Residual nets under every recipe's mechanics: a norm, α and β, a projection,
        // weight standardization, a zero layer.
        let res = |norm: Option<Norm>,
                   alpha: f64,
                   beta: f64,
                   ws: Option<f64>,
                   zero: bool,
                   conv: Option<ConvGeometry>| {
            let wm = WeightMod {
                scale: 1.0,
                ws_gain: ws,
            };
            let last = WeightMod {
                scale: if zero { 0.0 } else { 1.0 },
                ws_gain: ws,
            };
            resnet(&ResnetSpec {
                input: 2,
                stem_width: 3,
                block_widths: vec![3, 4],
                branch_layers: 2,
                conv,
                norm,
                bias: true,
                alpha,
                betas: vec![beta, 1.3 * beta],
                stem_mod: WeightMod {
                    scale: 1.0,
                    ws_gain: ws.map(|_| 1.0),
                },
                branch_mods: vec![vec![wm, last]; 2],
                projection_mod: wm,
            })
        };
        let nets = [
            mlp(&[4, 5, 3, 4], true),
            conv(&[2, 3, 2], &[5], 3, Padding::Zeros, true),
            conv(&[2, 2, 3], &[3, 4], 3, Padding::Circular, true),
            mlp_with_norm(&[3, 4, 3], true, Some(bn)),
            conv_with_norm(&[2, 3, 2], &g1, true, Some(ln)),
            res(None, 1.0, 1.0, None, false, None),
            res(Some(bn), 0.7, 1.0, None, false, None),
            res(Some(ln), 1.0, 1.0, None, false, Some(g1.clone())),
            res(None, 0.2, 1.6, Some(1.7), false, None),
            res(None, 1.0, 1.0, None, true, None),
            res(None, 0.0, 1.0, None, false, None),
        ];
        for net in &nets {
            for act in [
                Activation::Tanh,
                Activation::Gelu { tanh_approx: false },
                Activation::Selu,
                Activation::Softplus { beta: 2.0 },
                Activation::Relu,
            ] {
                check_network(net, act);
            }
        }
    }

    fn check_network(net: &Network, act: Activation) {
        let batch = 3;
        let taps = net.taps();
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(11);
        let mut randm = |r: usize, c: usize| {
            Array2::from_shape_simple_fn((r, c), || {
                let z: f64 = StandardNormal.sample(&mut rng);
                z * 0.8
            })
        };
        let x0 = randm(batch * net.input.positions(), net.input.channels);
        let out = net.output();
        let g = randm(batch * out.positions(), out.channels);
        // Raw weights and biases; a standardized tap's parameter is the raw weight (its
        // gradient goes through the standardization), any other tap's the weight it uses.
        let raw: Vec<Params<f64>> = taps
            .iter()
            .map(|t| Params {
                w: randm(t.weight_shape[0], t.weight_len() / t.weight_shape[0]),
                b: Some(randm(1, t.weight_shape[0]).row(0).to_owned()),
                ws: None,
            })
            .collect();
        let make = |ps: &[Params<f64>]| -> Vec<Params<f64>> {
            ps.iter()
                .zip(&taps)
                .map(|(p, t)| {
                    let wmod = crate::arch::layer::WeightMod {
                        scale: 1.0,
                        ws_gain: t.wmod.ws_gain,
                    };
                    params::with_mod(p.w.clone(), p.b.clone(), wmod)
                })
                .collect()
        };
        let params = raw.clone();
        let used = make(&raw);
        let node_tap = |node: usize| taps.iter().position(|t| t.node == node).unwrap();
        let loss = |ps: &[Params<f64>]| {
            let ps = make(ps);
            let mut get = |node: usize| Rc::new(ps[node_tap(node)].clone());
            let tape = exec::forward(net, act, &x0, &mut get, &mut exec::NoProbe);
            (&tape.output() * &g).sum()
        };
        struct Grads {
            w: Vec<Option<Array2<f64>>>,
            d: Vec<Option<Array2<f64>>>,
        }
        impl Probe<f64> for Grads {
            fn output(&mut self, _: usize, _: &Array2<f64>) {}
            fn grad(&mut self, node: usize, g: &Array2<f64>) {
                self.d[node] = Some(g.clone());
            }
            fn weight_grad(&mut self, node: usize, g: &Array2<f64>) {
                self.w[node] = Some(g.clone());
            }
        }
        let n = net.node_count();
        let mut grads = Grads {
            w: vec![None; n],
            d: vec![None; n],
        };
        let mut get = |node: usize| Rc::new(used[node_tap(node)].clone());
        let tape = exec::forward(net, act, &x0, &mut get, &mut exec::NoProbe);
        exec::backward(net, act, &x0, tape, &g, &mut get, &mut grads);
        let h = 1e-6;
        for (l, tap) in taps.iter().enumerate() {
            let gw = grads.w[tap.node].as_ref().unwrap();
            let delta = grads.d[tap.node].as_ref().unwrap();
            let p = &params[l];
            for i in 0..p.w.nrows() {
                for j in 0..p.w.ncols() {
                    let (mut pp, mut pm) = (params.clone(), params.clone());
                    pp[l].w[[i, j]] += h;
                    pm[l].w[[i, j]] -= h;
                    let fd = (loss(&pp) - loss(&pm)) / (2.0 * h);
                    let an = gw[[i, j]];
                    assert!(
                        (fd - an).abs() < 1e-6 * (1.0 + an.abs()),
                        "{act:?} W{}[{i},{j}]: fd {fd} vs {an} in {net:?}",
                        tap.index
                    );
                }
                let (mut pp, mut pm) = (params.clone(), params.clone());
                pp[l].b.as_mut().unwrap()[i] += h;
                pm[l].b.as_mut().unwrap()[i] -= h;
                let fd = (loss(&pp) - loss(&pm)) / (2.0 * h);
                let an: f64 = delta.column(i).sum();
                assert!(
                    (fd - an).abs() < 1e-6 * (1.0 + an.abs()),
                    "{act:?} b{}[{i}]: fd {fd} vs {an} in {net:?}",
                    tap.index
                );
            }
        }
    }

    /// Results do not depend on the thread count, for an MLP and a conv net.
    #[test]
    fn any_thread_count_gives_the_same_bits() {
        let init = Init::parse_spec("kaiming_normal", "t").unwrap();
        let nets = [
            mlp(&[200, 300, 200], true),
            conv(&[3, 16, 16], &[12, 12], 3, Padding::Zeros, true),
        ];
        for net in &nets {
            let spec = TrialSpec {
                seed: 1,
                activation: Activation::Relu,
                init: &init,
                network: net,
                batch: 64,
                input: DataDist::STANDARD,
                output_grad: DataDist::STANDARD,
                trial: 0,
                capture: &[],
                spectrum: None,
            };
            let runs: Vec<String> = [1, 2, 3]
                .iter()
                .map(|&t| {
                    let pool = rayon::ThreadPoolBuilder::new()
                        .num_threads(t)
                        .build()
                        .unwrap();
                    format!("{:?}", pool.install(|| simulate::<f32>(&spec)))
                })
                .collect();
            assert!(runs.iter().all(|r| r == &runs[0]));
        }
    }
}
