"""CDAL's contextual diversity (Agarwal et al., ECCV 2020): per image and
predicted class, the entropy-weighted mean class distribution of the
detections of that class; between two images, the sum over classes of the
symmetric KL divergence of their mixtures.

A class an image has no detection of has the uniform distribution as its
mixture (so it adds nothing when neither image has the class). The sum
over all C classes reduces to the classes each image has, and, per centre,
to one (R_c, 2(C + 1)) x (2(C + 1), B) product per class over the R_c
candidate rows of class c: memory is linear in the rows, never N x N.
"""
from typing import Dict, Tuple

import numpy as np
import torch

from .entropy import distribution_entropy

_EPS = 1e-6


def class_mixtures(cls_probs: np.ndarray,
                   labels: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
    """The contextual mixtures of one image.

    Args:
        cls_probs (np.ndarray): (N, C + 1) class distributions.
        labels (np.ndarray): (N,) predicted classes.

    Returns:
        tuple: the predicted classes (K,) in ascending order and their
        mixtures (K, C + 1): ``sum_i H(p_i) p_i / sum_i H(p_i)`` over the
        detections of the class (the plain mean when every ``H(p_i)`` is
        0).
    """
    p = np.asarray(cls_probs, dtype=np.float64)
    if p.ndim != 2:
        raise ValueError(f'cls_probs must be (N, C + 1), got shape {p.shape}')
    labels = np.asarray(labels, dtype=np.int64).reshape(-1)
    classes = np.unique(labels)
    out = np.zeros((len(classes), p.shape[1]), dtype=np.float32)
    w = distribution_entropy(p)
    for k, c in enumerate(classes):
        rows = labels == c
        wc = w[rows]
        if wc.sum() > 0:
            out[k] = (wc[:, None] * p[rows]).sum(0) / wc.sum()
        else:
            out[k] = p[rows].mean(0)
    return classes, out


class ClassMixtures:
    """The mixtures of many images as rows, for distances between images.

    Args:
        rows (Tensor): (R, C + 1) mixtures, the rows of each image
            consecutive, images in order.
        classes (Tensor): (R,) class of each row, in [0, C).
        row_image (np.ndarray): (R,) position of each row's image,
            non-decreasing.
        num_images (int): N.
        num_classes (int): C.
    """

    def __init__(self, rows: torch.Tensor, classes: torch.Tensor,
                 row_image: np.ndarray, num_images: int, num_classes: int):
        self.n = int(num_images)
        self.c = int(num_classes)
        dev = rows.device
        p = rows.float().reshape(-1, self.c + 1).clamp(min=_EPS)
        self.p = p / p.sum(1, keepdim=True)
        self.logp = self.p.log()
        self.a = (self.p * self.logp).sum(1)
        self.cls = classes.to(dev).long().reshape(-1)
        self.row_image = np.asarray(row_image, dtype=np.int64).reshape(-1)
        self.image = torch.as_tensor(self.row_image, device=dev)
        self.starts = np.searchsorted(self.row_image, np.arange(self.n + 1))
        # rows grouped by class, for one product per class
        order = torch.argsort(self.cls, stable=True)
        self.by_class = {}
        if len(order):
            cls_sorted = self.cls[order]
            present, counts = torch.unique_consecutive(
                cls_sorted, return_counts=True)
            lo = 0
            for c, m in zip(present.tolist(), counts.tolist()):
                r = order[lo:lo + m]
                self.by_class[c] = (r, torch.cat([self.p[r], self.logp[r]],
                                                 1), self.a[r], self.image[r])
                lo += m
        self.device = dev

    def tables(self, images: np.ndarray) -> Dict[str, torch.Tensor]:
        """The full (C, C + 1) mixture table of each of ``images`` (absent
        classes uniform) and the constants of :meth:`distances`."""
        images = np.asarray(images, dtype=np.int64).reshape(-1)
        b = len(images)
        k = self.c + 1
        t = torch.full((b, self.c, k), 1.0 / k, device=self.device)
        for j, i in enumerate(images.tolist()):
            lo, hi = int(self.starts[i]), int(self.starts[i + 1])
            if hi > lo:
                t[j, self.cls[lo:hi]] = self.p[lo:hi]
        logt = t.log()
        a = (t * logt).sum(2)  # (B, C)
        logu = -float(np.log(k))
        # symmetric KL to the uniform: 0 for absent classes
        s = ((t - 1.0 / k) * (logt - logu)).sum(2).clamp_(min=0)
        return dict(t=t, logt=logt, k=a - s, s_total=s.sum(1))

    def distances(self, tables: Dict[str, torch.Tensor]) -> torch.Tensor:
        """(N, B) distances of every image to the images of ``tables``
        (from :meth:`tables` of this or another set of the same C)."""
        t, logt, k = tables['t'], tables['logt'], tables['k']
        out = tables['s_total'][None].repeat(self.n, 1)
        for c, (_, pl, a, img) in self.by_class.items():
            # sKL(p, q) = <p, log p> + <q, log q> - <p, log q> - <log p, q>
            w = torch.cat([logt[:, c], t[:, c]], 1)  # (B, 2(C + 1))
            v = a[:, None] + k[:, c][None] - pl @ w.T
            out.index_add_(0, img, v)
        return out.clamp_(min=0)


def nearest_mixture_distances(pool: ClassMixtures,
                              centers: ClassMixtures,
                              block: int = 128) -> torch.Tensor:
    """(N,) distance of each pool image to its nearest image of
    ``centers`` (``inf`` when there are none), ``block`` centres at a
    time."""
    out = torch.full((pool.n, ), float('inf'), device=pool.device)
    for lo in range(0, centers.n, block):
        ids = np.arange(lo, min(centers.n, lo + block))
        d = pool.distances(centers.tables(ids))
        torch.minimum(out, d.min(1)[0], out=out)
    return out
