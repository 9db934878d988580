//! Initialization: a weight [`Scheme`] plus a bias rule, either given explicitly or as one of
//! the framework presets.
//!
//! Presets (weight and bias together):
//! - `pytorch_default`: `nn.Linear`/`nn.ConvNd.reset_parameters` — weight
//!   `kaiming_uniform(a=√5)`, i.e. gain √(2/(1+5)) = √(1/3) and bound √3·gain/√fan_in = 1/√fan_in:
//!   U(±1/√fan_in), variance 1/(3·fan_in) — one sixth of He's 2/fan_in; bias U(±1/√fan_in).
//! - Keras `glorot_uniform` = variance_scaling(1, fan_avg, uniform), `glorot_normal` =
//!   variance_scaling(1, fan_avg, truncated_normal), `he_normal` = variance_scaling(2, fan_in,
//!   truncated_normal) (truncated, unlike PyTorch's kaiming_normal), `he_uniform` =
//!   variance_scaling(2, fan_in, uniform), `lecun_normal` = variance_scaling(1, fan_in,
//!   truncated_normal), `lecun_uniform` = variance_scaling(1, fan_in, uniform); zero bias.

pub mod chacha_wide;
pub mod fans;
pub mod gain;
#[cfg(test)]
pub(crate) mod ks;
pub mod lsuv;
pub mod orthogonal;
#[cfg(test)]
mod parity_tests;
pub mod recipe;
pub mod scheme;
pub mod trunc;
pub mod words;
pub mod ziggurat;

pub use gain::Gain;
pub use scheme::{FanMode, Moments, Scheme, VsDistribution, GAIN_SCHEMES, SCHEMES};

use crate::activation::Activation;
use crate::error::{bad, unknown_name};
use crate::params::{parse_inline, Params};
use rand::Rng;
use toml::{Table, Value};

/// Every `norm` name (in `[network]` and in an `[[init]]` recipe).
pub const NORMS: &[&str] = &["none", "batchnorm", "layernorm"];

/// Every framework preset name (the residual-net recipes are in [`recipe::RECIPES`]).
pub const PRESETS: &[&str] = &[
    "pytorch_default",
    "glorot_uniform",
    "glorot_normal",
    "he_normal",
    "he_uniform",
    "lecun_normal",
    "lecun_uniform",
];

/// How the bias vector (length `out`) is drawn.
#[derive(Debug, Clone, PartialEq)]
pub enum BiasInit {
    /// A scheme applied to the 1-D bias tensor.
    Scheme(Scheme),
    /// PyTorch's layer default: U(±1/√fan_in) with the *weight's* fan_in (0 when fan_in = 0).
    FanInUniform,
}

impl BiasInit {
    pub fn canonical(&self) -> String {
        match self {
            BiasInit::Scheme(s) => s.canonical(),
            BiasInit::FanInUniform => "uniform(±1/√fan_in)".into(),
        }
    }

    fn fan_in_bound(weight_shape: &[usize]) -> f64 {
        let fan_in = fans::fans(weight_shape).map(|f| f.0).unwrap_or(0);
        if fan_in > 0 {
            1.0 / (fan_in as f64).sqrt()
        } else {
            0.0
        }
    }

    /// Per-entry mean and variance of the bias for a layer whose weight has `weight_shape`.
    pub fn moments(&self, weight_shape: &[usize]) -> Result<Moments, String> {
        match self {
            BiasInit::Scheme(s) => s.moments(&[weight_shape[0]]),
            BiasInit::FanInUniform => {
                let b = Self::fan_in_bound(weight_shape);
                Ok(Moments {
                    mean: 0.0,
                    var: b * b / 3.0,
                })
            }
        }
    }

    /// Draw the bias vector for a layer whose weight has `weight_shape`.
    pub fn sample<R: Rng + ?Sized>(
        &self,
        weight_shape: &[usize],
        rng: &mut R,
    ) -> Result<Vec<f64>, String> {
        let out = weight_shape.first().copied().unwrap_or(0);
        match self {
            BiasInit::Scheme(s) => s.sample(&[out], rng),
            BiasInit::FanInUniform => {
                let b = Self::fan_in_bound(weight_shape);
                Ok((0..out)
                    .map(|_| {
                        let u: f64 = rng.random();
                        -b + 2.0 * b * u
                    })
                    .collect())
            }
        }
    }

