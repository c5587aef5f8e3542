from typing import Mapping

import numpy as np

from mmal.registry import STRATEGIES
from .base_strategy import BaseStrategy, Selection, SelectionContext


@STRATEGIES.register_module(name=['LeastConfidence', 'least-confidence'])
class LeastConfidence(BaseStrategy):
    """Least confidence: an image scores ``1 - max`` of its detection scores
    (1 when the detector finds nothing); the ``budget`` highest are taken.

    A classic uncertainty baseline that needs only the detector's scores.
    """

    requires = ('scores', )

    def summarize(self, fields):
        s = np.asarray(fields['scores'], dtype=np.float32)
        return {
            'score': np.float32(1.0 - s.max()) if s.size else np.float32(1.0)
        }

    def select(self, summaries: Mapping[int, Mapping[str, np.ndarray]],
               budget: int, context: SelectionContext,
               rng: np.random.Generator) -> Selection:
        ids = np.fromiter(summaries, dtype=np.int64)
        scores = np.array([float(summaries[i]['score']) for i in ids])
        return self.top_k(ids, scores, budget, rng)
