from mmengine.config import Config

from mmal.registry import AL_SCHEDULES
from .base_schedule import BaseSchedule


@AL_SCHEDULES.register_module(name='epochs')
class ConfigSchedule(BaseSchedule):
    """``epochs``: every cycle trains with the config's own ``train_cfg`` and
    ``param_scheduler`` (e.g. 12 epochs, whatever the labeled set's size).
    """

    def apply(self, cfg: Config, num_labeled) -> bool:
        train_cfg = cfg.train_cfg
        return train_cfg.get('type', '') == 'EpochBasedTrainLoop' or \
            'max_epochs' in train_cfg
