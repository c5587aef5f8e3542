"""The ranking every "score each image, take the best b" strategy shares."""
from typing import Sequence

import numpy as np


def rank_order(scores: Sequence[float],
               rng: np.random.Generator) -> np.ndarray:
    """Positions of ``scores`` from the highest down: ties broken at random
    with ``rng`` (one draw per score), non-finite scores ranked last."""
    scores = np.asarray(scores, dtype=np.float64)
    key = np.where(np.isfinite(scores), scores, -np.inf)
    tie = rng.random(len(scores))
    return np.lexsort((tie, -key))


def top_k(ids: Sequence[int], scores: Sequence[float], k: int,
          rng: np.random.Generator):
    """The ``k`` highest ``scores`` (ranked by :func:`rank_order`).

    Returns:
        tuple: ``ids`` (k,) and their ``scores`` (k,), best first.
    """
    ids = np.asarray(ids, dtype=np.int64)
    scores = np.asarray(scores, dtype=np.float64)
    order = rank_order(scores, rng)[:min(k, len(ids))]
    return ids[order], scores[order]
