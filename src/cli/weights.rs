//! `initlab weights --init SPEC --shape D0,D1[,K...] [--seed S] [--bias] [--dump FILE]`:
//! sample one tensor the way PyTorch (or Keras) would and print what the scheme gives it.
//!
//! Output (DESIGN contract: `key: value` lines, numbers in shortest round-trip form):
//! `init`, `scheme`, `tensor` (weight or bias), `shape`, `numel`, then `fan_in`, `fan_out`,
//! `gain`, `std`, `bound` (the uniform half-width, `none` for non-uniform schemes), `low`/`high`
//! (the support), `theory_mean`/`theory_var` (the formula), and `mean`/`var` of the sample
//! (population moments, accumulated in f64). Undefined quantities print `none`.
//!
//! `--activation A` (beyond PyTorch) resolves `gain = "preserve"` / `gain = "pytorch"` for the
//! activation that follows the layer (and prints an `activation` line); without it such a SPEC
//! exits 2 saying so, since those gains depend on the activation.

use crate::activation::Activation;
use crate::error::bad;
use crate::init::{fans::fans, BiasInit, Init, Scheme};
use crate::output::atomic::write_atomic;
use crate::seed::stream;
use clap::Args;
use std::fmt::Write as _;
use std::path::PathBuf;

/// Largest tensor `weights` samples: 2²⁵ ≈ 33.5 million values (8 bytes each in memory,
/// up to ~25 bytes each in a dump).
pub const MAX_ELEMENTS: usize = 1 << 25;

#[derive(Debug, Args)]
pub struct WeightsArgs {
    /// Init SPEC: a scheme or preset name (`initlab list`), or an inline TOML table body such
    /// as 'scheme = "kaiming_uniform", a = 2.23606797749979, mode = "fan_out"'.
    #[arg(long, value_name = "SPEC")]
    pub init: String,
    /// Tensor shape in PyTorch layout [out, in, k...], comma-separated, e.g. 256,128,3,3.
    #[arg(long, value_name = "D0,D1[,K...]")]
    pub shape: String,
    /// Seed of the random stream (the stream is also keyed on the SPEC and the shape).
    #[arg(long, value_name = "S", default_value_t = 0)]
    pub seed: u64,
    /// Sample the bias vector (length D0) by the init's bias rule instead of the weight.
    #[arg(long)]
    pub bias: bool,
    /// Write every sampled value, one per line, row-major, to FILE (atomically).
    #[arg(long, value_name = "FILE")]
    pub dump: Option<PathBuf>,
    /// The activation after the layer: resolves gain = "preserve" (its variance-preserving gain)
    /// and gain = "pytorch" (its calculate_gain); other SPECs ignore it.
    #[arg(long, value_name = "A")]
    pub activation: Option<String>,
}

/// Parse `--shape`: comma-separated non-negative integers, at least one.
pub fn parse_shape(text: &str) -> anyhow::Result<Vec<usize>> {
    let usage = "expected comma-separated sizes in PyTorch layout D0,D1[,K...], e.g. 256,128,3,3";
    if text.trim().is_empty() {
        return Err(bad(format!("--shape is empty; {usage}")));
    }
    let mut shape = Vec::new();
    for part in text.split(',') {
        let p = part.trim();
        match p.parse::<usize>() {
            Ok(d) => shape.push(d),
            Err(_) => {
                return Err(bad(format!(
                    "--shape '{text}': '{p}' is not a non-negative integer; {usage}"
                )))
            }
        }
    }
    let numel = shape.iter().try_fold(1usize, |acc, &d| acc.checked_mul(d));
    match numel {
        Some(n) if n <= MAX_ELEMENTS => Ok(shape),
        _ => Err(bad(format!(
            "--shape '{text}' has more than {MAX_ELEMENTS} elements; sample a smaller tensor"
        ))),
    }
}

/// f64 text that parses back to the same number: plain decimal in the usual range,
/// exponent form (`1.5e-300`) for very small or very large magnitudes.
pub fn fmt_f64(x: f64) -> String {
    let a = x.abs();
    if x == 0.0 || !x.is_finite() || (1e-5..1e16).contains(&a) {
        format!("{x}")
    } else {
        format!("{x:e}")
    }
}

