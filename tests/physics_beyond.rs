//! Issue 13 physics: finite-width fluctuations against Hanin & Rolnick 2018, and LSUV
//! (Mishkin & Matas 2016) reaching unit output variance at every layer.
//!
//! Fluctuations: one input row per trial (batch = 1), so the T trials are T independent draws
//! of r = q_L/q_0 over the weights. The sample variance of ln r is compared with the exact
//! Var[ln r] within 5 standard errors, se = √((m4 − v²)/T) from the sample's own fourth
//! central moment; the relative variance E[r²]/E[r]² − 1 with the product formula within 5
//! standard errors of the delta method on (mean r, mean r²), whose covariance comes from the
//! sample moments of r up to r⁴.

use initlab::config::Experiment;
use initlab::sweep::run_sweep;

fn sweep(text: &str) -> Vec<initlab::aggregate::CellResult> {
    let exp = Experiment::parse(text, "beyond.toml", "beyond").unwrap();
    run_sweep(&exp, &exp.cells(), false)
}

fn moments(xs: &[f64]) -> (f64, f64, f64) {
    let n = xs.len() as f64;
    let m = xs.iter().sum::<f64>() / n;
    let v = xs.iter().map(|x| (x - m).powi(2)).sum::<f64>() / n;
    let m4 = xs.iter().map(|x| (x - m).powi(4)).sum::<f64>() / n;
    (m, v, m4)
}

#[test]
fn hanin_rolnick_moments_at_several_widths_and_depths() {
    let trials = 3000;
    for (profile, activation) in [
        ("widths = [20, 20, 20, 20, 20]", "relu"),
        (
            "widths = [40, 30, 50, 30, 40, 30, 40, 30, 50, 30, 40]",
            "relu",
        ),
        ("depth = 3\nwidth = 24", "relu"),
        ("depth = 6\nwidth = 16", "linear"),
    ] {
        let text = format!(
            "seed = 5\ntrials = {trials}\nbatch = 1\ndtype = \"f64\"\n[network]\n{profile}\nactivation = \"{activation}\"\nbias = false\n[[init]]\nweight = {{ scheme = \"kaiming_normal\", nonlinearity = \"relu\" }}\n"
        );
        let r = sweep(&text).remove(0);
        let p = initlab::theory::fluct::cell_prediction(&r.cell).unwrap();
        let logs: Vec<f64> = r.trials.iter().map(|t| t.fluct.log.mean).collect();
        let (lm, lv, l4) = moments(&logs);
        let t = trials as f64;
        let se_v = ((l4 - lv * lv) / t).sqrt();
        assert!(
            (lv - p.log_var).abs() < 5.0 * se_v,
            "{profile} {activation}: Var[ln r] {lv} vs exact {} (se {se_v})",
            p.log_var
        );
        let se_m = (lv / t).sqrt();
        assert!(
            (lm - p.log_mean).abs() < 5.0 * se_m,
            "{profile} {activation}: E[ln r] {lm} vs exact {} (se {se_m})",
            p.log_mean
        );
        // The product formula: ρ = E[r²]/E[r]² by the delta method.
        let rs: Vec<f64> = logs.iter().map(|l| l.exp()).collect();
        let m1 = rs.iter().sum::<f64>() / t;
        let m2 = rs.iter().map(|x| x * x).sum::<f64>() / t;
        let m3 = rs.iter().map(|x| x.powi(3)).sum::<f64>() / t;
        let m4 = rs.iter().map(|x| x.powi(4)).sum::<f64>() / t;
        let rho = m2 / (m1 * m1);
        let (g1, g2) = (-2.0 * m2 / m1.powi(3), 1.0 / (m1 * m1));
        let var =
            (g1 * g1 * (m2 - m1 * m1) + 2.0 * g1 * g2 * (m3 - m1 * m2) + g2 * g2 * (m4 - m2 * m2))
                / t;
        assert!(
            (rho - 1.0 - p.rel_var).abs() < 5.0 * var.sqrt(),
            "{profile} {activation}: rel var {} vs product formula {} (se {})",
            rho - 1.0,
            p.rel_var,
            var.sqrt()
        );
        // The cell's pooled column is the same sample.
        assert!((r.fluct().log.var() - lv).abs() < 1e-9 * lv);
    }
}

