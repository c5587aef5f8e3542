#!/usr/bin/env bash
# Active-learning loop (train -> evaluate -> acquire per cycle), resumable:
# re-run the same command after an interruption.
#   tools/al_train.sh CONFIG GPUS [extra args of tools/al_train.py]
# Multi-node: NNODES, NODE_RANK, MASTER_ADDR, PORT from the environment, as
# with mmdet's tools/dist_train.sh (GPUS=1 NNODES=2: one process per node).
# GPUS=1 on one node runs without torchrun. MMAL_PYTHON picks the
# interpreter (see tools/launch.sh).
exec bash "$(dirname "${BASH_SOURCE[0]}")/launch.sh" al_train.py "$@"
