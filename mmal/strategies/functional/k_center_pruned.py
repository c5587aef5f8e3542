"""Greedy k-center (core-set's selection) with triangle-inequality pruning:
the picks of :func:`mmal.strategies.functional.greedy_k_center`'s
reference algorithm, with the distances that provably cannot lower a row's
nearest-centre distance skipped.

Anchors: ``num_anchors`` rows of the pool at an even stride (no random
draw, so the caller's generator sees the reference's draws). Every row
``x`` and every centre ``c`` knows its nearest anchor ``g`` and the
distance to it, so ``|x - c| >= | |x - g| - |c - g| |`` (the triangle
inequality through ``g``) bounds a distance from below at the cost of a
subtraction.

* Initial distances to the labeled centres: the centres are grouped by
  their nearest anchor. Each row is first compared with the centres of its
  own anchor's group (an upper bound of its minimum), then with every other
  group whose lower bound ``max(|x - g| - max_c |c - g|, min_c |c - g| -
  |x - g|)`` is below the row's current minimum.
* Each pick ``c``: one distance from ``c`` to every anchor, then only the
  rows with ``| |x - g(x)| - |c - g(x)| | <`` their current minimum are
  compared with ``c`` (the others' minimum cannot change).

The bounds are float32; every skip keeps a margin of ``1e-2`` times the
largest row norm for their rounding, so a skipped distance is one that
could not have lowered the minimum. The distances that are computed are
float64, as the reference's: both then agree to about 1e-15, so the picks
(ties: the lowest index) are the reference's unless two candidates are
that close to a tie.
"""
from typing import Optional

import numpy as np
import torch

from .k_center import _sq_norms

#: Rows of the pool used as anchors of the triangle bounds.
NUM_ANCHORS = 256


def sq_distances(x: torch.Tensor, xn: torch.Tensor, c: torch.Tensor,
                 cn: torch.Tensor) -> torch.Tensor:
    """(N, M) squared Euclidean distances of the rows of ``x`` to those of
    ``c`` from their squared norms ``xn``, ``cn`` (clamped at 0); the
    arithmetic of :func:`nearest_center_distances`."""
    d = x @ c.T
    return d.mul_(-2).add_(cn[None]).add_(xn[:, None]).clamp_(min=0)


def _chunks(group: torch.Tensor, dist: torch.Tensor, num: int, size: int):
    """Rows sorted by their anchor ``group`` then by ``dist`` to it, cut
    into chunks of at most ``size`` rows of one anchor: the rows of each
    chunk, its anchor, and the least and largest ``dist`` in it."""
    order = np.lexsort((dist.cpu().numpy(), group.cpu().numpy()))
    g_sorted = group.cpu().numpy()[order]
    bounds = np.searchsorted(g_sorted, np.arange(num + 1))
    rows, anchor = [], []
    for g in range(num):
        for lo in range(bounds[g], bounds[g + 1], size):
            rows.append(
                torch.from_numpy(order[lo:min(lo + size, bounds[g + 1])]))
            anchor.append(g)
    anchor = torch.as_tensor(anchor, dtype=torch.long)
    lo = torch.stack([dist[r].min() for r in rows]) if rows else dist[:0]
    hi = torch.stack([dist[r].max() for r in rows]) if rows else dist[:0]
    return rows, anchor, lo, hi


def exact_min(x: torch.Tensor, c: torch.Tensor, d2: torch.Tensor,
              tol: float) -> torch.Tensor:
    """Float64 squared distance of each row of ``x`` to its nearest row of
    ``c``, recomputing in float64 only the pairs whose float32 squared
    distance ``d2`` (N, M) is within ``tol`` of the row's least."""
    best = d2.min(dim=1, keepdim=True)[0]
    r, k = torch.nonzero(d2 <= best + tol, as_tuple=True)
    diff = x[r].double() - c[k].double()
    exact = diff.square_().sum(dim=1)
    out = torch.full((len(x), ), float('inf'), dtype=torch.float64)
    return out.scatter_reduce_(0, r, exact, 'amin')


@torch.no_grad()
def nearest_center_pruned(x: torch.Tensor,
                          centers: torch.Tensor,
                          to_anchor: torch.Tensor,
                          anchors: torch.Tensor,
                          margin: float,
                          tol: float,
                          chunk: int = 32):
    """Float64 distance of every row of ``x`` to its nearest centre
    (``inf`` when there are none), skipping the chunks of centres the
    anchor bound rules out (see the module docstring).

    Args:
        x (torch.Tensor): (N, D) float32 rows.
        centers (torch.Tensor): (L, D) float32 centres.
        to_anchor (torch.Tensor): (N, G) distance of every row to every
            anchor.
        anchors (torch.Tensor): (G, D) the anchors.
        margin (float): Rounding margin of the skips (distance).
        tol (float): Rounding margin of the float32 squared distances.
        chunk (int): Centres per chunk of one anchor.

    Returns:
        tuple: (N,) float64 distances, and the distances computed.
    """
    n, num = len(x), anchors.shape[0]
    u = torch.full((n, ), float('inf'), dtype=torch.float64)
    if len(centers) == 0:
        return u, 0
    cn = _sq_norms(centers)
    c_dist, c_group = sq_distances(centers, cn, anchors,
                                   _sq_norms(anchors)).sqrt_().min(dim=1)
    c_rows, c_anchor, c_lo, c_hi = _chunks(c_group, c_dist, num, chunk)
    x_group = to_anchor.argmin(dim=1)
    order = torch.argsort(x_group, stable=True)
    bounds = torch.searchsorted(x_group[order], torch.arange(num + 1))
    xn = _sq_norms(x)
    computed = 0
    for g in range(num):
        rows = order[bounds[g]:bounds[g + 1]]
        if not len(rows):
            continue
        xr, xrn, ta = x[rows], xn[rows], to_anchor[rows][:, c_anchor]
        # own chunks first: an upper bound of the minimum, then the others
        # whose lower bound is below it for some row
        own = c_anchor == g
        lb = torch.maximum(ta - c_hi, c_lo - ta)
        d2_parts, cols = [], []
        ub = torch.full((len(rows), ), float('inf'))
        for sel in (own, None):
            if sel is None:
                sel = ~own & (lb <= ub.sqrt()[:, None] + margin).any(dim=0)
            idx = torch.nonzero(sel)[:, 0].tolist()
            if not idx:
                continue
            members = torch.cat([c_rows[i] for i in idx])
            d2 = sq_distances(xr, xrn, centers[members], cn[members])
            ub = torch.minimum(ub, d2.min(dim=1)[0])
            d2_parts.append(d2)
            cols.append(members)
        if not cols:
            continue
        members = torch.cat(cols)
        computed += len(rows) * len(members)
        u[rows] = exact_min(xr, centers[members], torch.cat(d2_parts, 1), tol)
    return u.sqrt_(), computed


