//! The order–chaos phase diagram chart, drawn from `phase.csv` and `critical_line.csv` alone
//! (written by `initlab theory --phase-out DIR`): σ_w² on x, σ_b² on y, the critical line
//! χ1 = 1 between the ordered (left, χ1 < 1) and chaotic (right, χ1 > 1) phases, and the
//! contours 6·ξ_c = L for L = 10, 30, 100, 300 — Schoenholz et al. 2017's bound on the depth L a
//! network at that (σ_w², σ_b²) can still be trained to. Each contour is found row by row (fixed
//! σ_b²) by linear interpolation of 6·ξ_c between neighbouring grid points, once on each side
//! of the critical line.

use super::figure::{Figure, LegendEntry, LegendKind, Panel, Point, Series};
use super::style::SeriesStyle;
use crate::error::bad;
use std::collections::BTreeMap;
use std::path::Path;

/// Trainable depths whose 6·ξ_c contours are drawn.
pub const DEPTHS: [f64; 4] = [10.0, 30.0, 100.0, 300.0];

fn read_rows(path: &Path, columns: &[&str]) -> anyhow::Result<Vec<Vec<f64>>> {
    let shown = path.display();
    let mut r =
        csv::Reader::from_path(path).map_err(|e| bad(format!("{shown}: cannot read: {e}")))?;
    let header = r
        .headers()
        .map_err(|e| bad(format!("{shown}: line 1: {e}")))?
        .clone();
    let idx: Vec<usize> = columns
        .iter()
        .map(|c| {
            header
                .iter()
                .position(|h| h == *c)
                .ok_or_else(|| bad(format!("{shown}: line 1: missing column '{c}'")))
        })
        .collect::<anyhow::Result<_>>()?;
    let mut rows = Vec::new();
    for (i, rec) in r.records().enumerate() {
        let line = i + 2;
        let rec = rec.map_err(|e| bad(format!("{shown}: line {line}: {e}")))?;
        let row = idx
            .iter()
            .zip(columns)
            .map(|(&k, c)| match rec.get(k).unwrap_or("") {
                "" => Ok(f64::NAN),
                s => s.parse::<f64>().map_err(|_| {
                    bad(format!(
                        "{shown}: line {line}: column '{c}' is not a number: '{s}'"
                    ))
                }),
            })
            .collect::<anyhow::Result<Vec<f64>>>()?;
        rows.push(row);
    }
    if rows.is_empty() {
        return Err(bad(format!("{shown}: no data rows")));
    }
    Ok(rows)
}

/// Where 6·ξ_c crosses `depth` along one row (σ_w² ascending): (ordered side, chaotic side).
fn crossings(row: &[(f64, f64, f64)], depth: f64) -> (Option<f64>, Option<f64>) {
    let (mut left, mut right) = (None, None);
    for pair in row.windows(2) {
        let ((w0, c0, d0), (w1, c1, d1)) = (pair[0], pair[1]);
        let (d0, d1) = (6.0 * d0, 6.0 * d1);
        if !(d0.is_finite() && d1.is_finite()) {
            continue;
        }
        let at = w0 + (depth - d0) / (d1 - d0) * (w1 - w0);
        if d0 < depth && d1 >= depth && c1 <= 1.0 {
            left = Some(at);
        }
        if d0 >= depth && d1 < depth && c0 >= 1.0 && right.is_none() {
            right = Some(at);
        }
    }
    (left, right)
}

/// The phase-diagram figure of the folder holding `phase.csv` and `critical_line.csv`.
pub fn phase_figure(dir: &Path, activation: &str) -> anyhow::Result<Figure> {
    let grid = read_rows(
        &dir.join("phase.csv"),
        &["sigma_w2", "sigma_b2", "chi1", "xi_c"],
    )?;
    let line = read_rows(&dir.join("critical_line.csv"), &["sigma_b2", "sigma_w2"])?;
    let mut rows: BTreeMap<u64, Vec<(f64, f64, f64)>> = BTreeMap::new();
    for r in &grid {
        rows.entry(r[1].to_bits())
            .or_default()
            .push((r[0], r[2], r[3]));
    }
    let pt = |x: f64, y: f64| Point { x, y, band: None };
    let mut series = vec![Series {
        label: "critical line χ1 = 1".into(),
        style: SeriesStyle::init(0),
        points: line
            .iter()
            .filter(|r| r[1].is_finite())
            .map(|r| pt(r[1], r[0]))
            .collect(),
        theory: false,
    }];
    let mut legend = vec![LegendEntry {
        label: "critical line χ1 = 1 (ordered left, chaotic right)".into(),
        style: SeriesStyle::init(0),
        kind: LegendKind::Line,
    }];
    for (i, &depth) in DEPTHS.iter().enumerate() {
        let style = SeriesStyle::ordered(i, DEPTHS.len());
        let (mut ordered, mut chaotic) = (Vec::new(), Vec::new());
        for (&b, row) in &rows {
            let mut row = row.clone();
            row.sort_by(|a, b| a.0.total_cmp(&b.0));
            let (l, r) = crossings(&row, depth);
            let b = f64::from_bits(b);
            if let Some(w) = l {
                ordered.push(pt(w, b));
            }
            if let Some(w) = r {
                chaotic.push(pt(w, b));
            }
        }
        for points in [ordered, chaotic] {
            if points.len() > 1 {
                series.push(Series {
                    label: format!("6·ξ_c = {depth}"),
                    style,
                    points,
                    theory: true,
                });
            }
        }
        legend.push(LegendEntry {
            label: format!("6·ξ_c = {depth} layers"),
            style,
            kind: LegendKind::Dashed,
        });
    }
    Ok(Figure {
        name: "phase_diagram".into(),
        title: format!("{activation}: order–chaos phase diagram (mean-field theory)"),
        caption: "σ_w² against σ_b²: left of the critical line χ1 = 1 signals and gradients \
                  vanish with depth (ordered), right of it they explode (chaotic). Between the \
                  dashed contours of the same depth L, 6·ξ_c > L: Schoenholz et al. (2017) find \
                  networks trainable only there."
            .into(),
        panels: vec![Panel {
            title: format!("{activation}: critical line and trainable-depth contours"),
            x_label: "σ_w² (weight variance × fan_in)".into(),
            y_label: "σ_b² (bias variance)".into(),
            y_log: false,
            x_integer: false,
            x_log: false,
            x_ticks: None,
            series,
        }],
        legend,
        max_cols: 1,
    })
}

