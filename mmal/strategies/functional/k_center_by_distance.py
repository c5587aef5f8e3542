"""Greedy k-center over any distance given as a function, for distances
that are not Euclidean (CDAL's summed symmetric KL). Memory is what the
distance function uses for a block of centres plus two (N,) vectors; no
N x N matrix is built. (Euclidean features: :func:`greedy_k_center`.)"""
from typing import Callable, Optional

import numpy as np
import torch

#: ``distances(centres)``: (N, B) distances of the N candidates to the
#: B given centres (positions into the candidates, or a centre block the
#: caller knows how to read).
DistanceFn = Callable[[np.ndarray], torch.Tensor]


@torch.no_grad()
def greedy_k_center_by(distances: DistanceFn,
                       n: int,
                       k: int,
                       rng: np.random.Generator,
                       initial: Optional[torch.Tensor] = None):
    """Greedy k-center: repeatedly pick the candidate farthest from its
    nearest centre, then make it a centre.

    Args:
        distances (callable): ``distances(rows)`` -> (n, len(rows)) tensor,
            the distances of every candidate to candidates ``rows`` (int
            array).
        n (int): Candidates.
        k (int): Picks (at most ``n``).
        rng (np.random.Generator): Draws the first pick when ``initial`` is
            None (no initial centres).
        initial (Tensor, optional): (n,) distance of each candidate to its
            nearest initial centre.

    Returns:
        tuple: picked rows (k,) in pick order and the distance that made
        each one the farthest (0 for a random first pick).
    """
    k = min(int(k), int(n))
    picked = np.zeros(k, dtype=np.int64)
    values = np.zeros(k, dtype=np.float64)
    if k == 0:
        return picked, values
    mind = None if initial is None else initial.clone().float()
    taken = None if initial is None else torch.zeros(
        n, dtype=torch.bool, device=initial.device)
    for t in range(k):
        if mind is None:
            i = int(rng.integers(n))
        else:
            key = mind.masked_fill(taken, -float('inf'))
            best = key.max()
            # ties: the lowest index
            i = int(torch.nonzero(key == best)[0])
            values[t] = float(best)
        picked[t] = i
        d = distances(np.array([i]))[:, 0].float()
        mind = d if mind is None else torch.minimum(mind, d)
        if taken is None:
            taken = torch.zeros(n, dtype=torch.bool, device=mind.device)
        taken[i] = True
    return picked, values
