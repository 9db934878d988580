#!/usr/bin/env bash
# Regenerate the committed results of every shipped experiment: results/<name>/ with the CSVs,
# the charts (plots/*.png, plots/*.svg) and report.html. Extra arguments go to `initlab run`
# (e.g. --threads 2). Most experiments take under a minute on 2 cores; he2015_conv (a 12-layer
# VGG-style conv net at 32×32), xiao2018 (conv nets to 1000 layers) and the training runs
# he2015_train_conv and schoenholz2017, hanin2018 (2048 draws per cell) and pennington2017
# (Jacobians of width 512) take several minutes each.
# The largest raw tables (resnet_depth's per-layer and per-block tables, the layers.csv of
# xiao2018, hanin2018 and pennington2017, pennington2017's spectrum.csv: the `widths` column
# repeats a long profile on every row, 350 MB for resnet_depth alone) are not committed
# (.gitignore); this script remakes them.
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
