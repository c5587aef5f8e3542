"""Safe checkpoint loading: ``weights_only=True`` plus an explicit allowlist.

Unpickling a checkpoint can execute arbitrary code, and an acquisition runner
loads checkpoints that users download. torch>=2.6 loads with
``weights_only=True`` by default, which refuses the non-tensor objects that
mmengine itself writes (numpy arrays in ``message_hub``, ``HistoryBuffer``,
...), so mmengine 0.10 cannot even resume its own checkpoints. mmal keeps
``weights_only=True`` and allowlists exactly those types; anything else is
refused with :class:`UnsafeCheckpointError`, naming the file and the types.

:func:`register_safe_checkpoint_loaders` installs the safe loader for local
files and for the URL schemes mmengine knows (``http(s)://``,
``torchvision://``, ``open-mmlab://``, ``mmcls://``) through mmengine's own
``CheckpointLoader.register_scheme``, so ``load_from``, ``resume``,
``Runner.test``, ``init_cfg=dict(type='Pretrained')`` and the acquisition
runner all go through it. ``mmal.utils.setup_env.register_all_modules()``
calls it.
"""
import os
import os.path as osp
import pickle
from typing import Any, List, Optional, Union

import numpy as np
import torch
from mmengine.dist import barrier, get_dist_info
from mmengine.runner.checkpoint import (CheckpointLoader,
                                        _process_mmcls_checkpoint,
                                        get_deprecated_model_names,
                                        get_external_models, get_mmcls_models,
                                        get_torchvision_models)
from mmengine.utils import mkdir_or_exist

_EXTRA_SAFE_GLOBALS: List[Any] = []


class UnsafeCheckpointError(pickle.UnpicklingError):
    """A checkpoint holds pickled objects outside mmal's allowlist."""


class CheckpointError(ValueError):
    """A checkpoint file is missing, incomplete or not a torch checkpoint;
    the message names the file and what was expected."""


class MissingCheckpointError(CheckpointError, FileNotFoundError):
    """The checkpoint file does not exist."""


def _missing(filename: str) -> MissingCheckpointError:
    return MissingCheckpointError(
        f'Checkpoint {filename} can not be found: expected a file written by '
        'torch.save (e.g. a cycle\'s train/epoch_<n>.pth)')


def _unreadable(filename: str, error: BaseException) -> CheckpointError:
    first = (str(error).splitlines() or [type(error).__name__])[0]
    return CheckpointError(
        f'Checkpoint {filename} is not a complete torch checkpoint ({first}): '
        'expected a file written by torch.save; a truncated copy (an '
        'interrupted download or save) reads like this, so copy or save it '
        'again')


def _numpy_safe_globals() -> List[Any]:
    """Numpy objects that checkpoints hold (arrays, scalars, dtypes).

    numpy 2 pickles reference ``numpy._core``; files written with numpy 1
    reference ``numpy.core``. Both names are allowed for the same objects.
    """
    core = getattr(np, '_core', None) or np.core
    multiarray = core.multiarray
    entries: List[Any] = [np.ndarray, np.dtype]
    for name in ('_reconstruct', 'scalar'):
        obj = getattr(multiarray, name)
        entries.append(obj)
        for module in ('numpy.core.multiarray', 'numpy._core.multiarray'):
            entries.append((obj, f'{module}.{name}'))
    dtypes = getattr(np, 'dtypes', None)
    if dtypes is not None:
        entries.extend(
            getattr(dtypes, name) for name in dir(dtypes)
            if name.endswith('DType'))
    return entries


def _history_buffer_getattr(obj: Any, name: str) -> Any:
    """Stands in for ``builtins.getattr`` while unpickling.

    mmengine's ``HistoryBuffer`` pickles its statistics methods as
    ``getattr(HistoryBuffer, 'mean')``. Allowing the real ``getattr`` would
    let a file reach any attribute of any allowed object, so only public
    methods of ``HistoryBuffer`` are handed out.
    """
    from mmengine.logging import HistoryBuffer
    if (obj is HistoryBuffer and isinstance(name, str)
            and not name.startswith('_')
            and callable(getattr(HistoryBuffer, name, None))):
        return getattr(HistoryBuffer, name)
    raise pickle.UnpicklingError(
        f'getattr({obj!r}, {name!r}) is not allowed in a checkpoint')


def safe_checkpoint_globals() -> List[Any]:
    """The allowlist: every non-tensor type mmengine and mmdet write.

    Returns:
        list: Entries for ``torch.serialization.safe_globals``.
    """
    from mmengine.config import ConfigDict
    from mmengine.logging import HistoryBuffer
    entries = _numpy_safe_globals()
    entries += [
        HistoryBuffer, ConfigDict,
        (_history_buffer_getattr, 'builtins.getattr')
    ]
    return entries + list(_EXTRA_SAFE_GLOBALS)


def add_safe_checkpoint_globals(*objs: Any) -> None:
    """Trust more types in checkpoints (for example a custom hook's state).

    Args:
        *objs: Classes or functions, or ``(obj, 'module.name')`` pairs as
            accepted by ``torch.serialization.add_safe_globals``.
    """
    _EXTRA_SAFE_GLOBALS.extend(objs)


def find_unsafe_globals(filename: Union[str, os.PathLike]) -> List[str]:
    """Names of the pickled types in a checkpoint outside the allowlist.

    Reads only the pickle stream, not the tensors, so it is cheap even for
    large files: use it to refuse a file before any work starts.

    Args:
        filename (str | PathLike): A checkpoint written by ``torch.save``.

    Returns:
        list[str]: ``module.name`` of each offending type; empty when the
        file is safe to load with :func:`load_checkpoint_safely`.
    """
    with torch.serialization.safe_globals(safe_checkpoint_globals()):
        return torch.serialization.get_unsafe_globals_in_checkpoint(
            os.fspath(filename))


