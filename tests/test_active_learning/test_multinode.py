"""tools/al_train.sh as 2 nodes x 1 process on this machine (two torchrun
agents rendezvousing over loopback, gloo on CPU, one shared work dir)
acquires exactly what the 1-process loop acquires, and so does the same
command re-run after one node was SIGKILLed in the middle of the pool
pass."""
import os.path as osp
import shutil
import subprocess
import time

import numpy as np

from mmal.active_learning.summary_store import SummaryStore
from mmal.active_learning.work_dir import CycleDir, WorkDir
from mmal.testing.loopback import free_port, kill_tree, node_env
from .al_helpers import PY, REPO, env
from .conftest import read_json

NODES = (0, 1)
# A shard every 2 images: a node killed mid-pass leaves complete shards.
SMALL_SHARDS = ('--cfg-options', 'al.acquisition.shard_size=2')


def _before_acquisition(ref, work):
    """A copy of the finished 1-process run ``ref`` with cycle 0's
    acquisition still to do: cycle 1's split and cycle 0's summaries are
    left out (the documented way to redo an acquisition), cycle 1's
    training and evaluation are kept (their checkpoints, named by absolute
    path, stay in ``ref``), so that a re-run only acquires."""

    def ignore(folder, names):
        drop = {CycleDir.TRAIN, CycleDir.TEST, CycleDir.ACQUISITION}
        if osp.basename(folder) == 'cycle_1':
            drop |= {CycleDir.SELECTED, CycleDir.LABELED, CycleDir.UNLABELED}
        return drop & set(names)

    shutil.copytree(ref, work, ignore=ignore)
    return WorkDir(work)


def _start_nodes(config, work):
    """``NNODES=2 NODE_RANK=<n> ... tools/al_train.sh CONFIG 1`` for both
    nodes, each in its own process group, output added to
    ``node<n>.log``."""
    port, procs = free_port(), []
    for node in NODES:
        e = dict(env(), MMAL_PYTHON=PY, **node_env(len(NODES), node, port))
        with open(osp.join(osp.dirname(work.root), f'node{node}.log'),
                  'a') as log:
            procs.append(
                subprocess.Popen([
                    'bash',
                    osp.join(REPO, 'tools', 'al_train.sh'), config, '1',
                    '--work-dir', work.root, *SMALL_SHARDS
                ],
                                 env=e,
                                 stdout=log,
                                 stderr=subprocess.STDOUT,
                                 cwd=REPO,
                                 start_new_session=True))
    return procs


def _log_tail(work, node):
    with open(osp.join(osp.dirname(work.root), f'node{node}.log')) as f:
        return f.read()[-3000:]


def _kill(proc):
    """SIGKILL a node: its torchrun agent and the agent's workers."""
    if proc.poll() is None:
        kill_tree(proc.pid)
    proc.wait()


def _wait(procs, work, timeout=300):
    """The exit status of each node (both are killed past ``timeout``)."""
    deadline = time.time() + timeout
    try:
        return [p.wait(max(deadline - time.time(), 1)) for p in procs]
    except subprocess.TimeoutExpired:
        raise AssertionError('2-node run did not end:\n' +
                             '\n'.join(_log_tail(work, n)
                                       for n in NODES)) from None
    finally:
        for p in procs:
            _kill(p)


def _run_nodes(config, work):
    procs = _start_nodes(config, work)
    codes = _wait(procs, work)
    for node, code in zip(NODES, codes):
        assert code == 0, f'node {node} failed ({code}):\n' + _log_tail(
            work, node)


def _assert_one_process_selection(work, ref):
    """Cycle 1's split files of the 2-node run are the 1-process run's."""
    for name in (CycleDir.LABELED, CycleDir.UNLABELED):
        assert read_json(work.cycle(1).file(name)) == read_json(
            ref, 'cycle_1', name)
    a = read_json(work.cycle(1).selected)
    b = read_json(ref, 'cycle_1', CycleDir.SELECTED)
    assert a['image_ids'] == b['image_ids']
    np.testing.assert_allclose(a['scores'], b['scores'], rtol=0, atol=1e-5)
    assert a['checkpoint_sha256'] == b['checkpoint_sha256']
    # every unlabeled image scored exactly once, by both nodes' ranks
    store = SummaryStore(work.cycle(0).acquisition_dir)
    unlabeled = sorted(i['id']
                       for i in read_json(work.cycle(0).unlabeled)['images'])
    assert sorted(store.read()) == unlabeled  # raises on repeats
    assert store.shard_paths(0) and store.shard_paths(1)


def test_two_nodes_select_what_one_process_selects(al_run, tmp_path):
    config, ref = al_run
    work = _before_acquisition(ref, tmp_path / 'work')
    _run_nodes(config, work)
    _assert_one_process_selection(work, ref)


def test_node_killed_mid_pass_resumes_to_the_same_selection(al_run, tmp_path):
    config, ref = al_run
    work = _before_acquisition(ref, tmp_path / 'work')
    store = SummaryStore(work.cycle(0).acquisition_dir)
    procs = _start_nodes(config, work)
    try:
        t0 = time.time()
        while not store.shard_paths(1):  # node 1's first complete shard
            assert all(p.poll() is None for p in procs), '\n'.join(
                _log_tail(work, n) for n in NODES)
            assert time.time() - t0 < 300, 'node 1 wrote no shard'
            time.sleep(0.02)
        _kill(procs[1])
        # node 0 fails at its next collective (its peer is gone) and
        # commits nothing
        assert _wait(procs[:1], work, timeout=120) != [0]
    finally:
        for p in procs:
            _kill(p)
    assert not work.cycle(1).has_split
    scored = store.scored_ids()
    assert 0 < scored.size < len(read_json(work.cycle(0).unlabeled)['images'])
    kept = {p: np.load(osp.join(p, 'ids.npy')) for p in store.shard_paths()}
    # the same command again: both nodes resume the pass
    _run_nodes(config, work)
    _assert_one_process_selection(work, ref)
    for path, ids in kept.items():  # not scored again
        np.testing.assert_array_equal(np.load(osp.join(path, 'ids.npy')), ids)
