//! CLI tests of `initlab weights` and `initlab list` (DESIGN contract): printed keys, formulas
//! to 1e-12 relative, `--dump` layout and precision, `--bias`, seeds, PyTorch's misuse errors
//! (exit 2) and the zero-element warning (exit 0).
// Keras' literal 0.87962566103423978 is written as Keras writes it.
#![allow(clippy::excessive_precision)]

#[path = "../src/init/ks.rs"]
mod ks;

use initlab::init::gain::{calculate_gain, NONLINEARITIES};
use initlab::init::{PRESETS, SCHEMES};
use std::collections::HashMap;
use std::path::Path;
use std::process::Command;

fn initlab(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_initlab"))
        .args(args)
        .output()
        .expect("run initlab");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8(out.stdout).expect("utf-8 stdout"),
        String::from_utf8(out.stderr).expect("utf-8 stderr"),
    )
}

/// Run `weights` expecting success; returns the `key: value` map.
fn weights(args: &[&str]) -> HashMap<String, String> {
    let mut all = vec!["weights"];
    all.extend_from_slice(args);
    let (code, out, err) = initlab(&all);
    assert_eq!(code, 0, "{args:?}: exit {code}, stderr: {err}");
    let mut map = HashMap::new();
    for line in out.lines() {
        let (k, v) = line
            .split_once(": ")
            .unwrap_or_else(|| panic!("not a key: value line: {line}"));
        assert!(
            map.insert(k.to_string(), v.to_string()).is_none(),
            "duplicate key {k}"
        );
    }
    for key in ["fan_in", "fan_out", "gain", "std", "bound", "mean", "var"] {
        assert!(map.contains_key(key), "{args:?}: missing '{key}' in\n{out}");
    }
    map
}

fn num(map: &HashMap<String, String>, key: &str) -> f64 {
    map[key]
        .parse()
        .unwrap_or_else(|_| panic!("{key}: '{}' is not a number", map[key]))
}

fn rel(a: f64, b: f64) -> f64 {
    ((a - b) / b).abs()
}

fn read_dump(path: &Path) -> Vec<f64> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|l| {
            l.parse()
                .unwrap_or_else(|_| panic!("dump line '{l}' is not a number"))
        })
        .collect()
}

fn moments(xs: &[f64]) -> (f64, f64) {
    let n = xs.len() as f64;
    let m = xs.iter().sum::<f64>() / n;
    (m, xs.iter().map(|x| (x - m) * (x - m)).sum::<f64>() / n)
}

