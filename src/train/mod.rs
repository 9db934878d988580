//! Short training runs from the simulated initialization ("does it train?"): each cell ×
//! trial starts from exactly the weights and biases the variance simulation draws
//! ([`crate::sim::layer_params`], same streams), adds a loss head ([`loss`]: flattening, a
//! linear readout, softmax cross-entropy or MSE) and trains on a [`task`] with an
//! [`optim`]izer, using the simulator's own forward and backward passes ([`crate::sim::exec`]):
//! the gradient the head computes is injected where the variance simulation injects its random
//! g, so a step costs one forward and one backward pass plus the (small) head and the update.
//! Pure computation: no I/O.
//!
//! Determinism: the data depend on (seed, task, input shape), the minibatch order on (seed,
//! task, trial), the readout on (seed, init, shape, trial) — never on scheduling. Every
//! learning rate starts from the same weights and sees the same minibatches.
//!
//! Under scaled weight standardization the standardized weight Ŵ drawn at initialization is
//! trained directly (the standardization is not re-applied during training).

pub mod bench;
pub mod config;
pub mod loss;
pub mod optim;
pub mod task;
pub mod theory;

pub use config::TrainConfig;

use crate::activation::Activation;
use crate::arch::network::Network;
use crate::init::Init;
use crate::real::Real;
use crate::seed::stream;
use crate::sim::exec::{self, NoProbe, Probe};
use crate::sim::{layer_params, Params};
use loss::{flatten, Head};
use ndarray::{Array1, Array2, Axis};
use rand::Rng;
use std::rc::Rc;
use task::{Dataset, Targets};

/// One `train.csv` row (less the cell columns and the trial).
#[derive(Debug, Clone, PartialEq)]
pub struct TrainRow {
    pub lr: f64,
    pub step: usize,
    /// Loss on the training set (at most [`EVAL_TRAIN_MAX`] samples), and on the test set.
    pub train_loss: f64,
    pub test_loss: f64,
    /// Fraction of test samples classified right (NaN for regression).
    pub test_accuracy: f64,
    /// ‖∂L/∂W‖_F of the first and the last weighted layer on this step's minibatch.
    pub grad_norm_first: f64,
    pub grad_norm_last: f64,
}

impl TrainRow {
    /// A run stops at its first non-finite loss; that row marks it diverged.
    pub fn diverged(&self) -> bool {
        !(self.train_loss.is_finite() && self.test_loss.is_finite())
    }
}

/// Training-set samples evaluated at each eval step (the first ones).
pub const EVAL_TRAIN_MAX: usize = 2048;
/// Samples per forward pass when evaluating.
const EVAL_CHUNK: usize = 512;

/// What determines one cell-trial's training runs.
#[derive(Debug, Clone)]
pub struct TrainSpec<'a> {
    pub seed: u64,
    pub activation: Activation,
    pub init: &'a Init,
    pub network: &'a Network,
    pub trial: usize,
    pub cfg: &'a TrainConfig,
    /// LSUV's final scale per tap (issue 13; empty unless the init is LSUV): training starts
    /// from the rescaled weights the variance simulation measured, not from the base draw.
    pub lsuv_scales: &'a [f64],
}

/// The readout V (outputs × features: the flattened output) and c drawn from the cell's init on their own stream
/// (PyTorch's nn.Linear default U(±1/√features) where the scheme cannot draw a 2-D weight).
pub fn readout(seed: u64, init: &Init, trial: usize, outputs: usize, features: usize) -> Head {
    let shape = [outputs, features];
    let key = |role: &str| {
        stream(&[
            role,
            &seed.to_string(),
            &init.canonical(),
            &format!("{shape:?}"),
            &trial.to_string(),
        ])
    };
    let mut rng = key("train/readout");
    let bound = 1.0 / (features as f64).sqrt();
    let uniform = |rng: &mut rand_chacha::ChaCha8Rng, n: usize| -> Vec<f64> {
        (0..n)
            .map(|_| bound * (2.0 * rng.random::<f64>() - 1.0))
            .collect()
    };
    let v = init
        .weight
        .sample(&shape, &mut rng)
        .unwrap_or_else(|_| uniform(&mut rng, outputs * features));
    let mut rng = key("train/readout_bias");
    let c = init
        .bias
        .sample(&shape, &mut rng)
        .unwrap_or_else(|_| uniform(&mut rng, outputs));
    Head {
        v: Array2::from_shape_vec(shape, v).expect("shape"),
        c: Array1::from_vec(c),
    }
}

