//! PyTorch's own init test suite (test/nn/test_init.py, `TestNNInit` and
//! `TestNNInitDeviceType`) re-implemented against initlab's schemes, plus the checks that KS alone
//! cannot make at these sizes: std/bound against the formulas to 1e-12 relative, support bounds,
//! and moment z-tests on ≥ 10⁶ samples.
//!
//! As in PyTorch: random sizes (from a fixed-seed stream instead of `random.seed(123)`), KS
//! tests against the exact distribution pass when p > 1e-4. Run with `--nocapture` to see the
//! p-values and z-scores.
// PyTorch's and Keras' literals are written exactly as they appear in their sources.
#![allow(clippy::approx_constant, clippy::excessive_precision)]

use super::gain::calculate_gain;
use super::ks::{kolmogorov_q, ks_test, normal_cdf, trunc_normal_cdf, uniform_cdf};
use super::scheme::KERAS_TRUNC_STD;
use super::trunc::{norm_ppf, trunc_normal_moments};
use super::{BiasInit, Init, Scheme};
use crate::error::is_bad_input;
use rand::Rng;
use rand_chacha::ChaCha8Rng;

/// KS threshold of TestNNInit.
const P_MIN: f64 = 1e-4;
/// |z| limit for the moment tests (two-sided 5.7e-7 per test under the null).
const Z_MAX: f64 = 5.0;

fn rng(tag: &str) -> ChaCha8Rng {
    crate::seed::stream(&["parity-tests", tag])
}

fn spec(text: &str) -> Init {
    Init::parse_spec(text, "test").unwrap_or_else(|e| panic!("{text}: {e}"))
}

fn draw(s: &Scheme, shape: &[usize], tag: &str) -> Vec<f64> {
    s.sample(shape, &mut rng(tag))
        .unwrap_or_else(|e| panic!("{s:?} {shape:?}: {e}"))
}

/// PyTorch's `_create_random_nd_tensor`: `dims` sizes uniform in [min, max].
fn random_shape(r: &mut ChaCha8Rng, dims: usize, min: usize, max: usize) -> Vec<usize> {
    (0..dims).map(|_| r.random_range(min..=max)).collect()
}

/// PyTorch's `_random_float`: uniform in [a, b).
fn random_float(r: &mut ChaCha8Rng, a: f64, b: f64) -> f64 {
    (b - a) * r.random::<f64>() + a
}

/// PyTorch's fans, written out independently of `fans.rs`.
fn torch_fans(shape: &[usize]) -> (f64, f64) {
    let rf: usize = shape[2..].iter().product();
    ((shape[1] * rf) as f64, (shape[0] * rf) as f64)
}

fn assert_ks(what: &str, xs: &[f64], cdf: impl Fn(f64) -> f64) -> f64 {
    let (d, p) = ks_test(xs, cdf);
    println!("KS {what}: n = {}, D = {d:.3e}, p = {p:.4}", xs.len());
    assert!(
        p > P_MIN,
        "{what}: KS rejects (D = {d}, p = {p}, n = {})",
        xs.len()
    );
    p
}

fn rel(a: f64, b: f64) -> f64 {
    ((a - b) / b).abs()
}

// ---------------------------------------------------------------- calculate_gain

/// test_calculate_gain_linear / _nonlinear / _leaky_relu / _only_accepts_valid_nonlinearities:
/// PyTorch's literal values, compared exactly.
#[test]
fn calculate_gain_exact() {
    for f in [
        "linear",
        "conv1d",
        "conv2d",
        "conv3d",
        "conv_transpose1d",
        "conv_transpose2d",
        "conv_transpose3d",
        "sigmoid",
    ] {
        assert_eq!(calculate_gain(f, None).unwrap(), 1.0, "{f}");
    }
    assert_eq!(calculate_gain("tanh", None).unwrap(), 1.6666666666666667);
    assert_eq!(calculate_gain("relu", None).unwrap(), 1.4142135623730951);
    assert_eq!(
        calculate_gain("leaky_relu", None).unwrap(),
        1.4141428569978354
    );
    assert_eq!(calculate_gain("selu", None).unwrap(), 0.75);
    assert_eq!(
        calculate_gain("leaky_relu", Some(0.0)).unwrap(),
        1.4142135623730951
    );
    assert_eq!(
        calculate_gain("leaky_relu", Some(0.01)).unwrap(),
        1.4141428569978354
    );
    assert_eq!(
        calculate_gain("leaky_relu", Some(10.0)).unwrap(),
        0.14071950894605836
    );
    let mut r = rng("gain-names");
    for n in [2, 5, 25] {
        let name: String = (0..n)
            .map(|_| (b'a' + r.random_range(0..26u8)) as char)
            .collect();
        let e = calculate_gain(&name, None).unwrap_err();
        assert!(
            e.contains("unknown nonlinearity") && e.contains("valid: linear"),
            "{e}"
        );
    }
    // kaiming's defaults (a = 0, leaky_relu) give exactly √2; pytorch_default's a = √5 gives √(1/3).
    assert_eq!(spec("kaiming_normal").weight.gain().unwrap(), 2f64.sqrt());
    assert!(
        rel(
            spec("pytorch_default").weight.gain().unwrap(),
            (1.0f64 / 3.0).sqrt()
        ) < 1e-15
    );
    // a is ignored unless nonlinearity is leaky_relu, as in calculate_gain(nonlinearity, a).
    let relu = spec("scheme = \"kaiming_normal\", a = 3, nonlinearity = \"relu\"");
    assert_eq!(relu.weight.gain().unwrap(), 2f64.sqrt());
}

// ---------------------------------------------------------------- the KS machinery

/// Kolmogorov distribution critical values (Smirnov 1948), and the KS test's power: it must be
/// able to fail.
#[test]
fn ks_machinery() {
    for (lambda, p) in [
        (1.2238, 0.10),
        (1.3581, 0.05),
        (1.6276, 0.01),
        (1.9495, 0.001),
        (0.5, 0.963_945_2),
    ] {
        let q = kolmogorov_q(lambda);
        assert!((q - p).abs() < 2e-4, "Q({lambda}) = {q}, want {p}");
    }
    let (lo, hi) = (kolmogorov_q(1.18 - 1e-12), kolmogorov_q(1.18));
    assert!(
        (lo - hi).abs() < 1e-12,
        "series disagree at 1.18: {lo} vs {hi}"
    );
    let n = 10_000;
    let xs: Vec<f64> = (0..n).map(|i| (i as f64 + 0.5) / n as f64).collect();
    let (d, p) = ks_test(&xs, uniform_cdf(0.0, 1.0));
    assert!((d - 0.5 / n as f64).abs() < 1e-15 && p > 0.999, "{d} {p}");
    let wide: Vec<f64> = xs.iter().map(|x| 1.1 * x).collect();
    assert!(ks_test(&wide, uniform_cdf(0.0, 1.0)).1 < P_MIN);
    let zs: Vec<f64> = (1..n).map(|i| norm_ppf(i as f64 / n as f64)).collect();
    assert!(ks_test(&zs, normal_cdf(0.0, 1.0)).1 > 0.99);
    assert!(ks_test(&zs, normal_cdf(0.0, 1.1)).1 < P_MIN);
    assert!(ks_test(&zs, normal_cdf(0.1, 1.0)).1 < P_MIN);
}

