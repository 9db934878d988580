//! Experiment configuration: parse the TOML file, validate every key before any work starts,
//! and expand the sweep (activation × init × architecture × width profile) into cells.

mod file;
pub mod network;
pub mod resolved;
pub mod spectrum;

pub use network::{Arch, ConvKeys, Kind, NetworkKeys, ResnetArch, Sizes};

use crate::arch::layer::NormKind;
use crate::init::recipe::RecipeKind;

use crate::activation::Activation;
use crate::error::{bad, unknown_name};
use crate::init::Init;
use file::{DistFile, ExperimentFile};
use std::path::Path;
use toml::Value;

/// Floating-point type of the simulation (statistics are always accumulated in f64).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dtype {
    F32,
    F64,
}

impl Dtype {
    pub fn name(self) -> &'static str {
        match self {
            Dtype::F32 => "f32",
            Dtype::F64 => "f64",
        }
    }
    pub fn bytes(self) -> usize {
        match self {
            Dtype::F32 => 4,
            Dtype::F64 => 8,
        }
    }
}

/// Distribution of the input batch or of the injected output gradient.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DataDist {
    pub uniform: bool,
    pub std: f64,
}

impl DataDist {
    pub const STANDARD: DataDist = DataDist {
        uniform: false,
        std: 1.0,
    };
    pub fn name(&self) -> &'static str {
        if self.uniform {
            "uniform"
        } else {
            "normal"
        }
    }
}

/// An init scheme with its label.
#[derive(Debug, Clone, PartialEq)]
pub struct LabeledInit {
    pub label: String,
    pub init: Init,
}

/// Which layers' activations and gradients to histogram.
#[derive(Debug, Clone, PartialEq)]
pub struct Histograms {
    pub layers: Vec<usize>,
    pub bins: usize,
}

/// A validated experiment.
#[derive(Debug, Clone, PartialEq)]
pub struct Experiment {
    pub name: String,
    pub description: String,
    pub seed: u64,
    pub trials: usize,
    pub batch: usize,
    pub dtype: Dtype,
    pub input: DataDist,
    pub output_grad: DataDist,
    /// The network kind's name (`mlp`, `conv1d`, `conv2d`).
    pub network: &'static str,
    /// Sizes, conv keys and bias of `[network]`.
    pub net: NetworkKeys,
    pub activations: Vec<Activation>,
    pub inits: Vec<LabeledInit>,
    pub histograms: Option<Histograms>,
    /// `[train]`: short training runs from each cell-trial's initialization (none: no training).
    pub train: Option<crate::train::TrainConfig>,
    /// `[spectrum]` (issue 13): Jacobian singular values.
    pub spectrum: Option<spectrum::Spectrum>,
}

/// One point of the sweep.
#[derive(Debug, Clone, PartialEq)]
pub struct Cell {
    pub activation: Activation,
    pub init: LabeledInit,
    /// The `network` column: the `[network]` architecture's label (an init's recipe keys show
    /// in its own label instead).
    pub network_label: String,
    /// The architecture (kind, conv keys, bias); with `widths`, what [`Cell::network`] builds.
    pub arch: Arch,
    /// The width profile [n_0, …, n_L].
    pub widths: Vec<usize>,
    /// n_0 (the `width` column).
    pub width: usize,
    /// L, the number of weighted layers (the `depth` column).
    pub depth: usize,
}

pub const DTYPES: &[&str] = &["f32", "f64"];
pub const NETWORK_KINDS: &[&str] = network::Kind::NAMES;
pub const DISTRIBUTIONS: &[&str] = &["normal", "uniform"];

/// Largest accepted size for any single dimension; beyond it the memory check would refuse anyway.
const MAX_SIZE: i64 = 1 << 31;

impl Experiment {
    /// Read, parse and validate `path`. Every error is a `BadInput` naming the file and key.
    pub fn load(path: &Path) -> anyhow::Result<Experiment> {
        let shown = path.display().to_string();
        if path.is_dir() {
            return Err(bad(format!(
                "{shown}: is a directory, expected an experiment .toml file"
            )));
        }
        let text = std::fs::read_to_string(path)
            .map_err(|e| bad(format!("{shown}: cannot read the experiment file: {e}")))?;
        let stem = path
            .file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or("experiment")
            .to_string();
        Self::parse(&text, &shown, &stem)
    }

