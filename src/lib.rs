//! initlab: a laboratory for signal propagation at initialization.
//!
//! Data flow: [`config`] (TOML → validated [`config::Experiment`]) → [`sweep`] (cells × trials,
//! seeded by content via [`seed`], run on rayon) → [`sim`] (forward and backward pass of a
//! [`network`] with an [`init`] and an [`activation`], per-layer [`stats`]) → [`aggregate`]
//! (summary rows, beside the predictions of [`theory`]) → [`output`] (CSV, manifest, atomic
//! writes) → [`plot`] (charts from the CSVs alone) → [`report`] (a self-contained report.html).

pub mod activation;
pub mod allocator;
pub mod arch;
pub mod cli;
pub mod config;
pub mod error;
pub mod fastmath;
pub mod init;
pub mod output;
pub mod params;
pub mod plot;
pub mod real;
pub mod report;
pub mod seed;
pub mod sim;
pub mod sweep;
pub mod theory;
pub mod train;

// The paths before the regroup by data flow, kept for users of the library.
pub use arch::network;
pub use sim::kernels::gemm;
pub use sim::{bench, stats};
pub use sweep::{aggregate, shard, store};
