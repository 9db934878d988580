//! Walking a [`Network`]'s layers: the forward pass, then the backward pass from the injected
//! output gradient, reporting every node's output, the gradient at every weighted layer's and
//! residual block's output, the weight gradients and the residual branches to a [`Probe`].
//! The walk knows weighted layers only through [`products`]; what is measured is the probe's
//! business. Node ids are the depth-first pre-order ids of [`crate::arch::layer`].
//!
//! Memory: the input and every node's output are kept for the backward pass, except an
//! activation's output x = φ(y), which is recomputed from y together with φ′(y) in one fused
//! pass when the backward pass reaches it (an MLP keeps y_1..y_L: depth × batch × width), and
//! each kept tensor is released after its last use.
//!
//! Backward (loss = Σ out ⊙ g): d starts at g; an activation maps d ↦ d ⊙ φ′(its input); a
//! norm maps d through its statistics; a weighted layer reports d (= δ_l = ∂loss/∂y_l), its
//! weight gradient, and maps d to its input gradient; a residual block
//! out = x + α·f(x/β) maps d ↦ d + f′ᵀ(α·d)/β, and with a projection shortcut
//! out = s(x/β) + α·f(x/β) maps d ↦ (s′ᵀd + f′ᵀ(α·d))/β. The first layer's input gradient is
//! not needed and not computed.
//!
//! Threads: a job with workers to itself (one deep trial) runs its elementwise passes in
//! pieces and lets the probe digest each output, δ and weight gradient beside the next product
//! ([`beside`]); a job sharing the pool with others runs everything on its own thread. The
//! probe gets the same calls, in the same order, on the same data either way, so the numbers
//! are the same bits for any thread count.

use super::kernels::gemm::idle_workers;
use super::layers::{fit, norm, products, zeros};
use super::params::Params;
use crate::activation::Activation;
use crate::arch::layer::Layer;
use crate::arch::network::{ids, Network};
use crate::real::Real;
use ndarray::{Array2, Zip};
use rayon::prelude::*;
use std::rc::Rc;

/// What the walk reports.
pub trait Probe<T: Real>: Send {
    /// A node's output in the forward pass.
    fn output(&mut self, node: usize, out: &Array2<T>);
    /// ∂loss/∂(the output of a weighted layer or a residual block), in the backward pass.
    fn grad(&mut self, node: usize, grad: &Array2<T>);
    /// ∂loss/∂W of a weighted layer, in `Params::w`'s layout (the raw weight under weight
    /// standardization).
    fn weight_grad(&mut self, node: usize, gw: &Array2<T>);
    /// A residual block's branch output f_b (before α), in the forward pass.
    fn branch(&mut self, _node: usize, _f: &Array2<T>) {}
}

/// A probe that records nothing.
pub struct NoProbe;

impl<T: Real> Probe<T> for NoProbe {
    fn output(&mut self, _: usize, _: &Array2<T>) {}
    fn grad(&mut self, _: usize, _: &Array2<T>) {}
    fn weight_grad(&mut self, _: usize, _: &Array2<T>) {}
}

/// The tensors the forward pass keeps for the backward pass, by node id (an activation's
/// output is not kept), and the network's output.
pub struct Tape<T> {
    outputs: Vec<Option<Rc<Array2<T>>>>,
    out: Rc<Array2<T>>,
}

impl<T: Real> Tape<T> {
    /// The network's output.
    pub fn output(&self) -> Array2<T> {
        (*self.out).clone()
    }
}

/// x = φ(y) elementwise (the simulator's activation pass; public for the benchmarks), over
/// [`ELEMENTWISE_CHUNK`] pieces on this job's idle workers.
pub fn apply_activation<T: Real>(act: Activation, y: &Array2<T>, x: &mut Array2<T>) {
    let (y, x) = (slice(y), slice_mut(x));
    if idle_workers() {
        x.par_chunks_mut(ELEMENTWISE_CHUNK)
            .zip(y.par_chunks(ELEMENTWISE_CHUNK))
            .for_each(|(x, y)| act.forward_slice(y, x));
    } else {
        act.forward_slice(y, x);
    }
}

/// Entries per piece of an elementwise pass run in parallel (128 KiB of f32: large enough that a
/// piece outweighs its scheduling, small enough to balance two workers). Every entry is
/// computed by the same operations whatever piece it falls in, so the bits do not depend on it.
pub const ELEMENTWISE_CHUNK: usize = 1 << 15;

