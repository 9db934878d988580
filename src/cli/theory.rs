//! `initlab theory --activation A (--init SPEC | --sigma-w2 X [--sigma-b2 Y]) [--depth L] [--width N]`
//!
//! Prints `key: value` lines (DESIGN contract: at least `q_star`, `c_star`, `chi1`, `xi_q`,
//! `xi_c`, `phase`), and with `--depth L`, after a blank line, the per-layer predictions as CSV
//! `layer,preact_var,grad_var`. Numbers in shortest round-trip form; `inf` for an infinite
//! depth scale or an unbounded q*.
//!
//! With `--init`, σ_w² = N·Var[w] and σ_b² = Var[b], μ = E[b] for a square N × N layer
//! (`--width`, default 512: it matters for schemes not scaled by the fan, e.g. `normal`).
//! With `--sigma-w2`, the mean-field parameters are taken as given (zero-mean bias).
//! With `--phase-out DIR` instead of either, the phase-diagram files of [`crate::theory::phase`]
//! (`phase.csv`, `critical_line.csv`) are written to DIR.

use crate::activation::Activation;
use crate::arch::network::mlp;
use crate::error::bad;
use crate::init::Init;
use crate::output::tables::num;
use crate::theory::meanfield::{critical_sigma_w2, mean_field, Params};
use crate::theory::phase::{write_phase, PhaseGrid};
use crate::theory::recursion::{layer_init, propagate, LayerInit};
use clap::{ArgGroup, Args};
use std::fmt::Write as _;

#[derive(Debug, Args)]
#[command(group(ArgGroup::new("weights").required(true).args(["init", "sigma_w2", "phase_out"])))]
pub struct TheoryArgs {
    /// Activation: a name (`tanh`) or an inline table (`name = "leaky_relu", negative_slope = 0.2`).
    #[arg(long, value_name = "A")]
    pub activation: String,
    /// Init SPEC (a scheme or preset name, or an inline table), giving σ_w² and σ_b².
    #[arg(long, value_name = "SPEC", conflicts_with_all = ["sigma_w2", "sigma_b2"])]
    pub init: Option<String>,
    /// σ_w² = fan_in·Var[w].
    #[arg(long = "sigma-w2", value_name = "X", allow_negative_numbers = true)]
    pub sigma_w2: Option<f64>,
    /// σ_b² = Var[b] (default 0).
    #[arg(
        long = "sigma-b2",
        value_name = "Y",
        requires = "sigma_w2",
        allow_negative_numbers = true
    )]
    pub sigma_b2: Option<f64>,
    /// Print per-layer predictions for a network of this depth.
    #[arg(long, value_name = "L", value_parser = clap::value_parser!(u64).range(1..=100_000))]
    pub depth: Option<u64>,
    /// Layer width N (with --init).
    #[arg(long, value_name = "N", default_value_t = 512, value_parser = clap::value_parser!(u64).range(1..=(1 << 31)))]
    pub width: u64,
    /// Std of the input x_0 (zero mean): E[x_0²] starts the length map.
    #[arg(
        long = "input-std",
        value_name = "S",
        default_value_t = 1.0,
        allow_negative_numbers = true
    )]
    pub input_std: f64,
    /// Instead: compute the activation's phase diagram on the standard grid (σ_w² 0.5–4.5,
    /// σ_b² 0–0.5) and write DIR/phase.csv and DIR/critical_line.csv (for the phase chart).
    #[arg(long = "phase-out", value_name = "DIR", conflicts_with_all = ["init", "sigma_w2", "sigma_b2", "depth"])]
    pub phase_out: Option<std::path::PathBuf>,
    /// Std of the output gradient g injected at the last layer.
    #[arg(
        long = "output-grad-std",
        value_name = "S",
        default_value_t = 1.0,
        allow_negative_numbers = true
    )]
    pub output_grad_std: f64,
}

