//! Cell part files: each finished cell is committed on its own as `<results>/.parts/<hash>.part`
//! (atomic write), so a killed run loses at most the cells in flight, `--resume` reuses every
//! committed cell whose definition is unchanged, and `merge` combines shards.
//!
//! Format (text, one record per line, numbers in shortest round-trip form):
//! ```text
//! initlab-part 3 <initlab version> <cell hash> <trials> <weighted layers> <compute seconds> <weight seconds>
//! L,<trial>,<layer>,<fan_in>,<fan_out>,<preact_mean>,<preact_var>,<act_mean>,<act_sq_mean>,<grad_var>,<weight_grad_var>,<nonfinite>
//! B,<trial>,<block>,<avg_channel_sq_mean>,<avg_channel_var>,<branch_avg_channel_var>,<grad_var>
//! H,<layer>,<act|grad>,<bin_lo>,<bin_hi>,<count>
//! T,<trial>,<lr>,<step>,<train_loss>,<test_loss>,<test_accuracy>,<grad_norm_first>,<grad_norm_last>
//! F,<trial>,<n>,<mean ln r>,<M2 ln r>,<mean r>,<M2 r>        (issue 13: r = q_L/q_0 per row)
//! U,<trial>,<layer>,<iterations>,<scale>,<var>,<converged 0|1>  (issue 13: LSUV)
//! S,<trial>,<n>,<mean σ²>,<M2 σ²>,<J count>,<mean nvar>,<M2 nvar> (issue 13: Jacobian moments)
//! V,<trial>,<input>,<σ_1 σ_2 … (space-separated)>               (issue 13: saved spectra)
//! end <number of L and H lines>
//! ```
//! Cell labels are not stored: the rows get their labels from the experiment that reads them,
//! so relabelling an init reuses its cells.

use crate::config::Cell;
use crate::error::bad;
use crate::output::tables::num;
use crate::sim::fluct::{Acc, Fluct};
use crate::sim::lsuv::LsuvLayer;
use crate::sim::{BlockStats, LayerStats, TrialResult};
use crate::sweep::aggregate::{CellResult, HistRow};
use std::path::{Path, PathBuf};

const MAGIC: &str = "initlab-part";
const FORMAT: &str = "4";

/// The folder of part files inside a results folder.
pub fn parts_dir(results: &Path) -> PathBuf {
    results.join(".parts")
}

pub fn part_path(results: &Path, hash: &str) -> PathBuf {
    parts_dir(results).join(format!("{hash}.part"))
}

