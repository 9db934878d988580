//! Weight-initialization schemes with `torch.nn.init`'s names, parameters and defaults, and
//! Keras' `VarianceScaling`. For a tensor of shape `[out, in, k...]` with fan_in = in·∏k and
//! fan_out = out·∏k (see [`super::fans`]):
//!
//! | scheme | distribution | variance |
//! |---|---|---|
//! | `uniform(a=0, b=1)` | U(a, b) | (b − a)²/12 |
//! | `normal(mean=0, std=1)` | N(mean, std²) | std² |
//! | `trunc_normal(mean=0, std=1, a=-2, b=2)` | N(mean, std²) on [a, b] (absolute bounds) | see [`super::trunc`] |
//! | `constant(val)`, `ones`, `zeros` | val | 0 |
//! | `eye` (2-D) | identity | — |
//! | `dirac(groups=1)` (3/4/5-D) | identity convolution per group | — |
//! | `xavier_uniform(gain=1)` | U(±gain·√(6/(fan_in+fan_out))) | gain²·2/(fan_in+fan_out) (Glorot & Bengio 2010, Eq. 16) |
//! | `xavier_normal(gain=1)` | N(0, gain²·2/(fan_in+fan_out)) | same |
//! | `kaiming_uniform(a=0, mode=fan_in, nonlinearity=leaky_relu)` | U(±√3·gain/√fan) | gain²/fan (He et al. 2015, Eq. 10/14) |
//! | `kaiming_normal(...)` | N(0, gain²/fan) | gain²/fan |
//! | `orthogonal(gain=1)` | gain·Haar-orthogonal | gain²/max(rows, cols) |
//! | `delta_orthogonal(gain=1)` (2–5-D) | gain·Haar-orthogonal `[out, in]` at the kernel's centre tap, 0 elsewhere (Xiao et al. 2018, Alg. 1) | gain²·min(out, in)/(out·in·∏k) |
//! | `sparse(sparsity, std=0.01)` (2-D) | N(0, std²), ⌈sparsity·rows⌉ zeros per column | std²·(1 − ⌈sparsity·rows⌉/rows) |
//! | `variance_scaling(scale=1, mode=fan_in, distribution=truncated_normal)` | Keras | scale/max(1, n) |
//!
//! gain for kaiming is `calculate_gain(nonlinearity, a)`; fan is fan_in or fan_out per `mode`.
//!
//! **Beyond PyTorch** (see [`super::gain`]): `nonlinearity` also takes `elu`, `gelu`, `silu` and
//! `softplus` (the variance-preserving gain at q = 1), and xavier_* take `nonlinearity` too
//! (`gain = calculate_gain(nonlinearity)`); xavier_*, kaiming_* and orthogonal take
//! `gain = "preserve"` (the variance-preserving gain of the cell's own activation) or
//! `gain = "pytorch"` (calculate_gain of the cell's activation, √2 where PyTorch has none), both
//! resolved per cell by [`Scheme::for_activation`], and kaiming_* take a number `gain = g`
//! (Var = g²/fan) in place of `nonlinearity` and `a`. Any other scheme given `gain` is refused
//! with the list of schemes that have one.
//! Keras' truncated normal draws N(0, σ²) with σ = √(scale/n)/0.87962566103423978 and re-draws
//! anything beyond 2σ, so the variance is scale/n; n uses Keras' `compute_fans` (any rank, see
//! [`keras_fans`]).
//!
//! Validation follows what PyTorch (Keras for variance_scaling) rejects: uniform a > b, normal
//! and sparse std < 0, trunc_normal std <= 0 (PyTorch divides by it) or a > b (a = b is the
//! point a), xavier gain < 0 (its uniform_/normal_ call rejects the negative width), unknown
//! nonlinearity/mode/distribution, scale <= 0, and the shape rules in [`Scheme::check_shape`].
//! As in PyTorch, kaiming_* treat a zero-element tensor as a no-op before computing fans (so
//! even shape `[0]` passes), orthogonal after its rank check. Beyond PyTorch, sparse requires
//! 0 <= sparsity <= 1.

use super::fans::fans;
use super::gain::{Gain, ALL_NONLINEARITIES, GAIN_WORDS};
use super::orthogonal::orthogonalize;
use super::trunc::{trunc_normal_moments, TruncNormal};
use crate::activation::Activation;
use crate::error::{bad, unknown_name};
use crate::params::{canonical, Params};
use rand::Rng;

/// Std of N(0, 1) truncated to [−2, 2]; Keras divides by it so the truncated variance is exact.
/// Keras writes the literal `0.87962566103423978`, which rounds to this f64.
pub const KERAS_TRUNC_STD: f64 = 0.879_625_661_034_239_8;

/// Every scheme name.
pub const SCHEMES: &[&str] = &[
    "uniform",
    "normal",
    "trunc_normal",
    "constant",
    "ones",
    "zeros",
    "eye",
    "dirac",
    "xavier_uniform",
    "xavier_normal",
    "kaiming_uniform",
    "kaiming_normal",
    "orthogonal",
    "delta_orthogonal",
    "sparse",
    "variance_scaling",
];

