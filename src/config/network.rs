//! The `[network]` table: kind, sizes (`depth` + `width` or `widths` profiles; a ResNet's
//! `blocks` + `width` or `stages`), conv keys (`image`, `kernel`, `padding`), `norm`, the
//! ResNet keys (`block`, `branch_layers`, `alpha`, `beta`, `in_width`), and
//! [`Cell::network`], the one map from a cell of the sweep to the layers the simulator, the
//! theory and the cost model all use.

use super::Cell;
use crate::arch::layer::{Norm, NormKind, Padding, WeightMod, NORM_EPS};
use crate::arch::network::{self, profile_label, ConvGeometry, Network, ResnetSpec};
use crate::error::{bad, unknown_name};
use crate::init::recipe::{Beta, RecipeKind};
use toml::Value;

/// The kinds of network (`[network] kind`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    Mlp,
    Conv1d,
    Conv2d,
    Resnet,
}

impl Kind {
    pub const NAMES: &'static [&'static str] = &["mlp", "conv1d", "conv2d", "resnet"];

    pub fn name(self) -> &'static str {
        match self {
            Kind::Mlp => "mlp",
            Kind::Conv1d => "conv1d",
            Kind::Conv2d => "conv2d",
            Kind::Resnet => "resnet",
        }
    }

    fn from_name(name: &str) -> Option<Kind> {
        match name {
            "mlp" => Some(Kind::Mlp),
            "conv1d" => Some(Kind::Conv1d),
            "conv2d" => Some(Kind::Conv2d),
            "resnet" => Some(Kind::Resnet),
            _ => None,
        }
    }

    /// Spatial dimensions of the kind's images (0 for an MLP or a ResNet's own kind).
    pub fn image_dims(self) -> usize {
        match self {
            Kind::Mlp | Kind::Resnet => 0,
            Kind::Conv1d => 1,
            Kind::Conv2d => 2,
        }
    }
}

/// The kinds a ResNet's layers can be (`block`).
pub const BLOCK_KINDS: &[&str] = &["dense", "conv1d", "conv2d"];

/// How the sizes were given; kept as written so the resolved file says the same.
#[derive(Debug, Clone, PartialEq)]
pub enum Sizes {
    /// `depth` and `width` (each an integer or a list): constant-width profiles, width outer.
    DepthWidth {
        depths: Vec<usize>,
        widths: Vec<usize>,
    },
    /// `widths = [n_0, …, n_L]` or a list of such lists.
    Profiles(Vec<Vec<usize>>),
    /// A ResNet: `blocks` (swept) and the stream width — `width` (swept) or `stages` (one
    /// list, blocks split evenly) — and the input's `in_width` (default: the first stage's).
    /// Its profile is [n_0, stem width, width after each block].
    Blocks {
        blocks: Vec<usize>,
        widths: Vec<usize>,
        stages: Option<Vec<usize>>,
        in_width: Option<usize>,
    },
}

impl Sizes {
    /// The swept profiles in sweep order.
    pub fn profiles(&self) -> Vec<Vec<usize>> {
        match self {
            Sizes::DepthWidth { depths, widths } => widths
                .iter()
                .flat_map(|&w| depths.iter().map(move |&d| vec![w; d + 1]))
                .collect(),
            Sizes::Profiles(p) => p.clone(),
            Sizes::Blocks {
                blocks,
                widths,
                stages,
                in_width,
            } => match stages {
                Some(st) => blocks
                    .iter()
                    .map(|&b| {
                        let mut p = vec![in_width.unwrap_or(st[0]), st[0]];
                        for &w in st {
                            p.extend(std::iter::repeat_n(w, b / st.len()));
                        }
                        p
                    })
                    .collect(),
                None => widths
                    .iter()
                    .flat_map(|&w| {
                        blocks.iter().map(move |&b| {
                            let mut p = vec![in_width.unwrap_or(w), w];
                            p.extend(std::iter::repeat_n(w, b));
                            p
                        })
                    })
                    .collect(),
            },
        }
    }
}

/// The conv keys of a conv network: one image, swept kernels and paddings.
#[derive(Debug, Clone, PartialEq)]
pub struct ConvKeys {
    pub image: Vec<usize>,
    pub kernels: Vec<usize>,
    pub paddings: Vec<Padding>,
}

