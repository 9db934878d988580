//! Tests of the theory: closed forms, an independent quadrature, and the simulator.

use super::gaussian::{expect, expect_pair, length_slope, Moment, Pair};
use super::meanfield::{
    chi1_at, correlation_map, critical_sigma_w2, fixed_point_q, length_map, mean_field, Params,
    Phase,
};
use super::recursion::{predict, propagate, LayerInit};
use crate::activation::Activation;
use crate::arch::network::mlp;
use crate::config::{DataDist, Experiment};
use crate::init::{BiasInit, Init, Scheme};
use crate::sim::{simulate, TrialSpec};

const STD_NORMAL: DataDist = DataDist::STANDARD;

// ---------------------------------------------------------------- closed forms

/// He et al. 2015, Eq. 10: with Var[w] = 2/n and ReLU, every layer has the same forward
/// variance (Var[y_l] = 2·E[x_0²]) and the same backward variance (Var[δ_l] = Var[g]/2).
#[test]
fn theory_relu_he_constant_forward_variance() {
    let init =
        Init::parse_spec("scheme = \"kaiming_normal\", nonlinearity = \"relu\"", "t").unwrap();
    let input = DataDist {
        uniform: true,
        std: 1.7,
    };
    let grad = DataDist {
        uniform: false,
        std: 0.3,
    };
    let p = predict(Activation::Relu, &init, &mlp(&[300; 41], true), input, grad).unwrap();
    for l in &p {
        assert!((l.preact_var - 2.0 * 1.7 * 1.7).abs() < 1e-12, "{l:?}");
        assert!((l.act_sq_mean - 1.7 * 1.7).abs() < 1e-12, "{l:?}");
        assert!((l.grad_var - 0.5 * 0.3 * 0.3).abs() < 1e-14, "{l:?}");
    }
    // fan_out mode preserves the backward pass the same way (square layers: same numbers).
    let out = Init::parse_spec(
        "scheme = \"kaiming_normal\", mode = \"fan_out\", nonlinearity = \"relu\"",
        "t",
    )
    .unwrap();
    let q = predict(
        Activation::Relu,
        &out,
        &mlp(&[300; 6], false),
        STD_NORMAL,
        STD_NORMAL,
    )
    .unwrap();
    assert!(q.iter().all(|l| (l.grad_var - 0.5).abs() < 1e-14));
}

/// ReLU: E[φ′(y)²] = P(y > 0) = ½ for zero-mean y, so χ1 = σ_w²/2 at every q and σ_b.
#[test]
fn theory_relu_chi1_is_half_sigma_w2() {
    for sw2 in [0.5, 1.0, 1.9, 3.0] {
        for sb2 in [0.0, 0.1, 1.0] {
            let p = Params::new(sw2, sb2);
            for q in [1e-3, 0.7, 40.0] {
                assert!((chi1_at(Activation::Relu, &p, q) - sw2 / 2.0).abs() < 1e-15);
            }
            let mf = mean_field(Activation::Relu, &p);
            assert!((mf.chi1 - sw2 / 2.0).abs() < 1e-15, "{sw2} {sb2}: {mf:?}");
            if sw2 < 2.0 {
                // q* = σ_b²/(1 − σ_w²/2), and ξ_c = ξ_q = −1/ln χ1 (the slope of q is χ1).
                assert!(
                    (mf.q_star - sb2 / (1.0 - sw2 / 2.0)).abs() < 1e-12 * (1.0 + mf.q_star),
                    "{mf:?}"
                );
                let xi = -1.0 / (sw2 / 2.0f64).ln();
                assert!(
                    (mf.xi_c - xi).abs() < 1e-9 * xi && (mf.xi_q - xi).abs() < 1e-9 * xi,
                    "{mf:?}"
                );
                assert_eq!(mf.phase, Phase::Ordered);
            } else {
                assert!(mf.q_star.is_infinite() || sb2 == 0.0, "{mf:?}");
                assert_eq!(
                    mf.phase,
                    if sw2 == 2.0 {
                        Phase::Critical
                    } else {
                        Phase::Chaotic
                    }
                );
            }
        }
    }
    assert!(
        (critical_sigma_w2(Activation::Relu, &Params::new(1.0, 0.2)).unwrap() - 2.0).abs() < 1e-12
    );
}

