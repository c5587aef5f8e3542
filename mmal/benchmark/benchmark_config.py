"""A benchmark config: one base config, strategies and seeds.

Example (``configs/benchmarks/``)::

    base = '../random/faster-rcnn_r18_fpn_u-random_toy.py'  # relative to
                                       # this file; its al.strategy is
                                       # replaced by each strategy below
    strategies = [
        dict(type='u-random'),
        dict(type='enms-divproto'),
        dict(name='enms-divproto_t0.5', type='enms-divproto',
             enms_thr=0.5),            # hyper-parameters; `name` defaults
    ]                                  # to `type`
    seeds = [0, 1, 2]                  # al.seed and randomness.seed
    reference = 'u-random'             # paired differences against it
    work_dir = 'work_dirs/benchmarks/toy'
    shared_dir = 'work_dirs/benchmarks/cycle0'  # shared cycle-0 runs
    cost = dict(c_img=1.6, c_box=7.0)  # annotation seconds: image, box
    metric = None                      # default: bbox_AP (voc_mAP on VOC)
"""
import os.path as osp
import re
from dataclasses import dataclass, field
from typing import Dict, List, Optional

from mmengine.config import Config

from mmal.active_learning.pool import SplitError
from mmal.registry import STRATEGIES

#: Annotation cost model, seconds: ``c_img`` per image looked at (the
#: image-level verification time of Papadopoulos et al., CVPR 2016) and
#: ``c_box`` per box drawn (extreme clicking, Papadopoulos et al., ICCV
#: 2017).
DEFAULT_COST = dict(c_img=1.6, c_box=7.0)
KEYS = ('base', 'strategies', 'seeds', 'reference', 'work_dir', 'shared_dir',
        'cost', 'metric', 'seed_training')
_NAME = re.compile(r'[A-Za-z0-9][A-Za-z0-9_.+-]*')


@dataclass
class BenchmarkConfig:
    """The parsed benchmark config; see the module docstring."""
    path: str
    base: str
    strategies: Dict[str, dict]
    seeds: List[int]
    reference: Optional[str]
    work_dir: str
    shared_dir: str
    cost: Dict[str, float] = field(default_factory=lambda: dict(DEFAULT_COST))
    metric: Optional[str] = None
    seed_training: bool = True

    @classmethod
    def fromfile(cls,
                 path: str,
                 work_dir: Optional[str] = None,
                 shared_dir: Optional[str] = None) -> 'BenchmarkConfig':
        """Read and check ``path``; every error names the file and field."""
        if not osp.isfile(path):
            raise SplitError(f'benchmark config {path!r} does not exist')
        raw = Config.fromfile(path).to_dict()
        where = f'benchmark config {path}'
        unknown = sorted(set(raw) - set(KEYS))
        if unknown:
            raise SplitError(f'{where}: unknown keys {unknown}; known: '
                             f'{list(KEYS)}')
        for key in ('base', 'strategies', 'seeds'):
            if key not in raw:
                raise SplitError(f'{where}: {key!r} is required')
        base = raw['base']
        if not isinstance(base, str):
            raise SplitError(f'{where}: base must be a config path, got '
                             f'{base!r}')
        base = osp.normpath(osp.join(osp.dirname(osp.abspath(path)), base))
        if not osp.isfile(base):
            raise SplitError(f'{where}: base {raw["base"]!r} does not exist '
                             f'({base})')
        strategies = _strategies(raw['strategies'], where)
        seeds = raw['seeds']
        if (not isinstance(seeds, (list, tuple)) or not seeds or any(
                isinstance(s, bool) or not isinstance(s, int) or s < 0
                for s in seeds) or len(set(seeds)) != len(seeds)):
            raise SplitError(f'{where}: seeds must be a non-empty list of '
                             f'distinct ints >= 0, got {seeds!r}')
        ref = raw.get('reference', 'u-random')
        if ref is not None and ref not in strategies:
            if 'reference' in raw:
                raise SplitError(f'{where}: reference {ref!r} is not one of '
                                 f'the strategies {list(strategies)}')
            ref = None
        cost = dict(DEFAULT_COST, **(raw.get('cost') or {}))
        if set(cost) != set(DEFAULT_COST) or any(
                isinstance(v, bool) or not isinstance(v, (int, float)) or v < 0
                for v in cost.values()):
            raise SplitError(f'{where}: cost must be dict(c_img=..., '
                             f'c_box=...) with numbers >= 0, got {cost!r}')
        name = osp.splitext(osp.basename(path))[0]
        return cls(
            path=osp.abspath(path),
            base=base,
            strategies=strategies,
            seeds=list(seeds),
            reference=ref,
            work_dir=work_dir or raw.get('work_dir')
            or osp.join('work_dirs', 'benchmarks', name),
            shared_dir=shared_dir or raw.get('shared_dir')
            or osp.join('work_dirs', 'benchmarks', 'cycle0'),
            cost={
                k: float(v)
                for k, v in cost.items()
            },
            metric=raw.get('metric'),
            seed_training=bool(raw.get('seed_training', True)))


def _strategies(items, where: str) -> Dict[str, dict]:
    """name -> strategy config (``type`` and hyper-parameters)."""
    if not isinstance(items, (list, tuple)) or not items:
        raise SplitError(f'{where}: strategies must be a non-empty list of '
                         "dict(type=..., [name=...], **hyper_parameters)")
    out = {}
    for i, item in enumerate(items):
        if not isinstance(item, dict) or 'type' not in item:
            raise SplitError(f'{where}: strategies[{i}] must be a dict with '
                             f'a type, got {item!r}')
        item = dict(item)
        name = str(item.pop('name', item['type']))
        if not _NAME.fullmatch(name):
            raise SplitError(f'{where}: strategies[{i}]: name {name!r} must '
                             'be usable as a folder name')
        if STRATEGIES.get(item['type']) is None:
            raise SplitError(f'{where}: strategies[{i}]: {item["type"]!r} is '
                             'not a registered strategy')
        if name in out:
            raise SplitError(f'{where}: strategies[{i}]: the name {name!r} '
                             'is used twice; give one a name=...')
        out[name] = item
    return out
