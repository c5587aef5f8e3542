#!/usr/bin/env bash
# The BiB protocol on the toy data (CPU): train the weak toy MIST from
# image-level labels once (skipped when its checkpoint exists), then run the
# BiB loop and the u-random loop from that same base model (same seed, 2
# acquisitions of 20 images each), and plot both curves.
#   bash tools/run_bib_toy.sh [STRATEGY ...]     (default: bib u-random)
set -euo pipefail
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$REPO"
PY=$(bash tools/setup_env.sh)
BASE=work_dirs/mist_vgg16-tiny_toy/iter_400.pth
if [ ! -f "$BASE" ]; then
  "$PY" tools/train.py configs/mist/mist_vgg16-tiny_toy.py
fi
STRATEGIES=("$@")
[ ${#STRATEGIES[@]} -gt 0 ] || STRATEGIES=(bib u-random)
RUNS=()
for s in "${STRATEGIES[@]}"; do
  WORK=work_dirs/bib_toy/mist_vgg16-tiny_${s}_toy
  MMAL_PYTHON="$PY" bash tools/al_train.sh "configs/bib/mist_vgg16-tiny_${s}_toy.py" 1 \
    --work-dir "$WORK"
  RUNS+=("$WORK")
done
"$PY" tools/analysis/plot_al_curves.py "${RUNS[@]}" --metric bbox_AP50 \
  --out-dir work_dirs/bib_toy
