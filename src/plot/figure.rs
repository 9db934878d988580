//! What each chart shows, built from the CSV rows alone: a [`Figure`] is a grid of [`Panel`]s
//! of [`Series`] plus a legend; [`super::render`] draws it with plotters.

use super::read::{first_seen, CellKey, ResultsData, Spread, SummaryRow};
use super::style::SeriesStyle;
use std::collections::BTreeMap;

/// One point of a series: `band` is the min–max over trials when there are several.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Point {
    pub x: f64,
    pub y: f64,
    pub band: Option<(f64, f64)>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    pub label: String,
    pub style: SeriesStyle,
    pub points: Vec<Point>,
    /// Drawn dashed without markers (a theory prediction).
    pub theory: bool,
}

impl Series {
    /// `name`'s theory curve (drawn dashed, without markers), or `None` without points.
    pub fn theory_curve(name: &str, style: SeriesStyle, points: Vec<Point>) -> Option<Series> {
        (!points.is_empty()).then(|| Series {
            label: format!("{name} (theory)"),
            style,
            points,
            theory: true,
        })
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Panel {
    pub title: String,
    pub x_label: String,
    pub y_label: String,
    pub y_log: bool,
    /// Integer x axis (layers, depths): ticks on whole numbers only.
    pub x_integer: bool,
    /// The x values (and ticks) are log10 of the quantity: ticks are labelled 10^x, so depths
    /// from 1 to 1000 spread evenly instead of crowding at the left.
    pub x_log: bool,
    /// Explicit x ticks (the swept depths), if any.
    pub x_ticks: Option<Vec<f64>>,
    pub series: Vec<Series>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum LegendKind {
    /// A measured series: solid line with its marker.
    Line,
    /// The min–max band.
    Band,
    /// A dashed theory line.
    Dashed,
}

#[derive(Debug, Clone, PartialEq)]
pub struct LegendEntry {
    pub label: String,
    pub style: SeriesStyle,
    pub kind: LegendKind,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Figure {
    /// File stem under plots/.
    pub name: String,
    pub title: String,
    /// One or two sentences for the report: what the chart shows and how to read it.
    pub caption: String,
    pub panels: Vec<Panel>,
    pub legend: Vec<LegendEntry>,
    /// Maximum panels per row.
    pub max_cols: usize,
}

/// Names of every figure [`build_figures`] can produce, in report order.
pub const FIGURE_NAMES: &[&str] = &[
    "forward_preact_var",
    "forward_act_sq_mean",
    "backward_grad_var",
    "backward_weight_grad_var",
    "across_depth",
    "hist_act",
    "hist_grad",
    "spp",
    "train_curves",
    "trainability",
    // issue 13
    "fluctuations",
    "jacobian_spectrum",
];

fn legend_for_inits(
    data: &ResultsData,
    used: &[bool],
    band: bool,
    theory: bool,
) -> Vec<LegendEntry> {
    let mut legend: Vec<LegendEntry> = data
        .inits()
        .into_iter()
        .enumerate()
        .filter(|(i, _)| used.get(*i).copied().unwrap_or(false))
        .map(|(i, label)| LegendEntry {
            label,
            style: SeriesStyle::init(i),
            kind: LegendKind::Line,
        })
        .collect();
    let grey = SeriesStyle {
        color: super::style::GREY,
        marker: super::style::Marker::Circle,
    };
    if band {
        legend.push(LegendEntry {
            label: format!("min–max over {} trials", data.trials()),
            style: grey,
            kind: LegendKind::Band,
        });
    }
    if theory {
        legend.push(LegendEntry {
            label: "theory".into(),
            style: grey,
            kind: LegendKind::Dashed,
        });
    }
    legend
}

/// A per-layer chart of one summary metric: one panel per (activation, width), one line per
/// init at the deepest swept depth, min–max band, dashed theory where given.
fn layer_figure(
    data: &ResultsData,
    name: &str,
    title: &str,
    caption: &str,
    y_label: &str,
    metric: fn(&SummaryRow) -> Spread,
    theory: Option<fn(&SummaryRow) -> Option<f64>>,
) -> Figure {
    let inits = data.inits();
    let mut by_cell: BTreeMap<&CellKey, Vec<&SummaryRow>> = BTreeMap::new();
    for r in &data.summary {
        by_cell.entry(&r.key).or_default().push(r);
    }
    let mut used = vec![false; inits.len()];
    let (mut any_band, mut any_theory) = (false, false);
    let several_depths = data.depths().len() > 1;
    let mut panels = Vec::new();
    for fam in &data.families() {
        let depth = by_cell
            .keys()
            .filter(|k| &k.family() == fam)
            .map(|k| k.depth)
            .max();
        let Some(depth) = depth else { continue };
        let mut series = Vec::new();
        let mut theory_series = Vec::new();
        for (i, init) in inits.iter().enumerate() {
            let Some(rows) = by_cell
                .iter()
                .find(|(k, _)| &k.family() == fam && &k.init == init && k.depth == depth)
                .map(|(_, r)| r)
            else {
                continue;
            };
            let mut rows = rows.clone();
            rows.sort_by_key(|r| r.layer);
            used[i] = true;
            let style = SeriesStyle::init(i);
            let points: Vec<Point> = rows
                .iter()
                .map(|r| {
                    let s = metric(r);
                    let band = (r.trials > 1).then_some((s.min, s.max));
                    any_band |= band.is_some();
                    Point {
                        x: r.layer as f64,
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
            if let Some(th) = theory {
                let points: Vec<Point> = rows
                    .iter()
                    .filter_map(|r| {
                        th(r).map(|y| Point {
                            x: r.layer as f64,
                            y,
                            band: None,
                        })
                    })
                    .collect();
                if let Some(s) = Series::theory_curve(init, style, points) {
                    any_theory = true;
                    theory_series.push(s);
                }
            }
        }
        series.extend(theory_series);
        let mut t = data.family_title(fam);
        if several_depths {
            t.push_str(&format!(" · depth {depth}"));
        }
        panels.push(Panel {
            title: t,
            x_label: "layer l".into(),
            y_label: y_label.into(),
            y_log: true,
            x_integer: true,
            x_log: false,
            x_ticks: None,
            series,
        });
    }
    let mut caption = caption.to_string();
    if several_depths {
        caption.push_str(" Each panel shows the deepest swept network.");
    }
    Figure {
        name: name.into(),
        title: format!("{}: {title}", data.experiment),
        caption,
        panels,
        legend: legend_for_inits(data, &used, any_band, any_theory),
        max_cols: 3,
    }
}

/// Per-trial forward and backward ratios from layers.csv: key → (min, max) of each.
type RatioBands = BTreeMap<CellKey, ((f64, f64), (f64, f64))>;

fn ratio_bands(data: &ResultsData) -> RatioBands {
    // (key, trial) → (preact_var at layer 1, at depth, grad_var at 1, at depth)
    let mut per_trial: BTreeMap<(&CellKey, usize), [f64; 4]> = BTreeMap::new();
    // A ResNet's ratios are its stream's (blocks), not its layers'.
    for r in data
        .layers
        .iter()
        .filter(|r| !r.key.network.starts_with("resnet"))
    {
        let e = per_trial.entry((&r.key, r.trial)).or_insert([f64::NAN; 4]);
        if r.layer == 1 {
            e[0] = r.preact_var;
            e[2] = r.grad_var;
        }
        if r.layer == r.key.depth {
            e[1] = r.preact_var;
            e[3] = r.grad_var;
        }
    }
    let mut out: BTreeMap<CellKey, Vec<(f64, f64)>> = BTreeMap::new();
    for ((key, _), v) in per_trial {
        out.entry(key.clone())
            .or_default()
            .push((v[1] / v[0], v[2] / v[3]));
    }
    out.into_iter()
        .filter(|(_, v)| v.len() > 1)
        .map(|(k, v)| {
            let span = |f: fn(&(f64, f64)) -> f64| {
                v.iter()
                    .map(f)
                    .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), x| {
                        if x.is_nan() {
                            (f64::NAN, f64::NAN)
                        } else {
                            (lo.min(x), hi.max(x))
                        }
                    })
            };
            (k, (span(|p| p.0), span(|p| p.1)))
        })
        .collect()
}

/// forward_ratio and backward_ratio against depth, one line per init (the "compare init
/// schemes across depths" chart).
pub fn across_depth_figure(data: &ResultsData) -> Figure {
    let inits = data.inits();
    let bands = ratio_bands(data);
    let mut used = vec![false; inits.len()];
    let (mut any_band, mut any_theory) = (false, false);
    let mut panels = Vec::new();
    for fam in &data.families() {
        // Depths of this panel; a single depth (a width profile) has no across-depth line.
        let mut depths = first_seen(
            data.cells
                .iter()
                .filter(|c| &c.key.family() == fam)
                .map(|c| c.key.depth),
        );
        depths.sort_unstable();
        if depths.len() < 2 {
            continue;
        }
        // Depths spanning 20× or more (1 … 1000) go on a log axis.
        let x_log = depths[0] > 0 && depths[depths.len() - 1] >= 20 * depths[0];
        let xv = |d: usize| if x_log { (d as f64).log10() } else { d as f64 };
        for forward in [true, false] {
            let mut series = Vec::new();
            let mut theory_series = Vec::new();
            for (i, init) in inits.iter().enumerate() {
                let mut cells: Vec<_> = data
                    .cells
                    .iter()
                    .filter(|c| &c.key.family() == fam && &c.key.init == init)
                    .collect();
                if cells.is_empty() {
                    continue;
                }
                cells.sort_by_key(|c| c.key.depth);
                used[i] = true;
                let style = SeriesStyle::init(i);
                let points = cells
                    .iter()
                    .map(|c| {
                        // The geometric mean (mean of log10 over trials) with the trials'
                        // min–max; files without the log10 columns fall back to the arithmetic
                        // mean and the band recomputed from layers.csv.
                        let log = if forward {
                            &c.log10_forward
                        } else {
                            &c.log10_backward
                        };
                        let (y, band) = match log {
                            Some(l) => (
                                10f64.powf(l.mean),
                                (c.trials > 1).then(|| (10f64.powf(l.min), 10f64.powf(l.max))),
                            ),
                            None => (
                                if forward {
                                    c.forward_ratio
                                } else {
                                    c.backward_ratio
                                },
                                bands
                                    .get(&c.key)
                                    .map(|(f, b)| if forward { *f } else { *b }),
                            ),
                        };
                        any_band |= band.is_some();
                        Point {
                            x: xv(c.key.depth),
                            y,
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
                let theory: Vec<Point> = cells
                    .iter()
                    .filter_map(|c| {
                        let t = if forward {
                            c.theory_forward_ratio
                        } else {
                            c.theory_backward_ratio
                        };
                        t.map(|y| Point {
                            x: xv(c.key.depth),
                            y,
                            band: None,
                        })
                    })
                    .collect();
                if let Some(s) = Series::theory_curve(init, style, theory) {
                    any_theory = true;
                    theory_series.push(s);
                }
            }
            series.extend(theory_series);
            let g = data.family_title(fam);
            panels.push(Panel {
                title: if forward {
                    format!("{g}: forward pass")
                } else {
                    format!("{g}: backward pass")
                },
                x_label: if x_log {
                    "depth L (layers, log scale)"
                } else {
                    "depth L (layers)"
                }
                .into(),
                y_label: if forward {
                    "Var[y_L] / Var[y_1]"
                } else {
                    "Var[δ_1] / Var[δ_L]"
                }
                .into(),
                y_log: true,
                x_integer: !x_log,
                x_log,
                x_ticks: Some(depths.iter().map(|&d| xv(d)).collect()),
                series,
            });
        }
    }
    Figure {
        name: "across_depth".into(),
        title: format!("{}: variance ratio between the last and the first layer, by depth", data.experiment),
        caption: "Forward ratio Var[y_L]/Var[y_1] (signal kept by the forward pass) and backward ratio \
                  Var[δ_1]/Var[δ_L] (gradient growth from the output to the input) against the depth L, \
                  one line per init; 1 means the variance is preserved, and each decade away from 1 is a \
                  factor of ten lost or gained. Each point is the geometric mean over trials (10 to the mean \
                  of log10 of the trials' ratios: deep nets' ratios are close to log-normal across draws, and \
                  an arithmetic mean would follow the largest trial); the band spans the trials' min to max."
            .into(),
        panels,
        legend: legend_for_inits(data, &used, any_band, any_theory),
        max_cols: 2,
    }
}

/// Mass left out of the histogram axis on each side.
const TAIL: f64 = 0.0005;

/// Drop the outer bins of a histogram (fractions summing to 1) that hold less than [`TAIL`]
/// of the mass on each side, keeping one empty bin as a margin. True when any bin was dropped.
fn trim_tails(points: &mut Vec<Point>) -> bool {
    let n = points.len();
    let mut lo = 0;
    let mut acc = 0.0;
    while lo < n && acc + points[lo].y < TAIL {
        acc += points[lo].y;
        lo += 1;
    }
    let mut hi = n;
    acc = 0.0;
    while hi > lo && acc + points[hi - 1].y < TAIL {
        acc += points[hi - 1].y;
        hi -= 1;
    }
    let (lo, hi) = (lo.saturating_sub(1), (hi + 1).min(n));
    if lo == 0 && hi == n {
        return false;
    }
    points.truncate(hi);
    points.drain(..lo);
    true
}

/// Normalized histograms of one quantity (`act` or `grad`): one panel per (activation, init,
/// width) at the deepest depth with histograms, one curve per recorded layer.
fn hist_figure(data: &ResultsData, quantity: &str) -> Option<Figure> {
    let rows: Vec<_> = data
        .hist
        .iter()
        .filter(|h| h.quantity == quantity)
        .collect();
    if rows.is_empty() {
        return None;
    }
    let mut layers: Vec<usize> = first_seen(rows.iter().map(|h| h.layer));
    layers.sort_unstable();
    let mut panels = Vec::new();
    let several_depths = first_seen(rows.iter().map(|h| h.key.depth)).len() > 1;
    let mut trimmed_any = false;
    for fam in &data.families() {
        for init in data.inits() {
            let depth = rows
                .iter()
                .filter(|h| &h.key.family() == fam && h.key.init == init)
                .map(|h| h.key.depth)
                .max();
            let Some(depth) = depth else { continue };
            let mut series = Vec::new();
            for (li, &layer) in layers.iter().enumerate() {
                let bins: Vec<_> = rows
                    .iter()
                    .filter(|h| {
                        &h.key.family() == fam
                            && h.key.init == init
                            && h.key.depth == depth
                            && h.layer == layer
                    })
                    .collect();
                let total: u64 = bins.iter().map(|h| h.count).sum();
                if bins.is_empty() || total == 0 {
                    continue;
                }
                let mut points: Vec<Point> = bins
                    .iter()
                    .map(|h| Point {
                        x: 0.5 * (h.bin_lo + h.bin_hi),
                        y: h.count as f64 / total as f64,
                        band: None,
                    })
                    .collect();
                points.sort_by(|a, b| a.x.total_cmp(&b.x));
                trimmed_any |= trim_tails(&mut points);
                series.push(Series {
                    label: format!("layer {layer}"),
                    style: SeriesStyle::ordered(li, layers.len()),
                    points,
                    theory: false,
                });
            }
            let mut title = format!("{} · {init}", data.family_title(fam));
            if several_depths {
                title = format!("{title} · depth {depth}");
            }
            panels.push(Panel {
                title,
                x_label: if quantity == "act" {
                    "activation value x_l".into()
                } else {
                    "back-propagated gradient δ_l = ∂loss/∂y_l".into()
                },
                y_label: "fraction of entries per bin".into(),
                y_log: false,
                x_integer: false,
                x_log: false,
                x_ticks: None,
                series,
            });
        }
    }
    let legend = layers
        .iter()
        .enumerate()
        .map(|(i, l)| LegendEntry {
            label: format!("layer {l}"),
            style: SeriesStyle::ordered(i, layers.len()),
            kind: LegendKind::Line,
        })
        .collect();
    let (name, title, caption) = if quantity == "act" {
        (
            "hist_act",
            "normalized histograms of the activations x_l by layer",
            "Distribution of the activation values at each recorded layer (Glorot & Bengio 2010, Fig. 6), \
             pooled over batch, units and trials; all layers of a panel share the same bins, so the curves \
             are directly comparable.",
        )
    } else {
        (
            "hist_grad",
            "normalized histograms of the back-propagated gradients δ_l by layer",
            "Distribution of the back-propagated gradients ∂loss/∂y_l at each recorded layer (Glorot & Bengio \
             2010, Fig. 7); a curve that narrows toward layer 1 means vanishing gradients, one that widens \
             means exploding gradients.",
        )
    };
    let mut caption = caption.to_string();
    if trimmed_any {
        caption.push_str(&format!(
            " The x axis leaves out the outer bins that together hold less than {}% of a layer's entries.",
            TAIL * 200.0
        ));
    }
    Some(Figure {
        name: name.into(),
        title: format!("{}: {title}", data.experiment),
        caption,
        panels,
        legend,
        max_cols: 3,
    })
}

/// Every chart the results support, in report order.
pub fn build_figures(data: &ResultsData) -> Vec<Figure> {
    let mut figs = vec![
        layer_figure(
            data,
            "forward_preact_var",
            "forward pass, pre-activation variance by layer",
            "Variance of the pre-activations y_l = W_l x_(l-1) + b_l at each layer, mean over trials \
             with the min–max band; a flat line means the init preserves the forward signal, a straight \
             slope on this log axis means a constant factor lost or gained per layer.",
            "Var[y_l]",
            |r| r.preact_var,
            Some(|r| r.theory_preact_var),
        ),
        layer_figure(
            data,
            "forward_act_sq_mean",
            "forward pass, second moment of the activations by layer",
            "E[x_l²], the mean square of the activations x_l = φ(y_l): the quantity He et al. (2015) \
             propagate, Var[y_(l+1)] = n·Var[w]·E[x_l²].",
            "E[x_l²]",
            |r| r.act_sq_mean,
            None,
        ),
        layer_figure(
            data,
            "backward_grad_var",
            "backward pass, gradient variance by layer",
            "Variance of the back-propagated gradient δ_l = ∂loss/∂y_l at each layer (the output is \
             on the right, the gradient flows right to left).",
            "Var[δ_l]",
            |r| r.grad_var,
            Some(|r| r.theory_grad_var),
        ),
        layer_figure(
            data,
            "backward_weight_grad_var",
            "backward pass, weight-gradient variance by layer",
            "Variance of the entries of the weight gradient ∂loss/∂W_l = δ_lᵀ x_(l-1): how evenly the \
             layers would learn at the first step of training.",
            "Var[∂loss/∂W_l]",
            |r| r.weight_grad_var,
            None,
        ),
        across_depth_figure(data),
    ];
    figs.extend(hist_figure(data, "act"));
    figs.extend(hist_figure(data, "grad"));
    figs.extend(super::spp::spp_figure(data));
    // [train] (issue 14): loss curves from train.csv (a malformed file is reported by `plot`).
    figs.extend(super::train::curves_figure(&data.dir).ok().flatten());
    // ---- issue 13 ----
    figs.extend(super::fluct::fluct_figure(data));
    figs.extend(super::spectrum::spectrum_figure(data));
    // A chart with nothing to show (across_depth when every panel is a single width profile).
    figs.retain(|f| !f.panels.is_empty());
    figs
}
