//! Command-line interface (DESIGN contract): one file per subcommand.

mod compare;
mod plot;
mod report;
mod run;

use clap::{Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(
    name = "initlab",
    version,
    about = "A laboratory for signal propagation at initialization: per-layer activation and gradient \
             variance under each weight-init scheme, beside the theory."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run experiment files: simulate every cell × trial and write results/<name>/.
    Run(run::RunArgs),
    /// Regenerate the charts of results folders from their CSV files alone.
    Plot(plot::PlotArgs),
    /// Write RESULTS_DIR/report.html: description, config, every chart and the ratio tables.
    Report(report::ReportArgs),
    /// Ad-hoc sweep of inits across depths: terminal table, CSVs and the across-depth chart.
    Compare(compare::CompareArgs),
}

/// Parse the command line and run the subcommand. Usage errors exit 2 via clap.
pub fn run() -> anyhow::Result<()> {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => e.exit(),
    };
    match cli.command {
        Command::Run(args) => run::run(args),
        Command::Plot(args) => plot::run(args),
        Command::Report(args) => report::run(args),
        Command::Compare(args) => compare::run(args),
    }
}
