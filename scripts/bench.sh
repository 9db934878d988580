#!/usr/bin/env bash
# Speed in one run: the machine's f32 GEMM peak with the simulator's own GEMM, the kernel rates,
# then the workloads W1-W3 (experiments/bench/) with achieved GFLOP/s as a ratio of that peak,
# the share of compute spent drawing weights, and peak RSS beside the estimate.
# Extra arguments go to `initlab bench` (e.g. --threads 2, or workload files).
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --quiet
exec target/release/initlab bench "$@"
