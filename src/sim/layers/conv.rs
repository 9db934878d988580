//! Convolution products (stride 1, same size, odd kernel; W: `[out, in, k^d]` flattened to
//! `[out, in·k^d]`; x: `[batch·P, in]` channels-last), each one implicit GEMM
//! ([`crate::sim::kernels::conv_gemm`], no im2col matrix):
//!   forward          y[p] = Σ_t W_t·x[p + s_t] + b         operand B_f[t·in + c, o] = W[o, c, t]
//!   input gradient   dx[q] = Σ_t W_tᵀ·dy[q − s_t]          operand B_b[t·out + o, c] = W[o, c, t]
//!   weight gradient  G[o, c, t] = Σ_p dy[p, o]·x[p + s_t, c]
//! The input gradient is the transposed convolution: the same kernel on dy with the offsets
//! negated (exact for zero padding, where dy is 0 outside the image, and for circular padding,
//! where it wraps). Each product is 2·rows·in·k^d·out flops, He et al.'s n_l = k²c_l
//! (forward) and n̂_l = k²d_l (backward) connections per output.

use super::{add_bias, fit, Products};
use crate::arch::layer::Conv;
use crate::real::Real;
use crate::sim::kernels::conv_gemm::{conv_all_rows, conv_weight_grad};
use crate::sim::kernels::taps::TapTable;
use crate::sim::params::Params;
use ndarray::Array2;

impl Conv {
    fn positions(&self) -> usize {
        self.image.iter().product()
    }

    /// B_f = W as the forward operand `[taps·in, out]`: B_f[t·in + c, o] = W[o, c, t].
    fn forward_operand<T: Real>(&self, w: &Array2<T>) -> Vec<T> {
        let (taps, inp, out) = (self.taps(), self.inp, self.out);
        let mut b = vec![T::zero(); taps * inp * out];
        for o in 0..out {
            for c in 0..inp {
                for t in 0..taps {
                    b[(t * inp + c) * out + o] = w[[o, c * taps + t]];
                }
            }
        }
        b
    }

    /// B_b = W as the transposed convolution's operand `[taps·out, in]`: B_b[t·out + o, c] = W[o, c, t].
    fn backward_operand<T: Real>(&self, w: &Array2<T>) -> Vec<T> {
        let (taps, inp, out) = (self.taps(), self.inp, self.out);
        let mut b = vec![T::zero(); taps * inp * out];
        for o in 0..out {
            for c in 0..inp {
                for t in 0..taps {
                    b[(t * out + o) * inp + c] = w[[o, c * taps + t]];
                }
            }
        }
        b
    }
}

fn slice<T>(a: &Array2<T>) -> &[T] {
    a.as_slice().expect("standard layout")
}

impl<T: Real> Products<T> for Conv {
    fn forward(&self, p: &Params<T>, x: &Array2<T>, y: &mut Array2<T>) {
        debug_assert_eq!(x.ncols(), self.inp);
        debug_assert_eq!(x.nrows() % self.positions(), 0);
        fit(y, (x.nrows(), self.out));
        let table = TapTable::new(&self.image, self.kernel, self.padding, false);
        let b = self.forward_operand(&p.w);
        let ys = y.as_slice_mut().expect("standard layout");
        conv_all_rows(slice(x), self.inp, &table, &b, self.out, ys);
        if let Some(bias) = &p.b {
            add_bias(y, bias);
        }
    }

    fn backward_input(&self, p: &Params<T>, dy: &Array2<T>, dx: &mut Array2<T>) {
        fit(dx, (dy.nrows(), self.inp));
        let table = TapTable::new(&self.image, self.kernel, self.padding, true);
        let b = self.backward_operand(&p.w);
        let xs = dx.as_slice_mut().expect("standard layout");
        conv_all_rows(slice(dy), self.out, &table, &b, self.inp, xs);
    }

