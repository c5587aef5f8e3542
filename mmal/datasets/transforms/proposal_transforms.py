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
        from mmal.datasets.proposals import apply_clean
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
