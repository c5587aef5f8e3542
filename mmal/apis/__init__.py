from .select_images import select_images

__all__ = ['select_images']
