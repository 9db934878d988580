//! `report.html`: one self-contained page per results folder (no external assets: the charts
//! are inline SVG, the style sheet is inline) with the experiment's description, the tables of
//! forward/backward variance ratios by init and depth (collapsed cells flagged), every chart,
//! and the resolved configuration. Built from the CSV files (and experiment.toml /
//! manifest.json when present), like the charts.

use crate::output::atomic::write_atomic;
use crate::plot::figure::build_figures;
use crate::plot::read::{read_results, CellRow, ResultsData};
use crate::plot::render;
use crate::plot::style::{hex, SeriesStyle};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// Escape text for HTML.
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// A ratio for the tables: 3 significant digits, exponent form outside [0.01, 1000).
pub fn fmt_ratio(x: f64) -> String {
    if x.is_nan() {
        return "NaN".into();
    }
    if x.is_infinite() {
        return if x > 0.0 { "inf" } else { "-inf" }.into();
    }
    let a = x.abs();
    if a == 0.0 {
        "0".into()
    } else if (0.01..1000.0).contains(&a) {
        let digits = (2 - a.log10().floor() as i32).clamp(0, 4) as usize;
        format!("{x:.digits$}")
    } else {
        let s = format!("{x:.2e}");
        // 1.00e-5 → 1e-5, 2.50e7 → 2.5e7
        match s.split_once('e') {
            Some((m, e)) => {
                let m = m.trim_end_matches('0').trim_end_matches('.');
                format!("{m}e{e}")
            }
            None => s,
        }
    }
}

const CSS: &str = r#"
body { font-family: "DejaVu Sans", Verdana, Arial, sans-serif; color: #1a1a1a; background: #fff;
       max-width: 1200px; margin: 0 auto; padding: 24px 28px 60px; line-height: 1.45; }
