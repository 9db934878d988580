//! Command-line interface (DESIGN contract): one file per subcommand.

mod run;
pub mod theory;

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
    /// Theory for an activation and an init (or σ_w², σ_b²): q*, c*, χ1, depth scales, phase,
    /// and with --depth the per-layer predicted variances.
    Theory(theory::TheoryArgs),
}

/// Parse the command line and run the subcommand. Usage errors exit 2 via clap.
pub fn run() -> anyhow::Result<()> {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => e.exit(),
    };
    match cli.command {
        Command::Run(args) => run::run(args),
        Command::Theory(args) => theory::run(args),
    }
}
