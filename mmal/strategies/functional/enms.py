"""ENMS (Algorithm 1) and DivProto's class prototypes (Eq. 3) of Wu, Chen
and Huang, CVPR 2022."""
import numpy as np


def unit_rows(x: np.ndarray) -> np.ndarray:
    """Rows scaled to unit L2 norm (zero rows stay zero)."""
    x = np.asarray(x, dtype=np.float32)
    norm = np.linalg.norm(x, axis=-1, keepdims=True)
    return x / np.maximum(norm, 1e-12)


def enms(labels: np.ndarray, entropies: np.ndarray, feats: np.ndarray,
         threshold: float) -> np.ndarray:
    """Algorithm 1: indices of the detections ENMS keeps, in pick order.

    Repeatedly take the remaining detection with the largest entropy (the
    lower index on ties) and drop every remaining detection of the same
    class whose feature has cosine similarity ``> threshold`` with it.
    The image's ENMS entropy is ``entropies[kept].sum()``.

    Args:
        labels (np.ndarray): (N,) classes.
        entropies (np.ndarray): (N,) instance entropies.
        feats (np.ndarray): (N, D) instance features.
        threshold (float): Cosine similarity above which a look-alike is
            suppressed.
    """
    n = len(labels)
    if n == 0:
        return np.zeros((0, ), dtype=np.int64)
    unit = unit_rows(feats)
    order = np.argsort(-np.asarray(entropies), kind='stable')
    alive = np.ones(n, dtype=bool)
    kept = []
    for k in order:
        if not alive[k]:
            continue
        kept.append(k)
        alive[k] = False
        same = alive & (labels == labels[k])
        if same.any():
            idx = np.nonzero(same)[0]
            sim = unit[idx] @ unit[k]
            alive[idx[sim > threshold]] = False
    return np.asarray(kept, dtype=np.int64)


def class_prototypes(labels: np.ndarray, entropies: np.ndarray,
                     feats: np.ndarray):
    """Eq. 3: per predicted class, the entropy-weighted mean of its
    detections' features. A class whose detections all have zero entropy
    (scores of exactly 0 or 1) gets the plain mean.

    Returns:
        tuple: ``classes`` (K,) sorted, ``protos`` (K, D) float32.
    """
    classes = np.unique(labels)
    feats = np.asarray(feats, dtype=np.float64)
    protos = np.zeros((len(classes), feats.shape[1] if feats.ndim == 2 else 0))
    for j, c in enumerate(classes):
        m = labels == c
        w = np.asarray(entropies, dtype=np.float64)[m]
        if w.sum() <= 0:
            w = np.ones_like(w)
        protos[j] = (w[:, None] * feats[m]).sum(0) / w.sum()
    return classes, protos.astype(np.float32)
