//! Bit-reproducibility checks: does a candidate give the same bits with 2 threads as with 1,
//! when C is computed in row blocks or column blocks, and as matrixmultiply?

use crate::candidates::{Cand, Gemms, View};
use crate::{fill_random, Pools};

/// One product to check, with the block sizes (rows of C, columns of C) to split it into.
pub struct Case {
    pub name: &'static str,
    pub m: usize,
    pub k: usize,
    pub n: usize,
    pub blocks: &'static [usize],
}

/// The products checked: the simulator's unit-test shape and the W3 forward shape.
pub const CASES: [Case; 2] = [
    Case {
        name: "300x257*257x190",
        m: 300,
        k: 257,
        n: 190,
        blocks: &[1, 7, 64, 100, 150],
    },
    Case {
        name: "W3 256x2048*2048x2048",
        m: 256,
        k: 2048,
        n: 2048,
        blocks: &[128],
    },
];

/// Outcome of one check: `None` when it held everywhere, else the places where it failed.
pub type Outcome = Option<Vec<String>>;

/// The checks for one candidate.
pub struct Verdict {
    pub threads: Outcome,
    pub row_blocks: Outcome,
    pub col_blocks: Outcome,
    pub same_as_mm: Outcome,
    /// Equal to [`kc_model`] (checked for every candidate; matrixmultiply should pass).
    pub kc_model: Outcome,
}

/// Runs every check for every candidate in `cands`.
pub fn check_all(g: &Gemms, pools: &Pools, cands: &[Cand]) -> Vec<(Cand, Verdict)> {
    let mut verdicts: Vec<(Cand, Verdict)> = cands
        .iter()
        .map(|&c| {
            let v = Verdict {
                threads: None,
                row_blocks: None,
                col_blocks: None,
                same_as_mm: None,
                kc_model: None,
            };
            (c, v)
        })
        .collect();
    for (ci, case) in CASES.iter().enumerate() {
        let (m, k, n) = (case.m, case.k, case.n);
        let (mut a, mut b) = (vec![0.0; m * k], vec![0.0; k * n]);
        fill_random(&mut a, 100 + ci as u64);
        fill_random(&mut b, 200 + ci as u64);
        let (av, bv) = (View::new(&a, m, k), View::new(&b, k, n));
        let reference = whole(g, pools, Cand::Mm, 1, av, bv);
        for (cand, v) in verdicts.iter_mut() {
            let one = whole(g, pools, *cand, 1, av, bv);
            let two = whole(g, pools, *cand, 2, av, bv);
            fail_if(&mut v.threads, !same(&one, &two), case.name.to_string());
            fail_if(&mut v.same_as_mm, !same(&one, &reference), case.name.into());
            for &size in case.blocks {
                let r = row_blocks(g, pools, *cand, av, bv, size);
                fail_if(&mut v.row_blocks, !same(&one, &r), format!("{size}"));
                let c = col_blocks(g, pools, *cand, av, bv, size);
                fail_if(&mut v.col_blocks, !same(&one, &c), format!("{size}"));
            }
        }
    }
    // The scalar model is slow (one fmaf call per multiply-add): small products only,
    // with k spanning two and three KC blocks, m and n not multiples of the kernel tiles.
    for (mi, &(m, k, n)) in [(300, 257, 190), (37, 600, 45)].iter().enumerate() {
        let (mut a, mut b) = (vec![0.0; m * k], vec![0.0; k * n]);
        fill_random(&mut a, 300 + mi as u64);
        fill_random(&mut b, 400 + mi as u64);
        let (av, bv) = (View::new(&a, m, k), View::new(&b, k, n));
        let model = kc_model(av, bv);
        for (cand, v) in verdicts.iter_mut() {
            let c = whole(g, pools, *cand, 1, av, bv);
            fail_if(
                &mut v.kc_model,
                !same(&c, &model),
                format!("{m}x{k}*{k}x{n}"),
            );
        }
    }
    verdicts
}

fn fail_if(outcome: &mut Outcome, failed: bool, place: String) {
    if failed {
        outcome.get_or_insert_with(Vec::new).push(place);
    }
}

/// Bitwise equality (so NaNs compare by their bits, and -0 ≠ +0).
pub fn same(x: &[f32], y: &[f32]) -> bool {
    x.len() == y.len() && x.iter().zip(y).all(|(p, q)| p.to_bits() == q.to_bits())
}

/// The whole product with `threads` threads.
fn whole(g: &Gemms, pools: &Pools, cand: Cand, threads: usize, a: View, b: View) -> Vec<f32> {
    let mut c = vec![f32::NAN; a.rows * b.cols];
    pools
        .get(threads)
        .install(|| g.matmul(cand, threads, a, b, &mut c));
    c
}

/// C computed as blocks of `size` rows (the last one shorter), one product each, 1 thread.
fn row_blocks(g: &Gemms, pools: &Pools, cand: Cand, a: View, b: View, size: usize) -> Vec<f32> {
    let n = b.cols;
    let mut c = vec![f32::NAN; a.rows * n];
    pools.get(1).install(|| {
        for (i, block) in c.chunks_mut(size * n).enumerate() {
            let r0 = i * size;
            let r1 = r0 + block.len() / n;
            g.matmul(cand, 1, a.rows(r0, r1), b, block);
        }
    });
    c
}

/// C computed as blocks of `size` columns (B strided), each into a scratch block, 1 thread.
fn col_blocks(g: &Gemms, pools: &Pools, cand: Cand, a: View, b: View, size: usize) -> Vec<f32> {
    let (m, n) = (a.rows, b.cols);
    let mut c = vec![f32::NAN; m * n];
    pools.get(1).install(|| {
        for c0 in (0..n).step_by(size) {
            let c1 = (c0 + size).min(n);
            let w = c1 - c0;
            let mut block = vec![f32::NAN; m * w];
            g.matmul(cand, 1, a, b.cols(c0, c1), &mut block);
            for (i, row) in block.chunks(w).enumerate() {
                c[i * n + c0..i * n + c1].copy_from_slice(row);
            }
        }
    });
    c
}

/// matrixmultiply's arithmetic written out in scalar code: k is cut into blocks of
/// KC = 256 from the start; within a block each element is a chain of fused multiply-adds
/// from 0 in increasing k; the block sums are added to C in order (C = ab, then
/// C = round(C + ab)). Matching it bit-for-bit means the SIMD kernel width (AVX2 8×8,
/// AVX-512 16×16) and the row/column split do not enter the result.
pub fn kc_model(a: View, b: View) -> Vec<f32> {
    const KC: usize = 256;
    let (m, k, n) = (a.rows, a.cols, b.cols);
    let mut c = vec![0.0f32; m * n];
    for i in 0..m {
        for j in 0..n {
            let mut acc = 0.0f32;
            for k0 in (0..k).step_by(KC) {
                let mut ab = 0.0f32;
                for l in k0..(k0 + KC).min(k) {
                    ab = a.data[i * a.rs + l].mul_add(b.data[l * b.rs + j], ab);
                }
                acc = if k0 == 0 { ab } else { acc + ab };
            }
            c[i * n + j] = acc;
        }
    }
    c
}