/// The ResNet part of an architecture.
#[derive(Debug, Clone, PartialEq)]
pub struct ResnetArch {
    /// Weighted layers per branch (m).
    pub branch_layers: usize,
    pub alpha: f64,
    pub beta: Beta,
    /// The cell's named recipe (per-layer rescaling, weight standardization).
    pub recipe: Option<RecipeKind>,
    /// NF-ResNets' gain γ = 1/√Var_z[φ(z)] of the cell's activation (1 otherwise).
    pub ws_gain: f64,
    /// The expected second moment of the stem's output (for `beta = "expected_std"`).
    pub stem_q: f64,
}

/// One architecture point of the sweep, less the width profile.
#[derive(Debug, Clone, PartialEq)]
pub struct Arch {
    pub kind: Kind,
    /// (image, kernel, padding) of a conv network (or a ResNet of conv blocks).
    pub conv: Option<(Vec<usize>, usize, Padding)>,
    pub bias: bool,
    pub norm: Option<NormKind>,
    pub resnet: Option<ResnetArch>,
}

impl Arch {
    /// The `network` column: `mlp`, `conv2d(kernel=3 padding=zeros image=32x32)`, or e.g.
    /// `resnet(block=conv2d kernel=3 padding=zeros image=16x16 branch_layers=2 norm=none
    /// alpha=1 beta=none)` (no commas, so the CSV field needs no quoting). A norm other than
    /// none is named for every kind.
    pub fn label(&self) -> String {
        let mut parts: Vec<String> = Vec::new();
        if let Some(r) = &self.resnet {
            let block = match &self.conv {
                None => "dense".to_string(),
                Some((image, _, _)) => format!("conv{}d", image.len()),
            };
            parts.push(format!("block={block}"));
            let _ = r;
        }
        if let Some((image, kernel, padding)) = &self.conv {
            let dims: Vec<String> = image.iter().map(|d| d.to_string()).collect();
            parts.push(format!("kernel={kernel}"));
            parts.push(format!("padding={}", padding.name()));
            parts.push(format!("image={}", dims.join("x")));
        }
        if let Some(r) = &self.resnet {
            parts.push(format!("branch_layers={}", r.branch_layers));
            parts.push(format!("norm={}", self.norm.map_or("none", |n| n.name())));
            parts.push(format!("alpha={}", r.alpha));
            parts.push(format!("beta={}", r.beta.name()));
        } else if let Some(n) = self.norm {
            parts.push(format!("norm={}", n.name()));
        }
        if parts.is_empty() {
            self.kind.name().to_string()
        } else {
            format!("{}({})", self.kind.name(), parts.join(" "))
        }
    }

    /// L, the `depth` column, of profile `widths`: weighted layers, or a ResNet's blocks.
    pub fn depth_of(&self, widths: &[usize]) -> usize {
        if self.resnet.is_some() {
            widths.len() - 2
        } else {
            widths.len() - 1
        }
    }

    fn geometry(&self) -> Option<ConvGeometry> {
        self.conv
            .as_ref()
            .map(|(image, kernel, padding)| ConvGeometry {
                image: image.clone(),
                kernel: *kernel,
                padding: *padding,
            })
    }

    /// The network of this architecture with width profile `widths`.
    pub fn network(&self, widths: &[usize]) -> Network {
        let norm = self.norm.map(|kind| Norm {
            kind,
            eps: NORM_EPS,
        });
        match (&self.resnet, self.geometry()) {
            (None, None) => network::mlp_with_norm(widths, self.bias, norm),
            (None, Some(g)) => network::conv_with_norm(widths, &g, self.bias, norm),
            (Some(r), g) => network::resnet(&self.resnet_spec(r, widths, g, norm)),
        }
    }