/// The schemes that have a gain (and so accept `gain = "preserve"`).
pub const GAIN_SCHEMES: &[&str] = &[
    "xavier_uniform",
    "xavier_normal",
    "kaiming_uniform",
    "kaiming_normal",
    "orthogonal",
    "delta_orthogonal",
];

/// Which fan a Kaiming scheme preserves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FanMode {
    FanIn,
    FanOut,
    /// Keras only: (fan_in + fan_out)/2.
    FanAvg,
}

impl FanMode {
    pub fn name(self) -> &'static str {
        match self {
            FanMode::FanIn => "fan_in",
            FanMode::FanOut => "fan_out",
            FanMode::FanAvg => "fan_avg",
        }
    }
    fn from_name(s: &str) -> FanMode {
        match s {
            "fan_out" => FanMode::FanOut,
            "fan_avg" => FanMode::FanAvg,
            _ => FanMode::FanIn,
        }
    }
    pub fn fan(self, fan_in: usize, fan_out: usize) -> f64 {
        match self {
            FanMode::FanIn => fan_in as f64,
            FanMode::FanOut => fan_out as f64,
            FanMode::FanAvg => (fan_in + fan_out) as f64 / 2.0,
        }
    }
}

/// Keras VarianceScaling distributions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VsDistribution {
    TruncatedNormal,
    UntruncatedNormal,
    Uniform,
}

impl VsDistribution {
    pub fn name(self) -> &'static str {
        match self {
            VsDistribution::TruncatedNormal => "truncated_normal",
            VsDistribution::UntruncatedNormal => "untruncated_normal",
            VsDistribution::Uniform => "uniform",
        }
    }
}

/// A weight (or bias) initialization scheme with its parameters.
#[derive(Debug, Clone, PartialEq)]
pub enum Scheme {
    Uniform {
        a: f64,
        b: f64,
    },
    Normal {
        mean: f64,
        std: f64,
    },
    TruncNormal {
        mean: f64,
        std: f64,
        a: f64,
        b: f64,
    },
    Constant {
        val: f64,
    },
    Ones,
    Zeros,
    Eye,
    Dirac {
        groups: usize,
    },
    XavierUniform {
        gain: Gain,
    },
    XavierNormal {
        gain: Gain,
    },
    /// PyTorch's `a` and `nonlinearity` are `gain: Gain::Nonlinearity { name, param: Some(a) }`.
    KaimingUniform {
        mode: FanMode,
        gain: Gain,
    },
    KaimingNormal {
        mode: FanMode,
        gain: Gain,
    },
    Orthogonal {
        gain: Gain,
    },
    /// Xiao et al. 2018, "Dynamical isometry and a mean field theory of CNNs", Algorithm 1: a
    /// Haar-orthogonal `[out, in]` matrix (orthonormal rows or columns, times gain) at the
    /// centre tap of the kernel, zeros at every other tap; for a 2-D weight, `orthogonal`.
    /// Beyond PyTorch (TensorFlow's `ConvolutionDeltaOrthogonal`, which also needs in ≤ out;
    /// here out < in gives orthonormal rows instead).
    DeltaOrthogonal {
        gain: Gain,
    },
    Sparse {
        sparsity: f64,
        std: f64,
    },
    VarianceScaling {
        scale: f64,
        mode: FanMode,
        distribution: VsDistribution,
    },
}

/// Scalar summary of what a scheme gives a tensor of a given shape.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Moments {
    pub mean: f64,
    pub var: f64,
}

fn fmt_num(x: f64) -> String {
    format!("{x}")
}

