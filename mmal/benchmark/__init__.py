"""Benchmarks: strategies x seeds from shared cycle-0 runs, and their
report (see docs/al_benchmark.md)."""
from .benchmark_config import DEFAULT_COST, BenchmarkConfig
from .claims import held_by, try_claim
from .matrix import Matrix, MatrixItem
from .runner import run_item, work
from .shared_cycle0 import (cycle0_config, cycle0_dir, cycle0_key,
                            start_from_cycle0)

__all__ = [
    'DEFAULT_COST', 'BenchmarkConfig', 'held_by', 'try_claim', 'Matrix',
    'MatrixItem', 'run_item', 'work', 'cycle0_config', 'cycle0_dir',
    'cycle0_key', 'start_from_cycle0'
]
