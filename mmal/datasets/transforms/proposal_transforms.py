"""Cleaning precomputed proposals inside a data pipeline."""
import numpy as np
from mmcv.transforms import BaseTransform

from mmal.registry import TRANSFORMS


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
        from mmal.datasets.proposals import clean_proposals
        shape = results.get('img_shape', results.get('ori_shape'))
        h, w = shape[:2]
        boxes = results['proposals']
        scores = results.get('proposals_scores')
        keep = clean_proposals(boxes, (h, w), self.min_size)
        boxes = boxes[keep].copy()
        boxes[:, 0::2] = boxes[:, 0::2].clip(0, w)
        boxes[:, 1::2] = boxes[:, 1::2].clip(0, h)
        if len(boxes) == 0:
            boxes = np.array([[0, 0, w, h]], dtype=np.float32)
            scores = np.zeros(1, dtype=np.float32)
        elif scores is not None:
            scores = scores[keep]
        results['proposals'] = boxes.astype(np.float32)
        if scores is not None:
            results['proposals_scores'] = scores.astype(np.float32)
        return results

    def __repr__(self) -> str:
        return f'{self.__class__.__name__}(min_size={self.min_size})'
