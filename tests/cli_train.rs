//! `[train]` end to end (issue 14): train.csv and cells.csv's `diverged_runs`, byte-identical
//! for any thread count, through resume and through shards + merge; an experiment without
//! `[train]` writes no train.csv and no extra column; bad `[train]` input exits 2 naming the
//! file, the key and the choices, and writes nothing.

mod common;

use common::{initlab, ok, same_files};
use std::fs;
use std::path::Path;

/// Two inits × two depths × 2 trials × 2 learning rates (one far too large: it diverges).
const EXP: &str = r#"
name = "tr"
seed = 4
trials = 2
batch = 16
[network]
depth = [3, 6]
width = 64
activation = "relu"
[[init]]
weight = { scheme = "kaiming_normal", nonlinearity = "relu" }
[[init]]
preset = "pytorch_default"
[train]
steps = 30
lr = [0.05, 1000.0]
optimizer = "sgd"
batch = 32
task = "digits"
eval_every = 10
"#;

fn same(a: &Path, b: &Path) {
    same_files(a, b, FILES)
}

const FILES: &[&str] = &["experiment.toml", "layers.csv", "cells.csv", "train.csv"];

#[test]
fn train_csv_is_deterministic_resumable_and_shardable() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    fs::write(d.join("tr.toml"), EXP).unwrap();
    for t in ["1", "2"] {
        ok(&initlab(
            &[
                "run",
                "tr.toml",
                "--out",
                &format!("t{t}"),
                "--threads",
                t,
                "--no-plot",
                "--quiet",
            ],
            d,
        ));
    }
    same(&d.join("t1"), &d.join("t2"));
    let train = fs::read_to_string(d.join("t1/train.csv")).unwrap();
    let header = train.lines().next().unwrap();
    assert!(header.starts_with(
        "experiment,network,activation,init,depth,width,batch,trial,lr,step,train_loss,test_loss,test_accuracy,grad_norm_first,grad_norm_last"
    ), "{header}");
    // 4 cells × 2 trials × (lr 0.05: steps 0, 10, 20, 30) + the diverged runs' rows.
    let rows: Vec<Vec<&str>> = train
        .lines()
        .skip(1)
        .map(|l| l.split(',').collect())
        .collect();
    let good = rows.iter().filter(|r| r[8] == "0.05").count();
    assert_eq!(good, 4 * 2 * 4);
    let cells = fs::read_to_string(d.join("t1/cells.csv")).unwrap();
    assert!(cells.lines().next().unwrap().ends_with(",diverged_runs"));
    // Each He cell's lr 1000 run stops at a non-finite loss, counted in diverged_runs.
    for line in cells.lines().skip(1).filter(|l| l.contains("kaiming")) {
        let n: usize = line.rsplit(',').next().unwrap().parse().unwrap();
        assert!(n >= 1, "{line}");
    }
    let diverged = rows
        .iter()
        .filter(|r| r[10] == "NaN" || r[10] == "inf" || r[11] == "NaN" || r[11] == "inf")
        .count();
    assert!(diverged >= 2, "{train}");

    // Resume: delete two cells' parts and the final files, run again with --resume.
    let parts: Vec<_> = fs::read_dir(d.join("t1/.parts")).unwrap().collect();
    for p in parts.iter().take(2) {
        fs::remove_file(p.as_ref().unwrap().path()).unwrap();
    }
    fs::remove_file(d.join("t1/train.csv")).unwrap();
    ok(&initlab(
        &[
            "run",
            "tr.toml",
            "--out",
            "t1",
            "--resume",
            "--no-plot",
            "--quiet",
        ],
        d,
    ));
    same(&d.join("t1"), &d.join("t2"));

    // Shards and merge.
    for s in ["1/2", "2/2"] {
        let out = format!("s{}", &s[..1]);
        ok(&initlab(
            &[
                "run",
                "tr.toml",
                "--out",
                &out,
                "--shard",
                s,
                "--no-plot",
                "--quiet",
            ],
            d,
        ));
    }
    ok(&initlab(
        &["merge", "s1", "s2", "--out", "m", "--no-plot"],
        d,
    ));
    same(&d.join("m"), &d.join("t2"));

    // Charts from the CSVs: a sweep over σ_w² (He 2, PyTorch default 1/3) and depth gets the
    // trainability heatmap; one depth gets the loss curves.
    ok(&initlab(&["plot", "t2"], d));
    assert!(d.join("t2/plots/trainability.png").exists());
    assert!(!d.join("t2/plots/train_curves.png").exists());
    ok(&initlab(&["report", "t2"], d));
    let report = fs::read_to_string(d.join("t2/report.html")).unwrap();
    assert!(report.contains("id=\"trainability\"") && report.contains("6·ξ_c"));
    fs::write(
        d.join("one.toml"),
        EXP.replace("depth = [3, 6]", "depth = 3"),
    )
    .unwrap();
    ok(&initlab(&["run", "one.toml", "--out", "one", "--quiet"], d));
    assert!(d.join("one/plots/train_curves.png").exists());
    assert!(!d.join("one/plots/trainability.png").exists());
    let report = fs::read_to_string(d.join("one/report.html")).unwrap();
    assert!(report.contains("id=\"train_curves\""));

    // Without [train]: no train.csv, no diverged_runs column.
    let plain = EXP.split("[train]").next().unwrap();
    fs::write(d.join("plain.toml"), plain).unwrap();
    ok(&initlab(
        &["run", "plain.toml", "--out", "p", "--no-plot", "--quiet"],
        d,
    ));
    assert!(!d.join("p/train.csv").exists());
    let cells = fs::read_to_string(d.join("p/cells.csv")).unwrap();
    let header = cells.lines().next().unwrap();
    assert!(
        header.ends_with(",theory_jac_sq_sv_nvar") && !header.contains("diverged_runs"),
        "{header}"
    );
}

