//! gemm-compare (initlab issue 15): pure-Rust f32 GEMM crates at the simulator's shapes.
//!
//! Speed: for each round, for each shape, for each candidate (order rotated every round),
//! for 1 and 2 threads, one untimed call and then a window of repeated calls lasting at
//! least `--window` seconds; the rate is 2·m·k·n·calls / time. Reported per cell: the median
//! and max over the rounds whose window was clean (see below), and the median over rounds of
//! the ratio to matrixmultiply measured in the same round, both windows clean (ratios are
//! robust to slow drifts of a shared machine; absolute rates are not).
//!
//! Bits: see `repro.rs`; the benchmark also hashes the output of every untimed call, which
//! checks 2 threads against 1, every candidate against matrixmultiply, and every call
//! against the previous rounds at each benchmark shape.
//!
//! Other processes' CPU time is read from /proc around each window. A t-thread window is clean
//! when they left the t CPUs it needs: their share of all CPUs ≤ (cpus − t)/cpus +
//! `--max-foreign` (default 0.1). Otherwise it is re-timed up to `--retries` (default 1)
//! times, keeping the least disturbed try. A cell with no clean window falls back to all of
//! them and is marked `*`; the number after each cell is how many rounds were clean.
//!
//! Usage: `gemm-compare [--rounds R] [--window SECONDS] [--max-foreign SHARE] [--retries N]
//! [--quick] [--skip-bench] [--skip-repro]`

mod candidates;
mod repro;

use candidates::{Cand, Gemms, View, ALL};
use std::time::Instant;

/// The simulator's products (row-major, m×k · k×n).
const SHAPES: [(&str, usize, usize, usize); 10] = [
    ("W1 fwd/dX", 256, 512, 512),
    ("W1 dW", 512, 256, 512),
    ("W2 fwd/dX", 512, 1024, 1024),
    ("W2 dW", 1024, 512, 1024),
    ("W3 fwd/dX", 256, 2048, 2048),
    ("W3 dW", 2048, 256, 2048),
    ("W4 conv fwd", 32768, 576, 64),
    ("W4 conv dX", 32768, 64, 576),
    ("W4 conv dW", 576, 32768, 64),
    ("peak 1024^3", 1024, 1024, 1024),
];

const THREADS: [usize; 2] = [1, 2];

/// A rayon pool of 1 and one of 2 workers; every product runs inside one of them.
pub struct Pools(Vec<rayon::ThreadPool>);

impl Pools {
    fn new() -> Self {
        let make = |t| {
            rayon::ThreadPoolBuilder::new()
                .num_threads(t)
                .build()
                .unwrap()
        };
        Pools(THREADS.iter().map(|&t| make(t)).collect())
    }

    pub fn get(&self, threads: usize) -> &rayon::ThreadPool {
        &self.0[THREADS.iter().position(|&t| t == threads).unwrap()]
    }
}

/// Fills `x` with deterministic, roughly standard-normal values (an LCG, sum of 4 uniforms).
pub fn fill_random(x: &mut [f32], seed: u64) {
    let mut s = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut uniform = || {
        s = s
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (s >> 40) as f32 / (1u64 << 24) as f32
    };
    for v in x {
        let sum = uniform() + uniform() + uniform() + uniform();
        *v = (sum - 2.0) * 3.0f32.sqrt();
    }
}

/// CPU clock ticks so far: (all CPUs busy, all CPUs total, this process), from /proc.
fn cpu_ticks() -> (u64, u64, u64) {
    let stat = std::fs::read_to_string("/proc/stat").unwrap_or_default();
    let all: Vec<u64> = stat
        .lines()
        .next()
        .unwrap_or("")
        .split_whitespace()
        .skip(1)
        .filter_map(|v| v.parse().ok())
        .collect();
    let total: u64 = all.iter().take(8).sum();
    let idle = all.get(3).copied().unwrap_or(0) + all.get(4).copied().unwrap_or(0);
    let me = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // Fields after the ")" that closes the command name: utime and stime are the 12th and 13th.
    let fields: Vec<u64> = me
        .rsplit(')')
        .next()
        .unwrap_or("")
        .split_whitespace()
        .skip(11)
        .take(2)
        .filter_map(|v| v.parse().ok())
        .collect();
    (total - idle, total, fields.iter().sum())
}

