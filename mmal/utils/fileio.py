import json
import os
import os.path as osp
import tempfile
from contextlib import contextmanager
from typing import IO, Any, Iterator, Optional

from .disk_space import reported_disk_full


@contextmanager
def atomic_open(path: str,
                mode: str = 'w',
                need: Optional[int] = None) -> Iterator[IO]:
    """Open a temporary file next to ``path``; on a clean exit it is
    fsynced and renamed over ``path`` (atomic on POSIX), so readers never
    see a partial file. On any error, or if the process dies, the target is
    untouched and the temporary file is removed (or left as a hidden
    ``.name.*.tmp`` that nothing reads). A full disk is a
    :class:`~mmal.utils.disk_space.DiskFullError` naming ``path``.

    Args:
        path (str): Destination file.
        mode (str): ``'w'`` or ``'wb'``. Defaults to ``'w'``.
        need (int, optional): Bytes the file will have, for the message
            of a full disk.
    """
    folder = osp.dirname(osp.abspath(path))
    with reported_disk_full(path, 'writing', need):
        os.makedirs(folder, exist_ok=True)
        fd, tmp = tempfile.mkstemp(
            prefix=f'.{osp.basename(path)}.', suffix='.tmp', dir=folder)
        try:
            # mkstemp makes the file 0600; the result gets what open() gives
            os.fchmod(fd, 0o666 & ~_umask())
            with os.fdopen(fd, mode) as f:
                yield f
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, path)
        except BaseException:
            if osp.exists(tmp):
                os.unlink(tmp)
            raise


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def is_leftover(name: str) -> bool:
    """Whether a file name is a temporary file of :func:`atomic_open`
    (left behind when a process died while writing)."""
    return name.startswith('.') and name.endswith('.tmp')


def remove_leftovers(root: str) -> int:
    """Remove the temporary files killed writes left under ``root``;
    returns how many. Call it only while no one else writes there."""
    n = 0
    for folder, dirs, files in os.walk(root):
        for name in files:
            if is_leftover(name):
                os.unlink(osp.join(folder, name))
                n += 1
    return n


def atomic_write_json(obj: Any, path: str, **dump_kwargs) -> None:
    """Write ``obj`` as json to ``path`` atomically (see
    :func:`atomic_open`); the json is fully serialised before the file is
    touched.

    Args:
        obj: A json-serialisable object.
        path (str): Destination file.
        **dump_kwargs: Passed to :func:`json.dumps`.
    """
    # json.dumps, not mmengine.fileio.dump: that one also serialises sets
    # and arrays (which must stay errors) and imports mmengine here.
    atomic_write_text(json.dumps(obj, **dump_kwargs), path)


def atomic_write_text(text: str, path: str) -> None:
    """Write ``text`` to ``path`` atomically (see :func:`atomic_open`)."""
    with atomic_open(path, 'w', need=len(text.encode())) as f:
        f.write(text)
