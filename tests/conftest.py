import os
import os.path as osp
import subprocess
import tempfile

import pytest

from mmal.testing import make_toy_benchmark, refusal_table
from mmal.utils.file_lock import file_lock
from mmal.utils.setup_env import register_all_modules


@pytest.fixture(scope='session', autouse=True)
def mmal_modules():
    register_all_modules(init_default_scope=True)


@pytest.fixture(scope='session', autouse=True)
def refusals():
    """After the session: the bad-input table of docs/config.md says what
    the refusal tests got (``MMAL_WRITE_REFUSALS=1``: rewrite its rows)."""
    yield
    rows = refusal_table.recorded()
    mode = os.environ.get('MMAL_WRITE_REFUSALS')
    if not rows:
        return
    if mode:
        assert mode != 'rebuild' or not os.environ.get(
            'PYTEST_XDIST_WORKER'), (
                'MMAL_WRITE_REFUSALS=rebuild needs one test process (-n 0): '
                'a worker does not know the rows of the others')
        # workers merge their rows into the table one at a time
        with file_lock(
                osp.join(tempfile.gettempdir(), 'mmal-refusal-table.lock')):
            refusal_table.write_table(
                refusal_table.DOC, rows, rebuild=mode == 'rebuild')
        return
    diffs = refusal_table.differences(refusal_table.DOC, rows)
    assert not diffs, (
        'the bad-input table of docs/config.md differs from what the tests '
        'got; re-run these tests with MMAL_WRITE_REFUSALS=1 to rewrite it:\n' +
        '\n'.join(diffs))


@pytest.fixture(scope='session', autouse=True)
def mmal_cache(tmp_path_factory):
    """mmal's caches (checked image headers) in a folder of the test
    session, for this process and the ones it starts."""
    old = os.environ.get('MMAL_CACHE_DIR')
    os.environ['MMAL_CACHE_DIR'] = str(tmp_path_factory.mktemp('cache'))
    yield
    if old is None:
        os.environ.pop('MMAL_CACHE_DIR')
    else:
        os.environ['MMAL_CACHE_DIR'] = old


@pytest.fixture(scope='session')
def toy_root(tmp_path_factory):
    """A small toy dataset (16 train / 8 val images) shared by the tests."""
    root = tmp_path_factory.mktemp('toy')
    make_toy_benchmark(str(root), num_train=16, num_val=8, seed=0)
    return str(root)


@pytest.fixture
def mount(tmp_path):
    """Mount file systems for a test (a small tmpfs, a read-only bind);
    skips the test where this machine does not let the user mount.

    ``mount('tmpfs', size='64k')`` or ``mount('ro', source=folder)``
    returns the mount point; every mount is undone after the test.
    """
    points = []

    def _mount(kind, size='1m', source=None):
        point = tmp_path / f'mnt{len(points)}'
        point.mkdir()
        if kind == 'tmpfs':
            cmds = [[
                'mount', '-t', 'tmpfs', '-o', f'size={size}', 'tmpfs',
                str(point)
            ]]
        else:
            cmds = [['mount', '--bind',
                     str(source), str(point)],
                    ['mount', '-o', 'remount,bind,ro',
                     str(point)]]
        for i, cmd in enumerate(cmds):
            try:
                r = subprocess.run(cmd, capture_output=True, text=True)
            except OSError as e:
                r = subprocess.CompletedProcess(cmd, 1, '', str(e))
            if r.returncode:
                if i:
                    subprocess.run(['umount', str(point)])
                pytest.skip(f'cannot mount here ({r.stderr.strip()})')
        points.append(point)
        return point

    yield _mount
    for point in reversed(points):
        subprocess.run(['umount', '-l', str(point)], capture_output=True)
