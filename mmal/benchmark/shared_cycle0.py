"""The cycle 0 a seed's runs share: its initial split, trained model and
evaluation, made once by an ordinary one-cycle loop run.

Its config is the base config with everything that cannot change cycle 0
normalised (``al.strategy``, ``al.num_cycles``, ``al.budget``,
``al.pool_subsample``, ``al.acquire_after_last``), so its folder, keyed by a
hash of that config and the seed, serves every benchmark with the same base
config and seed. A (strategy, seed) run starts from a copy of its files:
the loop then finds cycle 0 complete, as on a resume, and goes on with
cycle 1; its cycle-0 rows are those of the shared run.
"""
import copy
import hashlib
import json
import os.path as osp

from mmengine.config import Config

from mmal.active_learning.loop import config_record
from mmal.active_learning.work_dir import WorkDir, read_record
from mmal.utils.fileio import atomic_write_json

#: What a cycle-0 run is set to: none of it changes cycle 0.
NORMALISED_AL = dict(
    strategy=dict(type='u-random'),
    num_cycles=1,
    budget=1,
    pool_subsample=None,
    acquire_after_last=False)


def seeded_config(base: Config, seed: int, seed_training: bool) -> Config:
    """``base`` with ``al.seed`` (and ``randomness.seed``) set to ``seed``."""
    cfg = copy.deepcopy(base)
    cfg.al.seed = seed
    if seed_training:
        cfg.randomness = dict(cfg.get('randomness') or {}, seed=seed)
    return cfg


def cycle0_config(base: Config, seed: int, seed_training: bool) -> Config:
    """The config of the shared cycle-0 run of ``seed``."""
    cfg = seeded_config(base, seed, seed_training)
    for key, value in NORMALISED_AL.items():
        cfg.al[key] = copy.deepcopy(value)
    return cfg


def cycle0_key(cfg: Config) -> str:
    """12 hex digits of the sha256 of a cycle-0 config's record."""
    text = json.dumps(config_record(cfg), sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def cycle0_dir(shared_root: str, cfg: Config, seed: int) -> str:
    """``<shared_root>/<hash>_seed<seed>``."""
    return osp.join(shared_root, f'{cycle0_key(cfg)}_seed{seed}')


def cycle0_done(shared: str) -> bool:
    """Whether the shared run has trained and evaluated its cycle 0."""
    return osp.exists(WorkDir(shared).cycle(0).metrics)


def start_from_cycle0(shared: str, work_dir: str) -> bool:
    """Copy the shared cycle 0 into ``work_dir`` unless it has one.

    The label map and split files come first and ``labeled.json`` (the
    split's commit marker) last of them, then the training and evaluation
    markers; the checkpoint marker names the shared checkpoint and its
    sha256 and records ``shared_from``. Returns whether anything was copied.
    """
    src, dst = WorkDir(shared), WorkDir(work_dir)
    if osp.exists(dst.cycle(0).metrics):
        return False
    s0, d0 = src.cycle(0), dst.cycle(0)
    pairs = [(src.label_map, dst.label_map), (s0.selected, d0.selected),
             (s0.unlabeled, d0.unlabeled), (s0.labeled, d0.labeled)]
    for a, b in pairs:
        with open(a) as f:
            atomic_write_json(json.load(f), b)
    ckpt = read_record(s0.checkpoint, ['checkpoint', 'sha256'])
    ckpt['shared_from'] = src.root
    atomic_write_json(ckpt, d0.checkpoint, indent=1)
    with open(s0.metrics) as f:
        atomic_write_json(json.load(f), d0.metrics, indent=1)
    return True
