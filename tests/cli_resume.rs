//! Crash safety, resume, sharding and merge, end to end with real processes and real signals.

mod common;

use common::{initlab, ok};
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_initlab")
}

/// 24 cells, each a few tens of milliseconds: long enough to be killed in the middle.
const SWEEP: &str = r#"
name = "sweep"
seed = 9
trials = 3
batch = 64
[network]
depth = [10, 20]
width = 128
activation = ["relu", "tanh", "gelu"]
[[init]]
weight = { scheme = "kaiming_normal", nonlinearity = "relu" }
[[init]]
preset = "pytorch_default"
[[init]]
weight = "xavier_normal"
[[init]]
preset = "lecun_normal"
[histograms]
layers = [1, 10]
bins = 10
"#;

const COMPARED: &[&str] = &[
    "experiment.toml",
    "layers.csv",
    "summary.csv",
    "cells.csv",
    "hist.csv",
];

fn same_results(a: &Path, b: &Path) {
    for f in COMPARED {
        let (x, y) = (fs::read(a.join(f)), fs::read(b.join(f)));
        assert!(
            x.is_ok() && y.is_ok(),
            "{f} missing in {} or {}",
            a.display(),
            b.display()
        );
        assert!(
            x.unwrap() == y.unwrap(),
            "{f} differs between {} and {}",
            a.display(),
            b.display()
        );
    }
}

fn setup() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let exp = dir.path().join("sweep.toml");
    fs::write(&exp, SWEEP).unwrap();
    (dir, exp)
}

fn run_to(exp: &Path, out: &Path, extra: &[&str], cwd: &Path) -> Output {
    let mut args = vec![
        "run",
        exp.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--no-plot",
        "--quiet",
    ];
    args.extend_from_slice(extra);
    initlab(&args, cwd)
}

/// Every file in a killed folder is whole: the manifest parses and every part file decodes.
fn assert_whole(out: &Path) {
    let m: serde_json::Value =
        serde_json::from_slice(&fs::read(out.join("manifest.json")).unwrap())
            .expect("manifest whole");
    let exp = initlab::config::Experiment::parse(
        &fs::read_to_string(out.join("experiment.toml")).unwrap(),
        "e",
        "e",
    )
    .unwrap();
    let mut parts = 0;
    for cell in exp.cells() {
        let hash = initlab::output::manifest::cell_hash(&exp, &cell);
        let p = initlab::store::part_path(out, &hash);
        if p.exists() {
            initlab::store::decode(&fs::read_to_string(&p).unwrap(), &cell, &p)
                .expect("part whole");
            parts += 1;
        }
    }
    // A kill can land after a part's rename and before the manifest's: parts ≥ manifest.
    assert!(
        m["cells_done"].as_u64().unwrap() as usize <= parts,
        "manifest lists a cell without a part"
    );
}

/// No temporary file is left once a run has finished (a kill leaves one; the next run sweeps it).
fn assert_no_temporaries(out: &Path) {
    for entry in fs::read_dir(out)
        .unwrap()
        .chain(fs::read_dir(out.join(".parts")).unwrap())
    {
        let name = entry.unwrap().file_name().into_string().unwrap();
        assert!(
            !name.contains(".tmp-"),
            "temporary file left behind: {name}"
        );
    }
}

#[test]
fn sigkill_at_random_points_then_resume_gives_identical_bytes() {
    let (dir, exp) = setup();
    let full = dir.path().join("full");
    let t0 = Instant::now();
    ok(&run_to(&exp, &full, &[], dir.path()));
    let d = t0.elapsed().as_secs_f64();
    let killed = dir.path().join("killed");
    // Fixed pseudo-random fractions of the full run time.
    let mut kills_mid_run = 0;
    for (i, frac) in [0.35, 0.1, 0.6, 0.25, 0.8].iter().enumerate() {
        let mut args = vec![
            "run",
            exp.to_str().unwrap(),
            "--out",
            killed.to_str().unwrap(),
            "--no-plot",
            "--quiet",
        ];
        if i > 0 {
            args.push("--resume");
        }
        let mut child = Command::new(bin())
            .args(&args)
            .current_dir(dir.path())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_secs_f64(d * frac));
        if child.try_wait().unwrap().is_none() {
            kills_mid_run += 1;
        }
        let _ = child.kill(); // SIGKILL
        child.wait().unwrap();
        assert_whole(&killed);
    }
    assert!(
        kills_mid_run >= 2,
        "only {kills_mid_run} kills landed mid-run"
    );
    let o = run_to(&exp, &killed, &["--resume"], dir.path());
    ok(&o);
    assert_no_temporaries(&killed);
    same_results(&full, &killed);
}

