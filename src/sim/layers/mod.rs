//! Each weighted layer kind's three products on channels-last batches (`[batch·positions,
//! channels]` matrices): the forward map, the input gradient (the transposed map) and the
//! weight gradient — like burn's `ModuleOps` (`conv2d`, `conv2d_x_backward`,
//! `conv2d_weight_backward`). Each file checks its products against a direct computation and
//! against finite differences of Σ y ⊙ dy.

pub mod conv;
pub mod dense;
pub mod norm;

use crate::arch::layer::Layer;
use crate::real::Real;
use crate::sim::params::Params;
use ndarray::Array2;

/// The products of one weighted layer. With L = Σ y ⊙ dy for y = forward(x):
/// `backward_input` is ∂L/∂x and `weight_grad` is ∂L/∂W in `p.w`'s layout (PyTorch's
/// `[out, in·∏k]`). Outputs are resized to fit.
pub trait Products<T: Real>: Sync {
    fn forward(&self, p: &Params<T>, x: &Array2<T>, y: &mut Array2<T>);
    fn backward_input(&self, p: &Params<T>, dy: &Array2<T>, dx: &mut Array2<T>);
    fn weight_grad(&self, x: &Array2<T>, dy: &Array2<T>, gw: &mut Array2<T>);
}

/// The products of a weighted layer (`None` for layers without weights).
pub fn products<T: Real>(layer: &Layer) -> Option<&dyn Products<T>> {
    match layer {
        Layer::Dense(d) => Some(d),
        Layer::Conv(c) => Some(c),
        Layer::Act | Layer::Norm(_) | Layer::Residual(_) => None,
    }
}

/// Resize `buf` to `dim` (reusing its allocation when the shape already fits).
pub fn fit<T: Real>(buf: &mut Array2<T>, dim: (usize, usize)) {
    if buf.dim() != dim {
        *buf = zeros(dim);
    }
}

/// Entries from which [`zeros`] splits its fill.
const PARALLEL_ZEROS: usize = 1 << 18;

/// A zeroed array. A large one is filled in pieces by all of this job's workers when it has
/// idle ones ([`crate::sim::kernels::gemm::idle_workers`]): fresh memory costs the kernel's
/// page clearing at first touch, and in W3 (which keeps 2 GB of pre-activations) that
/// clearing was 9.7% of the run's CPU samples, on one thread while the other waited.
pub fn zeros<T: Real>(dim: (usize, usize)) -> Array2<T> {
    use rayon::prelude::*;
    if dim.0 * dim.1 < PARALLEL_ZEROS || !crate::sim::kernels::gemm::idle_workers() {
        return Array2::zeros(dim);
    }
    let mut a = Array2::<T>::uninit(dim);
    a.as_slice_mut()
        .expect("standard layout")
        .par_chunks_mut(1 << 15)
        .for_each(|c| {
            c.iter_mut().for_each(|v| {
                v.write(T::zero());
            })
        });
    // SAFETY: every entry was written above.
    unsafe { a.assume_init() }
}

/// y[r, :] += b for every row.
pub fn add_bias<T: Real>(y: &mut Array2<T>, b: &ndarray::Array1<T>) {
    ndarray::Zip::from(y.rows_mut())
        .for_each(|mut row| row.zip_mut_with(b, |yi, &bi| *yi = *yi + bi));
}

#[cfg(test)]
pub(crate) mod testing {
    //! Finite-difference checks shared by the layer files.
    use super::*;
    use rand::SeedableRng;
    use rand_distr::{Distribution, StandardNormal};

    pub fn random(r: usize, c: usize, seed: u64) -> Array2<f64> {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
        Array2::from_shape_simple_fn((r, c), || StandardNormal.sample(&mut rng))
    }

    /// Check `backward_input` and `weight_grad` of `layer` against central differences of
    /// L = Σ forward(x) ⊙ dy for every input and weight entry, and the bias through Σ dy.
    pub fn check_against_finite_differences(
        layer: &dyn Products<f64>,
        p: &Params<f64>,
        x: &Array2<f64>,
        dy_dim: (usize, usize),
    ) {
        let dy = random(dy_dim.0, dy_dim.1, 99);
        let loss = |p: &Params<f64>, x: &Array2<f64>| {
            let mut y = Array2::zeros((0, 0));
            layer.forward(p, x, &mut y);
            (&y * &dy).sum()
        };
        let (mut dx, mut gw) = (Array2::zeros((0, 0)), Array2::zeros((0, 0)));
        layer.backward_input(p, &dy, &mut dx);
        layer.weight_grad(x, &dy, &mut gw);
        assert_eq!(dx.dim(), x.dim());
        assert_eq!(gw.dim(), p.w.dim());
        let h = 1e-6;
        let close = |fd: f64, an: f64, what: &str| {
            assert!(
                (fd - an).abs() < 1e-7 * (1.0 + an.abs()),
                "{what}: finite difference {fd} vs analytic {an}"
            );
        };
        for i in 0..x.nrows() {
            for j in 0..x.ncols() {
                let (mut xp, mut xm) = (x.clone(), x.clone());
                xp[[i, j]] += h;
                xm[[i, j]] -= h;
                close(
                    (loss(p, &xp) - loss(p, &xm)) / (2.0 * h),
                    dx[[i, j]],
                    &format!("x[{i},{j}]"),
                );
            }
        }
        for i in 0..p.w.nrows() {
            for j in 0..p.w.ncols() {
                let (mut pp, mut pm) = (p.clone(), p.clone());
                pp.w[[i, j]] += h;
                pm.w[[i, j]] -= h;
                close(
                    (loss(&pp, x) - loss(&pm, x)) / (2.0 * h),
                    gw[[i, j]],
                    &format!("W[{i},{j}]"),
                );
            }
            if let Some(b) = &p.b {
                let (mut pp, mut pm) = (p.clone(), p.clone());
                pp.b.as_mut().unwrap()[i] += h;
                pm.b.as_mut().unwrap()[i] -= h;
                let an: f64 = dy.column(i).sum();
                close(
                    (loss(&pp, x) - loss(&pm, x)) / (2.0 * h),
                    an,
                    &format!("b[{i}] (of {})", b.len()),
                );
            }
        }
    }
}
