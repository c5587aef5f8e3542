import random
from typing import Optional

import numpy as np
import torch
from mmengine.hooks import Hook

from mmal.registry import HOOKS


@HOOKS.register_module()
class RNGStateHook(Hook):
    """Save the python, numpy and torch random states in every checkpoint and
    restore them when training resumes, so that a run resumed from an
    epoch-end checkpoint draws the same augmentations as one that never
    stopped (mmengine restores the data order but not these states).

    The states hold only ints and arrays, which load with
    ``weights_only=True``.
    """

    priority = 'VERY_LOW'

    def __init__(self):
        self._pending: Optional[dict] = None

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        kind, keys, pos, has_gauss, gauss = np.random.get_state()
        checkpoint['mmal_rng_state'] = dict(
            python=list(random.getstate()[1]),
            python_version=random.getstate()[0],
            python_gauss=random.getstate()[2],
            numpy=dict(
                kind=kind,
                keys=keys,
                pos=int(pos),
                has_gauss=int(has_gauss),
                gauss=float(gauss)),
            torch=torch.get_rng_state())

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        # Applied in before_train: Runner.resume may reseed after loading.
        self._pending = checkpoint.get('mmal_rng_state')

    def before_train(self, runner) -> None:
        state, self._pending = self._pending, None
        if not state or not runner._resume:
            return
        random.setstate((state['python_version'], tuple(state['python']),
                         state['python_gauss']))
        n = state['numpy']
        np.random.set_state((n['kind'], np.asarray(n['keys'], np.uint32),
                             n['pos'], n['has_gauss'], n['gauss']))
        torch.set_rng_state(state['torch'])
