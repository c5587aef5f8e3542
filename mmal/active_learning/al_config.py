"""The ``al`` section of a config, parsed and checked before any work.

Example (every key but ``strategy`` has a default)::

    al = dict(
        num_cycles=3,                 # cycles trained (acquisitions: 2)
        seed=0,                       # all random choices of the loop
        initial=dict(size=40),        # int count | float ratio |
                                      # dict(split_file='labeled.json')
        budget=20,                    # images per cycle (float: of the pool;
                                      # dict(boxes=N): images in the
                                      # strategy's order until N boxes)
        strategy=dict(type='u-random'),
        train_mode='scratch',         # 'scratch' | 'continue' |
                                      # 'finetune_from'
        finetune_from=None,           # checkpoint for 'finetune_from'
        schedule=dict(type='epochs'), # or dict(type='iters_per_image', ...)
        pool_subsample=None,          # score only a random part of the pool
        oracle=dict(type='GroundTruthOracle'),
        pool=dict(ann_file=None, img_dir=None),  # default: the train set
        acquisition=dict(batch_size=None, num_workers=None, shard_size=256),
        test_tta=False,               # evaluate each cycle with the config's
                                      # tta_model / tta_pipeline
        tracking=dict(training_runs=False))  # per-cycle numbers go to the
                                      # config's visualizer.vis_backends as
                                      # one run; True: each cycle's training
                                      # is a tracked run of its own too

``initial=0`` (with ``train_mode='finetune_from'``) starts from a given
model, e.g. a weakly-supervised detector: cycle 0 is not trained, it
evaluates and acquires with ``finetune_from`` as it is.
"""
import copy
import os.path as osp
from dataclasses import dataclass, field, fields
from typing import Optional, Union

from mmengine.config import Config

from .pool import SplitError
from .schedules import BaseSchedule, build_schedule

TRAIN_MODES = ('scratch', 'continue', 'finetune_from')


