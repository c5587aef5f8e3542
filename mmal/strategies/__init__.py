from .balanced_random import BalancedRandom
from .base_strategy import (FIELDS, MODEL_FIELDS, BaseStrategy, Selection,
                            SelectionContext, StrategyError, check_selection)
from .bib import BiB, UBiB, UPlusBiB
from .builder import build_strategy
from .core_set import CoreSet, CoreSetEnt
from .enms_divproto import ENMS, DivProto, ENMSDivProto, Entropy
from .entropy_baselines import EntropyMax, EntropySum
from .least_confidence import LeastConfidence
from .loss_ranking import LossRanking
from .uniform_random import UniformRandom

#: The built-in strategies, by registry name.
STRATEGY_NAMES = ('u-random', 'b-random', 'least-confidence', 'entropy',
                  'enms', 'divproto', 'enms-divproto', 'entropy-max',
                  'entropy-sum', 'core-set', 'core-set-ent', 'loss', 'bib',
                  'u-bib', 'u-plus-bib')

__all__ = [
    'STRATEGY_NAMES', 'FIELDS', 'MODEL_FIELDS', 'BaseStrategy', 'Selection',
    'SelectionContext', 'StrategyError', 'check_selection', 'build_strategy',
    'BalancedRandom', 'LeastConfidence', 'UniformRandom', 'CoreSet',
    'CoreSetEnt', 'ENMS', 'DivProto', 'ENMSDivProto', 'Entropy', 'EntropyMax',
    'EntropySum', 'LossRanking', 'BiB', 'UBiB', 'UPlusBiB'
]
