//! The mean-field numbers written beside each training run (`train.csv`'s last columns):
//! σ_w² = fan_in·Var[w] and σ_b² = Var[b] of the cell's last weighted layer (a hidden layer of
//! a constant-width net: the one the depth scale is about), and the correlation depth scale ξ_c
//! of (φ, σ_w², σ_b²) — Schoenholz et al. 2017 find a network trainable only to depth ≈ 6·ξ_c.
//! None for residual nets and where [`crate::theory::recursion::layer_init`] gives no theory.

use crate::config::Cell;
use crate::theory::meanfield::{mean_field, Params};
use crate::theory::recursion::layer_init;

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CellTheory {
    pub sigma_w2: f64,
    pub sigma_b2: f64,
    pub xi_c: f64,
}

/// The mean-field σ_w², σ_b² and ξ_c of a plain (non-residual) cell.
pub fn cell_theory(cell: &Cell) -> Option<CellTheory> {
    let net = cell.network();
    if !net.blocks().is_empty() {
        return None;
    }
    let taps = net.taps();
    let tap = taps.last()?;
    let li = layer_init(&cell.init.init, tap).ok()?;
    let p = Params {
        sigma_w2: li.forward_gain,
        sigma_b2: li.bias_var,
        bias_mean: li.bias_mean,
        q_in: 1.0,
    };
    Some(CellTheory {
        sigma_w2: p.sigma_w2,
        sigma_b2: p.sigma_b2,
        xi_c: mean_field(cell.activation, &p).xi_c,
    })
}
