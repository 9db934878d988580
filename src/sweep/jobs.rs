//! Jobs: which cells share their weights (and so run as one job per trial), and what each job
//! costs.

use crate::config::{Cell, Experiment};
use crate::sim::keeps_weights;

/// Cells whose trials can share weights, in sweep order of their first cell: the same init
/// (weight and bias) and networks whose weighted layers agree (shape, bias, recipe
/// modification) on every index the smaller has — the weight streams depend on neither
/// activation nor depth — and small enough that the largest keeps its weights
/// ([`keeps_weights`]). One job runs a group's cells for one trial and draws each layer once
/// (W1: 24 jobs become 12 and half the draws go). Cells too large to keep their weights run alone.
pub fn weight_groups(exp: &Experiment, cells: &[Cell]) -> Vec<Vec<usize>> {
    struct Group {
        init: String,
        /// The taps of the group's largest network (every member's are a prefix of them).
        taps: Vec<crate::arch::network::Tap>,
        members: Vec<usize>,
    }
    // Two taps draw the same numbers when they have the same index, shape, bias and
    // modification (the streams depend on nothing else but the init and trial).
    let same = |a: &crate::arch::network::Tap, b: &crate::arch::network::Tap| {
        a.index == b.index
            && a.weight_shape == b.weight_shape
            && a.bias == b.bias
            && a.wmod == b.wmod
    };
    let prefix = |short: &[crate::arch::network::Tap], long: &[crate::arch::network::Tap]| {
        short.len() <= long.len() && short.iter().zip(long).all(|(a, b)| same(a, b))
    };
    let entries = |taps: &[crate::arch::network::Tap]| {
        taps.iter().map(|t| t.weight_len() as u128).sum::<u128>()
    };
    let mut groups: Vec<Group> = Vec::new();
    for (c, cell) in cells.iter().enumerate() {
        let init = cell.init.init.canonical();
        let taps = cell.network().taps();
        let shared = groups.iter_mut().find(|g| {
            if g.init != init {
                return false;
            }
            let longer = if prefix(&g.taps, &taps) {
                &taps
            } else if prefix(&taps, &g.taps) {
                &g.taps
            } else {
                return false;
            };
            keeps_weights(entries(longer), exp.dtype.bytes())
        });
        match shared {
            Some(g) => {
                if g.taps.len() < taps.len() {
                    g.taps = taps;
                }
                g.members.push(c);
            }
            None => groups.push(Group {
                init,
                taps,
                members: vec![c],
            }),
        }
    }
    groups.into_iter().map(|g| g.members).collect()
}

/// GEMM flops of one trial of `cell` (forward and backward).
pub fn cell_flops(exp: &Experiment, cell: &Cell) -> f64 {
    let net = cell.network();
    // [train] (issue 14): the training runs of the trial.
    let train = exp
        .train
        .as_ref()
        .map_or(0.0, |t| crate::train::flops(t, &net));
    net.flops(exp.batch) + train
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Cells group by (init, width) across activations and depths, in sweep order; a group
    /// stops growing where the deepest cell could no longer keep its weights; profiles that are
    /// not prefixes of one another never share.
    #[test]
    fn cells_group_by_shared_weights() {
        let text = r#"
            seed = 1
            trials = 2
            batch = 4
            [network]
            depth = [3, 5]
            width = [8, 16]
            activation = ["relu", "tanh"]
            [[init]]
            preset = "pytorch_default"
            [[init]]
            weight = { scheme = "xavier_normal" }
        "#;
        let exp = Experiment::parse(text, "g.toml", "g").unwrap();
        let cells = exp.cells();
        let groups = weight_groups(&exp, &cells);
        assert_eq!(groups.len(), 4, "2 inits × 2 widths");
        let mut seen: Vec<usize> = groups.iter().flatten().copied().collect();
        seen.sort_unstable();
        assert_eq!(seen, (0..cells.len()).collect::<Vec<_>>(), "each cell once");
        for g in &groups {
            assert_eq!(g.len(), 4, "2 activations × 2 depths");
            let key = |c: usize| (cells[c].init.init.canonical(), cells[c].width);
            assert!(g.iter().all(|&c| key(c) == key(g[0])));
            assert!(g.windows(2).all(|w| w[0] < w[1]), "sweep order");
        }
        // Width 8192 at depth 3 keeps 768 MiB of f32 weights: over the cache, so no sharing.
        let big = Experiment::parse(
            &text.replace("width = [8, 16]", "width = 8192"),
            "g.toml",
            "g",
        )
        .unwrap();
        let big_cells = big.cells();
        assert_eq!(weight_groups(&big, &big_cells).len(), big_cells.len());
        let profiles = Experiment::parse(
            &text.replace(
                "depth = [3, 5]\n            width = [8, 16]",
                "widths = [[8, 16], [8, 16, 4], [8, 4]]",
            ),
            "g.toml",
            "g",
        )
        .unwrap();
        let cells = profiles.cells();
        let groups = weight_groups(&profiles, &cells);
        // Per init, across activations: {8-16, 8-16-4} share, 8-4 goes alone.
        assert_eq!(groups.len(), 2 * 2);
        for g in &groups {
            let mut profiles: Vec<_> = g.iter().map(|&c| cells[c].widths.clone()).collect();
            profiles.sort();
            profiles.dedup();
            assert!(
                profiles == vec![vec![8, 4]] || profiles == vec![vec![8, 16], vec![8, 16, 4]],
                "{profiles:?}"
            );
        }
    }
}
