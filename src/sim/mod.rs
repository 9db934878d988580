//! Forward and backward simulation of one cell-trial, returning per-layer statistics.
//! Pure computation: no I/O.
//!
//! Semantics (DESIGN contract): y_l = x_{l−1}W_lᵀ + b_l, x_l = φ(y_l) for l = 1..L;
//! loss = Σ x_L ⊙ g with g drawn from `output_grad`; δ_l = ∂loss/∂y_l, so
//! δ_L = g ⊙ φ′(y_L) and δ_{l−1} = (δ_l W_l) ⊙ φ′(y_{l−1}); weight gradient G_l = δ_lᵀ x_{l−1}.
//! Every statistic is pooled over all batch × unit entries (G_l: all out × in entries).
//!
//! Memory: the pre-activations y_1..y_L are kept (depth × batch × width); x_{l−1} is recomputed
//! from y_{l−1} in the backward pass; the weights are kept when they fit in
//! [`WEIGHT_CACHE_BYTES`] and otherwise regenerated from their own random stream.

pub mod bench;
pub mod kernels;
pub mod stats;

use crate::activation::Activation;
use crate::config::DataDist;
use kernels::gemm::gemm;
use crate::init::Init;
use crate::arch::network::{mlp, LayerShape};
use crate::real::Real;
use crate::seed::stream;
use stats::moments;
use ndarray::{Array1, Array2, Zip};
use rand::Rng;
use rand_distr::{Distribution, StandardNormal};
use std::rc::Rc;

/// Weights are cached between the passes up to this many bytes per job.
pub const WEIGHT_CACHE_BYTES: u128 = 256 << 20;

/// Whether a job keeps its weights from the forward to the backward pass (else it redraws them
/// from their streams, which gives the same numbers): only when they fit in
/// [`WEIGHT_CACHE_BYTES`].
///
/// Keeping weights saves the second draw (≈ 4.5 ns per f32 entry) but costs memory that is
/// first touched: on the project machine a fresh page costs 0.8–1.7 s/GB (0.8–1.7 ns per
/// byte, kernel page clearing), i.e. 3–7 ns per f32 entry, so a large cache is slower than
/// redrawing (W2, 800 MB of weights per trial: 16.0 s kept, 14.2 s redrawn, and 2.5 → 0.9 GB
/// peak RSS). A small cache is recycled by the allocator from job to job and costs nothing.
pub fn keeps_weights(depth: usize, width: usize, bytes: usize) -> bool {
    depth as u128 * (width as u128).pow(2) * bytes as u128 <= WEIGHT_CACHE_BYTES
}

/// Everything that determines one cell-trial's numbers.
#[derive(Debug, Clone)]
pub struct TrialSpec<'a> {
    pub seed: u64,
    pub activation: Activation,
    pub init: &'a Init,
    pub width: usize,
    pub depth: usize,
    pub batch: usize,
    pub bias: bool,
    pub input: DataDist,
    pub output_grad: DataDist,
    pub trial: usize,
    /// Layers whose activations and gradients are returned whole (for histograms).
    pub capture: &'a [usize],
}

/// Per-layer statistics (the `layers.csv` row, less the cell columns).
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