    /// The ResNet of profile [n_0, stem width, width after each block], with its recipe's
    /// α, β_b and weight modifications ([`crate::init::recipe`]).
    fn resnet_spec(
        &self,
        r: &ResnetArch,
        widths: &[usize],
        conv: Option<ConvGeometry>,
        norm: Option<Norm>,
    ) -> ResnetSpec {
        let blocks = widths.len() - 2;
        let m = r.branch_layers;
        let mut branch_mods = vec![vec![WeightMod::NONE; m]; blocks];
        let (mut stem_mod, mut projection_mod) = (WeightMod::NONE, WeightMod::NONE);
        match r.recipe {
            Some(RecipeKind::Fixup) => {
                // Zhang et al. 2019, Sec. 3: scale L^(−1/(2m−2)), last layer zero (m ≥ 2).
                let scale = (blocks as f64).powf(-1.0 / (2.0 * m as f64 - 2.0));
                for mods in &mut branch_mods {
                    for (j, wm) in mods.iter_mut().enumerate() {
                        wm.scale = if j + 1 == m { 0.0 } else { scale };
                    }
                }
            }
            Some(RecipeKind::NfResnet) => {
                for mods in &mut branch_mods {
                    for wm in mods.iter_mut() {
                        wm.ws_gain = Some(r.ws_gain);
                    }
                }
                stem_mod.ws_gain = Some(1.0);
                projection_mod.ws_gain = Some(1.0);
            }
            Some(RecipeKind::SkipInit) | None => {}
        }
        // β_b = √(expected Var[x_b]): the stem's, then + α² per block, 1 + α² after a
        // transition (Brock et al. 2021, Sec. 4).
        let mut betas = Vec::with_capacity(blocks);
        let mut var = r.stem_q;
        for b in 0..blocks {
            betas.push(match r.beta {
                Beta::None => 1.0,
                Beta::ExpectedStd => var.max(f64::MIN_POSITIVE).sqrt(),
            });
            let transition = widths[b + 2] != widths[b + 1];
            var = if transition && r.beta == Beta::ExpectedStd {
                1.0 + r.alpha * r.alpha
            } else {
                var + r.alpha * r.alpha
            };
        }
        ResnetSpec {
            input: widths[0],
            stem_width: widths[1],
            block_widths: widths[2..].to_vec(),
            branch_layers: m,
            conv,
            norm,
            bias: self.bias,
            alpha: r.alpha,
            betas,
            stem_mod,
            branch_mods,
            projection_mod,
        }
    }
}

impl Arch {
    /// This architecture for one cell: the init's recipe keys override `norm`, `alpha` and
    /// `beta`; a ResNet learns its recipe, NF-ResNets' gain γ = 1/√Var_z[φ(z)] for `act`, and
    /// the stem's expected output second moment (for β), given an input of std `input_std`.
    pub fn for_cell(
        &self,
        init: &crate::init::Init,
        act: crate::activation::Activation,
        widths: &[usize],
        input_std: f64,
    ) -> Arch {
        let mut a = self.clone();
        let r = &init.recipe;
        let stem = self
            .resnet
            .is_some()
            .then(|| self.network(widths).taps().swap_remove(0));
        if let Some(n) = r.norm {
            a.norm = n;
        }
        if let Some(res) = &mut a.resnet {
            res.recipe = r.kind;
            if let Some(alpha) = r.alpha {
                res.alpha = alpha;
            }
            if let Some(beta) = r.beta {
                res.beta = beta;
            }
            if r.kind == Some(RecipeKind::NfResnet) {
                use crate::theory::gaussian::{expect, Moment};
                let m1 = expect(act, Moment::Phi, 0.0, 1.0);
                let m2 = expect(act, Moment::Phi2, 0.0, 1.0);
                res.ws_gain = 1.0 / (m2 - m1 * m1).max(f64::MIN_POSITIVE).sqrt();
            }
            // The stem: E[y²] = fan_in·Var[w]·E[x0²] + E[b²]; weight standardization with
            // γ = 1 makes every row's squared norm 1: E[y²] = E[x0²] + E[b²].
            let stem = stem.expect("a ResNet has a stem");
            let q_in = input_std * input_std;
            let gain = if r.kind == Some(RecipeKind::NfResnet) {
                1.0
            } else {
                init.weight
                    .moments(&stem.weight_shape)
                    .map(|m| stem.fan_in as f64 * (m.var + m.mean * m.mean))
                    .unwrap_or(1.0)
            };
            let b2 = if stem.bias {
                init.bias
                    .moments(&stem.weight_shape)
                    .map(|m| m.var + m.mean * m.mean)
                    .unwrap_or(0.0)
            } else {
                0.0
            };
            res.stem_q = gain * q_in + b2;
        }
        a
    }
}

impl Cell {
    /// The network this cell simulates: the one config → layers map.
    pub fn network(&self) -> Network {
        self.arch.network(&self.widths)
    }

    /// The `widths` column: the profile joined by `-`.
    pub fn widths_label(&self) -> String {
        profile_label(&self.widths)
    }
}

