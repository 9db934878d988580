//! `initlab bench [WORKLOAD.toml...] [--threads N] [--quick]`: measure this machine's GEMM peak
//! with the simulator's own GEMM, the kernel rates, then run each workload (default
//! `experiments/bench/w1..w4.toml`) in a child `initlab run` and report wall time, achieved
//! GFLOP/s (the network's three products per layer, 3·2·rows·fan_in·out), its ratio to the
//! measured peak, the share of compute spent drawing weights, and peak RSS beside the up-front
//! estimate — all in one run, so the ratios hold on a shared, noisy machine.

use crate::activation::Activation;
use crate::config::Experiment;
use crate::output::manifest::Manifest;
use crate::sim::bench::{
    activation_rate, chacha_word_rates, conv_rates, gemm_gflops, gemm_gflops_sustained, weight_rate,
};
use crate::sweep::gib;
use anyhow::Context;
use clap::Args;
use std::path::PathBuf;
use std::process::Command;
use std::time::Instant;

#[derive(Debug, Args)]
pub struct BenchArgs {
    /// Workload experiment files (default: experiments/bench/w1 to w6 and w1_f64).
    #[arg(value_name = "WORKLOAD.toml")]
    pub workloads: Vec<PathBuf>,
    /// Worker threads (default: all cores).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..=4096))]
    pub threads: Option<u64>,
    /// Kernel measurements only (no workloads).
    #[arg(long)]
    pub kernels_only: bool,
}

/// GEMM flops of a workload: every cell's network, forward and backward (and its training
/// runs with `[train]`), times trials.
fn workload_flops(exp: &Experiment) -> f64 {
    exp.cells()
        .iter()
        .map(|c| crate::sweep::jobs::cell_flops(exp, c) * exp.trials as f64)
        .sum()
}

/// The GEMM shape (m, k, n) of a workload's first cell's widest layer: batch × n_{l−1} · n_l
/// for a dense layer, the im2col shape batch·positions × in·k^d · out for a conv layer.
fn workload_shape(exp: &Experiment) -> (usize, usize, usize) {
    let net = exp.cells()[0].network();
    let tap = net
        .taps()
        .into_iter()
        .max_by_key(|t| t.weight_len())
        .expect("a weighted layer");
    (
        exp.batch * tap.input.positions(),
        tap.fan_in,
        tap.weight_shape[0],
    )
}

