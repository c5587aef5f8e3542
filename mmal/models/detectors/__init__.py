from .learning_loss import LearningLossDetector, learning_loss_class
from .mist import (MIST, MISTDistributedDataParallel,
                   MISTOptimWrapperConstructor)

__all__ = [
    'MIST', 'MISTDistributedDataParallel', 'MISTOptimWrapperConstructor',
    'LearningLossDetector', 'learning_loss_class'
]