/// The validated ResNet keys.
#[derive(Debug, Clone, PartialEq)]
pub struct ResnetKeys {
    pub branch_layers: usize,
    pub alpha: f64,
    pub beta: Beta,
}

/// The validated `[network]` table, less the activations.
#[derive(Debug, Clone, PartialEq)]
pub struct NetworkKeys {
    pub kind: Kind,
    pub sizes: Sizes,
    pub conv: Option<ConvKeys>,
    pub bias: bool,
    pub norm: Option<NormKind>,
    pub resnet: Option<ResnetKeys>,
}

impl NetworkKeys {
    /// Every architecture point (conv: kernel × padding, file order), the profile aside; a
    /// ResNet's recipe fields are the `[network]` keys' (the cells resolve their own).
    pub fn archs(&self) -> Vec<Arch> {
        let resnet = self.resnet.as_ref().map(|r| ResnetArch {
            branch_layers: r.branch_layers,
            alpha: r.alpha,
            beta: r.beta,
            recipe: None,
            ws_gain: 1.0,
            stem_q: 1.0,
        });
        let arch = |conv| Arch {
            kind: self.kind,
            conv,
            bias: self.bias,
            norm: self.norm,
            resnet: resnet.clone(),
        };
        match &self.conv {
            None => vec![arch(None)],
            Some(c) => c
                .kernels
                .iter()
                .flat_map(|&k| c.paddings.iter().map(move |&p| (c.image.clone(), k, p)))
                .map(|g| arch(Some(g)))
                .collect(),
        }
    }

    /// The deepest cell's depth column (layers; a ResNet's blocks).
    pub fn max_depth(&self) -> usize {
        let resnet = self.resnet.is_some();
        self.sizes
            .profiles()
            .iter()
            .map(|p| p.len() - if resnet { 2 } else { 1 })
            .max()
            .unwrap_or(0)
    }
}

/// Largest depth (weighted layers) of a profile.
pub const MAX_DEPTH: usize = 100_000;
/// Largest number of positions of an image.
const MAX_POSITIONS: u128 = 1 << 24;

/// The raw `[network]` keys this module validates.
pub struct RawNetwork<'a> {
    pub kind: Option<&'a str>,
    pub depth: Option<&'a Value>,
    pub width: Option<&'a Value>,
    pub widths: Option<&'a Value>,
    pub image: Option<&'a Value>,
    pub kernel: Option<&'a Value>,
    pub padding: Option<&'a Value>,
    pub bias: Option<bool>,
    pub norm: Option<&'a Value>,
    pub blocks: Option<&'a Value>,
    pub stages: Option<&'a Value>,
    pub in_width: Option<&'a Value>,
    pub branch_layers: Option<&'a Value>,
    pub block: Option<&'a Value>,
    pub alpha: Option<&'a Value>,
    pub beta: Option<&'a Value>,
}

/// A string key with valid `choices`.
fn choice<'v>(v: &'v Value, at: &str, what: &str, choices: &[&str]) -> anyhow::Result<&'v str> {
    match v {
        Value::String(s) if choices.contains(&s.as_str()) => Ok(s),
        Value::String(s) => Err(bad(format!("{at}: {}", unknown_name(what, s, choices)))),
        other => Err(bad(format!(
            "{at}: expected a string, found {}; valid: {}",
            other.type_str(),
            choices.join(", ")
        ))),
    }
}