pub fn run(args: BenchArgs) -> anyhow::Result<()> {
    let threads = args
        .threads
        .map(|t| t as usize)
        .unwrap_or_else(rayon::current_num_threads);
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()?;
    println!("initlab bench: {threads} threads, {}", cpu_name());
    // GEMM peak: the best of the simulator's own GEMM over the layer shapes of the workloads,
    // sustained over 0.3 s windows (the workloads run for seconds); the best single call
    // ("burst") is shown beside it.
    let shapes = [
        (256, 512, 512),
        (512, 1024, 1024),
        (256, 2048, 2048),
        (1024, 1024, 1024),
    ];
    let (mut peak32, mut peak64, mut burst32, mut burst64): (f64, f64, f64, f64) =
        (0.0, 0.0, 0.0, 0.0);
    println!(
        "\n{:<34} {:>10} {:>10} {:>10} {:>10}",
        "GEMM m×k·k×n", "f32 GF/s", "f32 burst", "f64 GF/s", "f64 burst"
    );
    for (m, k, n) in shapes {
        let (s32, b32, s64, b64) = pool.install(|| {
            (
                gemm_gflops_sustained::<f32>(m, k, n, 3, 0.3),
                gemm_gflops::<f32>(m, k, n, 5),
                gemm_gflops_sustained::<f64>(m, k, n, 3, 0.3),
                gemm_gflops::<f64>(m, k, n, 3),
            )
        });
        peak32 = peak32.max(s32);
        peak64 = peak64.max(s64);
        burst32 = burst32.max(b32);
        burst64 = burst64.max(b64);
        println!(
            "{:<34} {:>10.1} {:>10.1} {:>10.1} {:>10.1}",
            format!("{m}×{k}·{k}×{n} ({threads} threads)"),
            s32,
            b32,
            s64,
            b64
        );
    }
    println!(
        "measured GEMM peak (sustained 0.3 s): f32 {peak32:.1} GFLOP/s, f64 {peak64:.1} GFLOP/s \
         (best single call: {burst32:.1}, {burst64:.1})"
    );

    println!("\n{:<34} {:>10}", "kernel (1 thread)", "rate");
    let one = rayon::ThreadPoolBuilder::new().num_threads(1).build()?;
    for spec in [
        "kaiming_normal",
        "pytorch_default",
        "xavier_normal",
        "orthogonal",
    ] {
        let width = if spec == "orthogonal" { 256 } else { 1024 };
        println!(
            "{:<34} {:>7.0} M/s",
            format!("weights {spec} {width}²"),
            one.install(|| weight_rate::<f32>(spec, width, 5))
        );
    }
    let [fwd, bwd, wg, shape] = one.install(|| conv_rates(32, 64, [32, 32], 3));
    println!(
        "{:<34} {:>7.1} GF/s forward, {:.1} input gradient, {:.1} weight gradient; GEMM at its im2col shape {:.1}",
        "conv2d 3×3 64→64 32×32 ×32", fwd, bwd, wg, shape
    );
    let (narrow, wide) = one.install(|| chacha_word_rates(5));
    println!("{:<34} {:>7.0} M/s", "ChaCha8 words, rand_chacha", narrow);
    println!("{:<34} {:>7.0} M/s", "ChaCha8 words, 8-block AVX2", wide);
    for act in [
        Activation::Relu,
        Activation::Tanh,
        Activation::Gelu { tanh_approx: false },
    ] {
        println!(
            "{:<34} {:>7.0} M/s",
            format!("φ + moments {} 256×1024", act.label()),
            one.install(|| activation_rate::<f32>(act, 256, 1024, 5))
        );
    }
    if args.kernels_only {
        return Ok(());
    }

    let workloads = if args.workloads.is_empty() {
        ["w1", "w2", "w3", "w4", "w5", "w6", "w1_f64"]
            .iter()
            .map(|w| PathBuf::from(format!("experiments/bench/{w}.toml")))
            .collect()
    } else {
        args.workloads.clone()
    };
    let exe = std::env::current_exe().context("locating the initlab binary")?;
    let tmp = std::env::temp_dir().join(format!("initlab-bench-{}", std::process::id()));
    println!(
        "\n{:<7} {:>8} {:>9} {:>8} {:>8} {:>9} {:>9} {:>9} {:>11} {:>11}",
        "load",
        "wall s",
        "GFLOP/s",
        "÷ peak",
        "÷ burst",
        "÷ shape",
        "weights",
        "weight %",
        "peak RSS",
        "estimate"
    );
    for w in &workloads {
        let exp = Experiment::load(w)?;
        let out = tmp.join(&exp.name);
        let t = Instant::now();
        let status = Command::new(&exe)
            .args([
                "run",
                &w.display().to_string(),
                "--out",
                &out.display().to_string(),
            ])
            .args([
                "--threads",
                &threads.to_string(),
                "--quiet",
                "--no-plot",
                "--force",
            ])
            .status()
            .context("running a workload")?;
        anyhow::ensure!(status.success(), "workload {} failed", w.display());
        let wall = t.elapsed().as_secs_f64();
        let m: Manifest = serde_json::from_slice(&std::fs::read(out.join("manifest.json"))?)?;
        let gflops = workload_flops(&exp) / m.wall_seconds / 1e9;
        let (peak, burst) = match exp.dtype {
            crate::config::Dtype::F32 => (peak32, burst32),
            crate::config::Dtype::F64 => (peak64, burst64),
        };
        // The library GEMM at this workload's own layer shape (conv: the im2col shape), same
        // threads, measured now.
        let (gm, gk, gn) = workload_shape(&exp);
        let shape_rate = pool.install(|| match exp.dtype {
            crate::config::Dtype::F32 => gemm_gflops_sustained::<f32>(gm, gk, gn, 3, 0.3),
            crate::config::Dtype::F64 => gemm_gflops_sustained::<f64>(gm, gk, gn, 3, 0.3),
        });
        println!(
            "{:<7} {:>8.2} {:>9.1} {:>7.0}% {:>7.0}% {:>8.0}% {:>8.2}s {:>8.1}% {:>11} {:>11}",
            exp.name,
            wall,
            gflops,
            100.0 * gflops / peak,
            100.0 * gflops / burst,
            100.0 * gflops / shape_rate,
            m.weight_seconds,
            100.0 * m.weight_seconds / m.compute_seconds.max(1e-9),
            m.peak_rss_bytes.map(gib).unwrap_or_else(|| "?".into()),
            gib(m.estimated_peak_bytes),
        );
        let _ = std::fs::remove_dir_all(&out);
        // [train] (issue 14): a training step against one forward + backward pass.
        if let Some(c) = pool.install(|| crate::train::bench::step_cost(&exp, 5)) {
            println!(
                "{:<7} training step {:.3} ms vs simulator forward + backward {:.3} ms at the training batch: ratio {:.2}",
                exp.name,
                1e3 * c.step_seconds,
                1e3 * c.forward_backward_seconds,
                c.ratio
            );
        }
    }
    let _ = std::fs::remove_dir_all(&tmp);
    Ok(())
}

fn cpu_name() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|t| {
            t.lines()
                .find(|l| l.starts_with("model name"))
                .map(|l| l.split(':').nth(1).unwrap_or("").trim().to_string())
        })
        .unwrap_or_else(|| "unknown CPU".into())
}
