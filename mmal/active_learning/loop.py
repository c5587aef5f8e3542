"""The active-learning loop: per cycle train -> evaluate -> acquire.

Every step leaves a marker file written atomically when the step is
complete; re-running the same command skips completed steps and resumes an
interrupted training from its last epoch checkpoint (with the random states
restored by ``RNGStateHook``), so a resumed run ends with the splits of an
uninterrupted one. Work dir layout::

    run.json                  config of the run (a changed config is refused)
    label_map.json            cycle each pool image was labeled in
    results.csv/json, al_curve.png
    cycle_<k>/
        selected.json         what was acquired for cycle k
        labeled.json          written last: the split is complete
        unlabeled.json
        train/                mmengine work dir of cycle k
        checkpoint.json       training done: final checkpoint + sha256
        metrics.json          evaluation done
        acquisition/          shards of the pool pass with cycle k's model
"""
import copy
import glob
import inspect
import json
import os
import os.path as osp
import re
import time
import zipfile
from typing import List, Optional

import numpy as np
import torch
from mmengine.config import Config
from mmengine.dist import get_rank, get_world_size, is_distributed
from mmengine.runner import Runner

from mmal.datasets.weak_datasets import WeakSupervisionMixin
from mmal.registry import DATASETS, ORACLES
from mmal.strategies import build_strategy
from mmal.utils.checkpoint import load_checkpoint_safely
from mmal.utils.config import apply_effective_batch, apply_tta
from mmal.utils.fileio import atomic_write_json, atomic_write_text
from .acquisition import (AcquisitionRunner, broadcast,
                          check_checkpoint_classes, dataset_img_dir,
                          file_sha256, innermost_dataset, selection_record)
from .al_config import ALSettings
from .distributed import run_on_rank0
from .pool import Pool, SplitError
from .reporting import format_table, make_row, write_results
from .splits import (LABELED, SELECTED, CycleSplit, check_growth, cycle_dir,
                     read_initial_split_file, read_selected, read_split,
                     selection_context, update_label_map, write_split)

#: Config keys that may change between a run and its resumption.
VOLATILE_KEYS = ('launcher', 'work_dir', 'env_cfg', 'log_level', 'resume',
                 'experiment_name')
# Purpose codes of the random streams (see ALSettings.seed_for).
_INITIAL, _SUBSAMPLE, _SELECT = 0, 1, 2


def config_record(cfg: Config) -> dict:
    """The parts of a config that define a run's results, json-normalised."""
    d = {k: v for k, v in cfg.to_dict().items() if k not in VOLATILE_KEYS}
    al = dict(d.get('al', {}))
    al.pop('acquisition', None)  # batch size / workers: speed only
    d['al'] = al
    return json.loads(json.dumps(d, default=str, sort_keys=True))


def read_json(path: str) -> dict:
    with open(path) as f:
        return json.load(f)


def recorded_budget(sel_file: str, default: int) -> int:
    """The budget a past selection was made with (it may differ from the
    config's after ``--allow-config-change``)."""
    return int(read_json(sel_file).get('budget', default))


def resumable_checkpoint(train_dir: str) -> Optional[str]:
    """The newest complete checkpoint of an interrupted training, if any.

    ``last_checkpoint`` may name a file whose save was cut short (mmengine
    does not write checkpoints atomically) or one already rotated away, so
    every ``epoch_*.pth`` / ``iter_*.pth`` is considered, newest first, and
    the first that reads back cleanly is taken.
    """
    found = []
    for path in glob.glob(osp.join(train_dir, '*_*.pth')):
        m = re.fullmatch(r'(epoch|iter)_(\d+)\.pth', osp.basename(path))
        if m:
            found.append((int(m[2]), path))
    for _, path in sorted(found, reverse=True):
        try:  # torch writes its zip's central directory last
            with zipfile.ZipFile(path) as z:
                if any(n.endswith('data.pkl') for n in z.namelist()):
                    return path
        except (OSError, zipfile.BadZipFile):
            continue
    return None


