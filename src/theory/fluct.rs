//! Finite-width fluctuations of the squared norm: Hanin & Rolnick 2018 ("How to start
//! training: the effect of initialization and architecture", Thm. 5 and Sec. 3.1).
//!
//! A chain net with zero-mean Gaussian weights, Var[w_l] = s_l/n_{l−1}, zero bias: given
//! x_{l−1}, the pre-activations y_{l,i} are i.i.d. N(0, s_l·q_{l−1}), q = ‖x‖²/n. So each layer
//! multiplies q by an independent factor R_l that does not depend on the input:
//! - a ReLU hidden layer: R_l = (s_l/n_l)·χ²_K, K ~ Binomial(n_l, ½) (the active units);
//!   E[R²]/E[R]² = 1 + 5/n_l (E[relu(z)⁴] = 3σ⁴/2, E[relu(z)²] = σ²/2);
//! - a linear layer, and the network's output y_L before its last φ (the paper's linear output
//!   layer): R_l = (s_l/n_l)·χ²_{n_l}; E[R²]/E[R]² = 1 + 2/n_l.
//!
//! Hence, for r = q_L/q_0 with q_L the mean of y_L² per input (the quantity measured in
//! [`crate::sim::fluct`]), the product formula of the paper (He-ReLU, Gaussian weights):
//!   E[r²]/E[r]² = (1 + 2/n_L)·∏_{l<L}(1 + 5/n_l) ≈ e^{5β},  β = Σ_{l=1}^{L−1} 1/n_l,
//! so nets with equal β fluctuate equally (0.158 at n = 1000, L = 30; 1.578 at n = 100,
//! L = 20). Because ln r = Σ_l ln R_l is a sum of independent terms, its mean and variance
//! are exact sums too, with E[ln χ²_k] = ln 2 + ψ(k/2) and Var[ln χ²_k] = ψ′(k/2):
//!   Var[ln R_l] = E_K[ψ′(K/2)] + Var_K[ψ(K/2)] (ReLU; K ≥ 1, the all-dead event of
//!   probability 2^{−n} is left out),  ψ′(n_l/2) (linear, output).

use crate::activation::Activation;
use crate::config::{Cell, Kind};
use crate::init::Scheme;

/// Digamma ψ(x), x > 0: the recurrence ψ(x) = ψ(x + 1) − 1/x up to x ≥ 16, then the
/// asymptotic series ln x − 1/(2x) − Σ B_{2k}/(2k·x^{2k}) (error < 1e-16 there).
pub fn digamma(mut x: f64) -> f64 {
    let mut acc = 0.0;
    while x < 16.0 {
        acc -= 1.0 / x;
        x += 1.0;
    }
    let x2 = 1.0 / (x * x);
    let series = x2
        * (1.0 / 12.0
            - x2 * (1.0 / 120.0 - x2 * (1.0 / 252.0 - x2 * (1.0 / 240.0 - x2 * (1.0 / 132.0)))));
    acc + x.ln() - 0.5 / x - series
}

/// Trigamma ψ′(x), x > 0: ψ′(x) = ψ′(x + 1) + 1/x² up to x ≥ 16, then
/// 1/x + 1/(2x²) + Σ B_{2k}/x^{2k+1}.
pub fn trigamma(mut x: f64) -> f64 {
    let mut acc = 0.0;
    while x < 16.0 {
        acc += 1.0 / (x * x);
        x += 1.0;
    }
    let x2 = 1.0 / (x * x);
    let series = (1.0 / x)
        * x2
        * (1.0 / 6.0 - x2 * (1.0 / 30.0 - x2 * (1.0 / 42.0 - x2 * (1.0 / 30.0 - x2 * 5.0 / 66.0))));
    acc + 1.0 / x + 0.5 * x2 + series
}

/// Mean and variance of ln χ²_K with K ~ Binomial(n, ½) conditioned on K ≥ 1.
fn log_chi2_binomial(n: usize) -> (f64, f64) {
    let ln_norm = libm::lgamma(n as f64 + 1.0) - n as f64 * std::f64::consts::LN_2;
    let mut w_sum = 0.0;
    let (mut m, mut m2, mut v) = (0.0, 0.0, 0.0);
    for k in 1..=n {
        let w = (ln_norm - libm::lgamma(k as f64 + 1.0) - libm::lgamma((n - k) as f64 + 1.0)).exp();
        let psi = std::f64::consts::LN_2 + digamma(k as f64 / 2.0);
        w_sum += w;
        m += w * psi;
        m2 += w * psi * psi;
        v += w * trigamma(k as f64 / 2.0);
    }
    let (m, m2, v) = (m / w_sum, m2 / w_sum, v / w_sum);
    (m, v + (m2 - m * m))
}

/// β = Σ_{l=1}^{L−1} 1/n_l over the hidden widths of the profile [n_0, …, n_L].
pub fn beta(widths: &[usize]) -> f64 {
    let l = widths.len() - 1;
    widths[1..l].iter().map(|&n| 1.0 / n as f64).sum()
}