impl Scheme {
    /// Parse a scheme from its parameter table (the `scheme` key already removed).
    pub fn from_params(name: &str, mut p: Params) -> anyhow::Result<Scheme> {
        let at = p.at.clone();
        if !GAIN_SCHEMES.contains(&name) && SCHEMES.contains(&name) {
            if let Some(v) = p.peek("gain") {
                let hint = if name == "variance_scaling" {
                    " (its scale is the gain squared: scale = gain^2)"
                } else {
                    ""
                };
                return Err(bad(format!(
                    "{at}: scheme '{name}' has no gain{hint}, so gain = {v} cannot apply; schemes with a gain: {}",
                    GAIN_SCHEMES.join(", ")
                )));
            }
        }
        let s = match name {
            "uniform" => {
                let (a, b) = (p.f64_or("a", 0.0)?, p.f64_or("b", 1.0)?);
                if a > b {
                    return Err(bad(format!(
                        "{at}: uniform needs a <= b, found a = {a}, b = {b}"
                    )));
                }
                Scheme::Uniform { a, b }
            }
            "normal" => {
                let (mean, std) = (p.f64_or("mean", 0.0)?, p.f64_or("std", 1.0)?);
                check_std(&at, "normal", std)?;
                Scheme::Normal { mean, std }
            }
            "trunc_normal" => {
                let (mean, std) = (p.f64_or("mean", 0.0)?, p.f64_or("std", 1.0)?);
                let (a, b) = (p.f64_or("a", -2.0)?, p.f64_or("b", 2.0)?);
                // PyTorch computes (a − mean)/std in Python floats: std = 0 raises
                // ZeroDivisionError, so only std > 0 is valid here.
                if std <= 0.0 {
                    return Err(bad(format!(
                        "{at}: trunc_normal needs std > 0 (PyTorch divides by it), found std = {std}"
                    )));
                }
                if a > b {
                    return Err(bad(format!(
                        "{at}: trunc_normal needs a <= b, found a = {a}, b = {b}"
                    )));
                }
                Scheme::TruncNormal { mean, std, a, b }
            }
            "constant" => Scheme::Constant {
                val: p.f64_req("val")?,
            },
            "ones" => Scheme::Ones,
            "zeros" => Scheme::Zeros,
            "eye" => Scheme::Eye,
            "dirac" => Scheme::Dirac {
                groups: p.usize_or("groups", 1)?,
            },
            "xavier_uniform" | "xavier_normal" => {
                let gain = match (gain_opt(&mut p)?, nonlinearity_opt(&mut p)?) {
                    (Some(_), Some(_)) => return Err(both_gain_and(&at, name, "nonlinearity")),
                    (Some(g), None) => g,
                    (None, Some(name)) => Gain::Nonlinearity { name, param: None },
                    (None, None) => Gain::Value(1.0),
                };
                // PyTorch passes gain·√(…) on as uniform_(−a, a) / normal_(0, std), which reject
                // a negative half-width or std.
                if let Gain::Value(g) = gain {
                    if g < 0.0 {
                        return Err(bad(format!(
                            "{at}: {name} needs gain >= 0, found gain = {g}"
                        )));
                    }
                }
                if name == "xavier_uniform" {
                    Scheme::XavierUniform { gain }
                } else {
                    Scheme::XavierNormal { gain }
                }
            }
            "kaiming_uniform" | "kaiming_normal" => {
                let a = p.f64_opt("a")?;
                let mode =
                    FanMode::from_name(p.choice_or("mode", "fan_in", &["fan_in", "fan_out"])?);
                let nonlinearity = nonlinearity_opt(&mut p)?;
                let gain = match gain_opt(&mut p)? {
                    Some(_) if nonlinearity.is_some() => {
                        return Err(both_gain_and(&at, name, "nonlinearity"))
                    }
                    Some(_) if a.is_some() => return Err(both_gain_and(&at, name, "a")),
                    Some(g) => g,
                    None => Gain::Nonlinearity {
                        name: nonlinearity.unwrap_or("leaky_relu"),
                        param: Some(a.unwrap_or(0.0)),
                    },
                };
                if name == "kaiming_uniform" {
                    Scheme::KaimingUniform { mode, gain }
                } else {
                    Scheme::KaimingNormal { mode, gain }
                }
            }
            "orthogonal" => Scheme::Orthogonal {
                gain: gain_opt(&mut p)?.unwrap_or(Gain::Value(1.0)),
            },
            "delta_orthogonal" => Scheme::DeltaOrthogonal {
                gain: gain_opt(&mut p)?.unwrap_or(Gain::Value(1.0)),
            },
            "sparse" => {
                let sparsity = p.f64_req("sparsity")?;
                let std = p.f64_or("std", 0.01)?;
                if !(0.0..=1.0).contains(&sparsity) {
                    return Err(bad(format!(
                        "{at}: sparse needs 0 <= sparsity <= 1, found {sparsity}"
                    )));
                }
                check_std(&at, "sparse", std)?;
                Scheme::Sparse { sparsity, std }
            }
            "variance_scaling" => {
                let scale = p.f64_or("scale", 1.0)?;
                if scale <= 0.0 {
                    return Err(bad(format!(
                        "{at}: variance_scaling needs scale > 0, found {scale}"
                    )));
                }
                let mode = FanMode::from_name(p.choice_or(
                    "mode",
                    "fan_in",
                    &["fan_in", "fan_out", "fan_avg"],
                )?);
                // Keras maps distribution = "normal" to "truncated_normal".
                let distribution = match p.choice_or(
                    "distribution",
                    "truncated_normal",
                    &[
                        "truncated_normal",
                        "untruncated_normal",
                        "uniform",
                        "normal",
                    ],
                )? {
                    "untruncated_normal" => VsDistribution::UntruncatedNormal,
                    "uniform" => VsDistribution::Uniform,
                    _ => VsDistribution::TruncatedNormal,
                };
                Scheme::VarianceScaling {
                    scale,
                    mode,
                    distribution,
                }
            }
            other => {
                return Err(bad(format!(
                    "{at}: {}",
                    unknown_name("scheme", other, SCHEMES)
                )))
            }
        };
        p.finish()?;
        Ok(s)
    }

