//! A results folder during a run: ownership checks, resume, cell-by-cell commits and the
//! final files. Crash safety: every file is written atomically; each finished cell is committed
//! as a part file and recorded in the manifest at once, so a kill at any moment loses at most
//! the cells in flight; the final CSVs are assembled from the cells in sweep order, so a resumed
//! run writes the same bytes as an uninterrupted one.

use super::atomic::write_atomic;
use super::manifest::{cell_hash, Manifest, ManifestCell, VERSION};
use crate::config::{Cell, Experiment};
use crate::error::bad;
use crate::sweep::aggregate::CellResult;
use crate::sweep::store;
use anyhow::Context;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// Files a run writes at its end (and removes when it starts afresh).
pub const FINAL_FILES: &[&str] = &[
    "layers.csv",
    "summary.csv",
    "cells.csv",
    "hist.csv",
    "blocks.csv",
    "blocks_summary.csv",
    "train.csv",
    "lsuv.csv",
    "spectrum.csv",
    "spectrum_theory.csv",
];

/// This process's peak resident set size (VmHWM), where /proc tells it.
pub fn peak_rss_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

/// Read a folder's manifest, if it has one; a damaged manifest is bad input naming the file.
pub fn read_manifest(dir: &Path) -> anyhow::Result<Option<Manifest>> {
    let path = dir.join("manifest.json");
    if !path.exists() {
        return Ok(None);
    }
    let text = std::fs::read_to_string(&path)
        .map_err(|e| bad(format!("{}: cannot read: {e}", path.display())))?;
    serde_json::from_str(&text).map(Some).map_err(|e| {
        bad(format!(
            "{}: line {}: not an initlab manifest: {e}",
            path.display(),
            e.line()
        ))
    })
}

/// Refuse to write into a folder that belongs to another experiment (or to nobody) unless `force`.
pub fn check_owner(dir: &Path, exp: &Experiment, force: bool) -> anyhow::Result<()> {
    if !dir.exists() || force {
        if dir.exists() && !dir.is_dir() {
            return Err(bad(format!(
                "{}: exists and is not a folder",
                dir.display()
            )));
        }
        return Ok(());
    }
    if !dir.is_dir() {
        return Err(bad(format!(
            "{}: exists and is not a folder",
            dir.display()
        )));
    }
    let manifest = read_manifest(dir)
        .map_err(|e| bad(format!("{e}; pass --force to overwrite the folder")))?;
    match manifest {
        Some(m) if m.experiment != exp.name => Err(bad(format!(
            "{}: holds results of experiment '{}', not '{}'; choose another --out or pass --force to overwrite",
            dir.display(),
            m.experiment,
            exp.name
        ))),
        Some(_) => Ok(()),
        None => {
            let empty = std::fs::read_dir(dir).map(|mut d| d.next().is_none()).unwrap_or(false);
            if empty {
                Ok(())
            } else {
                Err(bad(format!(
                    "{}: is not empty and is not an initlab results folder (no manifest.json); \
                     choose another --out or pass --force",
                    dir.display()
                )))
            }
        }
    }
}

/// An open results folder.
pub struct RunDir<'a> {
    pub path: PathBuf,
    exp: &'a Experiment,
    manifest: Mutex<Manifest>,
}

