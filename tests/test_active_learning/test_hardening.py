"""Hardening: one loop per work dir, damaged loop files and checkpoints are
one-line refusals that name the file, and nothing is lost on a refusal."""
import json
import os
import os.path as osp
import pickle
import re
import shutil
import signal
import socket
import subprocess
import textwrap
import time

import pytest
import torch
from mmengine.config import Config

from mmal.active_learning import SplitError
from mmal.active_learning.detector import build_detector
from mmal.active_learning.run_lock import RunLock
from mmal.testing.refusal_table import record, refused
from mmal.utils.checkpoint import (CheckpointError, MissingCheckpointError,
                                   UnsafeCheckpointError,
                                   check_checkpoint_safe,
                                   load_checkpoint_safely)
from .al_helpers import PY, REPO, al_train, env, write_config

HOLD = textwrap.dedent('''
    import os, sys, time
    from mmal.active_learning.run_lock import RunLock
    from mmal.active_learning import SplitError
    lock_path, ready, go, hold = sys.argv[1:5]
    open(ready, 'w').close()
    while not all(os.path.exists(p) for p in go.split(',')):
        time.sleep(0.001)
    lock = RunLock(lock_path)
    try:
        lock.acquire()
        print('got', flush=True)
        time.sleep(float(hold))
        lock.release()
    except SplitError as e:
        print('refused', e, flush=True)
''')


def _holders(tmp_path, lock, n, hold):
    script = tmp_path / 'hold.py'
    script.write_text(HOLD)
    ready = [str(tmp_path / f'ready{i}') for i in range(n)]
    return [
        subprocess.Popen(
            [PY, str(script), lock, ready[i], ','.join(ready),
             str(hold)],
            stdout=subprocess.PIPE,
            text=True,
            env=env(),
            cwd=REPO) for i in range(n)
    ]


def test_of_two_loops_started_together_exactly_one_gets_the_lock(tmp_path):
    lock = str(tmp_path / 'work' / 'run.lock')
    outs = [
        p.communicate(timeout=300)[0] for p in _holders(tmp_path, lock, 2, 3)
    ]
    assert sorted(o.split()[0] for o in outs) == ['got', 'refused']
    refused = next(o for o in outs if o.startswith('refused'))
    # the message names the owner: host, pid and start time
    assert f'host {socket.gethostname()}, pid ' in refused
    assert 'started 20' in refused and 'use another --work-dir' in refused
    assert not osp.exists(lock)  # released: nothing left behind


def test_a_lock_left_by_a_killed_run_is_taken_over(tmp_path):
    lock = str(tmp_path / 'run.lock')
    proc, = _holders(tmp_path, lock, 1, 600)
    while not osp.exists(lock) or not open(lock).read():
        time.sleep(0.05)
    with pytest.raises(SplitError, match=f'pid {proc.pid}'):
        RunLock(lock).acquire()
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert osp.exists(lock)  # stale: the file stays, the lock does not
    mine = RunLock(lock)
    assert mine.acquire()
    assert json.load(open(lock))['pid'] == os.getpid()
    mine.release()
    assert not osp.exists(lock)


def test_the_loop_refuses_a_work_dir_in_use(al_run, tmp_path):
    config, work = al_run
    copy = tmp_path / 'work'
    shutil.copytree(work, copy)
    before = _snapshot(copy)
    held = RunLock(str(copy / 'run.lock'))
    assert held.acquire()
    try:
        proc = al_train(config, copy, check=False)
    finally:
        held.release()
    assert proc.returncode == 2, proc.stderr[-2000:]
    assert f'pid {os.getpid()}' in proc.stderr
    assert 'Traceback' not in proc.stderr
    record('a work dir another loop is running in', _last_line(proc))
    assert _snapshot(copy) == before


def _last_line(proc):
    return proc.stderr.strip().splitlines()[-1]


def _snapshot(root):
    out = {}
    for d, _, files in os.walk(root):
        for f in files:
            p = osp.join(d, f)
            out[osp.relpath(p, root)] = open(p, 'rb').read()
    return out


@pytest.mark.parametrize(
    'name', ['run.json', 'cycle_0/checkpoint.json', 'cycle_1/metrics.json'])
