//! The cost of a training step against one forward + backward pass of the simulator
//! (`initlab bench`, issue 14): for the first cell of a workload with `[train]`, the seconds
//! per step are the difference between two training runs of S₁ and S₂ steps (both evaluated
//! only at their first and last step) divided by S₂ − S₁, so evaluation and set-up cancel; the
//! seconds of a forward + backward pass are the simulator's own (`simulate`, the time spent
//! drawing weights taken out) at the training batch size, the best of `reps`.

use super::{train, TrainConfig, TrainSpec};
use crate::config::{Dtype, Experiment};
use crate::sim::{simulate_group_timed, TrialSpec};
use std::time::Instant;

/// Seconds per training step, seconds per simulator forward + backward, and their ratio.
#[derive(Debug, Clone, Copy)]
pub struct StepCost {
    pub step_seconds: f64,
    pub forward_backward_seconds: f64,
    pub ratio: f64,
}

fn time_train(exp: &Experiment, cfg: &TrainConfig, steps: usize) -> f64 {
    let cell = &exp.cells()[0];
    let net = cell.network();
    let cfg = TrainConfig {
        steps,
        lrs: vec![cfg.lrs[0]],
        eval_every: steps,
        ..cfg.clone()
    };
    let spec = TrainSpec {
        seed: exp.seed,
        activation: cell.activation,
        init: &cell.init.init,
        network: &net,
        trial: 0,
        cfg: &cfg,
        lsuv_scales: &[],
    };
    let t = Instant::now();
    match exp.dtype {
        Dtype::F32 => drop(train::<f32>(&spec)),
        Dtype::F64 => drop(train::<f64>(&spec)),
    }
    t.elapsed().as_secs_f64()
}

/// Measure the step cost of `exp`'s first cell (None without `[train]`).
pub fn step_cost(exp: &Experiment, reps: usize) -> Option<StepCost> {
    let cfg = exp.train.as_ref()?;
    let cell = &exp.cells()[0];
    let net = cell.network();
    let spec = TrialSpec {
        seed: exp.seed,
        activation: cell.activation,
        init: &cell.init.init,
        network: &net,
        batch: cfg.batch,
        input: exp.input,
        output_grad: exp.output_grad,
        trial: 0,
        capture: &[],
        spectrum: None,
    };
    let fb = (0..reps.max(1))
        .map(|_| {
            let (_, secs, weights) = match exp.dtype {
                Dtype::F32 => simulate_group_timed::<f32>(std::slice::from_ref(&spec)),
                Dtype::F64 => simulate_group_timed::<f64>(std::slice::from_ref(&spec)),
            }
            .remove(0);
            secs - weights
        })
        .fold(f64::INFINITY, f64::min);
    let (s1, s2) = (cfg.steps / 4 + 1, cfg.steps + 1);
    let step = (time_train(exp, cfg, s2) - time_train(exp, cfg, s1)) / (s2 - s1) as f64;
    Some(StepCost {
        step_seconds: step,
        forward_backward_seconds: fb,
        ratio: step / fb,
    })
}