/// The share of the machine's CPU time used by other processes between two [`cpu_ticks`].
fn foreign_load(before: (u64, u64, u64), after: (u64, u64, u64)) -> f64 {
    let busy = after.0.saturating_sub(before.0);
    let mine = after.2.saturating_sub(before.2);
    busy.saturating_sub(mine) as f64 / (after.1 - before.1).max(1) as f64
}

/// Calls `f` repeatedly for at least `window` seconds; returns calls per second.
fn time_window(window: f64, mut f: impl FnMut()) -> f64 {
    let (mut calls, t0) = (0u32, Instant::now());
    loop {
        f();
        calls += 1;
        let secs = t0.elapsed().as_secs_f64();
        if secs >= window {
            return calls as f64 / secs;
        }
    }
}

/// FNV-1a over the bit patterns.
fn hash(x: &[f32]) -> u64 {
    x.iter().fold(0xcbf2_9ce4_8422_2325, |h, v| {
        (h ^ v.to_bits() as u64).wrapping_mul(0x100_0000_01b3)
    })
}

struct Args {
    rounds: usize,
    window: f64,
    /// A window during which other processes used more than this share of the CPUs is re-timed.
    max_foreign: f64,
    /// At most this many times.
    retries: usize,
    bench: bool,
    repro: bool,
}

fn parse_args() -> Args {
    let mut args = Args {
        rounds: 5,
        window: 0.2,
        max_foreign: 0.1,
        retries: 1,
        bench: true,
        repro: true,
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        let mut value = |name: &str| -> f64 {
            let v = it.next().unwrap_or_else(|| panic!("{name} needs a value"));
            v.parse()
                .unwrap_or_else(|_| panic!("bad {name} value {v:?}"))
        };
        match arg.as_str() {
            "--rounds" => args.rounds = value("--rounds") as usize,
            "--window" => args.window = value("--window"),
            "--max-foreign" => args.max_foreign = value("--max-foreign"),
            "--retries" => args.retries = value("--retries") as usize,
            "--quick" => (args.rounds, args.window) = (2, 0.05),
            "--skip-bench" => args.bench = false,
            "--skip-repro" => args.repro = false,
            "-h" | "--help" => {
                println!("gemm-compare [--rounds R] [--window SECONDS] [--max-foreign SHARE] [--retries N] [--quick] [--skip-bench] [--skip-repro]");
                std::process::exit(0);
            }
            other => panic!("unknown argument {other:?} (try --help)"),
        }
    }
    args
}

fn cpu_model() -> String {
    let info = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    info.lines()
        .find_map(|l| l.strip_prefix("model name"))
        .map(|l| l.trim_start_matches([' ', '\t', ':']).to_string())
        .unwrap_or_else(|| "unknown".into())
}

fn main() {
    let args = parse_args();
    let g = Gemms::new();
    let pools = Pools::new();
    let start = Instant::now();
    println!("CPU: {}", cpu_model());
    println!(
        "SIMD: avx2 {} fma {} avx512f {}  (rten-gemm kernel: {})",
        std::arch::is_x86_feature_detected!("avx2"),
        std::arch::is_x86_feature_detected!("fma"),
        std::arch::is_x86_feature_detected!("avx512f"),
        g.rten_kernel(),
    );
    println!(
        "{} logical CPUs; rounds {}, window {:.2} s",
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        args.rounds,
        args.window
    );
    if cfg!(feature = "mm-threading") {
        let n = std::env::var("MATMUL_NUM_THREADS").unwrap_or_else(|_| "unset".into());
        println!("matrixmultiply built with its 'threading' feature, MATMUL_NUM_THREADS={n}: its rows are one sgemm call using those threads in both thread columns");
    }
    let verdicts = args.repro.then(|| repro::check_all(&g, &pools, &ALL));
    let bench = args.bench.then(|| run_bench(&g, &pools, &args));
    if let Some(b) = &bench {
        print_rates(b);
    }
    print_repro(verdicts.as_deref(), bench.as_ref());
    println!("\ntotal {:.0} s", start.elapsed().as_secs_f64());
}

/// Indexed by shape, candidate and thread count (index into [`THREADS`]): one value a round.
type Grid<T> = Vec<Vec<[Vec<T>; 2]>>;

