#!/usr/bin/env bash
# The toy BiB protocol (tools/run_bib_toy.sh) over several seeds from ONE
# weak base model: for each seed S, the BiB loop and the u-random loop run
# with al.seed=S (selection) and randomness.seed=S (fine-tuning), then
# tools/analysis/plot_al_curves.py prints the per-cycle mean +- std over the
# seeds (markdown, for docs/benchmarks.md) of AP50 and AP and draws the
# curves. About 70 CPU-minutes on 2 cores for 3 seeds.
#   bash tools/benchmark/run_bib_toy_seeds.sh [SEED ...]    (default: 0 1 2)
# STRATEGIES="bib u-random u-plus-bib" selects the strategies.
set -euo pipefail
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$REPO"
PY=$(bash tools/setup_env.sh)
BASE=work_dirs/mist_vgg16-tiny_toy/iter_400.pth
if [ ! -f "$BASE" ]; then
  "$PY" tools/train.py configs/mist/mist_vgg16-tiny_toy.py
fi
SEEDS=("$@")
[ ${#SEEDS[@]} -gt 0 ] || SEEDS=(0 1 2)
read -r -a NAMES <<< "${STRATEGIES:-bib u-random}"
RUNS=()
for seed in "${SEEDS[@]}"; do
  for s in "${NAMES[@]}"; do
    WORK=work_dirs/bib_toy_seeds/mist_vgg16-tiny_${s}_toy_seed${seed}
    MMAL_PYTHON="$PY" bash tools/al_train.sh \
      "configs/bib/mist_vgg16-tiny_${s}_toy.py" 1 --work-dir "$WORK" \
      --cfg-options al.seed="$seed" randomness.seed="$seed"
    RUNS+=("$WORK")
  done
done
for metric in bbox_AP50 bbox_AP; do
  "$PY" tools/analysis/plot_al_curves.py "${RUNS[@]}" --metric "$metric" \
    --group-by strategy --out-dir "work_dirs/bib_toy_seeds/$metric"
done