/// Linear φ: the length map is exactly q_l = σ_w²·q_{l−1} + σ_b², and the recursion is
/// Glorot & Bengio 2010's Eq. 5–6 (products of n·Var[w]).
#[test]
fn theory_linear_length_map() {
    for (sw2, sb2) in [(0.8, 0.0), (1.3, 0.25), (0.5, 2.0)] {
        let p = Params::new(sw2, sb2);
        for q in [0.0, 0.3, 5.0] {
            let want = sw2 * q + sb2;
            assert!((length_map(Activation::Linear, &p, q) - want).abs() < 1e-14 * (1.0 + want));
        }
        let layers = vec![LayerInit::mean_field(sw2, sb2); 12];
        let pr = propagate(Activation::Linear, &layers, 2.0, 3.0);
        let mut q = 2.0;
        let mut g = 3.0;
        for l in &pr {
            q = sw2 * q + sb2;
            assert!((l.preact_var - q).abs() < 1e-13 * q, "{l:?}");
        }
        for l in pr.iter().rev() {
            assert!((l.grad_var - g).abs() < 1e-13 * g, "{l:?}");
            g *= sw2;
        }
        if sw2 < 1.0 {
            let mf = mean_field(Activation::Linear, &p);
            assert!((mf.q_star - sb2 / (1.0 - sw2)).abs() < 1e-12 * (1.0 + mf.q_star));
            assert!((mf.chi1 - sw2).abs() < 1e-15);
        }
    }
}

/// Leaky ReLU with slope a: E[φ(y)²] = (1 + a²)/2·q, χ1 = σ_w²·(1 + a²)/2 (He et al. 2015, Eq. 15).
#[test]
fn theory_leaky_relu_factor() {
    for a in [0.01, 0.2, -0.5, 1.0] {
        let act = Activation::LeakyRelu { negative_slope: a };
        for q in [0.01, 1.0, 9.0] {
            let e2 = expect(act, Moment::Phi2, 0.0, f64::sqrt(q));
            assert!(
                (e2 - 0.5 * (1.0 + a * a) * q).abs() < 1e-15 * (1.0 + q),
                "{a} {q}"
            );
            let p = Params::new(1.7, 0.0);
            assert!((chi1_at(act, &p, q) - 1.7 * 0.5 * (1.0 + a * a)).abs() < 1e-15);
        }
    }
}

/// SELU (Klambauer et al. 2017): with σ_w² = 1 (LeCun normal) and no bias the activations have
/// mean 0 and variance 1 at q = 1, so q* = 1 is the fixed point. The constants α, λ are given to
/// 17 digits, so the fixed point holds to ~1e-15.
#[test]
fn theory_selu_lecun_fixed_point() {
    let (m, v) = (
        expect(Activation::Selu, Moment::Phi, 0.0, 1.0),
        expect(Activation::Selu, Moment::Phi2, 0.0, 1.0),
    );
    assert!(m.abs() < 1e-14, "E[selu(z)] = {m}");
    assert!((v - 1.0).abs() < 1e-14, "E[selu(z)²] = {v}");
    let init = Init::parse_spec("lecun_normal", "t").unwrap();
    let pr = predict(
        Activation::Selu,
        &init,
        &mlp(&[256; 31], true),
        STD_NORMAL,
        STD_NORMAL,
    )
    .unwrap();
    assert!(
        pr.iter().all(|l| (l.preact_var - 1.0).abs() < 1e-12),
        "{:?}",
        pr[29]
    );
    // Started away from it, the length map returns to q* = 1.
    for q_in in [0.2, 1.0, 6.0] {
        let p = Params {
            q_in,
            ..Params::new(1.0, 0.0)
        };
        assert!(
            (fixed_point_q(Activation::Selu, &p) - 1.0).abs() < 1e-10,
            "{q_in}"
        );
    }
}

