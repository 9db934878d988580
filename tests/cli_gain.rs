//! CLI tests of `initlab gain` (issue 17) and of the gain extension in `weights`, `list` and
//! experiment files: the printed keys; preserve_gain against closed forms and against Simpson
//! quadrature written here; χ1 and the q-map slope against the same integrals (a finite
//! difference for the slope); PyTorch's column against PyTorch's constants; `--all` against the
//! single reports; and every kind of bad input (exit 2, naming the value and the choices).

use std::collections::HashMap;
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

const KEYS: &[&str] = &[
    "activation",
    "q",
    "sigma_b2",
    "pytorch_gain",
    "preserve_gain",
    "preserve_sigma_w2",
    "q_slope",
    "stable",
    "chi1",
    "phase",
    "c_star",
    "xi_q",
    "xi_c",
    "critical_sigma_w2",
    "pytorch_q_star",
    "pytorch_chi1",
    "verdict",
];

/// `initlab gain ARGS` expecting success: the `key: value` map, every key present once.
fn gain(args: &[&str]) -> HashMap<String, String> {
    let mut all = vec!["gain"];
    all.extend_from_slice(args);
    let (code, out, err) = initlab(&all);
    assert_eq!(code, 0, "{args:?}: exit {code}: {err}");
    let mut map = HashMap::new();
    for line in out.lines() {
        let (k, v) = line
            .split_once(": ")
            .unwrap_or_else(|| panic!("not a key: value line: {line}"));
        assert!(
            map.insert(k.to_string(), v.to_string()).is_none(),
            "{k} twice"
        );
    }
    for k in KEYS {
        assert!(map.contains_key(*k), "{args:?}: no '{k}' in\n{out}");
    }
    map
}

fn num(m: &HashMap<String, String>, k: &str) -> f64 {
    m[k].parse()
        .unwrap_or_else(|_| panic!("{k}: '{}' is not a number", m[k]))
}

/// E[f(z)], z ~ N(0, 1): composite Simpson on [−12, 0] and [0, 12] with h = 1e-3 (error
/// ≲ 1e-13 for these integrands). The halves meet at 0, where relu-like φ and SELU's φ′ jump:
/// each half takes its own one-sided value there, so Simpson sees smooth pieces.
fn simpson_normal(f: impl Fn(f64) -> f64) -> f64 {
    let dens = |z: f64| (-0.5 * z * z).exp() / (2.0 * std::f64::consts::PI).sqrt();
    let half = |a: f64, b: f64, fa: f64, fb: f64| {
        let n = 12_000usize;
        let h = (b - a) / n as f64;
        let mut s = fa * dens(a) + fb * dens(b);
        for i in 1..n {
            let z = a + i as f64 * h;
            s += if i % 2 == 1 { 4.0 } else { 2.0 } * f(z) * dens(z);
        }
        s * h / 3.0
    };
    let tiny = f64::MIN_POSITIVE;
    half(-12.0, 0.0, f(-12.0), f(-tiny)) + half(0.0, 12.0, f(tiny), f(12.0))
}

