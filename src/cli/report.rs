//! `initlab report RESULTS_DIR...`: write RESULTS_DIR/report.html.

use crate::report::write_report;
use clap::Args;
use std::path::PathBuf;

#[derive(Debug, Args)]
pub struct ReportArgs {
    /// Results folders (each holding summary.csv and cells.csv).
    #[arg(required = true, value_name = "RESULTS_DIR")]
    pub dirs: Vec<PathBuf>,
    /// No informational messages.
    #[arg(long)]
    pub quiet: bool,
}

pub fn run(args: ReportArgs) -> anyhow::Result<()> {
    for dir in &args.dirs {
        let path = write_report(dir)?;
        if !args.quiet {
            eprintln!("wrote {}", path.display());
        }
    }
    Ok(())
}
