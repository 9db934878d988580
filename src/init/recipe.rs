//! Init recipes of residual networks: the parts of "how a net is initialized" that are not a
//! weight distribution — the branch multiplier α, the block input scale β, a normalization
//! layer, and per-layer rescaling — as named in the literature:
//!
//! - `skipinit` (De & Smith 2020, "Batch normalization biases residual blocks towards the
//!   identity function"): α = 0, a learnable scalar at init; the branches are He-initialized
//!   but contribute nothing, so x_{b+1} = x_b exactly.
//! - `fixup` (Zhang, Dauphin & Ma 2019, Sec. 3, rules 1–3): no normalization; every branch
//!   layer He-initialized and rescaled by L^(−1/(2m−2)) (L blocks, m ≥ 2 layers per branch),
//!   the last layer of each branch zero; scalar biases 0 and multiplier 1 (no-ops at init).
//!   So f_b = 0 at init and x_{b+1} = x_b, while every other branch layer is non-degenerate.
//! - `nf_resnet` (Brock, De & Smith 2021, "Characterizing signal propagation...", Sec. 4):
//!   α = 0.2, β_b = √(expected Var[x_b]), scaled weight standardization
//!   Ŵ = γ·(W − mean W)/(std(W)·√fan_in) per output channel with the activation's gain
//!   γ = 1/√Var_z[φ(z)] (ReLU: √(2/(1 − 1/π)) ≈ 1.712859), γ = 1 on the stem and projections;
//!   so each branch has unit variance, Var[x_{b+1}] = Var[x_b] + α², reset to 1 + α² at each
//!   transition (projection) block.
//!
//! An `[[init]]` entry may also set `norm`, `alpha` and `beta` itself; they override the
//! `[network]` keys for its cells (e.g. `label = "BN"`, `norm = "batchnorm"`), so different
//! recipes compare in one panel of the same network.

use crate::arch::layer::NormKind;

/// The named recipes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RecipeKind {
    SkipInit,
    Fixup,
    NfResnet,
}

/// Every recipe preset name.
pub const RECIPES: &[&str] = &["fixup", "skipinit", "nf_resnet"];

impl RecipeKind {
    pub fn name(self) -> &'static str {
        match self {
            RecipeKind::SkipInit => "skipinit",
            RecipeKind::Fixup => "fixup",
            RecipeKind::NfResnet => "nf_resnet",
        }
    }

    pub fn from_name(name: &str) -> Option<RecipeKind> {
        match name {
            "skipinit" => Some(RecipeKind::SkipInit),
            "fixup" => Some(RecipeKind::Fixup),
            "nf_resnet" => Some(RecipeKind::NfResnet),
            _ => None,
        }
    }
}

/// How a residual block's input is scaled (`beta`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Beta {
    /// β = 1.
    None,
    /// β_b = √(expected Var[x_b]) (NF-ResNets' analytic rule; see the module docs).
    ExpectedStd,
}

impl Beta {
    pub const NAMES: &'static [&'static str] = &["none", "expected_std"];

    pub fn name(self) -> &'static str {
        match self {
            Beta::None => "none",
            Beta::ExpectedStd => "expected_std",
        }
    }

    pub fn from_name(name: &str) -> Option<Beta> {
        match name {
            "none" => Some(Beta::None),
            "expected_std" => Some(Beta::ExpectedStd),
            _ => None,
        }
    }
}

/// The recipe part of an [`super::Init`]: a named recipe and the keys it or the entry sets.
/// `None` fields leave the `[network]` value.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Recipe {
    pub kind: Option<RecipeKind>,
    /// `Some(None)` is `norm = "none"`.
    pub norm: Option<Option<NormKind>>,
    pub alpha: Option<f64>,
    pub beta: Option<Beta>,
}

impl Recipe {
    /// The named recipe's own settings.
    pub fn named(kind: RecipeKind) -> Recipe {
        let mut r = Recipe {
            kind: Some(kind),
            ..Recipe::default()
        };
        match kind {
            RecipeKind::SkipInit => r.alpha = Some(0.0),
            RecipeKind::Fixup => {
                r.alpha = Some(1.0);
                r.norm = Some(None);
            }
            RecipeKind::NfResnet => {
                r.alpha = Some(0.2);
                r.beta = Some(Beta::ExpectedStd);
                r.norm = Some(None);
            }
        }
        r
    }

    pub fn is_empty(&self) -> bool {
        self.kind.is_none() && self.norm.is_none() && self.alpha.is_none() && self.beta.is_none()
    }

    /// The keys that differ from the named recipe's own, as `k=v` text (for the canonical
    /// description and the resolved file).
    pub fn overrides(&self) -> Vec<(&'static str, String)> {
        let base = self.kind.map(Recipe::named).unwrap_or_default();
        let mut out = Vec::new();
        if self.norm != base.norm {
            if let Some(n) = self.norm {
                out.push(("norm", n.map_or("none", |k| k.name()).to_string()));
            }
        }
        if self.alpha != base.alpha {
            if let Some(a) = self.alpha {
                out.push(("alpha", format!("{a}")));
            }
        }
        if self.beta != base.beta {
            if let Some(b) = self.beta {
                out.push(("beta", b.name().to_string()));
            }
        }
        out
    }
}
