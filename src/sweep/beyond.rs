//! Issue 13, "beyond the mean": the `cells.csv` columns of the finite-width fluctuations
//! (Hanin & Rolnick 2018), of LSUV, and of the Jacobian spectra (Pennington et al. 2017: the
//! mean and variance of the squared singular values λ, pooled over every trial × input, and
//! the mean over Jacobians of each one's Var[λ]/E[λ]², beside the free-probability
//! prediction), from a cell's trials. Pure computation.

use super::aggregate::CellResult;
use crate::config::Experiment;
use crate::output::tables::num;
use crate::sim::fluct::Fluct;
use crate::theory::fluct as theory;

/// The columns this module appends to `cells.csv`, in order.
pub const CELLS_COLUMNS: &[&str] = &[
    "beta",
    "log_q_ratio_mean",
    "log_q_ratio_var",
    "q_ratio_rel_var",
    "theory_log_q_ratio_mean",
    "theory_log_q_ratio_var",
    "theory_q_ratio_rel_var",
    "lsuv_max_iterations",
    "lsuv_unconverged_layers",
    "jac_sq_sv_mean",
    "jac_sq_sv_var",
    "theory_jac_sq_sv_mean",
    "theory_jac_sq_sv_var",
    "jac_sq_sv_nvar",
    "theory_jac_sq_sv_nvar",
];

impl CellResult {
    /// r = q_L/q_0 pooled over every trial × input row.
    pub fn fluct(&self) -> Fluct {
        self.trials
            .iter()
            .fold(Fluct::default(), |a, t| a.merge(t.fluct))
    }

    /// The values of [`CELLS_COLUMNS`] (theory and LSUV fields empty where they do not apply).
    pub fn beyond_cells(&self, exp: &Experiment) -> Vec<String> {
        let f = self.fluct();
        let p = theory::cell_prediction(&self.cell).ok();
        let opt = |x: Option<f64>| x.map(num).unwrap_or_default();
        let lsuv = self.trials.iter().flat_map(|t| &t.lsuv);
        let any = self.trials.iter().any(|t| !t.lsuv.is_empty());
        let max_iters = lsuv.clone().map(|u| u.iterations).max();
        let unconverged = lsuv.filter(|u| !u.converged).count();
        let jac = self
            .trials
            .iter()
            .fold(crate::sim::fluct::Acc::default(), |a, t| a.merge(t.jac));
        let nvar = self
            .trials
            .iter()
            .fold(crate::sim::fluct::Acc::default(), |a, t| {
                a.merge(t.jac_nvar)
            });
        let (jm, jv, jn) = if jac.n > 0 {
            (num(jac.mean), num(jac.var()), num(nvar.mean))
        } else {
            (String::new(), String::new(), String::new())
        };
        let jp = exp
            .spectrum
            .and_then(|_| crate::theory::spectrum::cell_prediction(exp, &self.cell).ok());
        vec![
            num(theory::beta(&self.cell.widths)),
            num(f.log.mean),
            num(f.log.var()),
            num(f.rel_var()),
            opt(p.map(|p| p.log_mean)),
            opt(p.map(|p| p.log_var)),
            opt(p.map(|p| p.rel_var)),
            if any {
                max_iters.unwrap_or(0).to_string()
            } else {
                String::new()
            },
            if any {
                unconverged.to_string()
            } else {
                String::new()
            },
            jm,
            jv,
            opt(jp.map(|p| p.mean)),
            opt(jp.map(|p| p.var)),
            jn,
            opt(jp.map(|p| p.var / (p.mean * p.mean))),
        ]
    }
}
