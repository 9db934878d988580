//! `initlab plot`, `report` and `compare` end to end: charts regenerated from a folder that
//! holds nothing but the CSVs, the report as one self-contained page, bad CSVs as exit 2 naming
//! the file and line, and a small `compare` sweep.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const BIN: &str = env!("CARGO_BIN_EXE_initlab");

const TINY: &str = r#"
name = "tiny"
description = "Tiny sweep for the plot tests"
seed = 5
trials = 2
batch = 8
[network]
depth = [2, 4]
width = 8
activation = ["relu", "tanh"]
[[init]]
label = "He normal"
weight = { scheme = "kaiming_normal", nonlinearity = "relu" }
[[init]]
label = "PyTorch default"
preset = "pytorch_default"
[histograms]
layers = [1, 2]
bins = 12
"#;

const CSVS: &[&str] = &["layers.csv", "summary.csv", "cells.csv", "hist.csv"];
const FIGURES: &[&str] = &[
    "forward_preact_var",
    "forward_act_sq_mean",
    "backward_grad_var",
    "backward_weight_grad_var",
    "across_depth",
    "hist_act",
    "hist_grad",
];

fn initlab(args: &[&str], cwd: &Path) -> Output {
    Command::new(BIN)
        .args(args)
        .current_dir(cwd)
        .output()
        .expect("run initlab")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn ok(out: &Output) {
    assert!(
        out.status.success(),
        "status {:?}\nstdout:\n{}\nstderr:\n{}",
        out.status,
        text(&out.stdout),
        text(&out.stderr)
    );
}

/// Run the tiny experiment with --no-plot and copy only its CSVs into a fresh folder.
fn csv_only_results(tmp: &Path) -> PathBuf {
    let exp = tmp.join("tiny.toml");
    std::fs::write(&exp, TINY).unwrap();
    let run_dir = tmp.join("run");
    let out = initlab(
        &[
            "run",
            exp.to_str().unwrap(),
            "--out",
            run_dir.to_str().unwrap(),
            "--no-plot",
            "--quiet",
        ],
        tmp,
    );
    ok(&out);
    assert!(!run_dir.join("plots").exists(), "--no-plot must not draw");
    assert!(
        !run_dir.join("report.html").exists(),
        "--no-plot must not write the report"
    );
    let copy = tmp.join("copy");
    std::fs::create_dir_all(&copy).unwrap();
    for f in CSVS {
        std::fs::copy(run_dir.join(f), copy.join(f)).unwrap();
    }
    copy
}

#[test]
fn plot_regenerates_every_chart_from_the_csvs_alone() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = csv_only_results(tmp.path());
    let out = initlab(&["plot", dir.to_str().unwrap()], tmp.path());
    ok(&out);
    for name in FIGURES {
        let png = std::fs::read(dir.join("plots").join(format!("{name}.png"))).unwrap();
        assert!(
            png.starts_with(b"\x89PNG\r\n\x1a\n"),
            "{name}.png is not a PNG"
        );
        assert!(png.len() > 10_000, "{name}.png is only {} bytes", png.len());
        let svg = std::fs::read_to_string(dir.join("plots").join(format!("{name}.svg"))).unwrap();
        assert!(
            svg.contains("<svg") && svg.len() > 5_000,
            "{name}.svg looks empty"
        );
        assert!(svg.contains("<text"), "{name}.svg has no text elements");
    }
    let svg = |name: &str| {
        std::fs::read_to_string(dir.join("plots").join(format!("{name}.svg"))).unwrap()
    };
    // Axis labels and legend entries are real text.
    let fwd = svg("forward_preact_var");
    for needle in [
        "layer l",
        "Var[y_l] (log scale)",
        "He normal",
        "PyTorch default",
        "min–max over 2 trials",
        "relu",
        "tanh",
    ] {
        assert!(
            fwd.contains(needle),
            "forward_preact_var.svg lacks '{needle}'"
        );
    }
    assert!(fwd.contains("font-family=\"DejaVu Sans, sans-serif\""));
    let depth = svg("across_depth");
    for needle in [
        "depth L (layers)",
        "Var[y_L] / Var[y_1] (log scale)",
        "Var[δ_1] / Var[δ_L] (log scale)",
        "He normal",
    ] {
        assert!(depth.contains(needle), "across_depth.svg lacks '{needle}'");
    }
    assert!(svg("backward_grad_var").contains("Var[δ_l] (log scale)"));
    let hist = svg("hist_act");
    for needle in [
        "layer 1",
        "layer 2",
        "fraction of entries per bin",
        "activation value x_l",
    ] {
        assert!(hist.contains(needle), "hist_act.svg lacks '{needle}'");
    }
    // The run fills the theory columns (kaiming/xavier on relu have theory): dashed theory lines
    // and their legend entry appear.
    assert!(
        fwd.contains(">\ntheory\n<"),
        "theory values in summary.csv but no theory legend"
    );
}