// ---------------------------------------------------------------- uniform, normal, trunc_normal

/// test_uniform: dims 1, 2, 4 with sizes 30..50, a ∈ [−3, 3), b = a + [1, 5).
#[test]
fn uniform_ks() {
    let mut r = rng("uniform");
    for dims in [1, 2, 4] {
        let shape = random_shape(&mut r, dims, 30, if dims == 4 { 36 } else { 50 });
        let a = random_float(&mut r, -3.0, 3.0);
        let b = a + random_float(&mut r, 1.0, 5.0);
        let s = spec(&format!("scheme = \"uniform\", a = {a:?}, b = {b:?}")).weight;
        let xs = draw(&s, &shape, &format!("uniform{dims}"));
        assert!(xs.iter().all(|&x| a <= x && x < b), "uniform leaves [a, b)");
        assert_ks(&format!("uniform{shape:?}"), &xs, uniform_cdf(a, b));
    }
}

/// test_normal: dims 1, 2, 4, mean ∈ [−3, 3), std ∈ [1, 5).
#[test]
fn normal_ks() {
    let mut r = rng("normal");
    for dims in [1, 2, 4] {
        let shape = random_shape(&mut r, dims, 30, if dims == 4 { 36 } else { 50 });
        let mean = random_float(&mut r, -3.0, 3.0);
        let std = random_float(&mut r, 1.0, 5.0);
        let s = spec(&format!(
            "scheme = \"normal\", mean = {mean:?}, std = {std:?}"
        ))
        .weight;
        let xs = draw(&s, &shape, &format!("normal{dims}"));
        assert_ks(&format!("normal{shape:?}"), &xs, normal_cdf(mean, std));
    }
}

/// test_trunc_normal_all_dtypes (f64): dims 1, 2, 4, mean ∈ [−3, 3], std ∈ [0.01, 1],
/// a ∈ [mean − 2std, mean], b ∈ [mean, mean + 2std]; bounds respected.
#[test]
fn trunc_normal_ks() {
    let mut r = rng("trunc");
    for dims in [1, 2, 4] {
        let shape = random_shape(&mut r, dims, 30, if dims == 4 { 36 } else { 50 });
        let mean = random_float(&mut r, -3.0, 3.0);
        let std = random_float(&mut r, 0.01, 1.0);
        let a = random_float(&mut r, mean - 2.0 * std, mean);
        let b = random_float(&mut r, mean, mean + 2.0 * std);
        let s = spec(&format!(
            "scheme = \"trunc_normal\", mean = {mean:?}, std = {std:?}, a = {a:?}, b = {b:?}"
        ))
        .weight;
        let xs = draw(&s, &shape, &format!("trunc{dims}"));
        assert!(
            xs.iter().all(|&x| a <= x && x <= b),
            "trunc_normal leaves [a, b]"
        );
        assert_ks(
            &format!("trunc_normal{shape:?}"),
            &xs,
            trunc_normal_cdf(mean, std, a, b),
        );
    }
}

/// test_trunc_normal_narrow_interval, _unique_values, _no_boundary_values_small_std, the
/// defaults, and windows far in the tails (where Φ underflows and an inverse-CDF sampler in
/// float would pile everything on a bound).
#[test]
fn trunc_normal_windows() {
    let cases: &[(f64, f64, f64, f64)] = &[
        (0.0, 1.0, 2.0, 3.0),      // narrow interval
        (0.0, 1.0, -2.0, 2.0),     // defaults
        (0.0, 0.1, -2.0, 2.0),     // small std: bounds at 20σ
        (1.0, 2.0, -9.0, 0.5),     // b below the mean
        (0.0, 1.0, 6.0, 7.0),      // inverse CDF in the tail
        (0.0, 1.0, -41.0, -40.0),  // beyond Φ's range: Robert's tail sampler, exponential proposal
        (0.0, 1.0, 50.0, 50.001),  // beyond Φ's range, narrow: uniform proposal
        (3.0, 0.5, -100.0, -99.0), // 206σ below the mean
    ];
    for (i, &(mean, std, a, b)) in cases.iter().enumerate() {
        let s = spec(&format!(
            "scheme = \"trunc_normal\", mean = {mean:?}, std = {std:?}, a = {a:?}, b = {b:?}"
        ))
        .weight;
        let xs = draw(&s, &[10_000], &format!("window{i}"));
        assert!(xs.iter().all(|&x| a <= x && x <= b), "[{a}, {b}] left");
        let at_bounds = xs.iter().filter(|&&x| x == a || x == b).count();
        assert_eq!(at_bounds, 0, "[{a}, {b}]: values piled on the bounds");
        let mut u = xs.clone();
        u.sort_by(|x, y| x.total_cmp(y));
        u.dedup();
        assert!(u.len() > 5000, "[{a}, {b}]: only {} unique values", u.len());
        let (al, be) = ((a - mean) / std, (b - mean) / std);
        if al.abs().min(be.abs()) < 30.0 || al < 0.0 && be > 0.0 {
            assert_ks(
                &format!("trunc_normal({mean},{std},[{a},{b}])"),
                &xs,
                trunc_normal_cdf(mean, std, a, b),
            );
        } else {
            // Far tail: the truncated density is ≈ λ·e^{−λ(x−α)} (λ ≈ α) in standard units; test
            // the standardised excess against that CDF, normalised to the window.
            let (lo, w, flip) = if al > 0.0 {
                (al, be - al, false)
            } else {
                (-be, be - al, true)
            };
            let ex: Vec<f64> = xs
                .iter()
                .map(|&x| {
                    let z = (x - mean) / std;
                    if flip {
                        -z - lo
                    } else {
                        z - lo
                    }
                })
                .collect();
            // Exact density ∝ e^{−(lo+t)²/2} on [0, w]: CDF = (1 − e^{−lo·t − t²/2}·…) — use
            // the ratio of Mills-ratio tails, which is exact: F(t) = 1 − (R(lo+t)φ(lo+t) − R(lo+w)φ(lo+w))/(…).
            let tail = |t: f64| {
                let m = |x: f64| super::trunc::mills_ratio(x);
                let e = |x: f64| (-(x - lo) * (x + lo) / 2.0).exp();
                let s0 = m(lo);
                let sw = m(lo + w) * e(lo + w);
                let st = m(lo + t) * e(lo + t);
                ((s0 - st) / (s0 - sw)).clamp(0.0, 1.0)
            };
            assert_ks(&format!("trunc_normal tail [{a},{b}]"), &ex, tail);
        }
        // Mean by z-test against the formula.
        let (m, v) = trunc_normal_moments(mean, std, a, b);
        let n = xs.len() as f64;
        let mean_s = xs.iter().sum::<f64>() / n;
        let z = (mean_s - m) / (v / n).sqrt();
        assert!(z.abs() < Z_MAX, "[{a}, {b}]: mean {mean_s} vs {m}, z = {z}");
    }
    // a = b: PyTorch's uniform_(x, x) → a point mass at a.
    let s = spec("scheme = \"trunc_normal\", a = 0.5, b = 0.5").weight;
    assert!(draw(&s, &[100], "point").iter().all(|&x| x == 0.5));
    assert_eq!(trunc_normal_moments(0.0, 1.0, 0.5, 0.5), (0.5, 0.0));
}