    fn weight_grad(&self, x: &Array2<T>, dy: &Array2<T>, gw: &mut Array2<T>) {
        let (taps, inp, out) = (self.taps(), self.inp, self.out);
        fit(gw, (out, inp * taps));
        let table = TapTable::new(&self.image, self.kernel, self.padding, false);
        let mut gf = vec![T::zero(); out * taps * inp];
        conv_weight_grad(slice(x), slice(dy), inp, out, &table, &mut gf);
        // Back to PyTorch's layout: G[o, c·taps + t] = G_f[o, t·in + c].
        for o in 0..out {
            for c in 0..inp {
                for t in 0..taps {
                    gw[[o, c * taps + t]] = gf[(o * taps + t) * inp + c];
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::{check_against_finite_differences, random};
    use super::*;
    use crate::arch::layer::Padding;

    /// y by the definition, with nested loops over samples, positions, taps and channels.
    fn direct(c: &Conv, p: &Params<f64>, x: &Array2<f64>) -> Array2<f64> {
        let pos = c.positions();
        let samples = x.nrows() / pos;
        let d = c.image.len();
        let k = c.kernel as i64;
        let half = k / 2;
        let mut y = Array2::zeros((x.nrows(), c.out));
        for s in 0..samples {
            for q in 0..pos {
                // Coordinates of q.
                let mut coord = vec![0i64; d];
                let mut r = q;
                for i in (0..d).rev() {
                    coord[i] = (r % c.image[i]) as i64;
                    r /= c.image[i];
                }
                for o in 0..c.out {
                    let mut acc = p.b.as_ref().map_or(0.0, |b| b[o]);
                    for t in 0..c.taps() {
                        let mut r = t;
                        let mut src = 0i64;
                        let mut inside = true;
                        for i in (0..d).rev() {
                            let off = (r as i64 % k) - half;
                            r /= c.kernel;
                            let n = c.image[i] as i64;
                            let mut v = coord[i] + off;
                            if !(0..n).contains(&v) {
                                match c.padding {
                                    Padding::Zeros => inside = false,
                                    Padding::Circular => v = v.rem_euclid(n),
                                }
                            }
                            let stride: i64 = c.image[i + 1..].iter().product::<usize>() as i64;
                            src += v * stride;
                        }
                        if !inside {
                            continue;
                        }
                        for ch in 0..c.inp {
                            acc += p.w[[o, ch * c.taps() + t]] * x[[s * pos + src as usize, ch]];
                        }
                    }
                    y[[s * pos + q, o]] = acc;
                }
            }
        }
        y
    }

    fn layer(image: &[usize], kernel: usize, padding: Padding) -> Conv {
        Conv {
            inp: 3,
            out: 2,
            image: image.to_vec(),
            kernel,
            padding,
            bias: true,
            wmod: crate::arch::layer::WeightMod::NONE,
        }
    }

    fn params(c: &Conv) -> Params<f64> {
        Params {
            w: random(c.out, c.inp * c.taps(), 5),
            b: Some(random(1, c.out, 6).row(0).to_owned()),
            ws: None,
        }
    }

    #[test]
    fn forward_matches_a_direct_convolution() {
        for (image, kernel) in [(vec![7], 3), (vec![6], 5), (vec![4, 5], 3), (vec![3, 3], 1)] {
            for padding in [Padding::Zeros, Padding::Circular] {
                let c = layer(&image, kernel, padding);
                let p = params(&c);
                let x = random(2 * c.positions(), 3, 7);
                let mut y = Array2::zeros((0, 0));
                c.forward(&p, &x, &mut y);
                let want = direct(&c, &p, &x);
                let err = (&y - &want).mapv(f64::abs).fold(0.0f64, |a, &b| a.max(b));
                assert!(err < 1e-12, "{image:?} k={kernel} {padding:?}: {err}");
            }
        }
    }

    #[test]
    fn products_match_finite_differences() {
        for (image, kernel) in [(vec![6], 3), (vec![4, 3], 3), (vec![5], 5)] {
            for padding in [Padding::Zeros, Padding::Circular] {
                let c = layer(&image, kernel, padding);
                let x = random(2 * c.positions(), 3, 8);
                check_against_finite_differences(&c, &params(&c), &x, (x.nrows(), 2));
            }
        }
    }

    /// At a border, zero padding drops the outside taps and circular padding wraps them: the
    /// two agree inside the image and differ only where a tap leaves it.
    #[test]
    fn padding_changes_only_the_borders() {
        let (z, w) = (
            layer(&[5, 6], 3, Padding::Zeros),
            layer(&[5, 6], 3, Padding::Circular),
        );
        let p = params(&z);
        let x = random(30, 3, 9);
        let (mut yz, mut yw) = (Array2::zeros((0, 0)), Array2::zeros((0, 0)));
        z.forward(&p, &x, &mut yz);
        w.forward(&p, &x, &mut yw);
        for q in 0..30 {
            let (h, v) = (q / 6, q % 6);
            let border = h == 0 || h == 4 || v == 0 || v == 5;
            let same = (0..2).all(|o| (yz[[q, o]] - yw[[q, o]]).abs() < 1e-12);
            assert_eq!(same, !border, "position ({h}, {v})");
        }
    }
}
