//! Conv nets and width profiles end to end: the new `[network]` keys and their bad input, the
//! `widths`/`network` columns, fans, byte-identical results for any thread count, and
//! shards + merge and resume on conv cells.

mod common;

use common::{initlab, ok, read_rows as read_csv, write};
use std::fs;

const CONV: &str = r#"
name = "conv"
seed = 5
trials = 2
batch = 3
[network]
kind = "conv2d"
widths = [[3, 8, 16, 8], [3, 8]]
image = [6, 5]
kernel = 3
padding = ["zeros", "circular"]
activation = ["relu", "tanh"]
[[init]]
label = "He"
weight = { scheme = "kaiming_normal", nonlinearity = "relu" }
[[init]]
preset = "pytorch_default"
[[init]]
label = "delta"
weight = { scheme = "delta_orthogonal" }
[histograms]
layers = [1, 3]
bins = 8
"#;

#[test]
fn conv_cells_have_pytorch_fans_labels_and_profiles() {
    let dir = tempfile::tempdir().unwrap();
    let exp = write(dir.path(), "conv.toml", CONV);
    let out = dir.path().join("out");
    ok(&initlab(
        &[
            "run",
            exp.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
            "--no-plot",
            "--quiet",
        ],
        dir.path(),
    ));
    let layers = read_csv(&out.join("layers.csv"));
    // 2 activations × 3 inits × 2 paddings × (3 + 1 layers) × 2 trials.
    assert_eq!(layers.len(), 2 * 3 * 2 * 4 * 2);
    for r in &layers {
        let widths: Vec<usize> = r["widths"].split('-').map(|w| w.parse().unwrap()).collect();
        let l: usize = r["layer"].parse().unwrap();
        assert_eq!(r["width"], widths[0].to_string());
        assert_eq!(r["depth"], (widths.len() - 1).to_string());
        // PyTorch's fans: in·k², out·k².
        assert_eq!(r["fan_in"], (widths[l - 1] * 9).to_string());
        assert_eq!(r["fan_out"], (widths[l] * 9).to_string());
        assert!(
            r["network"] == "conv2d(kernel=3 padding=zeros image=6x5)"
                || r["network"] == "conv2d(kernel=3 padding=circular image=6x5)",
            "{}",
            r["network"]
        );
        assert_eq!(r["nonfinite"], "0");
    }
    let cells = read_csv(&out.join("cells.csv"));
    assert_eq!(cells.len(), 2 * 3 * 2 * 2);
    // The theory columns are filled for the random inits.
    assert!(cells.iter().all(|c| !c["theory_forward_ratio"].is_empty()));
    let hist = read_csv(&out.join("hist.csv"));
    assert!(hist.iter().all(|h| h["widths"].starts_with("3-8")));
    // Common random numbers: layer 1 of the 3-layer and the 1-layer net are the same layer.
    let y1 = |widths: &str| {
        layers
            .iter()
            .find(|r| {
                r["widths"] == widths
                    && r["layer"] == "1"
                    && r["trial"] == "1"
                    && r["init"] == "He"
                    && r["activation"] == "relu"
                    && r["network"].contains("zeros")
            })
            .unwrap()["preact_var"]
            .clone()
    };
    assert_eq!(y1("3-8-16-8"), y1("3-8"));

    // Same bytes for 1 and 3 threads, and from shards 1/2 + 2/2 merged.
    let one = dir.path().join("one");
    ok(&initlab(
        &[
            "run",
            exp.to_str().unwrap(),
            "--out",
            one.to_str().unwrap(),
            "--no-plot",
            "--quiet",
            "--threads",
            "1",
        ],
        dir.path(),
    ));
    let mut shards = Vec::new();
    for s in ["1/2", "2/2"] {
        let d = dir.path().join(format!("shard{}", &s[..1]));
        ok(&initlab(
            &[
                "run",
                exp.to_str().unwrap(),
                "--out",
                d.to_str().unwrap(),
                "--no-plot",
                "--quiet",
                "--threads",
                "3",
                "--shard",
                s,
            ],
            dir.path(),
        ));
        shards.push(d);
    }
    let merged = dir.path().join("merged");
    ok(&initlab(
        &[
            "merge",
            shards[0].to_str().unwrap(),
            shards[1].to_str().unwrap(),
            "--out",
            merged.to_str().unwrap(),
        ],
        dir.path(),
    ));
    for f in ["layers.csv", "summary.csv", "cells.csv", "hist.csv"] {
        let want = fs::read(out.join(f)).unwrap();
        assert!(fs::read(one.join(f)).unwrap() == want, "{f}: 1 thread");
        assert!(fs::read(merged.join(f)).unwrap() == want, "{f}: merged");
    }

    // Resume after dropping an activation reuses every conv cell of the one kept.
    let edited = write(
        dir.path(),
        "conv.toml",
        &CONV.replace("activation = [\"relu\", \"tanh\"]", "activation = \"relu\""),
    );
    let o = initlab(
        &[
            "run",
            edited.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
            "--no-plot",
            "--resume",
        ],
        dir.path(),
    );
    ok(&o);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("12 cells, 12 reused"), "{err}");
}

