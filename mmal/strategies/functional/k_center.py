"""Greedy k-center (Sener and Savarese 2018), the selection of core-set.

Memory stays linear in the pool: the distance of every candidate to its
nearest centre is one vector; the initial centres enter in blocks. No
N x N matrix is built.
"""
from typing import Optional

import numpy as np
import torch

from mmal.utils.choices import check_one_of

#: ``'pruned'`` (triangle-inequality pruning, same picks) or the unpruned
#: ``'reference'``.
EXACT = ('pruned', 'reference')


def _sq_norms(x: torch.Tensor) -> torch.Tensor:
    """Squared row norms, without an (N, D) temporary."""
    return torch.linalg.vector_norm(x, dim=1).square_()


@torch.no_grad()
def nearest_center_distances(x: torch.Tensor,
                             centers,
                             block: int = 1024,
                             return_index: bool = False):
    """Euclidean distance of each row of ``x`` to its nearest row of
    ``centers`` (``inf`` when there are none); ``centers`` (numpy or torch,
    any float dtype) is moved to ``x``'s device and dtype ``block`` rows
    at a time and ``x`` is processed ``8 * block`` rows at a time, so the
    largest temporary is ``8 * block`` x ``block``. With ``return_index``, also
    the (N,) row of that nearest centre (-1 when there are none)."""
    out = torch.full((len(x), ), float('inf'), device=x.device, dtype=x.dtype)
    arg = torch.full((len(x), ), -1, dtype=torch.long, device=x.device)
    if len(centers) == 0:
        return (out, arg) if return_index else out
    xn = _sq_norms(x)
    for s in range(0, len(centers), block):
        c = torch.as_tensor(np.asarray(centers[s:s + block])).to(
            x.device, x.dtype)
        cn = _sq_norms(c)
        for r in range(0, len(x), 8 * block):
            part = x[r:r + 8 * block] @ c.T
            part.mul_(-2).add_(cn[None])
            best, where = part.min(dim=1)
            best += xn[r:r + 8 * block]
            if return_index:
                closer = best < out[r:r + 8 * block]
                arg[r:r + 8 * block][closer] = where[closer] + s
            torch.minimum(out[r:r + 8 * block], best, out=out[r:r + 8 * block])
    out.clamp_(min=0).sqrt_()
    return (out, arg) if return_index else out


@torch.no_grad()
def greedy_k_center(x,
                    k: int,
                    rng: np.random.Generator,
                    centers: Optional[np.ndarray] = None,
                    weights: Optional[np.ndarray] = None,
                    refresh: int = 256,
                    exact: str = 'pruned',
                    stats: Optional[dict] = None):
    """Greedy k-center: repeatedly pick the row farthest from its nearest
    centre (times ``weights`` when given), then make it a centre.

    Lazy evaluation: a row's distance to its nearest centre only shrinks as
    centres are added, so a value computed against the first centres is an
    upper bound of the current one. Each pick takes the rows with the
    largest bounds, brings the stale ones up to date against the centres
    added since (one matrix product for ``refresh`` rows at a time) and
    stops as soon as the largest value is up to date: it is then the
    largest of all. The picks are those of the eager algorithm (one
    matrix-vector product over the whole pool per pick) but only the rows
    that can still be the farthest are ever updated. Memory is O(N D) for
    ``x`` plus O(k D) for the picked centres; no N x N matrix.

    Args:
        x (np.ndarray | torch.Tensor): (N, D) candidate features; the work
            runs on the tensor's device.
        k (int): Rows to pick (at most N).
        rng (np.random.Generator): Draws the first pick when there are no
            initial ``centers``.
        centers (np.ndarray, optional): (L, D) initial centres.
        weights (np.ndarray, optional): (N,) non-negative weights.
        refresh (int): Rows brought up to date at a time. Defaults to 256.
        exact (str): ``'pruned'``: the same picks with the distances that
            the triangle inequality shows cannot lower a row's minimum
            skipped (:func:`greedy_k_center_pruned`); ``'reference'``: the
            lazy algorithm described above. Defaults to 'pruned'.
        stats (dict, optional): Filled with the distance computations
            done and skipped (``'pruned'`` only).

    Returns:
        tuple: picked row indices (k,) in pick order and the value that
        made each one the farthest (0 for a random first pick).
    """
    check_one_of('exact', exact, EXACT)
    if exact == 'pruned':
        from .k_center_pruned import greedy_k_center_pruned
        return greedy_k_center_pruned(x, k, rng, centers, weights, stats=stats)
    # float64 distances (as the pruned algorithm's): float32 rounding
    # would otherwise decide near-ties among the farthest rows
    x = torch.as_tensor(x).double()
    dev = x.device
    n = len(x)
    k = min(k, n)
    mind = nearest_center_distances(
        x, centers if centers is not None else np.zeros((0, x.shape[1])))
    xn = _sq_norms(x)
    w = None if weights is None else torch.as_tensor(
        np.asarray(weights, dtype=np.float32)).to(dev, x.dtype)
    picked = np.zeros(k, dtype=np.int64)
    values = np.zeros(k, dtype=np.float64)
    # the picked rows, and how many of them each row's distance accounts for
    chosen = torch.empty((k, x.shape[1]), device=dev, dtype=x.dtype)
    chosen_n = torch.empty(k, device=dev, dtype=x.dtype)
    seen = torch.zeros(n, dtype=torch.long, device=dev)
    taken = torch.zeros(n, dtype=torch.bool, device=dev)
    for t in range(k):
        if t == 0 and not torch.isfinite(mind).any():
            i = int(rng.integers(n))
        else:
            m = min(refresh, n - t)
            while True:
                key = mind if w is None else mind * w
                top = torch.topk(key.masked_fill(taken, -float('inf')), m)[1]
                stale = top[seen[top] < t]
                if stale.numel() == 0 or int(seen[top[0]]) == t:
                    break
                lo = int(seen[stale].min())
                d = x[stale] @ chosen[lo:t].T
                d.mul_(-2).add_(chosen_n[None, lo:t]).add_(xn[stale, None])
                d = d.min(dim=1)[0].clamp_(min=0).sqrt_()
                mind[stale] = torch.minimum(mind[stale], d)
                seen[stale] = t
            # the largest key is up to date; ties: the lowest index
            best = key.masked_fill(taken, -float('inf'))
            top_value = best[top[0]]
            fresh = (best == top_value) & (seen == t)
            i = int(torch.nonzero(fresh)[0]) if bool(fresh.any()) else int(
                top[0])
            values[t] = float(best[i])
        picked[t] = i
        taken[i] = True
        chosen[t] = x[i]
        chosen_n[t] = xn[i]
        if t == 0 and not torch.isfinite(mind).any():
            # the random first pick: every distance is to it
            mind = torch.mv(x, x[i]).mul_(-2).add_(xn).add_(xn[i])
            mind.clamp_(min=0).sqrt_()
            seen.fill_(1)
    return picked, values
