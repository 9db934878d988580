//! Physics of conv nets and width profiles against their closed forms (He et al. 2015,
//! Sec. 2.2 with n_l = k²c_l forward and n̂_l = k²d_l backward; Xiao et al. 2018), with
//! tolerances from the spread the test itself measures over independent trials:
//!   |mean − prediction| ≤ T_Q·s/√T + (a stated finite-size bias),
//! where s is the sample standard deviation over the T trials and T_Q = 6 bounds Student's t
//! at two-sided p = 1e-4 for 7 or more degrees of freedom (5.41 at 7, 4.73 at 15).

use initlab::aggregate::CellResult;
use initlab::config::Experiment;
use initlab::sweep::run_sweep;

const T_Q: f64 = 6.0;

fn run(text: &str) -> Vec<CellResult> {
    let exp = Experiment::parse(text, "physics_conv.toml", "physics_conv").unwrap();
    run_sweep(&exp, &exp.cells(), false)
}

/// Mean and sample standard deviation.
fn mean_sd(xs: &[f64]) -> (f64, f64) {
    let n = xs.len() as f64;
    let m = xs.iter().sum::<f64>() / n;
    let v = xs.iter().map(|x| (x - m).powi(2)).sum::<f64>() / (n - 1.0);
    (m, v.sqrt())
}

/// PyTorch's default on a conv2d ReLU net: q_{l+1} = (1/3)·½·q_l + 1/(3n) with n = c·k², so
/// Var[y] settles at q* = 2/(5·c·k²) (bias U(±1/√fan_in), weights U(±1/√fan_in)). Circular
/// padding, so every position has all k² taps. Finite-size bias: the pooled variance counts
/// the spread of the c channel biases with divisor c, so it expects (1 − 1/c) of their
/// variance: at most q*/c below q*.
#[test]
fn pytorch_default_conv_settles_at_two_fifths_over_ck2() {
    let (c, k, trials) = (64usize, 3usize, 16usize);
    let text = format!(
        "seed = 11\ntrials = {trials}\nbatch = 16\n[network]\nkind = \"conv2d\"\ndepth = 12\nwidth = {c}\n\
         image = [8, 8]\nkernel = {k}\npadding = \"circular\"\nactivation = \"relu\"\n\
         [[init]]\npreset = \"pytorch_default\"\n"
    );
    let r = &run(&text)[0];
    let q_star = 2.0 / (5.0 * (c * k * k) as f64);
    // Layers 9–12: (1/6)^8 of the start is left, far below the tolerance.
    let per_trial: Vec<f64> = r
        .trials
        .iter()
        .map(|t| t.layers[8..].iter().map(|l| l.preact_var).sum::<f64>() / 4.0)
        .collect();
    let (m, s) = mean_sd(&per_trial);
    let tol = T_Q * s / (trials as f64).sqrt() + q_star / c as f64;
    eprintln!("PyTorch default conv2d: q = {m:.6e} vs 2/(5ck²) = {q_star:.6e} (±{tol:.2e})");
    assert!((m - q_star).abs() <= tol, "{m} vs {q_star} ± {tol}");
    // And the theory column says the same, to the start's remnant (1/6)^11·q_1/q* ≈ 1.3e-6.
    let theory = r
        .theory(&Experiment::parse(&text, "p", "p").unwrap())
        .unwrap();
    assert!((theory[11].preact_var / q_star - 1.0).abs() < 1e-5);
}

