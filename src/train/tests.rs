//! Training checks: the whole step's gradient (network, pooling, readout, loss) against finite
//! differences, the first-order loss decrease of an SGD step, the closed-form least-squares
//! loss of a linear teacher–student problem, and that a shallow He-initialized net learns the
//! digits.

use super::*;
use crate::arch::layer::Padding;
use crate::arch::network::{conv, mlp};
use crate::train::optim::Optimizer;
use crate::train::task::Task;

fn cfg(task: Task, steps: usize, lr: f64, optimizer: Optimizer, batch: usize) -> TrainConfig {
    TrainConfig {
        steps,
        lrs: vec![lr],
        optimizer,
        batch,
        task,
        eval_every: steps,
    }
}

fn model_for(spec: &TrainSpec) -> Model<f64> {
    let net = spec.network;
    let taps = net.taps();
    let mut tap_of_node = vec![usize::MAX; net.node_count()];
    for (t, tap) in taps.iter().enumerate() {
        tap_of_node[tap.node] = t;
    }
    Model {
        params: taps
            .iter()
            .map(|tap| Rc::new(layer_params::<f64>(spec.seed, spec.init, tap, spec.trial)))
            .collect(),
        head: readout(
            spec.seed,
            spec.init,
            spec.trial,
            spec.cfg.task.outputs(),
            net.output().len(),
        ),
        tap_of_node,
    }
}

/// Every weight, bias and readout entry's gradient of the minibatch loss against central
/// differences (h = 1e-6, tolerance 1e-6·(1 + |g|)), for an MLP on a regression and a
/// classification task and a conv net (flattened head) on a classification, with drawn biases;
/// then one SGD step of size η lowers the loss by η‖g‖² to first order (relative 1e-3).
#[test]
fn training_step_matches_finite_differences() {
    let init = Init::preset("pytorch_default", "t").unwrap();
    let teacher = Task::Teacher {
        depth: 1,
        outputs: 2,
        train: 16,
        test: 4,
        noise: 0.1,
    };
    let mixture = Task::Mixture {
        classes: 3,
        train: 16,
        test: 4,
        noise: 1.0,
    };
    let nets = [
        (mlp(&[4, 5, 3], true), teacher.clone()),
        (mlp(&[4, 5, 3], true), mixture.clone()),
        (conv(&[2, 3, 2], &[3], 3, Padding::Zeros, true), mixture),
    ];
    for (net, task) in &nets {
        for act in [Activation::Tanh, Activation::Gelu { tanh_approx: false }] {
            let c = cfg(task.clone(), 1, 0.1, Optimizer::Sgd, 5);
            let spec = TrainSpec {
                seed: 3,
                activation: act,
                init: &init,
                network: net,
                trial: 1,
                cfg: &c,
                lsuv_scales: &[],
            };
            let data = task.dataset(3, &net.input);
            let idx = [0usize, 3, 5, 7, 11];
            let x = batch_of::<f64>(&data.x_train, &idx, net.input.channels);
            let y = data.y_train.select(&idx);
            let model = model_for(&spec);
            let g = model.gradients(net, act, &x, &y);
            let loss_of = |m: &Model<f64>| loss::loss(&m.forward_logits(net, act, &x), &y).loss;
            assert!((loss_of(&model) - g.loss).abs() < 1e-12);
            let h = 1e-6;
            let close = |fd: f64, an: f64, what: String| {
                assert!(
                    (fd - an).abs() < 1e-6 * (1.0 + an.abs()),
                    "{what}: fd {fd} vs {an}"
                );
            };
            for t in 0..model.params.len() {
                let (r, c) = model.params[t].w.dim();
                for i in 0..r {
                    for j in 0..c {
                        let (mut mp, mut mm) = (start_clone(&model), start_clone(&model));
                        Rc::make_mut(&mut mp.params[t]).w[[i, j]] += h;
                        Rc::make_mut(&mut mm.params[t]).w[[i, j]] -= h;
                        let fd = (loss_of(&mp) - loss_of(&mm)) / (2.0 * h);
                        close(
                            fd,
                            g.gw[t].as_ref().unwrap()[[i, j]],
                            format!("{act:?} W{t}[{i},{j}]"),
                        );
                    }
                    let (mut mp, mut mm) = (start_clone(&model), start_clone(&model));
                    Rc::make_mut(&mut mp.params[t]).b.as_mut().unwrap()[i] += h;
                    Rc::make_mut(&mut mm.params[t]).b.as_mut().unwrap()[i] -= h;
                    let fd = (loss_of(&mp) - loss_of(&mm)) / (2.0 * h);
                    close(
                        fd,
                        g.gb[t].as_ref().unwrap()[i],
                        format!("{act:?} b{t}[{i}]"),
                    );
                }
            }
            let (k, ch) = model.head.v.dim();
            for i in 0..k {
                for j in 0..ch {
                    let (mut mp, mut mm) = (start_clone(&model), start_clone(&model));
                    mp.head.v[[i, j]] += h;
                    mm.head.v[[i, j]] -= h;
                    close(
                        (loss_of(&mp) - loss_of(&mm)) / (2.0 * h),
                        g.dv[[i, j]],
                        format!("V[{i},{j}]"),
                    );
                }
                let (mut mp, mut mm) = (start_clone(&model), start_clone(&model));
                mp.head.c[i] += h;
                mm.head.c[i] -= h;
                close(
                    (loss_of(&mp) - loss_of(&mm)) / (2.0 * h),
                    g.dc[i],
                    format!("c[{i}]"),
                );
            }
            // One SGD step: L(θ − ηg) − L(θ) = −η‖g‖² + O(η²).
            let sq: f64 =
                g.gw.iter()
                    .chain(std::iter::empty())
                    .map(|w| w.as_ref().unwrap().mapv(|v| v * v).sum())
                    .sum::<f64>()
                    + g.gb
                        .iter()
                        .map(|b| b.as_ref().unwrap().mapv(|v| v * v).sum())
                        .sum::<f64>()
                    + g.dv.mapv(|v| v * v).sum()
                    + g.dc.mapv(|v| v * v).sum();
            let eta = 1e-5;
            let mut stepped = start_clone(&model);
            let mut opt = optim::State::new(
                Optimizer::Sgd,
                eta,
                &stepped
                    .params
                    .iter()
                    .flat_map(|p| [p.w.len(), p.b.as_ref().map_or(0, |b| b.len())])
                    .chain([stepped.head.v.len(), stepped.head.c.len()])
                    .collect::<Vec<_>>(),
            );
            stepped.apply(&mut opt, &g);
            let drop = loss_of(&model) - loss_of(&stepped);
            assert!(
                (drop / (eta * sq) - 1.0).abs() < 1e-3,
                "{act:?}: loss fell by {drop}, first order {}",
                eta * sq
            );
        }
    }
}

