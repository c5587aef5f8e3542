#!/usr/bin/env bash
# Set up, or reuse, the Python environment mmal runs in; print its python.
#
#   PY=$(bash tools/setup_env.sh)      # progress goes to stderr
#
# Which environment:
#   * MMAL_PYTHON=/path/to/python      use exactly that interpreter;
#   * an active virtualenv / conda env that can import torch (say a GPU
#     machine with torch+CUDA): use it, and leave its torch and mmcv alone;
#   * otherwise the repository's own .venv (created on first use).
# What it installs, only when missing:
#   1. torch: `pip install torch==2.13.0` (MMAL_TORCH_SPEC overrides). Never a
#      bare `torch`, which would let the resolver pull a CUDA build.
#   2. mmcv 2.1.0 with compiled ops, built once from its sdist against the
#      environment's own torch and cached under ~/.cache/mmal/wheels
#      (MMAL_CACHE_DIR overrides), when no mmcv in [2.0.0rc4, 2.2.0) with
#      ops imports.
#   3. mmengine, mmdet and mmal itself (editable, with test and lint extras).
# A stamp in the environment makes the next run a few seconds long.
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
TORCH_SPEC=${MMAL_TORCH_SPEC:-torch==2.13.0}
MMCV_VERSION=${MMAL_MMCV_VERSION:-2.1.0}
CACHE=${MMAL_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/mmal}
export PIP_DISABLE_PIP_VERSION_CHECK=1

log() { echo "[mmal setup] $*" >&2; }
pip_q() { "$PY" -m pip install -q "$@" 1>&2; }

# --- 1. the interpreter ------------------------------------------------------
if [ -n "${MMAL_PYTHON:-}" ]; then
  PY=$MMAL_PYTHON
  log "using MMAL_PYTHON=$PY"
elif [ -n "${VIRTUAL_ENV:-}${CONDA_PREFIX:-}" ] \
    && python -c 'import torch' >/dev/null 2>&1; then
  PY=$(python -c 'import sys; print(sys.executable)')
  log "using the active environment ($PY)"
else
  if [ ! -x "$REPO/.venv/bin/python" ]; then
    log "creating a virtual environment in $REPO/.venv"
    python3 -m venv "$REPO/.venv"
  fi
  PY=$REPO/.venv/bin/python
fi

# --- fast path: nothing changed since the last complete setup -----------------
PREFIX=$("$PY" -c 'import sys; print(sys.prefix)')
STAMP=$PREFIX/.mmal-setup-stamp
want=$( (echo "$REPO"; cat "$REPO/setup.cfg" "$REPO/pyproject.toml" \
  "${BASH_SOURCE[0]}") | sha256sum | cut -d' ' -f1)
if [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$want" ] \
    && "$PY" -c 'import mmal, mmcv.ops, mmdet' >/dev/null 2>&1; then
  log "environment up to date ($PY)"
  echo "$PY"
  exit 0
fi

# --- 2. torch ----------------------------------------------------------------
if "$PY" -c 'import torch' >/dev/null 2>&1; then
  log "torch $("$PY" -c 'import torch; print(torch.__version__)' 2>/dev/null) already installed: kept"
else
  log "installing $TORCH_SPEC"
  pip_q --upgrade pip wheel "setuptools<81"  # mmengine needs pkg_resources
  pip_q "$TORCH_SPEC"
fi
pip_q packaging

# --- 3. mmcv with compiled ops ------------------------------------------------
mmcv_ok() {
  "$PY" - <<'PY' >/dev/null 2>&1
import mmcv
from mmcv.ops import nms  # needs the compiled extension
from packaging.version import Version
assert Version('2.0.0rc4') <= Version(mmcv.__version__) < Version('2.2.0')
PY
}
if mmcv_ok; then
  log "mmcv $("$PY" -c 'import mmcv; print(mmcv.__version__)' 2>/dev/null) with ops already installed: kept"
else
  key=$("$PY" -c 'import sys, torch; print(f"torch-{torch.__version__}-cuda-{torch.version.cuda}-py{sys.version_info[0]}{sys.version_info[1]}")' 2>/dev/null)
  wheels=$CACHE/wheels/$key
  wheel=$(ls "$wheels"/mmcv-"$MMCV_VERSION"-*.whl 2>/dev/null | head -n 1 || true)
  if [ -z "$wheel" ]; then
    log "building mmcv $MMCV_VERSION with ops against $key (first time only: about 15 minutes on 2 cores)"
    # A separate build environment: mmcv's setup.py needs setuptools<70
    # (pkg_resources) while torch>=2.6 needs a newer one. It sees the target
    # environment's packages (torch above all) through a .pth file, after its
    # own setuptools.
    build=$CACHE/build-venv-$key
    if [ ! -x "$build/bin/python" ]; then
      python3 -m venv "$build"
      "$build/bin/python" -m pip install -q "setuptools<70" wheel ninja 1>&2
    fi
    target_site=$("$PY" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
    build_site=$("$build/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
    echo "$target_site" > "$build_site/mmal-target-env.pth"
    mkdir -p "$wheels"
    tmp=$(mktemp -d)
    # --no-cache-dir: pip's own wheel cache is keyed by the sdist, not by the
    # torch it was compiled against, and could hand back a mismatched build.
    MMCV_WITH_OPS=1 MAX_JOBS=${MAX_JOBS:-$(nproc)} \
      "$build/bin/python" -m pip wheel -q --no-cache-dir --no-build-isolation \
      --no-deps --no-binary mmcv "mmcv==$MMCV_VERSION" -w "$tmp" 1>&2
    mv "$tmp"/mmcv-*.whl "$wheels"/
    rm -rf "$tmp"
    wheel=$(ls "$wheels"/mmcv-"$MMCV_VERSION"-*.whl | head -n 1)
  else
    log "installing mmcv from the cached build $wheel"
  fi
  pip_q "$wheel"
  mmcv_ok || { log "mmcv still fails to import its ops"; exit 1; }
fi

# --- 4. mmengine, mmdet, mmal ---------------------------------------------------
log "installing mmengine, mmdet and mmal (editable, with test and lint extras)"
pip_q -e "$REPO[tests,lint]"
"$PY" -c 'import mmal, mmcv.ops, mmdet' 1>&2
echo "$want" > "$STAMP"
log "environment ready ($PY)"
echo "$PY"
