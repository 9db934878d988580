//! `initlab plot RESULTS_DIR... [--format png|svg|both]`: charts from the CSVs alone.

use crate::plot::{plot_dir, Format};
use clap::Args;
use std::path::PathBuf;

#[derive(Debug, Args)]
pub struct PlotArgs {
    /// Results folders (each holding summary.csv and cells.csv, optionally layers.csv and hist.csv).
    #[arg(required = true, value_name = "RESULTS_DIR")]
    pub dirs: Vec<PathBuf>,
    /// Image format(s) to write into RESULTS_DIR/plots/.
    #[arg(long, value_name = "png|svg|both", default_value = "both", value_parser = ["png", "svg", "both"])]
    pub format: String,
    /// No informational messages.
    #[arg(long)]
    pub quiet: bool,
}

pub fn run(args: PlotArgs) -> anyhow::Result<()> {
    let format = Format::parse(&args.format)?;
    for dir in &args.dirs {
        let out = plot_dir(dir, format)?;
        for note in &out.notes {
            eprintln!("note: {note}");
        }
        if !args.quiet {
            eprintln!(
                "{}: wrote {} chart files into {}",
                dir.display(),
                out.files.len(),
                dir.join("plots").display()
            );
        }
    }
    Ok(())
}
