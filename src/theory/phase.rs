//! The order–chaos phase diagram of an activation (Poole et al. 2016, Fig. 2–3; Schoenholz et
//! al. 2017, Fig. 1): χ1, ξ_c and q* on a grid of (σ_w², σ_b²), and the critical line χ1 = 1.
//!
//! Data for the chart (drawn by the plot module): σ_w² on x, σ_b² on y, the critical line,
//! the ordered (χ1 < 1) and chaotic (χ1 > 1) regions, and the 6·ξ_c contour — Schoenholz et
//! al.'s bound on the depth a network can be trained at.
//!
//! Files ([`write_phase`]):
//! - `phase.csv`: `sigma_w2,sigma_b2,chi1,xi_c,q_star,xi_q,c_star,phase`, one row per grid
//!   point, σ_b² outer, σ_w² inner, both ascending (`inf` where a depth scale or q* is infinite);
//! - `critical_line.csv`: `sigma_b2,sigma_w2`, σ_w² empty where χ1 does not cross 1 in [10⁻³, 10³].

use super::meanfield::{critical_sigma_w2, mean_field, Params};
use crate::activation::Activation;
use crate::output::tables::{csv_bytes, num};
use rayon::prelude::*;
use std::path::Path;

/// The grid of a phase diagram.
#[derive(Debug, Clone, PartialEq)]
pub struct PhaseGrid {
    pub sigma_w2: Vec<f64>,
    pub sigma_b2: Vec<f64>,
}

fn linspace(lo: f64, hi: f64, n: usize) -> Vec<f64> {
    match n {
        0 => Vec::new(),
        1 => vec![lo],
        _ => (0..n)
            .map(|i| lo + (hi - lo) * i as f64 / (n - 1) as f64)
            .collect(),
    }
}

impl PhaseGrid {
    /// `nw` σ_w² values evenly in [w_lo, w_hi] × `nb` σ_b² values evenly in [b_lo, b_hi].
    pub fn linear(w_lo: f64, w_hi: f64, nw: usize, b_lo: f64, b_hi: f64, nb: usize) -> PhaseGrid {
        PhaseGrid {
            sigma_w2: linspace(w_lo, w_hi, nw),
            sigma_b2: linspace(b_lo, b_hi, nb),
        }
    }

    /// σ_w² ∈ [0.5, 4.5] (step 0.125) × σ_b² ∈ [0, 0.5] (step 0.05): the range of Poole et al.
    /// 2016, Fig. 3 and Schoenholz et al. 2017, Fig. 1, holding `experiments/phase_tanh.toml`'s
    /// sweep. 363 points: about 5 s for tanh on two cores (the chaotic side needs c*, a root of
    /// a two-dimensional integral); the critical line is computed exactly on its own.
    pub fn standard() -> PhaseGrid {
        PhaseGrid::linear(0.5, 4.5, 33, 0.0, 0.5, 11)
    }

    /// The same range on a fine grid for the heatmap (issue 14): σ_w² step 0.0625 × σ_b² step
    /// 0.02, 65 × 26 = 1,690 points (about 25 s for tanh on two cores).
    pub fn fine() -> PhaseGrid {
        PhaseGrid::linear(0.5, 4.5, 65, 0.0, 0.5, 26)
    }
}

/// One grid point.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PhaseRow {
    pub sigma_w2: f64,
    pub sigma_b2: f64,
    pub chi1: f64,
    pub xi_c: f64,
    pub q_star: f64,
    pub xi_q: f64,
    pub c_star: f64,
    pub phase: &'static str,
}

/// The mean-field quantities on every grid point (zero-mean bias, unit input), in parallel;
/// rows σ_b²-major, both axes in the grid's order.
pub fn phase_diagram(act: Activation, grid: &PhaseGrid) -> Vec<PhaseRow> {
    let points: Vec<(f64, f64)> = grid
        .sigma_b2
        .iter()
        .flat_map(|&b| grid.sigma_w2.iter().map(move |&w| (w, b)))
        .collect();
    points
        .par_iter()
        .map(|&(w, b)| {
            let mf = mean_field(act, &Params::new(w, b));
            PhaseRow {
                sigma_w2: w,
                sigma_b2: b,
                chi1: mf.chi1,
                xi_c: mf.xi_c,
                q_star: mf.q_star,
                xi_q: mf.xi_q,
                c_star: mf.c_star,
                phase: mf.phase.name(),
            }
        })
        .collect()
}

/// The critical line: for each σ_b², the σ_w² with χ1 = 1 (zero-mean bias, unit input).
pub fn critical_line(act: Activation, sigma_b2: &[f64]) -> Vec<(f64, Option<f64>)> {
    sigma_b2
        .par_iter()
        .map(|&b| (b, critical_sigma_w2(act, &Params::new(1.0, b))))
        .collect()
}

/// Header of `phase.csv`.
pub const PHASE_HEADER: &[&str] = &[
    "sigma_w2", "sigma_b2", "chi1", "xi_c", "q_star", "xi_q", "c_star", "phase",
];

/// `phase.csv` bytes.
pub fn phase_csv(rows: &[PhaseRow]) -> anyhow::Result<Vec<u8>> {
    csv_bytes(
        PHASE_HEADER,
        rows.iter().map(|r| {
            vec![
                num(r.sigma_w2),
                num(r.sigma_b2),
                num(r.chi1),
                num(r.xi_c),
                num(r.q_star),
                num(r.xi_q),
                num(r.c_star),
                r.phase.to_string(),
            ]
        }),
    )
}

/// `critical_line.csv` bytes.
pub fn critical_line_csv(line: &[(f64, Option<f64>)]) -> anyhow::Result<Vec<u8>> {
    csv_bytes(
        &["sigma_b2", "sigma_w2"],
        line.iter()
            .map(|&(b, w)| vec![num(b), w.map(num).unwrap_or_default()]),
    )
}

/// Compute the phase diagram of `act` on `grid` and write `dir/phase.csv` and
/// `dir/critical_line.csv` (atomically; `dir` is created if missing). This is the entry point
/// for the phase-diagram chart: the plot code reads these two files.
pub fn write_phase(dir: &Path, act: Activation, grid: &PhaseGrid) -> anyhow::Result<()> {
    use crate::output::atomic::write_atomic;
    std::fs::create_dir_all(dir).map_err(|e| anyhow::anyhow!("creating {}: {e}", dir.display()))?;
    let rows = phase_diagram(act, grid);
    write_atomic(&dir.join("phase.csv"), &phase_csv(&rows)?)?;
    let line = critical_line(act, &grid.sigma_b2);
    write_atomic(&dir.join("critical_line.csv"), &critical_line_csv(&line)?)?;
    Ok(())
}