/// Serialise a complete cell.
pub fn encode(version: &str, hash: &str, r: &CellResult) -> String {
    let mut out = format!(
        "{MAGIC} {FORMAT} {version} {hash} {} {} {} {}\n",
        r.trials.len(),
        r.layer_rows(),
        num(r.seconds),
        num(r.weight_seconds)
    );
    let mut n = 0;
    for (t, tr) in r.trials.iter().enumerate() {
        for s in &tr.layers {
            let f = [
                s.preact_mean,
                s.preact_var,
                s.act_mean,
                s.act_sq_mean,
                s.grad_var,
                s.weight_grad_var,
            ];
            let f: Vec<String> = f.iter().map(|&x| num(x)).collect();
            out.push_str(&format!(
                "L,{t},{},{},{},{},{}\n",
                s.layer,
                s.fan_in,
                s.fan_out,
                f.join(","),
                s.nonfinite
            ));
            n += 1;
        }
        for b in &tr.blocks {
            out.push_str(&format!(
                "B,{t},{},{},{},{},{}\n",
                b.block,
                num(b.avg_channel_sq_mean),
                num(b.avg_channel_var),
                num(b.branch_avg_channel_var),
                num(b.grad_var)
            ));
            n += 1;
        }
        // [train] (issue 14): one record per learning rate × eval step.
        for x in &tr.train {
            let f = [
                x.train_loss,
                x.test_loss,
                x.test_accuracy,
                x.grad_norm_first,
                x.grad_norm_last,
            ];
            let f: Vec<String> = f.iter().map(|&v| num(v)).collect();
            out.push_str(&format!("T,{t},{},{},{}\n", num(x.lr), x.step, f.join(",")));
            n += 1;
        }
        // ---- issue 13 ----
        let f = &tr.fluct;
        out.push_str(&format!(
            "F,{t},{},{},{},{},{}\n",
            f.log.n,
            num(f.log.mean),
            num(f.log.m2),
            num(f.ratio.mean),
            num(f.ratio.m2)
        ));
        n += 1;
        if tr.jac.n > 0 {
            out.push_str(&format!(
                "S,{t},{},{},{},{},{},{}\n",
                tr.jac.n,
                num(tr.jac.mean),
                num(tr.jac.m2),
                tr.jac_nvar.n,
                num(tr.jac_nvar.mean),
                num(tr.jac_nvar.m2)
            ));
            n += 1;
        }
        for (a, sv) in tr.spectrum.iter().enumerate() {
            let v: Vec<String> = sv.iter().map(|&x| num(x)).collect();
            out.push_str(&format!("V,{t},{a},{}\n", v.join(" ")));
            n += 1;
        }
        for u in &tr.lsuv {
            out.push_str(&format!(
                "U,{t},{},{},{},{},{}\n",
                u.layer,
                u.iterations,
                num(u.scale),
                num(u.var),
                u8::from(u.converged)
            ));
            n += 1;
        }
    }
    for h in &r.hist {
        out.push_str(&format!(
            "H,{},{},{},{},{}\n",
            h.layer,
            h.quantity,
            num(h.bin_lo),
            num(h.bin_hi),
            h.count
        ));
        n += 1;
    }
    out.push_str(&format!("end {n}\n"));
    out
}

/// What a part file's header says.
#[derive(Debug, Clone, PartialEq)]
pub struct PartHeader {
    pub version: String,
    pub hash: String,
}

/// Read just the header (version, hash) of a part file.
pub fn header(text: &str) -> Option<PartHeader> {
    let first = text.lines().next()?;
    let w: Vec<&str> = first.split(' ').collect();
    (w.len() == 8 && w[0] == MAGIC && w[1] == FORMAT).then(|| PartHeader {
        version: w[2].to_string(),
        hash: w[3].to_string(),
    })
}

