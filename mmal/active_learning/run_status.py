"""Where an active-learning run stands, read from its work dir alone: the
cycle and step in progress, whether a loop holds the work dir now, the last
metrics, and an estimate of the time left from the steps' measured times.

It only reads (a running loop is not disturbed, a read-only archive can be
asked) and needs neither the config file nor the data.
"""
import glob
import json
import os
import os.path as osp
import socket
import time
from dataclasses import dataclass, field
from typing import List, Optional

from .pool import SplitError
from .summary_store import SummaryStore
from .work_dir import CycleDir, WorkDir, read_record

#: The steps of a cycle, in order.
STEPS = ('train', 'evaluate', 'acquire', 'annotate')


@dataclass
class StepTimes:
    """Measured seconds of the finished steps, per cycle."""
    train: dict = field(default_factory=dict)  # cycle -> (seconds, images)
    evaluate: dict = field(default_factory=dict)
    acquire: dict = field(default_factory=dict)


@dataclass
class RunStatus:
    work_dir: str
    num_cycles: int
    num_acquisitions: int
    cycle: Optional[int]  # in progress; None when the run is over
    step: Optional[str]
    step_since: Optional[float]  # when the step in progress began (epoch s)
    detail: str
    owner: Optional[str]  # 'host, pid' of a live loop, else None
    last: Optional[dict]  # the newest results row
    eta_s: Optional[float]
    times: StepTimes

    @property
    def finished(self) -> bool:
        return self.cycle is None

    def as_dict(self) -> dict:
        d = dict(self.__dict__)
        d['times'] = dict(self.times.__dict__)
        d['finished'] = self.finished
        return d


def _json(path: str) -> Optional[dict]:
    return read_record(path) if osp.exists(path) else None


def _mtime(path: str) -> Optional[float]:
    try:
        return os.stat(path).st_mtime
    except OSError:
        return None


def _owner(files: WorkDir) -> Optional[str]:
    """The live loop holding the work dir: the lock file names its host and
    pid; on this host the pid is checked, on another it is believed."""
    try:
        with open(files.lock) as f:
            rec = json.loads(f.read() or '{}')
        host, pid = rec['host'], int(rec['pid'])
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if host == socket.gethostname():
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return None
        except PermissionError:
            pass
    return f'{host}, pid {pid}'


def _images(path: str) -> Optional[int]:
    d = _json(path)
    return None if d is None else len(d.get('images') or [])


def _labeled_images(cdir: CycleDir) -> Optional[int]:
    """A cycle's labeled images: from its small metrics.json once it is
    evaluated, else by reading its split (COCO-scale files are large)."""
    metrics = _json(cdir.metrics)
    if metrics is not None and metrics.get('labeled_images') is not None:
        return int(metrics['labeled_images'])
    return _images(cdir.labeled) if cdir.has_split else None


def _training_detail(cdir: CycleDir) -> str:
    """The newest ``epoch`` / ``iter`` a cycle's training logged."""
    logs = glob.glob(osp.join(cdir.train_dir, '*', 'vis_data', 'scalars.json'))
    if not logs:
        return 'starting'
    last = None
    with open(max(logs, key=os.path.getmtime)) as f:
        for line in f:
            if line.strip():
                last = line
    try:
        rec = json.loads(last) if last else {}
    except ValueError:  # a line being written
        rec = {}
    parts = [f'{k} {rec[k]}' for k in ('epoch', 'iter') if k in rec]
    if 'loss' in rec:
        parts.append(f'loss {rec["loss"]:.3f}')
    return ', '.join(parts) or 'starting'


def _pass_detail(cdir: CycleDir) -> str:
    """How much of the pool the acquisition pass has scored."""
    store = SummaryStore(cdir.acquisition_dir)
    try:
        done = store.scored_ids().size if osp.isdir(store.root) else 0
    except (OSError, ValueError):
        done = 0
    total = _images(cdir.unlabeled)
    return f'{done} of {total} unlabeled images scored' if total else \
        f'{done} images scored'


def _mean(values) -> Optional[float]:
    values = [v for v in values if v is not None]
    return sum(values) / len(values) if values else None


