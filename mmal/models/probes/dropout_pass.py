"""MC-dropout passes: the detector run ``times`` more with dropout on."""
from typing import List, Optional, Sequence

import torch

from mmal.registry import PROBE_PASSES
from .extra_pass import BaseExtraPass, batch_seed


@PROBE_PASSES.register_module()
class DropoutPass(BaseExtraPass):
    """``times`` stochastic passes with dropout applied to the outputs of
    named modules (forward hooks; nothing in the model is replaced).

    For heads without dropout (mmdet's ``Shared2FCBBoxHead`` has none)
    ``after`` names the layers whose outputs are dropped, e.g.
    ``['roi_head.bbox_head.shared_fcs.0', 'roi_head.bbox_head.shared_fcs.1']``
    (the two shared fcs of Faster R-CNN's box head: dropping before their
    ReLU equals dropping after it). With ``after=None`` the model's own
    ``nn.Dropout`` modules, inactive in eval mode, are the layers.

    Masks are drawn from a ``torch.Generator`` seeded by ``seed``, the pass
    index and the batch's image ids, so a pass is reproducible.

    Args:
        times (int): Stochastic passes. Defaults to 10.
        p (float): Drop probability, in [0, 1); kept values are scaled by
            ``1 / (1 - p)``. Defaults to 0.2.
        after (Sequence[str], optional): Dotted module names (as in
            ``model.named_modules()``). Defaults to None: the model's
            ``nn.Dropout`` modules.
        seed (int): Seed of the masks. Defaults to 0.
    """

    def __init__(self,
                 times: int = 10,
                 p: float = 0.2,
                 after: Optional[Sequence[str]] = None,
                 seed: int = 0):
        if int(times) < 1:
            raise ValueError(f'DropoutPass.times must be >= 1, got {times}')
        if not 0 <= float(p) < 1:
            raise ValueError(f'DropoutPass.p must be in [0, 1), got {p}')
        if isinstance(after, str):
            after = [after]
        self.times = int(times)
        self.p = float(p)
        self.after = None if after is None else [str(a) for a in after]
        self.seed = int(seed)

    def _targets(self, model) -> List[torch.nn.Module]:
        if self.after is None:
            return [
                m for m in model.modules()
                if isinstance(m, torch.nn.modules.dropout._DropoutNd)
            ]
        return [model.get_submodule(name) for name in self.after]

    def mismatch(self, model) -> Optional[str]:
        if self.after is None:
            if not self._targets(model):
                return (f'{type(model).__name__} has no nn.Dropout module; '
                        'name the layers to drop after (DropoutPass.after, '
                        "e.g. ['roi_head.bbox_head.shared_fcs.0'])")
            return None
        names = dict(model.named_modules())
        missing = [a for a in self.after if a not in names]
        if missing:
            near = [
                n for n in names if n.rsplit('.', 1)[-1].startswith(
                    tuple(m.rsplit('.', 1)[-1][:3] for m in missing))
            ][:8]
            return (f'{type(model).__name__} has no module {missing} '
                    f'(DropoutPass.after); modules with similar names: '
                    f'{near}')
        return None

    def run(self, probe, batch):
        state = {}

        def drop(module, args, out):
            if not torch.is_tensor(out):
                raise TypeError(f'DropoutPass: {type(module).__name__} '
                                'returns a non-tensor; name a layer whose '
                                'output is one tensor')
            gen = state.get(out.device)
            if gen is None:
                gen = torch.Generator(device=out.device)
                gen.manual_seed(state['seed'])
                state[out.device] = gen
            keep = torch.rand(
                out.shape, generator=gen, device=out.device) >= self.p
            return out * keep.to(out.dtype) / (1.0 - self.p)

        handles = [
            m.register_forward_hook(drop) for m in self._targets(probe.model)
        ]
        try:
            passes = []
            for t in range(self.times):
                state.clear()
                state['seed'] = batch_seed(self.seed, batch, salt=t)
                passes.append(self.detections(probe.run(batch)))
            return passes
        finally:
            for h in handles:
                h.remove()
