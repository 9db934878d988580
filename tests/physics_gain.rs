//! Physics of `gain = "preserve"` (issue 17) through `initlab run`: with pre-activations of
//! variance Q = 1 at layer 1, the simulated network keeps q_l = E[y_l²] at Q from layer to
//! layer; started 3% off Q it returns to Q where the fixed point is stable (tanh, sigmoid, ELU)
//! and drifts away at the predicted rate where it is unstable (GELU, SiLU).
//!
//! Nothing here comes from the program's own numbers except the gain under test: the
//! prediction is the mean-field length map q ↦ g²·E[φ(√q·z)²] (He et al. 2015, Eq. 7–10;
//! Poole et al. 2016, Eq. 3) with E computed in this file by composite Simpson, iterated from
//! each trial's measured q_1. The input std is set to √((1 + ε)·Q)/g, so that layer 1 sees
//! q_1 = g²·E[x_0²] = (1 + ε)·Q.
//!
//! Tolerances (per layer l, on the mean over T trials of q_l − prediction_l):
//! - sampling: 5·sd_l/√T with sd_l the measured spread over trials;
//! - finite width: every layer evaluates E[φ²] over rows and units whose variances scatter by a
//!   relative √(2/n) each (row norms ‖x_b‖²/n, weight-row norms ‖w_j‖²), which the curvature of
//!   the map turns into a bias ½·|map″(Q)|·Q²·(2/n + 2/n) per layer (Jensen), plus the same
//!   curvature acting on the between-trial spread sd_k²; each layer's bias is carried on by the
//!   map's slope s per layer. We allow 3× this sum.
//!
//! q_l is the second moment E[y_l²] = preact_var + preact_mean² (the pooled mean of y is
//! O(1/√n) and would otherwise bias a non-zero-mean φ such as sigmoid by −O(1/n)).

use std::collections::HashMap;
use std::path::Path;
use std::process::Command;

const WIDTH: usize = 512;
const BATCH: usize = 128;
const TRIALS: usize = 8;
const DEPTH: usize = 16;
/// "The first layers": where q_l must stay at Q when started there.
const FIRST: usize = 6;
/// The push off Q of the second run: q_1 = (1 + EPS)·Q.
const EPS: f64 = 0.03;