    pub fn is_zero(&self) -> bool {
        matches!(self, BiasInit::Scheme(Scheme::Zeros))
    }
}

/// A complete layer initialization: weight scheme, bias rule, the preset it came from, and
/// for residual nets its recipe (α, β, norm, per-layer rescaling: [`recipe`]).
#[derive(Debug, Clone, PartialEq)]
pub struct Init {
    pub weight: Scheme,
    pub bias: BiasInit,
    pub preset: Option<&'static str>,
    pub recipe: recipe::Recipe,
    /// LSUV over the weight scheme as its base (issue 13; [`lsuv`]).
    pub lsuv: Option<lsuv::Lsuv>,
}

/// Every name `preset =` takes: the framework presets and the residual-net recipes.
pub fn all_presets() -> Vec<&'static str> {
    PRESETS.iter().chain(recipe::RECIPES).copied().collect()
}

impl Init {
    /// A preset by name.
    pub fn preset(name: &str, at: &str) -> anyhow::Result<Init> {
        let vs =
            |scale: f64, mode: FanMode, distribution: VsDistribution| Scheme::VarianceScaling {
                scale,
                mode,
                distribution,
            };
        let zeros = BiasInit::Scheme(Scheme::Zeros);
        let (preset, weight, bias) = match name {
            "pytorch_default" => (
                "pytorch_default",
                Scheme::KaimingUniform {
                    mode: FanMode::FanIn,
                    gain: Gain::Nonlinearity {
                        name: "leaky_relu",
                        param: Some(5f64.sqrt()),
                    },
                },
                BiasInit::FanInUniform,
            ),
            "glorot_uniform" => (
                "glorot_uniform",
                vs(1.0, FanMode::FanAvg, VsDistribution::Uniform),
                zeros,
            ),
            "glorot_normal" => (
                "glorot_normal",
                vs(1.0, FanMode::FanAvg, VsDistribution::TruncatedNormal),
                zeros,
            ),
            "he_normal" => (
                "he_normal",
                vs(2.0, FanMode::FanIn, VsDistribution::TruncatedNormal),
                zeros,
            ),
            "he_uniform" => (
                "he_uniform",
                vs(2.0, FanMode::FanIn, VsDistribution::Uniform),
                zeros,
            ),
            "lecun_normal" => (
                "lecun_normal",
                vs(1.0, FanMode::FanIn, VsDistribution::TruncatedNormal),
                zeros,
            ),
            "lecun_uniform" => (
                "lecun_uniform",
                vs(1.0, FanMode::FanIn, VsDistribution::Uniform),
                zeros,
            ),
            other => {
                if let Some(kind) = recipe::RecipeKind::from_name(other) {
                    // He et al.'s init under every recipe; the recipe does the rest.
                    return Ok(Init {
                        weight: Scheme::KaimingNormal {
                            mode: FanMode::FanIn,
                            gain: Gain::Nonlinearity {
                                name: "relu",
                                param: Some(0.0),
                            },
                        },
                        bias: zeros,
                        preset: Some(kind.name()),
                        recipe: recipe::Recipe::named(kind),
                        lsuv: None,
                    });
                }
                return Err(bad(format!(
                    "{at}: {}",
                    unknown_name("preset", other, &all_presets())
                )));
            }
        };
        Ok(Init {
            weight,
            bias,
            preset: Some(preset),
            recipe: recipe::Recipe::default(),
            lsuv: None,
        })
    }

    /// A weight scheme with zero bias.
    pub fn from_scheme(weight: Scheme) -> Init {
        Init {
            weight,
            bias: BiasInit::Scheme(Scheme::Zeros),
            preset: None,
            recipe: recipe::Recipe::default(),
            lsuv: None,
        }
    }

    /// A weight given as a TOML value: a scheme, or `{ scheme = "lsuv", ... }` over its base.
    fn from_weight_value(v: &Value, at: &str) -> anyhow::Result<Init> {
        if let Some(t) = lsuv_table(v) {
            let (base, l) = lsuv::parse(t, at)?;
            let mut init = Init::from_scheme(base);
            init.lsuv = Some(l);
            return Ok(init);
        }
        Ok(Init::from_scheme(scheme_from_value(v, at)?))
    }

