//! CSV bytes for `layers.csv`, `summary.csv`, `cells.csv` and `hist.csv` (DESIGN contract:
//! column names and order are fixed; rows in sweep order, then trial, then layer).
//! Numbers are written in the shortest form that round-trips (`1.5e-7`, `0.25`, `inf`, `NaN`);
//! an absent value (no theory, std of one trial) is an empty field.

use crate::config::Experiment;
use crate::sim::TrialResult;
use crate::sweep::aggregate::{CellResult, Spread};

pub const LAYERS_HEADER: &[&str] = &[
    "experiment",
    "network",
    "activation",
    "init",
    "depth",
    "width",
    "batch",
    "trial",
    "layer",
    "fan_in",
    "fan_out",
    "preact_mean",
    "preact_var",
    "act_mean",
    "act_sq_mean",
    "grad_var",
    "weight_grad_var",
    "nonfinite",
    "widths",
];

pub const SUMMARY_METRICS: &[&str] = &["preact_var", "act_sq_mean", "grad_var", "weight_grad_var"];

pub const CELLS_HEADER: &[&str] = &[
    "experiment",
    "network",
    "activation",
    "init",
    "depth",
    "width",
    "batch",
    "trials",
    "forward_ratio",
    "backward_ratio",
    "theory_forward_ratio",
    "theory_backward_ratio",
    "nonfinite_layers",
    "theory_max_abs_log10",
    "widths",
    "log10_forward_ratio_mean",
    "log10_forward_ratio_std",
    "log10_forward_ratio_min",
    "log10_forward_ratio_max",
    "log10_backward_ratio_mean",
    "log10_backward_ratio_std",
    "log10_backward_ratio_min",
    "log10_backward_ratio_max",
    "underflow_trials",
    "overflow_trials",
];

/// `cells.csv`'s header: [`CELLS_HEADER`], then the columns appended by later issues.
/// `cells.csv`'s header without `[train]`: the contract's columns through `widths`, issue 16's
/// log10 spreads and range exits, then issue 13's block. With `[train]`, `diverged_runs` follows.
pub fn cells_header() -> Vec<&'static str> {
    let mut h = CELLS_HEADER.to_vec();
    // ---- issue 13: fluctuations and LSUV ----
    h.extend(crate::sweep::beyond::CELLS_COLUMNS);
    h
}

pub const BLOCKS_HEADER: &[&str] = &[
    "experiment",
    "network",
    "activation",
    "init",
    "depth",
    "width",
    "batch",
    "trial",
    "block",
    "avg_channel_sq_mean",
    "avg_channel_var",
    "branch_avg_channel_var",
    "grad_var",
    "widths",
];

/// The statistics of `blocks_summary.csv`, each as mean, std, min, max over trials.
pub const BLOCK_METRICS: &[&str] = &[
    "avg_channel_sq_mean",
    "avg_channel_var",
    "branch_avg_channel_var",
    "grad_var",
    "second_moment",
];