/// Validate the `[network]` sizes and conv keys; `at(key)` names the file and key.
pub fn parse(raw: &RawNetwork, at: &dyn Fn(&str) -> String) -> anyhow::Result<NetworkKeys> {
    let kind = match raw.kind {
        None => Kind::Mlp,
        Some(k) => Kind::from_name(k).ok_or_else(|| {
            bad(format!(
                "{}: {}",
                at("network.kind"),
                unknown_name("network kind", k, Kind::NAMES)
            ))
        })?,
    };
    let norm = match raw.norm {
        None => None,
        Some(v) => match choice(v, &at("network.norm"), "norm", crate::init::NORMS)? {
            "batchnorm" => Some(NormKind::Batch),
            "layernorm" => Some(NormKind::Layer),
            _ => None,
        },
    };
    if kind == Kind::Resnet {
        return parse_resnet(raw, at, norm);
    }
    for (key, v) in [
        ("blocks", raw.blocks),
        ("stages", raw.stages),
        ("in_width", raw.in_width),
        ("branch_layers", raw.branch_layers),
        ("block", raw.block),
        ("alpha", raw.alpha),
        ("beta", raw.beta),
    ] {
        if v.is_some() {
            return Err(bad(format!(
                "{}: only for kind = \"resnet\"; this network is kind = \"{}\"",
                at(&format!("network.{key}")),
                kind.name()
            )));
        }
    }
    let sizes = match (raw.widths, raw.depth, raw.width) {
        (Some(_), Some(_), _) | (Some(_), _, Some(_)) => {
            let other = if raw.depth.is_some() {
                "depth"
            } else {
                "width"
            };
            return Err(bad(format!(
                "{}: give either network.widths (a profile [n_0, ..., n_L] or a list of them) or \
                 network.depth and network.width, not both (found network.widths and network.{other})",
                at("network.widths")
            )));
        }
        (Some(w), None, None) => Sizes::Profiles(profiles(w, &at("network.widths"))?),
        (None, Some(d), Some(w)) => {
            let depths = super::size_list(d, &at("network.depth"))?;
            if let Some(&d) = depths.iter().find(|&&d| d > MAX_DEPTH) {
                return Err(bad(format!(
                    "{}: depth {d} is too deep (at most {MAX_DEPTH} layers)",
                    at("network.depth")
                )));
            }
            Sizes::DepthWidth {
                depths,
                widths: super::size_list(w, &at("network.width"))?,
            }
        }
        (None, Some(_), None) => {
            return Err(bad(format!(
                "{}: is required with network.depth (or give network.widths instead)",
                at("network.width")
            )))
        }
        (None, None, Some(_)) => {
            return Err(bad(format!(
                "{}: is required with network.width (or give network.widths instead)",
                at("network.depth")
            )))
        }
        (None, None, None) => {
            return Err(bad(format!(
                "{}: missing sizes: give depth and width (e.g. depth = 10, width = 512) or \
                 widths = [n_0, ..., n_L]",
                at("network")
            )))
        }
    };
    let conv = match kind {
        Kind::Mlp => {
            for (key, v) in [
                ("image", raw.image),
                ("kernel", raw.kernel),
                ("padding", raw.padding),
            ] {
                if v.is_some() {
                    return Err(bad(format!(
                        "{}: only for kind = \"conv1d\" or \"conv2d\"; this network is kind = \"mlp\"",
                        at(&format!("network.{key}"))
                    )));
                }
            }
            None
        }
        Kind::Conv1d | Kind::Conv2d => Some(conv_keys(kind, raw, at)?),
        Kind::Resnet => unreachable!("parsed above"),
    };
    Ok(NetworkKeys {
        kind,
        sizes,
        conv,
        bias: raw.bias.unwrap_or(true),
        norm,
        resnet: None,
    })
}

