//! `initlab list`: every init scheme, preset, `calculate_gain` nonlinearity and activation, with
//! parameters, defaults and the variance each scheme gives a weight of shape `[out, in, k...]`.

use crate::activation::Activation;
use crate::init::gain::{
    calculate_gain, nonlinearity_gain, EXTENDED_NONLINEARITIES, NONLINEARITIES,
};
use crate::theory::gain::preserve_gain;
use clap::Args;
use std::fmt::Write as _;

#[derive(Debug, Args)]
pub struct ListArgs {}

/// One catalogue entry: name, signature with PyTorch's (or Keras') defaults, distribution,
/// variance of one weight entry.
pub struct Entry {
    pub name: &'static str,
    pub signature: &'static str,
    pub distribution: &'static str,
    pub variance: &'static str,
}

const fn e(
    name: &'static str,
    signature: &'static str,
    distribution: &'static str,
    variance: &'static str,
) -> Entry {
    Entry {
        name,
        signature,
        distribution,
        variance,
    }
}

/// Every scheme (same order as [`crate::init::SCHEMES`]).
pub const SCHEME_ENTRIES: &[Entry] = &[
    e("uniform", "uniform(a=0, b=1)", "U(a, b); requires a <= b", "(b-a)^2/12"),
    e("normal", "normal(mean=0, std=1)", "N(mean, std^2); requires std >= 0", "std^2"),
    e(
        "trunc_normal",
        "trunc_normal(mean=0, std=1, a=-2, b=2)",
        "N(mean, std^2) restricted to [a, b] (absolute bounds, as PyTorch); requires std > 0, a <= b",
        "std^2*(1 + (al*phi(al) - be*phi(be))/Z - ((phi(al) - phi(be))/Z)^2), al=(a-mean)/std, be=(b-mean)/std, Z=Phi(be)-Phi(al)",
    ),
    e("constant", "constant(val) (val required)", "every entry = val", "0"),
    e("ones", "ones", "every entry = 1", "0"),
    e("zeros", "zeros", "every entry = 0", "0"),
    e("eye", "eye", "identity matrix; 2-D tensors only", "fixed: min(out,in) ones"),
    e(
        "dirac",
        "dirac(groups=1)",
        "identity convolution (centre tap = 1) per group; 3/4/5-D tensors, groups must divide out",
        "fixed: min(out/groups, in)*groups ones",
    ),
    e(
        "xavier_uniform",
        "xavier_uniform(gain=1)",
        "U(-bound, bound), bound = gain*sqrt(6/(fan_in+fan_out)) (Glorot & Bengio 2010); beyond PyTorch: nonlinearity=\"...\" instead of gain (gain = calculate_gain(nonlinearity); elu/gelu/silu/softplus: their preserve gain), gain=\"preserve\"|\"pytorch\" (per the layer's activation)",
        "2*gain^2/(fan_in+fan_out)",
    ),
    e(
        "xavier_normal",
        "xavier_normal(gain=1)",
        "N(0, std^2), std = gain*sqrt(2/(fan_in+fan_out)); beyond PyTorch: nonlinearity, gain=\"preserve\"|\"pytorch\" as for xavier_uniform",
        "2*gain^2/(fan_in+fan_out)",
    ),
    e(
        "kaiming_uniform",
        "kaiming_uniform(a=0, mode=\"fan_in\"|\"fan_out\", nonlinearity=\"leaky_relu\")",
        "U(-bound, bound), bound = gain*sqrt(3/fan), gain = calculate_gain(nonlinearity, a) (He et al. 2015); beyond PyTorch: nonlinearity also elu/gelu/silu/softplus (their preserve gain), and gain=\"preserve\"|\"pytorch\"|g instead of nonlinearity and a",
        "gain^2/fan; default gain = sqrt(2/(1+0^2)) = sqrt(2): 2/fan_in",
    ),
    e(
        "kaiming_normal",
        "kaiming_normal(a=0, mode=\"fan_in\"|\"fan_out\", nonlinearity=\"leaky_relu\")",
        "N(0, std^2), std = gain/sqrt(fan) -- NOT truncated (Keras he_normal is); beyond PyTorch: as for kaiming_uniform",
        "gain^2/fan; default 2/fan_in",
    ),
    e(
        "orthogonal",
        "orthogonal(gain=1)",
        "gain * Haar-random (semi-)orthogonal matrix of size out x (in*prod k): QR of a Gaussian matrix with the signs of diag(R) (Saxe et al. 2014); beyond PyTorch: gain=\"preserve\"|\"pytorch\"",
        "gain^2/max(out, in*prod k)",
    ),
    e(
        "delta_orthogonal",
        "delta_orthogonal(gain=1)",
        "gain * Haar-random (semi-)orthogonal out x in matrix at the kernel's centre tap, 0 at every other tap; 2-5-D (Xiao et al. 2018; beyond PyTorch)",
        "gain^2*min(out, in)/(out*in*prod k)",
    ),
    e(
        "sparse",
        "sparse(sparsity (required, 0..1), std=0.01)",
        "N(0, std^2) with ceil(sparsity*out) zeros in every column; 2-D tensors only (Martens 2010)",
        "std^2*(1 - ceil(sparsity*out)/out)",
    ),
    e(
        "variance_scaling",
        "variance_scaling(scale=1, mode=\"fan_in\"|\"fan_out\"|\"fan_avg\", distribution=\"truncated_normal\"|\"untruncated_normal\"|\"uniform\")",
        "Keras VarianceScaling, n = max(1, fan): truncated_normal = N(0, s^2) redrawn beyond 2s with s = sqrt(scale/n)/0.87962566103423978; untruncated_normal = N(0, scale/n); uniform = U(+-sqrt(3*scale/n)); distribution=\"normal\" means truncated_normal (as Keras); any rank (Keras fans: 1-D -> fan_in = fan_out = size)",
        "scale/n (exactly, truncated too: 0.8796... is the std of N(0,1) on [-2, 2])",
    ),
];

