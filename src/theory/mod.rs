//! Theory beside every measurement: pure functions of the activation, the init's per-layer
//! weight and bias statistics, and the widths. No simulation, no I/O (except [`phase::write_phase`]).
//!
//! - [`quadrature`]: Gauss–Hermite nodes and weights (computed here), split adaptive
//!   Gauss–Kronrod for kinks and steep integrands.
//! - [`gaussian`]: E[φ], E[φ²], E[φ′], E[φ′²], d/dq E[φ²] and the two-point expectations under a
//!   Gaussian pre-activation; closed forms for linear/ReLU/leaky ReLU/ELU/SELU.
//! - [`recursion`]: He et al. 2015 (Eq. 7–9, 11–13) and Glorot & Bengio 2010 (Eq. 5–6)
//!   layer-by-layer forward and backward variances — the `theory_preact_var`/`theory_grad_var`
//!   columns of `summary.csv`.
//! - [`meanfield`]: the length and correlation maps, q*, c*, χ1, ξ_q, ξ_c, the phase and the
//!   critical line (Poole et al. 2016; Schoenholz et al. 2017).
//! - [`phase`]: phase-diagram grids and their CSV files.
//! - [`gain`]: the variance-preserving gain of any activation, its stability, χ1 and the edge
//!   of chaos there, beside PyTorch's `calculate_gain` (`initlab gain`).
//!
//! Where no theory applies (the columns are left empty): deterministic weights (`eye`,
//! `dirac`) and weights with a non-zero mean (see [`recursion::layer_init`]).

pub mod blocks;
pub mod fluct;
pub mod gain;
pub mod gaussian;
pub mod meanfield;
pub mod phase;
pub mod quadrature;
pub mod recursion;
pub mod spectrum;

#[cfg(test)]
mod tests;

pub use meanfield::{mean_field, MeanField, Params, Phase};
pub use recursion::{LayerInit, LayerPrediction};

use crate::config::{Cell, Experiment};

/// The per-layer predictions for one cell of `exp` (its network, init, activation, input and
/// output-gradient distributions), or why no theory applies.
pub fn cell_predictions(exp: &Experiment, cell: &Cell) -> Result<Vec<LayerPrediction>, String> {
    if cell.init.init.lsuv.is_some() {
        return Err("LSUV's scales come from the data, not from a formula".into());
    }
    recursion::predict(
        cell.activation,
        &cell.init.init,
        &cell.network(),
        exp.input,
        exp.output_grad,
    )
}

/// The per-block predictions of a residual cell (see [`blocks`]), or why none apply.
pub fn cell_block_predictions(
    exp: &Experiment,
    cell: &Cell,
) -> Result<Vec<blocks::BlockPrediction>, String> {
    blocks::predict_blocks(
        cell.activation,
        &cell.init.init,
        &cell.network(),
        exp.input.std * exp.input.std,
    )
}

/// |log10(measured/theory)|: 0 when equal (also 0 = 0), ∞ when exactly one is zero or the
/// measurement is not finite; `None` when the theory value is NaN (nothing to compare).
pub fn log10_gap(measured: f64, theory: f64) -> Option<f64> {
    if theory.is_nan() {
        return None;
    }
    if measured == theory {
        return Some(0.0);
    }
    if !measured.is_finite() {
        return Some(f64::INFINITY);
    }
    Some((measured / theory).log10().abs())
}