    /// The scheme's name.
    pub fn name(&self) -> &'static str {
        match self {
            Scheme::Uniform { .. } => "uniform",
            Scheme::Normal { .. } => "normal",
            Scheme::TruncNormal { .. } => "trunc_normal",
            Scheme::Constant { .. } => "constant",
            Scheme::Ones => "ones",
            Scheme::Zeros => "zeros",
            Scheme::Eye => "eye",
            Scheme::Dirac { .. } => "dirac",
            Scheme::XavierUniform { .. } => "xavier_uniform",
            Scheme::XavierNormal { .. } => "xavier_normal",
            Scheme::KaimingUniform { .. } => "kaiming_uniform",
            Scheme::KaimingNormal { .. } => "kaiming_normal",
            Scheme::Orthogonal { .. } => "orthogonal",
            Scheme::DeltaOrthogonal { .. } => "delta_orthogonal",
            Scheme::Sparse { .. } => "sparse",
            Scheme::VarianceScaling { .. } => "variance_scaling",
        }
    }

    /// The parameters that differ from PyTorch's (or Keras') defaults, in declaration order.
    pub fn params(&self) -> Vec<(&'static str, toml::Value)> {
        use toml::Value;
        let mut ps: Vec<(&'static str, Value)> = Vec::new();
        fn put(ps: &mut Vec<(&'static str, Value)>, k: &'static str, v: f64, default: f64) {
            if v != default {
                ps.push((k, Value::Float(v)));
            }
        }
        match *self {
            Scheme::Uniform { a, b } => {
                put(&mut ps, "a", a, 0.0);
                put(&mut ps, "b", b, 1.0);
            }
            Scheme::Normal { mean, std } => {
                put(&mut ps, "mean", mean, 0.0);
                put(&mut ps, "std", std, 1.0);
            }
            Scheme::TruncNormal { mean, std, a, b } => {
                put(&mut ps, "mean", mean, 0.0);
                put(&mut ps, "std", std, 1.0);
                put(&mut ps, "a", a, -2.0);
                put(&mut ps, "b", b, 2.0);
            }
            Scheme::Constant { val } => ps.push(("val", Value::Float(val))),
            Scheme::Dirac { groups } => {
                if groups != 1 {
                    ps.push(("groups", Value::Integer(groups as i64)));
                }
            }
            Scheme::XavierUniform { gain }
            | Scheme::XavierNormal { gain }
            | Scheme::Orthogonal { gain }
            | Scheme::DeltaOrthogonal { gain } => match gain {
                Gain::Value(g) => put(&mut ps, "gain", g, 1.0),
                Gain::Nonlinearity { name, .. } => {
                    ps.push(("nonlinearity", Value::String(name.into())))
                }
                Gain::Preserve | Gain::Pytorch => {
                    let word = gain.word().expect("a word");
                    ps.push(("gain", Value::String(word.into())))
                }
            },
            Scheme::KaimingUniform { mode, gain } | Scheme::KaimingNormal { mode, gain } => {
                // PyTorch's order: a, mode, nonlinearity; initlab's gain after them.
                if let Gain::Nonlinearity { param, .. } = gain {
                    put(&mut ps, "a", param.unwrap_or(0.0), 0.0);
                }
                if mode != FanMode::FanIn {
                    ps.push(("mode", Value::String(mode.name().into())));
                }
                match gain {
                    Gain::Nonlinearity { name, .. } => {
                        if name != "leaky_relu" {
                            ps.push(("nonlinearity", Value::String(name.into())));
                        }
                    }
                    Gain::Value(g) => ps.push(("gain", Value::Float(g))),
                    Gain::Preserve | Gain::Pytorch => {
                        let word = gain.word().expect("a word");
                        ps.push(("gain", Value::String(word.into())))
                    }
                }
            }
            Scheme::Sparse { sparsity, std } => {
                ps.push(("sparsity", Value::Float(sparsity)));
                put(&mut ps, "std", std, 0.01);
            }
            Scheme::VarianceScaling {
                scale,
                mode,
                distribution,
            } => {
                put(&mut ps, "scale", scale, 1.0);
                if mode != FanMode::FanIn {
                    ps.push(("mode", Value::String(mode.name().into())));
                }
                if distribution != VsDistribution::TruncatedNormal {
                    ps.push(("distribution", Value::String(distribution.name().into())));
                }
            }
            Scheme::Ones | Scheme::Zeros | Scheme::Eye => {}
        }
        ps
    }

    /// Canonical text with every non-default parameter, e.g. `kaiming_normal(nonlinearity=relu)`.
    /// Two schemes with the same canonical text draw the same numbers.
    pub fn canonical(&self) -> String {
        let ps: Vec<(&str, String)> = self
            .params()
            .into_iter()
            .map(|(k, v)| {
                let text = match v {
                    toml::Value::Float(f) => fmt_num(f),
                    toml::Value::String(s) => s,
                    other => other.to_string(),
                };
                (k, text)
            })
            .collect();
        canonical(self.name(), &ps)
    }

    /// The inline table `{ scheme = "...", <non-default params> }` that parses back to `self`.
    pub fn to_table(&self) -> toml::Table {
        let mut t = toml::Table::new();
        t.insert("scheme".into(), toml::Value::String(self.name().into()));
        for (k, v) in self.params() {
            t.insert(k.into(), v);
        }
        t
    }

    /// Check `shape` the way PyTorch does before sampling (same conditions, exit-2 messages).
    pub fn check_shape(&self, shape: &[usize]) -> Result<(), String> {
        match self {
            // kaiming_*_ test for a zero-element tensor (warn, no-op) before computing fans.
            Scheme::KaimingUniform { .. } | Scheme::KaimingNormal { .. } if shape.contains(&0) => {
                Ok(())
            }
            Scheme::XavierUniform { .. }
            | Scheme::XavierNormal { .. }
            | Scheme::KaimingUniform { .. }
            | Scheme::KaimingNormal { .. } => fans(shape).map(|_| ()),
            // Keras' compute_fans accepts any rank.
            Scheme::VarianceScaling { .. } => Ok(()),
            Scheme::Orthogonal { .. } if shape.len() < 2 => Err(format!(
                "orthogonal needs at least 2 dimensions, found shape {shape:?}"
            )),
            Scheme::DeltaOrthogonal { .. } if !(2..=5).contains(&shape.len()) => Err(format!(
                "delta_orthogonal needs 2 to 5 dimensions [out, in, k...], found shape {shape:?}"
            )),
            Scheme::Eye if shape.len() != 2 => Err(format!(
                "eye needs exactly 2 dimensions, found shape {shape:?}"
            )),
            Scheme::Sparse { .. } if shape.len() != 2 => Err(format!(
                "sparse needs exactly 2 dimensions, found shape {shape:?}"
            )),
            Scheme::Dirac { groups } => {
                if !(3..=5).contains(&shape.len()) {
                    return Err(format!(
                        "dirac needs 3, 4 or 5 dimensions, found shape {shape:?}"
                    ));
                }
                if !shape[0].is_multiple_of(*groups) {
                    return Err(format!(
                        "dirac: dim 0 ({}) must be divisible by groups ({groups})",
                        shape[0]
                    ));
                }
                Ok(())
            }
            _ => Ok(()),
        }
    }

    /// The (fan_in, fan_out) this scheme uses for `shape`: Keras' `compute_fans` for
    /// variance_scaling (see [`keras_fans`]), PyTorch's otherwise; `None` when undefined
    /// (fewer than 2 dimensions).
    pub fn fans(&self, shape: &[usize]) -> Option<(usize, usize)> {
        match self {
            Scheme::VarianceScaling { .. } => Some(keras_fans(shape)),
            _ => fans(shape).ok(),
        }
    }

    /// The std of the underlying distribution for scale-type schemes (`std` line of `weights`):
    /// for uniform schemes the std of the uniform, for truncated ones the *pre-truncation* σ.
    pub fn std(&self, shape: &[usize]) -> Option<f64> {
        let fans = fans(shape).ok();
        match *self {
            Scheme::Uniform { a, b } => Some((b - a) / 12f64.sqrt()),
            Scheme::Normal { std, .. }
            | Scheme::TruncNormal { std, .. }
            | Scheme::Sparse { std, .. } => Some(std),
            Scheme::XavierUniform { .. } | Scheme::XavierNormal { .. } => {
                let (fi, fo) = fans?;
                Some(self.gain()? * (2.0 / (fi + fo) as f64).sqrt())
            }
            Scheme::KaimingUniform { .. } | Scheme::KaimingNormal { .. } => {
                let (fi, fo) = fans?;
                Some(self.gain()? / self.kaiming_fan(fi, fo).sqrt())
            }
            Scheme::VarianceScaling {
                scale,
                mode,
                distribution,
            } => {
                let (fi, fo) = keras_fans(shape);
                let v = scale / mode.fan(fi, fo).max(1.0);
                Some(match distribution {
                    VsDistribution::TruncatedNormal => v.sqrt() / KERAS_TRUNC_STD,
                    _ => v.sqrt(),
                })
            }
            Scheme::Orthogonal { .. } => {
                let gain = self.gain()?;
                let rows = *shape.first()?;
                let cols: usize = shape[1..].iter().product();
                let big = rows.max(cols);
                (shape.len() >= 2 && big > 0).then(|| gain.abs() / (big as f64).sqrt())
            }
            Scheme::DeltaOrthogonal { .. } => {
                let gain = self.gain()?;
                let n: usize = shape.iter().product();
                (shape.len() >= 2 && n > 0)
                    .then(|| gain.abs() * (shape[0].min(shape[1]) as f64 / n as f64).sqrt())
            }
            Scheme::Constant { .. } | Scheme::Ones | Scheme::Zeros => Some(0.0),
            _ => None,
        }
    }

    /// The uniform half-width for symmetric uniform schemes (`bound` line of `weights`).
    pub fn bound(&self, shape: &[usize]) -> Option<f64> {
        match *self {
            Scheme::XavierUniform { .. } | Scheme::KaimingUniform { .. } => {
                Some(3f64.sqrt() * self.std(shape)?)
            }
            Scheme::VarianceScaling {
                distribution: VsDistribution::Uniform,
                ..
            } => Some(3f64.sqrt() * self.std(shape)?),
            _ => None,
        }
    }

    /// The closed interval holding every value the scheme can draw for `shape`
    /// (±∞ for unbounded distributions).
    pub fn support(&self, shape: &[usize]) -> (f64, f64) {
        let inf = f64::INFINITY;
        match *self {
            Scheme::Uniform { a, b } | Scheme::TruncNormal { a, b, .. } => (a, b),
            Scheme::Constant { val } => (val, val),
            Scheme::Ones => (1.0, 1.0),
            Scheme::Zeros => (0.0, 0.0),
            Scheme::Eye | Scheme::Dirac { .. } => (0.0, 1.0),
            Scheme::Orthogonal { .. } | Scheme::DeltaOrthogonal { .. } => match self.gain() {
                Some(g) => (-g.abs(), g.abs()),
                None => (-inf, inf),
            },
            Scheme::VarianceScaling {
                distribution: VsDistribution::TruncatedNormal,
                ..
            } => match self.std(shape) {
                Some(s) => (-2.0 * s, 2.0 * s),
                None => (-inf, inf),
            },
            _ => match self.bound(shape) {
                Some(b) => (-b, b),
                None => (-inf, inf),
            },
        }
    }

    /// The gain the scheme applies (kaiming: `calculate_gain(nonlinearity, a)`); `None` for
    /// schemes without one and for `gain = "preserve"`/`"pytorch"` before
    /// [`Scheme::for_activation`].
    pub fn gain(&self) -> Option<f64> {
        self.gain_rule().and_then(|g| g.value())
    }

    /// Where the gain comes from, for the schemes that have one.
    pub fn gain_rule(&self) -> Option<Gain> {
        match *self {
            Scheme::XavierUniform { gain }
            | Scheme::XavierNormal { gain }
            | Scheme::Orthogonal { gain }
            | Scheme::DeltaOrthogonal { gain }
            | Scheme::KaimingUniform { gain, .. }
            | Scheme::KaimingNormal { gain, .. } => Some(gain),
            _ => None,
        }
    }

    /// `Some("preserve")`/`Some("pytorch")` when the gain depends on the layer's activation and
    /// has not been resolved ([`Scheme::for_activation`]); such a scheme cannot be sampled.
    pub fn needs_activation(&self) -> Option<&'static str> {
        self.gain_rule().and_then(|g| g.word())
    }

    /// This scheme for a layer followed by `act`: `gain = "preserve"` becomes the number
    /// [`super::gain::run_preserve_gain`]`(act)`, `gain = "pytorch"` calculate_gain of `act`
    /// (√2 where PyTorch has none); every other scheme is returned unchanged.
    pub fn for_activation(&self, act: Activation) -> Scheme {
        let mut s = self.clone();
        match &mut s {
            Scheme::XavierUniform { gain }
            | Scheme::XavierNormal { gain }
            | Scheme::Orthogonal { gain }
            | Scheme::DeltaOrthogonal { gain }
            | Scheme::KaimingUniform { gain, .. }
            | Scheme::KaimingNormal { gain, .. } => *gain = gain.resolve(act),
            _ => {}
        }
        s
    }

    fn kaiming_fan(&self, fan_in: usize, fan_out: usize) -> f64 {
        match *self {
            Scheme::KaimingUniform { mode, .. } | Scheme::KaimingNormal { mode, .. } => {
                mode.fan(fan_in, fan_out)
            }
            _ => f64::NAN,
        }
    }

    /// Per-entry mean and variance of the distribution for a tensor of `shape` (for identity
    /// schemes, the empirical mean and variance of the fixed tensor).
    pub fn moments(&self, shape: &[usize]) -> Result<Moments, String> {
        self.check_shape(shape)?;
        let n: usize = shape.iter().product();
        let m = |mean: f64, var: f64| Ok(Moments { mean, var });
        match *self {
            Scheme::Uniform { a, b } => m((a + b) / 2.0, (b - a).powi(2) / 12.0),
            Scheme::Normal { mean, std } => m(mean, std * std),
            Scheme::TruncNormal { mean, std, a, b } => {
                let (mu, v) = trunc_normal_moments(mean, std, a, b);
                m(mu, v)
            }
            Scheme::Constant { val } => m(val, 0.0),
            Scheme::Ones => m(1.0, 0.0),
            Scheme::Zeros => m(0.0, 0.0),
            Scheme::Eye | Scheme::Dirac { .. } => {
                let ones = match *self {
                    Scheme::Eye => shape[0].min(shape[1]),
                    Scheme::Dirac { groups } => (shape[0] / groups).min(shape[1]) * groups,
                    _ => unreachable!(),
                };
                let p = ones as f64 / n.max(1) as f64;
                m(p, p * (1.0 - p))
            }
            Scheme::Sparse { sparsity, std } => {
                let rows = shape[0];
                let zeros = (sparsity * rows as f64).ceil() as usize;
                m(
                    0.0,
                    std * std * (rows - zeros.min(rows)) as f64 / rows.max(1) as f64,
                )
            }
            Scheme::VarianceScaling { scale, mode, .. } => {
                let (fi, fo) = keras_fans(shape);
                m(0.0, scale / mode.fan(fi, fo).max(1.0))
            }
            Scheme::Orthogonal { .. } | Scheme::DeltaOrthogonal { .. } if n == 0 => m(0.0, 0.0),
            _ => {
                let s = self.std(shape).ok_or_else(|| {
                    format!(
                        "{}: no variance is defined for shape {shape:?}",
                        self.name()
                    )
                })?;
                m(0.0, s * s)
            }
        }
    }

    /// Draw a tensor of `shape`, row-major in PyTorch layout `[out, in, k...]`.
    pub fn sample<R: Rng + ?Sized>(
        &self,
        shape: &[usize],
        rng: &mut R,
    ) -> Result<Vec<f64>, String> {
        self.check_shape(shape)?;
        if let Some(word) = self.needs_activation() {
            return Err(format!(
                "{}: gain = \"{word}\" depends on the activation that follows the layer; resolve it with an activation first (Init::for_activation)",
                self.name()
            ));
        }
        let n: usize = shape.iter().product();
        if n == 0 {
            return Ok(Vec::new());
        }
        if let Some(e) = self.elementwise(shape) {
            let mut out = vec![0.0; n];
            e.fill(rng, &mut out);
            return Ok(out);
        }
        let normal = |rng: &mut R, mean: f64, std: f64| -> Vec<f64> {
            let mut out = vec![0.0; n];
            Elementwise::Normal { mean, std }.fill(rng, &mut out);
            out
        };
        Ok(match *self {
            Scheme::Constant { val } => vec![val; n],
            Scheme::Ones => vec![1.0; n],
            Scheme::Zeros => vec![0.0; n],
            Scheme::Eye => {
                let (r, c) = (shape[0], shape[1]);
                let mut w = vec![0.0; n];
                for i in 0..r.min(c) {
                    w[i * c + i] = 1.0;
                }
                w
            }
            Scheme::Dirac { groups } => {
                let mut w = vec![0.0; n];
                let out_per_group = shape[0] / groups;
                let min_dim = out_per_group.min(shape[1]);
                let spatial = &shape[2..];
                let per_in: usize = spatial.iter().product();
                let per_out = shape[1] * per_in;
                // Centre index of the kernel, row-major over the spatial dims.
                let centre = spatial.iter().fold(0, |acc, &k| acc * k + k / 2);
                for g in 0..groups {
                    for d in 0..min_dim {
                        w[(g * out_per_group + d) * per_out + d * per_in + centre] = 1.0;
                    }
                }
                w
            }
            Scheme::Orthogonal { .. } => {
                let gain = self.gain().expect("resolved above");
                let rows = shape[0];
                let cols = n / rows;
                let mut a = normal(rng, 0.0, 1.0);
                orthogonalize(&mut a, rows, cols, gain);
                a
            }
            Scheme::DeltaOrthogonal { .. } => {
                let gain = self.gain().expect("resolved above");
                let (rows, cols) = (shape[0], shape[1]);
                let spatial = &shape[2..];
                let per_in: usize = spatial.iter().product();
                // Centre tap, row-major over the kernel (as dirac).
                let centre = spatial.iter().fold(0, |acc, &k| acc * k + k / 2);
                let mut q = vec![0.0; rows * cols];
                Elementwise::Normal {
                    mean: 0.0,
                    std: 1.0,
                }
                .fill(rng, &mut q);
                orthogonalize(&mut q, rows, cols, gain);
                let mut w = vec![0.0; n];
                for o in 0..rows {
                    for c in 0..cols {
                        w[(o * cols + c) * per_in + centre] = q[o * cols + c];
                    }
                }
                w
            }
            Scheme::Sparse { sparsity, std } => {
                let (rows, cols) = (shape[0], shape[1]);
                let zeros = (sparsity * rows as f64).ceil() as usize;
                let mut w = normal(rng, 0.0, std);
                let mut perm: Vec<usize> = (0..rows).collect();
                for c in 0..cols {
                    // Partial Fisher–Yates: the first `zeros` entries are a uniform random subset.
                    for i in 0..zeros.min(rows) {
                        let j = rng.random_range(i..rows);
                        perm.swap(i, j);
                        w[perm[i] * cols + c] = 0.0;
                    }
                }
                w
            }
            _ => unreachable!("elementwise schemes are drawn above"),
        })
    }

    /// The i.i.d. per-entry distribution of schemes that draw every entry independently
    /// (uniform, normal, trunc_normal, xavier_*, kaiming_*, variance_scaling); `None` for the
    /// structured ones (constant, eye, dirac, orthogonal, sparse). Shape must be valid.
    pub fn elementwise(&self, shape: &[usize]) -> Option<Elementwise> {
        Some(match *self {
            Scheme::Uniform { a, b } => Elementwise::Uniform { a, b },
            Scheme::Normal { mean, std } => Elementwise::Normal { mean, std },
            Scheme::TruncNormal { mean, std, a, b } => {
                Elementwise::Trunc(TruncNormal::new(mean, std, a, b))
            }
            Scheme::XavierUniform { .. } | Scheme::KaimingUniform { .. } => {
                let bound = self.bound(shape)?;
                Elementwise::Uniform {
                    a: -bound,
                    b: bound,
                }
            }
            Scheme::XavierNormal { .. } | Scheme::KaimingNormal { .. } => Elementwise::Normal {
                mean: 0.0,
                std: self.std(shape)?,
            },
            Scheme::VarianceScaling { distribution, .. } => {
                let std = self.std(shape)?;
                match distribution {
                    VsDistribution::TruncatedNormal => {
                        Elementwise::Trunc(TruncNormal::new(0.0, std, -2.0 * std, 2.0 * std))
                    }
                    VsDistribution::UntruncatedNormal => Elementwise::Normal { mean: 0.0, std },
                    VsDistribution::Uniform => {
                        let bound = 3f64.sqrt() * std;
                        Elementwise::Uniform {
                            a: -bound,
                            b: bound,
                        }
                    }
                }
            }
            _ => return None,
        })
    }
}