/// The `[network]` table of `kind = "resnet"`.
fn parse_resnet(
    raw: &RawNetwork,
    at: &dyn Fn(&str) -> String,
    norm: Option<NormKind>,
) -> anyhow::Result<NetworkKeys> {
    for (key, v, instead) in [
        ("depth", raw.depth, "blocks"),
        ("widths", raw.widths, "width or stages"),
    ] {
        if v.is_some() {
            return Err(bad(format!(
                "{}: not a resnet key; a ResNet is sized by blocks and width (or stages): use {instead}",
                at(&format!("network.{key}"))
            )));
        }
    }
    let blocks = match raw.blocks {
        Some(v) => super::size_list(v, &at("network.blocks"))?,
        None => {
            return Err(bad(format!(
                "{}: is required for kind = \"resnet\" (the number of residual blocks, an integer or a list)",
                at("network.blocks")
            )))
        }
    };
    if let Some(&b) = blocks.iter().find(|&&b| b > MAX_DEPTH) {
        return Err(bad(format!(
            "{}: {b} blocks is too deep (at most {MAX_DEPTH})",
            at("network.blocks")
        )));
    }
    let (widths, stages) = match (raw.width, raw.stages) {
        (Some(_), Some(_)) => {
            return Err(bad(format!(
                "{}: give either network.width or network.stages, not both",
                at("network.stages")
            )))
        }
        (Some(w), None) => (super::size_list(w, &at("network.width"))?, None),
        (None, Some(Value::Array(items))) if !items.is_empty() => {
            let st = items
                .iter()
                .enumerate()
                .map(|(i, x)| super::size_value(x, &at(&format!("network.stages[{i}]"))))
                .collect::<anyhow::Result<Vec<_>>>()?;
            if let Some(&b) = blocks.iter().find(|&&b| b % st.len() != 0) {
                return Err(bad(format!(
                    "{}: {} stages do not fit {b} blocks (blocks must be a multiple of the number of stages)",
                    at("network.stages"),
                    st.len()
                )));
            }
            (vec![st[0]], Some(st))
        }
        (None, Some(v)) => {
            return Err(bad(format!(
                "{}: expected a non-empty list of stage widths, found {v}",
                at("network.stages")
            )))
        }
        (None, None) => {
            return Err(bad(format!(
                "{}: is required for kind = \"resnet\": the stream width (or give stages = [w_1, w_2, ...])",
                at("network.width")
            )))
        }
    };
    let in_width = raw
        .in_width
        .map(|v| super::size_value(v, &at("network.in_width")))
        .transpose()?;
    let branch_layers = raw
        .branch_layers
        .map(|v| super::size_value(v, &at("network.branch_layers")))
        .transpose()?
        .unwrap_or(2);
    let alpha = match raw.alpha {
        None => 1.0,
        Some(v) => {
            let a = match v {
                Value::Float(f) => *f,
                Value::Integer(i) => *i as f64,
                other => {
                    return Err(bad(format!(
                        "{}: expected a number >= 0, found {}",
                        at("network.alpha"),
                        other.type_str()
                    )))
                }
            };
            if !(a.is_finite() && a >= 0.0) {
                return Err(bad(format!(
                    "{}: must be a finite number >= 0, found {a}",
                    at("network.alpha")
                )));
            }
            a
        }
    };
    let beta = match raw.beta {
        None => Beta::None,
        Some(v) => Beta::from_name(choice(v, &at("network.beta"), "beta", Beta::NAMES)?)
            .expect("a valid name"),
    };
    let block = match raw.block {
        None => "dense",
        Some(v) => choice(v, &at("network.block"), "block", BLOCK_KINDS)?,
    };
    let conv = match block {
        "dense" => {
            for (key, v) in [
                ("image", raw.image),
                ("kernel", raw.kernel),
                ("padding", raw.padding),
            ] {
                if v.is_some() {
                    return Err(bad(format!(
                        "{}: only for conv blocks (block = \"conv1d\" or \"conv2d\"); this ResNet has block = \"dense\"",
                        at(&format!("network.{key}"))
                    )));
                }
            }
            None
        }
        "conv1d" => Some(conv_keys(Kind::Conv1d, raw, at)?),
        _ => Some(conv_keys(Kind::Conv2d, raw, at)?),
    };
    Ok(NetworkKeys {
        kind: Kind::Resnet,
        sizes: Sizes::Blocks {
            blocks,
            widths,
            stages,
            in_width,
        },
        conv,
        bias: raw.bias.unwrap_or(true),
        norm,
        resnet: Some(ResnetKeys {
            branch_layers,
            alpha,
            beta,
        }),
    })
}

/// `widths`: one profile (a list of integers) or a list of profiles, each at least 2 long.
fn profiles(v: &Value, at: &str) -> anyhow::Result<Vec<Vec<usize>>> {
    let Value::Array(items) = v else {
        return Err(bad(format!(
            "{at}: expected a list of integers [n_0, ..., n_L] or a list of such lists, found {} {v}",
            v.type_str()
        )));
    };
    if items.is_empty() {
        return Err(bad(format!(
            "{at}: empty list; give a profile [n_0, ..., n_L] with at least two entries"
        )));
    }
    let nested = items.iter().all(|x| matches!(x, Value::Array(_)));
    let lists: Vec<(String, &Vec<Value>)> = if nested {
        items
            .iter()
            .enumerate()
            .map(|(i, x)| match x {
                Value::Array(a) => (format!("{at}[{i}]"), a),
                _ => unreachable!(),
            })
            .collect()
    } else if items.iter().any(|x| matches!(x, Value::Array(_))) {
        return Err(bad(format!(
            "{at}: mixes integers and lists; give one profile [n_0, ..., n_L] or a list of profiles"
        )));
    } else {
        vec![(at.to_string(), items)]
    };
    let mut out = Vec::new();
    for (where_, list) in lists {
        if list.len() < 2 {
            return Err(bad(format!(
                "{where_}: a profile needs at least two entries (n_0 and n_1), found {}",
                list.len()
            )));
        }
        if list.len() > MAX_DEPTH + 1 {
            return Err(bad(format!(
                "{where_}: {} layers is too deep (at most {MAX_DEPTH})",
                list.len() - 1
            )));
        }
        let p = list
            .iter()
            .enumerate()
            .map(|(j, x)| super::size_value(x, &format!("{where_}[{j}]")))
            .collect::<anyhow::Result<Vec<usize>>>()?;
        out.push(p);
    }
    super::no_duplicates(out.iter().map(|p| profile_label(p)), at, "profile")?;
    Ok(out)
}