/// Solve the symmetric positive definite system A·x = b (Cholesky), for the closed form.
fn solve_spd(a: &Array2<f64>, b: &Array2<f64>) -> Array2<f64> {
    let n = a.nrows();
    let mut l = Array2::<f64>::zeros((n, n));
    for i in 0..n {
        for j in 0..=i {
            let s: f64 = (0..j).map(|k| l[[i, k]] * l[[j, k]]).sum();
            if i == j {
                l[[i, i]] = (a[[i, i]] - s).sqrt();
            } else {
                l[[i, j]] = (a[[i, j]] - s) / l[[j, j]];
            }
        }
    }
    let mut x = b.clone();
    for col in 0..b.ncols() {
        for i in 0..n {
            let s: f64 = (0..i).map(|k| l[[i, k]] * x[[k, col]]).sum();
            x[[i, col]] = (x[[i, col]] - s) / l[[i, i]];
        }
        for i in (0..n).rev() {
            let s: f64 = (i + 1..n).map(|k| l[[k, i]] * x[[k, col]]).sum();
            x[[i, col]] = (x[[i, col]] - s) / l[[i, i]];
        }
    }
    x
}

/// A linear student (one linear layer of width 8, then the readout: an affine map of full
/// rank) trained full-batch on a noisy linear teacher reaches the least-squares training loss
/// min_β (1/(n·m))‖[X 1]β − Y‖², β = ([X 1]ᵀ[X 1])⁻¹[X 1]ᵀY, to a relative 1e-6; the loss
/// stays above it at every evaluation (it is the minimum), and the test loss is finite.
#[test]
fn linear_teacher_student_reaches_least_squares() {
    let task = Task::Teacher {
        depth: 0,
        outputs: 2,
        train: 120,
        test: 40,
        noise: 0.5,
    };
    let net = mlp(&[6, 8], true);
    let init = Init::parse_spec("xavier_normal", "t").unwrap();
    let c = TrainConfig {
        steps: 3000,
        lrs: vec![0.05],
        optimizer: Optimizer::Momentum,
        batch: 120,
        task: task.clone(),
        eval_every: 500,
    };
    let spec = TrainSpec {
        seed: 7,
        activation: Activation::Linear,
        init: &init,
        network: &net,
        trial: 0,
        cfg: &c,
        lsuv_scales: &[],
    };
    let data = task.dataset(7, &net.input);
    let rows = train_on::<f64>(&spec, &data);
    let n = data.x_train.nrows();
    let mut xt = Array2::<f64>::ones((n, 7));
    xt.slice_mut(ndarray::s![.., ..6]).assign(&data.x_train);
    let Targets::Values(y) = &data.y_train else {
        panic!()
    };
    let beta = solve_spd(&xt.t().dot(&xt), &xt.t().dot(y));
    let resid = xt.dot(&beta) - y;
    let ls = resid.mapv(|v| v * v).sum() / resid.len() as f64;
    let last = rows.last().unwrap();
    assert_eq!(last.step, 3000);
    assert!(
        ((last.train_loss - ls) / ls).abs() < 1e-6,
        "trained {} vs least squares {ls}",
        last.train_loss
    );
    assert!(rows.iter().all(|r| r.train_loss >= ls * (1.0 - 1e-9)));
    assert!(rows[0].train_loss > 1.5 * ls, "the problem is not trivial");
    assert!(last.test_loss.is_finite() && last.test_accuracy.is_nan());
}

