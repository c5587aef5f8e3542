#!/usr/bin/env bash
# Active-learning benchmark (strategies x seeds from shared cycle-0 runs),
# resumable; several jobs may run it at once on the same benchmark.
#   tools/al_benchmark.sh CONFIG GPUS [extra args of tools/al_benchmark.py]
# Multi-node and the interpreter as for tools/al_train.sh (tools/launch.sh).
exec bash "$(dirname "${BASH_SOURCE[0]}")/launch.sh" al_benchmark.py "$@"
