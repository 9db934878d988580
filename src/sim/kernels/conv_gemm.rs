//! Implicit-GEMM convolution kernels: the im2col matrix is never written; each register tile
//! reads its rows' taps straight from the channels-last input.
//!
//! Why not im2col + a library GEMM: the im2col matrix has k^d·C columns but each of its
//! entries meets only `out` weights (64 in W4), so packing it costs as much as multiplying it
//! (matrixmultiply measured at 47% of its square-GEMM rate at 7168×576·576×64 on one core).
//! Reading the input in place touches each input entry k^d·out times instead.
//!
//! - [`conv_rows`]: y[r, j] = Σ_t Σ_c x[src(r, t), c]·b[t·C + c, j] for rows r of a batch, with
//!   `b` a `[taps·C, n]` row-major operand (the forward weights, or the transposed
//!   convolution's operand on δ with the negated tap table). A missing tap (zero padding)
//!   reads a row of zeros.
//! - [`conv_weight_grad`]: g[o, t·C + c] = Σ_r dy[r, o]·x[src(r, t), c].
//!
//! **Same bits everywhere.** Every output entry is one accumulator updated by a fused
//! multiply-add per term, acc ← fma(a, b, acc), in a fixed order (taps, then channels; rows in
//! order for the weight gradient), starting from 0. Register tiles (AVX-512: 6 rows × 4
//! vectors; AVX2: 6 × 2), cache blocks (an accumulator is stored and reloaded exactly), the
//! scalar edge code (`mul_add`, correctly rounded) and the split across threads change which
//! entries are computed together, never that order, so the results are bit-identical on every
//! machine and for any thread count (tested).

use super::taps::TapTable;
use crate::real::Real;
use std::any::TypeId;
use std::ops::Range;

/// Rows per cache block: the block's input rows and output tile stay in L2 while every weight
/// block passes over them.
const ROW_BLOCK: usize = 192;
/// Reduction entries (tap·channel pairs) per cache block.
const KC: usize = 256;
/// Rows per block of the weight gradient's reduction.
const WG_ROW_BLOCK: usize = 512;
/// Rows of a register tile.
const MR: usize = 6;

/// The `c` input entries tap t of row r reads: a row of x, or zeros outside the image.
#[inline(always)]
fn source_row<'a, T>(x: &'a [T], zeros: &'a [T], table: &TapTable, r: usize, t: usize) -> &'a [T] {
    let c = zeros.len();
    let p = table.positions;
    let (sample, q) = (r / p, r % p);
    match table.source(q, t) {
        Some(src) => &x[(sample * p + src) * c..][..c],
        None => zeros,
    }
}

/// The operands of one convolution: y = conv(x, b) and its weight gradient.
struct Op<'a, T> {
    x: &'a [T],
    /// `c` zeros: the row a tap outside the image reads.
    zeros: &'a [T],
    c: usize,
    table: &'a TapTable,
}

/// One register-tile kernel set (an ISA and an element type): tiles of M ≤ [`MR`] rows and V
/// vectors of `LANES` columns.
/// # Safety
/// The caller checks the CPU features and passes in-bounds tiles.
trait Tiles<T> {
    const LANES: usize;
    /// Vectors of a full tile.
    const NV: usize;
    /// Forward tile: rows r0..r0+M, columns j0..j0+V·LANES of y (`y` starts at row `y_row0`),
    /// reduction k; acc from y when k.start > 0.
    #[allow(clippy::too_many_arguments)]
    unsafe fn fwd<const M: usize, const V: usize>(
        op: &Op<T>,
        b: &[T],
        n: usize,
        r0: usize,
        j0: usize,
        k: Range<usize>,
        y: &mut [T],
        y_row0: usize,
    );
    /// Weight-gradient tile: outputs o0..o0+M, columns j0..j0+V·LANES (each vector inside one
    /// tap: c a multiple of LANES), rows `rows`; acc from g when rows.start > 0.
    #[allow(clippy::too_many_arguments)]
    unsafe fn wgrad<const M: usize, const V: usize>(
        op: &Op<T>,
        dy: &[T],
        out: usize,
        o0: usize,
        j0: usize,
        rows: Range<usize>,
        g: &mut [T],
        g_row0: usize,
        kdim: usize,
    );
}

