//! Training charts from `train.csv` alone (issue 14):
//! - `train_curves`: He et al. 2015, Fig. 3 style — training loss, test accuracy and the
//!   first layer's gradient norm against the step, one line per init (and learning rate when
//!   several), mean over trials with the min–max band; the chance loss ln k is dashed where the
//!   task is a k-class classification. Drawn when the sweep has at most 12 such lines per
//!   panel and does not span both σ_w² and depth (that sweep gets the heatmap instead).
//! - `trainability`: Schoenholz et al. 2017, Fig. 5/6 style — a heatmap of the test accuracy at
//!   the last step (mean over trials, best learning rate) over σ_w² and depth, with the
//!   theory's 6·ξ_c (the `theory_xi_c` column) dashed over it. Drawn when train.csv holds at
//!   least two σ_w² values and two depths.

use super::figure::{Figure, LegendEntry, LegendKind, Panel, Point, Series};
use super::heatmap::{Curve, Heatmap};
use super::read::{first_seen, read_train, TrainCsvRow};
use super::style::{SeriesStyle, GREY};
use std::collections::BTreeMap;
use std::path::Path;

/// A panel of the loss chart: title, y label, log axis, the value.
type Metric = (&'static str, &'static str, bool, fn(&TrainCsvRow) -> f64);

/// A line of the loss chart: (network, activation, widths, init, lr).
type LineKey = (String, String, String, String, u64);

fn key(r: &TrainCsvRow) -> LineKey {
    (
        r.network.clone(),
        r.activation.clone(),
        r.widths.clone(),
        r.init.clone(),
        r.lr.to_bits(),
    )
}

/// Mean, min, max over the finite values.
fn spread(xs: &[f64]) -> Option<(f64, f64, f64)> {
    let v: Vec<f64> = xs.iter().copied().filter(|x| x.is_finite()).collect();
    if v.is_empty() {
        return None;
    }
    let mean = v.iter().sum::<f64>() / v.len() as f64;
    let min = v.iter().copied().fold(f64::INFINITY, f64::min);
    let max = v.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    Some((mean, min, max))
}

/// The number of classes k when the accuracy is filled (the readout's chance loss is ln k):
/// not in the CSV, so none is claimed unless the median of the step-0 losses sits within 2% of
/// ln k for a whole k in 2..=1000 — then ln k is drawn as the chance level.
fn chance_loss(rows: &[TrainCsvRow]) -> Option<f64> {
    if rows.iter().all(|r| r.test_accuracy.is_nan()) {
        return None;
    }
    let mut start: Vec<f64> = rows
        .iter()
        .filter(|r| r.step == 0 && r.train_loss.is_finite())
        .map(|r| r.train_loss)
        .collect();
    start.sort_by(f64::total_cmp);
    let m = *start.get(start.len() / 2)?;
    let k = m.exp().round();
    ((2.0..=1000.0).contains(&k) && (k.ln() / m - 1.0).abs() < 0.02).then(|| k.ln())
}

/// Whether the rows span at least two σ_w² values and two depths (the heatmap's sweep).
fn spans_sigma_and_depth(rows: &[TrainCsvRow]) -> bool {
    let mut w: Vec<f64> = rows
        .iter()
        .map(|r| r.sigma_w2)
        .filter(|w| w.is_finite())
        .collect();
    w.sort_by(f64::total_cmp);
    w.dedup();
    let d = first_seen(rows.iter().map(|r| r.depth));
    w.len() >= 2 && d.len() >= 2
}

