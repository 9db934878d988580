//! Gains: `torch.nn.init.calculate_gain`, exactly as PyTorch has it, and initlab's extension
//! to every activation it knows.
//!
//! `calculate_gain` (PyTorch):
//!
//! | nonlinearity | gain |
//! |---|---|
//! | linear, conv1d/2d/3d, conv_transpose1d/2d/3d, sigmoid | 1 |
//! | tanh | 5/3 |
//! | relu | √2 (He et al. 2015, Eq. 10: ½·n·Var[w] = 1) |
//! | leaky_relu | √(2/(1 + s²)), s = param, default 0.01 (He et al. 2015, Eq. 15 with a = s) |
//! | selu | 3/4 |
//!
//! **Beyond PyTorch** ([`nonlinearity_gain`], [`Gain`]): the activations PyTorch has no gain
//! for — `elu`, `gelu`, `silu`, `softplus` ([`EXTENDED_NONLINEARITIES`]) — get the
//! variance-preserving gain g with g²·E[φ(z)²] = 1, z ~ N(0, 1) (He et al. 2015, Eq. 7–10
//! applied to φ; see [`crate::theory::gain`]), computed for the activation with its default
//! parameters. PyTorch's names keep PyTorch's values, even where they do not preserve the
//! variance (tanh 5/3, selu 3/4, sigmoid 1). `gain = "preserve"` and `gain = "pytorch"` defer
//! the choice to the cell's own activation ([`Gain::resolve`]).

use crate::activation::Activation;
use crate::error::unknown_name;
use crate::theory::gain::{preserve_gain, pytorch_gain};

/// Every nonlinearity name `calculate_gain` accepts.
pub const NONLINEARITIES: &[&str] = &[
    "linear",
    "conv1d",
    "conv2d",
    "conv3d",
    "conv_transpose1d",
    "conv_transpose2d",
    "conv_transpose3d",
    "sigmoid",
    "tanh",
    "relu",
    "leaky_relu",
    "selu",
];

/// The gain for `nonlinearity`; `param` is leaky_relu's negative slope (default 0.01).
pub fn calculate_gain(nonlinearity: &str, param: Option<f64>) -> Result<f64, String> {
    Ok(match nonlinearity {
        "linear" | "conv1d" | "conv2d" | "conv3d" | "conv_transpose1d" | "conv_transpose2d"
        | "conv_transpose3d" | "sigmoid" => 1.0,
        "tanh" => 5.0 / 3.0,
        "relu" => std::f64::consts::SQRT_2,
        "leaky_relu" => {
            let s = param.unwrap_or(0.01);
            (2.0 / (1.0 + s * s)).sqrt()
        }
        "selu" => 0.75,
        other => return Err(unknown_name("nonlinearity", other, NONLINEARITIES)),
    })
}

/// The activations `calculate_gain` does not know, accepted as `nonlinearity` by initlab's
/// xavier and kaiming schemes (beyond PyTorch): their gain is the variance-preserving one at
/// q = 1 ([`crate::theory::gain::preserve_gain`]), for the activation's default parameters.
pub const EXTENDED_NONLINEARITIES: &[&str] = &["elu", "gelu", "silu", "softplus"];

/// Every `nonlinearity` initlab accepts: PyTorch's [`NONLINEARITIES`], then
/// [`EXTENDED_NONLINEARITIES`].
pub const ALL_NONLINEARITIES: &[&str] = &[
    "linear",
    "conv1d",
    "conv2d",
    "conv3d",
    "conv_transpose1d",
    "conv_transpose2d",
    "conv_transpose3d",
    "sigmoid",
    "tanh",
    "relu",
    "leaky_relu",
    "selu",
    "elu",
    "gelu",
    "silu",
    "softplus",
];

/// The q at which `nonlinearity = "<extended name>"` and `gain = "preserve"` preserve the
/// pre-activation variance: 1, the variance of a standardized pre-activation (and what a
/// unit-variance input gives a layer of gain 1).
pub const PRESERVE_Q: f64 = 1.0;

