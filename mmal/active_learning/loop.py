"""The active-learning loop: per cycle train -> evaluate -> acquire.

Every step leaves a marker file written atomically when the step is
complete; re-running the same command skips completed steps and resumes an
interrupted training from its last epoch checkpoint (with the random states
restored by ``RNGStateHook``), so a resumed run ends with the splits of an
uninterrupted one. The work dir's layout is :mod:`.work_dir`'s.

The loop only sequences steps: what a strategy needs, how long a cycle
trains, which data a dataset trains on and who annotates are asked of the
plug-ins (strategy, ``al.schedule``, the dataset class, the oracle).
"""
import contextlib
import copy
import glob
import json
import os
import os.path as osp
import re
import time
import zipfile
from typing import List, Optional

import numpy as np
from mmengine.config import Config
from mmengine.dist import get_rank, get_world_size
from mmengine.runner import Runner

from mmal.registry import ORACLES
from mmal.strategies import build_strategy
from mmal.utils.checkpoint import load_checkpoint_safely
from mmal.utils.config import (apply_cpu_distributed, apply_effective_batch,
                               apply_tta)
from mmal.utils.disk_space import nbytes, reported_disk_full
from mmal.utils.fileio import (atomic_write_json, atomic_write_text,
                               remove_leftovers)
from .acquisition import AcquisitionRunner
from .al_config import ALSettings
from .dataset_cfg import (configure_training_set, dataset_img_dir,
                          innermost_dataset)
from .detector import build_detector, check_checkpoint_classes, file_sha256
from .distributed import broadcast, run_on_rank0
from .pool import Pool, SplitError
from .reporting import format_table, make_row, write_results
from .run_lock import RunLock
from .selection_record import selection_record
from .splits import (CycleSplit, check_growth, read_initial_split,
                     read_selected, read_split, selection_context,
                     update_label_map, write_split)
from .tracking import ExperimentTracker, check_backends
from .work_dir import CycleDir, WorkDir, read_record

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


