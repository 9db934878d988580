//! `initlab compare [--activation A]... [--init SPEC]... [--depth D,D,...] [--width N] [--batch B]
//! [--trials T] [--seed S] [--out DIR]`: an ad-hoc sweep of init schemes across depths.
//!
//! The command line is turned into an experiment file's text and validated by the same parser as
//! `initlab run`, so every rule and message is the same; then the sweep runs, the CSVs are written
//! to `--out` (default `results/compare-<hash of the arguments>/`), a table of log10 variance
//! ratios is printed, and the across-depth chart is drawn from the CSVs.

use crate::activation::Activation;
use crate::config::Experiment;
use crate::error::bad;
use crate::init::Init;
use crate::plot::figure::across_depth_figure;
use crate::plot::read::{read_results, CellRow, Spread};
use crate::plot::{write_figures, Format};
use crate::sweep::aggregate::range_exit_text;
use crate::sweep::check_memory;
use clap::Args;
use sha2::{Digest, Sha256};
use std::io::IsTerminal;
use std::path::PathBuf;
use std::time::Instant;
use toml::{Table, Value};

const DEFAULT_INITS: &[&str] = &["kaiming_normal", "xavier_normal", "pytorch_default"];

#[derive(Debug, Args)]
pub struct CompareArgs {
    /// Activation, repeatable: a name (`relu`) or a table body (`name = "leaky_relu", negative_slope = 0.2`).
    /// Default: relu.
    #[arg(long = "activation", value_name = "A")]
    pub activations: Vec<String>,
    /// Init SPEC, repeatable: a scheme or preset name, or a table body
    /// (`scheme = "kaiming_uniform", a = 2.236`). Default: kaiming_normal, xavier_normal, pytorch_default.
    #[arg(long = "init", value_name = "SPEC")]
    pub inits: Vec<String>,
    /// Depths to compare.
    #[arg(long, value_name = "D,D,...", value_delimiter = ',', default_value = "10,20,50",
          value_parser = clap::value_parser!(u64).range(1..=100_000))]
    pub depth: Vec<u64>,
    /// Width of every layer.
    #[arg(long, value_name = "N", default_value_t = 256, value_parser = clap::value_parser!(u64).range(1..=1_000_000))]
    pub width: u64,
    /// Batch size.
    #[arg(long, value_name = "B", default_value_t = 128, value_parser = clap::value_parser!(u64).range(1..=10_000_000))]
    pub batch: u64,
    /// Trials per cell.
    #[arg(long, value_name = "T", default_value_t = 4, value_parser = clap::value_parser!(u64).range(1..=100_000))]
    pub trials: u64,
    /// Experiment seed.
    #[arg(long, value_name = "S", default_value_t = 0, value_parser = clap::value_parser!(u64).range(0..=i64::MAX as u64))]
    pub seed: u64,
    /// Floating-point type of the simulation (f64 keeps deep nets' tiny variances from
    /// underflowing).
    #[arg(long, value_name = "f32|f64", default_value = "f32", value_parser = ["f32", "f64"])]
    pub dtype: String,
    /// Output folder (default results/compare-<hash of the arguments>).
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Worker threads (default: all cores).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..=4096))]
    pub threads: Option<u64>,
    /// Image format(s) of the chart.
    #[arg(long, value_name = "png|svg|both", default_value = "both", value_parser = ["png", "svg", "both"])]
    pub format: String,
    /// No progress bar or informational messages (the table is still printed).
    #[arg(long)]
    pub quiet: bool,
}

