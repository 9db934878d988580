//! `manifest.json`: what produced the folder (initlab version, experiment and its hash, seed,
//! shard), its status (`running`, `interrupted`, `complete`), every committed cell with the hash
//! of its definition and the initlab version that computed it, and timings. It is rewritten
//! atomically after every committed cell.

use crate::config::{Cell, Experiment};
use crate::seed::{digest, short_hex};
use crate::sweep::aggregate::CellResult;
use serde::{Deserialize, Serialize};

pub const VERSION: &str = env!("CARGO_PKG_VERSION");

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ManifestCell {
    /// The `network` column's label.
    #[serde(default)]
    pub network: String,
    pub activation: String,
    pub init: String,
    pub depth: usize,
    pub width: usize,
    /// The `widths` column's profile.
    #[serde(default)]
    pub widths: String,
    /// Hash of the cell's resolved definition (see [`cell_hash`]).
    pub hash: String,
    /// The initlab version that computed it.
    pub initlab_version: String,
    pub compute_seconds: f64,
    /// Of which drawing weights and biases.
    #[serde(default)]
    pub weight_seconds: f64,
    pub collapsed: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Manifest {
    pub initlab_version: String,
    pub experiment: String,
    /// Hash of the resolved `experiment.toml`.
    pub experiment_hash: String,
    pub seed: u64,
    pub dtype: String,
    /// `running`, `interrupted` or `complete`.
    pub status: String,
    /// `I/N` when this folder holds one shard of the sweep.
    pub shard: Option<String>,
    /// Cells of the whole sweep.
    pub sweep_cells: usize,
    /// Hashes of the cells this folder is responsible for, in sweep order.
    pub assigned: Vec<String>,
    pub cells_total: usize,
    pub cells_done: usize,
    pub threads: usize,
    pub wall_seconds: f64,
    /// Sum of the committed cells' compute seconds (all threads).
    #[serde(default)]
    pub compute_seconds: f64,
    /// Of which drawing weights and biases.
    #[serde(default)]
    pub weight_seconds: f64,
    /// The memory estimate `run` checked before starting.
    #[serde(default)]
    pub estimated_peak_bytes: u64,
    /// The process's peak resident set size (VmHWM) when the run finished.
    #[serde(default)]
    pub peak_rss_bytes: Option<u64>,
    /// Shard folders this one was merged from.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub merged_from: Vec<String>,
    /// Committed cells, in sweep order.
    pub cells: Vec<ManifestCell>,
}

/// Hash of everything that determines a cell's numbers (labels excluded: they are cosmetic).
pub fn cell_hash(exp: &Experiment, cell: &Cell) -> String {
    // Every key that changes a number: the whole architecture (kind, conv keys, norm, the
    // ResNet's α, β and recipe) and bias, and the whole profile, so --resume never reuses
    // another network's part.
    let parts = [
        exp.seed.to_string(),
        format!("{:?}", cell.arch),
        exp.dtype.name().to_string(),
        exp.trials.to_string(),
        exp.batch.to_string(),
        format!("{:?}", exp.input),
        format!("{:?}", exp.output_grad),
        cell.arch.bias.to_string(),
        cell.activation.label(),
        cell.init.init.canonical(),
        cell.widths_label(),
        format!("{:?}", exp.histograms),
    ];
    // [train] (issue 14): every training key changes trained numbers; absent, the hash is
    // the one of before.
    let train = exp.train.as_ref().map(|t| t.canonical());
    let mut parts: Vec<String> = parts.into_iter().chain(train).collect();
    // Issue 13: the Jacobian inputs change the cell's numbers (spectra, cells.csv moments).
    if let Some(s) = &exp.spectrum {
        parts.push(format!("{s:?}"));
    }
    let refs: Vec<&str> = parts.iter().map(|s| s.as_str()).collect();
    short_hex(&digest(&refs))
}

/// Hash of the resolved experiment text.
pub fn experiment_hash(exp: &Experiment) -> String {
    short_hex(&digest(&[&exp.resolved_toml()]))
}

impl ManifestCell {
    pub fn of(exp: &Experiment, r: &CellResult) -> ManifestCell {
        ManifestCell {
            network: r.cell.network_label.clone(),
            activation: r.cell.activation.label(),
            init: r.cell.init.label.clone(),
            depth: r.cell.depth,
            width: r.cell.width,
            widths: r.cell.widths_label(),
            hash: cell_hash(exp, &r.cell),
            initlab_version: VERSION.into(),
            compute_seconds: r.seconds,
            weight_seconds: r.weight_seconds,
            collapsed: r.collapsed(exp.dtype),
        }
    }
}

impl Manifest {
    /// A manifest for a run over `assigned` cells of `exp`.
    pub fn new(
        exp: &Experiment,
        assigned: &[Cell],
        shard: Option<String>,
        threads: usize,
    ) -> Manifest {
        Manifest {
            initlab_version: VERSION.into(),
            experiment: exp.name.clone(),
            experiment_hash: experiment_hash(exp),
            seed: exp.seed,
            dtype: exp.dtype.name().into(),
            status: "running".into(),
            shard,
            sweep_cells: exp.cells().len(),
            assigned: assigned.iter().map(|c| cell_hash(exp, c)).collect(),
            cells_total: assigned.len(),
            cells_done: 0,
            threads,
            wall_seconds: 0.0,
            compute_seconds: 0.0,
            weight_seconds: 0.0,
            estimated_peak_bytes: crate::sweep::estimate_bytes(exp, threads),
            peak_rss_bytes: None,
            merged_from: Vec::new(),
            cells: Vec::new(),
        }
    }

    /// Record a committed cell, keeping `cells` in the order of `assigned`.
    pub fn add(&mut self, cell: ManifestCell) {
        self.cells.retain(|c| c.hash != cell.hash);
        self.cells.push(cell);
        let pos = |h: &str| {
            self.assigned
                .iter()
                .position(|a| a == h)
                .unwrap_or(usize::MAX)
        };
        let mut cells = std::mem::take(&mut self.cells);
        cells.sort_by_key(|c| pos(&c.hash));
        self.cells = cells;
        self.cells_done = self.cells.len();
        self.compute_seconds = self.cells.iter().map(|c| c.compute_seconds).sum();
        self.weight_seconds = self.cells.iter().map(|c| c.weight_seconds).sum();
    }

    pub fn to_json(&self) -> anyhow::Result<Vec<u8>> {
        let mut v = serde_json::to_vec_pretty(self)?;
        v.push(b'\n');
        Ok(v)
    }
}