/// GEMM flops of one cell-trial's training (every learning rate): a forward + backward pass
/// per step (and one more at the last eval), and a forward pass (a third of the pair) over the
/// evaluated train and test samples at each eval step.
pub fn flops(cfg: &TrainConfig, net: &Network) -> f64 {
    let (train, test) = cfg.task.sizes();
    let eval = (train.min(EVAL_TRAIN_MAX) + test) as f64 * net.flops(1) / 3.0;
    cfg.lrs.len() as f64
        * ((cfg.steps + 1) as f64 * net.flops(cfg.batch) + cfg.eval_steps().len() as f64 * eval)
}

/// The largest batch a training run passes through the network.
pub fn max_batch(cfg: &TrainConfig) -> usize {
    cfg.batch.max(EVAL_CHUNK)
}

/// The network's parameters by tap, trained in place.
struct Model<T: Real> {
    params: Vec<Rc<Params<T>>>,
    head: Head,
    /// Tap index (0-based) of each node, usize::MAX for nodes without weights.
    tap_of_node: Vec<usize>,
}

/// Collects ∂L/∂W and ∂L/∂b (the column sums of δ) by tap.
struct GradProbe<'a, T: Real> {
    tap_of_node: &'a [usize],
    gw: Vec<Option<Array2<T>>>,
    gb: Vec<Option<Array1<T>>>,
}

impl<T: Real> Probe<T> for GradProbe<'_, T> {
    fn output(&mut self, _: usize, _: &Array2<T>) {}
    fn grad(&mut self, node: usize, d: &Array2<T>) {
        if let Some(&t) = self.tap_of_node.get(node).filter(|&&t| t != usize::MAX) {
            self.gb[t] = Some(d.sum_axis(Axis(0)));
        }
    }
    fn weight_grad(&mut self, node: usize, gw: &Array2<T>) {
        if let Some(&t) = self.tap_of_node.get(node).filter(|&&t| t != usize::MAX) {
            self.gw[t] = Some(gw.clone());
        }
    }
}

/// Rows of a sample-major input matrix (samples × positions·channels) as the simulator's
/// channels-last batch (samples·positions × channels).
fn batch_of<T: Real>(x: &Array2<f64>, idx: &[usize], channels: usize) -> Array2<T> {
    let per = x.ncols();
    let mut v = Vec::with_capacity(idx.len() * per);
    for &i in idx {
        v.extend(x.row(i).iter().map(|&a| T::of(a)));
    }
    Array2::from_shape_vec((idx.len() * per / channels, channels), v).expect("sample shape")
}

/// The gradients of one minibatch: the loss, and per tap (∂L/∂W, ∂L/∂b), and the head's.
struct Grads<T: Real> {
    loss: f64,
    gw: Vec<Option<Array2<T>>>,
    gb: Vec<Option<Array1<T>>>,
    dv: Array2<f64>,
    dc: Array1<f64>,
}

impl<T: Real> Model<T> {
    fn forward_logits(&self, net: &Network, act: Activation, x: &Array2<T>) -> Array2<f64> {
        let mut get = |node: usize| Rc::clone(&self.params[self.tap_of_node[node]]);
        let tape = exec::forward(net, act, x, &mut get, &mut NoProbe);
        self.head
            .logits(&flatten(&tape.output(), net.output().positions()))
    }

