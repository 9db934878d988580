//! A trial's data: the input batch x_0 and the output gradient g, as channels-last
//! `[batch·positions, channels]` matrices.
//!
//! Streams are keyed by (role, seed, channels, batch, trial, distribution) and, for images,
//! the image size — never by init or activation, so every cell of a trial sees the same data
//! (common random numbers). Dense data keys are those of the MLP-only versions (same numbers).

use crate::arch::layer::Features;
use crate::config::DataDist;
use crate::real::Real;
use crate::seed::stream;
use ndarray::Array2;
use rand::Rng;
use rand_distr::{Distribution, StandardNormal};

/// A rows × cols matrix drawn from `dist`: normal → std·z; uniform → U(±√3·std), variance std².
fn data_matrix<T: Real>(rng: &mut impl Rng, dist: DataDist, rows: usize, cols: usize) -> Array2<T> {
    let s3 = 3f64.sqrt() * dist.std;
    Array2::from_shape_simple_fn((rows, cols), || {
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

/// A trial's data matrix for `role` ("input" or "output_grad") of per-sample shape `f`.
fn trial_data<T: Real>(
    role: &str,
    seed: u64,
    dist: DataDist,
    batch: usize,
    f: &Features,
    trial: usize,
) -> Array2<T> {
    let mut key = vec![
        role.to_string(),
        seed.to_string(),
        f.channels.to_string(),
        batch.to_string(),
        trial.to_string(),
        dist.name().to_string(),
    ];
    if !f.image.is_empty() {
        let dims: Vec<String> = f.image.iter().map(|d| d.to_string()).collect();
        key.push(dims.join("x"));
    }
    let parts: Vec<&str> = key.iter().map(|s| s.as_str()).collect();
    let mut rng = stream(&parts);
    data_matrix(&mut rng, dist, batch * f.positions(), f.channels)
}

/// The input batch x_0 of a trial (batch × n_0 × image).
pub fn input_batch<T: Real>(
    seed: u64,
    dist: DataDist,
    batch: usize,
    input: &Features,
    trial: usize,
) -> Array2<T> {
    trial_data("input", seed, dist, batch, input, trial)
}

/// The output gradient g of a trial (batch × n_L × image).
pub fn output_gradient<T: Real>(
    seed: u64,
    dist: DataDist,
    batch: usize,
    output: &Features,
    trial: usize,
) -> Array2<T> {
    trial_data("output_grad", seed, dist, batch, output, trial)
}
