//! Summaries that stay honest when trials spread over decades: cells.csv's log10 columns and
//! range-exit counts recomputed from layers.csv, the run's warning on f32 underflow, and
//! `compare`'s table and notes on a wide-spread case and an underflowing case.

mod common;

use common::{initlab, num as f, write, Row};
use std::collections::HashMap;
use std::fs;
use std::path::Path;

fn read_csv(path: &Path) -> Vec<Row> {
    common::read_csv(path).1
}

fn key(r: &Row) -> String {
    format!(
        "{}|{}|{}|{}",
        r["activation"], r["init"], r["depth"], r["widths"]
    )
}

/// One trial of a cell, recomputed from layers.csv.
struct Trial {
    forward: f64,
    backward: f64,
    /// Some preact_var at or below the floor (entries subnormal or zero).
    forward_under: bool,
    /// The forward pass underflowed, or some grad_var did.
    backward_under: bool,
    /// Some layer met inf/NaN.
    over: bool,
}

impl Trial {
    /// Underflowed in either pass and did not overflow.
    fn under(&self) -> bool {
        !self.over && self.backward_under
    }
}

/// Per cell, the trials in order, recomputed from layers.csv.
fn trial_ratios(layers: &[Row], floor: f64) -> HashMap<String, Vec<Trial>> {
    let mut by: HashMap<(String, usize), Vec<&Row>> = HashMap::new();
    for r in layers {
        by.entry((key(r), r["trial"].parse().unwrap()))
            .or_default()
            .push(r);
    }
    let mut out: HashMap<String, Vec<(usize, Trial)>> = HashMap::new();
    for ((k, t), mut rows) in by {
        rows.sort_by_key(|r| r["layer"].parse::<usize>().unwrap());
        let (first, last) = (rows[0], rows[rows.len() - 1]);
        let over = rows.iter().any(|r| {
            r["nonfinite"] != "0"
                || !f(r, "preact_var").is_finite()
                || !f(r, "grad_var").is_finite()
        });
        let forward_under = rows.iter().any(|r| f(r, "preact_var") <= floor);
        let backward_under = forward_under || rows.iter().any(|r| f(r, "grad_var") <= floor);
        out.entry(k).or_default().push((
            t,
            Trial {
                forward: f(last, "preact_var") / f(first, "preact_var"),
                backward: f(first, "grad_var") / f(last, "grad_var"),
                forward_under,
                backward_under,
                over,
            },
        ));
    }
    out.into_iter()
        .map(|(k, mut v)| {
            v.sort_by_key(|x| x.0);
            (k, v.into_iter().map(|x| x.1).collect())
        })
        .collect()
}

/// (mean, sample std, min, max) of log10 of the ratios, or None if one has no logarithm.
fn log_stats(ratios: &[f64]) -> Option<(f64, f64, f64, f64)> {
    if ratios.iter().any(|r| !(*r > 0.0 && r.is_finite())) {
        return None;
    }
    let l: Vec<f64> = ratios.iter().map(|r| r.log10()).collect();
    let n = l.len() as f64;
    let mean = l.iter().sum::<f64>() / n;
    let std = (l.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0)).sqrt();
    let min = l.iter().cloned().fold(f64::INFINITY, f64::min);
    let max = l.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
    Some((mean, std, min, max))
}

/// Every cells.csv row's log10 columns and range-exit counts equal what layers.csv gives.
fn check_cells_against_layers(res: &Path, floor: f64) -> Vec<Row> {
    let layers = read_csv(&res.join("layers.csv"));
    let cells = read_csv(&res.join("cells.csv"));
    let per = trial_ratios(&layers, floor);
    for c in &cells {
        let trials = &per[&key(c)];
        assert_eq!(trials.len(), c["trials"].parse::<usize>().unwrap());
        for (dir, pick) in [("forward", 0usize), ("backward", 1usize)] {
            // A ratio of an underflowed pass is no measurement: no logarithm is averaged.
            let ratios: Vec<f64> = trials
                .iter()
                .map(|t| match (pick, t.forward_under, t.backward_under) {
                    (0, false, _) => t.forward,
                    (1, _, false) => t.backward,
                    _ => f64::NAN,
                })
                .collect();
            let col = |s: &str| format!("log10_{dir}_ratio_{s}");
            match log_stats(&ratios) {
                Some((mean, std, min, max)) => {
                    assert!((f(c, &col("mean")) - mean).abs() <= 1e-12 * mean.abs().max(1.0));
                    assert!(
                        (f(c, &col("std")) - std).abs() <= 1e-9 * std.max(1.0),
                        "{c:?}"
                    );
                    assert!((f(c, &col("min")) - min).abs() <= 1e-12 * min.abs().max(1.0));
                    assert!((f(c, &col("max")) - max).abs() <= 1e-12 * max.abs().max(1.0));
                    // The geometric mean never exceeds the arithmetic one (AM-GM).
                    let arith = f(c, &format!("{dir}_ratio"));
                    assert!(10f64.powf(mean) <= arith * (1.0 + 1e-9), "{c:?}");
                }
                None => {
                    for s in ["mean", "std", "min", "max"] {
                        assert_eq!(c[&col(s)], "", "{} of {c:?}", col(s));
                    }
                }
            }
        }
        let under = trials.iter().filter(|t| t.under()).count();
        let over = trials.iter().filter(|t| t.over).count();
        assert_eq!(c["underflow_trials"], under.to_string(), "{c:?}");
        assert_eq!(c["overflow_trials"], over.to_string(), "{c:?}");
    }
    cells
}