/// Equal β, equal fluctuations: (n = 100, L = 21) and (n = 200, L = 41) share β = 0.2 and
/// their exact Var[ln r] agree up to the O(β/n) and 2/n_L terms (< 5%); twice the β
/// fluctuates about twice as much.
#[test]
fn equal_beta_equal_fluctuations_in_theory() {
    use initlab::theory::fluct::{beta, predict_chain};
    let a = vec![100; 22];
    let b = vec![200; 42];
    assert!((beta(&a) - 0.2).abs() < 1e-12 && (beta(&b) - 0.2).abs() < 1e-12);
    let va = predict_chain(true, &a, &[2.0; 21]).log_var;
    let vb = predict_chain(true, &b, &[2.0; 41]).log_var;
    let vc = predict_chain(true, &[100; 42], &[2.0; 41]).log_var;
    assert!((va / vb - 1.0).abs() < 0.05, "{va} vs {vb}");
    assert!((vc / vb - 2.0).abs() < 0.1, "{vc} vs {vb}");
}

const LSUV: &str = "[[init]]\nlabel = \"LSUV\"\nweight = { scheme = \"lsuv\" }\n";

/// LSUV brings every layer's output variance within tol of 1 on every activation (orthogonal
/// base, depth 20), the simulator's own measured Var[y_l] is the one LSUV reached (same batch,
/// f64), and the run is the same for any thread count.
#[test]
fn lsuv_reaches_unit_variance_at_every_layer() {
    let text = format!(
        "seed = 3\ntrials = 2\nbatch = 64\ndtype = \"f64\"\n[network]\ndepth = 20\nwidth = 48\nactivation = [\"relu\", \"tanh\", \"gelu\", \"selu\", \"linear\", \"sigmoid\", \"silu\", {{ name = \"elu\", alpha = 1.0 }}]\n{LSUV}"
    );
    let results = sweep(&text);
    for r in &results {
        for t in &r.trials {
            assert_eq!(t.lsuv.len(), 20);
            for (u, s) in t.lsuv.iter().zip(&t.layers) {
                assert!(
                    u.converged && (u.var - 1.0).abs() < 0.1,
                    "{:?} layer {}: var {} after {} iterations",
                    r.cell.activation,
                    u.layer,
                    u.var,
                    u.iterations
                );
                assert!(
                    (s.preact_var - u.var).abs() < 1e-9,
                    "layer {}: simulated {} vs LSUV {}",
                    u.layer,
                    s.preact_var,
                    u.var
                );
                assert!(u.iterations <= 10 && u.scale > 0.0);
            }
        }
    }
    // Byte-identical with 1 and 3 threads.
    let one = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .unwrap();
    let three = rayon::ThreadPoolBuilder::new()
        .num_threads(3)
        .build()
        .unwrap();
    let a = one.install(|| format!("{:?}", sweep(&text)[0].trials));
    let b = three.install(|| format!("{:?}", sweep(&text)[0].trials));
    assert_eq!(a, b);
}

