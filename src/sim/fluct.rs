//! Finite-width fluctuations of the squared norm (Hanin & Rolnick 2018, "How to start
//! training: the effect of initialization and architecture", Sec. 3): per input row a,
//! q(a) = mean of the squared entries of that row (all channels and positions of sample a),
//! and the ratio r_a = q_L(a)/q_0(a) of the network's output before its last φ (y_L, the
//! paper's linear output layer) over the input. Over weight draws r is a random variable whose
//! law does not depend on the input for zero-mean Gaussian weights and zero bias; a trial
//! contributes one value per row. This file keeps, per trial, the sufficient statistics of
//! ln r and r (count, mean, sum of squared deviations), pooled exactly across trials with
//! Chan et al.'s parallel update, so a cell's moments do not depend on how its trials were
//! scheduled.

/// Moments of one sample of values: count, mean and M2 = Σ (v − mean)².
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Acc {
    pub n: u64,
    pub mean: f64,
    pub m2: f64,
}

impl Acc {
    /// The moments of `values` (two passes: mean, then squared deviations).
    pub fn of(values: &[f64]) -> Acc {
        if values.is_empty() {
            return Acc::default();
        }
        let n = values.len() as f64;
        let mean = values.iter().sum::<f64>() / n;
        let m2 = values.iter().map(|v| (v - mean).powi(2)).sum();
        Acc {
            n: values.len() as u64,
            mean,
            m2,
        }
    }

    /// Pool two samples (Chan, Golub & LeVeque 1979): exact up to rounding.
    pub fn merge(self, o: Acc) -> Acc {
        if self.n == 0 {
            return o;
        }
        if o.n == 0 {
            return self;
        }
        let (na, nb) = (self.n as f64, o.n as f64);
        let n = na + nb;
        let d = o.mean - self.mean;
        Acc {
            n: self.n + o.n,
            mean: self.mean + d * nb / n,
            m2: self.m2 + o.m2 + d * d * na * nb / n,
        }
    }

    /// Population variance M2/n (NaN when empty).
    pub fn var(&self) -> f64 {
        self.m2 / self.n as f64
    }
}

/// One trial's statistics of r = q_L/q_0 over its input rows.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Fluct {
    /// Of ln r.
    pub log: Acc,
    /// Of r itself.
    pub ratio: Acc,
}

impl Fluct {
    /// From the per-row q_0 and q_L.
    pub fn of(q0: &[f64], q_last: &[f64]) -> Fluct {
        let r: Vec<f64> = q0.iter().zip(q_last).map(|(a, b)| b / a).collect();
        let logs: Vec<f64> = r.iter().map(|v| v.ln()).collect();
        Fluct {
            log: Acc::of(&logs),
            ratio: Acc::of(&r),
        }
    }

    pub fn merge(self, o: Fluct) -> Fluct {
        Fluct {
            log: self.log.merge(o.log),
            ratio: self.ratio.merge(o.ratio),
        }
    }

    /// Relative variance of r: Var[r]/E[r]² = E[r²]/E[r]² − 1 (Hanin & Rolnick's quantity).
    pub fn rel_var(&self) -> f64 {
        self.ratio.var() / (self.ratio.mean * self.ratio.mean)
    }
}

/// Per-sample mean of squares of a `[batch·positions, channels]` row-major tensor: sample a
/// owns the contiguous `per_sample = positions·channels` entries starting at a·per_sample.
pub fn row_sq_means(data: impl Iterator<Item = f64>, per_sample: usize) -> Vec<f64> {
    let mut out = Vec::new();
    let (mut acc, mut k) = (0.0, 0);
    for v in data {
        acc += v * v;
        k += 1;
        if k == per_sample {
            out.push(acc / per_sample as f64);
            acc = 0.0;
            k = 0;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Pooling per-trial moments gives the moments of the pooled sample.
    #[test]
    fn merge_is_the_pooled_sample() {
        let a = [1.0, 2.5, -0.5, 4.0];
        let b = [3.0, -2.0, 0.25];
        let all: Vec<f64> = a.iter().chain(&b).copied().collect();
        let m = Acc::of(&a).merge(Acc::of(&b));
        let w = Acc::of(&all);
        assert_eq!(m.n, w.n);
        assert!((m.mean - w.mean).abs() < 1e-14);
        assert!((m.m2 - w.m2).abs() < 1e-12);
        assert_eq!(
            row_sq_means([1.0, 3.0, 2.0, 0.0].into_iter(), 2),
            [5.0, 2.0]
        );
    }
}
