//! From raw trial results to the rows of `summary.csv`, `cells.csv` and `hist.csv`.
//! Pure computation over [`CellResult`]s; the writers in [`crate::output`] format them.

use crate::config::{Cell, Dtype, Experiment};
use crate::sim::stats::describe;
use crate::sim::TrialResult;
use crate::theory::{self, LayerPrediction};

/// All trials of one cell, in trial order, with the cell's histograms (the raw captures are
/// binned as soon as the cell is complete and then dropped).
#[derive(Debug, Clone)]
pub struct CellResult {
    pub cell: Cell,
    pub trials: Vec<TrialResult>,
    /// `hist.csv` rows of this cell (empty without `[histograms]`).
    pub hist: Vec<HistRow>,
    /// Sum over trials of the compute seconds (not wall time).
    pub seconds: f64,
    /// Of which drawing weights and biases.
    pub weight_seconds: f64,
}

/// Mean, sample std, min, max over trials.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Spread {
    pub mean: f64,
    pub std: f64,
    pub min: f64,
    pub max: f64,
}

impl Spread {
    fn of(xs: &[f64]) -> Spread {
        let (mean, std, min, max) = describe(xs);
        Spread {
            mean,
            std,
            min,
            max,
        }
    }
}

/// One `summary.csv` row (less the cell columns).
#[derive(Debug, Clone, PartialEq)]
pub struct SummaryRow {
    pub layer: usize,
    pub trials: usize,
    pub preact_var: Spread,
    pub act_sq_mean: Spread,
    pub grad_var: Spread,
    pub weight_grad_var: Spread,
    pub theory_preact_var: Option<f64>,
    pub theory_grad_var: Option<f64>,
}

/// One `cells.csv` row (less the cell columns).
#[derive(Debug, Clone, PartialEq)]
pub struct CellSummary {
    pub trials: usize,
    /// Mean over trials of preact_var[L]/preact_var[1].
    pub forward_ratio: f64,
    /// Mean over trials of grad_var[1]/grad_var[L].
    pub backward_ratio: f64,
    pub theory_forward_ratio: Option<f64>,
    pub theory_backward_ratio: Option<f64>,
    /// Layers where any trial met a non-finite value.
    pub nonfinite_layers: usize,
    /// Largest |log10(measured/theory)| over layers, forward (preact_var) and backward
    /// (grad_var), measured = mean over trials.
    pub theory_max_abs_log10: Option<f64>,
    /// log10 of each trial's forward ratio, over trials: the geometric view. Deep nets' ratios
    /// are close to log-normal across draws, so the arithmetic `forward_ratio` is dominated by
    /// the largest trial; the mean of log10 is the typical trial and its std the spread in
    /// decades. `None` when some trial's ratio is 0, inf or NaN (then it is no measurement:
    /// see `underflow_trials` / `overflow_trials`).
    pub log10_forward: Option<Spread>,
    /// The same for the backward ratio.
    pub log10_backward: Option<Spread>,
    /// Trials whose values left the dtype's range from below: some layer's preact_var or
    /// grad_var at or under (smallest normal)², i.e. entries subnormal or flushed to 0.
    pub underflow_trials: usize,
    /// Trials that met inf or NaN (entries or variances).
    pub overflow_trials: usize,
}

/// One `blocks_summary.csv` row (less the cell columns): the block statistics over trials,
/// E[x²] = channel squared mean + channel variance, and the theory's.
#[derive(Debug, Clone, PartialEq)]
pub struct BlockSummaryRow {
    pub block: usize,
    pub trials: usize,
    pub avg_channel_sq_mean: Spread,
    pub avg_channel_var: Spread,
    pub branch_avg_channel_var: Spread,
    pub grad_var: Spread,
    pub second_moment: Spread,
    pub theory_second_moment: Option<f64>,
    pub theory_avg_channel_sq_mean: Option<f64>,
    pub theory_avg_channel_var: Option<f64>,
    pub theory_branch_avg_channel_var: Option<f64>,
}

/// One `hist.csv` row (less the cell columns).
#[derive(Debug, Clone, PartialEq)]
pub struct HistRow {
    pub layer: usize,
    pub quantity: &'static str,
    pub bin_lo: f64,
    pub bin_hi: f64,
    pub count: u64,
}

impl CellResult {
    /// Gather a complete cell: bin its captures into `bins` histogram bins (if asked) and drop them.
    pub fn new(
        cell: Cell,
        mut trials: Vec<TrialResult>,
        (seconds, weight_seconds): (f64, f64),
        bins: Option<usize>,
    ) -> CellResult {
        let hist = bins.map(|b| histograms(&trials, b)).unwrap_or_default();
        for t in &mut trials {
            t.captures = Vec::new();
        }
        CellResult {
            cell,
            trials,
            hist,
            seconds,
            weight_seconds,
        }
    }