    /// Parse and validate experiment text; `file` names it in messages, `stem` is the default name.
    pub fn parse(text: &str, file: &str, stem: &str) -> anyhow::Result<Experiment> {
        let raw: ExperimentFile = toml::from_str(text)
            .map_err(|e| bad(format!("{file}: {}", describe_toml_error(&e, text))))?;
        let at = |key: &str| format!("{file}: {key}");

        let name = raw.name.clone().unwrap_or_else(|| stem.to_string());
        if name.is_empty()
            || !name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
            || name.starts_with('.')
        {
            return Err(bad(format!(
                "{}: '{name}' is not a usable folder name (letters, digits, '-', '_', '.')",
                at("name")
            )));
        }
        let seed = match &raw.seed {
            None => 0,
            Some(Value::Integer(i)) if *i >= 0 => *i as u64,
            Some(v) => {
                return Err(bad(format!(
                    "{}: must be a non-negative integer, found {v}",
                    at("seed")
                )))
            }
        };
        let trials = scalar_size(raw.trials.as_ref(), 4, &at("trials"))?;
        let batch = scalar_size(raw.batch.as_ref(), 256, &at("batch"))?;
        let dtype = match raw.dtype.as_deref() {
            None | Some("f32") => Dtype::F32,
            Some("f64") => Dtype::F64,
            Some(other) => {
                return Err(bad(format!(
                    "{}: {}",
                    at("dtype"),
                    unknown_name("dtype", other, DTYPES)
                )))
            }
        };
        let input = data_dist(raw.input.as_ref(), &at("input"))?;
        let output_grad = data_dist(raw.output_grad.as_ref(), &at("output_grad"))?;

        let net = &raw.network;
        let keys = network::parse(
            &network::RawNetwork {
                kind: net.kind.as_deref(),
                depth: net.depth.as_ref(),
                width: net.width.as_ref(),
                widths: net.widths.as_ref(),
                image: net.image.as_ref(),
                kernel: net.kernel.as_ref(),
                padding: net.padding.as_ref(),
                bias: net.bias,
                norm: net.norm.as_ref(),
                blocks: net.blocks.as_ref(),
                stages: net.stages.as_ref(),
                in_width: net.in_width.as_ref(),
                branch_layers: net.branch_layers.as_ref(),
                block: net.block.as_ref(),
                alpha: net.alpha.as_ref(),
                beta: net.beta.as_ref(),
            },
            &at,
        )?;
        let network = keys.kind.name();
        let activations = match &net.activation {
            Value::Array(items) => {
                if items.is_empty() {
                    return Err(bad(format!(
                        "{}: empty list; give at least one activation",
                        at("network.activation")
                    )));
                }
                items
                    .iter()
                    .enumerate()
                    .map(|(i, v)| {
                        Activation::from_value(v, &at(&format!("network.activation[{i}]")))
                    })
                    .collect::<anyhow::Result<Vec<_>>>()?
            }
            v => vec![Activation::from_value(v, &at("network.activation"))?],
        };
        no_duplicates(
            activations.iter().map(|a| a.label()),
            &at("network.activation"),
            "activation",
        )?;

        let entries = raw.init.clone().unwrap_or_default();
        if entries.is_empty() {
            return Err(bad(format!(
                "{file}: no [[init]] entries; add at least one, e.g. [[init]] with weight = {{ scheme = \"kaiming_normal\", nonlinearity = \"relu\" }} or preset = \"pytorch_default\""
            )));
        }
        let mut inits = Vec::new();
        for (i, mut entry) in entries.into_iter().enumerate() {
            let where_ = at(&format!("init[{}]", i + 1));
            let label = match entry.remove("label") {
                None => None,
                Some(Value::String(s)) if !s.trim().is_empty() => Some(s),
                Some(v) => {
                    return Err(bad(format!(
                        "{where_}.label: must be a non-empty string, found {v}"
                    )))
                }
            };
            let init = Init::from_entry(entry, &where_)?;
            check_recipe(&init, &keys, batch, &where_)?;
            check_init_fits(&init, &keys, &where_)?;
            check_lsuv(&init, &keys, input, &where_)?; // issue 13
            let label = label.unwrap_or_else(|| init.canonical());
            inits.push(LabeledInit { label, init });
        }
        no_duplicates(
            inits.iter().map(|i| i.label.clone()),
            &at("init"),
            "init label",
        )?;

        if let Some(NormKind::Batch) = keys.norm {
            check_batchnorm(&keys, batch, &at("network.norm"))?;
        }
        // Histogram layers are weighted layers (taps): a ResNet has more than its blocks.
        let max_taps = keys
            .archs()
            .iter()
            .flat_map(|a| {
                keys.sizes
                    .profiles()
                    .into_iter()
                    .map(move |w| a.network(&w).depth())
            })
            .max()
            .unwrap_or(0);
        let histograms = match &raw.histograms {
            None => None,
            Some(h) => {
                let layers = size_list(&h.layers, &at("histograms.layers"))?;
                if let Some(&l) = layers.iter().find(|&&l| l > max_taps) {
                    return Err(bad(format!(
                        "{}: layer {l} is deeper than the deepest network ({max_taps} weighted layers)",
                        at("histograms.layers")
                    )));
                }
                let bins = scalar_size(h.bins.as_ref(), 60, &at("histograms.bins"))?;
                if bins < 2 {
                    return Err(bad(format!(
                        "{}: need at least 2 bins, found {bins}",
                        at("histograms.bins")
                    )));
                }
                Some(crate::config::Histograms { layers, bins })
            }
        };

        // [train] (issue 14): the task must fit every network's input.
        let train = match &raw.train {
            None => None,
            Some(t) => {
                let cfg = crate::train::TrainConfig::parse(t, &at)?;
                for arch in keys.archs() {
                    for widths in keys.sizes.profiles() {
                        if let Some(why) = cfg.task.misfit(&arch.network(&widths).input) {
                            return Err(bad(format!(
                                "{}: {why} (network widths {})",
                                at("train.task"),
                                crate::arch::network::profile_label(&widths)
                            )));
                        }
                    }
                }
                Some(cfg)
            }
        };
        let spectrum = match &raw.spectrum {
            None => None,
            Some(f) => Some(spectrum::parse(f, &keys, batch, &at)?),
        };

        Ok(Experiment {
            spectrum,
            name,
            description: raw.description.unwrap_or_default(),
            seed,
            trials,
            batch,
            dtype,
            input,
            output_grad,
            network,
            net: keys,
            activations,
            inits,
            histograms,
            train,
        })
    }