#[test]
fn bad_conv_and_profile_keys_exit_2_naming_the_key() {
    let base = "trials = 1\nbatch = 2\n[network]\nkind = \"conv2d\"\nwidths = [3, 4]\nimage = [5, 5]\nactivation = \"relu\"\n[[init]]\nweight = { scheme = \"kaiming_normal\" }\n";
    let mlp = "trials = 1\nbatch = 2\n[network]\ndepth = 2\nwidth = 4\nactivation = \"relu\"\n[[init]]\nweight = { scheme = \"kaiming_normal\" }\n";
    let cases: Vec<(&str, String, &[&str])> = vec![
        (
            "even kernel",
            base.replace("image = [5, 5]", "image = [5, 5]\nkernel = 4"),
            &["network.kernel", "even", "odd"],
        ),
        (
            "zero kernel",
            base.replace("image = [5, 5]", "image = [5, 5]\nkernel = 0"),
            &["network.kernel", "positive integer"],
        ),
        (
            "kernel too large",
            base.replace("image = [5, 5]", "image = [5, 5]\nkernel = 11"),
            &["network.kernel", "kernel 11", "at most"],
        ),
        (
            "image of the wrong rank",
            base.replace("image = [5, 5]", "image = [5]"),
            &["network.image", "2 image dimensions", "[H, W]"],
        ),
        (
            "image with a zero",
            base.replace("image = [5, 5]", "image = [5, 0]"),
            &["network.image[1]", "positive integer"],
        ),
        (
            "conv without an image",
            base.replace("image = [5, 5]\n", ""),
            &["network.image", "is required", "conv2d"],
        ),
        (
            "unknown padding",
            base.replace("image = [5, 5]", "image = [5, 5]\npadding = \"reflect\""),
            &["network.padding", "reflect", "zeros", "circular"],
        ),
        (
            "unknown kind",
            base.replace("\"conv2d\"", "\"conv3d\""),
            &["network.kind", "conv3d", "mlp, conv1d, conv2d"],
        ),
        (
            "empty widths",
            base.replace("widths = [3, 4]", "widths = []"),
            &["network.widths", "empty list"],
        ),
        (
            "a zero width",
            base.replace("widths = [3, 4]", "widths = [3, 0, 4]"),
            &["network.widths[1]", "positive integer"],
        ),
        (
            "one-entry profile",
            base.replace("widths = [3, 4]", "widths = [[3, 4], [3]]"),
            &["network.widths[1]", "at least two entries"],
        ),
        (
            "mixed integers and lists",
            base.replace("widths = [3, 4]", "widths = [3, [4, 4]]"),
            &["network.widths", "mixes integers and lists"],
        ),
        (
            "widths with depth",
            base.replace("widths = [3, 4]", "widths = [3, 4]\ndepth = 3"),
            &["network.widths", "network.depth", "not both"],
        ),
        (
            "widths with width",
            base.replace("widths = [3, 4]", "widths = [3, 4]\nwidth = 3"),
            &["network.widths", "network.width", "not both"],
        ),
        (
            "depth without width",
            mlp.replace("width = 4\n", ""),
            &["network.width", "is required"],
        ),
        (
            "image on an MLP",
            mlp.replace("width = 4", "width = 4\nimage = [4, 4]"),
            &["network.image", "only for kind", "mlp"],
        ),
        (
            "kernel on an MLP",
            mlp.replace("width = 4", "width = 4\nkernel = 3"),
            &["network.kernel", "only for kind"],
        ),
        (
            "padding on an MLP",
            mlp.replace("width = 4", "width = 4\npadding = \"zeros\""),
            &["network.padding", "only for kind"],
        ),
        (
            "eye on a conv weight",
            base.replace("{ scheme = \"kaiming_normal\" }", "\"eye\""),
            &["init[1]", "eye needs exactly 2 dimensions", "layer 1"],
        ),
        (
            "dirac on a dense weight",
            mlp.replace("{ scheme = \"kaiming_normal\" }", "\"dirac\""),
            &["init[1]", "dirac needs 3, 4 or 5 dimensions"],
        ),
        (
            "histogram deeper than every profile",
            format!("{base}[histograms]\nlayers = [2]\n"),
            &["histograms.layers", "deeper"],
        ),
        (
            "too deep",
            mlp.replace("depth = 2", "depth = 1000000"),
            &["network.depth", "too deep"],
        ),
    ];
    let dir = tempfile::tempdir().unwrap();
    for (name, text, needles) in &cases {
        let e = write(dir.path(), "bad.toml", text);
        let o = initlab(&["run", e.to_str().unwrap(), "--no-plot"], dir.path());
        let stderr = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{name}: {stderr}");
        assert!(stderr.contains("bad.toml"), "{name}: {stderr}");
        for n in *needles {
            assert!(stderr.contains(n), "{name}: missing '{n}' in: {stderr}");
        }
        assert_eq!(stderr.trim_end().lines().count(), 1, "{name}: {stderr}");
        assert!(
            !dir.path().join("results").exists(),
            "{name}: wrote results"
        );
    }
}