fn initlab(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_initlab"))
        .args(args)
        .output()
        .expect("run initlab");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

fn key_values(text: &str) -> HashMap<String, String> {
    text.lines()
        .filter_map(|l| l.split_once(": "))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// E[f(z)], z ~ N(0, 1), by composite Simpson on [−12, 12], h = 2e-3 (error ≲ 1e-12 here).
fn simpson_normal(f: impl Fn(f64) -> f64) -> f64 {
    let (a, b, n) = (-12.0f64, 12.0f64, 12_000usize);
    let h = (b - a) / n as f64;
    let g = |z: f64| f(z) * (-0.5 * z * z).exp() / (2.0 * std::f64::consts::PI).sqrt();
    let mut s = g(a) + g(b);
    for i in 1..n {
        s += if i % 2 == 1 { 4.0 } else { 2.0 } * g(a + i as f64 * h);
    }
    s * h / 3.0
}

struct Case {
    activation: &'static str,
    /// Expected stability of Q = 1 (from the sign of E[φ²]/q's slope; checked against the CLI).
    stable: bool,
}

/// Per trial, q_l = preact_var + preact_mean², layers 1..=DEPTH.
fn run_trials(act: &str, input_std: f64) -> Vec<Vec<f64>> {
    let dir = tempfile::tempdir().unwrap();
    let exp = format!(
        "name = \"g\"\nseed = 17\ntrials = {TRIALS}\nbatch = {BATCH}\ndtype = \"f64\"\n\
         [input]\nstd = {input_std:e}\n\
         [network]\ndepth = {DEPTH}\nwidth = {WIDTH}\nactivation = \"{act}\"\nbias = false\n\
         [[init]]\nlabel = \"preserve\"\nweight = {{ scheme = \"kaiming_normal\", gain = \"preserve\" }}\n"
    );
    let path = dir.path().join("g.toml");
    std::fs::write(&path, exp).unwrap();
    let out = dir.path().join("out");
    let (code, _, err) = initlab(&[
        "run",
        path.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--no-plot",
        "--quiet",
    ]);
    assert_eq!(code, 0, "{err}");
    read_q(&out.join("layers.csv"))
}

fn read_q(path: &Path) -> Vec<Vec<f64>> {
    let mut r = csv::Reader::from_path(path).unwrap();
    let h: Vec<String> = r.headers().unwrap().iter().map(String::from).collect();
    let col = |name: &str| h.iter().position(|c| c == name).unwrap();
    let (ct, cl, cm, cv) = (
        col("trial"),
        col("layer"),
        col("preact_mean"),
        col("preact_var"),
    );
    let mut q = vec![vec![f64::NAN; DEPTH]; TRIALS];
    for rec in r.records() {
        let rec = rec.unwrap();
        let t: usize = rec[ct].parse().unwrap();
        let l: usize = rec[cl].parse().unwrap();
        let m: f64 = rec[cm].parse().unwrap();
        let v: f64 = rec[cv].parse().unwrap();
        q[t][l - 1] = v + m * m;
    }
    q
}

fn mean_sd(xs: &[f64]) -> (f64, f64) {
    let n = xs.len() as f64;
    let m = xs.iter().sum::<f64>() / n;
    let v = xs.iter().map(|x| (x - m).powi(2)).sum::<f64>() / (n - 1.0);
    (m, v.sqrt())
}

#[test]
fn preserve_keeps_q_at_the_first_layers_and_unstable_points_drift_at_the_map_slope() {
    let cases = [
        Case {
            activation: "tanh",
            stable: true,
        },
        Case {
            activation: "sigmoid",
            stable: true,
        },
        Case {
            activation: "elu",
            stable: true,
        },
        Case {
            activation: "gelu",
            stable: false,
        },
        Case {
            activation: "silu",
            stable: false,
        },
    ];
    let q0 = 1.0; // the Q of gain = "preserve" in a run
    for case in cases {
        let act = initlab::activation::Activation::parse(case.activation, "test").unwrap();
        let (code, out, err) = initlab(&["gain", "--activation", case.activation]);
        assert_eq!(code, 0, "{err}");
        let kv = key_values(&out);
        let g: f64 = kv["preserve_gain"].parse().unwrap();
        let s_cli: f64 = kv["q_slope"].parse().unwrap();
        // The map, independently: m(q) = E[φ(√q·z)²] by Simpson.
        let m = |q: f64| simpson_normal(|z| act.f(q.sqrt() * z).powi(2));
        let map = |q: f64| g * g * m(q);
        assert!(
            (map(q0) / q0 - 1.0).abs() < 1e-9,
            "{}: g = {g} does not fix Q: map(Q) = {}",
            case.activation,
            map(q0)
        );
        let h = 1e-3;
        let s = (map(q0 + h) - map(q0 - h)) / (2.0 * h);
        let curv = (map(q0 + h) - 2.0 * map(q0) + map(q0 - h)) / (h * h);
        assert!(
            (s - s_cli).abs() < 1e-5,
            "{}: slope {s} vs CLI {s_cli}",
            case.activation
        );
        assert_eq!(s < 1.0, case.stable, "{}: slope {s}", case.activation);
        assert_eq!(kv["stable"], if case.stable { "yes" } else { "no" });

        let mut runs = Vec::new();
        for eps in [0.0, EPS] {
            let trials = run_trials(case.activation, ((1.0 + eps) * q0).sqrt() / g);
            // Prediction per trial from its own q_1.
            let preds: Vec<Vec<f64>> = trials
                .iter()
                .map(|q| {
                    let mut p = vec![q[0]];
                    for l in 1..DEPTH {
                        let next = map(p[l - 1]);
                        p.push(next);
                    }
                    p
                })
                .collect();
            let mut allowance = 0.0;
            let mut report = Vec::new();
            for l in 1..DEPTH {
                let qs: Vec<f64> = trials.iter().map(|q| q[l]).collect();
                let diffs: Vec<f64> = trials
                    .iter()
                    .zip(&preds)
                    .map(|(q, p)| q[l] - p[l])
                    .collect();
                let (_, sd_prev) = mean_sd(&trials.iter().map(|q| q[l - 1]).collect::<Vec<_>>());
                // Finite-width (Jensen) bias entering at this layer, carried on by the slope.
                let width_var = 4.0 * q0 * q0 / WIDTH as f64 + sd_prev * sd_prev;
                allowance = allowance * s.abs() + 0.5 * curv.abs() * width_var;
                let (d, sd) = mean_sd(&diffs);
                let tol = 5.0 * sd / (TRIALS as f64).sqrt() + 3.0 * allowance;
                let (mq, _) = mean_sd(&qs);
                report.push(format!("l{}: q {mq:.4} Δ {d:+.2e} ± {tol:.1e}", l + 1));
                assert!(
                    d.abs() <= tol,
                    "{} ε = {eps}, layer {}: mean q {mq} is {d:+e} off the map's prediction (tolerance {tol:e})\n{}",
                    case.activation,
                    l + 1,
                    report.join("\n")
                );
                if eps == 0.0 && l < FIRST {
                    // Started at Q: q_l itself stays at Q, within its own spread and the bias.
                    let (_, sdq) = mean_sd(&qs);
                    let tol_q = 5.0 * sdq / (TRIALS as f64).sqrt() + 3.0 * allowance;
                    assert!(
                        (mq - q0).abs() <= tol_q,
                        "{} layer {}: q = {mq}, not Q = {q0} (tolerance {tol_q:e})",
                        case.activation,
                        l + 1
                    );
                }
            }
            eprintln!(
                "{} ε = {eps} (slope {s:.3}): {}",
                case.activation,
                report.join(", ")
            );
            runs.push((trials, preds));
        }
        // How fast a deviation moves: the two runs share every weight and the input up to its
        // scale (common random numbers), so per trial d_l = q_l(ε) − q_l(0) is the network's
        // response to a 3% push, with most of the sampling noise cancelled. Predicted: the same
        // difference of the map iterated from each run's own q_1.
        let (on, off) = (&runs[1], &runs[0]);
        let resp = |l: usize| -> (Vec<f64>, Vec<f64>) {
            (0..TRIALS)
                .map(|t| (on.0[t][l] - off.0[t][l], on.1[t][l] - off.1[t][l]))
                .unzip()
        };
        let (d1, _) = resp(0);
        let (d1, _) = mean_sd(&d1);
        for l in 1..DEPTH {
            let (d, p) = resp(l);
            let gap: Vec<f64> = d.iter().zip(&p).map(|(a, b)| a - b).collect();
            let (gm, gsd) = mean_sd(&gap);
            let (dm, _) = mean_sd(&d);
            let (pm, _) = mean_sd(&p);
            // Sampling, plus the map's curvature acting on the push itself at finite width:
            // the push changes each layer's Jensen bias by |map‴|-order terms; bounded by the
            // curvature times the push times the within-trial relative scatter 2/√n.
            let tol = 5.0 * gsd / (TRIALS as f64).sqrt()
                + 3.0 * curv.abs() * pm.abs() * 2.0 / (WIDTH as f64).sqrt();
            assert!(
                gm.abs() <= tol,
                "{} layer {}: response to the push {dm:e}, map predicts {pm:e} (gap {gm:e}, tolerance {tol:e})",
                case.activation,
                l + 1
            );
        }
        let (dl, _) = resp(DEPTH - 1);
        let (dl, _) = mean_sd(&dl);
        eprintln!(
            "{}: a push of {d1:.4} at layer 1 is {dl:.4} at layer {DEPTH} (linearised map: {:.4})",
            case.activation,
            d1 * s.powi(DEPTH as i32 - 1)
        );
        if case.stable {
            // Back towards Q: the push has shrunk.
            assert!(dl.abs() < 0.5 * d1, "{}: {d1} → {dl}", case.activation);
        } else {
            // Away from Q: it has grown, at least as s^{l−1} of the linearised map would.
            assert!(
                dl > 0.9 * d1 * s.powi(DEPTH as i32 - 1) && dl > 2.0 * d1,
                "{}: {d1} → {dl}",
                case.activation
            );
        }
    }
}
