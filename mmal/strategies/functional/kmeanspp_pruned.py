"""BiB's k-means++ over image groups with triangle-inequality pruning (Raff,
"Exact Acceleration of K-Means++ and K-Means||", IJCAI 2021): the picks
of :func:`mmal.strategies.functional.kmeanspp_images`'s reference
algorithm, with the pair-to-centre distances that provably cannot lower a
pair's minimum skipped.

Every pair keeps its nearest centre ``a`` and squared distance ``u^2``.
For a new group of centres ``G`` (a candidate image's pairs), the
distances from every centre to ``G`` are computed once (centres x |G|);
a pair with ``min_{c in G} |a - c| >= 2 u`` is skipped, since then
``|x - c| >= |a - c| - u >= u`` for every ``c`` in ``G``: its minimum
cannot change. Only the other pairs' rows are read from the pair matrix
and compared with ``G``. The local trials' potentials are the same sums
over the pairs' updated minima, the skipped pairs contributing their
current one, so every candidate is scored exactly as by the reference.

The test keeps a margin of ``1e-3`` times the largest squared row norm
for the rounding of the float32 distances, so a skipped distance is one
that could not have lowered the minimum.
"""
from typing import List, Optional, Sequence, Tuple

import numpy as np
import torch

from .k_center import nearest_center_distances
from .kmeanspp_trials import draw_trial_pairs


def group_rows(pair_image: np.ndarray, num_images: int):
    """The rows of every image: ``order`` (P,) and ``bounds``
    (num_images + 1,) such that image ``i``'s rows are
    ``order[bounds[i]:bounds[i + 1]]``."""
    pair_image = np.asarray(pair_image, dtype=np.int64)
    order = np.argsort(pair_image, kind='stable')
    bounds = np.searchsorted(pair_image[order], np.arange(num_images + 1))
    return order, bounds


class _Centres:
    """The centre rows so far (a growing float32 buffer)."""

    def __init__(self, dim: int, device):
        self.buf = torch.empty((0, dim), device=device)
        self.norms = torch.empty(0, device=device)
        self.count = 0

    def add(self, rows: torch.Tensor, norms: torch.Tensor) -> int:
        """Append ``rows``; returns the id of the first."""
        start = self.count
        if self.count + len(rows) > len(self.buf):
            cap = max(2 * len(self.buf), self.count + len(rows), 256)
            buf = torch.empty((cap, self.buf.shape[1]), device=self.buf.device)
            nrm = torch.empty(cap, device=self.buf.device)
            buf[:self.count] = self.buf[:self.count]
            nrm[:self.count] = self.norms[:self.count]
            self.buf, self.norms = buf, nrm
        self.buf[start:start + len(rows)] = rows
        self.norms[start:start + len(rows)] = norms
        self.count += len(rows)
        return start

    def min_sq_distance_to(self, c: torch.Tensor,
                           cn: torch.Tensor) -> torch.Tensor:
        """(count,) squared distance of every centre to its nearest row of
        ``c``."""
        if not self.count:
            return torch.empty(0, device=c.device)
        d = torch.addmm(cn[None], self.buf[:self.count], c.T, alpha=-2)
        return d.min(dim=1)[0].add_(self.norms[:self.count]).clamp_(min=0)