macro_rules! simd_tiles {
    ($name:ident, $elem:ty, $vec:ty, $lanes:expr, $nv:expr, $feature:literal,
     $load:ident, $store:ident, $set1:ident, $fmadd:ident, $zero:ident) => {
        #[cfg(target_arch = "x86_64")]
        struct $name;

        #[cfg(target_arch = "x86_64")]
        impl Tiles<$elem> for $name {
            const LANES: usize = $lanes;
            const NV: usize = $nv;

            #[target_feature(enable = $feature)]
            unsafe fn fwd<const M: usize, const V: usize>(
                op: &Op<$elem>,
                b: &[$elem],
                n: usize,
                r0: usize,
                j0: usize,
                k: Range<usize>,
                y: &mut [$elem],
                y_row0: usize,
            ) {
                use std::arch::x86_64::*;
                let c = op.c;
                assert!(j0 + V * $lanes <= n && k.end <= op.table.taps * c);
                assert!((r0 + M - y_row0) * n <= y.len() && k.end * n <= b.len());
                let mut acc: [[$vec; V]; M] = [[$zero(); V]; M];
                if k.start > 0 {
                    for i in 0..M {
                        let row = y[(r0 + i - y_row0) * n + j0..].as_ptr();
                        for v in 0..V {
                            acc[i][v] = $load(row.add(v * $lanes));
                        }
                    }
                }
                let mut kk = k.start;
                while kk < k.end {
                    let t = kk / c;
                    let c_end = ((t + 1) * c).min(k.end);
                    let ch0 = kk - t * c;
                    let xr: [*const $elem; M] = std::array::from_fn(|i| {
                        source_row(op.x, op.zeros, op.table, r0 + i, t)[ch0..].as_ptr()
                    });
                    let mut bp = b[kk * n + j0..].as_ptr();
                    for ci in 0..c_end - kk {
                        let mut bv: [$vec; V] = [$zero(); V];
                        for v in 0..V {
                            bv[v] = $load(bp.add(v * $lanes));
                        }
                        for i in 0..M {
                            let xv = $set1(*xr[i].add(ci));
                            for v in 0..V {
                                acc[i][v] = $fmadd(xv, bv[v], acc[i][v]);
                            }
                        }
                        bp = bp.add(n);
                    }
                    kk = c_end;
                }
                for i in 0..M {
                    let row = y[(r0 + i - y_row0) * n + j0..].as_mut_ptr();
                    for v in 0..V {
                        $store(row.add(v * $lanes), acc[i][v]);
                    }
                }
            }

            #[target_feature(enable = $feature)]
            unsafe fn wgrad<const M: usize, const V: usize>(
                op: &Op<$elem>,
                dy: &[$elem],
                out: usize,
                o0: usize,
                j0: usize,
                rows: Range<usize>,
                g: &mut [$elem],
                g_row0: usize,
                kdim: usize,
            ) {
                use std::arch::x86_64::*;
                let c = op.c;
                assert!(c.is_multiple_of($lanes) && j0 + V * $lanes <= kdim && o0 + M <= out);
                assert!((o0 + M - g_row0) * kdim <= g.len() && rows.end * out <= dy.len());
                let mut acc: [[$vec; V]; M] = [[$zero(); V]; M];
                if rows.start > 0 {
                    for i in 0..M {
                        let row = g[(o0 + i - g_row0) * kdim + j0..].as_ptr();
                        for v in 0..V {
                            acc[i][v] = $load(row.add(v * $lanes));
                        }
                    }
                }
                // Vector v covers columns j0 + v·lanes.. inside tap tv, from channel chv.
                let taps: [(usize, usize); V] = std::array::from_fn(|v| {
                    let j = j0 + v * $lanes;
                    (j / c, j % c)
                });
                let one_tap = taps.iter().all(|&(t, _)| t == taps[0].0);
                let p = op.table.positions;
                let (mut sample, mut q) = (rows.start / p, rows.start % p);
                let (zp, xp) = (op.zeros.as_ptr(), op.x.as_ptr());
                let src = |t: usize, sample: usize, q: usize| -> *const $elem {
                    match op.table.source(q, t) {
                        Some(s) => xp.add((sample * p + s) * c),
                        None => zp,
                    }
                };
                for r in rows {
                    let mut xv: [$vec; V] = [$zero(); V];
                    if one_tap {
                        let row = src(taps[0].0, sample, q);
                        for v in 0..V {
                            xv[v] = $load(row.add(taps[v].1));
                        }
                    } else {
                        for v in 0..V {
                            xv[v] = $load(src(taps[v].0, sample, q).add(taps[v].1));
                        }
                    }
                    let d = dy.as_ptr().add(r * out + o0);
                    for i in 0..M {
                        let dv = $set1(*d.add(i));
                        for v in 0..V {
                            acc[i][v] = $fmadd(dv, xv[v], acc[i][v]);
                        }
                    }
                    q += 1;
                    if q == p {
                        q = 0;
                        sample += 1;
                    }
                }
                for i in 0..M {
                    let row = g[(o0 + i - g_row0) * kdim + j0..].as_mut_ptr();
                    for v in 0..V {
                        $store(row.add(v * $lanes), acc[i][v]);
                    }
                }
            }
        }
    };
}