/// The gain for a `nonlinearity` of an init spec: [`calculate_gain`] for PyTorch's names
/// (unchanged), the variance-preserving gain at q = [`PRESERVE_Q`] of the activation with its
/// default parameters for [`EXTENDED_NONLINEARITIES`] (beyond PyTorch).
pub fn nonlinearity_gain(nonlinearity: &str, param: Option<f64>) -> Result<f64, String> {
    if NONLINEARITIES.contains(&nonlinearity) {
        return calculate_gain(nonlinearity, param);
    }
    if EXTENDED_NONLINEARITIES.contains(&nonlinearity) {
        let act = Activation::parse(nonlinearity, "nonlinearity").map_err(|e| e.to_string())?;
        return Ok(run_preserve_gain(act));
    }
    Err(unknown_name(
        "nonlinearity",
        nonlinearity,
        ALL_NONLINEARITIES,
    ))
}

/// The gain `gain = "preserve"` resolves to for `act`: g with g²·E[φ(√Q·z)²] = Q at
/// Q = [`PRESERVE_Q`], no bias.
pub fn run_preserve_gain(act: Activation) -> f64 {
    preserve_gain(act, PRESERVE_Q, 0.0)
        .expect("E[φ(z)²] is positive and finite for every activation")
}

/// Where a scheme's gain comes from (xavier_*, kaiming_*, orthogonal).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Gain {
    /// `gain = g`: PyTorch's parameter of xavier_* and orthogonal; for kaiming_* beyond
    /// PyTorch (Var[w] = g²/fan).
    Value(f64),
    /// `nonlinearity = "..."` ([`nonlinearity_gain`]). kaiming_* pass their `a` as `param`
    /// (PyTorch's `calculate_gain(nonlinearity, a)`, default a = 0); xavier_* (beyond PyTorch:
    /// `xavier_normal(nonlinearity = "tanh")` = `xavier_normal(gain = calculate_gain("tanh"))`)
    /// pass none, so leaky_relu takes calculate_gain's default slope 0.01.
    Nonlinearity {
        name: &'static str,
        param: Option<f64>,
    },
    /// `gain = "preserve"` (beyond PyTorch): [`run_preserve_gain`] of the cell's activation,
    /// set when the cell is built ([`Gain::resolve`]).
    Preserve,
    /// `gain = "pytorch"` (beyond PyTorch): `calculate_gain` of the cell's activation (its own
    /// slope for leaky_relu), and √2 — the ReLU gain users fall back on — where PyTorch has
    /// none (elu, gelu, silu, softplus); set when the cell is built.
    Pytorch,
}

/// The words `gain` takes besides a number.
pub const GAIN_WORDS: &[&str] = &["preserve", "pytorch"];

impl Gain {
    /// The numeric gain; `None` for [`Gain::Preserve`] and [`Gain::Pytorch`] before
    /// [`Gain::resolve`] (and for an unknown nonlinearity, which parsing rejects).
    pub fn value(&self) -> Option<f64> {
        match *self {
            Gain::Value(g) => Some(g),
            Gain::Nonlinearity { name, param } => nonlinearity_gain(name, param).ok(),
            Gain::Preserve | Gain::Pytorch => None,
        }
    }