#[test]
fn sigint_stops_cleanly_and_says_how_to_resume() {
    // A slower sweep (width 384: about 9× the work) so the run is still going when a
    // committed cell is seen and the signal is sent, on any machine speed.
    let (dir, _) = setup();
    let exp = dir.path().join("slow.toml");
    fs::write(&exp, SWEEP.replace("width = 128", "width = 384")).unwrap();
    let out = dir.path().join("int");
    let mut child = Command::new(bin())
        .args([
            "run",
            exp.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
            "--no-plot",
            "--threads",
            "1",
        ])
        .current_dir(dir.path())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Wait until the run has committed at least one cell (not a fixed delay: machines differ).
    let t0 = Instant::now();
    loop {
        let done = fs::read(out.join("manifest.json"))
            .ok()
            .and_then(|b| serde_json::from_slice::<serde_json::Value>(&b).ok())
            .and_then(|m| m["cells_done"].as_u64())
            .unwrap_or(0);
        if done >= 1 {
            break;
        }
        assert!(
            child.try_wait().unwrap().is_none(),
            "the run ended before a signal could be sent"
        );
        assert!(t0.elapsed() < Duration::from_secs(60), "no cell committed");
        std::thread::sleep(Duration::from_millis(5));
    }
    assert!(
        child.try_wait().unwrap().is_none(),
        "the run ended before a signal could be sent"
    );
    let st = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(st.success());
    let o = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(130), "{stderr}");
    assert!(
        stderr.contains("interrupted:") && stderr.contains("--resume"),
        "{stderr}"
    );
    let m: serde_json::Value =
        serde_json::from_slice(&fs::read(out.join("manifest.json")).unwrap()).unwrap();
    assert_eq!(m["status"], "interrupted");
    assert!(!out.join("layers.csv").exists());
    assert_whole(&out);
    ok(&run_to(&exp, &out, &["--resume"], dir.path()));
    let full = dir.path().join("full");
    ok(&run_to(&exp, &full, &[], dir.path()));
    same_results(&full, &out);
}

#[test]
fn resume_with_an_edited_experiment_reuses_exactly_the_unchanged_cells() {
    let (dir, exp) = setup();
    let out = dir.path().join("r");
    ok(&run_to(&exp, &out, &[], dir.path()));
    // Drop gelu, add depth 15, relabel one init (cosmetic), change another's parameters.
    let edited = SWEEP
        .replace("[\"relu\", \"tanh\", \"gelu\"]", "[\"relu\", \"tanh\"]")
        .replace("[10, 20]", "[10, 15, 20]")
        .replace(
            "weight = \"xavier_normal\"",
            "label = \"Xavier\"\nweight = \"xavier_normal\"",
        )
        .replace(
            "preset = \"lecun_normal\"",
            "weight = { scheme = \"normal\", std = 0.05 }",
        );
    fs::write(&exp, &edited).unwrap();
    let o = initlab(
        &[
            "run",
            exp.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
            "--no-plot",
            "--resume",
        ],
        dir.path(),
    );
    ok(&o);
    let stderr = String::from_utf8_lossy(&o.stderr);
    // Reusable: relu/tanh × 3 unchanged inits × depths 10, 20 = 12 of 2 × 4 × 3 = 24 cells.
    assert!(stderr.contains("24 cells, 12 reused"), "{stderr}");
    let fresh = dir.path().join("fresh");
    ok(&run_to(&exp, &fresh, &[], dir.path()));
    same_results(&fresh, &out);
}

