from .base_schedule import BaseSchedule, build_schedule
from .config_schedule import ConfigSchedule
from .iters_per_image_schedule import ItersPerImageSchedule

__all__ = [
    'BaseSchedule', 'build_schedule', 'ConfigSchedule', 'ItersPerImageSchedule'
]
