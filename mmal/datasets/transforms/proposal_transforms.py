"""Cleaning precomputed proposals: the :class:`CleanProposals` pipeline
transform and the array functions it runs (also used by the proposal
converters and generators)."""
from typing import Optional, Tuple

import numpy as np
from mmcv.transforms import BaseTransform

from mmal.datasets.proposal_file import to_box_array, to_score_array
from mmal.registry import TRANSFORMS


def clip_boxes(boxes: np.ndarray, img_shape: Tuple[int, int]) -> np.ndarray:
    """Boxes clipped to the image: x in [0, w], y in [0, h].

    Args:
        boxes (np.ndarray): (N, 4) x1 y1 x2 y2 boxes.
        img_shape (tuple): ``(height, width)`` of the image.

    Returns:
        np.ndarray: A float64 copy of ``boxes``, clipped.
    """
    # Not mmcv.image.bbox_clip: it clips to w - 1, h - 1 (the +1 pixel
    # convention of mmdet 1.x), which would change every cleaned box.
    h, w = img_shape[:2]
    out = np.array(boxes, dtype=np.float64, copy=True)
    out[:, 0::2] = out[:, 0::2].clip(0, w)
    out[:, 1::2] = out[:, 1::2].clip(0, h)
    return out


def clean_proposals(boxes: np.ndarray,
                    img_shape: Tuple[int, int],
                    min_size: float = 2) -> np.ndarray:
    """Indices of the proposals worth keeping, in their original order.

    Boxes are clipped to the image (x in [0, w], y in [0, h]); a box whose
    clipped width or height is below ``min_size`` is dropped, and of boxes
    equal after rounding their clipped coordinates to integers only the
    first is kept.

    Args:
        boxes (np.ndarray): (N, 4) x1 y1 x2 y2 boxes.
        img_shape (tuple): ``(height, width)`` of the image.
        min_size (float): Smallest kept side in pixels. Defaults to 2.

    Returns:
        np.ndarray: int64 indices into ``boxes``, increasing.
    """
    clipped = clip_boxes(to_box_array(boxes, 'boxes'), img_shape)
    sides = clipped[:, 2:] - clipped[:, :2]
    idx = np.nonzero((sides >= min_size).all(axis=1))[0]
    if idx.size == 0:
        return idx.astype(np.int64)
    rounded = np.round(clipped[idx]).astype(np.int64)
    _, first = np.unique(rounded, axis=0, return_index=True)
    return np.sort(idx[first]).astype(np.int64)


def apply_clean(
        boxes: np.ndarray,
        scores: Optional[np.ndarray],
        img_shape: Tuple[int, int],
        min_size: float = 2) -> Tuple[np.ndarray, Optional[np.ndarray]]:
    """Clip, filter and de-duplicate proposals (see
    :func:`clean_proposals`).

    Args:
        boxes (np.ndarray): (N, 4) x1 y1 x2 y2 boxes.
        scores (np.ndarray, optional): (N,) scores of the boxes.
        img_shape (tuple): ``(height, width)`` of the image.
        min_size (float): Smallest kept side in pixels. Defaults to 2.

    Returns:
        tuple: The clipped float32 boxes and their float32 scores (None when
        ``scores`` is None) at the kept indices.
    """
    boxes = to_box_array(boxes, 'boxes')
    keep = clean_proposals(boxes, img_shape, min_size)
    out = clip_boxes(boxes[keep], img_shape).astype(np.float32)
    if scores is None:
        return out, None
    scores = to_score_array(scores, len(boxes), 'scores')
    return out, scores[keep].astype(np.float32)


@TRANSFORMS.register_module()
class CleanProposals(BaseTransform):
    """Clip proposals to the image, drop those with a side below
    ``min_size`` and remove duplicates (equal after rounding to whole
    pixels; the first is kept). Put it right after ``LoadProposals``.

    An image left without proposals gets one whole-image box, so that the
    multiple-instance head always has a bag to score.

    Required keys: ``proposals``, ``img_shape`` (or ``ori_shape``).
    Modified keys: ``proposals``, ``proposals_scores``.

    Args:
        min_size (float): Smallest allowed width and height. Defaults to 2.
    """

    def __init__(self, min_size: float = 2):
        self.min_size = min_size

    def transform(self, results: dict) -> dict:
        shape = results.get('img_shape', results.get('ori_shape'))
        h, w = shape[:2]
        boxes, scores = apply_clean(results['proposals'],
                                    results.get('proposals_scores'), (h, w),
                                    self.min_size)
        if len(boxes) == 0:
            boxes = np.array([[0, 0, w, h]], dtype=np.float32)
            scores = np.zeros(1, dtype=np.float32)
        results['proposals'] = boxes
        if scores is not None:
            results['proposals_scores'] = scores
        return results

    def __repr__(self) -> str:
        return f'{self.__class__.__name__}(min_size={self.min_size})'