const F32_FLOOR: f64 = (f32::MIN_POSITIVE as f64) * (f32::MIN_POSITIVE as f64);

#[test]
fn log10_columns_equal_the_values_recomputed_from_layers() {
    let dir = tempfile::tempdir().unwrap();
    let text = r#"
name = "spread"
seed = 16
trials = 5
batch = 16
[network]
depth = [3, 30]
width = 16
activation = ["relu", "gelu"]
[[init]]
label = "He"
weight = { scheme = "kaiming_normal", nonlinearity = "relu" }
[[init]]
preset = "pytorch_default"
"#;
    let e = write(dir.path(), "spread.toml", text);
    let o = initlab(
        &["run", e.to_str().unwrap(), "--no-plot", "--quiet"],
        dir.path(),
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let cells = check_cells_against_layers(&dir.path().join("results/spread"), F32_FLOOR);
    assert_eq!(cells.len(), 8);
    // Width 16 at depth 30 (β ≈ 1.9): He-ReLU trials spread over more than a decade, which is
    // why the arithmetic mean misleads.
    let he = cells
        .iter()
        .find(|c| c["activation"] == "relu" && c["init"] == "He" && c["depth"] == "30")
        .unwrap();
    let spread = f(he, "log10_forward_ratio_max") - f(he, "log10_forward_ratio_min");
    assert!(spread > 1.0, "{he:?}");
}

#[test]
fn f32_underflow_is_counted_named_and_sent_to_f64() {
    let dir = tempfile::tempdir().unwrap();
    // PyTorch's default keeps 1/6 of the gradient variance per ReLU layer: 100 layers take the
    // backward pass to ~1e-78, below f32's smallest subnormal.
    let text = |dtype: &str| {
        format!(
            "name = \"under\"\nseed = 3\ntrials = 3\nbatch = 16\ndtype = \"{dtype}\"\n[network]\ndepth = [10, 100]\nwidth = 64\nactivation = \"relu\"\n[[init]]\npreset = \"pytorch_default\"\n"
        )
    };
    let e = write(dir.path(), "under.toml", &text("f32"));
    let o = initlab(&["run", e.to_str().unwrap(), "--no-plot"], dir.path());
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{stderr}");
    let cells = check_cells_against_layers(&dir.path().join("results/under"), F32_FLOOR);
    let deep = cells.iter().find(|c| c["depth"] == "100").unwrap();
    let shallow = cells.iter().find(|c| c["depth"] == "10").unwrap();
    assert_eq!(deep["underflow_trials"], "3", "{deep:?}");
    assert_eq!(deep["log10_backward_ratio_mean"], "", "{deep:?}");
    assert_eq!(shallow["underflow_trials"], "0");
    assert!(
        stderr.contains("1 of 2 cells collapsed")
            && stderr.contains("relu/pytorch_default/depth=100")
            && stderr.contains("underflow in 3/3 trials")
            && stderr.contains("dtype = \"f64\""),
        "{stderr}"
    );
    assert!(!stderr.contains("depth=10/"), "{stderr}");

    // In f64 the same cell is a measurement, and it lands on the theory.
    let e = write(dir.path(), "under64.toml", &text("f64"));
    let out64 = dir.path().join("f64");
    let o = initlab(
        &[
            "run",
            e.to_str().unwrap(),
            "--no-plot",
            "--out",
            out64.to_str().unwrap(),
        ],
        dir.path(),
    );
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(
        o.status.success() && !stderr.contains("collapsed"),
        "{stderr}"
    );
    let cells = check_cells_against_layers(&out64, 0.0);
    let deep = cells.iter().find(|c| c["depth"] == "100").unwrap();
    assert_eq!(deep["underflow_trials"], "0");
    let measured = f(deep, "log10_backward_ratio_mean");
    let theory = f(deep, "theory_backward_ratio").log10();
    assert!(theory < -60.0, "{deep:?}");
    // Width 64: the log spread across trials is a few tenths of a decade per 100 layers.
    assert!((measured - theory).abs() < 2.0, "{measured} vs {theory}");
}

#[test]
fn overflow_trials_are_counted() {
    let dir = tempfile::tempdir().unwrap();
    let text = "name = \"boom\"\ntrials = 2\nbatch = 8\n[network]\ndepth = 40\nwidth = 64\nactivation = \"relu\"\n[[init]]\nweight = { scheme = \"normal\", std = 3.0 }\n";
    let e = write(dir.path(), "boom.toml", text);
    let o = initlab(
        &["run", e.to_str().unwrap(), "--no-plot", "--quiet"],
        dir.path(),
    );
    assert!(o.status.success());
    let cells = check_cells_against_layers(&dir.path().join("results/boom"), F32_FLOOR);
    assert_eq!(cells[0]["overflow_trials"], "2");
    assert_eq!(cells[0]["log10_forward_ratio_mean"], "");
}

/// The compare table prints mean ± std and the range of log10 over trials, never a number for
/// a cell whose values left the dtype; its notes fire exactly where the CSV says they should.
#[test]
fn compare_table_and_notes_on_wide_spread_and_underflow() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("cmp");
    let o = initlab(
        &[
            "compare",
            "--activation",
            "gelu",
            "--init",
            "kaiming_normal",
            "--init",
            "pytorch_default",
            "--depth",
            "10,50,100",
            "--width",
            "128",
            "--batch",
            "32",
            "--trials",
            "4",
            "--out",
            out.to_str().unwrap(),
            "--quiet",
            "--format",
            "svg",
        ],
        dir.path(),
    );
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(
        o.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let cells = check_cells_against_layers(&out, F32_FLOOR);
    let lines: Vec<&str> = stdout.lines().collect();
    let table_line = |init: &str, depth: &str| {
        lines
            .iter()
            .find(|l| {
                let w: Vec<&str> = l.split_whitespace().collect();
                w.len() > 3 && w[0] == "gelu" && w[1] == init && w[2] == depth
            })
            .unwrap_or_else(|| panic!("no row {init} {depth}:\n{stdout}"))
            .to_string()
    };
    let mut spread_notes = 0;
    for c in &cells {
        let line = table_line(&c["init"], &c["depth"]);
        for dir in ["forward", "backward"] {
            let col = |s: &str| format!("log10_{dir}_ratio_{s}");
            if c[&col("mean")].is_empty() {
                assert!(line.contains("out of range"), "{line}");
                continue;
            }
            let (mean, std, min, max) = (
                f(c, &col("mean")),
                f(c, &col("std")),
                f(c, &col("min")),
                f(c, &col("max")),
            );
            assert!(line.contains(&format!("{mean:+.2} ± {std:.2}")), "{line}");
            assert_eq!(
                line.contains(&format!("{min:+.2}..{max:+.2}")),
                max - min > 1.0,
                "{line}"
            );
            // The spread note: a gap of at least half a decade that the trials' range covers.
            let theory = f(c, &format!("theory_{dir}_ratio")).log10();
            let gap = (mean - theory).abs();
            let noted = stdout.contains(&format!(
                "gelu/{} depth {}, {dir}: the 4 trials spread",
                c["init"], c["depth"]
            ));
            assert_eq!(noted, gap >= 0.5 && max - min >= gap, "{c:?}\n{stdout}");
            spread_notes += noted as usize;
        }
    }
    // Width 128 at depth 50 and 100 under GELU + He: the trials do spread wider than the gap.
    assert!(spread_notes > 0, "{stdout}");
    // β = L/n above 0.1 at depths 50 and 100, not at 10.
    assert!(
        stdout.contains("width 128 is small for depth 50, 100 (β = Σ 1/n_l = L/n = 0.39, 0.78)"),
        "{stdout}"
    );
    // PyTorch's default at depth 100 underflows f32 on the backward pass: named, sent to f64.
    let deep = cells
        .iter()
        .find(|c| c["init"] == "pytorch_default" && c["depth"] == "100")
        .unwrap();
    assert_eq!(deep["underflow_trials"], "4");
    assert!(
        stdout.contains("1 cell(s) left the f32 range: gelu/pytorch_default depth 100 (underflow in 4/4 trials)")
            && stdout.contains("rerun with --dtype f64"),
        "{stdout}"
    );
    assert!(
        !stdout.contains("-inf") && !stdout.contains("NaN"),
        "{stdout}"
    );
}

/// The across-depth chart puts depths spanning 20× or more on a log axis, labelled with the
/// depths themselves, and keeps a linear axis otherwise.
#[test]
fn across_depth_axis_goes_log_for_wide_depth_ranges() {
    let dir = tempfile::tempdir().unwrap();
    for (name, depths, log) in [("wide", "[1, 3, 30]", true), ("narrow", "[10, 30]", false)] {
        let text = format!(
            "name = \"{name}\"\ntrials = 2\nbatch = 8\n[network]\ndepth = {depths}\nwidth = 8\nactivation = \"relu\"\n[[init]]\nweight = {{ scheme = \"kaiming_normal\", nonlinearity = \"relu\" }}\n"
        );
        let e = write(dir.path(), &format!("{name}.toml"), &text);
        let o = initlab(&["run", e.to_str().unwrap(), "--quiet"], dir.path());
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        let svg = fs::read_to_string(
            dir.path()
                .join(format!("results/{name}/plots/across_depth.svg")),
        )
        .unwrap();
        assert_eq!(svg.contains("depth L (layers, log scale)"), log, "{name}");
        assert!(svg.contains("depth L (layers"), "{name}");
        // Tick labels are the swept depths either way.
        assert!(svg.contains(">\n30\n</text>"), "{name}");
    }
}