/// `blocks_summary.csv`'s header.
pub fn blocks_summary_header() -> Vec<String> {
    let mut h: Vec<String> = [
        "experiment",
        "network",
        "activation",
        "init",
        "depth",
        "width",
        "batch",
        "block",
        "trials",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    for m in BLOCK_METRICS {
        for s in ["mean", "std", "min", "max"] {
            h.push(format!("{m}_{s}"));
        }
    }
    for t in [
        "theory_second_moment",
        "theory_avg_channel_sq_mean",
        "theory_avg_channel_var",
        "theory_branch_avg_channel_var",
        "widths",
    ] {
        h.push(t.into());
    }
    h
}

pub const HIST_HEADER: &[&str] = &[
    "experiment",
    "network",
    "activation",
    "init",
    "depth",
    "width",
    "batch",
    "layer",
    "quantity",
    "bin_lo",
    "bin_hi",
    "count",
    "widths",
];

/// `summary.csv`'s header.
pub fn summary_header() -> Vec<String> {
    let mut h: Vec<String> = [
        "experiment",
        "network",
        "activation",
        "init",
        "depth",
        "width",
        "batch",
        "layer",
        "trials",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    for m in SUMMARY_METRICS {
        for s in ["mean", "std", "min", "max"] {
            h.push(format!("{m}_{s}"));
        }
    }
    h.push("theory_preact_var".into());
    h.push("theory_grad_var".into());
    h.push("widths".into());
    h
}

/// `train.csv` (issue 14): one row per cell × trial × learning rate × eval step.
pub const TRAIN_HEADER: &[&str] = &[
    "experiment",
    "network",
    "activation",
    "init",
    "depth",
    "width",
    "batch",
    "trial",
    "lr",
    "step",
    "train_loss",
    "test_loss",
    "test_accuracy",
    "grad_norm_first",
    "grad_norm_last",
    "widths",
    "sigma_w2",
    "sigma_b2",
    "theory_xi_c",
];

/// Shortest round-trip text of `x`; exponent form outside [1e-5, 1e16).
pub fn num(x: f64) -> String {
    if x.is_nan() {
        "NaN".into()
    } else if x.is_infinite() {
        if x > 0.0 { "inf" } else { "-inf" }.into()
    } else if x == 0.0 || (1e-5..1e16).contains(&x.abs()) {
        format!("{x}")
    } else {
        format!("{x:e}")
    }
}

fn opt(x: Option<f64>) -> String {
    x.map(num).unwrap_or_default()
}

/// A NaN std (one trial) is an empty field, as pandas would compute it.
fn spread(s: &Spread) -> [String; 4] {
    let std = if s.std.is_nan() {
        String::new()
    } else {
        num(s.std)
    };
    [num(s.mean), std, num(s.min), num(s.max)]
}

/// The cell columns every table starts with; `network` is the architecture's label (`mlp`,
/// `conv2d(kernel=3 padding=zeros image=32x32)`).
pub(crate) fn cell_prefix(exp: &Experiment, r: &CellResult) -> Vec<String> {
    let c = &r.cell;
    vec![
        exp.name.clone(),
        c.network_label.clone(),
        c.activation.label(),
        c.init.label.clone(),
        c.depth.to_string(),
        c.width.to_string(),
        exp.batch.to_string(),
    ]
}

/// CSV bytes with `\n` line ends: a header, then the rows (shared by every table writer).
pub fn csv_bytes<H: AsRef<[u8]>>(
    header: &[H],
    rows: impl Iterator<Item = Vec<String>>,
) -> anyhow::Result<Vec<u8>> {
    let mut w = csv::WriterBuilder::new()
        .terminator(csv::Terminator::Any(b'\n'))
        .from_writer(Vec::new());
    w.write_record(header)?;
    for row in rows {
        w.write_record(&row)?;
    }
    w.into_inner().map_err(|e| anyhow::anyhow!("{e}"))
}

/// The rows of a table with one row per cell × trial × item: the cell columns, the trial
/// index, the item's own fields (`fields` lists them for every item of one trial), then
/// `widths` and the cell's `tail` (columns after `widths`, such as train.csv's theory).
pub fn per_trial_rows<'a>(
    exp: &'a Experiment,
    results: &'a [CellResult],
    fields: impl Fn(&TrialResult) -> Vec<Vec<String>> + 'a,
    tail: impl Fn(&CellResult) -> Vec<String> + 'a,
) -> impl Iterator<Item = Vec<String>> + 'a {
    results.iter().flat_map(move |r| {
        let prefix = cell_prefix(exp, r);
        let mut end = vec![r.cell.widths_label()];
        end.extend(tail(r));
        let mut rows = Vec::new();
        for (t, tr) in r.trials.iter().enumerate() {
            for f in fields(tr) {
                let mut row = prefix.clone();
                row.push(t.to_string());
                row.extend(f);
                row.extend(end.iter().cloned());
                rows.push(row);
            }
        }
        rows
    })
}

/// No columns after `widths`.
pub fn no_tail(_: &CellResult) -> Vec<String> {
    Vec::new()
}

pub fn layers_csv(exp: &Experiment, results: &[CellResult]) -> anyhow::Result<Vec<u8>> {
    let fields = |tr: &TrialResult| {
        tr.layers
            .iter()
            .map(|s| {
                vec![
                    s.layer.to_string(),
                    s.fan_in.to_string(),
                    s.fan_out.to_string(),
                    num(s.preact_mean),
                    num(s.preact_var),
                    num(s.act_mean),
                    num(s.act_sq_mean),
                    num(s.grad_var),
                    num(s.weight_grad_var),
                    s.nonfinite.to_string(),
                ]
            })
            .collect()
    };
    csv_bytes(LAYERS_HEADER, per_trial_rows(exp, results, fields, no_tail))
}

pub fn summary_csv(exp: &Experiment, results: &[CellResult]) -> anyhow::Result<Vec<u8>> {
    let rows = results.iter().flat_map(|r| {
        let prefix = cell_prefix(exp, r);
        r.summary_rows(exp).into_iter().map(move |s| {
            let mut row = prefix.clone();
            row.push(s.layer.to_string());
            row.push(s.trials.to_string());
            for sp in [
                &s.preact_var,
                &s.act_sq_mean,
                &s.grad_var,
                &s.weight_grad_var,
            ] {
                row.extend(spread(sp));
            }
            row.push(opt(s.theory_preact_var));
            row.push(opt(s.theory_grad_var));
            row.push(r.cell.widths_label());
            row
        })
    });
    csv_bytes(&summary_header(), rows)
}

