//! `cargo bench`: one plain benchmark per kernel of the simulator — the GEMM it uses, weight
//! generation, and the activation + statistics pass — printed as rates measured in this run.
//! (`initlab bench` adds the whole workloads W1–W3 and their ratios to the GEMM peak.)

use initlab::activation::Activation;
use initlab::bench::{activation_rate, chacha_word_rates, conv_rates, gemm_gflops, weight_rate};

fn main() {
    // As the binary does, so the rates are those the simulator sees.
    initlab::allocator::reuse_freed_memory();
    let one = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .unwrap();
    let all = rayon::ThreadPoolBuilder::new().build().unwrap();
    println!("kernel                                     rate");
    for (m, k, n) in [(256, 512, 512), (512, 1024, 1024), (256, 2048, 2048)] {
        let g1 = one.install(|| gemm_gflops::<f32>(m, k, n, 5));
        let ga = all.install(|| gemm_gflops::<f32>(m, k, n, 5));
        let g64 = all.install(|| gemm_gflops::<f64>(m, k, n, 3));
        println!(
            "gemm f32 {m}×{k}·{k}×{n}: {g1:7.1} GFLOP/s (1 thread), {ga:7.1} ({} threads); f64 {g64:7.1}",
            all.current_num_threads()
        );
    }
    for spec in [
        "kaiming_normal",
        "pytorch_default",
        "xavier_uniform",
        "lecun_normal",
    ] {
        let r32 = one.install(|| weight_rate::<f32>(spec, 1024, 5));
        let r64 = one.install(|| weight_rate::<f64>(spec, 1024, 5));
        println!("weights {spec:<16} 1024²: {r32:7.0} M/s f32, {r64:7.0} M/s f64 (1 thread)");
    }
    let [fwd, bwd, wg, shape] = one.install(|| conv_rates(32, 64, [32, 32], 3));
    println!(
        "conv2d 3×3 64→64 on 32×32, batch 32 (1 thread): {fwd:6.1} GFLOP/s forward, {bwd:6.1} input gradient, {wg:6.1} weight gradient; plain GEMM at the im2col shape {shape:6.1}"
    );
    let (narrow, wide) = one.install(|| chacha_word_rates(5));
    println!("ChaCha8 words: {narrow:7.0} M/s rand_chacha, {wide:7.0} M/s 8-block AVX2 (same words, 1 thread)");
    for act in [
        Activation::Relu,
        Activation::Tanh,
        Activation::Gelu { tanh_approx: false },
        Activation::Silu,
        Activation::Selu,
    ] {
        let r32 = one.install(|| activation_rate::<f32>(act, 256, 1024, 5));
        let r64 = one.install(|| activation_rate::<f64>(act, 256, 1024, 5));
        println!(
            "φ + moments {:<10} 256×1024: {r32:7.0} M/s f32, {r64:7.0} M/s f64",
            act.label()
        );
    }
}
