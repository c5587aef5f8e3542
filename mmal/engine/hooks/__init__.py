from .class_quality_hook import ClassQualityHook
from .learning_loss_hook import LearningLossHook
from .rng_state_hook import RNGStateHook
from .train_state_hook import (TRAIN_STATE_KEY, TrainStateHook,
                               hooks_train_state, read_train_state)

__all__ = [
    'RNGStateHook', 'ClassQualityHook', 'LearningLossHook', 'TrainStateHook',
    'TRAIN_STATE_KEY', 'hooks_train_state', 'read_train_state'
]