    /// The sweep in its deterministic order: activation, init, architecture (conv: kernel,
    /// then padding), width profile (depth + width: width, then depth) — file order each.
    /// Each cell's init is resolved for its activation (`gain = "preserve"`/`"pytorch"` become
    /// numbers, [`Init::for_activation`]); the label stays the one of the file.
    /// A ResNet cell's architecture also takes its init's recipe ([`Arch::for_cell`]); the
    /// `network` column keeps the `[network]` label.
    pub fn cells(&self) -> Vec<Cell> {
        let archs = self.net.archs();
        let profiles = self.net.sizes.profiles();
        let mut cells = Vec::new();
        for &activation in &self.activations {
            for init in &self.inits {
                let init = LabeledInit {
                    label: init.label.clone(),
                    init: init.init.for_activation(activation),
                };
                for arch in &archs {
                    for widths in &profiles {
                        let eff = arch.for_cell(&init.init, activation, widths, self.input.std);
                        cells.push(Cell {
                            activation,
                            init: init.clone(),
                            network_label: arch.label(),
                            depth: eff.depth_of(widths),
                            arch: eff,
                            widths: widths.clone(),
                            width: widths[0],
                        });
                    }
                }
            }
        }
        cells
    }

    /// Whether `[network] bias` is on.
    pub fn bias(&self) -> bool {
        self.net.bias
    }
}

/// Recipes and recipe keys only where they mean something: a named recipe, `alpha` and
/// `beta` on ResNets; Fixup needs two or more layers per branch; BatchNorm needs two values per
/// channel.
fn check_recipe(init: &Init, keys: &NetworkKeys, batch: usize, at: &str) -> anyhow::Result<()> {
    let r = &init.recipe;
    if keys.resnet.is_none() {
        if let Some(k) = r.kind {
            return Err(bad(format!(
                "{at}: preset '{}' is a residual-network recipe; it needs kind = \"resnet\" (this network is kind = \"{}\")",
                k.name(),
                keys.kind.name()
            )));
        }
        for (key, set) in [("alpha", r.alpha.is_some()), ("beta", r.beta.is_some())] {
            if set {
                return Err(bad(format!(
                    "{at}.{key}: only for kind = \"resnet\" (this network is kind = \"{}\")",
                    keys.kind.name()
                )));
            }
        }
    }
    if let (Some(RecipeKind::Fixup), Some(rk)) = (r.kind, &keys.resnet) {
        if rk.branch_layers < 2 {
            return Err(bad(format!(
                "{at}: fixup scales branch layers by L^(-1/(2m-2)) and zeroes the last, so it needs network.branch_layers >= 2, found {}",
                rk.branch_layers
            )));
        }
    }
    if let Some(Some(NormKind::Batch)) = r.norm {
        check_batchnorm(keys, batch, &format!("{at}.norm"))?;
    }
    Ok(())
}

