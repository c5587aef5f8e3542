"""Every benchmark config under configs/benchmarks/ parses: its base
config exists and has an al section, its strategies are registered."""
import glob
import os.path as osp

import pytest

from mmal.active_learning import ALSettings
from mmal.benchmark import BenchmarkConfig, Matrix
from mmal.utils.config import load_config

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
BENCHMARKS = sorted(glob.glob(osp.join(REPO, 'configs', 'benchmarks', '*.py')))


def test_benchmark_configs_found():
    names = {osp.basename(p) for p in BENCHMARKS}
    assert {
        'toy_8-strategies_3-seeds.py', 'demo_enms-divproto_vs_u-random.py'
    } <= names


@pytest.mark.parametrize('path', BENCHMARKS, ids=osp.basename)
def test_benchmark_config_parses(path):
    bench = BenchmarkConfig.fromfile(path)
    base = load_config(bench.base)
    ALSettings.from_cfg(base)
    matrix = Matrix(bench, base)
    assert len(matrix.runs) == len(bench.strategies) * len(bench.seeds)
    assert bench.reference in bench.strategies
