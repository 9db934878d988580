//! Drawing a [`Figure`] with plotters onto any backend (SVG string or RGB buffer → PNG).
//!
//! Log axes are drawn as log10 of the value on a linear axis with hand-picked ticks (`1e-6`,
//! `0.01`, `1`, `1e3`, …), so spans from a fraction of a decade to 80 decades all read well.
//! Values a log axis cannot show (zero, negative, inf, NaN) are skipped, the line is broken
//! there, and the figure says so in a note under the legend.

use super::figure::{Figure, LegendKind, Panel, Series};
use super::style::{bold, font, Marker, SeriesStyle, GREY, GRID};
use plotters::coord::Shift;
use plotters::prelude::*;

pub const PANEL_W: u32 = 480;
pub const PANEL_H: u32 = 370;
const TITLE_H: u32 = 46;
const LEGEND_ROW_H: u32 = 28;
const NOTE_H: u32 = 21;
const MAX_NOTES: usize = 4;
const LEGEND_FONT: f64 = 16.0;
const NOTE_FONT: f64 = 14.0;

/// A series ready to draw: coordinates already transformed (log10 for log axes).
struct Prepared {
    style: SeriesStyle,
    theory: bool,
    segments: Vec<Vec<(f64, f64)>>,
    bands: Vec<Vec<(f64, f64, f64)>>,
    markers: Vec<(f64, f64)>,
}

struct PreparedPanel {
    title: String,
    x_label: String,
    y_label: String,
    y_log: bool,
    x_log: bool,
    x_range: (f64, f64),
    y_range: (f64, f64),
    x_ticks: Vec<f64>,
    y_ticks: Vec<f64>,
    y_light: Vec<f64>,
    series: Vec<Prepared>,
    empty: bool,
}

/// Everything needed to draw, with the size of the canvas.
pub struct Layout {
    pub width: u32,
    pub height: u32,
    cols: usize,
    rows: usize,
    panels: Vec<PreparedPanel>,
    legend_rows: Vec<Vec<(usize, i32)>>,
    /// Notes drawn under the legend (the values a log axis skipped).
    pub notes: Vec<String>,
    shown_notes: Vec<String>,
}

fn finite(v: f64, log: bool) -> Option<f64> {
    if !v.is_finite() {
        return None;
    }
    if log {
        (v > 0.0).then(|| v.log10())
    } else {
        Some(v)
    }
}

/// Round `x` to a "nice" 1-2-5 step.
fn nice_step(raw: f64) -> f64 {
    let e = raw.log10().floor();
    let base = 10f64.powf(e);
    let m = raw / base;
    let n = if m <= 1.0 {
        1.0
    } else if m <= 2.0 {
        2.0
    } else if m <= 5.0 {
        5.0
    } else {
        10.0
    };
    n * base
}

/// About `target` evenly spaced ticks on a nice step inside [lo, hi].
pub fn linear_ticks(lo: f64, hi: f64, target: usize, integer: bool) -> Vec<f64> {
    if hi.partial_cmp(&lo) != Some(std::cmp::Ordering::Greater) {
        return vec![lo];
    }
    let mut step = nice_step((hi - lo) / target.max(1) as f64);
    if integer {
        step = step.max(1.0).round();
    }
    let start = (lo / step).ceil() as i64;
    let end = (hi / step).floor() as i64;
    (start..=end).map(|k| k as f64 * step).collect()
}

