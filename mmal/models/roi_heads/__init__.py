from .mist_roi_head import MISTBBoxHead, MISTRoIHead

__all__ = ['MISTBBoxHead', 'MISTRoIHead']
