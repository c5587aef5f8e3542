import json
import os
import os.path as osp
import tempfile
from typing import Any


def atomic_write_json(obj: Any, path: str, **dump_kwargs) -> None:
    """Write ``obj`` as json to ``path`` so that readers never see a partial
    file: dump to a temporary file in the same folder, fsync, then rename
    over the target (atomic on POSIX). On any error the target is untouched.

    Args:
        obj: A json-serialisable object.
        path (str): Destination file.
        **dump_kwargs: Passed to :func:`json.dump`.
    """
    folder = osp.dirname(osp.abspath(path))
    os.makedirs(folder, exist_ok=True)
    fd, tmp = tempfile.mkstemp(
        prefix=f'.{osp.basename(path)}.', suffix='.tmp', dir=folder)
    try:
        with os.fdopen(fd, 'w') as f:
            json.dump(obj, f, **dump_kwargs)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if osp.exists(tmp):
            os.unlink(tmp)
        raise