/// A 3-layer ReLU MLP under He init learns the digits: test accuracy from ≈ chance to > 85%
/// in 150 SGD steps; the runs are the same bits on 1 and 3 threads and in f32 and f64 agree on
/// the accuracy to 3 points.
#[test]
fn he_mlp_learns_digits_deterministically() {
    let net = mlp(&[64, 64, 64, 64], true);
    let init = Init::parse_spec("kaiming_normal", "t").unwrap();
    let c = TrainConfig {
        steps: 150,
        lrs: vec![0.05],
        optimizer: Optimizer::Sgd,
        batch: 64,
        task: Task::Digits,
        eval_every: 50,
    };
    let spec = TrainSpec {
        seed: 1,
        activation: Activation::Relu,
        init: &init,
        network: &net,
        trial: 0,
        cfg: &c,
        lsuv_scales: &[],
    };
    let runs: Vec<Vec<TrainRow>> = [1, 3]
        .iter()
        .map(|&t| {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(t)
                .build()
                .unwrap();
            pool.install(|| train::<f32>(&spec))
        })
        .collect();
    assert_eq!(format!("{:?}", runs[0]), format!("{:?}", runs[1]));
    let rows = &runs[0];
    assert_eq!(
        rows.iter().map(|r| r.step).collect::<Vec<_>>(),
        vec![0, 50, 100, 150]
    );
    assert!(rows[0].test_accuracy < 0.3, "{:?}", rows[0]);
    let end = rows.last().unwrap();
    assert!(end.test_accuracy > 0.85, "{end:?}");
    assert!(end.train_loss < 0.5 * rows[0].train_loss);
    let r64 = train::<f64>(&spec);
    assert!((r64.last().unwrap().test_accuracy - end.test_accuracy).abs() < 0.03);
}

/// A learning rate far too large diverges: the run stops at a row with a non-finite loss.
#[test]
fn divergence_is_recorded_not_fatal() {
    let net = mlp(&[64, 64, 64], true);
    let init = Init::parse_spec("kaiming_normal", "t").unwrap();
    let c = cfg(Task::Digits, 50, 1e4, Optimizer::Sgd, 32);
    let spec = TrainSpec {
        seed: 1,
        activation: Activation::Relu,
        init: &init,
        network: &net,
        trial: 0,
        cfg: &c,
        lsuv_scales: &[],
    };
    let rows = train::<f32>(&spec);
    let last = rows.last().unwrap();
    assert!(last.diverged(), "{rows:?}");
    assert!(rows[..rows.len() - 1].iter().all(|r| !r.diverged()));
}

/// LSUV's per-tap scales (issue 13) are where training starts: unit scales change no bit, a
/// scale of 2 on the first layer changes the first step's loss.
#[test]
fn lsuv_scales_set_the_starting_weights() {
    let net = mlp(&[64, 32, 32], true);
    let init = Init::parse_spec("orthogonal", "t").unwrap();
    let c = TrainConfig {
        steps: 2,
        lrs: vec![0.01],
        optimizer: Optimizer::Sgd,
        batch: 16,
        task: Task::Digits,
        eval_every: 1,
    };
    let run = |scales: &[f64]| {
        let spec = TrainSpec {
            seed: 5,
            activation: Activation::Tanh,
            init: &init,
            network: &net,
            trial: 0,
            cfg: &c,
            lsuv_scales: scales,
        };
        train::<f64>(&spec)
    };
    let plain = run(&[]);
    assert_eq!(run(&[1.0, 1.0]), plain);
    let scaled = run(&[2.0, 1.0]);
    assert_ne!(scaled[0].train_loss, plain[0].train_loss);
    assert_ne!(scaled[0].grad_norm_first, plain[0].grad_norm_first);
}
