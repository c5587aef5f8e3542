"""Entropies of detection scores and class distributions."""
import numpy as np

_EPS = 1e-12


def binary_entropy(p: np.ndarray) -> np.ndarray:
    """``-p log p - (1 - p) log(1 - p)`` (natural log) of each score, 0 at 0
    and 1 (ENMS+DivProto Eq. 1)."""
    p = np.clip(np.asarray(p, dtype=np.float64), 0.0, 1.0)
    q = 1.0 - p
    return -(p * np.log(np.maximum(p, _EPS)) + q * np.log(np.maximum(q, _EPS)))


def distribution_entropy(probs: np.ndarray) -> np.ndarray:
    """``-sum_c p_c log p_c`` (natural log) of each row of ``probs`` (N, K),
    (N,)."""
    p = np.asarray(probs, dtype=np.float64)
    if p.size == 0:
        return np.zeros((p.shape[0] if p.ndim == 2 else 0, ))
    return -(p * np.log(np.maximum(p, _EPS))).sum(axis=-1)