    /// Canonical description: identical text ⇔ identical numbers.
    pub fn canonical(&self) -> String {
        let base = match self.preset {
            Some(p) => p.to_string(),
            None => self.weight.canonical(),
        };
        let default_bias = match self.preset {
            Some("pytorch_default") => BiasInit::FanInUniform,
            _ => BiasInit::Scheme(Scheme::Zeros),
        };
        let mut text = if self.bias == default_bias {
            base
        } else {
            format!("{base} + bias {}", self.bias.canonical())
        };
        for (k, v) in self.recipe.overrides() {
            text.push_str(&format!(" + {k}={v}"));
        }
        match &self.lsuv {
            Some(l) => l.canonical(&text),
            None => text,
        }
    }

    /// Parse a command-line SPEC: a bare scheme or preset name, or an inline-table body
    /// (`scheme = "kaiming_uniform", a = 2.236`, or `preset = "pytorch_default"`).
    pub fn parse_spec(text: &str, at: &str) -> anyhow::Result<Init> {
        let t = text.trim();
        if !t.contains('=') {
            if all_presets().contains(&t) {
                return Init::preset(t, at);
            }
            if !SCHEMES.contains(&t) && t != "lsuv" {
                let all: Vec<&str> = SCHEMES.iter().copied().chain(all_presets()).collect();
                return Err(bad(format!(
                    "{at}: {}",
                    unknown_name("init scheme or preset", t, &all)
                )));
            }
        }
        let mut table = parse_inline(t, "scheme", at)?;
        if let Some(preset) = table.remove("preset") {
            let name = expect_str(&preset, at, "preset", &all_presets())?;
            if let Some(k) = table.keys().next() {
                return Err(bad(format!(
                    "{at}: unknown key '{k}' beside 'preset'; a preset takes no parameters"
                )));
            }
            return Init::preset(&name, at);
        }
        Init::from_weight_value(&Value::Table(table), at)
    }

    /// Parse the `weight = ...`/`bias = ...`/`preset = ...` keys of an `[[init]]` entry
    /// (already stripped of `label`), and the recipe keys `norm`, `alpha`, `beta`.
    pub fn from_entry(mut entry: Table, at: &str) -> anyhow::Result<Init> {
        let preset = entry.remove("preset");
        let weight = entry.remove("weight");
        let bias = entry.remove("bias");
        let norm = entry.remove("norm");
        let alpha = entry.remove("alpha");
        let beta = entry.remove("beta");
        if let Some(k) = entry.keys().next() {
            return Err(bad(format!(
                "{at}: unknown key '{k}'; valid keys: label, preset, weight, bias, norm, alpha, beta"
            )));
        }
        let mut init = match (preset, weight) {
            (Some(_), Some(_)) => {
                return Err(bad(format!(
                    "{at}: give either 'preset' or 'weight', not both"
                )));
            }
            (Some(p), None) => Init::preset(
                &expect_str(&p, &format!("{at}.preset"), "preset", &all_presets())?,
                &format!("{at}.preset"),
            )?,
            (None, Some(w)) => Init::from_weight_value(&w, &format!("{at}.weight"))?,
            (None, None) => {
                return Err(bad(format!(
                    "{at}: needs 'weight = {{ scheme = ... }}' or 'preset = ...'; presets: {}",
                    all_presets().join(", ")
                )))
            }
        };
        if let Some(v) = norm {
            let name = expect_str(&v, &format!("{at}.norm"), "norm", NORMS)?;
            init.recipe.norm = Some(match name.as_str() {
                "none" => None,
                "batchnorm" => Some(crate::arch::layer::NormKind::Batch),
                "layernorm" => Some(crate::arch::layer::NormKind::Layer),
                other => {
                    return Err(bad(format!(
                        "{at}.norm: {}",
                        unknown_name("norm", other, NORMS)
                    )))
                }
            });
        }
        if let Some(v) = alpha {
            let a = match v {
                Value::Float(f) => f,
                Value::Integer(i) => i as f64,
                other => {
                    return Err(bad(format!(
                        "{at}.alpha: expected a number >= 0, found {}",
                        other.type_str()
                    )))
                }
            };
            if !(a.is_finite() && a >= 0.0) {
                return Err(bad(format!(
                    "{at}.alpha: must be a finite number >= 0, found {a}"
                )));
            }
            init.recipe.alpha = Some(a);
        }
        if let Some(v) = beta {
            let name = expect_str(&v, &format!("{at}.beta"), "beta", recipe::Beta::NAMES)?;
            init.recipe.beta = Some(recipe::Beta::from_name(&name).ok_or_else(|| {
                bad(format!(
                    "{at}.beta: {}",
                    unknown_name("beta", &name, recipe::Beta::NAMES)
                ))
            })?);
        }
        if let Some(b) = bias {
            let at_b = format!("{at}.bias");
            let scheme = scheme_from_value(&b, &at_b)?;
            scheme.check_shape(&[1]).map_err(|e| {
                bad(format!(
                    "{at_b}: {} cannot initialize a 1-D bias: {e}",
                    scheme.name()
                ))
            })?;
            init.bias = BiasInit::Scheme(scheme);
        }
        Ok(init)
    }