/// A per-entry distribution from which every entry is drawn independently.
#[derive(Debug, Clone)]
pub enum Elementwise {
    /// a + (b − a)·u, u ~ U[0, 1).
    Uniform {
        a: f64,
        b: f64,
    },
    /// mean + std·z, z ~ N(0, 1) (ziggurat: 32-bit for f32 tensors, 64-bit for f64).
    Normal {
        mean: f64,
        std: f64,
    },
    Trunc(TruncNormal),
}

impl Elementwise {
    /// Fill `out` with independent draws, in order, converted to `T`.
    pub fn fill<T: crate::real::Real, R: Rng + ?Sized>(&self, rng: &mut R, out: &mut [T]) {
        // SAFETY: fill_uninit writes a drawn value into every slot and nothing else.
        self.fill_uninit(rng, unsafe { crate::real::as_uninit(out) })
    }

    /// [`Elementwise::fill`] into fresh storage: writes every slot.
    pub fn fill_uninit<T: crate::real::Real, R: Rng + ?Sized>(
        &self,
        rng: &mut R,
        out: &mut [std::mem::MaybeUninit<T>],
    ) {
        match self {
            Elementwise::Uniform { a, b } => super::words::fill_uniform(rng, *a, *b, out),
            Elementwise::Normal { mean, std } => T::fill_normal(rng, *mean, *std, out),
            Elementwise::Trunc(t) => out.iter_mut().for_each(|o| {
                o.write(T::of(t.sample(rng)));
            }),
        }
    }
}

