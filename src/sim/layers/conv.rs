//! Convolution products (stride 1, same size, odd kernel; W: `[out, in, k^d]` flattened to
//! `[out, in·k^d]`; x: `[batch·P, in]` channels-last), all as im2col + one GEMM per block of
//! samples ([`crate::sim::kernels::im2col`]):
//!   forward          y[p] = Σ_t W_t·x[p + s_t] + b     = cols(x)·W_fᵀ,  W_f[o, t·in + c] = W[o, c, t]
//!   input gradient   dx[q] = Σ_t W_tᵀ·dy[q − s_t]      = cols⁻(dy)·W_bᵀ, W_b[c, t·out + o] = W[o, c, t]
//!   weight gradient  G[o, c, t] = Σ_p dy[p, o]·x[p + s_t, c] = (dyᵀ·cols(x))[o, t·in + c]
//! where cols⁻ uses the negated offsets (the transposed convolution; exact for zero padding,
//! where dy is 0 outside the image, and for circular padding, where it wraps). Each is
//! 2·rows·in·k^d·out flops, the same as He et al.'s n_l = k²c_l (forward) and n̂_l = k²d_l
//! (backward) connections per output.

use super::{add_bias, fit, Products};
use crate::arch::layer::Conv;
use crate::real::Real;
use crate::sim::kernels::gemm::{gemm, gemm_acc};
use crate::sim::kernels::im2col::{im2col, TapTable};
use crate::sim::params::Params;
use ndarray::{s, Array2};

/// Entries of the im2col buffer at most (16 MiB of f32): samples are processed in blocks of
/// this size, a number that depends only on the layer's shape, so the weight gradient's
/// summation order (block by block) is the same on every machine and thread count.
const COLS_BUDGET: usize = 1 << 22;

/// Samples per im2col block for layer `c`.
fn block_samples(c: &Conv) -> usize {
    let per_sample = c.image.iter().product::<usize>() * c.taps() * c.inp.max(c.out);
    (COLS_BUDGET / per_sample.max(1)).max(1)
}

/// Entries of the largest im2col buffer layer `c` allocates for `batch` samples.
pub fn cols_entries(c: &Conv, batch: usize) -> usize {
    if c.taps() == 1 {
        return 0;
    }
    block_samples(c).min(batch) * c.image.iter().product::<usize>() * c.taps() * c.inp.max(c.out)
}

impl Conv {
    fn positions(&self) -> usize {
        self.image.iter().product()
    }

    /// W_f = W permuted to `[out, taps·in]` (tap-major columns), the forward GEMM operand.
    fn forward_weights<T: Real>(&self, w: &Array2<T>) -> Array2<T> {
        let (taps, inp) = (self.taps(), self.inp);
        Array2::from_shape_fn((self.out, taps * inp), |(o, j)| {
            let (t, c) = (j / inp, j % inp);
            w[[o, c * taps + t]]
        })
    }

    /// W_b = W permuted to `[in, taps·out]`, the transposed convolution's operand.
    fn backward_weights<T: Real>(&self, w: &Array2<T>) -> Array2<T> {
        let (taps, out) = (self.taps(), self.out);
        Array2::from_shape_fn((self.inp, taps * out), |(c, j)| {
            let (t, o) = (j / out, j % out);
            w[[o, c * taps + t]]
        })
    }

    /// out = cols(src)·opᵀ block by block, `table` giving the taps, `src` with `ch` columns.
    fn conv_gemm<T: Real>(
        &self,
        src: &Array2<T>,
        op: &Array2<T>,
        table: &TapTable,
        out: &mut Array2<T>,
    ) {
        let rows = src.nrows();
        let ch = src.ncols();
        let block = block_samples(self) * table.positions;
        let mut cols = Array2::<T>::zeros((block.min(rows), table.taps * ch));
        for r0 in (0..rows).step_by(block) {
            let r1 = (r0 + block).min(rows);
            let mut c = cols.slice_mut(s![..r1 - r0, ..]);
            im2col(src.view(), table, r0, c.view_mut());
            gemm(c.view(), op.t(), out.slice_mut(s![r0..r1, ..]));
        }
    }
}