/// tanh with σ_b = 0: q* = 0 and χ1 = σ_w²·tanh′(0)² = σ_w² for σ_w² ≤ 1, so the order–chaos
/// transition is at σ_w = 1 (Poole et al. 2016, Fig. 3).
#[test]
fn theory_tanh_critical_at_unit_sigma_w() {
    let act = Activation::Tanh;
    let at = |sw2: f64| mean_field(act, &Params::new(sw2, 0.0));
    assert_eq!(at(1.0).phase, Phase::Critical);
    assert_eq!(at(0.9).phase, Phase::Ordered);
    assert!((at(0.9).chi1 - 0.9).abs() < 1e-12 && at(0.9).q_star < 1e-12);
    assert_eq!(at(1.1).phase, Phase::Chaotic);
    // Above 1, q* ≈ (1 − 1/σ_w²)/2 and χ1 − 1 ≈ 5σ_w²q*² is second order in σ_w² − 1, so the
    // root is located only to ~√(quadrature error) ≈ 1e-6.
    let crit = critical_sigma_w2(act, &Params::new(1.0, 0.0)).unwrap();
    assert!((crit - 1.0).abs() < 1e-5, "{crit}");
    // With σ_b² = 0.05 the line moves to σ_w² ≈ 1.76 (Schoenholz et al. 2017, Fig. 1); χ1 = 1 there.
    let crit = critical_sigma_w2(act, &Params::new(1.0, 0.05)).unwrap();
    let mf = at_b(act, crit, 0.05);
    assert!(
        (mf.chi1 - 1.0).abs() < 1e-9 && (crit - 1.76).abs() < 0.01,
        "{crit} {mf:?}"
    );
}

fn at_b(act: Activation, sw2: f64, sb2: f64) -> super::MeanField {
    mean_field(act, &Params::new(sw2, sb2))
}

/// The fixed points are fixed points, c* is stable, and the depth scales follow from the slopes.
#[test]
fn theory_fixed_points_and_depth_scales() {
    let cases = [
        (Activation::Tanh, 2.5, 0.05),
        (Activation::Tanh, 1.5, 0.05),
        (Activation::Tanh, 3.0, 0.0),
        (Activation::Selu, 1.5, 0.1),
        (Activation::Gelu { tanh_approx: false }, 1.5, 0.2),
        (Activation::Sigmoid, 4.0, 0.1),
        (Activation::Elu { alpha: 1.0 }, 1.8, 0.3),
    ];
    for (act, sw2, sb2) in cases {
        let p = Params::new(sw2, sb2);
        let mf = mean_field(act, &p);
        assert!(mf.q_star.is_finite(), "{act:?}: {mf:?}");
        assert!(
            (length_map(act, &p, mf.q_star) - mf.q_star).abs() < 1e-11 * mf.q_star,
            "{act:?}: {mf:?}"
        );
        let (c_next, slope) = correlation_map(act, &p, mf.q_star, mf.c_star);
        let c_tol = if mf.c_star == 1.0 { 1e-12 } else { 1e-10 };
        assert!(
            (c_next - mf.c_star).abs() < c_tol,
            "{act:?}: c* {} maps to {c_next}",
            mf.c_star
        );
        assert!(
            slope < 1.0 + 1e-9 && (slope - mf.chi_c).abs() < 1e-9,
            "{act:?}: {mf:?}"
        );
        assert!(
            (mf.xi_c + 1.0 / mf.chi_c.ln()).abs() < 1e-9 * mf.xi_c,
            "{act:?}: {mf:?}"
        );
        // ξ_q from the slope of the length map (Schoenholz et al. 2017, Eq. 6), by central difference.
        let h = 1e-5 * mf.q_star;
        let fd =
            (length_map(act, &p, mf.q_star + h) - length_map(act, &p, mf.q_star - h)) / (2.0 * h);
        assert!(
            (fd - mf.length_slope).abs() < 1e-6,
            "{act:?}: fd {fd} vs {}",
            mf.length_slope
        );
        match mf.phase {
            Phase::Ordered => assert_eq!(mf.c_star, 1.0),
            Phase::Chaotic => assert!(mf.c_star < 1.0),
            Phase::Critical => {}
        }
    }
}

