//! Dense products (W: `[out, in]`, x: `[rows, in]`, rows = batch·positions):
//!   forward          y = x·Wᵀ + b           (He et al. 2015, Eq. 1: y_l = W_l x_l + b_l)
//!   input gradient   dx = dy·W
//!   weight gradient  G = dyᵀ·x
//! each one GEMM of 2·rows·in·out flops.

use super::{add_bias, fit, Products};
use crate::arch::layer::Dense;
use crate::real::Real;
use crate::sim::kernels::gemm::gemm;
use crate::sim::params::Params;
use ndarray::Array2;

impl<T: Real> Products<T> for Dense {
    fn forward(&self, p: &Params<T>, x: &Array2<T>, y: &mut Array2<T>) {
        debug_assert_eq!((p.w.nrows(), p.w.ncols()), (self.out, self.inp));
        debug_assert_eq!(x.ncols(), self.inp);
        fit(y, (x.nrows(), self.out));
        gemm(x.view(), p.w.t(), y.view_mut());
        if let Some(b) = &p.b {
            add_bias(y, b);
        }
    }

    fn backward_input(&self, p: &Params<T>, dy: &Array2<T>, dx: &mut Array2<T>) {
        fit(dx, (dy.nrows(), self.inp));
        gemm(dy.view(), p.w.view(), dx.view_mut());
    }

    fn weight_grad(&self, x: &Array2<T>, dy: &Array2<T>, gw: &mut Array2<T>) {
        fit(gw, (self.out, self.inp));
        gemm(dy.t(), x.view(), gw.view_mut());
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::{check_against_finite_differences, random};
    use super::*;

    #[test]
    fn products_match_finite_differences() {
        let d = Dense {
            inp: 5,
            out: 3,
            bias: true,
            wmod: crate::arch::layer::WeightMod::NONE,
        };
        let p = Params {
            w: random(3, 5, 1),
            b: Some(random(1, 3, 2).row(0).to_owned()),
            ws: None,
        };
        let x = random(4, 5, 3);
        // Direct: y[r, o] = Σ_i x[r, i]·W[o, i] + b[o].
        let mut y = Array2::zeros((0, 0));
        d.forward(&p, &x, &mut y);
        for r in 0..4 {
            for o in 0..3 {
                let want: f64 =
                    (0..5).map(|i| x[[r, i]] * p.w[[o, i]]).sum::<f64>() + p.b.as_ref().unwrap()[o];
                assert!((y[[r, o]] - want).abs() < 1e-12);
            }
        }
        check_against_finite_differences(&d, &p, &x, (4, 3));
    }
}
