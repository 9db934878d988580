//! Activation functions φ and their exact derivatives φ′, with PyTorch's definitions and
//! constants.
//!
//! | name | φ(x) | φ′(x) |
//! |---|---|---|
//! | `linear` | x | 1 |
//! | `relu` | max(x, 0) | 1 if x > 0 else 0 (PyTorch's subgradient at 0) |
//! | `leaky_relu(negative_slope=0.01)` | x if x > 0 else s·x | 1 if x > 0 else s |
//! | `elu(alpha=1)` | x if x > 0 else α(eˣ − 1) | 1 if x > 0 else α·eˣ |
//! | `selu` | λ·elu_α(x), α = 1.6732632423543772848, λ = 1.0507009873554804934 (Klambauer et al. 2017, Eq. 2) | λ if x > 0 else λα·eˣ |
//! | `gelu(approximate="none")` | x·Φ(x) = ½x(1 + erf(x/√2)) (Hendrycks & Gimpel 2016) | Φ(x) + x·N(x) |
//! | `gelu(approximate="tanh")` | ½x(1 + tanh(√(2/π)(x + 0.044715x³))) | ½(1 + t) + ½x(1 − t²)·√(2/π)(1 + 3·0.044715x²) |
//! | `silu` | x·σ(x) | σ(x)(1 + x(1 − σ(x))) |
//! | `tanh` | tanh x | 1 − tanh²x |
//! | `sigmoid` | σ(x) = 1/(1 + e⁻ˣ) | σ(x)(1 − σ(x)) |
//! | `softplus(beta=1)` | log(1 + e^{βx})/β, and x where βx > 20 (PyTorch's threshold) | σ(βx), and 1 where βx > 20 |

use crate::error::{bad, unknown_name};
use crate::params::{canonical, parse_inline, Params};
use crate::real::Real;
use toml::Value;

/// SELU's α (PyTorch / Klambauer et al. 2017).
pub const SELU_ALPHA: f64 = 1.673_263_242_354_377_3;
/// SELU's λ (PyTorch / Klambauer et al. 2017).
pub const SELU_LAMBDA: f64 = 1.050_700_987_355_480_5;
/// PyTorch's softplus threshold: above β·x > 20 softplus returns x.
pub const SOFTPLUS_THRESHOLD: f64 = 20.0;

const SQRT_2_OVER_PI: f64 = 0.797_884_560_802_865_4;
const INV_SQRT_2PI: f64 = 0.398_942_280_401_432_7;
const GELU_TANH_C: f64 = 0.044_715;

/// Every activation name, for error messages and `initlab list`.
pub const NAMES: &[&str] = &[
    "linear",
    "relu",
    "leaky_relu",
    "elu",
    "selu",
    "gelu",
    "silu",
    "tanh",
    "sigmoid",
    "softplus",
];

/// An activation function with its parameters.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Activation {
    Linear,
    Relu,
    LeakyRelu { negative_slope: f64 },
    Elu { alpha: f64 },
    Selu,
    Gelu { tanh_approx: bool },
    Silu,
    Tanh,
    Sigmoid,
    Softplus { beta: f64 },
}

fn sigmoid(x: f64) -> f64 {
    if x >= 0.0 {
        1.0 / (1.0 + (-x).exp())
    } else {
        let e = x.exp();
        e / (1.0 + e)
    }
}

impl Activation {
    /// φ(x).
    #[inline]
    pub fn f(&self, x: f64) -> f64 {
        match *self {
            Activation::Linear => x,
            Activation::Relu => {
                if x > 0.0 {
                    x
                } else {
                    0.0
                }
            }
            Activation::LeakyRelu { negative_slope } => {
                if x > 0.0 {
                    x
                } else {
                    negative_slope * x
                }
            }
            Activation::Elu { alpha } => {
                if x > 0.0 {
                    x
                } else {
                    alpha * x.exp_m1()
                }
            }
            Activation::Selu => SELU_LAMBDA * if x > 0.0 { x } else { SELU_ALPHA * x.exp_m1() },
            Activation::Gelu { tanh_approx: false } => {
                0.5 * x * (1.0 + libm::erf(x / std::f64::consts::SQRT_2))
            }
            Activation::Gelu { tanh_approx: true } => {
                let u = SQRT_2_OVER_PI * (x + GELU_TANH_C * x * x * x);
                0.5 * x * (1.0 + u.tanh())
            }
            Activation::Silu => x * sigmoid(x),
            Activation::Tanh => x.tanh(),
            Activation::Sigmoid => sigmoid(x),
            Activation::Softplus { beta } => {
                let bx = beta * x;
                if bx > SOFTPLUS_THRESHOLD {
                    x
                } else {
                    bx.exp().ln_1p() / beta
                }
            }
        }
    }

