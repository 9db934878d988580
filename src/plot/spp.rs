//! Signal Propagation Plots (Brock, De & Smith 2021, Fig. 1) from `blocks_summary.csv`: per
//! residual network (panel family), the average channel squared mean, the average channel
//! variance and the residual branch's average channel variance of the stream against the block
//! index, on log axes, one line per init with its min–max band over trials, plus a fourth panel
//! with their sum E[x²] — the quantity the second-moment recursion predicts, dashed beside it.
//! Theory lines go on the quantity they predict: the split only where the branches see
//! normalized inputs (see [`crate::theory::blocks`]).

use super::figure::{Figure, LegendEntry, LegendKind, Panel, Point, Series};
use super::read::{BlockRow, ResultsData, Spread};
use super::style::{Marker, SeriesStyle, GREY};

type Metric = fn(&BlockRow) -> Spread;
type Theory = fn(&BlockRow) -> Option<f64>;

const PANELS: &[(&str, &str, Metric, Theory)] = &[
    (
        "average channel squared mean",
        "mean_c (E_c[x])²",
        |r| r.avg_channel_sq_mean,
        |r| r.theory_avg_channel_sq_mean,
    ),
    (
        "average channel variance",
        "mean_c Var_c[x]",
        |r| r.avg_channel_var,
        |r| r.theory_avg_channel_var,
    ),
    (
        "residual branch: average channel variance",
        "mean_c Var_c[f_b]",
        |r| r.branch_avg_channel_var,
        |r| r.theory_branch_avg_channel_var,
    ),
    (
        "second moment E[x²] = squared mean + variance",
        "E[x²]",
        |r| r.second_moment,
        |r| r.theory_second_moment,
    ),
];

/// The SPP figure, or `None` without residual cells.
pub fn spp_figure(data: &ResultsData) -> Option<Figure> {
    if data.blocks.is_empty() {
        return None;
    }
    let inits = data.inits();
    let mut used = vec![false; inits.len()];
    let (mut any_band, mut any_theory) = (false, false);
    let mut panels = Vec::new();
    for fam in data.families() {
        let rows: Vec<&BlockRow> = data
            .blocks
            .iter()
            .filter(|r| r.key.family() == fam)
            .collect();
        let Some(depth) = rows.iter().map(|r| r.key.depth).max() else {
            continue;
        };
        for (title, y_label, metric, theory) in PANELS {
            let mut series = Vec::new();
            let mut theory_series = Vec::new();
            for (i, init) in inits.iter().enumerate() {
                let mut cell: Vec<&&BlockRow> = rows
                    .iter()
                    .filter(|r| &r.key.init == init && r.key.depth == depth)
                    .collect();
                if cell.is_empty() {
                    continue;
                }
                cell.sort_by_key(|r| r.block);
                used[i] = true;
                let style = SeriesStyle::init(i);
                let points: Vec<Point> = cell
                    .iter()
                    .filter(|r| metric(r).mean.is_finite())
                    .map(|r| {
                        let s = metric(r);
                        let band = (r.trials > 1).then_some((s.min, s.max));
                        any_band |= band.is_some();
                        Point {
                            x: r.block as f64,
                            y: s.mean,
                            band,
                        }
                    })
                    .collect();
                series.push(Series {
                    label: init.clone(),
                    style,
                    points,
                    theory: false,
                });
                let tp: Vec<Point> = cell
                    .iter()
                    .filter_map(|r| {
                        // Exactly 0 (no bias; a zero branch) has no place on a log axis.
                        theory(r).filter(|&y| y > 0.0).map(|y| Point {
                            x: r.block as f64,
                            y,
                            band: None,
                        })
                    })
                    .collect();
                if let Some(s) = Series::theory_curve(init, style, tp) {
                    any_theory = true;
                    theory_series.push(s);
                }
            }
            series.extend(theory_series);
            panels.push(Panel {
                title: format!("{title} · {}", data.family_title(&fam)),
                x_label: "block b (0 = stem)".into(),
                y_label: (*y_label).into(),
                y_log: true,
                x_integer: true,
                x_log: false,
                x_ticks: None,
                series,
            });
        }
    }
    let mut legend: Vec<LegendEntry> = inits
        .iter()
        .enumerate()
        .filter(|(i, _)| used[*i])
        .map(|(i, label)| LegendEntry {
            label: label.clone(),
            style: SeriesStyle::init(i),
            kind: LegendKind::Line,
        })
        .collect();
    let grey = SeriesStyle {
        color: GREY,
        marker: Marker::Circle,
    };
    if any_band {
        legend.push(LegendEntry {
            label: format!("min–max over {} trials", data.trials()),
            style: grey,
            kind: LegendKind::Band,
        });
    }
    if any_theory {
        legend.push(LegendEntry {
            label: "theory".into(),
            style: grey,
            kind: LegendKind::Dashed,
        });
    }
    Some(Figure {
        name: "spp".into(),
        title: format!("{}: signal propagation plot of the residual stream", data.experiment),
        caption: "Brock et al. (2021)'s Signal Propagation Plot: the residual stream x_b after each block \
                  (block 0 is the stem's output) — the average over channels of the squared channel mean, \
                  of the channel variance, and of the residual branch's channel variance — with their \
                  sum E[x²] in the last panel, mean over trials with the min–max band. Dashed: the \
                  second-moment recursion E[x_(b+1)²] = E[x_b²] + α²·E[f_b²], and its split into channel \
                  mean and variance where the branches see normalized inputs (a prediction of exactly 0 is not drawn)."
            .into(),
        panels,
        legend,
        max_cols: 4,
    })
}
