#!/usr/bin/env bash
# The main job: ENMS + DivProto against u-random on the bundled toy data,
# both from the same shared cycle-0 model (tiny Faster R-CNN on CPU; sets
# up the environment if needed, generates the toy dataset, trains cycle 0
# once, then train -> evaluate -> acquire per cycle for each strategy) and
# prints the per-cycle table with the paired difference. Re-running resumes
# / reprints; delete the work dirs for a fresh run.
#   bash tools/run_demo.sh [BENCHMARK_CONFIG]
set -euo pipefail
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$REPO"
PY=$(bash tools/setup_env.sh)
CONFIG=${1:-configs/benchmarks/demo_enms-divproto_vs_u-random.py}
start=$(date +%s)
MMAL_PYTHON="$PY" bash tools/al_benchmark.sh "$CONFIG" 1
"$PY" - "$CONFIG" "$(($(date +%s) - start))" <<'PY'
import os.path as osp, sys
from mmal.benchmark import BenchmarkConfig
from mmal.utils.setup_env import register_all_modules
register_all_modules()
config, secs = sys.argv[1], sys.argv[2]
bench = BenchmarkConfig.fromfile(config)
report = osp.join(bench.work_dir, "reports",
                      osp.splitext(osp.basename(config))[0])
with open(osp.join(report, 'table.txt')) as f:
    table = f.read()
print(f"\n[mmal demo] {' vs '.join(bench.strategies)} on the toy pool, "
      f"seeds {bench.seeds}, one shared cycle 0 per seed, in {secs} s:\n"
      f"{table}"
      f"report.md, curves.png and CSVs: {report}/")
PY