@torch.no_grad()
def kmeanspp_images_pruned(
        pairs,
        pair_image: np.ndarray,
        num_images: int,
        budget: int,
        rng: np.random.Generator,
        centers: Optional[np.ndarray] = None,
        preselected: Sequence[int] = (),
        sampling: str = 'squared',
        local_trials: Optional[int] = None,
        stats: Optional[dict] = None) -> Tuple[List[int], List[float]]:
    """k-means++ over image groups with triangle-inequality pruning: the
    arguments, draws and picks of :func:`kmeanspp_images`
    (``exact='reference'``); see the module docstring.

    Args:
        stats (dict, optional): Filled with ``distances_computed`` and
            ``distances_skipped`` (pair-to-centre distances, against the
            reference's pairs x centres of every candidate) and
            ``centre_distances`` (the centre-to-centre ones).
    """
    dev = pairs.device
    n_pairs = pairs.num_rows
    if not n_pairs:  # as the reference: nothing to draw
        if stats is not None:
            stats.update(
                distances_computed=0, distances_skipped=0, centre_distances=0)
        return [], []
    pair_image = np.asarray(pair_image, dtype=np.int64)
    order, bounds = group_rows(pair_image, num_images)

    def pairs_of(img: int) -> np.ndarray:
        return order[bounds[img]:bounds[img + 1]]

    d2 = torch.full((n_pairs, ), float('inf'), device=dev)
    nearest = torch.full((n_pairs, ), -1, dtype=torch.long, device=dev)
    sq_norms = torch.empty(n_pairs, device=dev)
    table = _Centres(pairs.dim, dev)
    counts = dict(computed=0, skipped=0, centre=0)
    labeled = centers is not None and len(centers)
    if labeled:
        c0 = torch.as_tensor(np.asarray(centers)).to(dev, torch.float32)
        table.add(c0, torch.linalg.vector_norm(c0, dim=1).square_())
    for start, x in pairs.iter_blocks():
        sl = slice(start, start + len(x))
        sq_norms[sl] = torch.linalg.vector_norm(x, dim=1).square_()
        if labeled:
            dist, arg = nearest_center_distances(x, c0, return_index=True)
            d2[sl], nearest[sl] = dist.square_(), arg
    if labeled:
        counts['computed'] += n_pairs * len(c0)
    tol = 1e-3 * float(
        max(sq_norms.max() if n_pairs else 0,
            table.norms[:table.count].max() if table.count else 0))
    taken = torch.zeros(n_pairs, dtype=torch.bool, device=dev)

    def evaluate(images: Sequence[int]):
        """For each image: the pairs' squared distances to the nearest
        centre with the image's pairs added (a full vector) and the rows
        whose minimum changed with their new nearest centre (ids from
        ``table.count`` on, in the image's row order)."""
        cand = []
        need_any = np.zeros(n_pairs, dtype=bool)
        for img in images:
            rows = pairs_of(img)
            c = torch.from_numpy(pairs.rows(rows)).to(dev)
            cn = torch.linalg.vector_norm(c, dim=1).square_()
            cc = table.min_sq_distance_to(c, cn)
            counts['centre'] += table.count * len(rows)
            # skip when |a - G|^2 >= 4 u^2: the minimum cannot change
            skip = taken.clone()
            if table.count:
                skip |= (nearest >= 0) & (
                    cc[nearest.clamp(min=0)] >= 4 * d2 + tol)
            need = (~skip).cpu().numpy()
            need_any |= need
            cand.append((c, cn, need))
        near = [d2.clone() for _ in images]
        changed: List[list] = [[] for _ in images]
        # candidates needing most of the rows any candidate needs share one
        # product per block (no copy of the rows); the others get theirs
        n_any = int(need_any.sum())
        shared = [
            j for j, (_, _, need) in enumerate(cand)
            if 2 * int(need.sum()) >= n_any
        ]
        edges = dict(
            zip(shared, np.cumsum([0] + [len(cand[j][0]) for j in shared])))
        if shared:
            c_sh = torch.cat([cand[j][0] for j in shared])
            cn_sh = torch.cat([cand[j][1] for j in shared])
        computed = 0
        for index, x in pairs.iter_selected(need_any):
            idx_all = torch.from_numpy(index).to(dev)
            if shared:
                prod = torch.addmm(cn_sh[None], x, c_sh.T, alpha=-2)
                computed += len(index) * len(c_sh)
            for j, (c, cn, need) in enumerate(cand):
                sub = need[index]
                if not sub.any():
                    continue
                rows = torch.from_numpy(sub).to(dev)
                idx = idx_all[rows]
                if j in edges:
                    part = prod[rows, edges[j]:edges[j] + len(c)]
                else:
                    part = torch.addmm(cn[None], x[rows], c.T, alpha=-2)
                    computed += int(sub.sum()) * len(c)
                best, arg = part.min(dim=1)
                best = best.add_(sq_norms[idx]).clamp_(min=0)
                closer = best < near[j][idx]
                near[j][idx] = torch.minimum(near[j][idx], best)
                changed[j].append((idx[closer], arg[closer]))
        counts['computed'] += computed
        counts['skipped'] += n_pairs * sum(len(c) for c, _, _ in cand) - \
            computed
        return near, changed, cand

    picked: List[int] = []
    values: List[float] = []

    def take(img: int, near_j, changed_j, c, cn) -> None:
        nonlocal d2
        first = table.add(c, cn)
        d2 = near_j
        for idx, arg in changed_j:
            nearest[idx] = arg + first
        rows = torch.from_numpy(pairs_of(img)).to(dev)
        taken[rows] = True
        d2[rows] = 0
        nearest[rows] = torch.arange(first, first + len(rows), device=dev)

    for img in preselected:
        img = int(img)
        if len(pairs_of(img)):
            near, changed, cand = evaluate([img])
            take(img, near[0], changed[0], *cand[0][:2])
    if not torch.isfinite(d2).any() and n_pairs and budget > 0:
        # No centres yet: the image with the most pairs (random tie-break).
        sizes = np.diff(bounds)
        best = np.flatnonzero(sizes == sizes.max())
        img = int(best[rng.integers(len(best))])
        near, changed, cand = evaluate([img])
        take(img, near[0], changed[0], *cand[0][:2])
        picked.append(img)
        values.append(float(sizes[img]))
    trials = max(1, int(local_trials or 1))
    while len(picked) < budget:
        draws = draw_trial_pairs(d2, taken, sampling, trials, rng)
        if draws is None:
            break  # every remaining pair coincides with a centre
        images = [int(pair_image[d]) for d in draws]
        uniq = list(dict.fromkeys(images))
        near, changed, cand = evaluate(uniq)
        best_t = 0
        if len(uniq) > 1:  # keep the candidate lowering the potential most
            w = torch.stack(near, dim=1).masked_fill(taken[:, None], 0)
            pot = (w.sqrt() if sampling == 'linear' else w).sum(
                dim=0, dtype=torch.float64)
            del w
            best_t = images.index(uniq[int(torch.argmin(pot))])
        j = uniq.index(images[best_t])
        img = images[best_t]
        values.append(float(d2[draws[best_t]].clamp(min=0).sqrt()))
        take(img, near[j], changed[j], *cand[j][:2])
        del near, changed, cand
        picked.append(img)
    if stats is not None:
        stats.update(
            distances_computed=counts['computed'],
            distances_skipped=counts['skipped'],
            centre_distances=counts['centre'])
    return picked, values
