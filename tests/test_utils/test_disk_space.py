"""A full disk is one error naming the path, its free space and about how
much was needed; the file or shard being written is not left half-written
and what was there before is kept (on a real, small tmpfs)."""
import errno
import json
import os
import re

import numpy as np
import pytest

from mmal.active_learning.summary_store import SummaryStore, write_shard
from mmal.utils.disk_space import DiskFullError, is_disk_full, nbytes
from mmal.utils.fileio import atomic_write_json


def test_what_counts_as_a_full_disk():
    assert is_disk_full(OSError(errno.ENOSPC, 'No space left on device'))
    assert is_disk_full(OSError(errno.EDQUOT, 'Disk quota exceeded'))
    # torch.save's zip writer on a full disk
    assert is_disk_full(
        RuntimeError('[enforce fail at inline_container.cc:672] . '
                     'unexpected pos 576 vs 534'))
    try:
        try:
            raise OSError(errno.ENOSPC, 'full')
        except OSError as e:
            raise RuntimeError('while saving') from e
    except RuntimeError as chained:
        assert is_disk_full(chained)
    # numpy's ndarray.tofile
    assert is_disk_full(OSError('65536 requested and 60384 written'))
    assert not is_disk_full(OSError(errno.EACCES, 'Permission denied'))
    assert not is_disk_full(RuntimeError('size mismatch'))


def test_nbytes_counts_nested_tensors_and_arrays():
    torch = pytest.importorskip('torch')
    state = dict(a=torch.zeros(10), b=[np.zeros(3, np.float16), 'x'])
    assert nbytes(state) == 40 + 6


def test_a_json_too_big_for_the_disk_keeps_the_old_file(mount):
    disk = mount('tmpfs', size='64k')
    path = disk / 'labeled.json'
    atomic_write_json(dict(ok=1), str(path))
    with pytest.raises(DiskFullError) as e:
        atomic_write_json(dict(big='x' * 200_000), str(path))
    msg = str(e.value)
    assert msg.startswith(f"the disk is full while writing '{path}' (")
    assert 'KiB free, it needs about 195.3 KiB)' in msg
    assert 're-run the same command to resume' in msg
    assert json.loads(path.read_text()) == dict(ok=1)
    assert os.listdir(disk) == ['labeled.json']  # no temporary file left


def test_a_shard_too_big_for_the_disk_leaves_the_store_as_it_was(mount):
    disk = mount('tmpfs', size='256k')
    store = SummaryStore(str(disk / 'acquisition'))
    small = [dict(feat=np.ones((2, 4), np.float32))] * 2
    write_shard(os.path.join(store.root, 'rank0-00000'), [1, 2], small)
    big = [dict(feat=np.ones((64, 512), np.float32))] * 2  # 256 KiB
    writer = store.writer(0, shard_size=2, expected=4)
    writer.add(3, big[0])
    with pytest.raises(DiskFullError) as e:
        writer.add(4, big[1])
    msg = str(e.value)
    assert f"writing the pool summaries to '{store.root}'" in msg
    # this shard (2 x 128 KiB) and the two images still to come
    assert re.search(r'it needs about 512\.\d KiB', msg), msg
    assert sorted(os.listdir(store.root)) == ['rank0-00000']
    assert sorted(store.read()) == [1, 2]