/// The experiment file text for these arguments (without `name`), and the experiment name.
fn experiment_text(args: &CompareArgs) -> anyhow::Result<(String, String)> {
    let act_texts: Vec<&str> = if args.activations.is_empty() {
        vec!["relu"]
    } else {
        args.activations.iter().map(|s| s.as_str()).collect()
    };
    let mut acts = Vec::new();
    for a in act_texts {
        acts.push(Activation::parse(a, &format!("--activation '{a}'"))?.to_value());
    }
    let init_texts: Vec<&str> = if args.inits.is_empty() {
        DEFAULT_INITS.to_vec()
    } else {
        args.inits.iter().map(|s| s.as_str()).collect()
    };
    let mut inits = Vec::new();
    for spec in init_texts {
        let init = Init::parse_spec(spec, &format!("--init '{spec}'"))?;
        let mut t = Table::new();
        let label = if spec.contains('=') {
            init.canonical()
        } else {
            spec.trim().to_string()
        };
        t.insert("label".into(), Value::String(label));
        match init.preset {
            Some(p) => {
                t.insert("preset".into(), Value::String(p.into()));
            }
            None => {
                t.insert("weight".into(), Value::Table(init.weight.to_table()));
            }
        }
        inits.push(Value::Table(t));
    }
    let mut depths = args.depth.clone();
    depths.sort_unstable();
    depths.dedup();

    let mut net = Table::new();
    net.insert("kind".into(), Value::String("mlp".into()));
    net.insert(
        "depth".into(),
        Value::Array(depths.iter().map(|&d| Value::Integer(d as i64)).collect()),
    );
    net.insert("width".into(), Value::Integer(args.width as i64));
    net.insert("activation".into(), Value::Array(acts));
    let mut root = Table::new();
    root.insert("seed".into(), Value::Integer(args.seed as i64));
    root.insert("trials".into(), Value::Integer(args.trials as i64));
    root.insert("batch".into(), Value::Integer(args.batch as i64));
    // Only when not the default, so the default folder name of earlier comparisons stays.
    if args.dtype != "f32" {
        root.insert("dtype".into(), Value::String(args.dtype.clone()));
    }
    root.insert("network".into(), Value::Table(net));
    root.insert("init".into(), Value::Array(inits));
    let body =
        toml::to_string(&root).map_err(|e| anyhow::anyhow!("serialising the comparison: {e}"))?;
    let hash = Sha256::digest(body.as_bytes());
    let name = format!(
        "compare-{}",
        hash.iter()
            .take(4)
            .map(|b| format!("{b:02x}"))
            .collect::<String>()
    );
    Ok((body, name))
}

/// `+0.02`, `-12.31`, `-inf`, `nan`.
fn log10_text(x: f64) -> String {
    if x.is_nan() {
        "nan".into()
    } else if x <= 0.0 {
        if x == 0.0 {
            "-inf".into()
        } else {
            "n/a (<0)".into()
        }
    } else if x.is_infinite() {
        "inf".into()
    } else {
        format!("{:+.2}", x.log10())
    }
}

/// Trials spread over more than this many decades get their range printed.
const RANGE_SHOWN: f64 = 1.0;

/// The measured log10 ratio: `mean ± std` over trials (the geometric mean), and the trials'
/// `min..max` when it spans more than [`RANGE_SHOWN`] decades. A cell whose trials left the
/// dtype's range has no logarithm to average: it prints `out of range`, never a number.
fn measured_text(arithmetic: f64, log10: Option<&Spread>, trials: usize) -> (String, String) {
    match log10 {
        Some(l) => {
            let mean = format!("{:+.2}", l.mean);
            let value = match l.std {
                Some(sd) if trials > 1 => format!("{mean} ± {sd:.2}"),
                _ => mean,
            };
            let range = if l.max - l.min > RANGE_SHOWN {
                format!("{:+.2}..{:+.2}", l.min, l.max)
            } else {
                String::new()
            };
            (value, range)
        }
        None if arithmetic > 0.0 && arithmetic.is_finite() => {
            // A file without the log10 columns: the arithmetic mean is all there is.
            (log10_text(arithmetic), String::new())
        }
        None => ("out of range".into(), String::new()),
    }
}