/// x = φ(y) and d = φ′(y) in one pass, in parallel pieces as [`apply_activation`].
fn activation_and_deriv<T: Real>(act: Activation, y: &[T], x: &mut [T], d: &mut [T]) {
    if idle_workers() {
        x.par_chunks_mut(ELEMENTWISE_CHUNK)
            .zip(d.par_chunks_mut(ELEMENTWISE_CHUNK))
            .zip(y.par_chunks(ELEMENTWISE_CHUNK))
            .for_each(|((x, d), y)| act.forward_deriv_slice(y, x, d));
    } else {
        act.forward_deriv_slice(y, x, d);
    }
}

/// d ← d ⊙ φ′ entrywise, in parallel pieces as [`apply_activation`].
fn mul_assign<T: Real>(d: &mut Array2<T>, dphi: &Array2<T>) {
    let (d, dphi) = (slice_mut(d), slice(dphi));
    let mul = |(a, b): (&mut [T], &[T])| a.iter_mut().zip(b).for_each(|(a, &b)| *a = *a * b);
    if idle_workers() {
        d.par_chunks_mut(ELEMENTWISE_CHUNK)
            .zip(dphi.par_chunks(ELEMENTWISE_CHUNK))
            .for_each(mul);
    } else {
        mul((d, dphi));
    }
}

/// `stats` and `work` side by side when this job has idle workers (the statistics, sequential
/// sums whose order fixes their bits, on one worker; `work`'s pieces on the others, stealing
/// back whatever is left), one after the other otherwise. The same calls on the same data
/// either way: only the time changes.
fn beside<R: Send>(stats: impl FnOnce() + Send, work: impl FnOnce() -> R + Send) -> R {
    if idle_workers() {
        rayon::join(stats, work).1
    } else {
        stats();
        work()
    }
}

/// The walk's context.
struct Walk<'a, T: Real> {
    act: Activation,
    params: &'a mut dyn FnMut(usize) -> Rc<Params<T>>,
    probe: &'a mut dyn Probe<T>,
    tape: Vec<Option<Rc<Array2<T>>>>,
    /// Positions per sample of each node's input (for LayerNorm).
    positions: Vec<usize>,
    /// A forward output not yet shown to the probe: it is shown while the next layer computes
    /// (see [`beside`]), and before any other probe call, so the probe sees the same calls in
    /// the same order.
    pending: Option<(usize, Rc<Array2<T>>)>,
}

/// Forward pass of `net` on `x0`; `params(node)` gives a weighted layer's parameters.
pub fn forward<T: Real>(
    net: &Network,
    act: Activation,
    x0: &Array2<T>,
    params: &mut dyn FnMut(usize) -> Rc<Params<T>>,
    probe: &mut dyn Probe<T>,
) -> Tape<T> {
    let mut positions = vec![1; net.node_count()];
    for v in net.walk() {
        positions[v.id] = v.input.positions();
    }
    let mut w = Walk {
        act,
        params,
        probe,
        tape: vec![None; net.node_count()],
        positions,
        pending: None,
    };
    let out = w.forward_seq(&net.layers, 0, Rc::new(x0.clone()));
    Tape {
        outputs: w.tape,
        out,
    }
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
    let mut positions = vec![1; net.node_count()];
    for v in net.walk() {
        positions[v.id] = v.input.positions();
    }
    let Tape { outputs, out } = tape;
    drop(out);
    let mut w = Walk {
        act,
        params,
        probe,
        tape: outputs,
        positions,
        pending: None,
    };
    w.backward_seq(&net.layers, 0, Rc::new(x0.clone()), g.clone(), false);
}

