"""Probe adapter of TOOD (``TOODHead``)."""
from typing import ClassVar, List, Tuple

import torch

from mmal.registry import PROBES
from .dense_head_probe import DenseHeadProbe


@PROBES.register_module()
class TOODHeadProbe(DenseHeadProbe):
    """Traces each TOOD detection to its anchor (see
    :class:`DenseHeadProbe`).

    TOOD's score is the task-aligned ``sqrt(sigmoid(tood_cls) *
    sigmoid(cls_prob))``, which the head outputs as is (its
    post-processing applies no activation). ``cls_probs`` is the
    classification distribution before that alignment: the sigmoid of
    ``tood_cls`` at the anchor (C values and ``1 - max`` as background,
    normalised); ``scores`` stay the aligned scores. ``feats``: the input
    of ``tood_cls`` (the task-decomposed classification feature) at the
    anchor's location. Ties are decoded as
    ``TOODHead._predict_by_feat_single`` does (the head's box times the
    stride).
    """

    cls_layers: ClassVar[Tuple[str, ...]] = ('tood_cls', )
    post_methods: ClassVar[Tuple[str, ...]] = ('_predict_by_feat_single', )

    @classmethod
    def recipe(cls):
        from mmdet.models.dense_heads import TOODHead
        return TOODHead

    def _final_scores(self, b: int) -> List[torch.Tensor]:
        head = self.model.bbox_head
        return [
            s[b].permute(1, 2, 0).reshape(-1, head.cls_out_channels)
            for s in self._store['head'][0]
        ]

    def _decode_level(self, b, lv, idx, priors, img_shape) -> torch.Tensor:
        stride = self.model.bbox_head.prior_generator.strides[lv][0]
        boxes = self._store['head'][1][lv][b].permute(1, 2, 0).reshape(-1, 4)
        return boxes[idx] * stride