    /// This init for a layer followed by `act`: a weight `gain = "preserve"` becomes the
    /// variance-preserving gain of `act` at q = 1 ([`gain::run_preserve_gain`]: g with
    /// g²·E[φ(z)²] = 1), `gain = "pytorch"` calculate_gain of `act` (√2 where PyTorch has
    /// none), as numbers — so the resolved init's canonical text, and with it the weight streams,
    /// are fixed by (init, activation). Every other init is returned unchanged. The experiment
    /// calls it once per cell ([`crate::config::Experiment::cells`]).
    ///
    /// Q = 1 whatever the experiment's input std: the gain is a property of φ and Q, like
    /// calculate_gain's, and Q = 1 is the variance of standardized pre-activations (what a
    /// unit-variance input gives a layer of gain 1). Layer 1 then sees q_1 = g²·E[x_0²], and
    /// from there q moves to (or, if unstable, away from) Q.
    pub fn for_activation(&self, act: Activation) -> Init {
        Init {
            weight: self.weight.for_activation(act),
            ..self.clone()
        }
    }

    /// `Some("preserve")`/`Some("pytorch")` when the weight's gain waits for an activation.
    pub fn needs_activation(&self) -> Option<&'static str> {
        self.weight.needs_activation()
    }

    /// Check that this init can fill a weight of `shape` (PyTorch's shape rules).
    pub fn check_shape(&self, shape: &[usize], at: &str) -> anyhow::Result<()> {
        self.weight
            .check_shape(shape)
            .map_err(|e| bad(format!("{at}: {}: {e}", self.weight.name())))
    }
}

/// `Some(the table without 'scheme')` when `v` is `"lsuv"` or `{ scheme = "lsuv", ... }`.
fn lsuv_table(v: &Value) -> Option<Table> {
    match v {
        Value::String(s) if s == "lsuv" => Some(Table::new()),
        Value::Table(t) if t.get("scheme").and_then(|s| s.as_str()) == Some("lsuv") => {
            let mut t = t.clone();
            t.remove("scheme");
            Some(t)
        }
        _ => None,
    }
}

fn expect_str(v: &Value, at: &str, key: &str, valid: &[&str]) -> anyhow::Result<String> {
    match v {
        Value::String(s) => Ok(s.clone()),
        other => Err(bad(format!(
            "{at}: '{key}' must be a string, found {}; valid: {}",
            other.type_str(),
            valid.join(", ")
        ))),
    }
}

/// A scheme from a TOML value: a bare name or `{ scheme = "...", params... }`.
pub fn scheme_from_value(v: &Value, at: &str) -> anyhow::Result<Scheme> {
    match v {
        Value::String(s) => {
            let mut t = Table::new();
            t.insert("scheme".into(), Value::String(s.clone()));
            scheme_from_table(t, at)
        }
        Value::Table(t) => scheme_from_table(t.clone(), at),
        other => Err(bad(format!(
            "{at}: expected a table {{ scheme = ... }} or a scheme name, found {}",
            other.type_str()
        ))),
    }
}