/// A layer whose output variance is 0 stops the run with bad input naming the layer: a zero
/// input (refused up front by the config) and, met at run time, ReLU layers with weights that
/// kill every unit (a negative constant base with zero bias on a positive input).
#[test]
fn lsuv_zero_variance_is_an_error_naming_the_layer() {
    let text = format!("batch = 8\n[input]\nstd = 0.0\n[network]\ndepth = 3\nwidth = 4\nactivation = \"relu\"\n{LSUV}");
    let e = Experiment::parse(&text, "z.toml", "z").unwrap_err();
    assert!(initlab::error::is_bad_input(&e));
    assert!(e.to_string().contains("input.std = 0"), "{e}");
    // Run time: negative weights, no bias: x_1 = relu(y_1) ≥ 0, so y_2 = W_2 x_1 ≤ 0 and
    // x_2 = 0, and layer 3's output is exactly 0 whatever its scale.
    let text = "batch = 8\n[input]\ndistribution = \"uniform\"\nstd = 1.0\n[network]\ndepth = 3\nwidth = 4\nactivation = \"relu\"\nbias = false\n[[init]]\nweight = { scheme = \"lsuv\", base = { scheme = \"uniform\", a = -2.0, b = -1.0 } }\n";
    let exp = Experiment::parse(text, "z.toml", "z").unwrap();
    let stop = std::sync::atomic::AtomicBool::new(false);
    let e = initlab::sweep::run_cells(&exp, &exp.cells(), false, &stop, &|_| Ok(())).unwrap_err();
    assert!(initlab::error::is_bad_input(&e));
    let m = e.to_string();
    assert!(
        m.contains("layer 3") && m.contains("output variance 0"),
        "{m}"
    );
}

#[test]
fn lsuv_bad_parameters_are_refused() {
    for (w, want) in [
        ("{ scheme = \"lsuv\", tol = 0.0 }", "tol: must be in (0, 1)"),
        ("{ scheme = \"lsuv\", tol = 1.5 }", "tol: must be in (0, 1)"),
        (
            "{ scheme = \"lsuv\", max_iters = 0 }",
            "max_iters: must be an integer in 1..=1000",
        ),
        ("{ scheme = \"lsuv\", base = \"zeros\" }", "zero weights"),
        ("{ scheme = \"lsuv\", base = \"lsuv\" }", "its own base"),
        (
            "{ scheme = \"lsuv\", bsae = \"orthogonal\" }",
            "valid keys: base, tol, max_iters",
        ),
        (
            "{ scheme = \"lsuv\", base = \"orthogonl\" }",
            "did you mean 'orthogonal'",
        ),
    ] {
        let text = format!(
            "[network]\ndepth = 3\nwidth = 4\nactivation = \"relu\"\n[[init]]\nweight = {w}\n"
        );
        let e = Experiment::parse(&text, "x.toml", "x").unwrap_err();
        assert!(initlab::error::is_bad_input(&e), "{w}");
        let m = e.to_string();
        assert!(
            m.contains("x.toml") && m.contains("init[1].weight") && m.contains(want),
            "{w}: {m}"
        );
    }
    let text = "[network]\nkind = \"resnet\"\nblocks = 2\nwidth = 8\nactivation = \"relu\"\n[[init]]\nweight = \"lsuv\"\n";
    let e = Experiment::parse(text, "x.toml", "x").unwrap_err();
    assert!(e.to_string().contains("not resnet"), "{e}");
    // The resolved file round-trips LSUV's keys.
    let text = "[network]\ndepth = 3\nwidth = 4\nactivation = \"relu\"\n[[init]]\nweight = { scheme = \"lsuv\", base = \"kaiming_normal\", tol = 0.05, max_iters = 7 }\n";
    let e = Experiment::parse(text, "x.toml", "x").unwrap();
    let back = Experiment::parse(&e.resolved_toml(), "r.toml", "x").unwrap();
    assert_eq!(back, e);
    assert_eq!(
        e.inits[0].init.canonical(),
        "lsuv(base=kaiming_normal, tol=0.05, max_iters=7)"
    );
}

/// Per-Jacobian normalized variance Var[λ]/E[λ]² of JJᵀ's eigenvalues λ = σ².
fn nvar(sv: &[f64]) -> f64 {
    let l: Vec<f64> = sv.iter().map(|s| s * s).collect();
    let (m, v, _) = moments(&l);
    v / (m * m)
}