/// Ticks for a log10 axis spanning [lo, hi] (in decades): whole decades (every 1, 2, 5, 10, …
/// decades, at most ~8 labels) and, for short spans, 2× and 5× in between.
/// Returns (labelled ticks, light grid lines).
pub fn log_ticks(lo: f64, hi: f64) -> (Vec<f64>, Vec<f64>) {
    let span = hi - lo;
    let decades: Vec<f64> = ((lo.ceil() as i64)..=(hi.floor() as i64))
        .map(|k| k as f64)
        .collect();
    if decades.len() >= 3 {
        let mut step = 1i64;
        for s in [1i64, 2, 5, 10, 20, 50, 100, 200, 500] {
            step = s;
            if (span / s as f64) <= 8.0 {
                break;
            }
        }
        let ticks: Vec<f64> = decades
            .iter()
            .copied()
            .filter(|k| (*k as i64).rem_euclid(step) == 0)
            .collect();
        let light = if step > 1 && decades.len() <= 60 {
            decades
        } else {
            Vec::new()
        };
        return (ticks, light);
    }
    // Short span: 1, 2, 5 × 10^k, then finer mantissas if that is still too few.
    for mantissas in [
        &[1.0, 2.0, 5.0][..],
        &[1.0, 1.5, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0][..],
    ] {
        let mut ticks = Vec::new();
        for k in (lo.floor() as i64 - 1)..=(hi.ceil() as i64) {
            for m in mantissas {
                let v = (m * 10f64.powi(k as i32)).log10();
                if v >= lo - 1e-12 && v <= hi + 1e-12 {
                    ticks.push(v);
                }
            }
        }
        if ticks.len() >= 3 || mantissas.len() > 3 {
            if ticks.len() > 9 {
                let keep = ticks.len().div_ceil(8);
                ticks = ticks.into_iter().step_by(keep).collect();
            }
            return (ticks, Vec::new());
        }
    }
    (decades, Vec::new())
}

/// Label of a log10-axis tick: `1e-6`, `0.01`, `1`, `100`, `2e5`.
pub fn log_label(v: f64) -> String {
    let k = v.floor();
    let mut m = 10f64.powf(v - k);
    let mut k = k as i32;
    if m >= 9.95 {
        m /= 10.0;
        k += 1;
    }
    let m_text = if (m - m.round()).abs() < 0.05 {
        format!("{}", m.round() as i64)
    } else {
        format!("{m:.1}")
    };
    if (-2..=3).contains(&k) {
        let value = m_text.parse::<f64>().unwrap_or(m) * 10f64.powi(k);
        trim_number(value, 2 - k.min(0) as usize + 1)
    } else if m_text == "1" {
        format!("1e{k}")
    } else {
        format!("{m_text}e{k}")
    }
}

fn trim_number(v: f64, max_decimals: usize) -> String {
    let s = format!("{v:.max_decimals$}");
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s
    }
}

/// Label of a linear-axis tick: as few digits as the step needs.
pub fn linear_label(v: f64, step: f64) -> String {
    if v == 0.0 {
        return "0".into();
    }
    let a = v.abs();
    if !(1e-3..1e5).contains(&a) {
        let s = format!("{v:.1e}");
        return s.replace(".0e", "e");
    }
    let decimals = if step > 0.0 && step < 1.0 {
        (-step.log10().floor()) as usize
    } else {
        0
    };
    trim_number(v, decimals.min(6))
}

fn prepare_series(s: &Series, log: bool, marker_slot: usize) -> (Prepared, usize) {
    let mut segments = vec![Vec::new()];
    let mut skipped = 0;
    for p in &s.points {
        match finite(p.y, log) {
            Some(y) if p.x.is_finite() => segments.last_mut().expect("non-empty").push((p.x, y)),
            _ => {
                skipped += 1;
                if !segments.last().expect("non-empty").is_empty() {
                    segments.push(Vec::new());
                }
            }
        }
    }
    segments.retain(|s| !s.is_empty());
    let valid: Vec<(f64, f64)> = segments.iter().flatten().copied().collect();
    let markers = if s.theory {
        Vec::new()
    } else {
        let step = valid.len().div_ceil(10).max(1);
        let offset = if step > 1 { marker_slot % step } else { 0 };
        valid.iter().skip(offset).step_by(step).copied().collect()
    };
    (
        Prepared {
            style: s.style,
            theory: s.theory,
            segments,
            bands: Vec::new(),
            markers,
        },
        skipped,
    )
}

