"""The local trials of one k-means++ pick over image groups (shared by the
reference and the pruned seeding, which must draw alike)."""
from typing import Optional

import numpy as np
import torch


def draw_trial_pairs(d2: torch.Tensor, taken: torch.Tensor, sampling: str,
                     trials: int,
                     rng: np.random.Generator) -> Optional[np.ndarray]:
    """``trials`` pair indices drawn with probability proportional to their
    potential (``d2``, or its square root with ``sampling='linear'``; pairs
    ``taken`` weigh nothing); None when every pair weighs nothing (all
    coincide with a centre)."""
    weight = d2.masked_fill(taken, 0)
    if sampling == 'linear':
        weight = weight.sqrt()
    cum = np.cumsum(weight.double().cpu().numpy())
    if not cum.size or not cum[-1] > 0:
        return None
    draws = np.searchsorted(cum, rng.random(trials) * cum[-1], side='right')
    return np.minimum(draws, cum.size - 1)
