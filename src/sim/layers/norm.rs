//! Normalization at initialization (γ = 1, β = 0, training-mode statistics, as at step 0):
//!   y = (x − μ)/s,  s = √(σ² + ε),  μ, σ² the population mean and variance of a group,
//! BatchNorm grouping each channel over batch × positions (Ioffe & Szegedy 2015), LayerNorm
//! each sample over channels × positions (Ba et al. 2016). Backward, exactly through μ and σ²
//! (N entries per group, ŷ = y):
//!   dx = (dy − mean(dy) − ŷ·mean(dy ⊙ ŷ))/s.
//! Statistics are accumulated in f64 in row order; μ and s are recomputed from x in the
//! backward pass (x is kept), so nothing but the input is stored.

use crate::arch::layer::{Norm, NormKind};
use crate::real::Real;
use ndarray::Array2;

/// Per-group (mean, 1/s) of `x` (`[rows, c]`, `positions` rows per sample).
fn stats<T: Real>(n: &Norm, x: &Array2<T>, positions: usize) -> Vec<(f64, f64)> {
    let (rows, c) = x.dim();
    let xs = x.as_slice().expect("standard layout");
    match n.kind {
        NormKind::Batch => {
            let mut s1 = vec![0.0f64; c];
            for row in xs.chunks_exact(c) {
                for (a, v) in s1.iter_mut().zip(row) {
                    *a += v.f64();
                }
            }
            let mean: Vec<f64> = s1.iter().map(|s| s / rows as f64).collect();
            let mut s2 = vec![0.0f64; c];
            for row in xs.chunks_exact(c) {
                for ((a, v), m) in s2.iter_mut().zip(row).zip(&mean) {
                    let d = v.f64() - m;
                    *a += d * d;
                }
            }
            mean.iter()
                .zip(&s2)
                .map(|(&m, &s)| (m, 1.0 / (s / rows as f64 + n.eps).sqrt()))
                .collect()
        }
        NormKind::Layer => xs
            .chunks_exact(positions * c)
            .map(|g| {
                let m = g.iter().map(|v| v.f64()).sum::<f64>() / g.len() as f64;
                let v = g.iter().map(|v| (v.f64() - m).powi(2)).sum::<f64>() / g.len() as f64;
                (m, 1.0 / (v + n.eps).sqrt())
            })
            .collect(),
    }
}

/// The group (index into [`stats`]) of entry (row r, column j).
#[inline]
fn group(n: &Norm, r: usize, j: usize, positions: usize) -> usize {
    match n.kind {
        NormKind::Batch => j,
        NormKind::Layer => r / positions,
    }
}

/// y = (x − μ)/√(σ² + ε).
pub fn forward<T: Real>(n: &Norm, x: &Array2<T>, positions: usize, y: &mut Array2<T>) {
    let st = stats(n, x, positions);
    super::fit(y, x.dim());
    let c = x.ncols();
    let xs = x.as_slice().expect("standard layout");
    let ys = y.as_slice_mut().expect("standard layout");
    for (r, (xr, yr)) in xs.chunks_exact(c).zip(ys.chunks_exact_mut(c)).enumerate() {
        for (j, (xv, yv)) in xr.iter().zip(yr.iter_mut()).enumerate() {
            let (m, inv) = st[group(n, r, j, positions)];
            *yv = T::of((xv.f64() - m) * inv);
        }
    }
}

/// dx = (dy − mean(dy) − ŷ·mean(dy ⊙ ŷ))/s per group, from the layer's input `x`.
pub fn backward<T: Real>(
    n: &Norm,
    x: &Array2<T>,
    dy: &Array2<T>,
    positions: usize,
    dx: &mut Array2<T>,
) {
    let st = stats(n, x, positions);
    let c = x.ncols();
    let groups = st.len();
    let count = match n.kind {
        NormKind::Batch => x.nrows() as f64,
        NormKind::Layer => (positions * c) as f64,
    };
    let xs = x.as_slice().expect("standard layout");
    let ds = dy.as_slice().expect("standard layout");
    // mean(dy) and mean(dy ⊙ ŷ) per group.
    let (mut a, mut b) = (vec![0.0f64; groups], vec![0.0f64; groups]);
    for (r, (xr, dr)) in xs.chunks_exact(c).zip(ds.chunks_exact(c)).enumerate() {
        for (j, (xv, dv)) in xr.iter().zip(dr).enumerate() {
            let g = group(n, r, j, positions);
            let (m, inv) = st[g];
            let yh = (xv.f64() - m) * inv;
            a[g] += dv.f64();
            b[g] += dv.f64() * yh;
        }
    }
    super::fit(dx, x.dim());
    let out = dx.as_slice_mut().expect("standard layout");
    for (r, ((xr, dr), or)) in xs
        .chunks_exact(c)
        .zip(ds.chunks_exact(c))
        .zip(out.chunks_exact_mut(c))
        .enumerate()
    {
        for (j, ((xv, dv), o)) in xr.iter().zip(dr).zip(or.iter_mut()).enumerate() {
            let g = group(n, r, j, positions);
            let (m, inv) = st[g];
            let yh = (xv.f64() - m) * inv;
            *o = T::of((dv.f64() - a[g] / count - yh * b[g] / count) * inv);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::random;
    use super::*;
    use crate::arch::layer::NORM_EPS;

    /// Forward: every group has mean 0 and variance σ²/(σ² + ε); backward against central
    /// finite differences of L = Σ y ⊙ g for every input entry (BatchNorm and LayerNorm, dense
    /// and with positions).
    #[test]
    fn normalizes_and_backward_matches_finite_differences() {
        for kind in [NormKind::Batch, NormKind::Layer] {
            for (rows, c, positions) in [(5, 3, 1), (6, 2, 3)] {
                let n = Norm {
                    kind,
                    eps: NORM_EPS,
                };
                let x = random(rows, c, 1).mapv(|v| 2.0 * v + 0.7);
                let mut y = Array2::zeros((0, 0));
                forward(&n, &x, positions, &mut y);
                let st = stats(&n, &y, positions);
                for (m, inv) in st {
                    assert!(m.abs() < 1e-12, "{kind:?} mean {m}");
                    let var = 1.0 / (inv * inv) - NORM_EPS;
                    assert!((var - 1.0).abs() < 1e-4, "{kind:?} var {var}");
                }
                let g = random(rows, c, 2);
                let loss = |x: &Array2<f64>| {
                    let mut y = Array2::zeros((0, 0));
                    forward(&n, x, positions, &mut y);
                    (&y * &g).sum()
                };
                let mut dx = Array2::zeros((0, 0));
                backward(&n, &x, &g, positions, &mut dx);
                let h = 1e-6;
                for i in 0..rows {
                    for j in 0..c {
                        let (mut xp, mut xm) = (x.clone(), x.clone());
                        xp[[i, j]] += h;
                        xm[[i, j]] -= h;
                        let fd = (loss(&xp) - loss(&xm)) / (2.0 * h);
                        assert!(
                            (fd - dx[[i, j]]).abs() < 1e-7 * (1.0 + fd.abs()),
                            "{kind:?} x[{i},{j}]: fd {fd} vs {}",
                            dx[[i, j]]
                        );
                    }
                }
            }
        }
    }
}
