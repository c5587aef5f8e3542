"""An unpickler that rebuilds numpy arrays and plain containers only.

Proposal pickles of other projects (wetectron, Detectron, BiB, mmdet) hold
nothing but numpy arrays, numbers, strings, lists and dicts. Unpickling
them with :class:`NumpyOnlyUnpickler` refuses every other global (a class
or function the pickle asks to import) before it is imported, so a crafted
file cannot run code.

Example:
    >>> with open(path, 'rb') as f:
    ...     obj = NumpyOnlyUnpickler(f, path).load()
"""
import pickle
from typing import IO, Any

import numpy as np


def _numpy_multiarray():
    try:
        from numpy._core import multiarray
    except ImportError:  # numpy < 2
        from numpy.core import multiarray
    return multiarray


def _numpy_frombuffer():
    try:
        from numpy._core.numeric import _frombuffer
    except ImportError:  # numpy < 2
        from numpy.core.numeric import _frombuffer
    return _frombuffer


class NumpyOnlyUnpickler(pickle.Unpickler):
    """An unpickler that rebuilds numpy arrays and plain containers only.

    Any other global raises :class:`pickle.UnpicklingError` naming the file
    and the global before it is imported. Py2 pickles are read with
    ``encoding='latin1'`` (their numpy arrays store their data as str).

    Args:
        file (IO): The pickle, opened in binary mode.
        path (str): Its name, for error messages.
    """

    SAFE_GLOBALS = {
        ('numpy.core.multiarray', '_reconstruct'):
        '_reconstruct',
        ('numpy._core.multiarray', '_reconstruct'):
        '_reconstruct',
        ('numpy.core.multiarray', 'scalar'):
        'scalar',
        ('numpy._core.multiarray', 'scalar'):
        'scalar',
        # Protocol 5 pickles rebuild arrays from a buffer.
        ('numpy.core.numeric', '_frombuffer'):
        '_frombuffer',
        ('numpy._core.numeric', '_frombuffer'):
        '_frombuffer',
        ('numpy', 'ndarray'):
        'ndarray',
        ('numpy', 'dtype'):
        'dtype',
        # Protocol <= 2 pickles written by Python 3 store bytes as
        # _codecs.encode(str, 'latin1'); it only converts text to bytes.
        ('_codecs', 'encode'):
        'encode',
    }

    def __init__(self, file: IO, path: str):
        super().__init__(file, encoding='latin1')
        self.path = path

    def find_class(self, module: str, name: str) -> Any:
        what = self.SAFE_GLOBALS.get((module, name))
        if what is None:
            raise pickle.UnpicklingError(
                f'{self.path}: refusing to load global {module}.{name}: '
                f'proposal pickles may only contain numpy arrays, numbers, '
                f'strings, lists and dicts')
        if what == 'encode':
            import codecs
            return codecs.encode
        if what in ('ndarray', 'dtype'):
            return getattr(np, what)
        if what == '_frombuffer':
            return _numpy_frombuffer()
        return getattr(_numpy_multiarray(), what)
