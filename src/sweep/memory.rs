//! Memory: what one job of a cell holds at its peak, what the machine has, and the check that
//! refuses a sweep that would not fit (bad input, exit 2) before anything is written.

use crate::config::{Cell, Experiment};
use crate::error::bad;
use crate::sim::keeps_weights;

/// Bytes one job of `cell` holds at its peak: the network's stored tensors, work buffers,
/// im2col blocks and weights ([`crate::arch::network::Network::job_bytes`]), plus the f64
/// copies of its histogram captures.
pub fn job_bytes(exp: &Experiment, cell: &Cell) -> u64 {
    let net = cell.network();
    let elem = exp.dtype.bytes();
    let keep = keeps_weights(net.weight_entries(), elem);
    let mut bytes = net.job_bytes(exp.batch, elem, keep);
    // [train] (issue 14): a training run keeps every weight and passes up to max_batch samples.
    if let Some(t) = &exp.train {
        let train = net.job_bytes(crate::train::max_batch(t), elem, true);
        bytes = bytes.max(2 * train);
    }
    let captures = exp.histograms.as_ref().map_or(0, |h| {
        net.taps()
            .iter()
            .filter(|t| h.layers.contains(&t.index))
            .map(|t| 2 * exp.batch as u128 * t.output.len() as u128 * 8)
            .sum::<u128>()
    });
    u64::try_from(bytes + captures).unwrap_or(u64::MAX)
}

/// Memory the machine can give us now (MemAvailable), if known.
pub fn available_bytes() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = text.lines().find(|l| l.starts_with("MemAvailable:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

/// Estimated peak: the `threads` largest jobs at once, plus 16 MiB for the process itself
/// (measured: 5.4 MiB of RSS for a trivial run).
pub fn estimate_bytes(exp: &Experiment, threads: usize) -> u64 {
    // Every cell has `trials` jobs; at most `threads` run at once: take the largest that many.
    let mut jobs: Vec<u64> = exp.cells().iter().map(|c| job_bytes(exp, c)).collect();
    jobs.sort_unstable_by(|a, b| b.cmp(a));
    let in_flight = jobs
        .iter()
        .flat_map(|&j| std::iter::repeat_n(j, exp.trials))
        .take(threads.max(1))
        .fold(0u64, |a, b| a.saturating_add(b));
    in_flight.saturating_add(16 << 20)
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
                 (largest cell: {} with widths {} × batch {} in {}, {} per job, {threads} job(s) at once); \
                 reduce depth, width, image or batch, or run with --threads 1",
                gib(need),
                gib(avail),
                biggest.arch.label(),
                biggest.widths_label(),
                exp.batch,
                exp.dtype.name(),
                gib(job_bytes(exp, &biggest)),
            )));
        }
    }
    Ok(need)
}