fn prepare_panel(panel: &Panel, notes: &mut Vec<String>) -> PreparedPanel {
    let log = panel.y_log;
    let mut series = Vec::new();
    for (i, s) in panel.series.iter().enumerate() {
        let (p, skipped) = prepare_series(s, log, i);
        if skipped > 0 {
            notes.push(format!(
                "{} — {}: {skipped} of {} values are zero, negative or non-finite and are not drawn{}",
                panel.title,
                s.label,
                s.points.len(),
                if log { " on the log axis" } else { "" }
            ));
        }
        series.push(p);
    }
    // Ranges from everything that can be drawn (means, band edges, theory).
    let (mut x0, mut x1, mut y0, mut y1) = (
        f64::INFINITY,
        f64::NEG_INFINITY,
        f64::INFINITY,
        f64::NEG_INFINITY,
    );
    let mut take_y = |y: f64| {
        y0 = y0.min(y);
        y1 = y1.max(y);
    };
    for s in &panel.series {
        for p in &s.points {
            if !p.x.is_finite() {
                continue;
            }
            let ys = [Some(p.y), p.band.map(|b| b.0), p.band.map(|b| b.1)];
            let mut any = false;
            for y in ys.into_iter().flatten().filter_map(|y| finite(y, log)) {
                take_y(y);
                any = true;
            }
            if any {
                x0 = x0.min(p.x);
                x1 = x1.max(p.x);
            }
        }
    }
    let empty = !(x0.is_finite() && y0.is_finite());
    if empty {
        (x0, x1, y0, y1) = (0.0, 1.0, 0.0, 1.0);
    }
    if let Some(t) = &panel.x_ticks {
        for &x in t {
            x0 = x0.min(x);
            x1 = x1.max(x);
        }
    }
    // Padding.
    if x1 <= x0 {
        x0 -= 1.0;
        x1 += 1.0;
    }
    let xpad = (x1 - x0) * 0.03;
    let (x0, x1) = (x0 - xpad, x1 + xpad);
    let (y0, y1) = if log {
        let (mut a, mut b) = (y0, y1);
        if b - a < 0.3 {
            let mid = 0.5 * (a + b);
            a = mid - 0.3;
            b = mid + 0.3;
        }
        let pad = (b - a) * 0.05;
        let (a, b) = (a - pad, b + pad);
        // A few decades: extend to whole decades so both ends carry a labelled tick.
        if (1.2..=8.0).contains(&(b - a)) {
            (a.floor().min(a - 0.02), b.ceil().max(b + 0.02))
        } else {
            (a, b)
        }
    } else if panel.y_log || y0 >= 0.0 {
        (0.0, if y1 > 0.0 { y1 * 1.06 } else { 1.0 })
    } else {
        let pad = (y1 - y0).max(1e-300) * 0.05;
        (y0 - pad, y1 + pad)
    };
    // Bands, clamped to the axis where the minimum is zero/negative or the maximum infinite.
    for (s, p) in panel.series.iter().zip(series.iter_mut()) {
        let mut bands = vec![Vec::new()];
        for pt in &s.points {
            let band = pt.band.and_then(|(lo, hi)| {
                if lo.is_nan() || hi.is_nan() || !pt.x.is_finite() {
                    return None;
                }
                let hi = if hi == f64::INFINITY {
                    Some(y1)
                } else {
                    finite(hi, log)
                }?;
                let lo = finite(lo, log).unwrap_or(y0).max(y0);
                Some((pt.x, lo, hi.min(y1)))
            });
            match band {
                Some(b) => bands.last_mut().expect("non-empty").push(b),
                None => {
                    if !bands.last().expect("non-empty").is_empty() {
                        bands.push(Vec::new());
                    }
                }
            }
        }
        bands.retain(|b| !b.is_empty());
        p.bands = bands;
    }
    let x_ticks = match &panel.x_ticks {
        Some(t) if t.len() <= 12 => t.clone(),
        _ => {
            let lo = if panel.x_integer {
                x0.ceil().max(0.0)
            } else {
                x0
            };
            let mut t = linear_ticks(lo, x1, 7, panel.x_integer);
            if panel.x_integer && t.first() == Some(&0.0) && x0 > -0.5 {
                t.remove(0);
                if t.first() != Some(&1.0) && lo <= 1.0 {
                    t.insert(0, 1.0);
                }
            }
            t
        }
    };
    let (y_ticks, y_light) = if log {
        log_ticks(y0, y1)
    } else {
        (linear_ticks(y0, y1, 6, false), Vec::new())
    };
    PreparedPanel {
        title: panel.title.clone(),
        x_label: panel.x_label.clone(),
        y_label: if log {
            format!("{} (log scale)", panel.y_label)
        } else {
            panel.y_label.clone()
        },
        y_log: log,
        x_log: panel.x_log,
        x_range: (x0, x1),
        y_range: (y0, y1),
        x_ticks,
        y_ticks,
        y_light,
        series,
        empty,
    }
}

