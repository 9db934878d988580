//! The simulator's matrix product: C = A·B with matrixmultiply's packed microkernels (AVX2/FMA
//! or AVX-512 where the CPU has them), split into row blocks of C that run as rayon tasks.
//!
//! Work-stealing makes the split free of oversubscription: when every worker is busy with its
//! own job the blocks run one after another on the same thread; when workers are idle (fewer
//! jobs than threads, e.g. one deep trial) they steal blocks. Each element of C is accumulated
//! over k in the same order whatever the row split (matrixmultiply blocks k identically for
//! every row block), so results are bit-identical for any thread count — tested below.

use crate::real::Real;
use ndarray::linalg::general_mat_mul;
use ndarray::{ArrayView2, ArrayViewMut2, Axis};
use std::sync::atomic::{AtomicUsize, Ordering};

/// Rows of C per block: at least this many, so packing B stays a small fraction of the work.
const MIN_BLOCK_ROWS: usize = 64;

/// Simulation jobs running now (process-wide). Splitting a product only pays when some
/// workers are idle; otherwise each block would repack B for nothing. Only speed depends on it.
static BUSY_JOBS: AtomicUsize = AtomicUsize::new(0);

/// Marks one simulation job as running for as long as it lives.
pub struct JobGuard;

impl JobGuard {
    pub fn start() -> JobGuard {
        BUSY_JOBS.fetch_add(1, Ordering::Relaxed);
        JobGuard
    }
}

impl Drop for JobGuard {
    fn drop(&mut self) {
        BUSY_JOBS.fetch_sub(1, Ordering::Relaxed);
    }
}

/// The workers each running job may use: all of them divided by the jobs running now (at
/// least 1). A job whose share is 1 runs its kernels on its own thread: splitting them would
/// only hand pieces to workers busy with other jobs (or let this one wander off into theirs).
pub fn worker_share() -> usize {
    rayon::current_num_threads() / BUSY_JOBS.load(Ordering::Relaxed).max(1)
}

/// C = A·B, parallel over row blocks of C when workers are idle. `A` is m×k, `B` is k×n, `C` is m×n.
pub fn gemm<T: Real>(a: ArrayView2<T>, b: ArrayView2<T>, c: ArrayViewMut2<T>) {
    gemm_beta(a, b, T::zero(), c);
}

/// C += A·B (same splitting and bit-reproducibility as [`gemm`]).
pub fn gemm_acc<T: Real>(a: ArrayView2<T>, b: ArrayView2<T>, c: ArrayViewMut2<T>) {
    gemm_beta(a, b, T::one(), c);
}

/// C = A·B + β·C.
fn gemm_beta<T: Real>(a: ArrayView2<T>, b: ArrayView2<T>, beta: T, c: ArrayViewMut2<T>) {
    let m = a.nrows();
    let blocks = worker_share().min(m / MIN_BLOCK_ROWS).max(1);
    if blocks == 1 {
        let mut c = c;
        general_mat_mul(T::one(), &a, &b, beta, &mut c);
        return;
    }
    let rows = m.div_ceil(blocks);
    gemm_split(a, b, beta, c, rows);
}

fn gemm_split<T: Real>(
    a: ArrayView2<T>,
    b: ArrayView2<T>,
    beta: T,
    mut c: ArrayViewMut2<T>,
    rows: usize,
) {
    let m = a.nrows();
    if m <= rows {
        general_mat_mul(T::one(), &a, &b, beta, &mut c);
        return;
    }
    // Split at a multiple of `rows` so the blocks are the same whatever the recursion.
    let half = m.div_ceil(rows) / 2 * rows;
    let (a0, a1) = a.split_at(Axis(0), half);
    let (c0, c1) = c.split_at(Axis(0), half);
    rayon::join(
        || gemm_split(a0, b, beta, c0, rows),
        || gemm_split(a1, b, beta, c1, rows),
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::Array2;
    use rand::SeedableRng;
    use rand_distr::{Distribution, StandardNormal};

    fn random(r: usize, c: usize, seed: u64) -> Array2<f32> {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
        Array2::from_shape_simple_fn((r, c), || StandardNormal.sample(&mut rng))
    }

    /// Bit-identical for any block split and thread count, and equal to a naive product to
    /// f32 rounding (|error| ≤ k·ε·Σ|a||b|).
    #[test]
    fn split_does_not_change_a_single_bit() {
        let (a, b) = (random(300, 257, 1), random(257, 190, 2));
        let mut whole = Array2::<f32>::zeros((300, 190));
        general_mat_mul(1.0, &a, &b, 0.0, &mut whole);
        for rows in [1, 7, 64, 100, 150, 299] {
            let mut c = Array2::<f32>::zeros((300, 190));
            gemm_split(a.view(), b.view(), 0.0, c.view_mut(), rows);
            assert!(c == whole, "rows {rows}");
        }
        for threads in [1, 2, 3, 5] {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .unwrap();
            let mut c = Array2::<f32>::zeros((300, 190));
            pool.install(|| gemm(a.view(), b.view(), c.view_mut()));
            assert!(c == whole, "threads {threads}");
        }
        let (i, j) = (123, 45);
        let exact: f64 = (0..257).map(|k| a[[i, k]] as f64 * b[[k, j]] as f64).sum();
        let bound: f64 = (0..257)
            .map(|k| (a[[i, k]] * b[[k, j]]).abs() as f64)
            .sum::<f64>()
            * 257.0
            * f32::EPSILON as f64;
        assert!((whole[[i, j]] as f64 - exact).abs() <= bound);
    }
}