def _count(value, total: int, name: str, allow_zero=False) -> int:
    """An image count from an int, or from a float ratio of ``total``."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise SplitError(f'{name} must be an image count (int) or a ratio '
                         f'of the pool (float in (0, 1]), got {value!r}')
    if isinstance(value, float):
        if not 0 < value <= 1:
            raise SplitError(f'{name}={value} is a ratio and must lie in '
                             '(0, 1]')
        value = int(round(value * total))
    if value < (0 if allow_zero else 1):
        raise SplitError(f'{name} must be positive, got {value}')
    return value


def _check_box_budget(budget) -> None:
    """``al.budget=dict(boxes=N)``: exactly that key, N an int >= 1."""
    if not isinstance(budget, dict):
        return
    n = budget.get('boxes')
    bad = isinstance(n, bool) or not isinstance(n, int) or n < 1
    if set(budget) != {'boxes'} or bad:
        raise SplitError('al.budget as a dict must be dict(boxes=N) with N '
                         'an int >= 1 (boxes per acquisition), got '
                         f'{budget!r}')


@dataclass
class ALSettings:
    """The parsed ``al`` section; see the module docstring."""
    num_cycles: int
    seed: int
    strategy: dict
    initial: dict
    budget: Union[int, float, dict]
    train_mode: str = 'scratch'
    finetune_from: Optional[str] = None
    schedule: dict = field(default_factory=lambda: dict(type='epochs'))
    pool_subsample: Optional[Union[int, float]] = None
    oracle: dict = field(
        default_factory=lambda: dict(type='GroundTruthOracle'))
    pool: dict = field(default_factory=dict)
    acquisition: dict = field(default_factory=dict)
    acquire_after_last: bool = False
    test_tta: bool = False
    tracking: dict = field(default_factory=dict)

    @classmethod
    def from_cfg(cls, cfg: Config) -> 'ALSettings':
        al = cfg.get('al')
        if al is None:
            raise SplitError('the config has no "al" section (see '
                             'docs/config.md)')
        al = copy.deepcopy(dict(al))
        keys = {f.name for f in fields(cls)}
        unknown = set(al) - keys
        if unknown:
            raise SplitError(f'al: unknown keys {sorted(unknown)}; known: '
                             f'{sorted(keys)}')
        if 'strategy' not in al:
            raise SplitError('al.strategy is required, e.g. '
                             "dict(type='u-random')")
        n = al.get('num_cycles', 1)
        if isinstance(n, bool) or not isinstance(n, int) or n < 1:
            raise SplitError(f'al.num_cycles must be an int >= 1, got {n!r}')
        seed = al.get('seed', 0)
        if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
            raise SplitError(f'al.seed must be an int >= 0, got {seed!r}')
        initial = al.get('initial', dict(size=0.1))
        if isinstance(initial, (int, float)):
            initial = dict(size=initial)
        if isinstance(initial, str):
            initial = dict(split_file=initial)
        if not isinstance(initial, dict) or (('size' in initial)
                                             == ('split_file' in initial)):
            raise SplitError('al.initial must be an image count, a ratio, or '
                             'dict(size=...) or dict(split_file=...), got '
                             f'{initial!r}')
        mode = al.get('train_mode', 'scratch')
        if mode not in TRAIN_MODES:
            raise SplitError(f'al.train_mode must be one of {TRAIN_MODES}, '
                             f'got {mode!r}')
        ft = al.get('finetune_from')
        if mode == 'finetune_from' and not ft:
            raise SplitError("al.train_mode='finetune_from' needs "
                             'al.finetune_from=<checkpoint>')
        sched = dict(al.get('schedule', dict(type='epochs')))
        build_schedule(sched)  # refuse bad settings now
        tracking = al.get('tracking') or {}
        if not isinstance(tracking, dict) or set(tracking) - {
                'training_runs'
        } or not isinstance(tracking.get('training_runs', False), bool):
            raise SplitError('al.tracking must be dict(training_runs=True or '
                             f'False), got {tracking!r}')
        for key in ('budget', ):
            if key not in al:
                raise SplitError(f'al.{key} is required')
        _check_box_budget(al['budget'])
        return cls(
            num_cycles=n,
            seed=seed,
            strategy=dict(al['strategy']),
            initial=dict(initial),
            budget=al['budget'],
            train_mode=mode,
            finetune_from=ft,
            schedule=sched,
            pool_subsample=al.get('pool_subsample'),
            oracle=dict(al.get('oracle', dict(type='GroundTruthOracle'))),
            pool=dict(al.get('pool') or {}),
            acquisition=dict(al.get('acquisition') or {}),
            acquire_after_last=bool(al.get('acquire_after_last', False)),
            test_tta=bool(al.get('test_tta', False)),
            tracking=dict(tracking))

    def build_schedule(self) -> BaseSchedule:
        """The registered schedule ``al.schedule`` names."""
        return build_schedule(self.schedule)

    @property
    def num_acquisitions(self) -> int:
        return self.num_cycles - (0 if self.acquire_after_last else 1)

    def budget_images(self, pool_size: int) -> Optional[int]:
        """Images per acquisition; None for a box budget."""
        if self.budget_boxes is not None:
            return None
        return _count(self.budget, pool_size, 'al.budget')

    @property
    def budget_boxes(self) -> Optional[int]:
        """N of ``budget=dict(boxes=N)``, else None."""
        if isinstance(self.budget, dict):
            return self.budget['boxes']
        return None

    @property
    def starts_from_model(self) -> bool:
        """Whether cycle 0 is the ``finetune_from`` model, not trained
        (``initial=0``)."""
        return self.initial.get('size') == 0

    def initial_images(self, pool_size: int) -> int:
        return _count(
            self.initial['size'],
            pool_size,
            'al.initial.size',
            allow_zero=self.starts_from_model)

    def subsample_images(self, pool_size: int) -> Optional[int]:
        if self.pool_subsample is None:
            return None
        return _count(self.pool_subsample, pool_size, 'al.pool_subsample')

    def check_sizes(self, pool_size: int, initial: int) -> None:
        """Reject budgets the pool cannot pay, before any work."""
        if pool_size == 0:
            raise SplitError('the pool is empty: the annotation file has no '
                             'images')
        if initial > pool_size:
            raise SplitError(f'al.initial: {initial} images requested but the '
                             f'pool has {pool_size}')
        if initial == 0 and not self.starts_from_model:
            raise SplitError('al.initial: the initial labeled set is empty')
        if self.starts_from_model and self.train_mode != 'finetune_from':
            raise SplitError(
                "al.initial=0 needs train_mode='finetune_from': cycle 0 is "
                'then the finetune_from model, evaluated and used for the '
                'first acquisition without training')
        if self.num_acquisitions == 0 or self.budget_boxes is not None:
            return  # a box budget takes as many images as it needs
        budget = self.budget_images(pool_size)
        need = budget * self.num_acquisitions
        left = pool_size - initial
        if need > left:
            raise SplitError(
                f'al.budget: {self.num_acquisitions} acquisitions of '
                f'{budget} images need {need} unlabeled images but the pool '
                f'has {left} after the initial {initial}; lower al.budget or '
                'al.num_cycles')
        sub = self.subsample_images(pool_size)
        if sub is not None and sub < budget:
            raise SplitError(f'al.pool_subsample ({sub} images) is smaller '
                             f'than al.budget ({budget})')

    def check_files(self) -> None:
        """Reject a missing ``finetune_from`` checkpoint, before any work
        (the config alone parses without it)."""
        ft = self.finetune_from
        if ft and not (osp.isfile(ft) or '://' in ft):
            raise SplitError(f'al.finetune_from {ft!r} does not exist' + (
                ' (cycle 0 is this model: train it first, see the '
                "config's header)" if self.starts_from_model else ''))
        if self.starts_from_model and not osp.isfile(ft):
            raise SplitError('al.initial=0: al.finetune_from must be a local '
                             f'file (it scores the pool of cycle 0), got '
                             f'{ft!r}')

    def seed_for(self, *keys: int) -> list:
        """Entropy for ``numpy.random.default_rng``: the run's seed followed
        by ``keys`` (a purpose code and the cycle), so every random choice
        has its own reproducible stream."""
        return [self.seed, *keys]
