//! LSUV (Mishkin & Matas 2016, Algorithm 1) on the trial's own input batch: for each weighted
//! layer l in forward order, with the layers before it already rescaled,
//!
//! ```text
//! while |Var(B_l) − 1| ≥ tol and T_i < T_max:  W_l ← W_l / √Var(B_l);  T_i ← T_i + 1
//! ```
//!
//! where B_l = y_l = s·(W_l x_{l−1}) + b_l is the layer's output before φ (pooled population
//! variance over the batch × units). Rescaling W by s maps y to s·z + b with z = W x fixed, so
//! z is computed once per layer and each iteration costs one pass over y (the algebra of
//! Algorithm 1's repeated forward pass, exactly). The result is one scale per tap, applied by
//! the simulator to the base weights it draws.
//!
//! A layer whose output variance is 0 (or not finite) cannot be rescaled to 1: that is an
//! error naming the layer, never a NaN scale.

use super::exec::apply_activation;
use super::layers::{norm, products};
use super::params::Params;
use crate::activation::Activation;
use crate::arch::layer::Layer;
use crate::arch::network::Network;
use crate::init::lsuv::Lsuv;
use crate::real::Real;
use ndarray::Array2;
use std::rc::Rc;

/// What LSUV did at one weighted layer (an `lsuv.csv` row, less the cell columns).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LsuvLayer {
    /// 1-based tap index.
    pub layer: usize,
    /// Rescalings applied (0 when the base already had |Var − 1| < tol).
    pub iterations: usize,
    /// The product of the rescalings: the final weight is `scale` × the base weight.
    pub scale: f64,
    /// Var(B_l) with the final scale.
    pub var: f64,
    /// |var − 1| < tol.
    pub converged: bool,
}

/// Var of s·z + b (b per column), pooled over every entry, in f64.
fn scaled_var<T: Real>(z: &Array2<T>, s: f64, b: Option<&ndarray::Array1<T>>) -> f64 {
    let n = z.len() as f64;
    let (mut sum, mut sq) = (0.0, 0.0);
    for row in z.rows() {
        for (j, &v) in row.iter().enumerate() {
            let y = s * v.f64() + b.map_or(0.0, |b| b[j].f64());
            sum += y;
            sq += y * y;
        }
    }
    let mean = sum / n;
    sq / n - mean * mean
}

/// Run LSUV on `net` (a chain: no residual blocks) with input `x0`; `params(tap index)` gives
/// a tap's base parameters. Returns per tap what was done, or an error naming the layer whose
/// output variance is 0.
pub fn lsuv<T: Real>(
    net: &Network,
    act: Activation,
    x0: &Array2<T>,
    params: &mut dyn FnMut(usize) -> Rc<Params<T>>,
    cfg: &Lsuv,
) -> Result<Vec<LsuvLayer>, String> {
    let walk = net.walk();
    let mut out = Vec::new();
    let mut cur = x0.clone();
    for (i, layer) in net.layers.iter().enumerate() {
        let positions = walk
            .iter()
            .find(|v| std::ptr::eq(v.layer, layer))
            .map_or(1, |v| v.input.positions());
        cur = match layer {
            Layer::Act => {
                let mut x = Array2::zeros(cur.dim());
                apply_activation(act, &cur, &mut x);
                x
            }
            Layer::Norm(n) => {
                let mut y = Array2::zeros((0, 0));
                norm::forward(n, &cur, positions, &mut y);
                y
            }
            Layer::Dense(_) | Layer::Conv(_) => {
                let tap = out.len() + 1;
                let p = params(tap);
                let unbiased = Params::plain(p.w.clone(), None);
                let mut z = Array2::<T>::zeros((0, 0));
                products::<T>(layer)
                    .expect("weighted layer")
                    .forward(&unbiased, &cur, &mut z);
                let b = p.b.as_ref();
                let (mut s, mut iterations) = (1.0, 0);
                let mut var = scaled_var(&z, s, b);
                loop {
                    if !(var.is_finite() && var > 0.0) {
                        return Err(format!(
                            "lsuv: layer {tap} (weighted layer {tap} of {}) has output variance {var} on the input batch, which no rescaling of its weight can bring to 1",
                            net.depth()
                        ));
                    }
                    if (var - 1.0).abs() < cfg.tol || iterations == cfg.max_iters {
                        break;
                    }
                    s /= var.sqrt();
                    iterations += 1;
                    var = scaled_var(&z, s, b);
                }
                out.push(LsuvLayer {
                    layer: tap,
                    iterations,
                    scale: s,
                    var,
                    converged: (var - 1.0).abs() < cfg.tol,
                });
                let (st, ncols) = (T::of(s), z.ncols());
                z.mapv_inplace(|v| v * st);
                if let Some(b) = b {
                    super::layers::add_bias(&mut z, b);
                }
                debug_assert_eq!(z.ncols(), ncols);
                z
            }
            Layer::Residual(_) => {
                return Err(format!(
                    "lsuv: layer list item {} is a residual block; LSUV here supports chains (mlp, conv1d, conv2d)",
                    i + 1
                ))
            }
        };
    }
    Ok(out)
}

/// `p` with its weight multiplied by `s` (bias unchanged).
pub fn scaled<T: Real>(p: &Params<T>, s: f64) -> Params<T> {
    let st = T::of(s);
    Params {
        w: p.w.mapv(|v| v * st),
        b: p.b.clone(),
        ws: p.ws.clone(),
    }
}
