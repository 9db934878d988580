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
use crate::plot::read::{read_results, CellRow};
use crate::plot::{write_figures, Format};
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

/// The aligned terminal table: activation, init, depth → log10 forward and backward ratios.
pub fn table(cells: &[CellRow]) -> String {
    let theory = cells
        .iter()
        .any(|c| c.theory_forward_ratio.is_some() || c.theory_backward_ratio.is_some());
    let mut header = vec!["activation", "init", "depth", "log10 forward"];
    if theory {
        header.push("theory");
    }
    header.push("log10 backward");
    if theory {
        header.push("theory");
    }
    header.push("");
    let mut rows: Vec<Vec<String>> = Vec::new();
    for c in cells {
        let mut r = vec![
            c.key.activation.clone(),
            c.key.init.clone(),
            c.key.depth.to_string(),
            log10_text(c.forward_ratio),
        ];
        if theory {
            r.push(c.theory_forward_ratio.map(log10_text).unwrap_or_default());
        }
        r.push(log10_text(c.backward_ratio));
        if theory {
            r.push(c.theory_backward_ratio.map(log10_text).unwrap_or_default());
        }
        r.push(if c.collapsed() {
            format!("collapsed ({} layers non-finite)", c.nonfinite_layers)
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
        "width {}, batch {}, {} trials, seed {}: log10 of the variance ratios (0 = preserved)\n\
         forward = Var[y_L]/Var[y_1], backward = Var[δ_1]/Var[δ_L]\n",
        exp.cells()[0].width,
        exp.batch,
        exp.trials,
        exp.seed
    );
    print!("{}", table(&data.cells));
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
        };
        let t = table(&[
            cell("He", 10, 1.0, Some(1.0)),
            cell("pytorch_default", 100, 1e-40, None),
        ]);
        let lines: Vec<&str> = t.lines().collect();
        assert!(lines[0].contains("theory"), "{t}");
        assert!(
            lines[2].contains("+0.00") && lines[3].contains("-40.00"),
            "{t}"
        );
        // Right-aligned numbers end in the same column.
        let end = |l: &str, pat: &str| l.find(pat).map(|i| i + pat.len());
        assert_eq!(end(lines[2], "10"), end(lines[3], "100"), "{t}");
    }
}