/// Printed fans, gain, std and bound equal the formulas (computed here) to 1e-12 relative;
/// printed mean and var are those of the dumped values; the dumped values pass KS against the
/// distribution and respect the support.
#[test]
fn weights_summary_matches_formulas_and_dump() {
    let dir = tempfile::tempdir().unwrap();
    let s3 = 3f64.sqrt();
    // (spec, shape, fan_in, fan_out, gain, std, bound or None, cdf kind)
    #[allow(clippy::type_complexity)]
    let cases: Vec<(&str, &str, f64, f64, Option<f64>, f64, Option<f64>)> = vec![
        ("pytorch_default", "256,128,3,3", 1152.0, 2304.0, Some((1.0f64 / 3.0).sqrt()), 1.0 / (s3 * 1152f64.sqrt()), Some(1.0 / 1152f64.sqrt())),
        ("pytorch_default", "64,300", 300.0, 64.0, Some((1.0f64 / 3.0).sqrt()), 1.0 / (s3 * 300f64.sqrt()), Some(1.0 / 300f64.sqrt())),
        ("kaiming_normal", "128,64,5", 320.0, 640.0, Some(2f64.sqrt()), (2.0f64 / 320.0).sqrt(), None),
        (
            "scheme = \"kaiming_uniform\", a = 2.23606797749979, mode = \"fan_out\", nonlinearity = \"leaky_relu\"",
            "100,50,3",
            150.0,
            300.0,
            Some((2.0f64 / 6.0).sqrt()),
            (1.0f64 / 3.0 / 300.0).sqrt(),
            Some((1.0f64 / 300.0).sqrt()),
        ),
        ("xavier_uniform", "200,300", 300.0, 200.0, Some(1.0), (2.0f64 / 500.0).sqrt(), Some((6.0f64 / 500.0).sqrt())),
        ("scheme = \"xavier_normal\", gain = 1.6666666666666667", "40,30,2,2", 120.0, 160.0, Some(5.0 / 3.0), 5.0 / 3.0 * (2.0f64 / 280.0).sqrt(), None),
        ("he_normal", "300,400", 400.0, 300.0, None, (2.0f64 / 400.0).sqrt() / 0.87962566103423978, None),
        ("lecun_uniform", "300,400", 400.0, 300.0, None, (1.0f64 / 400.0).sqrt(), Some((3.0f64 / 400.0).sqrt())),
        ("glorot_uniform", "64,32,3,3", 288.0, 576.0, None, (1.0f64 / 432.0).sqrt(), Some((3.0f64 / 432.0).sqrt())),
    ];
    for (i, (spec, shape, fi, fo, gain, std, bound)) in cases.into_iter().enumerate() {
        let dump = dir.path().join(format!("w{i}.txt"));
        let m = weights(&[
            "--init",
            spec,
            "--shape",
            shape,
            "--seed",
            "7",
            "--dump",
            dump.to_str().unwrap(),
        ]);
        assert_eq!(num(&m, "fan_in"), fi, "{spec}");
        assert_eq!(num(&m, "fan_out"), fo, "{spec}");
        match gain {
            Some(g) => assert!(
                rel(num(&m, "gain"), g) < 1e-12,
                "{spec}: gain {}",
                m["gain"]
            ),
            None => assert_eq!(m["gain"], "none"),
        }
        assert!(
            rel(num(&m, "std"), std) < 1e-12,
            "{spec}: std {} vs {std}",
            m["std"]
        );
        let xs = read_dump(&dump);
        let numel: usize = shape
            .split(',')
            .map(|d| d.parse::<usize>().unwrap())
            .product();
        assert_eq!(xs.len(), numel);
        assert_eq!(num(&m, "numel") as usize, numel);
        let (mean, var) = moments(&xs);
        assert!(
            (num(&m, "mean") - mean).abs() <= 1e-12 * var.sqrt(),
            "{spec}: mean"
        );
        assert!(rel(num(&m, "var"), var) < 1e-12, "{spec}: var");
        let (lo, hi) = (num(&m, "low"), num(&m, "high"));
        assert!(
            xs.iter().all(|&x| lo <= x && x <= hi),
            "{spec}: value outside [{lo}, {hi}]"
        );
        let p = match bound {
            Some(b) => {
                assert!(
                    rel(num(&m, "bound"), b) < 1e-12,
                    "{spec}: bound {} vs {b}",
                    m["bound"]
                );
                assert!(xs.iter().all(|x| x.abs() <= b * (1.0 + 1e-15)));
                ks::ks_test(&xs, ks::uniform_cdf(-b, b)).1
            }
            None => {
                assert_eq!(m["bound"], "none", "{spec}: not a uniform scheme");
                if spec.ends_with("he_normal") {
                    assert!(
                        xs.iter().all(|x| x.abs() <= 2.0 * std),
                        "he_normal is truncated at 2σ"
                    );
                    ks::ks_test(&xs, ks::trunc_normal_cdf(0.0, std, -2.0 * std, 2.0 * std)).1
                } else {
                    ks::ks_test(&xs, ks::normal_cdf(0.0, std)).1
                }
            }
        };
        assert!(p > 1e-4, "{spec} {shape}: KS p = {p}");
        // The theoretical variance line: std² for normal, bound²/3 for uniform, std²·0.8796² for Keras truncated.
        let tv = num(&m, "theory_var");
        let want = if spec.ends_with("he_normal") {
            (std * 0.87962566103423978).powi(2)
        } else {
            std * std
        };
        assert!(rel(tv, want) < 1e-12, "{spec}: theory_var {tv} vs {want}");
    }
}