fn opt(x: Option<f64>) -> String {
    x.map(fmt_f64).unwrap_or_else(|| "none".into())
}

fn shape_text(shape: &[usize]) -> String {
    shape
        .iter()
        .map(|d| d.to_string())
        .collect::<Vec<_>>()
        .join(",")
}

/// Population mean and variance in f64 (two passes); NaN for an empty sample.
pub fn sample_moments(xs: &[f64]) -> (f64, f64) {
    if xs.is_empty() {
        return (f64::NAN, f64::NAN);
    }
    let n = xs.len() as f64;
    let mean = xs.iter().sum::<f64>() / n;
    let var = xs.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>() / n;
    (mean, var)
}

/// The summary of one sampled tensor, in output order.
struct Report {
    lines: Vec<(&'static str, String)>,
}

impl Report {
    fn put(&mut self, key: &'static str, value: impl Into<String>) {
        self.lines.push((key, value.into()));
    }
    fn text(&self) -> String {
        let mut out = String::new();
        for (k, v) in &self.lines {
            let _ = writeln!(out, "{k}: {v}");
        }
        out
    }
}

pub fn run(args: WeightsArgs) -> anyhow::Result<()> {
    let mut init = Init::parse_spec(&args.init, "--init")?;
    if init.lsuv.is_some() {
        return Err(bad(
            "--init: lsuv is not a distribution of one tensor: it rescales each layer of a network until \
             that layer's output variance on the data is 1 (Mishkin & Matas 2016), so it needs a network \
             and an input batch; use it in an experiment ([[init]] weight = { scheme = \"lsuv\" }) and run \
             `initlab run`, or sample its base scheme here (e.g. --init orthogonal)"
                .to_string(),
        ));
    }
    let activation = match &args.activation {
        Some(text) => Some(Activation::parse(text, "--activation")?),
        None => None,
    };
    if let Some(act) = activation {
        init = init.for_activation(act);
    } else if let Some(word) = init.needs_activation() {
        return Err(bad(format!(
            "--init: gain = \"{word}\" depends on the activation that follows the layer: add --activation A (one of {}), or give a number, e.g. gain = 1.5",
            crate::activation::NAMES.join(", ")
        )));
    }
    let shape = parse_shape(&args.shape)?;
    // The layer's weight rule decides what shapes are valid, for the bias too (PyTorch's messages).
    init.weight.check_shape(&shape).map_err(|e| {
        bad(format!(
            "--init {} cannot initialize --shape {}: {e}",
            init.weight.name(),
            shape_text(&shape)
        ))
    })?;

    if let Some(path) = &args.dump {
        if path.is_dir() {
            return Err(bad(format!(
                "--dump {}: is a folder; give the path of the file to write",
                path.display()
            )));
        }
    }
    let role = if args.bias { "bias" } else { "weight" };
    let mut rng = stream(&[
        "weights",
        &args.seed.to_string(),
        &init.canonical(),
        &format!("{shape:?}"),
        role,
    ]);
    let mut r = Report { lines: Vec::new() };
    r.put("init", init.canonical());
    if let Some(act) = activation {
        r.put("activation", act.label());
    }
    if let Some(p) = init.preset {
        r.put("preset", p);
    }
    r.put("tensor", role);
    let pt_fans = fans(&shape).ok();
    let values = if args.bias {
        let out = shape[0];
        let tshape = [out];
        let values = init
            .bias
            .sample(&shape, &mut rng)
            .map_err(|e| bad(format!("--bias: {e}")))?;
        r.put("scheme", init.bias.canonical());
        r.put("shape", out.to_string());
        r.put("weight_shape", shape_text(&shape));
        r.put("numel", out.to_string());
        r.put("fan_in", opt(pt_fans.map(|f| f.0 as f64)));
        r.put("fan_out", opt(pt_fans.map(|f| f.1 as f64)));
        let m = init.bias.moments(&shape).ok();
        match &init.bias {
            BiasInit::FanInUniform => {
                let fan_in = pt_fans.map(|f| f.0).unwrap_or(0);
                let b = if fan_in > 0 {
                    1.0 / (fan_in as f64).sqrt()
                } else {
                    0.0
                };
                r.put("gain", "none");
                r.put("std", fmt_f64(b / 3f64.sqrt()));
                r.put("bound", fmt_f64(b));
                r.put("low", fmt_f64(-b));
                r.put("high", fmt_f64(b));
            }
            BiasInit::Scheme(s) => scheme_lines(&mut r, s, &tshape),
        }
        r.put("theory_mean", opt(m.map(|m| m.mean)));
        r.put("theory_var", opt(m.map(|m| m.var)));
        values
    } else {
        let values = init.weight.sample(&shape, &mut rng).map_err(bad)?;
        r.put("scheme", init.weight.canonical());
        r.put("shape", shape_text(&shape));
        r.put("numel", values.len().to_string());
        let f = init.weight.fans(&shape);
        r.put("fan_in", opt(f.map(|f| f.0 as f64)));
        r.put("fan_out", opt(f.map(|f| f.1 as f64)));
        scheme_lines(&mut r, &init.weight, &shape);
        let m = init.weight.moments(&shape).ok();
        r.put("theory_mean", opt(m.map(|m| m.mean)));
        r.put("theory_var", opt(m.map(|m| m.var)));
        values
    };
    let (mean, var) = sample_moments(&values);
    r.put("mean", fmt_f64(mean));
    r.put("var", fmt_f64(var));
    if values.is_empty() {
        eprintln!(
            "warning: {} of shape [{}] has zero elements: initializing a zero-element tensor is a no-op (as in PyTorch); nothing was sampled",
            role,
            if args.bias { shape[0].to_string() } else { shape_text(&shape) }
        );
    }
    if let Some(path) = &args.dump {
        let mut text = String::with_capacity(values.len() * 24);
        for v in &values {
            text.push_str(&fmt_f64(*v));
            text.push('\n');
        }
        write_atomic(path, text.as_bytes())
            .map_err(|e| bad(format!("--dump {}: {e:#}", path.display())))?;
        r.put("dump", path.display().to_string());
    }
    print!("{}", r.text());
    Ok(())
}

/// `gain`, `std`, `bound`, `low`, `high` of a scheme for a tensor of `shape`.
fn scheme_lines(r: &mut Report, s: &Scheme, shape: &[usize]) {
    r.put("gain", opt(s.gain()));
    r.put("std", opt(s.std(shape)));
    let bound = match *s {
        // uniform(a, b): the half-width of [a, b].
        Scheme::Uniform { a, b } => Some((b - a) / 2.0),
        _ => s.bound(shape),
    };
    r.put("bound", opt(bound));
    let (lo, hi) = s.support(shape);
    r.put("low", fmt_f64(lo));
    r.put("high", fmt_f64(hi));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes_parse_or_name_the_flag() {
        assert_eq!(parse_shape("256,128,3,3").unwrap(), vec![256, 128, 3, 3]);
        assert_eq!(parse_shape(" 4 , 0 ").unwrap(), vec![4, 0]);
        for badv in [
            "",
            "3,x",
            "3,-1",
            "3,,4",
            "10000,10000",
            "18446744073709551615,2",
        ] {
            let e = parse_shape(badv).unwrap_err();
            assert!(crate::error::is_bad_input(&e));
            assert!(e.to_string().contains("--shape"), "{e}");
        }
    }

    #[test]
    fn numbers_round_trip() {
        for x in [
            0.0,
            1.0,
            -0.1,
            1e-300,
            5e-324,
            1.7976931348623157e308,
            0.1 + 0.2,
            1e-5,
            9.99e15,
            3e16,
        ] {
            let t = fmt_f64(x);
            assert_eq!(t.parse::<f64>().unwrap(), x, "{t}");
        }
        assert_eq!(fmt_f64(f64::INFINITY), "inf");
    }
}
