"""Per-cycle numbers reach the configured experiment trackers as one run
(step = labeled images), once per cycle also across resumes; and
``tools/al_status.py`` tells where a run stands."""
import glob
import json
import os
import os.path as osp
import shutil
import socket
import subprocess

import pytest
from mmengine.config import Config

from mmal.active_learning import SplitError
from mmal.active_learning.run_status import format_status, read_status
from mmal.active_learning.tracking import (ExperimentTracker, check_backends,
                                           row_scalars)
from mmal.testing.refusal_table import refused
from .al_helpers import PY, REPO, al_train, env
from .conftest import read_json


def tensorboard_scalars(folder):
    """{tag: [(step, value), ...]} of every event file under ``folder``."""
    from tensorboard.backend.event_processing.event_accumulator import \
        EventAccumulator
    out = {}
    for path in sorted(
            glob.glob(osp.join(folder, '**', 'events.out.*'), recursive=True)):
        acc = EventAccumulator(path)
        acc.Reload()
        for tag in acc.Tags()['scalars']:
            out.setdefault(tag, []).extend(
                (e.step, e.value) for e in acc.Scalars(tag))
    return out


def test_the_loop_tracks_every_cycle_in_tensorboard(al_run):
    _, work = al_run
    rows = read_json(work, 'results.json')['cycles']
    tb = tensorboard_scalars(osp.join(work, 'tracking'))
    steps = [r['labeled_images'] for r in rows]
    assert steps == [10, 20]
    assert tb['al/bbox_AP'] == [(s, pytest.approx(r['bbox_AP'], abs=1e-6))
                                for s, r in zip(steps, rows)]
    assert [s for s, _ in tb['al/labeled_boxes']] == steps
    assert [v for _, v in tb['al/labeled_boxes']
            ] == [r['labeled_boxes'] for r in rows]
    # the first cycle's selection: 10 images and their scores
    sel = read_json(work, 'cycle_1', 'selected.json')
    assert tb['selection/images'] == [(10, 10.0)]
    assert tb['selection/score_max'][0][1] == pytest.approx(
        max(sel['scores']), rel=1e-6)
    per_class = [t for t in tb if t.startswith('al_per_class/')]
    assert per_class, 'per-class AP is tracked'
    # one tracked run: the trainings of the cycles log locally only
    assert not glob.glob(
        osp.join(work, 'cycle_*', '**', 'events.out.*'), recursive=True)
    assert read_json(work, 'tracking', 'sent.json')['cycles'] == [0, 1]


def test_a_resumed_run_sends_no_cycle_twice(al_run, tmp_path):
    config, work = al_run
    copy = str(tmp_path / 'work')
    shutil.copytree(work, copy)
    sent = read_json(copy, 'tracking', 'sent.json')
    al_train(config, copy)  # every step done: the results are reported
    assert read_json(copy, 'tracking', 'sent.json') == sent
    tb = tensorboard_scalars(osp.join(copy, 'tracking'))
    assert [s for s, _ in tb['al/bbox_AP']] == [10, 20]


def test_the_tracker_sends_complete_rows_once(tmp_path):
    rows = [
        dict(
            cycle=0,
            labeled_images=5,
            labeled_boxes=9,
            bbox_AP=0.25,
            AP_cat=0.5,
            AP_dog=-1.0)
    ]
    backends = [dict(type='LocalVisBackend')]
    tracker = ExperimentTracker(backends, str(tmp_path), 'exp')
    assert tracker.send(rows, [False]) == []  # acquisition still to come
    assert tracker.send(rows, [True]) == [0]
    assert tracker.send(rows, [True]) == []
    tracker.close()
    scalars = str(tmp_path / 'tracking' / 'scalars.json')
    lines = [json.loads(x) for x in open(scalars)]
    assert len(lines) == 1 and lines[0]['step'] == 5
    assert lines[0]['al/bbox_AP'] == 0.25
    assert lines[0]['al_per_class/cat'] == 0.5
    assert 'al_per_class/dog' not in lines[0]  # no ground truth: -1
    assert row_scalars(dict(cycle=3, bbox_AP=None)) == {}


def test_an_unknown_tracker_is_refused():
    cfg = Config(dict(visualizer=dict(vis_backends=[dict(type='Tensorbord')])))
    with refused(SplitError, r"vis_backends\[0\].type 'Tensorbord' is not a "
                 'registered', 'visualizer.vis_backends type unknown'):
        check_backends(cfg, 'cfg.py')


def status(work_dir, *args):
    return subprocess.run(
        [PY, osp.join(REPO, 'tools', 'al_status.py'), work_dir, *args],
        env=env(),
        capture_output=True,
        text=True)


def test_al_status_of_a_finished_and_an_interrupted_run(al_run, tmp_path):
    _, work = al_run
    proc = status(work)
    assert proc.returncode == 0, proc.stderr
    assert 'finished' in proc.stdout and 'all 2 cycles done' in proc.stdout
    assert 'last metrics (cycle 1, 20 images' in proc.stdout
    copy = str(tmp_path / 'work')
    shutil.copytree(work, copy)
    for name in ('checkpoint.json', 'metrics.json'):
        os.remove(osp.join(copy, 'cycle_1', name))
    s = read_status(copy)
    assert (s.cycle, s.step, s.owner) == (1, 'train', None)
    train0, imgs0 = s.times.train[0]
    assert imgs0 == 10
    # what is left: cycle 1's training at cycle 0's seconds per image
    # (20 images) and its evaluation
    assert s.eta_s == pytest.approx(
        train0 / 10 * 20 + s.times.evaluate[0], rel=0.05, abs=1)
    assert 'stopped' in format_status(s)
    # a live loop holds the lock: its record names this host and a live pid
    with open(osp.join(copy, 'run.lock'), 'w') as f:
        json.dump(
            dict(
                host=socket.gethostname(),
                pid=os.getpid(),
                started='2026-01-01T00:00:00'), f)
    s = read_status(copy)
    assert s.owner == f'{socket.gethostname()}, pid {os.getpid()}'
    assert 'cycle 1 of 2 (0-based), step train' in format_status(s)
    proc = status(copy, '--json')
    assert json.loads(proc.stdout)[0]['step'] == 'train'


def test_al_status_refuses_a_folder_without_a_run(tmp_path):
    proc = status(str(tmp_path))
    assert proc.returncode == 2
    assert 'holds no active-learning run (no run.json)' in proc.stderr
