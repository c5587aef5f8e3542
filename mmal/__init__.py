"""mmal: active learning for object detection on MMDetection 3.x."""
from .version import __version__

__all__ = ['__version__']