// ------------------------------------------------- against an independent integrator

/// Adaptive Simpson on [a, b] (recursive, Richardson-corrected, refined at least `min_depth`
/// times everywhere so that a narrow feature cannot hide between the first nodes): written here
/// independently of the Gauss–Hermite / Gauss–Kronrod machinery under test.
fn simpson(f: &dyn Fn(f64) -> f64, a: f64, b: f64, tol: f64, min_depth: u32) -> f64 {
    #[allow(clippy::too_many_arguments)]
    fn rec(
        f: &dyn Fn(f64) -> f64,
        a: f64,
        b: f64,
        fa: f64,
        fm: f64,
        fb: f64,
        whole: f64,
        tol: f64,
        depth: u32,
        min_depth: u32,
    ) -> f64 {
        let m = 0.5 * (a + b);
        let (lm, rm) = (0.5 * (a + m), 0.5 * (m + b));
        let (flm, frm) = (f(lm), f(rm));
        let left = (m - a) / 6.0 * (fa + 4.0 * flm + fm);
        let right = (b - m) / 6.0 * (fm + 4.0 * frm + fb);
        let diff = left + right - whole;
        if depth == 0 || (depth + min_depth <= 40 && diff.abs() <= 15.0 * tol) {
            return left + right + diff / 15.0;
        }
        rec(f, a, m, fa, flm, fm, left, 0.5 * tol, depth - 1, min_depth)
            + rec(f, m, b, fm, frm, fb, right, 0.5 * tol, depth - 1, min_depth)
    }
    let (fa, fb, fm) = (f(a), f(b), f(0.5 * (a + b)));
    let whole = (b - a) / 6.0 * (fa + 4.0 * fm + fb);
    rec(f, a, b, fa, fm, fb, whole, tol, 40, min_depth)
}

/// E[F(y)], y ~ N(m, s²), by adaptive Simpson on [m − 12s, m + 12s] (tail mass 4e-33) to
/// `rel` × ∫|F|·density, split at x = 0 where ELU's φ′ jumps; the density is written out here.
fn simpson_expect(f: &dyn Fn(f64) -> f64, m: f64, s: f64, rel: f64) -> f64 {
    let dens =
        |x: f64| (-0.5 * ((x - m) / s).powi(2)).exp() / (s * (2.0 * std::f64::consts::PI).sqrt());
    let g = |x: f64| f(x) * dens(x);
    let (a, b) = (m - 12.0 * s, m + 12.0 * s);
    // ∫|F|·density by a coarse Riemann sum on 2000 cells.
    let mag: f64 = (0..2000)
        .map(|i| g(a + (b - a) * (i as f64 + 0.5) / 2000.0).abs())
        .sum::<f64>()
        * (b - a)
        / 2000.0;
    let tol = rel * mag.max(1e-300);
    if a < 0.0 && b > 0.0 {
        simpson(&g, a, 0.0, tol, 8) + simpson(&g, 0.0, b, tol, 8)
    } else {
        simpson(&g, a, b, tol, 8)
    }
}

