//! Charts from a results folder's CSV files alone (never the simulator): [`read`] parses the
//! tables, [`figure`] decides what each chart shows, [`render`] draws it with plotters into
//! PNG and SVG under `RESULTS_DIR/plots/`.

pub mod figure;
pub mod fluct;
pub mod heatmap;
pub mod phase;
pub mod read;
pub mod render;
pub mod spectrum;
pub mod spp;
pub mod style;
pub mod train;

use crate::error::bad;
use crate::output::atomic::write_atomic;
use std::path::{Path, PathBuf};

/// Which files `plot` writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Png,
    Svg,
    Both,
}

impl Format {
    pub fn parse(s: &str) -> anyhow::Result<Format> {
        match s {
            "png" => Ok(Format::Png),
            "svg" => Ok(Format::Svg),
            "both" => Ok(Format::Both),
            other => Err(bad(crate::error::unknown_name(
                "format",
                other,
                &["png", "svg", "both"],
            ))),
        }
    }
    fn png(self) -> bool {
        self != Format::Svg
    }
    fn svg(self) -> bool {
        self != Format::Png
    }
}

/// What a plot run produced.
#[derive(Debug, Default)]
pub struct PlotOutcome {
    pub files: Vec<PathBuf>,
    /// Values that could not be drawn (zero/non-finite on a log axis), one line per series.
    pub notes: Vec<String>,
}

/// Draw `figures` into `dir/plots/`.
pub fn write_figures(
    dir: &Path,
    figures: &[figure::Figure],
    format: Format,
) -> anyhow::Result<PlotOutcome> {
    let plots = dir.join("plots");
    std::fs::create_dir_all(&plots)
        .map_err(|e| anyhow::anyhow!("creating {}: {e}", plots.display()))?;
    let mut out = PlotOutcome::default();
    for fig in figures {
        let mut notes = Vec::new();
        if format.svg() {
            let (svg, lay) = render::to_svg(fig)?;
            let path = plots.join(format!("{}.svg", fig.name));
            write_atomic(&path, svg.as_bytes())?;
            out.files.push(path);
            notes = lay.notes;
        }
        if format.png() {
            let (png, lay) = render::to_png(fig)?;
            let path = plots.join(format!("{}.png", fig.name));
            write_atomic(&path, &png)?;
            out.files.push(path);
            notes = lay.notes;
        }
        out.notes
            .extend(notes.into_iter().map(|n| format!("{}: {n}", fig.name)));
    }
    Ok(out)
}

/// Read the CSVs of `dir` and write every chart into `dir/plots/`.
pub fn plot_dir(dir: &Path, format: Format) -> anyhow::Result<PlotOutcome> {
    let data = read::read_results(dir)?;
    let mut out = write_figures(dir, &figure::build_figures(&data), format)?;
    // [train] (issue 14): the trainability heatmap, drawn apart from the line charts.
    if let Some(hm) = train::trainability_heatmap(dir)? {
        out.files
            .extend(heatmap::write(dir, &hm, format.png(), format.svg())?);
    }
    Ok(out)
}

/// What `run` does at its end unless `--no-plot`: the charts (PNG and SVG) and the report, from
/// the CSVs just written.
pub fn render_after_run(dir: &Path, quiet: bool) -> anyhow::Result<()> {
    let plotted = plot_dir(dir, Format::Both)?;
    for note in &plotted.notes {
        eprintln!("note: {note}");
    }
    let report = crate::report::write_report(dir)?;
    if !quiet {
        eprintln!(
            "{}: {} chart files in {}, report {}",
            dir.display(),
            plotted.files.len(),
            dir.join("plots").display(),
            report.display()
        );
    }
    Ok(())
}