def _diff_keys(a, b, prefix='') -> List[str]:
    if isinstance(a, dict) and isinstance(b, dict):
        out = []
        for k in sorted(set(a) | set(b)):
            out += _diff_keys(a.get(k), b.get(k), f'{prefix}{k}.')
        return out
    return [] if a == b else [prefix.rstrip('.')]


class ActiveLearningLoop:
    """Run (or resume) an active-learning experiment from a config.

    Args:
        cfg (Config): A detector config with an ``al`` section and a
            ``work_dir``.
        allow_config_change (bool): Resume even if the config differs from
            the one the run started with. Defaults to False.
        progress (bool): Progress bars. Defaults to True.
    """

    def __init__(self,
                 cfg: Config,
                 allow_config_change: bool = False,
                 progress: bool = True):
        self.cfg = cfg
        self.al = ALSettings.from_cfg(cfg)
        self.work_dir = osp.abspath(cfg.work_dir)
        self.allow_config_change = allow_config_change
        self.progress = progress
        train_ds = innermost_dataset(cfg.train_dataloader.dataset)
        pool_ann = self.al.pool.get('ann_file') or osp.join(
            train_ds.get('data_root') or '', train_ds.ann_file)
        self.img_dir = self.al.pool.get('img_dir') or dataset_img_dir(train_ds)
        classes = (train_ds.get('metainfo') or {}).get('classes')
        self.pool = Pool(pool_ann, classes, self.img_dir)
        oracle_cfg = dict(self.al.oracle)
        oracle_cls = ORACLES.get(oracle_cfg['type'])
        if oracle_cls is None:
            raise SplitError(f'al.oracle.type {oracle_cfg["type"]!r} is not '
                             'a registered oracle')
        if 'img_dir' in inspect.signature(oracle_cls).parameters:
            oracle_cfg.setdefault('img_dir', self.img_dir)
        self.oracle = ORACLES.build(
            oracle_cfg, default_args=dict(pool=self.pool))
        self.strategy = build_strategy(self.al.strategy)
        if self.al.initial.get('split_file'):
            self.initial_anns = read_initial_split_file(
                self.al.initial['split_file'], self.pool)
            initial = len(self.initial_anns)
        else:
            self.initial_anns = None
            initial = self.al.initial_images(len(self.pool))
        self.al.check_sizes(len(self.pool), initial)
        self.al.check_files()
        if self.al.test_tta and not (cfg.get('tta_model')
                                     and cfg.get('tta_pipeline')):
            raise SplitError('al.test_tta=True needs tta_model and '
                             'tta_pipeline in the config')
        self.num_initial = initial
        self.budget = (
            self.al.budget_images(len(self.pool))
            if self.al.num_acquisitions else 0)
        acq = self.al.acquisition
        self.acquirer = AcquisitionRunner(
            cfg,
            self.pool,
            self.strategy,
            self.oracle,
            self.img_dir,
            batch_size=acq.get('batch_size'),
            num_workers=acq.get('num_workers'),
            shard_size=acq.get('shard_size', 256),
            progress=progress)
        if self.al.finetune_from and osp.isfile(self.al.finetune_from):
            check_checkpoint_classes(
                load_checkpoint_safely(self.al.finetune_from),
                self.pool.classes, self.al.finetune_from)
        self.name = osp.splitext(osp.basename(cfg.filename or 'run'))[0]
        ds_cls = DATASETS.get(train_ds.type)
        #: Train on the pool with image-level labels, the labeled images
        #: fully annotated (weakly-supervised datasets).
        self.weak_training = isinstance(ds_cls, type) and issubclass(
            ds_cls, WeakSupervisionMixin)

    # ------------------------------------------------------------------
    def run(self) -> List[dict]:
        """Run every remaining step; returns the results rows."""
        run_on_rank0(self._check_run_record)
        split = self._initial_split()
        rows = []
        for k in range(self.al.num_cycles):
            ckpt = self._train(k)
            self._evaluate(k, ckpt, split)
            if k < self.al.num_acquisitions:
                next_split = self._acquire(k, split, ckpt)
            rows = run_on_rank0(self._report)
            if k < self.al.num_acquisitions:
                split = next_split
        return rows

    def _log(self, msg: str) -> None:
        if get_rank() == 0:
            print(f'[mmal al] {msg}', flush=True)

    def _check_run_record(self) -> None:
        path = osp.join(self.work_dir, 'run.json')
        record = config_record(self.cfg)
        if osp.exists(path):
            old = read_json(path)
            diff = _diff_keys(old['config'], record)
            if diff and not self.allow_config_change:
                raise SplitError(
                    f'the config differs from the one {self.work_dir} was '
                    f'started with (changed: {diff[:8]}); resume with the '
                    'same config, pass --allow-config-change to accept the '
                    'change, or use another --work-dir')
            if not diff:
                return
        atomic_write_json(
            dict(
                config=record,
                started=time.strftime('%Y-%m-%dT%H:%M:%S'),
                world_size=get_world_size()),
            path,
            indent=1)
        atomic_write_text(self.cfg.pretty_text,
                          osp.join(self.work_dir, 'config.py'))

    # -- cycle 0 ---------------------------------------------------------
    def _initial_split(self) -> CycleSplit:
        cdir = cycle_dir(self.work_dir, 0)

        def make() -> CycleSplit:
            if osp.exists(osp.join(cdir, LABELED)):
                split = read_split(cdir, self.pool)
                if split.labeled_ids.size != self.num_initial:
                    raise SplitError(
                        f'{cdir}/{LABELED} holds {split.labeled_ids.size} '
                        f'images; al.initial asks for {self.num_initial}')
                return split
            if self.initial_anns is not None:
                ids = np.array(sorted(self.initial_anns), np.int64)
                anns = self.initial_anns
                how = dict(split_file=self.al.initial['split_file'])
            else:
                rng = np.random.default_rng(self.al.seed_for(_INITIAL, 0))
                ids = np.sort(
                    rng.choice(self.pool.ids, self.num_initial, replace=False))
                anns = None
                how = dict(type='initial-random', size=self.num_initial)
            atomic_write_json(
                dict(
                    cycle=0,
                    image_ids=ids.tolist(),
                    scores=None,
                    strategy=how,
                    seed=self.al.seed,
                    time=time.strftime('%Y-%m-%dT%H:%M:%S')),
                osp.join(cdir, SELECTED),
                indent=1)
            if anns is None:
                anns = self.oracle.reveal(ids, cdir)
            update_label_map(self.work_dir, self.pool, np.zeros(0, np.int64),
                             ids, 0)
            split = write_split(cdir, self.pool, anns)
            self._log(f'cycle 0: {ids.size} initial images in {cdir}')
            return split

        return self._split_on_all_ranks(run_on_rank0(make), cdir)

    def _split_on_all_ranks(self, split: Optional[CycleSplit],
                            cdir: str) -> CycleSplit:
        """Rank 0's split as returned by :func:`run_on_rank0`; the other
        ranks read the files rank 0 has just written."""
        return split if get_rank() == 0 else read_split(cdir, self.pool)

    # -- training --------------------------------------------------------
    def cycle_cfg(self, k: int, init: Optional[str]) -> Config:
        """The mmengine config that trains cycle ``k``."""
        cfg = copy.deepcopy(self.cfg)
        cdir = cycle_dir(self.work_dir, k)
        train_dir = osp.join(cdir, 'train')
        ds = innermost_dataset(cfg.train_dataloader.dataset)
        if self.weak_training:
            # Weakly-supervised detectors train on the whole pool with its
            # image-level labels; the labeled images are fully annotated.
            ds.ann_file = osp.abspath(self.pool.ann_file)
            ds.strong_ann_file = osp.join(cdir, LABELED)
            ds.pop('strong_fraction', None)
        else:
            ds.ann_file = osp.join(cdir, LABELED)
        cfg.work_dir = train_dir
        cfg.experiment_name = f'{self.name}_cycle{k}'
        cfg.val_dataloader = cfg.val_cfg = cfg.val_evaluator = None
        sched = self.al.schedule
        by_epoch = cfg.train_cfg.get('type', '') in ('EpochBasedTrainLoop', ) \
            or 'max_epochs' in cfg.train_cfg
        if sched['type'] == 'iters_per_image':
            n = len(self._labeled_ids(k))
            iters = int(round(sched['iters_per_image'] * n))
            iters = max(iters, sched.get('min_iters', 1))
            if sched.get('max_iters'):
                iters = min(iters, sched['max_iters'])
            cfg.train_cfg = dict(type='IterBasedTrainLoop', max_iters=iters)
            milestones = [
                int(round(f * iters))
                for f in sched.get('milestones', (2 / 3, 8 / 9))
            ]
            warmup = sched.get('warmup_iters', 0)
            cfg.param_scheduler = ([
                dict(
                    type='LinearLR',
                    start_factor=0.001,
                    by_epoch=False,
                    begin=0,
                    end=warmup)
            ] if warmup else []) + [
                dict(
                    type='MultiStepLR',
                    by_epoch=False,
                    begin=0,
                    end=iters,
                    milestones=milestones,
                    gamma=sched.get('gamma', 0.1))
            ]
            by_epoch = False
        interval = 1 if by_epoch else sched.get(
            'checkpoint_interval', max(1, cfg.train_cfg.max_iters // 5))
        # Two kept: mmengine deletes the oldest before writing the newest, so
        # a kill during a save still leaves a complete one to resume from.
        cfg.default_hooks.checkpoint = dict(
            type='CheckpointHook',
            interval=interval,
            by_epoch=by_epoch,
            max_keep_ckpts=2,
            save_last=True)
        cfg.custom_hooks = list(cfg.get('custom_hooks')
                                or []) + [dict(type='mmal.RNGStateHook')]
        resume_from = resumable_checkpoint(train_dir)
        if resume_from:
            cfg.resume, cfg.load_from = True, resume_from
        else:
            cfg.resume, cfg.load_from = False, init or cfg.get('load_from')
        if is_distributed() and not torch.cuda.is_available():
            wrapper = dict(
                cfg.get('model_wrapper_cfg')
                or dict(type='MMDistributedDataParallel'))
            wrapper.update(broadcast_buffers=False, device_ids=None)
            cfg.model_wrapper_cfg = wrapper
        # Last, so that the schedule written above counts optimizer steps.
        return apply_effective_batch(cfg)

    def _labeled_ids(self, k: int) -> np.ndarray:
        return read_split(cycle_dir(self.work_dir, k), self.pool).labeled_ids

    def _train(self, k: int) -> str:
        cdir = cycle_dir(self.work_dir, k)
        marker = osp.join(cdir, 'checkpoint.json')
        if osp.exists(marker):
            return read_json(marker)['checkpoint']
        if k == 0 and self.al.starts_from_model:
            ckpt = osp.abspath(self.al.finetune_from)
            self._log(f'cycle 0: no labeled images, the model is {ckpt}')
            run_on_rank0(lambda: atomic_write_json(
                dict(
                    checkpoint=ckpt,
                    sha256=file_sha256(ckpt),
                    train_s=0.0,
                    resumed=False,
                    given=True),
                marker,
                indent=1))
            return ckpt
        if self.al.train_mode == 'finetune_from':
            init = self.al.finetune_from
        elif self.al.train_mode == 'continue' and k > 0:
            init = read_json(
                osp.join(cycle_dir(self.work_dir, k - 1),
                         'checkpoint.json'))['checkpoint']
        else:
            init = None
        cfg = self.cycle_cfg(k, init)
        self._log(f'cycle {k}: training on {cdir}/{LABELED} '
                  f'({"resuming" if cfg.resume else self.al.train_mode})')
        t0 = time.time()
        runner = Runner.from_cfg(cfg)
        runner.train()
        train_s = time.time() - t0

        def finish():
            with open(osp.join(cfg.work_dir, 'last_checkpoint')) as f:
                ckpt = f.read().strip()
            for other in glob.glob(osp.join(cfg.work_dir, '*_*.pth')):
                if osp.abspath(other) != osp.abspath(ckpt):
                    os.unlink(other)  # intermediate epochs: disk space
            atomic_write_json(
                dict(
                    checkpoint=ckpt,
                    sha256=file_sha256(ckpt),
                    train_s=train_s,
                    resumed=bool(cfg.resume)),
                marker,
                indent=1)
            return ckpt

        run_on_rank0(finish)
        return read_json(marker)['checkpoint']

    # -- evaluation ------------------------------------------------------
    def _evaluate(self, k: int, ckpt: str, split: CycleSplit) -> None:
        cdir = cycle_dir(self.work_dir, k)
        marker = osp.join(cdir, 'metrics.json')
        if osp.exists(marker):
            return
        cfg = self.cycle_cfg(k, None)
        cfg.work_dir = osp.join(cdir, 'test')
        cfg.experiment_name = f'{self.name}_cycle{k}_test'
        cfg.load_from, cfg.resume = ckpt, False
        if self.al.test_tta:
            apply_tta(cfg, self.cfg.filename or 'the config')
        evaluator = cfg.test_evaluator
        for ev in (evaluator if isinstance(evaluator, list) else [evaluator]):
            if ev.get('type') in ('CocoMetric', 'mmdet.CocoMetric'):
                ev['classwise'] = True
        t0 = time.time()
        metrics = Runner.from_cfg(cfg).test()
        test_s = time.time() - t0
        run_on_rank0(lambda: atomic_write_json(
            dict(
                cycle=k,
                checkpoint=ckpt,
                labeled_images=int(split.labeled_ids.size),
                labeled_boxes=split.num_boxes(),
                test_s=test_s,
                metrics={
                    k_: float(v)
                    for k_, v in metrics.items()
                    if isinstance(v, (int, float))
                }),
            marker,
            indent=1))

    # -- acquisition -----------------------------------------------------
    def acquire(self,
                k: int,
                ckpt: str,
                cdir: Optional[str] = None,
                ndir: Optional[str] = None) -> CycleSplit:
        """Score the unlabeled images of cycle ``k`` with its checkpoint and
        write the split of cycle ``k + 1`` (all ranks call this).

        Args:
            k (int): The cycle whose model scores the pool.
            ckpt (str): That model's checkpoint.
            cdir (str, optional): The folder of cycle ``k``'s split.
                Defaults to ``<work_dir>/cycle_<k>``.
            ndir (str, optional): Where to write the next split. Defaults to
                ``<work_dir>/cycle_<k + 1>``.

        Returns:
            CycleSplit: The new split.
        """
        cdir = cdir or cycle_dir(self.work_dir, k)
        ndir = ndir or cycle_dir(self.work_dir, k + 1)
        split = read_split(cdir, self.pool)
        return self._acquire(k, split, ckpt, cdir, ndir)

    def _acquire(self,
                 k: int,
                 split: CycleSplit,
                 ckpt: str,
                 cdir: Optional[str] = None,
                 ndir: Optional[str] = None) -> CycleSplit:
        cdir = cdir or cycle_dir(self.work_dir, k)
        ndir = ndir or cycle_dir(self.work_dir, k + 1)
        sel_file = osp.join(ndir, SELECTED)
        if osp.exists(osp.join(ndir, LABELED)):
            new = read_split(ndir, self.pool)
            check_growth(split, new, read_selected(sel_file),
                         recorded_budget(sel_file, self.budget), ndir)
            return new
        if not osp.exists(sel_file):
            self._select(k, split, ckpt, cdir, sel_file)

        def commit():
            sel = read_selected(sel_file)
            new_anns = self.oracle.reveal(sel, ndir)
            anns = dict(split.annotations)
            anns.update({int(i): new_anns[int(i)] for i in sel})
            # The label map first: a crash before labeled.json (the commit
            # marker) redoes both with the same ids.
            update_label_map(
                osp.dirname(ndir), self.pool, split.labeled_ids, sel, k + 1)
            write_split(ndir, self.pool, anns)
            new = read_split(ndir, self.pool)  # validate what was written
            check_growth(split, new, sel,
                         recorded_budget(sel_file, self.budget), ndir)
            self._log(f'cycle {k}: {sel.size} images selected with '
                      f'{self.strategy.describe()["type"]} -> {ndir}')
            return new

        return self._split_on_all_ranks(run_on_rank0(commit), ndir)

    def _select(self, k: int, split: CycleSplit, ckpt: str, cdir: str,
                sel_file: str) -> None:
        ids = split.unlabeled_ids
        sub = self.al.subsample_images(len(self.pool))
        if sub is not None and sub < ids.size:
            rng = np.random.default_rng(self.al.seed_for(_SUBSAMPLE, k))
            ids = np.sort(rng.choice(ids, sub, replace=False))
        marker = osp.join(cdir, 'checkpoint.json')
        if osp.exists(marker):
            sha = read_json(marker)['sha256']
        else:
            sha = run_on_rank0(lambda: file_sha256(ckpt))
            sha = broadcast(sha)
        t0 = time.time()
        files = [osp.join(cdir, 'unlabeled.json')]
        scored = ids
        if self.strategy.uses_labeled and split.labeled_ids.size:
            files.append(osp.join(cdir, 'labeled.json'))
            scored = np.concatenate([ids, split.labeled_ids])
        summaries = self.acquirer.score(scored, ckpt, sha, files,
                                        osp.join(cdir, 'acquisition'))
        t1 = time.time()

        def select():
            context = selection_context(split, self.pool, k)
            if self.strategy.uses_labeled:
                context.labeled_summaries = {
                    int(i): summaries.pop(int(i))
                    for i in split.labeled_ids
                }
            rng = np.random.default_rng(self.al.seed_for(_SELECT, k))
            selection = self.acquirer.select(summaries, self.budget, context,
                                             rng)
            t2 = time.time()
            atomic_write_json(
                selection_record(
                    selection, self.strategy, self.al.seed, k, ckpt, sha,
                    self.budget, int(ids.size),
                    dict(inference_s=t1 - t0, selection_s=t2 - t1)),
                sel_file,
                indent=1)

        run_on_rank0(select)

    # -- reporting -------------------------------------------------------
    def _report(self) -> List[dict]:
        rows = []
        for k in range(self.al.num_cycles):
            cdir = cycle_dir(self.work_dir, k)
            mfile = osp.join(cdir, 'metrics.json')
            if not osp.exists(mfile):
                break
            m = read_json(mfile)
            train = read_json(osp.join(cdir, 'checkpoint.json'))
            timings = dict(train_s=train.get('train_s'), test_s=m['test_s'])
            nsel = osp.join(cycle_dir(self.work_dir, k + 1), SELECTED)
            if osp.exists(nsel):
                timings.update(read_json(nsel).get('timings', {}))
            rows.append(
                make_row(k, m['labeled_images'], m['labeled_boxes'],
                         m['metrics'], self.pool.classes, timings))
        write_results(
            self.work_dir, rows,
            dict(
                name=self.name,
                strategy=self.strategy.describe(),
                seed=self.al.seed,
                pool=self.pool.ann_file,
                pool_size=len(self.pool)))
        self._log('results so far (results.csv, al_curve.png in '
                  f'{self.work_dir}):\n' + format_table(rows))
        return rows
