//! LSUV, layer-sequential unit-variance initialization (Mishkin & Matas 2016, "All you need is
//! a good init", Algorithm 1): draw every weight from a base scheme (orthogonal by default),
//! then, layer by layer in forward order, pass the trial's input batch through the net and
//! rescale the layer's weight W_l ← W_l/√Var(B_l) until |Var(B_l) − 1| < tol or `max_iters`
//! rescalings, where B_l is the layer's output (its pre-activation y_l, before φ). The
//! procedure itself runs in the simulator ([`crate::sim::lsuv`]); here are its keys.
//!
//! Experiment syntax: `weight = { scheme = "lsuv", base = "orthogonal", tol = 0.1,
//! max_iters = 10 }` (`base` a scheme name or table, not a preset). It needs a network and
//! data, so `initlab weights` refuses it.

use super::Scheme;
use crate::error::bad;
use toml::{Table, Value};

pub const DEFAULT_TOL: f64 = 0.1;
pub const DEFAULT_MAX_ITERS: usize = 10;
/// Largest accepted `max_iters`.
pub const MAX_ITERS_LIMIT: usize = 1000;

/// LSUV's own keys (the base scheme is the init's weight scheme).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Lsuv {
    /// Stop when |Var(B_l) − 1| < tol; 0 < tol < 1.
    pub tol: f64,
    /// At most this many rescalings per layer; 1 ≤ max_iters ≤ 1000.
    pub max_iters: usize,
}

impl Lsuv {
    /// Canonical text of LSUV over the base's canonical text.
    pub fn canonical(&self, base: &str) -> String {
        format!(
            "lsuv(base={base}, tol={}, max_iters={})",
            self.tol, self.max_iters
        )
    }

    /// The `weight = { scheme = "lsuv", ... }` table of the resolved experiment.
    pub fn to_table(&self, base: &Scheme) -> Table {
        let mut t = Table::new();
        t.insert("scheme".into(), Value::String("lsuv".into()));
        t.insert("base".into(), Value::Table(base.to_table()));
        t.insert("tol".into(), Value::Float(self.tol));
        t.insert("max_iters".into(), Value::Integer(self.max_iters as i64));
        t
    }
}

/// Parse the keys of `{ scheme = "lsuv", base, tol, max_iters }` (`scheme` already removed):
/// the base scheme and the LSUV keys, with every range checked.
pub fn parse(mut t: Table, at: &str) -> anyhow::Result<(Scheme, Lsuv)> {
    let base = match t.remove("base") {
        None => super::scheme_from_value(&Value::String("orthogonal".into()), at)?,
        Some(v) => {
            if matches!(&v, Value::String(s) if s == "lsuv")
                || matches!(&v, Value::Table(b) if b.get("scheme").and_then(|s| s.as_str()) == Some("lsuv"))
            {
                return Err(bad(format!("{at}.base: LSUV cannot be its own base")));
            }
            super::scheme_from_value(&v, &format!("{at}.base"))?
        }
    };
    if matches!(base, Scheme::Zeros) || matches!(base, Scheme::Constant { val } if val == 0.0) {
        return Err(bad(format!(
            "{at}.base: {} gives zero weights, whose output variance LSUV cannot rescale to 1",
            base.name()
        )));
    }
    let tol = match t.remove("tol") {
        None => DEFAULT_TOL,
        Some(Value::Float(f)) => f,
        Some(Value::Integer(i)) => i as f64,
        Some(v) => {
            return Err(bad(format!(
                "{at}.tol: expected a number in (0, 1), found {} {v}",
                v.type_str()
            )))
        }
    };
    if !(tol > 0.0 && tol < 1.0) {
        return Err(bad(format!(
            "{at}.tol: must be in (0, 1) (|Var − 1| < tol), found {tol}"
        )));
    }
    let max_iters = match t.remove("max_iters") {
        None => DEFAULT_MAX_ITERS,
        Some(Value::Integer(i)) if (1..=MAX_ITERS_LIMIT as i64).contains(&i) => i as usize,
        Some(v) => {
            return Err(bad(format!(
                "{at}.max_iters: must be an integer in 1..={MAX_ITERS_LIMIT}, found {v}"
            )))
        }
    };
    if let Some(k) = t.keys().next() {
        return Err(bad(format!(
            "{at}: unknown key '{k}' for scheme 'lsuv'; valid keys: base, tol, max_iters"
        )));
    }
    Ok((base, Lsuv { tol, max_iters }))
}
