//! Running a sweep: every cell × trial is seeded from its content and runs in parallel on a
//! rayon pool, as one job per (group of cells that share weights) × trial ([`weight_groups`]);
//! results are regrouped by cell in sweep order, so the output does not depend on the thread
//! count, the grouping, or the order jobs finish.

pub mod aggregate;
pub mod shard;
pub mod store;

use aggregate::CellResult;
use crate::config::{Cell, Dtype, Experiment};
use crate::error::bad;
use crate::sim::{keeps_weights, simulate_group_timed, TrialResult, TrialSpec};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use rayon::prelude::*;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::Mutex;

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

/// Cells whose trials can share weights, in sweep order of their first cell: the same init
/// (weight and bias) and width — the weight streams do not depend on activation or depth — and
/// small enough that the deepest keeps its weights ([`keeps_weights`]). One job runs a group's
/// cells for one trial and draws each layer once (W1: 24 jobs become 12 and half the draws go).
/// Cells too large to keep their weights run alone.
pub fn weight_groups(exp: &Experiment, cells: &[Cell]) -> Vec<Vec<usize>> {
    // (init, width) of the group, its deepest cell, its cells.
    let mut groups: Vec<((String, usize), usize, Vec<usize>)> = Vec::new();
    for (c, cell) in cells.iter().enumerate() {
        let key = (cell.init.init.canonical(), cell.width);
        let shared = groups.iter_mut().find(|(k, deepest, _)| {
            *k == key && keeps_weights((*deepest).max(cell.depth), cell.width, exp.dtype.bytes())
        });
        match shared {
            Some((_, deepest, members)) => {
                *deepest = (*deepest).max(cell.depth);
                members.push(c);
            }
            None => groups.push((key, cell.depth, vec![c])),
        }
    }
    groups.into_iter().map(|(_, _, members)| members).collect()
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
                .map(|&c| {
                    let cell = &cells[c];
                    6.0 * exp.batch as f64 * (cell.width as f64).powi(2) * cell.depth as f64
                })
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
            let specs: Vec<TrialSpec> = group
                .iter()
                .map(|&c| {
                    let cell = &cells[c];
                    TrialSpec {
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
                    }
                })
                .collect();
            let _running = crate::sim::kernels::gemm::JobGuard::start();
            let results = match exp.dtype {
                Dtype::F32 => simulate_group_timed::<f32>(&specs),
                Dtype::F64 => simulate_group_timed::<f64>(&specs),
            };
            for (&c, (r, secs, weight_secs)) in group.iter().zip(results) {
                let cell = &cells[c];
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

#[cfg(test)]
mod tests {
    use super::*;

    /// Cells group by (init, width) across activations and depths, in sweep order; a group
    /// stops growing where the deepest cell could no longer keep its weights.
    #[test]
    fn cells_group_by_shared_weights() {
        let text = r#"
            seed = 1
            trials = 2
            batch = 4
            [network]
            depth = [3, 5]
            width = [8, 16]
            activation = ["relu", "tanh"]
            [[init]]
            preset = "pytorch_default"
            [[init]]
            weight = { scheme = "xavier_normal" }
        "#;
        let exp = Experiment::parse(text, "g.toml", "g").unwrap();
        let cells = exp.cells();
        let groups = weight_groups(&exp, &cells);
        assert_eq!(groups.len(), 4, "2 inits × 2 widths");
        let mut seen: Vec<usize> = groups.iter().flatten().copied().collect();
        seen.sort_unstable();
        assert_eq!(seen, (0..cells.len()).collect::<Vec<_>>(), "each cell once");
        for g in &groups {
            assert_eq!(g.len(), 4, "2 activations × 2 depths");
            let key = |c: usize| (cells[c].init.init.canonical(), cells[c].width);
            assert!(g.iter().all(|&c| key(c) == key(g[0])));
            assert!(g.windows(2).all(|w| w[0] < w[1]), "sweep order");
        }
        // Width 8192 at depth 3 keeps 768 MiB of f32 weights: over the cache, so no sharing.
        let big = Experiment::parse(
            &text.replace("width = [8, 16]", "width = 8192"),
            "g.toml",
            "g",
        )
        .unwrap();
        let big_cells = big.cells();
        assert_eq!(weight_groups(&big, &big_cells).len(), big_cells.len());
    }
}