    /// φ′(x), the exact derivative (PyTorch's choice at kinks).
    #[inline]
    pub fn df(&self, x: f64) -> f64 {
        match *self {
            Activation::Linear => 1.0,
            Activation::Relu => {
                if x > 0.0 {
                    1.0
                } else {
                    0.0
                }
            }
            Activation::LeakyRelu { negative_slope } => {
                if x > 0.0 {
                    1.0
                } else {
                    negative_slope
                }
            }
            Activation::Elu { alpha } => {
                if x > 0.0 {
                    1.0
                } else {
                    alpha * x.exp()
                }
            }
            Activation::Selu => {
                if x > 0.0 {
                    SELU_LAMBDA
                } else {
                    SELU_LAMBDA * SELU_ALPHA * x.exp()
                }
            }
            Activation::Gelu { tanh_approx: false } => {
                0.5 * (1.0 + libm::erf(x / std::f64::consts::SQRT_2))
                    + x * INV_SQRT_2PI * (-0.5 * x * x).exp()
            }
            Activation::Gelu { tanh_approx: true } => {
                let u = SQRT_2_OVER_PI * (x + GELU_TANH_C * x * x * x);
                let t = u.tanh();
                0.5 * (1.0 + t)
                    + 0.5 * x * (1.0 - t * t) * SQRT_2_OVER_PI * (1.0 + 3.0 * GELU_TANH_C * x * x)
            }
            Activation::Silu => {
                let s = sigmoid(x);
                s * (1.0 + x * (1.0 - s))
            }
            Activation::Tanh => {
                let t = x.tanh();
                1.0 - t * t
            }
            Activation::Sigmoid => {
                let s = sigmoid(x);
                s * (1.0 - s)
            }
            Activation::Softplus { beta } => {
                let bx = beta * x;
                if bx > SOFTPLUS_THRESHOLD {
                    1.0
                } else {
                    sigmoid(bx)
                }
            }
        }
    }

    /// (φ(x), φ′(x)) sharing the transcendental work (one tanh, erf, exp or sigmoid).
    #[inline]
    pub fn f_df(&self, x: f64) -> (f64, f64) {
        match *self {
            Activation::Tanh => {
                let t = x.tanh();
                (t, 1.0 - t * t)
            }
            Activation::Sigmoid => {
                let s = sigmoid(x);
                (s, s * (1.0 - s))
            }
            Activation::Silu => {
                let s = sigmoid(x);
                (x * s, s * (1.0 + x * (1.0 - s)))
            }
            Activation::Gelu { tanh_approx: false } => {
                let cdf = 0.5 * (1.0 + libm::erf(x / std::f64::consts::SQRT_2));
                (x * cdf, cdf + x * INV_SQRT_2PI * (-0.5 * x * x).exp())
            }
            Activation::Gelu { tanh_approx: true } => {
                let u = SQRT_2_OVER_PI * (x + GELU_TANH_C * x * x * x);
                let t = u.tanh();
                (
                    0.5 * x * (1.0 + t),
                    0.5 * (1.0 + t)
                        + 0.5
                            * x
                            * (1.0 - t * t)
                            * SQRT_2_OVER_PI
                            * (1.0 + 3.0 * GELU_TANH_C * x * x),
                )
            }
            Activation::Elu { alpha } if x <= 0.0 => (alpha * x.exp_m1(), alpha * x.exp()),
            Activation::Selu if x <= 0.0 => (
                SELU_LAMBDA * (SELU_ALPHA * x.exp_m1()),
                SELU_LAMBDA * SELU_ALPHA * x.exp(),
            ),
            _ => (self.f(x), self.df(x)),
        }
    }

    /// x = φ(y) elementwise. The match is hoisted out of the loop; piecewise-linear φ, tanh,
    /// sigmoid and SiLU run in the element type (vectorised; f32 through [`crate::fastmath`]),
    /// the others through the f64 formulas above.
    pub fn forward_slice<T: Real>(&self, y: &[T], x: &mut [T]) {
        #[cfg(target_arch = "x86_64")]
        if std::is_x86_feature_detected!("avx2") {
            // SAFETY: the CPU has AVX2.
            return unsafe { self.forward_slice_avx2(y, x) };
        }
        self.forward_slice_any(y, x)
    }