simd_tiles!(
    Avx512F32,
    f32,
    __m512,
    16,
    4,
    "avx512f,fma",
    _mm512_loadu_ps,
    _mm512_storeu_ps,
    _mm512_set1_ps,
    _mm512_fmadd_ps,
    _mm512_setzero_ps
);
simd_tiles!(
    Avx512F64,
    f64,
    __m512d,
    8,
    4,
    "avx512f,fma",
    _mm512_loadu_pd,
    _mm512_storeu_pd,
    _mm512_set1_pd,
    _mm512_fmadd_pd,
    _mm512_setzero_pd
);
simd_tiles!(
    Avx2F32,
    f32,
    __m256,
    8,
    2,
    "avx2,fma",
    _mm256_loadu_ps,
    _mm256_storeu_ps,
    _mm256_set1_ps,
    _mm256_fmadd_ps,
    _mm256_setzero_ps
);
simd_tiles!(
    Avx2F64,
    f64,
    __m256d,
    4,
    2,
    "avx2,fma",
    _mm256_loadu_pd,
    _mm256_storeu_pd,
    _mm256_set1_pd,
    _mm256_fmadd_pd,
    _mm256_setzero_pd
);

/// A forward tile of `m` ≤ MR rows, either `K::NV` vectors or one.
#[allow(clippy::too_many_arguments)]
unsafe fn fwd_tile<T, K: Tiles<T>>(
    m: usize,
    full: bool,
    op: &Op<T>,
    b: &[T],
    n: usize,
    r0: usize,
    j0: usize,
    k: Range<usize>,
    y: &mut [T],
    y_row0: usize,
) {
    macro_rules! arm {
        ($m:literal) => {
            if full {
                match K::NV {
                    4 => K::fwd::<$m, 4>(op, b, n, r0, j0, k, y, y_row0),
                    _ => K::fwd::<$m, 2>(op, b, n, r0, j0, k, y, y_row0),
                }
            } else {
                K::fwd::<$m, 1>(op, b, n, r0, j0, k, y, y_row0)
            }
        };
    }
    match m {
        6 => arm!(6),
        5 => arm!(5),
        4 => arm!(4),
        3 => arm!(3),
        2 => arm!(2),
        _ => arm!(1),
    }
}

