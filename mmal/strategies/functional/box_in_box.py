"""Box-in-box pairs among one image's detections (BiB, ECCV 2022, Eq. 1)."""
from typing import Tuple

import numpy as np
import torch
from mmdet.structures.bbox import bbox_overlaps

PAIRING = ('all', 'first')


def box_in_box_pairs(bboxes: np.ndarray,
                     labels: np.ndarray,
                     mu: float = 3.0,
                     delta: float = 0.8,
                     pairing: str = 'all') -> Tuple[np.ndarray, np.ndarray]:
    """Detection ``i`` (small) and ``j`` (large) form a pair when they have
    the same label, ``area(j) >= mu * area(i)`` and
    ``area(i & j) / area(i) >= delta`` (mmdet's ``bbox_overlaps`` with
    ``mode='iof'``).

    Args:
        bboxes (np.ndarray): (N, 4) x1 y1 x2 y2.
        labels (np.ndarray): (N,) class of each box.
        mu (float): Minimum area ratio large / small. Defaults to 3.
        delta (float): Minimum fraction of the small box inside the large
            one. Defaults to 0.8.
        pairing (str): ``'all'``: every qualifying large box of a small box
            (the paper); ``'first'``: only the first one in detection order,
            i.e. the highest-scored (the official code). Defaults to 'all'.

    Returns:
        tuple: ``small`` and ``large`` (P,) indices into the detections,
        sorted by small then large index.
    """
    if pairing not in PAIRING:
        raise ValueError(f'pairing must be one of {PAIRING}, got '
                         f'{pairing!r}')
    b = np.asarray(bboxes, dtype=np.float64).reshape(-1, 4)
    lab = np.asarray(labels).reshape(-1)
    area = np.clip(b[:, 2] - b[:, 0], 0, None) * np.clip(
        b[:, 3] - b[:, 1], 0, None)
    boxes = torch.from_numpy(b)
    cover = bbox_overlaps(boxes, boxes, mode='iof').numpy()
    ok = ((lab[:, None] == lab[None, :]) &
          (area[None, :] >= mu * area[:, None])
          & (cover >= delta) & (area[:, None] > 0))
    np.fill_diagonal(ok, False)
    if pairing == 'first' and ok.size:
        first = ok.argmax(axis=1)
        keep = np.zeros_like(ok)
        rows = np.flatnonzero(ok.any(axis=1))
        keep[rows, first[rows]] = True
        ok = keep
    small, large = np.nonzero(ok)
    return small.astype(np.int64), large.astype(np.int64)