#[test]
fn plot_format_svg_only_and_theory_overlay() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = csv_only_results(tmp.path());
    // Fill the theory columns (the last two of summary.csv) and zero one value.
    let summary = std::fs::read_to_string(dir.join("summary.csv")).unwrap();
    let mut lines: Vec<String> = summary.lines().map(String::from).collect();
    let header: Vec<&str> = lines[0].split(',').collect();
    let mean_col = header.iter().position(|h| *h == "preact_var_mean").unwrap();
    let depth_col = header.iter().position(|h| *h == "depth").unwrap();
    let mut zeroed = false;
    for line in lines.iter_mut().skip(1) {
        let mut f: Vec<String> = line.split(',').map(String::from).collect();
        let n = f.len();
        f[n - 2] = "1.5".into();
        f[n - 1] = "0.25".into();
        // The charts show the deepest network: zero a value there.
        if f[depth_col] == "4" && !zeroed {
            f[mean_col] = "0".into();
            zeroed = true;
        }
        *line = f.join(",");
    }
    std::fs::write(dir.join("summary.csv"), lines.join("\n") + "\n").unwrap();
    let out = initlab(
        &["plot", dir.to_str().unwrap(), "--format", "svg"],
        tmp.path(),
    );
    ok(&out);
    assert!(
        text(&out.stderr).contains("not drawn on the log axis"),
        "{}",
        text(&out.stderr)
    );
    let plots = dir.join("plots");
    assert!(plots.join("forward_preact_var.svg").exists());
    assert!(
        !plots.join("forward_preact_var.png").exists(),
        "--format svg wrote a PNG"
    );
    let fwd = std::fs::read_to_string(plots.join("forward_preact_var.svg")).unwrap();
    assert!(fwd.contains(">\ntheory\n<"), "no theory legend entry");
    assert!(
        fwd.contains("not drawn on the log axis"),
        "the skipped value is not reported in the chart"
    );
}

fn expect_bad(out: &Output, needles: &[&str]) {
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "stderr:\n{err}");
    for n in needles {
        assert!(err.contains(n), "stderr lacks '{n}':\n{err}");
    }
}