/// A weight-gradient tile of `m` ≤ MR outputs, either `K::NV` vectors or one.
#[allow(clippy::too_many_arguments)]
unsafe fn wgrad_tile<T, K: Tiles<T>>(
    m: usize,
    full: bool,
    op: &Op<T>,
    dy: &[T],
    out: usize,
    o0: usize,
    j0: usize,
    rows: Range<usize>,
    g: &mut [T],
    g_row0: usize,
    kdim: usize,
) {
    macro_rules! arm {
        ($m:literal) => {
            if full {
                match K::NV {
                    4 => K::wgrad::<$m, 4>(op, dy, out, o0, j0, rows, g, g_row0, kdim),
                    _ => K::wgrad::<$m, 2>(op, dy, out, o0, j0, rows, g, g_row0, kdim),
                }
            } else {
                K::wgrad::<$m, 1>(op, dy, out, o0, j0, rows, g, g_row0, kdim)
            }
        };
    }
    match m {
        6 => arm!(6),
        5 => arm!(5),
        4 => arm!(4),
        3 => arm!(3),
        2 => arm!(2),
        _ => arm!(1),
    }
}

/// A tile of any size (the last < LANES columns, and machines without AVX2), same arithmetic
/// as the vector tiles: one accumulator per entry, fused multiply-adds in reduction order.
#[allow(clippy::too_many_arguments)]
fn fwd_any<T: Real>(
    op: &Op<T>,
    b: &[T],
    n: usize,
    rows: Range<usize>,
    cols: Range<usize>,
    k: Range<usize>,
    y: &mut [T],
    y_row0: usize,
) {
    let c = op.c;
    let (t0, t1) = (k.start / c, k.end.div_ceil(c));
    for r in rows {
        let srcs: Vec<&[T]> = (t0..t1)
            .map(|t| source_row(op.x, op.zeros, op.table, r, t))
            .collect();
        for j in cols.clone() {
            let cell = &mut y[(r - y_row0) * n + j];
            let mut acc = if k.start > 0 { *cell } else { T::zero() };
            for kc in k.clone() {
                let (t, ch) = (kc / c, kc % c);
                acc = srcs[t - t0][ch].mul_add(b[kc * n + j], acc);
            }
            *cell = acc;
        }
    }
}

/// Weight-gradient tiles of any size, same arithmetic as the vector tiles (g holds the
/// running sums from row to row).
#[allow(clippy::too_many_arguments)]
fn wgrad_any<T: Real>(
    op: &Op<T>,
    dy: &[T],
    out: usize,
    os: Range<usize>,
    js: Range<usize>,
    rows: Range<usize>,
    g: &mut [T],
    g_row0: usize,
    kdim: usize,
) {
    let c = op.c;
    if rows.start == 0 {
        for o in os.clone() {
            for j in js.clone() {
                g[(o - g_row0) * kdim + j] = T::zero();
            }
        }
    }
    let (t0, t1) = (js.start / c, js.end.div_ceil(c));
    for r in rows {
        let srcs: Vec<&[T]> = (t0..t1)
            .map(|t| source_row(op.x, op.zeros, op.table, r, t))
            .collect();
        for o in os.clone() {
            let d = dy[r * out + o];
            for j in js.clone() {
                let (t, ch) = (j / c, j % c);
                let cell = &mut g[(o - g_row0) * kdim + j];
                *cell = d.mul_add(srcs[t - t0][ch], *cell);
            }
        }
    }
}

/// The forward driver: cache blocks of rows and of the reduction; vector tiles through `K`
/// when `vector`, the last < LANES columns (or everything) through [`fwd_any`].
fn fwd_blocks<T: Real, K: Tiles<T>>(
    op: &Op<T>,
    b: &[T],
    n: usize,
    rows: Range<usize>,
    y: &mut [T],
    vector: bool,
) {
    let kdim = op.table.taps * op.c;
    let y_row0 = rows.start;
    let (lanes, nr) = (K::LANES, K::LANES * K::NV);
    let (full_cols, vec_cols) = if vector {
        (n / nr * nr, n / lanes * lanes)
    } else {
        (0, 0)
    };
    let mut rb = rows.start;
    while rb < rows.end {
        let re = (rb + ROW_BLOCK).min(rows.end);
        let mut k0 = 0;
        while k0 < kdim {
            let k1 = (k0 + KC).min(kdim);
            if vector {
                let mut j0 = 0;
                while j0 < vec_cols {
                    let full = j0 < full_cols;
                    for r0 in (rb..re).step_by(MR) {
                        let m = MR.min(re - r0);
                        // SAFETY: the caller checked the CPU; the tile is inside y, b and x.
                        unsafe { fwd_tile::<T, K>(m, full, op, b, n, r0, j0, k0..k1, y, y_row0) };
                    }
                    j0 += if full { nr } else { lanes };
                }
            }
            if vec_cols < n {
                fwd_any(op, b, n, rb..re, vec_cols..n, k0..k1, y, y_row0);
            }
            k0 = k1;
        }
        rb = re;
    }
}

