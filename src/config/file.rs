//! The experiment file exactly as written (serde, `deny_unknown_fields`); swept keys and sizes
//! stay as raw TOML values so validation can name the key and the bad value.

use serde::Deserialize;
use toml::Value;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExperimentFile {
    pub name: Option<String>,
    pub description: Option<String>,
    pub seed: Option<Value>,
    pub trials: Option<Value>,
    pub batch: Option<Value>,
    pub dtype: Option<String>,
    pub input: Option<DistFile>,
    pub output_grad: Option<DistFile>,
    pub network: NetworkFile,
    pub init: Option<Vec<toml::Table>>,
    pub histograms: Option<HistFile>,
    /// `[train]` (issue 14): short training runs from the drawn initialization.
    pub train: Option<crate::train::config::TrainFile>,
    /// Issue 13.
    pub spectrum: Option<SpectrumFile>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DistFile {
    pub distribution: Option<String>,
    pub std: Option<Value>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NetworkFile {
    pub kind: Option<String>,
    pub depth: Option<Value>,
    pub width: Option<Value>,
    pub widths: Option<Value>,
    pub activation: Value,
    pub bias: Option<bool>,
    pub image: Option<Value>,
    pub kernel: Option<Value>,
    pub padding: Option<Value>,
    pub norm: Option<Value>,
    pub blocks: Option<Value>,
    pub stages: Option<Value>,
    pub in_width: Option<Value>,
    pub branch_layers: Option<Value>,
    pub block: Option<Value>,
    pub alpha: Option<Value>,
    pub beta: Option<Value>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HistFile {
    pub layers: Value,
    pub bins: Option<Value>,
}

/// `[spectrum]` (issue 13).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SpectrumFile {
    pub inputs: Option<Value>,
    pub saved_inputs: Option<Value>,
}
