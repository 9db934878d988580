//! `initlab run EXPERIMENT.toml... [--out DIR] [--threads N] [--shard I/N] [--resume] [--force]
//! [--no-plot] [--quiet]`.

use crate::config::Experiment;
use crate::error::Interrupted;
use crate::output::run_dir::{check_owner, RunDir};
use crate::sweep::shard::{select, Shard};
use crate::sweep::{check_memory, gib, run_cells};
use clap::Args;
use std::io::IsTerminal;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
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
    /// Run only shard I of N (1-based) of the cells, balanced by estimated cost.
    #[arg(long, value_name = "I/N")]
    pub shard: Option<String>,
    /// Reuse the cells already committed in the output folder (same definition and version).
    #[arg(long)]
    pub resume: bool,
    /// Write into a folder that belongs to another experiment.
    #[arg(long)]
    pub force: bool,
    /// Do not render charts after the run.
    #[arg(long)]
    pub no_plot: bool,
    /// No progress bar or informational messages.
    #[arg(long)]
    pub quiet: bool,
}

/// SIGINT and SIGTERM raise the flag (finish what is in flight, commit, stop); a second
/// SIGINT exits at once (130) — committed cells are safe either way.
fn stop_flag() -> anyhow::Result<Arc<AtomicBool>> {
    use signal_hook::consts::{SIGINT, SIGTERM};
    let flag = Arc::new(AtomicBool::new(false));
    for sig in [SIGINT, SIGTERM] {
        signal_hook::flag::register_conditional_shutdown(sig, 130, Arc::clone(&flag))?;
        signal_hook::flag::register(sig, Arc::clone(&flag))?;
    }
    Ok(flag)
}

pub fn run(args: RunArgs) -> anyhow::Result<()> {
    // Validate everything before any work starts or any folder is created.
    let shard = args.shard.as_deref().map(Shard::parse).transpose()?;
    let mut exps = Vec::new();
    for path in &args.experiments {
        exps.push((path.display().to_string(), Experiment::load(path)?));
    }
    let threads = args
        .threads
        .map(|t| t as usize)
        .unwrap_or_else(rayon::current_num_threads);
    let several = exps.len() > 1;
    let mut plans = Vec::new();
    for (file, exp) in &exps {
        let out = match &args.out {
            Some(dir) if several => dir.join(&exp.name),
            Some(dir) => dir.clone(),
            None => PathBuf::from("results").join(&exp.name),
        };
        check_owner(&out, exp, args.force)?;
        let need = check_memory(exp, threads, file)?;
        plans.push((out, need));
    }
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .map_err(|e| anyhow::anyhow!("starting {threads} worker threads: {e}"))?;
    let progress = !args.quiet && std::io::stderr().is_terminal();
    let stop = stop_flag()?;

    for ((file, exp), (out, need)) in exps.iter().zip(plans) {
        let start = Instant::now();
        let assigned = select(exp, shard);
        let (dir, reused) = RunDir::open(
            &out,
            exp,
            &assigned,
            shard.map(|s| s.to_string()),
            threads,
            args.resume,
        )?;
        let todo: Vec<_> = assigned
            .iter()
            .zip(&reused)
            .filter(|(_, r)| r.is_none())
            .map(|(c, _)| c.clone())
            .collect();
        if !args.quiet {
            let of_shard = shard.map(|s| format!(" (shard {s})")).unwrap_or_default();
            let reuse = if args.resume {
                format!(", {} reused", assigned.len() - todo.len())
            } else {
                String::new()
            };
            eprintln!(
                "{file}: {} cells{of_shard}{reuse} × {} trials, {threads} threads, estimated peak memory {}",
                assigned.len(),
                exp.trials,
                gib(need)
            );
        }
        let computed =
            pool.install(|| run_cells(exp, &todo, progress, &stop, &|r| dir.commit(r)))?;
        let wall = start.elapsed().as_secs_f64();
        if stop.load(Ordering::Relaxed) {
            dir.interrupted(wall)?;
            let mut again = format!("initlab run {file} --resume");
            if let Some(o) = &args.out {
                again.push_str(&format!(" --out {}", o.display()));
            }
            if let Some(s) = &args.shard {
                again.push_str(&format!(" --shard {s}"));
            }
            return Err(anyhow::Error::new(Interrupted(format!(
                "interrupted: {} of {} cells are committed in {}; resume with: {again}",
                dir.cells_done(),
                assigned.len(),
                out.display()
            ))));
        }
        let mut fresh = computed.into_iter();
        let results: Vec<_> = reused
            .into_iter()
            .map(|r| r.or_else(|| fresh.next().flatten()))
            .collect::<Option<Vec<_>>>()
            .ok_or_else(|| anyhow::anyhow!("internal error: a cell finished without a result"))?;
        dir.finish(&results, wall, Vec::new())?;
        if let Some(w) = collapse_warning(exp, &results, file) {
            eprintln!("{w}");
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

/// The run's warning naming the cells that collapsed (inf/NaN, a ratio out of range, or values
/// that underflowed the dtype), with what to do about it; `None` when every cell stayed finite.
pub fn collapse_warning(
    exp: &crate::config::Experiment,
    results: &[crate::sweep::aggregate::CellResult],
    file: &str,
) -> Option<String> {
    let mut names = Vec::new();
    let mut any_underflow = false;
    for r in results.iter().filter(|r| r.collapsed(exp.dtype)) {
        let (under, over) = r.range_exits(exp.dtype);
        any_underflow |= under > 0;
        let why = match crate::sweep::aggregate::range_exit_text(under, over, r.trials.len()) {
            w if w.is_empty() => w,
            w => format!(" ({w})"),
        };
        names.push(format!(
            "{}/{}/depth={}/{}{why}",
            r.cell.activation.label(),
            r.cell.init.label,
            r.cell.depth,
            short_widths(&r.cell.widths_label())
        ));
    }
    if names.is_empty() {
        return None;
    }
    let mut w = format!(
        "warning: {} of {} cells collapsed (values left the {} range: inf/NaN, or variances \
         underflowed to 0 or subnormal numbers): {}",
        names.len(),
        results.len(),
        exp.dtype.name(),
        names.join(", ")
    );
    if any_underflow && exp.dtype == crate::config::Dtype::F32 {
        w.push_str(&format!(
            "\n  values that underflowed are not measurements (a log10 ratio of 0 is left empty in \
             cells.csv); rerun with dtype = \"f64\" in {file} to measure them"
        ));
    }
    Some(w)
}

/// `width=256` for a constant profile, `widths=64-128-256` for a short one, else its ends and
/// length (`widths=3-16-…-128 (53 entries)`): a warning stays readable at depth 1000.
fn short_widths(profile: &str) -> String {
    let w: Vec<&str> = profile.split('-').collect();
    if w.iter().all(|x| *x == w[0]) {
        format!("width={}", w[0])
    } else if w.len() <= 8 {
        format!("widths={profile}")
    } else {
        format!(
            "widths={}-{}-…-{} ({} entries)",
            w[0],
            w[1],
            w[w.len() - 1],
            w.len()
        )
    }
}