/// LSUV (issue 13) rescales a chain's layers on the input batch: no residual blocks, and an
/// input that is not identically zero (else every layer's output variance is 0).
fn check_lsuv(init: &Init, keys: &NetworkKeys, input: DataDist, at: &str) -> anyhow::Result<()> {
    if init.lsuv.is_none() {
        return Ok(());
    }
    if keys.resnet.is_some() {
        return Err(bad(format!(
            "{at}.weight: scheme 'lsuv' rescales a chain of layers; it supports kind = mlp, conv1d, conv2d, not resnet"
        )));
    }
    if input.std == 0.0 {
        return Err(bad(format!(
            "{at}.weight: scheme 'lsuv' needs data: with input.std = 0 every layer's output variance is 0 (layer 1 first), which no rescaling brings to 1"
        )));
    }
    Ok(())
}

/// BatchNorm in training mode needs at least two values per channel: batch × positions ≥ 2.
fn check_batchnorm(keys: &NetworkKeys, batch: usize, at: &str) -> anyhow::Result<()> {
    let positions: usize = keys.conv.as_ref().map_or(1, |c| c.image.iter().product());
    if batch * positions < 2 {
        return Err(bad(format!(
            "{at}: batchnorm needs at least 2 values per channel (batch × positions), found batch = {batch} with {positions} position(s); use batch >= 2 or norm = \"layernorm\""
        )));
    }
    Ok(())
}

/// Every weight the sweep draws must suit the init (PyTorch's shape rules: eye needs 2-D,
/// dirac 3–5-D, …): checked per layer of every architecture and profile, naming the layer.
fn check_init_fits(init: &Init, keys: &NetworkKeys, at: &str) -> anyhow::Result<()> {
    let mut seen = std::collections::HashSet::new();
    for arch in keys.archs() {
        for widths in keys.sizes.profiles() {
            for tap in arch.network(&widths).taps() {
                if !seen.insert(tap.weight_shape.clone()) {
                    continue;
                }
                init.check_shape(&tap.weight_shape, at).map_err(|e| {
                    bad(format!(
                        "{e} (layer {} of the {} network with widths {})",
                        tap.index,
                        arch.label(),
                        crate::arch::network::profile_label(&widths)
                    ))
                })?;
            }
        }
    }
    Ok(())
}

/// toml's message already carries "line N, column M" and the offending text; keep it whole.
fn describe_toml_error(e: &toml::de::Error, text: &str) -> String {
    match e.span() {
        Some(span) => {
            let line = text[..span.start.min(text.len())].matches('\n').count() + 1;
            format!("line {line}: {}", e.message())
        }
        None => e.message().to_string(),
    }
}

pub(crate) fn size_value(v: &Value, at: &str) -> anyhow::Result<usize> {
    match v {
        Value::Integer(i) if (1..=MAX_SIZE).contains(i) => Ok(*i as usize),
        Value::Integer(i) if *i > MAX_SIZE => {
            Err(bad(format!("{at}: {i} is too large (at most {MAX_SIZE})")))
        }
        Value::Integer(i) => Err(bad(format!("{at}: must be a positive integer, found {i}"))),
        other => Err(bad(format!(
            "{at}: expected a positive integer, found {} {other}",
            other.type_str()
        ))),
    }
}

fn scalar_size(v: Option<&Value>, default: usize, at: &str) -> anyhow::Result<usize> {
    v.map_or(Ok(default), |v| size_value(v, at))
}

/// An integer or a non-empty list of integers, each ≥ 1, no repeats.
pub(crate) fn size_list(v: &Value, at: &str) -> anyhow::Result<Vec<usize>> {
    let list = match v {
        Value::Array(items) => {
            if items.is_empty() {
                return Err(bad(format!("{at}: empty list; give at least one value")));
            }
            items
                .iter()
                .enumerate()
                .map(|(i, x)| size_value(x, &format!("{at}[{i}]")))
                .collect::<anyhow::Result<Vec<_>>>()?
        }
        v => vec![size_value(v, at)?],
    };
    no_duplicates(list.iter().map(|x| x.to_string()), at, "value")?;
    Ok(list)
}

pub(crate) fn no_duplicates(
    items: impl Iterator<Item = String>,
    at: &str,
    what: &str,
) -> anyhow::Result<()> {
    let mut seen = std::collections::HashSet::new();
    for item in items {
        if !seen.insert(item.clone()) {
            return Err(bad(format!("{at}: duplicate {what} '{item}'")));
        }
    }
    Ok(())
}