/// E[φ²], E[φ′²], E[φ] and the slope d/dq E[φ²] for tanh, GELU, SiLU, ELU at several q and bias
/// means, against adaptive Simpson: agreement to 1e-10 relative (Simpson is converged to ~1e-13).
#[test]
fn theory_quadrature_matches_adaptive_simpson() {
    let acts = [
        Activation::Tanh,
        Activation::Gelu { tanh_approx: false },
        Activation::Gelu { tanh_approx: true },
        Activation::Silu,
        Activation::Elu { alpha: 1.0 },
        Activation::Elu { alpha: 1.6 },
    ];
    let mut worst = 0.0f64;
    for act in acts {
        for q in [0.01, 0.3, 1.0, 2.5, 10.0, 400.0] {
            for m in [0.0, 0.4, -1.1] {
                let s = f64::sqrt(q);
                let checks: [(&str, f64, f64); 4] = [
                    (
                        "E[φ²]",
                        expect(act, Moment::Phi2, m, s),
                        simpson_expect(&|x| act.f(x).powi(2), m, s, 1e-14),
                    ),
                    (
                        "E[φ′²]",
                        expect(act, Moment::Dphi2, m, s),
                        simpson_expect(&|x| act.df(x).powi(2), m, s, 1e-14),
                    ),
                    (
                        "E[φ]",
                        expect(act, Moment::Phi, m, s),
                        simpson_expect(&|x| act.f(x), m, s, 1e-14),
                    ),
                    // Stein: d/dq E[φ²] = E[(y − m)·φ·φ′]/q.
                    (
                        "slope",
                        length_slope(act, m, s),
                        simpson_expect(&|x| (x - m) * act.f(x) * act.df(x), m, s, 1e-14) / q,
                    ),
                ];
                for (what, ours, reference) in checks {
                    let scale = reference
                        .abs()
                        .max(expect(act, Moment::Phi2, m, s).sqrt() * 1e-3)
                        .max(1e-300);
                    let rel = (ours - reference).abs() / scale;
                    worst = worst.max(rel);
                    assert!(
                        rel < 1e-10,
                        "{act:?} q={q} m={m} {what}: {ours} vs Simpson {reference} (rel {rel:e})"
                    );
                }
            }
        }
    }
    eprintln!("theory vs adaptive Simpson: worst relative difference {worst:e}");
}

/// Composite Simpson for E[F(y)], y ~ N(m, s²), on a fixed grid of `n` (even) intervals over
/// [m − 10s, m + 10s]: error ~ (20s/n)⁴·max|(F·density)⁗|/180 — about 1e-10 for the smooth φ
/// below at n = 2000.
fn simpson_fixed(f: &dyn Fn(f64) -> f64, m: f64, s: f64, n: usize) -> f64 {
    let (a, h) = (m - 10.0 * s, 20.0 * s / n as f64);
    let dens =
        |x: f64| (-0.5 * ((x - m) / s).powi(2)).exp() / (s * (2.0 * std::f64::consts::PI).sqrt());
    let mut sum = 0.0;
    for i in 0..=n {
        let x = a + h * i as f64;
        let w = if i == 0 || i == n {
            1.0
        } else if i % 2 == 1 {
            4.0
        } else {
            2.0
        };
        sum += w * f(x) * dens(x);
    }
    sum * h / 3.0
}

/// The two-point expectation E[φ(u₁)φ(u₂)] (the correlation map's integral) against a nested
/// fixed-grid Simpson rule, for tanh and GELU (smooth φ, so the fixed grid converges as h⁴).
#[test]
fn theory_pair_matches_nested_simpson() {
    for act in [Activation::Tanh, Activation::Gelu { tanh_approx: false }] {
        for (m, q, c) in [(0.0, 1.0, 0.6), (0.3, 2.5, -0.3)] {
            let s = f64::sqrt(q);
            let sc = s * f64::sqrt(1.0 - c * c);
            let inner = |z1: f64| simpson_fixed(&|x| act.f(x), m + s * c * z1, sc, 2000);
            let reference = simpson_fixed(&|x| act.f(x) * inner((x - m) / s), m, s, 2000);
            let ours = expect_pair(act, Pair::PhiPhi, m, q, c);
            assert!(
                (ours - reference).abs() < 1e-9 * reference.abs(),
                "{act:?} {m} {q} {c}: {ours} vs {reference}"
            );
        }
    }
}

// ----------------------------------------------------------- against the simulator

