"""``mmal.utils.fileio``: the one atomic writer, and the light
``mmal.utils`` package."""
import json
import os
import stat
import subprocess
import sys

import numpy as np
import pytest

from mmal.utils.fileio import (atomic_open, atomic_write_json,
                               atomic_write_text, remove_leftovers)


def test_atomic_write_text_and_json(tmp_path):
    path = tmp_path / 'sub' / 'out.txt'
    atomic_write_text('héllo\n', str(path))  # creates the folder
    assert path.read_text() == 'héllo\n'
    atomic_write_json(dict(b=1, a=[1, 2]), str(path), indent=2)
    assert path.read_text() == json.dumps(dict(b=1, a=[1, 2]), indent=2)
    assert os.listdir(path.parent) == ['out.txt']  # no temporary left


def test_atomic_open_binary(tmp_path):
    path = str(tmp_path / 'a.npz')
    with atomic_open(path, 'wb') as f:
        np.savez(f, x=np.arange(3))
    with np.load(path) as npz:
        np.testing.assert_array_equal(npz['x'], [0, 1, 2])


def test_error_leaves_target_untouched(tmp_path):
    path = tmp_path / 'out.json'
    path.write_text('old')
    with pytest.raises(RuntimeError, match='boom'):
        with atomic_open(str(path)) as f:
            f.write('new, partial')
            raise RuntimeError('boom')
    assert path.read_text() == 'old'
    # Serialised before the file is touched: nothing is written.
    with pytest.raises(TypeError):
        atomic_write_json({'x': {1, 2}}, str(path))
    assert path.read_text() == 'old'
    assert os.listdir(tmp_path) == ['out.json']


@pytest.mark.parametrize('module', [
    'mmal.utils', 'mmal.utils.fileio', 'mmal.utils.file_lock',
    'mmal.utils.safe_unpickler'
])
def test_light_modules_do_not_import_torch(module):
    """Writing files, locking and reading foreign pickles need no
    deep-learning stack: these modules import neither torch nor mmengine."""
    code = (f'import sys, {module}; '
            'print(sorted(m for m in ("torch", "mmengine", "mmdet", "mmcv") '
            'if m in sys.modules))')
    out = subprocess.run([sys.executable, '-c', code],
                         capture_output=True,
                         text=True,
                         timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == '[]'


@pytest.mark.parametrize('umask,mode', [(0o022, 0o644), (0o077, 0o600),
                                        (0o002, 0o664)])
def test_atomic_files_get_the_mode_open_would_give(tmp_path, umask, mode):
    old = os.umask(umask)
    try:
        atomic_write_text('x', str(tmp_path / 'a.txt'))
        with open(tmp_path / 'b.txt', 'w') as f:
            f.write('x')
    finally:
        os.umask(old)
    assert stat.S_IMODE(os.stat(tmp_path / 'a.txt').st_mode) == mode
    assert stat.S_IMODE(os.stat(tmp_path / 'b.txt').st_mode) == mode


def test_remove_leftovers_removes_only_temporary_files(tmp_path):
    (tmp_path / 'sub').mkdir()
    keep = [tmp_path / 'labeled.json', tmp_path / '.hidden']
    gone = [tmp_path / '.labeled.json.abc.tmp', tmp_path / 'sub' / '.x.tmp']
    for p in keep + gone:
        p.write_text('x')
    assert remove_leftovers(str(tmp_path)) == 2
    assert all(p.exists() for p in keep)
    assert not any(p.exists() for p in gone)