    /// The word of a per-activation gain (`preserve`, `pytorch`), `None` otherwise.
    pub fn word(&self) -> Option<&'static str> {
        match self {
            Gain::Preserve => Some("preserve"),
            Gain::Pytorch => Some("pytorch"),
            _ => None,
        }
    }

    /// This gain for a layer followed by `act`: the per-activation words become numbers,
    /// every other gain is returned unchanged.
    pub fn resolve(&self, act: Activation) -> Gain {
        match self {
            Gain::Preserve => Gain::Value(run_preserve_gain(act)),
            Gain::Pytorch => Gain::Value(pytorch_gain(act).unwrap_or(std::f64::consts::SQRT_2)),
            other => *other,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// PyTorch's values (test_nn.py TestNNInit.test_calculate_gain_*).
    #[test]
    fn gains_match_pytorch() {
        for n in [
            "linear",
            "conv1d",
            "conv2d",
            "conv3d",
            "conv_transpose1d",
            "conv_transpose2d",
            "conv_transpose3d",
            "sigmoid",
        ] {
            assert_eq!(calculate_gain(n, None).unwrap(), 1.0);
        }
        assert_eq!(calculate_gain("tanh", None).unwrap(), 5.0 / 3.0);
        assert_eq!(calculate_gain("relu", None).unwrap(), 2f64.sqrt());
        assert_eq!(calculate_gain("selu", None).unwrap(), 0.75);
        for s in [0.01, 0.0, 100.0, -0.01] {
            assert_eq!(
                calculate_gain("leaky_relu", Some(s)).unwrap(),
                (2.0 / (1.0 + s * s)).sqrt()
            );
        }
        assert_eq!(
            calculate_gain("leaky_relu", None).unwrap(),
            (2.0 / 1.0001f64).sqrt()
        );
        // kaiming_uniform with a = √5 (PyTorch's nn.Linear default): gain √(2/6) = √(1/3).
        let g = calculate_gain("leaky_relu", Some(5f64.sqrt())).unwrap();
        assert!((g - (1.0f64 / 3.0).sqrt()).abs() < 1e-15);
        assert!(calculate_gain("swish", None)
            .unwrap_err()
            .contains("valid: linear"));
    }

    /// The extension keeps PyTorch's values where PyTorch has one, adds exactly the activations
    /// it lacks, and rejects the rest with the full list.
    #[test]
    fn nonlinearity_gain_extends_without_changing_pytorch() {
        for n in NONLINEARITIES {
            assert_eq!(
                nonlinearity_gain(n, Some(0.2)).unwrap(),
                calculate_gain(n, Some(0.2)).unwrap(),
                "{n}"
            );
        }
        let known: Vec<&str> = NONLINEARITIES
            .iter()
            .chain(EXTENDED_NONLINEARITIES)
            .copied()
            .collect();
        assert_eq!(known, ALL_NONLINEARITIES);
        // Every activation initlab knows is a nonlinearity; the extended ones are exactly those
        // calculate_gain lacks.
        for a in crate::activation::NAMES {
            assert!(ALL_NONLINEARITIES.contains(a), "{a}");
            assert_eq!(
                EXTENDED_NONLINEARITIES.contains(a),
                calculate_gain(a, None).is_err(),
                "{a}"
            );
        }
        for n in EXTENDED_NONLINEARITIES {
            let act = Activation::parse(n, "test").unwrap();
            let g = nonlinearity_gain(n, None).unwrap();
            // g²·E[φ(z)²] = 1 by the library's own moment (the quadrature is checked against
            // Simpson in theory::gain).
            let m = crate::theory::gain::second_moment(act, 1.0);
            assert!((g * g * m - 1.0).abs() < 1e-14, "{n}: {g}");
        }
        let e = nonlinearity_gain("swish", None).unwrap_err();
        assert!(
            e.contains("did you mean 'silu'") && e.contains("softplus"),
            "{e}"
        );
    }

    #[test]
    fn gain_words_resolve_per_activation() {
        let gelu = Activation::Gelu { tanh_approx: false };
        assert_eq!(Gain::Preserve.value(), None);
        assert_eq!(Gain::Pytorch.word(), Some("pytorch"));
        let Gain::Value(g) = Gain::Preserve.resolve(gelu) else {
            panic!("unresolved")
        };
        assert_eq!(g, run_preserve_gain(gelu));
        // PyTorch's own gain where it has one (leaky_relu with the activation's own slope) ...
        let lr = Activation::LeakyRelu {
            negative_slope: 0.2,
        };
        assert_eq!(
            Gain::Pytorch.resolve(lr),
            Gain::Value(calculate_gain("leaky_relu", Some(0.2)).unwrap())
        );
        assert_eq!(
            Gain::Pytorch.resolve(Activation::Tanh),
            Gain::Value(5.0 / 3.0)
        );
        // ... and the ReLU fallback where it has none.
        assert_eq!(
            Gain::Pytorch.resolve(gelu),
            Gain::Value(std::f64::consts::SQRT_2)
        );
        // Numbers and nonlinearities are left alone.
        assert_eq!(Gain::Value(0.3).resolve(gelu), Gain::Value(0.3));
        let nl = Gain::Nonlinearity {
            name: "tanh",
            param: None,
        };
        assert_eq!(nl.resolve(gelu), nl);
    }
}