impl<T: Real> Products<T> for Conv {
    fn forward(&self, p: &Params<T>, x: &Array2<T>, y: &mut Array2<T>) {
        debug_assert_eq!(x.ncols(), self.inp);
        debug_assert_eq!(x.nrows() % self.positions(), 0);
        fit(y, (x.nrows(), self.out));
        if self.taps() == 1 {
            gemm(x.view(), p.w.t(), y.view_mut());
        } else {
            let table = TapTable::new(&self.image, self.kernel, self.padding, false);
            self.conv_gemm(x, &self.forward_weights(&p.w), &table, y);
        }
        if let Some(b) = &p.b {
            add_bias(y, b);
        }
    }

    fn backward_input(&self, p: &Params<T>, dy: &Array2<T>, dx: &mut Array2<T>) {
        fit(dx, (dy.nrows(), self.inp));
        if self.taps() == 1 {
            gemm(dy.view(), p.w.view(), dx.view_mut());
        } else {
            let table = TapTable::new(&self.image, self.kernel, self.padding, true);
            self.conv_gemm(dy, &self.backward_weights(&p.w), &table, dx);
        }
    }

    fn weight_grad(&self, x: &Array2<T>, dy: &Array2<T>, gw: &mut Array2<T>) {
        let (taps, inp, out) = (self.taps(), self.inp, self.out);
        fit(gw, (out, inp * taps));
        if taps == 1 {
            gemm(dy.t(), x.view(), gw.view_mut());
            return;
        }
        let table = TapTable::new(&self.image, self.kernel, self.padding, false);
        let rows = x.nrows();
        let block = block_samples(self) * table.positions;
        let mut cols = Array2::<T>::zeros((block.min(rows), taps * inp));
        let mut gf = Array2::<T>::zeros((out, taps * inp));
        for (i, r0) in (0..rows).step_by(block).enumerate() {
            let r1 = (r0 + block).min(rows);
            let mut c = cols.slice_mut(s![..r1 - r0, ..]);
            im2col(x.view(), &table, r0, c.view_mut());
            let d = dy.slice(s![r0..r1, ..]);
            if i == 0 {
                gemm(d.t(), c.view(), gf.view_mut());
            } else {
                gemm_acc(d.t(), c.view(), gf.view_mut());
            }
        }
        // Back to PyTorch's layout: G[o, c·taps + t] = G_f[o, t·in + c].
        for o in 0..out {
            for c in 0..inp {
                for t in 0..taps {
                    gw[[o, c * taps + t]] = gf[[o, t * inp + c]];
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
        }
    }

    fn params(c: &Conv) -> Params<f64> {
        Params {
            w: random(c.out, c.inp * c.taps(), 5),
            b: Some(random(1, c.out, 6).row(0).to_owned()),
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

    /// A sample's output is the same bits whichever im2col block it falls in (the batch spans
    /// several blocks).
    #[test]
    fn a_sample_does_not_depend_on_its_block() {
        let c = Conv {
            inp: 64,
            out: 64,
            image: vec![32, 32],
            kernel: 3,
            padding: Padding::Zeros,
            bias: false,
        };
        assert!(
            block_samples(&c) < 9,
            "the batch below spans several blocks"
        );
        let p = Params {
            w: random(64, 64 * 9, 1).mapv(|v| v as f32),
            b: None,
        };
        let x = random(9 * 1024, 64, 2).mapv(|v| v as f32);
        let mut y = Array2::zeros((0, 0));
        c.forward(&p, &x, &mut y);
        let one = x.slice(s![8 * 1024.., ..]).to_owned();
        let mut y1 = Array2::zeros((0, 0));
        c.forward(&p, &one, &mut y1);
        assert!(
            y.slice(s![8 * 1024.., ..]) == y1,
            "a sample's output depends on its block"
        );
    }
}
