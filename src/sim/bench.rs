//! Kernel benchmarks for `initlab bench` and `cargo bench`: the GEMM the simulator uses, weight
//! generation, and the activation + statistics pass. Each reports a rate measured on this
//! machine, so speed is judged as ratios within one run.

use crate::activation::Activation;
use crate::arch::network::mlp;
use crate::init::Init;
use crate::real::Real;
use crate::sim::kernels::gemm::gemm;
use crate::sim::layer_params;
use crate::sim::stats::moments;
use ndarray::Array2;
use std::time::Instant;

/// Best-of-`reps` seconds of `f` (after one warm-up call).
pub fn best_of(reps: usize, mut f: impl FnMut()) -> f64 {
    f();
    (0..reps)
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed().as_secs_f64()
        })
        .fold(f64::INFINITY, f64::min)
}

/// Best-of-`windows` rate of `f` in calls per second, each window repeating `f` for at least
/// `min_seconds` (after one warm-up call): a rate the machine sustains, not a single burst.
pub fn sustained_rate(windows: usize, min_seconds: f64, mut f: impl FnMut()) -> f64 {
    f();
    (0..windows)
        .map(|_| {
            let t = Instant::now();
            let mut calls = 0u64;
            while calls == 0 || t.elapsed().as_secs_f64() < min_seconds {
                f();
                calls += 1;
            }
            calls as f64 / t.elapsed().as_secs_f64()
        })
        .fold(0.0, f64::max)
}

fn gemm_operands<T: Real>(m: usize, k: usize, n: usize) -> (Array2<T>, Array2<T>, Array2<T>) {
    let a = Array2::<T>::from_shape_fn((m, k), |(i, j)| {
        T::of(((i * 7 + j * 3) % 11) as f64 * 0.1 - 0.5)
    });
    let b = Array2::<T>::from_shape_fn((k, n), |(i, j)| {
        T::of(((i * 5 + j) % 13) as f64 * 0.1 - 0.6)
    });
    (a, b, Array2::<T>::zeros((m, n)))
}

/// GFLOP/s of C = A·B for m×k · k×n on the current rayon pool: the best of `reps` single calls.
pub fn gemm_gflops<T: Real>(m: usize, k: usize, n: usize, reps: usize) -> f64 {
    let (a, b, mut c) = gemm_operands::<T>(m, k, n);
    let s = best_of(reps, || gemm(a.view(), b.view(), c.view_mut()));
    2.0 * (m * k * n) as f64 / s / 1e9
}

/// GFLOP/s of the same product sustained over windows of at least `min_seconds` (best of
/// `windows`): the rate to hold a workload of many seconds against.
pub fn gemm_gflops_sustained<T: Real>(
    m: usize,
    k: usize,
    n: usize,
    windows: usize,
    min_seconds: f64,
) -> f64 {
    let (a, b, mut c) = gemm_operands::<T>(m, k, n);
    let calls = sustained_rate(windows, min_seconds, || {
        gemm(a.view(), b.view(), c.view_mut())
    });
    2.0 * (m * k * n) as f64 * calls / 1e9
}

/// Millions of weights per second drawn for a `width`×`width` layer by `spec`.
pub fn weight_rate<T: Real>(spec: &str, width: usize, reps: usize) -> f64 {
    let init = Init::parse_spec(spec, "bench").expect("valid spec");
    let net = mlp(&[width, width], false);
    let tap = &net.taps()[0];
    let mut layer = 0;
    let s = best_of(reps, || {
        layer += 1;
        let p = layer_params::<T>(layer, &init, tap, 0);
        std::hint::black_box(p);
    });
    (width * width) as f64 / s / 1e6
}

/// Millions of elements per second through φ and the pooled moments of y and φ(y).
pub fn activation_rate<T: Real>(act: Activation, batch: usize, width: usize, reps: usize) -> f64 {
    let y = Array2::<T>::from_shape_fn((batch, width), |(i, j)| {
        T::of(((i * 31 + j * 17) % 97) as f64 / 24.0 - 2.0)
    });
    let mut x = Array2::<T>::zeros((batch, width));
    let s = best_of(reps, || {
        crate::sim::apply_activation(act, &y, &mut x);
        std::hint::black_box((
            moments(y.as_slice().unwrap()),
            moments(x.as_slice().unwrap()),
        ));
    });
    (batch * width) as f64 / s / 1e6
}

/// Millions of ChaCha8 words per second read in 512-word calls, from rand_chacha's own
/// generator and from [`crate::init::chacha_wide::WideChaCha8`] (the same words): (rand_chacha,
/// wide).
pub fn chacha_word_rates(reps: usize) -> (f64, f64) {
    use rand::{Rng, SeedableRng};
    const CALLS: usize = 2048;
    let base = rand_chacha::ChaCha8Rng::seed_from_u64(1);
    let mut buf = [0u32; crate::init::words::WORDS];
    let mut rate = |f: &mut dyn FnMut(&mut [u32])| {
        let s = best_of(reps, || {
            for _ in 0..CALLS {
                f(&mut buf);
                std::hint::black_box(&buf);
            }
        });
        (CALLS * buf.len()) as f64 / s / 1e6
    };
    let mut r = base.clone();
    let narrow = rate(&mut |b| r.fill(b));
    let mut w = crate::init::chacha_wide::WideChaCha8::new(&base);
    let wide = rate(&mut |b| w.fill(b));
    (narrow, wide)
}

/// GFLOP/s of a 3×3 "same" conv2d layer's three products (forward, input gradient, weight
/// gradient; 2·rows·in·out·9 flops each, rows = batch·positions) at `channels` in and out on
/// `image`, and of the plain GEMM at its im2col shape (rows × 9·in · 9·in × out): the same
/// threads, the best of `reps` calls each.
pub fn conv_rates(batch: usize, channels: usize, image: [usize; 2], reps: usize) -> [f64; 4] {
    use crate::arch::layer::{Layer, Padding};
    use crate::sim::layers::products;
    let net = crate::arch::network::conv(&[channels, channels], &image, 3, Padding::Zeros, false);
    let init = Init::parse_spec("kaiming_normal", "bench").expect("valid spec");
    let tap = &net.taps()[0];
    let p = layer_params::<f32>(1, &init, tap, 0);
    let layer = net
        .layers
        .iter()
        .find(|l| matches!(l, Layer::Conv(_)))
        .expect("a conv layer");
    let prod = products::<f32>(layer).expect("weighted layer");
    let rows = batch * image[0] * image[1];
    let x = Array2::<f32>::from_shape_fn((rows, channels), |(i, j)| {
        ((i * 7 + j * 3) % 11) as f32 * 0.1 - 0.5
    });
    let (mut y, mut dx, mut gw) = (
        Array2::zeros((0, 0)),
        Array2::zeros((0, 0)),
        Array2::zeros((0, 0)),
    );
    let flops = 2.0 * (rows * channels * channels * 9) as f64;
    let rate = |s: f64| flops / s / 1e9;
    let fwd = rate(best_of(reps, || prod.forward(&p, &x, &mut y)));
    let bwd = rate(best_of(reps, || prod.backward_input(&p, &x, &mut dx)));
    let wg = rate(best_of(reps, || prod.weight_grad(&x, &x, &mut gw)));
    [
        fwd,
        bwd,
        wg,
        gemm_gflops::<f32>(rows, 9 * channels, channels, reps),
    ]
}