/// Per shape, candidate and thread count: the rate and the output hash of every round.
struct Bench {
    /// (GFLOP/s, clean) per round.
    rates: Grid<(f64, bool)>,
    hashes: Grid<u64>,
    /// Per round: how much other processes disturbed the timing windows.
    foreign: Vec<String>,
}

/// Shapes × candidates × thread counts of empty series.
fn grid<T: Clone>() -> Grid<T> {
    vec![vec![[Vec::new(), Vec::new()]; ALL.len()]; SHAPES.len()]
}

fn run_bench(g: &Gemms, pools: &Pools, args: &Args) -> Bench {
    let (mut rates, mut hashes) = (grid(), grid());
    let inputs: Vec<(Vec<f32>, Vec<f32>)> = SHAPES
        .iter()
        .enumerate()
        .map(|(si, &(_, m, k, n))| {
            let (mut a, mut b) = (vec![0.0; m * k], vec![0.0; k * n]);
            fill_random(&mut a, 2 * si as u64 + 1);
            fill_random(&mut b, 2 * si as u64 + 2);
            (a, b)
        })
        .collect();
    let mut foreign = Vec::new();
    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get()) as f64;
    for round in 0..args.rounds {
        eprint!("round {}/{} ", round + 1, args.rounds);
        let (mut retried, mut disturbed, mut loads) = (0, 0, Vec::new());
        for (si, &(_, m, k, n)) in SHAPES.iter().enumerate() {
            let (a, b) = (
                View::new(&inputs[si].0, m, k),
                View::new(&inputs[si].1, k, n),
            );
            let mut c = vec![0.0f32; m * n];
            let flops = 2.0 * (m * k * n) as f64;
            for j in 0..ALL.len() {
                let ci = (j + round) % ALL.len();
                for (ti, &t) in THREADS.iter().enumerate() {
                    let pool = pools.get(t);
                    c.fill(f32::NAN);
                    pool.install(|| g.matmul(ALL[ci], t, a, b, &mut c));
                    hashes[si][ci][ti].push(hash(&c));
                    // Re-time a window that other processes disturbed; keep the least disturbed.
                    let allowed = (cpus - t as f64).max(0.0) / cpus + args.max_foreign;
                    let mut best = (f64::INFINITY, 0.0);
                    for _ in 0..=args.retries {
                        let ticks = cpu_ticks();
                        let rate = flops
                            * time_window(args.window, || {
                                pool.install(|| g.matmul(ALL[ci], t, a, b, &mut c))
                            })
                            / 1e9;
                        let load = foreign_load(ticks, cpu_ticks());
                        if load < best.0 {
                            best = (load, rate);
                        }
                        if load <= allowed {
                            break;
                        }
                        retried += 1;
                    }
                    disturbed += (best.0 > allowed) as usize;
                    loads.push(best.0);
                    rates[si][ci][ti].push((best.1, best.0 <= allowed));
                }
            }
            eprint!(".");
        }
        let line = format!(
            "round {}: {retried} windows re-timed, {disturbed} of {} still disturbed; other processes used median {:.0}%, max {:.0}% of the CPUs",
            round + 1,
            loads.len(),
            100.0 * median(loads.clone()),
            100.0 * max(&loads)
        );
        eprintln!();
        foreign.push(line);
    }
    Bench {
        rates,
        hashes,
        foreign,
    }
}

fn median(mut x: Vec<f64>) -> f64 {
    x.sort_by(f64::total_cmp);
    let n = x.len();
    if n % 2 == 1 {
        x[n / 2]
    } else {
        (x[n / 2 - 1] + x[n / 2]) / 2.0
    }
}

fn max(x: &[f64]) -> f64 {
    x.iter().copied().fold(f64::NAN, f64::max)
}