    /// [`Self::forward_slice`] compiled for AVX2 (same IEEE operations, so the same bits).
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2")]
    unsafe fn forward_slice_avx2<T: Real>(&self, y: &[T], x: &mut [T]) {
        self.forward_slice_any(y, x)
    }

    #[inline(always)]
    fn forward_slice_any<T: Real>(&self, y: &[T], x: &mut [T]) {
        #[inline(always)]
        fn map<T: Real>(y: &[T], x: &mut [T], f: impl Fn(T) -> T) {
            x.iter_mut().zip(y).for_each(|(xi, &yi)| *xi = f(yi));
        }
        let zero = T::zero();
        match *self {
            Activation::Linear => x.copy_from_slice(y),
            Activation::Relu => map(y, x, |v| if v > zero { v } else { zero }),
            Activation::LeakyRelu { negative_slope } => {
                let s = T::of(negative_slope);
                map(y, x, |v| if v > zero { v } else { s * v })
            }
            Activation::Tanh => map(y, x, |v| v.tanh_v()),
            Activation::Sigmoid => map(y, x, |v| v.sigmoid_pair().0),
            Activation::Silu => map(y, x, |v| v * v.sigmoid_pair().0),
            Activation::Gelu { tanh_approx: false } => map(y, x, |v| {
                T::of(Activation::Gelu { tanh_approx: false }.f(v.f64()))
            }),
            Activation::Gelu { tanh_approx: true } => map(y, x, |v| {
                T::of(Activation::Gelu { tanh_approx: true }.f(v.f64()))
            }),
            Activation::Elu { .. } | Activation::Selu | Activation::Softplus { .. } => {
                let a = *self;
                map(y, x, |v| T::of(a.f(v.f64())))
            }
        }
    }

    /// x = φ(y) and d = φ′(y) elementwise in one pass.
    pub fn forward_deriv_slice<T: Real>(&self, y: &[T], x: &mut [T], d: &mut [T]) {
        #[cfg(target_arch = "x86_64")]
        if std::is_x86_feature_detected!("avx2") {
            // SAFETY: the CPU has AVX2.
            return unsafe { self.forward_deriv_slice_avx2(y, x, d) };
        }
        self.forward_deriv_slice_any(y, x, d)
    }

    /// [`Self::forward_deriv_slice`] compiled for AVX2 (same IEEE operations, so the same bits).
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2")]
    unsafe fn forward_deriv_slice_avx2<T: Real>(&self, y: &[T], x: &mut [T], d: &mut [T]) {
        self.forward_deriv_slice_any(y, x, d)
    }

    #[inline(always)]
    fn forward_deriv_slice_any<T: Real>(&self, y: &[T], x: &mut [T], d: &mut [T]) {
        #[inline(always)]
        fn map2<T: Real>(y: &[T], x: &mut [T], d: &mut [T], f: impl Fn(T) -> (T, T)) {
            x.iter_mut()
                .zip(d.iter_mut())
                .zip(y)
                .for_each(|((xi, di), &yi)| {
                    let (a, b) = f(yi);
                    *xi = a;
                    *di = b;
                });
        }
        let (zero, one) = (T::zero(), T::one());
        let lift = |a: Activation| {
            move |v: T| {
                let (f, df) = a.f_df(v.f64());
                (T::of(f), T::of(df))
            }
        };
        match *self {
            Activation::Linear => {
                x.copy_from_slice(y);
                d.iter_mut().for_each(|di| *di = one);
            }
            Activation::Relu => map2(y, x, d, |v| if v > zero { (v, one) } else { (zero, zero) }),
            Activation::LeakyRelu { negative_slope } => {
                let s = T::of(negative_slope);
                map2(y, x, d, |v| if v > zero { (v, one) } else { (s * v, s) })
            }
            Activation::Tanh => map2(y, x, d, |v| {
                let t = v.tanh_v();
                (t, one - t * t)
            }),
            Activation::Sigmoid => map2(y, x, d, |v| {
                let (s, rest) = v.sigmoid_pair();
                (s, s * rest)
            }),
            Activation::Silu => map2(y, x, d, |v| {
                let (s, rest) = v.sigmoid_pair();
                (v * s, s * (one + v * rest))
            }),
            a => map2(y, x, d, lift(a)),
        }
    }