/// Parse a part file back into the cell's result; `path` names it in errors (exit 2).
pub fn decode(text: &str, cell: &Cell, path: &Path) -> anyhow::Result<CellResult> {
    let shown = path.display();
    let err = |line: usize, msg: &str| {
        bad(format!("{shown}: line {line}: {msg} (the part file is damaged; delete it to recompute the cell)"))
    };
    let mut lines = text.lines().enumerate();
    let (_, first) = lines.next().ok_or_else(|| err(1, "empty file"))?;
    let w: Vec<&str> = first.split(' ').collect();
    if w.len() != 8 || w[0] != MAGIC || w[1] != FORMAT {
        return Err(err(1, "not an initlab part file"));
    }
    let trials: usize = w[4].parse().map_err(|_| err(1, "bad trial count"))?;
    let depth: usize = w[5].parse().map_err(|_| err(1, "bad depth"))?;
    let seconds: f64 = w[6].parse().map_err(|_| err(1, "bad seconds"))?;
    let weight_seconds: f64 = w[7].parse().map_err(|_| err(1, "bad weight seconds"))?;
    let want = cell.network().depth();
    if depth != want {
        return Err(err(
            1,
            &format!("{depth} layers do not match the cell's {want} weighted layers"),
        ));
    }
    let mut layers: Vec<Vec<LayerStats>> = vec![Vec::with_capacity(depth); trials];
    let mut blocks: Vec<Vec<BlockStats>> = vec![Vec::new(); trials];
    let mut train: Vec<Vec<crate::train::TrainRow>> = vec![Vec::new(); trials];
    let mut hist = Vec::new();
    let mut flucts: Vec<Fluct> = vec![Fluct::default(); trials];
    let mut lsuvs: Vec<Vec<LsuvLayer>> = vec![Vec::new(); trials];
    let mut jacs: Vec<(Acc, Acc)> = vec![(Acc::default(), Acc::default()); trials];
    let mut spectra: Vec<Vec<Vec<f64>>> = vec![Vec::new(); trials];
    let mut records = 0usize;
    let mut ended = false;
    for (i, line) in lines {
        let ln = i + 1;
        if ended {
            return Err(err(ln, "data after the end marker"));
        }
        if let Some(n) = line.strip_prefix("end ") {
            let n: usize = n.parse().map_err(|_| err(ln, "bad end marker"))?;
            if n != records {
                return Err(err(
                    ln,
                    &format!("end marker says {n} records, found {records}"),
                ));
            }
            ended = true;
            continue;
        }
        let f: Vec<&str> = line.split(',').collect();
        let p = |k: usize| -> anyhow::Result<f64> {
            f.get(k)
                .and_then(|s| s.parse::<f64>().ok())
                .ok_or_else(|| err(ln, &format!("field {} is not a number", k + 1)))
        };
        let u = |k: usize| -> anyhow::Result<usize> {
            f.get(k)
                .and_then(|s| s.parse::<usize>().ok())
                .ok_or_else(|| err(ln, &format!("field {} is not an integer", k + 1)))
        };
        match f.first() {
            Some(&"L") if f.len() == 12 => {
                let t = u(1)?;
                let s = LayerStats {
                    layer: u(2)?,
                    fan_in: u(3)?,
                    fan_out: u(4)?,
                    preact_mean: p(5)?,
                    preact_var: p(6)?,
                    act_mean: p(7)?,
                    act_sq_mean: p(8)?,
                    grad_var: p(9)?,
                    weight_grad_var: p(10)?,
                    nonfinite: u(11)? as u64,
                };
                let slot = layers
                    .get_mut(t)
                    .ok_or_else(|| err(ln, "trial index out of range"))?;
                if s.layer != slot.len() + 1 {
                    return Err(err(ln, "layers out of order"));
                }
                slot.push(s);
            }
            Some(&"B") if f.len() == 7 => {
                let t = u(1)?;
                let b = BlockStats {
                    block: u(2)?,
                    avg_channel_sq_mean: p(3)?,
                    avg_channel_var: p(4)?,
                    branch_avg_channel_var: p(5)?,
                    grad_var: p(6)?,
                };
                let slot = blocks
                    .get_mut(t)
                    .ok_or_else(|| err(ln, "trial index out of range"))?;
                if b.block != slot.len() && b.block != slot.len() + 1 {
                    return Err(err(ln, "blocks out of order"));
                }
                slot.push(b);
            }
            Some(&"T") if f.len() == 9 => {
                let t = u(1)?;
                let row = crate::train::TrainRow {
                    lr: p(2)?,
                    step: u(3)?,
                    train_loss: p(4)?,
                    test_loss: p(5)?,
                    test_accuracy: p(6)?,
                    grad_norm_first: p(7)?,
                    grad_norm_last: p(8)?,
                };
                train
                    .get_mut(t)
                    .ok_or_else(|| err(ln, "trial index out of range"))?
                    .push(row);
            }
            Some(&"H") if f.len() == 6 => {
                let quantity = match f[2] {
                    "act" => "act",
                    "grad" => "grad",
                    _ => return Err(err(ln, "quantity must be act or grad")),
                };
                hist.push(HistRow {
                    layer: u(1)?,
                    quantity,
                    bin_lo: p(3)?,
                    bin_hi: p(4)?,
                    count: u(5)? as u64,
                });
            }
            Some(&"F") if f.len() == 7 => {
                let n = u(2)? as u64;
                let slot = flucts
                    .get_mut(u(1)?)
                    .ok_or_else(|| err(ln, "trial index out of range"))?;
                *slot = Fluct {
                    log: Acc {
                        n,
                        mean: p(3)?,
                        m2: p(4)?,
                    },
                    ratio: Acc {
                        n,
                        mean: p(5)?,
                        m2: p(6)?,
                    },
                };
            }
            Some(&"U") if f.len() == 7 => {
                let row = LsuvLayer {
                    layer: u(2)?,
                    iterations: u(3)?,
                    scale: p(4)?,
                    var: p(5)?,
                    converged: u(6)? == 1,
                };
                lsuvs
                    .get_mut(u(1)?)
                    .ok_or_else(|| err(ln, "trial index out of range"))?
                    .push(row);
            }
            Some(&"S") if f.len() == 8 => {
                let acc = (
                    Acc {
                        n: u(2)? as u64,
                        mean: p(3)?,
                        m2: p(4)?,
                    },
                    Acc {
                        n: u(5)? as u64,
                        mean: p(6)?,
                        m2: p(7)?,
                    },
                );
                *jacs
                    .get_mut(u(1)?)
                    .ok_or_else(|| err(ln, "trial index out of range"))? = acc;
            }
            Some(&"V") if f.len() == 4 => {
                let sv = f[3]
                    .split(' ')
                    .map(|x| x.parse::<f64>())
                    .collect::<Result<Vec<f64>, _>>()
                    .map_err(|_| err(ln, "field 4 is not a list of numbers"))?;
                let slot = spectra
                    .get_mut(u(1)?)
                    .ok_or_else(|| err(ln, "trial index out of range"))?;
                if u(2)? != slot.len() {
                    return Err(err(ln, "spectra out of order"));
                }
                slot.push(sv);
            }
            _ => return Err(err(ln, "unrecognised record")),
        }
        records += 1;
    }
    if !ended {
        return Err(err(text.lines().count(), "truncated: no end marker"));
    }
    if layers.iter().any(|l| l.len() != depth) {
        return Err(err(1, "a trial is missing layers"));
    }
    Ok(CellResult {
        cell: cell.clone(),
        trials: layers
            .into_iter()
            .zip(blocks)
            .zip(train)
            .zip(flucts)
            .zip(lsuvs)
            .zip(jacs.into_iter().zip(spectra))
            .map(
                |(((((l, b), train), fluct), lsuv), ((jac, jac_nvar), spectrum))| TrialResult {
                    layers: l,
                    blocks: b,
                    captures: Vec::new(),
                    train,
                    fluct,
                    lsuv,
                    failure: None,
                    jac,
                    jac_nvar,
                    spectrum,
                },
            )
            .collect(),
        hist,
        seconds,
        weight_seconds,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Experiment;
    use crate::sweep::run_sweep;

    #[test]
    fn round_trip_is_exact_and_damage_is_detected() {
        let text = "trials = 2\nbatch = 4\n[network]\ndepth = 3\nwidth = 5\nactivation = \"relu\"\n[[init]]\nweight = { scheme = \"normal\", std = 5.0 }\n[histograms]\nlayers = [1, 3]\nbins = 4\n";
        let exp = Experiment::parse(text, "t.toml", "t").unwrap();
        let cells = exp.cells();
        let r = run_sweep(&exp, &cells, false).remove(0);
        let enc = encode("0.1.0", "abc", &r);
        let back = decode(&enc, &cells[0], Path::new("p")).unwrap();
        assert_eq!(back.trials, r.trials);
        assert_eq!(back.hist, r.hist);
        assert_eq!(back.seconds, r.seconds);
        assert_eq!(header(&enc).unwrap().hash, "abc");
        // Truncation anywhere is detected.
        for cut in [enc.len() - 3, enc.len() / 2, 10] {
            let e = decode(&enc[..cut], &cells[0], Path::new("p.part"))
                .unwrap_err()
                .to_string();
            assert!(e.contains("p.part: line"), "{e}");
        }
    }
}
