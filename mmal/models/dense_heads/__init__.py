from .ssd_head_compat import SSDHeadCompat

__all__ = ['SSDHeadCompat']