/// The truncated-normal moment formula against direct numerical integration (composite
/// Simpson, 20 000 panels) — an independent check of what the theory and `weights` print.
#[test]
fn trunc_normal_moments_by_quadrature() {
    for &(mean, std, a, b) in &[
        (0.0, 1.0, -2.0, 2.0),
        (0.3, 0.7, -0.1, 1.9),
        (0.0, 1.0, 2.0, 3.0),
        (0.0, 1.0, -3.0, -2.5),
        (1.0, 2.0, -9.0, 0.5),
        (0.0, 1.0, 8.0, 9.0),
        (0.0, 1.0, 35.0, 36.0),
    ] {
        let (al, be) = ((a - mean) / std, (b - mean) / std);
        // Integrate in standard units relative to the density at the nearer bound.
        let base = if al > 0.0 {
            al
        } else if be < 0.0 {
            be
        } else {
            0.0
        };
        let f = |z: f64| (-(z - base) * (z + base) / 2.0).exp();
        let k = 20_000;
        let h = (be - al) / k as f64;
        let (mut m0, mut m1, mut m2) = (0.0, 0.0, 0.0);
        for i in 0..=k {
            let z = al + i as f64 * h;
            let w = if i == 0 || i == k {
                1.0
            } else if i % 2 == 1 {
                4.0
            } else {
                2.0
            };
            let d = w * f(z);
            m0 += d;
            m1 += d * z;
            m2 += d * z * z;
        }
        let ez = m1 / m0;
        let vz = m2 / m0 - ez * ez;
        let (m, v) = trunc_normal_moments(mean, std, a, b);
        assert!(
            (m - (mean + std * ez)).abs() < 1e-9 * std.max(m.abs()),
            "mean [{a},{b}]: {m} vs {}",
            mean + std * ez
        );
        assert!(
            rel(v, std * std * vz) < 1e-7,
            "var [{a},{b}]: {v} vs {}",
            std * std * vz
        );
    }
    // Keras' constant is the std of N(0, 1) on [−2, 2].
    let (_, v) = trunc_normal_moments(0.0, 1.0, -2.0, 2.0);
    assert!(rel(v.sqrt(), KERAS_TRUNC_STD) < 1e-15);
}

// ---------------------------------------------------------------- constant, ones, zeros, eye

/// test_constant, test_ones_and_zeros: dims 1, 2, 4, sizes 1..5, every entry equal.
#[test]
fn constant_ones_zeros() {
    let mut r = rng("const");
    for dims in [1, 2, 4] {
        let shape = random_shape(&mut r, dims, 1, 5);
        let val = random_float(&mut r, 1.0, 10.0);
        let n: usize = shape.iter().product();
        for (text, want) in [
            (format!("scheme = \"constant\", val = {val:?}"), val),
            ("ones".to_string(), 1.0),
            ("zeros".to_string(), 0.0),
        ] {
            let xs = draw(&spec(&text).weight, &shape, "c");
            assert_eq!(xs.len(), n);
            assert!(xs.iter().all(|&x| x == want), "{text} {shape:?}");
        }
    }
}

/// test_eye and test_eye_only_works_on_2d_inputs.
#[test]
fn eye_is_identity() {
    let mut r = rng("eye");
    for _ in 0..10 {
        let shape = random_shape(&mut r, 2, 1, 5);
        let xs = draw(&Scheme::Eye, &shape, "eye");
        for i in 0..shape[0] {
            for j in 0..shape[1] {
                assert_eq!(
                    xs[i * shape[1] + j],
                    if i == j { 1.0 } else { 0.0 },
                    "{shape:?} [{i}][{j}]"
                );
            }
        }
    }
    for dims in [1, 3] {
        let shape = random_shape(&mut r, dims, 1, 3);
        let e = Scheme::Eye.sample(&shape, &mut r).unwrap_err();
        assert!(e.contains("eye needs exactly 2 dimensions"), "{e}");
    }
}

// ---------------------------------------------------------------- dirac

/// test_dirac_properties: dims 3, 4, 5 × groups 1, 2, 3: the number of non-zeros and the sum
/// equal min(out/groups, in)·groups.
#[test]
fn dirac_properties() {
    let mut r = rng("dirac");
    for dims in [3, 4, 5] {
        for groups in [1, 2, 3] {
            for _ in 0..5 {
                let (a, c, d, e) = (
                    r.random_range(1..=5),
                    r.random_range(1..=5),
                    r.random_range(1..=5),
                    r.random_range(1..=5),
                );
                let b = r.random_range(1..=5 * groups);
                let shape = [a * groups, b, c, d, e][..dims].to_vec();
                let s = spec(&format!("scheme = \"dirac\", groups = {groups}")).weight;
                let xs = draw(&s, &shape, "dirac");
                let min_d = (shape[0] / groups).min(shape[1]);
                assert_eq!(
                    xs.iter().filter(|&&x| x != 0.0).count(),
                    min_d * groups,
                    "{shape:?} g{groups}"
                );
                assert_eq!(xs.iter().sum::<f64>(), (min_d * groups) as f64);
            }
        }
    }
}

/// A valid (no padding, stride 1) N-d convolution, PyTorch semantics: input [batch, cin, s...],
/// weight [cout, cin/groups, k...], output [batch, cout, (s−k+1)...].
fn conv_valid(
    input: &[f64],
    ishape: &[usize],
    w: &[f64],
    wshape: &[usize],
    groups: usize,
) -> (Vec<f64>, Vec<usize>) {
    let (batch, cin, cout, cin_g) = (ishape[0], ishape[1], wshape[0], wshape[1]);
    assert_eq!(cin_g * groups, cin);
    let sp_in = &ishape[2..];
    let ks = &wshape[2..];
    let sp_out: Vec<usize> = sp_in.iter().zip(ks).map(|(s, k)| s - k + 1).collect();
    let n_out: usize = sp_out.iter().product();
    let n_in: usize = sp_in.iter().product();
    let n_k: usize = ks.iter().product();
    let unravel = |mut i: usize, dims: &[usize]| -> Vec<usize> {
        let mut idx = vec![0; dims.len()];
        for d in (0..dims.len()).rev() {
            idx[d] = i % dims[d];
            i /= dims[d];
        }
        idx
    };
    let ravel =
        |idx: &[usize], dims: &[usize]| idx.iter().zip(dims).fold(0, |acc, (i, d)| acc * d + i);
    let cout_g = cout / groups;
    let mut out = vec![0.0; batch * cout * n_out];
    for bi in 0..batch {
        for o in 0..cout {
            let g = o / cout_g;
            for p in 0..n_out {
                let po = unravel(p, &sp_out);
                let mut acc = 0.0;
                for ci in 0..cin_g {
                    let c = g * cin_g + ci;
                    for kk in 0..n_k {
                        let kidx = unravel(kk, ks);
                        let pos: Vec<usize> = po.iter().zip(&kidx).map(|(a, b)| a + b).collect();
                        acc += w[(o * cin_g + ci) * n_k + kk]
                            * input[(bi * cin + c) * n_in + ravel(&pos, sp_in)];
                    }
                }
                out[(bi * cout + o) * n_out + p] = acc;
            }
        }
    }
    let mut oshape = vec![batch, cout];
    oshape.extend(&sp_out);
    (out, oshape)
}

