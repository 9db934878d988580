//! Property test: the experiment parser, SPEC parser and activation parser never panic, for
//! 60 000 inputs made by mutating valid files and specs (deletions, insertions of hostile
//! tokens, truncations, line shuffles). Every failure must be a `BadInput` (exit 2), and every
//! accepted experiment must expand, estimate its memory and resolve without panicking.

use initlab::activation::Activation;
use initlab::config::Experiment;
use initlab::error::is_bad_input;
use initlab::init::Init;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::panic::catch_unwind;

const SEEDS: &[&str] = &[
    r#"name = "f"
seed = 1
trials = 2
batch = 4
dtype = "f64"
[input]
distribution = "uniform"
std = 2.0
[network]
kind = "mlp"
depth = [2, 3]
width = [4]
activation = ["relu", { name = "leaky_relu", negative_slope = 0.2 }, { name = "gelu", approximate = "tanh" }]
bias = false
[[init]]
label = "He"
weight = { scheme = "kaiming_normal", mode = "fan_out", nonlinearity = "relu" }
bias = { scheme = "normal", std = 0.1 }
[[init]]
preset = "pytorch_default"
[histograms]
layers = [1, 2]
bins = 5
"#,
    r#"[network]
depth = 3
width = 8
activation = "tanh"
[[init]]
weight = { scheme = "trunc_normal", mean = 0.1, std = 0.5, a = -1, b = 1 }
[[init]]
weight = { scheme = "variance_scaling", scale = 2.0, mode = "fan_avg", distribution = "uniform" }
[[init]]
weight = { scheme = "orthogonal", gain = 1.5 }
[[init]]
weight = { scheme = "sparse", sparsity = 0.5 }
"#,
];

const TOKENS: &[&str] = &[
    "=",
    "[",
    "]",
    "{",
    "}",
    "\"",
    ",",
    "\n",
    "[[init]]",
    "nan",
    "inf",
    "-inf",
    "-1",
    "0",
    "1e309",
    "-0.0",
    "99999999999999999999",
    "9223372036854775807",
    "true",
    "\"relu\"",
    "\"\"",
    "scheme",
    "preset",
    "depth",
    "width",
    "gain",
    "a",
    "b",
    "std",
    "mode",
    "\"fan_avg\"",
    "\"eye\"",
    "\"dirac\"",
    "groups = 0",
    "sparsity = 2",
    "layers = [0]",
    "bins = 1",
    "é",
    "\u{0}",
    "#",
    "'''",
    "\"\"\"",
    "0x10",
    "1_000",
    "[network]",
    "[input]",
];

fn mutate(rng: &mut ChaCha8Rng, text: &str) -> String {
    let mut s: Vec<char> = text.chars().collect();
    for _ in 0..rng.random_range(1..6) {
        match rng.random_range(0..5) {
            0 if !s.is_empty() => {
                let i = rng.random_range(0..s.len());
                let n = rng.random_range(1..8).min(s.len() - i);
                s.drain(i..i + n);
            }
            1 => {
                let i = rng.random_range(0..=s.len());
                let t = TOKENS[rng.random_range(0..TOKENS.len())];
                s.splice(i..i, t.chars());
            }
            2 if !s.is_empty() => {
                let i = rng.random_range(0..s.len());
                s.truncate(i);
            }
            3 => {
                let mut lines: Vec<String> = s
                    .iter()
                    .collect::<String>()
                    .lines()
                    .map(String::from)
                    .collect();
                if lines.len() > 1 {
                    let (i, j) = (
                        rng.random_range(0..lines.len()),
                        rng.random_range(0..lines.len()),
                    );
                    lines.swap(i, j);
                }
                s = lines.join("\n").chars().collect();
            }
            _ => {
                // Replace a number-looking char by a digit or sign.
                if !s.is_empty() {
                    let i = rng.random_range(0..s.len());
                    s[i] = ['0', '9', '-', '.', 'e', '"', ' '][rng.random_range(0..7)];
                }
            }
        }
    }
    s.into_iter().collect()
}

#[test]
fn experiment_parser_never_panics() {
    let mut rng = ChaCha8Rng::seed_from_u64(2024);
    let mut accepted = 0;
    for i in 0..40_000 {
        let text = mutate(&mut rng, SEEDS[i % SEEDS.len()]);
        let outcome = catch_unwind(|| match Experiment::parse(&text, "fuzz.toml", "fuzz") {
            Ok(exp) => {
                let cells = exp.cells();
                let _ = initlab::sweep::estimate_bytes(&exp, 2);
                let resolved = exp.resolved_toml();
                let back =
                    Experiment::parse(&resolved, "r.toml", "r").expect("resolved text parses");
                assert_eq!(back.cells().len(), cells.len());
                true
            }
            Err(e) => {
                assert!(is_bad_input(&e), "not a BadInput: {e:#}");
                assert!(
                    e.to_string().contains("fuzz.toml"),
                    "message does not name the file: {e}"
                );
                false
            }
        });
        match outcome {
            Ok(true) => accepted += 1,
            Ok(false) => {}
            Err(_) => panic!("panic on input:\n{text}"),
        }
    }
    assert!(
        accepted > 100,
        "the mutations should leave some valid files ({accepted})"
    );
}

#[test]
fn spec_and_activation_parsers_never_panic() {
    let specs = [
        "kaiming_normal",
        "scheme = \"kaiming_uniform\", a = 2.23606797749979, mode = \"fan_out\", nonlinearity = \"leaky_relu\"",
        "preset = \"pytorch_default\"",
        "scheme = \"trunc_normal\", std = 0.02, a = -0.04, b = 0.04",
        "name = \"leaky_relu\", negative_slope = 0.2",
        "name = \"softplus\", beta = 2",
    ];
    let mut rng = ChaCha8Rng::seed_from_u64(7);
    for i in 0..20_000 {
        let text = mutate(&mut rng, specs[i % specs.len()]);
        let r = catch_unwind(|| {
            if let Ok(init) = Init::parse_spec(&text, "--init") {
                for shape in [vec![3usize, 4], vec![2, 2, 3, 3], vec![0, 5]] {
                    if init.weight.check_shape(&shape).is_ok() {
                        let _ = init.weight.moments(&shape);
                        let _ = init.weight.std(&shape);
                    }
                }
                let _ = init.canonical();
            } else if let Err(e) = Init::parse_spec(&text, "--init") {
                assert!(is_bad_input(&e), "{e:#}");
            }
            match Activation::parse(&text, "--activation") {
                Ok(a) => {
                    let _ = (a.f(0.3), a.df(-0.3), a.label());
                }
                Err(e) => assert!(is_bad_input(&e), "{e:#}"),
            }
        });
        assert!(r.is_ok(), "panic on input: {text}");
    }
}