@torch.no_grad()
def greedy_k_center_pruned(x,
                           k: int,
                           rng: np.random.Generator,
                           centers: Optional[np.ndarray] = None,
                           weights: Optional[np.ndarray] = None,
                           num_anchors: int = NUM_ANCHORS,
                           stats: Optional[dict] = None):
    """Greedy k-center with triangle-inequality pruning: the arguments and
    picks of :func:`greedy_k_center` (``exact='reference'``); see the
    module docstring.

    Args:
        num_anchors (int): Anchors of the bounds. Defaults to 256.
        stats (dict, optional): Filled with ``distances_computed`` and
            ``distances_skipped`` (row-centre distances, against the
            unpruned eager algorithm's ``N x (L + k - 1)``).

    Returns:
        tuple: picked row indices (k,) in pick order and the value that
        made each one the farthest (0 for a random first pick).
    """
    x = torch.as_tensor(x).float()
    if x.device.type != 'cpu':
        x = x.cpu()  # the bookkeeping is CPU-bound; the reference on GPUs
    n = len(x)
    k = min(k, n)
    picked = np.zeros(k, dtype=np.int64)
    values = np.zeros(k, dtype=np.float64)
    if k == 0:
        return picked, values
    if centers is None:
        centers = np.zeros((0, x.shape[1]), np.float32)
    centers = torch.as_tensor(np.asarray(centers)).float()
    xn = _sq_norms(x)
    a_idx = torch.from_numpy(
        np.unique(
            np.linspace(0, n - 1, min(n,
                                      num_anchors)).round().astype(np.int64)))
    anchors, an = x[a_idx], xn[a_idx]
    to_anchor = torch.cat([
        sq_distances(x[s:s + 8192], xn[s:s + 8192], anchors, an)
        for s in range(0, n, 8192)
    ]).sqrt_()
    x_dist, x_group = to_anchor.min(dim=1)
    norm = float(xn.max())
    if len(centers):
        norm = max(norm, float(_sq_norms(centers).max()))
    margin, tol = 1e-2 * norm**0.5, 1e-4 * norm
    mind, computed = nearest_center_pruned(x, centers, to_anchor, anchors,
                                           margin, tol)
    del to_anchor
    w = None if weights is None else torch.as_tensor(
        np.asarray(weights, dtype=np.float32)).double()  # as the reference
    key = mind.clone() if w is None else mind * w
    # rows compared with a new centre: bound <= thr (taken rows: never)
    thr = mind.float() + margin
    for t in range(k):
        first = t == 0 and not bool(torch.isfinite(mind).any())
        if first:
            i = int(rng.integers(n))
        else:
            i = int(torch.argmax(key))  # ties: the lowest index
            values[t] = float(key[i])
        picked[t] = i
        if t == k - 1:
            break
        key[i] = thr[i] = -float('inf')
        c, cn = x[i], xn[i]
        if first:
            rows = torch.arange(n)
        else:
            c_anchor = an.sub(
                anchors @ c, alpha=2).add_(cn).clamp_(min=0).sqrt_()
            lb = (c_anchor[x_group] - x_dist).abs_()
            rows = torch.nonzero(lb <= thr)[:, 0]
        computed += len(rows)
        for s in range(0, len(rows), 8192):
            r = rows[s:s + 8192]
            xr = x[r]
            d2 = torch.mv(xr, c).mul_(-2).add_(cn).add_(xn[r])
            # float64 where the minimum may change
            hit = torch.nonzero(d2.double() <= mind[r].square() + tol)[:, 0]
            if not len(hit):
                continue
            rh = r[hit]
            d = (xr[hit].double() - c.double()).square_().sum(dim=1).sqrt_()
            new = torch.minimum(mind[rh], d)
            mind[rh] = new
            key[rh] = new if w is None else new * w[rh]
            thr[rh] = new.float() + margin
        key[i] = thr[i] = -float('inf')  # never again
    if stats is not None:
        total = n * (len(centers) + k - 1)
        stats.update(
            distances_computed=int(computed),
            distances_skipped=int(total - computed))
    return picked, values