fn conv_keys(
    kind: Kind,
    raw: &RawNetwork,
    at: &dyn Fn(&str) -> String,
) -> anyhow::Result<ConvKeys> {
    let dims = kind.image_dims();
    let shape = if dims == 2 { "[H, W]" } else { "[L]" };
    let image_at = at("network.image");
    let image = match raw.image {
        None => {
            return Err(bad(format!(
                "{image_at}: is required for kind = \"{}\": the input image size {shape}",
                kind.name()
            )))
        }
        Some(Value::Array(items)) => {
            if items.len() != dims {
                return Err(bad(format!(
                    "{image_at}: kind = \"{}\" needs {dims} image dimension{} {shape}, found {}",
                    kind.name(),
                    if dims == 1 { "" } else { "s" },
                    items.len()
                )));
            }
            items
                .iter()
                .enumerate()
                .map(|(i, x)| super::size_value(x, &format!("{image_at}[{i}]")))
                .collect::<anyhow::Result<Vec<usize>>>()?
        }
        Some(v) => {
            return Err(bad(format!(
                "{image_at}: expected a list {shape} of positive integers, found {} {v}",
                v.type_str()
            )))
        }
    };
    let kernels = match raw.kernel {
        None => vec![3],
        Some(v) => super::size_list(v, &at("network.kernel"))?,
    };
    for &k in &kernels {
        if k % 2 == 0 {
            return Err(bad(format!(
                "{}: kernel {k} is even; stride-1 same-size convolutions need an odd kernel (1, 3, 5, ...)",
                at("network.kernel")
            )));
        }
    }
    let paddings = match raw.padding {
        None => vec![Padding::Zeros],
        Some(v) => {
            let names: Vec<(String, &Value)> = match v {
                Value::Array(items) if items.is_empty() => {
                    return Err(bad(format!(
                        "{}: empty list; valid: {}",
                        at("network.padding"),
                        Padding::NAMES.join(", ")
                    )))
                }
                Value::Array(items) => items
                    .iter()
                    .enumerate()
                    .map(|(i, x)| (at(&format!("network.padding[{i}]")), x))
                    .collect(),
                v => vec![(at("network.padding"), v)],
            };
            let mut out = Vec::new();
            for (where_, x) in names {
                let p = match x {
                    Value::String(s) => Padding::from_name(s).ok_or_else(|| {
                        bad(format!(
                            "{where_}: {}",
                            unknown_name("padding", s, Padding::NAMES)
                        ))
                    })?,
                    other => {
                        return Err(bad(format!(
                            "{where_}: expected a string, found {}; valid: {}",
                            other.type_str(),
                            Padding::NAMES.join(", ")
                        )))
                    }
                };
                out.push(p);
            }
            super::no_duplicates(
                out.iter().map(|p| p.name().to_string()),
                &at("network.padding"),
                "padding",
            )?;
            out
        }
    };
    // Every tap must be able to fall inside the image: (k − 1)/2 ≤ n − 1 for each image size
    // n (larger kernels only add taps that always read padding; PyTorch's circular padding
    // needs (k − 1)/2 ≤ n as well).
    if let Some(&k) = kernels
        .iter()
        .find(|&&k| image.iter().any(|&n| k > 2 * n - 1))
    {
        return Err(bad(format!(
            "{}: kernel {k} is larger than the image {image:?} allows (at most 2·size − 1 = {})",
            at("network.kernel"),
            2 * image.iter().min().copied().unwrap_or(1) - 1
        )));
    }
    let positions: u128 = image.iter().map(|&n| n as u128).product();
    if positions > MAX_POSITIONS {
        return Err(bad(format!(
            "{image_at}: {positions} positions per image is too many (at most {MAX_POSITIONS})"
        )));
    }
    Ok(ConvKeys {
        image,
        kernels,
        paddings,
    })
}
