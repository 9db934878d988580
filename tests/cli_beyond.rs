//! Issue 13 end to end: `lsuv.csv`, `spectrum.csv` and the new `cells.csv` columns through
//! `run`, `--threads`, `--resume`, `--shard` + `merge` and `plot`; bad input exits 2 naming the
//! file and key and writes nothing; `weights` refuses LSUV.

mod common;

use common::{initlab, ok, same_files};
use std::fs;
use std::path::Path;

const EXP: &str = r#"
name = "beyond"
seed = 4
trials = 3
batch = 16
dtype = "f64"
[network]
depth = [3, 5]
width = 24
activation = ["relu", "tanh"]
bias = false
[[init]]
label = "LSUV"
weight = { scheme = "lsuv", base = "orthogonal", tol = 0.05 }
[[init]]
label = "He"
weight = { scheme = "kaiming_normal", nonlinearity = "relu" }
[spectrum]
inputs = 3
saved_inputs = 2
"#;

fn same(a: &Path, b: &Path) {
    same_files(a, b, FILES)
}

const FILES: &[&str] = &[
    "cells.csv",
    "layers.csv",
    "summary.csv",
    "lsuv.csv",
    "spectrum.csv",
    "spectrum_theory.csv",
    "experiment.toml",
];

#[test]
fn files_threads_resume_shards_and_plot() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    fs::write(d.join("beyond.toml"), EXP).unwrap();
    let run = |out: &str, extra: &[&str]| {
        let mut args = vec!["run", "beyond.toml", "--out", out, "--quiet"];
        args.extend(extra);
        initlab(&args, d)
    };
    ok(&run("a", &["--threads", "1"]));
    ok(&run("b", &["--threads", "3", "--no-plot"]));
    same(&d.join("a"), &d.join("b"));
    // Columns at the end of cells.csv; LSUV rows for the LSUV cells only; spectra of 2 inputs.
    let cells = fs::read_to_string(d.join("a/cells.csv")).unwrap();
    let header = cells.lines().next().unwrap();
    assert!(
        header.ends_with("beta,log_q_ratio_mean,log_q_ratio_var,q_ratio_rel_var,theory_log_q_ratio_mean,theory_log_q_ratio_var,theory_q_ratio_rel_var,lsuv_max_iterations,lsuv_unconverged_layers,jac_sq_sv_mean,jac_sq_sv_var,theory_jac_sq_sv_mean,theory_jac_sq_sv_var,jac_sq_sv_nvar,theory_jac_sq_sv_nvar"),
        "{header}"
    );
    let lsuv = fs::read_to_string(d.join("a/lsuv.csv")).unwrap();
    assert_eq!(lsuv.lines().count(), 1 + 2 * 3 * (3 + 5));
    assert!(lsuv.lines().skip(1).all(|l| l.contains(",LSUV,")));
    let spectrum = fs::read_to_string(d.join("a/spectrum.csv")).unwrap();
    assert_eq!(spectrum.lines().count(), 1 + 8 * 3 * 2 * 24);
    // Free-probability densities for the closed-form laws only (ReLU here, not tanh or LSUV).
    let theory = fs::read_to_string(d.join("a/spectrum_theory.csv")).unwrap();
    assert!(theory.lines().count() > 1);
    assert!(
        theory.lines().skip(1).all(|l| l.contains(",relu,He,")),
        "{theory}"
    );
    assert!(d.join("a/plots/jacobian_spectrum.svg").exists());
    // Resume reuses every cell and writes the same bytes.
    ok(&run("b", &["--resume", "--no-plot"]));
    same(&d.join("a"), &d.join("b"));
    // Shards and merge.
    for i in 1..=2 {
        ok(&run(
            &format!("s{i}"),
            &["--shard", &format!("{i}/2"), "--no-plot"],
        ));
    }
    ok(&initlab(&["merge", "s1", "s2", "--out", "m"], d));
    same(&d.join("a"), &d.join("m"));
    // Plot from the CSVs alone; the moment panels survive without spectrum.csv. Three trials
    // are too few for the fluctuation chart.
    fs::remove_dir_all(d.join("a/plots")).unwrap();
    ok(&initlab(&["plot", "a"], d));
    assert!(d.join("a/plots/jacobian_spectrum.png").exists());
    assert!(!d.join("a/plots/fluctuations.svg").exists());
    let with = fs::read_to_string(d.join("a/plots/jacobian_spectrum.svg")).unwrap();
    fs::remove_file(d.join("a/spectrum.csv")).unwrap();
    ok(&initlab(&["plot", "a", "--format", "svg"], d));
    let without = fs::read_to_string(d.join("a/plots/jacobian_spectrum.svg")).unwrap();
    assert!(with.contains("density of log10") && !without.contains("density of log10"));
    assert!(without.contains("by depth"));
}

/// The fluctuation chart appears for cells the law applies to with at least 32 trials.
#[test]
fn fluctuation_chart_needs_32_trials() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let exp = "trials = 32\nbatch = 2\n[network]\ndepth = [2, 4]\nwidth = 8\nactivation = \"relu\"\nbias = false\n[[init]]\nweight = { scheme = \"kaiming_normal\", nonlinearity = \"relu\" }\n";
    fs::write(d.join("f.toml"), exp).unwrap();
    ok(&initlab(&["run", "f.toml", "--out", "f", "--quiet"], d));
    let svg = fs::read_to_string(d.join("f/plots/fluctuations.svg")).unwrap();
    assert!(svg.contains("Var[ln"), "no fluctuation panel");
    let report = fs::read_to_string(d.join("f/report.html")).unwrap();
    assert!(report.contains("id=\"fluctuations\""));
}

#[test]
fn bad_input_exits_2_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    for (edit, want) in [
        (("width = 24", "width = 4096"), "limit 2048"),
        (("inputs = 3", "inputs = 0"), "spectrum.inputs"),
        (("inputs = 3", "inputs = 40"), "batch = 16"),
        (
            ("saved_inputs = 2", "saved_inputs = 5"),
            "spectrum.saved_inputs",
        ),
        (("tol = 0.05", "tol = -1"), "init[1].weight.tol"),
        (("tol = 0.05", "max_iters = 0"), "init[1].weight.max_iters"),
        (
            ("inputs = 3", "inputs = 3\nbins = 4"),
            "unknown field `bins`",
        ),
    ] {
        fs::write(d.join("bad.toml"), EXP.replace(edit.0, edit.1)).unwrap();
        let o = initlab(&["run", "bad.toml", "--out", "out", "--quiet"], d);
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{edit:?}: {err}");
        assert!(
            err.contains("bad.toml") && err.contains(want),
            "{edit:?}: {err}"
        );
        assert!(!d.join("out").exists(), "{edit:?} wrote output");
    }
    let o = initlab(&["weights", "--init", "lsuv", "--shape", "4,4"], d);
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("needs a network"), "{err}");
    let o = initlab(
        &[
            "weights",
            "--init",
            "scheme = \"lsuv\", base = \"orthogonal\"",
            "--shape",
            "4,4",
        ],
        d,
    );
    assert_eq!(o.status.code(), Some(2));
}
