"""Core-set (greedy k-center, Sener and Savarese 2018, as run in the BiB
paper's supplement Eq. 7) and core-set-ent (Eq. 10: distances weighted by
the candidate's entropy-max).

Memory stays linear in the pool: the distance of every candidate to its
nearest centre is one vector, updated after each pick with one
matrix-vector product; the labeled images' features enter in blocks. No
N x N matrix is built.
"""
import mmap
from typing import Mapping, Optional

import numpy as np
import torch

from mmal.registry import STRATEGIES
from .base_strategy import BaseStrategy, Selection, SelectionContext
from .entropy_baselines import distribution_entropy


def pick_device(device: str = 'auto') -> torch.device:
    """``'auto'``: the GPU when there is one (rank 0 of a GPU run), else the
    CPU."""
    if device == 'auto':
        device = 'cuda' if torch.cuda.is_available() else 'cpu'
    return torch.device(device)


def _sq_norms(x: torch.Tensor) -> torch.Tensor:
    """Squared row norms, without an (N, D) temporary."""
    return torch.linalg.vector_norm(x, dim=1).square_()


@torch.no_grad()
def nearest_center_distances(x: torch.Tensor,
                             centers,
                             block: int = 1024) -> torch.Tensor:
    """Euclidean distance of each row of ``x`` to its nearest row of
    ``centers`` (``inf`` when there are none); ``centers`` (numpy or torch,
    any float dtype) is moved to ``x``'s device ``block`` rows at a time
    and ``x`` is processed ``8 * block`` rows at a time, so the largest
    temporary is ``8 * block`` x ``block``."""
    out = torch.full((len(x), ), float('inf'), device=x.device)
    if len(centers) == 0:
        return out
    xn = _sq_norms(x)
    for s in range(0, len(centers), block):
        c = torch.as_tensor(np.asarray(centers[s:s + block])).to(
            x.device, torch.float32)
        cn = _sq_norms(c)
        for r in range(0, len(x), 8 * block):
            part = x[r:r + 8 * block] @ c.T
            part.mul_(-2).add_(cn[None])
            best = part.min(dim=1)[0] + xn[r:r + 8 * block]
            torch.minimum(out[r:r + 8 * block], best, out=out[r:r + 8 * block])
    return out.clamp_(min=0).sqrt_()


@torch.no_grad()
def greedy_k_center(x: np.ndarray,
                    k: int,
                    rng: np.random.Generator,
                    centers: Optional[np.ndarray] = None,
                    weights: Optional[np.ndarray] = None,
                    device: str = 'auto',
                    refresh: int = 256):
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
        x (np.ndarray): (N, D) candidate features.
        k (int): Rows to pick (at most N).
        rng (np.random.Generator): Draws the first pick when there are no
            initial ``centers``.
        centers (np.ndarray, optional): (L, D) initial centres.
        weights (np.ndarray, optional): (N,) non-negative weights.
        device (str): ``'auto'``, ``'cpu'`` or ``'cuda'``.
        refresh (int): Rows brought up to date at a time. Defaults to 256.

    Returns:
        tuple: picked row indices (k,) in pick order and the value that
        made each one the farthest (0 for a random first pick).
    """
    dev = pick_device(device)
    x = torch.as_tensor(np.asarray(x)).to(dev, torch.float32)
    n = len(x)
    k = min(k, n)
    mind = nearest_center_distances(
        x, centers if centers is not None else np.zeros((0, x.shape[1])))
    xn = _sq_norms(x)
    w = None if weights is None else torch.as_tensor(
        np.asarray(weights, dtype=np.float32)).to(dev)
    picked = np.zeros(k, dtype=np.int64)
    values = np.zeros(k, dtype=np.float64)
    # the picked rows, and how many of them each row's distance accounts for
    chosen = torch.empty((k, x.shape[1]), device=dev)
    chosen_n = torch.empty(k, device=dev)
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


def release_mapped(arrays) -> None:
    """Drop our mapping of the pages behind memory-mapped summary arrays
    (``np.memmap`` views of the shard files) once they have been copied:
    the data stays on disk / in the page cache, but no longer counts in this
    process's memory. Plain arrays are left alone."""
    maps = {}
    for a in arrays:
        m = getattr(a, '_mmap', None)
        if m is not None:
            maps[id(m)] = m
    for m in maps.values():
        try:
            m.madvise(mmap.MADV_DONTNEED)
        except (AttributeError, OSError, ValueError):
            pass


def stack_rows(summaries: Mapping[int, Mapping[str, np.ndarray]],
               ids,
               key: str,
               dtype,
               dim: Optional[int] = None,
               chunk: int = 4096) -> np.ndarray:
    """``summaries[i][key]`` of every id as rows of one (N, D) array,
    releasing the copied shard pages every ``chunk`` rows so the pool's
    features are in memory once, not twice."""
    if dim is None:
        dim = int(np.asarray(summaries[int(ids[0])][key]).size) \
            if len(ids) else 0
    out = np.empty((len(ids), dim), dtype=dtype)
    for start in range(0, len(ids), chunk):
        rows = [summaries[int(i)][key] for i in ids[start:start + chunk]]
        for r, row in enumerate(rows):
            out[start + r] = row
        release_mapped(rows)
    return out


@STRATEGIES.register_module(name=['CoreSet', 'core-set'])
class CoreSet(BaseStrategy):
    """Greedy k-center on pooled image features (``img_feat``), with the
    labeled images as initial centres (a random first pick when there are
    none). Features are stored per image in fp16."""

    requires = ('img_feat', )
    uses_labeled = True

    def __init__(self, device: str = 'auto'):
        if device not in ('auto', 'cpu', 'cuda'):
            raise ValueError(f"device must be 'auto', 'cpu' or 'cuda', got "
                             f'{device!r}')
        self.device = device

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
        labeled = self.labeled_summaries(context, 'img_feat')
        x = stack_rows(summaries, ids, 'img_feat', np.float32)
        centers = stack_rows(labeled, list(labeled), 'img_feat', np.float16,
                             x.shape[1])
        rows, values = greedy_k_center(x, budget, rng, centers,
                                       self.weights(summaries, ids),
                                       self.device)
        return Selection(ids=ids[rows], scores=values)


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
