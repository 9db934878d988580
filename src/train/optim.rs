//! Optimizers over flat parameter slices, PyTorch's update rules (torch.optim):
//! - SGD:       θ ← θ − η·g;
//! - momentum:  v ← μ·v + g, θ ← θ − η·v, μ = 0.9 (torch.optim.SGD(momentum=0.9), dampening 0);
//! - Adam:      m ← β₁m + (1−β₁)g, v ← β₂v + (1−β₂)g², θ ← θ − η·m̂/(√v̂ + ε), m̂ = m/(1−β₁ᵗ),
//!   v̂ = v/(1−β₂ᵗ), β₁ = 0.9, β₂ = 0.999, ε = 1e-8 (Kingma & Ba 2015, Algorithm 1).
//!
//! The state is kept per parameter tensor ("slot") in f64, so f32 and f64 runs differ only in
//! the parameters' own precision.

use crate::real::Real;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Optimizer {
    Sgd,
    Momentum,
    Adam,
}

pub const MOMENTUM: f64 = 0.9;
pub const BETA1: f64 = 0.9;
pub const BETA2: f64 = 0.999;
pub const EPS: f64 = 1e-8;

impl Optimizer {
    pub fn name(self) -> &'static str {
        match self {
            Optimizer::Sgd => "sgd",
            Optimizer::Momentum => "momentum",
            Optimizer::Adam => "adam",
        }
    }
}

/// An optimizer's state for a fixed list of parameter tensors.
pub struct State {
    kind: Optimizer,
    lr: f64,
    /// Steps taken so far (t in Adam's bias correction).
    t: i32,
    /// First moment (momentum buffer or Adam's m) and second moment (Adam's v), per slot.
    m: Vec<Vec<f64>>,
    v: Vec<Vec<f64>>,
}

impl State {
    /// State for slots of the given sizes.
    pub fn new(kind: Optimizer, lr: f64, sizes: &[usize]) -> State {
        let zeros = |on: bool| {
            sizes
                .iter()
                .map(|&n| if on { vec![0.0; n] } else { Vec::new() })
                .collect()
        };
        State {
            kind,
            lr,
            t: 0,
            m: zeros(kind != Optimizer::Sgd),
            v: zeros(kind == Optimizer::Adam),
        }
    }

    /// Start a step (advances Adam's t); then call [`State::update`] for every slot.
    pub fn begin_step(&mut self) {
        self.t += 1;
    }

    /// Apply the update of slot `slot` to `theta` with gradient `g`.
    pub fn update<T: Real>(&mut self, slot: usize, theta: &mut [T], g: &[T]) {
        debug_assert_eq!(theta.len(), g.len());
        let lr = self.lr;
        match self.kind {
            Optimizer::Sgd => {
                for (p, &gi) in theta.iter_mut().zip(g) {
                    *p = T::of(p.f64() - lr * gi.f64());
                }
            }
            Optimizer::Momentum => {
                let m = &mut self.m[slot];
                for ((p, &gi), mi) in theta.iter_mut().zip(g).zip(m.iter_mut()) {
                    *mi = MOMENTUM * *mi + gi.f64();
                    *p = T::of(p.f64() - lr * *mi);
                }
            }
            Optimizer::Adam => {
                let c1 = 1.0 - BETA1.powi(self.t);
                let c2 = 1.0 - BETA2.powi(self.t);
                let (m, v) = (&mut self.m[slot], &mut self.v[slot]);
                for (((p, &gi), mi), vi) in theta.iter_mut().zip(g).zip(m.iter_mut()).zip(v) {
                    let gi = gi.f64();
                    *mi = BETA1 * *mi + (1.0 - BETA1) * gi;
                    *vi = BETA2 * *vi + (1.0 - BETA2) * gi * gi;
                    let step = lr * (*mi / c1) / ((*vi / c2).sqrt() + EPS);
                    *p = T::of(p.f64() - step);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each rule against its formula written out for two steps on one coordinate.
    #[test]
    fn updates_follow_the_formulas() {
        let (g1, g2) = (0.5f64, -2.0f64);
        let run = |kind| {
            let mut s = State::new(kind, 0.1, &[1]);
            let mut th = [1.0f64];
            s.begin_step();
            s.update(0, &mut th, &[g1]);
            s.begin_step();
            s.update(0, &mut th, &[g2]);
            th[0]
        };
        assert!((run(Optimizer::Sgd) - (1.0 - 0.1 * (g1 + g2))).abs() < 1e-15);
        let v2 = MOMENTUM * g1 + g2;
        assert!((run(Optimizer::Momentum) - (1.0 - 0.1 * g1 - 0.1 * v2)).abs() < 1e-15);
        // Adam: the first step moves by η·sign(g) (m̂ = g, v̂ = g²).
        let m2 = BETA1 * (1.0 - BETA1) * g1 + (1.0 - BETA1) * g2;
        let v2 = BETA2 * (1.0 - BETA2) * g1 * g1 + (1.0 - BETA2) * g2 * g2;
        let step2 =
            0.1 * (m2 / (1.0 - BETA1 * BETA1)) / ((v2 / (1.0 - BETA2 * BETA2)).sqrt() + EPS);
        let want = 1.0 - 0.1 * g1 / (g1.abs() + EPS) - step2;
        assert!((run(Optimizer::Adam) - want).abs() < 1e-12);
    }
}