/// Raw activations x_l and gradients δ_l of one layer, for histograms.
#[derive(Debug, Clone, PartialEq)]
pub struct Capture {
    pub layer: usize,
    pub act: Vec<f64>,
    pub grad: Vec<f64>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct TrialResult {
    pub layers: Vec<LayerStats>,
    pub captures: Vec<Capture>,
}

/// One layer's parameters.
#[derive(Debug, Clone)]
pub struct Params<T> {
    /// `[fan_out, fan_in]`.
    pub w: Array2<T>,
    pub b: Option<Array1<T>>,
}

/// A batch × width matrix drawn from `dist`: normal → std·z; uniform → U(±√3·std), variance std².
fn data_matrix<T: Real>(
    rng: &mut impl Rng,
    dist: DataDist,
    batch: usize,
    width: usize,
) -> Array2<T> {
    let s3 = 3f64.sqrt() * dist.std;
    Array2::from_shape_simple_fn((batch, width), || {
        let v = if dist.uniform {
            let u: f64 = rng.random();
            s3 * (2.0 * u - 1.0)
        } else {
            let z: f64 = StandardNormal.sample(rng);
            dist.std * z
        };
        T::of(v)
    })
}

/// A trial's data matrix for `role` ("input" or "output_grad"): its stream depends only on
/// (role, seed, width, batch, trial, distribution), so every cell of a trial sees the same data.
fn trial_data<T: Real>(
    role: &str,
    seed: u64,
    dist: DataDist,
    batch: usize,
    width: usize,
    trial: usize,
) -> Array2<T> {
    let key = [
        seed.to_string(),
        width.to_string(),
        batch.to_string(),
        trial.to_string(),
    ];
    let mut rng = stream(&[role, &key[0], &key[1], &key[2], &key[3], dist.name()]);
    data_matrix(&mut rng, dist, batch, width)
}

/// The input batch x_0 of a trial.
pub fn input_batch<T: Real>(
    seed: u64,
    dist: DataDist,
    batch: usize,
    width: usize,
    trial: usize,
) -> Array2<T> {
    trial_data("input", seed, dist, batch, width, trial)
}

/// The output gradient g of a trial.
pub fn output_gradient<T: Real>(
    seed: u64,
    dist: DataDist,
    batch: usize,
    width: usize,
    trial: usize,
) -> Array2<T> {
    trial_data("output_grad", seed, dist, batch, width, trial)
}

/// Entries per independently seeded block of an i.i.d. weight tensor.
pub const WEIGHT_BLOCK: usize = 1 << 16;

/// Draw a 2-D weight. I.i.d. schemes fill fixed blocks of [`WEIGHT_BLOCK`] entries, block k
/// from ChaCha stream k of the layer's key — the same numbers for any thread count — in
/// parallel when this job has idle workers to itself ([`kernels::gemm::worker_share`]).
/// Structured schemes (orthogonal, sparse, eye, …) draw the whole tensor from stream 0.
fn draw_weights<T: Real>(
    scheme: &crate::init::Scheme,
    ws: &[usize],
    rng: rand_chacha::ChaCha8Rng,
) -> Array2<T> {
    use rayon::prelude::*;
    let shape = (ws[0], ws[1]);
    match scheme.elementwise(ws) {
        Some(e) => {
            // Fresh storage, written once by the fill (no zeroing pass first).
            let mut w = Array2::<T>::uninit(shape);
            let fill = |(k, block): (usize, &mut [std::mem::MaybeUninit<T>])| {
                let mut r = rng.clone();
                r.set_stream(k as u64);
                e.fill_uninit(&mut r, block);
            };
            let blocks = w.as_slice_mut().expect("standard layout");
            if kernels::gemm::worker_share() > 1 {
                blocks
                    .par_chunks_mut(WEIGHT_BLOCK)
                    .enumerate()
                    .for_each(fill);
            } else {
                blocks.chunks_mut(WEIGHT_BLOCK).enumerate().for_each(fill);
            }
            // SAFETY: the blocks cover the array and every fill writes every slot of its block.
            unsafe { w.assume_init() }
        }
        None => {
            let mut rng = rng;
            let v = scheme
                .sample(ws, &mut rng)
                .expect("shape validated with the config");
            Array2::from_shape_vec(shape, v.into_iter().map(T::of).collect()).expect("shape")
        }
    }
}

/// Layer `shape`'s weight and bias: streams keyed by (seed, scheme, shape, trial, layer), so
/// nets of different depth or activation share their first layers' weights (common random numbers).
pub fn layer_params<T: Real>(
    seed: u64,
    init: &Init,
    shape: &LayerShape,
    bias: bool,
    trial: usize,
) -> Params<T> {
    let ws = shape.weight_shape();
    let dims = format!("{ws:?}");
    let (seed, trial, layer) = (seed.to_string(), trial.to_string(), shape.index.to_string());
    let wname = init.weight.canonical();
    let rng = stream(&["weight", &seed, &wname, &dims, &trial, &layer]);
    let w = draw_weights::<T>(&init.weight, &ws, rng);
    let b = bias.then(|| {
        let bname = init.bias.canonical();
        let mut rng = stream(&["bias", &seed, &bname, &dims, &trial, &layer]);
        let b = init
            .bias
            .sample(&ws, &mut rng)
            .expect("bias shape validated with the config");
        Array1::from_vec(b.into_iter().map(T::of).collect())
    });
    Params { w, b }
}

/// Called once per layer with (l, first matrix, second matrix): (y_l, x_l) forward, (δ_l, G_l) backward.
pub type LayerVisitor<'a, T> = dyn FnMut(usize, &Array2<T>, &Array2<T>) + 'a;

/// x = φ(y) elementwise (the simulator's activation pass; public for the benchmarks).
pub fn apply_activation<T: Real>(act: Activation, y: &Array2<T>, x: &mut Array2<T>) {
    act.forward_slice(slice(y), slice_mut(x));
}

/// Forward pass: returns y_1..y_L and calls `visit(l, y_l, x_l)` for each layer.
pub fn forward<T: Real>(
    act: Activation,
    x0: &Array2<T>,
    depth: usize,
    params: &mut dyn FnMut(usize) -> Rc<Params<T>>,
    visit: &mut LayerVisitor<'_, T>,
) -> Vec<Array2<T>> {
    let batch = x0.nrows();
    let mut ys: Vec<Array2<T>> = Vec::with_capacity(depth);
    let mut x = x0.clone();
    for l in 1..=depth {
        let p = params(l);
        let out = p.w.nrows();
        debug_assert_eq!(p.w.ncols(), x.ncols());
        let mut y = Array2::<T>::zeros((batch, out));
        gemm(x.view(), p.w.t(), y.view_mut());
        if let Some(b) = &p.b {
            Zip::from(y.rows_mut())
                .for_each(|mut row| row.zip_mut_with(b, |yi, &bi| *yi = *yi + bi));
        }
        if x.dim() != (batch, out) {
            x = Array2::zeros((batch, out));
        }
        apply_activation(act, &y, &mut x);
        visit(l, &y, &x);
        ys.push(y);
    }
    ys
}

/// Resize `buf` to `dim` (reusing its allocation when the shape already fits).
fn fit<T: Real>(buf: &mut Array2<T>, dim: (usize, usize)) {
    if buf.dim() != dim {
        *buf = Array2::zeros(dim);
    }
}

/// Backward pass from δ_L = g ⊙ φ′(y_L); calls `visit(l, δ_l, G_l)` for l = L..1.
/// x_{l−1} and φ′(y_{l−1}) come from one fused pass over y_{l−1}.
pub fn backward<T: Real>(
    act: Activation,
    x0: &Array2<T>,
    ys: &[Array2<T>],
    g: &Array2<T>,
    params: &mut dyn FnMut(usize) -> Rc<Params<T>>,
    visit: &mut LayerVisitor<'_, T>,
) {
    let depth = ys.len();
    let (mut xprev, mut dphi) = (Array2::<T>::zeros((0, 0)), Array2::<T>::zeros((0, 0)));
    let (mut gw, mut dx) = (Array2::<T>::zeros((0, 0)), Array2::<T>::zeros((0, 0)));
    // δ_L = g ⊙ φ′(y_L).
    let y_last = &ys[depth - 1];
    fit(&mut xprev, y_last.dim());
    fit(&mut dphi, y_last.dim());
    act.forward_deriv_slice(slice(y_last), slice_mut(&mut xprev), slice_mut(&mut dphi));
    let mut delta = g * &dphi;
    for l in (1..=depth).rev() {
        // x_{l−1}: the input for l = 1, otherwise φ(y_{l−1}), with φ′(y_{l−1}) alongside.
        if l > 1 {
            let y = &ys[l - 2];
            fit(&mut xprev, y.dim());
            fit(&mut dphi, y.dim());
            act.forward_deriv_slice(slice(y), slice_mut(&mut xprev), slice_mut(&mut dphi));
        }
        let xin = if l == 1 { x0 } else { &xprev };
        let p = params(l);
        fit(&mut gw, p.w.dim());
        gemm(delta.t(), xin.view(), gw.view_mut());
        visit(l, &delta, &gw);
        if l > 1 {
            fit(&mut dx, xin.dim());
            gemm(delta.view(), p.w.view(), dx.view_mut());
            // δ_{l−1} = (δ_l W_l) ⊙ φ′(y_{l−1}), written into δ's buffer when shapes agree.
            if delta.dim() != dx.dim() {
                delta = Array2::zeros(dx.dim());
            }
            Zip::from(&mut delta)
                .and(&dx)
                .and(&dphi)
                .for_each(|d, &a, &b| *d = a * b);
        }
    }
}

/// Simulate one cell-trial in element type `T`.
pub fn simulate<T: Real>(spec: &TrialSpec) -> TrialResult {
    simulate_with::<T>(spec, &mut WeightCache::new(spec, spec.depth), true)
}

/// Cell-trials that share their weights (same seed, init, width, bias and trial; any
/// activation and depth), simulated one after another on one cache: each layer's weights are
/// drawn once for all of them when they fit ([`keeps_weights`] at the deepest), otherwise per
/// cell as in [`simulate`]. Every cell's numbers are exactly those of [`simulate`].
/// Returns, per spec, the result, its seconds and the seconds it spent drawing weights.
pub fn simulate_group_timed<T: Real>(specs: &[TrialSpec]) -> Vec<(TrialResult, f64, f64)> {
    let Some(first) = specs.first() else {
        return Vec::new();
    };
    debug_assert!(specs.iter().all(|s| s.seed == first.seed
        && s.init.canonical() == first.init.canonical()
        && s.width == first.width
        && s.bias == first.bias
        && s.trial == first.trial));
    let deepest = specs.iter().map(|s| s.depth).max().unwrap_or(0);
    let mut weights = WeightCache::new(first, deepest);
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

/// A trial's layer parameters, drawn on demand from their streams and, when `keep`, held for
/// the backward pass and for other cells of the same group.
struct WeightCache<'a, T: Real> {
    seed: u64,
    init: &'a Init,
    bias: bool,
    trial: usize,
    keep: bool,
    layers: Vec<Option<Rc<Params<T>>>>,
    /// Seconds spent drawing so far.
    seconds: f64,
}

impl<'a, T: Real> WeightCache<'a, T> {
    fn new(spec: &TrialSpec<'a>, depth: usize) -> Self {
        WeightCache {
            seed: spec.seed,
            init: spec.init,
            bias: spec.bias,
            trial: spec.trial,
            keep: keeps_weights(depth, spec.width, std::mem::size_of::<T>()),
            layers: (0..depth).map(|_| None).collect(),
            seconds: 0.0,
        }
    }

