//! The facts the committed training results must show (issue 14), read from their CSVs:
//! He et al. 2015's (Fig. 3) on `results/he2015_train` (30-layer ReLU MLP) and
//! `results/he2015_train_conv` (30-layer ReLU conv net), and Schoenholz et al. 2017's on
//! `results/schoenholz2017` (tanh, σ_b² = 0.05). Tolerances are stated with each check.

use std::collections::BTreeMap;
use std::path::PathBuf;

#[derive(Debug, Clone)]
struct Row {
    init: String,
    depth: usize,
    trial: usize,
    step: usize,
    train_loss: f64,
    test_accuracy: f64,
    grad_norm_first: f64,
    sigma_w2: f64,
    xi_c: f64,
}

fn read(name: &str) -> Vec<Row> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("results")
        .join(name)
        .join("train.csv");
    let mut r = csv::Reader::from_path(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let h = r.headers().unwrap().clone();
    let col = |c: &str| {
        h.iter()
            .position(|x| x == c)
            .unwrap_or_else(|| panic!("column {c}"))
    };
    let (init, depth, trial, step) = (col("init"), col("depth"), col("trial"), col("step"));
    let (loss, acc, g1) = (
        col("train_loss"),
        col("test_accuracy"),
        col("grad_norm_first"),
    );
    let (sw, xi) = (col("sigma_w2"), col("theory_xi_c"));
    let f = |s: &str| {
        if s.is_empty() {
            f64::NAN
        } else {
            s.parse::<f64>().unwrap()
        }
    };
    r.records()
        .map(|rec| {
            let rec = rec.unwrap();
            Row {
                init: rec[init].to_string(),
                depth: rec[depth].parse().unwrap(),
                trial: rec[trial].parse().unwrap(),
                step: rec[step].parse().unwrap(),
                train_loss: f(&rec[loss]),
                test_accuracy: f(&rec[acc]),
                grad_norm_first: f(&rec[g1]),
                sigma_w2: f(&rec[sw]),
                xi_c: f(&rec[xi]),
            }
        })
        .collect()
}

/// Rows of `init` at `step` (one per trial).
fn at<'a>(rows: &'a [Row], init: &str, step: usize) -> Vec<&'a Row> {
    rows.iter()
        .filter(|r| r.init.starts_with(init) && r.step == step)
        .collect()
}

/// He init trains, Xavier and PyTorch's default do not, and the first layer's gradient at
/// initialization is ≥ 1000× smaller under Xavier than under He (every pair of trials) and
/// ≥ 1e6× smaller under PyTorch's default.
fn he_vs_xavier(name: &str, min_he_acc: f64) {
    let rows = read(name);
    let last = rows.iter().map(|r| r.step).max().unwrap();
    let ln10 = 10f64.ln();
    // He: every trial above `min_he_acc` test accuracy, its loss below a quarter of ln 10.
    let he = at(&rows, "He", last);
    assert!(he.len() >= 2);
    for r in &he {
        assert!(r.test_accuracy >= min_he_acc, "{name}: He {r:?}");
        assert!(r.train_loss < 0.25 * ln10, "{name}: He {r:?}");
    }
    // Xavier and PyTorch default: the median trial ends with its loss within 1% of ln 10
    // (flat at chance) and the mean test accuracy is at most 25%.
    for init in ["Xavier", "PyTorch default"] {
        let rs = at(&rows, init, last);
        assert_eq!(rs.len(), he.len(), "{name}: {init}");
        let mut losses: Vec<f64> = rs.iter().map(|r| r.train_loss).collect();
        losses.sort_by(f64::total_cmp);
        let median = losses[losses.len() / 2];
        assert!(
            (median / ln10 - 1.0).abs() < 0.01,
            "{name}: {init} median loss {median}"
        );
        let acc = rs.iter().map(|r| r.test_accuracy).sum::<f64>() / rs.len() as f64;
        assert!(acc <= 0.25, "{name}: {init} accuracy {acc}");
    }
    // First-layer gradient at step 0.
    let g = |init: &str| -> Vec<f64> {
        at(&rows, init, 0)
            .iter()
            .map(|r| r.grad_norm_first)
            .collect()
    };
    let (he0, xa0, pt0) = (g("He"), g("Xavier"), g("PyTorch default"));
    let he_min = he0.iter().copied().fold(f64::INFINITY, f64::min);
    let xa_max = xa0.iter().copied().fold(0.0, f64::max);
    let pt_max = pt0.iter().copied().fold(0.0, f64::max);
    assert!(
        he_min / xa_max >= 1e3,
        "{name}: He {he0:?} vs Xavier {xa0:?}"
    );
    assert!(
        he_min / pt_max >= 1e6,
        "{name}: He {he0:?} vs PyTorch default {pt0:?}"
    );
}

#[test]
fn he2015_mlp_he_trains_xavier_stalls() {
    he_vs_xavier("he2015_train", 0.9);
}

#[test]
fn he2015_conv_he_trains_xavier_stalls() {
    he_vs_xavier("he2015_train_conv", 0.9);
}