/// Every preset (same order as [`crate::init::PRESETS`]): weight rule, bias rule, variance.
pub const PRESET_ENTRIES: &[Entry] = &[
    e(
        "pytorch_default",
        "nn.Linear / nn.ConvNd / nn.ConvTransposeNd reset_parameters()",
        "weight kaiming_uniform(a=sqrt(5)): gain = sqrt(2/(1+5)) = sqrt(1/3), bound = gain*sqrt(3/fan_in) = 1/sqrt(fan_in), i.e. U(+-1/sqrt(fan_in)); bias U(+-1/sqrt(fan_in)) (0 when fan_in = 0)",
        "1/(3*fan_in) -- one sixth of He's 2/fan_in: NOT He init; bias 1/(3*fan_in)",
    ),
    e(
        "glorot_uniform",
        "Keras GlorotUniform = variance_scaling(1, fan_avg, uniform)",
        "U(+-sqrt(6/(fan_in+fan_out))), zero bias (same as PyTorch xavier_uniform)",
        "2/(fan_in+fan_out)",
    ),
    e(
        "glorot_normal",
        "Keras GlorotNormal = variance_scaling(1, fan_avg, truncated_normal)",
        "TRUNCATED normal (at 2 sigma, sigma = sqrt(2/(fan_in+fan_out))/0.8796...), zero bias -- unlike PyTorch xavier_normal",
        "2/(fan_in+fan_out)",
    ),
    e(
        "he_normal",
        "Keras HeNormal = variance_scaling(2, fan_in, truncated_normal)",
        "TRUNCATED normal (at 2 sigma, sigma = sqrt(2/fan_in)/0.8796...), zero bias -- unlike PyTorch kaiming_normal, which is untruncated",
        "2/fan_in",
    ),
    e(
        "he_uniform",
        "Keras HeUniform = variance_scaling(2, fan_in, uniform)",
        "U(+-sqrt(6/fan_in)), zero bias (same as kaiming_uniform(nonlinearity=\"relu\"))",
        "2/fan_in",
    ),
    e(
        "lecun_normal",
        "Keras LecunNormal = variance_scaling(1, fan_in, truncated_normal)",
        "TRUNCATED normal (at 2 sigma, sigma = sqrt(1/fan_in)/0.8796...), zero bias",
        "1/fan_in",
    ),
    e(
        "lecun_uniform",
        "Keras LecunUniform = variance_scaling(1, fan_in, uniform)",
        "U(+-sqrt(3/fan_in)), zero bias",
        "1/fan_in",
    ),
];

