#!/usr/bin/env bash
# Lint as OpenMMLab does: flake8, isort and yapf, settings in setup.cfg.
#   bash tools/lint.sh          check only
#   bash tools/lint.sh --fix    rewrite imports and formatting in place
set -euo pipefail
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$REPO"
PY=$(bash tools/setup_env.sh)
PATHS=(mmal tools tests configs)
if [ "${1:-}" = "--fix" ]; then
  "$PY" -m isort "${PATHS[@]}"
  "$PY" -m yapf -r -i "${PATHS[@]}"
fi
"$PY" -m flake8 "${PATHS[@]}"
"$PY" -m isort --check-only --diff "${PATHS[@]}"
"$PY" -m yapf -p -r --diff "${PATHS[@]}"
echo "[mmal lint] flake8, isort and yapf: clean"