impl<T: Real> Walk<'_, T> {
    /// `work` while the probe takes the pending output, if any ([`beside`]).
    fn with_pending<R: Send>(&mut self, work: impl FnOnce() -> R + Send) -> R {
        match self.pending.take() {
            None => work(),
            Some((id, out)) => {
                let (probe, out) = (&mut *self.probe, &*out);
                beside(|| probe.output(id, out), work)
            }
        }
    }

    /// Show the pending output to the probe now.
    fn flush(&mut self) {
        self.with_pending(|| ());
    }

    /// The kept output of node `id`.
    fn kept(&self, id: usize) -> Rc<Array2<T>> {
        Rc::clone(self.tape[id].as_ref().expect("kept tensor"))
    }

    /// Forward through a layer list whose first node has id `base`; returns its output.
    fn forward_seq(
        &mut self,
        layers: &[Layer],
        base: usize,
        input: Rc<Array2<T>>,
    ) -> Rc<Array2<T>> {
        let ids = ids(layers, base);
        let mut cur = input;
        for (i, layer) in layers.iter().enumerate() {
            let id = ids[i];
            cur = match layer {
                Layer::Act => {
                    let mut x = zeros(cur.dim());
                    let (act, y) = (self.act, &*cur);
                    self.with_pending(|| apply_activation(act, y, &mut x));
                    let x = Rc::new(x);
                    self.pending = Some((id, Rc::clone(&x)));
                    x
                }
                Layer::Norm(n) => {
                    self.flush();
                    let mut y = Array2::zeros((0, 0));
                    norm::forward(n, &cur, self.positions[id], &mut y);
                    self.probe.output(id, &y);
                    let y = Rc::new(y);
                    self.tape[id] = Some(Rc::clone(&y));
                    y
                }
                Layer::Dense(_) | Layer::Conv(_) => {
                    let p = (self.params)(id);
                    let mut y = Array2::<T>::zeros((0, 0));
                    let (prod, p, x) = (products::<T>(layer).expect("weighted layer"), &*p, &*cur);
                    self.with_pending(|| prod.forward(p, x, &mut y));
                    let y = Rc::new(y);
                    self.pending = Some((id, Rc::clone(&y)));
                    self.tape[id] = Some(Rc::clone(&y));
                    y
                }
                Layer::Residual(r) => {
                    self.flush();
                    let body_in = if r.beta == 1.0 {
                        Rc::clone(&cur)
                    } else {
                        let inv = T::of(1.0 / r.beta);
                        Rc::new(cur.mapv(|v| v * inv))
                    };
                    let f = self.forward_seq(&r.body, id + 1, Rc::clone(&body_in));
                    self.flush();
                    self.probe.branch(id, &f);
                    let mut out = match &r.shortcut {
                        None => (*cur).clone(),
                        Some(s) => {
                            let sid = id + 1 + r.body.iter().map(Layer::node_count).sum::<usize>();
                            let p = (self.params)(sid);
                            let mut y = Array2::<T>::zeros((0, 0));
                            products::<T>(s)
                                .expect("weighted shortcut")
                                .forward(&p, &body_in, &mut y);
                            self.probe.output(sid, &y);
                            y
                        }
                    };
                    if r.alpha != 0.0 {
                        let a = T::of(r.alpha);
                        Zip::from(&mut out)
                            .and(&*f)
                            .for_each(|o, &v| *o = *o + a * v);
                    }
                    self.probe.output(id, &out);
                    let out = Rc::new(out);
                    self.tape[id] = Some(Rc::clone(&out));
                    out
                }
            };
        }
        self.flush();
        cur
    }

    /// Backward through a layer list (first node id `base`, input `input`) from `d` =
    /// ∂loss/∂(its output); returns ∂loss/∂input when `need_input` (else an empty array).
    fn backward_seq(
        &mut self,
        layers: &[Layer],
        base: usize,
        input: Rc<Array2<T>>,
        mut d: Array2<T>,
        need_input: bool,
    ) -> Array2<T> {
        let ids = ids(layers, base);
        // φ(y) and φ′(y) of the activation at `fused`, computed in one pass.
        let (mut xprev, mut dphi) = (Array2::<T>::zeros((0, 0)), Array2::<T>::zeros((0, 0)));
        let mut fused: Option<usize> = None;
        let (mut gw, mut dx) = (Array2::<T>::zeros((0, 0)), Array2::<T>::zeros((0, 0)));
        for i in (0..layers.len()).rev() {
            let id = ids[i];
            // The kept input of layer j (the list's input for j = 0).
            let kept_input = |w: &Self, j: usize| -> Rc<Array2<T>> {
                if j == 0 {
                    Rc::clone(&input)
                } else {
                    w.kept(ids[j - 1])
                }
            };
            match &layers[i] {
                Layer::Act => {
                    if fused != Some(id) {
                        let y = kept_input(self, i);
                        fit(&mut xprev, y.dim());
                        fit(&mut dphi, y.dim());
                        activation_and_deriv(
                            self.act,
                            slice(&y),
                            slice_mut(&mut xprev),
                            slice_mut(&mut dphi),
                        );
                    }
                    fused = None;
                    // d ← d ⊙ φ′(y).
                    mul_assign(&mut d, &dphi);
                }
                Layer::Norm(n) => {
                    let x = kept_input(self, i);
                    self.tape[id] = None;
                    norm::backward(n, &x, &d, self.positions[id], &mut dx);
                    std::mem::swap(&mut d, &mut dx);
                }
                layer @ (Layer::Dense(_) | Layer::Conv(_)) => {
                    let prod = products::<T>(layer).expect("weighted layer");
                    self.tape[id] = None;
                    // Its input: kept, or φ of the previous activation's input (fused with φ′
                    // for that activation's step).
                    let x: Rc<Array2<T>>;
                    let xin: &Array2<T> = if i > 0 && matches!(layers[i - 1], Layer::Act) {
                        let y = kept_input(self, i - 1);
                        fit(&mut xprev, y.dim());
                        fit(&mut dphi, y.dim());
                        activation_and_deriv(
                            self.act,
                            slice(&y),
                            slice_mut(&mut xprev),
                            slice_mut(&mut dphi),
                        );
                        fused = Some(ids[i - 1]);
                        &xprev
                    } else {
                        x = kept_input(self, i);
                        &x
                    };
                    let p = (self.params)(id);
                    let (p, probe) = (&*p, &mut *self.probe);
                    // δ's statistics beside the weight gradient, the weight gradient's beside
                    // the input gradient.
                    beside(
                        || probe.grad(id, &d),
                        || {
                            prod.weight_grad(xin, &d, &mut gw);
                            p.raw_weight_grad(&mut gw);
                        },
                    );
                    if i > 0 || need_input {
                        beside(
                            || probe.weight_grad(id, &gw),
                            || prod.backward_input(p, &d, &mut dx),
                        );
                        std::mem::swap(&mut d, &mut dx);
                    } else {
                        probe.weight_grad(id, &gw);
                    }
                }
                Layer::Residual(r) => {
                    self.probe.grad(id, &d);
                    self.tape[id] = None;
                    let x = if i > 0 && matches!(layers[i - 1], Layer::Act) {
                        // A stream that is an activation's output: recompute it (and φ′).
                        let y = kept_input(self, i - 1);
                        fit(&mut xprev, y.dim());
                        fit(&mut dphi, y.dim());
                        activation_and_deriv(
                            self.act,
                            slice(&y),
                            slice_mut(&mut xprev),
                            slice_mut(&mut dphi),
                        );
                        fused = Some(ids[i - 1]);
                        Rc::new(xprev.clone())
                    } else {
                        kept_input(self, i)
                    };
                    let inv = T::of(1.0 / r.beta);
                    let body_in = if r.beta == 1.0 {
                        Rc::clone(&x)
                    } else {
                        Rc::new(x.mapv(|v| v * inv))
                    };
                    let a = T::of(r.alpha);
                    let d_f = d.mapv(|v| a * v);
                    let d_body = self.backward_seq(&r.body, id + 1, Rc::clone(&body_in), d_f, true);
                    let mut d_x = match &r.shortcut {
                        None => d,
                        Some(s) => {
                            let sid = id + 1 + r.body.iter().map(Layer::node_count).sum::<usize>();
                            let prod = products::<T>(s).expect("weighted shortcut");
                            self.probe.grad(sid, &d);
                            let p = (self.params)(sid);
                            prod.weight_grad(&body_in, &d, &mut gw);
                            p.raw_weight_grad(&mut gw);
                            self.probe.weight_grad(sid, &gw);
                            let mut ds = Array2::zeros((0, 0));
                            prod.backward_input(&p, &d, &mut ds);
                            ds
                        }
                    };
                    // The branch (and a projection) read x/β: d ← d + f′ᵀ(α·d)/β for the
                    // identity, (s′ᵀd + f′ᵀ(α·d))/β for a projection.
                    if r.beta == 1.0 {
                        Zip::from(&mut d_x)
                            .and(&d_body)
                            .for_each(|o, &b| *o = *o + b);
                    } else if r.shortcut.is_none() {
                        Zip::from(&mut d_x)
                            .and(&d_body)
                            .for_each(|o, &b| *o = *o + b * inv);
                    } else {
                        Zip::from(&mut d_x)
                            .and(&d_body)
                            .for_each(|o, &b| *o = (*o + b) * inv);
                    }
                    d = d_x;
                }
            }
        }
        if need_input {
            d
        } else {
            Array2::zeros((0, 0))
        }
    }
}

pub(crate) fn slice<T: Real>(a: &Array2<T>) -> &[T] {
    a.as_slice().expect("standard layout")
}

pub(crate) fn slice_mut<T: Real>(a: &mut Array2<T>) -> &mut [T] {
    a.as_slice_mut().expect("standard layout")
}
