//! Residual nets end to end: the `kind = "resnet"` keys and recipes and their bad input,
//! `blocks.csv` / `blocks_summary.csv`, the SPP chart, byte-identical results for any thread
//! count, and shards + merge on residual cells.

mod common;

use common::{initlab, ok, read_csv, write};
use std::fs;

const RESNET: &str = r#"
name = "res"
seed = 4
trials = 2
batch = 4
[network]
kind = "resnet"
blocks = [2, 4]
stages = [4, 6]
in_width = 3
block = "conv2d"
image = [5, 4]
activation = "relu"
[[init]]
label = "He"
weight = { scheme = "kaiming_normal", nonlinearity = "relu" }
[[init]]
label = "BN"
weight = { scheme = "kaiming_normal", nonlinearity = "relu" }
norm = "batchnorm"
[[init]]
preset = "nf_resnet"
[[init]]
preset = "fixup"
[[init]]
preset = "skipinit"
"#;

#[test]
fn resnet_cells_write_blocks_and_reproduce_for_any_split() {
    let dir = tempfile::tempdir().unwrap();
    let exp = write(dir.path(), "res.toml", RESNET);
    let out = dir.path().join("out");
    ok(&initlab(
        &[
            "run",
            exp.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
            "--quiet",
        ],
        dir.path(),
    ));
    let (h, blocks) = read_csv(&out.join("blocks.csv"));
    assert_eq!(
        h.join(","),
        "experiment,network,activation,init,depth,width,batch,trial,block,avg_channel_sq_mean,avg_channel_var,branch_avg_channel_var,grad_var,widths"
    );
    // 5 inits × (2 + 4 blocks + 2 stems) × 2 trials.
    assert_eq!(blocks.len(), 5 * (3 + 5) * 2);
    for r in &blocks {
        assert!(
            r["network"].starts_with("resnet(block=conv2d kernel=3"),
            "{}",
            r["network"]
        );
        let depth: usize = r["depth"].parse().unwrap();
        assert_eq!(r["widths"].split('-').count(), depth + 2);
        assert_eq!(r["width"], "3");
    }
    // Layers: stem + 2 per block + one projection per transition.
    let (_, layers) = read_csv(&out.join("layers.csv"));
    let per_trial = |d: &str| {
        layers
            .iter()
            .filter(|r| r["depth"] == d && r["init"] == "He" && r["trial"] == "0")
            .count()
    };
    assert_eq!(per_trial("2"), 1 + 2 * 2 + 1);
    assert_eq!(per_trial("4"), 1 + 4 * 2 + 1);
    let (sh, summary) = read_csv(&out.join("blocks_summary.csv"));
    assert!(sh.contains(&"theory_second_moment".to_string()) && sh.last().unwrap() == "widths");
    assert!(summary
        .iter()
        .all(|r| !r["theory_second_moment"].is_empty()));
    assert!(out.join("plots/spp.png").exists() && out.join("plots/spp.svg").exists());

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
        let d = dir.path().join(format!("s{}", &s[..1]));
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
    for f in [
        "layers.csv",
        "summary.csv",
        "cells.csv",
        "blocks.csv",
        "blocks_summary.csv",
    ] {
        let want = fs::read(out.join(f)).unwrap();
        assert!(fs::read(one.join(f)).unwrap() == want, "{f}: 1 thread");
        assert!(fs::read(merged.join(f)).unwrap() == want, "{f}: merged");
    }
}

#[test]
fn bad_resnet_keys_exit_2_naming_the_key() {
    let base = "trials = 1\nbatch = 4\n[network]\nkind = \"resnet\"\nblocks = 4\nwidth = 8\nactivation = \"relu\"\n[[init]]\nweight = { scheme = \"kaiming_normal\" }\n";
    let mlp = "trials = 1\nbatch = 4\n[network]\ndepth = 2\nwidth = 4\nactivation = \"relu\"\n[[init]]\nweight = { scheme = \"kaiming_normal\" }\n";
    let cases: Vec<(&str, String, &[&str])> = vec![
        (
            "blocks on an MLP",
            mlp.replace("width = 4", "width = 4\nblocks = 3"),
            &["network.blocks", "only for kind = \"resnet\""],
        ),
        (
            "alpha on an MLP",
            mlp.replace("width = 4", "width = 4\nalpha = 0.5"),
            &["network.alpha", "only for kind"],
        ),
        (
            "zero blocks",
            base.replace("blocks = 4", "blocks = 0"),
            &["network.blocks", "positive integer"],
        ),
        (
            "no blocks",
            base.replace("blocks = 4\n", ""),
            &["network.blocks", "is required"],
        ),
        (
            "depth on a resnet",
            base.replace("blocks = 4", "blocks = 4\ndepth = 3"),
            &["network.depth", "use blocks"],
        ),
        (
            "branch_layers 0",
            base.replace("width = 8", "width = 8\nbranch_layers = 0"),
            &["network.branch_layers", "positive integer"],
        ),
        (
            "negative alpha",
            base.replace("width = 8", "width = 8\nalpha = -0.5"),
            &["network.alpha", ">= 0"],
        ),
        (
            "nan alpha",
            base.replace("width = 8", "width = 8\nalpha = nan"),
            &["network.alpha", "finite"],
        ),
        (
            "unknown beta",
            base.replace("width = 8", "width = 8\nbeta = \"learned\""),
            &["network.beta", "none, expected_std"],
        ),
        (
            "unknown norm",
            base.replace("width = 8", "width = 8\nnorm = \"groupnorm\""),
            &["network.norm", "none, batchnorm, layernorm"],
        ),
        (
            "unknown block",
            base.replace("width = 8", "width = 8\nblock = \"conv3d\""),
            &["network.block", "dense, conv1d, conv2d"],
        ),
        (
            "stages that don't fit",
            base.replace("width = 8", "stages = [8, 16, 32]"),
            &["network.stages", "3 stages do not fit 4 blocks"],
        ),
        (
            "width and stages",
            base.replace("width = 8", "width = 8\nstages = [8, 16]"),
            &["network.stages", "not both"],
        ),
        (
            "image on dense blocks",
            base.replace("width = 8", "width = 8\nimage = [4, 4]"),
            &["network.image", "only for conv blocks"],
        ),
        (
            "batchnorm with batch 1",
            base.replace("batch = 4", "batch = 1")
                .replace("width = 8", "width = 8\nnorm = \"batchnorm\""),
            &["network.norm", "batchnorm needs at least 2 values"],
        ),
        (
            "recipe on an MLP",
            mlp.replace(
                "weight = { scheme = \"kaiming_normal\" }",
                "preset = \"fixup\"",
            ),
            &["init[1]", "residual-network recipe"],
        ),
        (
            "fixup with one branch layer",
            base.replace("width = 8", "width = 8\nbranch_layers = 1")
                .replace(
                    "weight = { scheme = \"kaiming_normal\" }",
                    "preset = \"fixup\"",
                ),
            &["init[1]", "branch_layers >= 2"],
        ),
        (
            "unknown recipe key",
            base.replace(
                "weight = { scheme = \"kaiming_normal\" }",
                "weight = \"kaiming_normal\"\nscale = 2",
            ),
            &["init[1]", "unknown key 'scale'", "norm, alpha, beta"],
        ),
        (
            "recipe alpha negative",
            base.replace(
                "weight = { scheme = \"kaiming_normal\" }",
                "weight = \"kaiming_normal\"\nalpha = -1",
            ),
            &["init[1].alpha", ">= 0"],
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
