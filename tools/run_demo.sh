#!/usr/bin/env bash
# The main job: a 3-cycle active-learning loop on the bundled toy data with
# the tiny Faster R-CNN on CPU (sets up the environment if needed, generates
# the toy dataset, then train -> evaluate -> acquire per cycle) and prints
# the per-cycle table. Re-running resumes / reprints; delete the work dir
# for a fresh run.
#   bash tools/run_demo.sh [CONFIG]
set -euo pipefail
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$REPO"
PY=$(bash tools/setup_env.sh)
CONFIG=${1:-configs/enms-divproto/faster-rcnn_r18_fpn_enms-divproto_toy.py}
NAME=$(basename "$CONFIG" .py)
WORK_DIR=${WORK_DIR:-work_dirs/demo/$NAME}
start=$(date +%s)
MMAL_PYTHON="$PY" bash tools/al_train.sh "$CONFIG" 1 --work-dir "$WORK_DIR"
"$PY" - "$WORK_DIR" "$(($(date +%s) - start))" <<'PY'
import json, os.path as osp, sys
from mmal.active_learning.reporting import format_table
work, secs = sys.argv[1], sys.argv[2]
res = json.load(open(osp.join(work, 'results.json')))
print(f"\n[mmal demo] {res['strategy']['type']} on the toy pool "
      f"({res['pool_size']} images), {len(res['cycles'])} cycles in "
      f"{secs} s:\n{format_table(res['cycles'])}\n"
      f"splits, results.csv and al_curve.png: {work}/")
PY