/// Simulate `trials` trials and compare every layer's pooled Var[y_l] and Var[δ_l] with the
/// recursion. Returns the largest |mean over trials of ln(measured/theory)|.
///
/// Tolerance of each check on m = mean over T trials of ln(measured/theory):
///   |m| ≤ 3·k/n + t·s/√T,
/// - k/n: finite-width bias. The recursion is exact at n = ∞; at width n each layer adds an
///   O(1/n) relative correction (Jensen on E[φ²] of a variance estimated from n units, and the
///   sample mean subtracted by the pooled variance). k = number of weight matrices the quantity
///   depends on: l forward; L + (L − l) + 1 backward (all forward layers set the φ′(y) factors,
///   then L − l + 1 backward products). Constant 3 is generous: measured |m| stays below 1·k/n
///   wherever the sampling noise is small (tanh, SELU).
/// - s/√T: sampling error of the mean over T independent trials (fresh weights, inputs and g),
///   with s the sample std over trials; t = 13 is Student's t for T − 1 = 4 degrees of freedom at
///   two-sided p = 1e-4. The pooled entries of a layer are not independent (B·n = 262144 entries
///   would give √(2/(B·n)) = 0.3%): all of them share the layer's weights, so a trial's
///   per-layer relative fluctuation is ~√(2·(1/B + ρ²)/n) with ρ the mean squared correlation
///   between the samples' activations — up to √(2/n) = 4.4% per layer for ReLU, whose inputs
///   become strongly correlated with depth. The trial spread measures this directly; as a guard
///   that it is not inflated by a bug, s must stay below 2.5× the derived worst case √(2k/n)
///   (2.5 allows for the χ-distribution of a 5-sample std).
fn sim_agreement(act: Activation, init: &Init, input: DataDist, grad: DataDist) -> f64 {
    let (width, depth, batch, trials) = (1024, 5, 256, 5);
    let net = mlp(&vec![width; depth + 1], true);
    let theory = predict(act, init, &net, input, grad).unwrap();
    let runs: Vec<_> = (0..trials)
        .map(|trial| {
            simulate::<f32>(&TrialSpec {
                seed: 2024,
                activation: act,
                init,
                network: &net,
                batch,
                input,
                output_grad: grad,
                trial,
                capture: &[],
                spectrum: None,
            })
        })
        .collect();
    let n = width as f64;
    let t_quantile = 13.0;
    let (mut worst, mut margin) = (0.0f64, 0.0f64);
    for (l, pred) in theory.iter().enumerate() {
        let checks = [
            (
                "forward",
                l + 1,
                pred.preact_var,
                runs.iter()
                    .map(|r| r.layers[l].preact_var)
                    .collect::<Vec<_>>(),
            ),
            (
                "backward",
                depth + (depth - l - 1) + 1,
                pred.grad_var,
                runs.iter().map(|r| r.layers[l].grad_var).collect(),
            ),
        ];
        for (dir, k, want, got) in checks {
            let logs: Vec<f64> = got.iter().map(|g| (g / want).ln()).collect();
            let (mean, sd, _, _) = crate::sim::stats::describe(&logs);
            let k = k as f64;
            let worst_case_sd = (2.0 * k / n).sqrt();
            assert!(
                sd <= 2.5 * worst_case_sd,
                "{act:?} layer {} {dir}: trial spread {sd} exceeds 2.5×{worst_case_sd}",
                l + 1
            );
            let tol = 3.0 * k / n + t_quantile * sd / (trials as f64).sqrt();
            assert!(
                mean.abs() <= tol,
                "{act:?} layer {} {dir}: mean ln(measured/theory) = {mean} (spread {sd}), tolerance {tol}; theory {want}, measured {got:?}",
                l + 1
            );
            worst = worst.max(mean.abs());
            margin = margin.max(mean.abs() / tol);
        }
    }
    eprintln!("{act:?}: worst |mean ln(measured/theory)| over layers = {worst:.5} ({:.0}% of its tolerance at most)", 100.0 * margin);
    worst
}

fn with_normal_bias(spec: &str, std: f64) -> Init {
    let mut init = Init::parse_spec(spec, "test").unwrap();
    init.bias = BiasInit::Scheme(Scheme::Normal { mean: 0.0, std });
    init
}

/// ReLU, He normal weights, N(0, 0.1²) bias, uniform input of std 1.5, g of std 0.7.
#[test]
fn theory_sim_agrees_relu() {
    let init = with_normal_bias("scheme = \"kaiming_normal\", nonlinearity = \"relu\"", 0.1);
    sim_agreement(
        Activation::Relu,
        &init,
        DataDist {
            uniform: true,
            std: 1.5,
        },
        DataDist {
            uniform: false,
            std: 0.7,
        },
    );
}