fn text_width(text: &str, size: f64) -> i32 {
    font(size)
        .box_size(text)
        .map(|(w, _)| w as i32)
        .unwrap_or((text.chars().count() as f64 * size * 0.6) as i32)
}

const SWATCH_W: i32 = 40;

/// `text` at a font size (16 down to 12) that fits in `max` pixels, shortened with "…" if needed.
fn fit(text: &str, max: i32, size: f64) -> (String, f64) {
    let w = |t: &str, s: f64| {
        bold(s)
            .box_size(t)
            .map(|(w, _)| w as i32)
            .unwrap_or(i32::MAX)
    };
    let mut s = size;
    while s > 12.0 && w(text, s) > max {
        s -= 1.0;
    }
    if w(text, s) <= max {
        return (text.to_string(), s);
    }
    let mut chars: Vec<char> = text.chars().collect();
    while !chars.is_empty() {
        chars.pop();
        let t: String = chars.iter().collect::<String>() + "…";
        if w(&t, s) <= max {
            return (t, s);
        }
    }
    (String::new(), s)
}

/// Split `text` at spaces into lines no wider than `max` pixels at `size`.
fn wrap(text: &str, max: i32, size: f64) -> Vec<String> {
    let mut lines = Vec::new();
    let mut line = String::new();
    for word in text.split(' ') {
        let candidate = if line.is_empty() {
            word.to_string()
        } else {
            format!("{line} {word}")
        };
        if !line.is_empty() && text_width(&candidate, size) > max {
            lines.push(std::mem::take(&mut line));
            line = format!("    {word}");
        } else {
            line = candidate;
        }
    }
    if !line.is_empty() {
        lines.push(line);
    }
    lines
}

/// Lay out a figure: panel grid, legend rows (wrapped to the width), notes.
pub fn layout(fig: &Figure) -> Layout {
    let n = fig.panels.len().max(1);
    let cols = match n {
        1..=3 => n,
        4 => 2,
        _ => fig.max_cols.max(1),
    }
    .min(fig.max_cols.max(1));
    let rows = n.div_ceil(cols);
    let width = (cols as u32 * PANEL_W).max(760);
    let mut notes = Vec::new();
    let panels: Vec<PreparedPanel> = fig
        .panels
        .iter()
        .map(|p| prepare_panel(p, &mut notes))
        .collect();
    // Legend: entries flow left to right and wrap.
    let mut legend_rows: Vec<Vec<(usize, i32)>> = vec![Vec::new()];
    let mut x = 20;
    for (i, e) in fig.legend.iter().enumerate() {
        let w = SWATCH_W + 8 + text_width(&e.label, LEGEND_FONT) + 28;
        if x + w > width as i32 - 10 && !legend_rows.last().expect("non-empty").is_empty() {
            legend_rows.push(Vec::new());
            x = 20;
        }
        legend_rows.last_mut().expect("non-empty").push((i, x));
        x += w;
    }
    legend_rows.retain(|r| !r.is_empty());
    // Center each legend row.
    for row in &mut legend_rows {
        let last = row.last().copied();
        if let Some((i, lx)) = last {
            let end = lx + SWATCH_W + 8 + text_width(&fig.legend[i].label, LEGEND_FONT);
            let shift = ((width as i32 - end) - 20) / 2;
            for e in row.iter_mut() {
                e.1 += shift.max(0);
            }
        }
    }
    let mut shown_notes: Vec<String> = notes.iter().take(MAX_NOTES).cloned().collect();
    if notes.len() > MAX_NOTES {
        shown_notes.push(format!(
            "… and {} more such series (listed in the report)",
            notes.len() - MAX_NOTES
        ));
    }
    // Wrap long notes at spaces to the figure's width.
    let shown_notes: Vec<String> = shown_notes
        .iter()
        .flat_map(|n| wrap(n, width as i32 - 40, NOTE_FONT))
        .collect();
    let legend_h = legend_rows.len() as u32 * LEGEND_ROW_H + 14;
    let notes_h = if shown_notes.is_empty() {
        0
    } else {
        shown_notes.len() as u32 * NOTE_H + 8
    };
    let height = TITLE_H + rows as u32 * PANEL_H + legend_h + notes_h;
    Layout {
        width,
        height,
        cols,
        rows,
        panels,
        legend_rows,
        notes,
        shown_notes,
    }
}

