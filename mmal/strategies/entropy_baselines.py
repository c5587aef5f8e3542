"""Entropy-max and entropy-sum (BiB paper, supplement Eq. 8 and 9): the
Shannon entropy of each detection's full C + 1 class distribution, pooled
per image by max or sum; the ``budget`` highest images are taken."""
from typing import Mapping

import numpy as np

from mmal.registry import STRATEGIES
from .base_strategy import BaseStrategy, Selection, SelectionContext


def distribution_entropy(probs: np.ndarray) -> np.ndarray:
    """``-sum_c p_c log p_c`` (natural log) of each row of ``probs``."""
    p = np.asarray(probs, dtype=np.float64)
    if p.size == 0:
        return np.zeros((p.shape[0] if p.ndim == 2 else 0, ))
    return -(p * np.log(np.maximum(p, 1e-12))).sum(axis=-1)


@STRATEGIES.register_module(name=['EntropyMax', 'entropy-max'])
class EntropyMax(BaseStrategy):
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

    def select(self, summaries: Mapping[int, Mapping[str, np.ndarray]],
               budget: int, context: SelectionContext,
               rng: np.random.Generator) -> Selection:
        ids = np.fromiter(summaries, dtype=np.int64)
        scores = np.array([float(summaries[int(i)]['score']) for i in ids])
        return self.top_k(ids, scores, budget, rng)


@STRATEGIES.register_module(name=['EntropySum', 'entropy-sum'])
class EntropySum(EntropyMax):
    """Top-b images by the summed entropy of their detections (Eq. 9)."""

    def pool(self, h: np.ndarray) -> float:
        return float(h.sum())