/// test_dirac_identity (1-D, 2-D, 3-D; groups 1 and 3; in 3, out 9, size 5, kernel 3): an
/// ungrouped valid convolution with a dirac(groups) kernel returns the input cropped by one
/// pixel in each output group's first `in` channels and zeros in the rest; and a *grouped*
/// convolution with it returns each group's input channels.
#[test]
fn dirac_identity() {
    let (batch, in_c, out_c, size, k) = (8, 3, 9, 5, 3);
    let mut r = rng("dirac-identity");
    for groups in [1, 3] {
        let eff = out_c / groups;
        for d in 1..=3 {
            let mut ishape = vec![batch, in_c];
            ishape.extend(std::iter::repeat_n(size, d));
            let mut wshape = vec![out_c, in_c];
            wshape.extend(std::iter::repeat_n(k, d));
            let n_in: usize = ishape.iter().product();
            let input: Vec<f64> = (0..n_in).map(|_| rng_normal(&mut r)).collect();
            let s = spec(&format!("scheme = \"dirac\", groups = {groups}")).weight;
            let w = draw(&s, &wshape, "dirac-id");
            let (out, oshape) = conv_valid(&input, &ishape, &w, &wshape, 1);
            let n_out: usize = oshape[2..].iter().product();
            let sp: Vec<usize> = oshape[2..].to_vec();
            for bi in 0..batch {
                for g in 0..groups {
                    for j in 0..eff {
                        for p in 0..n_out {
                            let got = out[(bi * out_c + g * eff + j) * n_out + p];
                            let want = if j < in_c {
                                cropped(&input, &ishape, bi, j, p, &sp)
                            } else {
                                0.0
                            };
                            assert_eq!(
                                got,
                                want,
                                "d{d} g{groups} out channel {} pos {p}",
                                g * eff + j
                            );
                        }
                    }
                }
            }
            // Grouped convolution: weight [out, in/groups, k...] with in = 3·groups channels.
            let gin = in_c * groups;
            let mut gishape = vec![batch, gin];
            gishape.extend(std::iter::repeat_n(size, d));
            let mut gwshape = vec![out_c, in_c];
            gwshape.extend(std::iter::repeat_n(k, d));
            let gn: usize = gishape.iter().product();
            let ginput: Vec<f64> = (0..gn).map(|_| rng_normal(&mut r)).collect();
            let gw = draw(&s, &gwshape, "dirac-gid");
            let (gout, _) = conv_valid(&ginput, &gishape, &gw, &gwshape, groups);
            for bi in 0..batch {
                for g in 0..groups {
                    for j in 0..eff {
                        for p in 0..n_out {
                            let got = gout[(bi * out_c + g * eff + j) * n_out + p];
                            let want = if j < in_c {
                                cropped(&ginput, &gishape, bi, g * in_c + j, p, &sp)
                            } else {
                                0.0
                            };
                            assert_eq!(got, want, "grouped d{d} g{groups}");
                        }
                    }
                }
            }
        }
    }
}

fn rng_normal(r: &mut ChaCha8Rng) -> f64 {
    rand_distr::Distribution::sample(&rand_distr::StandardNormal, r)
}

/// input[bi, c, p + 1 (each spatial dim)] — the centre crop the valid 3-tap convolution sees.
fn cropped(
    input: &[f64],
    ishape: &[usize],
    bi: usize,
    c: usize,
    p: usize,
    sp_out: &[usize],
) -> f64 {
    let sp_in = &ishape[2..];
    let mut rem = p;
    let mut idx = vec![0; sp_out.len()];
    for d in (0..sp_out.len()).rev() {
        idx[d] = rem % sp_out[d] + 1;
        rem /= sp_out[d];
    }
    let flat = idx.iter().zip(sp_in).fold(0, |acc, (i, s)| acc * s + i);
    let n_in: usize = sp_in.iter().product();
    input[(bi * ishape[1] + c) * n_in + flat]
}

/// test_dirac_only_works_on_3_4_5d_inputs, and groups must divide dim 0.
#[test]
fn dirac_errors() {
    for shape in [vec![3], vec![3, 3], vec![2, 2, 2, 2, 2, 2]] {
        let e = Scheme::Dirac { groups: 1 }.check_shape(&shape).unwrap_err();
        assert!(e.contains("dirac needs 3, 4 or 5 dimensions"), "{e}");
    }
    let e = Scheme::Dirac { groups: 2 }
        .check_shape(&[3, 2, 3])
        .unwrap_err();
    assert!(e.contains("divisible by groups"), "{e}");
    let e = Init::parse_spec("scheme = \"dirac\", groups = 0", "t").unwrap_err();
    assert!(
        is_bad_input(&e) && e.to_string().contains("positive integer"),
        "{e}"
    );
}

// ---------------------------------------------------------------- xavier, kaiming

/// test_{xavier,kaiming}_{uniform,normal}_errors_on_inputs_smaller_than_2d and
/// test_kaiming_*_warning_on_0element_tensor (a no-op, not an error).
#[test]
fn fan_schemes_need_two_dimensions() {
    for name in [
        "xavier_uniform",
        "xavier_normal",
        "kaiming_uniform",
        "kaiming_normal",
        "pytorch_default",
    ] {
        let init = spec(name);
        for shape in [vec![], vec![1]] {
            let e = init.weight.check_shape(&shape).unwrap_err();
            assert!(
                e.contains("fewer than 2 dimensions"),
                "{name} {shape:?}: {e}"
            );
            assert!(init.weight.sample(&shape, &mut rng("x")).is_err());
        }
    }
    for name in ["kaiming_uniform", "kaiming_normal"] {
        let w = &spec(name).weight;
        assert_eq!(
            w.sample(&[0, 1], &mut rng("k0")).unwrap(),
            Vec::<f64>::new()
        );
        assert_eq!(
            w.sample(&[0], &mut rng("k0")).unwrap(),
            Vec::<f64>::new(),
            "zero check precedes fans"
        );
    }
}