/// A linear f64 axis with explicit ticks (labelled) and light grid lines.
#[derive(Clone)]
struct TickAxis {
    lo: f64,
    hi: f64,
    ticks: Vec<f64>,
    light: Vec<f64>,
}

impl Ranged for TickAxis {
    type FormatOption = plotters::coord::ranged1d::DefaultFormatting;
    type ValueType = f64;

    fn map(&self, value: &f64, limit: (i32, i32)) -> i32 {
        let t = (value - self.lo) / (self.hi - self.lo);
        let px = limit.0 as f64 + t * (limit.1 - limit.0) as f64;
        px.clamp(-1e6, 1e6).round() as i32
    }

    fn key_points<Hint: plotters::coord::ranged1d::KeyPointHint>(&self, hint: Hint) -> Vec<f64> {
        if hint.weight().allow_light_points() {
            self.light.clone()
        } else {
            self.ticks.clone()
        }
    }

    fn range(&self) -> std::ops::Range<f64> {
        self.lo..self.hi
    }
}

fn err<E: std::fmt::Display>(what: &str) -> impl Fn(E) -> anyhow::Error + '_ {
    move |e| anyhow::anyhow!("drawing {what}: {e}")
}

fn draw_marker<DB: DrawingBackend, CT: CoordTranslate>(
    area: &DrawingArea<DB, CT>,
    at: CT::From,
    style: SeriesStyle,
) -> anyhow::Result<()>
where
    CT::From: Clone,
{
    let c = style.color;
    let filled = ShapeStyle::from(&c).filled();
    let open = ShapeStyle::from(&c).stroke_width(2);
    let white = ShapeStyle::from(&WHITE).filled();
    let e = err::<DrawingAreaErrorKind<DB::ErrorType>>("a marker");
    let tri = |s: i32| vec![(0, -s), (s, s * 3 / 4 + 1), (-s, s * 3 / 4 + 1)];
    match style.marker {
        Marker::Circle => area.draw(&Circle::new(at, 4, filled)).map_err(e),
        Marker::OpenCircle => {
            area.draw(&Circle::new(at.clone(), 4, white)).map_err(&e)?;
            area.draw(&Circle::new(at, 4, open)).map_err(e)
        }
        Marker::Square => area
            .draw(&(EmptyElement::at(at) + Rectangle::new([(-4, -4), (4, 4)], filled)))
            .map_err(e),
        Marker::OpenSquare => {
            area.draw(&(EmptyElement::at(at.clone()) + Rectangle::new([(-4, -4), (4, 4)], white)))
                .map_err(&e)?;
            area.draw(&(EmptyElement::at(at) + Rectangle::new([(-4, -4), (4, 4)], open)))
                .map_err(e)
        }
        Marker::Triangle => area
            .draw(&(EmptyElement::at(at) + Polygon::new(tri(5), filled)))
            .map_err(e),
        Marker::OpenTriangle => {
            let mut t = tri(5);
            area.draw(&(EmptyElement::at(at.clone()) + Polygon::new(t.clone(), white)))
                .map_err(&e)?;
            t.push(t[0]);
            area.draw(&(EmptyElement::at(at) + PathElement::new(t, open)))
                .map_err(e)
        }
        Marker::Diamond => area
            .draw(
                &(EmptyElement::at(at)
                    + Polygon::new(vec![(0, -5), (5, 0), (0, 5), (-5, 0)], filled)),
            )
            .map_err(e),
        Marker::Cross => {
            area.draw(
                &(EmptyElement::at(at.clone()) + PathElement::new(vec![(-4, -4), (4, 4)], open)),
            )
            .map_err(&e)?;
            area.draw(&(EmptyElement::at(at) + PathElement::new(vec![(-4, 4), (4, -4)], open)))
                .map_err(e)
        }
    }
}

