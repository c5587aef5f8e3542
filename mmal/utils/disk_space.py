"""A full disk reported in one line: the path, its free space and about how
much the write needed.

Every write of the loop is atomic or redone on resume, so a full disk
loses nothing; what it needs is a message that says where to make room.
"""
import errno
import os.path as osp
import re
import shutil
from contextlib import contextmanager
from typing import Callable, Iterator, Optional, Union

from .error_chain import error_chain

#: errors that mean "no room": no space, or the user's quota
_FULL = (errno.ENOSPC, errno.EDQUOT)
#: what torch's zip writer says when a write comes up short
_TORCH_SHORT_WRITE = ('file write failed', 'unexpected pos')
#: what numpy's ``ndarray.tofile`` says (an OSError without errno)
_NUMPY_SHORT_WRITE = re.compile(r'^\d+ requested and \d+ written$')


class DiskFullError(OSError):
    """The file system under a path filled up while mmal wrote there."""


def is_disk_full(e: BaseException) -> bool:
    """Whether ``e`` (or an error it was raised from) is a full disk."""
    return any(map(_is_full, error_chain(e)))


def _is_full(e: BaseException) -> bool:
    if isinstance(e, DiskFullError) or (isinstance(e, OSError)
                                        and e.errno in _FULL):
        return True
    if isinstance(e, OSError) and e.errno is None and \
            _NUMPY_SHORT_WRITE.match(str(e)):
        return True
    return isinstance(e, RuntimeError) and any(
        s in str(e) for s in _TORCH_SHORT_WRITE)


def human_bytes(n: float) -> str:
    for unit in ('B', 'KiB', 'MiB', 'GiB', 'TiB'):
        if abs(n) < 1024 or unit == 'TiB':
            return f'{n:.0f} {unit}' if unit == 'B' else f'{n:.1f} {unit}'
        n /= 1024


def free_bytes(path: str) -> Optional[int]:
    """Free bytes of the file system holding ``path`` (or its nearest
    existing parent); None if it cannot be asked."""
    path = osp.abspath(path)
    while not osp.exists(path) and osp.dirname(path) != path:
        path = osp.dirname(path)
    try:
        return shutil.disk_usage(path).free
    except OSError:
        return None


def disk_full_message(path: str, what: str, need: Optional[int] = None) -> str:
    free = free_bytes(path)
    return (f'the disk is full while {what} {path!r} (' +
            (f'{human_bytes(free)} free' if free is not None else 'free '
             'space unknown') +
            (f', it needs about {human_bytes(need)}' if need else '') +
            '): make room there and re-run the same command to resume '
            '(nothing already written is lost)')


@contextmanager
def reported_disk_full(
    path: str,
    what: str,
    need: Union[None, int, Callable[[],
                                    Optional[int]]] = None) -> Iterator[None]:
    """Turn a full disk inside the block into a :class:`DiskFullError`
    naming ``path``, its free space and ``need`` (bytes, or a function
    computing them once the disk is full).

    Args:
        path (str): The file or folder being written.
        what (str): What was being done, e.g. ``'saving the checkpoint
            in'``.
        need: About how many bytes the write needs.
    """
    try:
        yield
    except DiskFullError:
        raise
    except (OSError, RuntimeError) as e:
        if not is_disk_full(e):
            raise
        if callable(need):
            try:
                need = need()
            except Exception:  # an estimate must not hide the error
                need = None
        raise DiskFullError(disk_full_message(path, what, need)) from None


def nbytes(obj) -> int:
    """Bytes of the tensors and arrays in a nested state (a model's or
    optimizer's ``state_dict``): about what saving it writes."""
    if isinstance(obj, dict):
        return sum(nbytes(v) for v in obj.values())
    if isinstance(obj, (list, tuple)):
        return sum(nbytes(v) for v in obj)
    n = getattr(obj, 'nbytes', None)
    if isinstance(n, int):
        return n
    if hasattr(obj, 'element_size') and hasattr(obj, 'nelement'):
        return obj.element_size() * obj.nelement()
    return 0


__all__ = [
    'DiskFullError', 'disk_full_message', 'free_bytes', 'human_bytes',
    'is_disk_full', 'nbytes', 'reported_disk_full'
]
