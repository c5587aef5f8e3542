"""Entropy-max and entropy-sum (BiB paper, supplement Eq. 8 and 9): the
Shannon entropy of each detection's full C + 1 class distribution, pooled
per image by max or sum; the ``budget`` highest images are taken."""
import numpy as np

from mmal.registry import STRATEGIES
from .functional import distribution_entropy
from .ranking_strategy import RankingStrategy


@STRATEGIES.register_module(name=['EntropyMax', 'entropy-max'])
class EntropyMax(RankingStrategy):
    """Top-b images by their most uncertain detection (Eq. 8). For sigmoid
    heads the distribution is the one the probes build (C probabilities and
    ``1 - max`` as background, normalised)."""

    requires = ('cls_probs', )

    def pool(self, h: np.ndarray) -> float:
        return float(h.max()) if h.size else 0.0

    def summarize(self, fields):
        return {
            'score':
            np.float64(self.pool(distribution_entropy(fields['cls_probs'])))
        }


@STRATEGIES.register_module(name=['EntropySum', 'entropy-sum'])
class EntropySum(EntropyMax):
    """Top-b images by the summed entropy of their detections (Eq. 9)."""

    def pool(self, h: np.ndarray) -> float:
        return float(h.sum())