impl<'a> RunDir<'a> {
    /// Open `path` for a run over `assigned`. Without `resume` every earlier part and final file
    /// is removed; with it, the committed cells whose hash and initlab version match are loaded.
    /// Returns the folder and, per assigned cell, its reused result.
    pub fn open(
        path: &Path,
        exp: &'a Experiment,
        assigned: &[Cell],
        shard: Option<String>,
        threads: usize,
        resume: bool,
    ) -> anyhow::Result<(RunDir<'a>, Vec<Option<CellResult>>)> {
        let parts = store::parts_dir(path);
        std::fs::create_dir_all(&parts).with_context(|| format!("creating {}", parts.display()))?;
        // Temporaries of a killed writer were never renamed into place: sweep them away.
        for d in [path, parts.as_path()] {
            for entry in std::fs::read_dir(d)? {
                let p = entry?.path();
                let name = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
                if name.starts_with('.') && name.contains(".tmp-") {
                    std::fs::remove_file(&p)
                        .with_context(|| format!("removing {}", p.display()))?;
                }
            }
        }
        if !resume {
            for entry in std::fs::read_dir(&parts)? {
                std::fs::remove_file(entry?.path())?;
            }
        }
        for f in FINAL_FILES {
            let p = path.join(f);
            if p.exists() {
                std::fs::remove_file(&p).with_context(|| format!("removing {}", p.display()))?;
            }
        }
        let mut manifest = Manifest::new(exp, assigned, shard, threads);
        let mut reused = Vec::with_capacity(assigned.len());
        for cell in assigned {
            let hash = cell_hash(exp, cell);
            let p = store::part_path(path, &hash);
            let r = if resume && p.exists() {
                let text = std::fs::read_to_string(&p)
                    .with_context(|| format!("reading {}", p.display()))?;
                match store::header(&text) {
                    // A damaged part is recomputed, never trusted.
                    Some(h) if h.version == VERSION && h.hash == hash => {
                        store::decode(&text, cell, &p).ok()
                    }
                    _ => None,
                }
            } else {
                None
            };
            if let Some(r) = &r {
                manifest.add(ManifestCell::of(exp, r));
            }
            reused.push(r);
        }
        let dir = RunDir {
            path: path.to_path_buf(),
            exp,
            manifest: Mutex::new(manifest),
        };
        write_atomic(
            &path.join("experiment.toml"),
            exp.resolved_toml().as_bytes(),
        )?;
        dir.write_manifest()?;
        Ok((dir, reused))
    }

    fn write_manifest(&self) -> anyhow::Result<()> {
        let m = self.manifest.lock().expect("no poisoned lock");
        write_atomic(&self.path.join("manifest.json"), &m.to_json()?)
    }

    /// Commit a finished cell: its part file, then the manifest entry.
    pub fn commit(&self, r: &CellResult) -> anyhow::Result<()> {
        let hash = cell_hash(self.exp, &r.cell);
        write_atomic(
            &store::part_path(&self.path, &hash),
            store::encode(VERSION, &hash, r).as_bytes(),
        )?;
        let mut m = self.manifest.lock().expect("no poisoned lock");
        m.add(ManifestCell::of(self.exp, r));
        write_atomic(&self.path.join("manifest.json"), &m.to_json()?)
    }

    /// Record a cell whose part file is already in place (merge).
    pub fn record(&self, r: &CellResult) -> anyhow::Result<()> {
        self.manifest
            .lock()
            .expect("no poisoned lock")
            .add(ManifestCell::of(self.exp, r));
        Ok(())
    }

    /// Mark the run interrupted.
    pub fn interrupted(&self, wall_seconds: f64) -> anyhow::Result<()> {
        {
            let mut m = self.manifest.lock().expect("no poisoned lock");
            m.status = "interrupted".into();
            m.wall_seconds += wall_seconds;
        }
        self.write_manifest()
    }

    /// Write the final files from every assigned cell's result (in sweep order).
    pub fn finish(
        &self,
        results: &[CellResult],
        wall_seconds: f64,
        merged_from: Vec<String>,
    ) -> anyhow::Result<()> {
        let mut m = self.manifest.lock().expect("no poisoned lock").clone();
        m.status = "complete".into();
        m.wall_seconds = wall_seconds;
        m.peak_rss_bytes = peak_rss_bytes();
        m.merged_from = merged_from;
        super::write_results(&self.path, self.exp, results, &m)?;
        *self.manifest.lock().expect("no poisoned lock") = m;
        Ok(())
    }

    pub fn cells_done(&self) -> usize {
        self.manifest.lock().expect("no poisoned lock").cells_done
    }
}
