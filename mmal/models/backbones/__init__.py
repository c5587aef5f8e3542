from .wsod_vgg import WSODVGG16

__all__ = ['WSODVGG16']