fn data_dist(d: Option<&DistFile>, at: &str) -> anyhow::Result<DataDist> {
    let Some(d) = d else {
        return Ok(DataDist::STANDARD);
    };
    let uniform = match d.distribution.as_deref() {
        None | Some("normal") => false,
        Some("uniform") => true,
        Some(other) => {
            return Err(bad(format!(
                "{at}.distribution: {}",
                unknown_name("distribution", other, DISTRIBUTIONS)
            )))
        }
    };
    let std = match &d.std {
        None => 1.0,
        Some(Value::Float(f)) => *f,
        Some(Value::Integer(i)) => *i as f64,
        Some(v) => {
            return Err(bad(format!(
                "{at}.std: expected a number, found {} {v}",
                v.type_str()
            )))
        }
    };
    if !std.is_finite() || std < 0.0 {
        return Err(bad(format!(
            "{at}.std: must be a finite number >= 0, found {std}"
        )));
    }
    Ok(DataDist { uniform, std })
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"
description = "t"
seed = 3
trials = 2
batch = 8
[network]
depth = [2, 3]
width = 4
activation = ["relu", { name = "leaky_relu", negative_slope = 0.2 }]
[[init]]
label = "He"
weight = { scheme = "kaiming_normal", nonlinearity = "relu" }
[[init]]
preset = "pytorch_default"
"#;

    #[test]
    fn parses_and_expands() {
        let e = Experiment::parse(GOOD, "x.toml", "x").unwrap();
        assert_eq!(e.name, "x");
        assert_eq!(e.cells().len(), 2 * 2 * 2);
        assert_eq!(e.inits[1].label, "pytorch_default");
        assert_eq!(e.dtype, Dtype::F32);
    }

    /// `gain = "preserve"` stays a word in the experiment (and its resolved TOML) and becomes
    /// each cell's own number; the label is shared by the activations.
    #[test]
    fn preserve_is_resolved_per_cell() {
        let text = GOOD.replace(
            "weight = { scheme = \"kaiming_normal\", nonlinearity = \"relu\" }",
            "weight = { scheme = \"kaiming_normal\", gain = \"preserve\" }",
        );
        let e = Experiment::parse(&text, "x.toml", "x").unwrap();
        assert_eq!(e.inits[0].init.needs_activation(), Some("preserve"));
        let back = Experiment::parse(&e.resolved_toml(), "r.toml", "x").unwrap();
        assert_eq!(back, e);
        for cell in e.cells().iter().filter(|c| c.init.label == "He") {
            let want = crate::init::gain::run_preserve_gain(cell.activation);
            assert_eq!(cell.init.init.weight.gain(), Some(want));
        }
    }

    fn err(text: &str) -> String {
        let e = Experiment::parse(text, "x.toml", "x").unwrap_err();
        assert!(crate::error::is_bad_input(&e));
        e.to_string()
    }

    #[test]
    fn rejects_bad_input_with_context() {
        let m = err(&GOOD.replace("seed = 3", "seed = 3\nsed = 4"));
        assert!(
            m.contains("x.toml") && m.contains("unknown field `sed`") && m.contains("line"),
            "{m}"
        );
        let m = err(&GOOD.replace("depth = [2, 3]", "depth = [2, -3]"));
        assert!(m.contains("network.depth[1]") && m.contains("-3"), "{m}");
        let m = err(&GOOD.replace("depth = [2, 3]", "depth = []"));
        assert!(m.contains("network.depth: empty list"), "{m}");
        let m = err(&GOOD.replace("width = 4", "width = 0"));
        assert!(m.contains("network.width"), "{m}");
        let m = err(&GOOD.replace("\"relu\",", "\"rellu\","));
        assert!(m.contains("did you mean 'relu'"), "{m}");
        let m = err(&GOOD.replace("label = \"He\"", "label = \"pytorch_default\""));
        assert!(m.contains("duplicate init label"), "{m}");
        let m = err(&GOOD.replace("nonlinearity = \"relu\"", "nonlinearity = \"rel\""));
        assert!(
            m.contains("init[1].weight") && m.contains("valid: linear"),
            "{m}"
        );
        let m = err(&GOOD.replace("batch = 8", "batch = 8\ndtype = \"f16\""));
        assert!(m.contains("dtype") && m.contains("valid: f32, f64"), "{m}");
        let m = err(&GOOD.replace("trials = 2", "trials = \"two\""));
        assert!(m.contains("trials"), "{m}");
        let m = err(&(GOOD.to_string() + "[input]\nstd = nan\n"));
        assert!(m.contains("input.std"), "{m}");
        let m = err("[network]\ndepth = 2\nwidth = 3\nactivation = \"relu\"\n");
        assert!(m.contains("no [[init]]"), "{m}");
        let m = err("seed = [");
        assert!(m.contains("x.toml") && m.contains("line 1"), "{m}");
    }
}
