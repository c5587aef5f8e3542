from .mist_tta import MISTTTAModel

__all__ = ['MISTTTAModel']
