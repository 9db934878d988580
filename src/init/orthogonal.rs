//! `torch.nn.init.orthogonal_` (Saxe et al. 2014): flatten to rows = size(0) × cols = rest,
//! draw A ~ N(0, 1), take the QR factorisation of A (of Aᵀ when rows < cols) with the signs of
//! diag(R) made positive — which makes Q Haar-distributed (Mezzadri 2007) — and return gain·Q.
//! Rows (rows ≤ cols) or columns (rows > cols) are orthonormal, so each entry has variance
//! gain²/max(rows, cols).
//!
//! The QR with positive diag(R) is unique for a full-rank matrix, so we compute it directly by
//! modified Gram–Schmidt with one re-orthogonalisation pass ("twice is enough", Giraud et al.
//! 2005), which yields R's diagonal positive by construction — the same Q as LAPACK's
//! Householder QR followed by PyTorch's sign correction.

/// Dot product with 4 independent accumulators (vectorisable, deterministic order).
fn dot(a: &[f64], b: &[f64]) -> f64 {
    let mut acc = [0.0f64; 4];
    let (ca, cb) = (a.chunks_exact(4), b.chunks_exact(4));
    let (ra, rb) = (ca.remainder(), cb.remainder());
    for (x, y) in ca.zip(cb) {
        for k in 0..4 {
            acc[k] += x[k] * y[k];
        }
    }
    let mut s = (acc[0] + acc[1]) + (acc[2] + acc[3]);
    for (x, y) in ra.iter().zip(rb) {
        s += x * y;
    }
    s
}

/// Orthonormalise the columns of an m×n matrix given as `n` column vectors of length m (m ≥ n).
fn gram_schmidt(cols: &mut [Vec<f64>]) {
    for j in 0..cols.len() {
        let (done, rest) = cols.split_at_mut(j);
        let v = &mut rest[0];
        for _pass in 0..2 {
            for q in done.iter() {
                let r = dot(q, v);
                v.iter_mut().zip(q).for_each(|(vi, qi)| *vi -= r * qi);
            }
        }
        let norm = dot(v, v).sqrt();
        if norm > 0.0 {
            v.iter_mut().for_each(|x| *x /= norm);
        }
    }
}

/// Turn `a` (row-major rows × cols, i.i.d. N(0, 1)) into gain·Q in place.
pub fn orthogonalize(a: &mut [f64], rows: usize, cols: usize, gain: f64) {
    if rows == 0 || cols == 0 {
        return;
    }
    if rows < cols {
        // Work on Aᵀ (cols × rows): its columns are A's rows, contiguous in `a`.
        let mut vecs: Vec<Vec<f64>> = a.chunks_exact(cols).map(|r| r.to_vec()).collect();
        gram_schmidt(&mut vecs);
        for (dst, src) in a.chunks_exact_mut(cols).zip(&vecs) {
            dst.iter_mut().zip(src).for_each(|(d, s)| *d = gain * s);
        }
    } else {
        let mut vecs: Vec<Vec<f64>> = (0..cols)
            .map(|j| (0..rows).map(|i| a[i * cols + j]).collect())
            .collect();
        gram_schmidt(&mut vecs);
        for (j, v) in vecs.iter().enumerate() {
            for i in 0..rows {
                a[i * cols + j] = gain * v[i];
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_distr::{Distribution, StandardNormal};

    fn check(rows: usize, cols: usize, gain: f64) {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(rows as u64 * 1000 + cols as u64);
        let mut a: Vec<f64> = (0..rows * cols)
            .map(|_| StandardNormal.sample(&mut rng))
            .collect();
        orthogonalize(&mut a, rows, cols, gain);
        // W Wᵀ = gain² I when rows ≤ cols, Wᵀ W = gain² I otherwise.
        let (n, m, row_major) = if rows <= cols {
            (rows, cols, true)
        } else {
            (cols, rows, false)
        };
        for i in 0..n {
            for j in 0..n {
                let s: f64 = (0..m)
                    .map(|k| {
                        if row_major {
                            a[i * cols + k] * a[j * cols + k]
                        } else {
                            a[k * cols + i] * a[k * cols + j]
                        }
                    })
                    .sum();
                let want = if i == j { gain * gain } else { 0.0 };
                assert!((s - want).abs() < 1e-12, "{rows}x{cols} ({i},{j}): {s}");
            }
        }
    }

    #[test]
    fn orthonormal_all_shapes() {
        check(20, 20, 1.0);
        check(7, 30, 2.0);
        check(30, 7, 0.5);
        check(1, 5, 1.0);
    }
}
