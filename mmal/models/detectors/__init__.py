from .mist import (MIST, MISTDistributedDataParallel,
                   MISTOptimWrapperConstructor)

__all__ = [
    'MIST', 'MISTDistributedDataParallel', 'MISTOptimWrapperConstructor'
]