/// He et al. 2015, Eq. 14 on a width profile: fan_out init (Var[w] = 2/(k²d_l)) keeps the
/// backward pass at 1 and ends the forward pass at c_2/d_L; fan_in init (2/(k²c_l)) keeps the
/// forward pass at 1 and ends the backward pass at d_L/c_2. Profile 3-32-64-128-64-128:
/// c_2 = 32, d_L = 128. Circular padding, no bias: every ratio is a product of exact factors,
/// and E[q_{l+1} | q_l] = (c_l/d_l)·q_l holds at any width (symmetric weights), so the mean
/// over trials of each trial's ratio is unbiased.
#[test]
fn he_fan_out_ends_the_forward_pass_at_c2_over_dl() {
    let trials = 32;
    let text = format!(
        "seed = 14\ntrials = {trials}\nbatch = 8\n[network]\nkind = \"conv2d\"\n\
         widths = [3, 32, 64, 128, 64, 128]\nimage = [8, 8]\npadding = \"circular\"\nbias = false\n\
         activation = \"relu\"\n\
         [[init]]\nlabel = \"fan_in\"\nweight = {{ scheme = \"kaiming_normal\", nonlinearity = \"relu\" }}\n\
         [[init]]\nlabel = \"fan_out\"\nweight = {{ scheme = \"kaiming_normal\", mode = \"fan_out\", nonlinearity = \"relu\" }}\n"
    );
    let rs = run(&text);
    let (c2, dl) = (32.0, 128.0);
    for r in &rs {
        let fan_out = r.cell.init.label == "fan_out";
        let fwd: Vec<f64> = r
            .trials
            .iter()
            .map(|t| t.layers[4].preact_var / t.layers[0].preact_var)
            .collect();
        let bwd: Vec<f64> = r
            .trials
            .iter()
            .map(|t| t.layers[0].grad_var / t.layers[4].grad_var)
            .collect();
        let (want_f, want_b) = if fan_out {
            (c2 / dl, 1.0)
        } else {
            (1.0, dl / c2)
        };
        for (what, xs, want) in [("forward", &fwd, want_f), ("backward", &bwd, want_b)] {
            let (m, s) = mean_sd(xs);
            let tol = T_Q * s / (trials as f64).sqrt();
            eprintln!(
                "{}: {what} ratio {m:.4} vs {want:.4} (±{tol:.4})",
                r.cell.init.label
            );
            assert!(
                (m - want).abs() <= tol,
                "{} {what}: {m} vs {want} ± {tol}",
                r.cell.init.label
            );
        }
        // The theory columns give the paper's numbers exactly.
        let exp = Experiment::parse(&text, "p", "p").unwrap();
        let s = r.cell_summary(&exp);
        assert!((s.theory_forward_ratio.unwrap() - want_f).abs() < 1e-12);
        assert!((s.theory_backward_ratio.unwrap() - want_b).abs() < 1e-12);
    }
}

/// Delta-orthogonal weights on a linear conv net with square channels: each layer is an
/// orthogonal map at every position (only the centre tap is non-zero), so the mean square of
/// the activations is preserved exactly, layer after layer — with zero padding too, since no
/// tap leaves the image (f64: to rounding).
#[test]
fn delta_orthogonal_linear_conv_preserves_every_layer_exactly() {
    let text = "seed = 2\ntrials = 2\nbatch = 4\ndtype = \"f64\"\n[network]\nkind = \"conv2d\"\n\
                depth = 20\nwidth = 16\nimage = [6, 6]\nbias = false\nactivation = \"linear\"\n\
                [[init]]\nweight = \"delta_orthogonal\"\n";
    let r = &run(text)[0];
    for t in &r.trials {
        let sq = |l: &initlab::sim::LayerStats| l.preact_var + l.preact_mean * l.preact_mean;
        let first = sq(&t.layers[0]);
        for l in &t.layers {
            assert!(
                (sq(l) / first - 1.0).abs() < 1e-12,
                "layer {}: E[y²] {} vs {first}",
                l.layer,
                sq(l)
            );
            assert!((l.act_sq_mean / first - 1.0).abs() < 1e-12);
        }
    }
}

