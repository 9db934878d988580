//! The simulator's matrix product: C = A·B with matrixmultiply's packed microkernels (AVX2/FMA
//! or AVX-512 where the CPU has them), split into row or column blocks of C that run as rayon
//! tasks.
//!
//! Work-stealing makes the split free of oversubscription: when every worker is busy with its
//! own job the blocks run one after another on the same thread; when workers are idle (fewer
//! jobs than threads, e.g. one deep trial) they steal blocks. Each element of C is accumulated
//! over k in the same order whatever the row split (matrixmultiply blocks k identically for
//! every row or column block), so results are bit-identical for any thread count — tested below.

use crate::real::Real;
use ndarray::linalg::general_mat_mul;
use ndarray::{ArrayView2, ArrayViewMut2, Axis};
use std::sync::atomic::{AtomicUsize, Ordering};

/// Rows (or columns) of C per block: at least this many, so repacking the operand every block
/// packs in full stays a small fraction of the work.
const MIN_BLOCK: usize = 64;

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

/// Whether this job has workers to itself besides its own thread ([`worker_share`] > 1): then
/// its products, weight draws, elementwise passes and fresh arrays are split into pieces, and
/// its statistics run beside its products. Only speed depends on it.
pub fn idle_workers() -> bool {
    worker_share() > 1
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
///
/// Split into blocks of rows of C (each block packing all of B, k×n) or of columns (each
/// packing all of A, m×k), whichever repacks less: columns when n > m. For the simulator's
/// 256×2048·2048×2048 products that is columns, measured at 143–150 GFLOP/s on two threads
/// against 122–135 for rows; the 2048×256·256×2048 weight gradient and the conv products
/// (m = batch·positions) split by rows.
fn gemm_beta<T: Real>(a: ArrayView2<T>, b: ArrayView2<T>, beta: T, c: ArrayViewMut2<T>) {
    let (m, n) = (a.nrows(), b.ncols());
    let axis = if n > m { Axis(1) } else { Axis(0) };
    let len = m.max(n);
    let blocks = worker_share().min(len / MIN_BLOCK).max(1);
    if blocks == 1 {
        let mut c = c;
        general_mat_mul(T::one(), &a, &b, beta, &mut c);
        return;
    }
    gemm_split(a, b, beta, c, axis, len.div_ceil(blocks));
}

/// C = A·B + β·C in blocks of `size` rows (`Axis(0)`: A's and C's rows) or columns (`Axis(1)`:
/// B's and C's columns), run as rayon tasks.
fn gemm_split<T: Real>(
    a: ArrayView2<T>,
    b: ArrayView2<T>,
    beta: T,
    mut c: ArrayViewMut2<T>,
    axis: Axis,
    size: usize,
) {
    let len = c.len_of(axis);
    if len <= size {
        general_mat_mul(T::one(), &a, &b, beta, &mut c);
        return;
    }
    // Split at a multiple of `size` so the blocks are the same whatever the recursion.
    let half = len.div_ceil(size) / 2 * size;
    let (c0, c1) = c.split_at(axis, half);
    if axis == Axis(0) {
        let (a0, a1) = a.split_at(axis, half);
        rayon::join(
            || gemm_split(a0, b, beta, c0, axis, size),
            || gemm_split(a1, b, beta, c1, axis, size),
        );
    } else {
        let (b0, b1) = b.split_at(axis, half);
        rayon::join(
            || gemm_split(a, b0, beta, c0, axis, size),
            || gemm_split(a, b1, beta, c1, axis, size),
        );
    }
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
            gemm_split(a.view(), b.view(), 0.0, c.view_mut(), Axis(0), rows);
            assert!(c == whole, "rows {rows}");
        }
        for cols in [1, 5, 64, 100, 189] {
            let mut c = Array2::<f32>::zeros((300, 190));
            gemm_split(a.view(), b.view(), 0.0, c.view_mut(), Axis(1), cols);
            assert!(c == whole, "columns {cols}");
        }
        // Split by rows (m > n) and, transposed, by columns (n > m).
        let (at, bt) = (b.t().to_owned(), a.t().to_owned());
        let mut whole_t = Array2::<f32>::zeros((190, 300));
        general_mat_mul(1.0, &at, &bt, 0.0, &mut whole_t);
        for threads in [1, 2, 3, 5] {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .unwrap();
            let mut c = Array2::<f32>::zeros((300, 190));
            pool.install(|| gemm(a.view(), b.view(), c.view_mut()));
            assert!(c == whole, "threads {threads}");
            let mut c = Array2::<f32>::zeros((190, 300));
            pool.install(|| gemm(at.view(), bt.view(), c.view_mut()));
            assert!(c == whole_t, "threads {threads}, n > m");
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