/// The weight-gradient driver: blocks of rows; vector tiles through `K` where the columns
/// allow (c a multiple of LANES), the rest through [`wgrad_any`].
fn wgrad_blocks<T: Real, K: Tiles<T>>(
    op: &Op<T>,
    dy: &[T],
    out: usize,
    outs: Range<usize>,
    g: &mut [T],
    vector: bool,
) {
    let kdim = op.table.taps * op.c;
    let rows = dy.len() / out;
    let g_row0 = outs.start;
    let (lanes, nr) = (K::LANES, K::LANES * K::NV);
    let vector = vector && op.c.is_multiple_of(lanes);
    let (full_cols, vec_cols) = if vector {
        (kdim / nr * nr, kdim / lanes * lanes)
    } else {
        (0, 0)
    };
    let mut r0 = 0;
    while r0 < rows {
        let r1 = (r0 + WG_ROW_BLOCK).min(rows);
        for o0 in outs.clone().step_by(MR) {
            let m = MR.min(outs.end - o0);
            let mut j0 = 0;
            while j0 < vec_cols {
                let full = j0 < full_cols;
                // SAFETY: the caller checked the CPU; the tile is inside g, dy and x.
                unsafe {
                    wgrad_tile::<T, K>(m, full, op, dy, out, o0, j0, r0..r1, g, g_row0, kdim)
                };
                j0 += if full { nr } else { lanes };
            }
            if vec_cols < kdim {
                wgrad_any(
                    op,
                    dy,
                    out,
                    o0..o0 + m,
                    vec_cols..kdim,
                    r0..r1,
                    g,
                    g_row0,
                    kdim,
                );
            }
        }
        r0 = r1;
    }
}

/// Cast a slice of `T` to a slice of `U` when they are the same type.
fn same<T: 'static, U: 'static>(s: &[T]) -> Option<&[U]> {
    (TypeId::of::<T>() == TypeId::of::<U>())
        // SAFETY: T and U are the same type.
        .then(|| unsafe { &*(s as *const [T] as *const [U]) })
}

fn same_mut<T: 'static, U: 'static>(s: &mut [T]) -> Option<&mut [U]> {
    (TypeId::of::<T>() == TypeId::of::<U>())
        // SAFETY: T and U are the same type.
        .then(|| unsafe { &mut *(s as *mut [T] as *mut [U]) })
}

/// Which vector tiles this CPU runs.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Isa {
    Avx512,
    Avx2,
    Scalar,
}

fn isa() -> Isa {
    #[cfg(target_arch = "x86_64")]
    {
        if std::is_x86_feature_detected!("avx512f") && std::is_x86_feature_detected!("fma") {
            return Isa::Avx512;
        }
        if std::is_x86_feature_detected!("avx2") && std::is_x86_feature_detected!("fma") {
            return Isa::Avx2;
        }
    }
    Isa::Scalar
}

/// No vector tiles: everything through the edge code.
struct ScalarTiles;

impl<T> Tiles<T> for ScalarTiles {
    const LANES: usize = 1;
    const NV: usize = 1;
    unsafe fn fwd<const M: usize, const V: usize>(
        _: &Op<T>,
        _: &[T],
        _: usize,
        _: usize,
        _: usize,
        _: Range<usize>,
        _: &mut [T],
        _: usize,
    ) {
        unreachable!("the scalar path uses the edge code")
    }
    unsafe fn wgrad<const M: usize, const V: usize>(
        _: &Op<T>,
        _: &[T],
        _: usize,
        _: usize,
        _: usize,
        _: Range<usize>,
        _: &mut [T],
        _: usize,
        _: usize,
    ) {
        unreachable!("the scalar path uses the edge code")
    }
}

