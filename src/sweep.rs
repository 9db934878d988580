//! Running a sweep: every cell × trial is an independent job, seeded from its content, run in
//! parallel on a rayon pool; results are regrouped by cell in sweep order, so the output does
//! not depend on the thread count or the order jobs finish.

use crate::aggregate::CellResult;
use crate::config::{Cell, Dtype, Experiment};
use crate::error::bad;
use crate::sim::{keeps_weights, simulate_timed, TrialResult, TrialSpec};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use rayon::prelude::*;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::Instant;

/// Bytes one job of `cell` holds at its peak (pre-activations, cached weights, work buffers).
pub fn job_bytes(exp: &Experiment, cell: &Cell) -> u64 {
    // u128: depth × batch × width may each be up to 2³¹.
    let b = exp.dtype.bytes() as u128;
    let (depth, width, batch) = (cell.depth as u128, cell.width as u128, exp.batch as u128);
    let acts = depth * batch * width * b;
    let weights = if keeps_weights(cell.depth, cell.width, exp.dtype.bytes()) {
        depth * width * width * b
    } else {
        0
    };
    let buffers = 8 * batch * width * b + 3 * width * width * b;
    let captures = exp.histograms.as_ref().map_or(0, |h| {
        let layers = h.layers.iter().filter(|&&l| l <= cell.depth).count() as u128;
        layers * 2 * batch * width * 8
    });
    u64::try_from(acts + weights + buffers + captures).unwrap_or(u64::MAX)
}