/// Keras' `compute_fans` for a PyTorch-layout shape `[out, in, k...]`: rank 0 → (1, 1),
/// rank 1 → (n, n), otherwise the layer's fans, which for Keras' own layouts (`[in, out]` for
/// Dense, `[k..., in, out]` for Conv) are the same in·∏k and out·∏k as PyTorch's.
pub fn keras_fans(shape: &[usize]) -> (usize, usize) {
    match shape.len() {
        0 => (1, 1),
        1 => (shape[0], shape[0]),
        _ => fans(shape).expect("rank >= 2"),
    }
}

fn check_std(at: &str, scheme: &str, std: f64) -> anyhow::Result<()> {
    if std < 0.0 {
        return Err(bad(format!("{at}: {scheme} needs std >= 0, found {std}")));
    }
    Ok(())
}

/// `gain` of xavier_*, kaiming_* and orthogonal: a finite number, `"preserve"` or `"pytorch"`.
fn gain_opt(p: &mut Params) -> anyhow::Result<Option<Gain>> {
    let at = format!("{}: key 'gain' of {}", p.at, p.owner);
    Ok(match p.value_opt("gain") {
        None => None,
        Some(toml::Value::Float(g)) if g.is_finite() => Some(Gain::Value(g)),
        Some(toml::Value::Integer(g)) => Some(Gain::Value(g as f64)),
        Some(toml::Value::String(w)) => match w.as_str() {
            "preserve" => Some(Gain::Preserve),
            "pytorch" => Some(Gain::Pytorch),
            other => {
                return Err(bad(format!(
                    "{at}: {} or a number",
                    unknown_name("gain", other, GAIN_WORDS)
                )))
            }
        },
        Some(other) => {
            return Err(bad(format!(
                "{at}: expected a finite number, \"preserve\" or \"pytorch\", found {other}"
            )))
        }
    })
}

/// `nonlinearity` of xavier_* and kaiming_*: one of [`ALL_NONLINEARITIES`].
fn nonlinearity_opt(p: &mut Params) -> anyhow::Result<Option<&'static str>> {
    if p.peek("nonlinearity").is_none() {
        // Registered as a known key for the unknown-key message.
        p.choice_or("nonlinearity", "", ALL_NONLINEARITIES)?;
        return Ok(None);
    }
    Ok(Some(p.choice_or("nonlinearity", "", ALL_NONLINEARITIES)?))
}

fn both_gain_and(at: &str, scheme: &str, other: &str) -> anyhow::Error {
    bad(format!(
        "{at}: {scheme} takes either 'gain' or '{other}', not both: gain sets the gain itself, {other} is how PyTorch computes it"
    ))
}