const FANS: &str = "\
Fans (PyTorch _calculate_fan_in_and_fan_out; weight shape [out, in, k...], receptive field = prod k):
  fan_in = in * prod k, fan_out = out * prod k; fewer than 2 dimensions is an error.
  Linear(in, out): weight [out, in] -> fan_in = in, fan_out = out.
  ConvNd(in, out, k): weight [out, in, k...] -> fan_in = in*k^d, fan_out = out*k^d.
  Grouped ConvNd(in, out, k, groups=g): weight [out, in/g, k...] -> fan_in = (in/g)*k^d (the inputs
    each output really sees), fan_out = out*k^d (not out/g: PyTorch overstates fan_out by g), so
    kaiming(fan_in) gives Var = gain^2*g/(in*k^d) and pytorch_default U(+-1/sqrt((in/g)*k^d)).
  ConvTransposeNd(in, out, k, groups=g): weight stored [in, out/g, k...] -> PyTorch's fan_in =
    (out/g)*k^d and fan_out = in*k^d, while each output really sums (in/g)*k^d terms (stride 1):
    the roles swap. kaiming(mode=\"fan_in\") gives Var = gain^2/((out/g)*k^d), which preserves
    the backward pass; mode=\"fan_out\" (gain^2/(in*k^d)) preserves the forward pass when g = 1;
    pytorch_default draws U(+-1/sqrt((out/g)*k^d)) for weight and bias: Var = 1/(3*(out/g)*k^d).
  Keras variance_scaling: the same in*prod k / out*prod k for a layer; 1-D shapes use
    fan_in = fan_out = size, 0-D uses 1; n = max(1, fan).
Misuse rejected (exit 2) as PyTorch does: fewer than 2 dimensions for fan-based schemes, eye on
  non-2-D, dirac on non-3/4/5-D, groups not dividing out, sparse on non-2-D, uniform a > b,
  std < 0, unknown nonlinearity or mode. A zero-element tensor is a no-op with a warning.";

/// The whole listing.
pub fn listing() -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "Init schemes (torch.nn.init names without the underscore; SPEC = name or 'scheme = \"...\", key = value, ...').\n\
         Variance of one weight entry for shape [out, in, k...], fan_in = in*prod k, fan_out = out*prod k:\n"
    );
    for en in SCHEME_ENTRIES {
        let _ = writeln!(
            s,
            "  {}\n      {}\n      variance: {}",
            en.signature, en.distribution, en.variance
        );
    }
    // Issue 13: LSUV is a scheme of experiments only (it needs a network and data).
    let _ = writeln!(
        s,
        "  lsuv(base=\"orthogonal\", tol=0.1, max_iters=10)\n      in experiments only (not `weights`): the base scheme, then each layer in turn rescaled on the trial's input batch until |Var(y_l) - 1| < tol (Mishkin & Matas 2016)\n      result: Var(y_l) within tol of 1 on the data, layer by layer"
    );
    let _ = writeln!(
        s,
        "\nPresets (weight and bias together; SPEC = name or 'preset = \"...\"'):\n"
    );
    for en in PRESET_ENTRIES {
        let _ = writeln!(
            s,
            "  {} -- {}\n      {}\n      variance: {}",
            en.name, en.signature, en.distribution, en.variance
        );
    }
    let _ = writeln!(
        s,
        "\nNonlinearities for kaiming_* (torch.nn.init.calculate_gain; a is leaky_relu's negative slope):\n"
    );
    for n in NONLINEARITIES {
        let g = calculate_gain(n, None).expect("every listed nonlinearity has a gain");
        let formula = match *n {
            "tanh" => " (5/3)",
            "relu" => " (sqrt 2)",
            "leaky_relu" => " (sqrt(2/(1+a^2)), a defaults to 0.01 in calculate_gain; kaiming passes its own a, default 0 -> sqrt 2)",
            "selu" => " (3/4)",
            _ => "",
        };
        let _ = writeln!(s, "  {n:<17} gain {g}{formula}");
    }
    let _ = writeln!(
        s,
        "\nNonlinearities beyond PyTorch (xavier_* and kaiming_*; calculate_gain rejects them): the variance-preserving\n\
         gain g with g^2*E[phi(z)^2] = 1, z ~ N(0,1), of the activation with its default parameters (initlab gain --all):\n"
    );
    for n in EXTENDED_NONLINEARITIES {
        let g = nonlinearity_gain(n, None).expect("every extended nonlinearity has a gain");
        let _ = writeln!(s, "  {n:<17} gain {g} (beyond PyTorch)");
    }
    let _ = writeln!(
        s,
        "\nGain words beyond PyTorch (xavier_*, kaiming_*, orthogonal): gain = \"preserve\" takes the preserve gain of each\n\
         cell's own activation (with its parameters) at q = 1; gain = \"pytorch\" takes calculate_gain of the cell's\n\
         activation, sqrt 2 where PyTorch has none. Resolved per cell; `initlab weights` needs --activation A for them.\n\
         Any other scheme given gain is refused (exit 2)."
    );
    let _ = writeln!(
        s,
        "\nActivations (network.activation; name or {{ name = \"...\", param = value }}), with the matching kaiming gain:\n"
    );
    for (sig, formula) in Activation::catalogue() {
        let name = sig.split('(').next().unwrap_or(sig);
        let gain = Activation::parse(name, "list")
            .ok()
            .and_then(|a| a.torch_gain_name())
            .and_then(|(nl, p)| {
                calculate_gain(nl, p)
                    .ok()
                    .map(|g| format!("gain {g} ({nl})"))
            })
            .unwrap_or_else(|| {
                "no calculate_gain entry (sqrt 2, ReLU-like, is the usual choice)".into()
            });
        let preserve = Activation::parse(name, "list")
            .ok()
            .and_then(|a| preserve_gain(a, 1.0, 0.0))
            .map(|g| format!("; preserve gain (q = 1, beyond PyTorch) {g}"))
            .unwrap_or_default();
        let _ = writeln!(s, "  {sig:<34} {formula}\n      {gain}{preserve}");
    }
    // [train] (issue 14).
    let _ = writeln!(
        s,
        "\nTraining ([train]; docs/train.md): optimizers {} (momentum 0.9; Adam 0.9, 0.999, 1e-8); tasks:\n\
         \x20 digits                             UCI 8x8 handwritten digits (CC BY 4.0), 10 classes, 1,442 train / 355 test; 64 inputs\n\
         \x20 mixture(classes=10, train=1024, test=512, noise=2)   Gaussian mixture in the network's input size\n\
         \x20 teacher(depth=2, outputs=1, train=1024, test=512, noise=0)   regression on a random tanh teacher (depth 0: linear)",
        crate::train::config::OPTIMIZERS.join(", ")
    );
    let _ = writeln!(s, "\n{FANS}");
    s
}