#[test]
fn closed_forms_and_pytorch_values() {
    let r2 = std::f64::consts::SQRT_2;
    for q in ["1", "0.05", "30"] {
        let m = gain(&["--activation", "relu", "--q", q]);
        assert!((num(&m, "preserve_gain") - r2).abs() < 1e-15, "{m:?}");
        assert_eq!(num(&m, "pytorch_gain"), r2);
        assert_eq!(m["stable"], "marginal");
        assert!((num(&m, "chi1") - 1.0).abs() < 1e-14);
        assert!((num(&m, "q_slope") - 1.0).abs() < 1e-14);
        assert_eq!(m["phase"], "critical");
        assert!(
            m["verdict"].contains("preserves the variance at every q"),
            "{}",
            m["verdict"]
        );
        let m = gain(&["--activation", "linear", "--q", q]);
        assert_eq!(num(&m, "preserve_gain"), 1.0);
        assert_eq!(num(&m, "pytorch_gain"), 1.0);
    }
    for s in [0.01f64, 0.2, 2.0] {
        let a = format!("name = \"leaky_relu\", negative_slope = {s}");
        let m = gain(&["--activation", &a]);
        let want = (2.0 / (1.0 + s * s)).sqrt();
        assert!((num(&m, "preserve_gain") / want - 1.0).abs() < 1e-15, "{s}");
        // PyTorch's calculate_gain('leaky_relu', s): the same formula.
        assert!((num(&m, "pytorch_gain") / want - 1.0).abs() < 1e-15, "{s}");
    }
    // PyTorch's table (torch.nn.init.calculate_gain).
    for (a, want) in [("tanh", 5.0 / 3.0), ("sigmoid", 1.0), ("selu", 0.75)] {
        assert_eq!(
            num(&gain(&["--activation", a]), "pytorch_gain"),
            want,
            "{a}"
        );
    }
    for a in ["elu", "gelu", "silu", "softplus"] {
        let m = gain(&["--activation", a]);
        assert_eq!(m["pytorch_gain"], "none", "{a}");
        assert_eq!(m["pytorch_q_star"], "none", "{a}");
    }
    // The edge of chaos: ReLU's single point (2, 0); none for it with a bias.
    assert!((num(&gain(&["--activation", "relu"]), "critical_sigma_w2") - 2.0).abs() < 1e-9);
    assert_eq!(
        gain(&["--activation", "relu", "--sigma-b2", "0.1"])["critical_sigma_w2"],
        "none"
    );
}

/// Smooth φ: preserve_gain from Simpson, χ1 = g²·E[φ′(√Q·z)²] from Simpson, and the q-map's
/// slope as a central difference of the Simpson map (h = 1e-3·Q: truncation ~h²·map‴ ≈ 1e-7).
#[test]
fn smooth_activations_against_quadrature() {
    let acts = [
        "tanh",
        "sigmoid",
        "gelu",
        "name = \"gelu\", approximate = \"tanh\"",
        "silu",
        "softplus",
        "elu",
        "selu",
        "name = \"elu\", alpha = 0.5",
        "name = \"softplus\", beta = 3",
    ];
    for text in acts {
        let act = initlab::activation::Activation::parse(text, "test").unwrap();
        for (q, sb2) in [(1.0f64, 0.0f64), (2.5, 0.0), (0.4, 0.1)] {
            let m = gain(&[
                "--activation",
                text,
                "--q",
                &q.to_string(),
                "--sigma-b2",
                &sb2.to_string(),
            ]);
            let second = |x: f64| simpson_normal(|z| act.f(x.sqrt() * z).powi(2));
            let g2 = (q - sb2) / second(q);
            let g = num(&m, "preserve_gain");
            assert!(
                (g / g2.sqrt() - 1.0).abs() < 1e-9,
                "{text} q={q}: {g} vs {}",
                g2.sqrt()
            );
            assert!((num(&m, "preserve_sigma_w2") / g2 - 1.0).abs() < 1e-9);
            let chi1 = g2 * simpson_normal(|z| act.df(q.sqrt() * z).powi(2));
            assert!((num(&m, "chi1") / chi1 - 1.0).abs() < 1e-8, "{text}: χ1");
            let map = |x: f64| g2 * second(x) + sb2;
            let h = 1e-3 * q;
            let slope = (map(q + h) - map(q - h)) / (2.0 * h);
            let printed = num(&m, "q_slope");
            assert!(
                (printed - slope).abs() < 1e-6,
                "{text} q={q}: slope {printed} vs {slope}"
            );
            let want = if slope < 1.0 { "yes" } else { "no" };
            assert_eq!(m["stable"], want, "{text} q={q}");
            // ξ_q = −1/ln(slope) for a stable fixed point.
            if want == "yes" {
                assert!((num(&m, "xi_q") * -slope.ln() - 1.0).abs() < 1e-5);
            } else {
                assert_eq!(m["xi_q"], "inf");
            }
        }
    }
}