#[test]
fn malformed_or_missing_csv_exits_2_naming_file_and_line() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = csv_only_results(tmp.path());
    let d = dir.to_str().unwrap();

    // A number that is not one, on line 3 of cells.csv.
    let cells = std::fs::read_to_string(dir.join("cells.csv")).unwrap();
    let mut lines: Vec<String> = cells.lines().map(String::from).collect();
    let header: Vec<&str> = lines[0].split(',').collect();
    let col = header.iter().position(|h| *h == "forward_ratio").unwrap();
    let mut f: Vec<String> = lines[2].split(',').map(String::from).collect();
    f[col] = "twelve".into();
    lines[2] = f.join(",");
    std::fs::write(dir.join("cells.csv"), lines.join("\n") + "\n").unwrap();
    expect_bad(
        &initlab(&["plot", d], tmp.path()),
        &["cells.csv: line 3", "forward_ratio", "twelve"],
    );
    expect_bad(&initlab(&["report", d], tmp.path()), &["cells.csv: line 3"]);
    std::fs::write(dir.join("cells.csv"), cells.as_bytes()).unwrap();

    // A short row on line 5 of summary.csv.
    let summary = std::fs::read_to_string(dir.join("summary.csv")).unwrap();
    let mut lines: Vec<String> = summary.lines().map(String::from).collect();
    lines[4] = "tiny,mlp,relu".into();
    std::fs::write(dir.join("summary.csv"), lines.join("\n") + "\n").unwrap();
    expect_bad(
        &initlab(&["plot", d], tmp.path()),
        &["summary.csv: line 5", "fields"],
    );

    // A missing file.
    std::fs::remove_file(dir.join("summary.csv")).unwrap();
    expect_bad(
        &initlab(&["plot", d], tmp.path()),
        &["summary.csv", "missing"],
    );

    // A header that is not ours.
    std::fs::write(dir.join("summary.csv"), "a,b,c\n1,2,3\n").unwrap();
    expect_bad(
        &initlab(&["plot", d], tmp.path()),
        &["summary.csv: line 1", "lacks column"],
    );

    // A hist.csv with a bad count.
    std::fs::write(dir.join("summary.csv"), summary.as_bytes()).unwrap();
    let hist = std::fs::read_to_string(dir.join("hist.csv")).unwrap();
    let mut lines: Vec<String> = hist.lines().map(String::from).collect();
    let count = lines[0].split(',').position(|h| h == "count").unwrap();
    let mut f: Vec<String> = lines[1].split(',').map(String::from).collect();
    f[count] = "-3".into();
    lines[1] = f.join(",");
    std::fs::write(dir.join("hist.csv"), lines.join("\n") + "\n").unwrap();
    expect_bad(
        &initlab(&["plot", d], tmp.path()),
        &["hist.csv: line 2", "count"],
    );

    // Not a folder; bad format.
    expect_bad(
        &initlab(&["plot", "no/such/dir"], tmp.path()),
        &["no/such/dir"],
    );
    expect_bad(
        &initlab(&["plot", d, "--format", "gif"], tmp.path()),
        &["gif"],
    );
}

#[test]
fn report_is_one_self_contained_page() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = csv_only_results(tmp.path());
    // With the resolved config beside the CSVs, the report shows the description.
    std::fs::copy(
        tmp.path().join("run/experiment.toml"),
        dir.join("experiment.toml"),
    )
    .unwrap();
    let out = initlab(&["report", dir.to_str().unwrap()], tmp.path());
    ok(&out);
    let html = std::fs::read_to_string(dir.join("report.html")).unwrap();
    assert!(html.starts_with("<!DOCTYPE html>"));
    assert_eq!(
        html.matches("<svg").count(),
        FIGURES.len(),
        "one inline SVG per chart"
    );
    for needle in [
        "Tiny sweep for the plot tests",
        "He normal",
        "PyTorch default",
        "depth 4",
        "forward",
        "backward",
    ] {
        assert!(html.contains(needle), "report lacks '{needle}'");
    }
    assert!(
        html.contains("[network]"),
        "the resolved config is not shown"
    );
    // Self-contained: nothing loaded from elsewhere.
    for bad in ["<link", "<script", "src=\"", "url(", "<img"] {
        assert!(
            !html.contains(bad),
            "report refers to an external asset: {bad}"
        );
    }
    assert!(
        !dir.join("plots").exists(),
        "report alone must not need the plots folder"
    );
}

#[test]
fn run_draws_charts_and_report_unless_no_plot() {
    let tmp = tempfile::tempdir().unwrap();
    let exp = tmp.path().join("tiny.toml");
    std::fs::write(
        &exp,
        TINY.replace("[histograms]\nlayers = [1, 2]\nbins = 12\n", ""),
    )
    .unwrap();
    let dir = tmp.path().join("res");
    let out = initlab(
        &[
            "run",
            exp.to_str().unwrap(),
            "--out",
            dir.to_str().unwrap(),
            "--quiet",
        ],
        tmp.path(),
    );
    ok(&out);
    assert!(dir.join("report.html").exists());
    for name in &FIGURES[..5] {
        assert!(
            dir.join("plots").join(format!("{name}.png")).exists(),
            "{name}.png"
        );
        assert!(
            dir.join("plots").join(format!("{name}.svg")).exists(),
            "{name}.svg"
        );
    }
    assert!(
        !dir.join("plots/hist_act.png").exists(),
        "no histograms were asked for"
    );
}

