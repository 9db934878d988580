//! The input–output Jacobian of a plain MLP at one input row and its singular values
//! (Saxe et al. 2014; Pennington, Schoenholz & Ganguli 2017, "Resurrecting the sigmoid in deep
//! learning through dynamical isometry", Eq. 2): x_l = φ(W_l x_{l−1} + b_l) gives
//!
//!   J = ∂x_L/∂x_0 = D_L W_L D_{L−1} W_{L−1} ⋯ D_1 W_1,   D_l = diag φ′(y_l),
//!
//! built left to right from M_0 = I as M_l = D_l W_l M_{l−1} (n_l × n_0), in f64 whatever the
//! run's dtype (the weights the run uses, converted), so the smallest singular values of a deep
//! product are not lost to rounding. The SVD is nalgebra's (Golub–Kahan bidiagonalization with
//! implicit QR; pure Rust). The squared singular values are the eigenvalues of JJᵀ.

use super::params::Params;
use crate::activation::Activation;
use crate::arch::layer::Layer;
use crate::arch::network::{ids, Network};
use crate::real::Real;
use ndarray::{Array1, Array2};
use std::rc::Rc;

/// J at input `x0` (one sample, n_0 entries); `params(node)` gives a weighted node's parameters.
/// Only chains of dense layers and activations (the config allows `[spectrum]` on plain MLPs).
pub fn jacobian<T: Real>(
    net: &Network,
    act: Activation,
    x0: &[f64],
    params: &mut dyn FnMut(usize) -> Rc<Params<T>>,
) -> Array2<f64> {
    let n0 = x0.len();
    let mut x = Array1::from_vec(x0.to_vec());
    let mut m = Array2::<f64>::eye(n0);
    let ids = ids(&net.layers, 0);
    for (i, layer) in net.layers.iter().enumerate() {
        match layer {
            Layer::Dense(_) => {
                let p = params(ids[i]);
                let w = p.w.mapv(|v| v.f64());
                let mut y = w.dot(&x);
                if let Some(b) = &p.b {
                    y.zip_mut_with(b, |a, &c| *a += c.f64());
                }
                m = w.dot(&m);
                x = y;
            }
            Layer::Act => {
                let y = x.as_slice().expect("contiguous").to_vec();
                let (mut xs, mut d) = (vec![0.0; y.len()], vec![0.0; y.len()]);
                act.forward_deriv_slice(&y, &mut xs, &mut d);
                for (mut row, &dv) in m.rows_mut().into_iter().zip(&d) {
                    row.mapv_inplace(|v| v * dv);
                }
                x = Array1::from_vec(xs);
            }
            other => panic!("[spectrum] is validated for plain MLPs, found {other:?}"),
        }
    }
    m
}

