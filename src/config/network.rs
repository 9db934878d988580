//! The `[network]` table: kind, sizes (`depth` + `width` or `widths` profiles), conv keys
//! (`image`, `kernel`, `padding`), and [`Cell::network`], the one map from a cell of the sweep
//! to the layers the simulator, the theory and the cost model all use.

use super::Cell;
use crate::arch::layer::Padding;
use crate::arch::network::{self, profile_label, Network};
use crate::error::{bad, unknown_name};
use toml::Value;

/// The kinds of network (`[network] kind`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    Mlp,
    Conv1d,
    Conv2d,
}

impl Kind {
    pub const NAMES: &'static [&'static str] = &["mlp", "conv1d", "conv2d"];

    pub fn name(self) -> &'static str {
        match self {
            Kind::Mlp => "mlp",
            Kind::Conv1d => "conv1d",
            Kind::Conv2d => "conv2d",
        }
    }

    fn from_name(name: &str) -> Option<Kind> {
        match name {
            "mlp" => Some(Kind::Mlp),
            "conv1d" => Some(Kind::Conv1d),
            "conv2d" => Some(Kind::Conv2d),
            _ => None,
        }
    }

    /// Spatial dimensions of the kind's images (0 for an MLP).
    pub fn image_dims(self) -> usize {
        match self {
            Kind::Mlp => 0,
            Kind::Conv1d => 1,
            Kind::Conv2d => 2,
        }
    }
}

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
        }
    }

    /// The deepest profile's depth.
    pub fn max_depth(&self) -> usize {
        self.profiles()
            .iter()
            .map(|p| p.len() - 1)
            .max()
            .unwrap_or(0)
    }
}

/// The conv keys of a conv network: one image, swept kernels and paddings.
#[derive(Debug, Clone, PartialEq)]
pub struct ConvKeys {
    pub image: Vec<usize>,
    pub kernels: Vec<usize>,
    pub paddings: Vec<Padding>,
}

/// One architecture point of the sweep, less the width profile.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Arch {
    pub kind: Kind,
    /// (image, kernel, padding) of a conv network.
    pub conv: Option<(Vec<usize>, usize, Padding)>,
    pub bias: bool,
}

impl Arch {
    /// The `network` column: `mlp`, or e.g. `conv2d(kernel=3 padding=zeros image=32x32)` (no
    /// commas, so the CSV field needs no quoting).
    pub fn label(&self) -> String {
        match &self.conv {
            None => self.kind.name().to_string(),
            Some((image, kernel, padding)) => {
                let dims: Vec<String> = image.iter().map(|d| d.to_string()).collect();
                format!(
                    "{}(kernel={kernel} padding={} image={})",
                    self.kind.name(),
                    padding.name(),
                    dims.join("x")
                )
            }
        }
    }

    /// The network of this architecture with width profile `widths`.
    pub fn network(&self, widths: &[usize]) -> Network {
        match (&self.conv, self.kind) {
            (None, _) => network::mlp(widths, self.bias),
            (Some((image, kernel, padding)), _) => {
                network::conv(widths, image, *kernel, *padding, self.bias)
            }
        }
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

/// The validated `[network]` table, less the activations.
#[derive(Debug, Clone, PartialEq)]
pub struct NetworkKeys {
    pub kind: Kind,
    pub sizes: Sizes,
    pub conv: Option<ConvKeys>,
    pub bias: bool,
}

impl NetworkKeys {
    /// Every architecture point (conv: kernel × padding, file order), the profile aside.
    pub fn archs(&self) -> Vec<Arch> {
        match &self.conv {
            None => vec![Arch {
                kind: self.kind,
                conv: None,
                bias: self.bias,
            }],
            Some(c) => c
                .kernels
                .iter()
                .flat_map(|&k| {
                    c.paddings.iter().map(move |&p| Arch {
                        kind: self.kind,
                        conv: Some((c.image.clone(), k, p)),
                        bias: self.bias,
                    })
                })
                .collect(),
        }
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
    };
    Ok(NetworkKeys {
        kind,
        sizes,
        conv,
        bias: raw.bias.unwrap_or(true),
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