/// Glue: the vector tiles are implemented for f32 and f64 only; `T` is one of them.
trait Elem: Real {
    fn fwd(op: &Op<Self>, b: &[Self], n: usize, rows: Range<usize>, y: &mut [Self]);
    fn wgrad(op: &Op<Self>, dy: &[Self], out: usize, outs: Range<usize>, g: &mut [Self]);
}

impl<T: Real> Elem for T {
    fn fwd(op: &Op<T>, b: &[T], n: usize, rows: Range<usize>, y: &mut [T]) {
        let isa = isa();
        #[cfg(target_arch = "x86_64")]
        {
            if let (Some(x), Some(z), Some(bb), Some(yy)) = (
                same::<T, f32>(op.x),
                same::<T, f32>(op.zeros),
                same::<T, f32>(b),
                same_mut::<T, f32>(y),
            ) {
                let op32 = Op {
                    x,
                    zeros: z,
                    c: op.c,
                    table: op.table,
                };
                match isa {
                    Isa::Avx512 => {
                        return fwd_blocks::<f32, Avx512F32>(&op32, bb, n, rows, yy, true)
                    }
                    Isa::Avx2 => return fwd_blocks::<f32, Avx2F32>(&op32, bb, n, rows, yy, true),
                    Isa::Scalar => {}
                }
                return fwd_blocks::<f32, ScalarTiles>(&op32, bb, n, rows, yy, false);
            }
            if let (Some(x), Some(z), Some(bb), Some(yy)) = (
                same::<T, f64>(op.x),
                same::<T, f64>(op.zeros),
                same::<T, f64>(b),
                same_mut::<T, f64>(y),
            ) {
                let op64 = Op {
                    x,
                    zeros: z,
                    c: op.c,
                    table: op.table,
                };
                match isa {
                    Isa::Avx512 => {
                        return fwd_blocks::<f64, Avx512F64>(&op64, bb, n, rows, yy, true)
                    }
                    Isa::Avx2 => return fwd_blocks::<f64, Avx2F64>(&op64, bb, n, rows, yy, true),
                    Isa::Scalar => {}
                }
                return fwd_blocks::<f64, ScalarTiles>(&op64, bb, n, rows, yy, false);
            }
        }
        let _ = isa;
        fwd_blocks::<T, ScalarTiles>(op, b, n, rows, y, false)
    }

    fn wgrad(op: &Op<T>, dy: &[T], out: usize, outs: Range<usize>, g: &mut [T]) {
        let isa = isa();
        #[cfg(target_arch = "x86_64")]
        {
            if let (Some(x), Some(z), Some(d), Some(gg)) = (
                same::<T, f32>(op.x),
                same::<T, f32>(op.zeros),
                same::<T, f32>(dy),
                same_mut::<T, f32>(g),
            ) {
                let op32 = Op {
                    x,
                    zeros: z,
                    c: op.c,
                    table: op.table,
                };
                match isa {
                    Isa::Avx512 => {
                        return wgrad_blocks::<f32, Avx512F32>(&op32, d, out, outs, gg, true)
                    }
                    Isa::Avx2 => {
                        return wgrad_blocks::<f32, Avx2F32>(&op32, d, out, outs, gg, true)
                    }
                    Isa::Scalar => {}
                }
                return wgrad_blocks::<f32, ScalarTiles>(&op32, d, out, outs, gg, false);
            }
            if let (Some(x), Some(z), Some(d), Some(gg)) = (
                same::<T, f64>(op.x),
                same::<T, f64>(op.zeros),
                same::<T, f64>(dy),
                same_mut::<T, f64>(g),
            ) {
                let op64 = Op {
                    x,
                    zeros: z,
                    c: op.c,
                    table: op.table,
                };
                match isa {
                    Isa::Avx512 => {
                        return wgrad_blocks::<f64, Avx512F64>(&op64, d, out, outs, gg, true)
                    }
                    Isa::Avx2 => {
                        return wgrad_blocks::<f64, Avx2F64>(&op64, d, out, outs, gg, true)
                    }
                    Isa::Scalar => {}
                }
                return wgrad_blocks::<f64, ScalarTiles>(&op64, d, out, outs, gg, false);
            }
        }
        let _ = isa;
        wgrad_blocks::<T, ScalarTiles>(op, dy, out, outs, g, false)
    }
}

