"""PPAL's category-conditioned matching similarity (CCMS) between images,
as distances, computed block by block."""
from typing import Sequence

import numpy as np
import torch


@torch.no_grad()
def ccms_distances(feats: Sequence[np.ndarray],
                   labels: Sequence[np.ndarray],
                   scores: Sequence[np.ndarray],
                   device='cpu',
                   block: int = 1024) -> np.ndarray:
    """(M, M) CCMS distances between M images from their detections.

    For image ``i``'s detections ``a`` (score ``s_a``, class ``c_a``, unit
    feature ``f_a``) and image ``j``, ``d(a, j) = min_b (1 - f_a . f_b)``
    over ``j``'s detections ``b`` of class ``c_a``, or 2 when ``j`` has
    none of that class; ``D(i -> j) = sum_a s_a d(a, j) / (sum_a s_a +
    1e-5)``, 0 when ``j`` has no detection at all (as the released code's
    ``get_img_score_distance_matrix_slow``, cosine metric); returned
    symmetrised, ``(D + D^T) / 2``. Detections are compared class by class
    in blocks of ``block`` x ``block``, so besides the (M, M) result the
    memory is ``O(block * (M + block))``.

    Args:
        feats (Sequence[np.ndarray]): Per image, (K_i, D) features.
        labels (Sequence[np.ndarray]): Per image, (K_i,) classes.
        scores (Sequence[np.ndarray]): Per image, (K_i,) scores (only the
            detections the caller keeps, e.g. score > 0.05).
        device: Where the products run. Defaults to 'cpu'.
        block (int): Detections per block. Defaults to 1024.

    Returns:
        np.ndarray: (M, M) float32, zero diagonal.
    """
    m = len(feats)
    counts = np.array([len(s) for s in scores], np.int64)
    num = torch.zeros((m, m), dtype=torch.float32, device=device)
    if counts.sum() == 0:
        return num.cpu().numpy()
    owner = torch.from_numpy(np.repeat(np.arange(m), counts)).to(device)
    keep = [k for k in range(m) if counts[k]]
    f = torch.from_numpy(
        np.concatenate([
            np.asarray(feats[k], np.float32).reshape(counts[k], -1)
            for k in keep
        ])).to(device)
    f = torch.nn.functional.normalize(f, dim=1)
    lab = torch.from_numpy(
        np.concatenate([np.asarray(labels[k]).reshape(-1)
                        for k in keep]).astype(np.int64)).to(device)
    s = torch.from_numpy(
        np.concatenate([
            np.asarray(scores[k], np.float32).reshape(-1) for k in keep
        ])).to(device)
    for c in torch.unique(lab).tolist():
        idx = torch.nonzero(lab == c).reshape(-1)
        for lo in range(0, idx.numel(), block):
            rows = idx[lo:lo + block]
            # best cosine of each row detection within each image
            best = torch.full((rows.numel(), m), -3.0, device=device)
            for clo in range(0, idx.numel(), block):
                cols = idx[clo:clo + block]
                sim = f[rows] @ f[cols].T
                best.scatter_reduce_(1, owner[cols].expand(rows.numel(), -1),
                                     sim, 'amax')
            d = torch.where(best > -2.0, 1.0 - best, torch.full_like(best, 2))
            num.index_add_(0, owner[rows], d * s[rows, None])
    norm = torch.zeros(m, device=device).index_add_(0, owner, s)
    dist = num / (norm[:, None] + 1e-5)
    has = torch.from_numpy(counts > 0).to(device)
    dist = torch.where(has[None, :], dist, torch.zeros_like(dist))
    dist = 0.5 * (dist + dist.T)
    dist.fill_diagonal_(0.0)
    return dist.cpu().numpy()
