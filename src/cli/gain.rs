//! `initlab gain (--activation A | --all) [--q Q] [--sigma-b2 B]`: the variance-preserving gain
//! of an activation beside PyTorch's `calculate_gain`, and the mean-field picture there
//! ([`crate::theory::gain`]).
//!
//! With `--activation`, `key: value` lines (numbers in shortest round-trip form, `none` where
//! undefined, `inf` for an unbounded depth scale or q*):
//! - `activation`, `q`, `sigma_b2`: what was asked;
//! - `pytorch_gain`: calculate_gain's value (leaky_relu with its own slope), or `none`;
//! - `preserve_gain`: g with g²·E[φ(√Q·z)²] + σ_b² = Q (σ_b² = 0 by default: He et al. 2015,
//!   Eq. 7–10 applied to φ), and `preserve_sigma_w2` = g²; `none` when σ_b² ≥ Q;
//! - `q_slope` (dq_l/dq_{l−1} at Q), `stable` (`yes`, `marginal` or `no`), `chi1`, `phase`,
//!   `c_star`, `xi_q`, `xi_c`: the length and correlation maps at that gain, at q = Q;
//! - `critical_sigma_w2`: the edge of chaos at this σ_b², `none` where there is none;
//! - `pytorch_q_star`, `pytorch_chi1`: where q settles under PyTorch's gain starting from Q, and
//!   χ1 there (`none` where PyTorch has no gain);
//! - `verdict`: one plain-language line.
//!
//! With `--all`, one table row per activation ([`crate::theory::gain::all_activations`]), six
//! significant digits, PyTorch's column beside initlab's, then the verdicts.

use super::weights::fmt_f64;
use crate::activation::Activation;
use crate::error::bad;
use crate::theory::gain::{all_activations, analyse, short, verdict, GainAnalysis};
use clap::{ArgGroup, Args};
use std::fmt::Write as _;

#[derive(Debug, Args)]
#[command(group(ArgGroup::new("what").required(true).args(["activation", "all"])))]
pub struct GainArgs {
    /// Activation: a name (`gelu`) or an inline table (`name = "leaky_relu", negative_slope = 0.2`).
    #[arg(long, value_name = "A")]
    pub activation: Option<String>,
    /// Print the table for every activation instead.
    #[arg(long)]
    pub all: bool,
    /// The pre-activation variance Q to preserve (> 0).
    #[arg(
        long,
        value_name = "Q",
        default_value_t = 1.0,
        allow_negative_numbers = true
    )]
    pub q: f64,
    /// σ_b², the bias variance (>= 0): it enters the preserved fixed point and the edge of chaos.
    #[arg(
        long = "sigma-b2",
        value_name = "B",
        default_value_t = 0.0,
        allow_negative_numbers = true
    )]
    pub sigma_b2: f64,
}

fn opt(x: Option<f64>) -> String {
    x.map(fmt_f64).unwrap_or_else(|| "none".into())
}

/// Check --q and --sigma-b2 (exit 2 naming the flag, the value and what is valid).
fn checked(args: &GainArgs) -> anyhow::Result<(f64, f64)> {
    let q = args.q;
    if !(q.is_finite() && q > 0.0) {
        return Err(bad(format!(
            "--q {q}: must be a finite number > 0 (the pre-activation variance to preserve), e.g. --q 1"
        )));
    }
    let b = args.sigma_b2;
    if !(b.is_finite() && b >= 0.0) {
        return Err(bad(format!(
            "--sigma-b2 {b}: must be a finite number >= 0 (a bias variance), e.g. --sigma-b2 0"
        )));
    }
    Ok((q, b))
}

/// The `key: value` report of one activation.
pub fn lines(a: &GainAnalysis) -> String {
    let mut out = String::new();
    let mut line = |k: &str, v: String| {
        let _ = writeln!(out, "{k}: {v}");
    };
    line("activation", a.activation.label());
    line("q", fmt_f64(a.q));
    line("sigma_b2", fmt_f64(a.sigma_b2));
    line("pytorch_gain", opt(a.pytorch_gain));
    let p = a.preserve;
    line("preserve_gain", opt(p.map(|p| p.gain)));
    line("preserve_sigma_w2", opt(p.map(|p| p.sigma_w2)));
    line("q_slope", opt(p.map(|p| p.q_slope)));
    line(
        "stable",
        p.map_or("none", |p| p.stability.word()).to_string(),
    );
    line("chi1", opt(p.map(|p| p.chi1)));
    line("phase", p.map_or("none", |p| p.phase.name()).to_string());
    line("c_star", opt(p.map(|p| p.c_star)));
    line("xi_q", opt(p.map(|p| p.xi_q)));
    line("xi_c", opt(p.map(|p| p.xi_c)));
    line("critical_sigma_w2", opt(a.critical_sigma_w2));
    line("pytorch_q_star", opt(a.under_pytorch.map(|m| m.q_star)));
    line("pytorch_chi1", opt(a.under_pytorch.map(|m| m.chi1)));
    line("verdict", verdict(a));
    out
}

/// The `--all` table: a header, one aligned row per activation, a blank line, the verdicts.
pub fn table(all: &[GainAnalysis]) -> String {
    let header = [
        "activation",
        "pytorch_gain",
        "preserve_gain",
        "stable",
        "q_slope",
        "chi1",
        "phase",
        "critical_sigma_w2",
        "xi_q",
        "xi_c",
    ];
    let cell = |x: Option<f64>| x.map_or("none".to_string(), |v| short(v, 6));
    let mut rows: Vec<Vec<String>> = vec![header.iter().map(|h| h.to_string()).collect()];
    for a in all {
        let p = a.preserve;
        rows.push(vec![
            a.activation.label(),
            cell(a.pytorch_gain),
            cell(p.map(|p| p.gain)),
            p.map_or("none", |p| p.stability.word()).to_string(),
            cell(p.map(|p| p.q_slope)),
            cell(p.map(|p| p.chi1)),
            p.map_or("none", |p| p.phase.name()).to_string(),
            cell(a.critical_sigma_w2),
            cell(p.map(|p| p.xi_q)),
            cell(p.map(|p| p.xi_c)),
        ]);
    }
    let widths: Vec<usize> = (0..header.len())
        .map(|c| rows.iter().map(|r| r[c].chars().count()).max().unwrap_or(0))
        .collect();
    let mut out = String::new();
    if let Some(a) = all.first() {
        let _ = writeln!(
            out,
            "# q = {}, sigma_b2 = {}: PyTorch's calculate_gain beside the variance-preserving gain (initlab gain --activation A for every digit)",
            fmt_f64(a.q),
            fmt_f64(a.sigma_b2)
        );
    }
    for r in &rows {
        let cells: Vec<String> = r
            .iter()
            .zip(&widths)
            .map(|(v, &w)| format!("{v:<w$}"))
            .collect();
        let _ = writeln!(out, "{}", cells.join("  ").trim_end());
    }
    out.push('\n');
    for a in all {
        let _ = writeln!(out, "{}", verdict(a));
    }
    out
}

pub fn run(args: GainArgs) -> anyhow::Result<()> {
    let (q, b) = checked(&args)?;
    let text = match &args.activation {
        Some(text) => {
            let act = Activation::parse(text, "--activation")?;
            lines(&analyse(act, q, b))
        }
        None => {
            let all: Vec<GainAnalysis> = all_activations()
                .into_iter()
                .map(|act| analyse(act, q, b))
                .collect();
            table(&all)
        }
    };
    print!("{text}");
    Ok(())
}