/// test_xavier_uniform, test_xavier_normal: with and without gain, dims 2 and 4, sizes 20..25.
#[test]
fn xavier_ks() {
    let mut r = rng("xavier");
    for use_gain in [true, false] {
        for dims in [2, 4] {
            for uniform in [true, false] {
                let shape = random_shape(&mut r, dims, 20, 25);
                let gain = if use_gain {
                    random_float(&mut r, 0.1, 2.0)
                } else {
                    1.0
                };
                let name = if uniform {
                    "xavier_uniform"
                } else {
                    "xavier_normal"
                };
                let s = if use_gain {
                    spec(&format!("scheme = \"{name}\", gain = {gain:?}")).weight
                } else {
                    spec(name).weight
                };
                let (fi, fo) = torch_fans(&shape);
                let std = gain * (2.0 / (fi + fo)).sqrt();
                let xs = draw(&s, &shape, &format!("{name}{dims}{use_gain}"));
                assert!(rel(s.std(&shape).unwrap(), std) < 1e-12);
                if uniform {
                    let bound = std * 3f64.sqrt();
                    assert!(rel(s.bound(&shape).unwrap(), bound) < 1e-12);
                    assert!(xs.iter().all(|x| x.abs() <= bound));
                    assert_ks(
                        &format!("{name}{shape:?} gain {gain:.3}"),
                        &xs,
                        uniform_cdf(-bound, bound),
                    );
                } else {
                    assert_ks(
                        &format!("{name}{shape:?} gain {gain:.3}"),
                        &xs,
                        normal_cdf(0.0, std),
                    );
                }
            }
        }
    }
}

/// test_kaiming_uniform, test_kaiming_normal: with and without a, dims 2 and 4, both modes;
/// expected std = √(2/((1 + a²)·fan)).
#[test]
fn kaiming_ks() {
    let mut r = rng("kaiming");
    for use_a in [true, false] {
        for dims in [2, 4] {
            for mode in ["fan_in", "fan_out"] {
                for uniform in [true, false] {
                    let shape = random_shape(&mut r, dims, 20, 25);
                    let name = if uniform {
                        "kaiming_uniform"
                    } else {
                        "kaiming_normal"
                    };
                    let (a, s) = if use_a {
                        let a = random_float(&mut r, 0.1, 2.0);
                        (
                            a,
                            spec(&format!(
                                "scheme = \"{name}\", a = {a:?}, mode = \"{mode}\""
                            ))
                            .weight,
                        )
                    } else {
                        (
                            0.0,
                            spec(&format!("scheme = \"{name}\", mode = \"{mode}\"")).weight,
                        )
                    };
                    let (fi, fo) = torch_fans(&shape);
                    let n = if mode == "fan_in" { fi } else { fo };
                    let std = (2.0 / ((1.0 + a * a) * n)).sqrt();
                    assert!(
                        rel(s.std(&shape).unwrap(), std) < 1e-12,
                        "{name} {mode} a={a}"
                    );
                    let xs = draw(&s, &shape, &format!("{name}{dims}{mode}{use_a}"));
                    let what = format!("{name}{shape:?} {mode} a={a:.3}");
                    if uniform {
                        let bound = std * 3f64.sqrt();
                        assert!(rel(s.bound(&shape).unwrap(), bound) < 1e-12);
                        assert!(xs.iter().all(|x| x.abs() <= bound));
                        assert_ks(&what, &xs, uniform_cdf(-bound, bound));
                    } else {
                        assert_ks(&what, &xs, normal_cdf(0.0, std));
                    }
                }
            }
        }
    }
}

// ---------------------------------------------------------------- sparse

/// test_sparse_only_works_on_2d_inputs and test_sparse_default_std: every column has at least
/// ⌈sparsity·rows⌉ zeros (exactly that many: the rest are normal draws), and the non-zeros are
/// N(0, std²); also on a 1000 × 1000 matrix for power.
#[test]
fn sparse_ks() {
    let mut r = rng("sparse");
    for dims in [1, 3, 4] {
        let shape = random_shape(&mut r, dims, 1, 3);
        let e = spec("scheme = \"sparse\", sparsity = 0.5")
            .weight
            .check_shape(&shape)
            .unwrap_err();
        assert!(e.contains("sparse needs exactly 2 dimensions"), "{e}");
    }
    for (use_random_std, lo, hi) in [(true, 30, 35), (false, 30, 35), (true, 1000, 1000)] {
        let shape = random_shape(&mut r, 2, lo, hi);
        let rows = shape[0];
        let sparsity = random_float(&mut r, 0.1, 0.2);
        let (std, s) = if use_random_std {
            let std = random_float(&mut r, 0.01, 0.2);
            (
                std,
                spec(&format!(
                    "scheme = \"sparse\", sparsity = {sparsity:?}, std = {std:?}"
                ))
                .weight,
            )
        } else {
            (
                0.01,
                spec(&format!("scheme = \"sparse\", sparsity = {sparsity:?}")).weight,
            )
        };
        let xs = draw(&s, &shape, &format!("sparse{rows}{use_random_std}"));
        let zeros = (sparsity * rows as f64).ceil() as usize;
        for c in 0..shape[1] {
            let z = (0..rows).filter(|&i| xs[i * shape[1] + c] == 0.0).count();
            assert_eq!(z, zeros, "column {c}");
        }
        let nz: Vec<f64> = xs.iter().copied().filter(|&x| x != 0.0).collect();
        assert_ks(
            &format!("sparse{shape:?} nonzeros std {std:.3}"),
            &nz,
            normal_cdf(0.0, std),
        );
    }
}

// ---------------------------------------------------------------- orthogonal

/// test_orthogonal: W Wᵀ = gain² I (rows ≤ cols) or Wᵀ W = gain² I, atol 1e-6 with W in f32;
/// shapes [3,4], [4,3], [20,2,3,4], [2,3,4,5], with and without gain.
#[test]
fn orthogonal_is_orthogonal() {
    let mut r = rng("orth");
    for use_gain in [true, false] {
        for shape in [vec![3, 4], vec![4, 3], vec![20, 2, 3, 4], vec![2, 3, 4, 5]] {
            let gain = if use_gain {
                random_float(&mut r, 0.1, 2.0)
            } else {
                1.0
            };
            let s = spec(&format!("scheme = \"orthogonal\", gain = {gain:?}")).weight;
            // W rounded to f32 (PyTorch's dtype), products accumulated in f64.
            let w: Vec<f64> = draw(&s, &shape, &format!("orth{shape:?}"))
                .iter()
                .map(|&x| x as f32 as f64)
                .collect();
            let (rows, cols) = (shape[0], shape[1..].iter().product::<usize>());
            let (n, m) = (rows.min(cols), rows.max(cols));
            let at = |i: usize, k: usize| {
                if rows <= cols {
                    w[i * cols + k]
                } else {
                    w[k * cols + i]
                }
            };
            for i in 0..n {
                for j in 0..n {
                    let s: f64 = (0..m).map(|k| at(i, k) * at(j, k)).sum();
                    let want = if i == j { gain * gain } else { 0.0 };
                    assert!(
                        (s - want).abs() <= 1e-6,
                        "{shape:?} gain {gain}: ({i},{j}) = {s}"
                    );
                }
            }
        }
    }
    let s = spec("orthogonal").weight;
    assert_eq!(
        s.sample(&[0, 5], &mut r).unwrap(),
        Vec::<f64>::new(),
        "zero-element is a no-op"
    );
    assert_eq!(s.sample(&[3, 0, 2], &mut r).unwrap(), Vec::<f64>::new());
    assert!(s
        .sample(&[5], &mut r)
        .unwrap_err()
        .contains("at least 2 dimensions"));
}