/// tanh, Kaiming normal with tanh's gain 5/3 (σ_w² = 25/9, chaotic), N(0, 0.1²) bias.
#[test]
fn theory_sim_agrees_tanh() {
    let init = with_normal_bias("scheme = \"kaiming_normal\", nonlinearity = \"tanh\"", 0.1);
    sim_agreement(Activation::Tanh, &init, STD_NORMAL, STD_NORMAL);
}

/// GELU under PyTorch's default: uniform weights of variance 1/(3n) and uniform bias
/// U(±1/√n) — the variance decays towards the bias floor.
#[test]
fn theory_sim_agrees_gelu() {
    let init = Init::parse_spec("pytorch_default", "test").unwrap();
    sim_agreement(
        Activation::Gelu { tanh_approx: false },
        &init,
        DataDist {
            uniform: false,
            std: 2.0,
        },
        STD_NORMAL,
    );
}

/// SELU with Keras' lecun_normal (truncated normal rescaled to variance 1/n), zero bias.
#[test]
fn theory_sim_agrees_selu() {
    let init = Init::parse_spec("lecun_normal", "test").unwrap();
    sim_agreement(
        Activation::Selu,
        &init,
        STD_NORMAL,
        DataDist {
            uniform: true,
            std: 1.0,
        },
    );
}

// ------------------------------------------------------------------ output columns

/// `run` fills the theory columns for every cell a theory covers and leaves them empty for the
/// others (identity and non-zero-mean weights); the agreement column is the largest log gap.
#[test]
fn theory_columns_in_summaries() {
    let text = r#"
seed = 1
trials = 2
batch = 32
[network]
depth = 3
width = 64
activation = ["relu", "tanh"]
[[init]]
label = "He"
weight = { scheme = "kaiming_normal", nonlinearity = "relu" }
[[init]]
preset = "pytorch_default"
[[init]]
label = "eye"
weight = "eye"
[[init]]
label = "ones"
weight = "ones"
"#;
    let exp = Experiment::parse(text, "t.toml", "t").unwrap();
    let cells = exp.cells();
    let results = crate::sweep::run_sweep(&exp, &cells, false);
    for r in &results {
        let rows = r.summary_rows(&exp);
        let s = r.cell_summary(&exp);
        let covered = !matches!(r.cell.init.label.as_str(), "eye" | "ones");
        assert_eq!(
            rows.iter()
                .all(|row| row.theory_preact_var.is_some() && row.theory_grad_var.is_some()),
            covered
        );
        assert_eq!(s.theory_forward_ratio.is_some(), covered);
        assert_eq!(s.theory_backward_ratio.is_some(), covered);
        assert_eq!(s.theory_max_abs_log10.is_some(), covered);
        if covered {
            let t = r.theory(&exp).unwrap();
            let mut gap = 0.0f64;
            for (i, row) in rows.iter().enumerate() {
                gap = gap.max((row.preact_var.mean / t[i].preact_var).log10().abs());
                gap = gap.max((row.grad_var.mean / t[i].grad_var).log10().abs());
            }
            assert!((s.theory_max_abs_log10.unwrap() - gap).abs() < 1e-12);
            assert!(
                (s.theory_forward_ratio.unwrap() - t[2].preact_var / t[0].preact_var).abs() < 1e-12
            );
        }
    }
    let cells_csv =
        String::from_utf8(crate::output::tables::cells_csv(&exp, &results).unwrap()).unwrap();
    let header = cells_csv.lines().next().unwrap();
    // Later issues append their columns after `widths`.
    assert!(
        header.contains(",nonfinite_layers,theory_max_abs_log10,widths,"),
        "{header}"
    );
    for line in cells_csv.lines().skip(1) {
        let f: Vec<&str> = line.split(',').collect();
        assert_eq!(
            f.len(),
            crate::output::tables::cells_header().len(),
            "{line}"
        );
        let empty = [f[10], f[11], f[13]].iter().all(|x| x.is_empty());
        let full = [f[10], f[11], f[13]]
            .iter()
            .all(|x| x.parse::<f64>().is_ok());
        assert!(
            if matches!(f[3], "eye" | "ones") {
                empty
            } else {
                full
            },
            "{line}"
        );
    }
}