fn print_rates(b: &Bench) {
    let head = |title: &str| {
        println!("\n{title}");
        print!("{:<12} {:<20} {:>3}", "shape", "m x k * k x n", "thr");
        for cand in ALL {
            print!(" {:>20}", cand.name());
        }
        println!();
    };
    let rows = |cell: &dyn Fn(usize, usize, usize) -> String| {
        for (si, &(name, m, k, n)) in SHAPES.iter().enumerate() {
            for (ti, &t) in THREADS.iter().enumerate() {
                let dims = format!("{m}x{k}*{k}x{n}");
                print!("{name:<12} {dims:<20} {t:>3}");
                for ci in 0..ALL.len() {
                    print!(" {:>20}", cell(si, ci, ti));
                }
                println!();
            }
        }
    };
    println!("\nOther processes' CPU time during the timing windows (share of all CPUs):");
    for line in &b.foreign {
        println!("  {line}");
    }
    head(
        "GFLOP/s: median [max] over the clean rounds, and their count (* = none clean: all rounds)",
    );
    rows(&|si, ci, ti| {
        let (r, mark) = clean(b.rates[si][ci][ti].iter().map(|&(x, ok)| (x, ok)));
        format!("{:.1} [{:.1}] {mark}", median(r.clone()), max(&r))
    });
    head("ratio to matrixmultiply (same shape, threads and round; both windows clean): median [min-max], count");
    rows(&|si, ci, ti| {
        let pairs = b.rates[si][ci][ti].iter().zip(&b.rates[si][0][ti]);
        let (r, mark) = clean(pairs.map(|(&(x, p), &(y, q))| (x / y, p && q)));
        let lo = r.iter().copied().fold(f64::NAN, f64::min);
        format!("{:.2} [{:.2}-{:.2}] {mark}", median(r.clone()), lo, max(&r))
    });
}

/// The clean values and their count, or all values and "*" when none is clean.
fn clean(values: impl Iterator<Item = (f64, bool)> + Clone) -> (Vec<f64>, String) {
    let ok: Vec<f64> = values.clone().filter(|v| v.1).map(|v| v.0).collect();
    if ok.is_empty() {
        (values.map(|v| v.0).collect(), "*".into())
    } else {
        let n = ok.len();
        (ok, n.to_string())
    }
}

fn outcome(o: &repro::Outcome) -> String {
    match o {
        None => "yes".into(),
        Some(places) => format!("no ({})", places.join(",")),
    }
}

/// "yes", or "no" with the benchmark shapes where `differs` holds.
fn bench_outcome(differs: impl Fn(usize) -> bool) -> String {
    let bad: Vec<&str> = (0..SHAPES.len())
        .filter(|&s| differs(s))
        .map(|s| SHAPES[s].0)
        .collect();
    if bad.is_empty() {
        "yes".into()
    } else {
        format!("no ({}/{}: {})", bad.len(), SHAPES.len(), bad.join(", "))
    }
}

fn print_repro(verdicts: Option<&[(Cand, repro::Verdict)]>, bench: Option<&Bench>) {
    if let Some(vs) = verdicts {
        println!(
            "\nBit-reproducibility ({} and {}):",
            repro::CASES[0].name,
            repro::CASES[1].name
        );
        println!("  a = 2 threads == 1 thread;  b = row blocks (sizes {:?} / {:?}) == whole;  c = column blocks (same sizes) == whole;",
            repro::CASES[0].blocks, repro::CASES[1].blocks);
        println!("  d = same bits as matrixmultiply;  e = same bits as the scalar KC=256 FMA model (300x257*257x190, 37x600*600x45)");
        println!(
            "{:<16} {:<8} {:<22} {:<22} {:<8} e",
            "candidate", "a", "b", "c", "d"
        );
        for (cand, v) in vs {
            println!(
                "{:<16} {:<8} {:<22} {:<22} {:<8} {}",
                cand.name(),
                outcome(&v.threads),
                outcome(&v.row_blocks),
                outcome(&v.col_blocks),
                outcome(&v.same_as_mm),
                outcome(&v.kc_model)
            );
        }
    }
    if let Some(b) = bench {
        println!(
            "\nAt the {} benchmark shapes (output hash of each round's untimed call):",
            SHAPES.len()
        );
        println!(
            "{:<16} {:<40} {:<40} same bits every round",
            "candidate", "2 threads == 1 thread", "1 thread == matrixmultiply"
        );
        for (ci, cand) in ALL.iter().enumerate() {
            let h = |s: usize, t: usize| b.hashes[s][ci][t][0];
            let threads = bench_outcome(|s| h(s, 0) != h(s, 1));
            let mm = bench_outcome(|s| h(s, 0) != b.hashes[s][0][0][0]);
            let stable =
                bench_outcome(|s| (0..2).any(|t| b.hashes[s][ci][t].iter().any(|&x| x != h(s, t))));
            println!("{:<16} {threads:<40} {mm:<40} {stable}", cand.name());
        }
    }
}
