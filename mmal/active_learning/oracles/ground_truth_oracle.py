from typing import Dict, List, Sequence

import numpy as np

from mmal.registry import ORACLES
from .base_oracle import BaseOracle


@ORACLES.register_module()
class GroundTruthOracle(BaseOracle):
    """Benchmark oracle: reveals the annotations of the pool's own COCO file
    (the full training annotations), as all active-learning papers emulate
    annotation. Image-level labels default to the ground-truth classes of
    each image unless the pool file carries ``image_labels`` and
    ``use_image_labels`` is True.

    Args:
        pool (Pool): The run's pool.
        img_dir (str, optional): The pool's image folder (unused).
        use_image_labels (bool): Prefer the pool's ``image_labels`` field
            over the ground-truth box classes. Defaults to False.
    """

    counts_boxes = True

    def __init__(self, pool, img_dir=None, use_image_labels: bool = False):
        super().__init__(pool, img_dir)
        self.use_image_labels = use_image_labels and pool.has_image_labels()

    def reveal(self, image_ids: Sequence[int],
               request_dir: str) -> Dict[int, List[dict]]:
        return {
            int(i): list(self.pool.anns_by_image[int(i)])
            for i in image_ids
        }

    def box_count(self, img_id: int) -> int:
        """The image's boxes in the pool's annotation file."""
        return len(self.pool.anns_by_image[int(img_id)])

    def image_labels(self, img_id: int) -> np.ndarray:
        if self.use_image_labels:
            return self.pool.image_labels(img_id)
        return np.unique(self.pool.gt_labels(img_id))
