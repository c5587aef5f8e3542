from typing import Optional, Sequence

from mmengine.config import Config

from mmal.registry import AL_SCHEDULES
from ..pool import SplitError
from .base_schedule import BaseSchedule


@AL_SCHEDULES.register_module(name='iters_per_image')
class ItersPerImageSchedule(BaseSchedule):
    """``iters_per_image``: a cycle trains ``iters_per_image x labeled
    images`` iterations (clipped to ``[min_iters, max_iters]``), with an
    optional linear warm-up and learning-rate drops at fractions of the
    cycle (``FractionalMultiStepLR``, which places each at the nearest
    iteration).

    Args:
        iters_per_image (float): Iterations per labeled image (> 0).
        milestones (Sequence[float]): Fractions of the cycle where the LR
            drops. Defaults to (2/3, 8/9).
        gamma (float): LR factor at each drop. Defaults to 0.1.
        warmup_iters (int): Linear warm-up iterations. Defaults to 0.
        min_iters (int): Defaults to 1.
        max_iters (int, optional): Defaults to None (no cap).
        checkpoint_interval (int, optional): Iterations between
            checkpoints. Defaults to a fifth of the cycle.
    """

    def __init__(self,
                 iters_per_image: float = 0,
                 milestones: Sequence[float] = (2 / 3, 8 / 9),
                 gamma: float = 0.1,
                 warmup_iters: int = 0,
                 min_iters: int = 1,
                 max_iters: Optional[int] = None,
                 checkpoint_interval: Optional[int] = None):
        super().__init__(checkpoint_interval)
        if not iters_per_image > 0:
            raise SplitError("al.schedule type 'iters_per_image' needs "
                             'iters_per_image > 0')
        self.iters_per_image = iters_per_image
        self.milestones = tuple(milestones)
        self.gamma = gamma
        self.warmup_iters = warmup_iters
        self.min_iters = min_iters
        self.max_iters = max_iters

    def iterations(self, num_labeled: int) -> int:
        iters = max(
            int(round(self.iters_per_image * num_labeled)), self.min_iters)
        return min(iters, self.max_iters) if self.max_iters else iters

    def apply(self, cfg: Config, num_labeled) -> bool:
        iters = self.iterations(num_labeled())
        cfg.train_cfg = dict(type='IterBasedTrainLoop', max_iters=iters)
        warmup = [
            dict(
                type='LinearLR',
                start_factor=0.001,
                by_epoch=False,
                begin=0,
                end=self.warmup_iters)
        ] if self.warmup_iters else []
        cfg.param_scheduler = warmup + [
            dict(
                type='FractionalMultiStepLR',
                by_epoch=False,
                begin=0,
                end=iters,
                milestones=[f * iters for f in self.milestones],
                gamma=self.gamma)
        ]
        return False
