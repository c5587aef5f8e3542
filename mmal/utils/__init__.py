"""Small helpers of mmal.

This package imports only the standard library, so that ``import
mmal.utils.fileio`` stays cheap and torch-free (tools that write files need
no deep-learning stack). The helpers with heavier dependencies are imported
from their own modules:

* :mod:`mmal.utils.checkpoint` (torch): safe checkpoint loading;
* :mod:`mmal.utils.config` (mmengine): loading configs, launch arguments,
  effective batch, TTA;
* :mod:`mmal.utils.setup_env` (mmdet): ``register_all_modules``;
* :mod:`mmal.utils.safe_unpickler` (numpy): a numpy-only unpickler.
"""
from .file_lock import file_lock
from .fileio import atomic_open, atomic_write_json, atomic_write_text

__all__ = [
    'atomic_open', 'atomic_write_json', 'atomic_write_text', 'file_lock'
]
