"""An exclusive lock on a file, for work several processes may ask for."""
import fcntl
import os
import os.path as osp
from contextlib import contextmanager
from typing import Iterator


@contextmanager
def file_lock(path: str) -> Iterator[None]:
    """Hold an exclusive ``flock`` on ``path`` (created if missing) while the
    block runs; other processes entering the same lock wait for it.

    Several processes (one per GPU) may ask for the same generated data at
    once: under the lock one generates it and the others, entering after,
    find it up to date. The lock is released when the block exits, also on
    an error or when the process dies.

    Args:
        path (str): The lock file, e.g. ``{data_root}/.generate.lock``; its
            folder is created if missing.
    """
    os.makedirs(osp.dirname(osp.abspath(path)), exist_ok=True)
    with open(path, 'w') as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield
