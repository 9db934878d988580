//! The GEMM candidates behind one interface: `C = A·B` for row-major f32 matrices, A and B
//! possibly strided by rows (unit column stride), C contiguous and overwritten (β = 0).
//!
//! Every call runs inside a rayon pool of exactly `threads` workers (see `main.rs`), so a
//! candidate that sizes its work from `rayon::current_num_threads()` sees the right count.

use rten_gemm::{GemmExecutor, GemmInputA, GemmInputB, GemmOptions};
use rten_tensor::NdTensorView;

/// A row-major matrix view with unit column stride: element (i, j) is `data[i * rs + j]`.
#[derive(Clone, Copy)]
pub struct View<'a> {
    pub data: &'a [f32],
    pub rows: usize,
    pub cols: usize,
    pub rs: usize,
}

impl<'a> View<'a> {
    /// A contiguous rows×cols matrix.
    pub fn new(data: &'a [f32], rows: usize, cols: usize) -> Self {
        assert_eq!(data.len(), rows * cols);
        View {
            data,
            rows,
            cols,
            rs: cols,
        }
    }

    /// Rows `r0..r1` (all columns).
    pub fn rows(self, r0: usize, r1: usize) -> Self {
        assert!(r0 < r1 && r1 <= self.rows);
        View {
            data: &self.data[r0 * self.rs..(r1 - 1) * self.rs + self.cols],
            rows: r1 - r0,
            ..self
        }
    }

    /// Columns `c0..c1` (all rows): a strided view.
    pub fn cols(self, c0: usize, c1: usize) -> Self {
        let end = (self.rows - 1) * self.rs + c1;
        View {
            data: &self.data[c0..end],
            cols: c1 - c0,
            ..self
        }
    }
}

/// The candidates compared.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Cand {
    /// matrixmultiply 0.3 (feature "avx512"), `sgemm` once per thread; with 2 threads C is
    /// split as the simulator does since c303ca8 (`src/sim/kernels/gemm.rs`): in halves of
    /// its columns when n > m (each half repacks A), else of its rows, run by `rayon::join`.
    Mm,
    /// The same, always split by rows (the simulator's rule before c303ca8).
    MmRows,
    /// gemm 0.19 (sarah-ek): `Parallelism::None` / `Parallelism::Rayon(threads)`.
    Gemm,
    /// faer 0.24 `linalg::matmul::matmul`: `Par::Seq` / `Par::rayon(threads)`; on x86-64 it
    /// dispatches to private-gemm-x86's AVX2/AVX-512 kernels.
    Faer,
    /// rten-gemm 0.27 (`GemmExecutor::gemm`), parallel by rayon over its thread pool.
    Rten,
}

pub const ALL: [Cand; 5] = [Cand::Mm, Cand::MmRows, Cand::Gemm, Cand::Faer, Cand::Rten];

impl Cand {
    pub fn name(self) -> &'static str {
        match self {
            Cand::Mm => "matrixmultiply",
            Cand::MmRows => "mm rows",
            Cand::Gemm => "gemm",
            Cand::Faer => "faer",
            Cand::Rten => "rten-gemm",
        }
    }
}

/// Holds per-candidate state (rten's executor picks its kernel once).
pub struct Gemms {
    rten: GemmExecutor<f32>,
}

impl Gemms {
    pub fn new() -> Self {
        Gemms {
            rten: GemmExecutor::default(),
        }
    }

    /// The kernel rten-gemm selected on this CPU (e.g. "fma" or "avx512").
    pub fn rten_kernel(&self) -> &str {
        self.rten.kernel_name()
    }

    /// `c = a·b` with candidate `cand` using `threads` threads (call inside a pool of that size).
    pub fn matmul(&self, cand: Cand, threads: usize, a: View, b: View, c: &mut [f32]) {
        assert_eq!(a.cols, b.rows);
        assert_eq!(c.len(), a.rows * b.cols);
        match cand {
            Cand::Mm => mm_split(threads, a, b, c, true),
            Cand::MmRows => mm_split(threads, a, b, c, false),
            Cand::Gemm => gemm_crate(threads, a, b, c),
            Cand::Faer => faer_matmul(threads, a, b, c),
            Cand::Rten => self.rten_gemm(a, b, c),
        }
    }

    fn rten_gemm(&self, a: View, b: View, c: &mut [f32]) {
        let a = NdTensorView::from_data_with_strides([a.rows, a.cols], a.data, [a.rs, 1]).unwrap();
        let b = NdTensorView::from_data_with_strides([b.rows, b.cols], b.data, [b.rs, 1]).unwrap();
        let opts = GemmOptions::default();
        self.rten
            .gemm(c, GemmInputA::Unpacked(a), GemmInputB::Unpacked(b), opts)
            .unwrap();
    }
}

/// A pointer into C that may go to another rayon worker (the blocks written are disjoint).
#[derive(Clone, Copy)]
struct CPtr(*mut f32);

// SAFETY: only used for disjoint blocks of one C, each written by one task.
unsafe impl Send for CPtr {}
unsafe impl Sync for CPtr {}

impl CPtr {
    fn at(self, offset: usize) -> CPtr {
        // SAFETY: callers stay inside C.
        CPtr(unsafe { self.0.add(offset) })
    }
}

/// One `matrixmultiply::sgemm` call into contiguous C (β = 0: C is not read).
pub fn mm(a: View, b: View, c: &mut [f32]) {
    // SAFETY: C is m×n contiguous.
    unsafe { mm_raw(a, b, CPtr(c.as_mut_ptr()), b.cols) }
}

/// One sgemm call writing the a.rows × b.cols block at `c` (row stride `rsc`).
///
/// # Safety
/// The block must lie inside C and be written by no one else meanwhile.
unsafe fn mm_raw(a: View, b: View, c: CPtr, rsc: usize) {
    matrixmultiply::sgemm(
        a.rows,
        a.cols,
        b.cols,
        1.0,
        a.data.as_ptr(),
        a.rs as isize,
        1,
        b.data.as_ptr(),
        b.rs as isize,
        1,
        0.0,
        c.0,
        rsc as isize,
        1,
    );
}

/// matrixmultiply with C split into `threads` near-equal blocks run by rayon: blocks of
/// columns when `wide_by_cols` and n > m, else of rows. (With the `mm-threading` feature:
/// one call, matrixmultiply splits the work itself.)
fn mm_split(threads: usize, a: View, b: View, c: &mut [f32], wide_by_cols: bool) {
    if threads <= 1 || cfg!(feature = "mm-threading") {
        return mm(a, b, c);
    }
    let by_cols = wide_by_cols && b.cols > a.rows;
    // SAFETY: the blocks tile C (m×n contiguous) without overlap.
    unsafe { mm_blocks(threads, a, b, CPtr(c.as_mut_ptr()), b.cols, by_cols) }
}

/// # Safety
/// As [`mm_raw`].
unsafe fn mm_blocks(threads: usize, a: View, b: View, c: CPtr, rsc: usize, by_cols: bool) {
    let len = if by_cols { b.cols } else { a.rows };
    if threads <= 1 || len < 2 {
        return mm_raw(a, b, c, rsc);
    }
    let (t0, t1, half) = (threads / 2, threads - threads / 2, len / 2);
    if by_cols {
        let (b0, b1, c1) = (b.cols(0, half), b.cols(half, len), c.at(half));
        rayon::join(
            || mm_blocks(t0, a, b0, c, rsc, true),
            || mm_blocks(t1, a, b1, c1, rsc, true),
        );
    } else {
        let (a0, a1, c1) = (a.rows(0, half), a.rows(half, len), c.at(half * rsc));
        rayon::join(
            || mm_blocks(t0, a0, b, c, rsc, false),
            || mm_blocks(t1, a1, b, c1, rsc, false),
        );
    }
}

fn gemm_crate(threads: usize, a: View, b: View, c: &mut [f32]) {
    let (m, k, n) = (a.rows, a.cols, b.cols);
    let par = if threads <= 1 {
        gemm::Parallelism::None
    } else {
        gemm::Parallelism::Rayon(threads)
    };
    // SAFETY: as for `mm`. gemm computes dst = α·dst + β·lhs·rhs; read_dst = false ignores dst.
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            c.as_mut_ptr(),
            1,
            n as isize,
            false,
            a.data.as_ptr(),
            1,
            a.rs as isize,
            b.data.as_ptr(),
            1,
            b.rs as isize,
            0.0,
            1.0,
            false,
            false,
            false,
            par,
        );
    }
}

fn faer_matmul(threads: usize, a: View, b: View, c: &mut [f32]) {
    use faer::{Accum, MatMut, MatRef, Par};
    let (m, n) = (a.rows, b.cols);
    let am = MatRef::from_row_major_slice_with_stride(a.data, a.rows, a.cols, a.rs);
    let bm = MatRef::from_row_major_slice_with_stride(b.data, b.rows, b.cols, b.rs);
    let cm = MatMut::from_row_major_slice_mut(c, m, n);
    let par = if threads <= 1 {
        Par::Seq
    } else {
        Par::rayon(threads)
    };
    faer::linalg::matmul::matmul(cm, Accum::Replace, am, bm, 1.0f32, par);
}