/// Singular values of `j`, largest first.
pub fn singular_values(j: &Array2<f64>) -> Vec<f64> {
    let (r, c) = j.dim();
    let m = nalgebra::DMatrix::from_row_iterator(r, c, j.iter().copied());
    let mut sv: Vec<f64> = m.singular_values().iter().copied().collect();
    sv.sort_by(|a, b| b.total_cmp(a));
    sv
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::arch::network::mlp;
    use rand::SeedableRng;
    use rand_distr::{Distribution, StandardNormal};

    fn random(r: usize, c: usize, seed: u64) -> Array2<f64> {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
        Array2::from_shape_simple_fn((r, c), || StandardNormal.sample(&mut rng))
    }

    /// Eigenvalues of a symmetric matrix by cyclic Jacobi rotations (an independent method).
    fn jacobi_eigenvalues(mut a: Array2<f64>) -> Vec<f64> {
        let n = a.nrows();
        for _ in 0..100 {
            let off: f64 = (0..n)
                .flat_map(|i| (0..n).filter(move |&j| j != i).map(move |j| (i, j)))
                .map(|(i, j)| a[[i, j]].powi(2))
                .sum();
            if off < 1e-26 {
                break;
            }
            for p in 0..n {
                for q in p + 1..n {
                    if a[[p, q]].abs() < 1e-300 {
                        continue;
                    }
                    let theta = (a[[q, q]] - a[[p, p]]) / (2.0 * a[[p, q]]);
                    let t = theta.signum() / (theta.abs() + (theta * theta + 1.0).sqrt());
                    let t = if theta == 0.0 { 1.0 } else { t };
                    let (c, s) = (1.0 / (t * t + 1.0).sqrt(), t / (t * t + 1.0).sqrt());
                    for k in 0..n {
                        let (akp, akq) = (a[[k, p]], a[[k, q]]);
                        a[[k, p]] = c * akp - s * akq;
                        a[[k, q]] = s * akp + c * akq;
                    }
                    for k in 0..n {
                        let (apk, aqk) = (a[[p, k]], a[[q, k]]);
                        a[[p, k]] = c * apk - s * aqk;
                        a[[q, k]] = s * apk + c * aqk;
                    }
                }
            }
        }
        let mut e: Vec<f64> = (0..n).map(|i| a[[i, i]]).collect();
        e.sort_by(|a, b| b.total_cmp(a));
        e
    }

    /// σ² from the SVD against the eigenvalues of JᵀJ by Jacobi rotations, for square and
    /// rectangular matrices, a rank-deficient one and a diagonal one with known values.
    #[test]
    fn svd_matches_an_independent_eigen_solver() {
        let mut cases = vec![random(6, 6, 1), random(7, 4, 2), random(4, 9, 3)];
        let mut low = random(5, 5, 4);
        let r0 = low.row(0).to_owned();
        low.row_mut(3).assign(&(&r0 * 2.0));
        cases.push(low);
        for j in &cases {
            let sv = singular_values(j);
            let (r, c) = j.dim();
            let small = if r <= c { j.dot(&j.t()) } else { j.t().dot(j) };
            let eig = jacobi_eigenvalues(small);
            assert_eq!(sv.len(), r.min(c));
            for (s, e) in sv.iter().zip(&eig) {
                assert!(
                    (s * s - e.max(0.0)).abs() < 1e-10 * (1.0 + e.abs()),
                    "{s}² vs {e}"
                );
            }
            let fro: f64 = j.iter().map(|v| v * v).sum();
            let sum: f64 = sv.iter().map(|s| s * s).sum();
            assert!((fro - sum).abs() < 1e-10 * fro);
        }
        let d = Array2::from_diag(&Array1::from_vec(vec![3.0, -0.5, 2.0]));
        assert_eq!(singular_values(&d).len(), 3);
        for (s, w) in singular_values(&d).iter().zip([3.0, 2.0, 0.5]) {
            assert!((s - w).abs() < 1e-14);
        }
    }

    /// J against central differences of the forward pass x_0 ↦ x_L (a width profile with
    /// bias, smooth and kinked φ).
    #[test]
    fn jacobian_matches_finite_differences() {
        let net = mlp(&[5, 7, 4, 6], true);
        let taps = net.taps();
        let ps: Vec<Rc<Params<f64>>> = taps
            .iter()
            .enumerate()
            .map(|(i, t)| {
                let w = random(t.weight_shape[0], t.weight_shape[1], 10 + i as u64) * 0.6;
                let b = random(1, t.weight_shape[0], 20 + i as u64)
                    .row(0)
                    .to_owned();
                Rc::new(Params::plain(w, Some(b)))
            })
            .collect();
        let node_tap = |node: usize| taps.iter().position(|t| t.node == node).unwrap();
        let x0: Vec<f64> = random(1, 5, 7).iter().copied().collect();
        for act in [
            Activation::Tanh,
            Activation::Relu,
            Activation::Gelu { tanh_approx: false },
        ] {
            let mut get = |node: usize| Rc::clone(&ps[node_tap(node)]);
            let j = jacobian(&net, act, &x0, &mut get);
            assert_eq!(j.dim(), (6, 5));
            let out = |x: &[f64]| {
                let xa = Array2::from_shape_vec((1, 5), x.to_vec()).unwrap();
                let mut get = |node: usize| Rc::clone(&ps[node_tap(node)]);
                let tape = super::super::exec::forward(
                    &net,
                    act,
                    &xa,
                    &mut get,
                    &mut super::super::exec::NoProbe,
                );
                tape.output()
            };
            let h = 1e-6;
            for k in 0..5 {
                let (mut a, mut b) = (x0.clone(), x0.clone());
                a[k] += h;
                b[k] -= h;
                let fd = (out(&a) - out(&b)) / (2.0 * h);
                for i in 0..6 {
                    assert!(
                        (fd[[0, i]] - j[[i, k]]).abs() < 1e-7,
                        "{act:?} J[{i},{k}]: fd {} vs {}",
                        fd[[0, i]],
                        j[[i, k]]
                    );
                }
            }
        }
    }
}