/// The loss-curve figure, or None when there is no train.csv or too many lines per panel.
pub fn curves_figure(dir: &Path) -> anyhow::Result<Option<Figure>> {
    let Some(rows) = read_train(dir)? else {
        return Ok(None);
    };
    let lines: Vec<LineKey> = first_seen(rows.iter().map(key));
    let panels_of: Vec<(String, String, String)> = first_seen(
        lines
            .iter()
            .map(|k| (k.0.clone(), k.1.clone(), k.2.clone())),
    );
    let per_panel = lines.len() / panels_of.len().max(1);
    if rows.is_empty() || per_panel > 12 || spans_sigma_and_depth(&rows) {
        return Ok(None);
    }
    let inits = first_seen(rows.iter().map(|r| r.init.clone()));
    let lrs = first_seen(rows.iter().map(|r| r.lr.to_bits()));
    let trials = first_seen(rows.iter().map(|r| r.trial)).len();
    let chance = chance_loss(&rows);
    let metrics: [Metric; 3] = [
        ("training loss", "loss", true, |r| r.train_loss),
        ("test accuracy", "accuracy", false, |r| r.test_accuracy),
        (
            "first layer's gradient norm",
            "‖∂L/∂W_1‖",
            true,
            |r| r.grad_norm_first,
        ),
    ];
    let mut panels = Vec::new();
    let mut legend: Vec<LegendEntry> = Vec::new();
    let style_of = |init: &str, lr: u64| {
        let i = inits.iter().position(|x| x == init).unwrap_or(0);
        let j = lrs.iter().position(|&x| x == lr).unwrap_or(0);
        SeriesStyle::init(i + j * inits.len())
    };
    let label_of = |init: &str, lr: u64| {
        if lrs.len() > 1 {
            format!("{init}, lr {}", f64::from_bits(lr))
        } else {
            init.to_string()
        }
    };
    for (network, activation, widths) in &panels_of {
        let depth = rows
            .iter()
            .find(|r| &r.network == network && &r.widths == widths)
            .map_or(0, |r| r.depth);
        for (title, y_label, log, metric) in metrics {
            let has_values = rows.iter().any(|r| metric(r).is_finite());
            if !has_values {
                continue;
            }
            let mut series = Vec::new();
            for k in lines
                .iter()
                .filter(|k| (&k.0, &k.1, &k.2) == (network, activation, widths))
            {
                let mut by_step: BTreeMap<usize, Vec<f64>> = BTreeMap::new();
                for r in rows.iter().filter(|r| &key(r) == k) {
                    by_step.entry(r.step).or_default().push(metric(r));
                }
                let points = by_step
                    .iter()
                    .filter_map(|(&s, v)| {
                        spread(v).map(|(mean, lo, hi)| Point {
                            x: s as f64,
                            y: mean,
                            band: (trials > 1).then_some((lo, hi)),
                        })
                    })
                    .collect();
                let style = style_of(&k.3, k.4);
                let label = label_of(&k.3, k.4);
                if !legend.iter().any(|e| e.label == label) {
                    legend.push(LegendEntry {
                        label: label.clone(),
                        style,
                        kind: LegendKind::Line,
                    });
                }
                series.push(Series {
                    label,
                    style,
                    points,
                    theory: false,
                });
            }
            if let (Some(c), "loss") = (chance, y_label) {
                let steps: Vec<f64> = rows.iter().map(|r| r.step as f64).collect();
                let hi = steps.iter().copied().fold(0.0, f64::max);
                series.push(Series {
                    label: "chance: ln k".into(),
                    style: SeriesStyle {
                        color: GREY,
                        marker: super::style::Marker::Circle,
                    },
                    points: vec![
                        Point {
                            x: 0.0,
                            y: c,
                            band: None,
                        },
                        Point {
                            x: hi,
                            y: c,
                            band: None,
                        },
                    ],
                    theory: true,
                });
            }
            let name = if network == "mlp" {
                format!("{activation} MLP")
            } else {
                format!("{activation} {network}")
            };
            panels.push(Panel {
                title: format!("{title} · {name}, depth {depth}"),
                x_label: "step".into(),
                y_label: y_label.into(),
                y_log: log,
                x_integer: true,
                x_log: false,
                x_ticks: None,
                series,
            });
        }
    }
    let grey = SeriesStyle {
        color: GREY,
        marker: super::style::Marker::Circle,
    };
    if trials > 1 {
        legend.push(LegendEntry {
            label: format!("min–max over {trials} trials"),
            style: grey,
            kind: LegendKind::Band,
        });
    }
    if let Some(c) = chance {
        legend.push(LegendEntry {
            label: format!("chance loss ln k = {c:.3} (an output that ignores its input)"),
            style: grey,
            kind: LegendKind::Dashed,
        });
    }
    Ok(Some(Figure {
        name: "train_curves".into(),
        title: "Does it train? Loss, accuracy and first-layer gradient by step".into(),
        caption: "Training from the initialization the variance simulation draws (He et al. 2015, \
                  Fig. 3): the training loss, the test accuracy and the Frobenius norm of the first \
                  layer's weight gradient on the step's minibatch, mean over trials with the min–max \
                  band. An init whose signal vanishes with depth leaves the first layer's gradient \
                  orders of magnitude smaller and the loss flat at the chance level."
            .into(),
        panels,
        legend,
        max_cols: 3,
    }))
}

