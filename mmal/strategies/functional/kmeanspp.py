"""k-means++ seeding over groups of rows, where every pick is a group: BiB's
selection (Vo et al., ECCV 2022), whose rows are box-in-box pairs and whose
groups are images."""
from typing import List, Optional, Sequence, Tuple

import numpy as np
import torch

from mmal.utils.choices import check_one_of
from .k_center import EXACT, nearest_center_distances
from .kmeanspp_pruned import group_rows, kmeanspp_images_pruned
from .kmeanspp_trials import draw_trial_pairs

SAMPLING = ('squared', 'linear')


@torch.no_grad()
def kmeanspp_images(
        pairs,
        pair_image: np.ndarray,
        num_images: int,
        budget: int,
        rng: np.random.Generator,
        centers: Optional[np.ndarray] = None,
        preselected: Sequence[int] = (),
        sampling: str = 'squared',
        local_trials: Optional[int] = None,
        exact: str = 'pruned',
        stats: Optional[dict] = None) -> Tuple[List[int], List[float]]:
    """k-means++ seeding over pairs, where every pick is an image: choosing
    a pair makes all pairs of its image centres.

    Args:
        pairs (RowMatrix): (P, F) features of the candidate pairs (see
            :meth:`mmal.active_learning.summary_store.Summaries.matrix`);
            the work runs on its ``device``.
        pair_image (np.ndarray): (P,) image index in ``[0, num_images)`` of
            each pair.
        num_images (int): Candidate images (with or without pairs).
        budget (int): Images to pick (fewer when the pairs run out).
        rng (np.random.Generator): Draws the candidates and breaks the
            first pick's tie.
        centers (np.ndarray, optional): (L, F) initial centres (the pairs
            of previously selected images).
        preselected (Sequence[int]): Images already picked in this
            selection (e.g. U+BiB's random half): their pairs are centres.
        sampling (str): Draw a pair with probability proportional to its
            ``'squared'`` distance to the nearest centre (k-means++ and the
            official code) or to the ``'linear'`` distance (the paper's
            text). Defaults to 'squared'.
        local_trials (int, optional): Candidates drawn per pick; the one
            that lowers the potential (sum of the sampling weights) most is
            kept (scikit-learn's greedy k-means++). None or 1: one draw.
        exact (str): ``'pruned'``: the same draws and picks with the
            distances that the triangle inequality shows cannot lower a
            pair's minimum skipped (:func:`kmeanspp_images_pruned`);
            ``'reference'``: every pair compared with every candidate's
            pairs, one pass over the matrix per pick. Defaults to 'pruned'.
        stats (dict, optional): Filled with the distance computations
            done and skipped (``'pruned'`` only).

    Returns:
        tuple: picked image indices in pick order (``preselected`` not
        included) and, for each, the distance of the drawn pair to its
        nearest centre before the pick (for the seed image: its number of
        pairs).
    """
    check_one_of('sampling', sampling, SAMPLING)
    check_one_of('exact', exact, EXACT)
    if exact == 'pruned':
        return kmeanspp_images_pruned(pairs, pair_image, num_images, budget,
                                      rng, centers, preselected, sampling,
                                      local_trials, stats)
    dev = pairs.device
    n_pairs = pairs.num_rows
    pair_image = np.asarray(pair_image, dtype=np.int64)
    order, bounds = group_rows(pair_image, num_images)

    def pairs_of(img: int) -> np.ndarray:
        return order[bounds[img]:bounds[img + 1]]

    # squared distance of every pair to its nearest centre
    d2 = torch.full((n_pairs, ), float('inf'), device=dev)
    sq_norms = torch.empty(n_pairs, device=dev)
    for start, x in pairs.iter_blocks():
        sq_norms[start:start + len(x)] = torch.linalg.vector_norm(
            x, dim=1).square_()
        if centers is not None and len(centers):
            d2[start:start + len(x)] = nearest_center_distances(
                x, centers).square_()

    def nearest_of(images: Sequence[int]) -> torch.Tensor:
        """(P, len(images)) squared distance of every pair to the nearest
        pair of each image, in one pass over the pair matrix."""
        groups = [pairs_of(i) for i in images]
        c = torch.from_numpy(pairs.rows(np.concatenate(groups))).to(dev)
        cn = torch.linalg.vector_norm(c, dim=1).square_()
        ends = np.cumsum([len(g) for g in groups])
        spans = list(zip(np.concatenate([[0], ends[:-1]]), ends))
        out = torch.empty((n_pairs, len(groups)), device=dev)
        for start, x in pairs.iter_blocks():
            # |x|^2 is the same for every column: added after the min
            part = torch.addmm(cn[None], x, c.T, alpha=-2)
            for j, (lo, hi) in enumerate(spans):
                out[start:start + len(x), j] = part[:, lo:hi].min(dim=1)[0]
        return out.add_(sq_norms[:, None]).clamp_(min=0)

    taken = torch.zeros(n_pairs, dtype=torch.bool, device=dev)
    picked: List[int] = []
    values: List[float] = []

    def take(img: int, new_d2: torch.Tensor) -> None:
        nonlocal d2
        d2 = new_d2
        idx = torch.from_numpy(pairs_of(img)).to(dev)
        taken[idx] = True
        d2[idx] = 0

    for img in preselected:
        if len(pairs_of(int(img))):
            take(int(img), torch.minimum(d2, nearest_of([int(img)])[:, 0]))
    if not torch.isfinite(d2).any() and n_pairs and budget > 0:
        # No centres yet: the image with the most pairs (random tie-break).
        counts = np.diff(bounds)
        best = np.flatnonzero(counts == counts.max())
        img = int(best[rng.integers(len(best))])
        take(img, nearest_of([img])[:, 0])
        picked.append(img)
        values.append(float(counts[img]))
    trials = max(1, int(local_trials or 1))
    while len(picked) < budget:
        draws = draw_trial_pairs(d2, taken, sampling, trials, rng)
        if draws is None:
            break  # every remaining pair coincides with a centre
        images = [int(pair_image[d]) for d in draws]
        uniq = list(dict.fromkeys(images))
        near = torch.minimum(d2[:, None], nearest_of(uniq))
        best_t = 0
        if len(uniq) > 1:  # keep the candidate lowering the potential most
            w = near.masked_fill(taken[:, None], 0)
            pot = (w.sqrt() if sampling == 'linear' else w).sum(
                dim=0, dtype=torch.float64)
            best_t = images.index(uniq[int(torch.argmin(pot))])
        best_d2 = near[:, uniq.index(images[best_t])].contiguous()
        del near
        img = images[best_t]
        values.append(float(d2[draws[best_t]].clamp(min=0).sqrt()))
        take(img, best_d2)
        picked.append(img)
    return picked, values