/// The aligned terminal table: activation, init, depth → log10 forward and backward ratios
/// (mean ± std over trials, the range when wide), beside the theory.
pub fn table(cells: &[CellRow]) -> String {
    let theory = cells
        .iter()
        .any(|c| c.theory_forward_ratio.is_some() || c.theory_backward_ratio.is_some());
    let mut header = vec!["activation", "init", "depth", "log10 forward", "range"];
    if theory {
        header.push("theory");
    }
    header.extend(["log10 backward", "range"]);
    if theory {
        header.push("theory");
    }
    header.push("");
    let mut rows: Vec<Vec<String>> = Vec::new();
    for c in cells {
        let (fwd, fwd_range) = measured_text(c.forward_ratio, c.log10_forward.as_ref(), c.trials);
        let (bwd, bwd_range) = measured_text(c.backward_ratio, c.log10_backward.as_ref(), c.trials);
        let mut r = vec![
            c.key.activation.clone(),
            c.key.init.clone(),
            c.key.depth.to_string(),
            fwd,
            fwd_range,
        ];
        if theory {
            r.push(c.theory_forward_ratio.map(log10_text).unwrap_or_default());
        }
        r.extend([bwd, bwd_range]);
        if theory {
            r.push(c.theory_backward_ratio.map(log10_text).unwrap_or_default());
        }
        r.push(if c.collapsed() {
            let mut why = Vec::new();
            if c.underflow_trials > 0 {
                why.push(format!("underflow {}/{}", c.underflow_trials, c.trials));
            }
            if c.overflow_trials > 0 {
                why.push(format!("inf/NaN {}/{}", c.overflow_trials, c.trials));
            }
            if why.is_empty() {
                why.push(format!("{} layers non-finite", c.nonfinite_layers));
            }
            format!("collapsed ({})", why.join(", "))
        } else {
            String::new()
        });
        rows.push(r);
    }
    let ncol = header.len();
    let widths: Vec<usize> = (0..ncol)
        .map(|i| {
            rows.iter()
                .map(|r| r[i].chars().count())
                .chain([header[i].chars().count()])
                .max()
                .unwrap_or(0)
        })
        .collect();
    // Text columns left-aligned, numbers right-aligned.
    let left = |i: usize| i < 2 || i == ncol - 1;
    let fmt_row = |cells: Vec<String>| {
        let mut line = String::new();
        for (i, c) in cells.iter().enumerate() {
            let pad = widths[i] - c.chars().count();
            if i > 0 {
                line.push_str("  ");
            }
            if left(i) {
                line.push_str(c);
                line.push_str(&" ".repeat(pad));
            } else {
                line.push_str(&" ".repeat(pad));
                line.push_str(c);
            }
        }
        line.trim_end().to_string()
    };
    let mut out = fmt_row(header.iter().map(|s| s.to_string()).collect());
    out.push('\n');
    out.push_str(&fmt_row(widths.iter().map(|&w| "-".repeat(w)).collect()));
    out.push('\n');
    for r in rows {
        out.push_str(&fmt_row(r));
        out.push('\n');
    }
    out
}

/// A spread this many decades from the theory is worth a note when the trials spread wider.
const GAP_NOTED: f64 = 0.5;
/// β = Σ 1/n_l above which finite-width fluctuations are large (Var[ln q_L] ≈ 5β for ReLU).
const BETA_NOTED: f64 = 0.1;

