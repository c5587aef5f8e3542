"""Claim files: which job works on which item of a benchmark matrix.

A claim is an exclusive, non-blocking ``flock`` on
``<work_dir>/claims/<item>.lock`` (:class:`mmal.active_learning.run_lock.
RunLock`, which records the owner): of two jobs that ask at the same
instant exactly one gets it, and the kernel drops it when its job dies, so
the item of a killed job is free again at once and the next job resumes its
work dir. Claims live on the file system the jobs share (``flock`` works
across hosts on NFS v4 and Lustre/GPFS with locking enabled).
"""
import errno
import fcntl
import os
import os.path as osp
from typing import Optional

from mmal.active_learning.pool import SplitError
from mmal.active_learning.run_lock import RunLock, RunLockBusy


def try_claim(path: str) -> Optional[RunLock]:
    """Take the claim ``path``; None if another live job holds it.

    Raises:
        SplitError: The claim folder is read-only.
    """
    lock = RunLock(path)
    try:
        if not lock.acquire():
            raise SplitError(f'{osp.dirname(path)} is read-only: a benchmark '
                             'needs to write its claims there')
    except RunLockBusy:
        return None
    return lock


def held_by(path: str) -> Optional[str]:
    """The owner of a live claim on ``path`` ('host ..., pid ...'), or None
    when it is free (a file left by a killed job is free)."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except OSError as e:
            if e.errno in (errno.EAGAIN, errno.EACCES):
                return RunLock._owner(fd) or 'owner not recorded'
            raise
        fcntl.flock(fd, fcntl.LOCK_UN)
        return None
    finally:
        os.close(fd)