def test_a_damaged_loop_file_is_named_with_how_to_recover(
        al_run, tmp_path, name):
    config, work = al_run
    copy = tmp_path / 'work'
    shutil.copytree(work, copy)
    path = copy / name
    path.write_bytes(path.read_bytes()[:7])  # truncated by hand
    before = _snapshot(copy)
    proc = al_train(config, copy, check=False)
    assert proc.returncode == 2, proc.stderr[-2000:]
    assert 'Traceback' not in proc.stderr
    assert f'{path} is damaged' in proc.stderr
    assert 'delete it and re-run' in proc.stderr
    record(f'{name} damaged', _last_line(proc))
    assert _snapshot(copy) == before


def test_a_damaged_label_map_is_named(al_run, tmp_path):
    from mmal.active_learning import Pool, update_label_map
    config, work = al_run
    copy = tmp_path / 'work'
    shutil.copytree(work, copy)
    (copy / 'label_map.json').write_text('{"pool": "x", "labeled_in')
    cfg = Config.fromfile(config)
    pool = Pool(osp.join(cfg.data_root, cfg.train_dataloader.dataset.ann_file))
    with refused(
            SplitError, r'label_map.json is damaged .*delete it and '
            're-run: it is rebuilt', 'label_map.json damaged'):
        update_label_map(str(copy), pool, pool.ids[:0], pool.ids[:1], 1)