pub fn run(_args: ListArgs) -> anyhow::Result<()> {
    print!("{}", listing());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::activation::NAMES as ACTIVATIONS;
    use crate::init::{Init, PRESETS, SCHEMES};

    /// The catalogue covers every scheme, preset, nonlinearity and activation the code knows,
    /// and every signature's bare name parses (those with required parameters excepted).
    #[test]
    fn catalogue_is_complete() {
        let names: Vec<&str> = SCHEME_ENTRIES.iter().map(|e| e.name).collect();
        assert_eq!(names, SCHEMES);
        let names: Vec<&str> = PRESET_ENTRIES.iter().map(|e| e.name).collect();
        assert_eq!(names, PRESETS);
        let text = listing();
        for n in NONLINEARITIES.iter().chain(ACTIVATIONS) {
            assert!(text.contains(&format!("  {n}")), "{n} missing");
        }
        for en in SCHEME_ENTRIES {
            assert!(en.signature.starts_with(en.name));
            let parsed = Init::parse_spec(en.name, "list");
            match en.name {
                "constant" | "sparse" => assert!(parsed.is_err()),
                _ => assert!(parsed.is_ok(), "{}", en.name),
            }
        }
        for p in PRESETS {
            Init::parse_spec(p, "list").unwrap();
        }
        for t in crate::train::task::TASKS {
            assert!(text.contains(&format!("  {t}")), "task {t} missing");
        }
    }
}