def read_json(path: str, *keys: str) -> dict:
    """One of the run's json files (see :func:`.work_dir.read_record`)."""
    return read_record(path, keys)


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
        self.files = WorkDir(cfg.work_dir)
        self.work_dir = self.files.root
        self.allow_config_change = allow_config_change
        self.progress = progress
        train_ds = innermost_dataset(cfg.train_dataloader.dataset)
        pool_ann = self.al.pool.get('ann_file') or osp.join(
            train_ds.get('data_root') or '', train_ds.ann_file)
        self.img_dir = self.al.pool.get('img_dir') or dataset_img_dir(train_ds)
        classes = (train_ds.get('metainfo') or {}).get('classes')
        self.pool = Pool(pool_ann, classes, self.img_dir, progress)
        oracle_cfg = dict(self.al.oracle)
        if ORACLES.get(oracle_cfg['type']) is None:
            raise SplitError(f'al.oracle.type {oracle_cfg["type"]!r} is not '
                             'a registered oracle')
        self.oracle = ORACLES.build(
            oracle_cfg,
            default_args=dict(pool=self.pool, img_dir=self.img_dir))
        self.schedule = self.al.build_schedule()
        self._lock, self._held = None, False
        self.read_only = False
        self._labeled_counts = {}
        self.strategy = build_strategy(self.al.strategy)
        self.strategy.begin_run({
            i: img['file_name']
            for i, img in self.pool.images.items()
        })
        if self.al.initial.get('split_file'):
            self.initial_ids, self.initial_anns = read_initial_split(
                self.al.initial, self.pool)
            initial = len(self.initial_ids)
        else:
            self.initial_ids = self.initial_anns = None
            initial = self.al.initial_images(len(self.pool))
        self.al.check_sizes(len(self.pool), initial)
        self.al.check_files()
        if self.al.test_tta and not (cfg.get('tta_model')
                                     and cfg.get('tta_pipeline')):
            raise SplitError('al.test_tta=True needs tta_model and '
                             'tta_pipeline in the config')
        if self.al.budget_boxes is not None and not getattr(
                self.oracle, 'counts_boxes', False):
            raise SplitError(
                f'al.budget=dict(boxes=...) needs an oracle that counts an '
                f"image's boxes when it is picked; {oracle_cfg['type']} does "
                'not (GroundTruthOracle does)')
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
        if self.al.starts_from_model:
            # cycle 0 is this model as it is: it must fit the config's
            build_detector(cfg, self.al.finetune_from, self.pool.classes)
        elif self.al.finetune_from and osp.isfile(self.al.finetune_from):
            # a start for fine-tuning may have another head, not other
            # class names
            check_checkpoint_classes(
                load_checkpoint_safely(self.al.finetune_from),
                self.pool.classes, self.al.finetune_from)
        self.name = osp.splitext(osp.basename(cfg.filename or 'run'))[0]
        self.tracker = ExperimentTracker(
            check_backends(cfg, cfg.filename or 'the config'), self.work_dir,
            self.name, cfg)

    # ------------------------------------------------------------------
    @contextlib.contextmanager
    def locked(self, work_dir: Optional[str] = None):
        """Hold the work dir's lock (on rank 0: the other ranks and nodes
        of the same run share it) while the body runs; a read-only work dir
        (an archived run) is not locked, only read."""
        if self._held:  # re-entered, on every rank alike
            yield
            return

        def take():
            lock = RunLock(WorkDir(work_dir or self.work_dir).lock)
            return lock if lock.acquire() else False

        self._lock = run_on_rank0(take)
        self.read_only = bool(broadcast(self._lock is False))
        self._held = True
        try:
            yield
        finally:
            if self._lock:
                self._lock.release()
            self._lock, self._held = None, False

    def run(self) -> List[dict]:
        """Run every remaining step; returns the results rows."""
        with self.locked():
            run_on_rank0(self._check_run_record)
            split = self._initial_split()
            rows = []
            try:
                for k in range(self.al.num_cycles):
                    ckpt = self._train(k)
                    self._evaluate(k, ckpt, split)
                    if k < self.al.num_acquisitions:
                        next_split = self._acquire(k, split, ckpt)
                    rows = run_on_rank0(self._report)
                    if k < self.al.num_acquisitions:
                        split = next_split
            finally:
                run_on_rank0(self.tracker.close)
        return rows

    def _log(self, msg: str) -> None:
        if get_rank() == 0:
            print(f'[mmal al] {msg}', flush=True)

    def _check_run_record(self) -> None:
        if not self.read_only:
            remove_leftovers(self.work_dir)
        path = self.files.run_record
        record = config_record(self.cfg)
        if osp.exists(path):
            old = read_json(path, 'config')
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
        atomic_write_text(self.cfg.pretty_text, self.files.config)

    # -- cycle 0 ---------------------------------------------------------
    def _initial_split(self) -> CycleSplit:
        cdir = self.files.cycle(0)

        def make() -> CycleSplit:
            if cdir.has_split:
                split = read_split(cdir, self.pool)
                if split.labeled_ids.size != self.num_initial:
                    raise SplitError(
                        f'{cdir.labeled} holds {split.labeled_ids.size} '
                        f'images; al.initial asks for {self.num_initial}')
                return split
            if self.initial_ids is not None:
                ids, anns = self.initial_ids, self.initial_anns
                how = dict(self.al.initial)
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
                cdir.selected,
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
                            cdir) -> CycleSplit:
        """Rank 0's split as returned by :func:`run_on_rank0`; the other
        ranks read the files rank 0 has just written."""
        return split if get_rank() == 0 else read_split(cdir, self.pool)

    # -- training --------------------------------------------------------
    def cycle_cfg(self, k: int, init: Optional[str]) -> Config:
        """The mmengine config that trains cycle ``k``."""
        cfg = copy.deepcopy(self.cfg)
        cdir = self.files.cycle(k)
        train_dir = cdir.train_dir
        configure_training_set(
            innermost_dataset(cfg.train_dataloader.dataset),
            osp.abspath(self.pool.ann_file), cdir.labeled)
        cfg.work_dir = train_dir
        cfg.experiment_name = f'{self.name}_cycle{k}'
        if not self.al.tracking.get('training_runs') and cfg.get('visualizer'):
            # the experiment is the tracked run (see tracking.py)
            cfg.visualizer.vis_backends = [dict(type='LocalVisBackend')]
        cfg.val_dataloader = cfg.val_cfg = cfg.val_evaluator = None
        by_epoch = self.schedule.apply(cfg, lambda: self._num_labeled(k))
        interval = 1 if by_epoch else self.schedule.checkpoint_interval(cfg)
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
        apply_cpu_distributed(cfg)
        # Last, so that the schedule written above counts optimizer steps.
        return apply_effective_batch(cfg)

    def _num_labeled(self, k: int) -> int:
        """Labeled images of cycle ``k`` (its split is read once)."""
        if k not in self._labeled_counts:
            split = read_split(self.files.cycle(k), self.pool)
            self._labeled_counts[k] = int(split.labeled_ids.size)
        return self._labeled_counts[k]

    def _train(self, k: int) -> str:
        cdir = self.files.cycle(k)
        marker = cdir.checkpoint
        if osp.exists(marker):
            return read_json(marker, 'checkpoint')['checkpoint']
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
            init = read_json(self.files.cycle(k - 1).checkpoint,
                             'checkpoint')['checkpoint']
        else:
            init = None
        cfg = self.cycle_cfg(k, init)
        self._log(f'cycle {k}: training on {cdir.labeled} '
                  f'({"resuming" if cfg.resume else self.al.train_mode})')
        t0 = time.time()
        runner = Runner.from_cfg(cfg)
        with reported_disk_full(
                cfg.work_dir, 'saving the checkpoints of training in',
                lambda: nbytes(runner.model.state_dict()) + nbytes(
                    runner.optim_wrapper.state_dict())):
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
        return read_json(marker, 'checkpoint')['checkpoint']

    # -- evaluation ------------------------------------------------------
    def _evaluate(self, k: int, ckpt: str, split: CycleSplit) -> None:
        cdir = self.files.cycle(k)
        marker = cdir.metrics
        if osp.exists(marker):
            return
        cfg = self.cycle_cfg(k, None)
        cfg.work_dir = cdir.test_dir
        cfg.experiment_name = f'{self.name}_cycle{k}_test'
        cfg.load_from, cfg.resume = ckpt, False
        if self.al.test_tta:
            apply_tta(cfg, self.cfg.filename or 'the config')
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
        cdir = CycleDir(cdir) if cdir else self.files.cycle(k)
        ndir = CycleDir(ndir) if ndir else self.files.cycle(k + 1)
        with self.locked(ndir.work_dir.root):
            split = read_split(cdir, self.pool)
            return self._acquire(k, split, ckpt, cdir, ndir)

    def _acquire(self,
                 k: int,
                 split: CycleSplit,
                 ckpt: str,
                 cdir: Optional[str] = None,
                 ndir: Optional[str] = None) -> CycleSplit:
        cdir = cdir or self.files.cycle(k)
        ndir = ndir or self.files.cycle(k + 1)
        sel_file = ndir.selected
        if ndir.has_split:
            new = read_split(ndir, self.pool)
            sel = read_selected(sel_file)
            check_growth(split, new, sel,
                         recorded_budget(sel_file, self.budget), ndir,
                         self.oracle.labeled_of(sel, ndir))
            return new
        if not osp.exists(sel_file):
            self._select(k, split, ckpt, cdir, sel_file)

        def commit():
            sel = read_selected(sel_file)
            new_anns = self.oracle.reveal(sel, ndir)
            taken = self.oracle.labeled_of(sel, ndir)
            anns = dict(split.annotations)
            anns.update({int(i): new_anns[int(i)] for i in taken})
            # The label map first: a crash before labeled.json (the commit
            # marker) redoes both with the same ids.
            update_label_map(ndir.work_dir, self.pool, split.labeled_ids,
                             taken, k + 1)
            write_split(ndir, self.pool, anns)
            new = read_split(ndir, self.pool)  # validate what was written
            check_growth(split, new, sel,
                         recorded_budget(sel_file, self.budget), ndir, taken)
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
        marker = cdir.checkpoint
        if osp.exists(marker):
            sha = read_json(marker, 'sha256')['sha256']
        else:
            sha = run_on_rank0(lambda: file_sha256(ckpt))
            sha = broadcast(sha)
        t0 = time.time()
        self.strategy.begin_cycle(k, self._selection_history(k))
        files = [cdir.unlabeled]
        scored = ids
        if self.strategy.uses_labeled and split.labeled_ids.size:
            files.append(cdir.labeled)
            scored = np.concatenate([ids, split.labeled_ids])
        summaries = self.acquirer.score(scored, ckpt, sha, files,
                                        cdir.acquisition_dir)
        t1 = time.time()

        def select():
            context = selection_context(split, self.pool, k)
            context.train_state = self.acquirer.train_state(ckpt)
            pool = summaries.take(ids)
            if self.strategy.uses_labeled:
                context.labeled_summaries = summaries.take(split.labeled_ids)
            rng = np.random.default_rng(self.al.seed_for(_SELECT, k))
            selection, budget, cut = self.acquirer.select_for_budget(
                pool, self.budget, self.al.budget_boxes, context, rng)
            t2 = time.time()
            atomic_write_json(
                selection_record(
                    selection,
                    self.strategy,
                    self.al.seed,
                    k,
                    ckpt,
                    sha,
                    budget,
                    int(ids.size),
                    dict(inference_s=t1 - t0, selection_s=t2 - t1),
                    box_budget=cut),
                sel_file,
                indent=1)

        run_on_rank0(select)

    def _selection_history(self, k: int) -> List[dict]:
        """The ``details`` of the selections of cycles 1..k that the run
        made (oldest first), for :meth:`BaseStrategy.begin_cycle`."""
        out = []
        for j in range(1, k + 1):
            path = self.files.cycle(j).selected
            if osp.exists(path):
                with open(path) as f:
                    out.append(json.load(f).get('details') or {})
        return out

    # -- reporting -------------------------------------------------------
    def _report(self) -> List[dict]:
        rows = []
        for k in range(self.al.num_cycles):
            cdir = self.files.cycle(k)
            if not osp.exists(cdir.metrics):
                break
            m = read_json(cdir.metrics, 'labeled_images', 'labeled_boxes',
                          'metrics', 'test_s')
            train = read_json(cdir.checkpoint)
            timings = dict(train_s=train.get('train_s'), test_s=m['test_s'])
            nsel = self.files.cycle(k + 1).selected
            if osp.exists(nsel):
                timings.update(read_json(nsel).get('timings', {}))
            rows.append(
                make_row(k, m['labeled_images'], m['labeled_boxes'],
                         m['metrics'], self.pool.classes, timings))
        if self.read_only:
            self._log(f'{self.work_dir} is read-only: results printed, not '
                      'written\n' + format_table(rows))
            return rows
        write_results(
            self.work_dir, rows,
            dict(
                name=self.name,
                strategy=self.strategy.describe(),
                seed=self.al.seed,
                pool=self.pool.ann_file,
                pool_size=len(self.pool)))
        self.tracker.send(rows, [
            r['cycle'] >= self.al.num_acquisitions
            or osp.exists(self.files.cycle(r['cycle'] + 1).selected)
            for r in rows
        ])
        self._log('results so far (results.csv, al_curve.png in '
                  f'{self.work_dir}):\n' + format_table(rows))
        return rows
