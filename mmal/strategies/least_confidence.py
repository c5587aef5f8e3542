import numpy as np

from mmal.registry import STRATEGIES
from .ranking_strategy import RankingStrategy


@STRATEGIES.register_module(name=['LeastConfidence', 'least-confidence'])
class LeastConfidence(RankingStrategy):
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
