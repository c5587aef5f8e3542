"""Greedy k-center (core-set's selection) with triangle-inequality pruning:
the picks of :func:`mmal.strategies.functional.greedy_k_center`'s
reference algorithm, with the distances that provably cannot lower a row's
nearest-centre distance skipped.

Anchors: ``num_anchors`` rows of the pool, a farthest-first traversal of
rows at an even stride (no random draw, so the caller's generator sees the
reference's draws; every well-separated region gets an anchor), numbered
along a nearest-neighbour chain. Every row ``x`` and every centre ``c``
knows its nearest anchor ``g`` and the distance to it, so ``|x - c| >= |
|x - g| - |c - g| |`` (the triangle inequality through ``g``) bounds a
distance from below at the cost of a subtraction.

The pool is laid out once, sorted by nearest anchor and then by the
distance to it, as one contiguous matrix cut into blocks of 64 rows of one
anchor, and the labeled centres likewise into chunks of 32.

* Initial distances to the labeled centres: each run of rows is first
  compared with the chunks of its own anchor (an upper bound of its
  minimum), then with every other chunk whose lower bound ``max(|x - g| -
  max_c |c - g|, min_c |c - g| - |x - g|)`` is below some row's current
  minimum; adjacent chunks are one matrix product on a slice.
* Each pick ``c``: one distance from ``c`` to every anchor; a row can only
  come nearer to ``c`` than its threshold (current minimum + margin) if
  ``| |x - g(x)| - |c - g(x)| |`` is within it, so per block only the rows
  whose anchor distance lies within the block's largest threshold of
  ``|c - g|`` are compared, one contiguous run each, read in place by a
  matrix-vector product (no gather). The farthest row comes from the
  blocks' largest keys.

The bounds are float32; every skip keeps a margin of ``1e-2`` times the
largest row norm for their rounding, so a skipped distance is one that
could not have lowered the minimum. The distances that are computed are
float64, as the reference's: both then agree to about 1e-15, so the picks
(ties: the lowest index) are the reference's unless two candidates are
that close to a tie (exact duplicates tie at 0 here; the reference's norm
expansion leaves about 1e-7 there).
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


def exact_min(x: torch.Tensor, c: torch.Tensor, members: torch.Tensor,
              d2: torch.Tensor, tol: float) -> torch.Tensor:
    """Float64 squared distance of each row of ``x`` to its nearest row of
    ``c[members]``, recomputing in float64 only the pairs whose float32
    squared distance ``d2`` (N, M) is within ``tol`` of the row's least."""
    best = d2.min(dim=1, keepdim=True)[0]
    r, k = torch.nonzero(d2 <= best + tol, as_tuple=True)
    diff = x[r].double() - c[members[k]].double()
    exact = diff.square_().sum(dim=1)
    out = torch.full((len(x), ), float('inf'), dtype=torch.float64)
    return out.scatter_reduce_(0, r, exact, 'amin')