    /// The `torch.nn.init.calculate_gain` nonlinearity that matches this activation, with its
    /// parameter (for `activations.toml`: Kaiming init with the matched gain). `None` when
    /// PyTorch has no gain for it (elu, gelu, silu, softplus), where √2 (ReLU-like) is the usual choice.
    pub fn torch_gain_name(&self) -> Option<(&'static str, Option<f64>)> {
        match *self {
            Activation::Linear => Some(("linear", None)),
            Activation::Relu => Some(("relu", None)),
            Activation::LeakyRelu { negative_slope } => Some(("leaky_relu", Some(negative_slope))),
            Activation::Selu => Some(("selu", None)),
            Activation::Tanh => Some(("tanh", None)),
            Activation::Sigmoid => Some(("sigmoid", None)),
            _ => None,
        }
    }

    /// Canonical label: the bare name when every parameter is at its default.
    pub fn label(&self) -> String {
        match *self {
            Activation::Linear => "linear".into(),
            Activation::Relu => "relu".into(),
            Activation::LeakyRelu {
                negative_slope: 0.01,
            } => "leaky_relu".into(),
            Activation::LeakyRelu { negative_slope } => canonical(
                "leaky_relu",
                &[("negative_slope", negative_slope.to_string())],
            ),
            Activation::Elu { alpha: 1.0 } => "elu".into(),
            Activation::Elu { alpha } => canonical("elu", &[("alpha", alpha.to_string())]),
            Activation::Selu => "selu".into(),
            Activation::Gelu { tanh_approx: false } => "gelu".into(),
            Activation::Gelu { tanh_approx: true } => "gelu(approximate=tanh)".into(),
            Activation::Silu => "silu".into(),
            Activation::Tanh => "tanh".into(),
            Activation::Sigmoid => "sigmoid".into(),
            Activation::Softplus { beta: 1.0 } => "softplus".into(),
            Activation::Softplus { beta } => canonical("softplus", &[("beta", beta.to_string())]),
        }
    }

    /// The TOML value that parses back to `self`: the bare name, or a table with the parameters.
    pub fn to_value(&self) -> Value {
        let mut t = toml::Table::new();
        let (name, params): (&str, Vec<(&str, Value)>) = match *self {
            Activation::Linear => ("linear", vec![]),
            Activation::Relu => ("relu", vec![]),
            Activation::LeakyRelu { negative_slope } => (
                "leaky_relu",
                vec![("negative_slope", Value::Float(negative_slope))],
            ),
            Activation::Elu { alpha } => ("elu", vec![("alpha", Value::Float(alpha))]),
            Activation::Selu => ("selu", vec![]),
            Activation::Gelu { tanh_approx } => (
                "gelu",
                vec![(
                    "approximate",
                    Value::String(if tanh_approx { "tanh" } else { "none" }.into()),
                )],
            ),
            Activation::Silu => ("silu", vec![]),
            Activation::Tanh => ("tanh", vec![]),
            Activation::Sigmoid => ("sigmoid", vec![]),
            Activation::Softplus { beta } => ("softplus", vec![("beta", Value::Float(beta))]),
        };
        if params.is_empty() {
            return Value::String(name.into());
        }
        t.insert("name".into(), Value::String(name.into()));
        for (k, v) in params {
            t.insert(k.into(), v);
        }
        Value::Table(t)
    }

    /// Parse from a TOML value: a name (`"relu"`) or a table (`{ name = "leaky_relu", negative_slope = 0.2 }`).
    pub fn from_value(value: &Value, at: &str) -> anyhow::Result<Activation> {
        let table = match value {
            Value::String(s) => {
                let mut t = toml::Table::new();
                t.insert("name".into(), Value::String(s.clone()));
                t
            }
            Value::Table(t) => t.clone(),
            other => {
                return Err(bad(format!(
                    "{at}: expected an activation name or a table {{ name = ..., ... }}, found {}; valid names: {}",
                    other.type_str(),
                    NAMES.join(", ")
                )))
            }
        };
        Self::from_table(table, at)
    }

    /// Parse from command-line text: `relu` or `name = "leaky_relu", negative_slope = 0.2`.
    pub fn parse(text: &str, at: &str) -> anyhow::Result<Activation> {
        Self::from_table(parse_inline(text, "name", at)?, at)
    }

