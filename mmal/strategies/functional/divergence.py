"""Divergences between discrete distributions (natural log)."""
import numpy as np

_EPS = 1e-12


def js_divergence(p: np.ndarray, q: np.ndarray) -> np.ndarray:
    """Jensen-Shannon divergence ``KL(p || m) / 2 + KL(q || m) / 2``, ``m``
    their mean, over the last axis (broadcast), in [0, ln 2]."""
    p = np.asarray(p, dtype=np.float64)
    q = np.asarray(q, dtype=np.float64)
    m = (p + q) / 2

    def kl(a, b):
        return (a * (np.log(np.maximum(a, _EPS)) - np.log(np.maximum(b, _EPS)))
                ).sum(axis=-1)

    return np.maximum(0.5 * kl(p, m) + 0.5 * kl(q, m), 0.0)


def softmax(x: np.ndarray) -> np.ndarray:
    """Softmax over the last axis."""
    x = np.asarray(x, dtype=np.float64)
    e = np.exp(x - x.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)
