#!/usr/bin/env bash
# Active-learning loop (train -> evaluate -> acquire per cycle), resumable:
# re-run the same command after an interruption.
#   tools/al_train.sh CONFIG GPUS [extra args of tools/al_train.py]
# Multi-node: NNODES, NODE_RANK, MASTER_ADDR, PORT from the environment, as
# with mmdet's tools/dist_train.sh (GPUS=1 NNODES=2: one process per node).
# GPUS=1 on one node runs without torchrun. MMAL_PYTHON picks the
# interpreter, as for every mmal script (default: the repo's .venv if it
# exists, else python).
set -euo pipefail
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
CONFIG=$1
GPUS=$2
NNODES=${NNODES:-1}
NODE_RANK=${NODE_RANK:-0}
PORT=${PORT:-29500}
MASTER_ADDR=${MASTER_ADDR:-"127.0.0.1"}
PYTHON=${MMAL_PYTHON:-}
if [ -z "$PYTHON" ]; then
  if [ -x "$REPO/.venv/bin/python" ]; then PYTHON="$REPO/.venv/bin/python"
  else PYTHON=python; fi
fi
export PYTHONPATH="$REPO:${PYTHONPATH:-}"
if [ "$GPUS" -le 1 ] && [ "$NNODES" -le 1 ]; then
  exec "$PYTHON" "$REPO/tools/al_train.py" "$CONFIG" --launcher none "${@:3}"
fi
exec "$PYTHON" -m torch.distributed.run \
  --nnodes="$NNODES" \
  --node_rank="$NODE_RANK" \
  --master_addr="$MASTER_ADDR" \
  --nproc_per_node="$GPUS" \
  --master_port="$PORT" \
  "$REPO/tools/al_train.py" "$CONFIG" --launcher pytorch "${@:3}"