@torch.no_grad()
def nearest_center_pruned(x: torch.Tensor,
                          centers: torch.Tensor,
                          to_anchor: torch.Tensor,
                          anchors: torch.Tensor,
                          blocks,
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
        blocks (sequence): ``(start, end, g)``: runs of consecutive rows
            of ``x`` whose nearest anchor is ``g``, covering every row.
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
    # the centres sorted by anchor, then distance to it: a chunk is a
    # contiguous slice
    order = torch.from_numpy(np.lexsort((c_dist.numpy(), c_group.numpy())))
    centers, cn = centers[order], cn[order]
    c_dist, c_group = c_dist[order], c_group[order]
    c_start, c_anchor = _cut(c_group.numpy(), num, chunk)
    c_lo, c_hi = c_dist[c_start[:-1]], c_dist[c_start[1:] - 1]
    c_anchor = torch.from_numpy(c_anchor)
    xn = _sq_norms(x)
    computed = 0
    for a, b, g in blocks:
        xr, xrn, ta = x[a:b], xn[a:b], to_anchor[a:b][:, c_anchor]
        # own chunks first: an upper bound of the minimum, then the others
        # whose lower bound is below it for some row
        own = c_anchor == g
        lb = torch.maximum(ta - c_hi, c_lo - ta)
        d2_parts, cols = [], []
        ub = torch.full((b - a, ), float('inf'))
        for sel in (own, None):
            if sel is None:
                sel = ~own & (lb <= ub.sqrt()[:, None] + margin).any(dim=0)
            chunks = torch.nonzero(sel)[:, 0].numpy()
            for lo, hi in zip(*_merge(c_start[chunks], c_start[chunks + 1])):
                d2 = sq_distances(xr, xrn, centers[lo:hi], cn[lo:hi])
                ub = torch.minimum(ub, d2.min(dim=1)[0])
                d2_parts.append(d2)
                cols.append(torch.arange(lo, hi))
        if not cols:
            continue
        members = torch.cat(cols)
        computed += (b - a) * len(members)
        u[a:b] = exact_min(xr, centers, members, torch.cat(d2_parts, 1), tol)
    return u.sqrt_(), computed


def _cut(group: np.ndarray, num: int, size: int):
    """Rows sorted by ``group`` (of ``num``) cut into pieces of at most
    ``size`` rows of one group: (P + 1,) piece starts (the last one the
    end) and (P,) piece groups."""
    bounds = np.searchsorted(group, np.arange(num + 1))
    starts = [
        np.arange(bounds[g], bounds[g + 1], size, dtype=np.int64)
        for g in range(num)
    ]
    owner = np.repeat(np.arange(num), [len(s) for s in starts])
    return np.concatenate(starts + [[len(group)]]).astype(np.int64), owner


def _merge(lo: np.ndarray, hi: np.ndarray, gap: int = 0):
    """The runs ``lo[i]:hi[i]`` (sorted, disjoint) with those at most
    ``gap`` rows apart merged: their starts and ends, as lists."""
    if len(lo) > 1:
        fresh = np.ones(len(lo), dtype=bool)
        fresh[1:] = lo[1:] > hi[:-1] + gap
        last = np.ones(len(lo), dtype=bool)
        last[:-1] = fresh[1:]
        lo, hi = lo[fresh], hi[last]
    return lo.tolist(), hi.tolist()


def farthest_anchors(x: torch.Tensor,
                     xn: torch.Tensor,
                     num: int,
                     sample: int = 16) -> torch.Tensor:
    """Indices of ``num`` anchor rows of ``x``: a farthest-first traversal
    (from row 0, no random draw) of ``sample * num`` rows at an even
    stride, so every well-separated group of rows gets an anchor of its
    own (rows at an even stride alone miss the rare ones, whose rows then
    have only far anchors and weak bounds); in :func:`_chain` order."""
    n = len(x)
    if n <= num:
        return torch.arange(n)
    idx = torch.from_numpy(
        np.unique(
            np.linspace(0, n - 1, min(n,
                                      sample * num)).round().astype(np.int64)))
    s, sn = x[idx], xn[idx]
    chosen = [0]
    d = torch.full((len(idx), ), float('inf'))
    for _ in range(1, num):
        j = chosen[-1]
        d = torch.minimum(d, torch.mv(s, s[j]).mul_(-2).add_(sn).add_(sn[j]))
        d[chosen] = -1.0
        chosen.append(int(torch.argmax(d)))
    anchors = idx[torch.as_tensor(chosen)]
    return anchors[_chain(x[anchors], xn[anchors])]


def _chain(a: torch.Tensor, an: torch.Tensor) -> torch.Tensor:
    """An order of the rows of ``a`` in which each is followed by its
    nearest one not yet taken (from row 0): near anchors get adjacent
    numbers, so the rows and centres of one region lie in adjacent
    groups, and the runs and chunks of a pick merge into fewer, longer
    products."""
    d = sq_distances(a, an, a, an)
    d.fill_diagonal_(float('inf'))
    order = [0]
    d[:, 0] = float('inf')
    for _ in range(1, len(a)):
        j = int(torch.argmin(d[order[-1]]))
        order.append(j)
        d[:, j] = float('inf')
    return torch.as_tensor(order)


class _Layout:
    """The pool rows sorted by nearest anchor, then by the distance to it,
    as one contiguous matrix, cut into blocks of at most ``size``
    consecutive rows of one anchor. A row ``x`` of a block whose anchor is
    ``g`` can be nearer to a new centre ``c`` than its threshold ``thr``
    only if ``| |x - g| - |c - g| | <= thr``, so the rows to compare are,
    per block, one run: those whose anchor distance is within the block's
    largest threshold (its reach) of ``|c - g|``. A few far rows of an
    anchor (whose own group has no anchor) get blocks of their own and do
    not widen the reach of the near ones."""

    def __init__(self, x, xn, x_group, x_dist, num, size: int = 64):
        n = len(x)
        self.perm = torch.from_numpy(
            np.lexsort((x_dist.numpy(), x_group.numpy())))
        self.x, self.xn = x[self.perm], xn[self.perm]
        # the per-pick bookkeeping is on small arrays: numpy
        self.start, self.group = _cut(x_group[self.perm].numpy(), num, size)
        block = np.repeat(np.arange(len(self.group)), np.diff(self.start))
        self.block = torch.from_numpy(block)
        dist = x_dist[self.perm].double().numpy()
        span = 2 * float(dist.max() if n else 0) + 1
        self.base = np.arange(len(self.group), dtype=np.float64) * span
        # block b's rows at distance r from its anchor sort at b * span + r
        self.key = block * span + dist
        # each block's least and largest anchor distance
        self.first = dist[self.start[:-1]]
        self.last = dist[self.start[1:] - 1]

    def blocks(self, rows: int = 256, spread: float = 1.25):
        """``(start, end, anchor)`` of runs of consecutive blocks of one
        anchor, at most ``rows`` rows (bigger products), a new one where
        the anchor distance jumps past ``spread`` times the run's first
        (far rows apart from near ones)."""
        s = self.start.tolist()
        first = self.first.tolist()
        out = []
        for j, g in enumerate(self.group.tolist()):
            if out and out[-1][2] == g and s[j + 1] - out[-1][0] <= rows \
                    and first[j] <= spread * out[-1][3]:
                out[-1][1] = s[j + 1]
            else:
                out.append([s[j], s[j + 1], g, first[j]])
        return [(a, b, g) for a, b, g, _ in out]

    def reach(self, thr: torch.Tensor) -> torch.Tensor:
        """Every block's largest value of ``thr`` (N,)."""
        out = torch.full((len(self.group), ), -float('inf'), dtype=thr.dtype)
        return out.scatter_reduce_(0, self.block, thr, 'amax')

    def runs(self, c_anchor: torch.Tensor, reach: torch.Tensor, gap: int = 32):
        """``(starts, ends)`` of the runs of sorted positions of the rows
        whose anchor distance is within their block's ``reach`` of the
        centre's distance ``c_anchor`` (G,) to their anchor: one run per
        block at most, runs at most ``gap`` rows apart merged."""
        c = c_anchor.double().numpy()[self.group]
        r = reach.double().numpy()
        near = np.flatnonzero((self.first <= c + r) & (self.last >= c - r))
        c, r = c[near], r[near]
        lo = np.searchsorted(self.key, self.base[near] + (c - r))
        hi = np.searchsorted(self.key, self.base[near] + (c + r), side='right')
        lo = np.maximum(lo, self.start[near])
        hi = np.minimum(hi, self.start[near + 1])
        keep = hi > lo
        return _merge(lo[keep], hi[keep], gap)

    def argmax(self, key: torch.Tensor, top: torch.Tensor) -> int:
        """Position of the largest ``key`` from the blocks' largest
        (``top``); ties: the lowest index of the pool."""
        j = int(torch.argmax(top))
        best = top[j]
        blocks = torch.nonzero(top == best)[:, 0].tolist()
        start = self.start
        rows = torch.cat([
            torch.nonzero(key[start[b]:start[b + 1]] == best)[:, 0] +
            int(start[b]) for b in blocks
        ])
        if len(rows) == 1:
            return int(rows[0])
        return int(rows[torch.argmin(self.perm[rows])])


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
    a_idx = farthest_anchors(x, xn, num_anchors)
    anchors, an = x[a_idx], xn[a_idx]
    num = len(a_idx)
    to_anchor = torch.cat([
        sq_distances(x[s:s + 8192], xn[s:s + 8192], anchors, an)
        for s in range(0, n, 8192)
    ]).sqrt_()
    x_dist, x_group = to_anchor.min(dim=1)
    norm = float(xn.max())
    if len(centers):
        norm = max(norm, float(_sq_norms(centers).max()))
    margin, tol = 1e-2 * norm**0.5, 1e-4 * norm
    lay = _Layout(x, xn, x_group, x_dist, num)
    perm = lay.perm
    mind, computed = nearest_center_pruned(lay.x, centers, to_anchor[perm],
                                           anchors, lay.blocks(), margin, tol)
    del to_anchor
    w = None if weights is None else torch.as_tensor(
        np.asarray(weights, dtype=np.float32)).double()[perm]  # as the ref.
    key = mind.clone() if w is None else mind * w
    # rows compared with a new centre: |x - g| within thr of |c - g|
    thr = mind.float() + margin
    reach = lay.reach(thr)
    top = lay.reach(key)  # every block's largest key
    taken = torch.zeros(n, dtype=torch.bool)
    buf = torch.empty(n)
    for t in range(k):
        first = t == 0 and not bool(torch.isfinite(mind).any())
        if first:
            i = int(torch.nonzero(perm == int(rng.integers(n)))[0, 0])
        else:
            i = lay.argmax(key, top)
            values[t] = float(key[i])
        picked[t] = int(perm[i])
        if t == k - 1:
            break
        key[i] = thr[i] = -float('inf')
        taken[i] = True
        c, cn = lay.x[i], lay.xn[i]
        if first:
            starts, ends = [0], [n]
        else:
            c_anchor = an.sub(
                anchors @ c, alpha=2).add_(cn).clamp_(min=0).sqrt_()
            starts, ends = lay.runs(c_anchor, reach)
        touched = [int(lay.block[i])]
        offset = 0
        for a, b in zip(starts, ends):  # the runs, read in place
            torch.mv(lay.x[a:b], c, out=buf[offset:offset + b - a])
            offset += b - a
        computed += offset
        if offset:
            rows = torch.from_numpy(
                np.concatenate([np.arange(a, b)
                                for a, b in zip(starts, ends)]))
            d2 = buf[:offset].mul_(-2).add_(cn).add_(lay.xn[rows])
            # float64 where the minimum may change
            hit = rows[d2.double() <= mind[rows].square() + tol]
            hit = hit[~taken[hit]]
            if len(hit):
                d = (lay.x[hit].double() -
                     c.double()).square_().sum(dim=1).sqrt_()
                new = torch.minimum(mind[hit], d)
                mind[hit] = new
                key[hit] = new if w is None else new * w[hit]
                thr[hit] = new.float() + margin
                touched += lay.block[hit].tolist()
        for j in set(touched):  # their blocks' largest thr and key
            lo, hi = int(lay.start[j]), int(lay.start[j + 1])
            reach[j] = thr[lo:hi].max()
            top[j] = key[lo:hi].max()
    if stats is not None:
        total = n * (len(centers) + k - 1)
        stats.update(
            distances_computed=int(computed),
            distances_skipped=int(total - computed))
    return picked, values
