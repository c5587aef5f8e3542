from typing import Dict, List, Optional, Sequence

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

    def image_labels(self, img_id: int):
        """Image-level label indices an emulating strategy may use, (K,).
        Default: the pool's ``image_labels`` field."""
        return self.pool.image_labels(img_id)