/// The sign correction makes Q Haar: over many 4 × 4 draws E[Q_ii] = 0 and E[Q_ij²] = 1/4
/// (a QR without it has a positive-biased or negative-biased diagonal).
#[test]
fn orthogonal_is_haar() {
    let s = spec("orthogonal").weight;
    let mut r = rng("haar");
    let draws = 4000;
    let (mut diag, mut sq) = (vec![0.0; 4], 0.0);
    for _ in 0..draws {
        let q = s.sample(&[4, 4], &mut r).unwrap();
        for i in 0..4 {
            diag[i] += q[i * 4 + i];
        }
        sq += q[1] * q[1];
    }
    for (i, d) in diag.iter().enumerate() {
        let z = (d / draws as f64) / (0.25f64 / draws as f64).sqrt();
        println!("haar: E[Q{i}{i}] z = {z:.2}");
        assert!(z.abs() < Z_MAX, "E[Q{i}{i}] biased: z = {z}");
    }
    // Q01² ~ Beta(1/2, 3/2): mean 1/4, variance 3/80.
    let z = (sq / draws as f64 - 0.25) / (3.0 / 80.0 / draws as f64).sqrt();
    assert!(z.abs() < Z_MAX, "E[Q01²] z = {z}");
}

// ---------------------------------------------------------------- Keras variance scaling, presets

/// variance_scaling for every mode × distribution on 2-D and 4-D shapes: the std against
/// Keras' formula, KS against the exact distribution, the support, and Keras' fans for 1-D.
#[test]
fn variance_scaling_ks() {
    let mut r = rng("vs");
    for dims in [2, 4] {
        for mode in ["fan_in", "fan_out", "fan_avg"] {
            for dist in ["truncated_normal", "untruncated_normal", "uniform"] {
                let shape = random_shape(&mut r, dims, 20, 25);
                let scale = random_float(&mut r, 0.5, 3.0);
                let s = spec(&format!(
                    "scheme = \"variance_scaling\", scale = {scale:?}, mode = \"{mode}\", distribution = \"{dist}\""
                ))
                .weight;
                let (fi, fo) = torch_fans(&shape);
                let n = match mode {
                    "fan_in" => fi,
                    "fan_out" => fo,
                    _ => (fi + fo) / 2.0,
                }
                .max(1.0);
                let v = scale / n;
                let xs = draw(&s, &shape, &format!("vs{dims}{mode}{dist}"));
                let what = format!("variance_scaling{shape:?} {mode} {dist} scale {scale:.3}");
                match dist {
                    "truncated_normal" => {
                        let sd = v.sqrt() / 0.87962566103423978;
                        assert!(rel(s.std(&shape).unwrap(), sd) < 1e-12);
                        assert!(xs.iter().all(|x| x.abs() <= 2.0 * sd), "beyond 2σ");
                        assert_ks(&what, &xs, trunc_normal_cdf(0.0, sd, -2.0 * sd, 2.0 * sd));
                    }
                    "untruncated_normal" => {
                        assert!(rel(s.std(&shape).unwrap(), v.sqrt()) < 1e-12);
                        assert_ks(&what, &xs, normal_cdf(0.0, v.sqrt()));
                    }
                    _ => {
                        let limit = (3.0 * v).sqrt();
                        assert!(rel(s.bound(&shape).unwrap(), limit) < 1e-12);
                        assert!(xs.iter().all(|x| x.abs() <= limit));
                        assert_ks(&what, &xs, uniform_cdf(-limit, limit));
                    }
                }
                assert!(rel(s.moments(&shape).unwrap().var, v) < 1e-12);
            }
        }
    }
    // Keras compute_fans: rank 1 → fan_in = fan_out = n; rank 0 → 1; n = max(1, fan).
    let s = spec("scheme = \"variance_scaling\", scale = 2, distribution = \"untruncated_normal\"")
        .weight;
    assert!(rel(s.std(&[50]).unwrap(), (2.0f64 / 50.0).sqrt()) < 1e-15);
    assert_eq!(s.std(&[]).unwrap(), 2f64.sqrt());
    assert_eq!(s.std(&[0, 7]).unwrap(), (2.0f64 / 7.0).sqrt());
    assert_eq!(
        s.std(&[7, 0]).unwrap(),
        2f64.sqrt(),
        "fan_in = 0 → max(1, 0)"
    );
    // distribution = "normal" is Keras' alias for truncated_normal.
    assert_eq!(
        spec("scheme = \"variance_scaling\", distribution = \"normal\"").weight,
        spec("variance_scaling").weight
    );
}

/// Presets are exactly their definitions: pytorch_default = U(±1/√fan_in) for weight and bias
/// (Linear, Conv, grouped and transposed conv shapes), Keras presets = variance_scaling.
#[test]
fn presets_are_their_definitions() {
    let pd = spec("pytorch_default");
    for shape in [
        vec![128, 300],
        vec![64, 16, 3, 3],
        vec![8, 4, 2, 3, 5],
        vec![16, 4, 5],
    ] {
        let fan_in = torch_fans(&shape).0;
        let bound = 1.0 / fan_in.sqrt();
        assert!(
            rel(pd.weight.bound(&shape).unwrap(), bound) < 1e-12,
            "{shape:?}"
        );
        assert!(rel(pd.weight.moments(&shape).unwrap().var, 1.0 / (3.0 * fan_in)) < 1e-12);
        assert!(rel(pd.bias.moments(&shape).unwrap().var, 1.0 / (3.0 * fan_in)) < 1e-12);
        let w = draw(&pd.weight, &shape, "pd-w");
        assert!(w.iter().all(|x| x.abs() <= bound));
        assert_ks(
            &format!("pytorch_default weight {shape:?}"),
            &w,
            uniform_cdf(-bound, bound),
        );
    }
    // The bias of a layer with 3000 outputs: U(±1/√fan_in), fan_in from the weight.
    let shape = [3000, 50, 3];
    let b = pd.bias.sample(&shape, &mut rng("pd-b")).unwrap();
    assert_eq!(b.len(), 3000);
    let bound = 1.0 / 150f64.sqrt();
    assert!(b.iter().all(|x| x.abs() <= bound));
    assert_ks(
        "pytorch_default bias [3000]",
        &b,
        uniform_cdf(-bound, bound),
    );
    // fan_in = 0: bound 0 (PyTorch), all zeros.
    assert!(pd
        .bias
        .sample(&[4, 0], &mut rng("z"))
        .unwrap()
        .iter()
        .all(|&x| x == 0.0));
    assert_eq!(pd.bias, BiasInit::FanInUniform);

    let vs = |scale: f64, mode: &str, dist: &str| {
        spec(&format!(
            "scheme = \"variance_scaling\", scale = {scale:?}, mode = \"{mode}\", distribution = \"{dist}\""
        ))
        .weight
    };
    for (name, want) in [
        ("glorot_uniform", vs(1.0, "fan_avg", "uniform")),
        ("glorot_normal", vs(1.0, "fan_avg", "truncated_normal")),
        ("he_normal", vs(2.0, "fan_in", "truncated_normal")),
        ("he_uniform", vs(2.0, "fan_in", "uniform")),
        ("lecun_normal", vs(1.0, "fan_in", "truncated_normal")),
        ("lecun_uniform", vs(1.0, "fan_in", "uniform")),
    ] {
        let p = spec(name);
        assert_eq!(p.weight, want, "{name}");
        assert!(p.bias.is_zero(), "{name}: Keras' bias is zeros");
    }
    // he_normal is truncated (support ±2σ), kaiming_normal(relu) is not; same variance 2/fan_in.
    let shape = [256, 512];
    let (he, km) = (
        spec("he_normal").weight,
        spec("scheme = \"kaiming_normal\", nonlinearity = \"relu\"").weight,
    );
    assert!(rel(he.moments(&shape).unwrap().var, 2.0 / 512.0) < 1e-12);
    assert!(rel(km.moments(&shape).unwrap().var, 2.0 / 512.0) < 1e-12);
    assert!(he.support(&shape).1.is_finite() && km.support(&shape).1.is_infinite());
}

