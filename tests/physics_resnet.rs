//! Physics of residual networks at initialization, on the second moment E[x²] of the residual
//! stream (blocks.csv: channel squared mean + channel variance), against the recipes' closed
//! forms and the theory columns (De & Smith 2020; Zhang et al. 2019; Brock et al. 2021):
//! unnormalized He doubles per block, a BatchNorm branch adds 1, NF-ResNet (α = 0.2) adds
//! α² = 0.04 and resets to 1 + α² at a transition, Fixup and SkipInit stay exactly at the stem.
//!
//! Tolerances: T_Q·s/√T over T independent trials (s their sample std; T_Q = 6 bounds Student's
//! t at two-sided p = 1e-4 for 7 or more degrees of freedom), plus a stated finite-size bias.

use initlab::aggregate::CellResult;
use initlab::config::Experiment;
use initlab::sim::BlockStats;
use initlab::sweep::run_sweep;

const T_Q: f64 = 6.0;

fn mean_sd(xs: &[f64]) -> (f64, f64) {
    let n = xs.len() as f64;
    let m = xs.iter().sum::<f64>() / n;
    let v = xs.iter().map(|x| (x - m).powi(2)).sum::<f64>() / (n - 1.0);
    (m, v.sqrt())
}

fn sq(b: &BlockStats) -> f64 {
    b.avg_channel_sq_mean + b.avg_channel_var
}

const TRIALS: usize = 8;

fn run(network: &str) -> (Experiment, Vec<CellResult>) {
    let text = format!(
        "seed = 12\ntrials = {TRIALS}\nbatch = 128\n[network]\nkind = \"resnet\"\n{network}\nactivation = \"relu\"\nbias = false\n\
         [[init]]\nlabel = \"He\"\nweight = {{ scheme = \"kaiming_normal\", nonlinearity = \"relu\" }}\n\
         [[init]]\nlabel = \"BN\"\nweight = {{ scheme = \"kaiming_normal\", nonlinearity = \"relu\" }}\nnorm = \"batchnorm\"\n\
         [[init]]\npreset = \"nf_resnet\"\n[[init]]\npreset = \"skipinit\"\n[[init]]\npreset = \"fixup\"\n"
    );
    let exp = Experiment::parse(&text, "physics_resnet.toml", "physics_resnet").unwrap();
    let results = run_sweep(&exp, &exp.cells(), false);
    (exp, results)
}

/// Per block b ≥ 1, the per-trial statistic `f(trial blocks, b)`, against `want(b)`.
fn check(
    r: &CellResult,
    what: &str,
    bias: f64,
    f: impl Fn(&[BlockStats], usize) -> f64,
    want: impl Fn(usize) -> f64,
) {
    let blocks = r.trials[0].blocks.len();
    for b in 1..blocks {
        let xs: Vec<f64> = r.trials.iter().map(|t| f(&t.blocks, b)).collect();
        let (m, s) = mean_sd(&xs);
        let tol = T_Q * s / (TRIALS as f64).sqrt() + bias;
        assert!(
            (m - want(b)).abs() <= tol,
            "{} block {b}: {what} {m} vs {} ± {tol}",
            r.cell.init.label,
            want(b)
        );
    }
}