/// Pennington et al. 2017's four facts as slopes in L of Var[λ]/E[λ]² (λ the eigenvalues of
/// JJᵀ), at criticality, width 128, depths 2 and 6, 32 Jacobians per cell: linear–Gaussian 1,
/// linear–orthogonal 0, ReLU–Gaussian 2, ReLU–orthogonal 1; tanh–orthogonal at the critical
/// point (σ_w² = 1, no bias) stays O(1) and on its free-probability prediction.
///
/// Tolerance: 5 standard errors of the slope, from the spread of the per-Jacobian values
/// (se of a mean of 32), plus 12% of the fact for the finite-width excess of order L/n
/// (the exact second moment of a product of L Gaussian n × n matrices exceeds L + 1 by
/// O(L²/n): at n = 128, L = 6 about 0.2, i.e. ≲ 10% of the slope).
#[test]
fn jacobian_spectrum_variance_slopes() {
    let text = "seed = 11\ntrials = 4\nbatch = 8\ndtype = \"f64\"\n[network]\ndepth = [2, 6]\nwidth = 128\nactivation = [\"linear\", \"relu\", \"tanh\"]\nbias = false\n[[init]]\nlabel = \"Gaussian\"\nweight = { scheme = \"kaiming_normal\", gain = \"preserve\" }\n[[init]]\nlabel = \"orthogonal\"\nweight = { scheme = \"orthogonal\", gain = \"preserve\" }\n[[init]]\nlabel = \"orthogonal g=1\"\nweight = { scheme = \"orthogonal\", gain = 1.0 }\n[spectrum]\ninputs = 8\n";
    let exp = Experiment::parse(text, "s.toml", "s").unwrap();
    let results = run_sweep(&exp, &exp.cells(), false);
    let stats = |act: &str, init: &str, depth: usize| {
        let r = results
            .iter()
            .find(|r| {
                r.cell.activation.label() == act
                    && r.cell.init.label == init
                    && r.cell.depth == depth
            })
            .unwrap();
        let v: Vec<f64> = r
            .trials
            .iter()
            .flat_map(|t| t.spectrum.iter().map(|s| nvar(s)))
            .collect();
        assert_eq!(v.len(), 32);
        let (m, var, _) = moments(&v);
        (m, (var / v.len() as f64).sqrt(), r)
    };
    for (act, init, fact) in [
        ("linear", "Gaussian", 1.0),
        ("linear", "orthogonal", 0.0),
        ("relu", "Gaussian", 2.0),
        ("relu", "orthogonal", 1.0),
    ] {
        let (a, sa, _) = stats(act, init, 2);
        let (b, sb, r) = stats(act, init, 6);
        let slope = (b - a) / 4.0;
        let se = (sa * sa + sb * sb).sqrt() / 4.0;
        eprintln!("{act} {init}: slope {slope} (se {se}) vs {fact}");
        assert!(
            (slope - fact).abs() <= 5.0 * se + 0.12 * fact + 1e-9,
            "{act} {init}: slope {slope} vs {fact} (se {se})"
        );
        // The cells.csv prediction is exactly the fact × L.
        let p = initlab::theory::spectrum::cell_prediction(&exp, &r.cell).unwrap();
        assert!(
            (p.var / (p.mean * p.mean) - fact * 6.0).abs() < 1e-6,
            "{act} {init}"
        );
    }
    let (t, st, r) = stats("tanh", "orthogonal g=1", 6);
    let p = initlab::theory::spectrum::cell_prediction(&exp, &r.cell).unwrap();
    let want = p.var / (p.mean * p.mean);
    eprintln!("tanh orthogonal g=1: {t} (se {st}) vs {want}");
    assert!(
        want < 2.0,
        "tanh orthogonal at criticality: predicted {want}"
    );
    assert!(
        (t - want).abs() <= 5.0 * st + 0.12 * want,
        "tanh orthogonal: {t} (se {st}) vs {want}"
    );
}