// ---------------------------------------------------------------- formulas, support, moments

/// std and bound of every fan-based scheme against formulas written out here, to 1e-12 relative.
#[test]
fn std_and_bound_formulas() {
    let shapes = [
        vec![128, 300],
        vec![300, 128],
        vec![64, 16, 3, 3],
        vec![8, 4, 2, 3, 5],
        vec![7, 1],
    ];
    for shape in &shapes {
        let (fi, fo) = torch_fans(shape);
        let s3 = 3f64.sqrt();
        let cases: Vec<(&str, f64, Option<f64>)> = vec![
            (
                "xavier_uniform",
                (2.0 / (fi + fo)).sqrt(),
                Some((6.0 / (fi + fo)).sqrt()),
            ),
            (
                "scheme = \"xavier_normal\", gain = 1.7",
                1.7 * (2.0 / (fi + fo)).sqrt(),
                None,
            ),
            (
                "kaiming_uniform",
                (2.0 / fi).sqrt(),
                Some((6.0 / fi).sqrt()),
            ),
            (
                "scheme = \"kaiming_normal\", mode = \"fan_out\"",
                (2.0 / fo).sqrt(),
                None,
            ),
            (
                "scheme = \"kaiming_uniform\", a = 0.2, nonlinearity = \"leaky_relu\"",
                (2.0 / (1.04 * fi)).sqrt(),
                Some((6.0 / (1.04 * fi)).sqrt()),
            ),
            (
                "scheme = \"kaiming_normal\", nonlinearity = \"tanh\"",
                5.0 / 3.0 / fi.sqrt(),
                None,
            ),
            (
                "scheme = \"kaiming_normal\", nonlinearity = \"selu\"",
                0.75 / fi.sqrt(),
                None,
            ),
            (
                "pytorch_default",
                1.0 / (s3 * fi.sqrt()),
                Some(1.0 / fi.sqrt()),
            ),
            ("he_uniform", (2.0 / fi).sqrt(), Some((6.0 / fi).sqrt())),
            ("he_normal", (2.0 / fi).sqrt() / 0.87962566103423978, None),
            ("lecun_uniform", (1.0 / fi).sqrt(), Some((3.0 / fi).sqrt())),
            (
                "glorot_normal",
                (2.0 / (fi + fo)).sqrt() / 0.87962566103423978,
                None,
            ),
            (
                "scheme = \"orthogonal\", gain = 2",
                2.0 / (shape[0].max(shape[1..].iter().product()) as f64).sqrt(),
                None,
            ),
        ];
        for (text, std, bound) in cases {
            let s = spec(text).weight;
            assert!(
                rel(s.std(shape).unwrap(), std) < 1e-12,
                "{text} {shape:?}: std {:?} vs {std}",
                s.std(shape)
            );
            match bound {
                Some(b) => assert!(
                    rel(s.bound(shape).unwrap(), b) < 1e-12,
                    "{text} {shape:?} bound"
                ),
                None => assert_eq!(s.bound(shape), None, "{text}: not uniform, no bound"),
            }
        }
    }
}

/// Moment z-tests on ≥ 10⁶ samples per scheme: mean and variance against the formulas with
/// standard errors √(σ²/n) and √((m₄ − s⁴)/n). KS at these sizes misses a 10% scale error
/// only for small n; this catches 2% (checked below: a 2% wrong variance gives |z| > 5).
#[test]
fn moments_z_tests() {
    let shape = [1000, 1000];
    let specs = [
        "scheme = \"uniform\", a = -0.5, b = 1.5",
        "scheme = \"normal\", mean = 0.3, std = 0.02",
        "trunc_normal",
        "scheme = \"trunc_normal\", mean = 0.1, std = 0.3, a = -0.2, b = 0.5",
        "scheme = \"trunc_normal\", a = 2, b = 3",
        "scheme = \"trunc_normal\", a = -41, b = -40",
        "xavier_uniform",
        "scheme = \"xavier_normal\", gain = 1.5",
        "kaiming_uniform",
        "scheme = \"kaiming_normal\", mode = \"fan_out\", nonlinearity = \"relu\"",
        "scheme = \"kaiming_uniform\", a = 0.7, mode = \"fan_out\"",
        "scheme = \"kaiming_normal\", a = 1.3",
        "scheme = \"sparse\", sparsity = 0.25, std = 0.05",
        "pytorch_default",
        "glorot_uniform",
        "glorot_normal",
        "he_normal",
        "he_uniform",
        "lecun_normal",
        "lecun_uniform",
        "scheme = \"variance_scaling\", scale = 0.3, mode = \"fan_avg\", distribution = \"untruncated_normal\"",
    ];
    let mut worst: f64 = 0.0;
    for text in specs {
        let s = spec(text).weight;
        let xs = draw(&s, &shape, text);
        let n = xs.len() as f64;
        let mean = xs.iter().sum::<f64>() / n;
        let var = xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / n;
        let m4 = xs.iter().map(|x| (x - mean).powi(4)).sum::<f64>() / n;
        let want = s.moments(&shape).unwrap();
        let z_mean = (mean - want.mean) / (want.var / n).sqrt();
        let se_var = ((m4 - var * var) / n).sqrt();
        let z_var = (var - want.var) / se_var;
        println!("z {text}: mean {z_mean:+.2}, var {z_var:+.2}");
        assert!(
            z_mean.abs() < Z_MAX,
            "{text}: mean {mean} vs {} (z {z_mean})",
            want.mean
        );
        assert!(
            z_var.abs() < Z_MAX,
            "{text}: var {var} vs {} (z {z_var})",
            want.var
        );
        // Power: a 2% error in the variance formula would be caught.
        assert!(
            ((var - 1.02 * want.var) / se_var).abs() > Z_MAX,
            "{text}: z-test cannot see 2%"
        );
        worst = worst.max(z_mean.abs()).max(z_var.abs());
        // Support bounds.
        let (lo, hi) = s.support(&shape);
        assert!(
            xs.iter().all(|&x| lo <= x && x <= hi),
            "{text}: value outside [{lo}, {hi}]"
        );
    }
    println!("moments: largest |z| = {worst:.2}");
    // Orthogonal: rows of a 250 × 4000 matrix are exactly orthonormal, so the mean square is
    // exactly gain²/max(rows, cols), not just within sampling error.
    let s = spec("scheme = \"orthogonal\", gain = 1.3").weight;
    let xs = draw(&s, &[250, 4000], "orth-moments");
    let ms = xs.iter().map(|x| x * x).sum::<f64>() / xs.len() as f64;
    assert!(rel(ms, 1.69 / 4000.0) < 1e-12, "{ms}");
    assert!(xs.iter().all(|x| x.abs() <= 1.3));
}

