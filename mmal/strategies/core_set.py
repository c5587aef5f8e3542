"""Core-set (greedy k-center, Sener and Savarese 2018, as run in the BiB
paper's supplement Eq. 7) and core-set-ent (Eq. 10: distances weighted by
the candidate's entropy-max).

Memory stays linear in the pool: the distance of every candidate to its
nearest centre is one vector, updated after each pick with one
matrix-vector product; the labeled images' features enter in blocks. No
N x N matrix is built.
"""
from typing import Mapping, Optional

import numpy as np

from mmal.registry import STRATEGIES
from .base_strategy import (BaseStrategy, Selection, SelectionContext,
                            StrategyError)
from .entropy_baselines import distribution_entropy


def _sq_norms(x: np.ndarray) -> np.ndarray:
    return np.einsum('ij,ij->i', x, x)


def nearest_center_distances(x: np.ndarray,
                             centers: np.ndarray,
                             block: int = 2048) -> np.ndarray:
    """Euclidean distance of each row of ``x`` to its nearest row of
    ``centers`` (``inf`` when there are none), computed in blocks of
    ``block`` x ``block``."""
    out = np.full(len(x), np.inf, dtype=np.float32)
    if len(centers) == 0:
        return out
    xn = _sq_norms(x)
    for s in range(0, len(centers), block):
        c = np.asarray(centers[s:s + block], dtype=np.float32)
        cn = _sq_norms(c)
        for r in range(0, len(x), 8 * block):
            part = x[r:r + 8 * block] @ c.T
            part *= -2
            part += cn[None]
            best = part.min(axis=1) + xn[r:r + 8 * block]
            np.minimum(out[r:r + 8 * block], best, out=out[r:r + 8 * block])
    return np.sqrt(np.maximum(out, 0.0))


def greedy_k_center(x: np.ndarray,
                    k: int,
                    rng: np.random.Generator,
                    centers: Optional[np.ndarray] = None,
                    weights: Optional[np.ndarray] = None):
    """Greedy k-center: repeatedly pick the row farthest from its nearest
    centre (times ``weights`` when given), then make it a centre.

    Args:
        x (np.ndarray): (N, D) candidate features, float32.
        k (int): Rows to pick (at most N).
        rng (np.random.Generator): Draws the first pick when there are no
            initial ``centers``.
        centers (np.ndarray, optional): (L, D) initial centres.
        weights (np.ndarray, optional): (N,) non-negative weights.

    Returns:
        tuple: picked row indices (k,) in pick order and the value that
        made each one the farthest (0 for a random first pick).
    """
    x = np.ascontiguousarray(x, dtype=np.float32)
    n = len(x)
    k = min(k, n)
    mind = nearest_center_distances(
        x, centers if centers is not None else np.zeros((0, x.shape[1])))
    xn = _sq_norms(x)
    w = None if weights is None else np.asarray(weights, dtype=np.float32)
    picked = np.zeros(k, dtype=np.int64)
    values = np.zeros(k, dtype=np.float64)
    free = np.ones(n, dtype=bool)
    for t in range(k):
        if t == 0 and not np.isfinite(mind).any():
            i = int(rng.integers(n))
            values[t] = 0.0
        else:
            key = mind if w is None else mind * w
            key = np.where(free, key, -np.inf)
            i = int(np.argmax(key))
            values[t] = float(key[i])
        picked[t] = i
        free[i] = False
        d = x @ x[i]
        d *= -2
        d += xn
        d += xn[i]
        np.minimum(mind, np.sqrt(np.maximum(d, 0.0)), out=mind)
    return picked, values


@STRATEGIES.register_module(name=['CoreSet', 'core-set'])
class CoreSet(BaseStrategy):
    """Greedy k-center on pooled image features (``img_feat``), with the
    labeled images as initial centres (a random first pick when there are
    none). Features are stored per image in fp16."""

    requires = ('img_feat', )
    uses_labeled = True

    def summarize(self, fields):
        return {
            'img_feat':
            np.asarray(fields['img_feat'],
                       dtype=np.float32).reshape(-1).astype(np.float16)
        }

    def weights(self, summaries, ids) -> Optional[np.ndarray]:
        return None

    def select(self, summaries: Mapping[int, Mapping[str, np.ndarray]],
               budget: int, context: SelectionContext,
               rng: np.random.Generator) -> Selection:
        ids = np.fromiter(summaries, dtype=np.int64)
        labeled = context.labeled_summaries
        if labeled is None:
            if len(context.labeled_ids):
                raise StrategyError(
                    f'{type(self).__name__} needs the labeled images\' '
                    'img_feat (context.labeled_summaries) as initial centres')
            labeled = {}
        x = np.empty((len(ids), self._dim(summaries, ids)), dtype=np.float32)
        for r, i in enumerate(ids):
            x[r] = summaries[int(i)]['img_feat']
        centers = np.empty((len(labeled), x.shape[1]), dtype=np.float16)
        for r, i in enumerate(labeled):
            centers[r] = labeled[i]['img_feat']
        rows, values = greedy_k_center(x, budget, rng, centers,
                                       self.weights(summaries, ids))
        return Selection(ids=ids[rows], scores=values)

    @staticmethod
    def _dim(summaries, ids) -> int:
        return int(np.asarray(summaries[int(
            ids[0])]['img_feat']).size) if len(ids) else 0


@STRATEGIES.register_module(name=['CoreSetEnt', 'core-set-ent'])
class CoreSetEnt(CoreSet):
    """Core-set whose distances are multiplied by the candidate's
    entropy-max (Eq. 10), so uncertain images far from the labeled set come
    first."""

    requires = ('img_feat', 'cls_probs')

    def summarize(self, fields):
        out = super().summarize(fields)
        h = distribution_entropy(fields['cls_probs'])
        out['entropy_max'] = np.float64(h.max() if h.size else 0.0)
        return out

    def weights(self, summaries, ids) -> np.ndarray:
        return np.array([float(summaries[int(i)]['entropy_max']) for i in ids])
