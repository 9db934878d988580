//! Sharding a sweep: `--shard I/N` (1-based) runs a deterministic subset of the cells, balanced
//! by estimated cost with the longest-processing-time rule: cells sorted by cost (largest
//! first, ties by sweep position) each go to the least-loaded shard (ties to the lowest index).
//! LPT's makespan is within 4/3 of the optimum (Graham 1969).

use crate::config::{Cell, Experiment};
use crate::error::bad;

/// Shard I of N, 1-based.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    pub index: usize,
    pub count: usize,
}

impl std::fmt::Display for Shard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

impl Shard {
    /// Parse `I/N` with 1 ≤ I ≤ N.
    pub fn parse(text: &str) -> anyhow::Result<Shard> {
        let usage = |why: &str| {
            bad(format!(
                "--shard {text}: {why}; expected I/N with 1 <= I <= N, e.g. --shard 2/4"
            ))
        };
        let (i, n) = text.split_once('/').ok_or_else(|| usage("missing '/'"))?;
        let index: usize = i
            .trim()
            .parse()
            .map_err(|_| usage("I is not a whole number"))?;
        let count: usize = n
            .trim()
            .parse()
            .map_err(|_| usage("N is not a whole number"))?;
        if count == 0 {
            return Err(usage("N must be at least 1"));
        }
        if index == 0 || index > count {
            return Err(usage(&format!("I must be between 1 and {count}")));
        }
        Ok(Shard { index, count })
    }
}

/// Estimated cost of a cell: its network's GEMM flops (forward and backward) plus drawing the
/// weights (counted as 40 flops per weight, ChaCha + normal sampling), times trials.
pub fn cell_cost(exp: &Experiment, cell: &Cell) -> f64 {
    let net = cell.network();
    let train = exp
        .train
        .as_ref()
        .map_or(0.0, |t| crate::train::flops(t, &net));
    exp.trials as f64 * (net.flops(exp.batch) + 40.0 * net.weight_entries() as f64 + train)
}

/// The 0-based shard of every cell for `count` shards.
pub fn assign(costs: &[f64], count: usize) -> Vec<usize> {
    let mut order: Vec<usize> = (0..costs.len()).collect();
    order.sort_by(|&a, &b| costs[b].total_cmp(&costs[a]).then(a.cmp(&b)));
    let mut load = vec![0.0f64; count];
    let mut owner = vec![0usize; costs.len()];
    for c in order {
        let (best, _) = load
            .iter()
            .enumerate()
            .fold(
                (0, f64::INFINITY),
                |(bi, bl), (i, &l)| if l < bl { (i, l) } else { (bi, bl) },
            );
        owner[c] = best;
        load[best] += costs[c];
    }
    owner
}

/// The cells of `exp` that `shard` runs (all cells without a shard), in sweep order.
pub fn select(exp: &Experiment, shard: Option<Shard>) -> Vec<Cell> {
    let cells = exp.cells();
    let Some(shard) = shard else { return cells };
    let costs: Vec<f64> = cells.iter().map(|c| cell_cost(exp, c)).collect();
    let owner = assign(&costs, shard.count);
    cells
        .into_iter()
        .zip(owner)
        .filter(|(_, o)| *o == shard.index - 1)
        .map(|(c, _)| c)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_rejects() {
        assert_eq!(Shard::parse("2/4").unwrap(), Shard { index: 2, count: 4 });
        for bad in ["0/4", "5/4", "1/0", "1", "a/2", "-1/3", "1/-3"] {
            let e = Shard::parse(bad).unwrap_err();
            assert!(
                crate::error::is_bad_input(&e) && e.to_string().contains(bad),
                "{bad}: {e}"
            );
        }
    }

    #[test]
    fn lpt_partitions_and_balances() {
        let costs: Vec<f64> = (1..=20).map(|i| (i * i) as f64).collect();
        let owner = assign(&costs, 3);
        let mut load = [0.0; 3];
        for (c, &o) in owner.iter().enumerate() {
            load[o] += costs[c];
        }
        let total: f64 = costs.iter().sum();
        let max = load.iter().cloned().fold(0.0, f64::max);
        // LPT bound: makespan ≤ 4/3 · OPT ≤ 4/3 · max(total/3, largest).
        assert!(max <= 4.0 / 3.0 * (total / 3.0).max(400.0), "{load:?}");
        assert_eq!(owner, assign(&costs, 3), "deterministic");
    }
}