// ---------------------------------------------------------------- errors

/// Every misuse PyTorch rejects is a BadInput (exit 2) whose message names the problem.
#[test]
fn error_cases() {
    let parse_errors = [
        ("scheme = \"uniform\", a = 2, b = 1", "a <= b"),
        ("scheme = \"normal\", std = -1", "std >= 0"),
        ("scheme = \"trunc_normal\", std = 0", "std > 0"),
        ("scheme = \"trunc_normal\", std = -0.5", "std > 0"),
        ("scheme = \"trunc_normal\", a = 1, b = -1", "a <= b"),
        ("scheme = \"sparse\", sparsity = 1.5", "0 <= sparsity <= 1"),
        ("scheme = \"sparse\", sparsity = 0.5, std = -1", "std >= 0"),
        ("sparse", "'sparsity'"),
        ("constant", "'val'"),
        (
            "scheme = \"kaiming_normal\", nonlinearity = \"swish\"",
            "unknown nonlinearity 'swish'",
        ),
        (
            "scheme = \"kaiming_uniform\", mode = \"fan_avg\"",
            "valid: fan_in, fan_out",
        ),
        ("scheme = \"variance_scaling\", scale = 0", "scale > 0"),
        (
            "scheme = \"variance_scaling\", mode = \"fan\"",
            "valid: fan_in, fan_out, fan_avg",
        ),
        (
            "scheme = \"variance_scaling\", distribution = \"gamma\"",
            "valid: truncated_normal",
        ),
        ("scheme = \"dirac\", groups = 0", "positive integer"),
        ("scheme = \"xavier_normal\", gian = 2", "unknown key 'gian'"),
        ("scheme = \"xavier_uniform\", gain = -1", "gain >= 0"),
        ("scheme = \"xavier_normal\", gain = -0.5", "gain >= 0"),
        ("kaiming_norml", "did you mean 'kaiming_normal'"),
        ("scheme = \"he_normal\"", "is a preset"),
        ("preset = \"pytorch_default\", a = 1", "takes no parameters"),
        ("scheme = \"normal\", std = \"big\"", "expected a number"),
        ("scheme = \"normal\", std = nan", "finite"),
    ];
    for (text, want) in parse_errors {
        let e = Init::parse_spec(text, "--init").unwrap_err();
        assert!(is_bad_input(&e), "{text}: not a BadInput");
        assert!(e.to_string().contains(want), "{text}: '{e}' lacks '{want}'");
    }
    let shape_errors: [(&str, &[usize], &str); 8] = [
        ("xavier_uniform", &[5], "fewer than 2 dimensions"),
        ("kaiming_normal", &[], "fewer than 2 dimensions"),
        ("eye", &[2, 3, 4], "exactly 2 dimensions"),
        ("eye", &[2], "exactly 2 dimensions"),
        (
            "scheme = \"dirac\", groups = 2",
            &[3, 3, 3],
            "divisible by groups",
        ),
        ("dirac", &[3, 3], "3, 4 or 5 dimensions"),
        (
            "scheme = \"sparse\", sparsity = 0.1",
            &[3, 3, 3],
            "exactly 2 dimensions",
        ),
        ("orthogonal", &[4], "at least 2 dimensions"),
    ];
    for (text, shape, want) in shape_errors {
        let init = spec(text);
        let e = init.check_shape(shape, "--shape").unwrap_err();
        assert!(
            is_bad_input(&e) && e.to_string().contains(want),
            "{text} {shape:?}: {e}"
        );
    }
}

/// Every scheme and preset works in an experiment file (2-D MLP weights) and survives the
/// resolved-config round trip; dirac is refused there with its shape rule.
#[test]
fn every_scheme_in_experiment_files() {
    let weights = [
        "{ scheme = \"uniform\", a = -0.1, b = 0.1 }",
        "{ scheme = \"normal\", std = 0.05 }",
        "{ scheme = \"trunc_normal\", std = 0.05, a = -0.1, b = 0.1 }",
        "{ scheme = \"constant\", val = 0.01 }",
        "\"ones\"",
        "\"zeros\"",
        "\"eye\"",
        "\"xavier_uniform\"",
        "{ scheme = \"xavier_normal\", gain = 1.5 }",
        "{ scheme = \"kaiming_uniform\", a = 2.23606797749979 }",
        "{ scheme = \"kaiming_normal\", mode = \"fan_out\", nonlinearity = \"relu\" }",
        "{ scheme = \"orthogonal\", gain = 1.4142135623730951 }",
        "{ scheme = \"sparse\", sparsity = 0.1 }",
        "{ scheme = \"variance_scaling\", scale = 2, mode = \"fan_avg\", distribution = \"uniform\" }",
    ];
    let mut text =
        String::from("[network]\nkind = \"mlp\"\ndepth = 3\nwidth = 16\nactivation = \"relu\"\n");
    for (i, w) in weights.iter().enumerate() {
        text.push_str(&format!("[[init]]\nlabel = \"w{i}\"\nweight = {w}\nbias = {{ scheme = \"uniform\", a = -0.1, b = 0.1 }}\n"));
    }
    for p in super::PRESETS {
        text.push_str(&format!("[[init]]\npreset = \"{p}\"\n"));
    }
    let exp =
        crate::config::Experiment::parse(&text, "t.toml", "t").unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(exp.inits.len(), weights.len() + super::PRESETS.len());
    let back = crate::config::Experiment::parse(&exp.resolved_toml(), "r.toml", "t").unwrap();
    assert_eq!(back.inits, exp.inits);
    let dirac = "[network]\nkind = \"mlp\"\ndepth = 3\nwidth = 16\nactivation = \"relu\"\n[[init]]\nweight = \"dirac\"\n";
    let e = crate::config::Experiment::parse(dirac, "d.toml", "d").unwrap_err();
    assert!(
        is_bad_input(&e) && e.to_string().contains("3, 4 or 5 dimensions"),
        "{e}"
    );
}
