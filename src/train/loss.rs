//! The loss head on top of the simulated network: the output flattened per sample (h_i = the
//! P positions × C channels of sample i, channels-last; an MLP's output as it is), a linear
//! readout z = h·Vᵀ + c (a fully connected layer, as the FC layers closing He et al.'s and
//! VGG's conv nets), and the loss, all in f64:
//!
//! - softmax cross-entropy (classification, PyTorch's `CrossEntropyLoss`, mean reduction):
//!   L = (1/b)·Σ_i [log Σ_k e^(z_ik) − z_(i,y_i)],  ∂L/∂z = (softmax(z) − onehot(y))/b;
//! - mean squared error (regression, `MSELoss`, mean reduction over samples and outputs):
//!   L = (1/(b·m))·Σ_ij (z_ij − y_ij)²,  ∂L/∂z = 2(z − y)/(b·m).
//!
//! Backward through the head: ∂L/∂V = (∂L/∂z)ᵀ·h, ∂L/∂c = Σ_i ∂L/∂z_i, ∂L/∂h = ∂L/∂z·V, and
//! ∂L/∂out = ∂L/∂h reshaped back to (samples·P) × C — the gradient injected into the
//! simulator's backward pass in place of the random g.

use super::task::Targets;
use crate::real::Real;
use ndarray::{Array1, Array2, Axis};

/// The readout: V (outputs × channels) and c (outputs).
#[derive(Debug, Clone, PartialEq)]
pub struct Head {
    pub v: Array2<f64>,
    pub c: Array1<f64>,
}

/// The loss of a batch, its gradient with respect to the logits, and the correct predictions
/// (classification only).
#[derive(Debug, Clone)]
pub struct LossValue {
    pub loss: f64,
    pub dz: Array2<f64>,
    pub correct: Option<usize>,
}

/// h = out as samples × (positions · channels), in f64.
pub fn flatten<T: Real>(out: &Array2<T>, positions: usize) -> Array2<f64> {
    let (rows, ch) = out.dim();
    Array2::from_shape_vec(
        (rows / positions, positions * ch),
        out.iter().map(|v| v.f64()).collect(),
    )
    .expect("rows are samples × positions")
}

impl Head {
    /// z = h·Vᵀ + c.
    pub fn logits(&self, h: &Array2<f64>) -> Array2<f64> {
        h.dot(&self.v.t()) + &self.c
    }

    /// (∂L/∂V, ∂L/∂c, ∂L/∂out) from ∂L/∂z, for an output of `positions` positions per sample
    /// and `h.ncols() / positions` channels.
    pub fn backward<T: Real>(
        &self,
        h: &Array2<f64>,
        dz: &Array2<f64>,
        positions: usize,
    ) -> (Array2<f64>, Array1<f64>, Array2<T>) {
        let dv = dz.t().dot(h);
        let dc = dz.sum_axis(Axis(0));
        let dh = dz.dot(&self.v);
        let dout = Array2::from_shape_vec(
            (h.nrows() * positions, h.ncols() / positions),
            dh.iter().map(|&g| T::of(g)).collect(),
        )
        .expect("same entries");
        (dv, dc, dout)
    }
}

/// Cross-entropy or MSE of logits `z` against `y`.
pub fn loss(z: &Array2<f64>, y: &Targets) -> LossValue {
    let b = z.nrows() as f64;
    match y {
        Targets::Classes(labels) => {
            let mut dz = Array2::<f64>::zeros(z.dim());
            let (mut total, mut correct) = (0.0, 0usize);
            for ((zr, mut dr), &y) in z.rows().into_iter().zip(dz.rows_mut()).zip(labels) {
                let max = zr.iter().copied().fold(f64::NEG_INFINITY, f64::max);
                let sum: f64 = zr.iter().map(|&v| (v - max).exp()).sum();
                let lse = max + sum.ln();
                total += lse - zr[y];
                for (k, d) in dr.iter_mut().enumerate() {
                    *d = ((zr[k] - lse).exp() - if k == y { 1.0 } else { 0.0 }) / b;
                }
                // argmax, first of ties; a NaN row predicts nothing.
                let mut best: Option<usize> = None;
                for (k, &v) in zr.iter().enumerate() {
                    if v.is_finite() && best.is_none_or(|j| v > zr[j]) {
                        best = Some(k);
                    }
                }
                correct += usize::from(best == Some(y));
            }
            LossValue {
                loss: total / b,
                dz,
                correct: Some(correct),
            }
        }
        Targets::Values(t) => {
            let n = z.len() as f64;
            let diff = z - t;
            LossValue {
                loss: diff.mapv(|d| d * d).sum() / n,
                dz: diff.mapv(|d| 2.0 * d / n),
                correct: None,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::layers::testing::random;

    /// ∂L/∂V, ∂L/∂c and ∂L/∂out of the whole head (flattening, readout, loss) against central
    /// differences, for both losses and an output of P = 3 positions; tolerance 1e-7·(1 + |g|).
    #[test]
    fn head_gradient_matches_finite_differences() {
        let (b, p, ch, k) = (4, 3, 5, 3);
        let out = random(b * p, ch, 1);
        let head = Head {
            v: random(k, p * ch, 2),
            c: random(1, k, 3).row(0).to_owned(),
        };
        let targets = [
            Targets::Classes(vec![0, 2, 1, 2]),
            Targets::Values(random(b, k, 4)),
        ];
        for y in &targets {
            let f = |head: &Head, out: &Array2<f64>| loss(&head.logits(&flatten(out, p)), y).loss;
            let h = flatten(&out, p);
            let lv = loss(&head.logits(&h), y);
            let (dv, dc, dout) = head.backward::<f64>(&h, &lv.dz, p);
            let eps = 1e-6;
            let close = |fd: f64, an: f64, what: &str| {
                assert!(
                    (fd - an).abs() < 1e-7 * (1.0 + an.abs()),
                    "{what}: {fd} vs {an}"
                );
            };
            for i in 0..k {
                for j in 0..p * ch {
                    let (mut hp, mut hm) = (head.clone(), head.clone());
                    hp.v[[i, j]] += eps;
                    hm.v[[i, j]] -= eps;
                    close((f(&hp, &out) - f(&hm, &out)) / (2.0 * eps), dv[[i, j]], "V");
                }
                let (mut hp, mut hm) = (head.clone(), head.clone());
                hp.c[i] += eps;
                hm.c[i] -= eps;
                close((f(&hp, &out) - f(&hm, &out)) / (2.0 * eps), dc[i], "c");
            }
            for r in 0..b * p {
                for j in 0..ch {
                    let (mut op, mut om) = (out.clone(), out.clone());
                    op[[r, j]] += eps;
                    om[[r, j]] -= eps;
                    close(
                        (f(&head, &op) - f(&head, &om)) / (2.0 * eps),
                        dout[[r, j]],
                        "out",
                    );
                }
            }
        }
    }

    /// Cross-entropy of equal logits is ln k; accuracy counts the argmax.
    #[test]
    fn cross_entropy_closed_forms() {
        let z = Array2::<f64>::zeros((2, 10));
        let l = loss(&z, &Targets::Classes(vec![3, 7]));
        assert!((l.loss - 10f64.ln()).abs() < 1e-15);
        let mut z = Array2::<f64>::zeros((2, 3));
        z[[0, 1]] = 5.0;
        z[[1, 2]] = 5.0;
        assert_eq!(loss(&z, &Targets::Classes(vec![1, 0])).correct, Some(1));
    }
}
