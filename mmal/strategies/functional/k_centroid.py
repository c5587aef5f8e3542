"""PPAL's k-centroid clustering: k-medoids over a distance matrix, started
from a greedy farthest-first pick."""
from typing import Tuple

import numpy as np


def farthest_first(dist: np.ndarray, k: int,
                   rng: np.random.Generator) -> np.ndarray:
    """``k`` rows of ``dist`` (M, M): a random first, then repeatedly the
    row farthest from the picked ones (the lower index on ties)."""
    m = dist.shape[0]
    picked = [int(rng.integers(m))]
    nearest = dist[:, picked[0]].astype(np.float64)
    for _ in range(1, min(k, m)):
        key = nearest.copy()
        key[picked] = -1.0
        c = int(np.argmax(key))
        picked.append(c)
        nearest = np.minimum(nearest, dist[:, c])
    return np.asarray(picked, np.int64)


def k_centroid(dist: np.ndarray,
               k: int,
               rng: np.random.Generator,
               max_iter: int = 100) -> Tuple[np.ndarray, int]:
    """k-medoids on a precomputed (M, M) distance matrix, as the released
    PPAL ``DiversitySampler.kmeans``: start from :func:`farthest_first`,
    then alternately assign every row to its nearest medoid (the lower
    index on ties) and move each medoid to the member with the smallest
    distance sum to its cluster; at most ``max_iter`` rounds, stopping when
    the medoids no longer change (the released code always runs 100).

    Returns:
        tuple: ``(medoids, rounds)``: (k,) row indices, cluster order, and
        the rounds run.
    """
    m = dist.shape[0]
    medoids = farthest_first(dist, k, rng)
    for rounds in range(1, max_iter + 1):
        assign = np.argmin(dist[:, medoids], axis=1)
        new = medoids.copy()
        for c in range(len(medoids)):
            members = np.flatnonzero(assign == c)
            if members.size:  # a medoid tied with another may lose its row
                sub = dist[np.ix_(members, members)].sum(axis=1)
                new[c] = members[int(np.argmin(sub))]
        if np.array_equal(new, medoids):
            return medoids, rounds
        medoids = new
    return medoids, max_iter if m else 0
