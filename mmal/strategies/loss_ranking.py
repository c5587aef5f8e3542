"""The ``loss`` baseline of the BiB paper (supplement 3.2): the top-b
images by a per-image loss the detector computes at inference without
ground truth (MIST: the last refinement head's classification + box loss
against its own pseudo-boxes)."""
from typing import Mapping

import numpy as np

from mmal.registry import STRATEGIES
from .base_strategy import BaseStrategy, Selection, SelectionContext


@STRATEGIES.register_module(name=['LossRanking', 'loss'])
class LossRanking(BaseStrategy):
    """Top-b images by the ``loss`` field; ties broken at random, images
    whose loss is not finite rank last."""

    requires = ('loss', )

    def summarize(self, fields):
        return {'loss': np.float64(np.asarray(fields['loss']).reshape(()))}

    def select(self, summaries: Mapping[int, Mapping[str, np.ndarray]],
               budget: int, context: SelectionContext,
               rng: np.random.Generator) -> Selection:
        ids = np.fromiter(summaries, dtype=np.int64)
        loss = np.array([float(summaries[int(i)]['loss']) for i in ids])
        return self.top_k(ids, loss, budget, rng)