#[test]
fn shards_merge_to_the_unsharded_run() {
    let (dir, exp) = setup();
    let full = dir.path().join("full");
    ok(&run_to(&exp, &full, &[], dir.path()));
    let shard = |i: usize| dir.path().join(format!("s{i}"));
    let mut sizes = Vec::new();
    for i in 1..=3 {
        ok(&run_to(
            &exp,
            &shard(i),
            &["--shard", &format!("{i}/3")],
            dir.path(),
        ));
        let m: serde_json::Value =
            serde_json::from_slice(&fs::read(shard(i).join("manifest.json")).unwrap()).unwrap();
        assert_eq!(m["shard"], format!("{i}/3"));
        sizes.push(m["cells_total"].as_u64().unwrap());
    }
    assert_eq!(sizes.iter().sum::<u64>(), 24);
    assert!(
        sizes.iter().all(|&s| (6..=10).contains(&s)),
        "unbalanced: {sizes:?}"
    );
    let merged = dir.path().join("merged");
    let (a, b, c) = (shard(1), shard(2), shard(3));
    let o = initlab(
        &[
            "merge",
            c.to_str().unwrap(),
            a.to_str().unwrap(),
            b.to_str().unwrap(),
            "--out",
            merged.to_str().unwrap(),
        ],
        dir.path(),
    );
    ok(&o);
    same_results(&full, &merged);

    // Refusals: missing, overlapping, mismatched, incomplete, damaged.
    let refuse = |args: &[&str], needle: &str| {
        let o = initlab(args, dir.path());
        let stderr = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(
            stderr.contains(needle),
            "{args:?}: want '{needle}' in {stderr}"
        );
    };
    let bad_out = dir.path().join("bad");
    let bo = bad_out.to_str().unwrap();
    let (a, b, c) = (
        a.to_str().unwrap(),
        b.to_str().unwrap(),
        c.to_str().unwrap(),
    );
    refuse(&["merge", a, b, "--out", bo], "missing shard(s) 3/3");
    refuse(&["merge", a, b, c, a, "--out", bo], "both shard 1/3");
    let other = dir.path().join("other.toml");
    fs::write(&other, SWEEP.replace("seed = 9", "seed = 10")).unwrap();
    let o3 = dir.path().join("o3");
    ok(&run_to(&other, &o3, &["--shard", "3/3"], dir.path()));
    refuse(
        &["merge", a, b, o3.to_str().unwrap(), "--out", bo],
        "different experiments",
    );
    // An incomplete shard: its manifest says running.
    let inc = dir.path().join("inc");
    fs::create_dir_all(&inc).unwrap();
    for entry in fs::read_dir(c).unwrap() {
        let p = entry.unwrap().path();
        if p.is_file() {
            fs::copy(&p, inc.join(p.file_name().unwrap())).unwrap();
        }
    }
    let copy_parts = |to: &Path| {
        fs::create_dir_all(to.join(".parts")).unwrap();
        for e in fs::read_dir(Path::new(c).join(".parts")).unwrap() {
            let p = e.unwrap().path();
            fs::copy(&p, to.join(".parts").join(p.file_name().unwrap())).unwrap();
        }
    };
    copy_parts(&inc);
    let m = fs::read_to_string(inc.join("manifest.json"))
        .unwrap()
        .replace("\"complete\"", "\"running\"");
    fs::write(inc.join("manifest.json"), m).unwrap();
    refuse(
        &["merge", a, b, inc.to_str().unwrap(), "--out", bo],
        "incomplete",
    );
    // A truncated part file.
    let dmg = dir.path().join("dmg");
    fs::create_dir_all(&dmg).unwrap();
    for f in ["manifest.json", "experiment.toml"] {
        fs::copy(Path::new(c).join(f), dmg.join(f)).unwrap();
    }
    copy_parts(&dmg);
    let part = fs::read_dir(dmg.join(".parts"))
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let text = fs::read_to_string(&part).unwrap();
    fs::write(&part, &text[..text.len() / 2]).unwrap();
    refuse(&["merge", a, b, dmg.to_str().unwrap(), "--out", bo], "line");
    // A damaged manifest.
    fs::write(dmg.join("manifest.json"), "{ \"experiment\": ").unwrap();
    refuse(
        &["merge", a, b, dmg.to_str().unwrap(), "--out", bo],
        "manifest.json: line",
    );
    assert!(!bad_out.exists(), "a refused merge wrote its output folder");
}

#[test]
fn hostile_folders_and_shard_specs() {
    let (dir, exp) = setup();
    let out = dir.path().join("taken");
    let other = dir.path().join("other.toml");
    fs::write(
        &other,
        SWEEP
            .replace("name = \"sweep\"", "name = \"other\"")
            .replace("[10, 20]", "2")
            .replace("[1, 10]", "[1]"),
    )
    .unwrap();
    ok(&run_to(&other, &out, &[], dir.path()));
    let o = run_to(&exp, &out, &[], dir.path());
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("holds results of experiment 'other', not 'sweep'")
            && stderr.contains("--force"),
        "{stderr}"
    );
    ok(&run_to(&exp, &out, &["--force"], dir.path()));
    // A folder that is not initlab's.
    let foreign = dir.path().join("foreign");
    fs::create_dir_all(&foreign).unwrap();
    fs::write(foreign.join("thesis.tex"), "precious").unwrap();
    let o = run_to(&exp, &foreign, &[], dir.path());
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("not an initlab results folder"));
    assert_eq!(
        fs::read_to_string(foreign.join("thesis.tex")).unwrap(),
        "precious"
    );
    for spec in ["0/4", "5/4", "1/0", "x", "1/2/3"] {
        let fresh = dir.path().join("never");
        let o = run_to(&exp, &fresh, &["--shard", spec], dir.path());
        let stderr = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{spec}: {stderr}");
        assert!(
            stderr.contains(&format!("--shard {spec}")),
            "{spec}: {stderr}"
        );
        assert!(!fresh.exists());
    }
    // Huge sizes are refused before anything is allocated.
    fs::write(
        &other,
        SWEEP
            .replace("[10, 20]", "1000000000000")
            .replace("[1, 10]", "[1]"),
    )
    .unwrap();
    let o = run_to(&other, &dir.path().join("huge"), &[], dir.path());
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("too large"));
}
