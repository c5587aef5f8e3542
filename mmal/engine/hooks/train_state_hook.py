"""Training hooks whose state acquisition reads back from the checkpoint.

A :class:`TrainStateHook` declares the entries it keeps
(:attr:`TrainStateHook.train_state_keys`), saves them as tensors in every
checkpoint under ``checkpoint[TRAIN_STATE_KEY]`` and restores them when
training resumes. A strategy that needs one declares it in
``BaseStrategy.train_state``; the acquisition runner checks before any
training that a configured hook provides it and hands the saved values to
``select`` as ``context.train_state`` (:func:`read_train_state`).
"""
from typing import Dict, Optional, Sequence, Tuple

import numpy as np
import torch
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper

from mmal.registry import HOOKS

#: Key of a checkpoint holding the train state: a dict name -> tensor.
TRAIN_STATE_KEY = 'mmal_train_state'


def unwrap_model(runner):
    """The runner's model without its DDP wrapper."""
    model = runner.model
    return model.module if is_model_wrapper(model) else model


class TrainStateHook(Hook):
    """Base class of hooks that keep tensors acquisition needs.

    Subclasses set :attr:`train_state_keys` and implement :meth:`state`
    (name -> tensor) and :meth:`load_state`.
    """

    #: Names of the entries the hook saves with each checkpoint.
    train_state_keys: Tuple[str, ...] = ()

    def state(self) -> Dict[str, torch.Tensor]:
        """The current values of :attr:`train_state_keys`."""
        raise NotImplementedError

    def load_state(self, state: Dict[str, torch.Tensor]) -> None:
        """Restore what :meth:`state` returned (on resume)."""
        raise NotImplementedError

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        saved = checkpoint.setdefault(TRAIN_STATE_KEY, {})
        for k, v in self.state().items():
            saved[k] = v.detach().cpu().clone()

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        saved = checkpoint.get(TRAIN_STATE_KEY) or {}
        mine = {k: saved[k] for k in self.train_state_keys if k in saved}
        if mine:
            self.load_state(mine)


def hooks_train_state(hook_cfgs: Optional[Sequence[dict]]) -> Tuple[str, ...]:
    """The train-state entries the configured hooks declare.

    Args:
        hook_cfgs (Sequence[dict], optional): ``cfg.custom_hooks``.
    """
    keys = []
    for cfg in hook_cfgs or ():
        cls = HOOKS.get(cfg.get('type')) if isinstance(cfg, dict) else None
        keys += list(getattr(cls, 'train_state_keys', ()))
    return tuple(keys)


def read_train_state(checkpoint: dict, names: Sequence[str],
                     path: str) -> Dict[str, np.ndarray]:
    """Entries ``names`` of a loaded checkpoint's train state, as numpy.

    Raises:
        KeyError: Naming the checkpoint and the missing entries.
    """
    saved = checkpoint.get(TRAIN_STATE_KEY) or {}
    missing = [n for n in names if n not in saved]
    if missing:
        raise KeyError(
            f'checkpoint {path!r} has no train state {missing} (it holds '
            f'{sorted(saved)}): it was not trained with the hook that saves '
            'it (e.g. custom_hooks=[dict(type="mmal.ClassQualityHook")] '
            'for class_quality)')
    return {n: torch.as_tensor(saved[n]).cpu().numpy() for n in names}


__all__ = [
    'TRAIN_STATE_KEY', 'TrainStateHook', 'hooks_train_state',
    'read_train_state', 'unwrap_model'
]