fn scheme_from_table(mut t: Table, at: &str) -> anyhow::Result<Scheme> {
    let name = match t.remove("scheme") {
        Some(v) => expect_str(&v, at, "scheme", SCHEMES)?,
        None => {
            return Err(bad(format!(
                "{at}: missing key 'scheme'; valid schemes: {}",
                SCHEMES.join(", ")
            )));
        }
    };
    if !SCHEMES.contains(&name.as_str()) {
        if all_presets().contains(&name.as_str()) {
            return Err(bad(format!(
                "{at}: '{name}' is a preset, not a scheme: write preset = \"{name}\""
            )));
        }
        return Err(bad(format!(
            "{at}: {}",
            unknown_name("scheme", &name, SCHEMES)
        )));
    }
    Scheme::from_params(&name, Params::new(t, at, format!("scheme '{name}'")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn pytorch_default_is_uniform_one_over_sqrt_fan_in() {
        let init = Init::parse_spec("pytorch_default", "cli").unwrap();
        let shape = [128, 300];
        let bound = init.weight.bound(&shape).unwrap();
        assert!((bound - 1.0 / 300f64.sqrt()).abs() < 1e-15 * bound);
        let m = init.weight.moments(&shape).unwrap();
        assert!((m.var - 1.0 / 900.0).abs() < 1e-15);
        let b = init.bias.moments(&shape).unwrap();
        assert!((b.var - 1.0 / 900.0).abs() < 1e-15);
    }

    #[test]
    fn spec_forms() {
        let a = Init::parse_spec("kaiming_normal", "cli").unwrap();
        assert_eq!(a.canonical(), "kaiming_normal");
        let b = Init::parse_spec(
            "scheme = \"kaiming_normal\", nonlinearity = \"relu\"",
            "cli",
        )
        .unwrap();
        assert_eq!(b.canonical(), "kaiming_normal(nonlinearity=relu)");
        // Default kaiming gain is √2 (leaky_relu with a = 0) — same numbers as nonlinearity = relu.
        let shape = [64, 64];
        assert_eq!(a.weight.std(&shape), b.weight.std(&shape));
        let e = Init::parse_spec("kaiming_norml", "cli")
            .unwrap_err()
            .to_string();
        assert!(e.contains("did you mean 'kaiming_normal'"), "{e}");
        let e = Init::parse_spec("scheme = \"kaiming_normal\", mode = \"fan_avg\"", "cli")
            .unwrap_err()
            .to_string();
        assert!(e.contains("valid: fan_in, fan_out"), "{e}");
        let e = Init::parse_spec("scheme = \"uniform\", a = 2, b = 1", "cli")
            .unwrap_err()
            .to_string();
        assert!(e.contains("a <= b"), "{e}");
        let e = Init::parse_spec("scheme = \"normal\", std = -1", "cli")
            .unwrap_err()
            .to_string();
        assert!(e.contains("std >= 0"), "{e}");
        let e = Init::parse_spec("scheme = \"normal\", sdt = 1", "cli")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("unknown key 'sdt'") && e.contains("valid keys: mean, std"),
            "{e}"
        );
        let e = Init::parse_spec(
            "scheme = \"kaiming_normal\", nonlinearity = \"swish\"",
            "cli",
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("valid: linear"), "{e}");
    }

    /// `gain = "preserve"`/`"pytorch"`: parsed as words, resolved per activation to numbers
    /// whose canonical text is fixed, refused where there is no gain, and not sampleable
    /// unresolved.
    #[test]
    fn per_activation_gains() {
        let gelu = Activation::Gelu { tanh_approx: false };
        for scheme in GAIN_SCHEMES {
            for word in gain::GAIN_WORDS {
                let spec = format!("scheme = \"{scheme}\", gain = \"{word}\"");
                let init = Init::parse_spec(&spec, "cli").unwrap();
                assert_eq!(init.needs_activation(), Some(*word));
                assert_eq!(init.canonical(), format!("{scheme}(gain={word})"));
                // The unresolved init round-trips through its table (experiment.toml).
                let back = scheme_from_value(&Value::Table(init.weight.to_table()), "t").unwrap();
                assert_eq!(back, init.weight);
                let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(3);
                let e = init.weight.sample(&[4, 4], &mut rng).unwrap_err();
                assert!(e.contains("depends on the activation"), "{e}");
                let r = init.for_activation(gelu);
                assert_eq!(r.needs_activation(), None);
                let g = r.weight.gain().unwrap();
                let want = if *word == "preserve" {
                    gain::run_preserve_gain(gelu)
                } else {
                    std::f64::consts::SQRT_2
                };
                assert_eq!(g, want, "{spec}");
                assert_eq!(r, init.for_activation(gelu), "deterministic");
                assert!(
                    r.canonical().contains(&format!("gain={g}")),
                    "{}",
                    r.canonical()
                );
                // Square layer: σ_w² = fan·Var[w] = g² for every gain scheme (orthogonal too).
                let var = r.weight.moments(&[64, 64]).unwrap().var;
                assert!((64.0 * var / (g * g) - 1.0).abs() < 1e-14, "{spec}: {var}");
            }
        }
        // Resolving leaves every other init alone.
        for spec in [
            "kaiming_normal",
            "pytorch_default",
            "xavier_uniform",
            "normal",
        ] {
            let init = Init::parse_spec(spec, "cli").unwrap();
            assert_eq!(init.for_activation(gelu), init, "{spec}");
        }
        // kaiming with a number: Var = g²/fan_in, canonical parses back.
        let k = Init::parse_spec("scheme = \"kaiming_uniform\", gain = 1.5", "cli").unwrap();
        assert_eq!(k.weight.std(&[10, 40]), Some(1.5 / 40f64.sqrt()));
        let back = scheme_from_value(&Value::Table(k.weight.to_table()), "t").unwrap();
        assert_eq!(back, k.weight);
        // nonlinearity on xavier (beyond PyTorch) = calculate_gain(nonlinearity) as gain.
        let x =
            Init::parse_spec("scheme = \"xavier_normal\", nonlinearity = \"tanh\"", "cli").unwrap();
        assert_eq!(x.weight.gain(), Some(5.0 / 3.0));
        assert_eq!(x.canonical(), "xavier_normal(nonlinearity=tanh)");
        // Refusals name the value and the choices.
        for (spec, want) in [
            (
                "scheme = \"normal\", gain = \"preserve\"",
                "schemes with a gain: xavier_uniform, xavier_normal, kaiming_uniform, kaiming_normal, orthogonal, delta_orthogonal",
            ),
            ("scheme = \"variance_scaling\", gain = \"preserve\"", "scale = gain^2"),
            ("scheme = \"uniform\", gain = 2", "has no gain"),
            ("scheme = \"xavier_normal\", gain = \"keep\"", "valid: preserve, pytorch or a number"),
            ("scheme = \"xavier_normal\", gain = true", "expected a finite number"),
            (
                "scheme = \"kaiming_normal\", gain = \"preserve\", nonlinearity = \"relu\"",
                "either 'gain' or 'nonlinearity'",
            ),
            ("scheme = \"kaiming_normal\", gain = 2, a = 1", "either 'gain' or 'a'"),
            (
                "scheme = \"xavier_uniform\", gain = 2, nonlinearity = \"relu\"",
                "either 'gain' or 'nonlinearity'",
            ),
            ("scheme = \"orthogonal\", nonlinearity = \"relu\"", "unknown key 'nonlinearity'"),
        ] {
            let e = Init::parse_spec(spec, "cli").unwrap_err();
            assert!(crate::error::is_bad_input(&e), "{spec}");
            assert!(e.to_string().contains(want), "{spec}: {e}");
        }
    }

    /// Moments of sampled weights against the formulas: z-test on the mean and the variance
    /// with standard errors from the sample size (|z| < 5).
    #[test]
    fn sampled_moments_match_formulas() {
        let shape = [400, 500];
        let specs = [
            "pytorch_default",
            "kaiming_normal",
            "scheme = \"kaiming_uniform\", mode = \"fan_out\", nonlinearity = \"relu\"",
            "xavier_normal",
            "xavier_uniform",
            "scheme = \"normal\", std = 0.01",
            "scheme = \"uniform\", a = -0.5, b = 1.5",
            "scheme = \"trunc_normal\", std = 0.3, a = -0.2, b = 0.5",
            "lecun_normal",
            "he_normal",
            "glorot_uniform",
            "orthogonal",
            "scheme = \"sparse\", sparsity = 0.3",
        ];
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(1);
        for spec in specs {
            let init = Init::parse_spec(spec, "test").unwrap();
            let w = init.weight.sample(&shape, &mut rng).unwrap();
            let n = w.len() as f64;
            let mean = w.iter().sum::<f64>() / n;
            let var = w.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / n;
            let m4 = w.iter().map(|x| (x - mean).powi(4)).sum::<f64>() / n;
            let want = init.weight.moments(&shape).unwrap();
            let se_mean = (want.var / n).sqrt();
            let se_var = ((m4 - var * var) / n).sqrt();
            assert!(
                (mean - want.mean).abs() < 5.0 * se_mean + 1e-300,
                "{spec}: mean {mean} vs {}",
                want.mean
            );
            // Orthogonal rows are exactly unit norm: the variance is fixed, tighter than i.i.d.
            assert!(
                (var - want.var).abs() < 5.0 * se_var,
                "{spec}: var {var} vs {} (se {se_var})",
                want.var
            );
        }
    }
}