def _unsafe_error(filename: str, found: str) -> UnsafeCheckpointError:
    return UnsafeCheckpointError(
        f'Refusing to load checkpoint {filename}: it holds pickled objects of '
        f'types outside mmal\'s allowlist: {found}. Unpickling them could '
        'execute code from the file. If you trust this file, allow the types '
        'with mmal.utils.checkpoint.add_safe_checkpoint_globals(...) or '
        're-save its '
        'state_dict.')


def check_checkpoint_safe(filename: Union[str, os.PathLike]) -> None:
    """Raise before any work starts if a checkpoint is missing or unsafe.

    Raises:
        MissingCheckpointError: The file does not exist.
        CheckpointError: It is not a complete torch checkpoint.
        UnsafeCheckpointError: The file holds types outside the allowlist.
    """
    filename = os.fspath(filename)
    if not osp.isfile(filename):
        raise _missing(filename)
    try:
        unsafe = find_unsafe_globals(filename)
    except (RuntimeError, ValueError):
        # not a zip checkpoint (legacy torch format, a raw pickle, a
        # truncated file): torch.load with weights_only judges it, without
        # running code from it
        load_checkpoint_safely(filename, map_location='cpu')
        return
    if unsafe:
        raise _unsafe_error(filename, ', '.join(unsafe))


def load_checkpoint_safely(filename: Union[str, os.PathLike],
                           map_location: Optional[Any] = None) -> Any:
    """Load a checkpoint with ``weights_only=True`` and mmal's allowlist.

    Args:
        filename (str | PathLike): Local checkpoint file.
        map_location: Same as :func:`torch.load`. Defaults to None.

    Returns:
        The unpickled checkpoint (usually a dict).

    Raises:
        MissingCheckpointError: The file does not exist.
        CheckpointError: It is not a complete torch checkpoint.
        UnsafeCheckpointError: The file holds objects of other types.
    """
    filename = os.fspath(filename)
    if not osp.isfile(filename):
        raise _missing(filename)
    with torch.serialization.safe_globals(safe_checkpoint_globals()):
        try:
            return torch.load(
                filename, map_location=map_location, weights_only=True)
        except (RuntimeError, ValueError, KeyError, EOFError) as error:
            # truncated zip (PytorchStreamReader), a raw pickle or another
            # file ("Expected input to be a checkpoint"): refused unread
            raise _unreadable(filename, error) from None
        except pickle.UnpicklingError as error:
            try:
                found = ', '.join(find_unsafe_globals(filename))
            except (RuntimeError, ValueError):  # legacy (non-zip) files
                found = ''
            message = str(error).splitlines()[0]
            raise _unsafe_error(filename, found
                                or f'(unpickler: {message})') from error


def load_from_http_safely(url: str,
                          map_location: Optional[Any] = None,
                          model_dir: Optional[str] = None) -> Any:
    """Download ``url`` into torch's hub cache (rank 0 first), load safely."""
    if model_dir is None:
        model_dir = osp.join(torch.hub.get_dir(), 'checkpoints')
    cached_file = osp.join(model_dir, osp.basename(url.split('?')[0]))
    rank, world_size = get_dist_info()
    if rank == 0 and not osp.isfile(cached_file):
        mkdir_or_exist(model_dir)
        torch.hub.download_url_to_file(url, cached_file, progress=True)
    if world_size > 1:
        barrier()
    return load_checkpoint_safely(cached_file, map_location)


def load_from_torchvision_safely(filename: str, map_location=None) -> Any:
    name = filename.split('://', 1)[1]
    return load_from_http_safely(get_torchvision_models()[name], map_location)


def load_from_openmmlab_safely(filename: str, map_location=None) -> Any:
    name = filename.split('://', 1)[1]
    name = get_deprecated_model_names().get(name, name)
    url = get_external_models()[name]
    if url.startswith(('http://', 'https://')):
        return load_from_http_safely(url, map_location)
    from mmengine.runner.checkpoint import _get_mmengine_home
    return load_checkpoint_safely(
        osp.join(_get_mmengine_home(), url), map_location)


def load_from_mmcls_safely(filename: str, map_location=None) -> Any:
    name = filename.split('://', 1)[1]
    checkpoint = load_from_http_safely(get_mmcls_models()[name], map_location)
    return _process_mmcls_checkpoint(checkpoint)


def load_from_local_safely(filename: str, map_location=None) -> Any:
    # mmengine logs "Loads checkpoint by <name[10:]> backend".
    return load_checkpoint_safely(filename, map_location)


_SAFE_SCHEMES = {
    '': load_from_local_safely,
    ('http://', 'https://'): load_from_http_safely,
    ('modelzoo://', 'torchvision://'): load_from_torchvision_safely,
    ('open-mmlab://', 'openmmlab://'): load_from_openmmlab_safely,
    'mmcls://': load_from_mmcls_safely,
}


def register_safe_checkpoint_loaders() -> None:
    """Route mmengine's checkpoint loading through the safe loader.

    Idempotent. Schemes not listed here (``pavi://``, ``s3://``) keep
    mmengine's loaders, which under torch>=2.6 also load with
    ``weights_only=True`` but without mmal's allowlist.
    """
    for prefixes, loader in _SAFE_SCHEMES.items():
        CheckpointLoader.register_scheme(prefixes, loader, force=True)