/// Zero padding pulls the pooled variance below the circular (i.i.d.) value: border positions
/// see fewer taps, and the deficit spreads inward by one position per layer. The theory's
/// variance field predicts the ratio zeros/circular at every layer; both paddings share
/// weights and data (common random numbers), so the measured ratio is sharp. Tolerance:
/// T_Q·s/√T over trials, plus 0.01 for the finite-width corrections (O(1/c) per layer, mostly
/// common to both paddings).
#[test]
fn zero_padding_border_deficit_matches_the_variance_field() {
    let trials = 6;
    let text = format!(
        "seed = 21\ntrials = {trials}\nbatch = 8\n[network]\nkind = \"conv2d\"\ndepth = 10\nwidth = 64\n\
         image = [16, 16]\npadding = [\"zeros\", \"circular\"]\nactivation = [\"relu\", \"tanh\"]\n\
         [[init]]\nweight = {{ scheme = \"kaiming_normal\", nonlinearity = \"relu\" }}\n"
    );
    let exp = Experiment::parse(&text, "p", "p").unwrap();
    let rs = run(&text);
    for pair in rs.chunks(2) {
        let (z, c) = (&pair[0], &pair[1]);
        assert!(z.cell.arch.label().contains("zeros") && c.cell.arch.label().contains("circular"));
        let (tz, tc) = (z.theory(&exp).unwrap(), c.theory(&exp).unwrap());
        for l in 0..10 {
            for (what, f, want) in [
                (
                    "forward",
                    (|s: &initlab::sim::LayerStats| s.preact_var) as fn(&_) -> f64,
                    tz[l].preact_var / tc[l].preact_var,
                ),
                (
                    "backward",
                    |s: &initlab::sim::LayerStats| s.grad_var,
                    tz[l].grad_var / tc[l].grad_var,
                ),
            ] {
                let ratios: Vec<f64> = z
                    .trials
                    .iter()
                    .zip(&c.trials)
                    .map(|(a, b)| f(&a.layers[l]) / f(&b.layers[l]))
                    .collect();
                let (m, s) = mean_sd(&ratios);
                let tol = T_Q * s / (trials as f64).sqrt() + 0.01;
                assert!(
                    (m - want).abs() <= tol,
                    "{} layer {} {what}: zeros/circular {m} vs theory {want} ± {tol}",
                    z.cell.activation.label(),
                    l + 1
                );
            }
        }
        // Layer 1 on 16×16 with k = 3: (1 − 2/48)² of the circular value.
        assert!(
            (tz[0].preact_var / tc[0].preact_var - (1.0f64 - 2.0 / 48.0).powi(2)).abs() < 1e-12
        );
    }
}

/// The recursion against the simulation for smooth φ on conv nets, both paddings: tanh with
/// He weights and a N(0, 0.1²) bias at 64 channels. Tolerance per layer l: T_Q·s/√T plus the
/// finite-width bias 3·k/c (k = layers the quantity depends on, as in the MLP theory tests).
#[test]
fn conv_theory_agrees_with_the_simulation() {
    let trials = 6;
    let text = format!(
        "seed = 33\ntrials = {trials}\nbatch = 8\n[network]\nkind = \"conv2d\"\ndepth = 6\nwidth = 64\n\
         image = [12, 12]\npadding = [\"zeros\", \"circular\"]\nactivation = \"tanh\"\n\
         [[init]]\nweight = {{ scheme = \"kaiming_normal\", nonlinearity = \"relu\" }}\n\
         bias = {{ scheme = \"normal\", std = 0.1 }}\n"
    );
    let exp = Experiment::parse(&text, "p", "p").unwrap();
    for r in run(&text) {
        let theory = r.theory(&exp).unwrap();
        let depth = theory.len();
        for (l, p) in theory.iter().enumerate() {
            for (what, k, want, got) in [
                (
                    "forward",
                    l + 1,
                    p.preact_var,
                    r.trials
                        .iter()
                        .map(|t| t.layers[l].preact_var)
                        .collect::<Vec<_>>(),
                ),
                (
                    "backward",
                    2 * depth - l,
                    p.grad_var,
                    r.trials.iter().map(|t| t.layers[l].grad_var).collect(),
                ),
            ] {
                let logs: Vec<f64> = got.iter().map(|g| (g / want).ln()).collect();
                let (m, s) = mean_sd(&logs);
                let tol = T_Q * s / (trials as f64).sqrt() + 3.0 * k as f64 / 64.0;
                assert!(
                    m.abs() <= tol,
                    "{} layer {} {what}: mean ln(measured/theory) {m} ± {tol}",
                    r.cell.arch.label(),
                    l + 1
                );
            }
        }
    }
}