/// `--dump` is row-major in PyTorch layout [out, in, k...]: eye and dirac put their ones at the
/// right flat indices; values round-trip (the printed text parses to the value written).
#[test]
fn dump_layout_and_precision() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("eye.txt");
    weights(&[
        "--init",
        "eye",
        "--shape",
        "3,5",
        "--dump",
        p.to_str().unwrap(),
    ]);
    let xs = read_dump(&p);
    for i in 0..3 {
        for j in 0..5 {
            assert_eq!(xs[i * 5 + j], if i == j { 1.0 } else { 0.0 });
        }
    }
    // dirac(groups=2) on [4, 3, 3, 5]: out channel g·2 + d has its 1 at [.., d, 1, 2].
    let p = dir.path().join("dirac.txt");
    weights(&[
        "--init",
        "scheme = \"dirac\", groups = 2",
        "--shape",
        "4,3,3,5",
        "--dump",
        p.to_str().unwrap(),
    ]);
    let xs = read_dump(&p);
    let mut ones = vec![];
    for (i, &x) in xs.iter().enumerate() {
        if x != 0.0 {
            assert_eq!(x, 1.0);
            ones.push(i);
        }
    }
    let idx = |o: usize, c: usize, h: usize, w: usize| ((o * 3 + c) * 3 + h) * 5 + w;
    assert_eq!(
        ones,
        vec![
            idx(0, 0, 1, 2),
            idx(1, 1, 1, 2),
            idx(2, 0, 1, 2),
            idx(3, 1, 1, 2)
        ]
    );
    // Tiny values keep full precision in the dump.
    let p = dir.path().join("tiny.txt");
    let m = weights(&[
        "--init",
        "scheme = \"normal\", std = 1e-300",
        "--shape",
        "10,10",
        "--dump",
        p.to_str().unwrap(),
    ]);
    let xs = read_dump(&p);
    assert!(xs.iter().all(|x| x.abs() < 1e-298 && *x != 0.0));
    for line in std::fs::read_to_string(&p).unwrap().lines() {
        let v: f64 = line.parse().unwrap();
        assert_eq!(format!("{v:e}").parse::<f64>().unwrap(), v);
    }
    assert_eq!(num(&m, "std"), 1e-300);
    // No temporary file left beside the dump.
    let names: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(names.iter().all(|n| !n.starts_with('.')), "{names:?}");
}

/// Same seed, same numbers; another seed, other numbers.
#[test]
fn seeds_are_deterministic() {
    let dir = tempfile::tempdir().unwrap();
    let path = |n: &str| dir.path().join(n).to_str().unwrap().to_string();
    let (a, b, c) = (path("a"), path("b"), path("c"));
    weights(&[
        "--init",
        "kaiming_normal",
        "--shape",
        "20,30",
        "--seed",
        "3",
        "--dump",
        &a,
    ]);
    weights(&[
        "--init",
        "kaiming_normal",
        "--shape",
        "20,30",
        "--seed",
        "3",
        "--dump",
        &b,
    ]);
    weights(&[
        "--init",
        "kaiming_normal",
        "--shape",
        "20,30",
        "--seed",
        "4",
        "--dump",
        &c,
    ]);
    let (a, b, c) = (
        std::fs::read(a).unwrap(),
        std::fs::read(b).unwrap(),
        std::fs::read(c).unwrap(),
    );
    assert_eq!(a, b);
    assert_ne!(a, c);
}

