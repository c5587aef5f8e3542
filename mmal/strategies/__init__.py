from .balanced_random import BalancedRandom
from .base_strategy import (FIELDS, MODEL_FIELDS, BaseStrategy, Selection,
                            SelectionContext, StrategyError, check_selection)
from .builder import build_strategy
from .least_confidence import LeastConfidence
from .uniform_random import UniformRandom

__all__ = [
    'FIELDS', 'MODEL_FIELDS', 'BaseStrategy', 'Selection', 'SelectionContext',
    'StrategyError', 'check_selection', 'build_strategy', 'BalancedRandom',
    'LeastConfidence', 'UniformRandom'
]
