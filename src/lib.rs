//! initlab: a laboratory for signal propagation at initialization.
//!
//! Data flow: [`config`] (TOML → validated [`config::Experiment`]) → [`sweep`] (cells × trials,
//! seeded by content via [`seed`], run on rayon) → [`sim`] (forward and backward pass of a
//! [`network`] with an [`init`] and an [`activation`], per-layer [`stats`]) → [`aggregate`]
//! (summary rows, beside the predictions of [`theory`]) → [`output`] (CSV, manifest, atomic
//! writes) → [`plot`] (charts from the CSVs alone) → [`report`] (a self-contained report.html).

pub mod activation;
pub mod aggregate;
pub mod allocator;
pub mod bench;
pub mod cli;
pub mod config;
pub mod error;
pub mod fastmath;
pub mod gemm;
pub mod init;
pub mod network;
pub mod output;
pub mod params;
pub mod plot;
pub mod real;
pub mod report;
pub mod seed;
pub mod shard;
pub mod sim;
pub mod stats;
pub mod store;
pub mod sweep;
pub mod theory;
