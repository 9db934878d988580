//! Running a sweep: every cell × trial is seeded from its content and runs in parallel on a
//! rayon pool, as one job per (group of cells that share weights) × trial ([`weight_groups`]);
//! results are regrouped by cell in sweep order, so the output does not depend on the thread
//! count, the grouping, or the order jobs finish.

pub mod aggregate;
pub mod beyond;
pub mod jobs;
pub mod memory;
pub mod shard;
pub mod store;

pub use jobs::weight_groups;
pub use memory::{check_memory, estimate_bytes, gib, job_bytes};

use crate::config::{Cell, Dtype, Experiment};
use crate::sim::{simulate_group_timed, TrialResult, TrialSpec};
use aggregate::CellResult;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use rayon::prelude::*;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::Mutex;

/// The training runs of one cell-trial (`[train]`), in the experiment's dtype.
fn train_trial(
    exp: &Experiment,
    cell: &Cell,
    network: &crate::arch::network::Network,
    trial: usize,
    cfg: &crate::train::TrainConfig,
    lsuv_scales: &[f64],
) -> Vec<crate::train::TrainRow> {
    let spec = crate::train::TrainSpec {
        seed: exp.seed,
        activation: cell.activation,
        init: &cell.init.init,
        network,
        trial,
        cfg,
        lsuv_scales,
    };
    match exp.dtype {
        Dtype::F32 => crate::train::train::<f32>(&spec),
        Dtype::F64 => crate::train::train::<f64>(&spec),
    }
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
    let jobs: Vec<(Vec<usize>, usize)> = weight_groups(exp, cells)
        .into_iter()
        .flat_map(|g| (0..exp.trials).map(move |t| (g.clone(), t)))
        .collect();
    let flops: Vec<f64> = jobs
        .iter()
        .map(|(group, _)| {
            group
                .iter()
                .map(|&c| jobs::cell_flops(exp, &cells[c]))
                .sum()
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

    jobs.par_iter()
        .zip(&flops)
        .for_each(|(&(ref group, trial), &f)| {
            if stop.load(Ordering::Relaxed) {
                return;
            }
            let networks: Vec<_> = group.iter().map(|&c| cells[c].network()).collect();
            let specs: Vec<TrialSpec> = group
                .iter()
                .zip(&networks)
                .map(|(&c, network)| {
                    let cell = &cells[c];
                    TrialSpec {
                        seed: exp.seed,
                        activation: cell.activation,
                        init: &cell.init.init,
                        network,
                        batch: exp.batch,
                        input: exp.input,
                        output_grad: exp.output_grad,
                        trial,
                        capture: &capture,
                        spectrum: exp.spectrum,
                    }
                })
                .collect();
            let _running = crate::sim::kernels::gemm::JobGuard::start();
            let results = match exp.dtype {
                Dtype::F32 => simulate_group_timed::<f32>(&specs),
                Dtype::F64 => simulate_group_timed::<f64>(&specs),
            };
            for ((&c, network), (mut r, mut secs, weight_secs)) in
                group.iter().zip(&networks).zip(results)
            {
                let cell = &cells[c];
                // ---- issue 13: a trial LSUV could not initialize is bad input ----
                if let Some(why) = &r.failure {
                    stop.store(true, Ordering::Relaxed);
                    failure
                        .lock()
                        .expect("no poisoned lock")
                        .get_or_insert_with(|| {
                            crate::error::bad(format!(
                            "{}: init '{}' with activation {} and widths {}, trial {trial}: {why}",
                            exp.name,
                            cell.init.label,
                            cell.activation.label(),
                            cell.widths_label()
                        ))
                        });
                    continue;
                }
                // [train] (issue 14): train from this trial's initialization.
                if let Some(cfg) = &exp.train {
                    let start = std::time::Instant::now();
                    let scales: Vec<f64> = r.lsuv.iter().map(|u| u.scale).collect();
                    r.train = train_trial(exp, cell, network, trial, cfg, &scales);
                    secs += start.elapsed().as_secs_f64();
                }
                pending[c].lock().expect("no poisoned lock")[trial] = Some((r, secs, weight_secs));
                if missing[c].fetch_sub(1, Ordering::AcqRel) != 1 {
                    continue;
                }
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