    /// The theory's per-layer predictions for this cell; `None` where no theory applies
    /// (see [`crate::theory`]).
    pub fn theory(&self, exp: &Experiment) -> Option<Vec<LayerPrediction>> {
        theory::cell_predictions(exp, &self.cell).ok()
    }

    /// Weighted layers per trial (`layers.csv` rows; a ResNet has more than its `depth`).
    /// Training runs (trial × learning rate) that stopped at a non-finite loss (`[train]`).
    pub fn diverged_runs(&self) -> usize {
        self.trials
            .iter()
            .map(|t| t.train.iter().filter(|r| r.diverged()).count())
            .sum()
    }

    pub fn layer_rows(&self) -> usize {
        self.trials.first().map_or(0, |t| t.layers.len())
    }

    /// Whether the cell is a residual network (has `blocks.csv` rows).
    pub fn is_residual(&self) -> bool {
        self.trials.first().is_some_and(|t| !t.blocks.is_empty())
    }

    pub fn summary_rows(&self, exp: &Experiment) -> Vec<SummaryRow> {
        let depth = self.layer_rows();
        let theory = self.theory(exp);
        (0..depth)
            .map(|i| {
                let col = |f: &dyn Fn(&crate::sim::LayerStats) -> f64| {
                    Spread::of(
                        &self
                            .trials
                            .iter()
                            .map(|t| f(&t.layers[i]))
                            .collect::<Vec<_>>(),
                    )
                };
                SummaryRow {
                    layer: i + 1,
                    trials: self.trials.len(),
                    preact_var: col(&|s| s.preact_var),
                    act_sq_mean: col(&|s| s.act_sq_mean),
                    grad_var: col(&|s| s.grad_var),
                    weight_grad_var: col(&|s| s.weight_grad_var),
                    theory_preact_var: theory.as_ref().map(|t| t[i].preact_var),
                    theory_grad_var: theory.as_ref().map(|t| t[i].grad_var),
                }
            })
            .collect()
    }

    /// The `blocks_summary.csv` rows (none for plain nets).
    pub fn block_summary_rows(&self, exp: &Experiment) -> Vec<BlockSummaryRow> {
        let Some(first) = self.trials.first() else {
            return Vec::new();
        };
        let theory = theory::cell_block_predictions(exp, &self.cell).ok();
        (0..first.blocks.len())
            .map(|i| {
                let col = |f: &dyn Fn(&crate::sim::BlockStats) -> f64| {
                    Spread::of(
                        &self
                            .trials
                            .iter()
                            .map(|t| f(&t.blocks[i]))
                            .collect::<Vec<_>>(),
                    )
                };
                let p = theory.as_ref().and_then(|t| t.get(i));
                BlockSummaryRow {
                    block: first.blocks[i].block,
                    trials: self.trials.len(),
                    avg_channel_sq_mean: col(&|b| b.avg_channel_sq_mean),
                    avg_channel_var: col(&|b| b.avg_channel_var),
                    branch_avg_channel_var: col(&|b| b.branch_avg_channel_var),
                    grad_var: col(&|b| b.grad_var),
                    second_moment: col(&|b| b.avg_channel_sq_mean + b.avg_channel_var),
                    theory_second_moment: p.map(|p| p.second_moment),
                    theory_avg_channel_sq_mean: p.and_then(|p| p.avg_channel_sq_mean),
                    theory_avg_channel_var: p.and_then(|p| p.avg_channel_var),
                    theory_branch_avg_channel_var: p.and_then(|p| p.branch_avg_channel_var),
                }
            })
            .collect()
    }

