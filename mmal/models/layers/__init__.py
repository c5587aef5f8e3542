from .concrete_dropblock import ConcreteDropBlock

__all__ = ['ConcreteDropBlock']