/// Dense blocks of width 256, 8 blocks, one stage.
#[test]
fn each_recipe_follows_its_second_moment_law() {
    let (exp, rs) = run("blocks = 8\nwidth = 256");
    for r in &rs {
        let stem = |t: &[BlockStats]| sq(&t[0]);
        match r.cell.init.label.as_str() {
            // E[x_{b+1}²] = 2·E[x_b²]: the ratio, unbiased per block (symmetric weights).
            "He" => check(
                r,
                "E[x²] ratio",
                0.0,
                |t, b| sq(&t[b]) / sq(&t[b - 1]),
                |_| 2.0,
            ),
            // + 1 per block; finite batch: BN's output variance is 1 − ε/σ², O(1/n) noise.
            "BN" => check(
                r,
                "E[x²] increment",
                0.02,
                |t, b| sq(&t[b]) - sq(&t[b - 1]),
                |_| 1.0,
            ),
            // + α² = 0.04 per block (the branch has unit variance exactly per row of Ŵ).
            "nf_resnet" => check(
                r,
                "E[x²] increment",
                0.002,
                |t, b| sq(&t[b]) - sq(&t[b - 1]),
                |_| 0.04,
            ),
            // f_b = 0 exactly: every block's stream is the stem's, bit for bit.
            "skipinit" | "fixup" => {
                for t in &r.trials {
                    for b in &t.blocks {
                        assert_eq!(
                            sq(b),
                            stem(&t.blocks),
                            "{} block {}",
                            r.cell.init.label,
                            b.block
                        );
                    }
                }
            }
            other => panic!("unexpected init {other}"),
        }
        // The theory columns: E[x²] per block against the mean over trials.
        for row in r.block_summary_rows(&exp) {
            let th = row.theory_second_moment.expect("a theory for every recipe");
            let s = row.second_moment.std;
            let tol = T_Q * s / (TRIALS as f64).sqrt() + 0.02 * th;
            assert!(
                (row.second_moment.mean - th).abs() <= tol,
                "{} block {}: E[x²] {} vs theory {th} ± {tol}",
                r.cell.init.label,
                row.block,
                row.second_moment.mean
            );
        }
    }
}

/// NF-ResNet with two stages (64 → 128 channels-worth of width): the transition block's
/// projection reads x/β, so the stream restarts at 1 + α² = 1.04 and grows by 0.04 again; a
/// BatchNorm branch splits its 1 per block into 1/π of squared channel mean and 1 − 1/π of
/// channel variance (ReLU), as the theory's split says.
#[test]
fn nf_resets_at_transitions_and_bn_splits_by_one_over_pi() {
    let (exp, rs) = run("blocks = 8\nstages = [128, 256]");
    let nf = rs
        .iter()
        .find(|r| r.cell.init.label == "nf_resnet")
        .unwrap();
    // Block 5 is the first of stage 2 (blocks 1–4 in stage 1).
    let after: Vec<f64> = nf.trials.iter().map(|t| sq(&t.blocks[5])).collect();
    let (m, s) = mean_sd(&after);
    let tol = T_Q * s / (TRIALS as f64).sqrt() + 0.01;
    assert!(
        (m - 1.04).abs() <= tol,
        "after the transition: {m} vs 1.04 ± {tol}"
    );
    check(
        nf,
        "E[x²] within stage 2",
        0.002,
        |t, b| {
            if b > 5 {
                sq(&t[b]) - sq(&t[b - 1])
            } else {
                0.04
            }
        },
        |_| 0.04,
    );
    let bn = rs.iter().find(|r| r.cell.init.label == "BN").unwrap();
    let pi = std::f64::consts::PI;
    for b in [2usize, 3, 4] {
        let d_sq: Vec<f64> = bn
            .trials
            .iter()
            .map(|t| t.blocks[b].avg_channel_sq_mean - t.blocks[b - 1].avg_channel_sq_mean)
            .collect();
        let d_var: Vec<f64> = bn
            .trials
            .iter()
            .map(|t| t.blocks[b].avg_channel_var - t.blocks[b - 1].avg_channel_var)
            .collect();
        for (what, xs, want) in [
            ("squared mean", &d_sq, 1.0 / pi),
            ("variance", &d_var, 1.0 - 1.0 / pi),
        ] {
            let (m, s) = mean_sd(xs);
            let tol = T_Q * s / (TRIALS as f64).sqrt() + 0.03;
            assert!(
                (m - want).abs() <= tol,
                "BN block {b}: channel {what} +{m} vs {want} ± {tol}"
            );
        }
    }
    let rows = bn.block_summary_rows(&exp);
    let th =
        rows[3].theory_avg_channel_sq_mean.unwrap() - rows[2].theory_avg_channel_sq_mean.unwrap();
    assert!((th - 1.0 / pi).abs() < 1e-9, "theory split {th}");
}