#[test]
fn all_prints_every_activation_beside_pytorch() {
    let (code, out, err) = initlab(&["gain", "--all"]);
    assert_eq!(code, 0, "{err}");
    let mut lines = out.lines().filter(|l| !l.starts_with('#'));
    let header: Vec<&str> = lines.next().unwrap().split_whitespace().collect();
    assert_eq!(
        &header[..3],
        &["activation", "pytorch_gain", "preserve_gain"]
    );
    for k in ["stable", "chi1", "critical_sigma_w2", "xi_q", "xi_c"] {
        assert!(header.contains(&k), "{header:?}");
    }
    let rows: Vec<Vec<&str>> = lines
        .by_ref()
        .take_while(|l| !l.is_empty())
        .map(|l| l.split_whitespace().collect())
        .collect();
    let verdicts: Vec<&str> = lines.collect();
    for name in initlab::activation::NAMES {
        let row = rows
            .iter()
            .find(|r| r[0] == *name)
            .unwrap_or_else(|| panic!("no row for {name}"));
        let single = gain(&["--activation", name]);
        for (c, k) in header.iter().enumerate().skip(1) {
            let (t, s) = (row[c], &single[*k]);
            match (t.parse::<f64>(), s.parse::<f64>()) {
                (Ok(a), Ok(b)) if a == b => {}
                // Six significant digits in the table.
                (Ok(a), Ok(b)) => {
                    assert!((a - b).abs() <= 5e-6 * b.abs(), "{name} {k}: {a} vs {b}")
                }
                _ => assert_eq!(t, s, "{name} {k}"),
            }
        }
        assert!(
            verdicts.iter().any(|v| v.starts_with(&format!("{name}: "))),
            "no verdict for {name}"
        );
    }
    assert_eq!(rows.len(), verdicts.len());
}

#[test]
fn bias_at_or_above_q_leaves_no_preserving_gain() {
    let m = gain(&["--activation", "tanh", "--q", "0.5", "--sigma-b2", "0.5"]);
    for k in ["preserve_gain", "chi1", "stable", "xi_q"] {
        assert_eq!(m[k], "none", "{k}");
    }
    assert!(m["verdict"].contains("no gain keeps q"), "{}", m["verdict"]);
}

#[test]
fn bad_input_exits_2_naming_the_value_and_the_choices() {
    let cases: &[(&[&str], &[&str])] = &[
        (
            &["--activation", "rellu"],
            &["rellu", "did you mean 'relu'", "valid: linear, relu"],
        ),
        (&["--activation", "swish"], &["swish", "valid:", "softplus"]),
        (&["--activation", "relu", "--q", "0"], &["--q 0", "> 0"]),
        (&["--activation", "relu", "--q", "-1"], &["--q -1", "> 0"]),
        (
            &["--activation", "relu", "--q", "nan"],
            &["--q NaN", "finite"],
        ),
        (
            &["--activation", "relu", "--q", "inf"],
            &["--q inf", "finite"],
        ),
        (
            &["--all", "--sigma-b2", "-0.1"],
            &["--sigma-b2 -0.1", ">= 0"],
        ),
        (
            &["--activation", "relu", "--sigma-b2", "nan"],
            &["--sigma-b2 NaN"],
        ),
        (&[], &["--activation", "--all"]),
        (&["--activation", "relu", "--all"], &["cannot be used with"]),
        (&["--activation", "relu", "--q", "x"], &["--q", "x"]),
    ];
    for (args, wants) in cases {
        let mut all = vec!["gain"];
        all.extend_from_slice(args);
        let (code, out, err) = initlab(&all);
        assert_eq!(code, 2, "{args:?}: exit {code}, stdout {out}, stderr {err}");
        assert!(out.is_empty(), "{args:?}: printed {out}");
        for w in *wants {
            assert!(err.contains(w), "{args:?}: '{err}' lacks '{w}'");
        }
    }
}