    /// The `cells.csv` row: measured ratios beside the theory's.
    pub fn cell_summary(&self, exp: &Experiment) -> CellSummary {
        let mut s = self.measured_summary(exp.dtype);
        if self.is_residual() {
            if let Ok(t) = theory::cell_block_predictions(exp, &self.cell) {
                let last = t.len() - 1;
                s.theory_forward_ratio = Some(t[last].second_moment / t[0].second_moment);
                let rows = self.block_summary_rows(exp);
                s.theory_max_abs_log10 = rows
                    .iter()
                    .filter_map(|r| {
                        theory::log10_gap(r.second_moment.mean, r.theory_second_moment?)
                    })
                    .reduce(f64::max);
            }
            return s;
        }
        if let Some(t) = self.theory(exp) {
            let last = self.layer_rows() - 1;
            s.theory_forward_ratio = Some(t[last].preact_var / t[0].preact_var);
            s.theory_backward_ratio = Some(t[0].grad_var / t[last].grad_var);
            let mean = |i: usize, f: fn(&crate::sim::LayerStats) -> f64| {
                self.trials.iter().map(|tr| f(&tr.layers[i])).sum::<f64>()
                    / self.trials.len() as f64
            };
            let gaps = t.iter().enumerate().flat_map(|(i, p)| {
                [
                    theory::log10_gap(mean(i, |l| l.preact_var), p.preact_var),
                    theory::log10_gap(mean(i, |l| l.grad_var), p.grad_var),
                ]
            });
            s.theory_max_abs_log10 = gaps.flatten().reduce(f64::max);
        }
        s
    }

    /// The measured part of [`Self::cell_summary`] (theory columns `None`).
    /// Each trial's (forward, backward) ratio: preact_var[L]/preact_var[1] and
    /// grad_var[1]/grad_var[L] over the weighted layers; for a residual cell the stream's, E[x²]
    /// after the last block over the stem's and Var[∂loss/∂x] at the stem over after the last
    /// block.
    pub fn trial_ratios(&self) -> Vec<(f64, f64)> {
        let last = self.layer_rows() - 1;
        self.trials
            .iter()
            .map(|t| {
                if let (Some(first), Some(end)) = (t.blocks.first(), t.blocks.last()) {
                    let sq = |b: &crate::sim::BlockStats| b.avg_channel_sq_mean + b.avg_channel_var;
                    (sq(end) / sq(first), first.grad_var / end.grad_var)
                } else {
                    (
                        t.layers[last].preact_var / t.layers[0].preact_var,
                        t.layers[0].grad_var / t.layers[last].grad_var,
                    )
                }
            })
            .collect()
    }

    fn measured_summary(&self, dtype: Dtype) -> CellSummary {
        let n = self.trials.len() as f64;
        let ratios = self.trial_ratios();
        let forward_ratio = ratios.iter().map(|r| r.0).sum::<f64>() / n;
        let backward_ratio = ratios.iter().map(|r| r.1).sum::<f64>() / n;
        let nonfinite_layers = (0..self.layer_rows())
            .filter(|&i| self.trials.iter().any(|t| t.layers[i].nonfinite > 0))
            .count();
        let (underflow_trials, overflow_trials) = self.range_exits(dtype);
        // Per trial (forward, backward) underflow: a ratio computed from subnormal or zero
        // entries is no measurement, so its log10 is not averaged.
        let floor = underflow_floor(dtype);
        let under: Vec<(bool, bool)> = self
            .trials
            .iter()
            .map(|t| trial_underflow(t, floor))
            .collect();
        CellSummary {
            trials: self.trials.len(),
            forward_ratio,
            backward_ratio,
            theory_forward_ratio: None,
            theory_backward_ratio: None,
            nonfinite_layers,
            theory_max_abs_log10: None,
            log10_forward: log10_spread(ratios.iter().zip(&under).map(|(r, u)| {
                if u.0 {
                    f64::NAN
                } else {
                    r.0
                }
            })),
            log10_backward: log10_spread(ratios.iter().zip(&under).map(|(r, u)| {
                if u.1 {
                    f64::NAN
                } else {
                    r.1
                }
            })),
            underflow_trials,
            overflow_trials,
        }
    }

    /// (trials that underflowed, trials that overflowed) for values stored in `dtype`.
    /// Overflow: a layer met inf/NaN entries, or a variance is not finite. Underflow (only when
    /// not overflowed): see [`trial_underflow`].
    pub fn range_exits(&self, dtype: Dtype) -> (usize, usize) {
        let floor = underflow_floor(dtype);
        let (mut under, mut over) = (0, 0);
        for t in &self.trials {
            let overflowed = t
                .layers
                .iter()
                .any(|l| l.nonfinite > 0 || !l.preact_var.is_finite() || !l.grad_var.is_finite());
            if overflowed {
                over += 1;
            } else if trial_underflow(t, floor).1 {
                under += 1;
            }
        }
        (under, over)
    }

    /// True when some layer met inf/NaN, the ratios left the finite range, or some trial's
    /// values underflowed `dtype` (see [`Self::range_exits`]).
    pub fn collapsed(&self, dtype: Dtype) -> bool {
        let s = self.measured_summary(dtype);
        s.nonfinite_layers > 0
            || !s.forward_ratio.is_finite()
            || !s.backward_ratio.is_finite()
            || s.underflow_trials + s.overflow_trials > 0
    }
}