/// The predicted law of r = q_L/q_0.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FluctPrediction {
    /// E[r²]/E[r]² − 1 (the product formula).
    pub rel_var: f64,
    /// E[ln r] and Var[ln r] (exact sums).
    pub log_mean: f64,
    pub log_var: f64,
}

/// The prediction for a chain of `widths` with ReLU or linear hidden layers, per-layer weight
/// variance times fan-in `s` (s_l = n_{l−1}·Var[w_l]).
pub fn predict_chain(relu: bool, widths: &[usize], s: &[f64]) -> FluctPrediction {
    let l = widths.len() - 1;
    let (mut rel, mut mean, mut var) = (1.0, 0.0, 0.0);
    for i in 1..=l {
        let n = widths[i] as f64;
        let scale = (s[i - 1] / n).ln();
        if relu && i < l {
            let (m, v) = log_chi2_binomial(widths[i]);
            rel *= 1.0 + 5.0 / n;
            mean += scale + m;
            var += v;
        } else {
            rel *= 1.0 + 2.0 / n;
            mean += scale + std::f64::consts::LN_2 + digamma(n / 2.0);
            var += trigamma(n / 2.0);
        }
    }
    FluctPrediction {
        rel_var: rel - 1.0,
        log_mean: mean,
        log_var: var,
    }
}

/// Whether a weight scheme draws i.i.d. zero-mean Gaussian entries.
fn gaussian(s: &Scheme) -> bool {
    match s {
        Scheme::Normal { mean, .. } => *mean == 0.0,
        Scheme::XavierNormal { .. } | Scheme::KaimingNormal { .. } => true,
        Scheme::VarianceScaling { distribution, .. } => {
            *distribution == crate::init::VsDistribution::UntruncatedNormal
        }
        _ => false,
    }
}

/// The prediction for a cell, or why it does not apply: a plain MLP (no norm, no residual)
/// with ReLU or linear φ, zero-mean Gaussian i.i.d. weights and zero bias.
pub fn cell_prediction(cell: &Cell) -> Result<FluctPrediction, String> {
    let init = &cell.init.init;
    let a = &cell.arch;
    if a.kind != Kind::Mlp || a.norm.is_some() || a.resnet.is_some() {
        return Err("Hanin–Rolnick's law is for plain MLPs".into());
    }
    let relu = match cell.activation {
        Activation::Relu => true,
        Activation::Linear => false,
        _ => return Err("Hanin–Rolnick's law is for ReLU (or linear) nets".into()),
    };
    if !gaussian(&init.weight) || init.lsuv.is_some() {
        return Err("Hanin–Rolnick's law needs i.i.d. zero-mean Gaussian weights".into());
    }
    if a.bias && !init.bias.is_zero() {
        return Err("Hanin–Rolnick's law needs zero bias".into());
    }
    let s: Vec<f64> = cell
        .network()
        .taps()
        .iter()
        .map(|t| {
            init.weight
                .moments(&t.weight_shape)
                .map(|m| m.var * t.fan_in as f64 * t.wmod.scale * t.wmod.scale)
        })
        .collect::<Result<_, _>>()?;
    Ok(predict_chain(relu, &cell.widths, &s))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Euler–Mascheroni constant γ.
    const EULER_GAMMA: f64 = 0.577_215_664_901_532_9;

    #[test]
    fn polygamma_at_known_points() {
        use std::f64::consts::{LN_2, PI};
        assert!(
            (digamma(1.0) + EULER_GAMMA).abs() < 1e-14,
            "{}",
            digamma(1.0) + EULER_GAMMA
        );
        assert!((digamma(0.5) + EULER_GAMMA + 2.0 * LN_2).abs() < 1e-14);
        assert!((trigamma(1.0) - PI * PI / 6.0).abs() < 1e-14);
        assert!((trigamma(0.5) - PI * PI / 2.0).abs() < 1e-13);
        // ψ(x+1) = ψ(x) + 1/x far into the asymptotic range.
        assert!((digamma(51.0) - digamma(50.0) - 0.02).abs() < 1e-14);
    }

    /// The paper's numbers: relative variance 0.158 at (n = 1000, L = 30), 1.578 at (100, 20),
    /// and e^{5β} as the small-1/n approximation.
    #[test]
    fn product_formula_reproduces_the_paper() {
        let run = |n: usize, l: usize| {
            let w = vec![n; l + 1];
            predict_chain(true, &w, &vec![2.0; l])
        };
        assert!((run(1000, 30).rel_var - 0.158).abs() < 5e-4);
        assert!((run(100, 20).rel_var - 1.578).abs() < 1e-3);
        let p = run(1000, 30);
        assert!((p.rel_var + 1.0).ln() - 5.0 * 29.0 / 1000.0 < 0.01);
        // He init keeps E[r] = 2 (last pre-activation doubles q): E[ln r] ≤ ln 2 by Jensen.
        assert!(p.log_mean < 2f64.ln());
        // Var[ln r] ≈ ln(1 + rel var) for a nearly log-normal r.
        assert!((p.log_var / (1.0 + p.rel_var).ln() - 1.0).abs() < 0.05);
    }
}