# -- checkpoints ----------------------------------------------------------
def _checkpoints(tmp_path, good):
    data = open(good, 'rb').read()
    (tmp_path / 'truncated.pth').write_bytes(data[:len(data) // 2])
    ckpt = torch.load(good, weights_only=False)
    torch.save(
        ckpt, tmp_path / 'legacy.pth', _use_new_zipfile_serialization=False)
    with open(tmp_path / 'raw.pkl', 'wb') as f:
        pickle.dump({'state_dict': {}}, f)
    marker = tmp_path / 'PWNED'

    class Evil:

        def __reduce__(self):
            return (os.system, (f'touch {marker}', ))

    with open(tmp_path / 'evil.pkl', 'wb') as f:
        pickle.dump(Evil(), f)
    # another class count, no dataset_meta
    state = {
        k: (v[:3] if 'fc_cls' in k or 'fc_reg' in k else v)
        for k, v in ckpt['state_dict'].items()
    }
    torch.save({'state_dict': state}, tmp_path / 'classes.pth')
    return marker


def test_bad_checkpoints_are_one_line_refusals(al_run, tmp_path):
    config, work = al_run
    good = json.load(open(osp.join(work, 'cycle_1',
                                   'checkpoint.json')))['checkpoint']
    marker = _checkpoints(tmp_path, good)
    with refused(MissingCheckpointError, 'nope.pth can not be',
                 'checkpoint missing'):
        check_checkpoint_safe(str(tmp_path / 'nope.pth'))
    for fn in (check_checkpoint_safe, load_checkpoint_safely):
        with refused(CheckpointError, 'truncated.pth is not a complete torch',
                     f'checkpoint truncated ({fn.__name__})'):
            fn(str(tmp_path / 'truncated.pth'))
        # plain pickles: refused by the weights-only unpickler, unread
        for name, what in (('raw.pkl', 'a plain pickle'),
                           ('evil.pkl', 'a pickle that runs code')):
            with refused((CheckpointError, UnsafeCheckpointError),
                         f'checkpoint .*{name}',
                         f'checkpoint that is {what} ({fn.__name__})'):
                fn(str(tmp_path / name))
    assert not marker.exists()  # nothing of the file was executed
    cfg = Config.fromfile(config)
    from mmal.utils.setup_env import register_all_modules
    register_all_modules(init_default_scope=True)
    classes = cfg.train_dataloader.dataset.metainfo['classes']
    # the legacy (non-zip) torch format loads (weights only)
    build_detector(cfg, str(tmp_path / 'legacy.pth'), classes)
    with refused(
            SplitError, r'classes.pth.*does not fit the config.s '
            r'model: .*fc_cls.weight.*another number of classes',
            'checkpoint of another number of classes, no dataset_meta'):
        build_detector(cfg, str(tmp_path / 'classes.pth'), classes)
    # through the command line: exit 2, one line, nothing written
    cdir = tmp_path / 'run' / 'cycle_1'
    shutil.copytree(
        osp.join(work, 'cycle_1'),
        cdir,
        ignore=lambda d, f:
        [x for x in f if x in ('acquisition', 'train', 'test')])
    before = _snapshot(tmp_path / 'run')
    for name in ('truncated.pth', 'evil.pkl', 'classes.pth', 'nope.pth'):
        proc = subprocess.run([
            PY,
            osp.join(REPO, 'tools', 'acquire.py'), config,
            str(tmp_path / name), '--cycle-dir',
            str(cdir)
        ],
                              env=env(),
                              capture_output=True,
                              text=True,
                              cwd=REPO)
        assert proc.returncode == 2, proc.stderr[-2000:]
        assert 'Traceback' not in proc.stderr and name in proc.stderr
        record(f'tools/acquire.py with checkpoint {name} (exit 2)',
               _last_line(proc))
        assert _snapshot(tmp_path / 'run') == before


def test_a_rerun_removes_the_leftovers_of_killed_writes(al_run, tmp_path):
    config, work = al_run
    copy = tmp_path / 'work'
    shutil.copytree(work, copy)
    leftovers = [
        copy / '.label_map.json.x1.tmp',
        copy / 'cycle_1' / '.labeled.json.x2.tmp'
    ]
    for p in leftovers:
        p.write_text('{"half')
    al_train(config, copy)
    assert not any(p.exists() for p in leftovers)
    assert (copy / 'cycle_1' / 'labeled.json').exists()


def test_al_train_sh_runs_mmal_python_and_bad_paths_are_one_line(tmp_path):
    fake = tmp_path / 'python'
    fake.write_text('#!/bin/sh\necho "fake python: $*"\n')
    fake.chmod(0o755)
    proc = subprocess.run(
        ['bash', osp.join(REPO, 'tools', 'al_train.sh'), 'cfg.py', '1'],
        env=dict(env(), MMAL_PYTHON=str(fake)),
        capture_output=True,
        text=True)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith('fake python: ')
    assert 'al_train.py cfg.py --launcher none' in proc.stdout
    missing = tmp_path / 'nope.py'
    proc = al_train(missing, tmp_path / 'work', check=False)
    assert proc.returncode == 2
    assert f"config '{missing}' does not exist" in proc.stderr
    assert 'Traceback' not in proc.stderr
    record('a config path that does not exist', _last_line(proc))
    assert not (tmp_path / 'work').exists()


def test_a_full_disk_while_saving_a_checkpoint_is_one_line(
        al_data, tmp_path, mount):
    disk = mount('tmpfs', size='8m')  # the splits fit; a checkpoint does not
    config = write_config(tmp_path / 'cfg.py', al_data, epochs=1)
    proc = al_train(config, disk / 'work', check=False)
    assert proc.returncode == 4, proc.stderr[-3000:]
    assert 'Traceback' not in proc.stderr
    line = proc.stderr.strip().splitlines()[-1]
    assert line.startswith('[mmal al] error: the disk is full while saving '
                           f"the checkpoints of training in '{disk}/work/")
    assert re.search(
        r"/train' \([\d.]+ (B|KiB) free, it needs about "
        r'\d+\.\d MiB\)', line), line
    record('a full disk while saving a checkpoint (exit 4)', line)
    for name in ('run.json', 'cycle_0/labeled.json'):
        json.loads((disk / 'work' / name).read_text())  # intact


def test_a_read_only_finished_run_prints_its_results(al_run, tmp_path, mount):
    config, work = al_run
    ro = mount('ro', source=work)
    before = _snapshot(ro)
    proc = al_train(config, ro)
    assert f'{ro} is read-only: results printed, not written' in proc.stdout
    assert '| cycle |' in proc.stdout or 'cycle' in proc.stdout
    assert 'Traceback' not in proc.stderr
    assert _snapshot(ro) == before


def _default_sigint():
    # Ctrl-C as in a terminal: a test runner's worker may have SIGINT
    # ignored, which its children would inherit
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def test_ctrl_c_ends_the_loop_with_one_line(al_run, tmp_path):
    config, _ = al_run
    work = tmp_path / 'work'
    proc = subprocess.Popen([
        PY,
        osp.join(REPO, 'tools', 'al_train.py'), config, '--work-dir',
        str(work)
    ],
                            env=env(),
                            stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE,
                            text=True,
                            cwd=REPO,
                            start_new_session=True,
                            preexec_fn=_default_sigint)
    t0 = time.time()
    while not (work / 'cycle_0' / 'labeled.json').exists():  # then it trains
        assert proc.poll() is None and time.time() - t0 < 300
        time.sleep(0.02)
    time.sleep(1)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err[-1500:] + '\n'.join(
        ln for ln in err.splitlines() if 'Error' in ln or 'Interrupt' in ln)
    assert 'Traceback' not in err
    assert err.strip().splitlines()[-1] == (
        '[mmal al] interrupted: re-run the same command to resume')
    assert not (work / 'run.lock').exists()  # the lock is let go