/// Why a cell left its dtype's range, for messages: `underflow in 2/4 trials, inf/NaN in 1/4
/// trials` (empty when it did not).
pub fn range_exit_text(underflow: usize, overflow: usize, trials: usize) -> String {
    let mut why = Vec::new();
    if underflow > 0 {
        why.push(format!("underflow in {underflow}/{trials} trials"));
    }
    if overflow > 0 {
        why.push(format!("inf/NaN in {overflow}/{trials} trials"));
    }
    why.join(", ")
}

/// (smallest positive normal of `dtype`)²: a variance at or below it comes from entries that are
/// subnormal or zero. In f64 it rounds to 0, so only an exact zero counts there.
pub fn underflow_floor(dtype: Dtype) -> f64 {
    let tiny = match dtype {
        Dtype::F32 => f32::MIN_POSITIVE as f64,
        Dtype::F64 => f64::MIN_POSITIVE,
    };
    tiny * tiny
}

/// (forward, backward) underflow of one trial: a variance on the path its ratios measure at or
/// below `floor`. A plain net is a chain, so every layer counts (once a layer's entries are
/// subnormal or zero, everything after is too): some preact_var for the forward pass, that or
/// some grad_var for the backward pass. A residual net's ratios are its stream's, so its blocks
/// count (E[x²] and the stream gradient), not the branch layers: Fixup's and SkipInit's
/// zero-initialised branch layers are exactly 0 by design, not by underflow.
pub fn trial_underflow(t: &TrialResult, floor: f64) -> (bool, bool) {
    if t.blocks.is_empty() {
        let fwd = t.layers.iter().any(|l| l.preact_var <= floor);
        (fwd, fwd || t.layers.iter().any(|l| l.grad_var <= floor))
    } else {
        let fwd = t
            .blocks
            .iter()
            .any(|b| b.avg_channel_sq_mean + b.avg_channel_var <= floor);
        (fwd, fwd || t.blocks.iter().any(|b| b.grad_var <= floor))
    }
}

/// Mean, sample std, min and max of log10 of `ratios`; `None` unless every ratio is finite and
/// positive (a zero or infinite ratio has no logarithm to average).
pub fn log10_spread(ratios: impl Iterator<Item = f64>) -> Option<Spread> {
    let logs: Vec<f64> = ratios
        .map(|r| {
            if r > 0.0 && r.is_finite() {
                Some(r.log10())
            } else {
                None
            }
        })
        .collect::<Option<_>>()?;
    (!logs.is_empty()).then(|| Spread::of(&logs))
}

/// Histograms of the captured layers, summed over trials. Per quantity one set of equal-width
/// bins spans the finite values of every captured layer of this cell, so the curves of
/// different layers are directly comparable (Glorot & Bengio 2010, Fig. 6–7).
pub fn histograms(trials: &[TrialResult], bins: usize) -> Vec<HistRow> {
    let mut rows = Vec::new();
    let mut layers: Vec<usize> = trials
        .first()
        .map(|t| t.captures.iter().map(|c| c.layer).collect())
        .unwrap_or_default();
    layers.sort_unstable();
    for quantity in ["act", "grad"] {
        let values = |layer: usize| {
            trials.iter().flat_map(move |t| {
                let c = t
                    .captures
                    .iter()
                    .find(|c| c.layer == layer)
                    .expect("captured in every trial");
                let v = if quantity == "act" { &c.act } else { &c.grad };
                v.iter().copied().filter(|x| x.is_finite())
            })
        };
        let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
        for &l in &layers {
            for x in values(l) {
                lo = lo.min(x);
                hi = hi.max(x);
            }
        }
        if !(lo.is_finite() && hi.is_finite()) {
            continue;
        }
        if hi <= lo {
            let pad = if lo == 0.0 { 1.0 } else { lo.abs() * 1e-6 };
            lo -= pad;
            hi += pad;
        }
        let width = (hi - lo) / bins as f64;
        for &l in &layers {
            let mut counts = vec![0u64; bins];
            for x in values(l) {
                let k = (((x - lo) / width) as usize).min(bins - 1);
                counts[k] += 1;
            }
            for (k, &count) in counts.iter().enumerate() {
                rows.push(HistRow {
                    layer: l,
                    quantity,
                    bin_lo: lo + k as f64 * width,
                    bin_hi: if k + 1 == bins {
                        hi
                    } else {
                        lo + (k + 1) as f64 * width
                    },
                    count,
                });
            }
        }
    }
    rows
}