pub fn cells_csv(exp: &Experiment, results: &[CellResult]) -> anyhow::Result<Vec<u8>> {
    // [train] (issue 14): `diverged_runs` appended last, only when the experiment trains.
    let mut header: Vec<&str> = cells_header();
    if exp.train.is_some() {
        header.push("diverged_runs");
    }
    let rows = results.iter().map(|r| {
        let s = r.cell_summary(exp);
        let mut row = cell_prefix(exp, r);
        row.extend([
            s.trials.to_string(),
            num(s.forward_ratio),
            num(s.backward_ratio),
            opt(s.theory_forward_ratio),
            opt(s.theory_backward_ratio),
            s.nonfinite_layers.to_string(),
            opt(s.theory_max_abs_log10),
            r.cell.widths_label(),
        ]);
        for l in [&s.log10_forward, &s.log10_backward] {
            match l {
                Some(sp) => row.extend(spread(sp)),
                None => row.extend(std::iter::repeat_n(String::new(), 4)),
            }
        }
        row.push(s.underflow_trials.to_string());
        row.push(s.overflow_trials.to_string());
        // ---- issue 13: fluctuations, LSUV and Jacobian moments ----
        row.extend(r.beyond_cells(exp));
        if exp.train.is_some() {
            row.push(r.diverged_runs().to_string());
        }
        row
    });
    csv_bytes(&header, rows)
}

/// `train.csv`: the training curves of every cell × trial × learning rate, with the cell's
/// mean-field σ_w², σ_b² and depth scale ξ_c ([`crate::train::theory`]; empty where none).
pub fn train_csv(exp: &Experiment, results: &[CellResult]) -> anyhow::Result<Vec<u8>> {
    let fields = |tr: &TrialResult| {
        tr.train
            .iter()
            .map(|x| {
                vec![
                    num(x.lr),
                    x.step.to_string(),
                    num(x.train_loss),
                    num(x.test_loss),
                    if x.test_accuracy.is_nan() {
                        String::new()
                    } else {
                        num(x.test_accuracy)
                    },
                    num(x.grad_norm_first),
                    num(x.grad_norm_last),
                ]
            })
            .collect()
    };
    let theory = |r: &CellResult| {
        let th = crate::train::theory::cell_theory(&r.cell);
        vec![
            opt(th.map(|t| t.sigma_w2)),
            opt(th.map(|t| t.sigma_b2)),
            opt(th.map(|t| t.xi_c)),
        ]
    };
    csv_bytes(TRAIN_HEADER, per_trial_rows(exp, results, fields, theory))
}

/// `blocks.csv`: one row per residual cell × trial × block (block 0: the stem's output).
pub fn blocks_csv(exp: &Experiment, results: &[CellResult]) -> anyhow::Result<Vec<u8>> {
    let fields = |tr: &TrialResult| {
        tr.blocks
            .iter()
            .map(|b| {
                vec![
                    b.block.to_string(),
                    num(b.avg_channel_sq_mean),
                    num(b.avg_channel_var),
                    num(b.branch_avg_channel_var),
                    num(b.grad_var),
                ]
            })
            .collect()
    };
    csv_bytes(BLOCKS_HEADER, per_trial_rows(exp, results, fields, no_tail))
}

/// `blocks_summary.csv`: one row per residual cell × block, over trials, with the theory.
pub fn blocks_summary_csv(exp: &Experiment, results: &[CellResult]) -> anyhow::Result<Vec<u8>> {
    let rows = results.iter().flat_map(|r| {
        let prefix = cell_prefix(exp, r);
        r.block_summary_rows(exp).into_iter().map(move |b| {
            let mut row = prefix.clone();
            row.push(b.block.to_string());
            row.push(b.trials.to_string());
            for sp in [
                &b.avg_channel_sq_mean,
                &b.avg_channel_var,
                &b.branch_avg_channel_var,
                &b.grad_var,
                &b.second_moment,
            ] {
                row.extend(spread(sp));
            }
            for t in [
                b.theory_second_moment,
                b.theory_avg_channel_sq_mean,
                b.theory_avg_channel_var,
                b.theory_branch_avg_channel_var,
            ] {
                row.push(opt(t));
            }
            row.push(r.cell.widths_label());
            row
        })
    });
    csv_bytes(&blocks_summary_header(), rows)
}

pub fn hist_csv(exp: &Experiment, results: &[CellResult]) -> anyhow::Result<Vec<u8>> {
    let rows = results.iter().flat_map(|r| {
        let prefix = cell_prefix(exp, r);
        r.hist.iter().map(move |h| {
            let mut row = prefix.clone();
            row.extend([
                h.layer.to_string(),
                h.quantity.to_string(),
                num(h.bin_lo),
                num(h.bin_hi),
                h.count.to_string(),
                r.cell.widths_label(),
            ]);
            row
        })
    });
    csv_bytes(HIST_HEADER, rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_round_trip() {
        for x in [
            0.0, 1.0, 0.25, 1.5e-7, 3.0e40, -2.5e-300, 123456.789, 1e16, 9.999e15,
        ] {
            let s = num(x);
            assert_eq!(s.parse::<f64>().unwrap(), x, "{s}");
        }
        assert_eq!(num(1.5e-7), "1.5e-7");
        assert_eq!(num(f64::INFINITY), "inf");
        assert_eq!(num(f64::NAN), "NaN");
    }
}
