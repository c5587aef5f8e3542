"""The ``loss`` baseline of the BiB paper (supplement 3.2): the top-b
images by a per-image loss the detector computes at inference without
ground truth (MIST: the last refinement head's classification + box loss
against its own pseudo-boxes)."""
import numpy as np

from mmal.registry import STRATEGIES
from .ranking_strategy import RankingStrategy


@STRATEGIES.register_module(name=['LossRanking', 'loss'])
class LossRanking(RankingStrategy):
    """Top-b images by the ``loss`` field; ties broken at random, images
    whose loss is not finite rank last."""

    requires = ('loss', )
    score_field = 'loss'

    def summarize(self, fields):
        return {'loss': np.float64(np.asarray(fields['loss']).reshape(()))}