fn draw_panel<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    p: &PreparedPanel,
) -> anyhow::Result<()> {
    let e = err::<DrawingAreaErrorKind<DB::ErrorType>>("a panel");
    let (title, title_size) = fit(&p.title, area.dim_in_pixel().0 as i32 - 24, 17.0);
    let mut chart = ChartBuilder::on(area)
        .caption(&title, bold(title_size))
        .margin_top(6)
        .margin_right(18)
        .margin_left(6)
        .margin_bottom(4)
        .x_label_area_size(50)
        .y_label_area_size(86)
        .build_cartesian_2d(
            TickAxis {
                lo: p.x_range.0,
                hi: p.x_range.1,
                ticks: p.x_ticks.clone(),
                light: Vec::new(),
            },
            TickAxis {
                lo: p.y_range.0,
                hi: p.y_range.1,
                ticks: p.y_ticks.clone(),
                light: p.y_light.clone(),
            },
        )
        .map_err(&e)?;
    let x_step = if p.x_ticks.len() > 1 {
        p.x_ticks[1] - p.x_ticks[0]
    } else {
        1.0
    };
    let y_step = if p.y_ticks.len() > 1 {
        p.y_ticks[1] - p.y_ticks[0]
    } else {
        1.0
    };
    let x_fmt = |v: &f64| {
        if p.x_log {
            // Ticks sit on the swept depths: whole numbers.
            format!("{}", 10f64.powf(*v).round())
        } else {
            linear_label(*v, x_step)
        }
    };
    let y_fmt = |v: &f64| {
        if p.y_log {
            log_label(*v)
        } else {
            linear_label(*v, y_step)
        }
    };
    chart
        .configure_mesh()
        .x_desc(p.x_label.as_str())
        .y_desc(p.y_label.as_str())
        .x_label_formatter(&x_fmt)
        .y_label_formatter(&y_fmt)
        .label_style(font(15.0))
        .axis_desc_style(font(16.0))
        .bold_line_style(GRID.stroke_width(1))
        .light_line_style(RGBColor(242, 242, 242).stroke_width(1))
        .axis_style(RGBColor(60, 60, 60).stroke_width(1))
        .draw()
        .map_err(&e)?;
    let plot = chart.plotting_area();
    if p.empty {
        let (w, h) = area.dim_in_pixel();
        area.draw(&Text::new(
            "no finite values to plot",
            (w as i32 / 2 - 80, h as i32 / 2),
            font(15.0).color(&GREY),
        ))
        .map_err(&e)?;
        return Ok(());
    }
    for s in &p.series {
        for band in &s.bands {
            if let [(x, lo, hi)] = band[..] {
                // A lone point: an error bar instead of a band.
                let style = s.style.color.mix(0.7).stroke_width(2);
                plot.draw(&PathElement::new(vec![(x, lo), (x, hi)], style))
                    .map_err(&e)?;
                for y in [lo, hi] {
                    plot.draw(
                        &(EmptyElement::at((x, y))
                            + PathElement::new(vec![(-5, 0), (5, 0)], style)),
                    )
                    .map_err(&e)?;
                }
                continue;
            }
            let mut poly: Vec<(f64, f64)> = band.iter().map(|b| (b.0, b.2)).collect();
            poly.extend(band.iter().rev().map(|b| (b.0, b.1)));
            plot.draw(&Polygon::new(poly, s.style.color.mix(0.16).filled()))
                .map_err(&e)?;
        }
    }
    for s in p.series.iter().filter(|s| !s.theory) {
        for seg in &s.segments {
            if seg.len() == 1 {
                continue;
            }
            plot.draw(&PathElement::new(
                seg.clone(),
                s.style.color.stroke_width(2),
            ))
            .map_err(&e)?;
        }
    }
    for s in p.series.iter().filter(|s| s.theory) {
        for seg in &s.segments {
            for dash in DashedLineSeries::new(
                seg.iter().copied(),
                9,
                6,
                s.style.color.mix(0.9).stroke_width(2),
            ) {
                plot.draw(&dash).map_err(&e)?;
            }
        }
    }
    for s in &p.series {
        for &m in &s.markers {
            draw_marker(plot, m, s.style)?;
        }
    }
    Ok(())
}

