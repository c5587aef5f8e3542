#!/usr/bin/env bash
# Active-learning loop on a Slurm cluster (one task per GPU), resumable:
# re-submit the same command after an interruption.
#   GPUS=16 tools/slurm_al_train.sh PARTITION JOB_NAME CONFIG WORK_DIR \
#       [extra args of tools/al_train.py]
# GPUS (default 8), GPUS_PER_NODE (default 8), CPUS_PER_TASK (default 5),
# SRUN_ARGS from the environment, as mmdet's slurm_train.sh; MMAL_PYTHON
# picks the interpreter, as for every mmal script (default: python).
set -euo pipefail
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PARTITION=$1
JOB_NAME=$2
CONFIG=$3
WORK_DIR=$4
GPUS=${GPUS:-8}
GPUS_PER_NODE=${GPUS_PER_NODE:-8}
CPUS_PER_TASK=${CPUS_PER_TASK:-5}
SRUN_ARGS=${SRUN_ARGS:-""}
PYTHON=${MMAL_PYTHON:-python}
export PYTHONPATH="$REPO:${PYTHONPATH:-}"
# shellcheck disable=SC2086
srun -p "$PARTITION" \
  --job-name="$JOB_NAME" \
  --gres=gpu:"$GPUS_PER_NODE" \
  --ntasks="$GPUS" \
  --ntasks-per-node="$GPUS_PER_NODE" \
  --cpus-per-task="$CPUS_PER_TASK" \
  --kill-on-bad-exit=1 \
  $SRUN_ARGS \
  "$PYTHON" -u "$REPO/tools/al_train.py" "$CONFIG" --work-dir="$WORK_DIR" \
  --launcher=slurm "${@:5}"
