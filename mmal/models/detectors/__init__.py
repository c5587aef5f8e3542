from .mist import MIST, MISTOptimWrapperConstructor

__all__ = ['MIST', 'MISTOptimWrapperConstructor']