#[test]
fn bad_train_input_exits_2_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    for (from, to, key, want) in [
        ("steps = 30", "steps = 0", "train.steps", "positive"),
        ("steps = 30", "steps = -2", "train.steps", "positive"),
        ("lr = [0.05, 1000.0]", "lr = 0.0", "train.lr", "> 0"),
        ("lr = [0.05, 1000.0]", "lr = -0.1", "train.lr", "> 0"),
        (
            "lr = [0.05, 1000.0]",
            "lr = [0.1, nan]",
            "train.lr[1]",
            "> 0",
        ),
        (
            "optimizer = \"sgd\"",
            "optimizer = \"rmsprop\"",
            "train.optimizer",
            "sgd, momentum, adam",
        ),
        (
            "task = \"digits\"",
            "task = \"mnist\"",
            "train.task",
            "digits, mixture, teacher",
        ),
        ("width = 64", "width = 100", "train.task", "64 inputs"),
        (
            "eval_every = 10",
            "eval_every = 31",
            "train.eval_every",
            "train.steps = 30",
        ),
        (
            "batch = 32",
            "batch = 32\nepochs = 3",
            "epochs",
            "unknown field",
        ),
    ] {
        let text = EXP.replacen(from, to, 1);
        assert_ne!(text, EXP, "{from}");
        fs::write(d.join("bad.toml"), &text).unwrap();
        let o = initlab(&["run", "bad.toml", "--out", "out"], d);
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{to}: {err}");
        assert!(
            err.contains("bad.toml") && err.contains(key) && err.contains(want),
            "{to}: {err}"
        );
        assert!(!d.join("out").exists(), "{to}: something was written");
    }
}

/// `[train]` with an LSUV init (issues 13 × 14): training starts from the weights LSUV
/// rescaled, which the variance simulation measured — not from the base draw.
#[test]
fn lsuv_cells_train_from_their_rescaled_weights() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let text = r#"
name = "lt"
trials = 1
batch = 32
[network]
depth = 6
width = 64
activation = "tanh"
[[init]]
label = "lsuv"
weight = { scheme = "lsuv", base = "orthogonal" }
[train]
steps = 4
lr = 0.01
batch = 32
task = "digits"
eval_every = 2
"#;
    fs::write(d.join("lt.toml"), text).unwrap();
    ok(&initlab(
        &["run", "lt.toml", "--out", "a", "--no-plot", "--quiet"],
        d,
    ));
    // LSUV rescaled some layer, so the same run on the base alone must start elsewhere.
    let lsuv = fs::read_to_string(d.join("a/lsuv.csv")).unwrap();
    assert!(
        lsuv.lines()
            .skip(1)
            .any(|l| l.split(',').nth(10) != Some("1")),
        "{lsuv}"
    );
    let base = text.replace(
        r#"weight = { scheme = "lsuv", base = "orthogonal" }"#,
        r#"weight = { scheme = "orthogonal" }"#,
    );
    fs::write(d.join("base.toml"), base).unwrap();
    ok(&initlab(
        &["run", "base.toml", "--out", "b", "--no-plot", "--quiet"],
        d,
    ));
    let first = |dir: &str| {
        let t = fs::read_to_string(d.join(dir).join("train.csv")).unwrap();
        let row: Vec<String> = t
            .lines()
            .nth(1)
            .unwrap()
            .split(',')
            .map(String::from)
            .collect();
        row[13].parse::<f64>().unwrap() // grad_norm_first at step 0
    };
    let (a, b) = (first("a"), first("b"));
    assert!(
        a.is_finite() && b.is_finite() && (a / b - 1.0).abs() > 1e-3,
        "{a} vs {b}"
    );
}
