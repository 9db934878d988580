//! `initlab merge SHARD_DIR... --out DIR [--force]`: combine the folders of `run --shard I/N`
//! into the folder a single-machine run would have written (same CSV and experiment.toml bytes).
//! Refuses shards made from different experiments or initlab versions, overlapping or missing
//! shards, and incomplete or damaged ones, each with a message naming the folder.

use crate::config::Experiment;
use crate::error::bad;
use crate::output::atomic::write_atomic;
use crate::output::manifest::{cell_hash, Manifest};
use crate::output::run_dir::{check_owner, read_manifest, RunDir};
use crate::sweep::shard::Shard;
use crate::sweep::store;
use clap::Args;
use std::collections::HashMap;
use std::path::PathBuf;
use std::time::Instant;

#[derive(Debug, Args)]
pub struct MergeArgs {
    /// Folders written by `initlab run --shard I/N` (all N of them).
    #[arg(required = true, value_name = "SHARD_DIR")]
    pub shards: Vec<PathBuf>,
    /// Folder for the merged results.
    #[arg(long, value_name = "DIR", required = true)]
    pub out: PathBuf,
    /// Write into a folder that belongs to another experiment.
    #[arg(long)]
    pub force: bool,
    /// Do not render charts after merging.
    #[arg(long)]
    pub no_plot: bool,
}

struct ShardDir {
    path: PathBuf,
    manifest: Manifest,
    toml: String,
}

fn read_shard(path: &std::path::Path) -> anyhow::Result<ShardDir> {
    if !path.is_dir() {
        return Err(bad(format!("{}: not a folder", path.display())));
    }
    let manifest = read_manifest(path)?.ok_or_else(|| {
        bad(format!(
            "{}: no manifest.json: not an initlab results folder",
            path.display()
        ))
    })?;
    let tp = path.join("experiment.toml");
    let toml = std::fs::read_to_string(&tp)
        .map_err(|e| bad(format!("{}: cannot read: {e}", tp.display())))?;
    Ok(ShardDir {
        path: path.to_path_buf(),
        manifest,
        toml,
    })
}

pub fn run(args: MergeArgs) -> anyhow::Result<()> {
    let start = Instant::now();
    let shards: Vec<ShardDir> = args
        .shards
        .iter()
        .map(|p| read_shard(p))
        .collect::<anyhow::Result<_>>()?;
    let first = &shards[0];
    for s in &shards[1..] {
        if s.toml != first.toml {
            return Err(bad(format!(
                "{} and {} were made from different experiments (their experiment.toml differ); \
                 merge only shards of one run",
                first.path.display(),
                s.path.display()
            )));
        }
        if s.manifest.initlab_version != first.manifest.initlab_version {
            return Err(bad(format!(
                "{} was made by initlab {} but {} by {}; rerun the shards with one version",
                first.path.display(),
                first.manifest.initlab_version,
                s.path.display(),
                s.manifest.initlab_version
            )));
        }
    }
    let exp = Experiment::parse(
        &first.toml,
        &first.path.join("experiment.toml").display().to_string(),
        "experiment",
    )?;

    // Shard indices: all of 1..N, once each.
    let mut count = None;
    let mut seen: HashMap<usize, &PathBuf> = HashMap::new();
    for s in &shards {
        let spec = s.manifest.shard.clone().unwrap_or_else(|| "1/1".into());
        let sh = Shard::parse(&spec).map_err(|_| {
            bad(format!(
                "{}: manifest has a bad shard '{spec}'",
                s.path.display()
            ))
        })?;
        if *count.get_or_insert(sh.count) != sh.count {
            return Err(bad(format!(
                "{} is shard {sh} but another folder belongs to a split into {} shards",
                s.path.display(),
                count.unwrap_or(0)
            )));
        }
        if let Some(other) = seen.insert(sh.index, &s.path) {
            return Err(bad(format!(
                "{} and {} are both shard {sh}: overlapping shards",
                other.display(),
                s.path.display()
            )));
        }
        if s.manifest.status != "complete" || s.manifest.cells_done != s.manifest.cells_total {
            return Err(bad(format!(
                "{}: shard {sh} is incomplete ({} of {} cells, status {}); finish it with `initlab run ... --shard {sh} --resume`",
                s.path.display(),
                s.manifest.cells_done,
                s.manifest.cells_total,
                s.manifest.status
            )));
        }
    }
    let count = count.expect("at least one shard");
    let missing: Vec<String> = (1..=count)
        .filter(|i| !seen.contains_key(i))
        .map(|i| format!("{i}/{count}"))
        .collect();
    if !missing.is_empty() {
        return Err(bad(format!(
            "missing shard(s) {} of {count}",
            missing.join(", ")
        )));
    }

    // Every cell of the sweep from exactly one shard.
    let cells = exp.cells();
    let mut owner: HashMap<String, &ShardDir> = HashMap::new();
    for s in &shards {
        for h in &s.manifest.assigned {
            if let Some(o) = owner.insert(h.clone(), s) {
                return Err(bad(format!(
                    "cell {h} is in both {} and {}: overlapping shards",
                    o.path.display(),
                    s.path.display()
                )));
            }
        }
    }
    let mut results = Vec::with_capacity(cells.len());
    for cell in &cells {
        let hash = cell_hash(&exp, cell);
        let s = owner.get(&hash).ok_or_else(|| {
            bad(format!(
                "no shard holds the cell {}/{}/depth={}/width={} ({hash})",
                cell.activation.label(),
                cell.init.label,
                cell.depth,
                cell.width
            ))
        })?;
        let p = store::part_path(&s.path, &hash);
        let text = std::fs::read_to_string(&p)
            .map_err(|e| bad(format!("{}: cannot read: {e}", p.display())))?;
        results.push(store::decode(&text, cell, &p)?);
    }

    check_owner(&args.out, &exp, args.force)?;
    let (dir, _) = RunDir::open(&args.out, &exp, &cells, None, 0, false)?;
    for cell in &cells {
        let hash = cell_hash(&exp, cell);
        let src = store::part_path(&owner[&hash].path, &hash);
        write_atomic(&store::part_path(&args.out, &hash), &std::fs::read(&src)?)?;
    }
    let from = shards
        .iter()
        .map(|s| s.path.display().to_string())
        .collect();
    // Record every cell in the manifest, then write the final files.
    for r in &results {
        dir.record(r)?;
    }
    dir.finish(&results, start.elapsed().as_secs_f64(), from)?;
    eprintln!(
        "merged {} shards ({} cells) into {}",
        shards.len(),
        cells.len(),
        args.out.display()
    );
    if !args.no_plot {
        crate::plot::render_after_run(&args.out, false)?;
    }
    Ok(())
}
