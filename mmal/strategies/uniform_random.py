from typing import Mapping

import numpy as np

from mmal.registry import STRATEGIES
from .base_strategy import BaseStrategy, Selection, SelectionContext


@STRATEGIES.register_module(name=['UniformRandom', 'u-random'])
class UniformRandom(BaseStrategy):
    """u-random: ``budget`` images drawn uniformly without replacement."""

    requires = ()

    def select(self, summaries: Mapping[int, Mapping[str, np.ndarray]],
               budget: int, context: SelectionContext,
               rng: np.random.Generator) -> Selection:
        ids = np.sort(np.fromiter(summaries, dtype=np.int64))
        k = min(budget, ids.size)
        return Selection(ids=rng.choice(ids, size=k, replace=False))