/// The phase diagram as a heatmap (issue 14): ξ_c on the (σ_w², σ_b²) grid of `phase.csv`,
/// log colour scale with a colour bar (∞ at the top end), the contours 6·ξ_c = L for the
/// [`DEPTHS`] by marching squares on log ξ_c, and the critical line of `critical_line.csv`.
pub fn phase_heatmap(dir: &Path, activation: &str) -> anyhow::Result<super::heatmap::Heatmap> {
    let grid = read_rows(&dir.join("phase.csv"), &["sigma_w2", "sigma_b2", "xi_c"])?;
    let line = read_rows(&dir.join("critical_line.csv"), &["sigma_b2", "sigma_w2"])?;
    let mut xs: Vec<f64> = grid.iter().map(|r| r[0]).collect();
    let mut ys: Vec<f64> = grid.iter().map(|r| r[1]).collect();
    for v in [&mut xs, &mut ys] {
        v.sort_by(f64::total_cmp);
        v.dedup();
    }
    let mut values = vec![vec![f64::NAN; xs.len()]; ys.len()];
    for r in &grid {
        let i = xs.iter().position(|&x| x == r[0]).expect("listed");
        let j = ys.iter().position(|&y| y == r[1]).expect("listed");
        values[j][i] = r[2];
    }
    let finite: Vec<f64> = grid
        .iter()
        .map(|r| r[2])
        .filter(|v| v.is_finite() && *v > 0.0)
        .collect();
    let lo = finite.iter().copied().fold(f64::INFINITY, f64::min);
    let lo = 10f64.powf(lo.log10().floor()).max(1e-3);
    let hi = 1e3;
    Ok(super::heatmap::Heatmap {
        name: "phase_diagram".into(),
        title: format!("{activation}: depth scale ξ_c over the order–chaos phase diagram"),
        caption: "Mean-field theory (Poole et al. 2016; Schoenholz et al. 2017): colour is the \
                  correlation depth scale ξ_c at each (σ_w², σ_b²) on a log scale (∞ drawn at the top \
                  of the bar); it diverges on the critical line χ1 = 1 (black), ordered on its left, \
                  chaotic on its right. White contours: 6·ξ_c = L, the depth Schoenholz et al. find \
                  trainable."
            .into(),
        x_label: "σ_w² (weight variance × fan_in)".into(),
        y_label: "σ_b² (bias variance)".into(),
        color_label: "ξ_c (layers)".into(),
        xs,
        ys,
        values,
        log_color: true,
        range: (lo, hi),
        contours: DEPTHS
            .iter()
            .map(|&d| (d / 6.0, format!("6ξ_c = {d}")))
            .collect(),
        curves: vec![super::heatmap::Curve {
            label: "critical line χ1 = 1".into(),
            points: line
                .iter()
                .filter(|r| r[1].is_finite())
                .map(|r| (r[1], r[0]))
                .collect(),
            dashed: false,
            color: plotters::style::RGBColor(0, 0, 0),
        }],
        missing: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crossings_interpolate_on_both_sides() {
        // ξ_c peaks at the critical point w = 2 (χ1 = 1).
        let row: Vec<(f64, f64, f64)> = (0..9)
            .map(|i| {
                let w = 1.0 + 0.25 * i as f64;
                (w, w / 2.0, 10.0 / (1.0 + 4.0 * (w - 2.0).abs()))
            })
            .collect();
        let (l, r) = crossings(&row, 30.0);
        let (l, r) = (l.unwrap(), r.unwrap());
        assert!(l < 2.0 && r > 2.0, "{l} {r}");
        assert!(
            (l - 1.875).abs() < 0.13 && (r - 2.125).abs() < 0.13,
            "{l} {r}"
        );
        assert_eq!(crossings(&row, 1000.0), (None, None));
    }
}
