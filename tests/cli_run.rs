//! `initlab run` end to end: output files and columns, determinism across thread counts and
//! sweeps, the resolved experiment reproducing the run, and every kind of bad input.

mod common;

use common::{initlab, num as f, read_csv, write};
use std::collections::HashMap;
use std::fs;

const TINY: &str = r#"
name = "tiny"
description = "tiny golden run"
seed = 42
trials = 3
batch = 5
[network]
depth = [2, 3]
width = [4, 6]
activation = ["relu", "tanh"]
[[init]]
label = "He"
weight = { scheme = "kaiming_normal", nonlinearity = "relu" }
[[init]]
preset = "pytorch_default"
"#;

#[test]
fn golden_tiny_run() {
    let dir = tempfile::tempdir().unwrap();
    let exp = write(dir.path(), "tiny.toml", TINY);
    let out = initlab(
        &["run", exp.to_str().unwrap(), "--no-plot", "--quiet"],
        dir.path(),
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.stderr.is_empty(),
        "--quiet printed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let res = dir.path().join("results/tiny");
    for f in [
        "experiment.toml",
        "manifest.json",
        "layers.csv",
        "summary.csv",
        "cells.csv",
    ] {
        assert!(res.join(f).is_file(), "{f} missing");
    }
    assert!(!res.join("hist.csv").exists());

    let (lh, layers) = read_csv(&res.join("layers.csv"));
    assert_eq!(
        lh.join(","),
        "experiment,network,activation,init,depth,width,batch,trial,layer,fan_in,fan_out,preact_mean,preact_var,act_mean,act_sq_mean,grad_var,weight_grad_var,nonfinite,widths"
    );
    // 2 activations × 2 inits × 2 widths × (2 + 3 layers) × 3 trials.
    assert_eq!(layers.len(), 2 * 2 * 2 * 5 * 3);
    let (sh, summary) = read_csv(&res.join("summary.csv"));
    assert_eq!(sh.len(), 9 + 16 + 2 + 1);
    assert_eq!(
        sh[9..13].join(","),
        "preact_var_mean,preact_var_std,preact_var_min,preact_var_max"
    );
    assert_eq!(
        sh[25..].join(","),
        "theory_preact_var,theory_grad_var,widths"
    );
    assert_eq!(summary.len(), 2 * 2 * 2 * 5);
    let (ch, cells) = read_csv(&res.join("cells.csv"));
    assert_eq!(
        ch[..13].join(","),
        "experiment,network,activation,init,depth,width,batch,trials,forward_ratio,backward_ratio,theory_forward_ratio,theory_backward_ratio,nonfinite_layers"
    );
    assert_eq!(cells.len(), 16);
    // `widths` (issue 11) then the log10 spreads and range exits (issue 16), in that order.
    assert_eq!(ch[14], "widths");
    assert_eq!(
        ch[15..25].join(","),
        "log10_forward_ratio_mean,log10_forward_ratio_std,log10_forward_ratio_min,log10_forward_ratio_max,\
         log10_backward_ratio_mean,log10_backward_ratio_std,log10_backward_ratio_min,log10_backward_ratio_max,\
         underflow_trials,overflow_trials"
    );
    // Every row's profile is its constant width repeated depth + 1 times.
    for r in layers.iter().chain(&summary).chain(&cells) {
        let depth: usize = r["depth"].parse().unwrap();
        assert_eq!(r["widths"], vec![r["width"].as_str(); depth + 1].join("-"));
        assert_eq!(r["network"], "mlp");
    }

    // Summary and cells agree with layers.csv, recomputed here.
    let key = |r: &HashMap<String, String>| {
        format!(
            "{}|{}|{}|{}",
            r["activation"], r["init"], r["depth"], r["width"]
        )
    };
    let mut by_cell_layer: HashMap<(String, String), Vec<&HashMap<String, String>>> =
        HashMap::new();
    for r in &layers {
        assert_eq!(r["experiment"], "tiny");
        assert_eq!(f(r, "fan_in"), f(r, "width"));
        assert!(
            f(r, "preact_var") > 0.0 && f(r, "grad_var") > 0.0 && f(r, "weight_grad_var") > 0.0
        );
        assert!(f(r, "act_sq_mean") >= f(r, "act_mean").powi(2) * (1.0 - 1e-12));
        by_cell_layer
            .entry((key(r), r["layer"].clone()))
            .or_default()
            .push(r);
    }
    for s in &summary {
        let rows = &by_cell_layer[&(key(s), s["layer"].clone())];
        assert_eq!(rows.len(), 3);
        let v: Vec<f64> = rows.iter().map(|r| f(r, "preact_var")).collect();
        let mean = v.iter().sum::<f64>() / 3.0;
        let std = (v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / 2.0).sqrt();
        assert!((f(s, "preact_var_mean") - mean).abs() <= 1e-12 * mean);
        assert!((f(s, "preact_var_std") - std).abs() <= 1e-9 * std.max(1e-300));
        assert_eq!(
            f(s, "preact_var_min"),
            v.iter().cloned().fold(f64::INFINITY, f64::min)
        );
        assert_eq!(
            f(s, "preact_var_max"),
            v.iter().cloned().fold(f64::NEG_INFINITY, f64::max)
        );
    }
    for c in &cells {
        let depth = c["depth"].clone();
        let first = &by_cell_layer[&(key(c), "1".to_string())];
        let last = &by_cell_layer[&(key(c), depth)];
        let fr: f64 = (0..3)
            .map(|t| f(last[t], "preact_var") / f(first[t], "preact_var"))
            .sum::<f64>()
            / 3.0;
        let br: f64 = (0..3)
            .map(|t| f(first[t], "grad_var") / f(last[t], "grad_var"))
            .sum::<f64>()
            / 3.0;
        assert!((f(c, "forward_ratio") / fr - 1.0).abs() < 1e-12);
        assert!((f(c, "backward_ratio") / br - 1.0).abs() < 1e-12);
        assert_eq!(c["nonfinite_layers"], "0");
    }

    // Common random numbers: layer 1's pre-activations do not depend on the activation, and a
    // depth-2 net's first layer equals the depth-3 net's first layer.
    let pick = |act: &str, depth: &str| {
        layers
            .iter()
            .find(|r| {
                r["activation"] == act
                    && r["init"] == "He"
                    && r["depth"] == depth
                    && r["width"] == "4"
                    && r["layer"] == "1"
                    && r["trial"] == "1"
            })
            .unwrap()["preact_var"]
            .clone()
    };
    assert_eq!(pick("relu", "2"), pick("tanh", "2"));
    assert_eq!(pick("relu", "2"), pick("relu", "3"));

    // The resolved experiment.toml reproduces the run byte for byte.
    let again = dir.path().join("again");
    let out = initlab(
        &[
            "run",
            res.join("experiment.toml").to_str().unwrap(),
            "--out",
            again.to_str().unwrap(),
            "--no-plot",
            "--quiet",
        ],
        dir.path(),
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for f in ["layers.csv", "summary.csv", "cells.csv", "experiment.toml"] {
        assert_eq!(
            fs::read(res.join(f)).unwrap(),
            fs::read(again.join(f)).unwrap(),
            "{f} differs on rerun"
        );
    }
    let manifest: serde_json::Value =
        serde_json::from_slice(&fs::read(res.join("manifest.json")).unwrap()).unwrap();
    assert_eq!(manifest["cells_done"], 16);
    assert_eq!(manifest["seed"], 42);
}

#[test]
fn identical_bytes_for_any_thread_count() {
    let dir = tempfile::tempdir().unwrap();
    let exp = write(dir.path(), "tiny.toml", TINY);
    for t in ["1", "2", "3"] {
        let out = dir.path().join(format!("t{t}"));
        let o = initlab(
            &[
                "run",
                exp.to_str().unwrap(),
                "--threads",
                t,
                "--out",
                out.to_str().unwrap(),
                "--no-plot",
                "--quiet",
            ],
            dir.path(),
        );
        assert!(o.status.success());
    }
    for f in ["layers.csv", "summary.csv", "cells.csv", "experiment.toml"] {
        let one = fs::read(dir.path().join("t1").join(f)).unwrap();
        assert_eq!(
            one,
            fs::read(dir.path().join("t2").join(f)).unwrap(),
            "{f}: 1 vs 2 threads"
        );
        assert_eq!(
            one,
            fs::read(dir.path().join("t3").join(f)).unwrap(),
            "{f}: 1 vs 3 threads"
        );
    }
}

#[test]
fn a_cell_does_not_depend_on_the_rest_of_the_sweep() {
    let dir = tempfile::tempdir().unwrap();
    let small = TINY
        .replace("depth = [2, 3]", "depth = 3")
        .replace("width = [4, 6]", "width = 6")
        .replace("[\"relu\", \"tanh\"]", "\"tanh\"")
        .replace("[[init]]\npreset = \"pytorch_default\"\n", "");
    let a = write(dir.path(), "a.toml", &small);
    let b = write(
        dir.path(),
        "b.toml",
        &TINY
            .replace("[2, 3]", "[3, 2, 7]")
            .replace("[4, 6]", "[6, 9]"),
    );
    for (e, o) in [(&a, "oa"), (&b, "ob")] {
        let out = dir.path().join(o);
        let r = initlab(
            &[
                "run",
                e.to_str().unwrap(),
                "--out",
                out.to_str().unwrap(),
                "--no-plot",
                "--quiet",
            ],
            dir.path(),
        );
        assert!(r.status.success(), "{}", String::from_utf8_lossy(&r.stderr));
    }
    let rows = |o: &str| -> Vec<String> {
        fs::read_to_string(dir.path().join(o).join("layers.csv"))
            .unwrap()
            .lines()
            .filter(|l| l.starts_with("tiny,mlp,tanh,He,3,6,"))
            .map(String::from)
            .collect()
    };
    let (ra, rb) = (rows("oa"), rows("ob"));
    assert_eq!(ra.len(), 9);
    assert_eq!(ra, rb);
}

#[test]
fn overflow_is_counted_and_reported_not_fatal() {
    let dir = tempfile::tempdir().unwrap();
    let text = "name = \"boom\"\ntrials = 2\nbatch = 8\n[network]\ndepth = 40\nwidth = 64\nactivation = \"relu\"\n[[init]]\nweight = { scheme = \"normal\", std = 3.0 }\n";
    let e = write(dir.path(), "boom.toml", text);
    let o = initlab(&["run", e.to_str().unwrap(), "--no-plot"], dir.path());
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{stderr}");
    assert!(
        stderr.contains("1 of 1 cells collapsed") && stderr.contains("relu/normal(std=3)/depth=40"),
        "{stderr}"
    );
    let cells = fs::read_to_string(dir.path().join("results/boom/cells.csv")).unwrap();
    let last: Vec<&str> = cells.lines().nth(1).unwrap().split(',').collect();
    assert_ne!(last[12], "0", "nonfinite_layers: {cells}");
    let layers = fs::read_to_string(dir.path().join("results/boom/layers.csv")).unwrap();
    assert!(layers
        .lines()
        .any(|l| l.contains("inf") || l.contains("NaN")));
}

/// Every bad input: exit 2, one clear message naming the file and key, no panic, no folder.
#[test]
fn bad_input_exits_2_with_a_clear_message_and_writes_nothing() {
    let base = "trials = 1\nbatch = 4\n[network]\ndepth = 2\nwidth = 4\nactivation = \"relu\"\n[[init]]\nweight = { scheme = \"kaiming_normal\" }\n";
    let cases: Vec<(&str, String, &[&str])> = vec![
        (
            "malformed",
            "trials = [\n".to_string(),
            &["bad.toml", "line"],
        ),
        (
            "unknown top key",
            format!("trails = 3\n{base}"),
            &["unknown field `trails`", "trials"],
        ),
        (
            "unknown network key",
            base.replace("width = 4", "width = 4\nwidht = 5"),
            &["unknown field `widht`"],
        ),
        (
            "unknown weight key",
            base.replace("\"kaiming_normal\" }", "\"kaiming_normal\", gian = 2 }"),
            &[
                "init[1].weight",
                "unknown key 'gian'",
                "valid keys: a, mode, nonlinearity",
            ],
        ),
        (
            "unknown init key",
            base.replace("[[init]]\n", "[[init]]\nlable = \"x\"\n"),
            &["init[1]", "unknown key 'lable'"],
        ),
        (
            "unknown input key",
            format!("{base}[input]\nsdt = 1\n"),
            &["unknown field `sdt`"],
        ),
        (
            "wrong type",
            base.replace("depth = 2", "depth = \"ten\""),
            &["network.depth", "expected a positive integer"],
        ),
        (
            "unknown activation",
            base.replace("\"relu\"", "\"rleu\""),
            &["network.activation", "did you mean 'relu'", "valid:"],
        ),
        (
            "unknown scheme",
            base.replace("kaiming_normal", "kaiming_normel"),
            &["did you mean 'kaiming_normal'"],
        ),
        (
            "unknown nonlinearity",
            base.replace(
                "\"kaiming_normal\" }",
                "\"kaiming_normal\", nonlinearity = \"relu6\" }",
            ),
            &["nonlinearity", "valid: linear"],
        ),
        (
            "unknown mode",
            base.replace(
                "\"kaiming_normal\" }",
                "\"kaiming_normal\", mode = \"fan_avg\" }",
            ),
            &["mode", "valid: fan_in, fan_out"],
        ),
        (
            "unknown dtype",
            format!("dtype = \"f16\"\n{base}"),
            &["dtype", "valid: f32, f64"],
        ),
        (
            "unknown kind",
            base.replace("[network]\n", "[network]\nkind = \"cnn\"\n"),
            &["network.kind", "valid: mlp"],
        ),
        (
            "zero depth",
            base.replace("depth = 2", "depth = 0"),
            &["network.depth", "positive integer, found 0"],
        ),
        (
            "negative width",
            base.replace("width = 4", "width = -4"),
            &["network.width", "found -4"],
        ),
        (
            "zero batch",
            base.replace("batch = 4", "batch = 0"),
            &["batch"],
        ),
        (
            "zero trials",
            base.replace("trials = 1", "trials = 0"),
            &["trials"],
        ),
        (
            "negative std",
            base.replace(
                "{ scheme = \"kaiming_normal\" }",
                "{ scheme = \"normal\", std = -0.1 }",
            ),
            &["init[1].weight", "std >= 0"],
        ),
        (
            "nan std",
            format!("{base}[input]\nstd = nan\n"),
            &["input.std", "NaN"],
        ),
        (
            "nan param",
            base.replace(
                "{ scheme = \"kaiming_normal\" }",
                "{ scheme = \"normal\", std = nan }",
            ),
            &["std", "finite"],
        ),
        (
            "uniform a > b",
            base.replace(
                "{ scheme = \"kaiming_normal\" }",
                "{ scheme = \"uniform\", a = 1, b = 0 }",
            ),
            &["a <= b"],
        ),
        (
            "empty depth",
            base.replace("depth = 2", "depth = []"),
            &["network.depth", "empty list"],
        ),
        (
            "empty activation",
            base.replace("activation = \"relu\"", "activation = []"),
            &["network.activation", "empty list"],
        ),
        (
            "no init",
            base.split("[[init]]").next().unwrap().to_string(),
            &["no [[init]]"],
        ),
        (
            "duplicate labels",
            format!("{base}[[init]]\nweight = {{ scheme = \"kaiming_normal\" }}\n"),
            &["duplicate init label 'kaiming_normal'"],
        ),
        (
            "too much memory",
            base.replace("width = 4", "width = 200000")
                .replace("depth = 2", "depth = 5000"),
            &["needs about", "GiB", "available"],
        ),
    ];
    let dir = tempfile::tempdir().unwrap();
    for (name, text, needles) in &cases {
        let e = write(dir.path(), "bad.toml", text);
        let o = initlab(&["run", e.to_str().unwrap(), "--no-plot"], dir.path());
        let stderr = String::from_utf8_lossy(&o.stderr);
        assert_eq!(
            o.status.code(),
            Some(2),
            "{name}: exit {:?}, stderr {stderr}",
            o.status.code()
        );
        assert!(stderr.starts_with("error: "), "{name}: {stderr}");
        assert!(
            stderr.contains("bad.toml"),
            "{name}: message does not name the file: {stderr}"
        );
        for n in *needles {
            assert!(stderr.contains(n), "{name}: missing '{n}' in: {stderr}");
        }
        assert!(!stderr.contains("panicked"), "{name}: {stderr}");
        assert_eq!(
            stderr.trim_end().lines().count(),
            1,
            "{name}: not one line: {stderr}"
        );
        assert!(
            !dir.path().join("results").exists(),
            "{name}: created a results folder"
        );
    }
    // A missing file, a directory, and bad flags.
    for (args, needle) in [
        (vec!["run", "nope.toml"], "nope.toml: cannot read"),
        (vec!["run", "."], "is a directory"),
        (vec!["run", "bad.toml", "--threads", "0"], "--threads"),
        (vec!["run"], "EXPERIMENT.toml"),
        (vec!["frobnicate"], "unrecognized subcommand"),
    ] {
        let o = initlab(&args, dir.path());
        let stderr = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains(needle), "{args:?}: {stderr}");
        assert!(!dir.path().join("results").exists());
    }
}
