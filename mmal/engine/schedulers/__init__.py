from .fractional_multistep_lr import FractionalMultiStepLR

__all__ = ['FractionalMultiStepLR']