/// y (rows `rows` of the output, `rows.len() × n`) = the implicit-GEMM convolution of `x`
/// (`[batch·positions, c]`) with `b` (`[taps·c, n]`), taps from `table`.
pub fn conv_rows<T: Real>(
    x: &[T],
    c: usize,
    table: &TapTable,
    b: &[T],
    n: usize,
    rows: Range<usize>,
    y: &mut [T],
) {
    debug_assert_eq!(b.len(), table.taps * c * n);
    debug_assert_eq!(y.len(), rows.len() * n);
    let zeros = vec![T::zero(); c];
    let op = Op {
        x,
        zeros: &zeros,
        c,
        table,
    };
    T::fwd(&op, b, n, rows, y);
}

/// [`conv_rows`] over all rows, split across this job's idle workers in blocks of whole
/// [`ROW_BLOCK`]s (the numbers do not depend on the split).
pub fn conv_all_rows<T: Real>(x: &[T], c: usize, table: &TapTable, b: &[T], n: usize, y: &mut [T]) {
    let rows = y.len() / n.max(1);
    if super::gemm::idle_workers() && rows > ROW_BLOCK {
        use rayon::prelude::*;
        y.par_chunks_mut(ROW_BLOCK * n)
            .enumerate()
            .for_each(|(i, block)| {
                let r0 = i * ROW_BLOCK;
                conv_rows(x, c, table, b, n, r0..r0 + block.len() / n, block);
            });
    } else {
        conv_rows(x, c, table, b, n, 0..rows, y);
    }
}

