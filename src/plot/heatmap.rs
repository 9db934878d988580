//! Heatmaps drawn with plotters from values already read from CSV files: a grid of cells
//! coloured by value (viridis, linear or log10 colour scale) with a colour bar, contour lines
//! found by marching squares, and overlaid curves (theory dashed). Used for the trainability
//! map (`train.csv`) and the order–chaos phase diagram (`phase.csv`).

use super::style::{bold, font, GREY};
use plotters::coord::Shift;
use plotters::prelude::*;

/// Viridis anchors (matplotlib's colormap at 0, 1/8, …, 1).
const VIRIDIS: [(u8, u8, u8); 9] = [
    (68, 1, 84),
    (71, 44, 122),
    (59, 81, 139),
    (44, 113, 142),
    (33, 144, 141),
    (39, 173, 129),
    (92, 200, 99),
    (170, 220, 50),
    (253, 231, 37),
];

/// The viridis colour at t ∈ [0, 1] (clamped), linearly interpolated between anchors.
pub fn viridis(t: f64) -> RGBColor {
    let t = if t.is_nan() { 0.0 } else { t.clamp(0.0, 1.0) };
    let x = t * (VIRIDIS.len() - 1) as f64;
    let i = (x.floor() as usize).min(VIRIDIS.len() - 2);
    let f = x - i as f64;
    let (a, b) = (VIRIDIS[i], VIRIDIS[i + 1]);
    let mix = |p: u8, q: u8| (p as f64 + f * (q as f64 - p as f64)).round() as u8;
    RGBColor(mix(a.0, b.0), mix(a.1, b.1), mix(a.2, b.2))
}

/// A curve over the heatmap.
#[derive(Debug, Clone, PartialEq)]
pub struct Curve {
    pub label: String,
    pub points: Vec<(f64, f64)>,
    pub dashed: bool,
    pub color: RGBColor,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Heatmap {
    /// File stem under plots/.
    pub name: String,
    pub title: String,
    pub caption: String,
    pub x_label: String,
    pub y_label: String,
    pub color_label: String,
    /// Cell centres, ascending.
    pub xs: Vec<f64>,
    pub ys: Vec<f64>,
    /// values[iy][ix]; NaN: no value (drawn grey).
    pub values: Vec<Vec<f64>>,
    /// Colour by log10 of the value (values ≤ 0 or inf are clamped to the ends).
    pub log_color: bool,
    /// The colour scale's ends (in value units).
    pub range: (f64, f64),
    /// Contour levels (value units) drawn as thin lines with their labels, and their colour.
    pub contours: Vec<(f64, String)>,
    pub curves: Vec<Curve>,
    /// What a grey (NaN) cell means, for the legend (None: no grey cells expected).
    pub missing: Option<String>,
}

/// Edges of cells centred at `c` (ascending): midpoints, the ends mirrored.
fn edges(c: &[f64]) -> Vec<f64> {
    match c.len() {
        0 => Vec::new(),
        1 => vec![c[0] - 0.5, c[0] + 0.5],
        n => {
            let mut e = vec![c[0] - (c[1] - c[0]) / 2.0];
            e.extend(c.windows(2).map(|w| (w[0] + w[1]) / 2.0));
            e.push(c[n - 1] + (c[n - 1] - c[n - 2]) / 2.0);
            e
        }
    }
}

impl Heatmap {
    /// Position of `v` on the colour scale, in [0, 1].
    pub fn scale(&self, v: f64) -> f64 {
        let (lo, hi) = self.range;
        if self.log_color {
            let (l, h) = (lo.log10(), hi.log10());
            let x = if v <= 0.0 {
                l
            } else if v.is_infinite() {
                h
            } else {
                v.log10()
            };
            (x - l) / (h - l)
        } else {
            (v - lo) / (hi - lo)
        }
    }

