"""Probe adapter of any detector: its predictions and image feature."""
from typing import Optional

from mmal.registry import PROBES
from .base_probe import BaseProbe


@PROBES.register_module()
class PredictionProbe(BaseProbe):
    """The fallback for every detector: ``bboxes``, ``scores`` and
    ``labels`` from ``pred_instances`` and, with a backbone, ``img_feat``
    (see :class:`BaseProbe`). Asked last."""

    priority = -100

    @classmethod
    def mismatch(cls, model) -> Optional[str]:
        return None
