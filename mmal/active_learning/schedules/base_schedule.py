"""How long each cycle trains: registered schedules (``al.schedule``)."""
from typing import Callable

from mmengine.config import Config

from mmal.registry import AL_SCHEDULES
from ..pool import SplitError


class BaseSchedule:
    """A cycle's training schedule. Built from ``al.schedule`` when the
    config is read (bad settings are refused before any work), then asked
    for every cycle.

    Subclasses implement :meth:`apply`.

    Args:
        checkpoint_interval (int, optional): Iterations between checkpoints
            when a cycle trains by iteration. Defaults to a fifth of
            ``max_iters``.
    """

    def __init__(self, checkpoint_interval=None):
        self.interval = checkpoint_interval

    def apply(self, cfg: Config, num_labeled: Callable[[], int]) -> bool:
        """Write the training loop and LR schedule of a cycle into ``cfg``.

        Args:
            cfg (Config): The cycle's config.
            num_labeled (Callable[[], int]): Returns the cycle's number of
                labeled images (reads the split: call it only if needed).

        Returns:
            bool: Whether the cycle trains by epoch (its checkpoints are
            then saved every epoch, else every ``checkpoint_interval``
            iterations).
        """
        raise NotImplementedError

    def checkpoint_interval(self, cfg: Config) -> int:
        """Iterations between checkpoints of an iteration-based cycle."""
        return self.interval or max(1, cfg.train_cfg.max_iters // 5)


def build_schedule(cfg: dict) -> BaseSchedule:
    """Build ``al.schedule``, naming the field in every error."""
    cfg = dict(cfg)
    cls = AL_SCHEDULES.get(cfg.get('type'))
    if cls is None:
        raise SplitError('al.schedule.type must be one of '
                         f'{tuple(AL_SCHEDULES.module_dict)}, got '
                         f'{cfg.get("type")!r}')
    cfg.pop('type')
    try:
        return cls(**cfg)
    except TypeError as e:
        raise SplitError(f'al.schedule: {e}') from None
