//! initlab: a laboratory for signal propagation at initialization.
//!
//! Data flow: [`config`] (TOML → validated [`config::Experiment`]) → [`sweep`] (cells × trials,
//! seeded by content via [`seed`], run on rayon) → [`sim`] (forward and backward pass of a
//! [`network`] with an [`init`] and an [`activation`], per-layer [`stats`]) → [`aggregate`]
//! (summary rows, beside the predictions of [`theory`]) → [`output`] (CSV, manifest, atomic
//! writes).

pub mod activation;
pub mod aggregate;
pub mod cli;
pub mod config;
pub mod error;
pub mod init;
pub mod network;
pub mod output;
pub mod params;
pub mod real;
pub mod seed;
pub mod sim;
pub mod stats;
pub mod sweep;
pub mod theory;
