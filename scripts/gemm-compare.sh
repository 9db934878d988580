#!/usr/bin/env bash
# Issue 15: speed (interleaved rounds, GFLOP/s and ratio to matrixmultiply) and bit-reproducibility
# of the pure-Rust f32 GEMM crates (matrixmultiply, gemm, faer, rten-gemm) at the simulator's shapes.
# The tool is a standalone crate with its own target dir (tools/gemm-compare/target), so it never
# locks the project's target/. Arguments go to the tool: --rounds R, --window SECONDS, --quick,
# --max-foreign SHARE, --retries N, --skip-bench, --skip-repro (see tools/gemm-compare/src/main.rs).
# `--mm-threading` (first argument) instead builds matrixmultiply with its own "threading"
# feature and runs with MATMUL_NUM_THREADS=2.
set -euo pipefail
cd "$(dirname "$0")/.."
features=()
if [[ "${1:-}" == "--mm-threading" ]]; then
    shift
    features=(--features mm-threading)
    export MATMUL_NUM_THREADS=2
fi
cargo build --release --quiet --manifest-path tools/gemm-compare/Cargo.toml \
    --target-dir tools/gemm-compare/target "${features[@]}"
exec tools/gemm-compare/target/release/gemm-compare "$@"