/// `--bias`: pytorch_default draws U(±1/√fan_in) with the weight's fan_in (conv and transposed
/// conv layouts), Keras presets and plain schemes give zeros.
#[test]
fn bias_rules() {
    let dir = tempfile::tempdir().unwrap();
    for (shape, fan_in) in [("3000,50,3", 150.0), ("2000,64", 64.0)] {
        let p = dir.path().join("b.txt");
        let m = weights(&[
            "--init",
            "pytorch_default",
            "--shape",
            shape,
            "--bias",
            "--dump",
            p.to_str().unwrap(),
        ]);
        let out: usize = shape.split(',').next().unwrap().parse().unwrap();
        let b = 1.0 / f64::sqrt(fan_in);
        assert_eq!(m["tensor"], "bias");
        assert_eq!(num(&m, "fan_in"), fan_in);
        assert!(rel(num(&m, "bound"), b) < 1e-12);
        assert!(rel(num(&m, "std"), b / 3f64.sqrt()) < 1e-12);
        let xs = read_dump(&p);
        assert_eq!(xs.len(), out);
        assert!(xs.iter().all(|x| x.abs() <= b));
        let pv = ks::ks_test(&xs, ks::uniform_cdf(-b, b)).1;
        assert!(pv > 1e-4, "bias KS p = {pv}");
    }
    for spec in [
        "he_normal",
        "glorot_uniform",
        "kaiming_normal",
        "orthogonal",
    ] {
        let p = dir.path().join("z.txt");
        let m = weights(&[
            "--init",
            spec,
            "--shape",
            "7,5",
            "--bias",
            "--dump",
            p.to_str().unwrap(),
        ]);
        assert_eq!(read_dump(&p), vec![0.0; 7], "{spec}");
        assert_eq!(num(&m, "var"), 0.0);
    }
}

/// Misuse PyTorch rejects exits 2 with a message naming the problem; nothing is printed on stdout.
#[test]
fn misuse_exits_2() {
    let cases: &[(&[&str], &str)] = &[
        (
            &["--init", "eye", "--shape", "3,4,5"],
            "eye needs exactly 2 dimensions",
        ),
        (
            &["--init", "dirac", "--shape", "3,4"],
            "dirac needs 3, 4 or 5 dimensions",
        ),
        (
            &["--init", "dirac", "--shape", "3,4,3,3,3,3"],
            "dirac needs 3, 4 or 5 dimensions",
        ),
        (
            &[
                "--init",
                "scheme = \"dirac\", groups = 2",
                "--shape",
                "3,4,3",
            ],
            "divisible by groups",
        ),
        (
            &[
                "--init",
                "scheme = \"sparse\", sparsity = 0.1",
                "--shape",
                "3,4,5",
            ],
            "sparse needs exactly 2 dimensions",
        ),
        (
            &["--init", "xavier_uniform", "--shape", "5"],
            "fewer than 2 dimensions",
        ),
        (
            &["--init", "kaiming_normal", "--shape", "5"],
            "fewer than 2 dimensions",
        ),
        (
            &["--init", "pytorch_default", "--shape", "5", "--bias"],
            "fewer than 2 dimensions",
        ),
        (
            &["--init", "orthogonal", "--shape", "5"],
            "at least 2 dimensions",
        ),
        (
            &[
                "--init",
                "scheme = \"uniform\", a = 1, b = 0",
                "--shape",
                "3,3",
            ],
            "a <= b",
        ),
        (
            &[
                "--init",
                "scheme = \"trunc_normal\", a = 1, b = 0",
                "--shape",
                "3,3",
            ],
            "a <= b",
        ),
        (
            &["--init", "scheme = \"normal\", std = -1", "--shape", "3,3"],
            "std >= 0",
        ),
        // gelu is accepted since issue 17 (beyond PyTorch: its variance-preserving gain);
        // a name neither PyTorch nor initlab knows is still refused.
        (
            &[
                "--init",
                "scheme = \"kaiming_normal\", nonlinearity = \"swish\"",
                "--shape",
                "3,3",
            ],
            "unknown nonlinearity 'swish'",
        ),
        (
            &[
                "--init",
                "scheme = \"kaiming_normal\", mode = \"fan_avg\"",
                "--shape",
                "3,3",
            ],
            "valid: fan_in, fan_out",
        ),
        (
            &["--init", "kaiming", "--shape", "3,3"],
            "unknown init scheme or preset 'kaiming'",
        ),
        (&["--init", "normal", "--shape", "3,x"], "--shape"),
        (&["--init", "normal", "--shape", ""], "--shape"),
        (
            &["--init", "normal", "--shape", "3,3", "--seed=-1"],
            "--seed",
        ),
        (&["--shape", "3,3"], "--init"),
        (
            &["--init", "normal", "--shape", "3,3", "--dump", "."],
            "--dump",
        ),
        (&["--init", "normal", "--shape", "100000,100000"], "--shape"),
    ];
    for (args, want) in cases {
        let mut all = vec!["weights"];
        all.extend_from_slice(args);
        let (code, out, err) = initlab(&all);
        assert_eq!(code, 2, "{args:?}: exit {code}, stderr {err}");
        assert!(
            err.contains(want),
            "{args:?}: stderr lacks '{want}':\n{err}"
        );
        assert!(out.is_empty(), "{args:?}: printed {out}");
        assert!(!err.contains("panicked"), "{err}");
    }
}

