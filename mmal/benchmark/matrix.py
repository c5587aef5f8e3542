"""The matrix of a benchmark: one shared cycle-0 run per seed and one loop
work dir per (strategy, seed).

Layout::

    <shared_dir>/<hash>_seed<s>/         cycle 0 of seed s (shared_cycle0)
    <work_dir>/claims/<item>.lock        claim files (claims)
    <work_dir>/runs/<strategy>/seed_<s>/ an ordinary loop work dir
    <work_dir>/reports/<config name>/    report.md, *.csv, *.png (report)
"""
import copy
import json
import os.path as osp
from dataclasses import dataclass
from typing import Dict, List, Optional

from mmengine.config import Config

from mmal.active_learning.al_config import ALSettings
from mmal.active_learning.work_dir import WorkDir
from .benchmark_config import BenchmarkConfig
from .claims import held_by
from .shared_cycle0 import (cycle0_config, cycle0_dir, cycle0_done,
                            seeded_config)


@dataclass
class MatrixItem:
    """One unit of work: a shared cycle 0 (``strategy`` None) or a run."""
    seed: int
    strategy: Optional[str]
    work_dir: str
    claim: str
    cfg: Config
    num_cycles: int

    @property
    def name(self) -> str:
        return (f'cycle0_seed{self.seed}' if self.strategy is None else
                f'{self.strategy}_seed{self.seed}')

    def rows(self) -> List[dict]:
        """The rows of its ``results.json`` so far."""
        path = WorkDir(self.work_dir).results_json
        if not osp.exists(path):
            return []
        with open(path) as f:
            return json.load(f).get('cycles') or []

    @property
    def done(self) -> bool:
        return len(self.rows()) >= self.num_cycles


class Matrix:
    """The items of a benchmark, in the order jobs take them: the shared
    cycle 0s, then the runs seed by seed, strategy by strategy (in the
    config's order).

    Args:
        bench (BenchmarkConfig): The benchmark.
        base (Config): Its base config, loaded (launcher and overrides
            applied).
    """

    def __init__(self, bench: BenchmarkConfig, base: Config):
        self.bench = bench
        self.base = base
        self.root = osp.abspath(bench.work_dir)
        num_cycles = ALSettings.from_cfg(base).num_cycles
        self.cycle0: Dict[int, MatrixItem] = {}
        self.runs: List[MatrixItem] = []
        for seed in bench.seeds:
            c0 = cycle0_config(base, seed, bench.seed_training)
            shared = osp.abspath(cycle0_dir(bench.shared_dir, c0, seed))
            c0.work_dir = shared
            self.cycle0[seed] = MatrixItem(seed, None, shared,
                                           osp.join(shared, 'cycle0.claim'),
                                           c0, 1)
        # seed-major: a matrix stopped early has complete seeds, every
        # strategy paired with the reference
        for seed in bench.seeds:
            for name, strategy in bench.strategies.items():
                cfg = seeded_config(base, seed, bench.seed_training)
                cfg.al.strategy = copy.deepcopy(strategy)
                work = osp.join(self.root, 'runs', name, f'seed_{seed}')
                cfg.work_dir = work
                self.runs.append(
                    MatrixItem(
                        seed, name, work,
                        osp.join(self.root, 'claims',
                                 f'{name}_seed{seed}.lock'), cfg, num_cycles))

    @property
    def items(self) -> List[MatrixItem]:
        return list(self.cycle0.values()) + self.runs

    def ready(self, item: MatrixItem) -> bool:
        """A run can start once its seed's cycle 0 is done."""
        return item.strategy is None or cycle0_done(
            self.cycle0[item.seed].work_dir)

    def state(self, item: MatrixItem) -> str:
        """'done', 'running (<owner>)', 'partial (k/n cycles)',
        'waiting for cycle 0' or 'to do'."""
        if item.done:
            return 'done'
        owner = held_by(item.claim)
        if owner:
            return f'running ({owner})'
        n = len(item.rows())
        if n:
            return f'partial ({n}/{item.num_cycles} cycles)'
        return 'to do' if self.ready(item) else 'waiting for cycle 0'

    def status_table(self) -> str:
        """A strategy x seed overview (plus the shared cycle 0s and who
        runs what)."""
        lines = [f'benchmark {self.bench.path}', f'  runs: {self.root}/runs']
        running = []
        for seed, item in self.cycle0.items():
            state = self.state(item)
            lines.append(f'  cycle 0, seed {seed}: {state}  '
                         f'[{item.work_dir}]')
        states = {}
        for item in self.runs:
            state = self.state(item)
            if state.startswith('running'):
                running.append(f'  {item.name}: {state}')
                state = 'running'
            states[item.strategy, item.seed] = state.replace(
                'waiting for cycle 0',
                'waits c0').replace('partial ', '').replace(' cycles', '')
        width = max(len(n) for n in self.bench.strategies)
        cols = [f'seed {s}' for s in self.bench.seeds]
        cw = max([len(c) for c in cols] + [len(v) for v in states.values()])
        lines += [
            '', '  ' + 'strategy'.ljust(width) + '  ' +
            '  '.join(c.ljust(cw) for c in cols)
        ]
        for name in self.bench.strategies:
            lines.append('  ' + name.ljust(width) + '  ' +
                         '  '.join(states[name, s].ljust(cw)
                                   for s in self.bench.seeds))
        done = sum(s == 'done' for s in states.values())
        lines.append(f'\n  {done}/{len(states)} runs done')
        return '\n'.join(lines + running)