/// The whole weight gradient `g` (`[out, taps·c]`, tap-major columns) of a convolution with
/// input `x` (`[rows, c]`) and output gradient `dy` (`[rows, out]`): g[o, t·c + ch] =
/// Σ_r dy[r, o]·x[src(r, t), ch]. Split across this job's idle workers by output channels
/// (each entry is summed by one worker in row order: the same bits).
pub fn conv_weight_grad<T: Real>(
    x: &[T],
    dy: &[T],
    c: usize,
    out: usize,
    table: &TapTable,
    g: &mut [T],
) {
    let kdim = table.taps * c;
    let zeros = vec![T::zero(); c];
    let op = Op {
        x,
        zeros: &zeros,
        c,
        table,
    };
    let workers = super::gemm::worker_share();
    if workers > 1 && out >= 2 * MR {
        use rayon::prelude::*;
        // Whole tiles of MR output channels per part.
        let per = out.div_ceil(workers).div_ceil(MR) * MR;
        g.par_chunks_mut(per * kdim)
            .enumerate()
            .for_each(|(i, part)| {
                let o0 = i * per;
                T::wgrad(&op, dy, out, o0..o0 + part.len() / kdim, part);
            });
    } else {
        T::wgrad(&op, dy, out, 0..out, g);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::arch::layer::Padding;

    fn data(n: usize, seed: u64) -> Vec<f64> {
        let mut s = seed;
        (0..n)
            .map(|_| {
                s = s
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                ((s >> 33) as f64 / (1u64 << 31) as f64) - 0.5
            })
            .collect()
    }

    /// Against the definition with a plain sum, for tile and edge sizes, both paddings, 1-D and
    /// 2-D, f64 and f32.
    #[test]
    fn kernels_match_the_definition() {
        for (image, k, c, n, samples) in [
            (vec![5, 7], 3, 3, 70, 2),
            (vec![9], 5, 7, 13, 3),
            (vec![4, 4], 3, 64, 64, 2),
            (vec![6], 1, 2, 5, 1),
            (vec![8, 8], 3, 32, 40, 2),
        ] {
            for padding in [Padding::Zeros, Padding::Circular] {
                let table = TapTable::new(&image, k, padding, false);
                let p = table.positions;
                let rows = samples * p;
                let x = data(rows * c, 1);
                let kdim = table.taps * c;
                let b = data(kdim * n, 2);
                let dy = data(rows * n, 3);
                let mut y = vec![0.0; rows * n];
                conv_rows(&x, c, &table, &b, n, 0..rows, &mut y);
                let mut g = vec![0.0; n * kdim];
                conv_weight_grad(&x, &dy, c, n, &table, &mut g);
                let x32: Vec<f32> = x.iter().map(|&v| v as f32).collect();
                let b32: Vec<f32> = b.iter().map(|&v| v as f32).collect();
                let dy32: Vec<f32> = dy.iter().map(|&v| v as f32).collect();
                let mut y32 = vec![0.0f32; rows * n];
                conv_rows(&x32, c, &table, &b32, n, 0..rows, &mut y32);
                let mut g32 = vec![0.0f32; n * kdim];
                conv_weight_grad(&x32, &dy32, c, n, &table, &mut g32);
                for r in 0..rows {
                    let (s, q) = (r / p, r % p);
                    for j in 0..n {
                        let mut want = 0.0;
                        for t in 0..table.taps {
                            if let Some(src) = table.source(q, t) {
                                for ch in 0..c {
                                    want += x[(s * p + src) * c + ch] * b[(t * c + ch) * n + j];
                                }
                            }
                        }
                        assert!((y[r * n + j] - want).abs() < 1e-12, "{image:?} {padding:?}");
                        assert!((y32[r * n + j] as f64 - want).abs() < 1e-4, "f32 {image:?}");
                    }
                }
                for o in 0..n {
                    for kk in 0..kdim {
                        let (t, ch) = (kk / c, kk % c);
                        let want: f64 = (0..rows)
                            .filter_map(|r| {
                                table
                                    .source(r % p, t)
                                    .map(|src| dy[r * n + o] * x[((r / p) * p + src) * c + ch])
                            })
                            .sum();
                        let got = g[o * kdim + kk];
                        assert!((got - want).abs() < 1e-11, "{image:?} {padding:?}");
                        assert!((g32[o * kdim + kk] as f64 - want).abs() < 1e-4, "f32");
                    }
                }
            }
        }
    }

    /// The same bits from the vector tiles, the scalar edge code and any thread split: the
    /// reference is each entry's fused multiply-adds in order, one entry at a time.
    #[test]
    fn same_bits_for_any_tiling_and_split() {
        for (c, n) in [(19, 37), (64, 70), (32, 12)] {
            let (image, k, samples) = (vec![12, 10], 3, 3);
            let table = TapTable::new(&image, k, Padding::Zeros, false);
            let rows = samples * table.positions;
            let x: Vec<f32> = data(rows * c, 5).into_iter().map(|v| v as f32).collect();
            let kdim = table.taps * c;
            let b: Vec<f32> = data(kdim * n, 6).into_iter().map(|v| v as f32).collect();
            let dy: Vec<f32> = data(rows * n, 7).into_iter().map(|v| v as f32).collect();
            let zeros = vec![0.0f32; c];
            let op = Op {
                x: &x,
                zeros: &zeros,
                c,
                table: &table,
            };
            let mut y_ref = vec![0.0f32; rows * n];
            fwd_any(&op, &b, n, 0..rows, 0..n, 0..kdim, &mut y_ref, 0);
            let mut g_ref = vec![0.0f32; n * kdim];
            wgrad_any(&op, &dy, n, 0..n, 0..kdim, 0..rows, &mut g_ref, 0, kdim);
            for threads in [1, 2, 3] {
                let pool = rayon::ThreadPoolBuilder::new()
                    .num_threads(threads)
                    .build()
                    .unwrap();
                let (mut y, mut g) = (vec![0.0f32; rows * n], vec![0.0f32; n * kdim]);
                pool.install(|| {
                    conv_all_rows(&x, c, &table, &b, n, &mut y);
                    conv_weight_grad(&x, &dy, c, n, &table, &mut g);
                });
                assert!(y == y_ref, "forward c={c} n={n}, {threads} threads");
                assert!(g == g_ref, "weight gradient c={c} n={n}, {threads} threads");
            }
        }
    }
}
