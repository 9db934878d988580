//! Command-line interface (DESIGN contract): one file per subcommand.

mod bench;
mod compare;
mod gain;
mod list;
mod merge;
mod plot;
mod report;
mod run;
pub mod theory;
mod weights;

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
    /// Merge the folders of a sharded run into one, byte-identical to an unsharded run.
    Merge(merge::MergeArgs),
    /// Measure GEMM peak and kernel rates, then run the benchmark workloads and print ratios.
    Bench(bench::BenchArgs),
    /// Sample one weight (or bias) tensor and print fans, gain, std, bound and sample moments.
    Weights(weights::WeightsArgs),
    /// List every init scheme, preset, nonlinearity and activation with its variance formula.
    List(list::ListArgs),
    /// Regenerate the charts of results folders from their CSV files alone.
    Plot(plot::PlotArgs),
    /// Write RESULTS_DIR/report.html: description, config, every chart and the ratio tables.
    Report(report::ReportArgs),
    /// Ad-hoc sweep of inits across depths: terminal table, CSVs and the across-depth chart.
    Compare(compare::CompareArgs),
    /// Theory for an activation and an init (or σ_w², σ_b²): q*, c*, χ1, depth scales, phase,
    /// and with --depth the per-layer predicted variances.
    Theory(theory::TheoryArgs),
    /// The variance-preserving gain of an activation beside PyTorch's calculate_gain: stability
    /// of the preserved variance, χ1, depth scales and the edge of chaos (--all: every activation).
    Gain(gain::GainArgs),
}

/// Parse the command line and run the subcommand. Usage errors exit 2 via clap.
pub fn run() -> anyhow::Result<()> {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => e.exit(),
    };
    match cli.command {
        Command::Run(args) => run::run(args),
        Command::Merge(args) => merge::run(args),
        Command::Bench(args) => bench::run(args),
        Command::Weights(args) => weights::run(args),
        Command::List(args) => list::run(args),
        Command::Plot(args) => plot::run(args),
        Command::Report(args) => report::run(args),
        Command::Compare(args) => compare::run(args),
        Command::Theory(args) => theory::run(args),
        Command::Gain(args) => gain::run(args),
    }
}