fn check(name: &str, v: f64) -> anyhow::Result<f64> {
    if !v.is_finite() || v < 0.0 {
        return Err(bad(format!(
            "{name}: must be a finite number >= 0, found {v}"
        )));
    }
    Ok(v)
}

/// The report as text (the command prints it).
pub fn report(args: &TheoryArgs) -> anyhow::Result<String> {
    let act = Activation::parse(&args.activation, "--activation")?;
    let input_std = check("--input-std", args.input_std)?;
    let grad_std = check("--output-grad-std", args.output_grad_std)?;
    let width = args.width as usize;
    let mut out = String::new();
    let mut line = |k: &str, v: String| {
        let _ = writeln!(out, "{k}: {v}");
    };
    line("activation", act.label());
    let layer = match &args.init {
        Some(spec) => {
            // gain = "preserve"/"pytorch" take the activation being analysed.
            let init = Init::parse_spec(spec, "--init")?.for_activation(act);
            init.check_shape(&[width, width], "--init")?;
            let net = mlp(&[width, width], true);
            let l = layer_init(&init, &net.taps()[0])
                .map_err(|e| bad(format!("--init: no theory applies: {e}")))?;
            line("init", init.canonical());
            line("width", width.to_string());
            l
        }
        None => {
            let sw2 = check(
                "--sigma-w2",
                args.sigma_w2.expect("clap requires --init or --sigma-w2"),
            )?;
            let sb2 = check("--sigma-b2", args.sigma_b2.unwrap_or(0.0))?;
            LayerInit::mean_field(sw2, sb2)
        }
    };
    let p = Params {
        sigma_w2: layer.forward_gain,
        sigma_b2: layer.bias_var,
        bias_mean: layer.bias_mean,
        q_in: input_std * input_std,
    };
    let mf = mean_field(act, &p);
    line("sigma_w2", num(p.sigma_w2));
    line("sigma_b2", num(p.sigma_b2));
    line("bias_mean", num(p.bias_mean));
    line("q_star", num(mf.q_star));
    line("c_star", num(mf.c_star));
    line("chi1", num(mf.chi1));
    line("chi_c", num(mf.chi_c));
    line("xi_q", num(mf.xi_q));
    line("xi_c", num(mf.xi_c));
    line("phase", mf.phase.name().to_string());
    line("trainable_depth", num(6.0 * mf.xi_c));
    line(
        "critical_sigma_w2",
        critical_sigma_w2(act, &p)
            .map(num)
            .unwrap_or_else(|| "none".into()),
    );
    if let Some(depth) = args.depth {
        let layers = vec![layer; depth as usize];
        let preds = propagate(act, &layers, input_std * input_std, grad_std * grad_std);
        out.push_str("\nlayer,preact_var,grad_var\n");
        for pr in preds {
            let _ = writeln!(
                out,
                "{},{},{}",
                pr.layer,
                num(pr.preact_var),
                num(pr.grad_var)
            );
        }
    }
    Ok(out)
}

pub fn run(args: TheoryArgs) -> anyhow::Result<()> {
    if let Some(dir) = &args.phase_out {
        let act = Activation::parse(&args.activation, "--activation")?;
        if dir.exists() && !dir.is_dir() {
            return Err(bad(format!(
                "--phase-out {}: exists and is not a folder",
                dir.display()
            )));
        }
        write_phase(dir, act, &PhaseGrid::fine())?;
        // The chart reads the CSVs just written, like every chart: a heatmap of ξ_c with the
        // critical line and the 6·ξ_c contours (issue 14).
        let hm = crate::plot::phase::phase_heatmap(dir, &act.label())?;
        let files = crate::plot::heatmap::write(dir, &hm, true, true)?;
        eprintln!(
            "wrote {0}/phase.csv, {0}/critical_line.csv and {1} chart files in {0}/plots",
            dir.display(),
            files.len()
        );
        return Ok(());
    }
    let text = report(&args)?;
    print!("{text}");
    Ok(())
}
