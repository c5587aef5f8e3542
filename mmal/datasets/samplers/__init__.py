from .mixed_supervision_sampler import MixedSupervisionSampler

__all__ = ['MixedSupervisionSampler']
