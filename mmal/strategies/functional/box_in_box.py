"""Box-in-box pairs among one image's detections (BiB, ECCV 2022, Eq. 1)."""
from typing import Tuple

import numpy as np
import torch
from mmcv.ops import bbox_overlaps as overlaps_with_offset
from mmdet.structures.bbox import bbox_overlaps

from mmal.utils.choices import check_one_of

PAIRING = ('all', 'first')
#: How the cover and the area ratio are computed; see
#: :func:`box_in_box_pairs` and docs/strategies/bib.md.
BOX_ARITHMETIC = ('wetectron', 'wetectron-inclusive', 'mmdet')


def box_in_box_pairs(
        bboxes: np.ndarray,
        labels: np.ndarray,
        mu: float = 3.0,
        delta: float = 0.8,
        pairing: str = 'all',
        arithmetic: str = 'wetectron') -> Tuple[np.ndarray, np.ndarray]:
    """Detection ``i`` (small) and ``j`` (large) form a pair when they have
    the same label, ``area(j) >= mu * area(i)`` and
    ``cover(i, j) = area(i & j) / area(i) >= delta``.

    Args:
        bboxes (np.ndarray): (N, 4) x1 y1 x2 y2.
        labels (np.ndarray): (N,) class of each box.
        mu (float): Minimum area ratio large / small. Defaults to 3.
        delta (float): Minimum fraction of the small box inside the large
            one. Defaults to 0.8.
        pairing (str): ``'all'``: every qualifying large box of a small box
            (the paper); ``'first'``: only the first one in detection order,
            i.e. the highest-scored (the official code). Defaults to 'all'.
        arithmetic (str): ``'wetectron'`` (the official code on the given
            boxes, in float32): the cover with maskrcnn-benchmark's +1
            convention (mmcv's ``bbox_overlaps(mode='iof', offset=1)``), the
            area ratio with ``(x2 - x1) * (y2 - y1)``, small boxes of zero
            area kept. ``'wetectron-inclusive'``: the same after turning
            mmdet's corners into inclusive ones (``x2 - 1``, ``y2 - 1``).
            ``'mmdet'``: no +1 anywhere (mmdet's ``bbox_overlaps``,
            float64) and small boxes of zero area never pair. Defaults to
            'wetectron'.

    Returns:
        tuple: ``small`` and ``large`` (P,) indices into the detections,
        sorted by small then large index.
    """
    check_one_of('pairing', pairing, PAIRING)
    if arithmetic not in BOX_ARITHMETIC:
        raise ValueError(f'box_arithmetic must be one of {BOX_ARITHMETIC}, '
                         f'got {arithmetic!r}')
    lab = np.asarray(labels).reshape(-1)
    if arithmetic == 'mmdet':
        b = np.asarray(bboxes, dtype=np.float64).reshape(-1, 4)
        area = np.clip(b[:, 2] - b[:, 0], 0, None) * np.clip(
            b[:, 3] - b[:, 1], 0, None)
        boxes = torch.from_numpy(b)
        cover = bbox_overlaps(boxes, boxes, mode='iof').numpy()
        ok = ((area[None, :] >= mu * area[:, None]) & (cover >= delta)
              & (area[:, None] > 0))
    else:
        # float32 as the official torch code: its comparisons with Python
        # floats are made in float32 too
        boxes = torch.from_numpy(
            np.array(bboxes, dtype=np.float32).reshape(-1, 4))
        if arithmetic == 'wetectron-inclusive':
            boxes[:, 2:] -= 1
        area = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
        cover = overlaps_with_offset(boxes, boxes, mode='iof', offset=1)
        ok = ((area[None, :] >= area[:, None] * mu) & (cover >= delta)).numpy()
    ok &= lab[:, None] == lab[None, :]
    np.fill_diagonal(ok, False)
    if pairing == 'first' and ok.size:
        first = ok.argmax(axis=1)
        keep = np.zeros_like(ok)
        rows = np.flatnonzero(ok.any(axis=1))
        keep[rows, first[rows]] = True
        ok = keep
    small, large = np.nonzero(ok)
    return small.astype(np.int64), large.astype(np.int64)
