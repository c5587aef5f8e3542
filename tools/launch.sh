#!/usr/bin/env bash
# Runs a tool of this folder the way the loop and the benchmark run:
#   tools/launch.sh SCRIPT CONFIG GPUS [extra args of SCRIPT]
# (tools/al_train.sh and tools/al_benchmark.sh are this with their script).
# Multi-node: NNODES, NODE_RANK, MASTER_ADDR, PORT from the environment, as
# with mmdet's tools/dist_train.sh (GPUS=1 NNODES=2: one process per node).
# GPUS=1 on one node runs without torchrun. MMAL_PYTHON picks the
# interpreter, as for every mmal script (default: the repo's .venv if it
# exists, else python).
set -euo pipefail
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
SCRIPT=$1
CONFIG=$2
GPUS=$3
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
  exec "$PYTHON" "$REPO/tools/$SCRIPT" "$CONFIG" --launcher none "${@:4}"
fi
exec "$PYTHON" -m torch.distributed.run \
  --nnodes="$NNODES" \
  --node_rank="$NODE_RANK" \
  --master_addr="$MASTER_ADDR" \
  --nproc_per_node="$GPUS" \
  --master_port="$PORT" \
  "$REPO/tools/$SCRIPT" "$CONFIG" --launcher pytorch "${@:4}"