    /// Contour segments of `level` by marching squares over the cell centres (linear
    /// interpolation along each edge; log10 of the values when the colour scale is log).
    pub fn contour(&self, level: f64) -> Vec<[(f64, f64); 2]> {
        let f = |v: f64| {
            if self.log_color {
                if v.is_infinite() {
                    1e300f64.log10()
                } else {
                    v.log10()
                }
            } else {
                v
            }
        };
        let lv = f(level);
        let mut segs = Vec::new();
        for iy in 0..self.ys.len().saturating_sub(1) {
            for ix in 0..self.xs.len().saturating_sub(1) {
                // Corners counter-clockwise from bottom-left.
                let c = [
                    (self.xs[ix], self.ys[iy], f(self.values[iy][ix])),
                    (self.xs[ix + 1], self.ys[iy], f(self.values[iy][ix + 1])),
                    (
                        self.xs[ix + 1],
                        self.ys[iy + 1],
                        f(self.values[iy + 1][ix + 1]),
                    ),
                    (self.xs[ix], self.ys[iy + 1], f(self.values[iy + 1][ix])),
                ];
                if c.iter().any(|p| p.2.is_nan()) {
                    continue;
                }
                let mut cross = Vec::new();
                for k in 0..4 {
                    let (a, b) = (c[k], c[(k + 1) % 4]);
                    if (a.2 < lv) != (b.2 < lv) {
                        let t = (lv - a.2) / (b.2 - a.2);
                        cross.push((a.0 + t * (b.0 - a.0), a.1 + t * (b.1 - a.1)));
                    }
                }
                if cross.len() >= 2 {
                    segs.push([cross[0], cross[1]]);
                }
                if cross.len() == 4 {
                    segs.push([cross[2], cross[3]]);
                }
            }
        }
        segs
    }
}

const W: u32 = 980;
const H: u32 = 700;
const BAR_W: u32 = 150;
const LEGEND_H: u32 = 70;

fn err<E: std::fmt::Display>(e: E) -> anyhow::Error {
    anyhow::anyhow!("drawing a heatmap: {e}")
}

fn tick_label(v: f64) -> String {
    if v != 0.0 && (v.abs() >= 1e4 || v.abs() < 1e-2) {
        format!("{v:.0e}")
    } else {
        let s = format!("{v:.3}");
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    }
}

/// Draw `hm` on `root`.
pub fn draw<DB: DrawingBackend>(root: &DrawingArea<DB, Shift>, hm: &Heatmap) -> anyhow::Result<()> {
    root.fill(&WHITE).map_err(err)?;
    let root = root.titled(&hm.title, bold(20.0)).map_err(err)?;
    let (top, legend) = root.split_vertically(H - 30 - LEGEND_H);
    let (main, bar) = top.split_horizontally(W - BAR_W);
    let (xe, ye) = (edges(&hm.xs), edges(&hm.ys));
    let (x0, x1) = (xe[0], xe[xe.len() - 1]);
    let (y0, y1) = (ye[0], ye[ye.len() - 1]);
    let mut chart = ChartBuilder::on(&main)
        .margin(12)
        .x_label_area_size(52)
        .y_label_area_size(70)
        .build_cartesian_2d(x0..x1, y0..y1)
        .map_err(err)?;
    chart
        .configure_mesh()
        .disable_mesh()
        .x_desc(hm.x_label.as_str())
        .y_desc(hm.y_label.as_str())
        .x_label_formatter(&|v| tick_label(*v))
        .y_label_formatter(&|v| tick_label(*v))
        .label_style(font(15.0))
        .axis_desc_style(font(16.0))
        .draw()
        .map_err(err)?;
    for (iy, row) in hm.values.iter().enumerate() {
        for (ix, &v) in row.iter().enumerate() {
            let color = if v.is_nan() {
                RGBColor(200, 200, 200)
            } else {
                viridis(hm.scale(v))
            };
            chart
                .draw_series(std::iter::once(Rectangle::new(
                    [(xe[ix], ye[iy]), (xe[ix + 1], ye[iy + 1])],
                    color.filled(),
                )))
                .map_err(err)?;
        }
    }
    let clip = |(x, y): (f64, f64)| (x.clamp(x0, x1), y.clamp(y0, y1));
    for (k, (level, label)) in hm.contours.iter().enumerate() {
        let segs = hm.contour(*level);
        let style = WHITE.mix(0.85).stroke_width(1);
        for s in &segs {
            chart
                .draw_series(std::iter::once(PathElement::new(
                    vec![clip(s[0]), clip(s[1])],
                    style,
                )))
                .map_err(err)?;
        }
        // Label at the segment nearest the top of the chart.
        if let Some(s) = segs
            .iter()
            .max_by(|a, b| a[0].1.total_cmp(&b[0].1).then(b[0].0.total_cmp(&a[0].0)))
        {
            // Staggered downwards so neighbouring contours' labels do not overlap.
            let (x, y) = clip(s[0]);
            let y = (y - (k as f64 + 0.5) * 0.035 * (y1 - y0)).max(y0);
            chart
                .draw_series(std::iter::once(Text::new(
                    label.clone(),
                    (x, y),
                    font(13.0).color(&WHITE),
                )))
                .map_err(err)?;
        }
    }
    for c in &hm.curves {
        // Points beyond the y range (or infinite) are drawn at its edge; NaN breaks the curve.
        let mut runs: Vec<Vec<(f64, f64)>> = vec![Vec::new()];
        for &(x, y) in &c.points {
            if x.is_nan() || y.is_nan() {
                runs.push(Vec::new());
            } else {
                runs.last_mut().expect("non-empty").push(clip((x, y)));
            }
        }
        for run in runs.into_iter().filter(|r| r.len() > 1) {
            // A white halo under the line keeps it readable on every colour.
            chart
                .draw_series(std::iter::once(PathElement::new(
                    run.clone(),
                    WHITE.stroke_width(5),
                )))
                .map_err(err)?;
            if c.dashed {
                chart
                    .draw_series(DashedLineSeries::new(run, 9, 6, c.color.stroke_width(3)))
                    .map_err(err)?;
            } else {
                chart
                    .draw_series(LineSeries::new(run, c.color.stroke_width(3)))
                    .map_err(err)?;
            }
        }
    }
    // Colour bar.
    let (bw, bh) = bar.dim_in_pixel();
    let (bx, by0, by1) = (20i32, 30i32, bh as i32 - 70);
    let steps = 120;
    for k in 0..steps {
        let t0 = k as f64 / steps as f64;
        let y_top = by1 - ((k + 1) as f64 / steps as f64 * (by1 - by0) as f64) as i32;
        let y_bot = by1 - (t0 * (by1 - by0) as f64) as i32;
        bar.draw(&Rectangle::new(
            [(bx, y_top), (bx + 26, y_bot)],
            viridis(t0 + 0.5 / steps as f64).filled(),
        ))
        .map_err(err)?;
    }
    let (lo, hi) = hm.range;
    let ticks: Vec<f64> = if hm.log_color {
        let (l, h) = (lo.log10().ceil() as i64, hi.log10().floor() as i64);
        (l..=h).map(|k| 10f64.powi(k as i32)).collect()
    } else {
        (0..=5).map(|k| lo + (hi - lo) * k as f64 / 5.0).collect()
    };
    for v in ticks {
        let y = by1 - (hm.scale(v) * (by1 - by0) as f64) as i32;
        bar.draw(&PathElement::new(
            vec![(bx + 26, y), (bx + 32, y)],
            BLACK.stroke_width(1),
        ))
        .map_err(err)?;
        bar.draw(&Text::new(tick_label(v), (bx + 36, y - 8), font(14.0)))
            .map_err(err)?;
    }
    let _ = bw;
    bar.draw(&Text::new(
        hm.color_label.clone(),
        (bx - 8, by1 + 22),
        font(14.0),
    ))
    .map_err(err)?;
    // Legend: the curves, contours and the grey cells.
    let mut x = 20;
    let y = 24;
    for c in &hm.curves {
        let style = c.color.stroke_width(3);
        if c.dashed {
            legend
                .draw(&PathElement::new(vec![(x, y), (x + 12, y)], style))
                .map_err(err)?;
            legend
                .draw(&PathElement::new(vec![(x + 20, y), (x + 32, y)], style))
                .map_err(err)?;
        } else {
            legend
                .draw(&PathElement::new(vec![(x, y), (x + 32, y)], style))
                .map_err(err)?;
        }
        legend
            .draw(&Text::new(c.label.clone(), (x + 40, y - 9), font(15.0)))
            .map_err(err)?;
        x += 60 + (c.label.chars().count() as i32) * 8;
    }
    if let Some(m) = &hm.missing {
        legend
            .draw(&Rectangle::new(
                [(x, y - 8), (x + 18, y + 8)],
                RGBColor(200, 200, 200).filled(),
            ))
            .map_err(err)?;
        legend
            .draw(&Text::new(
                m.clone(),
                (x + 26, y - 9),
                font(15.0).color(&GREY),
            ))
            .map_err(err)?;
    }
    if !hm.contours.is_empty() {
        legend
            .draw(&Text::new(
                "thin white lines: contours of the colour variable (labelled)",
                (20, y + 24),
                font(14.0).color(&GREY),
            ))
            .map_err(err)?;
    }
    root.present().map_err(err)?;
    Ok(())
}

/// The heatmap as SVG text.
pub fn to_svg(hm: &Heatmap) -> anyhow::Result<String> {
    super::style::register_fonts()?;
    let mut out = String::new();
    {
        let root = SVGBackend::with_string(&mut out, (W, H)).into_drawing_area();
        draw(&root, hm)?;
    }
    Ok(out)
}

/// The heatmap as PNG bytes.
pub fn to_png(hm: &Heatmap) -> anyhow::Result<Vec<u8>> {
    super::style::register_fonts()?;
    let mut rgb = vec![255u8; W as usize * H as usize * 3];
    {
        let root = BitMapBackend::with_buffer(&mut rgb, (W, H)).into_drawing_area();
        draw(&root, hm)?;
    }
    super::render::encode_png(&rgb, W, H)
}

/// Write `hm` as PNG and/or SVG into `dir/plots/`; returns the files.
pub fn write(
    dir: &std::path::Path,
    hm: &Heatmap,
    png: bool,
    svg: bool,
) -> anyhow::Result<Vec<std::path::PathBuf>> {
    let plots = dir.join("plots");
    std::fs::create_dir_all(&plots)
        .map_err(|e| anyhow::anyhow!("creating {}: {e}", plots.display()))?;
    let mut files = Vec::new();
    if svg {
        let p = plots.join(format!("{}.svg", hm.name));
        crate::output::atomic::write_atomic(&p, to_svg(hm)?.as_bytes())?;
        files.push(p);
    }
    if png {
        let p = plots.join(format!("{}.png", hm.name));
        crate::output::atomic::write_atomic(&p, &to_png(hm)?)?;
        files.push(p);
    }
    Ok(files)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Marching squares on f = x + y finds the line x + y = level exactly (f is linear).
    #[test]
    fn contours_of_a_plane_are_exact() {
        let xs: Vec<f64> = (0..6).map(|i| i as f64).collect();
        let ys = xs.clone();
        let values = ys
            .iter()
            .map(|y| xs.iter().map(|x| x + y).collect())
            .collect();
        let hm = Heatmap {
            name: "t".into(),
            title: String::new(),
            caption: String::new(),
            x_label: String::new(),
            y_label: String::new(),
            color_label: String::new(),
            xs,
            ys,
            values,
            log_color: false,
            range: (0.0, 10.0),
            contours: Vec::new(),
            curves: Vec::new(),
            missing: None,
        };
        let segs = hm.contour(4.5);
        assert!(!segs.is_empty());
        for s in segs {
            for (x, y) in s {
                assert!((x + y - 4.5).abs() < 1e-12);
            }
        }
        assert_eq!(viridis(0.0), RGBColor(68, 1, 84));
        assert_eq!(viridis(1.0), RGBColor(253, 231, 37));
        let svg = to_svg(&hm).unwrap();
        assert!(svg.contains("<svg"));
    }
}
