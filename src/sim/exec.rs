//! Walking a [`Network`]'s layers: the forward pass, then the backward pass from the injected
//! output gradient, reporting every layer's output, output gradient and weight gradient to a
//! [`Probe`]. The walk knows layers only through [`products`] and [`Layer::Act`]; what is
//! measured is the probe's business.
//!
//! Memory: the input and every layer's output are kept for the backward pass, except an
//! activation's output x = φ(y), which is recomputed from y together with φ′(y) in one fused
//! pass when the backward pass reaches it (an MLP keeps y_1..y_L: depth × batch × width).
//!
//! Backward (loss = Σ out ⊙ g): d starts at g; an activation maps d ↦ d ⊙ φ′(its input); a
//! weighted layer reports d (= δ_l = ∂loss/∂y_l), its weight gradient, and maps d to its input
//! gradient. The first layer's input gradient is not needed and not computed.

use super::layers::{fit, products};
use super::params::Params;
use crate::activation::Activation;
use crate::arch::layer::Layer;
use crate::arch::network::Network;
use crate::real::Real;
use ndarray::{Array2, Zip};
use std::rc::Rc;

/// What the walk reports; `node` is the layer's position in [`Network::layers`].
pub trait Probe<T: Real> {
    /// A layer's output in the forward pass.
    fn output(&mut self, node: usize, out: &Array2<T>);
    /// ∂loss/∂(a weighted layer's output), in the backward pass.
    fn grad(&mut self, node: usize, grad: &Array2<T>);
    /// ∂loss/∂W of a weighted layer, in `Params::w`'s layout.
    fn weight_grad(&mut self, node: usize, gw: &Array2<T>);
}

/// A probe that records nothing.
pub struct NoProbe;

impl<T: Real> Probe<T> for NoProbe {
    fn output(&mut self, _: usize, _: &Array2<T>) {}
    fn grad(&mut self, _: usize, _: &Array2<T>) {}
    fn weight_grad(&mut self, _: usize, _: &Array2<T>) {}
}

/// The tensors the forward pass keeps for the backward pass: each layer's output, except an
/// activation's (`None`).
pub struct Tape<T> {
    outputs: Vec<Option<Array2<T>>>,
}

impl<T: Real> Tape<T> {
    /// The network's output, recomputing a last activation from its input.
    pub fn output(&self, net: &Network, act: Activation, x0: &Array2<T>) -> Array2<T> {
        let n = self.outputs.len();
        match self.outputs.last() {
            Some(Some(y)) => y.clone(),
            Some(None) => {
                let input = if n == 1 {
                    x0
                } else {
                    self.outputs[n - 2]
                        .as_ref()
                        .expect("act after a kept layer")
                };
                let mut x = Array2::zeros(input.dim());
                act.forward_slice(slice(input), slice_mut(&mut x));
                debug_assert!(matches!(net.layers.last(), Some(Layer::Act)));
                x
            }
            None => x0.clone(),
        }
    }
}

/// x = φ(y) elementwise (the simulator's activation pass; public for the benchmarks).
pub fn apply_activation<T: Real>(act: Activation, y: &Array2<T>, x: &mut Array2<T>) {
    act.forward_slice(slice(y), slice_mut(x));
}

/// Forward pass of `net` on `x0`; `params(node)` gives a weighted layer's parameters.
pub fn forward<T: Real>(
    net: &Network,
    act: Activation,
    x0: &Array2<T>,
    params: &mut dyn FnMut(usize) -> Rc<Params<T>>,
    probe: &mut dyn Probe<T>,
) -> Tape<T> {
    let mut outputs: Vec<Option<Array2<T>>> = Vec::with_capacity(net.layers.len());
    // The latest activation output (not kept: recomputed in the backward pass).
    let mut x = Array2::<T>::zeros((0, 0));
    for (i, layer) in net.layers.iter().enumerate() {
        match layer {
            Layer::Act => {
                let input = if i == 0 {
                    x0
                } else {
                    outputs[i - 1]
                        .as_ref()
                        .expect("an activation follows a kept layer")
                };
                fit(&mut x, input.dim());
                apply_activation(act, input, &mut x);
                probe.output(i, &x);
                outputs.push(None);
            }
            Layer::Dense(_) | Layer::Conv(_) => {
                let input = match i {
                    0 => x0,
                    _ => outputs[i - 1].as_ref().unwrap_or(&x),
                };
                let p = params(i);
                let mut y = Array2::<T>::zeros((0, 0));
                products::<T>(layer)
                    .expect("weighted layer")
                    .forward(&p, input, &mut y);
                probe.output(i, &y);
                outputs.push(Some(y));
            }
        }
    }
    Tape { outputs }
}