/// One-line notes under the table: trials spread wider than the measured–theory gap, widths
/// small for the depth (β = Σ_l 1/n_l = L/n; Hanin & Rolnick 2018: Var[ln q_L] ≈ 5β under
/// He-ReLU), and cells whose values left the dtype's range, with the rerun that fixes it.
pub fn notes(cells: &[CellRow], width: usize, dtype: &str) -> Vec<String> {
    let mut out = Vec::new();
    for c in cells {
        for (dir, log, th) in [
            ("forward", &c.log10_forward, c.theory_forward_ratio),
            ("backward", &c.log10_backward, c.theory_backward_ratio),
        ] {
            let (Some(l), Some(th)) = (log, th) else {
                continue;
            };
            if !(th > 0.0 && th.is_finite()) {
                continue;
            }
            let gap = (l.mean - th.log10()).abs();
            let spread = l.max - l.min;
            if gap >= GAP_NOTED && spread >= gap {
                out.push(format!(
                    "{}/{} depth {}, {dir}: the {} trials spread over {spread:.1} decades \
                     ({:+.2}..{:+.2}), wider than the {gap:.1}-decade gap between their mean and the \
                     theory ({:+.2}): the gap is within the draw-to-draw spread (more --trials or a \
                     larger --width narrow it)",
                    c.key.activation,
                    c.key.init,
                    c.key.depth,
                    c.trials,
                    l.min,
                    l.max,
                    th.log10()
                ));
            }
        }
    }
    let mut small: Vec<usize> = cells
        .iter()
        .map(|c| c.key.depth)
        .filter(|&d| d as f64 / width as f64 > BETA_NOTED)
        .collect();
    small.sort_unstable();
    small.dedup();
    if !small.is_empty() {
        let betas: Vec<String> = small
            .iter()
            .map(|&d| format!("{:.2}", d as f64 / width as f64))
            .collect();
        out.push(format!(
            "width {width} is small for depth {} (β = Σ 1/n_l = L/n = {}): a finite net's output \
             variance fluctuates from draw to draw with Var[ln q_L] ≈ 5β under He-ReLU (Hanin & \
             Rolnick 2018), so single trials scatter; --width ≥ {} keeps β ≤ {BETA_NOTED}",
            small
                .iter()
                .map(|d| d.to_string())
                .collect::<Vec<_>>()
                .join(", "),
            betas.join(", "),
            (*small.last().unwrap_or(&0) as f64 / BETA_NOTED).ceil()
        ));
    }
    let out_of_range: Vec<String> = cells
        .iter()
        .filter(|c| c.out_of_range_trials() > 0)
        .map(|c| {
            format!(
                "{}/{} depth {} ({})",
                c.key.activation,
                c.key.init,
                c.key.depth,
                range_exit_text(c.underflow_trials, c.overflow_trials, c.trials)
            )
        })
        .collect();
    if !out_of_range.is_empty() {
        let advice = if dtype == "f32" {
            "rerun with --dtype f64 to measure them"
        } else {
            "even f64 cannot hold them: the variance really leaves every floating-point range"
        };
        out.push(format!(
            "{} cell(s) left the {dtype} range: {}; their log ratios are not measurements and are \
             not printed; {advice}",
            out_of_range.len(),
            out_of_range.join(", ")
        ));
    }
    out
}

