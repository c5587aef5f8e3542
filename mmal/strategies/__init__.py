from .balanced_random import BalancedRandom
from .base_strategy import (DISPLAY_FIELDS, FIELDS, MODEL_FIELDS, BaseStrategy,
                            Selection, SelectionContext, StrategyError,
                            check_selection)
from .bib import BiB, UBiB, UPlusBiB
from .builder import build_strategy
from .cald import CALD
from .cdal import CDAL
from .core_set import CoreSet, CoreSetEnt
from .enms_divproto import ENMS, DivProto, ENMSDivProto, Entropy
from .entropy_baselines import EntropyMax, EntropySum
from .learning_loss import LearningLoss
from .least_confidence import LeastConfidence
from .loss_ranking import LossRanking
from .mc_dropout import MCDropout
from .ppal import PPAL
from .ranking_strategy import RankingStrategy
from .replay import Replay
from .uniform_random import UniformRandom

__all__ = [
    'DISPLAY_FIELDS', 'FIELDS', 'MODEL_FIELDS', 'BaseStrategy', 'Selection',
    'SelectionContext', 'StrategyError', 'check_selection', 'build_strategy',
    'RankingStrategy', 'BalancedRandom', 'LeastConfidence', 'UniformRandom',
    'CoreSet', 'CoreSetEnt', 'ENMS', 'DivProto', 'ENMSDivProto', 'Entropy',
    'EntropyMax', 'EntropySum', 'LossRanking', 'CDAL', 'MCDropout', 'CALD',
    'BiB', 'UBiB', 'UPlusBiB', 'LearningLoss', 'PPAL', 'Replay'
]
