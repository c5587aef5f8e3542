from typing import Dict, List, Optional, Sequence

import numpy as np

from ..pool import Pool


class AnnotationRequired(Exception):
    """Raised by an oracle that has asked a person to annotate images. The
    loop stops; re-running the same command continues once the annotations
    are in place. The message says where to put them."""


class BaseOracle:
    """Who labels the images a strategy selects.

    The loop builds every oracle with ``ORACLES.build(al.oracle,
    default_args=dict(pool=..., img_dir=...))``: a subclass takes both
    (and its own settings from ``al.oracle``).

    Args:
        pool (Pool): The run's pool.
        img_dir (str, optional): The pool's image folder (for requests
            that name image files). Defaults to None.
    """

    #: Whether :meth:`box_count` knows an image's boxes when it is picked
    #: (a box budget, ``al.budget=dict(boxes=N)``, needs it).
    counts_boxes: bool = False

    #: Detections of the current model at or above this score are kept
    #: with the pool pass's summaries (``det_boxes`` / ``det_scores`` /
    #: ``det_labels``) for an oracle that shows them to annotators; None:
    #: the oracle does not ask for them.
    pre_annotation_min_score: Optional[float] = None

    def __init__(self, pool: Pool, img_dir: Optional[str] = None):
        self.pool = pool
        self.img_dir = img_dir

    def reveal(self, image_ids: Sequence[int],
               request_dir: str) -> Dict[int, List[dict]]:
        """Return the COCO annotations of ``image_ids`` (image id -> list).

        Args:
            image_ids (Sequence[int]): The newly selected images.
            request_dir (str): The cycle folder where an oracle that needs a
                person writes its request and looks for the answer.

        Raises:
            AnnotationRequired: The annotations are not available yet.
        """
        raise NotImplementedError

    def labeled_of(self, image_ids: Sequence[int],
                   request_dir: str) -> np.ndarray:
        """The images of ``image_ids`` that :meth:`reveal` labeled, in
        their order: all of them, except for an oracle that accepts a
        partial annotation campaign (the others go back to the unlabeled
        pool). Asked by the loop after ``reveal``."""
        return np.asarray(image_ids, np.int64).reshape(-1)

    def box_count(self, img_id: int) -> int:
        """The boxes an annotator draws on ``img_id``, for oracles with
        :attr:`counts_boxes`."""
        raise NotImplementedError(
            f'{type(self).__name__} does not count boxes before annotation')

    def image_labels(self, img_id: int):
        """Image-level label indices an emulating strategy may use, (K,).
        Default: the pool's ``image_labels`` field."""
        return self.pool.image_labels(img_id)
