#!/usr/bin/env bash
# The main job on the bundled toy data: sets up the environment if needed,
# generates the toy dataset, trains the tiny Faster R-CNN on CPU and
# evaluates its checkpoint (loaded with weights_only=True).
#   bash tools/run_demo.sh [CONFIG]
set -euo pipefail
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$REPO"
PY=$(bash tools/setup_env.sh)
CONFIG=${1:-configs/toy/faster-rcnn_r18_fpn_toy.py}
NAME=$(basename "$CONFIG" .py)
WORK_DIR=${WORK_DIR:-work_dirs/demo/$NAME}
start=$(date +%s)
"$PY" tools/train.py "$CONFIG" --work-dir "$WORK_DIR"
trained=$(date +%s)
"$PY" tools/test.py "$CONFIG" "$(cat "$WORK_DIR/last_checkpoint")" \
  --work-dir "$WORK_DIR" --out "$WORK_DIR/test_metrics.json"
"$PY" - "$WORK_DIR/test_metrics.json" "$((trained - start))" <<'PY'
import json, sys
m = json.load(open(sys.argv[1]))
print(f"\n[mmal demo] trained in {sys.argv[2]} s; toy val bbox mAP "
      f"{m['coco/bbox_mAP']:.3f}, AP50 {m['coco/bbox_mAP_50']:.3f}, "
      f"AP75 {m['coco/bbox_mAP_75']:.3f}  ({sys.argv[1]})")
PY