def read_status(work_dir: str, now: Optional[float] = None) -> RunStatus:
    """The status of the run in ``work_dir``.

    Raises:
        SplitError: ``work_dir`` holds no run (no ``run.json``).
    """
    now = time.time() if now is None else now
    files = WorkDir(work_dir)
    if not osp.exists(files.run_record):
        raise SplitError(f'{files.root} holds no active-learning run (no '
                         f'{WorkDir.RUN_RECORD}); pass the --work-dir of a '
                         'run of tools/al_train.py')
    al = (
        read_record(files.run_record, ('config', ))['config'].get('al') or {})
    n = int(al.get('num_cycles', 1))
    n_acq = n - (0 if al.get('acquire_after_last') else 1)
    times = StepTimes()
    cycle = step = since = None
    detail = ''
    prev_done = _mtime(files.run_record)
    for k in range(n):
        cdir = files.cycle(k)
        ckpt = _json(cdir.checkpoint)
        if not cdir.has_split:
            cycle, step, since = k, 'acquire', prev_done
            detail = 'making the initial split' if k == 0 else ''
            break
        if ckpt is None:
            cycle, step, since = k, 'train', prev_done
            detail = _training_detail(cdir)
            break
        times.train[k] = (ckpt.get('train_s'), _labeled_images(cdir))
        prev_done = _mtime(cdir.checkpoint)
        metrics = _json(cdir.metrics)
        if metrics is None:
            cycle, step, since = k, 'evaluate', prev_done
            break
        times.evaluate[k] = metrics.get('test_s')
        prev_done = _mtime(cdir.metrics)
        if k >= n_acq:
            continue
        ndir = files.cycle(k + 1)
        sel = _json(ndir.selected)
        if sel is None:
            cycle, step, since = k, 'acquire', prev_done
            detail = _pass_detail(cdir)
            break
        t = sel.get('timings') or {}
        spent = [
            t[key] for key in ('inference_s', 'selection_s')
            if t.get(key) is not None
        ]
        times.acquire[k] = sum(spent) if spent else None
        prev_done = _mtime(ndir.selected)
        if not ndir.has_split:
            cycle, step, since = k, 'annotate', prev_done
            waiting = osp.exists(ndir.to_annotate) and not osp.exists(
                ndir.file(CycleDir.ANNOTATED))
            detail = (f'waiting for annotations: {ndir.to_annotate}'
                      if waiting else 'revealing the selected images')
            break
    results = _json(files.results_json)
    rows = (results or {}).get('cycles') or []
    owner = _owner(files)
    status = RunStatus(files.root, n, n_acq, cycle, step, since, detail, owner,
                       rows[-1] if rows else None, None, times)
    status.eta_s = _eta(status, files, now)
    return status


def _eta(s: RunStatus, files: WorkDir, now: float) -> Optional[float]:
    """Seconds left: each remaining training at the newest measured seconds
    per labeled image (both schedules grow with the labeled set), each
    evaluation and acquisition at the mean of the measured ones; the step
    in progress of a live loop less the time it has run (a stopped run
    starts it again). None before a training and a test finished."""
    if s.finished:
        return 0.0
    per_img = [t / i for t, i in s.times.train.values() if t and i
               ]  # cycles whose model was given have no training time
    if not per_img or not s.times.evaluate:
        return None
    rate = per_img[-1]
    ev = _mean(s.times.evaluate.values())
    acq = _mean(s.times.acquire.values()) or 0.0
    labeled0 = _labeled_images(files.cycle(0)) or 0
    grown = [
        _labeled_images(files.cycle(k)) for k in sorted(s.times.train) if k > 0
    ]
    step_imgs = ((grown[-1] - labeled0) / len(grown)) if grown else None
    left = 0.0
    for k in range(s.cycle, s.num_cycles):
        imgs = _labeled_images(files.cycle(k))
        if imgs is None and step_imgs is not None:
            imgs = labeled0 + k * step_imgs
        steps = ['train', 'evaluate'
                 ] + (['acquire'] if k < s.num_acquisitions else [])
        if k == s.cycle:
            steps = steps[steps.index(s.step):] if s.step in steps else []
        for st in steps:
            est = dict(train=rate * (imgs or 0), evaluate=ev, acquire=acq)[st]
            if k == s.cycle and st == s.step and s.step_since and s.owner:
                est = max(0.0, est - (now - s.step_since))
            left += est
    return left


def _duration(s: Optional[float]) -> str:
    if s is None:
        return 'unknown'
    s = int(round(s))
    h, m, sec = s // 3600, s % 3600 // 60, s % 60
    return (f'{h} h {m:02d} min'
            if h else f'{m} min {sec:02d} s' if m else f'{sec} s')


def format_status(s: RunStatus, now: Optional[float] = None) -> str:
    """The lines ``tools/al_status.py`` prints."""
    now = time.time() if now is None else now
    state = f'running ({s.owner})' if s.owner else (
        'finished' if s.finished else 'stopped (no loop holds it)')
    out = [f'{s.work_dir}: {state}']
    if s.finished:
        out.append(f'all {s.num_cycles} cycles done')
    else:
        since = (f', {_duration(now - s.step_since)} in'
                 if s.step_since and s.owner else '')
        detail = f': {s.detail}' if s.detail else ''
        out.append(f'cycle {s.cycle} of {s.num_cycles} (0-based), '
                   f'step {s.step}{detail}{since}')
    if s.last:
        r = s.last
        metrics = ', '.join(f'{k} {r[k]:.3f}' for k in ('bbox_AP', 'bbox_AP50',
                                                        'bbox_AP75', 'voc_mAP')
                            if r.get(k) is not None)
        out.append(f'last metrics (cycle {r["cycle"]}, {r["labeled_images"]} '
                   f'images, {r["labeled_boxes"]} boxes): {metrics or "-"}')
    steps = []
    for name, per in (('train', s.times.train), ('evaluate', s.times.evaluate),
                      ('acquire', s.times.acquire)):
        vals = [v[0] if isinstance(v, tuple) else v for v in per.values()]
        vals = [v for v in vals if v]
        if vals:
            steps.append(f'{name} {_duration(vals[-1])}')
    if steps:
        out.append('newest step times: ' + ', '.join(steps))
    if not s.finished:
        out.append(f'time left (estimate): {_duration(s.eta_s)}')
    return '\n'.join(out)


def status_lines(work_dirs: List[str]) -> str:
    """:func:`format_status` of several work dirs."""
    return '\n\n'.join(format_status(read_status(w)) for w in work_dirs)