/// Memory the machine can give us now (MemAvailable), if known.
pub fn available_bytes() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = text.lines().find(|l| l.starts_with("MemAvailable:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

/// Estimated peak: the `threads` largest jobs at once, plus the kept captures.
pub fn estimate_bytes(exp: &Experiment, threads: usize) -> u64 {
    // Every cell has `trials` jobs; at most `threads` run at once: take the largest that many.
    let mut jobs: Vec<u64> = exp.cells().iter().map(|c| job_bytes(exp, c)).collect();
    jobs.sort_unstable_by(|a, b| b.cmp(a));
    let in_flight = jobs
        .iter()
        .flat_map(|&j| std::iter::repeat_n(j, exp.trials))
        .take(threads.max(1))
        .fold(0u64, |a, b| a.saturating_add(b));
    in_flight.saturating_add(64 << 20)
}

pub fn gib(bytes: u64) -> String {
    format!("{:.2} GiB", bytes as f64 / (1u64 << 30) as f64)
}

/// Refuse a sweep whose estimate exceeds the available memory (bad input, exit 2).
pub fn check_memory(exp: &Experiment, threads: usize, file: &str) -> anyhow::Result<u64> {
    let need = estimate_bytes(exp, threads);
    if let Some(avail) = available_bytes() {
        if need > avail {
            let biggest = exp
                .cells()
                .into_iter()
                .max_by_key(|c| job_bytes(exp, c))
                .expect("non-empty");
            return Err(bad(format!(
                "{file}: the sweep needs about {} of memory but only {} is available \
                 (largest cell: depth {} × width {} × batch {} in {}, {} per job, {threads} job(s) at once); \
                 reduce depth, width or batch, or run with --threads 1",
                gib(need),
                gib(avail),
                biggest.depth,
                biggest.width,
                exp.batch,
                exp.dtype.name(),
                gib(job_bytes(exp, &biggest)),
            )));
        }
    }
    Ok(need)
}

/// Run every cell × trial of `cells` and return the results in sweep order.
pub fn run_sweep(exp: &Experiment, cells: &[Cell], progress: bool) -> Vec<CellResult> {
    let stop = AtomicBool::new(false);
    run_cells(exp, cells, progress, &stop, &|_| Ok(()))
        .expect("no commit callback can fail")
        .into_iter()
        .map(|r| r.expect("not stopped"))
        .collect()
}

/// A finished trial, its compute seconds and the part spent drawing weights.
type Finished = (TrialResult, f64, f64);

/// Called with each cell as soon as all its trials are done (from a worker thread).
pub type OnCell<'a> = dyn Fn(&CellResult) -> anyhow::Result<()> + Sync + 'a;

/// Run every cell × trial of `cells` in parallel on the current rayon pool. Each cell is handed
/// to `on_cell` the moment its last trial finishes (to be committed to disk). Jobs not yet
/// started when `stop` is raised are skipped, so their cells come back `None`. The first error
/// from `on_cell` stops the sweep and is returned.
pub fn run_cells(
    exp: &Experiment,
    cells: &[Cell],
    progress: bool,
    stop: &AtomicBool,
    on_cell: &OnCell,
) -> anyhow::Result<Vec<Option<CellResult>>> {
    let jobs: Vec<(usize, usize)> = (0..cells.len())
        .flat_map(|c| (0..exp.trials).map(move |t| (c, t)))
        .collect();
    let flops: Vec<f64> = jobs
        .iter()
        .map(|&(c, _)| {
            6.0 * exp.batch as f64 * (cells[c].width as f64).powi(2) * cells[c].depth as f64
        })
        .collect();
    let bar = if progress {
        let total = flops.iter().sum::<f64>().max(1.0);
        let bar = ProgressBar::with_draw_target(Some(1000), ProgressDrawTarget::stderr());
        bar.set_style(
            ProgressStyle::with_template(
                "{msg} [{elapsed_precise}] {wide_bar} {percent}% eta {eta}",
            )
            .expect("valid template"),
        );
        bar.set_message(format!("{}: {} cells", exp.name, cells.len()));
        Some((bar, total))
    } else {
        None
    };
    let done = AtomicU64::new(0);
    let capture: Vec<usize> = exp
        .histograms
        .as_ref()
        .map(|h| h.layers.clone())
        .unwrap_or_default();
    let bins = exp.histograms.as_ref().map(|h| h.bins);
    // Per cell: the finished trials, and how many are still missing.
    let pending: Vec<Mutex<Vec<Option<Finished>>>> = cells
        .iter()
        .map(|_| Mutex::new((0..exp.trials).map(|_| None).collect()))
        .collect();
    let missing: Vec<AtomicUsize> = cells.iter().map(|_| AtomicUsize::new(exp.trials)).collect();
    let finished: Vec<Mutex<Option<CellResult>>> = cells.iter().map(|_| Mutex::new(None)).collect();
    let failure: Mutex<Option<anyhow::Error>> = Mutex::new(None);

    jobs.par_iter().zip(&flops).for_each(|(&(c, trial), &f)| {
        if stop.load(Ordering::Relaxed) {
            return;
        }
        let cell = &cells[c];
        let spec = TrialSpec {
            seed: exp.seed,
            activation: cell.activation,
            init: &cell.init.init,
            width: cell.width,
            depth: cell.depth,
            batch: exp.batch,
            bias: exp.bias,
            input: exp.input,
            output_grad: exp.output_grad,
            trial,
            capture: &capture,
        };
        let start = Instant::now();
        let _running = crate::gemm::JobGuard::start();
        let (r, weight_secs) = match exp.dtype {
            Dtype::F32 => simulate_timed::<f32>(&spec),
            Dtype::F64 => simulate_timed::<f64>(&spec),
        };
        let secs = start.elapsed().as_secs_f64();
        pending[c].lock().expect("no poisoned lock")[trial] = Some((r, secs, weight_secs));
        if missing[c].fetch_sub(1, Ordering::AcqRel) == 1 {
            let parts = std::mem::take(&mut *pending[c].lock().expect("no poisoned lock"));
            let seconds = parts.iter().flatten().map(|(_, s, _)| s).sum();
            let weight_seconds = parts.iter().flatten().map(|(_, _, w)| w).sum();
            let trials = parts
                .into_iter()
                .map(|p| p.expect("every trial finished").0)
                .collect();
            let result = CellResult::new(cell.clone(), trials, (seconds, weight_seconds), bins);
            match on_cell(&result) {
                Ok(()) => *finished[c].lock().expect("no poisoned lock") = Some(result),
                Err(e) => {
                    stop.store(true, Ordering::Relaxed);
                    failure.lock().expect("no poisoned lock").get_or_insert(e);
                }
            }
        }
        if let Some((bar, total)) = &bar {
            let d = done.fetch_add(f as u64, Ordering::Relaxed) + f as u64;
            bar.set_position((1000.0 * d as f64 / total) as u64);
        }
    });
    if let Some((bar, _)) = bar {
        bar.finish_and_clear();
    }
    if let Some(e) = failure.into_inner().expect("no poisoned lock") {
        return Err(e);
    }
    Ok(finished
        .into_iter()
        .map(|m| m.into_inner().expect("no poisoned lock"))
        .collect())
}
