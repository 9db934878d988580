//! `manifest.json`: what produced the folder (initlab version, experiment, seed), which cells
//! are done with a content hash of each, and timings.

use crate::aggregate::CellResult;
use crate::config::{Cell, Experiment};
use crate::seed::{digest, short_hex};
use serde::Serialize;

#[derive(Debug, Serialize)]
pub struct ManifestCell {
    pub activation: String,
    pub init: String,
    pub depth: usize,
    pub width: usize,
    /// Hash of the cell's resolved definition (see [`cell_hash`]).
    pub hash: String,
    pub compute_seconds: f64,
    pub collapsed: bool,
}

#[derive(Debug, Serialize)]
pub struct Manifest {
    pub initlab_version: String,
    pub experiment: String,
    pub seed: u64,
    pub dtype: String,
    pub cells_total: usize,
    pub cells_done: usize,
    pub threads: usize,
    pub wall_seconds: f64,
    pub cells: Vec<ManifestCell>,
}

/// Hash of everything that determines a cell's numbers.
pub fn cell_hash(exp: &Experiment, cell: &Cell) -> String {
    let parts = [
        exp.seed.to_string(),
        exp.network.to_string(),
        exp.dtype.name().to_string(),
        exp.trials.to_string(),
        exp.batch.to_string(),
        format!("{:?}", exp.input),
        format!("{:?}", exp.output_grad),
        exp.bias.to_string(),
        cell.activation.label(),
        cell.init.init.canonical(),
        cell.width.to_string(),
        cell.depth.to_string(),
        format!("{:?}", exp.histograms),
    ];
    let refs: Vec<&str> = parts.iter().map(|s| s.as_str()).collect();
    short_hex(&digest(&refs))
}

impl Manifest {
    pub fn new(
        exp: &Experiment,
        results: &[CellResult],
        threads: usize,
        wall_seconds: f64,
    ) -> Manifest {
        Manifest {
            initlab_version: env!("CARGO_PKG_VERSION").into(),
            experiment: exp.name.clone(),
            seed: exp.seed,
            dtype: exp.dtype.name().into(),
            cells_total: exp.cells().len(),
            cells_done: results.len(),
            threads,
            wall_seconds,
            cells: results
                .iter()
                .map(|r| ManifestCell {
                    activation: r.cell.activation.label(),
                    init: r.cell.init.label.clone(),
                    depth: r.cell.depth,
                    width: r.cell.width,
                    hash: cell_hash(exp, &r.cell),
                    compute_seconds: r.seconds,
                    collapsed: r.collapsed(),
                })
                .collect(),
        }
    }

    pub fn to_json(&self) -> anyhow::Result<Vec<u8>> {
        let mut v = serde_json::to_vec_pretty(self)?;
        v.push(b'\n');
        Ok(v)
    }
}
