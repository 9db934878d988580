//! Finite-width fluctuations (Hanin & Rolnick 2018) from `cells.csv`: per cell, the measured
//! Var[ln(q_L/q_0)] against β = Σ_{l<L} 1/n_l, one series per width (its depths), beside the
//! exact Var[ln r] of each cell (dashed) and the paper's e^{5β} law as Var[ln r] ≈ 5β (grey
//! dashed); and the relative variance E[r²]/E[r]² − 1 against the product formula
//! (1 + 2/n_L)·∏_{l<L}(1 + 5/n_l) − 1. Nets of equal β sit at the same height.
//!
//! Drawn only for cells the law applies to (its theory columns are filled) and with at least
//! [`MIN_TRIALS`] trials: fewer draws cannot say anything about a heavy-tailed variance.

use super::figure::{Figure, LegendEntry, LegendKind, Panel, Point, Series};
use super::read::{first_seen, read_cell_columns, ResultsData};
use super::style::{Marker, SeriesStyle, GREY};

/// Fewest trials a cell needs to be drawn.
pub const MIN_TRIALS: usize = 32;

const COLS: &[&str] = &[
    "beta",
    "log_q_ratio_var",
    "theory_log_q_ratio_var",
    "q_ratio_rel_var",
    "theory_q_ratio_rel_var",
];

/// The fluctuation figure, or `None` when no cell qualifies.
pub fn fluct_figure(data: &ResultsData) -> Option<Figure> {
    let rows = read_cell_columns(&data.dir.join("cells.csv"), COLS).ok()?;
    // (init, width n_0, β, measured, exact, measured rel, product formula)
    let cells: Vec<_> = rows
        .into_iter()
        .filter(|(k, trials, v)| {
            *trials >= MIN_TRIALS && k.constant_width() && v.iter().all(|x| x.is_some())
        })
        .map(|(k, _, v)| {
            let v: Vec<f64> = v.into_iter().map(|x| x.unwrap_or(f64::NAN)).collect();
            (k.init.clone(), k.width, v)
        })
        .collect();
    if cells.is_empty() {
        return None;
    }
    let groups = first_seen(cells.iter().map(|(i, w, _)| (i.clone(), *w)));
    let several_inits = first_seen(cells.iter().map(|(i, _, _)| i.clone())).len() > 1;
    let mut legend = Vec::new();
    let mut panels = Vec::new();
    for (title, y_label, meas, theo, y_log) in [
        (
            "Var[ln(q_L/q_0)] against β",
            "Var[ln r]",
            1usize,
            2usize,
            false,
        ),
        (
            "relative variance E[r²]/E[r]² − 1 against β",
            "E[r²]/E[r]² − 1",
            3,
            4,
            true,
        ),
    ] {
        let mut series = Vec::new();
        let mut theory = Vec::new();
        for (g, (init, width)) in groups.iter().enumerate() {
            let mut pts: Vec<&Vec<f64>> = cells
                .iter()
                .filter(|(i, w, _)| i == init && w == width)
                .map(|(_, _, v)| v)
                .collect();
            pts.sort_by(|a, b| a[0].total_cmp(&b[0]));
            let style = SeriesStyle::init(g);
            let label = if several_inits {
                format!("{init}, n = {width}")
            } else {
                format!("n = {width}")
            };
            let point = |x: f64, y: f64| Point { x, y, band: None };
            series.push(Series {
                label: label.clone(),
                style,
                points: pts.iter().map(|v| point(v[0], v[meas])).collect(),
                theory: false,
            });
            theory.push(Series {
                label: format!("{label} (theory)"),
                style,
                points: pts.iter().map(|v| point(v[0], v[theo])).collect(),
                theory: true,
            });
            if panels.is_empty() {
                legend.push(LegendEntry {
                    label,
                    style,
                    kind: LegendKind::Line,
                });
            }
        }
        // The paper's asymptotic law: Var[ln r] ≈ ln E[r²]/E[r]² ≈ 5β.
        let (lo, hi) = cells
            .iter()
            .fold((f64::INFINITY, 0f64), |(a, b), (_, _, v)| {
                (a.min(v[0]), b.max(v[0]))
            });
        let law = |b: f64| {
            if y_log {
                (5.0 * b).exp() - 1.0
            } else {
                5.0 * b
            }
        };
        let grey = SeriesStyle {
            color: GREY,
            marker: Marker::Circle,
        };
        theory.push(Series {
            label: "5β law".into(),
            style: grey,
            points: (0..=20)
                .map(|i| {
                    let b = lo + (hi - lo) * i as f64 / 20.0;
                    Point {
                        x: b,
                        y: law(b),
                        band: None,
                    }
                })
                .collect(),
            theory: true,
        });
        series.extend(theory);
        panels.push(Panel {
            title: title.into(),
            x_label: "β = Σ_(l<L) 1/n_l".into(),
            y_label: y_label.into(),
            y_log,
            x_integer: false,
            x_log: false,
            x_ticks: None,
            series,
        });
    }
    let grey = SeriesStyle {
        color: GREY,
        marker: Marker::Circle,
    };
    legend.push(LegendEntry {
        label: "theory: exact per cell (colour), e^(5β) law (grey)".into(),
        style: grey,
        kind: LegendKind::Dashed,
    });
    Some(Figure {
        name: "fluctuations".into(),
        title: format!("{}: finite-width fluctuations of the output norm", data.experiment),
        caption: "Hanin & Rolnick (2018): r = q_L/q_0, the mean square of the net's output y_L over that of \
                  its input, per input row, pooled over trials × rows. Left: Var[ln r] against β = Σ_(l<L) 1/n_l, \
                  one line per width through its depths; nets of equal β fluctuate equally. Right: the relative \
                  variance against the product formula (1 + 2/n_L)·∏_(l<L)(1 + 5/n_l) − 1 (dashed), whose heavy \
                  tail makes the measurement fall short when rare large draws are missing. Grey: the e^(5β) law. \
                  Only cells the law applies to (ReLU or linear, Gaussian weights, zero bias) with ≥ 32 trials."
            .into(),
        panels,
        legend,
        max_cols: 2,
    })
}