pub fn run(args: CompareArgs) -> anyhow::Result<()> {
    let format = Format::parse(&args.format)?;
    let (body, name) = experiment_text(&args)?;
    let description =
        "initlab compare: forward and backward variance ratios of each init across depths";
    let text = format!(
        "name = {}\ndescription = {}\n{body}",
        Value::String(name.clone()),
        Value::String(description.into())
    );
    let exp = Experiment::parse(&text, "initlab compare", &name)?;
    let out = args
        .out
        .clone()
        .unwrap_or_else(|| PathBuf::from("results").join(&name));
    if out.exists() && !out.is_dir() {
        return Err(bad(format!(
            "--out {}: exists and is not a folder",
            out.display()
        )));
    }
    let threads = args
        .threads
        .map(|t| t as usize)
        .unwrap_or_else(rayon::current_num_threads);
    check_memory(&exp, threads, "initlab compare")?;
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .map_err(|e| anyhow::anyhow!("starting {threads} worker threads: {e}"))?;
    let cells = exp.cells();
    if !args.quiet {
        eprintln!(
            "{name}: {} cells × {} trials, {threads} threads",
            cells.len(),
            exp.trials
        );
    }
    let progress = !args.quiet && std::io::stderr().is_terminal();
    let start = Instant::now();
    crate::output::run_dir::check_owner(&out, &exp, false)?;
    let (dir, _) = crate::output::run_dir::RunDir::open(&out, &exp, &cells, None, threads, false)?;
    let stop = std::sync::atomic::AtomicBool::new(false);
    let results = pool
        .install(|| crate::sweep::run_cells(&exp, &cells, progress, &stop, &|r| dir.commit(r)))?
        .into_iter()
        .collect::<Option<Vec<_>>>()
        .ok_or_else(|| anyhow::anyhow!("internal error: a cell finished without a result"))?;
    let wall = start.elapsed().as_secs_f64();
    dir.finish(&results, wall, Vec::new())?;

    let data = read_results(&out)?;
    println!(
        "width {}, batch {}, {} trials, seed {}, {}: log10 of the variance ratios (0 = preserved)\n\
         forward = Var[y_L]/Var[y_1], backward = Var[δ_1]/Var[δ_L]; mean ± std of log10 over the\n\
         trials (the geometric mean: ratios are close to log-normal across draws), with the\n\
         trials' range where it spans more than {RANGE_SHOWN} decade\n",
        exp.cells()[0].width,
        exp.batch,
        exp.trials,
        exp.seed,
        exp.dtype.name()
    );
    print!("{}", table(&data.cells));
    let notes = notes(&data.cells, exp.cells()[0].width, exp.dtype.name());
    if !notes.is_empty() {
        println!();
        for n in &notes {
            println!("note: {n}");
        }
    }
    let plotted = write_figures(&out, &[across_depth_figure(&data)], format)?;
    for note in &plotted.notes {
        eprintln!("note: {note}");
    }
    println!();
    for f in &plotted.files {
        println!("chart: {}", f.display());
    }
    println!("results: {} ({wall:.1} s)", out.display());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plot::read::CellKey;

    #[test]
    fn table_is_aligned() {
        let cell = |init: &str, depth: usize, f: f64, th: Option<f64>| CellRow {
            key: CellKey {
                network: "mlp".into(),
                activation: "relu".into(),
                init: init.into(),
                widths: String::new(),
                width: 8,
                depth,
            },
            batch: 4,
            trials: 2,
            forward_ratio: f,
            backward_ratio: 1.0,
            theory_forward_ratio: th,
            theory_backward_ratio: None,
            nonfinite_layers: 0,
            log10_forward: (f > 0.0).then(|| Spread {
                mean: f.log10(),
                std: Some(0.5),
                min: f.log10() - 1.0,
                max: f.log10() + 0.2,
            }),
            log10_backward: None,
            underflow_trials: 0,
            overflow_trials: 0,
        };
        let mut under = cell("pytorch_default", 100, 0.0, None);
        under.underflow_trials = 2;
        let t = table(&[
            cell("He", 10, 1.0, Some(1.0)),
            cell("pytorch_default", 100, 1e-40, None),
            under,
        ]);
        let lines: Vec<&str> = t.lines().collect();
        assert!(lines[0].contains("theory"), "{t}");
        assert!(
            lines[2].contains("+0.00 ± 0.50") && lines[3].contains("-40.00 ± 0.50"),
            "{t}"
        );
        // The range is shown when it spans more than a decade.
        assert!(lines[2].contains("-1.00..+0.20"), "{t}");
        // An underflowed cell prints no number, and says why.
        assert!(
            lines[4].contains("out of range") && lines[4].contains("collapsed (underflow 2/2)"),
            "{t}"
        );
        assert!(!t.contains("-inf"), "{t}");
        // Right-aligned numbers end in the same column.
        let end = |l: &str, pat: &str| l.find(pat).map(|i| i + pat.len());
        assert_eq!(end(lines[2], "10"), end(lines[3], "100"), "{t}");

        // Notes: spread wider than the gap, β, and the range exit with its rerun.
        let mut wide = cell("He", 50, 1e-8, Some(1e-11));
        wide.log10_forward = Some(Spread {
            mean: -8.31,
            std: Some(1.59),
            min: -10.66,
            max: -7.27,
        });
        let mut tight = cell("He", 50, 1e-8, Some(1e-11));
        tight.log10_forward = Some(Spread {
            mean: -8.31,
            std: Some(0.1),
            min: -8.4,
            max: -8.2,
        });
        let mut under = cell("pytorch_default", 100, 0.0, None);
        under.underflow_trials = 2;
        let n = notes(&[wide, tight, under], 256, "f32");
        assert_eq!(n.len(), 3, "{n:?}");
        assert!(
            n[0].contains("spread over 3.4 decades (-10.66..-7.27)")
                && n[0].contains("2.7-decade gap"),
            "{n:?}"
        );
        assert!(
            n[1].contains("depth 50, 100") && n[1].contains("0.20, 0.39"),
            "{n:?}"
        );
        assert!(
            n[2].contains("underflow in 2/2 trials") && n[2].contains("--dtype f64"),
            "{n:?}"
        );
        let n = notes(&[cell("He", 10, 1.0, Some(1.0))], 256, "f32");
        assert!(n.is_empty(), "{n:?}");
    }
}