    fn from_table(mut table: toml::Table, at: &str) -> anyhow::Result<Activation> {
        let name = match table.remove("name") {
            Some(Value::String(s)) => s,
            Some(other) => {
                return Err(bad(format!(
                    "{at}: key 'name' must be a string, found {}; valid: {}",
                    other.type_str(),
                    NAMES.join(", ")
                )))
            }
            None => {
                return Err(bad(format!(
                    "{at}: activation table needs a 'name'; valid: {}",
                    NAMES.join(", ")
                )))
            }
        };
        let mut p = Params::new(table, at, format!("activation '{name}'"));
        let act = match name.as_str() {
            "linear" => Activation::Linear,
            "relu" => Activation::Relu,
            "leaky_relu" => Activation::LeakyRelu {
                negative_slope: p.f64_or("negative_slope", 0.01)?,
            },
            "elu" => Activation::Elu {
                alpha: p.f64_or("alpha", 1.0)?,
            },
            "selu" => Activation::Selu,
            "gelu" => Activation::Gelu {
                tanh_approx: p.choice_or("approximate", "none", &["none", "tanh"])? == "tanh",
            },
            "silu" => Activation::Silu,
            "tanh" => Activation::Tanh,
            "sigmoid" => Activation::Sigmoid,
            "softplus" => {
                let beta = p.f64_or("beta", 1.0)?;
                if beta <= 0.0 {
                    return Err(bad(format!(
                        "{at}: softplus beta must be > 0, found {beta}"
                    )));
                }
                Activation::Softplus { beta }
            }
            other => {
                return Err(bad(format!(
                    "{at}: {}",
                    unknown_name("activation", other, NAMES)
                )))
            }
        };
        p.finish()?;
        Ok(act)
    }

