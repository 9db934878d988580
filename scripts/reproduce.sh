#!/usr/bin/env bash
# Regenerate the committed results of every shipped experiment: results/<name>/ with the CSVs,
# the charts (plots/*.png, plots/*.svg) and report.html. Extra arguments go to `initlab run`
# (e.g. --threads 2). Each experiment takes under about a minute on 2 cores, except hanin2018
# (2048 draws per cell) and pennington2017 (Jacobians of width 512), several minutes each.
set -euo pipefail
cd "$(dirname "$0")/.."

cargo build --release --quiet
bin=target/release/initlab

for exp in experiments/*.toml; do
    name=$(basename "$exp" .toml)
    echo "== $name"
    "$bin" run "$exp" --out "results/$name" "$@"
done
echo "== phase diagram (tanh)"
"$bin" theory --activation tanh --phase-out results/phase_tanh/phase
echo "== done: $(ls -d results/*/ | wc -l) results folders; open results/<name>/report.html"