    /// Layer `shape.index`'s parameters; with `release`, the cache lets go of them (their last
    /// use), so memory falls as the last backward pass proceeds.
    fn get(&mut self, shape: &LayerShape, release: bool) -> Rc<Params<T>> {
        let slot = &mut self.layers[shape.index - 1];
        if let Some(p) = slot {
            let p = Rc::clone(p);
            if release {
                *slot = None;
            }
            return p;
        }
        let t = std::time::Instant::now();
        let p = Rc::new(layer_params::<T>(
            self.seed, self.init, shape, self.bias, self.trial,
        ));
        self.seconds += t.elapsed().as_secs_f64();
        if self.keep && !release {
            *slot = Some(Rc::clone(&p));
        }
        p
    }
}

/// One cell-trial on `weights`; `last` marks the last user of the cache (its backward pass
/// releases each layer after use).
fn simulate_with<T: Real>(
    spec: &TrialSpec,
    weights: &mut WeightCache<T>,
    last: bool,
) -> TrialResult {
    let shapes = mlp(spec.depth, spec.width);
    let x0 = input_batch::<T>(spec.seed, spec.input, spec.batch, spec.width, spec.trial);
    let g = output_gradient::<T>(
        spec.seed,
        spec.output_grad,
        spec.batch,
        spec.width,
        spec.trial,
    );

    let mut stats: Vec<LayerStats> = shapes
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
    let mut captures: Vec<Capture> = Vec::new();
    let to_f64 = |a: &Array2<T>| a.iter().map(|x| x.f64()).collect::<Vec<f64>>();

    let ys = {
        let mut gen = |l: usize| weights.get(&shapes[l - 1], false);
        forward(
            spec.activation,
            &x0,
            spec.depth,
            &mut gen,
            &mut |l, y, x| {
                let (my, mx) = (moments(slice(y)), moments(slice(x)));
                let s = &mut stats[l - 1];
                s.preact_mean = my.mean;
                s.preact_var = my.var;
                s.act_mean = mx.mean;
                s.act_sq_mean = mx.sq_mean;
                s.nonfinite += my.nonfinite + mx.nonfinite;
                if spec.capture.contains(&l) {
                    captures.push(Capture {
                        layer: l,
                        act: to_f64(x),
                        grad: Vec::new(),
                    });
                }
            },
        )
    };
    let mut gen = |l: usize| weights.get(&shapes[l - 1], last);
    backward(
        spec.activation,
        &x0,
        &ys,
        &g,
        &mut gen,
        &mut |l, delta, gw| {
            let (md, mg) = (moments(slice(delta)), moments(slice(gw)));
            let s = &mut stats[l - 1];
            s.grad_var = md.var;
            s.weight_grad_var = mg.var;
            s.nonfinite += md.nonfinite + mg.nonfinite;
            if let Some(c) = captures.iter_mut().find(|c| c.layer == l) {
                c.grad = to_f64(delta);
            }
        },
    );
    TrialResult {
        layers: stats,
        captures,
    }
}

fn slice<T: Real>(a: &Array2<T>) -> &[T] {
    a.as_slice().expect("standard layout")
}

fn slice_mut<T: Real>(a: &mut Array2<T>) -> &mut [T] {
    a.as_slice_mut().expect("standard layout")
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    /// A group of cells sharing weights (different activations and depths, with drawn biases)
    /// gives every cell exactly the numbers it gets alone, in f32 and f64, and reports the
    /// weight drawing once: the later cells reuse the first one's layers.
    #[test]
    fn shared_weights_change_no_number() {
        let init = Init::preset("pytorch_default", "test").unwrap();
        let spec = |activation, depth| TrialSpec {
            seed: 9,
            activation,
            init: &init,
            width: 24,
            depth,
            batch: 16,
            bias: true,
            input: DataDist::STANDARD,
            output_grad: DataDist::STANDARD,
            trial: 1,
            capture: &[2],
        };
        let specs = [
            spec(Activation::Relu, 5),
            spec(Activation::Tanh, 3),
            spec(Activation::Gelu { tanh_approx: false }, 7),
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

    /// Backward pass against central finite differences of loss = Σ φ(...)⊙g on a tiny f64 net,
    /// for every weight entry, every bias entry and every pre-activation, for smooth and kinked φ.
    #[test]
    fn backward_matches_finite_differences() {
        let (batch, width, depth) = (3, 4, 3);
        for act in [
            Activation::Tanh,
            Activation::Gelu { tanh_approx: false },
            Activation::Selu,
            Activation::Softplus { beta: 2.0 },
            Activation::Relu,
        ] {
            let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(11);
            let mut randm = |r: usize, c: usize| {
                Array2::from_shape_simple_fn((r, c), || {
                    let z: f64 = StandardNormal.sample(&mut rng);
                    z * 0.8
                })
            };
            let x0 = randm(batch, width);
            let g = randm(batch, width);
            let ws: Vec<Array2<f64>> = (0..depth).map(|_| randm(width, width)).collect();
            let bs: Vec<Array1<f64>> = (0..depth)
                .map(|_| randm(1, width).row(0).to_owned())
                .collect();
            let loss = |ws: &[Array2<f64>], bs: &[Array1<f64>]| {
                let mut get = |l: usize| {
                    Rc::new(Params {
                        w: ws[l - 1].clone(),
                        b: Some(bs[l - 1].clone()),
                    })
                };
                let ys = forward(act, &x0, depth, &mut get, &mut |_, _, _| {});
                let xl = ys[depth - 1].mapv(|y| act.f(y));
                (&xl * &g).sum()
            };
            let mut get = |l: usize| {
                Rc::new(Params {
                    w: ws[l - 1].clone(),
                    b: Some(bs[l - 1].clone()),
                })
            };
            let ys = forward(act, &x0, depth, &mut get, &mut |_, _, _| {});
            let mut grads = vec![Array2::zeros((0, 0)); depth];
            let mut deltas = vec![Array2::zeros((0, 0)); depth];
            backward(act, &x0, &ys, &g, &mut get, &mut |l, d, gw| {
                grads[l - 1] = gw.clone();
                deltas[l - 1] = d.clone();
            });
            let h = 1e-6;
            for l in 0..depth {
                for i in 0..width {
                    for j in 0..width {
                        let (mut wp, mut wm) = (ws.clone(), ws.clone());
                        wp[l][[i, j]] += h;
                        wm[l][[i, j]] -= h;
                        let fd = (loss(&wp, &bs) - loss(&wm, &bs)) / (2.0 * h);
                        let an = grads[l][[i, j]];
                        assert!(
                            (fd - an).abs() < 1e-6 * (1.0 + an.abs()),
                            "{act:?} W{l}[{i},{j}]: fd {fd} vs {an}"
                        );
                    }
                    // ∂loss/∂b_l[i] = Σ_batch δ_l[·, i]: checks δ itself.
                    let (mut bp, mut bm) = (bs.clone(), bs.clone());
                    bp[l][i] += h;
                    bm[l][i] -= h;
                    let fd = (loss(&ws, &bp) - loss(&ws, &bm)) / (2.0 * h);
                    let an: f64 = deltas[l].column(i).sum();
                    assert!(
                        (fd - an).abs() < 1e-6 * (1.0 + an.abs()),
                        "{act:?} b{l}[{i}]: fd {fd} vs {an}"
                    );
                }
            }
        }
    }

    #[test]
    fn cached_and_regenerated_weights_agree() {
        let init = Init::parse_spec("kaiming_normal", "t").unwrap();
        let shape = &mlp(3, 8)[1];
        let a = layer_params::<f32>(5, &init, shape, true, 2);
        let b = layer_params::<f32>(5, &init, shape, true, 2);
        assert_eq!(a.w, b.w);
        assert_eq!(a.b, b.b);
    }
}