h1 { font-size: 1.7em; margin: 0 0 6px; }
h2 { font-size: 1.3em; margin: 36px 0 8px; border-bottom: 1px solid #ddd; padding-bottom: 4px; }
h3 { font-size: 1.05em; margin: 20px 0 6px; }
p.desc { font-size: 1.05em; margin: 4px 0 10px; }
p.meta, p.hint, .caption { color: #555; font-size: 0.92em; }
nav { font-size: 0.92em; margin: 10px 0 0; }
nav a { margin-right: 14px; color: #0072b2; }
.warn { background: #fff4e5; border-left: 4px solid #d55e00; padding: 8px 14px; margin: 14px 0; }
.warn ul { margin: 4px 0; padding-left: 20px; }
table.ratios { border-collapse: collapse; margin: 6px 0 14px; font-size: 0.92em; }
table.ratios th, table.ratios td { border: 1px solid #d8d8d8; padding: 4px 9px; text-align: right; }
table.ratios th { background: #f4f4f4; font-weight: 600; text-align: center; }
table.ratios th.init, table.ratios td.init { text-align: left; white-space: nowrap; }
table.ratios td .th { display: block; color: #666; font-size: 0.85em; }
table.ratios td.ok { background: #eaf5ee; }
table.ratios td.far { background: #fdf0e6; }
table.ratios td.collapsed { background: #f9d9d9; }
.badge { display: inline-block; font-size: 0.78em; font-weight: 600; color: #fff; background: #b22; border-radius: 3px;
         padding: 0 4px; margin-left: 4px; }
.swatch { display: inline-block; width: 12px; height: 12px; border-radius: 2px; margin-right: 6px; vertical-align: -1px; }
figure.chart { margin: 8px 0 24px; }
figure.chart svg { max-width: 100%; height: auto; display: block; margin: 0 auto; border: 1px solid #eee; }
ul.notes { font-size: 0.88em; color: #555; }
pre.config { background: #f7f7f7; border: 1px solid #e2e2e2; padding: 12px; overflow-x: auto; font-size: 0.85em; }
footer { margin-top: 40px; color: #777; font-size: 0.85em; }
"#;

/// Optional context read beside the CSVs.
struct Context {
    config: Option<String>,
    description: Option<String>,
    manifest: Option<serde_json::Value>,
}

fn read_context(dir: &Path) -> Context {
    let config = std::fs::read_to_string(dir.join("experiment.toml")).ok();
    let description = config.as_deref().and_then(|t| {
        let v: toml::Table = toml::from_str(t).ok()?;
        v.get("description")
            .and_then(|d| d.as_str())
            .map(String::from)
    });
    let manifest = std::fs::read_to_string(dir.join("manifest.json"))
        .ok()
        .and_then(|t| serde_json::from_str(&t).ok());
    Context {
        config,
        description,
        manifest,
    }
}

/// One ratio of the table: the geometric mean over trials (10^mean of log10) when the file has
/// it, with its spread in decades, else the arithmetic mean.
fn ratio_cell(
    arithmetic: f64,
    log10: Option<&crate::plot::read::Spread>,
    theory: Option<f64>,
    cell: &CellRow,
) -> String {
    let value = log10.map_or(arithmetic, |l| 10f64.powf(l.mean));
    let collapsed = cell.collapsed();
    let class = if collapsed {
        "collapsed"
    } else if value > 0.0 && value.log10().abs() <= 0.3 {
        "ok"
    } else if value > 0.0 && value.log10().abs() >= 2.0 {
        "far"
    } else {
        ""
    };
    let mut s = format!("<td class=\"{class}\">{}", esc(&fmt_ratio(value)));
    if collapsed {
        let why = if cell.nonfinite_layers > 0 {
            format!("{} layer(s) met inf/NaN", cell.nonfinite_layers)
        } else if cell.underflow_trials > 0 {
            format!(
                "values underflowed to 0 or subnormal in {} of {} trials: rerun with dtype = \"f64\"",
                cell.underflow_trials, cell.trials
            )
        } else {
            "a variance left the finite range".into()
        };
        let _ = write!(
            s,
            "<span class=\"badge\" title=\"{}\">collapsed</span>",
            esc(&why)
        );
    }
    if let Some(l) = log10.filter(|l| l.std.is_some_and(|sd| sd >= 0.3)) {
        let _ = write!(
            s,
            "<span class=\"th\" title=\"trials from 1e{:.2} to 1e{:.2}\">± {:.1} decades</span>",
            l.min,
            l.max,
            l.std.unwrap_or(0.0)
        );
    }
    if let Some(t) = theory {
        let _ = write!(s, "<span class=\"th\">theory {}</span>", esc(&fmt_ratio(t)));
    }
    s.push_str("</td>");
    s
}

/// The ratio tables: one per panel family (activation, network, width class), init × depth.
fn ratio_tables(data: &ResultsData) -> String {
    let inits = data.inits();
    let mut html = String::new();
    for fam in data.families() {
        let cells: Vec<&CellRow> = data
            .cells
            .iter()
            .filter(|c| c.key.family() == fam)
            .collect();
        if cells.is_empty() {
            continue;
        }
        let mut depths = crate::plot::read::first_seen(cells.iter().map(|c| c.key.depth));
        depths.sort_unstable();
        let title = data.family_title(&fam);
        let _ = write!(
            html,
            "<h3>{}</h3>\n<table class=\"ratios\">\n<tr><th class=\"init\" rowspan=\"2\">init</th>",
            esc(&title)
        );
        for d in &depths {
            let _ = write!(html, "<th colspan=\"2\">depth {d}</th>");
        }
        html.push_str("</tr>\n<tr>");
        for _ in &depths {
            html.push_str("<th title=\"Var[y_L] / Var[y_1]\">forward</th><th title=\"Var[δ_1] / Var[δ_L]\">backward</th>");
        }
        html.push_str("</tr>\n");
        for (i, init) in inits.iter().enumerate() {
            let row: Vec<Option<&&CellRow>> = depths
                .iter()
                .map(|d| {
                    cells
                        .iter()
                        .find(|c| &c.key.init == init && c.key.depth == *d)
                })
                .collect();
            if row.iter().all(|c| c.is_none()) {
                continue;
            }
            let _ = write!(
                html,
                "<tr><td class=\"init\"><span class=\"swatch\" style=\"background:{}\"></span>{}</td>",
                hex(SeriesStyle::init(i).color),
                esc(init)
            );
            for c in row {
                match c {
                    Some(c) => {
                        html.push_str(&ratio_cell(
                            c.forward_ratio,
                            c.log10_forward.as_ref(),
                            c.theory_forward_ratio,
                            c,
                        ));
                        html.push_str(&ratio_cell(
                            c.backward_ratio,
                            c.log10_backward.as_ref(),
                            c.theory_backward_ratio,
                            c,
                        ));
                    }
                    None => html.push_str("<td>–</td><td>–</td>"),
                }
            }
            html.push_str("</tr>\n");
        }
        html.push_str("</table>\n");
    }
    html
}

fn meta_line(data: &ResultsData, ctx: &Context) -> String {
    let mut parts = Vec::new();
    let batch = data.cells.first().map(|c| c.batch).unwrap_or(0);
    parts.push(format!("{} cells", data.cells.len()));
    parts.push(format!("{} trials per cell", data.trials()));
    parts.push(format!("batch {batch}"));
    if let Some(m) = &ctx.manifest {
        if let Some(seed) = m.get("seed").and_then(|v| v.as_u64()) {
            parts.push(format!("seed {seed}"));
        }
        if let Some(d) = m.get("dtype").and_then(|v| v.as_str()) {
            parts.push(d.to_string());
        }
        if let Some(w) = m.get("wall_seconds").and_then(|v| v.as_f64()) {
            parts.push(format!("{w:.1} s wall time"));
        }
        if let Some(v) = m.get("initlab_version").and_then(|v| v.as_str()) {
            parts.push(format!("initlab {v}"));
        }
    }
    esc(&parts.join(" · "))
}

/// The report page for the results in `data` (`dir` supplies experiment.toml/manifest.json).
pub fn report_html(data: &ResultsData) -> anyhow::Result<String> {
    let ctx = read_context(&data.dir);
    let figures = build_figures(data);
    // [train] (issue 14): the trainability heatmap, drawn apart from the line charts.
    let heatmap = crate::plot::train::trainability_heatmap(&data.dir)?;
    let mut html = String::new();
    let _ = write!(
        html,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>initlab report: {name}</title>\n<style>{CSS}</style>\n</head>\n<body>\n<header>\n<h1>{name}</h1>\n",
        name = esc(&data.experiment)
    );
    match &ctx.description {
        Some(d) if !d.trim().is_empty() => {
            let _ = writeln!(html, "<p class=\"desc\">{}</p>", esc(d));
        }
        _ => html.push_str("<p class=\"desc\"><em>No description (experiment.toml has none or is absent).</em></p>\n"),
    }
    let _ = writeln!(html, "<p class=\"meta\">{}</p>", meta_line(data, &ctx));
    html.push_str("<nav><a href=\"#ratios\">ratio tables</a>");
    for f in &figures {
        let _ = write!(
            html,
            "<a href=\"#{}\">{}</a>",
            f.name,
            f.name.replace('_', " ")
        );
    }
    if let Some(hm) = &heatmap {
        let _ = write!(html, "<a href=\"#{0}\">{0}</a>", hm.name);
    }
    html.push_str("<a href=\"#config\">configuration</a></nav>\n</header>\n");

    let collapsed: Vec<&CellRow> = data.cells.iter().filter(|c| c.collapsed()).collect();
    if !collapsed.is_empty() {
        let _ = write!(
            html,
            "<div class=\"warn\"><strong>{} of {} cells collapsed</strong> (a layer met inf/NaN, or a variance \
             ratio left the finite range, or values underflowed the dtype to 0 or subnormal numbers: rerun those \
             with <code>dtype = \"f64\"</code>); their numbers are flagged below and their curves stop where the \
             values stop being finite:<ul>",
            collapsed.len(),
            data.cells.len()
        );
        for c in &collapsed {
            let _ = write!(
                html,
                "<li>{} · {} · {} · widths {} · depth {}: {} layer(s) with non-finite values; \
                 underflow in {} and overflow in {} of {} trials</li>",
                esc(&c.key.activation),
                esc(&c.key.init),
                esc(&c.key.network),
                esc(&c.key.widths),
                c.key.depth,
                c.nonfinite_layers,
                c.underflow_trials,
                c.overflow_trials,
                c.trials
            );
        }
        html.push_str("</ul></div>\n");
    }

    html.push_str("<section id=\"ratios\">\n<h2>Variance ratios by init and depth</h2>\n");
    html.push_str(
        "<p class=\"hint\">forward = Var[y<sub>L</sub>] / Var[y<sub>1</sub>], backward = Var[δ<sub>1</sub>] / \
         Var[δ<sub>L</sub>], each the geometric mean over trials (10 to the mean of log10: ratios of deep nets are \
         close to log-normal across draws, and an arithmetic mean follows the largest trial), with the spread in \
         decades (the std of log10) where it reaches 0.3; 1 means the variance is preserved through the network. \
         Green: within a factor of 2 of 1; orange: off by 100× or more; red: collapsed.</p>\n",
    );
    html.push_str(&ratio_tables(data));
    html.push_str("</section>\n");

    for fig in &figures {
        let (svg, lay) = render::to_svg(fig)?;
        let svg = svg.trim_start_matches(|c: char| c != '<');
        let svg = match svg.strip_prefix("<?xml") {
            Some(rest) => rest.split_once("?>").map(|(_, s)| s).unwrap_or(rest),
            None => svg,
        };
        let _ = write!(
            html,
            "<section id=\"{}\">\n<h2>{}</h2>\n<p class=\"caption\">{}</p>\n<figure class=\"chart\" role=\"img\" aria-label=\"{}\">\n{}\n</figure>\n",
            fig.name,
            esc(fig.title.split_once(": ").map(|(_, t)| t).unwrap_or(&fig.title)),
            esc(&fig.caption),
            esc(&fig.title),
            svg.trim()
        );
        if !lay.notes.is_empty() {
            html.push_str("<ul class=\"notes\">");
            for n in &lay.notes {
                let _ = write!(html, "<li>{}</li>", esc(n));
            }
            html.push_str("</ul>\n");
        }
        html.push_str("</section>\n");
    }

    if let Some(hm) = &heatmap {
        let svg = crate::plot::heatmap::to_svg(hm)?;
        let svg = match svg.trim_start().strip_prefix("<?xml") {
            Some(rest) => rest
                .split_once("?>")
                .map(|(_, s)| s.to_string())
                .unwrap_or(svg),
            None => svg,
        };
        let _ = write!(
            html,
            "<section id=\"{}\">\n<h2>{}</h2>\n<p class=\"caption\">{}</p>\n<figure class=\"chart\" role=\"img\" aria-label=\"{}\">\n{}\n</figure>\n</section>\n",
            hm.name,
            esc(&hm.title),
            esc(&hm.caption),
            esc(&hm.title),
            svg.trim()
        );
    }
    html.push_str("<section id=\"config\">\n<h2>Resolved configuration (experiment.toml)</h2>\n");
    match &ctx.config {
        Some(c) => {
            let _ = writeln!(html, "<pre class=\"config\">{}</pre>", esc(c));
        }
        None => html.push_str("<p><em>experiment.toml is not in this folder.</em></p>\n"),
    }
    html.push_str("</section>\n");
    let _ = write!(
        html,
        "<footer>Generated by initlab {} from the CSV files of this folder; regenerate with \
         <code>initlab report {}</code>.</footer>\n</body>\n</html>\n",
        env!("CARGO_PKG_VERSION"),
        esc(&data.dir.display().to_string())
    );
    Ok(html)
}

/// Read the results in `dir` and write `dir/report.html`.
pub fn write_report(dir: &Path) -> anyhow::Result<PathBuf> {
    let data = read_results(dir)?;
    let html = report_html(&data)?;
    let path = dir.join("report.html");
    write_atomic(&path, html.as_bytes())?;
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ratios_format() {
        assert_eq!(fmt_ratio(1.0391), "1.04");
        assert_eq!(fmt_ratio(0.0019523), "1.95e-3");
        assert_eq!(fmt_ratio(123.456), "123");
        assert_eq!(fmt_ratio(1e-40), "1e-40");
        assert_eq!(fmt_ratio(f64::INFINITY), "inf");
        assert_eq!(esc("<a & 'b'>"), "&lt;a &amp; &#39;b&#39;&gt;");
    }
}
