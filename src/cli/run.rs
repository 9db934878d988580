//! `initlab run EXPERIMENT.toml... [--out DIR] [--threads N] [--no-plot] [--quiet]`.

use crate::config::Experiment;
use crate::error::bad;
use crate::output::{manifest::Manifest, write_results};
use crate::sweep::{check_memory, gib, run_sweep};
use clap::Args;
use std::io::IsTerminal;
use std::path::PathBuf;
use std::time::Instant;

#[derive(Debug, Args)]
pub struct RunArgs {
    /// Experiment files (TOML).
    #[arg(required = true, value_name = "EXPERIMENT.toml")]
    pub experiments: Vec<PathBuf>,
    /// Output folder (default results/<name>; with several experiments, DIR/<name>).
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Worker threads (default: all cores). Results are identical for any value.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..=4096))]
    pub threads: Option<u64>,
    /// Do not render charts after the run.
    #[arg(long)]
    pub no_plot: bool,
    /// No progress bar or informational messages.
    #[arg(long)]
    pub quiet: bool,
}

pub fn run(args: RunArgs) -> anyhow::Result<()> {
    // Validate everything before any work starts or any folder is created.
    let mut exps = Vec::new();
    for path in &args.experiments {
        exps.push((path.display().to_string(), Experiment::load(path)?));
    }
    let threads = args.threads.map(|t| t as usize).unwrap_or_else(rayon::current_num_threads);
    let several = exps.len() > 1;
    let mut outs = Vec::new();
    for (file, exp) in &exps {
        let out = match &args.out {
            Some(dir) if several => dir.join(&exp.name),
            Some(dir) => dir.clone(),
            None => PathBuf::from("results").join(&exp.name),
        };
        if out.exists() && !out.is_dir() {
            return Err(bad(format!("--out {}: exists and is not a folder", out.display())));
        }
        let need = check_memory(exp, threads, file)?;
        outs.push((out, need));
    }
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .map_err(|e| anyhow::anyhow!("starting {threads} worker threads: {e}"))?;
    let progress = !args.quiet && std::io::stderr().is_terminal();

    for ((file, exp), (out, need)) in exps.iter().zip(outs) {
        let cells = exp.cells();
        if !args.quiet {
            eprintln!(
                "{file}: {} cells × {} trials, {} threads, estimated peak memory {}",
                cells.len(),
                exp.trials,
                threads,
                gib(need)
            );
        }
        let start = Instant::now();
        let results = pool.install(|| run_sweep(exp, &cells, progress));
        let wall = start.elapsed().as_secs_f64();
        let manifest = Manifest::new(exp, &results, threads, wall);
        write_results(&out, exp, &results, &manifest)?;
        let collapsed: Vec<String> = results
            .iter()
            .filter(|r| r.collapsed())
            .map(|r| format!("{}/{}/depth={}/width={}", r.cell.activation.label(), r.cell.init.label, r.cell.depth, r.cell.width))
            .collect();
        if !collapsed.is_empty() {
            eprintln!(
                "warning: {} of {} cells collapsed (inf/NaN or variance out of range): {}",
                collapsed.len(),
                results.len(),
                collapsed.join(", ")
            );
        }
        if !args.quiet {
            eprintln!("{file}: wrote {} in {wall:.1} s", out.display());
        }
        if !args.no_plot {
            crate::plot::render_after_run(&out, args.quiet)?;
        }
    }
    Ok(())
}
