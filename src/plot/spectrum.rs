//! Jacobian spectra (Pennington, Schoenholz & Ganguli 2017) from `cells.csv` and
//! `spectrum.csv`: per activation, the normalized variance Var[λ]/E[λ]² of the eigenvalues
//! λ = σ² of JJᵀ against depth, one line per init, beside the free-probability prediction
//! (dashed); and the measured density of log10 λ at the deepest depth, one line per init.

use super::figure::{Figure, LegendEntry, LegendKind, Panel, Point, Series};
use super::read::{
    first_seen, read_cell_columns, read_spectrum, read_spectrum_theory, ResultsData,
};
use super::style::{Marker, SeriesStyle, GREY};

const COLS: &[&str] = &["jac_sq_sv_nvar", "theory_jac_sq_sv_nvar"];

/// Bins of the density panels.
const BINS: usize = 40;

/// The spectrum figure, or `None` without `spectrum.csv`.
pub fn spectrum_figure(data: &ResultsData) -> Option<Figure> {
    let cells = read_cell_columns(&data.dir.join("cells.csv"), COLS).ok()?;
    if cells.iter().all(|(_, _, v)| v[0].is_none()) {
        return None;
    }
    // The density panels need spectrum.csv; without it (not committed for large nets) the
    // moment panels are still drawn from cells.csv.
    let path = data.dir.join("spectrum.csv");
    let values = if path.exists() {
        read_spectrum(&path).ok()?
    } else {
        Vec::new()
    };
    let tpath = data.dir.join("spectrum_theory.csv");
    let theory_density = if tpath.exists() {
        read_spectrum_theory(&tpath).ok()?
    } else {
        Vec::new()
    };
    let inits = data.inits();
    let mut panels = Vec::new();
    let mut used = vec![false; inits.len()];
    let mut any_theory = false;
    for act in first_seen(cells.iter().map(|(k, _, _)| k.activation.clone())) {
        let mut series = Vec::new();
        let mut theory = Vec::new();
        let mut density = Vec::new();
        if !cells
            .iter()
            .any(|(k, _, v)| k.activation == act && v[0].is_some())
        {
            continue;
        }
        for (i, init) in inits.iter().enumerate() {
            let mut rows: Vec<_> = cells
                .iter()
                .filter(|(k, _, v)| k.activation == act && &k.init == init && v[0].is_some())
                .collect();
            if rows.is_empty() {
                continue;
            }
            used[i] = true;
            rows.sort_by_key(|(k, _, _)| k.depth);
            let style = SeriesStyle::init(i);
            series.push(Series {
                label: init.clone(),
                style,
                points: rows
                    .iter()
                    .filter_map(|(k, _, v)| {
                        v[0].map(|y| Point {
                            x: k.depth as f64,
                            y,
                            band: None,
                        })
                    })
                    .collect(),
                theory: false,
            });
            let tp: Vec<Point> = rows
                .iter()
                .filter_map(|(k, _, v)| {
                    v[1].map(|y| Point {
                        x: k.depth as f64,
                        y,
                        band: None,
                    })
                })
                .collect();
            if let Some(s) = Series::theory_curve(init, style, tp) {
                any_theory = true;
                theory.push(s);
            }
            // Density of log10 λ at the deepest depth.
            let (deep, _, _) = rows[rows.len() - 1];
            let logs: Vec<f64> = values
                .iter()
                .filter(|(k, s)| k == deep && *s > 0.0)
                .map(|(_, s)| (s * s).log10())
                .filter(|x| x.is_finite())
                .collect();
            if logs.len() > 1 {
                let theory: Vec<(f64, f64)> = theory_density
                    .iter()
                    .filter(|(k, _, _)| k == deep)
                    .map(|(_, x, d)| (*x, *d))
                    .collect();
                density.push((init.clone(), style, deep.depth, logs, theory));
            }
        }
        series.extend(theory);
        panels.push(Panel {
            title: format!("{act}: Var[λ]/E[λ]² of JJᵀ by depth"),
            x_label: "depth L".into(),
            y_label: "Var[λ]/E[λ]²".into(),
            y_log: false,
            x_integer: true,
            x_log: false,
            x_ticks: None,
            series,
        });
        if !density.is_empty() {
            // From the 2nd percentile up: the smallest λ of a deep or rank-deficient product
            // reach 1e-300 (round-off zeros) and would squeeze the bulk into one bin.
            let mut all: Vec<f64> = density.iter().flat_map(|d| d.3.iter().copied()).collect();
            all.sort_by(f64::total_cmp);
            let lo = all[all.len() / 50];
            let hi = density
                .iter()
                .flat_map(|d| d.3.iter())
                .fold(f64::NEG_INFINITY, |a, &b| a.max(b));
            let (lo, hi) = if hi - lo < 1e-6 {
                (lo - 0.5, hi + 0.5)
            } else {
                (lo, hi)
            };
            let w = (hi - lo) / BINS as f64;
            let depth = density[0].2;
            let mut dashed = Vec::new();
            for (init, style, _, _, theory) in &density {
                let pts: Vec<Point> = theory
                    .iter()
                    .filter(|(x, _)| *x >= lo && *x <= hi)
                    .map(|&(x, y)| Point { x, y, band: None })
                    .collect();
                if let Some(s) = Series::theory_curve(init, *style, pts) {
                    any_theory = true;
                    dashed.push(s);
                }
            }
            let mut series: Vec<Series> = density
                .into_iter()
                .map(|(init, style, _, logs, _)| {
                    let mut c = vec![0usize; BINS];
                    for x in logs.iter().filter(|&&x| x >= lo) {
                        c[(((x - lo) / w) as usize).min(BINS - 1)] += 1;
                    }
                    Series {
                        label: init,
                        style,
                        points: c
                            .iter()
                            .enumerate()
                            .map(|(k, &n)| Point {
                                x: lo + (k as f64 + 0.5) * w,
                                y: n as f64 / (logs.len() as f64 * w),
                                band: None,
                            })
                            .collect(),
                        theory: false,
                    }
                })
                .collect();
            series.extend(dashed);
            panels.push(Panel {
                title: format!("{act}: density of log10 λ at depth {depth}"),
                x_label: "log10 λ (λ = σ², eigenvalues of JJᵀ)".into(),
                y_label: "density".into(),
                y_log: false,
                x_integer: false,
                x_log: false,
                x_ticks: None,
                series,
            });
        }
    }
    if panels.is_empty() {
        return None;
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
    if any_theory {
        legend.push(LegendEntry {
            label: "free probability (Pennington et al. 2017)".into(),
            style: SeriesStyle {
                color: GREY,
                marker: Marker::Circle,
            },
            kind: LegendKind::Dashed,
        });
    }
    Some(Figure {
        name: "jacobian_spectrum".into(),
        title: format!("{}: input–output Jacobian spectra", data.experiment),
        caption: "Pennington, Schoenholz & Ganguli (2017): the eigenvalues λ = σ² of JJᵀ, J = ∂x_L/∂x_0, \
                  Left: each Jacobian's normalized variance Var[λ]/E[λ]², averaged over trials × inputs, against depth; \
                  dashed: the free-probability prediction Σ_l (μ2/μ1² − 1 − s1) — L for linear Gaussian, \
                  0 for linear orthogonal, 2L for ReLU Gaussian, L for ReLU orthogonal, bounded for \
                  tanh orthogonal near criticality (dynamical isometry). Right: the measured density of \
                  log10 λ at the deepest depth (spectrum.csv's saved inputs; the lowest 2% of all λ, down to round-off zeros, fall off the left edge), dashed: the free-probability density where the law is closed-form (linear, ReLU; a ReLU net's other half of λ is exactly 0)."
            .into(),
        panels,
        legend,
        max_cols: 2,
    })
}