/// `weights` resolves gain = "preserve"/"pytorch" with --activation and refuses them without.
#[test]
fn weights_with_preserve_needs_an_activation() {
    let spec = "scheme = \"kaiming_normal\", gain = \"preserve\"";
    let (code, out, err) = initlab(&["weights", "--init", spec, "--shape", "4,4"]);
    assert_eq!(code, 2, "{out}");
    assert!(
        err.contains("--activation") && err.contains("gelu"),
        "{err}"
    );
    for (act, scheme) in [
        ("gelu", "kaiming_normal"),
        ("tanh", "xavier_uniform"),
        ("silu", "orthogonal"),
    ] {
        let spec = format!("scheme = \"{scheme}\", gain = \"preserve\"");
        let (code, out, err) = initlab(&[
            "weights",
            "--init",
            &spec,
            "--shape",
            "300,300",
            "--activation",
            act,
        ]);
        assert_eq!(code, 0, "{err}");
        let m: HashMap<&str, &str> = out.lines().filter_map(|l| l.split_once(": ")).collect();
        let want = num(&gain(&["--activation", act]), "preserve_gain");
        let g: f64 = m["gain"].parse().unwrap();
        assert_eq!(g, want, "{scheme}/{act}");
        assert_eq!(m["activation"], act);
        // Square layer: every gain scheme gives std = g/√n.
        let std: f64 = m["std"].parse().unwrap();
        assert!(
            (std * 300f64.sqrt() / g - 1.0).abs() < 1e-12,
            "{scheme}: std {std}"
        );
    }
    // gain = "pytorch": calculate_gain where PyTorch has it, √2 where not.
    let spec = "scheme = \"kaiming_normal\", gain = \"pytorch\"";
    for (act, want) in [("tanh", 5.0 / 3.0), ("gelu", std::f64::consts::SQRT_2)] {
        let (code, out, err) = initlab(&[
            "weights",
            "--init",
            spec,
            "--shape",
            "8,8",
            "--activation",
            act,
        ]);
        assert_eq!(code, 0, "{err}");
        assert!(out.contains(&format!("gain: {want}\n")), "{act}: {out}");
    }
    // nonlinearity = "gelu" (beyond PyTorch): the preserve gain at q = 1; PyTorch's names keep
    // PyTorch's value.
    let (_, out, _) = initlab(&[
        "weights",
        "--init",
        "scheme = \"kaiming_normal\", nonlinearity = \"gelu\"",
        "--shape",
        "8,8",
    ]);
    let want = num(&gain(&["--activation", "gelu"]), "preserve_gain");
    assert!(out.contains(&format!("gain: {want}\n")), "{out}");
    let (_, out, _) = initlab(&[
        "weights",
        "--init",
        "scheme = \"kaiming_normal\", nonlinearity = \"selu\"",
        "--shape",
        "8,8",
    ]);
    assert!(out.contains("gain: 0.75\n"), "{out}");
    // A scheme without a gain.
    let (code, _, err) = initlab(&[
        "weights",
        "--init",
        "scheme = \"normal\", gain = \"preserve\"",
        "--shape",
        "4,4",
    ]);
    assert_eq!(code, 2);
    assert!(
        err.contains("has no gain") && err.contains("kaiming_normal, orthogonal"),
        "{err}"
    );
}

#[test]
fn experiment_files_refuse_preserve_without_a_gain() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("x.toml");
    std::fs::write(
        &p,
        "[network]\ndepth = 2\nwidth = 4\nactivation = \"gelu\"\n[[init]]\nweight = { scheme = \"uniform\", gain = \"preserve\" }\n",
    )
    .unwrap();
    let (code, _, err) = initlab(&[
        "run",
        p.to_str().unwrap(),
        "--out",
        dir.path().join("o").to_str().unwrap(),
        "--quiet",
    ]);
    assert_eq!(code, 2);
    assert!(
        err.contains("x.toml")
            && err.contains("init[1].weight")
            && err.contains("has no gain")
            && err.contains("xavier_uniform"),
        "{err}"
    );
}

#[test]
fn list_marks_the_extension_beyond_pytorch() {
    let (code, out, _) = initlab(&["list"]);
    assert_eq!(code, 0);
    assert!(out.contains("gain = \"preserve\""));
    for n in ["elu", "gelu", "silu", "softplus"] {
        let want = num(&gain(&["--activation", n]), "preserve_gain");
        let line = out
            .lines()
            .find(|l| l.trim_start().starts_with(&format!("{n} ")) && l.contains("beyond PyTorch"))
            .unwrap_or_else(|| panic!("no beyond-PyTorch line for {n}"));
        assert!(line.contains(&format!("gain {want}")), "{line}");
    }
}