/// Backward pass from `g` = ∂loss/∂(network output), consuming the tape (each kept tensor is
/// dropped after its last use).
pub fn backward<T: Real>(
    net: &Network,
    act: Activation,
    x0: &Array2<T>,
    tape: Tape<T>,
    g: &Array2<T>,
    params: &mut dyn FnMut(usize) -> Rc<Params<T>>,
    probe: &mut dyn Probe<T>,
) {
    let mut outputs = tape.outputs;
    let n = net.layers.len();
    // φ(input) and φ′(input) of the activation at `fused_node`, computed in one pass.
    let (mut xprev, mut dphi) = (Array2::<T>::zeros((0, 0)), Array2::<T>::zeros((0, 0)));
    let mut fused_node: Option<usize> = None;
    let (mut gw, mut dx) = (Array2::<T>::zeros((0, 0)), Array2::<T>::zeros((0, 0)));
    let mut d = g.clone();
    // The kept input of layer i (x0 for the first).
    fn kept<'a, T>(outputs: &'a [Option<Array2<T>>], x0: &'a Array2<T>, i: usize) -> &'a Array2<T> {
        if i == 0 {
            x0
        } else {
            outputs[i - 1].as_ref().expect("kept tensor")
        }
    }
    for i in (0..n).rev() {
        match &net.layers[i] {
            Layer::Act => {
                if fused_node != Some(i) {
                    let y = kept(&outputs, x0, i);
                    fit(&mut xprev, y.dim());
                    fit(&mut dphi, y.dim());
                    act.forward_deriv_slice(slice(y), slice_mut(&mut xprev), slice_mut(&mut dphi));
                }
                fused_node = None;
                // d ← d ⊙ φ′(y).
                Zip::from(&mut d).and(&dphi).for_each(|a, &b| *a = *a * b);
            }
            layer @ (Layer::Dense(_) | Layer::Conv(_)) => {
                let prod = products::<T>(layer).expect("weighted layer");
                probe.grad(i, &d);
                // This layer's output is not needed any more.
                outputs[i] = None;
                // Its input: x0, a kept output, or φ of the previous activation's input (fused
                // with φ′ for that activation's step).
                let input: &Array2<T> = if i == 0 {
                    x0
                } else if matches!(net.layers[i - 1], Layer::Act) {
                    let y = kept(&outputs, x0, i - 1);
                    fit(&mut xprev, y.dim());
                    fit(&mut dphi, y.dim());
                    act.forward_deriv_slice(slice(y), slice_mut(&mut xprev), slice_mut(&mut dphi));
                    fused_node = Some(i - 1);
                    &xprev
                } else {
                    kept(&outputs, x0, i)
                };
                let p = params(i);
                prod.weight_grad(input, &d, &mut gw);
                probe.weight_grad(i, &gw);
                if i > 0 {
                    prod.backward_input(&p, &d, &mut dx);
                    std::mem::swap(&mut d, &mut dx);
                }
            }
        }
    }
}

pub(crate) fn slice<T: Real>(a: &Array2<T>) -> &[T] {
    a.as_slice().expect("standard layout")
}

pub(crate) fn slice_mut<T: Real>(a: &mut Array2<T>) -> &mut [T] {
    a.as_slice_mut().expect("standard layout")
}