    /// One line per activation for `initlab list`.
    pub fn catalogue() -> Vec<(&'static str, &'static str)> {
        vec![
            ("linear", "φ(x) = x"),
            ("relu", "φ(x) = max(x, 0)"),
            (
                "leaky_relu(negative_slope=0.01)",
                "φ(x) = x if x > 0 else s·x",
            ),
            ("elu(alpha=1)", "φ(x) = x if x > 0 else α(eˣ−1)"),
            (
                "selu",
                "λ·elu_α(x), α=1.6732632423543772, λ=1.0507009873554805",
            ),
            (
                "gelu(approximate=\"none\"|\"tanh\")",
                "x·Φ(x) (erf form) or the tanh approximation",
            ),
            ("silu", "x·σ(x)"),
            ("tanh", "tanh x"),
            ("sigmoid", "1/(1+e⁻ˣ)"),
            ("softplus(beta=1)", "log(1+e^{βx})/β, x where βx > 20"),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all() -> Vec<Activation> {
        vec![
            Activation::Linear,
            Activation::Relu,
            Activation::LeakyRelu {
                negative_slope: 0.2,
            },
            Activation::Elu { alpha: 1.3 },
            Activation::Selu,
            Activation::Gelu { tanh_approx: false },
            Activation::Gelu { tanh_approx: true },
            Activation::Silu,
            Activation::Tanh,
            Activation::Sigmoid,
            Activation::Softplus { beta: 1.0 },
            Activation::Softplus { beta: 2.5 },
        ]
    }

    /// φ′ against a central finite difference on a grid that avoids the kinks at 0.
    /// Step h = 1e-5: truncation error ~h²·φ‴/6 ≈ 1e-10, rounding ~ε/h ≈ 1e-11.
    #[test]
    fn derivative_matches_central_difference() {
        let h = 1e-5;
        for act in all() {
            for i in 0..400 {
                // 400 midpoints of [−8, 8]: never exactly 0 (the kink).
                let x = -8.0 + 16.0 * (i as f64 + 0.5) / 400.0;
                let fd = (act.f(x + h) - act.f(x - h)) / (2.0 * h);
                let d = act.df(x);
                assert!(
                    (fd - d).abs() <= 1e-7 * (1.0 + d.abs()),
                    "{act:?} at {x}: fd {fd} vs df {d}"
                );
            }
        }
    }

    /// The fused and slice forms agree exactly with φ and φ′ (f64) and to rounding in f32.
    #[test]
    fn fused_and_slice_forms_agree() {
        let ys: Vec<f64> = (0..200).map(|i| -6.0 + 12.0 * i as f64 / 199.0).collect();
        for act in all() {
            let (mut x, mut d, mut x2) = (vec![0.0; 200], vec![0.0; 200], vec![0.0; 200]);
            act.forward_deriv_slice(&ys, &mut x, &mut d);
            act.forward_slice(&ys, &mut x2);
            for i in 0..200 {
                let (f, df) = (act.f(ys[i]), act.df(ys[i]));
                assert!(
                    (x[i] - f).abs() <= 1e-15 * f.abs().max(1.0),
                    "{act:?} φ({})",
                    ys[i]
                );
                assert!(
                    (x2[i] - f).abs() <= 1e-15 * f.abs().max(1.0),
                    "{act:?} φ({})",
                    ys[i]
                );
                assert!(
                    (d[i] - df).abs() <= 1e-15 * df.abs().max(1.0),
                    "{act:?} φ′({})",
                    ys[i]
                );
            }
        }
    }

    /// The f32 slice forms (vectorised tanh, sigmoid, SiLU) stay within a few f32 ulps of the
    /// exact φ and φ′ evaluated in f64.
    #[test]
    fn f32_slices_match_f64_formulas() {
        let ys: Vec<f32> = (0..4001)
            .map(|i| -10.0 + 20.0 * i as f32 / 4000.0)
            .collect();
        for act in all() {
            let (mut x, mut d, mut x2) = (
                vec![0f32; ys.len()],
                vec![0f32; ys.len()],
                vec![0f32; ys.len()],
            );
            act.forward_deriv_slice(&ys, &mut x, &mut d);
            act.forward_slice(&ys, &mut x2);
            for i in 0..ys.len() {
                let (f, df) = (act.f(ys[i] as f64), act.df(ys[i] as f64));
                let tol = |v: f64| 6e-7 * v.abs() + 1e-37;
                assert!(
                    (x[i] as f64 - f).abs()
                        <= tol(f).max(1.2e-7 * act.df(ys[i] as f64).abs() * 1e-3),
                    "{act:?} φ({}) = {} vs {f}",
                    ys[i],
                    x[i]
                );
                assert_eq!(x[i], x2[i], "{act:?}");
                assert!(
                    (d[i] as f64 - df).abs() <= 6e-7 * df.abs().max(1.0),
                    "{act:?} φ′({}) = {} vs {df}",
                    ys[i],
                    d[i]
                );
            }
        }
    }

    #[test]
    fn known_values() {
        // GELU(1) = Φ(1) = 0.8413447460685429
        assert!(
            (Activation::Gelu { tanh_approx: false }.f(1.0) - 0.841_344_746_068_542_9).abs()
                < 1e-15
        );
        // torch.nn.functional.gelu(1.0, approximate="tanh") = 0.8411919906082768
        assert!(
            (Activation::Gelu { tanh_approx: true }.f(1.0) - 0.841_191_990_608_276_8).abs() < 1e-12
        );
        // SELU(-1) = λα(e⁻¹ − 1)
        let selu = Activation::Selu.f(-1.0);
        assert!((selu - (-1.111_330_737_812_562_8)).abs() < 1e-12, "{selu}");
        assert_eq!(Activation::Relu.df(0.0), 0.0);
        assert_eq!(Activation::Softplus { beta: 1.0 }.f(30.0), 30.0);
        assert!((Activation::Softplus { beta: 1.0 }.f(0.0) - std::f64::consts::LN_2).abs() < 1e-15);
    }

    #[test]
    fn parse_forms() {
        let a = Activation::parse("leaky_relu", "cli").unwrap();
        assert_eq!(
            a,
            Activation::LeakyRelu {
                negative_slope: 0.01
            }
        );
        let a = Activation::parse("name = \"gelu\", approximate = \"tanh\"", "cli").unwrap();
        assert_eq!(a, Activation::Gelu { tanh_approx: true });
        assert_eq!(a.label(), "gelu(approximate=tanh)");
        let e = Activation::parse("rellu", "cli").unwrap_err().to_string();
        assert!(e.contains("did you mean 'relu'"), "{e}");
        let e = Activation::parse("name = \"relu\", slope = 2", "cli")
            .unwrap_err()
            .to_string();
        assert!(e.contains("unknown key 'slope'"), "{e}");
        let e = Activation::parse("name = \"gelu\", approximate = \"fast\"", "cli")
            .unwrap_err()
            .to_string();
        assert!(e.contains("valid: none, tanh"), "{e}");
    }
}
