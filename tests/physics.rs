//! Physics of the simulator against He et al. 2015 (Sec. 2.2): the ReLU net's variance
//! recursion Var[y_{l+1}] = n·Var[w]·½Var[y_l] + Var[b] (forward, Eq. 7–10) and
//! Var[δ_l] = n·Var[w]·½·Var[δ_{l+1}] (backward, Eq. 11–14), at width 512, batch 256.
//!
//! The ratio last/first is measured per trial and averaged over trials (the `forward_ratio` of
//! cells.csv), then compared in log2. Under He init E[q_{l+1} | q_l] = q_l exactly (symmetric
//! weights make y symmetric, so E[x²] = q/2), so the mean ratio is unbiased — unlike the mean of
//! log-ratios, which drifts by −Var[ln]/2 per layer at finite width.
//!
//! Tolerances, from measured spreads: at n = 512 one layer's ln-variance step has sd ≈ 0.09
//! (32 trials, f32 and f64 alike), so one trial's log2 ratio over 29 layers spreads by ≈ 0.74,
//! and by ≈ 0.74/√2 ≈ 0.52 at n = 1024. A ratio 2^X with sd(X) = 0.52 has a relative sd of
//! ≈ 0.37, so the mean of 32 trials is within ≈ 0.095 in log2 (1 sd): the ±0.3 bound on He is
//! over 3 standard errors. The Xavier check (±0.5 around −29) runs at n = 512 with 16 trials:
//! sd ≈ 0.2 in log2, 2.5 standard errors, and a 1% error in Var[w] would already move it by 0.4.

use initlab::aggregate::CellResult;
use initlab::config::Experiment;
use initlab::sweep::run_sweep;

fn run(init_block: &str, bias: bool, trials: usize) -> Vec<CellResult> {
    run_at(init_block, bias, trials, 512, 256)
}

fn run_at(
    init_block: &str,
    bias: bool,
    trials: usize,
    width: usize,
    batch: usize,
) -> Vec<CellResult> {
    let text = format!(
        "seed = 7\ntrials = {trials}\nbatch = {batch}\n[network]\ndepth = 30\nwidth = {width}\nactivation = \"relu\"\nbias = {bias}\n{init_block}"
    );
    let exp = Experiment::parse(&text, "physics.toml", "physics").unwrap();
    run_sweep(&exp, &exp.cells(), false)
}

fn mean(xs: impl Iterator<Item = f64>) -> f64 {
    let v: Vec<f64> = xs.collect();
    v.iter().sum::<f64>() / v.len() as f64
}

/// log2 of the mean over trials of q[last]/q[first] (backward: q[first]/q[last]).
fn log2_ratio(r: &CellResult, f: fn(&initlab::sim::LayerStats) -> f64, backward: bool) -> f64 {
    mean(r.trials.iter().map(|t| {
        let (first, last) = (f(&t.layers[0]), f(&t.layers[t.layers.len() - 1]));
        if backward {
            first / last
        } else {
            last / first
        }
    }))
    .log2()
}

#[test]
fn relu_he_keeps_variance_xavier_halves_it() {
    let he = run_at(
        r#"
[[init]]
label = "He"
weight = { scheme = "kaiming_normal", nonlinearity = "relu" }
[[init]]
label = "He fan_out"
weight = { scheme = "kaiming_normal", mode = "fan_out", nonlinearity = "relu" }
"#,
        false,
        32,
        1024,
        128,
    );
    let he_fwd = log2_ratio(&he[0], |s| s.preact_var, false);
    assert!(he_fwd.abs() < 0.3, "He forward log2(last/first) = {he_fwd}");
    let he_bwd = log2_ratio(&he[1], |s| s.grad_var, true);
    assert!(he_bwd.abs() < 0.3, "He fan_out backward log2 = {he_bwd}");
    let results = run(
        "[[init]]\nlabel = \"Xavier\"\nweight = { scheme = \"xavier_normal\" }\n",
        false,
        16,
    );
    // Xavier on a square ReLU net: Var[w] = 1/n, so each layer multiplies by ½: 29 halvings.
    let xf = log2_ratio(&results[0], |s| s.preact_var, false);
    assert!(
        (xf + 29.0).abs() < 0.5,
        "Xavier forward log2 = {xf}, want −29 ± 0.5"
    );
    let xb = log2_ratio(&results[0], |s| s.grad_var, true);
    assert!(
        (xb + 29.0).abs() < 0.5,
        "Xavier backward log2 = {xb}, want −29 ± 0.5"
    );
    // E[x²] = ½Var[y] for a symmetric zero-mean y (He et al. Eq. 8): act_sq_mean/preact_var ≈ ½.
    let half = mean(
        results[0]
            .trials
            .iter()
            .flat_map(|t| t.layers.iter().map(|s| s.act_sq_mean / s.preact_var)),
    );
    assert!((half - 0.5).abs() < 0.01, "E[x²]/Var[y] = {half}");
}

#[test]
fn pytorch_default_loses_five_sixths_per_layer_until_the_bias_floor() {
    let n = 512.0;
    let results = run("[[init]]\npreset = \"pytorch_default\"\n", true, 8);
    let r = &results[0];
    // Backward has no bias term: Var[δ_l]/Var[δ_{l+1}] = n·1/(3n)·½ = 1/6 per layer.
    let bwd = log2_ratio(r, |s| s.grad_var, true);
    let want = 29.0 * (1.0f64 / 6.0).log2();
    assert!(
        (bwd - want).abs() < 0.5,
        "backward log2 = {bwd}, want {want}"
    );
    // Forward: q_{l+1} = q_l/6 + 1/(3n); layer 1 sees E[x0²] = 1: q_1 = 1/3 + 1/(3n).
    let mut q = 1.0 / 3.0 + 1.0 / (3.0 * n);
    for layer in 1..=4 {
        let measured = mean(r.trials.iter().map(|t| t.layers[layer - 1].preact_var));
        // Relative sampling error of a pooled variance over trials is a few percent here.
        assert!(
            (measured / q - 1.0).abs() < 0.1,
            "layer {layer}: {measured} vs recursion {q}"
        );
        q = q / 6.0 + 1.0 / (3.0 * n);
    }
    // The floor q* = (1/(3n))/(1 − 1/6) = 2/(5n).
    let floor = 2.0 / (5.0 * n);
    let last = mean(r.trials.iter().map(|t| t.layers[29].preact_var));
    assert!(
        (last / floor - 1.0).abs() < 0.15,
        "floor {last} vs 2/(5n) = {floor}"
    );
}