/// `initlab theory`'s report: the contract keys, then (with --depth) a blank line and the CSV.
#[test]
fn theory_cli_report_format() {
    use crate::cli::theory::{report, TheoryArgs};
    let args = TheoryArgs {
        activation: "relu".into(),
        init: Some("kaiming_normal".into()),
        sigma_w2: None,
        sigma_b2: None,
        depth: Some(3),
        width: 256,
        input_std: 1.0,
        output_grad_std: 1.0,
        phase_out: None,
    };
    let text = report(&args).unwrap();
    let (head, table) = text.split_once("\n\n").expect("blank line before the CSV");
    let keys: Vec<(&str, &str)> = head
        .lines()
        .map(|l| l.split_once(": ").expect("key: value"))
        .collect();
    for k in ["q_star", "c_star", "chi1", "xi_q", "xi_c", "phase"] {
        assert!(
            keys.iter().any(|(key, _)| *key == k),
            "missing {k} in\n{head}"
        );
    }
    let get = |k: &str| keys.iter().find(|(key, _)| *key == k).unwrap().1;
    assert_eq!(get("phase"), "critical");
    assert!((get("chi1").parse::<f64>().unwrap() - 1.0).abs() < 1e-12);
    let mut lines = table.lines();
    assert_eq!(lines.next(), Some("layer,preact_var,grad_var"));
    let rows: Vec<Vec<f64>> = lines
        .map(|l| l.split(',').map(|x| x.parse().unwrap()).collect())
        .collect();
    assert_eq!(rows.len(), 3);
    assert!(
        rows.iter()
            .all(|r| (r[1] - 2.0).abs() < 1e-12 && (r[2] - 0.5).abs() < 1e-12),
        "{rows:?}"
    );
    // Without --depth: key lines only; bad input is exit-2 material.
    let text = report(&TheoryArgs {
        depth: None,
        init: None,
        sigma_w2: Some(0.5),
        ..args
    })
    .unwrap();
    assert!(
        !text.contains("\n\n") && text.contains("phase: ordered\n"),
        "{text}"
    );
    let bad = TheoryArgs {
        activation: "tanh".into(),
        init: Some("ones".into()),
        sigma_w2: None,
        sigma_b2: None,
        depth: None,
        width: 16,
        input_std: 1.0,
        output_grad_std: 1.0,
        phase_out: None,
    };
    let e = report(&bad).unwrap_err();
    assert!(
        crate::error::is_bad_input(&e) && e.to_string().contains("weight mean"),
        "{e}"
    );
}

/// The phase-diagram files: headers, one row per grid point, phases consistent with χ1, and the
/// critical line of tanh at σ_b² = 0 at σ_w² = 1.
#[test]
fn theory_phase_files() {
    use super::phase::{write_phase, PhaseGrid, PHASE_HEADER};
    let dir = tempfile::tempdir().unwrap();
    let grid = PhaseGrid::linear(0.5, 3.0, 6, 0.0, 0.2, 3);
    write_phase(dir.path(), Activation::Tanh, &grid).unwrap();
    let phase = std::fs::read_to_string(dir.path().join("phase.csv")).unwrap();
    let mut lines = phase.lines();
    assert_eq!(lines.next().unwrap(), PHASE_HEADER.join(","));
    assert!(PHASE_HEADER.starts_with(&["sigma_w2", "sigma_b2", "chi1", "xi_c", "q_star"]));
    let rows: Vec<Vec<&str>> = lines.map(|l| l.split(',').collect()).collect();
    assert_eq!(rows.len(), 18);
    for r in &rows {
        let chi1: f64 = r[2].parse().unwrap();
        assert_eq!(r[7], Phase::of(chi1).name(), "{r:?}");
    }
    let line = std::fs::read_to_string(dir.path().join("critical_line.csv")).unwrap();
    let first = line.lines().nth(1).unwrap();
    let w: f64 = first.split(',').nth(1).unwrap().parse().unwrap();
    assert!(first.starts_with("0,") && (w - 1.0).abs() < 1e-5, "{line}");
}