fn draw_legend_swatch<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    x: i32,
    y: i32,
    kind: &LegendKind,
    style: SeriesStyle,
) -> anyhow::Result<()> {
    let e = err::<DrawingAreaErrorKind<DB::ErrorType>>("the legend");
    match kind {
        LegendKind::Line => {
            area.draw(&PathElement::new(
                vec![(x, y), (x + SWATCH_W, y)],
                style.color.stroke_width(2),
            ))
            .map_err(&e)?;
            draw_marker(area, (x + SWATCH_W / 2, y), style)
        }
        LegendKind::Band => area
            .draw(&Rectangle::new(
                [(x, y - 7), (x + SWATCH_W, y + 7)],
                style.color.mix(0.25).filled(),
            ))
            .map_err(e),
        LegendKind::Dashed => {
            for k in 0..3 {
                let a = x + k * 15;
                area.draw(&PathElement::new(
                    vec![(a, y), (a + 9, y)],
                    style.color.stroke_width(2),
                ))
                .map_err(&e)?;
            }
            Ok(())
        }
    }
}

/// Draw `fig` (laid out as `lay`) on `root`.
pub fn draw<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    fig: &Figure,
    lay: &Layout,
) -> anyhow::Result<()> {
    let e = err::<DrawingAreaErrorKind<DB::ErrorType>>("the figure");
    root.fill(&WHITE).map_err(&e)?;
    let (title_area, rest) = root.split_vertically(TITLE_H);
    let title_style =
        bold(21.0)
            .into_text_style(&title_area)
            .pos(plotters::style::text_anchor::Pos::new(
                plotters::style::text_anchor::HPos::Center,
                plotters::style::text_anchor::VPos::Center,
            ));
    title_area
        .draw(&Text::new(
            fig.title.as_str(),
            (lay.width as i32 / 2, TITLE_H as i32 / 2 + 2),
            title_style,
        ))
        .map_err(&e)?;
    let (grid, bottom) = rest.split_vertically(lay.rows as u32 * PANEL_H);
    let cells = grid.split_evenly((lay.rows, lay.cols));
    for (area, p) in cells.iter().zip(&lay.panels) {
        draw_panel(area, p)?;
    }
    let legend_h = lay.legend_rows.len() as u32 * LEGEND_ROW_H + 14;
    let (legend, notes) = bottom.split_vertically(legend_h);
    for (r, row) in lay.legend_rows.iter().enumerate() {
        let y = 10 + r as i32 * LEGEND_ROW_H as i32 + LEGEND_ROW_H as i32 / 2;
        for &(i, x) in row {
            let entry = &fig.legend[i];
            draw_legend_swatch(&legend, x, y, &entry.kind, entry.style)?;
            let style = font(LEGEND_FONT).into_text_style(&legend).pos(
                plotters::style::text_anchor::Pos::new(
                    plotters::style::text_anchor::HPos::Left,
                    plotters::style::text_anchor::VPos::Center,
                ),
            );
            legend
                .draw(&Text::new(
                    entry.label.as_str(),
                    (x + SWATCH_W + 8, y),
                    style,
                ))
                .map_err(&e)?;
        }
    }
    for (k, note) in lay.shown_notes.iter().enumerate() {
        notes
            .draw(&Text::new(
                note.as_str(),
                (20, 4 + k as i32 * NOTE_H as i32),
                font(NOTE_FONT).color(&RGBColor(90, 90, 90)),
            ))
            .map_err(&e)?;
    }
    root.present().map_err(&e)?;
    Ok(())
}