#[test]
fn compare_prints_a_table_and_draws_the_depth_chart() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("cmp");
    let out = initlab(
        &[
            "compare",
            "--activation",
            "relu",
            "--activation",
            "name = \"leaky_relu\", negative_slope = 0.2",
            "--init",
            "kaiming_normal",
            "--init",
            "scheme = \"kaiming_uniform\", a = 2.23606797749979",
            "--init",
            "pytorch_default",
            "--depth",
            "2,3",
            "--width",
            "8",
            "--batch",
            "4",
            "--trials",
            "2",
            "--out",
            dir.to_str().unwrap(),
            "--quiet",
        ],
        tmp.path(),
    );
    ok(&out);
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains("log10 forward") && stdout.contains("log10 backward"),
        "{stdout}"
    );
    let rows: Vec<&str> = stdout
        .lines()
        .filter(|l| l.starts_with("relu ") || l.starts_with("leaky_relu"))
        .collect();
    assert_eq!(rows.len(), 2 * 3 * 2, "{stdout}");
    assert!(
        stdout.contains("kaiming_uniform(a=2.23606797749979"),
        "{stdout}"
    );
    // Every number column is aligned: rows have the same length once trailing text is trimmed.
    let widths: std::collections::HashSet<usize> =
        rows.iter().map(|r| r.trim_end().chars().count()).collect();
    assert_eq!(widths.len(), 1, "misaligned rows:\n{stdout}");
    for f in [
        "cells.csv",
        "summary.csv",
        "layers.csv",
        "experiment.toml",
        "plots/across_depth.png",
        "plots/across_depth.svg",
    ] {
        assert!(dir.join(f).exists(), "{f} missing");
    }
    let svg = std::fs::read_to_string(dir.join("plots/across_depth.svg")).unwrap();
    assert!(svg.contains("pytorch_default") && svg.contains("depth L (layers)"));

    // The default folder name is a hash of the arguments: the same arguments, the same folder.
    let args = [
        "compare", "--depth", "2", "--width", "4", "--batch", "2", "--trials", "1", "--quiet",
        "--format", "svg",
    ];
    let a = initlab(&args, tmp.path());
    ok(&a);
    let folder = |o: &Output| {
        text(&o.stdout)
            .lines()
            .find_map(|l| {
                l.strip_prefix("results: ")
                    .map(|r| r.split(' ').next().unwrap().to_string())
            })
            .unwrap()
    };
    let b = initlab(&args, tmp.path());
    ok(&b);
    assert_eq!(folder(&a), folder(&b));
    assert!(folder(&a).starts_with("results/compare-"), "{}", folder(&a));
    assert!(tmp
        .path()
        .join(folder(&a))
        .join("plots/across_depth.svg")
        .exists());
}

#[test]
fn compare_bad_input_exits_2() {
    let tmp = tempfile::tempdir().unwrap();
    expect_bad(
        &initlab(&["compare", "--init", "kaiming_nromal"], tmp.path()),
        &["--init", "kaiming_normal"],
    );
    expect_bad(
        &initlab(&["compare", "--activation", "rellu"], tmp.path()),
        &["--activation", "relu"],
    );
    expect_bad(
        &initlab(&["compare", "--depth", "3,0"], tmp.path()),
        &["--depth"],
    );
    expect_bad(
        &initlab(&["compare", "--width=0"], tmp.path()),
        &["--width"],
    );
    expect_bad(
        &initlab(&["compare", "--init", "eye", "--init", "eye"], tmp.path()),
        &["duplicate"],
    );
    assert!(
        !tmp.path().join("results").exists(),
        "bad input must not create folders"
    );
}