/// Per σ_w²: the deepest depth whose final test accuracy (mean over trials) reaches `bar`,
/// and 6·ξ_c (None: no depth reaches it).
fn trainable_depths(rows: &[Row], bar: f64) -> BTreeMap<u64, (Option<usize>, f64)> {
    let last = rows.iter().map(|r| r.step).max().unwrap();
    let mut acc: BTreeMap<(u64, usize), Vec<f64>> = BTreeMap::new();
    // A run that stopped early (diverged) scores 0.
    let mut finals: BTreeMap<(u64, usize, usize), (usize, f64)> = BTreeMap::new();
    for r in rows {
        let e = finals
            .entry((r.sigma_w2.to_bits(), r.depth, r.trial))
            .or_insert((0, 0.0));
        if r.step >= e.0 {
            *e = (r.step, r.test_accuracy);
        }
    }
    for ((w, d, _), (s, a)) in finals {
        acc.entry((w, d))
            .or_default()
            .push(if s == last && a.is_finite() { a } else { 0.0 });
    }
    let mut out: BTreeMap<u64, (Option<usize>, f64)> = BTreeMap::new();
    for ((w, d), v) in acc {
        let xi = rows
            .iter()
            .find(|r| r.sigma_w2.to_bits() == w)
            .unwrap()
            .xi_c;
        let e = out.entry(w).or_insert((None, 6.0 * xi));
        if v.iter().sum::<f64>() / v.len() as f64 >= bar {
            e.0 = Some(e.0.map_or(d, |x: usize| x.max(d)));
        }
    }
    out
}

/// Schoenholz et al. 2017 on `results/schoenholz2017` (tanh, σ_b² = 0.05, width 128, 200 steps,
/// 10 classes: chance is 0.1). With "trains" = final test accuracy ≥ 0.5:
/// - every depth beyond twice 6·ξ_c stays below 0.3 (no training far past the bound);
/// - every depth up to min(6·ξ_c/2, 40) trains (the bound is not trivially low; 40 caps the
///   critical region, where finite width (L/n ≥ 0.5) and the 200-step budget bind first);
/// - the deepest trainable depth per σ_w² is at most 2.5·6·ξ_c and at least 6·ξ_c/2.5
///   wherever 6·ξ_c ≤ 200;
/// - the deepest trainable depth over all σ_w² is reached inside [1.5, 2], around the
///   critical σ_w² = 1.761, and exceeds those at σ_w² = 1 and 4.
#[test]
fn schoenholz2017_trainable_depth_follows_six_xi_c() {
    let rows = read("schoenholz2017");
    let last = rows.iter().map(|r| r.step).max().unwrap();
    let mut finals: BTreeMap<(u64, usize), Vec<f64>> = BTreeMap::new();
    let mut ends: BTreeMap<(u64, usize, usize), (usize, f64)> = BTreeMap::new();
    for r in &rows {
        let e = ends
            .entry((r.sigma_w2.to_bits(), r.depth, r.trial))
            .or_insert((0, 0.0));
        if r.step >= e.0 {
            *e = (r.step, r.test_accuracy);
        }
    }
    for ((w, d, _), (s, a)) in ends {
        finals
            .entry((w, d))
            .or_default()
            .push(if s == last && a.is_finite() { a } else { 0.0 });
    }
    let xi6 = |w: u64| {
        6.0 * rows
            .iter()
            .find(|r| r.sigma_w2.to_bits() == w)
            .unwrap()
            .xi_c
    };
    for (&(w, d), v) in &finals {
        let acc = v.iter().sum::<f64>() / v.len() as f64;
        let (sw, bound) = (f64::from_bits(w), xi6(w));
        if d as f64 > 2.0 * bound {
            assert!(
                acc < 0.3,
                "σ_w² = {sw}, depth {d} > 2·6ξ_c = {}: accuracy {acc}",
                2.0 * bound
            );
        }
        if d as f64 <= (bound / 2.0).min(40.0) {
            assert!(
                acc >= 0.5,
                "σ_w² = {sw}, depth {d} ≤ 6ξ_c/2 = {}: accuracy {acc}",
                bound / 2.0
            );
        }
    }
    let depths = trainable_depths(&rows, 0.5);
    let mut best = (0usize, 0.0f64);
    for (&w, &(d, bound)) in &depths {
        let sw = f64::from_bits(w);
        let d = d.unwrap_or(0);
        if d > best.0 {
            best = (d, sw);
        }
        assert!(
            d as f64 <= 2.5 * bound,
            "σ_w² = {sw}: trains to {d} > 2.5·6ξ_c = {bound}"
        );
        if bound <= 200.0 {
            assert!(
                d as f64 >= bound / 2.5,
                "σ_w² = {sw}: trains only to {d}, 6ξ_c = {bound}"
            );
        }
    }
    assert!(
        (1.5..=2.0).contains(&best.1),
        "deepest trainable at σ_w² = {}",
        best.1
    );
    let at = |sw: f64| {
        depths
            .iter()
            .find(|(w, _)| f64::from_bits(**w) == sw)
            .and_then(|(_, v)| v.0)
            .unwrap_or(0)
    };
    assert!(best.0 > at(1.0) && best.0 > at(4.0), "{depths:?}");
}