/// The figure as SVG text.
pub fn to_svg(fig: &Figure) -> anyhow::Result<(String, Layout)> {
    super::style::register_fonts()?;
    let lay = layout(fig);
    let mut out = String::new();
    {
        let root = SVGBackend::with_string(&mut out, (lay.width, lay.height)).into_drawing_area();
        draw(&root, fig, &lay)?;
    }
    Ok((out, lay))
}

/// The figure as PNG bytes.
pub fn to_png(fig: &Figure) -> anyhow::Result<(Vec<u8>, Layout)> {
    super::style::register_fonts()?;
    let lay = layout(fig);
    let (w, h) = (lay.width, lay.height);
    let mut rgb = vec![255u8; w as usize * h as usize * 3];
    {
        let root = BitMapBackend::with_buffer(&mut rgb, (w, h)).into_drawing_area();
        draw(&root, fig, &lay)?;
    }
    Ok((encode_png(&rgb, w, h)?, lay))
}

/// PNG bytes of an 8-bit RGB buffer of `w` × `h` pixels (row-major).
pub fn encode_png(rgb: &[u8], w: u32, h: u32) -> anyhow::Result<Vec<u8>> {
    let mut png_bytes = Vec::new();
    {
        let mut enc = png::Encoder::new(&mut png_bytes, w, h);
        enc.set_color(png::ColorType::Rgb);
        enc.set_depth(png::BitDepth::Eight);
        let mut writer = enc
            .write_header()
            .map_err(|e| anyhow::anyhow!("encoding PNG: {e}"))?;
        writer
            .write_image_data(rgb)
            .map_err(|e| anyhow::anyhow!("encoding PNG: {e}"))?;
    }
    Ok(png_bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_labels() {
        assert_eq!(log_label(-6.0), "1e-6");
        assert_eq!(log_label(0.0), "1");
        assert_eq!(log_label(-2.0), "0.01");
        assert_eq!(log_label(3.0), "1000");
        assert_eq!(log_label(40.0), "1e40");
        assert_eq!(log_label(2f64.log10()), "2");
        assert_eq!(log_label(5f64.log10() - 1.0), "0.5");
        assert_eq!(log_label(2f64.log10() - 7.0), "2e-7");
    }

    #[test]
    fn log_tick_choice() {
        let (t, _) = log_ticks(-60.0, 1.0);
        assert!(t.len() <= 9 && t.len() >= 3, "{t:?}");
        assert!(t.iter().all(|v| v.fract() == 0.0));
        let (t, _) = log_ticks(-0.2, 0.5);
        assert!(t.len() >= 3, "{t:?}");
        let (t, _) = log_ticks(-3.2, 0.4);
        assert_eq!(t, vec![-3.0, -2.0, -1.0, 0.0]);
    }

    #[test]
    fn linear_tick_choice() {
        assert_eq!(
            linear_ticks(1.0, 30.0, 7, true),
            vec![5.0, 10.0, 15.0, 20.0, 25.0, 30.0]
        );
        assert_eq!(linear_label(0.25, 0.05), "0.25");
        assert_eq!(linear_label(20.0, 5.0), "20");
    }
}