    /// Loss and accuracy (NaN for regression) over a whole set, in chunks.
    fn evaluate(
        &self,
        net: &Network,
        act: Activation,
        x: &Array2<f64>,
        y: &Targets,
        n: usize,
    ) -> (f64, f64) {
        let channels = net.input.channels;
        let (mut total, mut correct, mut classified) = (0.0, 0usize, false);
        let all: Vec<usize> = (0..n).collect();
        for chunk in all.chunks(EVAL_CHUNK) {
            let z = self.forward_logits(net, act, &batch_of::<T>(x, chunk, channels));
            let lv = loss::loss(&z, &y.select(chunk));
            total += lv.loss * chunk.len() as f64;
            if let Some(c) = lv.correct {
                correct += c;
                classified = true;
            }
        }
        let acc = if classified {
            correct as f64 / n as f64
        } else {
            f64::NAN
        };
        (total / n as f64, acc)
    }

    /// Forward, loss head and backward on one minibatch.
    fn gradients(&self, net: &Network, act: Activation, x: &Array2<T>, y: &Targets) -> Grads<T> {
        let mut get = |node: usize| Rc::clone(&self.params[self.tap_of_node[node]]);
        let tape = exec::forward(net, act, x, &mut get, &mut NoProbe);
        let positions = net.output().positions();
        let h = flatten(&tape.output(), positions);
        let lv = loss::loss(&self.head.logits(&h), y);
        let (dv, dc, dout) = self.head.backward::<T>(&h, &lv.dz, positions);
        let n = self.params.len();
        let mut probe = GradProbe {
            tap_of_node: &self.tap_of_node,
            gw: vec![None; n],
            gb: vec![None; n],
        };
        exec::backward(net, act, x, tape, &dout, &mut get, &mut probe);
        Grads {
            loss: lv.loss,
            gw: probe.gw,
            gb: probe.gb,
            dv,
            dc,
        }
    }

    /// One optimizer step with `g`.
    fn apply(&mut self, opt: &mut optim::State, g: &Grads<T>) {
        opt.begin_step();
        for t in 0..self.params.len() {
            let p = Rc::make_mut(&mut self.params[t]);
            if let Some(gw) = &g.gw[t] {
                opt.update(2 * t, slice_mut(&mut p.w), gw.as_slice().expect("layout"));
            }
            if let (Some(b), Some(gb)) = (p.b.as_mut(), &g.gb[t]) {
                opt.update(
                    2 * t + 1,
                    b.as_slice_mut().expect("layout"),
                    gb.as_slice().expect("layout"),
                );
            }
        }
        let k = 2 * self.params.len();
        opt.update(
            k,
            slice_mut(&mut self.head.v),
            g.dv.as_slice().expect("layout"),
        );
        opt.update(
            k + 1,
            self.head.c.as_slice_mut().expect("layout"),
            g.dc.as_slice().expect("layout"),
        );
    }
}

fn slice_mut<T>(a: &mut Array2<T>) -> &mut [T] {
    a.as_slice_mut().expect("standard layout")
}

fn frobenius<T: Real>(g: Option<&Array2<T>>) -> f64 {
    g.map_or(f64::NAN, |g| {
        g.iter().map(|v| v.f64() * v.f64()).sum::<f64>().sqrt()
    })
}

/// Minibatch indices: epochs of a fresh permutation each (Fisher–Yates), drawn in order.
struct Sampler {
    rng: rand_chacha::ChaCha8Rng,
    perm: Vec<usize>,
    at: usize,
}

impl Sampler {
    fn new(rng: rand_chacha::ChaCha8Rng, n: usize) -> Sampler {
        let mut s = Sampler {
            rng,
            perm: (0..n).collect(),
            at: n,
        };
        s.at = s.perm.len();
        s
    }

    fn next(&mut self, batch: usize) -> Vec<usize> {
        let mut out = Vec::with_capacity(batch);
        while out.len() < batch {
            if self.at == self.perm.len() {
                shuffle(&mut self.rng, &mut self.perm);
                self.at = 0;
            }
            out.push(self.perm[self.at]);
            self.at += 1;
        }
        out
    }
}

fn shuffle(rng: &mut impl Rng, v: &mut [usize]) {
    for i in (1..v.len()).rev() {
        let j = rng.random_range(0..=i);
        v.swap(i, j);
    }
}

