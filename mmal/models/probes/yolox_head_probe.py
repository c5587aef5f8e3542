"""Probe adapter of YOLOX (``YOLOXHead``)."""
from typing import ClassVar, List, Tuple

import torch

from mmal.registry import PROBES
from .dense_head_probe import DenseHeadProbe


@PROBES.register_module()
class YOLOXHeadProbe(DenseHeadProbe):
    """Traces each YOLOX detection to its grid point (see
    :class:`DenseHeadProbe`).

    YOLOX's score is ``sigmoid(cls)[c] * sigmoid(objectness)`` of the
    point's most likely class ``c`` (``YOLOXHead.predict_by_feat``).
    ``cls_probs`` is the classification distribution before the
    objectness rescoring: the C class sigmoids at the point and ``1 -
    max`` as background, normalised (as for RetinaNet; the objectness is
    not used); ``scores`` stay the final scores. ``feats``: the input of
    the level's ``multi_level_conv_cls`` (the classification tower's
    output) at the point. Ties are decoded with the head's own
    ``_bbox_decode``.
    """

    cls_layers: ClassVar[Tuple[str, ...]] = ('multi_level_conv_cls', )
    post_methods: ClassVar[Tuple[str, ...]] = ('predict_by_feat',
                                               '_bbox_post_process')

    @classmethod
    def recipe(cls):
        from mmdet.models.dense_heads import YOLOXHead
        return YOLOXHead

    def _final_scores(self, b: int) -> List[torch.Tensor]:
        head = self.model.bbox_head
        cls_scores, _, objectness = self._store['head']
        return [
            s[b].permute(1, 2, 0).reshape(-1, head.cls_out_channels).sigmoid()
            * o[b].permute(1, 2, 0).reshape(-1, 1).sigmoid()
            for s, o in zip(cls_scores, objectness)
        ]

    def _priors(self, sizes, ref: torch.Tensor) -> List[torch.Tensor]:
        return self.model.bbox_head.prior_generator.grid_priors(
            sizes, dtype=ref.dtype, device=ref.device, with_stride=True)

    def _decode_level(self, b, lv, idx, priors, img_shape) -> torch.Tensor:
        deltas = self._store['head'][1][lv][b].permute(1, 2, 0).reshape(-1, 4)
        return self.model.bbox_head._bbox_decode(priors[idx], deltas[idx])
