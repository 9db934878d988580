//! `[spectrum]` (issue 13): singular values of the input–output Jacobian J = ∂x_L/∂x_0 =
//! D_L W_L ⋯ D_1 W_1 of plain MLPs at the first `inputs` rows of each trial's batch.
//!
//! ```toml
//! [spectrum]
//! inputs = 8          # Jacobians per trial (rows of the batch; ≤ batch)
//! saved_inputs = 1    # of which the singular values go to spectrum.csv (default: all)
//! ```
//! The moments in `cells.csv` use all `inputs`; `saved_inputs` only keeps spectrum.csv small.

use super::file::SpectrumFile;
use super::{size_value, NetworkKeys};
use crate::error::bad;
use toml::{Table, Value};

/// Widest layer whose Jacobian is formed and decomposed (n² entries, n³ work per layer).
pub const MAX_WIDTH: usize = 2048;

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Spectrum {
    pub inputs: usize,
    pub saved_inputs: usize,
}

/// Validate `[spectrum]` against the network and the batch.
pub fn parse(
    f: &SpectrumFile,
    keys: &NetworkKeys,
    batch: usize,
    at: &dyn Fn(&str) -> String,
) -> anyhow::Result<Spectrum> {
    let inputs = match &f.inputs {
        None => 1,
        Some(v) => size_value(v, &at("spectrum.inputs"))?,
    };
    if inputs > batch {
        return Err(bad(format!(
            "{}: {inputs} Jacobians per trial need {inputs} input rows, but batch = {batch}",
            at("spectrum.inputs")
        )));
    }
    let saved_inputs = match &f.saved_inputs {
        None => inputs,
        Some(Value::Integer(i)) if (0..=inputs as i64).contains(i) => *i as usize,
        Some(v) => {
            return Err(bad(format!(
                "{}: must be an integer in 0..={inputs} (spectrum.inputs), found {v}",
                at("spectrum.saved_inputs")
            )))
        }
    };
    if keys.kind != super::Kind::Mlp || keys.norm.is_some() {
        return Err(bad(format!(
            "{}: the Jacobian spectrum is computed for plain MLPs (kind = \"mlp\" without norm), this network is kind = \"{}\"{}",
            at("spectrum"),
            keys.kind.name(),
            keys.norm.map_or(String::new(), |n| format!(" with norm = \"{}\"", n.name()))
        )));
    }
    for w in keys.sizes.profiles() {
        if let Some(&n) = w.iter().find(|&&n| n > MAX_WIDTH) {
            return Err(bad(format!(
                "{}: a layer of width {n} (widths {}) is wider than the limit {MAX_WIDTH} for the Jacobian's SVD; use width <= {MAX_WIDTH} or drop [spectrum]",
                at("spectrum"),
                crate::arch::network::profile_label(&w)
            )));
        }
    }
    Ok(Spectrum {
        inputs,
        saved_inputs,
    })
}

impl Spectrum {
    /// The `[spectrum]` table of the resolved experiment.
    pub fn to_table(&self) -> Table {
        let mut t = Table::new();
        t.insert("inputs".into(), Value::Integer(self.inputs as i64));
        t.insert(
            "saved_inputs".into(),
            Value::Integer(self.saved_inputs as i64),
        );
        t
    }
}
