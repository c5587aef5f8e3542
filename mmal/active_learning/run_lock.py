"""One loop per work dir: an ``flock``-ed lock file that names its owner."""
import errno
import fcntl
import json
import os
import socket
import time
from typing import Optional

from .pool import SplitError


class RunLockBusy(SplitError):
    """Another live process holds the lock."""


class RunLock:
    """An exclusive, non-blocking lock on a work dir.

    ``flock`` is atomic, so of two loops started in the same instant exactly
    one gets it, and the kernel drops it when its process dies, so a lock
    left by a killed run is free again at once (its owner record is then
    simply overwritten). The owner (host, pid, start time) is written into
    the file for the message a second loop gets. :meth:`release` removes
    the file (a refused or finished run leaves nothing behind); a process
    that locked a file removed meanwhile sees that its path now names
    another file and tries again.

    Args:
        path (str): The lock file (``WorkDir.lock``).
    """

    def __init__(self, path: str):
        self.path = path
        self.fd: Optional[int] = None

    def acquire(self) -> bool:
        """Take the lock. Returns False (and holds nothing) when the folder
        is read-only, where no loop can write either.

        Raises:
            RunLockBusy: Another live process holds the lock.
        """
        try:
            os.makedirs(os.path.dirname(self.path), exist_ok=True)
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as e:
            if e.errno in (errno.EROFS, errno.EACCES, errno.EPERM):
                return False
            raise
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as e:
            if e.errno not in (errno.EAGAIN, errno.EACCES):
                os.close(fd)
                raise
            # the owner writes its record right after locking: give it a
            # moment when both started in the same instant
            deadline = time.time() + 5
            owner = self._owner(fd)
            while owner is None and time.time() < deadline:
                time.sleep(0.01)
                owner = self._owner(fd)
            os.close(fd)
            owner = owner or 'owner not recorded'
            raise RunLockBusy(
                f'{os.path.dirname(self.path)} is in use by another loop '
                f'({owner}; lock {self.path}); wait for it to end, stop it, '
                'or use another --work-dir') from None
        try:
            same = os.stat(self.path).st_ino == os.fstat(fd).st_ino
        except FileNotFoundError:
            same = False
        if not same:  # released and removed while we waited: again
            os.close(fd)
            return self.acquire()
        record = dict(
            host=socket.gethostname(),
            pid=os.getpid(),
            started=time.strftime('%Y-%m-%dT%H:%M:%S%z'))
        os.ftruncate(fd, 0)
        os.pwrite(fd, json.dumps(record).encode(), 0)
        os.fsync(fd)
        self.fd = fd
        return True

    @staticmethod
    def _owner(fd: int) -> Optional[str]:
        try:
            rec = json.loads(os.pread(fd, 4096, 0).decode())
            return (f'host {rec["host"]}, pid {rec["pid"]}, started '
                    f'{rec["started"]}')
        except (ValueError, KeyError, TypeError, UnicodeDecodeError):
            return None

    def release(self) -> None:
        """Remove the lock file, then unlock."""
        if self.fd is not None:
            try:
                os.unlink(self.path)
            except FileNotFoundError:
                pass
            fcntl.flock(self.fd, fcntl.LOCK_UN)
            os.close(self.fd)
            self.fd = None
