//! Layer parameters: drawing a tap's weight and bias from their own content-keyed streams, and
//! the per-job cache that keeps them between the passes (and between the cells of a group).

use crate::arch::network::Tap;
use crate::init::Init;
use crate::real::Real;
use crate::seed::stream;
use ndarray::{Array1, Array2};
use std::rc::Rc;

/// Weights are cached between the passes up to this many bytes per job.
pub const WEIGHT_CACHE_BYTES: u128 = 256 << 20;

/// Whether a job keeps weights of `entries` entries from the forward to the backward pass
/// (else it redraws them from their streams, which gives the same numbers): only when they fit
/// in [`WEIGHT_CACHE_BYTES`].
///
/// Keeping weights saves the second draw (≈ 4.5 ns per f32 entry) but costs memory that is
/// first touched: on the project machine a fresh page costs 0.8–1.7 s/GB (0.8–1.7 ns per
/// byte, kernel page clearing), i.e. 3–7 ns per f32 entry, so a large cache is slower than
/// redrawing (W2, 800 MB of weights per trial: 16.0 s kept, 14.2 s redrawn, and 2.5 → 0.9 GB
/// peak RSS). A small cache is recycled by the allocator from job to job and costs nothing.
pub fn keeps_weights(entries: u128, bytes: usize) -> bool {
    entries * bytes as u128 <= WEIGHT_CACHE_BYTES
}

/// One layer's parameters.
#[derive(Debug, Clone)]
pub struct Params<T> {
    /// The weight the products use, in PyTorch layout `[out, in, k...]` flattened to
    /// `[out, in·∏k]` (under weight standardization, the standardized Ŵ).
    pub w: Array2<T>,
    pub b: Option<Array1<T>>,
    /// Scaled weight standardization: (γ·scale, per-row std σ_i of the raw weight).
    pub ws: Option<(f64, Vec<f64>)>,
}

impl<T: Real> Params<T> {
    /// Plain parameters (no standardization).
    pub fn plain(w: Array2<T>, b: Option<Array1<T>>) -> Params<T> {
        Params { w, b, ws: None }
    }

    /// Turn ∂loss/∂Ŵ (in `g`) into ∂loss/∂W of the raw weight under scaled weight
    /// standardization, Ŵ_i = γ·u_i/√n with u_i = (W_i − mean W_i)/σ_i per row of n entries:
    ///   ∂loss/∂W_i = γ/(σ_i·√n)·(g_i − mean(g_i) − u_i·mean(g_i ⊙ u_i)).
    /// Nothing to do without standardization.
    pub fn raw_weight_grad(&self, g: &mut Array2<T>) {
        let Some((gain, sigma)) = &self.ws else {
            return;
        };
        let n = self.w.ncols() as f64;
        for ((mut gr, wr), &s) in g.rows_mut().into_iter().zip(self.w.rows()).zip(sigma) {
            let to_u = n.sqrt() / gain;
            let mg = gr.iter().map(|v| v.f64()).sum::<f64>() / n;
            let mgu = gr
                .iter()
                .zip(wr.iter())
                .map(|(a, b)| a.f64() * b.f64() * to_u)
                .sum::<f64>()
                / n;
            let k = gain / (s * n.sqrt());
            for (gv, wv) in gr.iter_mut().zip(wr.iter()) {
                let u = wv.f64() * to_u;
                *gv = T::of(k * (gv.f64() - mg - u * mgu));
            }
        }
    }
}

/// A tap's parameters from its raw drawn weight: scaled weight standardization (if the tap
/// asks for it), then its scale.
pub fn with_mod<T: Real>(
    mut w: Array2<T>,
    b: Option<Array1<T>>,
    wmod: crate::arch::layer::WeightMod,
) -> Params<T> {
    if wmod.ws_gain.is_none() && wmod.scale != 1.0 {
        let k = T::of(wmod.scale);
        w.mapv_inplace(|v| v * k);
    }
    // Standardized and scaled: Ŵ = (γ·scale)·u/√n, one effective gain.
    let ws = wmod.ws_gain.map(|gain| {
        let g = gain * wmod.scale;
        (g, standardize(&mut w, g))
    });
    Params { w, b, ws }
}

/// Ŵ = γ·(W − mean)/(σ·√n) per row, in place; returns the rows' σ.
fn standardize<T: Real>(w: &mut Array2<T>, gain: f64) -> Vec<f64> {
    let n = w.ncols() as f64;
    w.rows_mut()
        .into_iter()
        .map(|mut row| {
            let m = row.iter().map(|v| v.f64()).sum::<f64>() / n;
            let var = row.iter().map(|v| (v.f64() - m).powi(2)).sum::<f64>() / n;
            let s = var.sqrt();
            let k = gain / (s * n.sqrt());
            row.iter_mut().for_each(|v| *v = T::of((v.f64() - m) * k));
            s
        })
        .collect()
}

/// Entries per independently seeded block of an i.i.d. weight tensor.
pub const WEIGHT_BLOCK: usize = 1 << 16;

/// Draw a weight of shape `ws` (PyTorch layout), returned as `[ws[0], ∏ws[1..]]`. I.i.d.
/// schemes fill fixed blocks of [`WEIGHT_BLOCK`] entries, block k from ChaCha stream k of the
/// layer's key — the same numbers for any thread count — in parallel when this job has idle
/// workers to itself ([`crate::sim::kernels::gemm::idle_workers`]). Structured schemes
/// (orthogonal, sparse, eye, dirac, …) draw the whole tensor from stream 0, exactly as
/// `initlab weights` does for that shape.
fn draw_weights<T: Real>(
    scheme: &crate::init::Scheme,
    ws: &[usize],
    rng: rand_chacha::ChaCha8Rng,
) -> Array2<T> {
    use rayon::prelude::*;
    let shape = (ws[0], ws[1..].iter().product());
    match scheme.elementwise(ws) {
        Some(e) => {
            // Fresh storage, written once by the fill (no zeroing pass first).
            let mut w = Array2::<T>::uninit(shape);
            let fill = |(k, block): (usize, &mut [std::mem::MaybeUninit<T>])| {
                let mut r = rng.clone();
                r.set_stream(k as u64);
                // The same words as `r`'s, eight ChaCha blocks per refill.
                e.fill_uninit(&mut crate::init::chacha_wide::WideChaCha8::new(&r), block);
            };
            let blocks = w.as_slice_mut().expect("standard layout");
            if crate::sim::kernels::gemm::idle_workers() {
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

/// A tap's weight and bias: streams keyed by (seed, scheme, weight shape, trial, tap index),
/// so nets of different depth or activation share their first layers' weights (common random
/// numbers), and a conv weight is exactly what `initlab weights` samples for its shape. The
/// tap's [`crate::arch::layer::WeightMod`] then applies: scaled weight standardization, then
/// the scale.
pub fn layer_params<T: Real>(seed: u64, init: &Init, tap: &Tap, trial: usize) -> Params<T> {
    let ws = &tap.weight_shape;
    let dims = format!("{ws:?}");
    let (seed, trial, layer) = (seed.to_string(), trial.to_string(), tap.index.to_string());
    let wname = init.weight.canonical();
    let rng = stream(&["weight", &seed, &wname, &dims, &trial, &layer]);
    let w = draw_weights::<T>(&init.weight, ws, rng);
    let b = tap.bias.then(|| {
        let bname = init.bias.canonical();
        let mut rng = stream(&["bias", &seed, &bname, &dims, &trial, &layer]);
        let b = init
            .bias
            .sample(ws, &mut rng)
            .expect("bias shape validated with the config");
        Array1::from_vec(b.into_iter().map(T::of).collect())
    });
    // Recipes: weight standardization, then the scale (Fixup's L^(−1/(2m−2)), or 0).
    with_mod(w, b, tap.wmod)
}

/// A trial's layer parameters, drawn on demand from their streams and, when `keep`, held for
/// the backward pass and for other cells of the same group (whose taps agree on every index
/// they share: see [`crate::sweep::jobs::weight_groups`]).
pub struct WeightCache<'a, T: Real> {
    seed: u64,
    init: &'a Init,
    trial: usize,
    keep: bool,
    /// By tap index − 1.
    layers: Vec<Option<Rc<Params<T>>>>,
    /// Seconds spent drawing so far.
    pub seconds: f64,
}

impl<'a, T: Real> WeightCache<'a, T> {
    /// A cache for taps up to `depth`, keeping them when `weight_entries` (of the largest
    /// network that will use it) fit.
    pub fn new(
        seed: u64,
        init: &'a Init,
        trial: usize,
        depth: usize,
        weight_entries: u128,
    ) -> Self {
        WeightCache {
            seed,
            init,
            trial,
            keep: keeps_weights(weight_entries, std::mem::size_of::<T>()),
            layers: (0..depth).map(|_| None).collect(),
            seconds: 0.0,
        }
    }

    /// Tap `tap.index`'s parameters; with `release`, the cache lets go of them (their last
    /// use), so memory falls as the last backward pass proceeds.
    pub fn get(&mut self, tap: &Tap, release: bool) -> Rc<Params<T>> {
        if self.layers.len() < tap.index {
            self.layers.resize(tap.index, None);
        }
        let slot = &mut self.layers[tap.index - 1];
        if let Some(p) = slot {
            let p = Rc::clone(p);
            if release {
                *slot = None;
            }
            return p;
        }
        let t = std::time::Instant::now();
        let p = Rc::new(layer_params::<T>(self.seed, self.init, tap, self.trial));
        self.seconds += t.elapsed().as_secs_f64();
        if self.keep && !release {
            *slot = Some(Rc::clone(&p));
        }
        p
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Standardized rows have mean 0 and squared norm γ²; the scale multiplies after.
    #[test]
    fn weight_mods_standardize_then_scale() {
        let init = Init::parse_spec("kaiming_normal", "t").unwrap();
        let mut tap = crate::arch::network::mlp(&[50, 7], false).taps().remove(0);
        tap.wmod.ws_gain = Some(1.7);
        tap.wmod.scale = 0.5;
        let p = layer_params::<f64>(3, &init, &tap, 0);
        for row in p.w.rows() {
            let m: f64 = row.sum() / 50.0;
            let n2: f64 = row.iter().map(|v| v * v).sum();
            assert!(m.abs() < 1e-12, "{m}");
            assert!((n2 - (1.7f64 * 0.5).powi(2)).abs() < 1e-12, "{n2}");
        }
        let (gain, sigma) = p.ws.as_ref().unwrap();
        assert_eq!(*gain, 1.7 * 0.5);
        // σ is the raw rows' std: kaiming_normal's √(2/50) up to sampling.
        assert!(sigma.iter().all(|s| (s / 0.2 - 1.0).abs() < 0.4));
    }
    use crate::arch::network::{conv, mlp};

    #[test]
    fn drawn_twice_the_same_and_conv_weights_are_the_weights_command() {
        let init = Init::parse_spec("kaiming_normal", "t").unwrap();
        let tap = &mlp(&[8, 8, 8, 8], true).taps()[1];
        let a = layer_params::<f32>(5, &init, tap, 2);
        let b = layer_params::<f32>(5, &init, tap, 2);
        assert_eq!(a.w, b.w);
        assert_eq!(a.b, b.b);
        // A structured scheme on a conv weight: `Scheme::sample` of the PyTorch shape,
        // row-major, exactly (dirac: the identity kernel).
        let dirac = Init::parse_spec("dirac", "t").unwrap();
        let net = conv(
            &[4, 6],
            &[5, 5],
            3,
            crate::arch::layer::Padding::Zeros,
            false,
        );
        let tap = &net.taps()[0];
        let p = layer_params::<f64>(1, &dirac, tap, 0);
        assert_eq!(p.w.dim(), (6, 36));
        let mut rng = stream(&["unused"]);
        let want = dirac.weight.sample(&tap.weight_shape, &mut rng).unwrap();
        assert_eq!(p.w.as_slice().unwrap(), &want[..]);
        // Output channel o < 4 has a 1 at input o's centre tap (index 4 of 9).
        for o in 0..6 {
            for j in 0..36 {
                let one = o < 4 && j == o * 9 + 4;
                assert_eq!(p.w[[o, j]], if one { 1.0 } else { 0.0 });
            }
        }
    }
}