/// Every learning rate's run of one cell-trial, in `cfg.lrs` order, rows in step order.
pub fn train<T: Real>(spec: &TrainSpec) -> Vec<TrainRow> {
    let data = spec.cfg.task.dataset(spec.seed, &spec.network.input);
    train_on::<T>(spec, &data)
}

/// [`train`] on given data.
pub fn train_on<T: Real>(spec: &TrainSpec, data: &Dataset) -> Vec<TrainRow> {
    let net = spec.network;
    let taps = net.taps();
    let mut tap_of_node = vec![usize::MAX; net.node_count()];
    for (t, tap) in taps.iter().enumerate() {
        tap_of_node[tap.node] = t;
    }
    let params: Vec<Rc<Params<T>>> = taps
        .iter()
        .enumerate()
        .map(|(t, tap)| {
            let mut p = layer_params::<T>(spec.seed, spec.init, tap, spec.trial);
            if let Some(&s) = spec.lsuv_scales.get(t) {
                p = crate::sim::lsuv::scaled(&p, s);
            }
            p.ws = None;
            Rc::new(p)
        })
        .collect();
    let head = readout(
        spec.seed,
        spec.init,
        spec.trial,
        spec.cfg.task.outputs(),
        net.output().len(),
    );
    let start = Model {
        params,
        head,
        tap_of_node,
    };
    let mut rows = Vec::new();
    for &lr in &spec.cfg.lrs {
        rows.extend(run_one(spec, data, start_clone(&start), lr));
    }
    rows
}

fn start_clone<T: Real>(m: &Model<T>) -> Model<T> {
    Model {
        params: m.params.iter().map(|p| Rc::new((**p).clone())).collect(),
        head: m.head.clone(),
        tap_of_node: m.tap_of_node.clone(),
    }
}

fn run_one<T: Real>(
    spec: &TrainSpec,
    data: &Dataset,
    mut model: Model<T>,
    lr: f64,
) -> Vec<TrainRow> {
    let (net, act, cfg) = (spec.network, spec.activation, spec.cfg);
    let channels = net.input.channels;
    let sizes: Vec<usize> = model
        .params
        .iter()
        .flat_map(|p| [p.w.len(), p.b.as_ref().map_or(0, |b| b.len())])
        .chain([model.head.v.len(), model.head.c.len()])
        .collect();
    let mut opt = optim::State::new(cfg.optimizer, lr, &sizes);
    let mut sampler = Sampler::new(
        stream(&[
            "train/batches",
            &spec.seed.to_string(),
            &cfg.task.canonical(),
            &spec.trial.to_string(),
        ]),
        data.x_train.nrows(),
    );
    let evals = cfg.eval_steps();
    let n_train = data.x_train.nrows().min(EVAL_TRAIN_MAX);
    let n_test = data.x_test.nrows();
    let (first, last) = (0, model.params.len().saturating_sub(1));
    let mut rows = Vec::new();
    for step in 0..=cfg.steps {
        let idx = sampler.next(cfg.batch);
        let x = batch_of::<T>(&data.x_train, &idx, channels);
        let g = model.gradients(net, act, &x, &data.y_train.select(&idx));
        let bad = !g.loss.is_finite();
        if evals.contains(&step) || bad {
            let (train_loss, _) = model.evaluate(net, act, &data.x_train, &data.y_train, n_train);
            let (test_loss, test_accuracy) =
                model.evaluate(net, act, &data.x_test, &data.y_test, n_test);
            let row = TrainRow {
                lr,
                step,
                train_loss: if bad { g.loss } else { train_loss },
                test_loss,
                test_accuracy,
                grad_norm_first: frobenius(g.gw[first].as_ref()),
                grad_norm_last: frobenius(g.gw[last].as_ref()),
            };
            let stop = bad || row.diverged();
            rows.push(row);
            if stop {
                break;
            }
        }
        if step < cfg.steps {
            model.apply(&mut opt, &g);
        }
    }
    rows
}

#[cfg(test)]
mod tests;