/// The trainability heatmap, or None when train.csv lacks two σ_w² values and two depths.
pub fn trainability_heatmap(dir: &Path) -> anyhow::Result<Option<Heatmap>> {
    let Some(rows) = read_train(dir)? else {
        return Ok(None);
    };
    let rows: Vec<&TrainCsvRow> = rows.iter().filter(|r| r.sigma_w2.is_finite()).collect();
    let mut xs: Vec<f64> = rows.iter().map(|r| r.sigma_w2).collect();
    xs.sort_by(f64::total_cmp);
    xs.dedup_by(|a, b| (*a - *b).abs() <= 1e-9 * b.abs());
    let mut ys: Vec<usize> = rows.iter().map(|r| r.depth).collect();
    ys.sort_unstable();
    ys.dedup();
    if xs.len() < 2 || ys.len() < 2 || rows.iter().all(|r| r.test_accuracy.is_nan()) {
        return Ok(None);
    }
    let last_step = rows.iter().map(|r| r.step).max().unwrap_or(0);
    let ix = |w: f64| xs.iter().position(|&x| (x - w).abs() <= 1e-9 * x.abs());
    // Per (σ_w², depth): per lr, the final accuracies over trials (a diverged run counts as
    // chance, 1/k, since it stopped; k from its cell's other runs is unknown, so as 0.1).
    let mut acc: BTreeMap<(usize, usize, u64), Vec<f64>> = BTreeMap::new();
    let mut finals: BTreeMap<(usize, usize, u64, usize), (usize, f64)> = BTreeMap::new();
    for r in &rows {
        let (Some(i), Some(j)) = (ix(r.sigma_w2), ys.iter().position(|&d| d == r.depth)) else {
            continue;
        };
        let e = finals
            .entry((i, j, r.lr.to_bits(), r.trial))
            .or_insert((0, f64::NAN));
        if r.step >= e.0 {
            *e = (r.step, r.test_accuracy);
        }
    }
    for ((i, j, lr, _), (step, a)) in finals {
        // A run that stopped early (diverged) scores as not trained.
        let a = if step == last_step && a.is_finite() {
            a
        } else {
            0.0
        };
        acc.entry((i, j, lr)).or_default().push(a);
    }
    let mut values = vec![vec![f64::NAN; xs.len()]; ys.len()];
    for ((i, j, _), v) in &acc {
        let mean = v.iter().sum::<f64>() / v.len() as f64;
        let cell = &mut values[*j][*i];
        if cell.is_nan() || mean > *cell {
            *cell = mean;
        }
    }
    // 6·ξ_c at each σ_w² (the mean-field column; the same for every depth).
    let mut theory: Vec<(f64, f64)> = xs
        .iter()
        .map(|&w| {
            let xi = rows
                .iter()
                .find(|r| (r.sigma_w2 - w).abs() <= 1e-9 * w.abs())
                .map_or(f64::NAN, |r| r.theory_xi_c);
            (w, 6.0 * xi)
        })
        .collect();
    theory.retain(|p| !p.1.is_nan());
    let sb = rows.first().map_or(f64::NAN, |r| r.sigma_b2);
    let act = rows.first().map_or(String::new(), |r| r.activation.clone());
    let ys_f: Vec<f64> = ys.iter().map(|&d| d as f64).collect();
    Ok(Some(Heatmap {
        name: "trainability".into(),
        title: format!("Trainable depth: {act}, σ_b² = {sb:.4}, test accuracy after {last_step} steps"),
        caption: format!(
            "Schoenholz et al. (2017), Fig. 5/6: each cell is a network of that depth at that σ_w² \
             (σ_b² = {sb:.4}), trained {last_step} steps from its drawn initialization; colour: test \
             accuracy at the last step, mean over trials (the best learning rate when several; a \
             diverged run counts 0). Dashed: 6·ξ_c from mean-field theory, the depth to which \
             Schoenholz et al. find networks trainable; it peaks at the critical σ_w² (χ1 = 1), \
             where ξ_c diverges (drawn at the top edge where it leaves the chart)."
        ),
        x_label: "σ_w² (weight variance × fan_in)".into(),
        y_label: "depth L".into(),
        color_label: "test accuracy".into(),
        xs,
        ys: ys_f,
        values,
        log_color: false,
        range: (0.0, 1.0),
        contours: Vec::new(),
        curves: vec![Curve {
            label: "6·ξ_c (mean-field theory)".into(),
            points: theory,
            dashed: true,
            color: plotters::style::RGBColor(213, 94, 0),
        }],
        missing: Some("no run".into()),
    }))
}
