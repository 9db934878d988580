//! Writing a results folder: the CSV tables, the resolved experiment and the manifest, each
//! file replaced atomically.

pub mod atomic;
pub mod beyond;
pub mod manifest;
pub mod run_dir;
pub mod tables;

use crate::config::Experiment;
use crate::sweep::aggregate::CellResult;
use atomic::write_atomic;
use std::path::Path;

/// Write every output file of a finished run into `dir` (created if missing).
pub fn write_results(
    dir: &Path,
    exp: &Experiment,
    results: &[CellResult],
    manifest: &manifest::Manifest,
) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir)
        .map_err(|e| anyhow::anyhow!("creating results folder {}: {e}", dir.display()))?;
    write_atomic(&dir.join("experiment.toml"), exp.resolved_toml().as_bytes())?;
    write_atomic(&dir.join("layers.csv"), &tables::layers_csv(exp, results)?)?;
    write_atomic(
        &dir.join("summary.csv"),
        &tables::summary_csv(exp, results)?,
    )?;
    write_atomic(&dir.join("cells.csv"), &tables::cells_csv(exp, results)?)?;
    // blocks.csv and blocks_summary.csv when the sweep has residual cells.
    for (name, bytes) in [
        (
            "blocks.csv",
            tables::blocks_csv as fn(&Experiment, &[CellResult]) -> anyhow::Result<Vec<u8>>,
        ),
        ("blocks_summary.csv", tables::blocks_summary_csv),
    ] {
        let path = dir.join(name);
        if results.iter().any(|r| r.is_residual()) {
            write_atomic(&path, &bytes(exp, results)?)?;
        } else if path.exists() {
            std::fs::remove_file(&path)?;
        }
    }
    // [train] (issue 14).
    let train = dir.join("train.csv");
    match &exp.train {
        Some(_) => write_atomic(&train, &tables::train_csv(exp, results)?)?,
        None if train.exists() => std::fs::remove_file(&train)?,
        None => {}
    }
    // ---- issue 13: lsuv.csv when the sweep has LSUV cells ----
    let lsuv = dir.join("lsuv.csv");
    if beyond::has_lsuv(results) {
        write_atomic(&lsuv, &beyond::lsuv_csv(exp, results)?)?;
    } else if lsuv.exists() {
        std::fs::remove_file(&lsuv)?;
    }
    for (name, bytes) in [
        (
            "spectrum.csv",
            beyond::spectrum_csv as fn(&Experiment, &[CellResult]) -> anyhow::Result<Vec<u8>>,
        ),
        ("spectrum_theory.csv", beyond::spectrum_theory_csv),
    ] {
        let path = dir.join(name);
        if exp.spectrum.is_some() {
            write_atomic(&path, &bytes(exp, results)?)?;
        } else if path.exists() {
            std::fs::remove_file(&path)?;
        }
    }
    let hist = dir.join("hist.csv");
    match &exp.histograms {
        Some(_) => write_atomic(&hist, &tables::hist_csv(exp, results)?)?,
        None if hist.exists() => std::fs::remove_file(&hist)?,
        None => {}
    }
    write_atomic(&dir.join("manifest.json"), &manifest.to_json()?)?;
    Ok(())
}
