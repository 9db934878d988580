//! Issue 13's files:
//! - `lsuv.csv`, one row per LSUV cell × trial × weighted layer: the rescalings applied, the
//!   final scale (final weight = scale × base weight), the output variance Var(B_l) reached,
//!   and whether |Var − 1| < tol;
//! - `spectrum.csv`, one row per cell × trial × saved input × singular value of the
//!   input–output Jacobian (largest first, `index` 1-based);
//! - `spectrum_theory.csv`, the free-probability density of log10 λ (λ = σ²) for the cells
//!   whose law is closed-form (linear or ReLU, i.i.d. or orthogonal square layers):
//!   [`crate::theory::spectrum::ClosedLaw::log10_density`] at [`THEORY_RAYS`] rays.

use super::tables::{cell_prefix, csv_bytes, no_tail, num, per_trial_rows};
use crate::config::Experiment;
use crate::sim::TrialResult;
use crate::sweep::aggregate::CellResult;

pub const LSUV_HEADER: &[&str] = &[
    "experiment",
    "network",
    "activation",
    "init",
    "depth",
    "width",
    "batch",
    "trial",
    "layer",
    "iterations",
    "scale",
    "var",
    "converged",
    "widths",
];

/// Whether any cell has LSUV rows.
pub fn has_lsuv(results: &[CellResult]) -> bool {
    results
        .iter()
        .any(|r| r.trials.iter().any(|t| !t.lsuv.is_empty()))
}

pub fn lsuv_csv(exp: &Experiment, results: &[CellResult]) -> anyhow::Result<Vec<u8>> {
    let fields = |tr: &TrialResult| {
        tr.lsuv
            .iter()
            .map(|u| {
                vec![
                    u.layer.to_string(),
                    u.iterations.to_string(),
                    num(u.scale),
                    num(u.var),
                    u.converged.to_string(),
                ]
            })
            .collect()
    };
    csv_bytes(LSUV_HEADER, per_trial_rows(exp, results, fields, no_tail))
}

pub const SPECTRUM_HEADER: &[&str] = &[
    "experiment",
    "network",
    "activation",
    "init",
    "depth",
    "width",
    "batch",
    "trial",
    "input",
    "index",
    "singular_value",
    "widths",
];

pub fn spectrum_csv(exp: &Experiment, results: &[CellResult]) -> anyhow::Result<Vec<u8>> {
    let fields = |tr: &TrialResult| {
        let mut rows = Vec::new();
        for (a, sv) in tr.spectrum.iter().enumerate() {
            for (k, &s) in sv.iter().enumerate() {
                rows.push(vec![a.to_string(), (k + 1).to_string(), num(s)]);
            }
        }
        rows
    };
    csv_bytes(
        SPECTRUM_HEADER,
        per_trial_rows(exp, results, fields, no_tail),
    )
}

/// Points per cell of `spectrum_theory.csv`.
pub const THEORY_RAYS: usize = 100;

pub const SPECTRUM_THEORY_HEADER: &[&str] = &[
    "experiment",
    "network",
    "activation",
    "init",
    "depth",
    "width",
    "batch",
    "log10_lambda",
    "density",
    "widths",
];

pub fn spectrum_theory_csv(exp: &Experiment, results: &[CellResult]) -> anyhow::Result<Vec<u8>> {
    let rows = results.iter().flat_map(|r| {
        let prefix = cell_prefix(exp, r);
        let pts = crate::theory::spectrum::closed_law(&r.cell)
            .map(|law| law.log10_density(THEORY_RAYS))
            .unwrap_or_default();
        pts.into_iter().map(move |(x, d)| {
            let mut row = prefix.clone();
            row.extend([num(x), num(d), r.cell.widths_label()]);
            row
        })
    });
    csv_bytes(SPECTRUM_THEORY_HEADER, rows)
}