/// A zero-element tensor: warning on stderr, exit 0, an empty dump.
#[test]
fn zero_element_warns() {
    let dir = tempfile::tempdir().unwrap();
    for (spec, shape) in [
        ("kaiming_uniform", "0,1"),
        ("orthogonal", "0,5"),
        ("xavier_normal", "4,0,3"),
        ("he_normal", "0,0"),
        ("eye", "0,3"),
    ] {
        let p = dir.path().join("e.txt");
        let (code, out, err) = initlab(&[
            "weights",
            "--init",
            spec,
            "--shape",
            shape,
            "--dump",
            p.to_str().unwrap(),
        ]);
        assert_eq!(code, 0, "{spec} {shape}: {err}");
        assert!(
            err.contains("warning") && err.contains("zero elements"),
            "{spec}: {err}"
        );
        assert!(out.contains("numel: 0"), "{out}");
        assert_eq!(std::fs::read_to_string(&p).unwrap(), "");
    }
}

/// `initlab list` names every scheme, preset, nonlinearity (with calculate_gain's value) and
/// activation, gives the variance formulas and the caveats.
#[test]
fn list_covers_everything() {
    let (code, out, err) = initlab(&["list"]);
    assert_eq!(code, 0, "{err}");
    for name in SCHEMES.iter().chain(PRESETS) {
        assert!(out.contains(&format!("  {name}")), "list lacks {name}");
    }
    for name in initlab::activation::NAMES {
        assert!(
            out.contains(&format!("  {name}")),
            "list lacks activation {name}"
        );
    }
    for n in NONLINEARITIES {
        let g = calculate_gain(n, None).unwrap();
        let line = out
            .lines()
            .find(|l| l.trim_start().starts_with(&format!("{n} ")) && l.contains("gain"))
            .unwrap_or_else(|| panic!("no gain line for {n}"));
        assert!(line.contains(&format!("gain {g}")), "{line}");
    }
    let he = out
        .lines()
        .skip_while(|l| !l.contains("he_normal --"))
        .take(3)
        .collect::<Vec<_>>()
        .join("\n");
    assert!(
        he.contains("TRUNCATED") && he.contains("kaiming_normal"),
        "{he}"
    );
    assert!(out.contains("1/(3*fan_in)") && out.contains("NOT He init"));
    assert!(out.contains("ConvTransposeNd") && out.contains("Grouped ConvNd"));
    assert_eq!(
        out.matches("variance:").count(),
        SCHEMES.len() + PRESETS.len()
    );
}
